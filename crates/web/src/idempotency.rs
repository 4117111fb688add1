//! `Idempotency-Key` for every state-changing request: a retry with the same key returns the
//! first response and changes nothing; the same key with a different request is a 422.
//! Keys belong to the caller (account, or client IP when anonymous).

use crate::error::Problem;
use crate::session::Caller;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tongxin_domain::Lang;
use tongxin_store::idempotency::KeyState;

/// Largest response stored for replay; larger ones are not replayable (the key is released).
const MAX_STORED: usize = 1024 * 1024;

fn problem(lang: Lang, status: StatusCode, kind: &str, zh: &str, en: &str) -> Response {
    Problem::new(status, kind, if lang == Lang::Zh { zh } else { en }.to_string()).into_response()
}

/// Middleware (runs after the caller is resolved).
pub async fn idempotency(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let header_key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // Upload forms (photos) are multipart; their `_idem` part is found the same way.
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if header_key.is_none() && !is_form && !is_multipart {
        return next.run(req).await;
    }
    let caller = req.extensions().get::<Caller>().cloned();
    let lang = caller.as_ref().map(|c| c.ctx.lang).unwrap_or_default();
    let owner = match &caller {
        Some(Caller { authed: Some(a), .. }) => format!("u:{}", a.actor.user_id),
        Some(c) => format!("ip:{}", c.ctx.ip),
        None => "ip:".to_string(),
    };
    let (parts, body) = req.into_parts();
    // Multipart bodies may be as large as the largest upload route allows (photos); the route's
    // own limit still applies after this.
    let cap = if is_multipart {
        st.cfg.max_body_bytes.max(crate::api::incident_photos::MAX_BODY_BYTES)
    } else {
        st.cfg.max_body_bytes
    };
    let Ok(bytes) = axum::body::to_bytes(body, cap).await else {
        return problem(lang, StatusCode::PAYLOAD_TOO_LARGE, "too-large", "请求体过大", "Request body is too large");
    };
    // Page forms carry their one-time key as the `_idem` field (static/forms.js); only signed-in
    // forms use it, so login and language forms never have a response replayed.
    let form_key = || {
        if is_multipart {
            return multipart_idem(&bytes);
        }
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "_idem")
            .map(|(_, v)| v)
    };
    let key = header_key.or_else(|| if owner.starts_with("u:") { form_key() } else { None });
    let Some(key) = key else {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    };
    if key.is_empty() || key.len() > 200 {
        return problem(
            lang,
            StatusCode::BAD_REQUEST,
            "idempotency-key",
            "Idempotency-Key 长度须为 1–200",
            "Idempotency-Key must be 1–200 characters",
        );
    }
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update(b" ");
    h.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    h.update(b"\n");
    h.update(&bytes);
    let hash = hex::encode(h.finalize());
    let store = &st.app.store;
    // A resend that arrives while the first is still running waits for its answer (a double
    // click should show the first request's result, not an error).
    let mut state = store.idem_reserve(&owner, &key, &hash).await;
    for _ in 0..50 {
        if !matches!(state, Ok(KeyState::InProgress)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        state = store.idem_reserve(&owner, &key, &hash).await;
    }
    match state {
        Ok(KeyState::Reserved) => {}
        Ok(KeyState::Completed { status, content_type, body, location }) => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&location) {
                if !location.is_empty() {
                    r.headers_mut().insert(header::LOCATION, v);
                }
            }
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return r;
        }
        Ok(KeyState::Mismatch) => {
            return problem(
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-mismatch",
                "同一个 Idempotency-Key 已用于另一个不同的请求",
                "This Idempotency-Key was already used for a different request",
            )
        }
        Ok(KeyState::Applied) => {
            return problem(
                lang,
                StatusCode::CONFLICT,
                "idempotency-applied",
                "该请求此前已处理并保存，但当时的响应未能送达；请勿重复提交，可刷新查看结果",
                "This request was already processed and saved, but its response was lost; do not submit it again",
            )
        }
        Ok(KeyState::InProgress) => {
            return problem(
                lang,
                StatusCode::CONFLICT,
                "idempotency-in-progress",
                "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试",
                "A request with this Idempotency-Key is still in progress; retry shortly",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "idempotency store failed");
            return problem(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "服务暂不可用",
                "Service unavailable",
            );
        }
    }
    // Commits made by the handler mark the key in their own transaction (see store::idempotency).
    let resp = tongxin_store::idempotency::scope(
        owner.clone(),
        key.clone(),
        next.run(Request::from_parts(parts, Body::from(bytes))),
    )
    .await;
    let (rparts, rbody) = resp.into_parts();
    let Ok(rbytes) = axum::body::to_bytes(rbody, MAX_STORED).await else {
        let _ = store.idem_release(&owner, &key).await;
        return problem(lang, StatusCode::INTERNAL_SERVER_ERROR, "internal", "响应过大", "Response too large");
    };
    let ct = rparts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    match std::str::from_utf8(&rbytes) {
        // Server errors changed nothing (transactions roll back): let a retry run again.
        Ok(text) if !rparts.status.is_server_error() => {
            let location = rparts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
            if let Err(e) = store.idem_complete(&owner, &key, rparts.status.as_u16(), &ct, text, location).await {
                tracing::error!(error = %e, "storing idempotent response failed");
            }
        }
        _ => {
            let _ = store.idem_release(&owner, &key).await;
        }
    }
    Response::from_parts(rparts, Body::from(rbytes))
}

/// The `_idem` part of a multipart form body as browsers write it
/// (`Content-Disposition: form-data; name="_idem"`, a blank line, the value, CRLF).
fn multipart_idem(body: &[u8]) -> Option<String> {
    const NAME: &[u8] = b"name=\"_idem\"";
    let at = body.windows(NAME.len()).position(|w| w == NAME)?;
    let rest = &body[at + NAME.len()..];
    let start = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let value = &rest[start..];
    let end = value.windows(2).position(|w| w == b"\r\n")?;
    let v = std::str::from_utf8(&value[..end]).ok()?;
    (!v.is_empty() && v.len() <= 200).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_idem_part_of_a_multipart_form_is_found() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"_idem\"\r\n\r\nk-123\r\n--b--\r\n";
        assert_eq!(super::multipart_idem(body).as_deref(), Some("k-123"));
        assert_eq!(super::multipart_idem(b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--"), None);
    }
}
