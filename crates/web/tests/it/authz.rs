//! The authorization matrix (issue 11, item 5): every route of the router × every role (and
//! anonymous) × objects of the caller's own and of another jurisdiction and organisation, checked
//! against one declared matrix ([`MATRIX`]) on every backend.
//!
//! Routes are not listed by hand: [`source_routes`] reads every `.route(...)` call in the web
//! crate's source, so a new route without a matrix entry fails [`matrix_covers_every_route`], and
//! a matrix entry without a route fails it too. The "other" objects are real rows moved to a second
//! city (无锡, outside every demo account's jurisdiction) and to a second organisation, so even the
//! city-wide roles have an "other" they must not see: by id, reads and writes answer 404.
//!
//! Lists, pages, exports and feeds are checked too: the objects carry marked texts, and no answer
//! to an account outside an object's scope may show its mark. `TONGXIN_AUTHZ_RECORD=1` prints what
//! every account got on every route (and how often each mark was shown, so the check is seen to bite).

use crate::TestApp;
use std::collections::{BTreeMap, BTreeSet};
use tongxin_domain::division::{self, DivisionRow, Level};
use tongxin_domain::fake::Faker;

// ------------------------------------------------------------------ routes from the source

/// (method, path) of every `.route(...)` in `crates/web/src`, with the `/api/v1` nest applied to
/// the files under `src/api/` (paths already starting with `/api/` are mounted as written).
fn source_routes() -> BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut out = BTreeSet::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        // The parser knows one nest (`/api/v1` in lib.rs); any other way of adding routes must be
        // taught to it first.
        for banned in [".nest(\"", ".nest_service(", ".route_service(", "routing::any(", "routing::on("] {
            let n = src.matches(banned).count();
            let allowed = usize::from(rel == "lib.rs" && banned == ".nest(\"");
            assert!(n <= allowed, "{rel}: `{banned}` is not understood by the route enumeration");
        }
        let prefix = if rel.starts_with("api/") { "/api/v1" } else { "" };
        for (method, path) in parse_routes(&src) {
            let full = if path.starts_with("/api/") || prefix.is_empty() { path } else { format!("{prefix}{path}") };
            assert!(out.insert((method.clone(), full.clone())), "route {method} {full} declared twice");
        }
    }
    out
}

/// Every `.route("path", get(..).post(..)...)` in `src`: the method-router functions called at
/// the top level of the second argument.
fn parse_routes(src: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let b = src.as_bytes();
    let mut at = 0;
    while let Some(i) = src[at..].find(".route(") {
        let mut j = at + i + ".route(".len();
        at = j;
        while b[j].is_ascii_whitespace() {
            j += 1;
        }
        assert_eq!(b[j], b'"', "route path must be a string literal near: {}", &src[at..at + 60]);
        let end = j + 1 + src[j + 1..].find('"').unwrap();
        let path = src[j + 1..end].to_string();
        let (mut k, mut depth) = (end + 1, 0i32);
        let mut methods = vec![];
        while depth >= 0 {
            match b[k] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'"' => k += src[k + 1..].find('"').unwrap() + 1,
                c if depth == 0 && (c.is_ascii_alphabetic() || c == b'_') => {
                    let s = k;
                    while b[k].is_ascii_alphanumeric() || b[k] == b'_' {
                        k += 1;
                    }
                    let ident = &src[s..k];
                    if b[k] == b'(' {
                        match ident {
                            "get" | "post" | "put" | "delete" | "patch" => methods.push(ident.to_uppercase()),
                            "layer" | "max" => {}
                            other => panic!("route {path}: unknown method-router call `{other}(`"),
                        }
                    }
                    continue;
                }
                _ => {}
            }
            k += 1;
        }
        assert!(!methods.is_empty(), "route {path} has no method");
        out.extend(methods.into_iter().map(|m| (m, path.clone())));
    }
    out
}

#[test]
fn the_route_parser_reads_chained_and_layered_method_routers() {
    let src = r#"Router::new()
        .route("/a", get(x).post(y))
        .route(
            "/b/{id}",
            post(import).layer(DefaultBodyLimit::max(crate::X * 2)),
        )
        .route("/c", axum::routing::put(super::v::set))"#;
    let got = parse_routes(src);
    let want: Vec<(String, String)> =
        [("GET", "/a"), ("POST", "/a"), ("POST", "/b/{id}"), ("PUT", "/c")].map(|(m, p)| (m.into(), p.into())).into();
    assert_eq!(got, want);
}

// ------------------------------------------------------------------ the declared matrix

/// What a route's path id names, for the own/other fixture objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// No object in the path (lists, creates, fixed pages) or a literal (template name, day).
    Fixed,
    Division,
    Grid,
    Round,
    Household,
    Vulnerable,
    WorkOrder,
    WoTrack,
    Complaint,
    ComplaintTrack,
    ComplaintFile,
    /// A photo of the own or the other incident.
    IncidentPhoto,
    Alert,
    CapFile,
    Outbox,
    Incident,
    Task,
    Mobilisation,
    Assignment,
    Hours,
    Org,
    /// An organisation a volunteer may ask to join wherever it is (not scoped by design).
    OrgAny,
    Membership,
    Volunteer,
    Building,
    Responder,
    /// A second responder for the removal routes, so edits never meet a removed one.
    RemovedResponder,
    Notification,
    /// Not in a path: a closed incident in the own grid that merges answer 409 against.
    MergeInto,
    /// Not in a path: texts put into objects, with the accounts that may see them.
    Marks,
}

/// The demo accounts by matrix letter: C commander (city), M minzheng (Gusu civil affairs),
/// S shequ (平江街道 community worker), W wangge (grid worker), O zuzhi (organisation admin of
/// organisation 1), V zhiyuan (volunteer of organisation 1), R jumin (resident), J jiandu
/// (supervisor, city), A admin (system administrator, city).
const ACCOUNTS: [(char, &str); 9] = [
    ('C', "commander"),
    ('M', "minzheng"),
    ('S', "shequ"),
    ('W', "wangge"),
    ('O', "zuzhi"),
    ('V', "zhiyuan"),
    ('R', "jumin"),
    ('J', "jiandu"),
    ('A', "admin"),
];

// ------------------------------------------------------------------ fixture objects

/// One object a path id can name.
#[derive(Debug, Clone)]
struct Target {
    /// "own", "other", "own-jur/other-org", "other-jur/own-org".
    label: &'static str,
    /// The path value.
    value: String,
    /// The accounts (letters of [`ACCOUNTS`]) whose scope holds the object: by jurisdiction, by
    /// organisation, or as its owner (the volunteer of an assignment, the addressee of a
    /// notification). Every other account, even one allowed on the route, must get 404.
    seen_by: String,
}

/// Accounts whose jurisdiction holds wangge's grid (volunteers, residents and organisation admins
/// act without a jurisdiction).
const GRID: &str = "CMSWJA";
/// Accounts whose jurisdiction holds the demo street (the grid worker's grid lies below it).
const STREET: &str = "CMSJA";

const WUXI: [(&str, &str, Level, Option<&str>); 4] = [
    ("320200000000", "无锡市", Level::City, None),
    ("320213000000", "梁溪区", Level::District, Some("320200000000")),
    ("320213001000", "崇安寺街道", Level::Street, Some("320213000000")),
    ("320213001001", "测试社区", Level::Community, Some("320213001000")),
];

/// The text of every "other" object: no answer to any account may contain it.
const MARKER: &str = "ZZ-WUXI-OUT-OF-SCOPE-ZZ";

/// A bind value of [`exec`].
enum B<'a> {
    I(i64),
    S(&'a str),
    X(&'a [u8]),
}
use B::{I, S, X};

/// Runs one fixture statement (moving rows to the other city or organisation).
async fn exec(t: &TestApp, sql: &str, binds: &[B<'_>]) -> u64 {
    let mut tx = t.app.store.begin().await.unwrap();
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            I(n) => q.bind(*n),
            S(s) => q.bind(s.to_string()),
            X(x) => q.bind(x.to_vec()),
        };
    }
    let n = q.execute(&mut *tx).await.unwrap_or_else(|e| panic!("{sql}: {e}")).rows_affected();
    tx.commit().await.unwrap();
    n
}

async fn ids(t: &TestApp, sql: &str) -> Vec<i64> {
    let rows = sqlx::query(sql).fetch_all(t.app.store.reader()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter().map(|r| tongxin_store::col::<i64>(r, "id").unwrap()).collect()
}

fn target(label: &'static str, value: impl ToString, seen_by: &str) -> Target {
    Target { label, value: value.to_string(), seen_by: seen_by.to_string() }
}

/// An own object seen by `seen_by`, and the other one (无锡, organisation 2) seen by nobody.
fn own_other(own: impl ToString, other: impl ToString, seen_by: &str) -> Vec<Target> {
    vec![target("own", own, seen_by), target("other", other, "")]
}

/// Builds the fixture: the demo data of `serve --demo` on the fixture street, a second city
/// (无锡) with one grid, and, for every kind of object, one in the own jurisdiction (wangge's grid,
/// organisation 1) and one moved to 无锡 (organisation 2, itself moved to 无锡).
#[allow(clippy::too_many_lines)]
async fn fixture(t: &TestApp) -> BTreeMap<Kind, Vec<Target>> {
    let app = &t.app;
    let street = app.store.division(tongxin_app::seed::DEMO_STREET).await.unwrap();
    let community = app.store.division_children(&street.code).await.unwrap().remove(0);
    let grids = app.store.division_children(&community.code).await.unwrap();
    let (g1, g2) = (grids[0].clone(), grids[1].clone());
    *OWN_GRID.lock().unwrap() = g1.code.clone();
    let wangge = app.store.user_by_username("wangge").await.unwrap();
    assert_eq!(wangge.division_code.as_deref(), Some(g1.code.as_str()), "wangge works the first grid");

    // 无锡: a city outside every demo account's jurisdiction, down to one grid.
    let mut rows: Vec<DivisionRow> = WUXI
        .iter()
        .map(|(c, n, l, p)| DivisionRow {
            code: c.to_string(),
            name: n.to_string(),
            level: *l,
            parent: p.map(str::to_string),
        })
        .collect();
    rows.extend(tongxin_app::divisions::grid_rows("320213001001", 1));
    let paths = division::paths(&rows, "");
    let (wx_grid, wx_path) = (rows[4].code.clone(), paths[4].clone());
    let mut tx = app.store.begin().await.unwrap();
    tongxin_store::divisions::insert_rows(&mut tx, &rows, &paths).await.unwrap();
    let mut f = Faker::new(5);
    let names = |_: &str| "平江街道".to_string();
    let fixture_grids = tongxin_app::divisions::grid_rows(&community.code, 2);
    assert_eq!((fixture_grids[0].code.as_str(), fixture_grids[1].code.as_str()), (g1.code.as_str(), g2.code.as_str()));
    app.seed_base_data(&mut tx, &mut f, &fixture_grids, &[g1.path.clone(), g2.path.clone()], 4, &names, false)
        .await
        .unwrap();
    // Organisation 3: same jurisdiction as organisation 1, another organisation.
    let org3 = tongxin_store::registry::NewOrg {
        id: 3,
        name: "姑苏区平江志愿服务队".into(),
        credit_code: "51320500MJ000003X".into(),
        kind: "social_service".into(),
        division_code: street.code.clone(),
        division_path: street.path.clone(),
        address: String::new(),
        lon: 120.63,
        lat: 31.31,
        contact_name: "李四".into(),
        contact_phone: "13812345678".into(),
        domains: "elderly".into(),
        people_count: 8,
        state: "verified".into(),
    };
    tongxin_store::registry::insert_orgs(&mut tx, &[org3], 0).await.unwrap();
    tongxin_store::registry::sync_org_ids(&mut tx, app.store.backend()).await.unwrap();
    // Volunteers: zhiyuan's own record, and one per (jurisdiction, organisation) combination.
    let zhiyuan = app.store.user_by_username("zhiyuan").await.unwrap().id;
    let vol = |k: i64, code: &str, path: &str, org: i64| tongxin_store::registry::NewVolunteer {
        name: format!("志愿者{k}"),
        id_hash: format!("authz-idhash-{k}"),
        id_enc: String::new(),
        phone_enc: String::new(),
        phone_hash: format!("authz-ph-{k}"),
        birth_year: 1990,
        real_name: true,
        division_code: code.to_string(),
        division_path: path.to_string(),
        lon: Some(120.6335 + k as f64 * 0.001),
        lat: Some(31.3172),
        skills: "first_aid,logistics".into(),
        insured: true,
        org_id: Some(org),
        weekly: String::new(),
        available_now: true,
        cert_kinds: String::new(),
        user_id: (k == 0).then_some(zhiyuan),
    };
    let vols = [
        vol(0, &g1.code, &g1.path, 1),
        vol(1, &g1.code, &g1.path, 1),
        vol(2, &g1.code, &g1.path, 3),
        vol(3, &g1.code, &g1.path, 1),
        vol(4, &g1.code, &g1.path, 2),
    ];
    tongxin_store::registry::insert_volunteers(&mut tx, &vols, 0).await.unwrap();
    tx.commit().await.unwrap();
    app.seed_grids().await.unwrap();
    app.seed_alerts().await.unwrap();
    app.seed_incidents().await.unwrap();
    app.seed_workorders().await.unwrap();

    // Check rounds on both fixture grids (the second one moves to 无锡 below).
    let (sq, csrf) = t.login("shequ").await;
    for g in [&g1, &g2] {
        let r = sq
            .post(t.url(&format!("/api/v1/grids/{}/rounds", g.code)))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"title": "走访"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "round on {}", g.code);
    }

    // A second task (the demo has one), on the first incident.
    let (cmd, ccsrf) = t.login("commander").await;
    let incident = ids(t, "SELECT id FROM incidents ORDER BY id").await[0];
    let r = cmd
        .post(t.url("/api/v1/tasks"))
        .header("x-csrf-token", &ccsrf)
        .json(&serde_json::json!({"incident_id": incident, "title": "转移老人", "skill": "first_aid", "head_count": 1,
            "lon": 120.6335, "lat": 31.3172}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "task");

    let mut out: BTreeMap<Kind, Vec<Target>> = BTreeMap::new();
    let own_p = g1.path.as_str();
    let wx = wx_path.as_str();
    // Organisation 2 moves to 无锡.
    exec(t, "UPDATE organizations SET division_code = $1, division_path = $2 WHERE id = 2", &[S(&wx_grid), S(wx)])
        .await;
    out.insert(
        Kind::Org,
        vec![
            // Organisations file at the street: the grid worker's grid does not hold them.
            target("own", 1, &format!("{STREET}OV")),
            target("own-jur/other-org", 3, STREET),
            target("other", 2, ""),
        ],
    );
    // Volunteers by id: (g1, org 1) own, (g1, org 3), (无锡, org 1), (无锡, org 2). The 无锡 ones
    // live there, too far to be proposed for a task in 苏州 (a task shows who was offered it).
    let v = ids(t, "SELECT id FROM volunteers WHERE id_hash LIKE 'authz-%' ORDER BY id").await;
    exec(
        t,
        "UPDATE volunteers SET division_code = $1, division_path = $2, lon = 120.30, lat = 31.57 WHERE id IN ($3, $4)",
        &[S(&wx_grid), S(wx), I(v[3]), I(v[4])],
    )
    .await;
    out.insert(
        Kind::Volunteer,
        vec![
            target("own", v[1], &format!("{GRID}O")),
            target("own-jur/other-org", v[2], GRID),
            target("other-jur/own-org", v[3], "O"),
            target("other", v[4], ""),
        ],
    );
    // Memberships: requests to organisation 1 (own) and to organisation 2 (other).
    for (vid, org) in [(v[1], 1), (v[4], 2)] {
        exec(
            t,
            "INSERT INTO memberships (volunteer_id, org_id, team_id, state, requested_at) VALUES ($1, $2, 0, 'requested', 0)",
            &[I(vid), I(org)],
        )
        .await;
    }
    let m = ids(t, "SELECT id FROM memberships ORDER BY id").await;
    out.insert(Kind::Membership, own_other(m[m.len() - 2], m[m.len() - 1], &format!("{STREET}OV")));

    // Jurisdiction-bound rows: the first stays (moved into wangge's grid), the last moves to 无锡.
    let grid_bound = |table: &'static str| {
        (
            format!("UPDATE {table} SET grid_code = $1, division_path = $2 WHERE id = $3"),
            format!("SELECT id FROM {table} WHERE grid_code = '{}' ORDER BY id", g1.code),
            format!("SELECT id FROM {table} WHERE grid_code = '{}' ORDER BY id", g2.code),
        )
    };
    for (kind, table) in
        [(Kind::Round, "check_rounds"), (Kind::Household, "households"), (Kind::Vulnerable, "vulnerable_people")]
    {
        let (upd, q1, q2) = grid_bound(table);
        let own = ids(t, &q1).await[0];
        let other = ids(t, &q2).await[0];
        exec(t, &upd, &[S(&wx_grid), S(wx), I(other)]).await;
        out.insert(kind, own_other(own, other, GRID));
    }
    // Buildings and local responders: the first of the city moves into wangge's grid, the last to 无锡.
    for (kind, table, nth) in [
        (Kind::Building, "buildings", 0),
        (Kind::Responder, "grid_responders", 0),
        (Kind::RemovedResponder, "grid_responders", 1),
    ] {
        let (upd, _, _) = grid_bound(table);
        // Enough rows for an own and an other target each (copies of the first when the seed is small).
        for _ in 0..4 {
            if ids(t, &format!("SELECT id FROM {table} ORDER BY id")).await.len() >= 4 || table != "grid_responders" {
                break;
            }
            exec(
                t,
                "INSERT INTO grid_responders (grid_code, division_path, kind, name, zone, active, created_at) \
                 SELECT grid_code, division_path, kind, name, zone, 1, created_at FROM grid_responders \
                 WHERE id = (SELECT MIN(id) FROM grid_responders)",
                &[],
            )
            .await;
        }
        let all = ids(t, &format!("SELECT id FROM {table} ORDER BY id")).await;
        assert!(all.len() >= 2 * (nth + 1), "{table}: need {} rows, have {}", 2 * (nth + 1), all.len());
        let (own, other) = (all[nth], all[all.len() - 1 - nth]);
        exec(t, &upd, &[S(&g1.code), S(&g1.path), I(own)]).await;
        exec(t, &upd, &[S(&wx_grid), S(wx), I(other)]).await;
        out.insert(kind, own_other(own, other, GRID));
    }
    // The own incident and task involve organisation 1 (the demo task is offered to its
    // volunteers); the own work order was filed by the resident and handed to organisation 1,
    // whose admin (not its volunteers) handles it.
    let all = "CMSWOVRJA";
    for (kind, table, seen) in [
        (Kind::Incident, "incidents", "CMSWJAOV"),
        (Kind::Task, "tasks", "CMSWJAOV"),
        (Kind::Alert, "alerts", GRID),
        (Kind::WorkOrder, "work_orders", "CMSWJAOR"),
        (Kind::Complaint, "complaints", GRID),
    ] {
        let all = ids(t, &format!("SELECT id FROM {table} ORDER BY id")).await;
        assert!(all.len() >= 2, "{table}: need two rows, have {}", all.len());
        let (own, other) = (all[0], all[all.len() - 1]);
        let upd = format!("UPDATE {table} SET division_code = $1, division_path = $2 WHERE id = $3");
        exec(t, &upd, &[S(&g1.code), S(own_p), I(own)]).await;
        exec(t, &upd, &[S(&wx_grid), S(wx), I(other)]).await;
        if matches!(kind, Kind::WorkOrder | Kind::Complaint) {
            let upd = format!("UPDATE {table} SET district_code = $1, street_code = $2 WHERE id = $3");
            exec(t, &upd, &[S(&street.code[..6]), S(&street.code), I(own)]).await;
            exec(t, &upd, &[S("320213"), S("320213001000"), I(other)]).await;
        }
        out.insert(kind, own_other(own, other, seen));
    }
    // The other objects were made by demo accounts; their makers see them by design (a reporter
    // sees the incident reported). Hand them to a stranger so only scope decides.
    let mut tx = app.store.begin().await.unwrap();
    let stranger = tongxin_store::users::create(
        &mut tx,
        &tongxin_store::users::NewUser {
            username: "stranger".into(),
            display_name: "无锡居民".into(),
            password_hash: "x".into(),
            role: "resident".into(),
            division_code: None,
            division_path: None,
            org_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for (kind, table, cols) in [
        (Kind::Incident, "incidents", &["reporter_id"][..]),
        (Kind::Task, "tasks", &["created_by"][..]),
        (Kind::Alert, "alerts", &["created_by", "approved_by"][..]),
        (Kind::Round, "check_rounds", &["started_by"][..]),
        (Kind::WorkOrder, "work_orders", &["requester_user_id", "filed_by_user_id", "assignee_user_id"][..]),
        (Kind::Complaint, "complaints", &["complainant_user_id", "handler_user_id", "subject_user_id"][..]),
    ] {
        let other: i64 = out[&kind][1].value.parse().unwrap();
        for col in cols {
            exec(
                t,
                &format!("UPDATE {table} SET {col} = $1 WHERE id = $2 AND {col} IS NOT NULL"),
                &[I(stranger), I(other)],
            )
            .await;
        }
    }
    exec(
        t,
        "UPDATE incident_reporters SET user_id = $1 WHERE incident_id = $2",
        &[I(stranger), I(out[&Kind::Incident][1].value.parse().unwrap())],
    )
    .await;
    // Mark the other objects' texts: no list, page, export or feed may show them to anyone.
    let other_of = |k: Kind| out[&k].iter().find(|x| x.label == "other").unwrap().value.parse::<i64>().unwrap();
    for (table, col, id) in [
        ("incidents", "title", other_of(Kind::Incident)),
        ("tasks", "title", other_of(Kind::Task)),
        ("alerts", "headline", other_of(Kind::Alert)),
        ("work_orders", "description", other_of(Kind::WorkOrder)),
        ("complaints", "description", other_of(Kind::Complaint)),
        ("check_rounds", "title", other_of(Kind::Round)),
        ("organizations", "name", 2),
        ("volunteers", "name", other_of(Kind::Volunteer)),
    ] {
        let n = exec(t, &format!("UPDATE {table} SET {col} = $1 WHERE id = $2"), &[S(MARKER), I(id)]).await;
        assert_eq!(n, 1, "{table} {id}");
    }
    // Own objects get a marker of their own: an answer to an account outside the object's
    // `seen_by` must not show it either (a list is scoped like a read by id).
    let mut marks = vec![(MARKER.to_string(), String::new())];
    let labelled = |k: Kind, label: &str| out[&k].iter().find(|x| x.label == label).unwrap().clone();
    for (kind, label, table, col) in [
        (Kind::Incident, "own", "incidents", "title"),
        (Kind::Task, "own", "tasks", "title"),
        (Kind::Round, "own", "check_rounds", "title"),
        (Kind::Complaint, "own", "complaints", "description"),
        (Kind::Volunteer, "own", "volunteers", "name"),
        (Kind::Volunteer, "own-jur/other-org", "volunteers", "name"),
        (Kind::Volunteer, "other-jur/own-org", "volunteers", "name"),
    ] {
        let tg = labelled(kind, label);
        let mark = format!("ZZ-{kind:?}-{label}-ZZ");
        exec(t, &format!("UPDATE {table} SET {col} = $1 WHERE id = $2"), &[S(&mark), I(tg.value.parse().unwrap())])
            .await;
        marks.push((mark, tg.seen_by));
    }
    out.insert(
        Kind::Marks,
        marks.into_iter().map(|(m, seen)| Target { label: "mark", value: m, seen_by: seen }).collect(),
    );
    let alerts = out[&Kind::Alert].clone();
    out.insert(
        Kind::CapFile,
        alerts.iter().map(|a| Target { value: format!("{}.xml", a.value), ..a.clone() }).collect(),
    );
    // Organisation-bound rows of the incident side.
    let inc = out[&Kind::Incident].clone();
    for (i, (org, path)) in [(1, own_p), (2, wx)].into_iter().enumerate() {
        exec(
            t,
            "INSERT INTO mobilisations (incident_id, org_id, level, mode, requested, state, notified_at, division_path) \
             VALUES ($1, $2, 4, 'standby', 5, 'notified', 0, $3)",
            &[I(inc[i].value.parse().unwrap()), I(org), S(path)],
        )
        .await;
    }
    let mobs = ids(t, "SELECT id FROM mobilisations ORDER BY id").await;
    out.insert(Kind::Mobilisation, own_other(mobs[mobs.len() - 2], mobs[mobs.len() - 1], "OV"));
    let asg = ids(t, "SELECT id FROM task_assignments ORDER BY id").await;
    assert!(asg.len() >= 2, "assignments: {asg:?}");
    let upd = "UPDATE task_assignments SET org_id = $1, division_path = $2, volunteer_id = $3 WHERE id = $4";
    exec(t, upd, &[I(1), S(own_p), I(v[0]), I(asg[0])]).await;
    exec(t, upd, &[I(2), S(wx), I(v[4]), I(asg[asg.len() - 1])]).await;
    // The other assignment works on the other task (an own task may well show who works on it).
    let other_task = out[&Kind::Task][1].value.parse::<i64>().unwrap();
    exec(t, "UPDATE task_assignments SET task_id = $1 WHERE id = $2", &[I(other_task), I(asg[asg.len() - 1])]).await;
    out.insert(Kind::Assignment, own_other(asg[0], asg[asg.len() - 1], "OV"));
    for (a, vid, org, path) in [(asg[0], v[0], 1, own_p), (asg[asg.len() - 1], v[4], 2, wx)] {
        exec(
            t,
            "INSERT INTO service_hours (volunteer_id, assignment_id, task_id, org_id, checkin_at, checkout_at, minutes, \
             division_path, created_at) SELECT $1, id, task_id, $2, 0, 3600000, 60, $3, 0 FROM task_assignments WHERE id = $4",
            &[I(vid), I(org), S(path), I(a)],
        )
        .await;
    }
    let hrs = ids(t, "SELECT id FROM service_hours ORDER BY id").await;
    out.insert(Kind::Hours, own_other(hrs[hrs.len() - 2], hrs[hrs.len() - 1], "OV"));

    // Objects not scoped by jurisdiction: divisions are public reference data; the rest are found
    // by their own keys (tracking codes, files, outbox rows, notifications).
    out.insert(
        Kind::Division,
        vec![
            // Divisions: the jurisdiction, its subtree and the branch above it.
            target("own", &street.code, "CMSWJA"),
            target("other", "320213001001", ""),
        ],
    );
    out.insert(Kind::Grid, vec![target("own", &g1.code, GRID), target("other", &wx_grid, "")]);
    let one = |label: &'static str, value: String| target(label, value, all);
    let code = |sql: &'static str| async move {
        let r = sqlx::query(sql).fetch_one(t.app.store.reader()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        tongxin_store::col::<String>(&r, "c").unwrap()
    };
    out.insert(Kind::WoTrack, vec![one("own", code("SELECT MIN(code) AS c FROM work_orders").await)]);
    // Complaint tracking codes are stored hashed: an unknown code stands in (a public lookup).
    out.insert(Kind::ComplaintTrack, vec![one("own", "TS-UNKNOWN-CODE".into())]);
    // An attachment on each side's complaint.
    for c in &out[&Kind::Complaint] {
        exec(
            t,
            "INSERT INTO complaint_files (complaint_id, name, mime, size, content) VALUES ($1, 'a.txt', 'text/plain', 1, $2)",
            &[I(c.value.parse().unwrap()), X(b"x")],
        )
        .await;
    }
    // A photo on each side's incident (the demo incident's own photo stays too).
    for i in &out[&Kind::Incident] {
        exec(
            t,
            "INSERT INTO incident_photos (incident_id, name, mime, width, height, size, sha256, content, user_id, username, at) \
             VALUES ($1, 'p.png', 'image/png', 1, 1, 1, '', $2, 0, 'x', 0)",
            &[I(i.value.parse().unwrap()), X(b"x")],
        )
        .await;
    }
    let photos = ids(t, "SELECT id FROM incident_photos ORDER BY id").await;
    let photo_seen = out[&Kind::Incident][0].seen_by.clone();
    out.insert(Kind::IncidentPhoto, own_other(photos[photos.len() - 2], photos[photos.len() - 1], &photo_seen));
    let files = ids(t, "SELECT id FROM complaint_files ORDER BY id").await;
    out.insert(Kind::ComplaintFile, own_other(files[files.len() - 2], files[files.len() - 1], GRID));
    // Outbox rows are city-wide system rows; a retry requeues once, so the allowed roles are shown
    // an id that does not exist (404) and everyone else is refused (403).
    out.insert(Kind::Outbox, vec![target("none", 999_999_999, "")]);
    // A notification of the organisation admin: nobody else may mark it read.
    let nt = ids(
        t,
        "SELECT n.id FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.username = 'zuzhi' ORDER BY n.id",
    )
    .await;
    assert!(!nt.is_empty(), "the demo data notifies the organisation admin");
    out.insert(Kind::Notification, vec![target("own", nt[0], "O")]);
    out.insert(Kind::OrgAny, vec![target("own", 1, all), target("other", 2, all)]);
    // A closed incident in the own grid: merging into it passes authorization and answers 409.
    let r = cmd
        .post(t.url("/api/v1/incidents"))
        .header("x-csrf-token", &ccsrf)
        .json(
            &serde_json::json!({"title": "已结束的演练", "category": "natural", "subtype": "rainstorm", "severity": 4,
            "lon": 120.6335, "lat": 31.3172, "radius_m": 300, "division_code": street.code}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "incident");
    let closed = r.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    exec(
        t,
        "UPDATE incidents SET state = 'closed', division_code = $1, division_path = $2 WHERE id = $3",
        &[S(&g1.code), S(own_p), I(closed)],
    )
    .await;
    out.insert(Kind::MergeInto, vec![target("own", closed, "")]);
    out.insert(Kind::Fixed, vec![one("-", String::new())]);
    out
}

// ------------------------------------------------------------------ the run

/// What a response says about authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// 401 (API) or a redirect to the login page.
    Login,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// Authorized: 2xx, 3xx elsewhere, 400, 409, 413, 415, 422...
    Pass,
    /// 5xx or 405: a bug or a route the parser got wrong.
    Broken,
}

fn classify(status: u16, location: &str) -> Seen {
    match status {
        401 => Seen::Login,
        300..=399 if location.starts_with("/login") => Seen::Login,
        403 => Seen::Forbidden,
        404 => Seen::NotFound,
        405 | 500..=599 => Seen::Broken,
        _ => Seen::Pass,
    }
}

/// Routes that end the caller's session run last.
fn ends_session(method: &str, path: &str) -> bool {
    method == "POST" && matches!(path, "/api/v1/auth/logout" | "/logout" | "/account/logout-all")
}

/// Kinds whose path value is not a jurisdiction-bound object.
fn scoped(kind: Kind) -> bool {
    !matches!(kind, Kind::Fixed | Kind::OrgAny | Kind::WoTrack | Kind::ComplaintTrack)
}

/// Wangge's grid: the page that building and responder forms return to (`/grids/{code}/…/{id}`).
static OWN_GRID: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn concrete(path: &str, kind: Kind, value: &str) -> String {
    if matches!(kind, Kind::Building | Kind::Responder | Kind::RemovedResponder) && path.starts_with("/grids/{code}/") {
        let own = OWN_GRID.lock().unwrap().clone();
        return concrete(&path.replacen("{code}", &own, 1), kind, value);
    }
    let mut out = String::new();
    let mut rest = path;
    let mut first = true;
    while let Some(i) = rest.find('{') {
        let j = rest[i..].find('}').unwrap() + i;
        out.push_str(&rest[..i]);
        let name = &rest[i + 1..j];
        let v = match name {
            _ if first && kind != Kind::Fixed => value,
            "which" => "organizations",
            "day" => "2026-12-01",
            "letter" => "m",
            "action" => "accept",
            // The organisation in `/orgs/{id}/memberships/{mid}` only leads back; the membership decides.
            "mid" => value,
            "*path" => "app.css",
            other => panic!("{path}: no value for {{{other}}} with kind {kind:?}"),
        };
        out.push_str(v);
        first = false;
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out
}

fn body_of(method: &str, path: &str) -> Option<&'static str> {
    BODIES.iter().find(|b| b.0 == method && b.1 == path).map(|b| b.2)
}

struct Call {
    role: char,
    method: String,
    path: &'static str,
    target: &'static str,
    status: u16,
    seen: Seen,
    /// Marked texts of objects outside the caller's scope that the answer shows.
    leaked: Vec<String>,
    /// Every marked text the answer shows (the record mode counts them, to show the check bites).
    shown: Vec<String>,
}

/// A body with `{id}` (the path object), `{person}` (the vulnerable person on the same side) and
/// `{into}` (the closed own incident) filled in.
fn fill(body: &str, targets: &BTreeMap<Kind, Vec<Target>>, tg: &Target) -> String {
    let side = |k: Kind| {
        let v = &targets[&k];
        v.iter().find(|x| x.label == tg.label).unwrap_or(&v[0]).value.clone()
    };
    body.replace("{id}", &tg.value)
        .replace("{person}", &side(Kind::Vulnerable))
        .replace("{into}", &side(Kind::MergeInto))
}

async fn send(
    c: &reqwest::Client,
    csrf: &str,
    base: &str,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> (u16, String, String) {
    let api = url.starts_with("/api/");
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = c.request(m, format!("{base}{url}"));
    if method != "GET" {
        if api {
            rb = rb
                .header("x-csrf-token", csrf)
                .header("content-type", "application/json")
                .body(body.unwrap_or("{}").to_string());
        } else if let Some(fields) = body.and_then(|b| b.strip_prefix("multipart:")) {
            // Upload forms: the same fields as a multipart body, `_csrf` first.
            let mut mp = String::new();
            for (k, v) in std::iter::once(("_csrf", csrf)).chain(fields.split('&').filter_map(|kv| kv.split_once('=')))
            {
                let file = if k == "file" { "; filename=\"upload\"" } else { "" };
                mp.push_str(&format!("--AUTHZ\r\nContent-Disposition: form-data; name=\"{k}\"{file}\r\n\r\n{v}\r\n"));
            }
            mp.push_str("--AUTHZ--\r\n");
            rb = rb.header("content-type", "multipart/form-data; boundary=AUTHZ").body(mp);
        } else {
            let mut form = format!("_csrf={csrf}");
            if let Some(b) = body.filter(|b| !b.is_empty()) {
                form = format!("{form}&{}", b.replace("{csrf}", csrf));
            }
            rb = rb.header("content-type", "application/x-www-form-urlencoded").body(form);
        }
    }
    let r = rb.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let loc = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let status = r.status().as_u16();
    // Event streams never end; every other answer is read whole.
    let streamed = r.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let text = if streamed {
        String::new()
    } else {
        String::from_utf8_lossy(&r.bytes().await.unwrap_or_default()).into_owned()
    };
    (status, loc, text)
}

/// Runs every (route, caller, target) on `t` and returns what each answered.
async fn run(t: &TestApp, targets: &BTreeMap<Kind, Vec<Target>>) -> Vec<Call> {
    let mut callers = vec![('-', "", t.client(), String::new())];
    for (letter, user) in ACCOUNTS {
        let (c, csrf) = t.login(user).await;
        callers.push((letter, user, c, csrf));
    }
    let mut rows: Vec<&'static (&'static str, &'static str, &'static str, Kind)> = MATRIX.iter().collect();
    rows.sort_by_key(|r| ends_session(r.0, r.1));
    let runs = callers.into_iter().map(|(role, user, c, csrf)| {
        let rows = rows.clone();
        async move {
            let mut out = vec![];
            for &&(method, path, _, kind) in &rows {
                for tg in targets.get(&kind).map(Vec::as_slice).unwrap_or_default() {
                    let url = concrete(path, kind, &tg.value);
                    let body = body_of(method, path).map(|b| fill(b, targets, tg));
                    // A route that ends the session gets a session of its own.
                    let (status, loc, text) = if ends_session(method, path) && role != '-' {
                        let (c, csrf) = t.login(user).await;
                        send(&c, &csrf, &t.base, method, &url, body.as_deref()).await
                    } else {
                        send(&c, &csrf, &t.base, method, &url, body.as_deref()).await
                    };
                    // After logging out, the way to the login page is the success.
                    let seen = if ends_session(method, path) && role != '-' && (300..400).contains(&status) {
                        Seen::Pass
                    } else {
                        classify(status, &loc)
                    };
                    let shown: Vec<&Target> =
                        targets[&Kind::Marks].iter().filter(|m| text.contains(&m.value)).collect();
                    let leaked = shown.iter().filter(|m| !m.seen_by.contains(role)).map(|m| m.value.clone()).collect();
                    let shown = shown.iter().map(|m| m.value.clone()).collect();
                    out.push(Call {
                        role,
                        method: method.to_string(),
                        path,
                        target: tg.label,
                        status,
                        seen,
                        leaked,
                        shown,
                    });
                }
            }
            out
        }
    });
    futures::future::join_all(runs).await.into_iter().flatten().collect()
}

/// The declared answer for `role` ('-' anonymous) on a route with `who`, for `target`.
fn expected(role: char, who: &str, kind: Kind, target: &Target) -> &'static [Seen] {
    let public = who == "public";
    let allowed = public || (role != '-' && (who == "any" || who.contains(role)));
    if role == '-' && !public {
        return &[Seen::Login];
    }
    if !allowed {
        return &[Seen::Forbidden, Seen::NotFound];
    }
    if public {
        // Public: never asks to log in. A lookup by id or code may find nothing, a guest form may
        // refuse a missing guest token.
        return &[Seen::Pass, Seen::NotFound, Seen::Forbidden];
    }
    if scoped(kind) && !target.seen_by.contains(role) {
        return &[Seen::NotFound];
    }
    &[Seen::Pass]
}

fn short(label: &str) -> &'static str {
    match label {
        "own" => "",
        "other" => "x",
        "own-jur/other-org" => "j",
        "other-jur/own-org" => "g",
        _ => "",
    }
}

#[test]
fn matrix_covers_every_route() {
    let declared: BTreeSet<(String, String)> = MATRIX.iter().map(|r| (r.0.to_string(), r.1.to_string())).collect();
    assert_eq!(declared.len(), MATRIX.len(), "a route is declared twice in MATRIX");
    let routes = source_routes();
    let missing: Vec<_> = routes.difference(&declared).collect();
    let stale: Vec<_> = declared.difference(&routes).collect();
    assert!(missing.is_empty(), "routes without an entry in the authorization MATRIX: {missing:#?}");
    assert!(stale.is_empty(), "MATRIX entries without a route: {stale:#?}");
    for r in MATRIX {
        assert!(
            r.2 == "public"
                || r.2 == "any"
                || (!r.2.is_empty() && r.2.chars().all(|c| ACCOUNTS.iter().any(|a| a.0 == c))),
            "{} {}: who must be public, any or account letters, not {:?}",
            r.0,
            r.1,
            r.2
        );
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_declared_on_own_and_other_objects() {
    let record = std::env::var("TONGXIN_AUTHZ_RECORD").is_ok();
    for t in crate::apps().await {
        let targets = fixture(&t).await;
        let start = std::time::Instant::now();
        let calls = run(&t, &targets).await;
        let mut bad = vec![];
        let mut by_route: BTreeMap<(&str, String), Vec<String>> = BTreeMap::new();
        for c in &calls {
            let row = MATRIX.iter().find(|r| r.0 == c.method && r.1 == c.path).unwrap();
            let tg = targets[&row.3].iter().find(|x| x.label == c.target).unwrap();
            let want = expected(c.role, row.2, row.3, tg);
            if !c.leaked.is_empty() {
                bad.push(format!("{} {} [{}] as {}: shows {:?}", c.method, c.path, c.target, c.role, c.leaked));
            }
            if !want.contains(&c.seen) {
                bad.push(format!(
                    "{} {} [{}] as {}: got {} ({:?}), want {:?}",
                    c.method, c.path, c.target, c.role, c.status, c.seen, want
                ));
            }
            by_route.entry((row.1, c.method.clone())).or_default().push(format!(
                "{}{}:{}",
                c.role,
                short(c.target),
                c.status
            ));
        }
        if record {
            for ((p, m), v) in &by_route {
                println!("{m} {p} :: {}", v.join(" "));
            }
            for mark in &targets[&Kind::Marks] {
                let n = calls.iter().filter(|c| c.shown.contains(&mark.value)).count();
                println!("{} (seen by {:?}) shown in {n} answers", mark.value, mark.seen_by);
            }
        }
        let untested: Vec<_> =
            MATRIX.iter().filter(|r| targets.get(&r.3).is_none_or(Vec::is_empty)).map(|r| r.1).collect();
        println!(
            "authz matrix on {:?}: {} routes, {} callers, {} requests in {:?}; routes without a fixture object: {untested:?}",
            t.app.store.backend(),
            MATRIX.len(),
            ACCOUNTS.len() + 1,
            calls.len(),
            start.elapsed()
        );
        assert!(bad.is_empty(), "{} answers differ from the matrix:\n{}", bad.len(), bad.join("\n"));
        t.stop().await;
    }
}

// ------------------------------------------------------------------ matrix

/// Who may call each route: "public" (also anonymous), "any" (any account), or the letters of
/// [`ACCOUNTS`]; and what its path id names.
const MATRIX: &[(&str, &str, &str, Kind)] = &[
    ("GET", "/", "any", Kind::Fixed),
    ("GET", "/account", "any", Kind::Fixed),
    ("POST", "/account/logout-all", "any", Kind::Fixed),
    ("POST", "/account/password", "any", Kind::Fixed),
    ("POST", "/account/tokens", "any", Kind::Fixed),
    ("GET", "/alerts", "any", Kind::Fixed),
    ("GET", "/alerts/new", "any", Kind::Fixed),
    ("POST", "/alerts/new", "CMSA", Kind::Fixed),
    ("POST", "/alerts/new/reach", "CMSA", Kind::Fixed),
    ("GET", "/alerts/outbox", "CA", Kind::Fixed),
    ("POST", "/alerts/outbox/{id}/retry", "CA", Kind::Outbox),
    ("GET", "/alerts/{id}", "CMSWJA", Kind::Alert),
    ("POST", "/alerts/{id}/act", "CMSA", Kind::Alert),
    ("GET", "/api/docs", "public", Kind::Fixed),
    ("GET", "/api/openapi.json", "public", Kind::Fixed),
    ("GET", "/api/v1/alerts", "any", Kind::Fixed),
    ("POST", "/api/v1/alerts", "CMSA", Kind::Fixed),
    ("POST", "/api/v1/alerts/preview", "CMSA", Kind::Fixed),
    ("GET", "/api/v1/alerts/rejected", "CMSA", Kind::Fixed),
    ("POST", "/api/v1/alerts/sources", "CA", Kind::Fixed),
    ("GET", "/api/v1/alerts/{id}", "CMSWJA", Kind::Alert),
    ("POST", "/api/v1/alerts/{id}/approve", "CMA", Kind::Alert),
    ("POST", "/api/v1/alerts/{id}/cancel", "CMSA", Kind::Alert),
    ("GET", "/api/v1/alerts/{id}/deliveries", "CMSWJA", Kind::Alert),
    ("POST", "/api/v1/alerts/{id}/reject", "CMA", Kind::Alert),
    ("POST", "/api/v1/alerts/{id}/submit", "CMSA", Kind::Alert),
    ("POST", "/api/v1/alerts/{id}/update", "CMSA", Kind::Alert),
    ("POST", "/api/v1/assignments/{id}/{action}", "OV", Kind::Assignment),
    ("POST", "/api/v1/auth/login", "public", Kind::Fixed),
    ("POST", "/api/v1/auth/logout", "any", Kind::Fixed),
    ("GET", "/api/v1/boundaries/export", "CMSWA", Kind::Fixed),
    ("POST", "/api/v1/boundaries/import", "MSA", Kind::Fixed),
    ("POST", "/api/v1/cap/intake", "CMSA", Kind::Fixed),
    ("GET", "/api/v1/check-rounds", "CMSWA", Kind::Fixed),
    ("GET", "/api/v1/check-rounds/{id}", "CMSWA", Kind::Round),
    ("POST", "/api/v1/check-rounds/{id}/checks", "CMSWA", Kind::Round),
    ("POST", "/api/v1/check-rounds/{id}/close", "CMSWA", Kind::Round),
    ("GET", "/api/v1/complaints", "JA", Kind::Fixed),
    ("POST", "/api/v1/complaints", "public", Kind::Fixed),
    ("GET", "/api/v1/complaints/files/{id}", "JA", Kind::ComplaintFile),
    ("GET", "/api/v1/complaints/track/{code}", "public", Kind::ComplaintTrack),
    ("GET", "/api/v1/complaints/{id}", "JA", Kind::Complaint),
    ("POST", "/api/v1/complaints/{id}/actions", "JA", Kind::Complaint),
    ("POST", "/api/v1/dispatch/confirm", "CMSA", Kind::Fixed),
    ("POST", "/api/v1/dispatch/propose", "CMSA", Kind::Fixed),
    ("GET", "/api/v1/divisions", "any", Kind::Fixed),
    ("GET", "/api/v1/divisions/{code}", "CMSWJA", Kind::Division),
    ("GET", "/api/v1/divisions/{code}/children", "CMSWJA", Kind::Division),
    ("GET", "/api/v1/grids", "CMSWA", Kind::Fixed),
    ("GET", "/api/v1/grids/{code}", "CMSWA", Kind::Grid),
    ("POST", "/api/v1/grids/{code}/rounds", "CMSWA", Kind::Grid),
    ("GET", "/api/v1/grids/{code}/vulnerable", "CMSWA", Kind::Grid),
    ("PUT", "/api/v1/hours/{id}", "O", Kind::Hours),
    ("GET", "/api/v1/households", "CMSWA", Kind::Fixed),
    ("POST", "/api/v1/households", "MSWA", Kind::Fixed),
    ("POST", "/api/v1/households/import", "MSWA", Kind::Fixed),
    ("GET", "/api/v1/households/template.csv", "public", Kind::Fixed),
    ("GET", "/api/v1/households/{id}", "CMSWA", Kind::Household),
    ("POST", "/api/v1/households/{id}/vulnerable", "MSWA", Kind::Household),
    ("PUT", "/api/v1/buildings/{id}", "MSWA", Kind::Building),
    ("DELETE", "/api/v1/buildings/{id}", "MSWA", Kind::Building),
    ("PUT", "/api/v1/responders/{id}", "MSWA", Kind::Responder),
    ("DELETE", "/api/v1/responders/{id}", "MSWA", Kind::RemovedResponder),
    ("GET", "/api/v1/incidents", "any", Kind::Fixed),
    ("POST", "/api/v1/incidents", "any", Kind::Fixed),
    ("GET", "/api/v1/incidents/{id}", "CMSWOVJA", Kind::Incident),
    ("GET", "/api/v1/incidents/{id}/duplicates", "CMSWOVJA", Kind::Incident),
    ("POST", "/api/v1/incidents/{id}/level", "CMSA", Kind::Incident),
    ("POST", "/api/v1/incidents/{id}/merge", "CMSA", Kind::Incident),
    ("GET", "/api/v1/incidents/{id}/mobilisations", "CMSWOVJA", Kind::Incident),
    ("GET", "/api/v1/incidents/{id}/photos", "CMSWOVJA", Kind::Incident),
    ("POST", "/api/v1/incidents/{id}/photos", "CMSWOVA", Kind::Incident),
    ("GET", "/api/v1/incidents/photos/{id}", "CMSWOVJA", Kind::IncidentPhoto),
    ("POST", "/api/v1/incidents/{id}/notes", "CMSWA", Kind::Incident),
    ("POST", "/api/v1/incidents/{id}/phase", "CMSA", Kind::Incident),
    ("POST", "/api/v1/incidents/{id}/sitreps", "CMSWA", Kind::Incident),
    ("GET", "/api/v1/kpi/districts", "any", Kind::Fixed),
    ("GET", "/api/v1/kpi/organizations", "any", Kind::Fixed),
    ("GET", "/api/v1/map/features", "any", Kind::Fixed),
    ("GET", "/api/v1/me", "any", Kind::Fixed),
    ("PUT", "/api/v1/me/notify-prefs", "any", Kind::Fixed),
    ("POST", "/api/v1/me/password", "any", Kind::Fixed),
    ("POST", "/api/v1/me/tokens", "any", Kind::Fixed),
    ("POST", "/api/v1/memberships/{id}/decision", "O", Kind::Membership),
    ("GET", "/api/v1/mobilisation-plans", "any", Kind::Fixed),
    ("POST", "/api/v1/mobilisation-plans", "CMSA", Kind::Fixed),
    ("GET", "/api/v1/mobilisations", "any", Kind::Fixed),
    ("POST", "/api/v1/mobilisations/{id}/answer", "O", Kind::Mobilisation),
    ("GET", "/api/v1/my/assignments", "any", Kind::Fixed),
    ("GET", "/api/v1/my/hours", "any", Kind::Fixed),
    ("GET", "/api/v1/notifications", "any", Kind::Fixed),
    ("POST", "/api/v1/notifications/{id}/read", "O", Kind::Notification),
    ("GET", "/api/v1/organizations", "any", Kind::Fixed),
    ("POST", "/api/v1/organizations", "MOA", Kind::Fixed),
    ("GET", "/api/v1/organizations/export", "CMSWOJA", Kind::Fixed),
    ("GET", "/api/v1/organizations/{id}", "CMSOVJA", Kind::Org),
    ("PUT", "/api/v1/organizations/{id}", "MOA", Kind::Org),
    ("POST", "/api/v1/organizations/{id}/decision", "MA", Kind::Org),
    ("POST", "/api/v1/organizations/{id}/insurance", "MOA", Kind::Org),
    ("GET", "/api/v1/organizations/{id}/memberships", "CMSOJA", Kind::Org),
    ("POST", "/api/v1/organizations/{id}/memberships", "any", Kind::OrgAny),
    ("POST", "/api/v1/organizations/{id}/reviews", "MA", Kind::Org),
    ("POST", "/api/v1/organizations/{id}/teams", "MOA", Kind::Org),
    ("GET", "/api/v1/outbox", "CA", Kind::Fixed),
    ("POST", "/api/v1/outbox/endpoints", "CA", Kind::Fixed),
    ("POST", "/api/v1/outbox/{id}/retry", "CA", Kind::Outbox),
    ("GET", "/api/v1/prices/references", "any", Kind::Fixed),
    ("POST", "/api/v1/prices/references", "CMA", Kind::Fixed),
    ("GET", "/api/v1/prices/reports", "any", Kind::Fixed),
    ("POST", "/api/v1/prices/reports", "CMSWOJA", Kind::Fixed),
    ("GET", "/api/v1/public/accountability", "public", Kind::Fixed),
    ("POST", "/api/v1/registry/import/{which}", "MA", Kind::Fixed),
    ("GET", "/api/v1/registry/templates/{which}", "any", Kind::Fixed),
    ("GET", "/api/v1/tasks", "any", Kind::Fixed),
    ("POST", "/api/v1/tasks", "CMSA", Kind::Fixed),
    ("GET", "/api/v1/tasks/{id}", "CMSWOVJA", Kind::Task),
    ("POST", "/api/v1/tasks/{id}/dispatch", "CMSA", Kind::Task),
    ("GET", "/api/v1/tasks/{id}/proposal", "CMSA", Kind::Task),
    ("POST", "/api/v1/training", "MA", Kind::Fixed),
    ("POST", "/api/v1/users", "A", Kind::Fixed),
    ("GET", "/api/v1/volunteers", "any", Kind::Fixed),
    ("POST", "/api/v1/volunteers", "MSWOVRA", Kind::Fixed),
    ("GET", "/api/v1/volunteers/export", "CMSWOJA", Kind::Fixed),
    ("GET", "/api/v1/volunteers/{id}", "CMSWOJA", Kind::Volunteer),
    ("PUT", "/api/v1/volunteers/{id}/availability", "MSOA", Kind::Volunteer),
    ("POST", "/api/v1/volunteers/{id}/certificates", "MSOA", Kind::Volunteer),
    ("GET", "/api/v1/vulnerable/{id}", "CMSWA", Kind::Vulnerable),
    ("GET", "/api/v1/workorders", "any", Kind::Fixed),
    ("POST", "/api/v1/workorders", "public", Kind::Fixed),
    ("PUT", "/api/v1/workorders/calendar/{day}", "CMA", Kind::Fixed),
    ("GET", "/api/v1/workorders/needs", "CMSWJA", Kind::Fixed),
    ("GET", "/api/v1/workorders/policy", "any", Kind::Fixed),
    ("PUT", "/api/v1/workorders/policy", "CMA", Kind::Fixed),
    ("GET", "/api/v1/workorders/track/{code}", "public", Kind::WoTrack),
    ("POST", "/api/v1/workorders/track/{code}/actions", "public", Kind::WoTrack),
    ("GET", "/api/v1/workorders/{id}", "any", Kind::WorkOrder),
    ("POST", "/api/v1/workorders/{id}/actions", "any", Kind::WorkOrder),
    ("GET", "/api/v1/workorders/{id}/suggestions", "CMSW", Kind::WorkOrder),
    ("GET", "/audit", "JA", Kind::Fixed),
    ("GET", "/c/{letter}", "any", Kind::Fixed),
    ("GET", "/cap/CAP-v1.2.xsd", "public", Kind::Fixed),
    ("GET", "/cap/feed.atom", "public", Kind::Fixed),
    ("GET", "/cap/{file}", "public", Kind::CapFile),
    ("GET", "/complaints", "JA", Kind::Fixed),
    ("GET", "/complaints/new", "public", Kind::Fixed),
    ("POST", "/complaints/new", "public", Kind::Fixed),
    ("GET", "/complaints/track", "public", Kind::Fixed),
    ("GET", "/complaints/{id}", "JA", Kind::Complaint),
    ("POST", "/complaints/{id}/act", "JA", Kind::Complaint),
    ("GET", "/divisions", "CMSWOJA", Kind::Fixed),
    ("GET", "/divisions/search", "any", Kind::Fixed),
    ("GET", "/divisions/{code}/children", "CMSWJA", Kind::Division),
    ("GET", "/events", "any", Kind::Fixed),
    ("GET", "/grids", "CMSWA", Kind::Fixed),
    ("GET", "/grids/boundaries", "MSA", Kind::Fixed),
    ("POST", "/grids/boundaries", "MSA", Kind::Fixed),
    ("GET", "/grids/rounds-live", "CMSWA", Kind::Fixed),
    ("GET", "/grids/rounds/{id}", "CMSWA", Kind::Round),
    ("GET", "/grids/rounds/{id}/body", "CMSWA", Kind::Round),
    ("POST", "/grids/rounds/{id}/check", "CMSWA", Kind::Round),
    ("POST", "/grids/rounds/{id}/close", "CMSWA", Kind::Round),
    ("GET", "/grids/{code}", "CMSWA", Kind::Grid),
    ("POST", "/grids/{code}/rounds", "CMSWA", Kind::Grid),
    ("POST", "/grids/{code}/buildings/{id}", "MSWA", Kind::Building),
    ("POST", "/grids/{code}/buildings/{id}/delete", "MSWA", Kind::Building),
    ("POST", "/grids/{code}/responders/{id}", "MSWA", Kind::Responder),
    ("POST", "/grids/{code}/responders/{id}/delete", "MSWA", Kind::RemovedResponder),
    ("GET", "/healthz", "public", Kind::Fixed),
    ("GET", "/incidents", "any", Kind::Fixed),
    ("POST", "/incidents", "any", Kind::Fixed),
    ("GET", "/incidents/{id}", "CMSWOVJA", Kind::Incident),
    ("POST", "/incidents/{id}/level", "CMSA", Kind::Incident),
    ("POST", "/incidents/{id}/merge", "CMSA", Kind::Incident),
    ("POST", "/incidents/{id}/phase", "CMSA", Kind::Incident),
    ("POST", "/incidents/{id}/photos", "CMSWOVA", Kind::Incident),
    ("POST", "/incidents/{id}/sitrep", "CMSWA", Kind::Incident),
    ("POST", "/incidents/{id}/tasks", "CMSA", Kind::Incident),
    ("GET", "/lang", "public", Kind::Fixed),
    ("GET", "/login", "public", Kind::Fixed),
    ("POST", "/login", "public", Kind::Fixed),
    ("POST", "/logout", "any", Kind::Fixed),
    ("GET", "/metrics", "public", Kind::Fixed),
    ("GET", "/mobilisation", "any", Kind::Fixed),
    ("POST", "/mobilisation/{id}/answer", "O", Kind::Mobilisation),
    ("POST", "/my/assignments/{id}/{action}", "OV", Kind::Assignment),
    ("POST", "/my/hours/{id}", "O", Kind::Hours),
    ("GET", "/my/tasks", "any", Kind::Fixed),
    ("GET", "/orgs", "any", Kind::Fixed),
    ("GET", "/orgs/new", "any", Kind::Fixed),
    ("POST", "/orgs/new", "MOA", Kind::Fixed),
    ("GET", "/orgs/{id}", "CMSOVJA", Kind::Org),
    ("POST", "/orgs/{id}/decision", "MA", Kind::Org),
    ("GET", "/orgs/{id}/edit", "MOA", Kind::Org),
    ("POST", "/orgs/{id}/edit", "MOA", Kind::Org),
    ("POST", "/orgs/{id}/review", "MA", Kind::Org),
    ("POST", "/orgs/{id}/insurance", "MOA", Kind::Org),
    ("POST", "/orgs/{id}/teams", "MOA", Kind::Org),
    ("POST", "/orgs/{id}/team-members", "MOA", Kind::Org),
    ("POST", "/orgs/{id}/memberships/{mid}", "O", Kind::Membership),
    ("GET", "/prices", "any", Kind::Fixed),
    ("POST", "/prices/reference", "CMA", Kind::Fixed),
    ("POST", "/prices/report", "CMSWOJA", Kind::Fixed),
    ("GET", "/public/accountability", "public", Kind::Fixed),
    ("GET", "/public/accountability/figures", "public", Kind::Fixed),
    ("GET", "/public/alerts", "public", Kind::Fixed),
    ("GET", "/public/alerts/list", "public", Kind::Fixed),
    ("GET", "/public/alerts/areas", "public", Kind::Fixed),
    ("GET", "/public/alerts/{id}", "public", Kind::Alert),
    ("GET", "/public/events", "public", Kind::Fixed),
    ("GET", "/registry/import", "any", Kind::Fixed),
    ("POST", "/registry/import/confirm", "MSOA", Kind::Fixed),
    ("POST", "/registry/import/preview", "MSOA", Kind::Fixed),
    ("GET", "/requests/new", "public", Kind::Fixed),
    ("POST", "/requests/new", "public", Kind::Fixed),
    ("GET", "/static/{*path}", "public", Kind::Fixed),
    ("POST", "/tasks/{id}/dispatch", "CMSA", Kind::Task),
    ("GET", "/track", "public", Kind::Fixed),
    ("POST", "/track/act", "public", Kind::Fixed),
    ("GET", "/volunteers", "any", Kind::Fixed),
    ("GET", "/volunteers/new", "any", Kind::Fixed),
    ("POST", "/volunteers/new", "MSWOVRA", Kind::Fixed),
    ("GET", "/volunteers/{id}", "CMSWOJA", Kind::Volunteer),
    ("POST", "/volunteers/{id}/certificates", "MSOA", Kind::Volunteer),
    ("POST", "/volunteers/{id}/availability", "MSOA", Kind::Volunteer),
    ("POST", "/volunteers/join", "any", Kind::Fixed),
    ("GET", "/training", "CMJA", Kind::Fixed),
    ("POST", "/training", "MA", Kind::Fixed),
    ("GET", "/workorders", "any", Kind::Fixed),
    ("GET", "/workorders/needs", "CMSWJA", Kind::Fixed),
    ("GET", "/workorders/rows", "any", Kind::Fixed),
    ("GET", "/workorders/{id}", "any", Kind::WorkOrder),
    ("POST", "/workorders/{id}/act", "any", Kind::WorkOrder),
];

/// Request bodies (JSON for the API, form fields for pages) that pass parsing, so a refusal is
/// the handler's and not the parser's.
/// `{id}` stands for the object in the path. The values are invalid where the route would
/// otherwise change the fixture, so an authorized call answers 409/422 after the scope check.
const BODIES: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/alerts/{id}/update",
        r#"{"category":"x","event":"x","colour":"x","headline":"","expires":0,"area":{"divisions":[]}}"#,
    ),
    ("POST", "/api/v1/check-rounds/{id}/checks", r#"{"person_id":{person},"status":"checked"}"#),
    ("PUT", "/api/v1/hours/{id}", r#"{"minutes":-1,"reason":""}"#),
    ("POST", "/api/v1/households/{id}/vulnerable", r#"{"name":"","kind":"bogus"}"#),
    ("POST", "/api/v1/incidents/{id}/level", r#"{"level":99}"#),
    ("POST", "/api/v1/incidents/{id}/merge", r#"{"into":{into}}"#),
    ("POST", "/api/v1/incidents/{id}/notes", r#"{"text":""}"#),
    ("POST", "/api/v1/incidents/{id}/phase", r#"{"phase":"bogus"}"#),
    ("POST", "/api/v1/memberships/{id}/decision", r#"{"approve":false}"#),
    ("POST", "/api/v1/mobilisations/{id}/answer", r#"{"ready":false,"people":-1}"#),
    ("POST", "/api/v1/organizations/{id}/decision", r#"{"decision":"return","reason":""}"#),
    (
        "POST",
        "/api/v1/organizations/{id}/insurance",
        r#"{"insurer":"","policy_no":"","covered_people":0,"valid_from":"x","valid_to":"x"}"#,
    ),
    ("POST", "/api/v1/organizations/{id}/memberships", r#"{"note":""}"#),
    ("POST", "/api/v1/organizations/{id}/reviews", r#"{"kind":"bogus","year":0,"result":"bogus"}"#),
    ("POST", "/api/v1/organizations/{id}/teams", r#"{"name":""}"#),
    ("PUT", "/api/v1/volunteers/{id}/availability", r#"{"weekly":["bogus"],"available_now":true}"#),
    ("POST", "/api/v1/volunteers/{id}/certificates", r#"{"kind":"bogus","name":""}"#),
    ("POST", "/api/v1/workorders/{id}/actions", r#"{"action":"bogus"}"#),
    ("POST", "/api/v1/workorders/track/{code}/actions", r#"{"action":"bogus"}"#),
    ("POST", "/api/v1/complaints/{id}/actions", r#"{"action":"bogus","finding":""}"#),
    ("POST", "/alerts/{id}/act", "action=submit"),
    ("POST", "/complaints/{id}/act", "action=bogus"),
    ("POST", "/grids/rounds/{id}/check", "person_id={person}&status=checked"),
    ("POST", "/incidents/{id}/level", "level=99"),
    ("POST", "/incidents/{id}/merge", "dup={into}"),
    ("POST", "/incidents/{id}/phase", "phase=bogus"),
    ("POST", "/incidents/{id}/tasks", "title=&head_count=0"),
    ("POST", "/mobilisation/{id}/answer", "answer=bogus"),
    ("POST", "/my/hours/{id}", "minutes=-1&reason="),
    ("POST", "/orgs/{id}/decision", "decision=return&reason="),
    ("POST", "/orgs/{id}/review", "kind=bogus&year=0&result=bogus"),
    ("POST", "/orgs/{id}/team-members", "team_id=0&volunteer_id=0"),
    ("PUT", "/api/v1/buildings/{id}", r#"{"name":"","address":"","floors":0,"kind":"bogus","lon":0,"lat":0}"#),
    ("PUT", "/api/v1/responders/{id}", r#"{"kind":"bogus","name":"","phone":"","zone":"","buildings":[]}"#),
    ("POST", "/grids/{code}/buildings/{id}", "name=&address=&floors=0&kind=bogus&lon=&lat="),
    ("POST", "/grids/{code}/responders/{id}", "kind=bogus&name="),
    ("POST", "/orgs/{id}/memberships/{mid}", "decision=reject"),
    ("POST", "/volunteers/{id}/certificates", "kind=bogus&name="),
    ("POST", "/workorders/{id}/act", "action=bogus"),
    ("POST", "/requests/new", "_token={csrf}"),
    ("POST", "/grids/boundaries", r#"multipart:datum=wgs84&geojson={"type":"FeatureCollection","features":[]}"#),
    ("POST", "/registry/import/preview", "multipart:which=volunteers&file=x"),
    // Not an image: refused (422) after the scope check, nothing stored.
    ("POST", "/incidents/{id}/photos", "multipart:file=<html>not a photo</html>"),
    ("POST", "/api/v1/incidents/{id}/photos", "{}"),
    ("POST", "/registry/import/confirm", "which=volunteers&file_b64=eA==&all_or_nothing=0"),
    // Creates: shapes that parse, values that do not validate, so refusals come from the role check.
    ("POST", "/api/v1/users", r#"{"username":"","password":"","role":"bogus"}"#),
    ("POST", "/api/v1/alerts", r#"{"category":"x","event":"x","colour":"x","headline":"","expires":0,"area":{}}"#),
    ("POST", "/api/v1/alerts/sources", r#"{"url":""}"#),
    ("POST", "/api/v1/outbox/endpoints", r#"{"name":"","url":"","secret":""}"#),
    ("POST", "/api/v1/training", r#"{"title":"","starts_at":0}"#),
    ("POST", "/api/v1/households", r#"{"address":"","members":0}"#),
    (
        "POST",
        "/api/v1/mobilisation-plans",
        r#"{"name":"","category":"bogus","level":0,"people":0,"radius_m":0,"mode":"bogus"}"#,
    ),
    ("POST", "/api/v1/tasks", r#"{"title":"","head_count":0,"lon":0,"lat":0}"#),
    ("POST", "/api/v1/dispatch/propose", r#"{"task_ids":[]}"#),
    ("POST", "/api/v1/dispatch/confirm", "[]"),
];
