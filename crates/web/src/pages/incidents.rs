//! Pages of incidents, mobilisation, tasks and dispatch (capabilities B, C, D).
//!
//! `/incidents` (list, map, report form), `/incidents/{id}` (command screen: level, notices
//! filling up live, tasks and dispatch, sitreps, timeline, 1-3-5-10), `/mobilisation` (an
//! organisation's notices and answers), `/my/tasks` (the volunteer's phone page: offers,
//! check-in/out, hours). Every page refreshes its live region on server-sent events
//! (`/static/incidents.js`; no inline script).

use super::{error_page, page_layout, render, Layout};
use crate::api::incident_photos::{read_multipart, MAX_BODY_BYTES};
use crate::session::{CsrfForm, PageUser};
use crate::AppState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tongxin_app::incidents::{IncidentForm, TaskForm};
use tongxin_domain::incidents::{self as rules, AssignState};
use tongxin_domain::Role;
use tongxin_store::incidents::{self as st, IncidentFilter};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list_page).post(report_submit).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
        .route("/incidents/{id}", get(detail_page))
        .route("/incidents/{id}/photos", post(photos_submit).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
        .route("/incidents/{id}/level", post(level_submit))
        .route("/incidents/{id}/phase", post(phase_submit))
        .route("/incidents/{id}/sitrep", post(sitrep_submit))
        .route("/incidents/{id}/merge", post(merge_submit))
        .route("/incidents/{id}/tasks", post(task_submit))
        .route("/tasks/{id}/dispatch", post(dispatch_submit))
        .route("/mobilisation", get(mobilisation_page))
        .route("/mobilisation/{id}/answer", post(answer_submit))
        .route("/my/tasks", get(my_tasks_page))
        .route("/my/assignments/{id}/{action}", post(assignment_submit))
        .route("/my/hours/{id}", post(hours_submit))
}

/// An incident row for templates.
pub struct IncRow {
    id: i64,
    title: String,
    category: String,
    subtype: String,
    severity: String,
    level: String,
    level_n: i64,
    phase: String,
    state: String,
    at: String,
    lon: f64,
    lat: f64,
}

fn inc_row(i: &st::Incident, zh: bool) -> IncRow {
    IncRow {
        id: i.id,
        title: i.title.clone(),
        category: rules::label(&rules::CATEGORIES, &i.category, zh),
        subtype: rules::subtype_label(&i.subtype, zh),
        severity: rules::severity_label(i.severity, zh).to_string(),
        level: rules::level_label(i.response_level, zh).to_string(),
        level_n: i.response_level,
        phase: rules::label(&rules::PHASES, &i.phase, zh),
        state: match (i.state.as_str(), zh) {
            ("open", true) => "处置中".into(),
            ("open", false) => "Open".into(),
            ("merged", true) => format!("已合并至 #{}", i.merged_into.unwrap_or(0)),
            ("merged", false) => format!("Merged into #{}", i.merged_into.unwrap_or(0)),
            (s, _) => s.to_string(),
        },
        at: super::beijing_time(i.reported_at),
        lon: i.lon,
        lat: i.lat,
    }
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage {
    l: Layout,
    rows: Vec<IncRow>,
    categories: Vec<(&'static str, String)>,
    subtypes: Vec<(&'static str, &'static str, String)>,
    may_report: bool,
    default_division: String,
    map_tiles: String,
    map_crs: String,
    map_attribution: String,
    error: Option<String>,
}

type Vocab = (Vec<(&'static str, String)>, Vec<(&'static str, &'static str, String)>);

fn vocab(zh: bool) -> Vocab {
    (
        rules::CATEGORIES.iter().map(|c| (c.0, if zh { c.1 } else { c.2 }.to_string())).collect(),
        rules::SUBTYPES.iter().map(|s| (s.0, s.1, if zh { s.2 } else { s.3 }.to_string())).collect(),
    )
}

async fn list_with(st: &AppState, u: &PageUser, error: Option<String>) -> Response {
    let l = page_layout(u, "/incidents");
    let a = &u.authed.actor;
    let zh = l.t.zh();
    let list = match st.app.incidents_for(a, &IncidentFilter { limit: 200, ..Default::default() }).await {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let (categories, subtypes) = vocab(zh);
    let page = ListPage {
        rows: list.iter().map(|i| inc_row(i, zh)).collect(),
        categories,
        subtypes,
        may_report: a.role != Role::Supervisor,
        default_division: a.division_code.clone().unwrap_or_else(|| tongxin_app::seed::DEMO_STREET.to_string()),
        map_tiles: st.cfg.map_tiles.clone(),
        map_crs: st.cfg.map_crs.clone(),
        map_attribution: st.cfg.map_attribution.clone(),
        error,
        l,
    };
    let status =
        if page.error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    (status, render(&page)).into_response()
}

async fn list_page(State(st): State<AppState>, u: PageUser) -> Response {
    list_with(&st, &u, None).await
}

#[derive(Deserialize)]
struct ReportForm {
    title: String,
    category: String,
    subtype: String,
    severity: String,
    lon: String,
    lat: String,
    #[serde(default)]
    radius_m: String,
    #[serde(default)]
    division_code: String,
    #[serde(default)]
    description: String,
}

fn num<T: std::str::FromStr + Default>(s: &str) -> T {
    s.trim().parse().unwrap_or_default()
}

fn messages(e: &tongxin_app::AppError, lang: tongxin_domain::Lang) -> Option<String> {
    match e {
        tongxin_app::AppError::Validation(fe) => {
            Some(fe.iter().map(|x| x.message(lang).to_string()).collect::<Vec<_>>().join("；"))
        }
        tongxin_app::AppError::Conflict(t) => Some(t.get(lang).to_string()),
        _ => None,
    }
}

/// A report: a multipart form with photos (the page's form), or a plain form without. Photos
/// are checked and re-encoded before the incident is written, so a refused photo leaves no
/// half-made report behind.
async fn report_submit(State(st): State<AppState>, u: PageUser, req: Request) -> Response {
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (f, uploads) = if multipart {
        let mut mp = match Multipart::from_request(req, &st).await {
            Ok(m) => m,
            Err(e) => return e.into_response(),
        };
        match read_multipart(&mut mp).await {
            Ok((fields, uploads)) => {
                if !csrf_ok(&u, &fields) {
                    return error_page(page_layout(&u, "/incidents"), &tongxin_app::AppError::Forbidden);
                }
                let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                let f = ReportForm {
                    title: get("title"),
                    category: get("category"),
                    subtype: get("subtype"),
                    severity: get("severity"),
                    lon: get("lon"),
                    lat: get("lat"),
                    radius_m: get("radius_m"),
                    division_code: get("division_code"),
                    description: get("description"),
                };
                (f, uploads)
            }
            Err(e) => return with_status(list_with(&st, &u, Some(e.message(u.ctx.lang))).await, e.status()),
        }
    } else {
        match CsrfForm::<ReportForm>::from_request(req, &st).await {
            Ok(CsrfForm(f)) => (f, vec![]),
            Err(r) => return r,
        }
    };
    let form = IncidentForm {
        title: f.title,
        category: f.category,
        subtype: f.subtype,
        severity: num(&f.severity),
        lon: f.lon.trim().parse().unwrap_or(f64::NAN),
        lat: f.lat.trim().parse().unwrap_or(f64::NAN),
        radius_m: num(&f.radius_m),
        division_code: Some(f.division_code).filter(|s| !s.trim().is_empty()),
        description: f.description,
    };
    let photos = match tongxin_app::incident_photos::clean_photos(uploads).await {
        Ok(p) => p,
        Err(e) => {
            let m = messages(&e, u.ctx.lang).unwrap_or_default();
            return list_with(&st, &u, Some(m)).await;
        }
    };
    let a = &u.authed.actor;
    match st.app.report_incident(a, &u.ctx, &form, "web").await {
        Ok(r) => {
            if let Err(e) = st.app.add_incident_photos(a, &u.ctx, r.id, &photos).await {
                return error_page(page_layout(&u, "/incidents"), &e);
            }
            Redirect::to(&format!("/incidents/{}", r.id)).into_response()
        }
        Err(e) => match messages(&e, u.ctx.lang) {
            Some(m) => list_with(&st, &u, Some(m)).await,
            None => error_page(page_layout(&u, "/incidents"), &e),
        },
    }
}

fn csrf_ok(u: &PageUser, fields: &[(String, String)]) -> bool {
    fields.iter().any(|(k, v)| k == "_csrf" && crate::session::constant_eq(v, &u.authed.csrf))
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

/// Photos added on the incident page (multipart form, several files).
async fn photos_submit(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>, mut mp: Multipart) -> Response {
    let read = read_multipart(&mut mp).await;
    if let Err(e) = st.app.may_add_incident_photos(&u.authed.actor, id).await {
        return error_page(page_layout(&u, &format!("/incidents/{id}")), &e);
    }
    let (fields, uploads) = match read {
        Ok(v) => v,
        Err(e) => return with_status(detail_with(&st, &u, id, Some(e.message(u.ctx.lang))).await, e.status()),
    };
    if !csrf_ok(&u, &fields) {
        return error_page(page_layout(&u, &format!("/incidents/{id}")), &tongxin_app::AppError::Forbidden);
    }
    let r = st.app.upload_incident_photos(&u.authed.actor, &u.ctx, id, uploads).await.map(|_| ());
    back_or_error(&st, &u, id, r).await
}

/// A photo on the incident page.
struct PhotoView {
    id: i64,
    name: String,
    width: i64,
    height: i64,
    who: String,
    at: String,
}

struct KpiRow {
    name: String,
    took: String,
    status: &'static str,
    class: &'static str,
}

struct MobRow {
    id: i64,
    org: String,
    mode: String,
    requested: i64,
    state_key: String,
    state: String,
    people: i64,
    km: String,
    note: String,
}

fn mob_state(s: &str, zh: bool) -> &'static str {
    match (s, zh) {
        ("notified", true) => "待答复",
        ("notified", false) => "Awaiting answer",
        ("ready", true) => "就绪",
        ("ready", false) => "Ready",
        ("unavailable", true) => "无法参加",
        ("unavailable", false) => "Not available",
        ("stood_down", true) => "已解除",
        (_, _) => "Stood down",
    }
}

fn mob_row(m: &st::Mobilisation, zh: bool) -> MobRow {
    MobRow {
        id: m.id,
        org: m.org_name.clone(),
        mode: rules::label(&rules::MODES, &m.mode, zh),
        requested: m.requested,
        state_key: m.state.clone(),
        state: mob_state(&m.state, zh).to_string(),
        people: m.answer_people,
        km: format!("{:.1}", m.distance_m as f64 / 1000.0),
        note: m.answer_note.clone(),
    }
}

struct AsgRow {
    id: i64,
    name: String,
    state_key: String,
    state: String,
    km: String,
    times: String,
}

fn asg_row(a: &st::Assignment, zh: bool) -> AsgRow {
    let mut times = vec![format!("{} {}", if zh { "邀请" } else { "offered" }, super::beijing_time(a.offered_at))];
    for (t, z, e) in [
        (a.answered_at, "答复", "answered"),
        (a.en_route_at, "出发", "en route"),
        (a.on_scene_at, "到场", "on scene"),
        (a.done_at, "完成", "done"),
    ] {
        if let Some(t) = t {
            times.push(format!("{} {}", if zh { z } else { e }, &super::beijing_time(t)[11..]));
        }
    }
    AsgRow {
        id: a.id,
        name: tongxin_domain::codes::mask_name(&a.volunteer_name),
        state_key: a.state.clone(),
        state: AssignState::from_key(&a.state).map_or_else(|| a.state.clone(), |s| s.label(zh).to_string()),
        km: format!("{:.1}", a.distance_m as f64 / 1000.0),
        times: times.join(" · "),
    }
}

struct TaskView {
    id: i64,
    title: String,
    skill: String,
    head_count: i64,
    live: usize,
    priority: String,
    assignments: Vec<AsgRow>,
}

struct TlRow {
    at: String,
    who: String,
    text: String,
    auto: bool,
}

#[derive(Template)]
#[template(path = "incident_detail.html")]
struct DetailPage {
    l: Layout,
    i: IncRow,
    description: String,
    division: String,
    radius_m: i64,
    reporters: Vec<String>,
    may_command: bool,
    kpis: Vec<KpiRow>,
    mobs: Vec<MobRow>,
    mob_ready: i64,
    mob_answered: usize,
    tasks: Vec<TaskView>,
    sitreps: Vec<st::Sitrep>,
    timeline: Vec<TlRow>,
    duplicates: Vec<IncRow>,
    phases: Vec<(&'static str, String)>,
    phase_key: String,
    skills: Vec<(&'static str, String)>,
    photos: Vec<PhotoView>,
    may_upload: bool,
    error: Option<String>,
}

async fn detail_with(st: &AppState, u: &PageUser, id: i64, error: Option<String>) -> Response {
    let l = page_layout(u, &format!("/incidents/{id}"));
    let a = &u.authed.actor;
    let zh = l.t.zh();
    let i = match st.app.incident_for(a, id).await {
        Ok(i) => i,
        Err(e) => return error_page(l, &e),
    };
    let covers = a.covers(&i.division_path);
    let may_command = covers && tongxin_app::incidents::COMMAND_ROLES.contains(&a.role);
    let reader = st.app.store.reader();
    let res = async {
        let reporters = st::reporters(reader, id).await?;
        let timeline = st::timeline(reader, id).await?;
        let sitreps = st::sitreps(reader, id).await?;
        Ok::<_, tongxin_store::StoreError>((reporters, timeline, sitreps))
    }
    .await;
    let (reporters, timeline, sitreps) = match res {
        Ok(v) => v,
        Err(e) => return error_page(l, &e.into()),
    };
    let mobs = match st.app.mobilisations_of(a, id).await {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let mut tasks = Vec::new();
    if covers {
        let list = match st.app.tasks_for(a, Some(id)).await {
            Ok(v) => v,
            Err(e) => return error_page(l, &e),
        };
        for t in list {
            let asg = st::assignments_of(reader, t.id).await.unwrap_or_default();
            tasks.push(TaskView {
                id: t.id,
                title: t.title.clone(),
                skill: if t.skill.is_empty() {
                    l.t.pick("不限", "Any").to_string()
                } else if zh {
                    tongxin_domain::fake::skill_label_zh(&t.skill).unwrap_or("").to_string()
                } else {
                    tongxin_domain::fake::skill_label_en(&t.skill).unwrap_or("").to_string()
                },
                head_count: t.head_count,
                live: asg.iter().filter(|x| AssignState::from_key(&x.state).is_some_and(|s| s.active())).count(),
                priority: rules::label(&rules::PRIORITIES, &t.priority, zh),
                assignments: asg.iter().map(|x| asg_row(x, zh)).collect(),
            });
        }
    }
    let duplicates = if may_command && i.state == "open" {
        st.app.duplicates_for(a, id).await.unwrap_or_default().iter().map(|d| inc_row(d, zh)).collect()
    } else {
        vec![]
    };
    let kpis = tongxin_app::incidents::kpi_of(&i, tongxin_store::now_ms())
        .iter()
        .zip(tongxin_domain::incidents::kpi::RULE)
        .map(|(m, r)| KpiRow {
            name: l.t.pick(r.2, r.3).to_string(),
            took: m.took_ms.map_or_else(|| "—".to_string(), |ms| format!("{}:{:02}", ms / 60_000, (ms / 1000) % 60)),
            status: if m.met {
                l.t.pick("达标", "met")
            } else if m.late {
                l.t.pick("超时", "late")
            } else {
                l.t.pick("进行中", "pending")
            },
            class: if m.met {
                "ok"
            } else if m.late {
                "late"
            } else {
                "pending"
            },
        })
        .collect();
    let division = st.app.store.division(&i.division_code).await.map(|d| d.name).unwrap_or_default();
    let photos = match st.app.incident_photos(a, id).await {
        Ok(v) => v
            .into_iter()
            .map(|p| PhotoView {
                id: p.id,
                name: p.name,
                width: p.width,
                height: p.height,
                who: p.username,
                at: super::beijing_time(p.at),
            })
            .collect(),
        Err(e) => return error_page(l, &e),
    };
    let page = DetailPage {
        photos,
        may_upload: a.role != Role::Supervisor,
        i: inc_row(&i, zh),
        description: i.description.clone(),
        division,
        radius_m: i.radius_m,
        reporters: reporters.iter().map(|r| format!("{} ({})", r.username, super::beijing_time(r.at))).collect(),
        may_command,
        kpis,
        mob_ready: mobs.iter().filter(|m| m.state == "ready").map(|m| m.answer_people).sum(),
        mob_answered: mobs.iter().filter(|m| m.state == "ready" || m.state == "unavailable").count(),
        mobs: mobs.iter().map(|m| mob_row(m, zh)).collect(),
        tasks,
        sitreps,
        timeline: timeline
            .iter()
            .rev()
            .map(|t| TlRow {
                at: super::beijing_time(t.at),
                who: t.username.clone(),
                text: if zh { t.text_zh.clone() } else { t.text_en.clone() },
                auto: t.auto,
            })
            .collect(),
        duplicates,
        phases: rules::PHASES.iter().map(|p| (p.0, if zh { p.1 } else { p.2 }.to_string())).collect(),
        phase_key: i.phase.clone(),
        skills: tongxin_domain::fake::SKILL_KEYS
            .iter()
            .map(|k| {
                (
                    *k,
                    if zh { tongxin_domain::fake::skill_label_zh(k) } else { tongxin_domain::fake::skill_label_en(k) }
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect(),
        error,
        l,
    };
    let status =
        if page.error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    (status, render(&page)).into_response()
}

async fn detail_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_with(&st, &u, id, None).await
}

async fn back_or_error(st: &AppState, u: &PageUser, id: i64, r: Result<(), tongxin_app::AppError>) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/incidents/{id}")).into_response(),
        Err(e) => match messages(&e, u.ctx.lang) {
            Some(m) => detail_with(st, u, id, Some(m)).await,
            None => error_page(page_layout(u, &format!("/incidents/{id}")), &e),
        },
    }
}

#[derive(Deserialize)]
struct LevelForm {
    level: String,
}

async fn level_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<LevelForm>,
) -> Response {
    let r = st.app.set_response_level(&u.authed.actor, &u.ctx, id, num(&f.level)).await.map(|_| ());
    back_or_error(&st, &u, id, r).await
}

#[derive(Deserialize)]
struct PhaseForm {
    phase: String,
}

async fn phase_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<PhaseForm>,
) -> Response {
    let r = st.app.set_incident_phase(&u.authed.actor, &u.ctx, id, &f.phase).await;
    back_or_error(&st, &u, id, r).await
}

#[derive(Deserialize)]
struct SitrepForm {
    #[serde(default)]
    deaths: String,
    #[serde(default)]
    injured: String,
    #[serde(default)]
    missing: String,
    #[serde(default)]
    affected: String,
    #[serde(default)]
    deployed: String,
    #[serde(default)]
    body: String,
}

async fn sitrep_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<SitrepForm>,
) -> Response {
    let bad = |s: &str| !s.trim().is_empty() && s.trim().parse::<i64>().is_err();
    if [&f.deaths, &f.injured, &f.missing, &f.affected, &f.deployed].iter().any(|s| bad(s)) {
        let m =
            if u.ctx.lang == tongxin_domain::Lang::Zh { "人数须为整数" } else { "Figures must be whole numbers" };
        return detail_with(&st, &u, id, Some(m.to_string())).await;
    }
    let s = st::Sitrep {
        deaths: num(&f.deaths),
        injured: num(&f.injured),
        missing: num(&f.missing),
        affected: num(&f.affected),
        deployed: num(&f.deployed),
        body: f.body,
        ..Default::default()
    };
    let r = st.app.add_sitrep(&u.authed.actor, &u.ctx, id, &s).await.map(|_| ());
    back_or_error(&st, &u, id, r).await
}

#[derive(Deserialize)]
struct MergeForm {
    dup: String,
}

async fn merge_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<MergeForm>,
) -> Response {
    let r = st.app.merge_incident(&u.authed.actor, &u.ctx, num(&f.dup), id).await;
    back_or_error(&st, &u, id, r).await
}

#[derive(Deserialize)]
struct NewTaskForm {
    title: String,
    #[serde(default)]
    skill: String,
    head_count: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    insurance: Option<String>,
    #[serde(default)]
    auto_offer: Option<String>,
}

async fn task_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<NewTaskForm>,
) -> Response {
    let inc = match st.app.incident_for(&u.authed.actor, id).await {
        Ok(i) => i,
        Err(e) => return error_page(page_layout(&u, "/incidents"), &e),
    };
    let coord = |s: &str, d: f64| if s.trim().is_empty() { d } else { s.trim().parse().unwrap_or(f64::NAN) };
    let form = TaskForm {
        incident_id: Some(id),
        title: f.title,
        skill: f.skill,
        head_count: f.head_count.trim().parse().unwrap_or(0),
        lon: coord(&f.lon, inc.lon),
        lat: coord(&f.lat, inc.lat),
        priority: Some(f.priority).filter(|p| !p.is_empty()),
        insurance_required: Some(f.insurance.is_some()),
        ..Default::default()
    };
    let r = async {
        let tid = st.app.create_task(&u.authed.actor, &u.ctx, &form).await?;
        if f.auto_offer.is_some() {
            st.app.dispatch_task(&u.authed.actor, &u.ctx, tid).await?;
        }
        Ok(())
    }
    .await;
    back_or_error(&st, &u, id, r).await
}

async fn dispatch_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_f): CsrfForm<Empty>,
) -> Response {
    let t = match st.app.task_for(&u.authed.actor, id).await {
        Ok(t) => t,
        Err(e) => return error_page(page_layout(&u, "/incidents"), &e),
    };
    let r = st.app.dispatch_task(&u.authed.actor, &u.ctx, id).await.map(|_| ());
    back_or_error(&st, &u, t.incident_id.unwrap_or(0), r).await
}

#[derive(Deserialize)]
struct Empty {}

#[derive(Template)]
#[template(path = "mobilisation.html")]
struct MobPage {
    l: Layout,
    rows: Vec<(MobRow, i64, String)>,
    error: Option<String>,
}

async fn mob_with(st: &AppState, u: &PageUser, error: Option<String>) -> Response {
    let l = page_layout(u, "/mobilisation");
    let zh = l.t.zh();
    let v = match st.app.my_mobilisations(&u.authed.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let mut rows = Vec::new();
    for m in &v {
        let title = st::get_incident(st.app.store.reader(), m.incident_id).await.map(|i| i.title).unwrap_or_default();
        rows.push((mob_row(m, zh), m.incident_id, title));
    }
    render(&MobPage { l, rows, error })
}

async fn mobilisation_page(State(st): State<AppState>, u: PageUser) -> Response {
    mob_with(&st, &u, None).await
}

#[derive(Deserialize)]
struct AnswerForm {
    answer: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    note: String,
}

async fn answer_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<AnswerForm>,
) -> Response {
    let ready = f.answer == "ready";
    match st.app.answer_mobilisation(&u.authed.actor, &u.ctx, id, ready, num(&f.people), &f.note).await {
        Ok(()) => Redirect::to("/mobilisation").into_response(),
        Err(e) => match messages(&e, u.ctx.lang) {
            Some(m) => mob_with(&st, &u, Some(m)).await,
            None => error_page(page_layout(&u, "/mobilisation"), &e),
        },
    }
}

struct MyRow {
    a: AsgRow,
    title: String,
    place: String,
    geofence_m: i64,
    expires: String,
}

struct HoursRow {
    id: i64,
    task: String,
    from: String,
    minutes: i64,
    reason: String,
}

#[derive(Template)]
#[template(path = "my_tasks.html")]
struct MyTasksPage {
    l: Layout,
    rows: Vec<MyRow>,
    hours: Vec<HoursRow>,
    total_minutes: i64,
    org_admin: bool,
    error: Option<String>,
}

async fn my_with(st: &AppState, u: &PageUser, error: Option<String>) -> Response {
    let l = page_layout(u, "/my/tasks");
    let zh = l.t.zh();
    let (v, h) = match (st.app.my_assignments(&u.authed.actor).await, st.app.my_hours(&u.authed.actor).await) {
        (Ok(v), Ok(h)) => (v, h),
        (Err(e), _) | (_, Err(e)) => return error_page(l, &e),
    };
    let rows = v
        .iter()
        .map(|(a, t)| MyRow {
            a: asg_row(a, zh),
            title: t.title.clone(),
            place: format!("{:.5}, {:.5}", t.lon, t.lat),
            geofence_m: t.geofence_m,
            expires: super::beijing_time(a.expires_at)[11..].to_string(),
        })
        .collect();
    let total_minutes = h.iter().map(|x| x.minutes).sum();
    let hours = h
        .iter()
        .map(|x| HoursRow {
            id: x.id,
            task: x.task_title.clone(),
            from: super::beijing_time(x.checkin_at),
            minutes: x.minutes,
            reason: x.edit_reason.clone(),
        })
        .collect();
    render(&MyTasksPage { l, rows, hours, total_minutes, org_admin: u.authed.actor.role == Role::OrgAdmin, error })
}

async fn my_tasks_page(State(st): State<AppState>, u: PageUser) -> Response {
    my_with(&st, &u, None).await
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
}

async fn assignment_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(f): CsrfForm<ActionForm>,
) -> Response {
    let (a, c) = (&u.authed.actor, &u.ctx);
    let r = match action.as_str() {
        "accept" => st.app.answer_offer(a, c, id, true).await,
        "decline" => st.app.answer_offer(a, c, id, false).await,
        "en-route" => st.app.set_en_route(a, c, id).await,
        "check-in" => st
            .app
            .check_in(a, c, id, f.lon.trim().parse().unwrap_or(f64::NAN), f.lat.trim().parse().unwrap_or(f64::NAN))
            .await
            .map(|_| ()),
        "check-out" => st.app.check_out(a, c, id).await.map(|_| ()),
        _ => Err(tongxin_app::AppError::NotFound),
    };
    match r {
        Ok(()) => Redirect::to("/my/tasks").into_response(),
        Err(e) => match messages(&e, u.ctx.lang) {
            Some(m) => my_with(&st, &u, Some(m)).await,
            None => error_page(page_layout(&u, "/my/tasks"), &e),
        },
    }
}

#[derive(Deserialize)]
struct HoursForm {
    minutes: String,
    reason: String,
}

async fn hours_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<HoursForm>,
) -> Response {
    match st.app.edit_hours(&u.authed.actor, &u.ctx, id, f.minutes.trim().parse().unwrap_or(-1), &f.reason).await {
        Ok(()) => Redirect::to("/my/tasks").into_response(),
        Err(e) => match messages(&e, u.ctx.lang) {
            Some(m) => my_with(&st, &u, Some(m)).await,
            None => error_page(page_layout(&u, "/my/tasks"), &e),
        },
    }
}
