//! Alerts API (capability G): authoring with four-eyes approval, CAP intake, deliveries, the
//! outbox's retry/dead-letter view, webhook endpoints and notification preferences.

use super::{ApiJson, ApiQuery};
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tongxin_app::alerts::{alert_json, AreaInput, DraftInput, IntakeOutcome, Reach, MAX_CAP_BYTES};
use tongxin_app::AppError;
use tongxin_store::alerts::AlertFilter;
use utoipa::ToSchema;

/// Alert routes (mounted under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list).post(create))
        .route("/alerts/preview", post(preview))
        .route("/alerts/rejected", get(rejected))
        .route("/alerts/sources", post(add_source))
        .route("/alerts/{id}", get(detail))
        .route("/alerts/{id}/submit", post(submit))
        .route("/alerts/{id}/approve", post(approve))
        .route("/alerts/{id}/reject", post(reject))
        .route("/alerts/{id}/cancel", post(cancel))
        .route("/alerts/{id}/update", post(update))
        .route("/alerts/{id}/deliveries", get(deliveries))
        // Oversized messages reach the handler (up to four times the limit) so that they are
        // refused as problem+json and kept in the rejected list; beyond that axum refuses them.
        .route("/cap/intake", post(intake).layer(DefaultBodyLimit::max(MAX_CAP_BYTES * 4)))
        .route("/outbox", get(outbox))
        .route("/outbox/{id}/retry", post(retry))
        .route("/outbox/endpoints", post(add_endpoint))
        .route("/me/notify-prefs", put(prefs))
}

fn e(u: &ApiUser) -> impl Fn(AppError) -> ApiError + '_ {
    move |err| ApiError { err, lang: u.ctx.lang }
}

/// An alert as JSON (CAP fields plus workflow state and reach).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDto {
    /// The alert.
    #[schema(value_type = Object)]
    pub alert: serde_json::Value,
    /// Reach preview.
    #[schema(value_type = Object)]
    pub reach: serde_json::Value,
}

fn dto(a: &tongxin_store::alerts::AlertRow) -> AlertDto {
    let mut v = alert_json(a);
    v["created_by"] = a.created_by.into();
    v["approved_by"] = a.approved_by.into();
    v["note"] = a.note.clone().into();
    v["origin"] = a.origin.clone().into();
    AlertDto { alert: v, reach: serde_json::from_str(&a.reach_json).unwrap_or_default() }
}

/// List filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// State: draft, pending, issued, superseded, cancelled, rejected.
    pub state: Option<String>,
    /// Page size (1–500).
    pub limit: Option<i64>,
    /// Cursor: the last id of the previous page.
    pub cursor: Option<i64>,
}

/// Alerts in the caller's jurisdiction, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(ListParams), responses((status = 200, body = [AlertDto])))]
pub async fn list(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<AlertDto>>, ApiError> {
    let f = AlertFilter { state: p.state, before_id: p.cursor, limit: p.limit.unwrap_or(50) };
    let rows = st.app.alerts_list(&u.authed.actor, &f).await.map_err(e(&u))?;
    Ok(Json(rows.iter().map(dto).collect()))
}

/// Draft a warning (validated; the reach is computed and stored).
#[utoipa::path(post, path = "/api/v1/alerts", tag = "alerts", request_body(content = Object, description = "DraftInput: category, event, colour, urgency, certainty, headline, description, instruction, effective, expires (unix ms), area {divisions, polygon [[lon,lat]…], circle {lon,lat,radius_m}}"),
    responses((status = 201, body = AlertDto), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(d): ApiJson<DraftInput>,
) -> Result<(StatusCode, Json<AlertDto>), ApiError> {
    let a = st.app.alert_draft(&u.authed.actor, &u.ctx, &d).await.map_err(e(&u))?;
    Ok((StatusCode::CREATED, Json(dto(&a))))
}

/// How many households, responders and organisations an area reaches, per street, before sending.
#[utoipa::path(post, path = "/api/v1/alerts/preview", tag = "alerts", request_body(content = Object, description = "AreaInput"),
    responses((status = 200, body = Object), (status = 422, body = Problem)))]
pub async fn preview(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(a): ApiJson<AreaInput>,
) -> Result<Json<Reach>, ApiError> {
    Ok(Json(st.app.alert_preview(&u.authed.actor, &a).await.map_err(e(&u))?))
}

/// One alert (404 outside the caller's jurisdiction).
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "alert id")),
    responses((status = 200, body = AlertDto), (status = 404, body = Problem)))]
pub async fn detail(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Json<AlertDto>, ApiError> {
    Ok(Json(dto(&st.app.alert_get(&u.authed.actor, id).await.map_err(e(&u))?)))
}

/// Submit a draft for approval (issued at once when its colour needs no second officer).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/submit", tag = "alerts", params(("id" = i64, Path, description = "alert id")),
    responses((status = 200, body = AlertDto), (status = 409, body = Problem), (status = 404, body = Problem)))]
pub async fn submit(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Json<AlertDto>, ApiError> {
    Ok(Json(dto(&st.app.alert_submit(&u.authed.actor, &u.ctx, id).await.map_err(e(&u))?)))
}

/// Approve and issue (a different officer from the author).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/approve", tag = "alerts", params(("id" = i64, Path, description = "alert id")),
    responses((status = 200, body = AlertDto), (status = 409, body = Problem), (status = 404, body = Problem)))]
pub async fn approve(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Json<AlertDto>, ApiError> {
    Ok(Json(dto(&st.app.alert_approve(&u.authed.actor, &u.ctx, id).await.map_err(e(&u))?)))
}

/// A note (reason).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteBody {
    /// Reason.
    #[serde(default)]
    pub note: String,
}

/// Send a pending alert back to its author.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/reject", tag = "alerts", params(("id" = i64, Path, description = "alert id")), request_body = NoteBody,
    responses((status = 200, body = AlertDto), (status = 409, body = Problem)))]
pub async fn reject(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<NoteBody>,
) -> Result<Json<AlertDto>, ApiError> {
    Ok(Json(dto(&st.app.alert_reject(&u.authed.actor, &u.ctx, id, &b.note).await.map_err(e(&u))?)))
}

/// Cancel an issued alert: a CAP Cancel referencing it is issued.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/cancel", tag = "alerts", params(("id" = i64, Path, description = "alert id")), request_body = NoteBody,
    responses((status = 200, body = AlertDto), (status = 409, body = Problem)))]
pub async fn cancel(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<NoteBody>,
) -> Result<Json<AlertDto>, ApiError> {
    Ok(Json(dto(&st.app.alert_cancel(&u.authed.actor, &u.ctx, id, &b.note).await.map_err(e(&u))?)))
}

/// Draft an Update of an issued alert (approved like any alert; the original is superseded when it is issued).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/update", tag = "alerts", params(("id" = i64, Path, description = "alert id")), request_body(content = Object, description = "DraftInput"),
    responses((status = 201, body = AlertDto), (status = 409, body = Problem)))]
pub async fn update(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<DraftInput>,
) -> Result<(StatusCode, Json<AlertDto>), ApiError> {
    let a = st.app.alert_draft_update(&u.authed.actor, &u.ctx, id, &d).await.map_err(e(&u))?;
    Ok((StatusCode::CREATED, Json(dto(&a))))
}

/// Delivery log of an alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deliveries {
    /// Messages per channel and state (queued, sent, failed, dead).
    #[schema(value_type = Vec<Object>)]
    pub counts: Vec<tongxin_store::outbox::DeliveryCount>,
    /// Newest messages.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<serde_json::Value>,
    /// Retries, failures and deferrals, newest first.
    #[schema(value_type = Vec<Object>)]
    pub log: Vec<tongxin_store::outbox::LogRow>,
}

/// Deliveries of an alert: counts per channel and state, newest messages and the retry log.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/deliveries", tag = "alerts", params(("id" = i64, Path, description = "alert id")),
    responses((status = 200, body = Deliveries), (status = 404, body = Problem)))]
pub async fn deliveries(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Deliveries>, ApiError> {
    st.app.alert_get(&u.authed.actor, id).await.map_err(e(&u))?;
    let s = |x: tongxin_store::StoreError| ApiError { err: x.into(), lang: u.ctx.lang };
    let counts = st.app.store.outbox_counts("alert", id).await.map_err(s)?;
    let messages = st.app.store.outbox_list(Some(("alert", id)), &[], 100).await.map_err(s)?;
    let log = st.app.store.outbox_log_for("alert", id, 100).await.map_err(s)?;
    Ok(Json(Deliveries { counts, messages: messages.iter().map(message_json).collect(), log }))
}

fn message_json(m: &tongxin_store::outbox::MessageRow) -> serde_json::Value {
    // Recipients are shown masked: phones and e-mail addresses are personal data.
    let recipient = if m.channel == "email" {
        m.recipient.split_once('@').map_or("***".into(), |(a, b)| format!("{}***@{b}", a.chars().next().unwrap_or('*')))
    } else {
        m.recipient.clone()
    };
    serde_json::json!({"id": m.id, "channel": m.channel, "recipient": recipient, "kind": m.kind, "state": m.state,
        "attempts": m.attempts, "next_at": m.next_at, "last_error": m.last_error, "sent_at": m.sent_at,
        "idempotency_key": m.idempotency_key, "ref_type": m.ref_type, "ref_id": m.ref_id})
}

/// Receive a CAP 1.2 message from another system (Bearer token; body `application/cap+xml`).
/// 201 accepted, 200 duplicate (ignored), 422 refused with the codec's errors, 413 larger than
/// 512 KiB (both problem+json in the caller's language, with every error in Chinese and English,
/// and kept in the rejected list).
#[utoipa::path(post, path = "/api/v1/cap/intake", tag = "alerts", request_body(content = String, content_type = "application/cap+xml"),
    responses((status = 201, body = Object), (status = 200, body = Object), (status = 422, body = Problem), (status = 413, body = Problem), (status = 403, body = Problem)))]
pub async fn intake(
    State(st): State<AppState>,
    u: ApiUser,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    tongxin_app::require_role(&u.authed.actor, &tongxin_app::alerts::AUTHORS).map_err(e(&u))?;
    let zh = u.ctx.lang == tongxin_domain::Lang::Zh;
    let problem = |status: StatusCode, kind: &str, title: &str, detail: String, extra: serde_json::Value| {
        let mut body = serde_json::json!({
            "type": format!("https://tongxin.example/problems/{kind}"),
            "title": title, "status": status.as_u16(), "detail": detail,
        });
        if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(x.clone());
        }
        (status, [("content-type", "application/problem+json")], body.to_string()).into_response()
    };
    let body = match body {
        Ok(b) => b,
        Err(rej) => {
            // Far beyond the limit: not even read, so not kept.
            let (title, detail) = if zh {
                ("CAP 消息过大", format!("CAP 消息超过 {} 字节上限：{}", MAX_CAP_BYTES, rej.body_text()))
            } else {
                (
                    "CAP message too large",
                    format!("CAP message over the {MAX_CAP_BYTES}-byte limit: {}", rej.body_text()),
                )
            };
            return Ok(problem(rej.status(), "cap-too-large", title, detail, serde_json::json!({})));
        }
    };
    let origin = format!("http:{}", u.authed.actor.username);
    match st.app.alert_intake(&u.ctx, &origin, &body).await.map_err(e(&u))? {
        Ok(o @ IntakeOutcome::Accepted { .. }) => Ok((StatusCode::CREATED, Json(o)).into_response()),
        Ok(o) => Ok((StatusCode::OK, Json(o)).into_response()),
        Err(r) => {
            let detail = r
                .errors
                .iter()
                .map(|x| x[if zh { "zh" } else { "en" }].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join("; ");
            let (status, kind, title) = if r.too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "cap-too-large",
                    if zh { "CAP 消息过大" } else { "CAP message too large" },
                )
            } else {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "cap-invalid",
                    if zh { "CAP 消息无效" } else { "Invalid CAP message" },
                )
            };
            Ok(problem(
                status,
                kind,
                title,
                detail,
                serde_json::json!({"rejected_id": r.rejected_id, "errors": r.errors}),
            ))
        }
    }
}

/// Refused CAP messages, newest first.
#[utoipa::path(get, path = "/api/v1/alerts/rejected", tag = "alerts", responses((status = 200, body = [Object]), (status = 403, body = Problem)))]
pub async fn rejected(
    State(st): State<AppState>,
    u: ApiUser,
) -> Result<Json<Vec<tongxin_store::alerts::RejectedRow>>, ApiError> {
    tongxin_app::require_role(&u.authed.actor, &tongxin_app::alerts::AUTHORS).map_err(e(&u))?;
    Ok(Json(st.app.store.alerts_rejected(100).await.map_err(|x| ApiError { err: x.into(), lang: u.ctx.lang })?))
}

/// A feed to pull.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SourceBody {
    /// CAP message or Atom/RSS feed URL.
    pub url: String,
    /// Seconds between polls (10–86400).
    #[serde(default = "default_interval")]
    pub interval_s: i64,
}

fn default_interval() -> i64 {
    60
}

/// Add a CAP feed to pull on a schedule.
#[utoipa::path(post, path = "/api/v1/alerts/sources", tag = "alerts", request_body = SourceBody,
    responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn add_source(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<SourceBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = st.app.alert_add_source(&u.authed.actor, &u.ctx, &b.url, b.interval_s).await.map_err(e(&u))?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id}))))
}

/// Outbox filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OutboxParams {
    /// Comma-separated states (default `failed,dead`).
    pub state: Option<String>,
}

/// The retry / dead-letter view (administrators and commanders).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "alerts", params(OutboxParams), responses((status = 200, body = [Object]), (status = 403, body = Problem)))]
pub async fn outbox(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<OutboxParams>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    tongxin_app::require_role(&u.authed.actor, &[tongxin_domain::Role::SysAdmin, tongxin_domain::Role::Commander])
        .map_err(e(&u))?;
    let states = p.state.unwrap_or_else(|| "failed,dead".into());
    let states: Vec<&str> = states.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let rows =
        st.app.store.outbox_list(None, &states, 200).await.map_err(|x| ApiError { err: x.into(), lang: u.ctx.lang })?;
    Ok(Json(rows.iter().map(message_json).collect()))
}

/// Put a failed or dead message back in the queue.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "alerts", params(("id" = i64, Path, description = "message id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn retry(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    st.app.outbox_retry(&u.authed.actor, &u.ctx, id).await.map_err(e(&u))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook endpoint.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EndpointBody {
    /// Name.
    pub name: String,
    /// URL receiving signed POSTs.
    pub url: String,
    /// HMAC secret (≥ 16 characters).
    pub secret: String,
    /// Comma-separated kind prefixes (e.g. `alert.`); empty for all.
    #[serde(default)]
    pub kinds: String,
}

/// Register a webhook endpoint. Deliveries carry `Idempotency-Key`, `X-Tongxin-Timestamp` and
/// `X-Tongxin-Signature: sha256=HMAC(secret, "{timestamp}.{body}")`.
#[utoipa::path(post, path = "/api/v1/outbox/endpoints", tag = "alerts", request_body = EndpointBody,
    responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn add_endpoint(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<EndpointBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = st
        .app
        .outbox_add_endpoint(&u.authed.actor, &u.ctx, &b.name, &b.url, &b.secret, &b.kinds)
        .await
        .map_err(e(&u))?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id}))))
}

/// Notification preferences.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PrefsBody {
    /// Channels: inapp, email, sms.
    pub channels: Vec<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: String,
    /// Mobile phone (stored encrypted).
    #[serde(default)]
    pub phone: String,
    /// Quiet hours start, minutes after midnight (Asia/Shanghai).
    pub quiet_start: Option<i64>,
    /// Quiet hours end.
    pub quiet_end: Option<i64>,
}

/// Set the caller's channels and quiet hours (red alerts ignore quiet hours).
#[utoipa::path(put, path = "/api/v1/me/notify-prefs", tag = "alerts", request_body = PrefsBody,
    responses((status = 204), (status = 422, body = Problem)))]
pub async fn prefs(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<PrefsBody>,
) -> Result<StatusCode, ApiError> {
    let quiet = b.quiet_start.zip(b.quiet_end);
    st.app.save_notify_prefs(&u.authed.actor, &u.ctx, &b.channels, &b.email, &b.phone, quiet).await.map_err(e(&u))?;
    Ok(StatusCode::NO_CONTENT)
}

/// OpenAPI paths of capability G.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, create, preview, detail, submit, approve, reject, cancel, update, deliveries, intake, rejected, add_source,
          outbox, retry, add_endpoint, prefs),
    components(schemas(AlertDto, NoteBody, Deliveries, SourceBody, EndpointBody, PrefsBody)),
    tags((name = "alerts", description = "预警与通知 / Alerts (CAP 1.2) and notifications"))
)]
pub struct AlertsApi;
