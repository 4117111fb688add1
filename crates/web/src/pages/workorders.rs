//! Pages of residents' requests (E) and supervision (J): the phone-sized need form (residents,
//! guests, grid workers on a resident's behalf), tracking by code, the staff work-order list
//! (live) and detail with every 12345 step, the community needs list, complaints (guest or
//! named, with an image/PDF attachment) and their handling, the public accountability page (no
//! login, live by polling), and price monitoring with a chart.

use super::{error_page, layout, page_layout, render, Layout};
use crate::api::workorders::{order_filter, OrderParams};
use crate::i18n::Tr;
use crate::session::{constant_eq, cookie, set_cookie, Caller, CsrfForm, PageUser, PRE_CSRF_COOKIE};
use crate::AppState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tongxin_app::workorders::{
    ActForm, Attachment, ComplaintForm, ComplaintView, NeedForm, OrderView, PriceRefForm, PriceReportForm, PublicPage,
    Suggestion,
};
use tongxin_app::AppError;
use tongxin_domain::workorders::{self as wo, State as WoState};
use tongxin_domain::Role;
use tongxin_store::workorders::OrderRow;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/requests/new", get(need_page).post(need_submit))
        .route("/track", get(track_page))
        .route("/track/act", post(track_act))
        .route("/workorders", get(list_page))
        .route("/workorders/rows", get(list_rows))
        .route("/workorders/needs", get(needs_page))
        .route("/workorders/{id}", get(detail_page))
        .route("/workorders/{id}/act", post(act_submit))
        .route("/complaints", get(complaints_page))
        .route(
            "/complaints/new",
            get(complaint_page)
                .post(complaint_submit)
                .layer(DefaultBodyLimit::max(wo::MAX_ATTACHMENT_BYTES * 2 + 64 * 1024)),
        )
        .route("/complaints/track", get(complaint_track_page))
        .route("/complaints/{id}", get(complaint_detail_page))
        .route("/complaints/{id}/act", post(complaint_act_submit))
        .route("/public/accountability", get(public_page))
        .route("/public/accountability/figures", get(public_figures_partial))
        .route("/prices", get(prices_page))
        .route("/prices/reference", post(price_ref_submit))
        .route("/prices/report", post(price_report_submit))
}

fn msgs(t: &Tr, e: &AppError) -> Option<Vec<String>> {
    match e {
        AppError::Validation(fe) => Some(fe.iter().map(|f| f.message(t.lang).to_string()).collect()),
        AppError::Conflict(x) => Some(vec![x.get(t.lang).to_string()]),
        _ => None,
    }
}

/// Form protection for pages that guests use too: the session's token when logged in, else a
/// double-submit cookie (as on the login form).
fn guest_token(c: &Caller) -> (String, Option<String>) {
    match &c.authed {
        Some(a) => (a.csrf.clone(), None),
        None => {
            let t = tongxin_app::auth::random_token();
            (t.clone(), Some(t))
        }
    }
}

fn with_pre_cookie(mut r: Response, st: &AppState, pre: Option<String>) -> Response {
    if let Some(p) = pre {
        if let Ok(v) = set_cookie(PRE_CSRF_COOKIE, &p, 3600, true, st.cfg.secure_cookies).parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn guest_token_ok(c: &Caller, headers: &HeaderMap, sent: &str) -> bool {
    let expected = match &c.authed {
        Some(a) => a.csrf.as_str(),
        None => cookie(headers, PRE_CSRF_COOKIE).unwrap_or(""),
    };
    !expected.is_empty() && constant_eq(sent, expected)
}

fn expired(l: Layout) -> Response {
    let body = l.t.pick("表单已过期，请刷新页面后重试", "The form expired; reload and try again").to_string();
    let title = l.t.pick("提交失败", "Not submitted").to_string();
    (StatusCode::FORBIDDEN, render(&super::MessagePage { l, title, body, is_error: true })).into_response()
}

/// Labels for templates.
pub struct Opt {
    /// Key.
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
}

fn opts(t: &Tr, table: &'static [(&'static str, &'static str, &'static str)]) -> Vec<Opt> {
    table.iter().map(|k| Opt { key: k.0, label: t.pick(k.1, k.2) }).collect()
}

// ------------------------------------------------------------------ the need form

#[derive(Template)]
#[template(path = "workorders_new.html")]
struct NeedPage {
    l: Layout,
    token: String,
    guest: bool,
    on_behalf: bool,
    kinds: Vec<Opt>,
    flags: Vec<Opt>,
    communities: Vec<(String, String)>,
    f: NeedFormView,
    errors: Vec<String>,
}

#[derive(Default)]
struct NeedFormView {
    kind: String,
    urgency: String,
    vulnerable: Vec<String>,
    description: String,
    division_code: String,
    address: String,
    contact_name: String,
    phone: String,
}

async fn communities_for(st: &AppState, c: &Caller) -> Vec<(String, String)> {
    let street = match c.authed.as_ref().and_then(|a| a.actor.division_code.clone()) {
        Some(code) if code.len() >= 9 => code[..9].to_string() + "000",
        _ => tongxin_app::seed::DEMO_STREET.to_string(),
    };
    let mut v: Vec<(String, String)> = st
        .app
        .store
        .division_children(&street)
        .await
        .map(|d| d.into_iter().map(|d| (d.code, d.name)).collect())
        .unwrap_or_default();
    if let Some(own) = c.authed.as_ref().and_then(|a| a.actor.division_code.clone()) {
        if let Some(i) = v.iter().position(|x| x.0 == own) {
            let x = v.remove(i);
            v.insert(0, x);
        }
    }
    v
}

async fn need_form(st: &AppState, c: &Caller, f: NeedFormView, errors: Vec<String>, status: StatusCode) -> Response {
    let (token, pre) = guest_token(c);
    let l = layout(c, "/requests/new");
    let on_behalf = c.authed.as_ref().is_some_and(|a| {
        matches!(a.actor.role, Role::GridWorker | Role::CommunityWorker | Role::CivilAffairs | Role::Commander)
    });
    let page = NeedPage {
        token,
        guest: c.authed.is_none(),
        on_behalf,
        kinds: opts(&l.t, &wo::KINDS),
        flags: opts(&l.t, &wo::VULNERABLE),
        communities: communities_for(st, c).await,
        f,
        errors,
        l,
    };
    with_pre_cookie((status, render(&page)).into_response(), st, pre)
}

async fn need_page(State(st): State<AppState>, c: Caller) -> Response {
    need_form(&st, &c, NeedFormView { urgency: "normal".into(), ..Default::default() }, vec![], StatusCode::OK).await
}

async fn need_submit(
    State(st): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.clone()).unwrap_or_default();
    if !guest_token_ok(&c, &headers, &get("_token")) {
        return expired(layout(&c, "/requests/new"));
    }
    let form = NeedForm {
        kind: get("kind"),
        urgency: get("urgency"),
        vulnerable: pairs.iter().filter(|p| p.0 == "vulnerable").map(|p| p.1.clone()).collect(),
        description: get("description"),
        division_code: get("division_code"),
        address: get("address"),
        contact_name: get("contact_name"),
        phone: get("phone"),
        lon: None,
        lat: None,
    };
    let actor = c.authed.as_ref().map(|a| &a.actor);
    match st.app.file_need(actor, &c.ctx, &form).await {
        Ok(f) => {
            let l = layout(&c, "/requests/new");
            render(&FiledPage {
                l,
                code: f.code,
                tracking: f.tracking_code,
                id: f.id,
                complaint: false,
                logged_in: actor.is_some(),
            })
        }
        Err(e) => {
            let l = layout(&c, "/requests/new");
            match msgs(&l.t, &e) {
                Some(m) => {
                    let v = NeedFormView {
                        kind: form.kind,
                        urgency: form.urgency,
                        vulnerable: form.vulnerable,
                        description: form.description,
                        division_code: form.division_code,
                        address: form.address,
                        contact_name: form.contact_name,
                        phone: form.phone,
                    };
                    need_form(&st, &c, v, m, StatusCode::UNPROCESSABLE_ENTITY).await
                }
                None => error_page(l, &e),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "workorders_filed.html")]
struct FiledPage {
    l: Layout,
    code: String,
    tracking: String,
    id: i64,
    complaint: bool,
    logged_in: bool,
}

// ------------------------------------------------------------------ shared order view

/// An order prepared for display.
pub struct OrderLine {
    /// The row.
    pub o: OrderRow,
    /// Kind label.
    pub kind: &'static str,
    /// State label.
    pub state: &'static str,
    /// Vulnerable labels.
    pub flags: String,
    /// Deadline (Beijing time).
    pub due: String,
    /// Overdue now.
    pub overdue: bool,
    /// 督办 label.
    pub escalation: &'static str,
    /// Filed (Beijing time).
    pub created: String,
}

fn line(t: &Tr, o: OrderRow) -> OrderLine {
    let zh = t.zh();
    let now = tongxin_store::now_ms();
    OrderLine {
        kind: wo::KINDS.iter().find(|k| k.0 == o.kind).map_or("", |k| if zh { k.1 } else { k.2 }),
        state: WoState::from_key(&o.state).map_or("", |s| s.label(zh)),
        flags: o
            .vulnerable
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|v| wo::VULNERABLE.iter().find(|k| k.0 == v).map_or(v, |k| if zh { k.1 } else { k.2 }))
            .collect::<Vec<_>>()
            .join(if zh { "、" } else { ", " }),
        due: o.due_at.map(super::beijing_time).unwrap_or_default(),
        overdue: o.due_at.is_some_and(|d| d < now) && o.state != "closed",
        escalation: wo::escalation_label(o.escalation, zh),
        created: super::beijing_time(o.created_at),
        o,
    }
}

/// A history step for display.
pub struct StepLine {
    at: String,
    what: String,
    who: String,
    note: String,
    due: String,
}

fn steps(t: &Tr, v: &OrderView) -> Vec<StepLine> {
    let zh = t.zh();
    v.steps
        .iter()
        .map(|s| StepLine {
            at: super::beijing_time(s.at),
            what: match s.action.as_str() {
                "file" => t.pick("提交需求", "Filed").to_string(),
                "escalate" => t.pick("逾期督办", "Escalated (overdue)").to_string(),
                a => wo::Action::from_key(a).map_or(a.to_string(), |x| x.label(zh).to_string()),
            },
            who: s.actor_name.clone(),
            note: s.note.clone(),
            due: s.due_at.map(super::beijing_time).unwrap_or_default(),
        })
        .collect()
}

// ------------------------------------------------------------------ tracking (guests)

#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

#[derive(Template)]
#[template(path = "workorders_track.html")]
struct TrackPage {
    l: Layout,
    code: String,
    token: String,
    order: Option<OrderLine>,
    answer: String,
    steps: Vec<StepLine>,
    may_rate: bool,
    error: Option<String>,
}

async fn track_render(st: &AppState, c: &Caller, code: String, error: Option<String>, status: StatusCode) -> Response {
    let l = layout(c, "/track");
    let (token, pre) = guest_token(c);
    let (order, answer, steps, may_rate, error) = if code.trim().is_empty() {
        (None, String::new(), vec![], false, error)
    } else {
        match st.app.order_by_tracking(&code).await {
            Ok(v) => {
                let s = self::steps(&l.t, &v);
                let may = v.may.contains(&"rate");
                let answer = v.order.answer.clone();
                (Some(line(&l.t, v.order)), answer, s, may, error)
            }
            Err(_) => (
                None,
                String::new(),
                vec![],
                false,
                Some(l.t.pick("查询码不正确，请核对后重试", "No request with that tracking code").to_string()),
            ),
        }
    };
    let page = TrackPage { l, code, token, order, answer, steps, may_rate, error };
    with_pre_cookie((status, render(&page)).into_response(), st, pre)
}

async fn track_page(State(st): State<AppState>, c: Caller, Query(q): Query<CodeQuery>) -> Response {
    track_render(&st, &c, q.code.unwrap_or_default(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct TrackAct {
    code: String,
    action: String,
    #[serde(default)]
    rating: Option<i64>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    _token: String,
}

async fn track_act(State(st): State<AppState>, c: Caller, headers: HeaderMap, Form(f): Form<TrackAct>) -> Response {
    if !guest_token_ok(&c, &headers, &f._token) {
        return expired(layout(&c, "/track"));
    }
    let form = ActForm { action: f.action, rating: f.rating, note: f.note, ..Default::default() };
    match st.app.act_by_tracking(&c.ctx, &f.code, &form).await {
        Ok(_) => Redirect::to(&format!("/track?code={}", urlencoding(&f.code))).into_response(),
        Err(e) => {
            let t = Tr { lang: c.ctx.lang };
            let m = msgs(&t, &e).map(|m| m.join("；")).unwrap_or_else(|| t.pick("操作失败", "Failed").to_string());
            track_render(&st, &c, f.code, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

fn urlencoding(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap_or_default().trim_start_matches("x=").to_string()
}

// ------------------------------------------------------------------ staff list and detail

#[derive(Template)]
#[template(path = "workorders_list.html")]
struct ListPage {
    l: Layout,
    p: OrderParams,
    query: String,
    states: Vec<(&'static str, &'static str)>,
    kinds: Vec<Opt>,
    rows: Vec<OrderLine>,
    next: Option<String>,
    staff: bool,
}

#[derive(Template)]
#[template(path = "workorders_rows.html")]
struct RowsPartial {
    l: Layout,
    rows: Vec<OrderLine>,
    next: Option<String>,
    query: String,
}

async fn rows_for(st: &AppState, u: &PageUser, p: &OrderParams) -> Result<(Vec<OrderLine>, Option<String>), AppError> {
    let f = order_filter(st, &u.authed.actor, p).await?;
    let rows = st.app.orders_for(&u.authed.actor, f.clone()).await?;
    let next = (rows.len() as i64 == f.limit).then(|| rows.last().map(|o| o.id.to_string())).flatten();
    let t = Tr { lang: u.ctx.lang };
    Ok((rows.into_iter().map(|o| line(&t, o)).collect(), next))
}

fn query_of(p: &OrderParams) -> String {
    let mut v: Vec<(&str, String)> = vec![];
    for (k, x) in [("state", &p.state), ("kind", &p.kind), ("urgency", &p.urgency), ("division", &p.division)] {
        if let Some(x) = x.as_ref().filter(|x| !x.is_empty()) {
            v.push((k, x.clone()));
        }
    }
    if p.escalated == Some(true) {
        v.push(("escalated", "true".into()));
    }
    if p.open == Some(true) {
        v.push(("open", "true".into()));
    }
    serde_urlencoded::to_string(v).unwrap_or_default()
}

async fn list_page(State(st): State<AppState>, u: PageUser, Query(p): Query<OrderParams>) -> Response {
    let l = page_layout(&u, "/workorders");
    match rows_for(&st, &u, &p).await {
        Ok((rows, next)) => {
            let zh = l.t.zh();
            let page = ListPage {
                query: query_of(&p),
                states: WoState::ALL.iter().map(|s| (s.key(), s.label(zh))).collect(),
                kinds: opts(&l.t, &wo::KINDS),
                staff: !matches!(u.authed.actor.role, Role::Resident | Role::Volunteer | Role::OrgAdmin),
                rows,
                next,
                p,
                l,
            };
            render(&page)
        }
        Err(e) => error_page(l, &e),
    }
}

async fn list_rows(State(st): State<AppState>, u: PageUser, Query(p): Query<OrderParams>) -> Response {
    let l = page_layout(&u, "/workorders");
    match rows_for(&st, &u, &p).await {
        Ok((rows, next)) => render(&RowsPartial { l, rows, next, query: query_of(&p) }),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "workorders_detail.html")]
struct DetailPage {
    l: Layout,
    v: OrderLine,
    address: String,
    phone: String,
    unmasked: bool,
    answer: String,
    steps: Vec<StepLine>,
    may: Vec<&'static str>,
    suggestions: Vec<Suggestion>,
    errors: Vec<String>,
    max_ext: String,
}

impl DetailPage {
    fn can(&self, a: &str) -> bool {
        self.may.contains(&a)
    }
}

#[derive(Deserialize)]
struct DetailQuery {
    unmask: Option<bool>,
}

async fn detail_render(
    st: &AppState,
    u: &PageUser,
    id: i64,
    unmask: bool,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let l = page_layout(u, &format!("/workorders/{id}"));
    let a = &u.authed.actor;
    let v = match st.app.order_for(a, &u.ctx, id, unmask).await {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let suggestions =
        if v.may.contains(&"dispatch") { st.app.dispatch_suggestions(a, id).await.unwrap_or_default() } else { vec![] };
    let (policy, _) = st.app.wo_policy().await.unwrap_or_default();
    let urgent = wo::urgent_clock(&v.order.urgency, &v.order.vulnerable);
    let max_ext = if urgent {
        format!("{} {}", policy.urgent_max_extension_hours, l.t.pick("小时", "hours"))
    } else {
        format!("{} {}", policy.max_extension_days, l.t.pick("个工作日", "working days"))
    };
    let steps = steps(&l.t, &v);
    let page = DetailPage {
        address: v.address.clone(),
        phone: v.phone.clone(),
        unmasked: v.unmasked,
        answer: v.order.answer.clone(),
        may: v.may.clone(),
        v: line(&l.t, v.order),
        steps,
        suggestions,
        errors,
        max_ext,
        l,
    };
    (status, render(&page)).into_response()
}

async fn detail_page(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Response {
    detail_render(&st, &u, id, q.unmask.unwrap_or(false), vec![], StatusCode::OK).await
}

#[derive(Deserialize)]
struct ActFormPage {
    action: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    extension: String,
}

async fn act_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ActFormPage>,
) -> Response {
    let assignee = if f.org_id.trim().is_empty() { f.assignee.clone() } else { format!("org:{}", f.org_id.trim()) };
    let (kind, aid) = match assignee.split_once(':') {
        Some((k, i)) => (k.to_string(), i.parse().ok()),
        None => (String::new(), None),
    };
    let form = ActForm {
        action: f.action,
        assignee_kind: kind,
        assignee_id: aid,
        note: f.note,
        rating: f.rating.trim().parse().ok(),
        extension: f.extension.trim().parse().ok(),
    };
    match st.app.act_on_order(&u.authed.actor, &u.ctx, id, &form).await {
        Ok(_) => Redirect::to(&format!("/workorders/{id}")).into_response(),
        Err(e) => {
            let t = Tr { lang: u.ctx.lang };
            match msgs(&t, &e) {
                Some(m) => detail_render(&st, &u, id, false, m, StatusCode::UNPROCESSABLE_ENTITY).await,
                None => error_page(page_layout(&u, &format!("/workorders/{id}")), &e),
            }
        }
    }
}

// ------------------------------------------------------------------ needs list

#[derive(Template)]
#[template(path = "workorders_needs.html")]
struct NeedsPage {
    l: Layout,
    division: String,
    rows: Vec<(String, &'static str, bool, i64)>,
    total: i64,
}

#[derive(Deserialize)]
struct DivQuery {
    division: Option<String>,
}

async fn needs_page(State(st): State<AppState>, u: PageUser, Query(q): Query<DivQuery>) -> Response {
    let l = page_layout(&u, "/workorders/needs");
    let a = &u.authed.actor;
    let within = match crate::api::orgs::within_of(&st.app, a, q.division.as_deref()).await {
        Ok(w) => w,
        Err(e) => return error_page(l, &e),
    };
    match st.app.needs_list(a, within).await {
        Ok(rows) => {
            let zh = l.t.zh();
            let mut names = std::collections::HashMap::new();
            let mut out = vec![];
            for (d, k, urg, n) in rows {
                if !names.contains_key(&d) {
                    let name = st.app.store.division(&d).await.map(|x| x.name).unwrap_or_else(|_| d.clone());
                    names.insert(d.clone(), name);
                }
                out.push((
                    names[&d].clone(),
                    wo::KINDS.iter().find(|x| x.0 == k).map_or("", |x| if zh { x.1 } else { x.2 }),
                    urg == "urgent",
                    n,
                ));
            }
            let total = out.iter().map(|r| r.3).sum();
            render(&NeedsPage { l, division: q.division.unwrap_or_default(), rows: out, total })
        }
        Err(e) => error_page(l, &e),
    }
}

// ------------------------------------------------------------------ complaints

#[derive(Template)]
#[template(path = "complaints_new.html")]
struct ComplaintNewPage {
    l: Layout,
    token: String,
    guest: bool,
    categories: Vec<Opt>,
    f: ComplaintForm,
    errors: Vec<String>,
    max_kb: usize,
}

async fn complaint_form(
    st: &AppState,
    c: &Caller,
    f: ComplaintForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let (token, pre) = guest_token(c);
    let l = layout(c, "/complaints/new");
    let page = ComplaintNewPage {
        token,
        guest: c.authed.is_none(),
        categories: opts(&l.t, &wo::COMPLAINT_CATEGORIES),
        f,
        errors,
        max_kb: wo::MAX_ATTACHMENT_BYTES / 1024,
        l,
    };
    with_pre_cookie((status, render(&page)).into_response(), st, pre)
}

async fn complaint_page(State(st): State<AppState>, c: Caller) -> Response {
    let f = ComplaintForm { subject_kind: "community".into(), anonymous: true, ..Default::default() };
    complaint_form(&st, &c, f, vec![], StatusCode::OK).await
}

async fn complaint_submit(State(st): State<AppState>, c: Caller, headers: HeaderMap, mut mp: Multipart) -> Response {
    let t = Tr { lang: c.ctx.lang };
    let mut f = ComplaintForm::default();
    let mut token = String::new();
    let mut file: Option<Attachment> = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                if name == "file" {
                    let fname = field.file_name().unwrap_or("attachment").to_string();
                    match field.bytes().await {
                        Ok(b) if !b.is_empty() => file = Some(Attachment { name: fname, bytes: b.to_vec() }),
                        Ok(_) => {}
                        Err(_) => {
                            let m = format!(
                                "{} {} KB",
                                t.pick(
                                    "附件过大或上传中断，附件不能超过",
                                    "The upload failed or is too large; the limit is"
                                ),
                                wo::MAX_ATTACHMENT_BYTES / 1024
                            );
                            return complaint_form(&st, &c, f, vec![m], StatusCode::PAYLOAD_TOO_LARGE).await;
                        }
                    }
                    continue;
                }
                let v = field.text().await.unwrap_or_default();
                match name.as_str() {
                    "_token" => token = v,
                    "category" => f.category = v,
                    "subject_kind" => f.subject_kind = v,
                    "subject" => f.subject = v,
                    "division_code" => f.division_code = v,
                    "description" => f.description = v,
                    "anonymous" => f.anonymous = v == "on" || v == "true",
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                let m = format!(
                    "{} {} KB",
                    t.pick("附件过大或上传中断，附件不能超过", "The upload failed or is too large; the limit is"),
                    wo::MAX_ATTACHMENT_BYTES / 1024
                );
                return complaint_form(&st, &c, f, vec![m], StatusCode::PAYLOAD_TOO_LARGE).await;
            }
        }
    }
    if !guest_token_ok(&c, &headers, &token) {
        return expired(layout(&c, "/complaints/new"));
    }
    let actor = c.authed.as_ref().map(|a| &a.actor);
    match st.app.file_complaint(actor, &c.ctx, &f, file).await {
        Ok(r) => render(&FiledPage {
            l: layout(&c, "/complaints/new"),
            code: String::new(),
            tracking: r.tracking_code,
            id: r.id,
            complaint: true,
            logged_in: actor.is_some(),
        }),
        Err(e) => match msgs(&t, &e) {
            Some(m) => complaint_form(&st, &c, f, m, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => error_page(layout(&c, "/complaints/new"), &e),
        },
    }
}

/// A complaint step for display.
pub struct CStep {
    at: String,
    what: String,
    who: String,
    note: String,
}

fn cstate(t: &Tr, s: &str) -> &'static str {
    wo::COMPLAINT_STATES.iter().find(|x| x.0 == s).map_or("", |x| t.pick(x.1, x.2))
}

fn csteps(t: &Tr, v: &ComplaintView) -> Vec<CStep> {
    v.steps
        .iter()
        .map(|s| CStep {
            at: super::beijing_time(s.0),
            what: match s.1.as_str() {
                "file" => t.pick("提交投诉", "Filed"),
                "take" => t.pick("受理核查", "Taken up"),
                "conclude" => t.pick("办结", "Concluded"),
                "escalate" => t.pick("逾期督办", "Escalated (overdue)"),
                _ => "",
            }
            .to_string(),
            who: s.3.clone(),
            note: s.4.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "complaints_track.html")]
struct ComplaintTrackPage {
    l: Layout,
    code: String,
    found: Option<(String, String, String, String)>,
    steps: Vec<CStep>,
    error: Option<String>,
}

async fn complaint_track_page(State(st): State<AppState>, c: Caller, Query(q): Query<CodeQuery>) -> Response {
    let l = layout(&c, "/complaints/track");
    let code = q.code.unwrap_or_default();
    if code.trim().is_empty() {
        return render(&ComplaintTrackPage { l, code, found: None, steps: vec![], error: None });
    }
    match st.app.complaint_by_tracking(&code).await {
        Ok(v) => {
            let steps = csteps(&l.t, &v);
            let verdict = match v.c.verified {
                Some(true) => l.t.pick("属实", "Verified"),
                Some(false) => l.t.pick("不属实", "Not verified"),
                None => "",
            };
            let found = Some((
                cstate(&l.t, &v.c.state).to_string(),
                v.c.subject_name.clone(),
                verdict.to_string(),
                v.c.finding.clone(),
            ));
            render(&ComplaintTrackPage { l, code, found, steps, error: None })
        }
        Err(_) => {
            let e = Some(l.t.pick("查询码不正确，请核对后重试", "No complaint with that tracking code").to_string());
            (StatusCode::NOT_FOUND, render(&ComplaintTrackPage { l, code, found: None, steps: vec![], error: e }))
                .into_response()
        }
    }
}

/// A complaint list row.
pub struct CLine {
    id: i64,
    category: &'static str,
    subject: String,
    state: &'static str,
    due: String,
    overdue: bool,
    escalation: &'static str,
    anonymous: bool,
    handler: String,
}

#[derive(Template)]
#[template(path = "complaints_list.html")]
struct ComplaintsPage {
    l: Layout,
    rows: Vec<CLine>,
}

async fn complaints_page(State(st): State<AppState>, u: PageUser, Query(q): Query<StateQuery>) -> Response {
    let l = page_layout(&u, "/complaints");
    match st.app.complaints_for(&u.authed.actor, q.state.as_deref().filter(|s| !s.is_empty())).await {
        Ok(rows) => {
            let now = tongxin_store::now_ms();
            let zh = l.t.zh();
            let rows = rows
                .into_iter()
                .map(|c| CLine {
                    id: c.id,
                    category: wo::COMPLAINT_CATEGORIES.iter().find(|x| x.0 == c.category).map_or("", |x| {
                        if zh {
                            x.1
                        } else {
                            x.2
                        }
                    }),
                    subject: c.subject_name.clone(),
                    state: cstate(&l.t, &c.state),
                    due: super::beijing_time(c.due_at),
                    overdue: c.state != "concluded" && c.due_at < now,
                    escalation: wo::escalation_label(c.escalation, zh),
                    anonymous: c.anonymous,
                    handler: c.handler_name,
                })
                .collect();
            render(&ComplaintsPage { l, rows })
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
struct StateQuery {
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "complaints_detail.html")]
struct ComplaintDetailPage {
    l: Layout,
    id: i64,
    category: &'static str,
    subject: String,
    state: &'static str,
    description: String,
    complainant: String,
    handler: String,
    due: String,
    verdict: String,
    finding: String,
    files: Vec<(i64, String, String, i64)>,
    steps: Vec<CStep>,
    may_take: bool,
    may_conclude: bool,
    errors: Vec<String>,
}

async fn complaint_detail_render(
    st: &AppState,
    u: &PageUser,
    id: i64,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let l = page_layout(u, &format!("/complaints/{id}"));
    match st.app.complaint_for(&u.authed.actor, id).await {
        Ok(v) => {
            let zh = l.t.zh();
            let page = ComplaintDetailPage {
                id,
                category: wo::COMPLAINT_CATEGORIES.iter().find(|x| x.0 == v.c.category).map_or("", |x| {
                    if zh {
                        x.1
                    } else {
                        x.2
                    }
                }),
                subject: v.c.subject_name.clone(),
                state: cstate(&l.t, &v.c.state),
                description: v.c.description.clone(),
                complainant: v.complainant.clone(),
                handler: v.c.handler_name.clone(),
                due: super::beijing_time(v.c.due_at),
                verdict: match v.c.verified {
                    Some(true) => l.t.pick("属实", "Verified").into(),
                    Some(false) => l.t.pick("不属实", "Not verified").into(),
                    None => String::new(),
                },
                finding: v.c.finding.clone(),
                files: v.files.clone(),
                steps: csteps(&l.t, &v),
                may_take: v.may.contains(&"take"),
                may_conclude: v.may.contains(&"conclude"),
                errors,
                l,
            };
            (status, render(&page)).into_response()
        }
        Err(e) => error_page(l, &e),
    }
}

async fn complaint_detail_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    complaint_detail_render(&st, &u, id, vec![], StatusCode::OK).await
}

#[derive(Deserialize)]
struct ComplaintActPage {
    action: String,
    #[serde(default)]
    verified: String,
    #[serde(default)]
    finding: String,
}

async fn complaint_act_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ComplaintActPage>,
) -> Response {
    let verified = match f.verified.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    match st.app.act_on_complaint(&u.authed.actor, &u.ctx, id, &f.action, verified, &f.finding).await {
        Ok(_) => Redirect::to(&format!("/complaints/{id}")).into_response(),
        Err(e) => {
            let t = Tr { lang: u.ctx.lang };
            match msgs(&t, &e) {
                Some(m) => complaint_detail_render(&st, &u, id, m, StatusCode::UNPROCESSABLE_ENTITY).await,
                None => error_page(page_layout(&u, "/complaints"), &e),
            }
        }
    }
}

// ------------------------------------------------------------------ public accountability

#[derive(Template)]
#[template(path = "public_accountability.html")]
struct PublicAccPage {
    l: Layout,
    division: String,
    p: PublicPage,
    back: Option<String>,
}

#[derive(Template)]
#[template(path = "public_accountability_figures.html")]
struct PublicFiguresPartial {
    l: Layout,
    p: PublicPage,
}

async fn public_page(State(st): State<AppState>, c: Caller, Query(q): Query<DivQuery>) -> Response {
    let l = layout(&c, "/public/accountability");
    let division = q.division.unwrap_or_default();
    match st.app.public_figures(Some(&division)).await {
        Ok(p) => {
            let back = p.parent.as_ref().map(|(code, _)| {
                if p.level == "community" {
                    format!("/public/accountability?division={}000000", &code[..6.min(code.len())])
                } else {
                    "/public/accountability".to_string()
                }
            });
            render(&PublicAccPage { l, division, p, back })
        }
        Err(e) => error_page(l, &e),
    }
}

async fn public_figures_partial(State(st): State<AppState>, c: Caller, Query(q): Query<DivQuery>) -> Response {
    let l = layout(&c, "/public/accountability");
    let division = q.division.unwrap_or_default();
    match st.app.public_figures(Some(&division)).await {
        Ok(p) => render(&PublicFiguresPartial { l, p }),
        Err(e) => error_page(l, &e),
    }
}

// ------------------------------------------------------------------ prices

#[derive(Template)]
#[template(path = "prices.html")]
struct PricesPage {
    l: Layout,
    refs: Vec<tongxin_store::workorders::PriceRef>,
    reports: Vec<tongxin_store::workorders::PriceReport>,
    items: Vec<String>,
    item: String,
    chart: String,
    flagged_only: bool,
    may_set: bool,
    period: String,
    division: String,
    errors: Vec<String>,
    margin: u32,
}

#[derive(Deserialize)]
struct PricesQuery {
    item: Option<String>,
    flagged: Option<bool>,
}

fn yuan(fen: &i64) -> String {
    format!("{:.2}", *fen as f64 / 100.0)
}

/// An SVG line chart of reported prices of one item over time, with the reference as a dashed
/// line (no script: CSP-safe).
fn chart(reports: &[tongxin_store::workorders::PriceReport], item: &str) -> String {
    let mut pts: Vec<&tongxin_store::workorders::PriceReport> = reports.iter().filter(|r| r.item == item).collect();
    pts.sort_by_key(|r| r.reported_at);
    if pts.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (640.0, 220.0, 36.0);
    let t0 = pts.first().map_or(0, |r| r.reported_at) as f64;
    let t1 = pts.last().map_or(1, |r| r.reported_at) as f64;
    let maxp = pts.iter().map(|r| r.price_fen.max(r.ref_fen.unwrap_or(0))).max().unwrap_or(1) as f64 * 1.15;
    let x = |t: i64| if t1 > t0 { pad + (t as f64 - t0) / (t1 - t0) * (w - 2.0 * pad) } else { w / 2.0 };
    let y = |p: i64| h - pad - p as f64 / maxp * (h - 2.0 * pad);
    let mut s = format!("<svg id=\"price-chart\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
    s.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        h - pad,
        w - pad,
        h - pad
    ));
    let line: Vec<String> = pts.iter().map(|r| format!("{:.1},{:.1}", x(r.reported_at), y(r.price_fen))).collect();
    s.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#0b5cad\" stroke-width=\"2\" points=\"{}\"/>",
        line.join(" ")
    ));
    let refs: Vec<String> =
        pts.iter().filter_map(|r| r.ref_fen.map(|f| format!("{:.1},{:.1}", x(r.reported_at), y(f)))).collect();
    if !refs.is_empty() {
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"#1a7f37\" stroke-dasharray=\"6 4\" points=\"{}\"/>",
            refs.join(" ")
        ));
    }
    for r in &pts {
        let color = if r.flagged { "#a30d23" } else { "#0b5cad" };
        s.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{color}\"><title>{} {}</title></circle>",
            x(r.reported_at),
            y(r.price_fen),
            askama_escape(&r.seller),
            yuan(&r.price_fen)
        ));
    }
    s.push_str(&format!("<text x=\"4\" y=\"{}\" font-size=\"11\">¥{:.0}</text>", pad - 4.0, maxp / 100.0));
    s.push_str("</svg>");
    s
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn prices_render(
    st: &AppState,
    u: &PageUser,
    q: PricesQuery,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let l = page_layout(u, "/prices");
    let a = &u.authed.actor;
    let refs = st.app.store.price_refs(200).await.unwrap_or_default();
    let all = match st.app.store.price_reports(a, false, None, 500).await {
        Ok(r) => r,
        Err(e) => return error_page(l, &e.into()),
    };
    let mut items: Vec<String> =
        all.iter().map(|r| r.item.clone()).chain(refs.iter().map(|r| r.item.clone())).collect();
    items.sort();
    items.dedup();
    let item = q
        .item
        .filter(|s| !s.is_empty())
        .or_else(|| all.iter().find(|r| r.flagged).map(|r| r.item.clone()))
        .or_else(|| items.first().cloned())
        .unwrap_or_default();
    let chart = chart(&all, &item);
    let flagged_only = q.flagged.unwrap_or(false);
    let reports = all.into_iter().filter(|r| !flagged_only || r.flagged).collect();
    let (policy, _) = st.app.wo_policy().await.unwrap_or_default();
    let now = tongxin_store::now_ms();
    let period = wo::local_date(now).map(|d| format!("{:04}-{:02}", d.year(), d.month() as u8)).unwrap_or_default();
    render_status(
        status,
        &PricesPage {
            refs,
            reports,
            items,
            item,
            chart,
            flagged_only,
            may_set: matches!(a.role, Role::Commander | Role::CivilAffairs | Role::SysAdmin),
            period,
            division: a.division_code.clone().unwrap_or_default(),
            errors,
            margin: policy.price_margin_pct,
            l,
        },
    )
}

fn render_status(status: StatusCode, t: &impl Template) -> Response {
    (status, render(t)).into_response()
}

async fn prices_page(State(st): State<AppState>, u: PageUser, Query(q): Query<PricesQuery>) -> Response {
    prices_render(&st, &u, q, vec![], StatusCode::OK).await
}

async fn price_ref_submit(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<PriceRefForm>) -> Response {
    match st.app.set_price_ref(&u.authed.actor, &u.ctx, &f).await {
        Ok(_) => Redirect::to("/prices").into_response(),
        Err(e) => price_err(&st, &u, e).await,
    }
}

async fn price_report_submit(
    State(st): State<AppState>,
    u: PageUser,
    CsrfForm(f): CsrfForm<PriceReportForm>,
) -> Response {
    let item = f.item.clone();
    match st.app.report_price(&u.authed.actor, &u.ctx, &f).await {
        Ok(_) => Redirect::to(&format!("/prices?item={}", urlencoding(&item))).into_response(),
        Err(e) => price_err(&st, &u, e).await,
    }
}

async fn price_err(st: &AppState, u: &PageUser, e: AppError) -> Response {
    let t = Tr { lang: u.ctx.lang };
    match msgs(&t, &e) {
        Some(m) => {
            prices_render(st, u, PricesQuery { item: None, flagged: None }, m, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        None => error_page(page_layout(u, "/prices"), &e),
    }
}
