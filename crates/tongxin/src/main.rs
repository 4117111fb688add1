//! `tongxin`: the one binary. Serves the platform and runs its administrative commands.
#![forbid(unsafe_code)]

mod cmd;
mod config;

/// mimalloc: see Cargo.toml for why (measured in `bench writes`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// 同心 Tongxin — 政府与社会力量应急协同平台 / emergency cooperation platform for government and social forces.
///
/// Settings come from flags, then TONGXIN_* environment variables, then the TOML file given by
/// --config, then defaults. SQLite under --data is the embedded default; give --database-url
/// (postgres://…) to run on PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "tongxin", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// TOML configuration file (keys: listen, data, database_url, log_format, secure_cookies,
    /// trust_proxy, max_body_bytes, max_connections).
    #[arg(long, global = true, env = "TONGXIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory for the embedded SQLite database [default: ./tongxin-data].
    #[arg(long, global = true, env = "TONGXIN_DATA")]
    pub data: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host:5432/db); when set, SQLite is not used.
    #[arg(long, global = true, env = "TONGXIN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format [default: text].
    #[arg(long, global = true, env = "TONGXIN_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (migrates the database and loads the division tree first).
    Serve(cmd::serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Generate deterministic demo data (Suzhou).
    Seed(cmd::seed::SeedArgs),
    /// Account administration.
    #[command(subcommand)]
    Admin(cmd::admin::AdminCommand),
    /// Audit trail tools.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Import reference data.
    #[command(subcommand)]
    Import(cmd::import::ImportCommand),
    /// Write an online, consistent backup (SQLite: VACUUM INTO; PostgreSQL: pg_dump) to FILE.
    Backup {
        /// Backup file to create (never overwritten).
        file: PathBuf,
    },
    /// Replace the database with a backup made by `tongxin backup` (stop the server first).
    Restore {
        /// Backup file.
        file: PathBuf,
    },
    /// Benchmarks (run with --release); each prints one JSON line per measurement.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// CAP 1.2 alerts: check files against the standard and the China profile, or rewrite canonically.
    #[command(subcommand)]
    Cap(tongxin_cap::cli::CapCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("无法启动运行时 / cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 / error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
