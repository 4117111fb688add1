//! `tongxin backup FILE` and `tongxin restore FILE`: online, consistent backups.
//!
//! SQLite: `VACUUM INTO` writes a consistent snapshot while the server keeps running; restore
//! replaces the database file (stop the server first). PostgreSQL: `pg_dump --format=custom`
//! (a consistent snapshot by MVCC) and `pg_restore --clean`; the PostgreSQL client tools must be
//! installed. After a restore, `tongxin audit verify` checks the audit chain.

use super::Resolved;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::{Command, ExitCode};
use tongxin_store::{Store, StoreConfig};

fn is_pg(r: &Resolved) -> bool {
    r.db.database_url.as_deref().is_some_and(|u| u.starts_with("postgres"))
}

/// Writes a backup of the configured database to `file`.
pub async fn backup(r: &Resolved, file: &Path) -> anyhow::Result<ExitCode> {
    if file.exists() {
        bail!("备份文件已存在，不会覆盖 / backup file exists, not overwriting: {}", file.display());
    }
    if is_pg(r) {
        let url = r.db.database_url.clone().unwrap_or_default();
        let st = Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(file)
            .arg(&url)
            .status()
            .context(
                "无法运行 pg_dump（请安装 PostgreSQL 客户端）/ cannot run pg_dump (install the PostgreSQL client)",
            )?;
        if !st.success() {
            bail!("pg_dump 失败 / pg_dump failed ({st})");
        }
    } else {
        let store = Store::connect(&StoreConfig { url: r.db.url()?, max_connections: 2, pg_schema: None }).await?;
        let target = file.to_str().context("path must be UTF-8")?.replace('\'', "''");
        // A reader connection suffices: VACUUM INTO reads one consistent snapshot of the database.
        tongxin_store::sql::SqlBuf::new(&format!("VACUUM INTO '{target}'")).query().execute(store.reader()).await?;
        store.close().await;
    }
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!("已备份 / backed up to {} ({size} bytes)", file.display());
    Ok(ExitCode::SUCCESS)
}

/// Restores `file` into the configured database, replacing its contents.
pub async fn restore(r: &Resolved, file: &Path) -> anyhow::Result<ExitCode> {
    if !file.is_file() {
        bail!("备份文件不存在 / backup file not found: {}", file.display());
    }
    if is_pg(r) {
        let url = r.db.database_url.clone().unwrap_or_default();
        let st = Command::new("pg_restore")
            .args(["--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname"])
            .arg(&url)
            .arg(file)
            .status()
            .context("无法运行 pg_restore / cannot run pg_restore")?;
        if !st.success() {
            bail!("pg_restore 失败 / pg_restore failed ({st})");
        }
    } else {
        // Copy next to the database, check the copy is a Tongxin database, then swap it in.
        std::fs::create_dir_all(&r.db.data)?;
        let staged = r.db.data.join("tongxin.db.restoring");
        std::fs::copy(file, &staged)?;
        let check = async {
            let probe = Store::connect(&StoreConfig {
                url: tongxin_store::sqlite_url(&staged),
                max_connections: 1,
                pg_schema: None,
            })
            .await
            .context("不是可读的 SQLite 数据库 / not a readable SQLite database")?;
            let n = probe.count_rows("audit_log").await.context("不是同心的备份 / not a Tongxin backup");
            probe.close().await;
            n
        };
        if let Err(e) = check.await {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(r.db.data.join(format!("tongxin.db.restoring{ext}")));
            }
            return Err(e);
        }
        let db = r.db.data.join("tongxin.db");
        if db.exists() {
            let keep = r.db.data.join(format!("tongxin.db.before-restore-{}", tongxin_store::now_ms()));
            std::fs::rename(&db, &keep)?;
            println!("原数据库已保留为 / previous database kept as {}", keep.display());
        }
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(r.db.data.join(format!("tongxin.db{ext}")));
            let _ = std::fs::remove_file(r.db.data.join(format!("tongxin.db.restoring{ext}")));
        }
        std::fs::rename(&staged, &db)?;
    }
    println!("已恢复 / restored from {}; run `tongxin audit verify` to check the audit chain", file.display());
    Ok(ExitCode::SUCCESS)
}
