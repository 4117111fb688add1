//! The per-user notifications inbox (read/unread). Delivery to other channels (e-mail, SMS,
//! webhook) goes through the outbox of the notifications capability.

use crate::{col, now_ms, Result, Store, Tx};
use serde::Serialize;

/// A notification to put in inboxes.
#[derive(Debug, Clone, Default)]
pub struct NewNotification {
    /// Kind, e.g. `mobilisation.standby`.
    pub kind: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: String,
    /// Body text.
    pub body: String,
    /// Link inside the app.
    pub link: String,
}

/// A notification in an inbox.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationRow {
    /// Id.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Kind.
    pub kind: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Body.
    pub body: String,
    /// Link.
    pub link: String,
    /// Read time.
    pub read_at: Option<i64>,
}

/// Inserts one notification per user; returns the ids in user order.
pub async fn insert(tx: &mut Tx, user_ids: &[i64], n: &NewNotification) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(user_ids.len());
    let now = now_ms();
    for uid in user_ids {
        let r = sqlx::query(
            "INSERT INTO notifications (user_id, at, kind, title_zh, title_en, body, link) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
        )
        .bind(*uid)
        .bind(now)
        .bind(n.kind.clone())
        .bind(n.title_zh.clone())
        .bind(n.title_en.clone())
        .bind(n.body.clone())
        .bind(n.link.clone())
        .fetch_one(&mut **tx)
        .await?;
        ids.push(col(&r, "id")?);
    }
    Ok(ids)
}

/// Marks a notification read, only if it belongs to `user_id`. Returns whether it did.
pub async fn mark_read(tx: &mut Tx, user_id: i64, id: i64) -> Result<bool> {
    let n = sqlx::query("UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

impl Store {
    /// The newest notifications of a user.
    pub async fn notifications_of(&self, user_id: i64, limit: i64) -> Result<Vec<NotificationRow>> {
        let rows = sqlx::query(
            "SELECT id, at, kind, title_zh, title_en, body, link, read_at FROM notifications WHERE user_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NotificationRow {
                    id: col(r, "id")?,
                    at: col(r, "at")?,
                    kind: col(r, "kind")?,
                    title_zh: col(r, "title_zh")?,
                    title_en: col(r, "title_en")?,
                    body: col(r, "body")?,
                    link: col(r, "link")?,
                    read_at: col(r, "read_at")?,
                })
            })
            .collect()
    }

    /// Unread count of a user.
    pub async fn unread_count(&self, user_id: i64) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL")
            .bind(user_id)
            .fetch_one(self.reader())
            .await?;
        col(&r, "n")
    }
}

/// Inserts one notification per (user, notice) pair with multi-row INSERTs, all at one time
/// (mass offers: thousands of inboxes in the offering transaction).
pub async fn insert_many(tx: &mut Tx, rows: &[(i64, NewNotification)]) -> Result<()> {
    use crate::bulk::Column::{Int, Text};
    let now = now_ms();
    let text = |f: fn(&NewNotification) -> &String| Text(rows.iter().map(|(_, n)| f(n).clone()).collect());
    crate::bulk::insert_columns(
        tx,
        "notifications",
        &[
            ("user_id", Int(rows.iter().map(|(u, _)| Some(*u)).collect())),
            ("at", Int(vec![Some(now); rows.len()])),
            ("kind", text(|n| &n.kind)),
            ("title_zh", text(|n| &n.title_zh)),
            ("title_en", text(|n| &n.title_en)),
            ("body", text(|n| &n.body)),
            ("link", text(|n| &n.link)),
        ],
        false,
    )
    .await?;
    Ok(())
}
