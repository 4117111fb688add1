//! `tongxin seed`.

use super::{open, Resolved};
use clap::{Args, ValueEnum};
use std::process::ExitCode;
use tongxin_app::seed::Scale;

/// Options of `seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// small: seconds (a few thousand rows); city: Suzhou scale (24,000 organisations,
    /// 245,000 volunteers, ~22,000 grids, ~4,000,000 households in buildings, 10 % with a vulnerable member).
    #[arg(long, value_enum, default_value = "small")]
    pub scale: SeedScale,
    /// Random seed; the same seed gives the same data.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Also create the demo accounts (one per role).
    #[arg(long)]
    pub demo_accounts: bool,
}

/// Seed scale.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SeedScale {
    /// Seconds.
    Small,
    /// Suzhou scale.
    City,
}

/// Seeds and prints one JSON line with counts and the time taken.
pub async fn run(r: &Resolved, a: SeedArgs) -> anyhow::Result<ExitCode> {
    let app = open(&r.db).await?;
    let scale = match a.scale {
        SeedScale::Small => Scale::Small,
        SeedScale::City => Scale::City,
    };
    let rep = app.seed(scale, a.seed, std::io::IsTerminal::is_terminal(&std::io::stderr())).await?;
    if a.demo_accounts {
        app.ensure_demo_accounts().await?;
    }
    println!("{}", serde_json::to_string(&rep)?);
    Ok(ExitCode::SUCCESS)
}
