//! JSON API of incidents, mobilisation, tasks and dispatch (capabilities B, C, D).
//!
//! Reports come from any account or an integration token (`Authorization: Bearer`, recorded as
//! source `api`). Every read is scoped; by-id reads outside the caller's scope answer 404.

use super::{ApiJson, ApiQuery};
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tongxin_app::incidents::{IncidentForm, Pick, TaskForm};
use tongxin_app::AppError;
use tongxin_store::incidents::{IncidentFilter, Plan, Sitrep};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// Routes (mounted under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list).post(report))
        .route("/incidents/{id}", get(detail))
        .route("/incidents/{id}/duplicates", get(duplicates))
        .route("/incidents/{id}/merge", post(merge))
        .route("/incidents/{id}/level", post(level))
        .route("/incidents/{id}/phase", post(phase))
        .route("/incidents/{id}/notes", post(note))
        .route("/incidents/{id}/sitreps", post(sitrep))
        .route("/incidents/{id}/mobilisations", get(incident_mobilisations))
        .route("/mobilisations", get(my_mobilisations))
        .route("/mobilisations/{id}/answer", post(answer_mobilisation))
        .route("/mobilisation-plans", get(plans).post(create_plan))
        .route("/tasks", get(tasks).post(create_task))
        .route("/tasks/{id}", get(task_detail))
        .route("/tasks/{id}/proposal", get(proposal))
        .route("/tasks/{id}/dispatch", post(dispatch))
        .route("/dispatch/propose", post(mass_propose))
        .route("/dispatch/confirm", post(confirm))
        .route("/assignments/{id}/{action}", post(assignment_action))
        .route("/my/assignments", get(my_assignments))
        .route("/my/hours", get(my_hours))
        .route("/hours/{id}", put(edit_hours))
        .route("/kpi/districts", get(kpi_districts))
        .route("/kpi/organizations", get(kpi_orgs))
        .route("/map/features", get(map_features))
}

/// OpenAPI paths of this module (merged into the document).
#[derive(OpenApi)]
#[openapi(
    paths(list, report, detail, duplicates, merge, level, phase, note, sitrep, incident_mobilisations, my_mobilisations,
          answer_mobilisation, plans, create_plan, tasks, create_task, task_detail, proposal, dispatch, mass_propose,
          confirm, assignment_action, my_assignments, my_hours, edit_hours, kpi_districts, kpi_orgs, map_features),
    components(schemas(ReportBody, LevelBody, MergeBody, PhaseBody, NoteBody, SitrepBody, AnswerBody, PlanBody, TaskBody,
                       ProposeBody, PickBody, CheckInBody, HoursBody)),
    tags((name = "incidents", description = "突发事件、分级动员与任务派发 / Incidents, mobilisation and dispatch"))
)]
pub struct IncidentsApi;

fn e(lang: tongxin_domain::Lang) -> impl Fn(AppError) -> ApiError {
    move |err| ApiError { err, lang }
}

type R<T> = Result<Json<T>, ApiError>;

/// List filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Category key.
    pub category: Option<String>,
    /// `open`, `merged`, `closed`.
    pub state: Option<String>,
    /// Division subtree code.
    pub division: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Incidents in the caller's jurisdiction, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, description = "{items, next_cursor}"), (status = 400, body = Problem)))]
pub async fn list(State(st): State<AppState>, u: ApiUser, ApiQuery(q): ApiQuery<ListQuery>) -> R<serde_json::Value> {
    let e = e(u.ctx.lang);
    let within = super::orgs::within_of(&st.app, &u.authed.actor, q.division.as_deref()).await.map_err(&e)?;
    let before_id = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| e(tongxin_app::invalid("cursor", "cursor", "分页游标无效", "Invalid cursor")))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let f = IncidentFilter { category: q.category, state: q.state, within, limit, before_id };
    let items = st.app.incidents_for(&u.authed.actor, &f).await.map_err(&e)?;
    let next = if items.len() as i64 == limit { items.last().map(|i| i.id.to_string()) } else { None };
    Ok(Json(serde_json::json!({"items": items, "next_cursor": next})))
}

/// A report.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportBody {
    /// Title.
    pub title: String,
    /// `natural`, `accident`, `health`, `social`.
    pub category: String,
    /// Sub-type key of the category.
    pub subtype: String,
    /// 1–4 (I–IV); 0 only for social security.
    pub severity: i64,
    /// WGS-84 longitude.
    pub lon: f64,
    /// WGS-84 latitude.
    pub lat: f64,
    /// Affected radius (m).
    #[serde(default)]
    pub radius_m: i64,
    /// Division code of the place (default: the caller's).
    #[serde(default)]
    pub division_code: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// Reports an incident; answers with the id and possible duplicates.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = ReportBody,
    responses((status = 201, description = "{id, duplicates}"), (status = 422, body = Problem)))]
pub async fn report(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<ReportBody>,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), ApiError> {
    let source = if u.authed.session_token.is_some() { "web" } else { "api" };
    let f = IncidentForm {
        title: b.title,
        category: b.category,
        subtype: b.subtype,
        severity: b.severity,
        lon: b.lon,
        lat: b.lat,
        radius_m: b.radius_m,
        division_code: b.division_code,
        description: b.description,
    };
    let r = st.app.report_incident(&u.authed.actor, &u.ctx, &f, source).await.map_err(e(u.ctx.lang))?;
    Ok((axum::http::StatusCode::CREATED, Json(serde_json::json!(r))))
}

/// An incident with reporters, timeline, sitreps, 1-3-5-10, notices and tasks.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, description = "incident detail"), (status = 404, body = Problem)))]
pub async fn detail(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> R<serde_json::Value> {
    let e = e(u.ctx.lang);
    let a = &u.authed.actor;
    let i = st.app.incident_for(a, id).await.map_err(&e)?;
    let reader = st.app.store.reader();
    let reporters = tongxin_store::incidents::reporters(reader, id).await.map_err(|x| e(x.into()))?;
    let timeline = tongxin_store::incidents::timeline(reader, id).await.map_err(|x| e(x.into()))?;
    let sitreps = tongxin_store::incidents::sitreps(reader, id).await.map_err(|x| e(x.into()))?;
    let mobs = st.app.mobilisations_of(a, id).await.map_err(&e)?;
    let tasks = if a.covers(&i.division_path) { st.app.tasks_for(a, Some(id)).await.map_err(&e)? } else { vec![] };
    let kpi = tongxin_app::incidents::kpi_of(&i, tongxin_store::now_ms());
    Ok(Json(serde_json::json!({
        "incident": i, "reporters": reporters, "timeline": timeline, "sitreps": sitreps,
        "mobilisations": mobs, "tasks": tasks, "kpi": kpi
    })))
}

/// Possible duplicates (same category, within 1 km and 6 h).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/duplicates", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, description = "incidents"), (status = 404, body = Problem)))]
pub async fn duplicates(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> R<serde_json::Value> {
    let v = st.app.duplicates_for(&u.authed.actor, id).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// Merge target.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeBody {
    /// The incident this one is merged into.
    pub into: i64,
}

/// Merges this incident into another (reporters and timelines are kept).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "incidents", params(("id" = i64, Path)), request_body = MergeBody,
    responses((status = 200, description = "merged"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn merge(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MergeBody>,
) -> R<serde_json::Value> {
    st.app.merge_incident(&u.authed.actor, &u.ctx, id, b.into).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"merged": id, "into": b.into})))
}

/// New response level.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LevelBody {
    /// 1 (highest) – 4; 0 ends the response.
    pub level: i64,
}

/// Raises or lowers the response level; raising mobilises at once, lowering stands down.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/level", tag = "incidents", params(("id" = i64, Path)), request_body = LevelBody,
    responses((status = 200, description = "{notified, stood_down}"), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn level(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<LevelBody>,
) -> R<serde_json::Value> {
    let (n, d) = st.app.set_response_level(&u.authed.actor, &u.ctx, id, b.level).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"notified": n, "stood_down": d})))
}

/// Lifecycle phase.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PhaseBody {
    /// `prevention`, `warning`, `response`, `recovery`.
    pub phase: String,
}

/// Sets the lifecycle phase.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/phase", tag = "incidents", params(("id" = i64, Path)), request_body = PhaseBody,
    responses((status = 200, description = "ok"), (status = 422, body = Problem)))]
pub async fn phase(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PhaseBody>,
) -> R<serde_json::Value> {
    st.app.set_incident_phase(&u.authed.actor, &u.ctx, id, &b.phase).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"phase": b.phase})))
}

/// A timeline note.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteBody {
    /// Text.
    pub text: String,
}

/// Adds a manual timeline entry.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", params(("id" = i64, Path)), request_body = NoteBody,
    responses((status = 200, description = "`{ok, id}`: the timeline entry's id"), (status = 422, body = Problem)))]
pub async fn note(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<NoteBody>,
) -> R<serde_json::Value> {
    let entry = st.app.add_incident_note(&u.authed.actor, &u.ctx, id, &b.text).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"ok": true, "id": entry})))
}

/// A situation report.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct SitrepBody {
    /// Deaths.
    #[serde(default)]
    pub deaths: i64,
    /// Injured.
    #[serde(default)]
    pub injured: i64,
    /// Missing.
    #[serde(default)]
    pub missing: i64,
    /// People affected.
    #[serde(default)]
    pub affected: i64,
    /// Responders deployed.
    #[serde(default)]
    pub deployed: i64,
    /// Text.
    #[serde(default)]
    pub body: String,
}

/// Writes a sitrep.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/sitreps", tag = "incidents", params(("id" = i64, Path)), request_body = SitrepBody,
    responses((status = 200, description = "{id}"), (status = 422, body = Problem)))]
pub async fn sitrep(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SitrepBody>,
) -> R<serde_json::Value> {
    let s = Sitrep {
        deaths: b.deaths,
        injured: b.injured,
        missing: b.missing,
        affected: b.affected,
        deployed: b.deployed,
        body: b.body,
        ..Default::default()
    };
    let sid = st.app.add_sitrep(&u.authed.actor, &u.ctx, id, &s).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"id": sid})))
}

/// Notices of an incident and their answers.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/mobilisations", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, description = "notices"), (status = 404, body = Problem)))]
pub async fn incident_mobilisations(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> R<serde_json::Value> {
    let v = st.app.mobilisations_of(&u.authed.actor, id).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// Notices addressed to the caller's organisation.
#[utoipa::path(get, path = "/api/v1/mobilisations", tag = "incidents", responses((status = 200, description = "notices")))]
pub async fn my_mobilisations(State(st): State<AppState>, u: ApiUser) -> R<serde_json::Value> {
    let v = st.app.my_mobilisations(&u.authed.actor).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// An answer to a notice.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswerBody {
    /// Ready (true) or not available (false).
    pub ready: bool,
    /// People ready.
    #[serde(default)]
    pub people: i64,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Answers a notice (organisation admin).
#[utoipa::path(post, path = "/api/v1/mobilisations/{id}/answer", tag = "incidents", params(("id" = i64, Path)), request_body = AnswerBody,
    responses((status = 200, description = "ok"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn answer_mobilisation(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AnswerBody>,
) -> R<serde_json::Value> {
    st.app.answer_mobilisation(&u.authed.actor, &u.ctx, id, b.ready, b.people, &b.note).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"ok": true})))
}

/// A mobilisation plan.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanBody {
    /// Name.
    pub name: String,
    /// Category key.
    pub category: String,
    /// Sub-type key ('' = any).
    #[serde(default)]
    pub subtype: String,
    /// Response level 1–4.
    pub level: i64,
    /// Organisation domain or specialty keys called ('' = any).
    #[serde(default)]
    pub domains: Vec<String>,
    /// People wanted.
    pub people: i64,
    /// Radius (m).
    pub radius_m: i64,
    /// `standby` or `deploy`.
    pub mode: String,
}

/// Plans in the caller's jurisdiction.
#[utoipa::path(get, path = "/api/v1/mobilisation-plans", tag = "incidents", responses((status = 200, description = "plans")))]
pub async fn plans(State(st): State<AppState>, u: ApiUser) -> R<serde_json::Value> {
    let v = st.app.plans_for(&u.authed.actor).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// Creates a plan.
#[utoipa::path(post, path = "/api/v1/mobilisation-plans", tag = "incidents", request_body = PlanBody,
    responses((status = 201, description = "{id}"), (status = 422, body = Problem)))]
pub async fn create_plan(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<PlanBody>,
) -> R<serde_json::Value> {
    let p = Plan {
        id: 0,
        name: b.name,
        category: b.category,
        subtype: b.subtype,
        level: b.level,
        domains: b.domains.join(","),
        people: b.people,
        radius_m: b.radius_m,
        mode: b.mode,
        division_code: String::new(),
        division_path: String::new(),
    };
    let id = st.app.create_plan(&u.authed.actor, &u.ctx, &p).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"id": id})))
}

/// Task filter.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TaskQuery {
    /// Incident id.
    pub incident: Option<i64>,
}

/// Tasks in the caller's jurisdiction.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "incidents", params(TaskQuery), responses((status = 200, description = "tasks")))]
pub async fn tasks(State(st): State<AppState>, u: ApiUser, ApiQuery(q): ApiQuery<TaskQuery>) -> R<serde_json::Value> {
    let v = st.app.tasks_for(&u.authed.actor, q.incident).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// A task.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskBody {
    /// Incident (absent: stand-alone, e.g. a drill).
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Skill key ('' = any).
    #[serde(default)]
    pub skill: String,
    /// People (1–10000).
    pub head_count: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Check-in radius (m), default 300.
    #[serde(default)]
    pub geofence_m: Option<i64>,
    /// `routine`, `elevated`, `urgent` (default), `critical`.
    #[serde(default)]
    pub priority: Option<String>,
    /// Insurance required (default true).
    #[serde(default)]
    pub insurance_required: Option<bool>,
    /// Window start (unix ms).
    #[serde(default)]
    pub starts_at: Option<i64>,
    /// Window end (unix ms).
    #[serde(default)]
    pub ends_at: Option<i64>,
    /// Division code of the place.
    #[serde(default)]
    pub division_code: Option<String>,
}

/// Creates a task.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "incidents", request_body = TaskBody,
    responses((status = 201, description = "{id}"), (status = 422, body = Problem)))]
pub async fn create_task(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<TaskBody>,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), ApiError> {
    let f = TaskForm {
        incident_id: b.incident_id,
        title: b.title,
        skill: b.skill,
        head_count: b.head_count,
        lon: b.lon,
        lat: b.lat,
        geofence_m: b.geofence_m,
        priority: b.priority,
        insurance_required: b.insurance_required,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        division_code: b.division_code,
    };
    let id = st.app.create_task(&u.authed.actor, &u.ctx, &f).await.map_err(e(u.ctx.lang))?;
    Ok((axum::http::StatusCode::CREATED, Json(serde_json::json!({"id": id}))))
}

/// A task with its assignments.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, description = "{task, assignments}"), (status = 404, body = Problem)))]
pub async fn task_detail(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> R<serde_json::Value> {
    let e = e(u.ctx.lang);
    let t = st.app.task_for(&u.authed.actor, id).await.map_err(&e)?;
    let a = st.app.assignments_for(&u.authed.actor, id).await.map_err(&e)?;
    Ok(Json(serde_json::json!({"task": t, "assignments": a})))
}

/// The exact optimal proposal for the task's open slots (nothing saved).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/proposal", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, description = "proposal"), (status = 404, body = Problem)))]
pub async fn proposal(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> R<serde_json::Value> {
    let p = st.app.propose_task(&u.authed.actor, id).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(p)))
}

/// Proposes and offers at once (auto-offer).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/dispatch", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, description = "{offers}"), (status = 409, body = Problem)))]
pub async fn dispatch(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> R<serde_json::Value> {
    let n = st.app.dispatch_task(&u.authed.actor, &u.ctx, id).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"offers": n})))
}

/// Tasks to solve together.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProposeBody {
    /// Task ids.
    pub task_ids: Vec<i64>,
}

/// Mass mobilisation preview: the exact solve over many tasks' open slots.
#[utoipa::path(post, path = "/api/v1/dispatch/propose", tag = "incidents", request_body = ProposeBody,
    responses((status = 200, description = "proposal"), (status = 404, body = Problem)))]
pub async fn mass_propose(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<ProposeBody>,
) -> R<serde_json::Value> {
    let p = st.app.propose_tasks(&u.authed.actor, &b.task_ids).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(p)))
}

/// One pick to confirm.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct PickBody {
    /// Task.
    pub task_id: i64,
    /// Volunteer.
    pub volunteer_id: i64,
    /// Distance (m) from the proposal.
    #[serde(default)]
    pub distance_m: u32,
}

/// Confirms picks as offers (all or nothing; a taken slot or responder → 409).
#[utoipa::path(post, path = "/api/v1/dispatch/confirm", tag = "incidents", request_body = Vec<PickBody>,
    responses((status = 200, description = "{offers}"), (status = 409, body = Problem)))]
pub async fn confirm(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<Vec<PickBody>>,
) -> R<serde_json::Value> {
    let picks: Vec<Pick> = b
        .into_iter()
        .map(|p| Pick { task_id: p.task_id, volunteer_id: p.volunteer_id, distance_m: p.distance_m })
        .collect();
    let ids = st.app.confirm_offers(&u.authed.actor, &u.ctx, &picks).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"offers": ids.len(), "ids": ids})))
}

/// A check-in position.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct CheckInBody {
    /// Longitude.
    #[serde(default)]
    pub lon: f64,
    /// Latitude.
    #[serde(default)]
    pub lat: f64,
}

/// `accept`, `decline`, `en-route`, `check-in` (body: lon, lat), `check-out`, `withdraw`.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/{action}", tag = "incidents",
    params(("id" = i64, Path), ("action" = String, Path)), request_body = Option<CheckInBody>,
    responses((status = 200, description = "ok"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn assignment_action(
    State(st): State<AppState>,
    u: ApiUser,
    Path((id, action)): Path<(i64, String)>,
    body: axum::body::Bytes,
) -> R<serde_json::Value> {
    let e = e(u.ctx.lang);
    let parsed: Result<CheckInBody, _> =
        if body.is_empty() { Ok(CheckInBody::default()) } else { serde_json::from_slice(&body) };
    let Ok(b) = parsed else {
        return Err(e(tongxin_app::invalid(
            "body",
            "json",
            "请求体须为 {lon, lat} JSON",
            "The body must be JSON {lon, lat}",
        )));
    };
    let (a, c) = (&u.authed.actor, &u.ctx);
    let out = match action.as_str() {
        "accept" => st.app.answer_offer(a, c, id, true).await.map(|_| serde_json::json!({"state": "accepted"})),
        "decline" => st.app.answer_offer(a, c, id, false).await.map(|_| serde_json::json!({"state": "declined"})),
        "en-route" => st.app.set_en_route(a, c, id).await.map(|_| serde_json::json!({"state": "en_route"})),
        "check-in" => st
            .app
            .check_in(a, c, id, b.lon, b.lat)
            .await
            .map(|d| serde_json::json!({"state": "on_scene", "distance_m": d.round()})),
        "check-out" => st.app.check_out(a, c, id).await.map(|m| serde_json::json!({"state": "done", "minutes": m})),
        "withdraw" => st.app.withdraw_assignment(a, c, id).await.map(|_| serde_json::json!({"state": "withdrawn"})),
        _ => Err(AppError::NotFound),
    };
    out.map(Json).map_err(&e)
}

/// The caller's assignments (volunteer) or its members' (organisation admin).
#[utoipa::path(get, path = "/api/v1/my/assignments", tag = "incidents", responses((status = 200, description = "[{assignment, task}]")))]
pub async fn my_assignments(State(st): State<AppState>, u: ApiUser) -> R<serde_json::Value> {
    let v = st.app.my_assignments(&u.authed.actor).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v
        .into_iter()
        .map(|(a, t)| serde_json::json!({"assignment": a, "task": t}))
        .collect::<Vec<_>>())))
}

/// Service hours (own, or the organisation's members').
#[utoipa::path(get, path = "/api/v1/my/hours", tag = "incidents", responses((status = 200, description = "hours")))]
pub async fn my_hours(State(st): State<AppState>, u: ApiUser) -> R<serde_json::Value> {
    let v = st.app.my_hours(&u.authed.actor).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// A correction of hours.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HoursBody {
    /// Minutes on duty.
    pub minutes: i64,
    /// Reason (required).
    pub reason: String,
}

/// Corrects hours (organisation admin, audited).
#[utoipa::path(put, path = "/api/v1/hours/{id}", tag = "incidents", params(("id" = i64, Path)), request_body = HoursBody,
    responses((status = 200, description = "ok"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn edit_hours(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<HoursBody>,
) -> R<serde_json::Value> {
    st.app.edit_hours(&u.authed.actor, &u.ctx, id, b.minutes, &b.reason).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"ok": true})))
}

/// 1-3-5-10 per district.
#[utoipa::path(get, path = "/api/v1/kpi/districts", tag = "incidents", responses((status = 200, description = "groups")))]
pub async fn kpi_districts(State(st): State<AppState>, u: ApiUser) -> R<serde_json::Value> {
    let v = st.app.kpi_by_district(&u.authed.actor).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// Response times per organisation.
#[utoipa::path(get, path = "/api/v1/kpi/organizations", tag = "incidents", responses((status = 200, description = "groups")))]
pub async fn kpi_orgs(State(st): State<AppState>, u: ApiUser) -> R<serde_json::Value> {
    let v = st.app.kpi_by_org(&u.authed.actor).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!(v)))
}

/// Map layers: incidents, tasks and available responders in the caller's jurisdiction (WGS-84;
/// the page converts to GCJ-02 only for Chinese basemaps).
#[utoipa::path(get, path = "/api/v1/map/features", tag = "incidents", responses((status = 200, description = "{incidents, tasks, responders}")))]
pub async fn map_features(State(st): State<AppState>, u: ApiUser) -> R<serde_json::Value> {
    let v = st.app.map_features(&u.authed.actor).await.map_err(e(u.ctx.lang))?;
    Ok(Json(v))
}
