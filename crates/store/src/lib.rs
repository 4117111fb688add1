//! Tongxin store: the one storage interface, over SQLite (embedded default) and PostgreSQL.
//!
//! Both backends run through sqlx's `Any` driver with the same query text: `$n` placeholders
//! (SQLite accepts them), times as BIGINT unix milliseconds, booleans as BIGINT 0/1, JSON as
//! TEXT. Only migrations are written per backend. The backend is chosen by URL scheme.
//!
//! SQLite gets a single-connection writer pool (writes are serialised by SQLite anyway; one writer
//! avoids `SQLITE_BUSY` on lock upgrades) plus a reader pool; WAL with `synchronous=FULL`, so an
//! acknowledged commit is on disk. PostgreSQL uses one pool for both. On both, writes go through
//! one group-committing writer per node (see [`Tx`]).
#![forbid(unsafe_code)]

pub mod alerts;
pub mod audit;
pub mod bulk;
pub mod divisions;
pub mod events;
pub mod grids;
pub mod idempotency;
pub mod incident_photos;
pub mod incidents;
pub mod notifications;
pub mod outbox;
pub mod registry;
pub mod sessions;
pub mod sql;
pub mod testkit;
mod tx;
pub mod users;
pub mod workorders;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor};
use std::path::PathBuf;
use std::time::Duration;

pub use tx::Tx;

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Name for logs and health output.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Errors of the store layer. Driver details stay here: upper layers log them, never show them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or is outside the caller's scope).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the change; the string names the constraint or column.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Maps unique violations to [`StoreError::Conflict`].
pub fn map_unique(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.constraint().unwrap_or(db.message()).to_string());
        }
    }
    StoreError::Db(e)
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Maximum pooled connections (PostgreSQL) or readers (SQLite).
    pub max_connections: u32,
    /// PostgreSQL schema to use (tests isolate themselves this way); `None` for the default.
    pub pg_schema: Option<String>,
}

/// A pooled PostgreSQL connection idle longer than this is pinged before use.
const PING_IDLE_AFTER: Duration = Duration::from_secs(10);

/// The store handle. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    url: std::sync::Arc<str>,
    /// The group-committing writer (see [`Tx`]).
    group: std::sync::Arc<tx::GroupWriter>,
    /// Incidents' fixed facts (see [`Store::incident_ref`]).
    incident_refs: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, incidents::IncidentRef>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish()
    }
}

/// SQLite URL for a file path, created if missing.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

impl Store {
    /// Connects; does not migrate.
    pub async fn connect(cfg: &StoreConfig) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if cfg.url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if cfg.url.starts_with("postgres:") || cfg.url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Db(sqlx::Error::Configuration(
                format!("unsupported database URL scheme (use sqlite:// or postgres://): {}", redact_url(&cfg.url))
                    .into(),
            )));
        };
        match backend {
            Backend::Sqlite => {
                let opts = || {
                    // A local file does not hang up: pinging each connection before use would
                    // cost every read one more round trip to the connection's thread.
                    AnyPoolOptions::new().test_before_acquire(false).after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL for concurrent readers; FULL so a commit is durable when acknowledged.
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
                                 PRAGMA busy_timeout=10000; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                };
                let write = opts().max_connections(1).connect(&cfg.url).await?;
                let read = opts().max_connections(cfg.max_connections.max(2)).connect(&cfg.url).await?;
                let group = std::sync::Arc::new(tx::GroupWriter::new(write.clone(), Backend::Sqlite));
                Ok(Store {
                    read,
                    write,
                    backend,
                    url: cfg.url.clone().into(),
                    group,
                    incident_refs: Default::default(),
                })
            }
            Backend::Postgres => {
                let schema = cfg.pg_schema.clone();
                let pool = AnyPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    // Ping only a connection that sat idle a while (the server may have dropped
                    // it); sqlx's default pings on every acquire, one more network round trip
                    // for every read.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > PING_IDLE_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .after_connect(move |conn, _| {
                        let schema = schema.clone();
                        Box::pin(async move {
                            if let Some(s) = schema {
                                conn.execute(format!("SET search_path TO \"{s}\"").as_str()).await?;
                            }
                            // Plan every execution with its actual values: the best access path
                            // of a scoped list depends on how big the jurisdiction is (a generic
                            // plan for a city-wide page sorts the whole table).
                            conn.execute("SET plan_cache_mode = force_custom_plan").await?;
                            Ok(())
                        })
                    })
                    .connect(&cfg.url)
                    .await?;
                let group = std::sync::Arc::new(tx::GroupWriter::new(pool.clone(), Backend::Postgres));
                Ok(Store {
                    read: pool.clone(),
                    write: pool,
                    backend,
                    url: cfg.url.clone().into(),
                    group,
                    incident_refs: Default::default(),
                })
            }
        }
    }

    /// Applies pending migrations. Safe when several nodes start together: on PostgreSQL the
    /// migrator holds an advisory lock; SQLite serialises writers.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.write).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.write).await?,
        }
        Ok(())
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection URL (contains credentials: never log it unredacted).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SQLite database file, when the store is one (not in memory).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let rest = self.url.strip_prefix("sqlite://").or_else(|| self.url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
    }

    /// Pool for reads.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// Starts a write transaction (group-committed; see [`Tx`]).
    pub async fn begin(&self) -> Result<Tx> {
        self.group.begin(false).await
    }

    /// Starts a write transaction whose changes are all appends written at COMMIT (timeline
    /// entries, audit records, live events): it takes no savepoint, so it costs the shared
    /// writer no round trip at all. Running a statement on it panics.
    pub async fn begin_appends(&self) -> Result<Tx> {
        self.group.begin(true).await
    }

    /// Checks that the database answers (for /healthz).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Pool figures for /metrics: (backend, size, idle) per pool.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        let mut v = vec![("read", self.read.size(), self.read.num_idle())];
        if self.backend == Backend::Sqlite {
            v.push(("write", self.write.size(), self.write.num_idle()));
        }
        v
    }

    /// Closes the pools (graceful shutdown).
    pub async fn close(&self) {
        self.group.release().await;
        self.read.close().await;
        self.write.close().await;
    }
}

impl Store {
    /// Refreshes the planner's statistics after bulk loads (same statement on both backends):
    /// without them SQLite assumes a jurisdiction range is selective and sorts whole tables.
    ///
    /// On PostgreSQL it is `VACUUM (ANALYZE)`: the vacuum sets the visibility map and hint bits of
    /// the freshly loaded pages (what autovacuum does some minutes later), so the first queries
    /// after a load read index-only instead of visiting and rewriting every heap page.
    pub async fn analyze(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                // Sample each index (as PostgreSQL samples tables) rather than read millions of rows.
                sqlx::query("PRAGMA analysis_limit=1000").execute(&self.write).await?;
                sqlx::query("ANALYZE").execute(&self.write).await?;
            }
            Backend::Postgres => {
                // This schema's tables only: the database may hold other schemas (tests, tenants).
                let rows = sqlx::query(
                    "SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = current_schema() \
                     ORDER BY tablename",
                )
                .fetch_all(&self.write)
                .await?;
                let tables: Vec<String> = rows.iter().map(|r| col(r, "t")).collect::<Result<_>>()?;
                if !tables.is_empty() {
                    let sql = format!("VACUUM (ANALYZE) {}", tables.join(", "));
                    sqlx::query(&sql).persistent(false).execute(&self.write).await?;
                }
            }
        }
        Ok(())
    }

    /// Writes what the log holds into the database files now (PostgreSQL `CHECKPOINT`, which
    /// needs the `pg_checkpoint` role or a superuser; SQLite `wal_checkpoint(TRUNCATE)`), so that
    /// a benchmark's measured step does not share the disk with the checkpoint of its own load.
    pub async fn checkpoint(&self) -> Result<()> {
        let sql = match self.backend {
            Backend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
            Backend::Postgres => "CHECKPOINT",
        };
        sqlx::query(sql).persistent(false).execute(&self.write).await?;
        Ok(())
    }

    /// Number of rows of a table (a fixed name from the code, never from input).
    pub async fn count_rows(&self, table: &'static str) -> Result<i64> {
        let r = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}")).fetch_one(self.reader()).await?;
        col(&r, "n")
    }
}

/// Hides the password in a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Current time in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Reads a column, mapping decode errors into [`StoreError`].
pub fn col<T>(row: &AnyRow, name: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    Ok(row.try_get(name)?)
}

/// Builds `($1,$2,..),($k,..)` for a multi-row insert of `rows` rows of `cols` columns.
pub fn values_placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// Rows per multi-row insert so that binds stay under both backends' limits.
pub fn batch_rows(cols: usize) -> usize {
    (30_000 / cols).min(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(values_placeholders(2, 2), "($1,$2),($3,$4)");
    }

    #[test]
    fn redacts_password() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
