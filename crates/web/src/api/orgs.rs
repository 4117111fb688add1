//! Registry API (capability A): organisations (list, file, edit, decisions, reviews, insurance,
//! teams, memberships), volunteers (in [`super::volunteers`]), Excel templates, imports and
//! exports, leader training. Every list is scoped by jurisdiction or organisation; by-id reads
//! outside it answer 404.

use super::{ApiJson, ApiQuery};
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tongxin_app::registry::excel::{ExportFormat, ExportList, ImportOptions, ImportReport};
use tongxin_app::registry::{current_year, today, Decision, OrgForm};
use tongxin_app::{invalid, App, AppError};
use tongxin_domain::page::{clamp_limit, Cursor, Order};
use tongxin_domain::Actor;
use tongxin_store::registry::{Equipment, OrgFilter, OrgListItem, Policy};
use utoipa::{IntoParams, ToSchema};

/// Largest import upload (the 100,000-row limit is checked on the content).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

/// Registry routes, merged under `/api/v1`.
pub fn registry_router() -> Router<AppState> {
    Router::new()
        .route("/organizations", get(list).post(create))
        .route("/organizations/export", get(export))
        .route("/organizations/{id}", get(detail).put(update))
        .route("/organizations/{id}/decision", post(decide))
        .route("/organizations/{id}/reviews", post(add_review))
        .route("/organizations/{id}/insurance", post(add_policy))
        .route("/organizations/{id}/teams", post(create_team))
        .route("/organizations/{id}/memberships", get(memberships).post(super::volunteers::request_membership))
        .route("/memberships/{id}/decision", post(super::volunteers::decide_membership))
        .route("/volunteers", get(super::volunteers::list).post(super::volunteers::register))
        .route("/volunteers/export", get(super::volunteers::export))
        .route("/volunteers/{id}", get(super::volunteers::detail))
        .route("/volunteers/{id}/certificates", post(super::volunteers::add_certificate))
        .route("/volunteers/{id}/availability", axum::routing::put(super::volunteers::set_availability))
        .route("/registry/templates/{which}", get(template))
        .route("/registry/import/{which}", post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)))
        .route("/training", post(record_training))
}

pub fn err(lang: tongxin_domain::Lang) -> impl Fn(AppError) -> ApiError {
    move |err| ApiError { err, lang }
}

/// List parameters (the convention every list follows).
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct ListParams {
    /// Name contains, or exact credit code.
    pub q: Option<String>,
    /// Division subtree (code).
    pub division: Option<String>,
    /// Kind key.
    pub kind: Option<String>,
    /// State key.
    pub state: Option<String>,
    /// Domain of service key.
    pub domain: Option<String>,
    /// Rescue specialty key.
    pub specialty: Option<String>,
    /// Rescue grade key (`grade1`…`grade3`).
    pub grade: Option<String>,
    /// `true`: insured today; `false`: not insured today.
    pub insured: Option<String>,
    /// `true`: verified organisations overdue for the yearly inspection.
    pub overdue: Option<String>,
    /// `name` (default), `id`, `people` or `updated`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// An organisation in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Kind key.
    pub kind: String,
    /// Division code.
    pub division_code: String,
    /// Division name.
    pub division_name: String,
    /// Filing state.
    pub state: String,
    /// People count.
    pub people_count: i64,
    /// Domain keys.
    pub domains: Vec<String>,
    /// Rescue specialty keys.
    pub specialties: Vec<String>,
    /// Rescue grade key.
    pub grade: String,
    /// Latest yearly-inspection year (0 = none).
    pub last_inspection_year: i64,
    /// Whether the yearly inspection is overdue.
    pub inspection_overdue: bool,
    /// Latest evaluation grade.
    pub eval_grade: String,
    /// Latest insurance end date.
    pub insured_until: String,
}

fn keys(s: &str) -> Vec<String> {
    s.split(',').filter(|s| !s.is_empty()).map(String::from).collect()
}

impl From<OrgListItem> for OrgDto {
    fn from(o: OrgListItem) -> Self {
        OrgDto {
            domains: keys(&o.domains),
            specialties: keys(&o.specialties),
            inspection_overdue: tongxin_app::registry::inspection_overdue(&o.state, o.last_inspection_year),
            id: o.id,
            name: o.name,
            credit_code: o.credit_code,
            kind: o.kind,
            division_code: o.division_code,
            division_name: o.division_name,
            state: o.state,
            people_count: o.people_count,
            grade: o.grade,
            last_inspection_year: o.last_inspection_year,
            eval_grade: o.eval_grade,
            insured_until: o.insured_until,
        }
    }
}

/// One page.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgPage {
    /// Rows.
    pub items: Vec<OrgDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn flag(field: &str, v: Option<&str>) -> Result<Option<bool>, AppError> {
    match v {
        None | Some("") => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(o) => Err(invalid(
            field,
            "bool",
            format!("{field} 只能是 true 或 false（收到 {o}）"),
            format!("{field} must be true or false (got {o})"),
        )),
    }
}

/// Resolves `?division=` within the actor's scope.
pub async fn within_of(app: &App, actor: &Actor, division: Option<&str>) -> Result<Option<String>, AppError> {
    match division.filter(|d| !d.is_empty()) {
        Some(code) => Ok(Some(
            app.division_for(actor, code)
                .await
                .map_err(|_| {
                    invalid(
                        "division",
                        "division.unknown",
                        format!("区划代码 {code} 不存在或不在您的辖区内"),
                        format!("Division {code} does not exist or is outside your jurisdiction"),
                    )
                })?
                .path,
        )),
        None => Ok(None),
    }
}

/// Parses `order`, `sort` (among `sorts`) and `cursor`.
pub fn paging(
    order: Option<&str>,
    sort: Option<&str>,
    sorts: &[&str],
    cursor: Option<&str>,
) -> Result<(Order, Option<Cursor>), AppError> {
    let order = match order {
        None | Some("") => Order::Asc,
        Some(o) => Order::parse(o)
            .ok_or_else(|| invalid("order", "order.value", "order 只能是 asc 或 desc", "order must be asc or desc"))?,
    };
    if let Some(s) = sort.filter(|s| !s.is_empty() && !sorts.contains(s)) {
        return Err(invalid(
            "sort",
            "sort.value",
            format!("不支持按 {s} 排序（可用 {}）", sorts.join("、")),
            format!("cannot sort by {s} (use {})", sorts.join(", ")),
        ));
    }
    let cursor = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => Some(
            Cursor::decode(c).ok_or_else(|| invalid("cursor", "cursor.format", "分页游标无效", "Invalid cursor"))?,
        ),
        None => None,
    };
    Ok((order, cursor))
}

/// Turns list parameters into a filter; shared by the API, the page and exports.
pub async fn filter_of(app: &App, actor: &Actor, p: &ListParams) -> Result<OrgFilter, AppError> {
    let within_path = within_of(app, actor, p.division.as_deref()).await?;
    let (order, cursor) =
        paging(p.order.as_deref(), p.sort.as_deref(), &["name", "id", "people", "updated"], p.cursor.as_deref())?;
    let insured = flag("insured", p.insured.as_deref())?;
    let ne = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Ok(OrgFilter {
        q: p.q.clone(),
        within_path,
        kind: ne(&p.kind),
        state: ne(&p.state),
        domain: ne(&p.domain),
        specialty: ne(&p.specialty),
        grade: ne(&p.grade),
        insured_on: insured.map(|_| today()),
        insured_not: insured == Some(false),
        overdue_before: (flag("overdue", p.overdue.as_deref())? == Some(true)).then(|| current_year() - 1),
        sort: ne(&p.sort),
        order,
        cursor,
        limit: clamp_limit(p.limit),
    })
}

/// Organisations the caller may see, filtered, sorted, cursor-paginated.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "registry", params(ListParams),
    responses((status = 200, body = OrgPage), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<OrgPage>, ApiError> {
    let e = err(u.ctx.lang);
    let f = filter_of(&st.app, &u.authed.actor, &p).await.map_err(&e)?;
    let page = st.app.list_orgs(&u.authed.actor, &f).await.map_err(&e)?;
    Ok(Json(OrgPage { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

/// One piece of equipment.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct EquipmentDto {
    /// Name.
    pub name: String,
    /// Quantity.
    pub quantity: i64,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// An organisation's filing.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct OrgBody {
    /// 组织名称.
    pub name: String,
    /// 统一社会信用代码 (GB 32100, check character verified).
    pub credit_code: String,
    /// Kind key: social_group, social_service, foundation, rescue_team, company, community_body, gov_team.
    pub kind: String,
    /// Division code.
    pub division_code: String,
    /// Address.
    pub address: String,
    /// Longitude (WGS-84).
    pub lon: Option<f64>,
    /// Latitude (WGS-84).
    pub lat: Option<f64>,
    /// Contact person.
    pub contact_name: String,
    /// Contact mobile number.
    pub contact_phone: String,
    /// Domain keys (elderly, children, disability, psychology, medical, search_rescue, …, other).
    pub domains: Vec<String>,
    /// Rescue specialties (rescue teams): collapsed_structure, mountain_rescue, water_rescue, diving, emergency_medical.
    pub specialties: Vec<String>,
    /// Rescue grade (rescue teams): grade1, grade2, grade3.
    pub grade: String,
    /// People count.
    pub people_count: i64,
    /// Equipment list (replaces the stored list when present).
    pub equipment: Option<Vec<EquipmentDto>>,
}

impl From<OrgBody> for OrgForm {
    fn from(b: OrgBody) -> OrgForm {
        OrgForm {
            name: b.name,
            credit_code: b.credit_code,
            kind: b.kind,
            division_code: b.division_code,
            address: b.address,
            lon: b.lon,
            lat: b.lat,
            contact_name: b.contact_name,
            contact_phone: b.contact_phone,
            domains: b.domains,
            specialties: b.specialties,
            grade: b.grade,
            people_count: b.people_count,
            equipment: b.equipment.map(|v| {
                v.into_iter().map(|e| Equipment { name: e.name, quantity: e.quantity, note: e.note }).collect()
            }),
        }
    }
}

/// The id of a created record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// Id.
    pub id: i64,
}

/// Files a new organisation (state `filed`). A credit code already on record → 409 naming it.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "registry", request_body = OrgBody,
    responses((status = 201, body = Created), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<OrgBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = st.app.create_org(&u.authed.actor, &u.ctx, &b.into()).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Edits a filing (the organisation's admin or an officer of its jurisdiction).
#[utoipa::path(put, path = "/api/v1/organizations/{id}", tag = "registry", request_body = OrgBody,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<OrgBody>,
) -> Result<StatusCode, ApiError> {
    st.app.update_org(&u.authed.actor, &u.ctx, id, &b.into()).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?unmask=true`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct UnmaskParam {
    /// Show personal data in full (permission needed; audited).
    pub unmask: Option<bool>,
}

/// One organisation with history, equipment, insurance, reviews, teams and training.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Organisation id"), UnmaskParam),
    responses((status = 200, description = "The organisation", body = serde_json::Value), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<UnmaskParam>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let d = st.app.org_detail(&u.authed.actor, &u.ctx, id, q.unmask.unwrap_or(false)).await.map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::to_value(d).unwrap_or_default()))
}

/// A filing decision.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionBody {
    /// `verify`, `return`, `reject`, `suspend` or `reinstate`.
    pub decision: String,
    /// Reason (required for return, reject, suspend).
    #[serde(default)]
    pub reason: String,
}

/// The new state.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateDto {
    /// State key.
    pub state: String,
}

/// Verify, return, reject, suspend or reinstate a filing (civil-affairs officer of the jurisdiction).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/decision", tag = "registry", request_body = DecisionBody,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 200, body = StateDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decide(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<DecisionBody>,
) -> Result<Json<StateDto>, ApiError> {
    let e = err(u.ctx.lang);
    let d = Decision::parse(&b.decision)
        .ok_or_else(|| {
            invalid(
                "decision",
                "decision.value",
                "decision 只能是 verify、return、reject、suspend、reinstate",
                "decision must be verify, return, reject, suspend or reinstate",
            )
        })
        .map_err(&e)?;
    let state = st.app.decide_org(&u.authed.actor, &u.ctx, id, d, &b.reason).await.map_err(&e)?;
    Ok(Json(StateDto { state }))
}

/// A review.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewBody {
    /// `inspection` (年检), `evaluation` (评估) or `spot_check` (抽查).
    pub kind: String,
    /// Year reviewed.
    pub year: i64,
    /// inspection: pass, basic_pass, fail; evaluation: 1A–5A; spot_check: ok, issues.
    pub result: String,
    /// Findings.
    #[serde(default)]
    pub findings: String,
}

/// Records a yearly inspection, evaluation or spot check.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/reviews", tag = "registry", request_body = ReviewBody,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_review(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ReviewBody>,
) -> Result<StatusCode, ApiError> {
    st.app
        .add_review(&u.authed.actor, &u.ctx, id, &b.kind, b.year, &b.result, &b.findings)
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// An insurance policy.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// Insurer.
    pub insurer: String,
    /// Policy number.
    pub policy_no: String,
    /// Covered people.
    pub covered_people: i64,
    /// Valid from (YYYY-MM-DD).
    pub valid_from: String,
    /// Valid to (YYYY-MM-DD).
    pub valid_to: String,
}

/// Adds an insurance policy.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/insurance", tag = "registry", request_body = PolicyBody,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_policy(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PolicyBody>,
) -> Result<StatusCode, ApiError> {
    let p = Policy {
        insurer: b.insurer,
        policy_no: b.policy_no,
        covered_people: b.covered_people,
        valid_from: b.valid_from,
        valid_to: b.valid_to,
    };
    st.app.add_policy(&u.authed.actor, &u.ctx, id, &p).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new team.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamBody {
    /// Name.
    pub name: String,
    /// Specialty or domain key.
    #[serde(default)]
    pub specialty: String,
}

/// Creates a team of an organisation.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/teams", tag = "registry", request_body = TeamBody,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 201, body = Created), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn create_team(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TeamBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = st.app.create_team(&u.authed.actor, &u.ctx, id, &b.name, &b.specialty).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// `?state=pending|approved|rejected`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct StateParam {
    /// Membership state.
    pub state: Option<String>,
}

/// Membership requests and members of an organisation.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/memberships", tag = "registry",
    params(("id" = i64, Path, description = "Organisation id"), StateParam),
    responses((status = 200, body = serde_json::Value), (status = 404, body = Problem)))]
pub async fn memberships(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<StateParam>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st
        .app
        .org_memberships(&u.authed.actor, id, q.state.as_deref().filter(|s| !s.is_empty()))
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(Json(serde_json::json!({ "items": v })))
}

/// Which roster.
fn which(w: &str) -> Option<bool> {
    match w.trim_end_matches(".xlsx") {
        "organizations" => Some(false),
        "volunteers" => Some(true),
        _ => None,
    }
}

/// Downloads an import template (`organizations.xlsx` or `volunteers.xlsx`).
#[utoipa::path(get, path = "/api/v1/registry/templates/{which}", tag = "registry",
    params(("which" = String, Path, description = "organizations.xlsx or volunteers.xlsx")),
    responses((status = 200, description = "xlsx file", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 404, body = Problem)))]
pub async fn template(u: ApiUser, Path(w): Path<String>) -> Result<Response, ApiError> {
    let e = err(u.ctx.lang);
    let vols = which(&w).ok_or(AppError::NotFound).map_err(&e)?;
    let bytes = tongxin_app::registry::excel::template(vols).map_err(&e)?;
    let name = if vols { "志愿者导入模板.xlsx" } else { "社会组织导入模板.xlsx" };
    Ok(file_response(bytes.into(), XLSX, name))
}

/// MIME type of xlsx.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A download with an RFC 6266 UTF-8 file name.
pub fn file_response(body: Body, mime: &str, name: &str) -> Response {
    let enc: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"export\"; filename*=UTF-8''{enc}")),
        ],
        body,
    )
        .into_response()
}

/// Import switches.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ImportParams {
    /// Check only; save nothing (preview).
    pub dry_run: Option<bool>,
    /// Save nothing when any row is bad.
    pub all_or_nothing: Option<bool>,
}

/// One bad row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowErrorDto {
    /// Row number in the file (header = 1).
    pub row: usize,
    /// Column header.
    pub column: String,
    /// Rule.
    pub rule: String,
    /// Message in the request's language.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportDto {
    /// Data rows read.
    pub total: usize,
    /// Created (or would be).
    pub created: usize,
    /// Updated (or would be).
    pub updated: usize,
    /// Whether rows were saved.
    pub saved: bool,
    /// Bad rows.
    pub errors: Vec<RowErrorDto>,
}

/// Converts a report for the request's language.
pub fn report_dto(r: ImportReport, lang: tongxin_domain::Lang) -> ImportReportDto {
    ImportReportDto {
        total: r.total,
        created: r.created,
        updated: r.updated,
        saved: r.saved,
        errors: r
            .errors
            .into_iter()
            .map(|e| RowErrorDto {
                row: e.row,
                column: e.column,
                rule: e.rule,
                message: e.message.get(lang).to_string(),
            })
            .collect(),
    }
}

/// Imports a roster: the body is the .xlsx or .csv file (UTF-8 with/without BOM, or GB18030).
#[utoipa::path(post, path = "/api/v1/registry/import/{which}", tag = "registry",
    params(("which" = String, Path, description = "organizations or volunteers"), ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The .xlsx or .csv file"),
    responses((status = 200, body = ImportReportDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import(
    State(st): State<AppState>,
    u: ApiUser,
    Path(w): Path<String>,
    ApiQuery(q): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<Json<ImportReportDto>, ApiError> {
    let e = err(u.ctx.lang);
    let vols = which(&w).ok_or(AppError::NotFound).map_err(&e)?;
    let opt = ImportOptions { dry_run: q.dry_run.unwrap_or(false), all_or_nothing: q.all_or_nothing.unwrap_or(false) };
    let a = &u.authed.actor;
    let r = if vols {
        st.app.import_volunteers(a, &u.ctx, &body, opt).await
    } else {
        st.app.import_orgs(a, &u.ctx, &body, opt).await
    }
    .map_err(&e)?;
    Ok(Json(report_dto(r, u.ctx.lang)))
}

/// Export switches.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExportParams {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// Unmasked personal data (permission needed; audited).
    pub unmask: Option<bool>,
}

/// Streams an export as a download.
pub async fn export_response(
    app: &App,
    u: &ApiUser,
    list: ExportList,
    p: &ExportParams,
    name: &str,
) -> Result<Response, AppError> {
    let fmt = match p.format.as_deref() {
        None | Some("" | "csv") => ExportFormat::Csv,
        Some("xlsx") => ExportFormat::Xlsx,
        Some(o) => {
            return Err(invalid(
                "format",
                "format.value",
                format!("格式只能是 csv 或 xlsx（收到 {o}）"),
                format!("format must be csv or xlsx (got {o})"),
            ))
        }
    };
    let rx = app.export(&u.authed.actor, &u.ctx, list, fmt, p.unmask.unwrap_or(false)).await?;
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|c| (c.map(Bytes::from).map_err(std::io::Error::other), rx))
    });
    let (mime, ext) = match fmt {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Xlsx => (XLSX, "xlsx"),
    };
    Ok(file_response(Body::from_stream(stream), mime, &format!("{name}.{ext}")))
}

/// Exports the filtered organisation list (all pages) as CSV or xlsx.
#[utoipa::path(get, path = "/api/v1/organizations/export", tag = "registry", params(ListParams, ExportParams),
    responses((status = 200, description = "CSV (UTF-8 with BOM) or xlsx"), (status = 403, body = Problem)))]
pub async fn export(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ListParams>,
    ApiQuery(x): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let e = err(u.ctx.lang);
    let f = filter_of(&st.app, &u.authed.actor, &ListParams { cursor: None, ..p }).await.map_err(&e)?;
    export_response(&st.app, &u, ExportList::Orgs(f), &x, "社会组织").await.map_err(&e)
}

/// Leader training attendance.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AttendanceDto {
    /// Organisation id.
    pub org_id: i64,
    /// Person (leader) name.
    pub person: String,
    /// Attended.
    pub attended: bool,
}

/// A training course session with attendance.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TrainingBody {
    /// Course title.
    pub title: String,
    /// Session start (unix ms).
    pub starts_at: i64,
    /// Place.
    #[serde(default)]
    pub place: String,
    /// Attendance.
    #[serde(default)]
    pub attendance: Vec<AttendanceDto>,
}

/// Records a leader-training course session and attendance (civil-affairs officers).
#[utoipa::path(post, path = "/api/v1/training", tag = "registry", request_body = TrainingBody,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn record_training(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<TrainingBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let att: Vec<(i64, String, bool)> = b.attendance.into_iter().map(|a| (a.org_id, a.person, a.attended)).collect();
    let id = st
        .app
        .record_training(&u.authed.actor, &u.ctx, &b.title, b.starts_at, &b.place, &att)
        .await
        .map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}
