//! `tongxin audit …`.

use super::{open, Resolved};
use clap::Subcommand;
use std::process::ExitCode;
use tongxin_store::audit::VerifyOutcome;

/// Audit trail tools.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain; exit 1 and name the first broken record if any.
    Verify,
}

/// Runs an audit command.
pub async fn run(r: &Resolved, c: AuditCommand) -> anyhow::Result<ExitCode> {
    let app = open(&r.db).await?;
    match c {
        AuditCommand::Verify => match app.store.audit_verify().await? {
            VerifyOutcome::Intact { records } => {
                println!("审计链完整 / audit chain intact: {records} records");
                Ok(ExitCode::SUCCESS)
            }
            VerifyOutcome::Broken { seq, zh, en } => {
                println!("审计链损坏 / audit chain BROKEN at record {seq}: {zh} / {en}");
                Ok(ExitCode::from(1))
            }
        },
    }
}
