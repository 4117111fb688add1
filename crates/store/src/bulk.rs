//! Bulk loading (the offline demo seed): one transaction, large multi-row inserts, secondary
//! indexes built once after the load instead of row by row, and SQLite settings that only the
//! seed's own connection uses while it runs.

use crate::{col, Backend, Result, Store, StoreError, Tx};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;
use std::path::PathBuf;

/// Most bound parameters in one statement on both backends (SQLite's compiled-in limit is
/// 32,766; PostgreSQL's is 65,535).
pub const MAX_BINDS: usize = 32_766;

/// Rows per multi-row INSERT of `cols` columns: as many as the bind limit allows, at most
/// 4,000 (larger statements gain nothing and cost memory).
pub fn rows_per_insert(cols: usize) -> usize {
    (MAX_BINDS / cols.max(1)).clamp(1, 4_000)
}

/// Inserts `rows` into `table` (`cols` comma-separated) with multi-row INSERTs; `bind` binds
/// one row's values in column order. Each full-size chunk reuses one prepared statement.
pub async fn bulk_insert<T>(
    tx: &mut Tx,
    table: &str,
    cols: &str,
    rows: &[T],
    bind: impl for<'q> Fn(Query<'q, Any, AnyArguments<'q>>, &T) -> Query<'q, Any, AnyArguments<'q>>,
) -> Result<()> {
    bulk_insert_then(tx, table, cols, "", rows, bind).await.map(|_| ())
}

/// As [`bulk_insert`], with `suffix` after the VALUES list (e.g. an `ON CONFLICT` clause);
/// returns the rows affected.
///
/// The one place where the statement text differs by backend: SQLite numbers `$n` parameters
/// as named ones, looking each name up in a list (quadratic in the parameters of a statement,
/// seconds for a 30,000-parameter insert, on every prepare and bind), while anonymous `?`
/// parameters cost nothing; PostgreSQL only takes `$n`.
pub async fn bulk_insert_then<T>(
    tx: &mut Tx,
    table: &str,
    cols: &str,
    suffix: &str,
    rows: &[T],
    bind: impl for<'q> Fn(Query<'q, Any, AnyArguments<'q>>, &T) -> Query<'q, Any, AnyArguments<'q>>,
) -> Result<u64> {
    let mut affected = 0;
    let n = cols.split(',').count();
    let sqlite = tx.backend() == crate::Backend::Sqlite;
    for chunk in rows.chunks(rows_per_insert(n)) {
        let values =
            if sqlite { anonymous_placeholders(chunk.len(), n) } else { crate::values_placeholders(chunk.len(), n) };
        let sql = format!("INSERT INTO {table} ({cols}) VALUES {values}{suffix}");
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = bind(q, r);
        }
        affected += q.execute(&mut **tx).await.map_err(crate::map_unique)?.rows_affected();
    }
    Ok(affected)
}

/// As [`bulk_insert`], returning the new rows' ids in input order (identity values follow the
/// VALUES order on both backends; the order of RETURNING rows is not promised, so they are
/// sorted).
pub async fn bulk_insert_ids<T>(
    tx: &mut Tx,
    table: &str,
    cols: &str,
    rows: &[T],
    bind: impl for<'q> Fn(Query<'q, Any, AnyArguments<'q>>, &T) -> Query<'q, Any, AnyArguments<'q>>,
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    let n = cols.split(',').count();
    let sqlite = tx.backend() == crate::Backend::Sqlite;
    for chunk in rows.chunks(rows_per_insert(n)) {
        let values =
            if sqlite { anonymous_placeholders(chunk.len(), n) } else { crate::values_placeholders(chunk.len(), n) };
        let sql = format!("INSERT INTO {table} ({cols}) VALUES {values} RETURNING id");
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = bind(q, r);
        }
        let got = q.fetch_all(&mut **tx).await.map_err(crate::map_unique)?;
        let mut got: Vec<i64> = got.iter().map(|r| col(r, "id")).collect::<Result<_>>()?;
        got.sort_unstable();
        ids.extend(got);
    }
    Ok(ids)
}

/// One value of a bulk row, as both loaders bind it (NULLs keep their column's type for
/// PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    /// An integer (BIGINT, booleans as 0/1).
    Int(Option<i64>),
    /// A float.
    Real(Option<f64>),
    /// A text.
    Text(&'a str),
}

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Val::Int(Some(i)) => ValueRef::Integer(i),
            Val::Real(Some(x)) => ValueRef::Real(x),
            Val::Int(None) | Val::Real(None) => ValueRef::Null,
            Val::Text(t) => ValueRef::Text(t.as_bytes()),
        }))
    }
}

/// A row of a table that bulk loads write. Its table, columns and values are defined once here
/// and bound by both loaders: the sqlx one ([`insert_rows`], both backends) and the SQLite
/// staging one ([`Stager`]).
pub trait BulkRow: Send + Sync + 'static {
    /// The table.
    const TABLE: &'static str;
    /// Its columns as written, comma separated.
    const COLS: &'static str;
    /// Pushes the row's values in the order of [`BulkRow::COLS`]; `now` (unix ms) fills the
    /// load-time columns of the rows that have them.
    fn values<'a>(&'a self, now: i64, out: &mut Vec<Val<'a>>);
}

/// Binds one row's values, in column order, to a sqlx query.
pub fn bind_row<'q, R: BulkRow>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    row: &R,
    now: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    let mut vals = Vec::with_capacity(24);
    row.values(now, &mut vals);
    for v in vals {
        q = match v {
            Val::Int(i) => q.bind(i),
            Val::Real(x) => q.bind(x),
            Val::Text(t) => q.bind(t.to_string()),
        };
    }
    q
}

/// Inserts `rows` of a [`BulkRow`] table with multi-row INSERTs (see [`bulk_insert`]).
pub async fn insert_rows<R: BulkRow>(tx: &mut Tx, rows: &[R], now: i64) -> Result<()> {
    bulk_insert(tx, R::TABLE, R::COLS, rows, |q, r| bind_row(q, r, now)).await
}

/// One column of a [`insert_columns`] load.
#[derive(Debug, Clone)]
pub enum Column {
    /// Integers (None = NULL).
    Int(Vec<Option<i64>>),
    /// Texts.
    Text(Vec<String>),
}

impl Column {
    pub(crate) fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// A PostgreSQL array literal of the values, and its SQL type.
    fn pg_array(&self) -> (String, &'static str) {
        let mut s = String::from("{");
        match self {
            Column::Int(v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    match x {
                        Some(x) => s.push_str(&x.to_string()),
                        None => s.push_str("NULL"),
                    }
                }
            }
            Column::Text(v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push('"');
                    for c in x.chars() {
                        if c == '"' || c == '\\' {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                    s.push('"');
                }
            }
        }
        s.push('}');
        (s, if matches!(self, Column::Int(_)) { "bigint[]" } else { "text[]" })
    }
}

/// Inserts rows given column by column (`cols` names them in order, all of equal length) and,
/// with `returning`, returns the new ids in input order. PostgreSQL gets one
/// `INSERT … SELECT FROM unnest(array, …)` with one parameter per column: a multi-row VALUES
/// list of tens of thousands of parameters costs more to parse, bind and plan than to insert.
/// SQLite gets multi-row VALUES with anonymous placeholders (see [`bulk_insert_then`]).
pub async fn insert_columns(tx: &mut Tx, table: &str, cols: &[(&str, Column)], returning: bool) -> Result<Vec<i64>> {
    let backend = tx.backend();
    insert_columns_on(tx, backend, table, cols, returning).await
}

/// [`insert_columns`] on a bare connection (the group writer's deferred rows, at COMMIT).
pub(crate) async fn insert_columns_on(
    c: &mut sqlx::AnyConnection,
    backend: crate::Backend,
    table: &str,
    cols: &[(&str, Column)],
    returning: bool,
) -> Result<Vec<i64>> {
    let n = cols.first().map_or(0, |c| c.1.len());
    debug_assert!(cols.iter().all(|c| c.1.len() == n));
    if n == 0 {
        return Ok(vec![]);
    }
    let names = cols.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let ret = if returning { " RETURNING id" } else { "" };
    let sqlite = backend == crate::Backend::Sqlite;
    let mut ids = Vec::with_capacity(if returning { n } else { 0 });
    if !sqlite {
        let arrays: Vec<(String, &str)> = cols.iter().map(|c| c.1.pg_array()).collect();
        let args =
            arrays.iter().enumerate().map(|(i, (_, ty))| format!("${}::{ty}", i + 1)).collect::<Vec<_>>().join(", ");
        let sql = format!("INSERT INTO {table} ({names}) SELECT * FROM unnest({args}){ret}");
        let mut q = sqlx::query(&sql);
        for (a, _) in arrays {
            q = q.bind(a);
        }
        for r in q.fetch_all(&mut *c).await.map_err(crate::map_unique)? {
            ids.push(col::<i64>(&r, "id")?);
        }
    } else {
        for (rows, sql) in sqlite_inserts(table, cols, ret) {
            let q = bind_rows(sqlx::query(&sql), cols, rows);
            for r in q.fetch_all(&mut *c).await.map_err(crate::map_unique)? {
                ids.push(col::<i64>(&r, "id")?);
            }
        }
    }
    // Identity values follow the input order on both backends; RETURNING order is not promised.
    ids.sort_unstable();
    Ok(ids)
}

/// Binds rows `rows` of `cols`, row by row in column order (anonymous placeholders).
pub(crate) fn bind_rows<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    cols: &[(&str, Column)],
    rows: std::ops::Range<usize>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for k in rows {
        for (_, column) in cols {
            q = match column {
                Column::Int(v) => q.bind(v[k]),
                Column::Text(v) => q.bind(v[k].clone()),
            };
        }
    }
    q
}

/// SQLite: the statements that insert every row of `cols` into `table` (as many as the
/// parameter limit needs), each with the rows it binds ([`bind_rows`]).
fn sqlite_inserts(table: &str, cols: &[(&str, Column)], ret: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let n = cols.first().map_or(0, |c| c.1.len());
    let names = cols.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let per = rows_per_insert(cols.len());
    (0..n)
        .step_by(per)
        .map(|start| {
            let end = (start + per).min(n);
            let sql = format!(
                "INSERT INTO {table} ({names}) VALUES {}{ret}",
                anonymous_placeholders(end - start, cols.len())
            );
            (start..end, sql)
        })
        .collect()
}

/// SQLite: appends to `sql` the statements of [`sqlite_inserts`], each ending in `;`; bind
/// them with [`bind_rows`] over all rows. For one multi-statement query (sqlx numbers
/// anonymous placeholders across statements).
pub(crate) fn push_sqlite_inserts(sql: &mut String, table: &str, cols: &[(&str, Column)]) {
    for (_, s) in sqlite_inserts(table, cols, "") {
        sql.push_str(&s);
        sql.push(';');
    }
}

/// `(?,?),(?,?)` for `rows` rows of `cols` columns.
fn anonymous_placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(","));
    vec![one; rows].join(",")
}

/// Drops the non-unique secondary indexes of `tables` inside `tx` and returns the statements
/// that create them again ([`restore_indexes`]). Building an index once over sorted data is
/// many times faster than updating it for every one of millions of rows; even an index whose
/// keys arrive in ascending order (households by grid path) costs more kept up to date during
/// the load than built after it (measured on SQLite, a million rows and three such indexes:
/// 5.5-6.0 s of CPU kept, 4.8-5.1 s built after). Unique indexes and constraints stay, so
/// duplicates are still refused during the load. On PostgreSQL the drop locks the tables until
/// commit: only for offline loads.
pub async fn defer_indexes(tx: &mut Tx, backend: Backend, tables: &[&str]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in tables {
        let rows = match backend {
            Backend::Sqlite => {
                sqlx::query(
                    "SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
                     AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
                )
                .bind(t.to_string())
                .fetch_all(&mut **tx)
                .await?
            }
            Backend::Postgres => sqlx::query(
                "SELECT indexname::text AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() \
                     AND tablename = $1 AND indexdef NOT LIKE 'CREATE UNIQUE%' ORDER BY indexname",
            )
            .bind(t.to_string())
            .fetch_all(&mut **tx)
            .await?,
        };
        for r in rows {
            let name: String = col(&r, "name")?;
            let def: String = col(&r, "def")?;
            sqlx::query(&format!("DROP INDEX \"{name}\"")).execute(&mut **tx).await?;
            out.push(def);
        }
    }
    Ok(out)
}

/// Creates the indexes dropped by [`defer_indexes`] again.
pub async fn restore_indexes(tx: &mut Tx, defs: &[String]) -> Result<()> {
    for d in defs {
        sqlx::query(d).execute(&mut **tx).await?;
    }
    Ok(())
}

/// A job of the staging thread.
type StageJob = Box<dyn FnOnce(&rusqlite::Connection) -> rusqlite::Result<()> + Send>;

/// Writes bulk rows into a separate SQLite file (the staging file, next to the database) on
/// its own thread, with one prepared statement per table reused for every row, while the
/// caller goes on generating. Going through sqlx's Any driver costs a copy, a conversion and a
/// thread hand-off per value; this loader does none of that (city seed, 2 shared cores, load
/// average 3.5: its CPU time fell from 34 s to 31 s, its wall time from 35 s to 31-33 s, the
/// copy included). The staged rows reach the database in the bulk load's one
/// transaction ([`Store::begin_bulk_staged`], [`copy_staged`]), so a failed load still leaves
/// nothing behind; the staging file is deleted when its [`Staged`] is dropped.
pub struct Stager {
    read: sqlx::AnyPool,
    jobs: tokio::sync::mpsc::Sender<StageJob>,
    thread: std::thread::JoinHandle<rusqlite::Result<()>>,
    staged: Staged,
}

/// A finished staging file, ready to be attached by [`Store::begin_bulk_staged`]. Dropping it
/// deletes the file.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn stage_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return StoreError::Conflict(msg.clone().unwrap_or_default());
        }
    }
    StoreError::Db(sqlx::Error::Protocol(format!("staging: {e}")))
}

impl Store {
    /// Starts staging rows of `tables` (their definitions are copied from the database, without
    /// secondary indexes). `None` when the store is not a SQLite file: load through a [`Tx`].
    pub async fn stage(&self, tables: &[&str]) -> Result<Option<Stager>> {
        let Some(db) = self.sqlite_file() else { return Ok(None) };
        let mut defs = Vec::new();
        for t in tables {
            let r = sqlx::query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(t.to_string())
                .fetch_one(&self.read)
                .await?;
            defs.push(col::<String>(&r, "sql")?);
        }
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push("-stage");
        let path = db.with_file_name(name);
        // A file left by a crashed load is stale.
        let _ = std::fs::remove_file(&path);
        let staged = Staged { path: path.clone() };
        let (jobs, mut recv) = tokio::sync::mpsc::channel::<StageJob>(2);
        let thread = std::thread::Builder::new()
            .name("seed-stage".into())
            .spawn(move || {
                let c = rusqlite::Connection::open(&path)?;
                // A scratch file: nothing to journal, sync or check; one transaction.
                c.execute_batch(
                    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF; \
                     PRAGMA cache_size=-65536; BEGIN",
                )?;
                for d in &defs {
                    c.execute_batch(d)?;
                }
                while let Some(job) = recv.blocking_recv() {
                    job(&c)?;
                }
                c.execute_batch("COMMIT")
            })
            .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        Ok(Some(Stager { read: self.read.clone(), jobs, thread, staged }))
    }
}

impl Stager {
    /// Queues `rows` for the staging file (waits while two batches are already queued).
    pub async fn insert<R: BulkRow>(&self, rows: Vec<R>, now: i64) -> Result<()> {
        let job: StageJob = Box::new(move |c| {
            let n = R::COLS.split(',').count();
            let sql = format!("INSERT INTO {} ({}) VALUES ({})", R::TABLE, R::COLS, vec!["?"; n].join(","));
            let mut st = c.prepare_cached(&sql)?;
            let mut vals = Vec::with_capacity(n);
            for r in &rows {
                vals.clear();
                r.values(now, &mut vals);
                st.execute(rusqlite::params_from_iter(vals.iter()))?;
            }
            Ok(())
        });
        if self.jobs.send(job).await.is_err() {
            // The thread stopped on an error: [`Stager::finish`] reports it.
            return Err(StoreError::Db(sqlx::Error::Protocol("staging stopped".into())));
        }
        Ok(())
    }

    /// Commits the staging file and returns it.
    pub async fn finish(self) -> Result<Staged> {
        let Stager { jobs, thread, staged, .. } = self;
        drop(jobs);
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(format!("staging: {e}"))))?
            .map_err(|_| StoreError::Db(sqlx::Error::Protocol("staging thread panicked".into())))?
            .map_err(stage_error)?;
        Ok(staged)
    }
}

/// Where a bulk load's rows go: into its transaction, or to a staging file.
pub enum BulkSink<'a> {
    /// Inserted in the load's transaction.
    Tx(&'a mut Tx),
    /// Staged, copied into the load's transaction later ([`copy_staged`]).
    Stage(&'a Stager),
}

impl BulkSink<'_> {
    /// Writes `rows` (see [`BulkRow::values`] for `now`).
    pub async fn insert<R: BulkRow>(&mut self, rows: Vec<R>, now: i64) -> Result<()> {
        match self {
            BulkSink::Tx(tx) => insert_rows(tx, &rows, now).await,
            BulkSink::Stage(s) => s.insert(rows, now).await,
        }
    }

    /// The next free id of `table` in the database (one of [`crate::grids::ID_TABLES`]).
    pub async fn next_id(&mut self, table: &'static str) -> Result<i64> {
        match self {
            BulkSink::Tx(tx) => crate::grids::next_id(tx, table).await,
            BulkSink::Stage(s) => {
                debug_assert!(crate::grids::ID_TABLES.contains(&table));
                let r = sqlx::query(&format!("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM {table}"))
                    .fetch_one(&s.read)
                    .await?;
                col(&r, "n")
            }
        }
    }
}

/// Copies the staged rows of `R`'s table into the database, inside the bulk load's transaction
/// (started by [`Store::begin_bulk_staged`]). Into an empty table the copy is `SELECT *` with
/// the staged ids, which SQLite runs as a raw record transfer; otherwise the columns are
/// copied and the table assigns ids it does not give explicitly.
pub async fn copy_staged<R: BulkRow>(tx: &mut Tx) -> Result<u64> {
    let t = R::TABLE;
    let r = sqlx::query(&format!("SELECT NOT EXISTS (SELECT 1 FROM main.{t}) AS empty")).fetch_one(&mut **tx).await?;
    let sql = if col::<i64>(&r, "empty")? != 0 {
        format!("INSERT INTO main.{t} SELECT * FROM stage.{t}")
    } else {
        format!("INSERT INTO main.{t} ({c}) SELECT {c} FROM stage.{t} ORDER BY rowid", c = R::COLS)
    };
    Ok(sqlx::query(&sql).persistent(false).execute(&mut **tx).await.map_err(crate::map_unique)?.rows_affected())
}

/// How much a bulk load may relax the database's safety while it runs (SQLite; PostgreSQL
/// loads the same way in both cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    /// The load writes through the write-ahead log without syncing and is made durable at the
    /// end; a crash mid-load loses the load and nothing else (the small demo seed of
    /// `serve --demo`).
    Wal,
    /// An offline load that is simply run again if it does not finish (`tongxin seed --scale
    /// city`): the write-ahead log is switched off for the load, so the rows are written to the
    /// database file once instead of twice (log, then checkpoint). A failed load still rolls
    /// back (the rollback journal is kept in memory); a process or machine crash mid-load may
    /// leave a database to delete and seed again. Nothing in it was ever acknowledged to a user.
    Rerunnable,
}

impl Store {
    /// Starts the transaction of an offline bulk load (the demo seed). On SQLite the single
    /// writer connection stops syncing, checking foreign keys (the generator writes the rows
    /// and what they reference in the same transaction) and auto-checkpointing, gets a 1 GiB
    /// page cache and sorts with helper threads while building indexes; with
    /// [`BulkMode::Rerunnable`] it also leaves WAL for an in-memory rollback journal when no
    /// reader holds the file open (otherwise it stays in WAL). [`Store::end_bulk`] restores
    /// everything and makes the load durable (one fsync). This is sound only because a seed runs
    /// before the server accepts writes (`seed`, `serve --demo` before listening): no
    /// acknowledged user write ever commits with syncing off. On PostgreSQL the transaction
    /// gets more memory for building indexes.
    pub async fn begin_bulk(&self, mode: BulkMode) -> Result<Tx> {
        self.begin_bulk_with(mode, None).await
    }

    /// As [`Store::begin_bulk`], with `staged` attached as schema `stage` to the writer for
    /// [`copy_staged`] ([`Store::end_bulk`] detaches it). Attached before the transaction
    /// (SQLite attaches only outside one), and only once the staging is finished: the
    /// transaction's `BEGIN IMMEDIATE` locks every attached file.
    pub async fn begin_bulk_staged(&self, mode: BulkMode, staged: &Staged) -> Result<Tx> {
        self.begin_bulk_with(mode, Some(staged)).await
    }

    async fn begin_bulk_with(&self, mode: BulkMode, staged: Option<&Staged>) -> Result<Tx> {
        if self.backend == Backend::Sqlite {
            // Outside a transaction: SQLite refuses to change the safety level (and ignores
            // foreign_keys) inside one. The writer pool has one connection, so the transaction
            // below runs on this one.
            for p in [
                "PRAGMA synchronous=OFF",
                "PRAGMA foreign_keys=OFF",
                "PRAGMA wal_autocheckpoint=0",
                "PRAGMA cache_size=-1048576",
                "PRAGMA threads=2",
            ] {
                sqlx::query(p).execute(&self.write).await?;
            }
            if mode == BulkMode::Rerunnable {
                self.leave_wal().await;
            }
            if let Some(st) = staged {
                sqlx::query("ATTACH DATABASE $1 AS stage")
                    .bind(st.path.to_string_lossy().into_owned())
                    .execute(&self.write)
                    .await?;
            }
        }
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET LOCAL maintenance_work_mem = '512MB'").execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Switches the writer to an in-memory rollback journal if it can. Leaving WAL needs the
    /// only connection to the file: idle readers are closed (the pool opens new ones later,
    /// which return to WAL on connect); if one is busy the load stays in WAL.
    async fn leave_wal(&self) {
        while let Some(c) = self.read.try_acquire() {
            let _ = sqlx::Connection::close(c.detach()).await;
        }
        let _ = sqlx::query("PRAGMA busy_timeout=0").execute(&self.write).await;
        match sqlx::query("PRAGMA journal_mode=MEMORY").execute(&self.write).await {
            Ok(_) => tracing::info!("bulk load without the write-ahead log"),
            Err(e) => tracing::info!(error = %e, "bulk load stays in WAL (the file is in use)"),
        }
        let _ = sqlx::query("PRAGMA busy_timeout=10000").execute(&self.write).await;
    }

    /// Ends a bulk load (after its commit or rollback): restores the writer's settings and, on
    /// SQLite, makes the loaded data durable: back in WAL with `synchronous=FULL` (switching
    /// from the rollback journal commits a header change, which syncs the database file once),
    /// then a checkpoint so the log file shrinks again. Always call it, also when the load
    /// failed.
    pub async fn end_bulk(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            let r = sqlx::query("PRAGMA journal_mode").fetch_one(&self.write).await?;
            let in_wal = sqlx::Row::try_get::<String, _>(&r, 0).is_ok_and(|m| m.eq_ignore_ascii_case("wal"));
            let mut pragmas = vec![
                "PRAGMA synchronous=FULL",
                "PRAGMA journal_mode=WAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA threads=0",
                "PRAGMA wal_autocheckpoint=1000",
                "PRAGMA cache_size=-65536",
            ];
            // A load that stayed in WAL is in the log: copy it into the database file (synced).
            // One that left WAL wrote the file directly and the new log is empty.
            if in_wal {
                pragmas.push("PRAGMA wal_checkpoint(TRUNCATE)");
            }
            // A staging file first: `journal_mode` would apply to it too.
            let attached = sqlx::query("SELECT COUNT(*) AS n FROM pragma_database_list WHERE name = 'stage'")
                .fetch_one(&self.write)
                .await?;
            if col::<i64>(&attached, "n")? > 0 {
                pragmas.insert(0, "DETACH DATABASE stage");
            }
            for p in pragmas {
                sqlx::query(p).persistent(false).execute(&self.write).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pg_array_literals_quote_texts_and_keep_nulls() {
        use super::Column;
        assert_eq!(Column::Int(vec![Some(1), None, Some(-3)]).pg_array(), ("{1,NULL,-3}".into(), "bigint[]"));
        let t = Column::Text(vec!["任务 \"A\"".into(), "a\\b,{c}".into(), String::new()]);
        assert_eq!(t.pg_array(), (r#"{"任务 \"A\"","a\\b,{c}",""}"#.into(), "text[]"));
    }

    #[test]
    fn anonymous_placeholders() {
        assert_eq!(super::anonymous_placeholders(2, 3), "(?,?,?),(?,?,?)");
    }
}
