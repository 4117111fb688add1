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
    /// Retention: remove records older than N days (at least 180, the 6-month minimum of the
    /// security baseline). The removal is itself audited and the chain stays verifiable.
    Prune {
        /// Keep this many days.
        #[arg(long, default_value_t = 180)]
        older_than_days: i64,
    },
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
        AuditCommand::Prune { older_than_days } => {
            if older_than_days < 180 {
                eprintln!("审计记录至少保留 180 天 / audit records are kept at least 180 days");
                return Ok(ExitCode::from(2));
            }
            let before = tongxin_store::now_ms() - older_than_days * 86_400_000;
            let by = tongxin_store::audit::AuditInput {
                username: "system".into(),
                role: "system".into(),
                request_id: "cli".into(),
                ip: "local".into(),
                ..Default::default()
            };
            let mut tx = app.store.begin().await?;
            let n = tongxin_store::audit::prune(&mut tx, before, by).await?;
            tx.commit().await?;
            println!("已删除 {n} 条超过 {older_than_days} 天的审计记录 / removed {n} audit records older than {older_than_days} days");
            Ok(ExitCode::SUCCESS)
        }
    }
}
