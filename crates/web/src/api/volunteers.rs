//! Volunteer API: registration (self or by an officer/organisation admin), the scoped list,
//! detail (masked; `?unmask=true` is a permission and is audited), certificates,
//! availability, membership requests and decisions, export.

use super::orgs::{err, export_response, paging, within_of, Created, ExportParams, UnmaskParam};
use super::{ApiJson, ApiQuery};
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tongxin_app::registry::excel::ExportList;
use tongxin_app::registry::volunteers::{VolForm, VolView};
use tongxin_app::{App, AppError};
use tongxin_domain::page::clamp_limit;
use tongxin_domain::Actor;
use tongxin_store::registry::{Certificate, VolFilter};
use utoipa::{IntoParams, ToSchema};

/// Volunteer list parameters.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct VolParams {
    /// Name contains; an exact ID number or phone finds that person (by blind index).
    pub q: Option<String>,
    /// Division subtree (code).
    pub division: Option<String>,
    /// Skill key.
    pub skill: Option<String>,
    /// Valid certificate kind: first_aid, first_responder, licence.
    pub cert: Option<String>,
    /// `true`/`false`.
    pub insured: Option<String>,
    /// `true`/`false`.
    pub available_now: Option<String>,
    /// `true`/`false`.
    pub real_name: Option<String>,
    /// Organisation id (members).
    pub org: Option<i64>,
    /// `name` (default), `id` or `updated`.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    /// Cursor.
    pub cursor: Option<String>,
    /// 1–500.
    pub limit: Option<u32>,
}

fn flag(field: &str, v: Option<&str>) -> Result<Option<bool>, AppError> {
    match v {
        None | Some("") => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(o) => Err(tongxin_app::invalid(
            field,
            "bool",
            format!("{field} 只能是 true 或 false（收到 {o}）"),
            format!("{field} must be true or false (got {o})"),
        )),
    }
}

/// Parameters → filter (API, page, export).
pub async fn vol_filter_of(app: &App, actor: &Actor, p: &VolParams) -> Result<VolFilter, AppError> {
    let (order, cursor) =
        paging(p.order.as_deref(), p.sort.as_deref(), &["name", "id", "updated"], p.cursor.as_deref())?;
    let q = p.q.clone().filter(|q| !q.trim().is_empty());
    let hash = q.as_deref().and_then(|q| app.personal_lookup_hash(q));
    let ne = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Ok(VolFilter {
        q: if hash.is_some() { None } else { q },
        hash,
        within_path: within_of(app, actor, p.division.as_deref()).await?,
        skill: ne(&p.skill),
        cert: ne(&p.cert),
        insured: flag("insured", p.insured.as_deref())?,
        available_now: flag("available_now", p.available_now.as_deref())?,
        real_name: flag("real_name", p.real_name.as_deref())?,
        org_id: p.org,
        sort: ne(&p.sort),
        order,
        cursor,
        limit: clamp_limit(p.limit),
    })
}

/// A volunteer (ID number and phone masked unless unmasked).
#[derive(Debug, Serialize, ToSchema)]
pub struct VolDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// ID number, masked (`110105********002X`) unless unmasked.
    pub id_number: String,
    /// Phone, masked (`138****1234`) unless unmasked.
    pub phone: String,
    /// Age from the ID number.
    pub age: Option<i64>,
    /// Real-name registered.
    pub real_name: bool,
    /// Division code.
    pub division_code: String,
    /// Division name.
    pub division_name: String,
    /// Skill keys.
    pub skills: Vec<String>,
    /// Insured.
    pub insured: bool,
    /// Weekly slots.
    pub weekly: Vec<String>,
    /// Available now.
    pub available_now: bool,
    /// Valid certificate kinds.
    pub cert_kinds: Vec<String>,
    /// Primary organisation.
    pub org_id: Option<i64>,
    /// Its name.
    pub org_name: Option<String>,
}

impl From<VolView> for VolDto {
    fn from(v: VolView) -> Self {
        VolDto {
            id: v.id,
            name: v.name,
            id_number: v.id_number,
            phone: v.phone,
            age: v.age,
            real_name: v.real_name,
            division_code: v.division_code,
            division_name: v.division_name,
            skills: v.skills,
            insured: v.insured,
            weekly: v.weekly,
            available_now: v.available_now,
            cert_kinds: v.cert_kinds,
            org_id: v.org_id,
            org_name: v.org_name,
        }
    }
}

/// One page of volunteers.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolPage {
    /// Rows.
    pub items: Vec<VolDto>,
    /// Next cursor.
    pub next_cursor: Option<String>,
}

/// Volunteers the caller may see.
#[utoipa::path(get, path = "/api/v1/volunteers", tag = "registry", params(VolParams),
    responses((status = 200, body = VolPage), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<VolParams>,
) -> Result<Json<VolPage>, ApiError> {
    let e = err(u.ctx.lang);
    let f = vol_filter_of(&st.app, &u.authed.actor, &p).await.map_err(&e)?;
    let page = st.app.list_volunteers(&u.authed.actor, &f).await.map_err(&e)?;
    Ok(Json(VolPage { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

/// A volunteer's registration.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct VolBody {
    /// Name.
    pub name: String,
    /// ID number (GB 11643; optional when registering by phone).
    pub id_number: String,
    /// Mobile number.
    pub phone: String,
    /// Home division code.
    pub division_code: String,
    /// Skill keys.
    pub skills: Vec<String>,
    /// Insured.
    pub insured: bool,
    /// Weekly slots (mon_am … sun_pm).
    pub weekly: Vec<String>,
    /// Available now.
    pub available_now: bool,
    /// Home longitude.
    pub lon: Option<f64>,
    /// Home latitude.
    pub lat: Option<f64>,
}

impl From<VolBody> for VolForm {
    fn from(b: VolBody) -> VolForm {
        VolForm {
            name: b.name,
            id_number: b.id_number,
            phone: b.phone,
            division_code: b.division_code,
            skills: b.skills,
            insured: b.insured,
            weekly: b.weekly,
            available_now: b.available_now,
            lon: b.lon,
            lat: b.lat,
            org_id: None,
        }
    }
}

/// Registers a volunteer: oneself (volunteer/resident accounts), a member (organisation admin),
/// or a resident of the jurisdiction (officers, community and grid workers).
#[utoipa::path(post, path = "/api/v1/volunteers", tag = "registry", request_body = VolBody,
    responses((status = 201, body = Created), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<VolBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = st.app.register_volunteer(&u.authed.actor, &u.ctx, &b.into()).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// A volunteer with certificates and memberships.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolDetail {
    /// The volunteer.
    pub volunteer: VolDto,
    /// Certificates.
    pub certificates: Vec<CertBody>,
    /// Memberships (org id, team id, state).
    pub memberships: Vec<MembershipDto>,
}

/// A membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipDto {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Team (0 = none).
    pub team_id: i64,
    /// pending, approved, rejected.
    pub state: String,
}

/// One volunteer; `?unmask=true` shows ID number and phone in full (audited).
#[utoipa::path(get, path = "/api/v1/volunteers/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Volunteer id"), UnmaskParam),
    responses((status = 200, body = VolDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<UnmaskParam>,
) -> Result<Json<VolDetail>, ApiError> {
    let (v, certs, ms) = st
        .app
        .volunteer_detail(&u.authed.actor, &u.ctx, id, q.unmask.unwrap_or(false))
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(Json(VolDetail {
        volunteer: v.into(),
        certificates: certs
            .into_iter()
            .map(|c| CertBody { kind: c.kind, name: c.name, number: c.number, expires_on: c.expires_on })
            .collect(),
        memberships: ms
            .into_iter()
            .map(|m| MembershipDto { id: m.id, org_id: m.org_id, team_id: m.team_id, state: m.state })
            .collect(),
    }))
}

/// A certificate.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CertBody {
    /// first_aid, first_responder or licence.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Number.
    #[serde(default)]
    pub number: String,
    /// Expiry (YYYY-MM-DD) or empty.
    #[serde(default)]
    pub expires_on: String,
}

/// Adds a certificate.
#[utoipa::path(post, path = "/api/v1/volunteers/{id}/certificates", tag = "registry", request_body = CertBody,
    params(("id" = i64, Path, description = "Volunteer id")),
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_certificate(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CertBody>,
) -> Result<StatusCode, ApiError> {
    let c = Certificate { kind: b.kind, name: b.name, number: b.number, expires_on: b.expires_on };
    st.app.add_certificate(&u.authed.actor, &u.ctx, id, &c).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Availability.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AvailabilityBody {
    /// Weekly slots.
    #[serde(default)]
    pub weekly: Vec<String>,
    /// Available right now.
    pub available_now: bool,
}

/// Sets availability.
#[utoipa::path(put, path = "/api/v1/volunteers/{id}/availability", tag = "registry", request_body = AvailabilityBody,
    params(("id" = i64, Path, description = "Volunteer id")),
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_availability(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AvailabilityBody>,
) -> Result<StatusCode, ApiError> {
    st.app.set_availability(&u.authed.actor, &u.ctx, id, &b.weekly, b.available_now).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A membership request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MembershipRequestBody {
    /// Team id (optional).
    pub team_id: Option<i64>,
    /// Note to the organisation.
    pub note: String,
}

/// Asks to join an organisation (registered volunteers).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/memberships", tag = "registry", request_body = MembershipRequestBody,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 201, body = Created), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn request_membership(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MembershipRequestBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id =
        st.app.request_membership(&u.authed.actor, &u.ctx, id, b.team_id, &b.note).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// The admin's decision.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MembershipDecisionBody {
    /// Approve (true) or reject (false).
    pub approve: bool,
}

/// Approves or rejects a membership request (the organisation's admin).
#[utoipa::path(post, path = "/api/v1/memberships/{id}/decision", tag = "registry", request_body = MembershipDecisionBody,
    params(("id" = i64, Path, description = "Membership id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decide_membership(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MembershipDecisionBody>,
) -> Result<StatusCode, ApiError> {
    st.app.decide_membership(&u.authed.actor, &u.ctx, id, b.approve).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exports the filtered volunteer list (all pages): CSV or xlsx, ID and phone as text, masked
/// unless `unmask=true` (permission; audited).
#[utoipa::path(get, path = "/api/v1/volunteers/export", tag = "registry", params(VolParams, ExportParams),
    responses((status = 200, description = "CSV (UTF-8 with BOM) or xlsx"), (status = 403, body = Problem)))]
pub async fn export(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<VolParams>,
    ApiQuery(x): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let e = err(u.ctx.lang);
    let f = vol_filter_of(&st.app, &u.authed.actor, &VolParams { cursor: None, ..p }).await.map_err(&e)?;
    export_response(&st.app, &u, ExportList::Volunteers(f), &x, "志愿者").await.map_err(&e)
}
