//! Write transactions, with group commit.
//!
//! A 2xx means the change is on disk, so every commit must reach stable storage (SQLite
//! `synchronous=FULL`, PostgreSQL `synchronous_commit=on`). One fsync per request caps throughput
//! at the disk's flush rate; group commit shares one fsync among all requests that are ready at
//! the same moment, without weakening what an acknowledgement means.
//!
//! - SQLite has one writer connection. Each request's transaction is a SAVEPOINT inside one outer
//!   transaction. When a request commits it leaves its savepoint, then queues again for the
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
//!   append; every later append of the batch continues it in memory), the audit records, live
//!   events and incident timeline entries of all its requests (one multi-row INSERT per table),
//!   and on PostgreSQL the events lock and one NOTIFY for the whole batch. A request's savepoint
//!   marks it, so a rolled-back request takes its share back with its rows.
//! - Every statement is a round trip (to sqlx's SQLite worker thread, or to the PostgreSQL
//!   server) made while holding the writer, so the writer makes as few as it can: a committed
//!   request's savepoint is released together with the next request's SAVEPOINT, or by the
//!   COMMIT; appends cost none until the batch's COMMIT; a request whose writes are all appends
//!   takes no savepoint at all ([`crate::Store::begin_appends`]); and on SQLite a batch is
//!   opened (with the reads its appends continue from) and committed (with every deferred row)
//!   in one round trip each.
//! - SQLite commits are pipelined: the writer is let go while a batch's COMMIT runs, and
//!   appends-only requests fill the next batch meanwhile, continuing the chain head and ids in
//!   memory ([`Carry`]). That batch opens its transaction with its own COMMIT, or when a request
//!   needs the connection (then the head and ids read must equal what it continued from, or its
//!   requests fail). One COMMIT runs at a time; if one fails, the batch continuing it fails too.
//!   Something else writing the file in between collides on the ids (primary keys) and fails
//!   the batch: nothing is acknowledged that is not saved.

use crate::bulk::Column::{self, Int, Text};
use crate::events::NewEvent;
use crate::incidents::NewTimeline;
use crate::outbox::EndpointCache;
use crate::{Backend, Result, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Executor};
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};
use tongxin_domain::audit::AuditEntry;

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
    endpoints: Arc<EndpointCache>,
    last_event: Arc<AtomicI64>,
}

pub(crate) struct Writer {
    pool: AnyPool,
    /// Held while an outer transaction is open, returned to the pool after each COMMIT.
    conn: Option<PoolConnection<Any>>,
    /// A request's savepoint is open (its owner is running, or dropped it mid-way).
    in_savepoint: bool,
    /// An appends-only request holds the writer (see [`crate::Store::begin_appends`]).
    in_appends: bool,
    /// PostgreSQL: timeline ids taken from the sequence and not used yet.
    id_pool: VecDeque<i64>,
    /// The savepoint of a request that committed is still open: it is released together with
    /// the next request's SAVEPOINT (one round trip instead of two), or by the COMMIT.
    release_pending: bool,
    /// Number of the open (or next) outer transaction.
    epoch: u64,
    /// Requests whose released savepoints wait in the open outer transaction.
    pending: usize,
    /// Recent outer transactions whose COMMIT failed, so their requests can learn it.
    failed: VecDeque<(u64, String)>,
    backend: Backend,
    /// Shared state of the open outer transaction, and its mark at the open savepoint.
    batch: Batch,
    saved: Mark,
    /// The node's webhook endpoint list, made stale by a COMMIT that changed it.
    endpoints: Arc<EndpointCache>,
    /// The highest event id this node has committed.
    last_event: Arc<AtomicI64>,
    /// SQLite: the epoch whose COMMIT is running, with the connection out of the writer.
    in_flight: Option<u64>,
    /// Woken when that COMMIT ends.
    landed: Arc<Notify>,
    /// SQLite: the open batch continues the one in flight (or just committed) in memory and has
    /// no connection yet; this is what it started from, to be checked when it opens one.
    carried: Option<Carry>,
}

/// What a SQLite batch's appends continue from: the chain's head and the next event and
/// timeline ids.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Carry {
    head: (i64, String),
    next_event: i64,
    next_timeline: i64,
}

impl Carry {
    fn of(s: &BatchState) -> Option<Carry> {
        Some(Carry { head: s.audit_head.clone()?, next_event: s.next_event?, next_timeline: s.next_timeline? })
    }

    fn read(r: &sqlx::any::AnyRow) -> Result<Carry> {
        Ok(Carry {
            head: (crate::col(r, "seq")?, crate::col(r, "hash")?),
            next_event: crate::col(r, "next_event")?,
            next_timeline: crate::col(r, "next_timeline")?,
        })
    }

    /// A batch's state that continues from here.
    fn state(&self) -> BatchState {
        let mut s = BatchState::default();
        self.clone().continue_in(&mut s);
        s
    }

    /// Sets what `s`'s appends continue from.
    fn continue_in(self, s: &mut BatchState) {
        (s.audit_head, s.next_event, s.next_timeline) =
            (Some(self.head), Some(self.next_event), Some(self.next_timeline));
    }
}

/// What the requests of one outer transaction share; written once before its COMMIT.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Heads, locks and flags; a request's savepoint keeps a copy.
    pub(crate) state: BatchState,
    /// Audit records appended in this transaction (record, previous hash, hash). They are
    /// inserted with one multi-row INSERT before COMMIT instead of one statement per request:
    /// nothing reads the log inside a write, and a failed INSERT fails the whole COMMIT.
    pub(crate) audit: Vec<(AuditEntry, String, String)>,
    /// Events published in this transaction (id, time, event), inserted like `audit`.
    pub(crate) events: Vec<(i64, i64, NewEvent)>,
    /// Incident timeline entries (id, entry), inserted like `audit`.
    pub(crate) timeline: Vec<(i64, NewTimeline)>,
    /// SQLite: idempotency keys (owner, key) of appends-only requests that committed while the
    /// batch had no connection, marked `committed` by the batch's COMMIT.
    pub(crate) idem_marks: Vec<(String, String)>,
}

/// The batch's small state, restored whole when a request rolls back.
#[derive(Debug, Clone, Default)]
pub(crate) struct BatchState {
    /// The audit chain's head (last seq, its hash) as of this transaction, once read.
    pub(crate) audit_head: Option<(i64, String)>,
    /// The head moved: write it back before COMMIT.
    pub(crate) head_dirty: bool,
    /// PostgreSQL: the events lock (event ids commit in order) is held.
    pub(crate) events_locked: bool,
    /// PostgreSQL: events were published; one NOTIFY at COMMIT wakes the other nodes.
    pub(crate) notify: bool,
    /// The next event id, once read under the events lock (max + 1).
    pub(crate) next_event: Option<i64>,
    /// SQLite: the next timeline id (max + 1, read when the batch opens).
    pub(crate) next_timeline: Option<i64>,
    /// Webhook endpoints were changed: the node's endpoint list is read again after COMMIT.
    pub(crate) endpoints_changed: bool,
}

/// The batch as a request's savepoint found it: rolling the request back restores it (the
/// deferred rows are only ever appended, so a length is enough).
#[derive(Debug, Clone, Default)]
struct Mark {
    state: BatchState,
    audit: usize,
    events: usize,
    timeline: usize,
    idem_marks: usize,
}

impl Batch {
    fn mark(&self) -> Mark {
        Mark {
            state: self.state.clone(),
            audit: self.audit.len(),
            events: self.events.len(),
            timeline: self.timeline.len(),
            idem_marks: self.idem_marks.len(),
        }
    }

    fn restore(&mut self, m: Mark) {
        self.state = m.state;
        self.audit.truncate(m.audit);
        self.events.truncate(m.events);
        self.timeline.truncate(m.timeline);
        self.idem_marks.truncate(m.idem_marks);
    }

    fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.events.is_empty() && self.timeline.is_empty() && self.idem_marks.is_empty()
    }

    /// The deferred rows, table by table, in the order they are inserted.
    fn tables(&self) -> Vec<(&'static str, Vec<(&'static str, Column)>)> {
        let mut out = Vec::new();
        if !self.timeline.is_empty() {
            let t = &self.timeline;
            let texts = |f: fn(&NewTimeline) -> &str| Text(t.iter().map(|(_, e)| f(e).to_string()).collect());
            out.push((
                "incident_timeline",
                vec![
                    ("id", Int(t.iter().map(|(id, _)| Some(*id)).collect())),
                    ("incident_id", Int(t.iter().map(|(_, e)| Some(e.incident_id)).collect())),
                    ("at", Int(t.iter().map(|(_, e)| Some(e.at)).collect())),
                    ("kind", texts(|e| &e.kind)),
                    ("auto", Int(t.iter().map(|(_, e)| Some(e.auto as i64)).collect())),
                    ("user_id", Int(t.iter().map(|(_, e)| Some(e.by.as_ref().map_or(0, |b| b.0))).collect())),
                    ("username", texts(|e| e.by.as_ref().map_or("", |b| b.1.as_str()))),
                    ("text_zh", texts(|e| &e.text_zh)),
                    ("text_en", texts(|e| &e.text_en)),
                ],
            ));
        }
        if !self.audit.is_empty() {
            let a = &self.audit;
            let ints = |f: fn(&AuditEntry) -> i64| Int(a.iter().map(|(e, _, _)| Some(f(e))).collect());
            let texts = |f: fn(&AuditEntry) -> &str| Text(a.iter().map(|(e, _, _)| f(e).to_string()).collect());
            out.push((
                "audit_log",
                vec![
                    ("seq", ints(|e| e.seq)),
                    ("at", ints(|e| e.at_ms)),
                    ("user_id", ints(|e| e.user_id)),
                    ("username", texts(|e| &e.username)),
                    ("role", texts(|e| &e.role)),
                    ("division_code", texts(|e| &e.division_code)),
                    ("action", texts(|e| &e.action)),
                    ("object_type", texts(|e| &e.object_type)),
                    ("object_id", texts(|e| &e.object_id)),
                    ("summary", texts(|e| &e.summary)),
                    ("request_id", texts(|e| &e.request_id)),
                    ("ip", texts(|e| &e.ip)),
                    ("prev_hash", Text(a.iter().map(|(_, p, _)| p.clone()).collect())),
                    ("hash", Text(a.iter().map(|(_, _, h)| h.clone()).collect())),
                ],
            ));
        }
        if !self.events.is_empty() {
            let ev = &self.events;
            let texts = |f: fn(&NewEvent) -> &str| Text(ev.iter().map(|(_, _, e)| f(e).to_string()).collect());
            out.push((
                "events",
                vec![
                    ("id", Int(ev.iter().map(|(id, _, _)| Some(*id)).collect())),
                    ("at", Int(ev.iter().map(|(_, at, _)| Some(*at)).collect())),
                    ("topic", texts(|e| &e.topic)),
                    ("kind", texts(|e| &e.kind)),
                    ("division_path", texts(|e| &e.division_path)),
                    ("org_id", Int(ev.iter().map(|(_, _, e)| e.org_id).collect())),
                    ("user_id", Int(ev.iter().map(|(_, _, e)| e.user_id).collect())),
                    ("public", Int(ev.iter().map(|(_, _, e)| Some(e.public as i64)).collect())),
                    ("payload", texts(|e| &e.payload)),
                ],
            ));
        }
        out
    }

    /// Writes the deferred rows and the shared state into the transaction, and commits it.
    /// `begin`: SQLite only, the batch has not opened its transaction yet (it continued a
    /// previous batch in memory), so it is opened here.
    async fn write_and_commit(&self, c: &mut AnyConnection, backend: Backend, begin: bool) -> Result<()> {
        let tables = self.tables();
        let head = match (self.state.head_dirty, &self.state.audit_head) {
            (true, Some((seq, hash))) => Some((*seq, hash.clone())),
            _ => None,
        };
        if backend == Backend::Sqlite {
            // One round trip to the connection's thread: every deferred row, the chain's head
            // and the COMMIT, as one multi-statement query.
            let mut sql = String::new();
            if begin {
                sql.push_str("BEGIN IMMEDIATE;");
            }
            for (table, cols) in &tables {
                crate::bulk::push_sqlite_inserts(&mut sql, table, cols);
            }
            if head.is_some() {
                sql.push_str("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1;");
            }
            for _ in &self.idem_marks {
                sql.push_str("UPDATE idempotency_keys SET committed = 1 WHERE owner = ? AND key = ?;");
            }
            sql.push_str("COMMIT");
            // Batches of requests repeat a few shapes: keep those prepared (parsing them each
            // time was 5 % of the server's CPU under `bench writes`), not a mass offer's.
            let rows: usize = tables.iter().map(|(_, cols)| cols.first().map_or(0, |c| c.1.len())).sum();
            let mut q = sqlx::query(&sql).persistent(rows <= PREPARED_FLUSH_ROWS);
            for (_, cols) in &tables {
                let n = cols.first().map_or(0, |c| c.1.len());
                q = crate::bulk::bind_rows(q, cols, 0..n);
            }
            if let Some((seq, hash)) = head {
                q = q.bind(seq).bind(hash);
            }
            for (owner, key) in &self.idem_marks {
                q = q.bind(owner.as_str()).bind(key.as_str());
            }
            q.execute(&mut *c).await.map_err(crate::map_unique)?;
            return Ok(());
        }
        for (table, cols) in &tables {
            crate::bulk::insert_columns_on(c, backend, table, cols, false).await?;
        }
        if let Some((seq, hash)) = head {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq)
                .bind(hash)
                .execute(&mut *c)
                .await?;
        }
        if self.state.notify {
            sqlx::query("SELECT pg_notify($1, 'batch')").bind(crate::events::CHANNEL).execute(&mut *c).await?;
        }
        c.execute("COMMIT").await?;
        Ok(())
    }

    /// [`Batch::write_and_commit`]; on failure the transaction is rolled back and the
    /// connection, in an unknown state, is not reused.
    async fn commit_on(&self, c: &mut PoolConnection<Any>, backend: Backend, begin: bool) -> Result<()> {
        let done = self.write_and_commit(c, backend, begin).await;
        if done.is_err() {
            let _ = c.execute("ROLLBACK").await;
            c.close_on_drop();
        }
        done
    }
}

/// SQLite: a COMMIT carrying at most this many deferred rows keeps its statement prepared.
const PREPARED_FLUSH_ROWS: usize = 512;

/// SQLite: opens a batch and reads what its appends continue from, in one round trip (under
/// the write lock `BEGIN IMMEDIATE` takes, nobody else moves them until COMMIT).
const SQLITE_OPEN: &str = "BEGIN IMMEDIATE; SELECT h.seq AS seq, h.hash AS hash, \
     (SELECT COALESCE(MAX(id), 0) + 1 FROM events) AS next_event, \
     (SELECT COALESCE(MAX(id), 0) + 1 FROM incident_timeline) AS next_timeline \
     FROM audit_head h WHERE h.id = 1";

impl GroupWriter {
    pub(crate) fn new(pool: AnyPool, backend: Backend) -> GroupWriter {
        let endpoints = Arc::new(EndpointCache::default());
        let last_event = Arc::new(AtomicI64::new(0));
        GroupWriter {
            endpoints: endpoints.clone(),
            last_event: last_event.clone(),
            state: Arc::new(Mutex::new(Writer {
                pool,
                conn: None,
                in_savepoint: false,
                in_appends: false,
                id_pool: VecDeque::new(),
                release_pending: false,
                epoch: 0,
                pending: 0,
                failed: VecDeque::new(),
                backend,
                batch: Batch::default(),
                saved: Mark::default(),
                endpoints,
                last_event,
                in_flight: None,
                landed: Arc::new(Notify::new()),
                carried: None,
            })),
        }
    }

    /// The node's cached webhook endpoint list.
    pub(crate) fn endpoints(&self) -> &EndpointCache {
        &self.endpoints
    }

    /// The highest event id this node has committed (0 before its first).
    pub(crate) fn last_event(&self) -> i64 {
        self.last_event.load(Ordering::Acquire)
    }

    /// Takes the writer, bounded like a pool acquire: a request never waits forever for it.
    async fn lock(&self) -> Result<OwnedMutexGuard<Writer>> {
        tokio::time::timeout(ACQUIRE_TIMEOUT, self.state.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Db(sqlx::Error::PoolTimedOut))
    }

    /// Starts a request's transaction: a savepoint, or with `appends_only` nothing at all (its
    /// rows are all deferred, so rolling it back is done in memory).
    pub(crate) async fn begin(&self, appends_only: bool) -> Result<Tx> {
        let mut w = self.lock().await?;
        w.clean().await?;
        // On SQLite, appends continue a batch whose predecessor's COMMIT may still be running:
        // they need no connection until their own COMMIT. Anything else waits for it.
        while w.conn.is_none() && !(appends_only && w.carried.is_some()) && w.in_flight.is_some() {
            w = landing(w).await;
            w.clean().await?;
        }
        if w.conn.is_none() && !(appends_only && w.carried.is_some()) {
            let mut c = w.pool.acquire().await?;
            if w.backend == Backend::Sqlite {
                // (`fetch_all`: sqlx's SQLite `fetch_one` stops after the BEGIN's result.)
                let opened = sqlx::query(SQLITE_OPEN).fetch_all(&mut *c).await.map_err(StoreError::Db);
                let opened = opened.and_then(|r| r.first().ok_or(StoreError::NotFound).and_then(Carry::read));
                match opened {
                    Ok(read) => w.opened(read),
                    Err(e) => {
                        // Not back to the pool with a transaction open.
                        c.close_on_drop();
                        return Err(e);
                    }
                }
            } else {
                c.execute("BEGIN").await?;
            }
            w.conn = Some(c);
        }
        if appends_only {
            w.in_appends = true;
        } else {
            let sql = if w.release_pending { "RELEASE tx; SAVEPOINT tx" } else { "SAVEPOINT tx" };
            if let Err(e) = w.conn_mut().execute(sqlx::raw_sql(sql)).await {
                // The committed requests' work may be in an unknown state: fail them all.
                w.abandon(e.to_string()).await;
                return Err(StoreError::Db(e));
            }
            w.release_pending = false;
            w.in_savepoint = true;
        }
        w.saved = w.batch.mark();
        Ok(Tx { held: Some(w) })
    }

    /// Returns the writer connection to the pool once no request's work is open (shutdown).
    pub(crate) async fn release(&self) {
        let mut w = self.state.clone().lock_owned().await;
        while w.in_flight.is_some() {
            w = landing(w).await;
        }
        let _ = w.clean().await;
        if w.pending == 0 {
            if let Some(mut c) = w.conn.take() {
                let _ = c.execute("ROLLBACK").await;
            }
        }
    }
}

/// Waits, without the writer, until the COMMIT in flight has ended; then takes the writer again.
async fn landing(w: OwnedMutexGuard<Writer>) -> OwnedMutexGuard<Writer> {
    // Registered before the writer is let go, so the wake-up cannot fall in between.
    let landed = w.landed.clone();
    let done = landed.notified();
    let mutex = OwnedMutexGuard::mutex(&w).clone();
    drop(w);
    done.await;
    mutex.lock_owned().await
}

impl Writer {
    fn conn_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_deref_mut().expect("writer connection is open while a request holds the writer")
    }

    /// SQLite: the batch opened its transaction and read what its appends continue from.
    fn opened(&mut self, read: Carry) {
        match self.carried.take() {
            // It continued in memory from exactly this: its rows stand.
            Some(base) if base == read => {}
            Some(_) => {
                // Something else wrote in between (another process on the file): the rows kept
                // in memory continue a chain that has moved on. Their requests fail; nothing of
                // them is saved, and nothing of them was acknowledged.
                if self.pending > 0 {
                    self.fail_epoch(self.epoch, "the database changed under the batch".into());
                }
                self.epoch += 1;
                self.pending = 0;
                self.batch = Batch { state: read.state(), ..Default::default() };
            }
            None => read.continue_in(&mut self.batch.state),
        }
    }

    /// Undoes the savepoint of a request that was dropped without committing; when nothing
    /// else waits in the outer transaction, ends it so the write lock is not held idle.
    async fn clean(&mut self) -> Result<()> {
        if self.in_savepoint {
            self.in_savepoint = false;
            let undo = self.conn_mut().execute(sqlx::raw_sql("ROLLBACK TO tx; RELEASE tx")).await;
            if let Err(e) = undo {
                // The outer transaction is in an unknown state: give it up, and tell the
                // requests waiting in it that their changes are not saved.
                self.abandon(e.to_string()).await;
                return Err(StoreError::Db(e));
            }
        } else if self.in_appends {
            self.in_appends = false;
        } else {
            return Ok(());
        }
        let mark = std::mem::take(&mut self.saved);
        self.batch.restore(mark);
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
        self.carried = None;
        self.release_pending = false;
        self.in_appends = false;
        if let Some(mut c) = self.conn.take() {
            let _ = c.execute("ROLLBACK").await;
            // A connection in an unknown state is not reused.
            c.close_on_drop();
        }
        if self.pending > 0 {
            self.fail_epoch(self.epoch, why);
        }
        self.epoch += 1;
        self.pending = 0;
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

    /// Takes the open batch to commit it; its requests' epoch is returned, and the next one
    /// begins.
    fn take_batch(&mut self) -> (Batch, u64) {
        let epoch = self.epoch;
        self.epoch += 1;
        self.pending = 0;
        // COMMIT also ends the last request's savepoint, still open (`release_pending`).
        self.release_pending = false;
        (std::mem::take(&mut self.batch), epoch)
    }

    /// What the node learns from a batch that committed.
    fn committed(&self, batch: &Batch) {
        if batch.state.endpoints_changed {
            self.endpoints.generation.fetch_add(1, Ordering::Release);
        }
        if let Some(id) = batch.events.iter().map(|e| e.0).max() {
            self.last_event.fetch_max(id, Ordering::Release);
        }
    }

    /// Commits the open outer transaction: one fsync for every request released into it.
    async fn flush(&mut self) -> Result<()> {
        let Some(mut c) = self.conn.take() else { return Ok(()) };
        let (batch, epoch) = self.take_batch();
        match batch.commit_on(&mut c, self.backend, false).await {
            Ok(()) => {
                self.committed(&batch);
                Ok(())
            }
            Err(e) => {
                self.fail_epoch(epoch, e.to_string());
                Err(e)
            }
        }
    }
}

/// Commits the open outer transaction: one fsync for every request released into it.
///
/// On SQLite the writer is let go while the COMMIT runs (pipelined group commit): the next
/// batch's appends continue this one in memory meanwhile (chain head, next ids), and the next
/// COMMIT waits for this one. If this one fails, the batch continuing it fails with it.
async fn flush(mut w: OwnedMutexGuard<Writer>) -> Result<()> {
    let carry = Carry::of(&w.batch.state).filter(|_| w.backend == Backend::Sqlite);
    let Some(carry) = carry else { return w.flush().await };
    let conn = w.conn.take();
    let (batch, epoch) = w.take_batch();
    w.batch.state = carry.state();
    w.carried = Some(carry);
    w.in_flight = Some(epoch);
    let (pool, mutex) = (w.pool.clone(), OwnedMutexGuard::mutex(&w).clone());
    drop(w);
    // A batch that continued its predecessor in memory opens its transaction here.
    let begin = conn.is_none();
    let done = async {
        let mut c = match conn {
            Some(c) => c,
            None => pool.acquire().await?,
        };
        batch.commit_on(&mut c, Backend::Sqlite, begin).await
    }
    .await;
    let mut w = mutex.lock_owned().await;
    w.in_flight = None;
    w.landed.notify_waiters();
    match done {
        Ok(()) => {
            w.committed(&batch);
            if w.pending == 0 && w.batch.is_empty() && w.conn.is_none() {
                // Idle: the next batch reads what it continues from again.
                w.carried = None;
                w.batch = Batch::default();
            }
            Ok(())
        }
        Err(e) => {
            w.fail_epoch(epoch, e.to_string());
            if w.carried.take().is_some() {
                if w.pending > 0 {
                    let next = w.epoch;
                    w.fail_epoch(next, format!("the batch before it failed: {e}"));
                }
                w.epoch += 1;
                w.pending = 0;
                w.batch = Batch::default();
            }
            Err(e)
        }
    }
}

impl Tx {
    /// The state shared by the requests of the open outer transaction.
    pub(crate) fn batch(&mut self) -> &mut Batch {
        &mut self.held.as_mut().expect("writer held").batch
    }

    /// The connection, also in an appends-only transaction: for the reads that deferred rows
    /// need once per batch (chain head, next ids) and for the idempotency mark at commit.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        self.held.as_mut().expect("writer held").conn_mut()
    }

    /// Whether the transaction has its connection (SQLite: an appends-only one continuing a
    /// batch in memory has none until the batch's COMMIT).
    pub(crate) fn has_conn(&self) -> bool {
        self.held.as_ref().expect("writer held").conn.is_some()
    }

    /// PostgreSQL: the node's unused timeline ids.
    pub(crate) fn id_pool(&mut self) -> &mut VecDeque<i64> {
        &mut self.held.as_mut().expect("writer held").id_pool
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
        // The savepoint is released with the next request's SAVEPOINT, or by the COMMIT.
        if std::mem::take(&mut w.in_savepoint) {
            w.release_pending = true;
        }
        w.in_appends = false;
        w.pending += 1;
        let mine = w.epoch;
        let state = OwnedMutexGuard::mutex(&w).clone();
        drop(w);
        // Queue again: requests already waiting run their savepoints into the same outer
        // transaction first; the first of us to come back with it unflushed commits it.
        let mut w = state.lock_owned().await;
        loop {
            if w.epoch == mine {
                w.clean().await.map_err(to_sqlx)?;
            }
            if w.in_flight.is_some() && (w.epoch == mine || w.in_flight == Some(mine)) {
                // Ours is in flight, or is next and must wait for the one in flight.
                w = landing(w).await;
                continue;
            }
            if w.epoch == mine {
                return flush(w).await.map_err(to_sqlx);
            }
            return w.outcome(mine).map_err(to_sqlx);
        }
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

const APPENDS_ONLY: &str = "an appends-only transaction runs no statements: use Store::begin";

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        let w = self.held.as_ref().expect("writer held");
        assert!(!w.in_appends, "{APPENDS_ONLY}");
        w.conn.as_deref().expect("writer held")
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        let w = self.held.as_mut().expect("writer held");
        assert!(!w.in_appends, "{APPENDS_ONLY}");
        w.conn_mut()
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}
