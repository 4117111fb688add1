//! Test kit: a fresh, migrated store per test on every backend under test.
//!
//! SQLite always; PostgreSQL too when `TONGXIN_TEST_PG` holds a server URL (as in CI). Each test
//! gets its own SQLite file or its own PostgreSQL schema, so tests run in parallel.

use crate::{sqlite_url, Store, StoreConfig};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// One isolated test database.
pub struct TestDb {
    /// The migrated store.
    pub store: Store,
    dir: Option<std::path::PathBuf>,
    pg: Option<(String, String)>,
}

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

impl TestDb {
    /// A fresh SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique("tongxin_test"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let cfg = StoreConfig { url: sqlite_url(&dir.join("tongxin.db")), max_connections: 4, pg_schema: None };
        let store = Store::connect(&cfg).await.expect("sqlite connect");
        store.migrate().await.expect("sqlite migrate");
        TestDb { store, dir: Some(dir), pg: None }
    }

    /// A fresh PostgreSQL schema, if `TONGXIN_TEST_PG` is set.
    pub async fn postgres() -> Option<TestDb> {
        let url = std::env::var("TONGXIN_TEST_PG").ok().filter(|u| !u.is_empty())?;
        let schema = unique("t");
        let admin = Store::connect(&StoreConfig { url: url.clone(), max_connections: 1, pg_schema: None })
            .await
            .expect("TONGXIN_TEST_PG is set but PostgreSQL is not reachable");
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\"")).execute(admin.reader()).await.expect("create schema");
        admin.close().await;
        let cfg = StoreConfig { url: url.clone(), max_connections: 8, pg_schema: Some(schema.clone()) };
        let store = Store::connect(&cfg).await.expect("pg connect");
        store.migrate().await.expect("pg migrate");
        Some(TestDb { store, dir: None, pg: Some((url, schema)) })
    }

    /// Every backend under test: SQLite, plus PostgreSQL when configured.
    pub async fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        if let Some(pg) = TestDb::postgres().await {
            v.push(pg);
        }
        v
    }

    /// A second store on the same database (another "node" of a cluster).
    pub async fn second_store(&self) -> Store {
        let pg_schema = self.pg.as_ref().map(|(_, s)| s.clone());
        let cfg = StoreConfig { url: self.store.url().to_string(), max_connections: 4, pg_schema };
        Store::connect(&cfg).await.expect("second store")
    }

    /// Removes the database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(d) = self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some((url, schema)) = self.pg {
            if let Ok(admin) = Store::connect(&StoreConfig { url, max_connections: 1, pg_schema: None }).await {
                let _ = sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(admin.reader()).await;
                admin.close().await;
            }
        }
    }
}
