//! Alert pages (capability G): the officers' list, drafting with a reach preview, approval and
//! cancellation, the delivery log, the outbox's dead-letter view; the public (no login) feed for
//! a chosen place with live updates; and the CAP URLs: `/cap/{id}.xml`, `/cap/{id}.json`,
//! `/cap/feed.atom`, `/cap/CAP-v1.2.xsd`.

use super::{beijing_time, error_page, layout, page_layout, render, Layout};
use crate::session::{Caller, CsrfForm, PageUser};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tongxin_app::alerts::{alert_json, atom_feed, AreaInput, CircleInput, DraftInput, Reach};
use tongxin_app::AppError;
use tongxin_domain::alerts::{AlertState, Colour};
use tongxin_store::alerts::{AlertFilter, AlertRow};

/// Alert page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list_page))
        .route("/alerts/new", get(new_page).post(new_submit))
        .route("/alerts/new/reach", post(reach_fragment))
        .route("/alerts/outbox", get(outbox_page))
        .route("/alerts/outbox/{id}/retry", post(outbox_retry))
        .route("/alerts/{id}", get(detail_page))
        .route("/alerts/{id}/act", post(act))
        .route("/public/alerts", get(public_page))
        .route("/public/alerts/list", get(public_list))
        .route("/public/alerts/areas", get(public_areas))
        .route("/public/alerts/{id}", get(public_detail))
        .route("/cap/feed.atom", get(feed))
        .route("/cap/CAP-v1.2.xsd", get(xsd))
        .route("/cap/{file}", get(cap_file))
}

/// An alert for display.
pub struct View {
    id: i64,
    colour: String,
    colour_label: String,
    state_label: String,
    state: String,
    msg_type: String,
    headline: String,
    event: String,
    area_desc: String,
    description: String,
    instruction: String,
    effective: String,
    expires: String,
    sent: String,
    identifier: String,
}

fn view(l: &Layout, a: &AlertRow) -> View {
    let c = Colour::parse(&a.colour).unwrap_or(Colour::Blue);
    let s = AlertState::from_key(&a.state).unwrap_or(AlertState::Draft);
    View {
        id: a.id,
        colour: c.key().into(),
        colour_label: format!("{}{}", l.t.pick(c.zh(), c.en()), l.t.pick("预警", " warning")),
        state_label: l.t.pick(s.zh(), s.en()).into(),
        state: a.state.clone(),
        msg_type: a.msg_type.clone(),
        headline: a.headline.clone(),
        event: a.event.clone(),
        area_desc: a.area_desc.clone(),
        description: a.description.clone(),
        instruction: a.instruction.clone(),
        effective: beijing_time(a.effective),
        expires: beijing_time(a.expires),
        sent: a.sent.map(beijing_time).unwrap_or_default(),
        identifier: a.identifier.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "alerts_list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<View>,
    may_author: bool,
    may_admin: bool,
}

async fn list_page(State(st): State<AppState>, u: PageUser) -> Response {
    let l = page_layout(&u, "/alerts");
    let a = &u.authed.actor;
    match st.app.alerts_list(a, &AlertFilter { limit: 200, ..Default::default() }).await {
        Ok(rows) => render(&ListPage {
            rows: rows.iter().map(|r| view(&l, r)).collect(),
            may_author: tongxin_app::alerts::AUTHORS.contains(&a.role),
            may_admin: matches!(a.role, tongxin_domain::Role::SysAdmin | tongxin_domain::Role::Commander),
            l,
        }),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "alerts_new.html")]
struct NewPage {
    l: Layout,
    f: NewForm,
    errors: Vec<String>,
    reach: Option<Reach>,
    categories: &'static [&'static str],
    /// Division nodes to tick: the officer's own node and its children (code, name, ticked).
    picks: Vec<(String, String, bool)>,
}

impl NewPage {
    async fn new(
        st: &AppState,
        u: &PageUser,
        l: Layout,
        f: NewForm,
        errors: Vec<String>,
        reach: Option<Reach>,
    ) -> Self {
        let ticked: Vec<String> = f.division_codes();
        let mut picks = Vec::new();
        if let Some(code) = u.authed.actor.division_code.as_deref() {
            if let Ok(d) = st.app.store.division(code).await {
                picks.push((d.code.clone(), d.name.clone(), false));
                // Grids are too many to list; their codes can still be typed.
                if d.level != "community" {
                    for c in st.app.store.division_children(&d.code).await.unwrap_or_default() {
                        picks.push((c.code, c.name, false));
                    }
                }
            }
        }
        for p in &mut picks {
            p.2 = ticked.contains(&p.0);
        }
        NewPage { l, f, errors, reach, categories: CATEGORIES, picks }
    }
}

/// The drafting form.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct NewForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    colour: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    headline: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    instruction: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    divisions: String,
    #[serde(default)]
    circle: String,
    #[serde(default)]
    polygon: String,
    #[serde(default)]
    action: String,
}

impl NewForm {
    fn division_codes(&self) -> Vec<String> {
        self.divisions.split([',', '，', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
    }

    fn draft(&self) -> Result<DraftInput, String> {
        let hours: f64 =
            if self.hours.trim().is_empty() { 24.0 } else { self.hours.trim().parse().map_err(|_| "hours")? };
        let now = tongxin_store::now_ms();
        let mut area = AreaInput { divisions: self.division_codes(), ..Default::default() };
        if !self.circle.trim().is_empty() {
            // "lon,lat radius_m"
            let mut it = self.circle.split_whitespace();
            let (Some(p), Some(r)) = (it.next(), it.next()) else { return Err("circle".into()) };
            let (lon, lat) = p.split_once(',').ok_or("circle")?;
            area.circle = Some(CircleInput {
                lon: lon.trim().parse().map_err(|_| "circle")?,
                lat: lat.trim().parse().map_err(|_| "circle")?,
                radius_m: r.parse().map_err(|_| "circle")?,
            });
        }
        if !self.polygon.trim().is_empty() {
            let mut pts = Vec::new();
            for pair in self.polygon.split_whitespace() {
                let (lon, lat) = pair.split_once(',').ok_or("polygon")?;
                pts.push([lon.parse().map_err(|_| "polygon")?, lat.parse().map_err(|_| "polygon")?]);
            }
            area.polygon = Some(pts);
        }
        Ok(DraftInput {
            category: self.category.clone(),
            event: self.event.clone(),
            colour: self.colour.clone(),
            urgency: Some(self.urgency.clone()).filter(|s| !s.is_empty()),
            certainty: None,
            headline: self.headline.clone(),
            description: self.description.clone(),
            instruction: self.instruction.clone(),
            effective: Some(now),
            expires: now + (hours * 3600.0 * 1000.0) as i64,
            area,
            area_desc: None,
        })
    }
}

fn msgs(l: &Layout, e: &AppError) -> Option<Vec<String>> {
    match e {
        AppError::Validation(fe) => Some(fe.iter().map(|f| f.message(l.t.lang).to_string()).collect()),
        AppError::Conflict(x) => Some(vec![x.get(l.t.lang).to_string()]),
        _ => None,
    }
}

const CATEGORIES: &[&str] =
    &["Met", "Geo", "Safety", "Fire", "Health", "Env", "Transport", "Infra", "Rescue", "Security", "CBRNE", "Other"];

async fn new_page(State(st): State<AppState>, u: PageUser) -> Response {
    let l = page_layout(&u, "/alerts/new");
    let f = NewForm { category: "Met".into(), colour: "yellow".into(), hours: "24".into(), ..Default::default() };
    render(&NewPage::new(&st, &u, l, f, vec![], None).await)
}

async fn new_submit(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<NewForm>) -> Response {
    let l = page_layout(&u, "/alerts/new");
    let d = match f.draft() {
        Ok(d) => d,
        Err(field) => {
            let err = l.t.pick(&format!("格式错误：{field}"), &format!("Malformed field: {field}")).to_string();
            return (StatusCode::UNPROCESSABLE_ENTITY, render(&NewPage::new(&st, &u, l, f, vec![err], None).await))
                .into_response();
        }
    };
    let actor = &u.authed.actor;
    let r = if f.action == "preview" {
        st.app.alert_preview(actor, &d.area).await.map(Some)
    } else {
        match st.app.alert_draft(actor, &u.ctx, &d).await {
            Ok(a) => return Redirect::to(&format!("/alerts/{}", a.id)).into_response(),
            Err(e) => Err(e),
        }
    };
    match r {
        Ok(reach) => render(&NewPage::new(&st, &u, l, f, vec![], reach).await),
        Err(e) => match msgs(&l, &e) {
            Some(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, render(&NewPage::new(&st, &u, l, f, m, None).await)).into_response()
            }
            None => error_page(l, &e),
        },
    }
}

#[derive(Template)]
#[template(path = "alerts_reach_fragment.html")]
struct ReachFragment {
    l: Layout,
    reach: Option<Reach>,
    errors: Vec<String>,
}

/// The reach preview of the area being drawn or chosen (the authoring page's live preview).
async fn reach_fragment(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<NewForm>) -> Response {
    // Only authors draw areas; others get the refusal as a status, not a form message.
    if tongxin_app::require_role(&u.authed.actor, &tongxin_app::alerts::AUTHORS).is_err() {
        return axum::http::StatusCode::FORBIDDEN.into_response();
    }
    let l = page_layout(&u, "/alerts/new");
    let area = match f.draft() {
        Ok(d) => d.area,
        Err(field) => {
            let err = l.t.pick(&format!("格式错误：{field}"), &format!("Malformed field: {field}")).to_string();
            return render(&ReachFragment { l, reach: None, errors: vec![err] });
        }
    };
    if area.divisions.is_empty() && area.polygon.is_none() && area.circle.is_none() {
        return render(&ReachFragment { l, reach: None, errors: vec![] });
    }
    match st.app.alert_preview(&u.authed.actor, &area).await {
        Ok(r) => render(&ReachFragment { l, reach: Some(r), errors: vec![] }),
        Err(e) => {
            let m = msgs(&l, &e).unwrap_or_else(|| vec![l.t.pick("无法预览", "Cannot preview").to_string()]);
            render(&ReachFragment { l, reach: None, errors: m })
        }
    }
}

#[derive(Template)]
#[template(path = "alerts_detail.html")]
struct DetailPage {
    l: Layout,
    a: View,
    reach: Reach,
    counts: Vec<(String, String, i64)>,
    log: Vec<(String, i64, String, String)>,
    may_submit: bool,
    may_approve: bool,
    may_cancel: bool,
    note: String,
    original: Option<i64>,
    error: Option<String>,
}

async fn detail_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail(&st, &u, id, None).await
}

async fn detail(st: &AppState, u: &PageUser, id: i64, error: Option<String>) -> Response {
    let l = page_layout(u, &format!("/alerts/{id}"));
    let actor = &u.authed.actor;
    let a = match st.app.alert_get(actor, id).await {
        Ok(a) => a,
        Err(e) => return error_page(l, &e),
    };
    let counts = st.app.store.outbox_counts("alert", id).await.unwrap_or_default();
    let log = st.app.store.outbox_log_for("alert", id, 50).await.unwrap_or_default();
    let state = AlertState::from_key(&a.state).unwrap_or(AlertState::Draft);
    let author = a.created_by == Some(actor.user_id);
    let is_author_role = tongxin_app::alerts::AUTHORS.contains(&actor.role);
    let page = DetailPage {
        a: view(&l, &a),
        reach: serde_json::from_str(&a.reach_json).unwrap_or_default(),
        counts: counts.into_iter().map(|c| (c.channel, c.state, c.n)).collect(),
        log: log.into_iter().map(|r| (beijing_time(r.at), r.outbox_id, r.status, r.detail)).collect(),
        may_submit: is_author_role && matches!(state, AlertState::Draft | AlertState::Rejected) && a.origin == "local",
        may_approve: tongxin_app::alerts::APPROVERS.contains(&actor.role) && state == AlertState::Pending && !author,
        may_cancel: is_author_role && state == AlertState::Issued && a.origin == "local" && a.msg_type != "Cancel",
        note: a.note.clone(),
        original: a.ref_id,
        error,
        l,
    };
    render(&page)
}

#[derive(Deserialize)]
struct ActForm {
    action: String,
    #[serde(default)]
    note: String,
}

async fn act(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>, CsrfForm(f): CsrfForm<ActForm>) -> Response {
    let (a, c) = (&u.authed.actor, &u.ctx);
    let r = match f.action.as_str() {
        "submit" => st.app.alert_submit(a, c, id).await,
        "approve" => st.app.alert_approve(a, c, id).await,
        "reject" => st.app.alert_reject(a, c, id, &f.note).await,
        "cancel" => st.app.alert_cancel(a, c, id, &f.note).await,
        _ => Err(AppError::NotFound),
    };
    match r {
        Ok(row) => Redirect::to(&format!("/alerts/{}", if f.action == "cancel" { row.id } else { id })).into_response(),
        Err(e) => {
            let l = page_layout(&u, "/alerts");
            match msgs(&l, &e) {
                Some(m) => (StatusCode::CONFLICT, detail(&st, &u, id, Some(m.join("；"))).await).into_response(),
                None => error_page(l, &e),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "alerts_outbox.html")]
struct OutboxPage {
    l: Layout,
    rows: Vec<(i64, String, String, String, i64, String, String)>,
    pending: i64,
}

async fn outbox_page(State(st): State<AppState>, u: PageUser) -> Response {
    let l = page_layout(&u, "/alerts/outbox");
    if !matches!(u.authed.actor.role, tongxin_domain::Role::SysAdmin | tongxin_domain::Role::Commander) {
        return error_page(l, &AppError::Forbidden);
    }
    let rows = st.app.store.outbox_list(None, &["failed", "dead"], 200).await.unwrap_or_default();
    let pending = st.app.store.outbox_pending().await.unwrap_or(0);
    let rows = rows
        .into_iter()
        .map(|m| (m.id, m.channel, m.kind, m.state, m.attempts, m.last_error, beijing_time(m.next_at)))
        .collect();
    render(&OutboxPage { l, rows, pending })
}

#[derive(Deserialize)]
struct Empty {}

async fn outbox_retry(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_f): CsrfForm<Empty>,
) -> Response {
    match st.app.outbox_retry(&u.authed.actor, &u.ctx, id).await {
        Ok(()) => Redirect::to("/alerts/outbox").into_response(),
        Err(e) => error_page(page_layout(&u, "/alerts/outbox"), &e),
    }
}

#[derive(Deserialize, Default)]
struct PlaceQuery {
    division: Option<String>,
}

#[derive(Template)]
#[template(path = "alerts_public.html")]
struct PublicPage {
    l: Layout,
    rows: Vec<View>,
    lifted: Vec<View>,
    division: String,
    place: String,
    places: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "alerts_public_list.html")]
struct PublicList {
    l: Layout,
    rows: Vec<View>,
    lifted: Vec<View>,
}

/// Alerts in force for a place, and those lifted in the last day (a resident must see the all-clear).
async fn public_rows(st: &AppState, l: &Layout, division: &str) -> Result<(Vec<View>, Vec<View>), AppError> {
    let rows = st.app.alerts_in_force(Some(division)).await?;
    let lifted = st.app.alerts_lifted(Some(division)).await?;
    Ok((rows.iter().map(|r| view(l, r)).collect(), lifted.iter().map(|r| view(l, r)).collect()))
}

async fn public_page(State(st): State<AppState>, c: Caller, Query(q): Query<PlaceQuery>) -> Response {
    let l = layout(&c, "/public/alerts");
    let division = q.division.unwrap_or_default();
    let place = if division.is_empty() {
        l.t.pick("全市", "Whole city").to_string()
    } else {
        match st.app.store.division(&division).await {
            Ok(d) => d.name,
            Err(_) => return error_page(l, &AppError::NotFound),
        }
    };
    let root = st.app.store.division_roots().await.unwrap_or_default();
    let mut places = Vec::new();
    for r in root.iter().take(1) {
        for d in st.app.store.division_children(&r.code).await.unwrap_or_default() {
            places.push((d.code, d.name));
        }
    }
    // A street or community chosen by link stays selected in the place list.
    if !division.is_empty() && !places.iter().any(|p| p.0 == division) {
        places.insert(0, (division.clone(), place.clone()));
    }
    match public_rows(&st, &l, &division).await {
        Ok((rows, lifted)) => render(&PublicPage { l, rows, lifted, division, place, places }),
        Err(e) => error_page(l, &e),
    }
}

async fn public_list(State(st): State<AppState>, c: Caller, Query(q): Query<PlaceQuery>) -> Response {
    let l = layout(&c, "/public/alerts");
    match public_rows(&st, &l, q.division.as_deref().unwrap_or("")).await {
        Ok((rows, lifted)) => render(&PublicList { l, rows, lifted }),
        Err(e) => error_page(l, &e),
    }
}

/// The areas of the alerts in force for a place, as GeoJSON for the public map: drawn polygons
/// and circles as they are, division nodes as their stored boundary (or their grids'); district
/// nodes without a stored boundary are drawn by the page from the vendored district outlines
/// (`properties.districts`).
async fn public_areas(State(st): State<AppState>, Query(q): Query<PlaceQuery>) -> Response {
    let rows = match st.app.alerts_in_force(q.division.as_deref()).await {
        Ok(r) => r,
        Err(_) => return (StatusCode::NOT_FOUND, "未找到 / not found").into_response(),
    };
    let mut features = Vec::new();
    for a in &rows {
        let area: AreaInput = serde_json::from_str(&a.area_json).unwrap_or_default();
        let props = |kind: &str| {
            serde_json::json!({"id": a.id, "colour": a.colour, "headline": a.headline, "area_desc": a.area_desc,
                "kind": kind})
        };
        if let Some(p) = &area.polygon {
            let mut ring: Vec<[f64; 2]> = p.clone();
            if ring.first() != ring.last() {
                ring.push(ring[0]);
            }
            features.push(serde_json::json!({"type": "Feature", "properties": props("polygon"),
                "geometry": {"type": "Polygon", "coordinates": [ring]}}));
        }
        if let Some(c) = area.circle {
            let mut pr = props("circle");
            pr["radius_m"] = c.radius_m.into();
            features.push(serde_json::json!({"type": "Feature", "properties": pr,
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]}}));
        }
        let mut districts = Vec::new();
        for code in &area.divisions {
            let Ok(d) = st.app.store.division(code).await else { continue };
            let mut shapes = st.app.store.boundaries_of(std::slice::from_ref(&d.code)).await.unwrap_or_default();
            if shapes.is_empty() && matches!(d.level.as_str(), "street" | "community") {
                shapes = st.app.store.boundaries_within(&d.path, Some("grid"), 400).await.unwrap_or_default();
            }
            if shapes.is_empty() {
                districts.push(d.code.clone());
                continue;
            }
            for b in shapes {
                if let Ok(g) = serde_json::from_str::<serde_json::Value>(&b.geometry) {
                    let mut pr = props("division");
                    pr["division"] = d.code.clone().into();
                    pr["synthetic"] = b.synthetic.into();
                    features.push(serde_json::json!({"type": "Feature", "properties": pr, "geometry": g}));
                }
            }
        }
        if !districts.is_empty() {
            let mut pr = props("districts");
            pr["districts"] = districts.into();
            features.push(serde_json::json!({"type": "Feature", "properties": pr, "geometry": null}));
        }
    }
    axum::Json(serde_json::json!({"type": "FeatureCollection", "features": features})).into_response()
}

#[derive(Template)]
#[template(path = "alerts_public_detail.html")]
struct PublicDetail {
    l: Layout,
    a: View,
}

async fn public_detail(State(st): State<AppState>, c: Caller, Path(id): Path<i64>) -> Response {
    let l = layout(&c, &format!("/public/alerts/{id}"));
    match st.app.store.alert_public(id).await {
        Ok(a) => render(&PublicDetail { a: view(&l, &a), l }),
        Err(e) => error_page(l, &e.into()),
    }
}

fn base_url(h: &HeaderMap) -> String {
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

async fn feed(State(st): State<AppState>, h: HeaderMap) -> Response {
    match st.app.store.alerts_published(None, 200).await {
        Ok(rows) => ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], atom_feed(&base_url(&h), &rows))
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn xsd() -> Response {
    ([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], tongxin_cap::CAP_XSD).into_response()
}

async fn cap_file(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    let (id, ext) = match file.rsplit_once('.') {
        Some((id, ext)) if ext == "xml" || ext == "json" => (id.parse::<i64>().ok(), ext),
        _ => (None, ""),
    };
    let Some(id) = id else { return (StatusCode::NOT_FOUND, "未找到 / not found").into_response() };
    match st.app.store.alert_public(id).await {
        Ok(a) if ext == "xml" => {
            ([(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")], a.cap_xml).into_response()
        }
        Ok(a) => axum::Json(alert_json(&a)).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "未找到 / not found").into_response(),
    }
}
