//! Server-rendered pages (askama + htmx). Chinese first; every form carries the CSRF token.

pub mod alerts;
pub mod capability;
pub mod grids;
pub mod incidents;
pub mod registry;
pub mod workorders;

use crate::i18n::Tr;
use crate::session::{cookie, set_cookie, Caller, CsrfForm, PageUser, LANG_COOKIE, PRE_CSRF_COOKIE, SESSION_COOKIE};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use capability::CapLink;
use serde::Deserialize;
use tongxin_app::AppError;
use tongxin_domain::{Lang, Role};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", get(switch_lang))
        .route("/c/{letter}", get(capability_page))
        .route("/divisions", get(divisions_page))
        .route("/divisions/search", get(divisions_search))
        .route("/divisions/{code}/children", get(divisions_children))
        .route("/account", get(account_page))
        .route("/account/password", post(account_password))
        .route("/account/tokens", post(account_token))
        .route("/account/logout-all", post(account_logout_all))
        .route("/audit", get(audit_page))
        .merge(registry::router())
        .merge(grids::router())
        .merge(incidents::router())
        .merge(workorders::router())
        .merge(alerts::router())
}

/// What the shared layout needs.
pub struct Layout {
    /// Translator.
    pub t: Tr,
    /// CSRF token for forms and htmx.
    pub csrf: String,
    /// Logged-in user.
    pub user: Option<UserBrief>,
    /// Navigation.
    pub caps: Vec<CapLink>,
    /// Current path (for the language switch's return).
    pub path: String,
    /// Open the navigation (home page).
    pub wide_nav: bool,
}

/// Who is logged in, for the header.
pub struct UserBrief {
    /// Display name.
    pub display_name: String,
}

fn layout(c: &Caller, path: &str) -> Layout {
    let t = Tr { lang: c.ctx.lang };
    Layout {
        caps: capability::all(&t),
        t,
        csrf: c.authed.as_ref().map(|a| a.csrf.clone()).unwrap_or_default(),
        user: c.authed.as_ref().map(|a| UserBrief { display_name: a.actor.display_name.clone() }),
        path: path.to_string(),
        wide_nav: false,
    }
}

pub(crate) fn page_layout(u: &PageUser, path: &str) -> Layout {
    layout(&Caller { ctx: u.ctx.clone(), authed: Some(u.authed.clone()) }, path)
}

/// Renders a template into a response.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(s) => Html(s).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error / 模板错误").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    l: Layout,
    title: String,
    body: String,
    is_error: bool,
}

/// An error page for an application error, with the matching status.
pub(crate) fn error_page(l: Layout, err: &AppError) -> Response {
    let p = crate::error::problem_for(err, l.t.lang);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = l.t.s("err.title").to_string();
    (status, render(&MessagePage { l, title, body: p.detail, is_error: true })).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    error: Option<String>,
    pre: String,
    next: String,
    username: String,
    demo: bool,
    demo_accounts: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths, so `next` cannot send anyone to another site.
fn safe_next(n: Option<&str>) -> String {
    match n {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

fn login_form(st: &AppState, c: &Caller, error: Option<String>, next: String, username: String) -> Response {
    let pre = tongxin_app::auth::random_token();
    let demo = st.cfg.demo;
    let l = layout(c, "/login");
    let zh = l.t.zh();
    let page = LoginPage {
        l,
        error,
        pre: pre.clone(),
        next,
        username,
        demo,
        demo_accounts: tongxin_app::seed::DEMO_ACCOUNTS
            .iter()
            .map(|a| (a.0, if zh { a.2.label_zh() } else { a.2.label_en() }))
            .collect(),
    };
    let mut r = render(&page);
    if let Ok(v) = set_cookie(PRE_CSRF_COOKIE, &pre, 3600, true, st.cfg.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_page(State(st): State<AppState>, c: Caller, Query(q): Query<NextQuery>) -> Response {
    if c.authed.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    login_form(&st, &c, None, safe_next(q.next.as_deref()), String::new())
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    _pre: String,
}

async fn login_submit(State(st): State<AppState>, c: Caller, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    // Login CSRF: the form must echo the cookie set when it was shown (double submit).
    let pre_ok =
        cookie(&headers, PRE_CSRF_COOKIE).is_some_and(|v| !v.is_empty() && crate::session::constant_eq(v, &f._pre));
    let t = Tr { lang: c.ctx.lang };
    if !pre_ok {
        let msg = t.pick("表单已过期，请重新登录", "The form expired; please log in again").to_string();
        return (StatusCode::FORBIDDEN, login_form(&st, &c, Some(msg), safe_next(Some(&f.next)), f.username))
            .into_response();
    }
    match st.app.login(&c.ctx, &f.username, &f.password).await {
        Ok(out) => {
            let mut r = Redirect::to(&safe_next(Some(&f.next))).into_response();
            let h = r.headers_mut();
            if let Ok(v) =
                set_cookie(SESSION_COOKIE, &out.token, st.app.config.session_ttl_ms / 1000, true, st.cfg.secure_cookies)
                    .parse()
            {
                h.append(header::SET_COOKIE, v);
            }
            if let Ok(v) = set_cookie(PRE_CSRF_COOKIE, "", 0, true, st.cfg.secure_cookies).parse() {
                h.append(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let (status, key) = match e {
                AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "login.locked"),
                AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "login.failed"),
                other => return error_page(layout(&c, "/login"), &other),
            };
            (status, login_form(&st, &c, Some(t.s(key).to_string()), safe_next(Some(&f.next)), f.username))
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(State(st): State<AppState>, u: PageUser, CsrfForm(_): CsrfForm<Empty>) -> Response {
    if let Some(t) = &u.authed.session_token {
        if let Err(e) = st.app.logout(&u.ctx, &u.authed.actor, t).await {
            return error_page(page_layout(&u, "/"), &e);
        }
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", 0, true, st.cfg.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
    next: Option<String>,
}

/// Switches the interface language (a cookie; nothing is written on the server).
async fn switch_lang(State(st): State<AppState>, Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or_default();
    let mut r = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    if let Ok(v) = set_cookie(LANG_COOKIE, lang.code(), 365 * 86400, false, st.cfg.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    name: String,
    role: String,
    jurisdiction: String,
    org: String,
    stats: Vec<(String, i64)>,
    mine: Vec<CapLink>,
}

async fn home(State(st): State<AppState>, u: PageUser) -> Response {
    let mut l = page_layout(&u, "/");
    l.wide_nav = true;
    let a = &u.authed.actor;
    let t = l.t;
    let jurisdiction = match &a.division_code {
        Some(code) => match st.app.store.division_ancestors(code).await {
            Ok(anc) => {
                let mut names: Vec<String> = anc.into_iter().map(|d| d.name).collect();
                names.push(st.app.store.division(code).await.map(|d| d.name).unwrap_or_default());
                format!("{} ({code})", names.join(" / "))
            }
            Err(_) => code.clone(),
        },
        None => t.s("home.none").to_string(),
    };
    let org = match a.org_id {
        Some(id) => format!("#{id}"),
        None => t.s("home.none").to_string(),
    };
    let counts = match st.app.home_counts(a).await {
        Ok(c) => c,
        Err(e) => return error_page(l, &e),
    };
    let keys = ["home.orgs", "home.volunteers", "home.households", "home.grids"];
    let stats = counts.iter().zip(keys).map(|((_, n), k)| (t.s(k).to_string(), *n)).collect();
    let mine = capability::for_role(a.role).iter().filter_map(|c| capability::by_letter(&t, *c)).collect();
    let role = if t.zh() { a.role.label_zh() } else { a.role.label_en() }.to_string();
    render(&HomePage { name: a.display_name.clone(), role, jurisdiction, org, stats, mine, l })
}

#[derive(Template)]
#[template(path = "capability.html")]
struct CapabilityPage {
    l: Layout,
    cap: CapLink,
}

async fn capability_page(u: PageUser, Path(letter): Path<String>) -> Response {
    let l = page_layout(&u, &format!("/c/{letter}"));
    match letter.chars().next().and_then(|c| capability::by_letter(&l.t, c)) {
        Some(cap) if cap.built => Redirect::to(&cap.href).into_response(),
        Some(cap) => render(&CapabilityPage { l, cap }),
        None => error_page(l, &AppError::NotFound),
    }
}

/// A division row for the tree templates.
pub struct DivItem {
    code: String,
    name: String,
    level: String,
}

fn div_items(t: &Tr, v: Vec<tongxin_store::divisions::Division>) -> Vec<DivItem> {
    v.into_iter()
        .map(|d| DivItem {
            level: tongxin_domain::division::Level::from_key(&d.level)
                .map(|lv| t.pick(lv.label_zh(), lv.label_en()).to_string())
                .unwrap_or(d.level.clone()),
            code: d.code,
            name: d.name,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "divisions.html")]
struct DivisionsPage {
    l: Layout,
    roots: Vec<DivItem>,
}

#[derive(Template)]
#[template(path = "division_children.html")]
struct DivisionChildren {
    l: Layout,
    roots: Vec<DivItem>,
}

async fn divisions_page(State(st): State<AppState>, u: PageUser) -> Response {
    let l = page_layout(&u, "/divisions");
    let roots = match &u.authed.actor.division_code {
        Some(code) => match st.app.division_for(&u.authed.actor, code).await {
            Ok(d) => vec![d],
            Err(e) => return error_page(l, &e),
        },
        None => vec![],
    };
    let roots = div_items(&l.t, roots);
    render(&DivisionsPage { l, roots })
}

async fn divisions_children(State(st): State<AppState>, u: PageUser, Path(code): Path<String>) -> Response {
    let l = page_layout(&u, "/divisions");
    match st.app.division_children_for(&u.authed.actor, &code).await {
        Ok(v) => {
            let roots = div_items(&l.t, v);
            render(&DivisionChildren { l, roots })
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn divisions_search(State(st): State<AppState>, u: PageUser, Query(q): Query<SearchQuery>) -> Response {
    let l = page_layout(&u, "/divisions");
    let q = q.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Html(String::new()).into_response();
    }
    match st.app.division_search_for(&u.authed.actor, q.trim(), 30).await {
        Ok(v) => {
            let roots = div_items(&l.t, v);
            render(&DivisionChildren { l, roots })
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    message: Option<String>,
    error: Option<String>,
    token: Option<String>,
}

async fn account_page(u: PageUser) -> Response {
    render(&AccountPage { l: page_layout(&u, "/account"), message: None, error: None, token: None })
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn account_password(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<PasswordForm>) -> Response {
    let l = page_layout(&u, "/account");
    match st.app.change_password(&u.ctx, &u.authed.actor, &f.current_password, &f.new_password).await {
        Ok(()) => {
            let title = l.t.s("account.title").to_string();
            let body = l.t.s("account.changed").to_string();
            let mut r = render(&MessagePage { l, title, body, is_error: false });
            if let Ok(v) = set_cookie(SESSION_COOKIE, "", 0, true, st.cfg.secure_cookies).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(AppError::Validation(fe)) => {
            let msg = fe.iter().map(|e| e.message(l.t.lang).to_string()).collect::<Vec<_>>().join("；");
            (StatusCode::UNPROCESSABLE_ENTITY, render(&AccountPage { l, message: None, error: Some(msg), token: None }))
                .into_response()
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn account_token(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<TokenForm>) -> Response {
    let l = page_layout(&u, "/account");
    match st.app.create_api_token(&u.ctx, &u.authed.actor, &f.name, Some(365)).await {
        Ok(tok) => render(&AccountPage { l, message: None, error: None, token: Some(tok) }),
        Err(e) => error_page(l, &e),
    }
}

async fn account_logout_all(State(st): State<AppState>, u: PageUser, CsrfForm(_): CsrfForm<Empty>) -> Response {
    match st.app.logout_everywhere(&u.ctx, &u.authed.actor).await {
        Ok(_) => {
            let mut r = Redirect::to("/login").into_response();
            if let Ok(v) = set_cookie(SESSION_COOKIE, "", 0, true, st.cfg.secure_cookies).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => error_page(page_layout(&u, "/account"), &e),
    }
}

struct AuditRow {
    seq: i64,
    at: String,
    who: String,
    action: String,
    object: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    intact: bool,
    chain_detail: String,
    rows: Vec<AuditRow>,
}

/// Formats unix ms as Beijing time.
pub fn beijing_time(ms: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .map(|t| {
            let t = t.to_offset(offset);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

async fn audit_page(State(st): State<AppState>, u: PageUser) -> Response {
    let l = page_layout(&u, "/audit");
    if !matches!(u.authed.actor.role, Role::SysAdmin | Role::Supervisor) {
        return error_page(l, &AppError::Forbidden);
    }
    let (verify, recent) = (st.app.store.audit_verify().await, st.app.store.audit_recent("", 200).await);
    let (Ok(verify), Ok(recent)) = (verify, recent) else {
        return error_page(l, &AppError::Internal("audit read failed".into()));
    };
    let (intact, chain_detail) = match verify {
        tongxin_store::audit::VerifyOutcome::Intact { records } => (true, format!("({records})")),
        tongxin_store::audit::VerifyOutcome::Broken { seq, zh, en } => {
            (false, format!("#{seq}: {}", l.t.pick(&zh, &en)))
        }
    };
    let rows = recent
        .into_iter()
        .map(|r| AuditRow {
            seq: r.seq,
            at: beijing_time(r.at),
            who: format!("{} ({})", r.username, r.role),
            action: r.action,
            object: format!("{} {}", r.object_type, r.object_id),
        })
        .collect();
    render(&AuditPage { l, intact, chain_detail, rows })
}
