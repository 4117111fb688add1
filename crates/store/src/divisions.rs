//! Division tree and grids: bulk load, lookups by code, children, ancestors, "is X within Y".

use crate::{col, Result, Store, StoreError, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;
use tongxin_domain::division::{path_codes, path_upper_bound, DivisionRow, Level};

/// A stored division node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Division {
    /// Code (12 digits, 15 for grids).
    pub code: String,
    /// Name.
    pub name: String,
    /// Level key.
    pub level: String,
    /// Parent code.
    pub parent_code: Option<String>,
    /// Materialised path.
    pub path: String,
    /// Depth from the loaded root (0).
    pub depth: i64,
}

const COLS: &str = "code, name, level, parent_code, path, depth";

fn from_row(r: &AnyRow) -> Result<Division> {
    Ok(Division {
        code: col(r, "code")?,
        name: col(r, "name")?,
        level: col(r, "level")?,
        parent_code: col(r, "parent_code")?,
        path: col(r, "path")?,
        depth: col(r, "depth")?,
    })
}

/// Inserts rows (parents first) with their paths; rows whose code exists are skipped.
/// Returns the number inserted.
pub async fn insert_rows(tx: &mut Tx, rows: &[DivisionRow], paths: &[String]) -> Result<u64> {
    let pairs: Vec<(&DivisionRow, &String)> = rows.iter().zip(paths).collect();
    crate::bulk::bulk_insert_then(tx, "divisions", COLS, " ON CONFLICT (code) DO NOTHING", &pairs, |q, (r, p)| {
        let depth = path_codes(p).len() as i64 - 1;
        q.bind(r.code.clone())
            .bind(r.name.clone())
            .bind(r.level.key())
            .bind(r.parent.clone())
            .bind((*p).clone())
            .bind(depth)
    })
    .await
}

impl Store {
    /// Number of nodes (all levels).
    pub async fn division_count(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM divisions").fetch_one(self.reader()).await?;
        col(&r, "n")
    }

    /// Counts per level key.
    pub async fn division_level_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT level, COUNT(*) AS n FROM divisions GROUP BY level ORDER BY level")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| Ok((col(r, "level")?, col(r, "n")?))).collect()
    }

    /// One node by code.
    pub async fn division(&self, code: &str) -> Result<Division> {
        let r = sqlx::query(&format!("SELECT {COLS} FROM divisions WHERE code = $1"))
            .bind(code.to_string())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&r)
    }

    /// Children of a node, by code.
    pub async fn division_children(&self, code: &str) -> Result<Vec<Division>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM divisions WHERE parent_code = $1 ORDER BY code"))
            .bind(code.to_string())
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Root nodes (no parent).
    pub async fn division_roots(&self) -> Result<Vec<Division>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM divisions WHERE parent_code IS NULL ORDER BY code"))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Ancestors of a node, root first, excluding the node. One query: the codes are in the path.
    pub async fn division_ancestors(&self, code: &str) -> Result<Vec<Division>> {
        let node = self.division(code).await?;
        let codes: Vec<&str> = path_codes(&node.path);
        let ancestors = &codes[..codes.len().saturating_sub(1)];
        if ancestors.is_empty() {
            return Ok(vec![]);
        }
        let ph: Vec<String> = (1..=ancestors.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT {COLS} FROM divisions WHERE code IN ({}) ORDER BY depth", ph.join(","));
        let mut q = sqlx::query(&sql);
        for c in ancestors {
            q = q.bind(c.to_string());
        }
        q.fetch_all(self.reader()).await?.iter().map(from_row).collect()
    }

    /// Whether node `code` is `ancestor` itself or below it.
    pub async fn division_within(&self, code: &str, ancestor: &str) -> Result<bool> {
        let (a, b) = (self.division(code).await?, self.division(ancestor).await?);
        Ok(tongxin_domain::division::is_within(&a.path, &b.path))
    }

    /// Nodes under `path` (inclusive) whose name contains `q`, shallowest first (for pickers).
    pub async fn division_search(&self, within_path: &str, q: &str, limit: i64) -> Result<Vec<Division>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM divisions WHERE path >= $1 AND path < $2 AND name LIKE $3 ESCAPE '\\' ORDER BY depth, code LIMIT $4"
        ))
        .bind(within_path.to_string())
        .bind(path_upper_bound(within_path))
        .bind(format!("%{}%", crate::sql::like_escape(q)))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Nodes of one level under `path`, in code order.
    pub async fn divisions_at_level(&self, within_path: &str, level: Level) -> Result<Vec<Division>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM divisions WHERE path >= $1 AND path < $2 AND level = $3 ORDER BY code"
        ))
        .bind(within_path.to_string())
        .bind(path_upper_bound(within_path))
        .bind(level.key())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
