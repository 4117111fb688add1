//! Idempotency keys: the first request with a key reserves it; its response is stored; retries
//! with the same key and the same request get that response back, a different request is refused.

use crate::{col, map_unique, now_ms, Result, Store, StoreError};

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Newly reserved for this request: run it.
    Reserved,
    /// Already completed with the same request: replay (status, content type, body).
    Completed {
        /// HTTP status.
        status: u16,
        /// Content type.
        content_type: String,
        /// Body (UTF-8 text; binary responses are not stored).
        body: String,
        /// Redirect target (`Location`), empty when none.
        location: String,
    },
    /// The same key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
    /// The first request's changes were saved, but its response was not (the node stopped in
    /// between): the change must not run again.
    Applied,
}

tokio::task_local! {
    /// The idempotency key (owner, key) of the request this task serves. A write transaction
    /// committed under it marks the key `committed` atomically with the request's changes.
    static CURRENT: (String, String);
}

/// Runs `fut` (a request handler) with its idempotency key in scope.
pub async fn scope<F: std::future::Future>(owner: String, key: String, fut: F) -> F::Output {
    CURRENT.scope((owner, key), fut).await
}

/// Marks the current request's key as committed inside `tx` (no-op outside a keyed request).
pub(crate) async fn mark_committed(tx: &mut crate::Tx) -> std::result::Result<(), sqlx::Error> {
    let Ok((owner, key)) = CURRENT.try_with(|k| k.clone()) else { return Ok(()) };
    if !tx.has_conn() {
        // Continuing a batch in memory: the batch's COMMIT marks it.
        tx.batch().idem_marks.push((owner, key));
        return Ok(());
    }
    sqlx::query("UPDATE idempotency_keys SET committed = 1 WHERE owner = $1 AND key = $2")
        .bind(owner)
        .bind(key)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Reservations older than this without a stored response or a committed change are treated as
/// abandoned (the node died mid-request, before its change committed) and may be taken over.
/// Longer than the server's request timeout (30 s), so a live request is never taken over.
pub const ABANDON_MS: i64 = 35_000;

impl Store {
    /// Reserves `key` for `owner`, or reports what it already holds.
    pub async fn idem_reserve(&self, owner: &str, key: &str, request_hash: &str) -> Result<KeyState> {
        for _ in 0..2 {
            let mut tx = self.begin().await?;
            let ins =
                sqlx::query("INSERT INTO idempotency_keys (owner, key, request_hash, created_at) VALUES ($1,$2,$3,$4)")
                    .bind(owner.to_string())
                    .bind(key.to_string())
                    .bind(request_hash.to_string())
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await;
            match ins.map_err(map_unique) {
                Ok(_) => {
                    tx.commit().await?;
                    return Ok(KeyState::Reserved);
                }
                Err(StoreError::Conflict(_)) => {
                    drop(tx);
                }
                Err(e) => return Err(e),
            }
            let r = sqlx::query(
                "SELECT request_hash, status, content_type, body, location, completed, committed, created_at \
                 FROM idempotency_keys \
                 WHERE owner = $1 AND key = $2",
            )
            .bind(owner.to_string())
            .bind(key.to_string())
            .fetch_optional(self.reader())
            .await?;
            let Some(r) = r else { continue };
            let hash: String = col(&r, "request_hash")?;
            if hash != request_hash {
                return Ok(KeyState::Mismatch);
            }
            if col::<i64>(&r, "completed")? == 1 {
                return Ok(KeyState::Completed {
                    status: col::<i64>(&r, "status")? as u16,
                    content_type: col(&r, "content_type")?,
                    body: col(&r, "body")?,
                    location: col(&r, "location")?,
                });
            }
            if col::<i64>(&r, "committed")? == 1 {
                return Ok(KeyState::Applied);
            }
            if now_ms() - col::<i64>(&r, "created_at")? < ABANDON_MS {
                return Ok(KeyState::InProgress);
            }
            self.idem_release(owner, key).await?;
        }
        Ok(KeyState::InProgress)
    }

    /// Stores the response of a reserved key.
    pub async fn idem_complete(
        &self,
        owner: &str,
        key: &str,
        status: u16,
        content_type: &str,
        body: &str,
        location: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3, location = $6, completed = 1 \
             WHERE owner = $4 AND key = $5",
        )
        .bind(status as i64)
        .bind(content_type.to_string())
        .bind(body.to_string())
        .bind(owner.to_string())
        .bind(key.to_string())
        .bind(location.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Frees a reservation (the request failed before changing anything, so a retry may run).
    pub async fn idem_release(&self, owner: &str, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2 AND completed = 0 AND committed = 0")
            .bind(owner.to_string())
            .bind(key.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets keys older than `before_ms` (a retry comes within minutes; a day is plenty).
    pub async fn idem_prune(&self, before_ms: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}
