//! The audit trail: append in the caller's transaction, verify the whole hash chain.

use crate::{col, now_ms, Result, Store, Tx};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use tongxin_domain::audit::{AuditEntry, GENESIS_HASH};

/// What an action records; the store adds sequence, time and hashes.
#[derive(Debug, Clone, Default)]
pub struct AuditInput {
    /// Acting user id (0 = system).
    pub user_id: i64,
    /// Acting user name.
    pub username: String,
    /// Role key.
    pub role: String,
    /// Actor's jurisdiction code.
    pub division_code: String,
    /// Action key.
    pub action: String,
    /// Object type.
    pub object_type: String,
    /// Object id.
    pub object_id: String,
    /// Before/after summary as JSON text.
    pub summary: String,
    /// Request id.
    pub request_id: String,
    /// Client IP.
    pub ip: String,
}

/// SHA-256 of the record's canonical bytes, hex.
pub fn entry_hash(e: &AuditEntry, prev_hash: &str) -> String {
    hex::encode(Sha256::digest(e.canonical(prev_hash)))
}

/// Appends a record inside `tx`. The head row is locked by the first append of the outer
/// transaction (PostgreSQL: `FOR UPDATE`, held until COMMIT), so the chain never forks across
/// nodes; within the transaction the head moves in memory and is written back once at COMMIT.
pub async fn append(tx: &mut Tx, input: AuditInput) -> Result<i64> {
    append_at(tx, input, now_ms()).await
}

/// The chain's head (last seq, its hash) as `tx` sees it; read and locked on first use.
async fn head(tx: &mut Tx) -> Result<(i64, String)> {
    if let Some(h) = &tx.batch().state.audit_head {
        return Ok(h.clone());
    }
    let sql = match tx.backend() {
        crate::Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        // BEGIN IMMEDIATE already holds SQLite's one write lock.
        crate::Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
    };
    let r = sqlx::query(sql).fetch_one(tx.conn()).await?;
    let h = (col::<i64>(&r, "seq")?, col::<String>(&r, "hash")?);
    tx.batch().state.audit_head = Some(h.clone());
    Ok(h)
}

/// Appends a record with a given time (imports and tests of retention).
pub async fn append_at(tx: &mut Tx, input: AuditInput, at_ms: i64) -> Result<i64> {
    let (last, prev) = head(tx).await?;
    let seq = last + 1;
    let e = AuditEntry {
        seq,
        at_ms,
        user_id: input.user_id,
        username: input.username,
        role: input.role,
        division_code: input.division_code,
        action: input.action,
        object_type: input.object_type,
        object_id: input.object_id,
        summary: input.summary,
        request_id: input.request_id,
        ip: input.ip,
    };
    let hash = entry_hash(&e, &prev);
    // Written with the batch's other records just before COMMIT (see `Tx`).
    let b = tx.batch();
    b.audit.push((e, prev, hash.clone()));
    b.state.audit_head = Some((seq, hash));
    b.state.head_dirty = true;
    Ok(seq)
}

/// Removes audit records older than `before_ms` (the retention job), keeping the chain
/// verifiable: the anchor records where it now starts. The removal is itself audited, in the
/// same transaction. Returns the number of records removed.
pub async fn prune(tx: &mut Tx, before_ms: i64, by: AuditInput) -> Result<i64> {
    // Lock the head first so no append interleaves.
    let (head_seq, head_hash) = head(tx).await?;
    let keep = sqlx::query("SELECT seq, prev_hash FROM audit_log WHERE at >= $1 ORDER BY seq LIMIT 1")
        .bind(before_ms)
        .fetch_optional(&mut **tx)
        .await?;
    // Records appended earlier in this transaction are not in the table yet; they are newer
    // than every stored one, and must all be kept.
    let b = tx.batch();
    if b.audit.iter().any(|(e, _, _)| e.at_ms < before_ms) {
        return Err(crate::StoreError::Conflict(
            "audit records older than the cut were appended in this transaction".into(),
        ));
    }
    let deferred = b.audit.first().map(|(e, prev, _)| (e.seq, prev.clone()));
    let (first_kept, prev) = match (keep, deferred) {
        (Some(r), _) => (col::<i64>(&r, "seq")?, col::<String>(&r, "prev_hash")?),
        (None, Some(d)) => d,
        (None, None) => (head_seq + 1, head_hash),
    };
    let n =
        sqlx::query("DELETE FROM audit_log WHERE seq < $1").bind(first_kept).execute(&mut **tx).await?.rows_affected()
            as i64;
    if n > 0 {
        sqlx::query("UPDATE audit_anchor SET seq = $1, prev_hash = $2 WHERE id = 1")
            .bind(first_kept)
            .bind(prev)
            .execute(&mut **tx)
            .await?;
    }
    let summary = format!("{{\"removed\":{n},\"before_ms\":{before_ms}}}");
    append(
        tx,
        AuditInput {
            action: "audit.prune".into(),
            object_type: "audit_log".into(),
            object_id: "*".into(),
            summary,
            ..by
        },
    )
    .await?;
    Ok(n)
}

/// Outcome of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every record checks out.
    Intact {
        /// Records checked.
        records: i64,
    },
    /// The first record that does not check out, and why.
    Broken {
        /// Its sequence number (or the missing one).
        seq: i64,
        /// Reason in Chinese.
        zh: String,
        /// Reason in English.
        en: String,
    },
}

/// A listed audit record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRecord {
    /// Sequence.
    pub seq: i64,
    /// Unix ms.
    pub at: i64,
    /// User name.
    pub username: String,
    /// Role key.
    pub role: String,
    /// Action key.
    pub action: String,
    /// Object type.
    pub object_type: String,
    /// Object id.
    pub object_id: String,
    /// Summary JSON.
    pub summary: String,
    /// Request id.
    pub request_id: String,
}

impl Store {
    /// Walks the whole chain in order (streaming, constant memory) and reports the first break:
    /// a gap in sequence, a wrong previous hash, a recomputed hash that differs, or a head that
    /// does not match the last record (a deleted tail).
    pub async fn audit_verify(&self) -> Result<VerifyOutcome> {
        let mut rows = sqlx::query(
            "SELECT seq, at, user_id, username, role, division_code, action, object_type, object_id, summary, \
             request_id, ip, prev_hash, hash FROM audit_log ORDER BY seq",
        )
        .fetch(self.reader());
        // The retention job may have removed old records: the chain starts at the anchor.
        let anchor =
            sqlx::query("SELECT seq, prev_hash FROM audit_anchor WHERE id = 1").fetch_optional(self.reader()).await?;
        let (mut expected_seq, mut expected_prev) = match anchor {
            Some(a) => (col::<i64>(&a, "seq")?, col::<String>(&a, "prev_hash")?),
            None => (1, GENESIS_HASH.to_string()),
        };
        let first_seq = expected_seq;
        while let Some(r) = rows.try_next().await? {
            let e = AuditEntry {
                seq: col(&r, "seq")?,
                at_ms: col(&r, "at")?,
                user_id: col(&r, "user_id")?,
                username: col(&r, "username")?,
                role: col(&r, "role")?,
                division_code: col(&r, "division_code")?,
                action: col(&r, "action")?,
                object_type: col(&r, "object_type")?,
                object_id: col(&r, "object_id")?,
                summary: col(&r, "summary")?,
                request_id: col(&r, "request_id")?,
                ip: col(&r, "ip")?,
            };
            let prev: String = col(&r, "prev_hash")?;
            let hash: String = col(&r, "hash")?;
            if e.seq != expected_seq {
                return Ok(VerifyOutcome::Broken {
                    seq: expected_seq,
                    zh: format!("缺少第 {expected_seq} 条记录（被删除？）"),
                    en: format!("record {expected_seq} is missing (deleted?)"),
                });
            }
            if prev != expected_prev {
                return Ok(VerifyOutcome::Broken {
                    seq: e.seq,
                    zh: "前一条哈希不匹配".into(),
                    en: "previous-hash link does not match".into(),
                });
            }
            if entry_hash(&e, &prev) != hash {
                return Ok(VerifyOutcome::Broken {
                    seq: e.seq,
                    zh: "记录内容与哈希不符（被篡改）".into(),
                    en: "record content does not match its hash (altered)".into(),
                });
            }
            expected_prev = hash;
            expected_seq += 1;
        }
        drop(rows);
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(self.reader()).await?;
        let (hseq, hhash): (i64, String) = (col(&head, "seq")?, col(&head, "hash")?);
        if hseq != expected_seq - 1 || hhash != expected_prev {
            return Ok(VerifyOutcome::Broken {
                seq: expected_seq,
                zh: format!("链尾不完整：链头记录到第 {hseq} 条"),
                en: format!("chain tail is incomplete: head says {hseq} records"),
            });
        }
        Ok(VerifyOutcome::Intact { records: expected_seq - first_seq })
    }

    /// The newest records, newest first, optionally only those of one action prefix.
    pub async fn audit_recent(&self, action_prefix: &str, limit: i64) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, at, username, role, action, object_type, object_id, summary, request_id FROM audit_log \
             WHERE action LIKE $1 ESCAPE '\\' ORDER BY seq DESC LIMIT $2",
        )
        .bind(format!("{}%", crate::sql::like_escape(action_prefix)))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    seq: col(r, "seq")?,
                    at: col(r, "at")?,
                    username: col(r, "username")?,
                    role: col(r, "role")?,
                    action: col(r, "action")?,
                    object_type: col(r, "object_type")?,
                    object_id: col(r, "object_id")?,
                    summary: col(r, "summary")?,
                    request_id: col(r, "request_id")?,
                })
            })
            .collect()
    }
}
