//! Registry pages (capability A): the organisation list with filters and exports, filing and
//! editing, the detail page with decisions, reviews and teams, volunteers, and roster import
//! (upload → preview with per-row errors → confirm).

use super::{error_page, page_layout, render, Layout};
use crate::api::orgs::{filter_of, ListParams};
use crate::api::volunteers::{vol_filter_of, VolParams};
use crate::session::{constant_eq, CsrfForm, PageUser};
use crate::AppState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde::Deserialize;
use tongxin_app::registry::excel::{ImportOptions, ImportReport};
use tongxin_app::registry::vocab::{self, Term};
use tongxin_app::registry::volunteers::{VolForm, VolView};
use tongxin_app::registry::{Decision, OrgDetail, OrgForm};
use tongxin_app::AppError;
use tongxin_domain::Role;
use tongxin_store::registry::OrgListItem;

/// Registry page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs", get(orgs_page))
        .route("/orgs/new", get(new_org_page).post(new_org_submit))
        .route("/orgs/{id}", get(org_page))
        .route("/orgs/{id}/edit", get(edit_org_page).post(edit_org_submit))
        .route("/orgs/{id}/decision", post(decision_submit))
        .route("/orgs/{id}/review", post(review_submit))
        .route("/orgs/{id}/insurance", post(policy_submit))
        .route("/orgs/{id}/teams", post(team_submit))
        .route("/orgs/{id}/team-members", post(team_member_submit))
        .route("/orgs/{id}/memberships/{mid}", post(membership_submit))
        .route("/volunteers", get(volunteers_page))
        .route("/volunteers/new", get(new_volunteer_page).post(new_volunteer_submit))
        .route("/volunteers/{id}", get(volunteer_page))
        .route("/volunteers/{id}/certificates", post(certificate_submit))
        .route("/volunteers/{id}/availability", post(availability_submit))
        .route("/volunteers/join", post(join_submit))
        .route("/training", get(training_page).post(training_submit))
        .route("/registry/import", get(import_page))
        .route(
            "/registry/import/preview",
            post(import_preview).layer(DefaultBodyLimit::max(crate::api::orgs::MAX_IMPORT_BYTES)),
        )
        .route(
            "/registry/import/confirm",
            post(import_confirm).layer(DefaultBodyLimit::max(crate::api::orgs::MAX_IMPORT_BYTES * 2)),
        )
}

fn opts(t: &crate::i18n::Tr, terms: &[Term]) -> Vec<(&'static str, String)> {
    terms.iter().map(|x| (x.0, t.pick(x.1, x.2).to_string())).collect()
}

fn msgs(t: &crate::i18n::Tr, e: &AppError) -> Option<Vec<String>> {
    match e {
        AppError::Validation(fe) => Some(fe.iter().map(|f| f.message(t.lang).to_string()).collect()),
        AppError::Conflict(x) => Some(vec![x.get(t.lang).to_string()]),
        _ => None,
    }
}

/// A list row with labels.
pub struct OrgRowView {
    /// The row.
    pub o: OrgListItem,
    /// Kind label.
    pub kind: String,
    /// State label.
    pub state: String,
    /// Overdue for inspection.
    pub overdue: bool,
    /// Grade label.
    pub grade: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct OrgsPage {
    l: Layout,
    p: ListParams,
    sel: Sel,
    kinds: Vec<(&'static str, String)>,
    states: Vec<(&'static str, String)>,
    domains: Vec<(&'static str, String)>,
    grades: Vec<(&'static str, String)>,
    rows: Vec<OrgRowView>,
    next: Option<String>,
    query: String,
    error: Option<String>,
    may_file: bool,
    may_import: bool,
    may_train: bool,
}

/// Selected filter values, for `selected` marks.
#[derive(Default)]
struct Sel {
    kind: String,
    state: String,
    domain: String,
    grade: String,
    skill: String,
    cert: String,
}

fn list_query(p: &ListParams) -> Vec<(&'static str, String)> {
    let g = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("q", g(&p.q)),
        ("division", g(&p.division)),
        ("kind", g(&p.kind)),
        ("state", g(&p.state)),
        ("domain", g(&p.domain)),
        ("grade", g(&p.grade)),
        ("insured", g(&p.insured)),
        ("overdue", g(&p.overdue)),
        ("sort", g(&p.sort)),
        ("order", g(&p.order)),
    ]
}

async fn orgs_page(State(st): State<AppState>, u: PageUser, Query(p): Query<ListParams>) -> Response {
    let l = page_layout(&u, "/orgs");
    let t = l.t;
    let a = &u.authed.actor;
    let base = list_query(&p);
    let query = serde_urlencoded::to_string(&base).unwrap_or_default();
    let (rows, next, error) = match filter_of(&st.app, a, &p).await {
        Ok(f) => match st.app.list_orgs(a, &f).await {
            Ok(page) => {
                let next = page.next_cursor.map(|c| {
                    let mut q = base.clone();
                    q.push(("cursor", c));
                    format!("/orgs?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
                });
                let rows = page
                    .items
                    .into_iter()
                    .map(|o| OrgRowView {
                        kind: vocab::label(&vocab::KINDS, &o.kind, t.zh()),
                        state: vocab::label(&vocab::STATES, &o.state, t.zh()),
                        grade: if o.grade.is_empty() {
                            String::new()
                        } else {
                            vocab::label(&vocab::GRADES, &o.grade, t.zh())
                        },
                        overdue: tongxin_app::registry::inspection_overdue(&o.state, o.last_inspection_year),
                        o,
                    })
                    .collect();
                (rows, next, None)
            }
            Err(e) => return error_page(l, &e),
        },
        Err(e) => match msgs(&t, &e) {
            Some(m) => (vec![], None, Some(m.join("；"))),
            None => return error_page(l, &e),
        },
    };
    render(&OrgsPage {
        kinds: opts(&t, &vocab::KINDS),
        states: opts(&t, &vocab::STATES),
        domains: opts(&t, &vocab::DOMAINS),
        grades: opts(&t, &vocab::GRADES),
        rows,
        next,
        query,
        error,
        may_file: matches!(a.role, Role::CivilAffairs | Role::SysAdmin)
            || (a.role == Role::OrgAdmin && a.org_id.is_none()),
        may_import: matches!(a.role, Role::CivilAffairs | Role::SysAdmin | Role::CommunityWorker | Role::OrgAdmin),
        may_train: matches!(a.role, Role::CivilAffairs | Role::SysAdmin | Role::Commander | Role::Supervisor),
        sel: Sel {
            kind: p.kind.clone().unwrap_or_default(),
            state: p.state.clone().unwrap_or_default(),
            domain: p.domain.clone().unwrap_or_default(),
            grade: p.grade.clone().unwrap_or_default(),
            ..Default::default()
        },
        p,
        l,
    })
}

#[derive(Template)]
#[template(path = "org_form.html")]
struct OrgFormPage {
    l: Layout,
    action: String,
    f: OrgForm,
    equipment: String,
    kinds: Vec<(&'static str, String)>,
    domains: Vec<(&'static str, String)>,
    specialties: Vec<(&'static str, String)>,
    grades: Vec<(&'static str, String)>,
    errors: Vec<String>,
}

fn org_form_page(l: Layout, action: String, f: OrgForm, errors: Vec<String>) -> OrgFormPage {
    let t = l.t;
    let equipment = f
        .equipment
        .as_ref()
        .map(|v| v.iter().map(|e| format!("{}x{}", e.name, e.quantity)).collect::<Vec<_>>().join("、"))
        .unwrap_or_default();
    OrgFormPage {
        kinds: opts(&t, &vocab::KINDS),
        domains: opts(&t, &vocab::DOMAINS),
        specialties: opts(&t, &vocab::SPECIALTIES),
        grades: opts(&t, &vocab::GRADES),
        equipment,
        l,
        action,
        f,
        errors,
    }
}

/// Builds a filing from form pairs (checkboxes repeat keys).
fn org_form_of(pairs: &[(String, String)]) -> OrgForm {
    let one = |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.trim().to_string()).unwrap_or_default();
    let many = |k: &str| pairs.iter().filter(|p| p.0 == k && !p.1.is_empty()).map(|p| p.1.clone()).collect::<Vec<_>>();
    let eq = one("equipment");
    OrgForm {
        name: one("name"),
        credit_code: one("credit_code"),
        kind: one("kind"),
        division_code: one("division_code"),
        address: one("address"),
        lon: one("lon").parse().ok(),
        lat: one("lat").parse().ok(),
        contact_name: one("contact_name"),
        contact_phone: one("contact_phone"),
        domains: many("domains"),
        specialties: many("specialties"),
        grade: one("grade"),
        people_count: one("people_count").parse().unwrap_or(0),
        equipment: Some(
            eq.split(['、', ',', '，'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| match x.rsplit_once(['x', 'X', '×']) {
                    Some((n, q)) if q.trim().parse::<i64>().is_ok() => tongxin_store::registry::Equipment {
                        name: n.trim().into(),
                        quantity: q.trim().parse().unwrap_or(1),
                        note: String::new(),
                    },
                    _ => tongxin_store::registry::Equipment { name: x.into(), quantity: 1, note: String::new() },
                })
                .collect(),
        ),
    }
}

async fn new_org_page(u: PageUser) -> Response {
    let l = page_layout(&u, "/orgs/new");
    let f = OrgForm { division_code: u.authed.actor.division_code.clone().unwrap_or_default(), ..Default::default() };
    render(&org_form_page(l, "/orgs/new".into(), f, vec![]))
}

async fn new_org_submit(
    State(st): State<AppState>,
    u: PageUser,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let l = page_layout(&u, "/orgs/new");
    let f = org_form_of(&pairs);
    match st.app.create_org(&u.authed.actor, &u.ctx, &f).await {
        Ok(id) => Redirect::to(&format!("/orgs/{id}")).into_response(),
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, render(&org_form_page(l, "/orgs/new".into(), f, m))).into_response()
            }
            None => error_page(l, &e),
        },
    }
}

async fn edit_org_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}/edit"));
    match st.app.org_detail(&u.authed.actor, &u.ctx, id, false).await {
        Ok(d) if d.may.contains(&"edit") => {
            let o = d.org;
            let f = OrgForm {
                name: o.name,
                credit_code: o.credit_code,
                kind: o.kind,
                division_code: o.division_code,
                address: o.address,
                lon: o.lon,
                lat: o.lat,
                contact_name: o.contact_name,
                contact_phone: String::new(),
                domains: o.domains.split(',').filter(|x| !x.is_empty()).map(String::from).collect(),
                specialties: o.specialties.split(',').filter(|x| !x.is_empty()).map(String::from).collect(),
                grade: o.grade,
                people_count: o.people_count,
                equipment: Some(d.equipment),
            };
            render(&org_form_page(l, format!("/orgs/{id}/edit"), f, vec![]))
        }
        Ok(_) => error_page(l, &AppError::Forbidden),
        Err(e) => error_page(l, &e),
    }
}

async fn edit_org_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}/edit"));
    let f = org_form_of(&pairs);
    match st.app.update_org(&u.authed.actor, &u.ctx, id, &f).await {
        Ok(()) => Redirect::to(&format!("/orgs/{id}")).into_response(),
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => (StatusCode::UNPROCESSABLE_ENTITY, render(&org_form_page(l, format!("/orgs/{id}/edit"), f, m)))
                .into_response(),
            None => error_page(l, &e),
        },
    }
}

#[derive(Template)]
#[template(path = "org_detail.html")]
struct OrgPage {
    l: Layout,
    d: OrgDetail,
    kind: String,
    state: String,
    domains: String,
    specialties: String,
    grade: String,
    history: Vec<(String, String, String, String)>,
    reviews: Vec<(i64, String, String, String, String)>,
    review_kinds: Vec<(&'static str, String)>,
    results: Vec<(&'static str, String)>,
    year: i64,
    message: Option<String>,
    /// (team name, approved members, their names).
    teams: Vec<(String, i64, String)>,
    specialty_opts: Vec<(&'static str, String)>,
    /// Approved members, each once: (volunteer id, name).
    members: Vec<(i64, String)>,
    pending: Vec<tongxin_store::registry::Membership>,
    may_decide_members: bool,
    today: String,
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    unmask: Option<bool>,
    msg: Option<String>,
}

async fn org_page(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}"));
    let t = l.t;
    let d = match st.app.org_detail(&u.authed.actor, &u.ctx, id, q.unmask.unwrap_or(false)).await {
        Ok(d) => d,
        Err(e) => return error_page(l, &e),
    };
    let zh = t.zh();
    let st_label = |k: &str| if k.is_empty() { String::new() } else { vocab::label(&vocab::STATES, k, zh) };
    let history = d
        .history
        .iter()
        .map(|h| {
            (
                super::beijing_time(h.at),
                st_label(&h.from_state),
                st_label(&h.to_state),
                format!("{} {}", h.username, h.reason),
            )
        })
        .collect();
    let reviews = d
        .reviews
        .iter()
        .map(|r| {
            let results: &[Term] = match r.kind.as_str() {
                "inspection" => &vocab::INSPECTION_RESULTS,
                "evaluation" => &vocab::EVAL_GRADES,
                _ => &vocab::SPOT_RESULTS,
            };
            (
                r.year,
                vocab::label(&vocab::REVIEW_KINDS, &r.kind, zh),
                vocab::label(results, &r.result, zh),
                r.findings.clone(),
                r.username.clone(),
            )
        })
        .collect();
    let mut results = opts(&t, &vocab::INSPECTION_RESULTS);
    results.extend(opts(&t, &vocab::EVAL_GRADES));
    results.extend(opts(&t, &vocab::SPOT_RESULTS));
    let a = &u.authed.actor;
    let memberships =
        if d.may.contains(&"teams") { st.app.org_memberships(a, id, None).await.unwrap_or_default() } else { vec![] };
    let teams = d
        .teams
        .iter()
        .map(|team| {
            let names: Vec<&str> = memberships
                .iter()
                .filter(|m| m.team_id == team.id && m.state == "approved")
                .map(|m| m.volunteer_name.as_str())
                .collect();
            (team.name.clone(), team.members, names.join("、"))
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let members: Vec<(i64, String)> = memberships
        .iter()
        .filter(|m| m.state == "approved" && seen.insert(m.volunteer_id))
        .map(|m| (m.volunteer_id, m.volunteer_name.clone()))
        .collect();
    let pending = memberships.into_iter().filter(|m| m.state == "pending").collect();
    let mut specialty_opts = opts(&t, &vocab::SPECIALTIES);
    specialty_opts
        .extend(opts(&t, &vocab::DOMAINS).into_iter().filter(|d| !vocab::SPECIALTIES.iter().any(|s| s.0 == d.0)));
    render(&OrgPage {
        teams,
        specialty_opts,
        members,
        pending,
        may_decide_members: a.role == Role::OrgAdmin && a.acts_for(id),
        today: tongxin_app::registry::today(),
        kind: vocab::label(&vocab::KINDS, &d.org.kind, zh),
        state: st_label(&d.org.state),
        domains: vocab::labels(&vocab::DOMAINS, &d.org.domains, zh),
        specialties: vocab::labels(&vocab::SPECIALTIES, &d.org.specialties, zh),
        grade: if d.org.grade.is_empty() { String::new() } else { vocab::label(&vocab::GRADES, &d.org.grade, zh) },
        history,
        reviews,
        review_kinds: opts(&t, &vocab::REVIEW_KINDS),
        results,
        year: tongxin_app::registry::current_year() - 1,
        message: q.msg,
        d,
        l,
    })
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn decision_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<DecisionForm>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}"));
    let Some(d) = Decision::parse(&f.decision) else { return error_page(l, &AppError::NotFound) };
    match st.app.decide_org(&u.authed.actor, &u.ctx, id, d, &f.reason).await {
        Ok(_) => Redirect::to(&format!("/orgs/{id}")).into_response(),
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => redirect_msg(id, &m.join("；")),
            None => error_page(l, &e),
        },
    }
}

fn redirect_msg(id: i64, m: &str) -> Response {
    Redirect::to(&format!("/orgs/{id}?{}", serde_urlencoded::to_string([("msg", m)]).unwrap_or_default()))
        .into_response()
}

#[derive(Deserialize)]
struct ReviewForm {
    kind: String,
    year: i64,
    result: String,
    #[serde(default)]
    findings: String,
}

async fn review_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ReviewForm>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}"));
    match st.app.add_review(&u.authed.actor, &u.ctx, id, &f.kind, f.year, &f.result, &f.findings).await {
        Ok(()) => Redirect::to(&format!("/orgs/{id}")).into_response(),
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => redirect_msg(id, &m.join("；")),
            None => error_page(l, &e),
        },
    }
}

/// Answers a detail-page form: back to the organisation, with the errors when there are any.
fn org_outcome(l: Layout, id: i64, r: Result<(), AppError>) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/orgs/{id}")).into_response(),
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => redirect_msg(id, &m.join("；")),
            None => error_page(l, &e),
        },
    }
}

#[derive(Deserialize)]
struct PolicyForm {
    #[serde(default)]
    insurer: String,
    #[serde(default)]
    policy_no: String,
    #[serde(default)]
    covered_people: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
}

async fn policy_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<PolicyForm>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}"));
    let p = tongxin_store::registry::Policy {
        insurer: f.insurer.trim().into(),
        policy_no: f.policy_no.trim().into(),
        covered_people: f.covered_people.trim().parse().unwrap_or(0),
        valid_from: f.valid_from.trim().into(),
        valid_to: f.valid_to.trim().into(),
    };
    let r = st.app.add_policy(&u.authed.actor, &u.ctx, id, &p).await;
    org_outcome(l, id, r)
}

#[derive(Deserialize)]
struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    specialty: String,
}

async fn team_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TeamForm>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}"));
    let r = st.app.create_team(&u.authed.actor, &u.ctx, id, &f.name, &f.specialty).await.map(|_| ());
    org_outcome(l, id, r)
}

#[derive(Deserialize)]
struct TeamMemberForm {
    team_id: i64,
    volunteer_id: i64,
}

async fn team_member_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TeamMemberForm>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}"));
    let a = &u.authed.actor;
    if !matches!(a.role, Role::CivilAffairs | Role::OrgAdmin | Role::SysAdmin) {
        return error_page(l, &AppError::Forbidden);
    }
    // The team must belong to the organisation whose page the form is on.
    let r = match st.app.org_detail(a, &u.ctx, id, false).await {
        Ok(d) if d.teams.iter().any(|t| t.id == f.team_id) => {
            st.app.add_team_member(a, &u.ctx, f.team_id, f.volunteer_id).await
        }
        Ok(_) => {
            Err(tongxin_app::invalid("team_id", "unknown", "请选择本组织的队伍", "Choose a team of this organisation"))
        }
        Err(e) => Err(e),
    };
    org_outcome(l, id, r)
}

#[derive(Deserialize)]
struct MembershipDecisionForm {
    decision: String,
}

async fn membership_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path((id, mid)): Path<(i64, i64)>,
    CsrfForm(f): CsrfForm<MembershipDecisionForm>,
) -> Response {
    let l = page_layout(&u, &format!("/orgs/{id}"));
    let r = match f.decision.as_str() {
        "approve" | "reject" => st.app.decide_membership(&u.authed.actor, &u.ctx, mid, f.decision == "approve").await,
        _ => Err(AppError::NotFound),
    };
    org_outcome(l, id, r)
}

#[derive(Template)]
#[template(path = "volunteers.html")]
struct VolunteersPage {
    l: Layout,
    p: VolParams,
    sel: Sel,
    rows: Vec<(VolView, String)>,
    skills: Vec<(&'static str, String)>,
    certs: Vec<(&'static str, String)>,
    next: Option<String>,
    query: String,
    error: Option<String>,
}

async fn volunteers_page(State(st): State<AppState>, u: PageUser, Query(p): Query<VolParams>) -> Response {
    let l = page_layout(&u, "/volunteers");
    let t = l.t;
    let a = &u.authed.actor;
    let g = |v: &Option<String>| v.clone().unwrap_or_default();
    let base = vec![
        ("q", g(&p.q)),
        ("division", g(&p.division)),
        ("skill", g(&p.skill)),
        ("cert", g(&p.cert)),
        ("insured", g(&p.insured)),
        ("available_now", g(&p.available_now)),
    ];
    let query = serde_urlencoded::to_string(&base).unwrap_or_default();
    let sk = vocab::skills();
    let (rows, next, error) = match vol_filter_of(&st.app, a, &p).await {
        Ok(f) => match st.app.list_volunteers(a, &f).await {
            Ok(page) => {
                let next = page.next_cursor.map(|c| {
                    let mut q = base.clone();
                    q.push(("cursor", c));
                    format!("/volunteers?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
                });
                let rows = page
                    .items
                    .into_iter()
                    .map(|v| {
                        let s = vocab::labels(&sk, &v.skills.join(","), t.zh());
                        (v, s)
                    })
                    .collect();
                (rows, next, None)
            }
            Err(e) => return error_page(l, &e),
        },
        Err(e) => match msgs(&t, &e) {
            Some(m) => (vec![], None, Some(m.join("；"))),
            None => return error_page(l, &e),
        },
    };
    let sel = Sel {
        skill: p.skill.clone().unwrap_or_default(),
        cert: p.cert.clone().unwrap_or_default(),
        ..Default::default()
    };
    render(&VolunteersPage {
        skills: opts(&t, &sk),
        certs: opts(&t, &vocab::CERT_KINDS),
        rows,
        next,
        query,
        error,
        sel,
        p,
        l,
    })
}

#[derive(Template)]
#[template(path = "volunteer_detail.html")]
struct VolunteerPage {
    l: Layout,
    v: VolView,
    skills_label: String,
    weekly_label: String,
    /// (kind label, certificate).
    certs: Vec<(String, tongxin_store::registry::Certificate)>,
    /// (membership, state label).
    memberships: Vec<(tongxin_store::registry::Membership, String)>,
    cert_kinds: Vec<(&'static str, String)>,
    slots: Vec<(&'static str, String)>,
    may_edit: bool,
    own: bool,
    message: Option<String>,
}

async fn volunteer_page(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let l = page_layout(&u, "/volunteers");
    let t = l.t;
    let a = &u.authed.actor;
    let (v, certs, memberships) = match st.app.volunteer_detail(a, &u.ctx, id, q.unmask.unwrap_or(false)).await {
        Ok(x) => x,
        Err(e) => return error_page(l, &e),
    };
    let own = a.role == Role::Volunteer || a.role == Role::Resident;
    let membership_state = |s: &str| match s {
        "approved" => t.pick("已加入", "member"),
        "pending" => t.pick("待组织审核", "awaiting approval"),
        _ => t.pick("未通过", "declined"),
    };
    render(&VolunteerPage {
        skills_label: vocab::labels(&vocab::skills(), &v.skills.join(","), t.zh()),
        weekly_label: vocab::labels(&vocab::WEEK_SLOTS, &v.weekly.join(","), t.zh()),
        certs: certs.into_iter().map(|c| (vocab::label(&vocab::CERT_KINDS, &c.kind, t.zh()), c)).collect(),
        memberships: memberships
            .into_iter()
            .map(|m| {
                let s = membership_state(&m.state).to_string();
                (m, s)
            })
            .collect(),
        cert_kinds: opts(&t, &vocab::CERT_KINDS),
        slots: opts(&t, &vocab::WEEK_SLOTS),
        may_edit: own || matches!(a.role, Role::OrgAdmin | Role::CivilAffairs | Role::CommunityWorker | Role::SysAdmin),
        own,
        message: q.msg,
        v,
        l,
    })
}

fn vol_outcome(l: Layout, id: i64, r: Result<(), AppError>) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/volunteers/{id}")).into_response(),
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => Redirect::to(&format!(
                "/volunteers/{id}?{}",
                serde_urlencoded::to_string([("msg", m.join("；"))]).unwrap_or_default()
            ))
            .into_response(),
            None => error_page(l, &e),
        },
    }
}

async fn certificate_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(c): CsrfForm<tongxin_store::registry::Certificate>,
) -> Response {
    let l = page_layout(&u, "/volunteers");
    let r = st.app.add_certificate(&u.authed.actor, &u.ctx, id, &c).await;
    vol_outcome(l, id, r)
}

async fn availability_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let l = page_layout(&u, "/volunteers");
    let weekly: Vec<String> = pairs.iter().filter(|p| p.0 == "weekly").map(|p| p.1.clone()).collect();
    let now_on = pairs.iter().any(|p| p.0 == "available_now" && p.1 == "on");
    let r = st.app.set_availability(&u.authed.actor, &u.ctx, id, &weekly, now_on).await;
    vol_outcome(l, id, r)
}

#[derive(Deserialize)]
struct JoinForm {
    #[serde(default)]
    back: i64,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    note: String,
}

async fn join_submit(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<JoinForm>) -> Response {
    let l = page_layout(&u, "/volunteers");
    let r = st.app.request_membership_by_code(&u.authed.actor, &u.ctx, &f.credit_code, &f.note).await.map(|_| ());
    // The caller asks for themself; `back` only says which page to return to.
    vol_outcome(l, f.back, r)
}

#[derive(Template)]
#[template(path = "training.html")]
struct TrainingPage {
    l: Layout,
    courses: Vec<tongxin_store::registry::Course>,
    may_record: bool,
    done: Option<i64>,
    errors: Vec<String>,
    title: String,
    starts_at: String,
    place: String,
    attendance: String,
}

#[derive(Deserialize, Default)]
struct TrainingForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    attendance: String,
}

async fn training_view(
    st: &AppState,
    u: &PageUser,
    f: TrainingForm,
    done: Option<i64>,
    errors: Vec<String>,
) -> Response {
    let l = page_layout(u, "/training");
    let a = &u.authed.actor;
    let courses = match st.app.list_courses(a).await {
        Ok(c) => c,
        Err(e) => return error_page(l, &e),
    };
    let page = TrainingPage {
        courses,
        may_record: matches!(a.role, Role::CivilAffairs | Role::SysAdmin),
        done,
        title: f.title,
        starts_at: f.starts_at,
        place: f.place,
        attendance: f.attendance,
        l,
        errors,
    };
    if page.errors.is_empty() {
        render(&page)
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
    }
}

async fn training_page(State(st): State<AppState>, u: PageUser) -> Response {
    training_view(&st, &u, TrainingForm::default(), None, vec![]).await
}

/// `YYYY-MM-DDTHH:MM` in Beijing time → unix ms.
fn beijing_local_ms(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t = time::PrimitiveDateTime::parse(s.trim(), fmt).ok()?;
    Some(t.assume_offset(time::macros::offset!(+8)).unix_timestamp() * 1000)
}

async fn training_submit(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<TrainingForm>) -> Response {
    // Who may record is decided before the form is read, so a refusal is a refusal (403).
    if !matches!(u.authed.actor.role, Role::CivilAffairs | Role::SysAdmin) {
        return error_page(page_layout(&u, "/training"), &AppError::Forbidden);
    }
    let t = page_layout(&u, "/training").t;
    let Some(at) = beijing_local_ms(&f.starts_at) else {
        let e = t.pick("开始时间格式应为 YYYY-MM-DDTHH:MM", "Start time must be YYYY-MM-DDTHH:MM").to_string();
        return training_view(&st, &u, f, None, vec![e]).await;
    };
    match st.app.record_training_lines(&u.authed.actor, &u.ctx, &f.title, at, &f.place, &f.attendance).await {
        Ok(id) => training_view(&st, &u, TrainingForm::default(), Some(id), vec![]).await,
        Err(e) => match msgs(&t, &e) {
            Some(m) => training_view(&st, &u, f, None, m).await,
            None => error_page(page_layout(&u, "/training"), &e),
        },
    }
}

#[derive(Template)]
#[template(path = "volunteer_form.html")]
struct VolunteerFormPage {
    l: Layout,
    f: VolForm,
    skills: Vec<(&'static str, String)>,
    slots: Vec<(&'static str, String)>,
    errors: Vec<String>,
    done: Option<i64>,
}

async fn new_volunteer_page(u: PageUser) -> Response {
    let l = page_layout(&u, "/volunteers/new");
    let t = l.t;
    let f = VolForm { division_code: u.authed.actor.division_code.clone().unwrap_or_default(), ..Default::default() };
    render(&VolunteerFormPage {
        skills: opts(&t, &vocab::skills()),
        slots: opts(&t, &vocab::WEEK_SLOTS),
        f,
        errors: vec![],
        done: None,
        l,
    })
}

async fn new_volunteer_submit(
    State(st): State<AppState>,
    u: PageUser,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let l = page_layout(&u, "/volunteers/new");
    let t = l.t;
    let one = |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.trim().to_string()).unwrap_or_default();
    let many = |k: &str| pairs.iter().filter(|p| p.0 == k).map(|p| p.1.clone()).collect::<Vec<_>>();
    let f = VolForm {
        name: one("name"),
        id_number: one("id_number"),
        phone: one("phone"),
        division_code: one("division_code"),
        skills: many("skills"),
        insured: one("insured") == "on",
        weekly: many("weekly"),
        available_now: one("available_now") == "on",
        ..Default::default()
    };
    let (skills, slots) = (opts(&t, &vocab::skills()), opts(&t, &vocab::WEEK_SLOTS));
    match st.app.register_volunteer(&u.authed.actor, &u.ctx, &f).await {
        Ok(id) => {
            render(&VolunteerFormPage { skills, slots, f: VolForm::default(), errors: vec![], done: Some(id), l })
        }
        Err(e) => match msgs(&t, &e) {
            Some(m) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&VolunteerFormPage { skills, slots, f, errors: m, done: None, l }),
            )
                .into_response(),
            None => error_page(l, &e),
        },
    }
}

#[derive(Template)]
#[template(path = "registry_import.html")]
struct ImportPage {
    l: Layout,
    which: String,
    report: Option<ImportReport>,
    file_b64: String,
    all_or_nothing: bool,
    errors: Vec<String>,
    confirmed: bool,
}

async fn import_page(u: PageUser) -> Response {
    let l = page_layout(&u, "/registry/import");
    render(&ImportPage {
        l,
        which: "volunteers".into(),
        report: None,
        file_b64: String::new(),
        all_or_nothing: false,
        errors: vec![],
        confirmed: false,
    })
}

async fn run_import(
    st: &AppState,
    u: &PageUser,
    which: &str,
    bytes: &[u8],
    opt: ImportOptions,
) -> Result<ImportReport, AppError> {
    let a = &u.authed.actor;
    if which == "organizations" {
        st.app.import_orgs(a, &u.ctx, bytes, opt).await
    } else {
        st.app.import_volunteers(a, &u.ctx, bytes, opt).await
    }
}

async fn import_preview(State(st): State<AppState>, u: PageUser, mut mp: Multipart) -> Response {
    let l = page_layout(&u, "/registry/import");
    let (mut csrf, mut which, mut aon, mut file) = (String::new(), String::from("volunteers"), false, Vec::new());
    loop {
        match mp.next_field().await {
            Ok(Some(f)) => {
                let name = f.name().unwrap_or("").to_string();
                let Ok(data) = f.bytes().await else {
                    return (StatusCode::BAD_REQUEST, "upload failed").into_response();
                };
                match name.as_str() {
                    "_csrf" => csrf = String::from_utf8_lossy(&data).into_owned(),
                    "which" => which = String::from_utf8_lossy(&data).into_owned(),
                    "all_or_nothing" => aon = true,
                    "file" => file = data.to_vec(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    l.t.pick("上传失败或文件过大", "Upload failed or file too large").to_string(),
                )
                    .into_response()
            }
        }
    }
    if csrf.is_empty() || !constant_eq(&csrf, &u.authed.csrf) {
        return (
            StatusCode::FORBIDDEN,
            l.t.pick("表单已过期或来源不明，请刷新页面后重试", "The form expired; reload and try again").to_string(),
        )
            .into_response();
    }
    let opt = ImportOptions { dry_run: true, all_or_nothing: aon };
    match run_import(&st, &u, &which, &file, opt).await {
        Ok(r) => {
            let file_b64 = base64::engine::general_purpose::STANDARD.encode(&file);
            render(&ImportPage {
                l,
                which,
                report: Some(r),
                file_b64,
                all_or_nothing: aon,
                errors: vec![],
                confirmed: false,
            })
        }
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&ImportPage {
                    l,
                    which,
                    report: None,
                    file_b64: String::new(),
                    all_or_nothing: aon,
                    errors: m,
                    confirmed: false,
                }),
            )
                .into_response(),
            None => error_page(l, &e),
        },
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    which: String,
    file_b64: String,
    #[serde(default)]
    all_or_nothing: String,
}

async fn import_confirm(State(st): State<AppState>, u: PageUser, CsrfForm(f): CsrfForm<ConfirmForm>) -> Response {
    let l = page_layout(&u, "/registry/import");
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(f.file_b64.as_bytes()) else {
        return error_page(l, &AppError::NotFound);
    };
    let aon = f.all_or_nothing == "1";
    match run_import(&st, &u, &f.which, &bytes, ImportOptions { dry_run: false, all_or_nothing: aon }).await {
        Ok(r) => render(&ImportPage {
            l,
            which: f.which,
            report: Some(r),
            file_b64: String::new(),
            all_or_nothing: aon,
            errors: vec![],
            confirmed: true,
        }),
        Err(e) => match msgs(&l.t, &e) {
            Some(m) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&ImportPage {
                    l,
                    which: f.which,
                    report: None,
                    file_b64: String::new(),
                    all_or_nothing: aon,
                    errors: m,
                    confirmed: false,
                }),
            )
                .into_response(),
            None => error_page(l, &e),
        },
    }
}
