//! Grids and base data API (capability H): boundaries, grids, buildings, households,
//! vulnerable residents and check rounds. Everything is scoped by jurisdiction; by-id reads
//! outside it answer 404. Names and phones are masked unless `?unmask=true` (permission, audited).

use super::{ApiJson, ApiQuery};
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tongxin_app::grids::households::{household_template_csv, HouseholdForm, VulnerableForm};
use tongxin_domain::Lang;
use tongxin_store::grids::HouseholdFilter;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// Largest boundary or household upload.
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

/// Routes, merged under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/grids", get(list_grids))
        .route("/grids/{code}", get(grid_detail))
        .route("/grids/{code}/vulnerable", get(grid_vulnerable))
        .route("/grids/{code}/rounds", post(start_round))
        .route("/check-rounds", get(list_rounds))
        .route("/check-rounds/{id}", get(round_detail))
        .route("/check-rounds/{id}/checks", post(record_check))
        .route("/check-rounds/{id}/close", post(close_round))
        .route("/households", get(list_households).post(create_household))
        .route("/households/template.csv", get(household_template))
        .route("/households/import", post(import_households).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .route("/households/{id}", get(household_detail))
        .route("/households/{id}/vulnerable", post(add_vulnerable))
        .route("/vulnerable/{id}", get(vulnerable_detail))
        .route("/buildings/{id}", put(update_building).delete(delete_building))
        .route("/responders/{id}", put(update_responder).delete(delete_responder))
        .route("/boundaries/import", post(import_boundaries).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .route("/boundaries/export", get(export_boundaries))
}

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(list_grids, grid_detail, grid_vulnerable, start_round, list_rounds, round_detail, record_check, close_round,
          list_households, create_household, household_template, import_households, household_detail, add_vulnerable,
          vulnerable_detail, import_boundaries, export_boundaries, update_building, delete_building, update_responder,
          delete_responder),
    components(schemas(StartRound, RecordCheck, HouseholdBody, VulnerableBody, BuildingBody, ResponderBody)),
    tags((name = "grids", description = "网格与基础数据 / Grids and base data"))
)]
pub struct GridsApi;

fn err(lang: Lang) -> impl Fn(tongxin_app::AppError) -> ApiError {
    move |err| ApiError { err, lang }
}

fn to_json<T: serde::Serialize>(v: &T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// Grid list parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct GridListParams {
    /// Division code of a subtree (default: your jurisdiction).
    pub within: Option<String>,
    /// Grid code after which to start (the previous page's `next_cursor`).
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
}

/// Grids with counts (buildings, households, vulnerable residents, open round).
#[utoipa::path(get, path = "/api/v1/grids", tag = "grids", params(GridListParams),
    responses((status = 200, description = "`{items: [...], next_cursor}`"), (status = 403, body = Problem)))]
pub async fn list_grids(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(q): ApiQuery<GridListParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = tongxin_domain::page::clamp_limit(q.limit) as i64;
    let items = st
        .app
        .grid_list(&u.authed.actor, q.within.as_deref(), q.cursor.as_deref().unwrap_or(""), limit)
        .await
        .map_err(err(u.ctx.lang))?;
    let next = if items.len() as i64 == limit { items.last().map(|g| g.code.clone()) } else { None };
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

/// One grid: boundary, buildings in route order, responders, vulnerable residents (masked), rounds.
#[utoipa::path(get, path = "/api/v1/grids/{code}", tag = "grids", params(("code" = String, Path, description = "15-digit grid code")),
    responses((status = 200, description = "Grid detail"), (status = 404, body = Problem)))]
pub async fn grid_detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = st.app.grid_detail(&u.authed.actor, &code).await.map_err(err(u.ctx.lang))?;
    Ok(to_json(&d))
}

/// The grid's vulnerable residents in door-to-door check order (life support first, then by route).
#[utoipa::path(get, path = "/api/v1/grids/{code}/vulnerable", tag = "grids", params(("code" = String, Path, description = "grid code")),
    responses((status = 200, description = "`{items: [...]}` in check order"), (status = 404, body = Problem)))]
pub async fn grid_vulnerable(
    State(st): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let v = st.app.vulnerable_in_grid(&u.authed.actor, &code).await.map_err(err(u.ctx.lang))?;
    Ok(Json(json!({ "items": v })))
}

/// Body of a new check round.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StartRound {
    /// What the round is for (e.g. 台风“梅花”入户走访).
    #[serde(default)]
    pub title: String,
}

/// Starts a door-to-door check round on a grid (one open round per grid).
#[utoipa::path(post, path = "/api/v1/grids/{code}/rounds", tag = "grids", params(("code" = String, Path, description = "grid code")),
    request_body = StartRound,
    responses((status = 201, description = "`{id}`"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn start_round(
    State(st): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<StartRound>,
) -> Result<Response, ApiError> {
    let id = st.app.start_round(&u.authed.actor, &u.ctx, &code, &b.title).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// Round list parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RoundListParams {
    /// Division code of a subtree (default: your jurisdiction).
    pub within: Option<String>,
    /// Only open rounds.
    pub open: Option<bool>,
    /// At most this many (default 50).
    pub limit: Option<u32>,
}

/// Check rounds with progress, newest first.
#[utoipa::path(get, path = "/api/v1/check-rounds", tag = "grids", params(RoundListParams),
    responses((status = 200, description = "`{items: [...]}`"), (status = 403, body = Problem)))]
pub async fn list_rounds(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(q): ApiQuery<RoundListParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = tongxin_domain::page::clamp_limit(q.limit) as i64;
    let items = st
        .app
        .round_list(&u.authed.actor, q.within.as_deref(), q.open.unwrap_or(false), limit)
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(Json(json!({ "items": items })))
}

/// A round: progress and each person's latest status, in check order.
#[utoipa::path(get, path = "/api/v1/check-rounds/{id}", tag = "grids", params(("id" = i64, Path, description = "round id")),
    responses((status = 200, description = "Round with items"), (status = 404, body = Problem)))]
pub async fn round_detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let v = st.app.round_view(&u.authed.actor, id).await.map_err(err(u.ctx.lang))?;
    Ok(to_json(&v))
}

/// One visit.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RecordCheck {
    /// Vulnerable person id.
    pub person_id: i64,
    /// `checked`, `needs_help` or `unreachable`.
    pub status: String,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Records (or corrects) one visit; `needs_help` notifies the community workers.
#[utoipa::path(post, path = "/api/v1/check-rounds/{id}/checks", tag = "grids", params(("id" = i64, Path, description = "round id")),
    request_body = RecordCheck,
    responses((status = 200, description = "Progress `{total, checked, needs_help, unreachable}`"), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_check(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RecordCheck>,
) -> Result<Json<Value>, ApiError> {
    let p = st
        .app
        .record_check(&u.authed.actor, &u.ctx, id, b.person_id, &b.status, &b.note)
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(to_json(&p))
}

/// Closes a round.
#[utoipa::path(post, path = "/api/v1/check-rounds/{id}/close", tag = "grids", params(("id" = i64, Path, description = "round id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn close_round(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    st.app.close_round(&u.authed.actor, &u.ctx, id).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Household list parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct HouseholdParams {
    /// Division code of a subtree.
    pub within: Option<String>,
    /// Grid code.
    pub grid: Option<String>,
    /// Building id.
    pub building: Option<i64>,
    /// Only households with a vulnerable member.
    pub vulnerable: Option<bool>,
    /// Address contains.
    pub q: Option<String>,
    /// Id after which to start (the previous page's `next_cursor`).
    pub cursor: Option<i64>,
    /// Page size, 1–500.
    pub limit: Option<u32>,
}

/// Households (names masked, phones never in lists).
#[utoipa::path(get, path = "/api/v1/households", tag = "grids", params(HouseholdParams),
    responses((status = 200, description = "`{items, next_cursor}`"), (status = 403, body = Problem)))]
pub async fn list_households(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(q): ApiQuery<HouseholdParams>,
) -> Result<Json<Value>, ApiError> {
    let e = err(u.ctx.lang);
    let a = &u.authed.actor;
    let within = match q.within.as_deref().filter(|w| !w.is_empty()) {
        Some(code) => {
            let d = st.app.store.division(code).await.map_err(|_| tongxin_app::AppError::NotFound).map_err(&e)?;
            if !a.covers(&d.path) {
                return Err(e(tongxin_app::AppError::NotFound));
            }
            Some(d.path)
        }
        None => None,
    };
    let limit = tongxin_domain::page::clamp_limit(q.limit) as i64;
    let f = HouseholdFilter {
        within,
        grid: q.grid.clone().filter(|g| !g.is_empty()),
        building: q.building,
        vulnerable_only: q.vulnerable.unwrap_or(false),
        q: q.q.clone(),
        after_id: q.cursor.unwrap_or(0),
        limit,
    };
    let items = st.app.household_list(a, &f).await.map_err(&e)?;
    let next = if items.len() as i64 == limit { items.last().map(|h| h.id) } else { None };
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

/// A household as entered (see the app's `HouseholdForm`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct HouseholdBody {
    /// Grid code (optional: found from the location).
    pub grid_code: Option<String>,
    /// Building id (optional: found from the address).
    pub building_id: Option<i64>,
    /// Address.
    pub address: String,
    /// Floor.
    pub floor: Option<i64>,
    /// Members (1–50).
    pub members: i64,
    /// Householder's name.
    #[serde(default)]
    pub head_name: String,
    /// Contact phone (stored encrypted).
    #[serde(default)]
    pub contact_phone: String,
    /// WGS-84 longitude (optional: the address is matched to known buildings).
    pub lon: Option<f64>,
    /// WGS-84 latitude.
    pub lat: Option<f64>,
}

/// Registers a household; without coordinates the address is matched to a known building.
#[utoipa::path(post, path = "/api/v1/households", tag = "grids", request_body = HouseholdBody,
    responses((status = 201, description = "`{id}`"), (status = 422, body = Problem)))]
pub async fn create_household(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<HouseholdBody>,
) -> Result<Response, ApiError> {
    let f = HouseholdForm {
        grid_code: b.grid_code,
        building_id: b.building_id,
        address: b.address,
        floor: b.floor,
        members: b.members,
        head_name: b.head_name,
        contact_phone: b.contact_phone,
        lon: b.lon,
        lat: b.lat,
    };
    let id = st.app.create_household(&u.authed.actor, &u.ctx, &f).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// Unmask switch.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct UnmaskParams {
    /// Show names and phones in full (permission needed; audited).
    pub unmask: Option<bool>,
}

/// One household with its vulnerable members.
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "grids", params(("id" = i64, Path, description = "household id"), UnmaskParams),
    responses((status = 200, description = "Household"), (status = 404, body = Problem)))]
pub async fn household_detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<UnmaskParams>,
) -> Result<Json<Value>, ApiError> {
    let v = st
        .app
        .household_detail(&u.authed.actor, &u.ctx, id, q.unmask.unwrap_or(false))
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(to_json(&v))
}

/// A vulnerable member.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VulnerableBody {
    /// Name.
    pub name: String,
    /// `elderly_alone`, `disabled`, `chronic`, `bedridden`, `pregnant`, `child_no_carer` (or Chinese label).
    pub kind: String,
    /// Needs: `dialysis`, `oxygen`, `wheelchair`, `medication`, `cognitive` (comma separated).
    #[serde(default)]
    pub needs: String,
    /// Care note.
    #[serde(default)]
    pub note: String,
}

/// Adds a vulnerable member to a household.
#[utoipa::path(post, path = "/api/v1/households/{id}/vulnerable", tag = "grids", params(("id" = i64, Path, description = "household id")),
    request_body = VulnerableBody,
    responses((status = 201, description = "`{id}`"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_vulnerable(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<VulnerableBody>,
) -> Result<Response, ApiError> {
    let f = VulnerableForm { name: b.name, kind: b.kind, needs: b.needs, note: b.note };
    let pid = st.app.add_vulnerable(&u.authed.actor, &u.ctx, id, &f).await.map_err(err(u.ctx.lang))?;
    Ok((StatusCode::CREATED, Json(json!({ "id": pid }))).into_response())
}

/// One vulnerable resident.
#[utoipa::path(get, path = "/api/v1/vulnerable/{id}", tag = "grids", params(("id" = i64, Path, description = "person id"), UnmaskParams),
    responses((status = 200, description = "Person"), (status = 404, body = Problem)))]
pub async fn vulnerable_detail(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<UnmaskParams>,
) -> Result<Json<Value>, ApiError> {
    let v = st
        .app
        .vulnerable_detail(&u.authed.actor, &u.ctx, id, q.unmask.unwrap_or(false))
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(to_json(&v))
}

/// The household import template (CSV, UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v1/households/template.csv", tag = "grids", responses((status = 200, content_type = "text/csv")))]
pub async fn household_template() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"households-template.csv\""),
        ],
        household_template_csv(),
    )
        .into_response()
}

/// Import switches.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ImportParams {
    /// Check only.
    pub dry_run: Option<bool>,
    /// Datum of a boundary file: `wgs84` (default), `gcj02`, `bd09`.
    pub datum: Option<String>,
}

/// Imports households from .xlsx or .csv (body is the file). All or nothing: any bad row saves
/// nothing and every bad row is reported.
#[utoipa::path(post, path = "/api/v1/households/import", tag = "grids", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The .xlsx or .csv file"),
    responses((status = 200, description = "`{total, created, errors, saved}`"), (status = 422, body = Problem)))]
pub async fn import_households(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(q): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let r = st
        .app
        .import_households(&u.authed.actor, &u.ctx, &body, q.dry_run.unwrap_or(false))
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(to_json(&r))
}

/// Imports boundaries from GeoJSON (body): each feature's `properties.code` names a division
/// or grid. Validated (self-intersection, swapped lon/lat, overlapping grids in one community);
/// any error saves nothing. `dry_run=true` previews.
#[utoipa::path(post, path = "/api/v1/boundaries/import", tag = "grids", params(ImportParams),
    request_body(content = String, content_type = "application/geo+json", description = "GeoJSON FeatureCollection"),
    responses((status = 200, description = "`{total, items, errors, warnings, saved}`"), (status = 422, body = Problem)))]
pub async fn import_boundaries(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(q): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let e = err(u.ctx.lang);
    let text = std::str::from_utf8(&body).map_err(|_| {
        e(tongxin_app::invalid("file", "file.encoding", "GeoJSON 须为 UTF-8 编码", "GeoJSON must be UTF-8"))
    })?;
    let r = st
        .app
        .import_boundaries(
            &u.authed.actor,
            &u.ctx,
            text,
            q.datum.as_deref().unwrap_or("wgs84"),
            q.dry_run.unwrap_or(false),
        )
        .await
        .map_err(&e)?;
    Ok(to_json(&r))
}

/// Export parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExportParams {
    /// Division code of a subtree (default: your jurisdiction).
    pub within: Option<String>,
    /// Level: `district`, `street`, `community`, `grid`.
    pub level: Option<String>,
}

/// Boundaries as a GeoJSON FeatureCollection (WGS-84).
#[utoipa::path(get, path = "/api/v1/boundaries/export", tag = "grids", params(ExportParams),
    responses((status = 200, content_type = "application/geo+json"), (status = 404, body = Problem)))]
pub async fn export_boundaries(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let v = st
        .app
        .export_boundaries(&u.authed.actor, q.within.as_deref(), q.level.as_deref())
        .await
        .map_err(err(u.ctx.lang))?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], v.to_string()).into_response())
}

/// A building's editable fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BuildingBody {
    /// Short name (`3幢`).
    pub name: String,
    /// Full address.
    pub address: String,
    /// Floors above ground (1–200).
    pub floors: i64,
    /// `residential`, `mixed`, `house`, `public` (or Chinese label).
    pub kind: String,
    /// WGS-84 longitude, inside the grid's boundary.
    pub lon: f64,
    /// WGS-84 latitude.
    pub lat: f64,
    /// Position on the door-to-door route (unchanged when absent).
    pub route_seq: Option<i64>,
}

/// Edits a building (within your jurisdiction; audited).
#[utoipa::path(put, path = "/api/v1/buildings/{id}", tag = "grids", params(("id" = i64, Path, description = "building id")),
    request_body = BuildingBody,
    responses((status = 204, description = "Saved"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_building(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<BuildingBody>,
) -> Result<StatusCode, ApiError> {
    let f = tongxin_app::grids::buildings::BuildingForm {
        name: b.name,
        address: b.address,
        floors: b.floors,
        kind: b.kind,
        lon: b.lon,
        lat: b.lat,
        route_seq: b.route_seq,
    };
    st.app.update_building(&u.authed.actor, &u.ctx, id, &f).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a building that has no households (within your jurisdiction; audited).
#[utoipa::path(delete, path = "/api/v1/buildings/{id}", tag = "grids", params(("id" = i64, Path, description = "building id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_building(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    st.app.delete_building(&u.authed.actor, &u.ctx, id).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A local responder's editable fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResponderBody {
    /// `grid_worker`, `party_member`, `building_head` (or Chinese label).
    pub kind: String,
    /// New name; empty or absent keeps the stored one.
    #[serde(default)]
    pub name: String,
    /// New phone; empty or absent keeps the stored one.
    #[serde(default)]
    pub phone: String,
    /// Responsibility zone.
    #[serde(default)]
    pub zone: String,
    /// Ids of the buildings covered (in the responder's grid).
    #[serde(default)]
    pub buildings: Vec<i64>,
}

/// Edits a local responder (grid worker, party member, building head; audited).
#[utoipa::path(put, path = "/api/v1/responders/{id}", tag = "grids", params(("id" = i64, Path, description = "responder id")),
    request_body = ResponderBody,
    responses((status = 204, description = "Saved"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_responder(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ResponderBody>,
) -> Result<StatusCode, ApiError> {
    let f = tongxin_app::grids::buildings::ResponderForm {
        kind: b.kind,
        name: b.name,
        phone: b.phone,
        zone: b.zone,
        buildings: b.buildings,
    };
    st.app.update_responder(&u.authed.actor, &u.ctx, id, &f).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a local responder from the grid (within your jurisdiction; audited).
#[utoipa::path(delete, path = "/api/v1/responders/{id}", tag = "grids", params(("id" = i64, Path, description = "responder id")),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn delete_responder(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    st.app.delete_responder(&u.authed.actor, &u.ctx, id).await.map_err(err(u.ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}
