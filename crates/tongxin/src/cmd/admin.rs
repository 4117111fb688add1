//! `tongxin admin …`.

use super::{open, Resolved};
use clap::Subcommand;
use std::process::ExitCode;
use tongxin_app::auth::NewAccount;
use tongxin_app::{AppError, RequestCtx};

/// Account administration.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account.
    CreateUser {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Password (≥ 8 characters with letters and digits).
        #[arg(long, env = "TONGXIN_NEW_PASSWORD")]
        password: String,
        /// Role: commander, civil_affairs, community_worker, grid_worker, org_admin, volunteer,
        /// resident, supervisor, sys_admin.
        #[arg(long)]
        role: String,
        /// Jurisdiction: a division code (12 digits, 15 for a grid).
        #[arg(long)]
        division: Option<String>,
        /// Organisation id (for organisation admins).
        #[arg(long)]
        org_id: Option<i64>,
        /// Display name.
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// Create an API token (Bearer) acting as an existing account, with its scope.
    CreateToken {
        /// The account.
        #[arg(long)]
        username: String,
        /// Token name.
        #[arg(long)]
        name: String,
        /// Lifetime in days.
        #[arg(long)]
        ttl_days: Option<i64>,
    },
}

/// Runs an admin command.
pub async fn run(r: &Resolved, c: AdminCommand) -> anyhow::Result<ExitCode> {
    let app = open(&r.db).await?;
    app.ensure_division_tree().await?;
    let ctx = RequestCtx { request_id: "cli".into(), ip: "local".into(), ..Default::default() };
    let res = match c {
        AdminCommand::CreateUser { username, password, role, division, org_id, display_name } => app
            .create_user(
                &ctx,
                None,
                &NewAccount { username, display_name, password, role, division_code: division, org_id },
            )
            .await
            .map(|id| println!("已创建账号 / account created: id {id}")),
        AdminCommand::CreateToken { username, name, ttl_days } => {
            let user = app.store.user_by_username(&username).await.map_err(AppError::from);
            match user.and_then(|u| tongxin_app::auth::actor_of(&u)) {
                Ok(actor) => app.create_api_token(&ctx, &actor, &name, ttl_days).await.map(|t| println!("{t}")),
                Err(e) => Err(e),
            }
        }
    };
    match res {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(AppError::Validation(errs)) => {
            for e in errs {
                eprintln!("{}: {} / {}", e.field, e.message.zh, e.message.en);
            }
            Ok(ExitCode::from(2))
        }
        Err(AppError::NotFound) => {
            eprintln!("未找到 / not found");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}
