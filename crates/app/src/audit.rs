//! Building audit records from the acting account and request.

use crate::RequestCtx;
use tongxin_domain::Actor;
use tongxin_store::audit::AuditInput;

/// An audit record of `action` on `object_type`/`object_id` by `actor` (None = system).
pub fn entry(
    actor: Option<&Actor>,
    ctx: &RequestCtx,
    action: &str,
    object_type: &str,
    object_id: impl ToString,
    summary: serde_json::Value,
) -> AuditInput {
    AuditInput {
        user_id: actor.map_or(0, |a| a.user_id),
        username: actor.map_or_else(|| "system".to_string(), |a| a.username.clone()),
        role: actor.map_or_else(|| "system".to_string(), |a| a.role.key().to_string()),
        division_code: actor.and_then(|a| a.division_code.clone()).unwrap_or_default(),
        action: action.to_string(),
        object_type: object_type.to_string(),
        object_id: object_id.to_string(),
        summary: summary.to_string(),
        request_id: ctx.request_id.clone(),
        ip: ctx.ip.clone(),
    }
}
