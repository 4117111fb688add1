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

/// Publishes inside `tx`; visible to readers when `tx` commits.
pub async fn publish(tx: &mut Tx, backend: Backend, e: &NewEvent) -> Result<i64> {
    lock_events(tx, backend).await?;
    let r = sqlx::query(
        "INSERT INTO events (at, topic, kind, division_path, org_id, user_id, public, payload) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
    )
    .bind(now_ms())
    .bind(e.topic.clone())
    .bind(e.kind.clone())
    .bind(e.division_path.clone())
    .bind(e.org_id)
    .bind(e.user_id)
    .bind(e.public as i64)
    .bind(e.payload.clone())
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = col(&r, "id")?;
    if backend == Backend::Postgres {
        // One NOTIFY per outer transaction, sent with its COMMIT (listeners read the table).
        tx.batch().notify = true;
    }
    Ok(id)
}

/// Publishes many events inside `tx` with multi-row INSERTs, in order: one ordering lock and
/// one wake-up notification for the lot (a mass offer announces thousands of offers at once).
pub async fn publish_many(tx: &mut Tx, backend: Backend, events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    lock_events(tx, backend).await?;
    use crate::bulk::Column::{Int, Text};
    let at = now_ms();
    crate::bulk::insert_columns(
        tx,
        "events",
        &[
            ("at", Int(vec![Some(at); events.len()])),
            ("topic", Text(events.iter().map(|e| e.topic.clone()).collect())),
            ("kind", Text(events.iter().map(|e| e.kind.clone()).collect())),
            ("division_path", Text(events.iter().map(|e| e.division_path.clone()).collect())),
            ("org_id", Int(events.iter().map(|e| e.org_id).collect())),
            ("user_id", Int(events.iter().map(|e| e.user_id).collect())),
            ("public", Int(events.iter().map(|e| Some(e.public as i64)).collect())),
            ("payload", Text(events.iter().map(|e| e.payload.clone()).collect())),
        ],
        false,
    )
    .await?;
    if backend == Backend::Postgres {
        tx.batch().notify = true;
    }
    Ok(())
}

/// PostgreSQL: takes the events ordering lock, once per outer transaction (it is held until
/// that transaction's COMMIT anyway).
async fn lock_events(tx: &mut Tx, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres && !tx.batch().events_locked {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(EVENT_LOCK).execute(&mut **tx).await?;
        tx.batch().events_locked = true;
    }
    Ok(())
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
