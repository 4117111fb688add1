//! The audit trail's hash chain: each record holds the hash of the previous one, so editing or
//! deleting any row breaks every hash after it and `tongxin audit verify` finds the first break.

use serde::Serialize;

/// The fields of an audit record that the hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Sequence number, 1-based, gap-free.
    pub seq: i64,
    /// Unix time in milliseconds.
    pub at_ms: i64,
    /// Acting user id (0 for the system).
    pub user_id: i64,
    /// Acting user name.
    pub username: String,
    /// Role key.
    pub role: String,
    /// Jurisdiction code of the actor, if any.
    pub division_code: String,
    /// Action key, e.g. `user.login`, `person.unmask`.
    pub action: String,
    /// Object type, e.g. `user`.
    pub object_type: String,
    /// Object id.
    pub object_id: String,
    /// Before/after summary (JSON text).
    pub summary: String,
    /// Request id.
    pub request_id: String,
    /// Client IP.
    pub ip: String,
}

/// Hash of the chain's start.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEntry {
    /// The canonical bytes hashed: every field, length-prefixed so no two records collide by
    /// shifting text between fields.
    pub fn canonical(&self, prev_hash: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let fields: [&str; 10] = [
            prev_hash,
            &self.username,
            &self.role,
            &self.division_code,
            &self.action,
            &self.object_type,
            &self.object_id,
            &self.summary,
            &self.request_id,
            &self.ip,
        ];
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out.extend_from_slice(&self.user_id.to_be_bytes());
        for f in fields {
            out.extend_from_slice(&(f.len() as u64).to_be_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }
}
