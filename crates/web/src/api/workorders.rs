//! JSON API of work orders (E), complaints, public accountability figures and price monitoring (J).
//!
//! Filing a need or a complaint works without login (a guest gets a tracking code); everything
//! else is scoped to the caller. Lists export as CSV with `?format=csv`.

use super::orgs::err;
use super::{ApiJson, ApiQuery};
use crate::error::{ApiError, Problem};
use crate::session::{ApiUser, Caller};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use tongxin_app::workorders::{ActForm, Attachment, ComplaintForm, NeedForm, PriceRefForm, PriceReportForm};
use tongxin_app::AppError;
use tongxin_domain::workorders::Policy;
use tongxin_store::workorders::OrderFilter;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// Routes (mounted under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workorders", post(file).get(list))
        .route("/workorders/needs", get(needs))
        .route("/workorders/policy", get(get_policy).put(put_policy))
        .route("/workorders/calendar/{day}", put(put_day))
        .route("/workorders/track/{code}", get(track))
        .route("/workorders/track/{code}/actions", post(track_act))
        .route("/workorders/{id}", get(detail))
        .route("/workorders/{id}/actions", post(act))
        .route("/workorders/{id}/suggestions", get(suggestions))
        .route("/complaints", post(file_complaint).get(complaints))
        .route("/complaints/track/{code}", get(complaint_track))
        .route("/complaints/files/{id}", get(complaint_file))
        .route("/complaints/{id}", get(complaint_detail))
        .route("/complaints/{id}/actions", post(complaint_act))
        .route("/public/accountability", get(public_figures))
        .route("/prices/references", post(set_price_ref).get(price_refs))
        .route("/prices/reports", post(report_price).get(price_reports))
}

/// OpenAPI paths of this feature, merged into the API document.
#[derive(OpenApi)]
#[openapi(
    paths(file, list, needs, get_policy, put_policy, put_day, track, track_act, detail, act, suggestions, file_complaint,
          complaints, complaint_track, complaint_file, complaint_detail, complaint_act, public_figures, set_price_ref,
          price_refs, report_price, price_reports),
    components(schemas(NeedBody, ActBody, ComplaintBody, ComplaintActBody, PriceRefBody, PriceReportBody, FiledBody)),
    tags((name = "workorders", description = "居民需求工单与监督问责 / Work orders, complaints, accountability, prices"))
)]
pub struct WorkordersApi;

/// A need (same fields as the form).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NeedBody {
    /// medicine, medical_visit, elderly_care, disabled_care, supplies, counselling, legal_aid, other.
    pub kind: String,
    /// normal or urgent.
    pub urgency: String,
    /// elderly_alone, disabled, chronic, pregnant, child_no_carer.
    pub vulnerable: Vec<String>,
    /// What is needed.
    pub description: String,
    /// Community or grid code (a resident's own community when empty).
    pub division_code: String,
    /// Address.
    pub address: String,
    /// Contact name.
    pub contact_name: String,
    /// Mobile number.
    pub phone: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
}

impl From<NeedBody> for NeedForm {
    fn from(b: NeedBody) -> Self {
        NeedForm {
            kind: b.kind,
            urgency: b.urgency,
            vulnerable: b.vulnerable,
            description: b.description,
            division_code: b.division_code,
            address: b.address,
            contact_name: b.contact_name,
            phone: b.phone,
            lon: b.lon,
            lat: b.lat,
        }
    }
}

/// The answer to filing: id, order number and the tracking code (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct FiledBody {
    /// Id.
    pub id: i64,
    /// Order number (needs only).
    pub code: Option<String>,
    /// Tracking code.
    pub tracking_code: String,
}

/// An action on an order.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ActBody {
    /// dispatch, accept, return, start, extend, answer, rate, close, reopen.
    pub action: String,
    /// Dispatch: staff, org or volunteer.
    pub assignee_kind: String,
    /// Dispatch: account, organisation or volunteer id.
    pub assignee_id: Option<i64>,
    /// Reason, answer or comment.
    pub note: String,
    /// Rate: 1–5.
    pub rating: Option<i64>,
    /// Extend: working days (hours for urgent needs of vulnerable people).
    pub extension: Option<u32>,
}

impl From<ActBody> for ActForm {
    fn from(b: ActBody) -> Self {
        ActForm {
            action: b.action,
            assignee_kind: b.assignee_kind,
            assignee_id: b.assignee_id,
            note: b.note,
            rating: b.rating,
            extension: b.extension,
        }
    }
}

fn guest_or(c: &Caller) -> Option<&tongxin_domain::Actor> {
    c.authed.as_ref().map(|a| &a.actor)
}

/// File a need (login optional: guests get a tracking code).
#[utoipa::path(post, path = "/api/v1/workorders", tag = "workorders", request_body = NeedBody,
    responses((status = 201, body = FiledBody), (status = 422, body = Problem)))]
pub async fn file(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<NeedBody>,
) -> Result<(StatusCode, Json<FiledBody>), ApiError> {
    let f = st.app.file_need(guest_or(&c), &c.ctx, &b.into()).await.map_err(err(c.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(FiledBody { id: f.id, code: Some(f.code), tracking_code: f.tracking_code })))
}

/// Order list parameters.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct OrderParams {
    /// State key.
    pub state: Option<String>,
    /// Kind key.
    pub kind: Option<String>,
    /// normal / urgent.
    pub urgency: Option<String>,
    /// `true`: only escalated (督办).
    pub escalated: Option<bool>,
    /// `true`: only open.
    pub open: Option<bool>,
    /// Division subtree (code).
    pub division: Option<String>,
    /// Cursor: the last id seen (newest first).
    pub cursor: Option<String>,
    /// 1–500.
    pub limit: Option<u32>,
    /// `csv` to export.
    pub format: Option<String>,
}

/// Parameters → filter.
pub async fn order_filter(
    st: &AppState,
    actor: &tongxin_domain::Actor,
    p: &OrderParams,
) -> Result<OrderFilter, AppError> {
    let within = super::orgs::within_of(&st.app, actor, p.division.as_deref()).await?;
    let before_id = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<i64>().map_err(|_| tongxin_app::invalid("cursor", "cursor", "分页游标无效", "invalid cursor"))?,
        ),
        None => None,
    };
    let ne = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Ok(OrderFilter {
        within_path: within,
        state: ne(&p.state),
        kind: ne(&p.kind),
        urgency: ne(&p.urgency),
        escalated: p.escalated.unwrap_or(false),
        open: p.open.unwrap_or(false),
        requester: None,
        before_id,
        limit: i64::from(tongxin_domain::page::clamp_limit(p.limit)),
    })
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    /// Orders (personal data omitted).
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<tongxin_store::workorders::OrderRow>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// CSV text with a BOM (Excel opens it as UTF-8).
pub fn csv_response(name: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
    let esc = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else if s.starts_with(['=', '+', '-', '@']) {
            // No formulas from user text in a spreadsheet.
            format!("'{s}")
        } else {
            s.to_string()
        }
    };
    let mut out = String::from("\u{feff}");
    out.push_str(&header_row.iter().map(|h| esc(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        out,
    )
        .into_response()
}

/// Orders as CSV rows.
pub fn orders_csv(items: &[tongxin_store::workorders::OrderRow]) -> Response {
    use tongxin_domain::workorders as wo;
    let rows = items
        .iter()
        .map(|o| {
            vec![
                o.code.clone(),
                wo::label(&wo::KINDS, &o.kind, true).to_string(),
                if o.urgency == "urgent" { "紧急".into() } else { "一般".into() },
                o.vulnerable
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|v| wo::label(&wo::VULNERABLE, v, true))
                    .collect::<Vec<_>>()
                    .join("、"),
                o.division_code.clone(),
                wo::State::from_key(&o.state).map_or(o.state.clone(), |s| s.label(true).to_string()),
                o.assignee_name.clone(),
                o.due_at.map(crate::pages::beijing_time).unwrap_or_default(),
                wo::escalation_label(o.escalation, true).to_string(),
                o.rating.map(|r| r.to_string()).unwrap_or_default(),
                crate::pages::beijing_time(o.created_at),
            ]
        })
        .collect();
    csv_response(
        "workorders.csv",
        &[
            "工单号 Code",
            "类型 Kind",
            "紧急程度 Urgency",
            "重点人群 Vulnerable",
            "社区 Community",
            "状态 State",
            "承办 Handler",
            "期限 Due",
            "督办 Escalation",
            "评分 Rating",
            "受理时间 Received",
        ],
        rows,
    )
}

/// Orders in the caller's scope (residents: their own), newest first.
#[utoipa::path(get, path = "/api/v1/workorders", tag = "workorders", params(OrderParams),
    responses((status = 200, body = OrderPage), (status = 400, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<OrderParams>,
) -> Result<Response, ApiError> {
    let e = err(u.ctx.lang);
    let mut f = order_filter(&st, &u.authed.actor, &p).await.map_err(&e)?;
    let csv = p.format.as_deref() == Some("csv");
    if csv {
        f.limit = 500;
    }
    let items = st.app.orders_for(&u.authed.actor, f.clone()).await.map_err(&e)?;
    if csv {
        return Ok(orders_csv(&items));
    }
    let next_cursor = (items.len() as i64 == f.limit).then(|| items.last().map(|o| o.id.to_string())).flatten();
    Ok(Json(OrderPage { items, next_cursor }).into_response())
}

/// Division filter.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct NeedsParams {
    /// Division subtree (code).
    pub division: Option<String>,
    /// `csv` to export.
    pub format: Option<String>,
}

/// One line of the needs list.
#[derive(Debug, Serialize, ToSchema)]
pub struct NeedLine {
    /// Community code.
    pub division_code: String,
    /// Kind key.
    pub kind: String,
    /// normal / urgent.
    pub urgency: String,
    /// Open orders.
    pub count: i64,
}

/// The community needs list (物资/服务需求清单): open orders by community, kind and urgency.
#[utoipa::path(get, path = "/api/v1/workorders/needs", tag = "workorders", params(NeedsParams),
    responses((status = 200, body = Vec<NeedLine>)))]
pub async fn needs(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<NeedsParams>,
) -> Result<Response, ApiError> {
    let e = err(u.ctx.lang);
    let within = super::orgs::within_of(&st.app, &u.authed.actor, p.division.as_deref()).await.map_err(&e)?;
    let rows = st.app.needs_list(&u.authed.actor, within).await.map_err(&e)?;
    if p.format.as_deref() == Some("csv") {
        use tongxin_domain::workorders as wo;
        let rows = rows
            .into_iter()
            .map(|(d, k, u, n)| {
                vec![
                    d,
                    wo::label(&wo::KINDS, &k, true).to_string(),
                    if u == "urgent" { "紧急".into() } else { "一般".into() },
                    n.to_string(),
                ]
            })
            .collect();
        return Ok(csv_response(
            "needs.csv",
            &["社区 Community", "需求类型 Kind", "紧急程度 Urgency", "未办结数 Open"],
            rows,
        ));
    }
    Ok(Json(
        rows.into_iter()
            .map(|(division_code, kind, urgency, count)| NeedLine { division_code, kind, urgency, count })
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// `?unmask=true` shows address and phone in full (audited; handlers only).
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct Unmask {
    /// Show personal data in full.
    pub unmask: Option<bool>,
}

/// One order with its history; 404 outside the caller's scope.
#[utoipa::path(get, path = "/api/v1/workorders/{id}", tag = "workorders", params(("id" = i64, Path, description = "Order id"), Unmask),
    responses((status = 200, description = "The order", body = Object), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<Unmask>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.order_for(&u.authed.actor, &u.ctx, id, q.unmask.unwrap_or(false)).await.map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// Acts on an order: dispatch, accept, return, start, extend, answer, rate, close, reopen.
#[utoipa::path(post, path = "/api/v1/workorders/{id}/actions", tag = "workorders", request_body = ActBody,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order after the action", body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn act(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ActBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.act_on_order(&u.authed.actor, &u.ctx, id, &b.into()).await.map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// Suggested assignees: organisations by specialty and distance, then local staff.
#[utoipa::path(get, path = "/api/v1/workorders/{id}/suggestions", tag = "workorders", params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Suggestions", body = Object), (status = 404, body = Problem)))]
pub async fn suggestions(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.dispatch_suggestions(&u.authed.actor, id).await.map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// An order by tracking code (no login).
#[utoipa::path(get, path = "/api/v1/workorders/track/{code}", tag = "workorders", params(("code" = String, Path, description = "Tracking code")),
    responses((status = 200, description = "The order (masked)", body = Object), (status = 404, body = Problem)))]
pub async fn track(
    State(st): State<AppState>,
    c: Caller,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.order_by_tracking(&code).await.map_err(err(c.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// Rate or reopen an order by tracking code (no login).
#[utoipa::path(post, path = "/api/v1/workorders/track/{code}/actions", tag = "workorders", request_body = ActBody,
    params(("code" = String, Path, description = "Tracking code")),
    responses((status = 200, description = "The order", body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn track_act(
    State(st): State<AppState>,
    c: Caller,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<ActBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.act_by_tracking(&c.ctx, &code, &b.into()).await.map_err(err(c.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// The deadline policy and holiday calendar.
#[utoipa::path(get, path = "/api/v1/workorders/policy", tag = "workorders", responses((status = 200, description = "Policy and calendar", body = Object)))]
pub async fn get_policy(State(st): State<AppState>, u: ApiUser) -> Result<Json<serde_json::Value>, ApiError> {
    let e = err(u.ctx.lang);
    let (p, _) = st.app.wo_policy().await.map_err(&e)?;
    let cal = st.app.store.wo_calendar().await.map_err(|x| e(x.into()))?;
    Ok(Json(
        serde_json::json!({ "policy": p, "calendar": cal.into_iter().map(|(d, k, n)| serde_json::json!({"day": d, "kind": k, "name": n})).collect::<Vec<_>>() }),
    ))
}

/// Replaces the deadline policy (administrator, civil affairs, commander).
#[utoipa::path(put, path = "/api/v1/workorders/policy", tag = "workorders", request_body = Object,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_policy(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(p): ApiJson<Policy>,
) -> Result<StatusCode, ApiError> {
    st.app.set_wo_policy(&u.authed.actor, &u.ctx, &p).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A calendar day.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct DayBody {
    /// `holiday`, `workday` (调休) or empty to clear.
    pub kind: String,
    /// Name, e.g. 春节.
    pub name: String,
}

/// Marks a day as holiday or working day (调休), or clears it.
#[utoipa::path(put, path = "/api/v1/workorders/calendar/{day}", tag = "workorders", request_body = DayBody,
    params(("day" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_day(
    State(st): State<AppState>,
    u: ApiUser,
    Path(day): Path<String>,
    ApiJson(b): ApiJson<DayBody>,
) -> Result<StatusCode, ApiError> {
    st.app.set_calendar_day(&u.authed.actor, &u.ctx, &day, &b.kind, &b.name).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A complaint or report.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ComplaintBody {
    /// service, abuse_of_power, falsified_report, overpricing, other.
    pub category: String,
    /// staff, org or community.
    pub subject_kind: String,
    /// Staff: username; org: id; community: division code.
    pub subject: String,
    /// Where it happened (street or community code), when not implied by the subject.
    pub division_code: String,
    /// What happened.
    pub description: String,
    /// File anonymously (always for guests).
    pub anonymous: bool,
    /// Attachment file name.
    pub attachment_name: Option<String>,
    /// Attachment content, base64 (image or PDF, at most 1 MB).
    pub attachment_base64: Option<String>,
}

/// File a complaint (login optional; guests are anonymous and get a tracking code).
#[utoipa::path(post, path = "/api/v1/complaints", tag = "workorders", request_body = ComplaintBody,
    responses((status = 201, body = FiledBody), (status = 422, body = Problem)))]
pub async fn file_complaint(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<ComplaintBody>,
) -> Result<(StatusCode, Json<FiledBody>), ApiError> {
    let e = err(c.ctx.lang);
    let file = match b.attachment_base64.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(Attachment {
            name: b.attachment_name.clone().unwrap_or_else(|| "attachment".into()),
            bytes: base64::engine::general_purpose::STANDARD.decode(s.trim()).map_err(|_| {
                e(tongxin_app::invalid(
                    "attachment_base64",
                    "base64",
                    "附件须为 base64 编码",
                    "the attachment must be base64",
                ))
            })?,
        }),
        None => None,
    };
    let form = ComplaintForm {
        category: b.category,
        subject_kind: b.subject_kind,
        subject: b.subject,
        division_code: b.division_code,
        description: b.description,
        anonymous: b.anonymous,
    };
    let f = st.app.file_complaint(guest_or(&c), &c.ctx, &form, file).await.map_err(&e)?;
    Ok((StatusCode::CREATED, Json(FiledBody { id: f.id, code: None, tracking_code: f.tracking_code })))
}

/// Complaint list filter.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct ComplaintParams {
    /// received, investigating, concluded.
    pub state: Option<String>,
}

/// Complaints in a supervisor's jurisdiction (never those about the caller).
#[utoipa::path(get, path = "/api/v1/complaints", tag = "workorders", params(ComplaintParams),
    responses((status = 200, description = "Complaints", body = Object), (status = 403, body = Problem)))]
pub async fn complaints(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ComplaintParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st
        .app
        .complaints_for(&u.authed.actor, p.state.as_deref().filter(|s| !s.is_empty()))
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::json!({ "items": v })))
}

/// One complaint; 404 for the accused and outside the caller's jurisdiction.
#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "workorders", params(("id" = i64, Path, description = "Complaint id")),
    responses((status = 200, description = "The complaint", body = Object), (status = 404, body = Problem)))]
pub async fn complaint_detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.complaint_for(&u.authed.actor, id).await.map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// A handler's step on a complaint.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ComplaintActBody {
    /// take or conclude.
    pub action: String,
    /// Conclude: whether the complaint was verified.
    pub verified: Option<bool>,
    /// Conclude: the finding.
    pub finding: String,
}

/// Take (become the handler) or conclude a complaint.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/actions", tag = "workorders", request_body = ComplaintActBody,
    params(("id" = i64, Path, description = "Complaint id")),
    responses((status = 200, description = "The complaint", body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn complaint_act(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ComplaintActBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st
        .app
        .act_on_complaint(&u.authed.actor, &u.ctx, id, &b.action, b.verified, &b.finding)
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// A complaint by tracking code (no login).
#[utoipa::path(get, path = "/api/v1/complaints/track/{code}", tag = "workorders", params(("code" = String, Path, description = "Tracking code")),
    responses((status = 200, description = "The complaint's progress", body = Object), (status = 404, body = Problem)))]
pub async fn complaint_track(
    State(st): State<AppState>,
    c: Caller,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.complaint_by_tracking(&code).await.map_err(err(c.ctx.lang))?;
    Ok(Json(
        serde_json::json!({ "state": v.c.state, "category": v.c.category, "subject_name": v.c.subject_name, "verified": v.c.verified, "finding": v.c.finding, "due_at": v.c.due_at, "steps": v.steps }),
    ))
}

/// An attachment (supervisors covering the complaint; audited).
#[utoipa::path(get, path = "/api/v1/complaints/files/{id}", tag = "workorders", params(("id" = i64, Path, description = "File id")),
    responses((status = 200, description = "The file"), (status = 404, body = Problem)))]
pub async fn complaint_file(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let (name, mime, bytes) =
        st.app.complaint_attachment(&u.authed.actor, &u.ctx, id).await.map_err(err(u.ctx.lang))?;
    let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    Ok((
        [(header::CONTENT_TYPE, mime), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\""))],
        bytes,
    )
        .into_response())
}

/// Drill-down.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct PublicParams {
    /// District or street code; the city's districts when absent.
    pub division: Option<String>,
}

/// Public accountability figures (no login; counts below 5 shown as "<5").
#[utoipa::path(get, path = "/api/v1/public/accountability", tag = "workorders", params(PublicParams),
    responses((status = 200, description = "Figures", body = Object), (status = 404, body = Problem)))]
pub async fn public_figures(
    State(st): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<PublicParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.public_figures(p.division.as_deref()).await.map_err(err(c.ctx.lang))?;
    Ok(Json(serde_json::to_value(v).unwrap_or_default()))
}

/// A reference price.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PriceRefBody {
    /// Item.
    pub item: String,
    /// Unit.
    pub unit: String,
    /// Division code.
    pub division_code: String,
    /// YYYY-MM.
    pub period: String,
    /// Yuan.
    pub price: f64,
}

/// Sets a reference price.
#[utoipa::path(post, path = "/api/v1/prices/references", tag = "workorders", request_body = PriceRefBody,
    responses((status = 201, description = "Id", body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_price_ref(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<PriceRefBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let f =
        PriceRefForm { item: b.item, unit: b.unit, division_code: b.division_code, period: b.period, price: b.price };
    let id = st.app.set_price_ref(&u.authed.actor, &u.ctx, &f).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

/// Reference prices.
#[utoipa::path(get, path = "/api/v1/prices/references", tag = "workorders", responses((status = 200, description = "References", body = Object)))]
pub async fn price_refs(State(st): State<AppState>, u: ApiUser) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.store.price_refs(500).await.map_err(|e| err(u.ctx.lang)(e.into()))?;
    Ok(Json(serde_json::json!({ "items": v })))
}

/// An offer or sale.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PriceReportBody {
    /// Item.
    pub item: String,
    /// Division code.
    pub division_code: String,
    /// Seller.
    pub seller: String,
    /// offer or sale.
    pub kind: String,
    /// Yuan.
    pub price: f64,
}

/// Reports an offer or sale; flagged when above the reference by more than the margin.
#[utoipa::path(post, path = "/api/v1/prices/reports", tag = "workorders", request_body = PriceReportBody,
    responses((status = 201, description = "The report", body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn report_price(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<PriceReportBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let f = PriceReportForm {
        item: b.item,
        division_code: b.division_code,
        seller: b.seller,
        kind: b.kind,
        price: b.price,
    };
    let p = st.app.report_price(&u.authed.actor, &u.ctx, &f).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(p).unwrap_or_default())))
}

/// Report filter.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct PriceParams {
    /// `true`: only flagged.
    pub flagged: Option<bool>,
    /// One item.
    pub item: Option<String>,
    /// `csv` to export.
    pub format: Option<String>,
}

/// Price reports in the caller's jurisdiction.
#[utoipa::path(get, path = "/api/v1/prices/reports", tag = "workorders", params(PriceParams), responses((status = 200, description = "Reports", body = Object)))]
pub async fn price_reports(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<PriceParams>,
) -> Result<Response, ApiError> {
    let v = st
        .app
        .store
        .price_reports(&u.authed.actor, p.flagged.unwrap_or(false), p.item.as_deref().filter(|s| !s.is_empty()), 500)
        .await
        .map_err(|e| err(u.ctx.lang)(e.into()))?;
    if p.format.as_deref() == Some("csv") {
        let rows = v
            .iter()
            .map(|r| {
                vec![
                    crate::pages::beijing_time(r.reported_at),
                    r.item.clone(),
                    r.seller.clone(),
                    r.division_code.clone(),
                    format!("{:.2}", r.price_fen as f64 / 100.0),
                    r.ref_fen.map(|f| format!("{:.2}", f as f64 / 100.0)).unwrap_or_default(),
                    if r.flagged { "异常".into() } else { String::new() },
                ]
            })
            .collect();
        return Ok(csv_response(
            "prices.csv",
            &[
                "时间 Time",
                "品名 Item",
                "销售方 Seller",
                "区划 Division",
                "价格 Price",
                "参考价 Reference",
                "预警 Flag",
            ],
            rows,
        ));
    }
    Ok(Json(serde_json::json!({ "items": v })).into_response())
}
