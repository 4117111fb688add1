//! Write transactions, with group commit.
//!
//! A 2xx means the change is on disk, so every commit must reach stable storage (SQLite
//! `synchronous=FULL`, PostgreSQL `synchronous_commit=on`). One fsync per request caps throughput
//! at the disk's flush rate; group commit shares one fsync among all requests that are ready at
//! the same moment, without weakening what an acknowledgement means.
//!
//! - SQLite has one writer connection. Each request's transaction is a SAVEPOINT inside one outer
//!   transaction. When a request commits it releases its savepoint, then queues again for the
//!   writer (the mutex is fair, FIFO): the requests that were already waiting run their own
//!   savepoints meanwhile, and whoever reaches the front first with unflushed work issues one
//!   COMMIT for all of them. Every request returns only after the COMMIT that holds its changes
//!   succeeded; if that COMMIT fails, every request in it gets the error (nothing is acknowledged
//!   and lost). A failed or dropped request rolls back to its savepoint only.
//! - PostgreSQL works the same way, one writer connection per node: the audit chain's head row
//!   lock serialises the transactions that append to it until they commit, so one transaction per
//!   request would pay one WAL flush each in turn (measured: 339 writes/s). Several nodes each
//!   batch their own requests; their batches take turns on the head row.
//! - What the requests of one outer transaction share is kept in [`Batch`] and written once,
//!   just before its COMMIT: the audit chain's head (read, and locked on PostgreSQL, by the first
//!   append; every later append of the batch continues it in memory) and, on PostgreSQL, the
//!   events lock and one NOTIFY for the whole batch. A request's savepoint snapshots it, so a
//!   rolled-back request takes its share back with its rows.

use crate::{Backend, Result, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Executor};
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A write transaction: every request's changes and its audit records commit together.
///
/// Use it as an executor with `&mut **tx` (it dereferences to the connection). Dropping it
/// without [`Tx::commit`] rolls its changes back.
pub struct Tx {
    /// The writer, held from begin until commit, rollback or drop.
    held: Option<OwnedMutexGuard<Writer>>,
}

/// The SQLite writer shared by all requests of one store.
pub(crate) struct GroupWriter {
    state: Arc<Mutex<Writer>>,
}

pub(crate) struct Writer {
    pool: AnyPool,
    /// `BEGIN IMMEDIATE` on SQLite (take the write lock now, so no statement later fails on a
    /// lock upgrade), `BEGIN` on PostgreSQL.
    begin_sql: &'static str,
    /// Held while an outer transaction is open, returned to the pool after each COMMIT.
    conn: Option<PoolConnection<Any>>,
    /// A request's savepoint is open (its owner is running, or dropped it mid-way).
    in_savepoint: bool,
    /// Number of the open (or next) outer transaction.
    epoch: u64,
    /// Requests whose released savepoints wait in the open outer transaction.
    pending: usize,
    /// Recent outer transactions whose COMMIT failed, so their requests can learn it.
    failed: VecDeque<(u64, String)>,
    backend: Backend,
    /// Shared state of the open outer transaction, and its snapshot at the open savepoint.
    batch: Batch,
    saved: Batch,
}

/// What the requests of one outer transaction share; written once before its COMMIT.
#[derive(Debug, Clone, Default)]
pub(crate) struct Batch {
    /// The audit chain's head (last seq, its hash) as of this transaction, once read.
    pub(crate) audit_head: Option<(i64, String)>,
    /// The head moved: write it back before COMMIT.
    pub(crate) head_dirty: bool,
    /// PostgreSQL: the events lock (event ids commit in order) is held.
    pub(crate) events_locked: bool,
    /// PostgreSQL: events were published; one NOTIFY at COMMIT wakes the other nodes.
    pub(crate) notify: bool,
}

impl Batch {
    /// Writes the shared state into the transaction, just before COMMIT.
    async fn write(&self, c: &mut AnyConnection) -> std::result::Result<(), sqlx::Error> {
        if let (true, Some((seq, hash))) = (self.head_dirty, &self.audit_head) {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(*seq)
                .bind(hash.clone())
                .execute(&mut *c)
                .await?;
        }
        if self.notify {
            sqlx::query("SELECT pg_notify($1, 'batch')").bind(crate::events::CHANNEL).execute(&mut *c).await?;
        }
        Ok(())
    }
}

impl GroupWriter {
    pub(crate) fn new(pool: AnyPool, backend: Backend) -> GroupWriter {
        let begin_sql = match backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        GroupWriter {
            state: Arc::new(Mutex::new(Writer {
                pool,
                begin_sql,
                conn: None,
                in_savepoint: false,
                epoch: 0,
                pending: 0,
                failed: VecDeque::new(),
                backend,
                batch: Batch::default(),
                saved: Batch::default(),
            })),
        }
    }

    pub(crate) async fn begin(&self) -> Result<Tx> {
        // Bounded like a pool acquire: a request never waits forever for the writer.
        let mut w = tokio::time::timeout(ACQUIRE_TIMEOUT, self.state.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Db(sqlx::Error::PoolTimedOut))?;
        w.clean().await?;
        if w.conn.is_none() {
            let mut c = w.pool.acquire().await?;
            c.execute(w.begin_sql).await?;
            w.conn = Some(c);
        }
        w.conn_mut().execute("SAVEPOINT tx").await?;
        w.in_savepoint = true;
        w.saved = w.batch.clone();
        Ok(Tx { held: Some(w) })
    }

    /// Returns the writer connection to the pool once no request's work is open (shutdown).
    pub(crate) async fn release(&self) {
        let mut w = self.state.lock().await;
        let _ = w.clean().await;
        if w.pending == 0 {
            if let Some(mut c) = w.conn.take() {
                let _ = c.execute("ROLLBACK").await;
            }
        }
    }
}

impl Writer {
    fn conn_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_deref_mut().expect("writer connection is open while a request holds the writer")
    }

    /// Undoes the savepoint of a request that was dropped without committing; when nothing
    /// else waits in the outer transaction, ends it so the write lock is not held idle.
    async fn clean(&mut self) -> Result<()> {
        if !self.in_savepoint {
            return Ok(());
        }
        self.in_savepoint = false;
        let undo = async {
            let c = self.conn_mut();
            c.execute("ROLLBACK TO tx").await?;
            c.execute("RELEASE tx").await?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = undo {
            // The outer transaction is in an unknown state: give it up, and tell the requests
            // waiting in it that their changes are not saved.
            self.abandon(e.to_string()).await;
            return Err(StoreError::Db(e));
        }
        self.batch = std::mem::take(&mut self.saved);
        if self.pending == 0 {
            if let Some(mut c) = self.conn.take() {
                self.batch = Batch::default();
                c.execute("ROLLBACK").await?;
            }
        }
        Ok(())
    }

    async fn abandon(&mut self, why: String) {
        self.batch = Batch::default();
        if let Some(mut c) = self.conn.take() {
            let _ = c.execute("ROLLBACK").await;
            if self.pending > 0 {
                self.fail_epoch(self.epoch, why);
            }
            self.epoch += 1;
            self.pending = 0;
            // A connection in an unknown state is not reused.
            c.close_on_drop();
        }
    }

    fn fail_epoch(&mut self, epoch: u64, why: String) {
        self.failed.push_back((epoch, why));
        while self.failed.len() > 64 {
            self.failed.pop_front();
        }
    }

    fn outcome(&self, epoch: u64) -> Result<()> {
        match self.failed.iter().find(|(e, _)| *e == epoch) {
            Some((_, why)) => Err(StoreError::Db(sqlx::Error::Protocol(format!("group commit failed: {why}")))),
            None => Ok(()),
        }
    }

    /// Commits the open outer transaction: one fsync for every request released into it.
    async fn flush(&mut self) -> Result<()> {
        let Some(mut c) = self.conn.take() else { return Ok(()) };
        let batch = std::mem::take(&mut self.batch);
        let epoch = self.epoch;
        self.epoch += 1;
        self.pending = 0;
        let done = match batch.write(&mut c).await {
            Ok(()) => c.execute("COMMIT").await.map(drop),
            Err(e) => Err(e),
        };
        match done {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = c.execute("ROLLBACK").await;
                c.close_on_drop();
                self.fail_epoch(epoch, e.to_string());
                Err(StoreError::Db(e))
            }
        }
    }
}

impl Tx {
    /// The state shared by the requests of the open outer transaction.
    pub(crate) fn batch(&mut self) -> &mut Batch {
        &mut self.held.as_mut().expect("writer held").batch
    }

    /// The backend the transaction runs on.
    pub(crate) fn backend(&self) -> Backend {
        self.held.as_ref().expect("writer held").backend
    }

    /// Commits. Returns once the changes are durable on disk. (The error type is sqlx's, as
    /// for a plain sqlx transaction.)
    pub async fn commit(mut self) -> std::result::Result<(), sqlx::Error> {
        crate::idempotency::mark_committed(&mut self).await?;
        let mut w = self.held.take().expect("writer held until commit");
        // On failure `in_savepoint` stays set: the next holder rolls this request back.
        w.conn_mut().execute("RELEASE tx").await?;
        w.in_savepoint = false;
        w.pending += 1;
        let mine = w.epoch;
        let state = OwnedMutexGuard::mutex(&w).clone();
        drop(w);
        // Queue again: requests already waiting run their savepoints into the same outer
        // transaction first; the first of us to come back with it unflushed commits it.
        let mut w = state.lock_owned().await;
        if w.epoch == mine {
            w.clean().await.map_err(to_sqlx)?;
            if w.epoch == mine {
                return w.flush().await.map_err(to_sqlx);
            }
        }
        w.outcome(mine).map_err(to_sqlx)
    }

    /// Rolls back explicitly (dropping does the same).
    pub async fn rollback(mut self) -> std::result::Result<(), sqlx::Error> {
        let mut w = self.held.take().expect("writer held until rollback");
        w.clean().await.map_err(to_sqlx)
    }
}

fn to_sqlx(e: StoreError) -> sqlx::Error {
    match e {
        StoreError::Db(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(mut w) = self.held.take() {
            // Roll back now, still holding the writer, so no one else runs on top of the
            // abandoned savepoint; without a runtime, the next holder does it.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    if let Err(e) = w.clean().await {
                        tracing::warn!(error = %e, "回滚失败 / rollback of an abandoned write failed");
                    }
                });
            }
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.held.as_ref().and_then(|w| w.conn.as_deref()).expect("writer held")
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.held.as_mut().expect("writer held").conn_mut()
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}
