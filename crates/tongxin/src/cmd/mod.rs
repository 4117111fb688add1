//! One module per subcommand.

pub mod admin;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod bench_alerts;
pub mod bench_mobilise;
pub mod bench_registry;
pub mod bench_workorders;
pub mod bench_writes;
pub mod import;
pub mod seed;
pub mod serve;

use crate::config::{DbSettings, FileConfig};
use crate::{Cli, Command, LogFormat};
use std::process::ExitCode;
use tongxin_app::{App, AppConfig};
use tongxin_store::{Store, StoreConfig};

/// Settings resolved from flags, environment, file and defaults.
pub struct Resolved {
    /// Database settings.
    pub db: DbSettings,
    /// The file's settings (for keys only the file provides).
    pub file: FileConfig,
}

/// Resolves settings in precedence order.
pub fn resolve(cli: &Cli) -> anyhow::Result<Resolved> {
    let (file, unknown) = FileConfig::load(cli.config.as_deref())?;
    let log_format = cli.log_format.unwrap_or(match file.log_format.as_deref() {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Text,
    });
    init_logging(log_format);
    for k in unknown {
        tracing::warn!(key = %k, "配置文件中的未知项已忽略 / unknown key in config file ignored");
    }
    let db = DbSettings {
        data: cli.data.clone().or_else(|| file.data.clone()).unwrap_or_else(|| "tongxin-data".into()),
        database_url: cli.database_url.clone().or_else(|| file.database_url.clone()).filter(|u| !u.is_empty()),
        max_connections: file.max_connections.unwrap_or(16),
    };
    Ok(Resolved { db, file })
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sqlx::query=error,tower_http=info"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Text => b.try_init(),
    };
}

/// Opens (and migrates) the store.
pub async fn open(db: &DbSettings) -> anyhow::Result<App> {
    let url = db.url()?;
    let store = Store::connect(&StoreConfig { url, max_connections: db.max_connections, pg_schema: None }).await?;
    store.migrate().await?;
    let app = App::new(store, AppConfig::default());
    // Rows written before personal data was encrypted at rest are encrypted now (idempotent).
    app.encrypt_legacy_personal_data().await?;
    Ok(app)
}

/// Runs the chosen command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let r = resolve(&cli)?;
    match cli.command {
        Command::Serve(args) => serve::run(&r, args).await,
        Command::Migrate => {
            let app = open(&r.db).await?;
            app.ensure_division_tree().await?;
            println!("数据库已迁移 / database migrated ({})", app.store.backend().name());
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed(args) => seed::run(&r, args).await,
        Command::Admin(c) => admin::run(&r, c).await,
        Command::Audit(c) => audit::run(&r, c).await,
        Command::Import(c) => import::run(&r, c).await,
        Command::Backup { file } => backup::backup(&r, &file).await,
        Command::Restore { file } => backup::restore(&r, &file).await,
        Command::Bench(c) => bench::run(&r, c).await,
        Command::Cap(c) => Ok(ExitCode::from(tongxin_cap::cli::run(&c, &mut std::io::stdout())?.clamp(0, 255) as u8)),
    }
}
