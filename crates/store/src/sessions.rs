//! Server-side sessions, API tokens and login throttling, all in the database so that every
//! node of a cluster sees the same state.

use crate::users::{user_from_row, UserRow, USER_COLS};
use crate::{col, now_ms, Result, Store, StoreError, Tx};

/// A live session with its account.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// SHA-256 of the cookie token (the token itself is never stored).
    pub id_hash: String,
    /// CSRF token bound to the session.
    pub csrf_token: String,
    /// Absolute expiry, unix ms.
    pub expires_at: i64,
    /// Last request, unix ms.
    pub last_seen: i64,
    /// The account.
    pub user: UserRow,
}

/// Creates a session.
pub async fn create_session(tx: &mut Tx, id_hash: &str, user_id: i64, csrf: &str, ttl_ms: i64, ip: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, last_seen, ip) VALUES ($1,$2,$3,$4,$5,$6,$7)",
    )
    .bind(id_hash.to_string())
    .bind(user_id)
    .bind(csrf.to_string())
    .bind(now)
    .bind(now + ttl_ms)
    .bind(now)
    .bind(ip.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes one session.
pub async fn delete_session(tx: &mut Tx, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Deletes every session of an account ("log out everywhere", password change).
pub async fn delete_user_sessions(tx: &mut Tx, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?.rows_affected())
}

/// Records a failed login for each key (e.g. `u:name`, `ip:1.2.3.4`).
pub async fn record_login_failure(tx: &mut Tx, keys: &[String]) -> Result<()> {
    let now = now_ms();
    for k in keys {
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
            .bind(k.clone())
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Clears failures of a key after a successful login, and drops old rows.
pub async fn clear_login_failures(tx: &mut Tx, key: &str, older_than_ms: i64) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1 OR at < $2")
        .bind(key.to_string())
        .bind(older_than_ms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Creates an API token row.
pub async fn create_token(
    tx: &mut Tx,
    name: &str,
    token_hash: &str,
    user_id: i64,
    expires_at: Option<i64>,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO api_tokens (name, token_hash, user_id, created_at, expires_at) VALUES ($1,$2,$3,$4,$5) RETURNING id",
    )
    .bind(name.to_string())
    .bind(token_hash.to_string())
    .bind(user_id)
    .bind(now_ms())
    .bind(expires_at)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

impl Store {
    /// A session that has not expired, with its account. Expired or unknown → NotFound.
    pub async fn session(&self, id_hash: &str, idle_ms: i64) -> Result<SessionRow> {
        let now = now_ms();
        let r = sqlx::query(&format!(
            "SELECT s.id_hash, s.csrf_token, s.expires_at, s.last_seen, {USER_COLS} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen > $3"
        ))
        .bind(id_hash.to_string())
        .bind(now)
        .bind(now - idle_ms)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(SessionRow {
            id_hash: col(&r, "id_hash")?,
            csrf_token: col(&r, "csrf_token")?,
            expires_at: col(&r, "expires_at")?,
            last_seen: col(&r, "last_seen")?,
            user: user_from_row(&r)?,
        })
    }

    /// Marks a session used now (called at most once a minute per session to spare writes).
    pub async fn touch_session(&self, id_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE id_hash = $2")
            .bind(now_ms())
            .bind(id_hash.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Failed logins of `key` since `since_ms`.
    pub async fn login_failures_since(&self, key: &str, since_ms: i64) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE key = $1 AND at >= $2")
            .bind(key.to_string())
            .bind(since_ms)
            .fetch_one(self.reader())
            .await?;
        col(&r, "n")
    }

    /// The account behind a live API token.
    pub async fn token_user(&self, token_hash: &str) -> Result<UserRow> {
        let r = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 \
             AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)"
        ))
        .bind(token_hash.to_string())
        .bind(now_ms())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        user_from_row(&r)
    }
}
