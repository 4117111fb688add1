//! Grids and base data pages (capability H): the grid list with open check rounds (live), a
//! grid's map, vulnerable residents in check order, responders and buildings, the phone-sized
//! check-round page (record checked / needs help / unreachable; progress live for everyone
//! watching), and the boundary import with preview on the map.

use super::{beijing_time, error_page, page_layout, render, Layout};
use crate::session::{CsrfForm, PageUser};
use crate::AppState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tongxin_app::grids::boundaries::BoundaryReport;
use tongxin_app::grids::{GridDetail, RoundSummary, RoundView, VulnerableView};
use tongxin_app::AppError;
use tongxin_domain::grids::{BuildingKind, CheckStatus, Need, ResponderKind, VulnerableKind};
use tongxin_domain::Lang;
use tongxin_store::grids::GridSummary;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/grids", get(list_page))
        .route("/grids/rounds-live", get(open_rounds_partial))
        .route("/grids/boundaries", get(boundaries_page))
        .route(
            "/grids/boundaries",
            post(boundaries_submit).layer(DefaultBodyLimit::max(crate::api::grids::MAX_UPLOAD_BYTES)),
        )
        .route("/grids/rounds/{id}", get(round_page))
        .route("/grids/rounds/{id}/body", get(round_body))
        .route("/grids/rounds/{id}/check", post(round_check))
        .route("/grids/rounds/{id}/close", post(round_close))
        .route("/grids/{code}", get(grid_page))
        .route("/grids/{code}/rounds", post(round_start))
        .route("/grids/{code}/buildings/{id}", post(building_save))
        .route("/grids/{code}/buildings/{id}/delete", post(building_delete))
        .route("/grids/{code}/responders/{id}", post(responder_save))
        .route("/grids/{code}/responders/{id}/delete", post(responder_delete))
}

fn kind_label(lang: Lang, k: &str) -> String {
    VulnerableKind::parse(k)
        .map_or(k.to_string(), |v| if lang == Lang::Zh { v.label_zh() } else { v.label_en() }.into())
}

fn needs_label(lang: Lang, needs: &[String]) -> String {
    needs
        .iter()
        .filter_map(|n| Need::parse(n))
        .map(|n| if lang == Lang::Zh { n.label_zh() } else { n.label_en() })
        .collect::<Vec<_>>()
        .join(if lang == Lang::Zh { "、" } else { ", " })
}

fn status_label(lang: Lang, s: &str) -> String {
    CheckStatus::parse(s).map_or(s.to_string(), |v| if lang == Lang::Zh { v.label_zh() } else { v.label_en() }.into())
}

/// A vulnerable resident row for templates.
pub struct PersonRow {
    p: VulnerableView,
    kind: String,
    needs: String,
    status: String,
    status_label: String,
    by: String,
    at: String,
}

fn person_row(lang: Lang, p: VulnerableView, status: &str, by: &str, at: Option<i64>) -> PersonRow {
    PersonRow {
        kind: kind_label(lang, &p.kind),
        needs: needs_label(lang, &p.needs),
        status: status.to_string(),
        status_label: status_label(lang, status),
        by: by.to_string(),
        at: at.map(beijing_time).unwrap_or_default(),
        p,
    }
}

#[derive(Deserialize)]
struct ListQuery {
    within: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "grids_list.html")]
struct ListPage {
    l: Layout,
    grids: Vec<GridSummary>,
    rounds: Vec<RoundSummary>,
    next: Option<String>,
    within: String,
    may_import: bool,
}

#[derive(Template)]
#[template(path = "grids_open_rounds.html")]
struct OpenRounds {
    l: Layout,
    rounds: Vec<RoundSummary>,
}

async fn list_page(State(st): State<AppState>, u: PageUser, Query(q): Query<ListQuery>) -> Response {
    let l = page_layout(&u, "/grids");
    let a = &u.authed.actor;
    // A grid worker's jurisdiction is one grid: go straight to it.
    if a.division_code.as_deref().is_some_and(|c| c.len() == 15) && q.within.is_none() {
        return Redirect::to(&format!("/grids/{}", a.division_code.clone().unwrap_or_default())).into_response();
    }
    let grids = match st.app.grid_list(a, q.within.as_deref(), q.cursor.as_deref().unwrap_or(""), 50).await {
        Ok(g) => g,
        Err(e) => return error_page(l, &e),
    };
    let rounds = match st.app.round_list(a, q.within.as_deref(), true, 50).await {
        Ok(r) => r,
        Err(e) => return error_page(l, &e),
    };
    let within = q.within.clone().unwrap_or_default();
    let next = (grids.len() == 50)
        .then(|| grids.last().map(|g| format!("/grids?within={within}&cursor={}", g.code)))
        .flatten();
    let may_import = tongxin_app::grids::boundaries::IMPORT_ROLES.contains(&a.role);
    render(&ListPage { l, grids, rounds, next, within, may_import })
}

async fn open_rounds_partial(State(st): State<AppState>, u: PageUser) -> Response {
    let l = page_layout(&u, "/grids");
    match st.app.round_list(&u.authed.actor, None, true, 50).await {
        Ok(rounds) => render(&OpenRounds { l, rounds }),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "grids_detail.html")]
struct DetailPage {
    l: Layout,
    g: GridDetail,
    people: Vec<PersonRow>,
    responders: Vec<(String, tongxin_app::grids::ResponderView)>,
    buildings: Vec<(tongxin_store::grids::Building, String)>,
    map_json: String,
    synthetic: bool,
    may_round: bool,
    may_edit: bool,
    kinds: [(&'static str, &'static str); 4],
    responder_kinds: [(&'static str, &'static str); 3],
    error: Option<String>,
}

fn detail_page(st_lang: Lang, l: Layout, g: GridDetail, error: Option<String>) -> Response {
    let lang = st_lang;
    let people = g.vulnerable.iter().cloned().map(|p| person_row(lang, p, "pending", "", None)).collect();
    let responders = g
        .responders
        .iter()
        .cloned()
        .map(|r| {
            let k = ResponderKind::parse(&r.kind)
                .map_or(r.kind.clone(), |k| if lang == Lang::Zh { k.label_zh() } else { k.label_en() }.to_string());
            (k, r)
        })
        .collect();
    let buildings = g
        .buildings
        .iter()
        .cloned()
        .map(|b| {
            let k = BuildingKind::parse(&b.kind)
                .map_or(b.kind.clone(), |k| if lang == Lang::Zh { k.label_zh() } else { k.label_en() }.to_string());
            (b, k)
        })
        .collect();
    let map_json = serde_json::json!({
        "boundary": g.boundary.as_ref().and_then(|b| serde_json::from_str::<serde_json::Value>(&b.geometry).ok()),
        "buildings": g.buildings.iter().map(|b| serde_json::json!([b.lon, b.lat, b.name])).collect::<Vec<_>>(),
        "people": g.vulnerable.iter().map(|p| serde_json::json!([p.lon, p.lat, p.order])).collect::<Vec<_>>(),
    })
    .to_string();
    let synthetic = g.boundary.as_ref().is_some_and(|b| b.synthetic);
    let may_round = g.may.contains(&"round");
    let may_edit = g.may.contains(&"edit");
    let kinds = if lang == Lang::Zh {
        [("residential", "住宅"), ("mixed", "商住"), ("house", "平房"), ("public", "公共建筑")]
    } else {
        [("residential", "residential"), ("mixed", "mixed"), ("house", "house"), ("public", "public")]
    };
    let responder_kinds = [ResponderKind::GridWorker, ResponderKind::PartyMember, ResponderKind::BuildingHead]
        .map(|k| (k.key(), if lang == Lang::Zh { k.label_zh() } else { k.label_en() }));
    render(&DetailPage {
        l,
        people,
        responders,
        buildings,
        map_json,
        synthetic,
        may_round,
        may_edit,
        kinds,
        responder_kinds,
        error,
        g,
    })
}

async fn grid_page(State(st): State<AppState>, u: PageUser, Path(code): Path<String>) -> Response {
    let l = page_layout(&u, &format!("/grids/{code}"));
    match st.app.grid_detail(&u.authed.actor, &code).await {
        Ok(g) => detail_page(u.ctx.lang, l, g, None),
        Err(e) => error_page(l, &e),
    }
}

/// After an edit: back to the grid page, or the page again with the error (nothing saved).
async fn after_edit(st: &AppState, u: &PageUser, code: &str, r: Result<(), AppError>) -> Response {
    let l = page_layout(u, &format!("/grids/{code}"));
    match r {
        Ok(()) => Redirect::to(&format!("/grids/{code}")).into_response(),
        Err(e @ (AppError::Conflict(_) | AppError::Validation(_))) => {
            let status = if matches!(e, AppError::Conflict(_)) {
                axum::http::StatusCode::CONFLICT
            } else {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            };
            let p = crate::error::problem_for(&e, u.ctx.lang);
            let msg = match &e {
                AppError::Validation(errs) => errs
                    .iter()
                    .map(|f| if u.ctx.lang == Lang::Zh { f.message.zh.clone() } else { f.message.en.clone() })
                    .collect::<Vec<_>>()
                    .join("；"),
                _ => p.detail,
            };
            match st.app.grid_detail(&u.authed.actor, code).await {
                Ok(g) => (status, detail_page(u.ctx.lang, l, g, Some(msg))).into_response(),
                Err(e) => error_page(l, &e),
            }
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
struct BuildingEdit {
    name: String,
    address: String,
    floors: String,
    kind: String,
    lon: String,
    lat: String,
    #[serde(default)]
    route_seq: String,
}

/// A number field; unreadable text becomes a value the use case refuses with the field named.
fn num<T: std::str::FromStr>(s: &str, bad: T) -> T {
    s.trim().parse().unwrap_or(bad)
}

async fn building_save(
    State(st): State<AppState>,
    u: PageUser,
    Path((code, id)): Path<(String, i64)>,
    CsrfForm(f): CsrfForm<BuildingEdit>,
) -> Response {
    let form = tongxin_app::grids::buildings::BuildingForm {
        name: f.name,
        address: f.address,
        floors: num(&f.floors, 0),
        kind: f.kind,
        lon: num(&f.lon, f64::NAN),
        lat: num(&f.lat, f64::NAN),
        route_seq: f.route_seq.trim().parse().ok(),
    };
    let r = st.app.update_building(&u.authed.actor, &u.ctx, id, &form).await;
    after_edit(&st, &u, &code, r).await
}

async fn building_delete(
    State(st): State<AppState>,
    u: PageUser,
    Path((code, id)): Path<(String, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let r = st.app.delete_building(&u.authed.actor, &u.ctx, id).await;
    after_edit(&st, &u, &code, r).await
}

#[derive(Deserialize)]
struct ResponderEdit {
    kind: String,
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    zone: String,
    /// Building ids, comma or space separated.
    #[serde(default)]
    buildings: String,
}

async fn responder_save(
    State(st): State<AppState>,
    u: PageUser,
    Path((code, id)): Path<(String, i64)>,
    CsrfForm(f): CsrfForm<ResponderEdit>,
) -> Response {
    let form = tongxin_app::grids::buildings::ResponderForm {
        kind: f.kind,
        name: f.name,
        phone: f.phone,
        zone: f.zone,
        // An unreadable id becomes 0, which no grid has: refused with the field named.
        buildings: f
            .buildings
            .split([',', '，', ' ', '、'])
            .filter(|s| !s.trim().is_empty())
            .map(|s| num(s, 0i64))
            .collect(),
    };
    let r = st.app.update_responder(&u.authed.actor, &u.ctx, id, &form).await;
    after_edit(&st, &u, &code, r).await
}

async fn responder_delete(
    State(st): State<AppState>,
    u: PageUser,
    Path((code, id)): Path<(String, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let r = st.app.delete_responder(&u.authed.actor, &u.ctx, id).await;
    after_edit(&st, &u, &code, r).await
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    title: String,
}

async fn round_start(
    State(st): State<AppState>,
    u: PageUser,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<StartForm>,
) -> Response {
    let l = page_layout(&u, &format!("/grids/{code}"));
    match st.app.start_round(&u.authed.actor, &u.ctx, &code, &f.title).await {
        Ok(id) => Redirect::to(&format!("/grids/rounds/{id}")).into_response(),
        Err(e @ (AppError::Conflict(_) | AppError::Validation(_))) => {
            let msg = crate::error::problem_for(&e, u.ctx.lang).detail;
            match st.app.grid_detail(&u.authed.actor, &code).await {
                Ok(g) => (axum::http::StatusCode::CONFLICT, detail_page(u.ctx.lang, l, g, Some(msg))).into_response(),
                Err(e) => error_page(l, &e),
            }
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "grids_round.html")]
struct RoundPage {
    l: Layout,
    v: RoundView,
    rows: Vec<PersonRow>,
    started: String,
}

#[derive(Template)]
#[template(path = "grids_round_body.html")]
struct RoundBody {
    l: Layout,
    v: RoundView,
    rows: Vec<PersonRow>,
}

fn round_rows(lang: Lang, v: &RoundView) -> Vec<PersonRow> {
    v.items.iter().map(|i| person_row(lang, i.person.clone(), &i.status, &i.by, i.at)).collect()
}

async fn round_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    let l = page_layout(&u, &format!("/grids/rounds/{id}"));
    match st.app.round_view(&u.authed.actor, id).await {
        Ok(v) => {
            let rows = round_rows(u.ctx.lang, &v);
            let started = beijing_time(v.summary.round.started_at);
            render(&RoundPage { l, v, rows, started })
        }
        Err(e) => error_page(l, &e),
    }
}

async fn round_body(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    let l = page_layout(&u, &format!("/grids/rounds/{id}"));
    match st.app.round_view(&u.authed.actor, id).await {
        Ok(v) => {
            let rows = round_rows(u.ctx.lang, &v);
            render(&RoundBody { l, v, rows })
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
struct CheckForm {
    person_id: i64,
    status: String,
    #[serde(default)]
    note: String,
}

async fn round_check(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<CheckForm>,
) -> Response {
    let l = page_layout(&u, &format!("/grids/rounds/{id}"));
    if let Err(e) = st.app.record_check(&u.authed.actor, &u.ctx, id, f.person_id, &f.status, &f.note).await {
        return error_page(l, &e);
    }
    // htmx swaps the body in place; a plain form post goes back to the page.
    match st.app.round_view(&u.authed.actor, id).await {
        Ok(v) => {
            let rows = round_rows(u.ctx.lang, &v);
            render(&RoundBody { l, v, rows })
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn round_close(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    match st.app.close_round(&u.authed.actor, &u.ctx, id).await {
        Ok(()) => Redirect::to(&format!("/grids/rounds/{id}")).into_response(),
        Err(e) => error_page(page_layout(&u, &format!("/grids/rounds/{id}")), &e),
    }
}

#[derive(Template)]
#[template(path = "grids_boundaries.html")]
struct BoundariesPage {
    l: Layout,
    report: Option<BoundaryReport>,
    preview_json: String,
    error: Option<String>,
    datum: String,
    geojson: String,
}

async fn boundaries_page(u: PageUser) -> Response {
    let l = page_layout(&u, "/grids/boundaries");
    if !tongxin_app::grids::boundaries::IMPORT_ROLES.contains(&u.authed.actor.role) {
        return error_page(l, &AppError::Forbidden);
    }
    render(&BoundariesPage {
        l,
        report: None,
        preview_json: "null".into(),
        error: None,
        datum: "wgs84".into(),
        geojson: String::new(),
    })
}

async fn boundaries_submit(State(st): State<AppState>, u: PageUser, mut mp: Multipart) -> Response {
    let l = page_layout(&u, "/grids/boundaries");
    let (mut csrf, mut datum, mut text, mut confirm) = (String::new(), "wgs84".to_string(), String::new(), false);
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        let Ok(bytes) = field.bytes().await else { break };
        let s = String::from_utf8_lossy(&bytes).to_string();
        match name.as_str() {
            "_csrf" => csrf = s,
            "datum" => datum = s,
            "file" if !s.trim().is_empty() => text = s,
            "geojson" if text.is_empty() => text = s,
            "confirm" => confirm = s == "1",
            _ => {}
        }
    }
    if !crate::session::constant_eq(&csrf, &u.authed.csrf) {
        return error_page(l, &AppError::Forbidden);
    }
    let dry_run = !confirm;
    match st.app.import_boundaries(&u.authed.actor, &u.ctx, &text, &datum, dry_run).await {
        Ok(r) => {
            let preview = serde_json::json!({
                "type": "FeatureCollection",
                "features": r.items.iter().map(|i| serde_json::json!({
                    "type": "Feature", "properties": { "code": i.code, "name": i.name }, "geometry": i.geometry,
                })).collect::<Vec<_>>(),
            })
            .to_string();
            let geojson = if r.saved { String::new() } else { text };
            render(&BoundariesPage { l, report: Some(r), preview_json: preview, error: None, datum, geojson })
        }
        // A refusal is a refusal (403), not a form error shown with 200.
        Err(e @ AppError::Forbidden) => error_page(l, &e),
        Err(e) => {
            let msg = crate::error::problem_for(&e, u.ctx.lang);
            let detail = match &e {
                AppError::Validation(fe) => {
                    fe.iter().map(|x| x.message(u.ctx.lang).to_string()).collect::<Vec<_>>().join("；")
                }
                _ => msg.detail,
            };
            render(&BoundariesPage {
                l,
                report: None,
                preview_json: "null".into(),
                error: Some(detail),
                datum,
                geojson: text,
            })
        }
    }
}
