//! Live events: written in the same transaction as the change they announce, read back in id
//! order by every node's hub, resumable by id (SSE `Last-Event-ID`).
//!
//! Ordering: on PostgreSQL, identity values are handed out at insert but transactions may commit
//! out of order, and a reader that advanced past a later id would miss an earlier one. Event
//! writers therefore take a transaction-scoped advisory lock, so events commit in id order;
//! `pg_notify` (transactional: delivered at commit) wakes the other nodes. SQLite has one writer.

use crate::{col, now_ms, Backend, Result, Store, Tx};
use serde::Serialize;

/// Advisory lock key serialising event writers on PostgreSQL.
const EVENT_LOCK: i64 = 0x7458_6576; // "tXev"
/// PostgreSQL notification channel.
pub const CHANNEL: &str = "tongxin_events";

/// An event to publish.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    /// Topic, e.g. `incident`, `task`, `notification`, `alert`.
    pub topic: String,
    /// Kind within the topic, e.g. `created`, `level_raised`.
    pub kind: String,
    /// Where it happened (division path); those whose jurisdiction covers it see it.
    pub division_path: String,
    /// Owning organisation; its accounts see it.
    pub org_id: Option<i64>,
    /// Addressed user; that account sees it.
    pub user_id: Option<i64>,
    /// Visible to everyone (public alerts).
    pub public: bool,
    /// JSON payload.
    pub payload: String,
}

/// A stored event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventRow {
    /// Id, increasing in commit order.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Topic.
    pub topic: String,
    /// Kind.
    pub kind: String,
    /// Division path.
    pub division_path: String,
    /// Organisation.
    pub org_id: Option<i64>,
    /// Addressed user.
    pub user_id: Option<i64>,
    /// Public.
    pub public: bool,
    /// JSON payload.
    pub payload: String,
}

/// Publishes inside `tx`; visible to readers when `tx` commits. Returns the event's id.
pub async fn publish(tx: &mut Tx, backend: Backend, e: &NewEvent) -> Result<i64> {
    let id = next_id(tx, backend).await?;
    publish_many(tx, backend, std::slice::from_ref(e)).await?;
    Ok(id)
}

/// Publishes events inside `tx`, in order. The rows are written with the
/// batch's other events by one multi-row INSERT just before COMMIT (see `Tx`), so a request
/// pays no round trip for its events and a mass offer no more than one. Ids are handed out
/// here under the writer's lock (SQLite's write lock, PostgreSQL's events lock), so they
/// increase in commit order on both backends.
pub async fn publish_many(tx: &mut Tx, backend: Backend, events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut next = next_id(tx, backend).await?;
    let at = now_ms();
    let b = tx.batch();
    for e in events {
        b.events.push((next, at, e.clone()));
        next += 1;
    }
    b.state.next_event = Some(next);
    if backend == Backend::Postgres {
        // One NOTIFY per outer transaction, sent with its COMMIT (listeners read the table).
        b.state.notify = true;
    }
    Ok(())
}

/// The next event id of the open transaction: read once (max + 1) after taking, on
/// PostgreSQL, the transaction-scoped events lock, held until COMMIT.
async fn next_id(tx: &mut Tx, backend: Backend) -> Result<i64> {
    if let Some(n) = tx.batch().state.next_event {
        return Ok(n);
    }
    if backend == Backend::Postgres && !tx.batch().state.events_locked {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(EVENT_LOCK).execute(tx.conn()).await?;
        tx.batch().state.events_locked = true;
    }
    let r = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 AS id FROM events").fetch_one(tx.conn()).await?;
    let n: i64 = col(&r, "id")?;
    tx.batch().state.next_event = Some(n);
    Ok(n)
}

impl Store {
    /// Events with id greater than `after`, oldest first, at most `limit`.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>> {
        let rows = sqlx::query(
            "SELECT id, at, topic, kind, division_path, org_id, user_id, public, payload FROM events \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    id: col(r, "id")?,
                    at: col(r, "at")?,
                    topic: col(r, "topic")?,
                    kind: col(r, "kind")?,
                    division_path: col(r, "division_path")?,
                    org_id: col(r, "org_id")?,
                    user_id: col(r, "user_id")?,
                    public: col::<i64>(r, "public")? != 0,
                    payload: col(r, "payload")?,
                })
            })
            .collect()
    }

    /// The newest event id (0 when none).
    pub async fn events_last_id(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM events").fetch_one(self.reader()).await?;
        col(&r, "id")
    }

    /// The highest event id this node has committed, without a read (0 before its first). Other
    /// nodes' events are not counted.
    pub fn events_committed_here(&self) -> i64 {
        self.group.last_event()
    }
}

impl Store {
    /// PostgreSQL only: listens on the events channel and wakes `wake` on every notification,
    /// reconnecting with backoff, for as long as the process runs.
    pub fn spawn_pg_wakeups(&self, wake: std::sync::Arc<tokio::sync::Notify>) {
        let url = self.url().to_string();
        tokio::spawn(async move {
            let mut backoff = std::time::Duration::from_millis(200);
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut l) => {
                        if l.listen(CHANNEL).await.is_ok() {
                            backoff = std::time::Duration::from_millis(200);
                            // A wake-up right after (re)connecting covers events missed meanwhile.
                            wake.notify_one();
                            while l.recv().await.is_ok() {
                                wake.notify_one();
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "LISTEN connection failed; retrying"),
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
            }
        });
    }
}
