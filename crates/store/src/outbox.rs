//! The product-wide notification outbox: messages written in the same transaction as the change
//! they announce, claimed by delivery workers, with a delivery log, retries and dead letters.
//!
//! Claiming: a worker takes due messages by setting a lease (`locked_by`, `locked_until`) in a
//! short transaction; on PostgreSQL the candidate rows are selected `FOR UPDATE SKIP LOCKED`, so
//! several nodes never take the same message; SQLite has one writer. A worker that dies (kill -9)
//! leaves its lease to expire and the message goes out again: delivery is at least once, and every
//! message carries an idempotency key so receivers drop duplicates.

use crate::{col, now_ms, Backend, Result, Store, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;

/// A message to enqueue.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// Channel key: inapp, email, webhook, sms.
    pub channel: String,
    /// Channel address: user id (inapp), e-mail address, endpoint id, `household:<id>` or a phone reference.
    pub recipient: String,
    /// Addressed account, when there is one.
    pub user_id: Option<i64>,
    /// Kind, e.g. `alert.issued`, `mobilisation.standby`.
    pub kind: String,
    /// What it is about (e.g. `alert`), for the delivery log per object.
    pub ref_type: String,
    /// Its id.
    pub ref_id: Option<i64>,
    /// Urgent messages (red alerts) ignore quiet hours.
    pub urgent: bool,
    /// Unique key: the same key is enqueued once, and receivers use it to drop duplicates.
    pub idempotency_key: String,
    /// Subject / title.
    pub subject: String,
    /// Text body (or JSON for webhooks).
    pub body: String,
    /// Link inside the app.
    pub link: String,
    /// Earliest delivery time, unix ms (quiet hours push it later).
    pub not_before: i64,
}

/// A message in the outbox.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageRow {
    /// Id.
    pub id: i64,
    /// Created, unix ms.
    pub created_at: i64,
    /// Channel key.
    pub channel: String,
    /// Recipient address.
    pub recipient: String,
    /// Addressed account.
    pub user_id: Option<i64>,
    /// Kind.
    pub kind: String,
    /// Object type.
    pub ref_type: String,
    /// Object id.
    pub ref_id: Option<i64>,
    /// Urgent.
    pub urgent: bool,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Link.
    pub link: String,
    /// queued, sent, failed (will retry), dead.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Next attempt, unix ms.
    pub next_at: i64,
    /// Last error.
    pub last_error: String,
    /// Delivered, unix ms.
    pub sent_at: Option<i64>,
}

const COLS: &str = "id, created_at, channel, recipient, user_id, kind, ref_type, ref_id, urgent, idempotency_key, \
    subject, body, link, state, attempts, next_at, last_error, sent_at";

fn row(r: &AnyRow) -> Result<MessageRow> {
    Ok(MessageRow {
        id: col(r, "id")?,
        created_at: col(r, "created_at")?,
        channel: col(r, "channel")?,
        recipient: col(r, "recipient")?,
        user_id: col(r, "user_id")?,
        kind: col(r, "kind")?,
        ref_type: col(r, "ref_type")?,
        ref_id: col(r, "ref_id")?,
        urgent: col::<i64>(r, "urgent")? != 0,
        idempotency_key: col(r, "idempotency_key")?,
        subject: col(r, "subject")?,
        body: col(r, "body")?,
        link: col(r, "link")?,
        state: col(r, "state")?,
        attempts: col(r, "attempts")?,
        next_at: col(r, "next_at")?,
        last_error: col(r, "last_error")?,
        sent_at: col(r, "sent_at")?,
    })
}

/// Enqueues messages inside `tx` (the transaction of the change they announce). A message whose
/// idempotency key is already queued is skipped. Returns how many were queued.
pub async fn enqueue(tx: &mut Tx, msgs: &[NewMessage]) -> Result<u64> {
    const C: usize = 14;
    let now = now_ms();
    let mut n = 0;
    for chunk in msgs.chunks(crate::batch_rows(C)) {
        let sql = format!(
            "INSERT INTO outbox (created_at, channel, recipient, user_id, kind, ref_type, ref_id, urgent, \
             idempotency_key, subject, body, link, next_at, state) VALUES {} ON CONFLICT (idempotency_key) DO NOTHING",
            crate::values_placeholders(chunk.len(), C)
        );
        let mut q = sqlx::query(&sql);
        for m in chunk {
            q = q
                .bind(now)
                .bind(m.channel.clone())
                .bind(m.recipient.clone())
                .bind(m.user_id)
                .bind(m.kind.clone())
                .bind(m.ref_type.clone())
                .bind(m.ref_id)
                .bind(m.urgent as i64)
                .bind(m.idempotency_key.clone())
                .bind(m.subject.clone())
                .bind(m.body.clone())
                .bind(m.link.clone())
                .bind(m.not_before.max(0))
                .bind("queued");
        }
        n += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(n)
}

/// Which households an SMS goes to.
#[derive(Debug, Clone)]
pub enum Households<'a> {
    /// Every household under these division paths.
    Within(&'a [String]),
    /// These household ids.
    Ids(&'a [u64]),
}

/// Enqueues one SMS per selected household with set-based statements (a million rows in seconds).
/// The idempotency key is `key_prefix` plus the household id. The phone is looked up at delivery
/// time, so the outbox holds no personal data. Returns how many were queued.
///
/// A key already queued is skipped, as in [`enqueue`]. `ON CONFLICT DO NOTHING` costs PostgreSQL a
/// speculative insertion per row (an arbiter-index probe, a second WAL record and a confirmation:
/// about a third of the time of a million-row fan-out), so it is used only when a message with
/// this key prefix is already queued. Otherwise (a freshly issued alert: the usual case) every
/// household is selected once — several division paths in ONE statement, nested paths dropped,
/// ids de-duplicated — and the rows go in with a plain INSERT; the unique index still refuses a
/// duplicate (an error that rolls the whole transaction back, never a second message).
pub async fn enqueue_households(
    tx: &mut Tx,
    sel: Households<'_>,
    template: &NewMessage,
    key_prefix: &str,
) -> Result<u64> {
    let head = |b: &mut crate::sql::SqlBuf| {
        b.push(
            "INSERT INTO outbox (created_at, channel, recipient, user_id, kind, ref_type, ref_id, urgent, \
             idempotency_key, subject, body, link, next_at, state) SELECT ",
        );
        b.int(now_ms()).push(", 'sms', 'household:' || CAST(h.id AS TEXT), NULL, ");
        b.text(template.kind.clone()).push(", ").text(template.ref_type.clone()).push(", ");
        match template.ref_id {
            Some(id) => b.int(id),
            None => b.push("NULL"),
        };
        b.push(", ").int(template.urgent as i64).push(", ");
        b.text(key_prefix.to_string()).push(" || CAST(h.id AS TEXT), ");
        b.text(template.subject.clone()).push(", ").text(template.body.clone()).push(", ");
        b.text(template.link.clone()).push(", ").int(template.not_before.max(0));
        b.push(", 'queued' FROM households h WHERE ");
    };
    let fresh = !key_prefix_queued(tx, key_prefix).await?;
    let tail = if fresh { "" } else { " ON CONFLICT (idempotency_key) DO NOTHING" };
    let mut n = 0;
    match sel {
        Households::Within(paths) => {
            let paths = outermost_paths(paths);
            if paths.is_empty() {
                return Ok(0);
            }
            let mut b = crate::sql::SqlBuf::new("");
            head(&mut b);
            b.push("(");
            for (i, p) in paths.iter().enumerate() {
                if i > 0 {
                    b.push(" OR ");
                }
                b.within("h.division_path", p);
            }
            b.push(")").push(tail);
            n += b.query().execute(&mut **tx).await.map_err(crate::map_unique)?.rows_affected();
        }
        Households::Ids(ids) => {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(20_000) {
                let mut b = crate::sql::SqlBuf::new("");
                head(&mut b);
                b.push("h.id IN (");
                b.push(&chunk.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
                b.push(")").push(tail);
                n += b.query().execute(&mut **tx).await.map_err(crate::map_unique)?.rows_affected();
            }
        }
    }
    Ok(n)
}

/// Whether a message whose idempotency key starts with `prefix` is in the outbox (one probe of
/// the key's unique index).
async fn key_prefix_queued(tx: &mut Tx, prefix: &str) -> Result<bool> {
    let Some(last) = prefix.chars().last() else { return Ok(true) };
    let Some(next) = char::from_u32(u32::from(last) + 1) else { return Ok(true) };
    let upper = format!("{}{next}", &prefix[..prefix.len() - last.len_utf8()]);
    let r = sqlx::query("SELECT 1 AS x FROM outbox WHERE idempotency_key >= $1 AND idempotency_key < $2 LIMIT 1")
        .bind(prefix.to_string())
        .bind(upper)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(r.is_some())
}

/// `paths` without duplicates and without paths inside another one of them (their households
/// are selected already).
fn outermost_paths(paths: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = paths.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    let mut out: Vec<&str> = Vec::new();
    for p in v {
        // Sorted: an enclosing path sorts right before the paths inside it.
        if out.last().is_some_and(|o| p.starts_with(o)) {
            continue;
        }
        out.push(p);
    }
    out
}

/// Claims due messages for `worker` until `lease_ms` from now: up to `per_channel` of each of
/// `channels` (every channel the workers deliver), so that a channel with a huge backlog — the
/// million household SMS of a red alert, or a gateway that keeps failing — never holds back the
/// others (webhooks, in-app) queued after it. SKIP LOCKED on PostgreSQL.
pub async fn claim(
    store: &Store,
    worker: &str,
    channels: &[&str],
    per_channel: i64,
    lease_ms: i64,
) -> Result<Vec<MessageRow>> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    let lock = if store.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let mut ids: Vec<i64> = Vec::new();
    for ch in channels {
        // Conditions and lock at one query level: PostgreSQL rechecks them on a row another
        // worker claimed meanwhile, so it is skipped rather than claimed twice.
        let rows = sqlx::query(&format!(
            "SELECT id FROM outbox WHERE channel = $1 AND state IN ('queued','failed') AND next_at <= $2 \
             AND (locked_until IS NULL OR locked_until < $2) ORDER BY urgent DESC, next_at, id LIMIT $3{lock}"
        ))
        .bind(ch.to_string())
        .bind(now)
        .bind(per_channel)
        .fetch_all(&mut *tx)
        .await?;
        for r in &rows {
            ids.push(col(r, "id")?);
        }
    }
    if ids.is_empty() {
        tx.rollback().await?;
        return Ok(vec![]);
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows = sqlx::query(&format!(
        "UPDATE outbox SET locked_by = $1, locked_until = $2, attempts = attempts + 1 WHERE id IN ({list}) \
         RETURNING {COLS}"
    ))
    .bind(worker.to_string())
    .bind(now + lease_ms)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out: Vec<MessageRow> = rows.iter().map(row).collect::<Result<_>>()?;
    out.sort_by_key(|m| m.id);
    Ok(out)
}

/// Outcome of one delivery attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Delivered.
    Sent,
    /// Failed; retry at the given time (unix ms).
    Retry {
        /// When.
        at: i64,
        /// Why.
        error: String,
    },
    /// Failed for good (attempts exhausted or permanent error).
    Dead {
        /// Why.
        error: String,
    },
    /// Not yet: deferred (quiet hours) to the given time, without counting an attempt.
    Defer {
        /// When.
        at: i64,
    },
}

/// Records outcomes of a batch claimed by `worker` (only rows it still holds) with their log entries.
pub async fn finish(tx: &mut Tx, worker: &str, results: &[(i64, Outcome)]) -> Result<()> {
    let now = now_ms();
    let mut sent = Vec::new();
    for (id, o) in results {
        match o {
            Outcome::Sent => sent.push(*id),
            Outcome::Retry { at, error } => {
                sqlx::query(
                    "UPDATE outbox SET state = 'failed', next_at = $1, last_error = $2, locked_by = NULL, \
                     locked_until = NULL WHERE id = $3 AND locked_by = $4",
                )
                .bind(*at)
                .bind(error.clone())
                .bind(*id)
                .bind(worker.to_string())
                .execute(&mut **tx)
                .await?;
                log(tx, *id, now, "retried", error).await?;
            }
            Outcome::Dead { error } => {
                sqlx::query(
                    "UPDATE outbox SET state = 'dead', last_error = $1, locked_by = NULL, locked_until = NULL \
                     WHERE id = $2 AND locked_by = $3",
                )
                .bind(error.clone())
                .bind(*id)
                .bind(worker.to_string())
                .execute(&mut **tx)
                .await?;
                log(tx, *id, now, "dead", error).await?;
            }
            Outcome::Defer { at } => {
                sqlx::query(
                    "UPDATE outbox SET next_at = $1, attempts = attempts - 1, locked_by = NULL, locked_until = NULL \
                     WHERE id = $2 AND locked_by = $3",
                )
                .bind(*at)
                .bind(*id)
                .bind(worker.to_string())
                .execute(&mut **tx)
                .await?;
                log(tx, *id, now, "deferred", "quiet hours / 免打扰时段").await?;
            }
        }
    }
    for chunk in sent.chunks(1000) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        sqlx::query(&format!(
            "UPDATE outbox SET state = 'sent', sent_at = $1, last_error = '', locked_by = NULL, locked_until = NULL \
             WHERE id IN ({list}) AND locked_by = $2"
        ))
        .bind(now)
        .bind(worker.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn log(tx: &mut Tx, id: i64, at: i64, status: &str, detail: &str) -> Result<()> {
    sqlx::query("INSERT INTO outbox_log (outbox_id, at, status, detail) VALUES ($1,$2,$3,$4)")
        .bind(id)
        .bind(at)
        .bind(status.to_string())
        .bind(detail.chars().take(500).collect::<String>())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Puts a dead message back in the queue (operator's retry from the dead-letter view).
pub async fn requeue(tx: &mut Tx, id: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE outbox SET state = 'queued', next_at = $1, attempts = 0, locked_by = NULL, locked_until = NULL \
         WHERE id = $2 AND state IN ('dead','failed')",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 1 {
        log(tx, id, now_ms(), "requeued", "").await?;
    }
    Ok(n == 1)
}

/// Releases every lease (SQLite at start: one process owns the file, so leases left by a killed
/// process are stale at once).
pub async fn release_all_leases(store: &Store) -> Result<u64> {
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE outbox SET locked_by = NULL, locked_until = NULL WHERE locked_until IS NOT NULL AND state IN \
         ('queued','failed')",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// Delivery figures of one object (e.g. an alert): count per (channel, state).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryCount {
    /// Channel.
    pub channel: String,
    /// State.
    pub state: String,
    /// Messages.
    pub n: i64,
}

/// A delivery log entry.
#[derive(Debug, Clone, Serialize)]
pub struct LogRow {
    /// Message id.
    pub outbox_id: i64,
    /// Unix ms.
    pub at: i64,
    /// retried, dead, deferred, requeued.
    pub status: String,
    /// Detail.
    pub detail: String,
}

impl Store {
    /// Counts per channel and state of the messages about `ref_type`/`ref_id`.
    pub async fn outbox_counts(&self, ref_type: &str, ref_id: i64) -> Result<Vec<DeliveryCount>> {
        let rows = sqlx::query(
            "SELECT channel, state, COUNT(*) AS n FROM outbox WHERE ref_type = $1 AND ref_id = $2 \
             GROUP BY channel, state ORDER BY channel, state",
        )
        .bind(ref_type.to_string())
        .bind(ref_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok(DeliveryCount { channel: col(r, "channel")?, state: col(r, "state")?, n: col(r, "n")? }))
            .collect()
    }

    /// Messages about an object, or in a state (`failed`/`dead` for the retry view), newest first.
    pub async fn outbox_list(
        &self,
        by_ref: Option<(&str, i64)>,
        states: &[&str],
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        let mut b = crate::sql::SqlBuf::new(&format!("SELECT {COLS} FROM outbox WHERE 1=1"));
        if let Some((t, id)) = by_ref {
            b.push(" AND ref_type = ").text(t.to_string()).push(" AND ref_id = ").int(id);
        }
        if !states.is_empty() {
            b.push(" AND state IN (");
            for (i, s) in states.iter().enumerate() {
                if i > 0 {
                    b.push(",");
                }
                b.text(s.to_string());
            }
            b.push(")");
        }
        b.push(" ORDER BY id DESC LIMIT ").int(limit.clamp(1, 1000));
        b.query().fetch_all(self.reader()).await?.iter().map(row).collect()
    }

    /// One message.
    pub async fn outbox_message(&self, id: i64) -> Result<MessageRow> {
        let r = sqlx::query(&format!("SELECT {COLS} FROM outbox WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(crate::StoreError::NotFound)?;
        row(&r)
    }

    /// Log entries of messages about an object, newest first.
    pub async fn outbox_log_for(&self, ref_type: &str, ref_id: i64, limit: i64) -> Result<Vec<LogRow>> {
        let rows = sqlx::query(
            "SELECT l.outbox_id, l.at, l.status, l.detail FROM outbox_log l JOIN outbox o ON o.id = l.outbox_id \
             WHERE o.ref_type = $1 AND o.ref_id = $2 ORDER BY l.id DESC LIMIT $3",
        )
        .bind(ref_type.to_string())
        .bind(ref_id)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogRow {
                    outbox_id: col(r, "outbox_id")?,
                    at: col(r, "at")?,
                    status: col(r, "status")?,
                    detail: col(r, "detail")?,
                })
            })
            .collect()
    }

    /// Messages still to deliver (queued or failed).
    pub async fn outbox_pending(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE state IN ('queued','failed')")
            .fetch_one(self.reader())
            .await?;
        col(&r, "n")
    }
}

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// HMAC secret (never shown in lists).
    #[serde(skip)]
    pub secret: String,
    /// Comma-separated kind prefixes it receives (empty: all).
    pub kinds: String,
    /// Division subtree it receives (empty: all).
    pub division_path: String,
}

/// Adds a webhook endpoint.
pub async fn insert_endpoint(
    tx: &mut Tx,
    name: &str,
    url: &str,
    secret: &str,
    kinds: &str,
    division_path: &str,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO outbox_endpoints (name, url, secret, kinds, division_path, created_at) VALUES ($1,$2,$3,$4,$5,$6) \
         RETURNING id",
    )
    .bind(name.to_string())
    .bind(url.to_string())
    .bind(secret.to_string())
    .bind(kinds.to_string())
    .bind(division_path.to_string())
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    tx.batch().state.endpoints_changed = true;
    col(&r, "id")
}

/// How long a node may reuse the endpoint list it read. A change committed on this node is
/// seen at once; one made elsewhere (another node, a command-line tool) within this bound.
const ENDPOINTS_CACHE: std::time::Duration = std::time::Duration::from_secs(1);

/// The active endpoints as last read, so that a write announcing a change (every incident
/// note, every alert) does not read the table again.
#[derive(Debug, Default)]
pub(crate) struct EndpointCache {
    /// Bumped by every commit that changed the endpoints on this node.
    pub(crate) generation: std::sync::atomic::AtomicU64,
    last: std::sync::Mutex<Option<(u64, std::time::Instant, Vec<EndpointRow>)>>,
}

impl Store {
    /// Active webhook endpoints (see [`ENDPOINTS_CACHE`]).
    pub async fn outbox_endpoints(&self) -> Result<Vec<EndpointRow>> {
        use std::sync::atomic::Ordering;
        let cache = self.group.endpoints();
        // Read the generation first: a change committed during the read below makes this
        // result stale at once.
        let generation = cache.generation.load(Ordering::Acquire);
        if let Some((g, at, rows)) = &*cache.last.lock().expect("endpoint cache") {
            if *g == generation && at.elapsed() < ENDPOINTS_CACHE {
                return Ok(rows.clone());
            }
        }
        let rows = self.read_endpoints().await?;
        *cache.last.lock().expect("endpoint cache") = Some((generation, std::time::Instant::now(), rows.clone()));
        Ok(rows)
    }

    async fn read_endpoints(&self) -> Result<Vec<EndpointRow>> {
        let rows = sqlx::query(
            "SELECT id, name, url, secret, kinds, division_path FROM outbox_endpoints WHERE active = 1 ORDER BY id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EndpointRow {
                    id: col(r, "id")?,
                    name: col(r, "name")?,
                    url: col(r, "url")?,
                    secret: col(r, "secret")?,
                    kinds: col(r, "kinds")?,
                    division_path: col(r, "division_path")?,
                })
            })
            .collect()
    }

    /// A household's contact phone (SMS delivery).
    pub async fn household_phone(&self, id: i64) -> Result<Option<String>> {
        let r = sqlx::query("SELECT contact_phone FROM households WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        r.map(|r| col::<String>(&r, "contact_phone")).transpose()
    }
}

/// Per-recipient preferences.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct PrefsRow {
    /// Account.
    pub user_id: i64,
    /// Channels wanted (comma-separated keys).
    pub channels: String,
    /// E-mail address.
    pub email: String,
    /// Encrypted phone.
    #[serde(skip)]
    pub phone_enc: String,
    /// Quiet hours start, minutes after local midnight.
    pub quiet_start: Option<i64>,
    /// Quiet hours end.
    pub quiet_end: Option<i64>,
}

/// Saves preferences.
pub async fn save_prefs(tx: &mut Tx, p: &PrefsRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO notify_prefs (user_id, channels, email, phone_enc, quiet_start, quiet_end, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (user_id) DO UPDATE SET channels = excluded.channels, \
         email = excluded.email, phone_enc = excluded.phone_enc, quiet_start = excluded.quiet_start, \
         quiet_end = excluded.quiet_end, updated_at = excluded.updated_at",
    )
    .bind(p.user_id)
    .bind(p.channels.clone())
    .bind(p.email.clone())
    .bind(p.phone_enc.clone())
    .bind(p.quiet_start)
    .bind(p.quiet_end)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Preferences of the given accounts (missing accounts have the defaults: in-app only).
    pub async fn prefs_of(&self, user_ids: &[i64]) -> Result<Vec<PrefsRow>> {
        let mut out = Vec::new();
        for chunk in user_ids.chunks(1000) {
            if chunk.is_empty() {
                continue;
            }
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let rows = sqlx::query(&format!(
                "SELECT user_id, channels, email, phone_enc, quiet_start, quiet_end FROM notify_prefs \
                 WHERE user_id IN ({list})"
            ))
            .fetch_all(self.reader())
            .await?;
            for r in &rows {
                out.push(PrefsRow {
                    user_id: col(r, "user_id")?,
                    channels: col(r, "channels")?,
                    email: col(r, "email")?,
                    phone_enc: col(r, "phone_enc")?,
                    quiet_start: col(r, "quiet_start")?,
                    quiet_end: col(r, "quiet_end")?,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn outermost_paths_drop_duplicates_and_nested_paths() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(super::outermost_paths(&p(&["/1/2/", "/1/", "/1/3/4/", "/5/", "/1/"])), vec!["/1/", "/5/"]);
        // A sibling whose code starts like another one's is not inside it.
        assert_eq!(super::outermost_paths(&p(&["/12/", "/1/"])), vec!["/1/", "/12/"]);
    }
}
