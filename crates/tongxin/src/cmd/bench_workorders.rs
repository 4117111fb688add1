//! `tongxin bench workorders …`: overdue scan over open work orders and the public page.

use super::Resolved;
use clap::Subcommand;

/// Work-order benchmarks.
#[derive(Debug, Subcommand)]
pub enum WorkordersBench {
    /// Overdue scan over N open work orders (default 100,000) and public accountability figures.
    Scan {
        /// Open work orders to create.
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
    },
}

/// Runs a work-order benchmark.
pub async fn run(_r: &Resolved, c: WorkordersBench) -> anyhow::Result<()> {
    match c {
        WorkordersBench::Scan { orders } => anyhow::bail!("not built yet ({orders})"),
    }
}
