//! Incidents, mobilisation, tasks and dispatch (capabilities B, C, D): tables and queries.
//!
//! Claims are race-safe across nodes: `task_assignments` has partial unique indexes on
//! `(task_id, slot)` and `(volunteer_id)` for live rows, and every transition is a conditional
//! UPDATE on the expected state (0 rows changed = somebody else got there first).

use crate::sql::SqlBuf;
use crate::{col, map_unique, Result, StoreError, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::AnyPool;
use tongxin_domain::Actor;

/// A new incident.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// Title.
    pub title: String,
    /// Category key.
    pub category: String,
    /// Sub-type key.
    pub subtype: String,
    /// Severity 0–4.
    pub severity: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Radius in metres.
    pub radius_m: i64,
    /// Division code of the place.
    pub division_code: String,
    /// Division path of the place.
    pub division_path: String,
    /// Description.
    pub description: String,
    /// Reporting account.
    pub reporter_id: i64,
    /// `web`, `api` or `seed`.
    pub source: String,
    /// Unix ms.
    pub at: i64,
}

/// An incident row.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Sub-type.
    pub subtype: String,
    /// Severity.
    pub severity: i64,
    /// Response level (0 none, 1 highest).
    pub response_level: i64,
    /// Phase key.
    pub phase: String,
    /// `open`, `merged`, `closed`.
    pub state: String,
    /// Merged into this incident.
    pub merged_into: Option<i64>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Radius.
    pub radius_m: i64,
    /// Division code.
    pub division_code: String,
    /// Division path.
    pub division_path: String,
    /// Description.
    pub description: String,
    /// Reporter.
    pub reporter_id: i64,
    /// Source.
    pub source: String,
    /// Reported (unix ms).
    pub reported_at: i64,
    /// Updated.
    pub updated_at: i64,
    /// First offer issued.
    pub first_dispatch_at: Option<i64>,
    /// First responder on scene.
    pub first_on_scene_at: Option<i64>,
    /// First action (first check-in on duty).
    pub first_action_at: Option<i64>,
    /// Reinforcements dispatched (offers of a second task, or a deploy notice).
    pub reinforce_at: Option<i64>,
}

const INC_COLS: &str = "id, title, category, subtype, severity, response_level, phase, state, merged_into, lon, lat, \
     radius_m, division_code, division_path, description, reporter_id, source, reported_at, updated_at, \
     first_dispatch_at, first_on_scene_at, first_action_at, reinforce_at";

fn incident_of(r: &AnyRow) -> Result<Incident> {
    Ok(Incident {
        id: col(r, "id")?,
        title: col(r, "title")?,
        category: col(r, "category")?,
        subtype: col(r, "subtype")?,
        severity: col(r, "severity")?,
        response_level: col(r, "response_level")?,
        phase: col(r, "phase")?,
        state: col(r, "state")?,
        merged_into: col(r, "merged_into")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        radius_m: col(r, "radius_m")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        description: col(r, "description")?,
        reporter_id: col(r, "reporter_id")?,
        source: col(r, "source")?,
        reported_at: col(r, "reported_at")?,
        updated_at: col(r, "updated_at")?,
        first_dispatch_at: col(r, "first_dispatch_at")?,
        first_on_scene_at: col(r, "first_on_scene_at")?,
        first_action_at: col(r, "first_action_at")?,
        reinforce_at: col(r, "reinforce_at")?,
    })
}

/// Inserts an incident and its first reporter.
pub async fn insert_incident(tx: &mut Tx, i: &NewIncident, username: &str) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO incidents (title, category, subtype, severity, lon, lat, radius_m, division_code, division_path, \
         description, reporter_id, source, reported_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13) RETURNING id",
    )
    .bind(i.title.clone())
    .bind(i.category.clone())
    .bind(i.subtype.clone())
    .bind(i.severity)
    .bind(i.lon)
    .bind(i.lat)
    .bind(i.radius_m)
    .bind(i.division_code.clone())
    .bind(i.division_path.clone())
    .bind(i.description.clone())
    .bind(i.reporter_id)
    .bind(i.source.clone())
    .bind(i.at)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = col(&r, "id")?;
    add_reporter(tx, id, i.reporter_id, username, i.at).await?;
    Ok(id)
}

/// Records a reporter of an incident.
pub async fn add_reporter(tx: &mut Tx, incident_id: i64, user_id: i64, username: &str, at: i64) -> Result<()> {
    sqlx::query("INSERT INTO incident_reporters (incident_id, user_id, username, at) VALUES ($1,$2,$3,$4)")
        .bind(incident_id)
        .bind(user_id)
        .bind(username.to_string())
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One incident by id (unscoped: the caller checks the actor).
pub async fn get_incident<'e, E>(ex: E, id: i64) -> Result<Incident>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query(&format!("SELECT {INC_COLS} FROM incidents WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .ok_or(StoreError::NotFound)?;
    incident_of(&r)
}

/// What never changes about an incident once reported: its title, where it is and who
/// reported it (merging, levels, phases and closing change other columns).
#[derive(Debug, Clone)]
pub struct IncidentRef {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Division path of the place.
    pub division_path: String,
    /// Reporting account.
    pub reporter_id: i64,
}

/// How many incidents' fixed facts a node keeps (then it starts over).
const INCIDENT_REFS: usize = 10_000;

impl crate::Store {
    /// An incident's fixed facts, read once per node: they never change, so the cache needs no
    /// invalidation, and a field update (the most frequent write) costs no read for its scope.
    pub async fn incident_ref(&self, id: i64) -> Result<IncidentRef> {
        if let Some(r) = self.incident_refs.lock().expect("incident cache").get(&id) {
            return Ok(r.clone());
        }
        let i = get_incident(self.reader(), id).await?;
        let r = IncidentRef { id, title: i.title, division_path: i.division_path, reporter_id: i.reporter_id };
        let mut m = self.incident_refs.lock().expect("incident cache");
        if m.len() >= INCIDENT_REFS {
            m.clear();
        }
        m.insert(id, r.clone());
        Ok(r)
    }
}

/// Filter of the incident list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Category key.
    pub category: Option<String>,
    /// State key (`open` by default excludes nothing when None).
    pub state: Option<String>,
    /// Division subtree path.
    pub within: Option<String>,
    /// Rows.
    pub limit: i64,
    /// Only ids below (keyset, newest first).
    pub before_id: Option<i64>,
}

/// Incidents the actor may see, newest first.
pub async fn list_incidents(pool: &AnyPool, actor: &Actor, f: &IncidentFilter) -> Result<Vec<Incident>> {
    let mut b = SqlBuf::new(&format!("SELECT {INC_COLS} FROM incidents WHERE "));
    b.scope(actor, "division_path", None);
    if let Some(c) = &f.category {
        b.push(" AND category = ").text(c.clone());
    }
    if let Some(s) = &f.state {
        b.push(" AND state = ").text(s.clone());
    }
    if let Some(p) = &f.within {
        b.push(" AND ");
        b.within("division_path", p);
    }
    if let Some(id) = f.before_id {
        b.push(" AND id < ").int(id);
    }
    b.push(" ORDER BY id DESC LIMIT ").int(f.limit.clamp(1, 500));
    b.query().fetch_all(pool).await?.iter().map(incident_of).collect()
}

/// Open incidents of `category` reported after `since` inside a lon/lat box (duplicate candidates).
pub async fn incidents_near(
    pool: &AnyPool,
    category: &str,
    since: i64,
    bbox: (f64, f64, f64, f64),
    exclude: i64,
) -> Result<Vec<Incident>> {
    let rows = sqlx::query(&format!(
        "SELECT {INC_COLS} FROM incidents WHERE category = $1 AND reported_at >= $2 AND state = 'open' \
         AND lon >= $3 AND lon <= $4 AND lat >= $5 AND lat <= $6 AND id <> $7 ORDER BY id DESC LIMIT 50"
    ))
    .bind(category.to_string())
    .bind(since)
    .bind(bbox.0)
    .bind(bbox.1)
    .bind(bbox.2)
    .bind(bbox.3)
    .bind(exclude)
    .fetch_all(pool)
    .await?;
    rows.iter().map(incident_of).collect()
}

/// Sets the response level if it is still `from` (0 rows = a concurrent change).
pub async fn set_level(tx: &mut Tx, id: i64, from: i64, to: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE incidents SET response_level = $1, updated_at = $2 WHERE id = $3 AND response_level = $4 AND state = 'open'",
    )
    .bind(to)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets the lifecycle phase.
pub async fn set_phase(tx: &mut Tx, id: i64, phase: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE incidents SET phase = $1, updated_at = $2 WHERE id = $3")
        .bind(phase.to_string())
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks `dup` merged into `into` (only if both are open); moves reporters, timeline and
/// sitreps; returns false when either was not open.
pub async fn merge(tx: &mut Tx, dup: i64, into: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE incidents SET state = 'merged', merged_into = $1, updated_at = $2 WHERE id = $3 AND state = 'open' \
         AND EXISTS (SELECT 1 FROM incidents o WHERE o.id = $1 AND o.state = 'open')",
    )
    .bind(into)
    .bind(now)
    .bind(dup)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    for t in ["incident_reporters", "incident_timeline", "sitreps", "incident_photos"] {
        sqlx::query(&format!("UPDATE {t} SET incident_id = $1 WHERE incident_id = $2"))
            .bind(into)
            .bind(dup)
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}

/// Records the first time of a 1-3-5-10 step (`first_dispatch_at`, …) if not yet set.
pub async fn mark_first(tx: &mut Tx, id: i64, column: &'static str, at: i64) -> Result<()> {
    debug_assert!(matches!(column, "first_dispatch_at" | "first_on_scene_at" | "first_action_at" | "reinforce_at"));
    sqlx::query(&format!("UPDATE incidents SET {column} = $1 WHERE id = $2 AND {column} IS NULL"))
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A reporter.
#[derive(Debug, Clone, Serialize)]
pub struct Reporter {
    /// User id.
    pub user_id: i64,
    /// Username.
    pub username: String,
    /// Unix ms.
    pub at: i64,
}

/// Reporters of an incident.
pub async fn reporters(pool: &AnyPool, id: i64) -> Result<Vec<Reporter>> {
    let rows =
        sqlx::query("SELECT user_id, username, at FROM incident_reporters WHERE incident_id = $1 ORDER BY at, id")
            .bind(id)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| Ok(Reporter { user_id: col(r, "user_id")?, username: col(r, "username")?, at: col(r, "at")? }))
        .collect()
}

/// A timeline entry.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Id.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Kind.
    pub kind: String,
    /// Automatic (true) or written by a person.
    pub auto: bool,
    /// Who (empty for automatic).
    pub username: String,
    /// Chinese text.
    pub text_zh: String,
    /// English text.
    pub text_en: String,
}

/// Adds a timeline entry inside `tx`; returns its id. Like audit records, entries are written
/// with the batch's others just before COMMIT (see `Tx`): nothing reads the timeline inside a
/// write.
#[allow(clippy::too_many_arguments)]
pub async fn add_timeline(
    tx: &mut Tx,
    incident_id: i64,
    at: i64,
    kind: &str,
    auto: bool,
    by: Option<(i64, &str)>,
    zh: &str,
    en: &str,
) -> Result<i64> {
    let row = NewTimeline {
        incident_id,
        at,
        kind: kind.to_string(),
        auto,
        by: by.map(|(id, name)| (id, name.to_string())),
        text_zh: zh.to_string(),
        text_en: en.to_string(),
    };
    let id = timeline_ids(tx, 1).await?[0];
    tx.batch().timeline.push((id, row));
    Ok(id)
}

/// Ids for `n` new timeline entries. SQLite: counted on from the largest id, read when the
/// outer transaction opened (its write lock is held until COMMIT, so no one else takes them).
/// PostgreSQL: taken from the identity sequence in blocks, kept by the node across batches.
async fn timeline_ids(tx: &mut Tx, n: usize) -> Result<Vec<i64>> {
    match tx.backend() {
        crate::Backend::Sqlite => {
            let state = &mut tx.batch().state;
            let next = state.next_timeline.expect("a SQLite batch opens with its next timeline id");
            state.next_timeline = Some(next + n as i64);
            Ok((next..next + n as i64).collect())
        }
        crate::Backend::Postgres => {
            if tx.id_pool().len() < n {
                let want = n.max(TIMELINE_ID_BLOCK) as i64;
                let rows = sqlx::query(
                    "SELECT nextval(pg_get_serial_sequence('incident_timeline', 'id')) AS id \
                     FROM generate_series(1, $1)",
                )
                .bind(want)
                .fetch_all(tx.conn())
                .await?;
                for r in rows {
                    let id = col::<i64>(&r, "id")?;
                    tx.id_pool().push_back(id);
                }
            }
            Ok(tx.id_pool().drain(..n).collect())
        }
    }
}

/// Timeline ids a PostgreSQL node takes from the sequence at once.
const TIMELINE_ID_BLOCK: usize = 256;

/// The timeline, oldest first.
pub async fn timeline(pool: &AnyPool, id: i64) -> Result<Vec<TimelineEntry>> {
    let rows = sqlx::query(
        "SELECT id, at, kind, auto, username, text_zh, text_en FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TimelineEntry {
                id: col(r, "id")?,
                at: col(r, "at")?,
                kind: col(r, "kind")?,
                auto: col::<i64>(r, "auto")? != 0,
                username: col(r, "username")?,
                text_zh: col(r, "text_zh")?,
                text_en: col(r, "text_en")?,
            })
        })
        .collect()
}

/// A situation report.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Sitrep {
    /// Id.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Author.
    pub username: String,
    /// Deaths.
    pub deaths: i64,
    /// Injured.
    pub injured: i64,
    /// Missing.
    pub missing: i64,
    /// People affected.
    pub affected: i64,
    /// Responders / resources deployed.
    pub deployed: i64,
    /// Text.
    pub body: String,
}

/// Inserts a sitrep.
pub async fn insert_sitrep(tx: &mut Tx, incident_id: i64, user_id: i64, s: &Sitrep) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO sitreps (incident_id, at, user_id, username, deaths, injured, missing, affected, deployed, body) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
    )
    .bind(incident_id)
    .bind(s.at)
    .bind(user_id)
    .bind(s.username.clone())
    .bind(s.deaths)
    .bind(s.injured)
    .bind(s.missing)
    .bind(s.affected)
    .bind(s.deployed)
    .bind(s.body.clone())
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

/// Sitreps, newest first.
pub async fn sitreps(pool: &AnyPool, id: i64) -> Result<Vec<Sitrep>> {
    let rows = sqlx::query(
        "SELECT id, at, username, deaths, injured, missing, affected, deployed, body FROM sitreps \
         WHERE incident_id = $1 ORDER BY id DESC",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Sitrep {
                id: col(r, "id")?,
                at: col(r, "at")?,
                username: col(r, "username")?,
                deaths: col(r, "deaths")?,
                injured: col(r, "injured")?,
                missing: col(r, "missing")?,
                affected: col(r, "affected")?,
                deployed: col(r, "deployed")?,
                body: col(r, "body")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Mobilisation
// ---------------------------------------------------------------------------------------------

/// A mobilisation plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Category.
    pub category: String,
    /// Sub-type ('' = any).
    pub subtype: String,
    /// Response level.
    pub level: i64,
    /// Organisation domain / specialty keys called (comma list; '' = any).
    pub domains: String,
    /// People wanted in total.
    pub people: i64,
    /// From how far (metres).
    pub radius_m: i64,
    /// `standby` or `deploy`.
    pub mode: String,
    /// Owner jurisdiction.
    pub division_code: String,
    /// Owner path.
    pub division_path: String,
}

/// Inserts a plan.
pub async fn insert_plan(tx: &mut Tx, p: &Plan, now: i64) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO mobilisation_plans (name, category, subtype, level, domains, people, radius_m, mode, division_code, \
         division_path, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
    )
    .bind(p.name.clone())
    .bind(p.category.clone())
    .bind(p.subtype.clone())
    .bind(p.level)
    .bind(p.domains.clone())
    .bind(p.people)
    .bind(p.radius_m)
    .bind(p.mode.clone())
    .bind(p.division_code.clone())
    .bind(p.division_path.clone())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

fn plan_of(r: &AnyRow) -> Result<Plan> {
    Ok(Plan {
        id: col(r, "id")?,
        name: col(r, "name")?,
        category: col(r, "category")?,
        subtype: col(r, "subtype")?,
        level: col(r, "level")?,
        domains: col(r, "domains")?,
        people: col(r, "people")?,
        radius_m: col(r, "radius_m")?,
        mode: col(r, "mode")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
    })
}

const PLAN_COLS: &str =
    "id, name, category, subtype, level, domains, people, radius_m, mode, division_code, division_path";

/// Plans the actor may see.
pub async fn list_plans(pool: &AnyPool, actor: &Actor) -> Result<Vec<Plan>> {
    let mut b = SqlBuf::new(&format!("SELECT {PLAN_COLS} FROM mobilisation_plans WHERE "));
    b.scope(actor, "division_path", None);
    b.push(" ORDER BY category, subtype, level, id");
    b.query().fetch_all(pool).await?.iter().map(plan_of).collect()
}

/// Plans of a category at levels `level..=4` (a higher response includes the lower levels'
/// calls) whose owner jurisdiction covers the incident path.
pub async fn plans_for<'e, E>(ex: E, category: &str, subtype: &str, level: i64) -> Result<Vec<Plan>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(&format!(
        "SELECT {PLAN_COLS} FROM mobilisation_plans WHERE category = $1 AND (subtype = '' OR subtype = $2) \
         AND level >= $3 ORDER BY level, id"
    ))
    .bind(category.to_string())
    .bind(subtype.to_string())
    .bind(level)
    .fetch_all(ex)
    .await?;
    rows.iter().map(plan_of).collect()
}

/// An organisation that may be called.
#[derive(Debug, Clone)]
pub struct OrgCandidate {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Domains (comma list).
    pub domains: String,
    /// Specialties (comma list).
    pub specialties: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Division path.
    pub division_path: String,
    /// People.
    pub people_count: i64,
}

/// Verified organisations with a location inside a box.
pub async fn verified_orgs_in_box<'e, E>(ex: E, bbox: (f64, f64, f64, f64)) -> Result<Vec<OrgCandidate>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT id, name, domains, specialties, lon, lat, division_path, people_count FROM organizations \
         WHERE state = 'verified' AND lon >= $1 AND lon <= $2 AND lat >= $3 AND lat <= $4 ORDER BY id",
    )
    .bind(bbox.0)
    .bind(bbox.1)
    .bind(bbox.2)
    .bind(bbox.3)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OrgCandidate {
                id: col(r, "id")?,
                name: col(r, "name")?,
                domains: col(r, "domains")?,
                specialties: col(r, "specialties")?,
                lon: col(r, "lon")?,
                lat: col(r, "lat")?,
                division_path: col(r, "division_path")?,
                people_count: col(r, "people_count")?,
            })
        })
        .collect()
}

/// Accounts acting for the organisations (their admins), as (user id, org id).
pub async fn org_admin_users(tx: &mut Tx, org_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    for chunk in org_ids.chunks(500) {
        let mut b =
            SqlBuf::new("SELECT id, org_id FROM users WHERE role = 'org_admin' AND disabled = 0 AND org_id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                b.push(",");
            }
            b.int(*id);
        }
        b.push(")");
        for r in b.query().fetch_all(&mut **tx).await? {
            out.push((col(&r, "id")?, col(&r, "org_id")?));
        }
    }
    Ok(out)
}

/// A mobilisation notice.
#[derive(Debug, Clone, Serialize)]
pub struct Mobilisation {
    /// Id.
    pub id: i64,
    /// Incident.
    pub incident_id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Organisation name.
    pub org_name: String,
    /// Level that issued it.
    pub level: i64,
    /// `standby` or `deploy`.
    pub mode: String,
    /// People requested.
    pub requested: i64,
    /// `notified`, `ready`, `unavailable`, `stood_down`.
    pub state: String,
    /// People ready (answer).
    pub answer_people: i64,
    /// Note of the answer.
    pub answer_note: String,
    /// Distance from the incident.
    pub distance_m: i64,
    /// Notified at.
    pub notified_at: i64,
    /// Answered at.
    pub answered_at: Option<i64>,
}

/// Inserts or re-issues a notice; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn upsert_mobilisation(
    tx: &mut Tx,
    incident_id: i64,
    org_id: i64,
    plan_id: i64,
    level: i64,
    mode: &str,
    requested: i64,
    distance_m: i64,
    path: &str,
    now: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO mobilisations (incident_id, org_id, plan_id, level, mode, requested, state, distance_m, notified_at, \
         division_path) VALUES ($1,$2,$3,$4,$5,$6,'notified',$7,$8,$9) \
         ON CONFLICT (incident_id, org_id) DO UPDATE SET plan_id = excluded.plan_id, level = excluded.level, \
         mode = excluded.mode, requested = excluded.requested, notified_at = excluded.notified_at, \
         state = CASE WHEN mobilisations.state = 'stood_down' THEN 'notified' ELSE mobilisations.state END \
         RETURNING id",
    )
    .bind(incident_id)
    .bind(org_id)
    .bind(plan_id)
    .bind(level)
    .bind(mode.to_string())
    .bind(requested)
    .bind(distance_m)
    .bind(now)
    .bind(path.to_string())
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

/// Stands down every live notice of an incident issued at a level more urgent than `level`
/// (all of them when `level` is 0); returns the organisations stood down.
pub async fn stand_down(tx: &mut Tx, incident_id: i64, level: i64, now: i64) -> Result<Vec<i64>> {
    let cond = if level == 0 { String::new() } else { format!(" AND level < {level}") };
    let rows = sqlx::query(&format!(
        "UPDATE mobilisations SET state = 'stood_down', answered_at = $1 WHERE incident_id = $2 \
         AND state <> 'stood_down'{cond} RETURNING org_id"
    ))
    .bind(now)
    .bind(incident_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| col(r, "org_id")).collect()
}

const MOB_SELECT: &str = "SELECT m.id, m.incident_id, m.org_id, o.name AS org_name, m.level, m.mode, m.requested, \
     m.state, m.answer_people, m.answer_note, m.distance_m, m.notified_at, m.answered_at FROM mobilisations m \
     JOIN organizations o ON o.id = m.org_id";

fn mob_of(r: &AnyRow) -> Result<Mobilisation> {
    Ok(Mobilisation {
        id: col(r, "id")?,
        incident_id: col(r, "incident_id")?,
        org_id: col(r, "org_id")?,
        org_name: col(r, "org_name")?,
        level: col(r, "level")?,
        mode: col(r, "mode")?,
        requested: col(r, "requested")?,
        state: col(r, "state")?,
        answer_people: col(r, "answer_people")?,
        answer_note: col(r, "answer_note")?,
        distance_m: col(r, "distance_m")?,
        notified_at: col(r, "notified_at")?,
        answered_at: col(r, "answered_at")?,
    })
}

/// Notices of an incident.
pub async fn mobilisations_of(pool: &AnyPool, incident_id: i64) -> Result<Vec<Mobilisation>> {
    let rows = sqlx::query(&format!("{MOB_SELECT} WHERE m.incident_id = $1 ORDER BY m.distance_m, m.id"))
        .bind(incident_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(mob_of).collect()
}

/// Notices addressed to an organisation, newest first.
pub async fn mobilisations_for_org(pool: &AnyPool, org_id: i64) -> Result<Vec<Mobilisation>> {
    let rows = sqlx::query(&format!("{MOB_SELECT} WHERE m.org_id = $1 ORDER BY m.id DESC LIMIT 200"))
        .bind(org_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(mob_of).collect()
}

/// One notice.
pub async fn get_mobilisation<'e, E>(ex: E, id: i64) -> Result<Mobilisation>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query(&format!("{MOB_SELECT} WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .ok_or(StoreError::NotFound)?;
    mob_of(&r)
}

/// Records an answer unless the notice was stood down; false when it was.
pub async fn answer_mobilisation(tx: &mut Tx, id: i64, state: &str, people: i64, note: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE mobilisations SET state = $1, answer_people = $2, answer_note = $3, answered_at = $4 \
         WHERE id = $5 AND state <> 'stood_down'",
    )
    .bind(state.to_string())
    .bind(people)
    .bind(note.to_string())
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------
// Tasks and assignments
// ---------------------------------------------------------------------------------------------

/// A task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    /// Id.
    pub id: i64,
    /// Incident, if any.
    pub incident_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Skill key.
    pub skill: String,
    /// Head count.
    pub head_count: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Check-in radius.
    pub geofence_m: i64,
    /// Priority key.
    pub priority: String,
    /// Insurance required.
    pub insurance_required: bool,
    /// Window start.
    pub starts_at: i64,
    /// Window end.
    pub ends_at: i64,
    /// `open`, `closed`, `withdrawn`.
    pub state: String,
    /// Division code.
    pub division_code: String,
    /// Division path.
    pub division_path: String,
    /// Created.
    pub created_at: i64,
}

const TASK_COLS: &str =
    "id, incident_id, title, skill, head_count, lon, lat, geofence_m, priority, insurance_required, \
     starts_at, ends_at, state, division_code, division_path, created_at";

fn task_of(r: &AnyRow) -> Result<TaskRow> {
    Ok(TaskRow {
        id: col(r, "id")?,
        incident_id: col(r, "incident_id")?,
        title: col(r, "title")?,
        skill: col(r, "skill")?,
        head_count: col(r, "head_count")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        geofence_m: col(r, "geofence_m")?,
        priority: col(r, "priority")?,
        insurance_required: col::<i64>(r, "insurance_required")? != 0,
        starts_at: col(r, "starts_at")?,
        ends_at: col(r, "ends_at")?,
        state: col(r, "state")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        created_at: col(r, "created_at")?,
    })
}

/// Inserts tasks (multi-row); returns their ids in order.
pub async fn insert_tasks(tx: &mut Tx, rows: &[TaskRow], created_by: i64) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    const C: usize = 15;
    for chunk in rows.chunks(crate::batch_rows(C)) {
        let sql = format!(
            "INSERT INTO tasks (incident_id, title, skill, head_count, lon, lat, geofence_m, priority, insurance_required, \
             starts_at, ends_at, state, division_code, division_path, created_by, created_at) VALUES {} RETURNING id",
            values_with_const(chunk.len(), C, created_by)
        );
        let mut q = sqlx::query(&sql);
        for t in chunk {
            q = q
                .bind(t.incident_id)
                .bind(t.title.clone())
                .bind(t.skill.clone())
                .bind(t.head_count)
                .bind(t.lon)
                .bind(t.lat)
                .bind(t.geofence_m)
                .bind(t.priority.clone())
                .bind(t.insurance_required as i64)
                .bind(t.starts_at)
                .bind(t.ends_at)
                .bind(t.state.clone())
                .bind(t.division_code.clone())
                .bind(t.division_path.clone())
                .bind(t.created_at);
        }
        let mut got: Vec<i64> = q.fetch_all(&mut **tx).await?.iter().map(|r| col(r, "id")).collect::<Result<_>>()?;
        got.sort_unstable();
        ids.extend(got);
    }
    Ok(ids)
}

/// `($1,..,$14, created_by, $15)` rows: the created_by literal sits before the last column.
fn values_with_const(rows: usize, cols: usize, created_by: i64) -> String {
    let mut s = String::new();
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c == cols - 1 {
                s.push_str(&format!("{created_by},"));
            }
            s.push_str(&format!("${}", r * cols + c + 1));
            if c + 1 < cols {
                s.push(',');
            }
        }
        s.push(')');
    }
    s
}

/// One task.
pub async fn get_task<'e, E>(ex: E, id: i64) -> Result<TaskRow>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query(&format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .ok_or(StoreError::NotFound)?;
    task_of(&r)
}

/// Tasks the actor may see (by jurisdiction), newest first; optionally of one incident.
pub async fn list_tasks(pool: &AnyPool, actor: &Actor, incident: Option<i64>, limit: i64) -> Result<Vec<TaskRow>> {
    let mut b = SqlBuf::new(&format!("SELECT {TASK_COLS} FROM tasks WHERE "));
    b.scope(actor, "division_path", None);
    if let Some(i) = incident {
        b.push(" AND incident_id = ").int(i);
    }
    b.push(" ORDER BY id DESC LIMIT ").int(limit.clamp(1, 5000));
    b.query().fetch_all(pool).await?.iter().map(task_of).collect()
}

/// Sets a task's state.
pub async fn set_task_state(tx: &mut Tx, id: i64, state: &str) -> Result<()> {
    sqlx::query("UPDATE tasks SET state = $1 WHERE id = $2")
        .bind(state.to_string())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A responder as the dispatch engine needs it.
#[derive(Debug, Clone)]
pub struct ResponderRow {
    /// Volunteer id.
    pub id: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Skills (comma list).
    pub skills: String,
    /// Insured.
    pub insured: bool,
    /// Organisation.
    pub org_id: Option<i64>,
    /// Linked account.
    pub user_id: Option<i64>,
}

/// Volunteers available now, located, inside a box, and holding no live assignment.
pub async fn free_responders(pool: &AnyPool, bbox: (f64, f64, f64, f64)) -> Result<Vec<ResponderRow>> {
    let rows = sqlx::query(
        "SELECT v.id, v.lon, v.lat, v.skills, v.insured, v.org_id, v.user_id FROM volunteers v \
         WHERE v.available_now = 1 AND v.lon >= $1 AND v.lon <= $2 AND v.lat >= $3 AND v.lat <= $4 \
         AND NOT EXISTS (SELECT 1 FROM task_assignments a WHERE a.volunteer_id = v.id AND a.live = 1)",
    )
    .bind(bbox.0)
    .bind(bbox.1)
    .bind(bbox.2)
    .bind(bbox.3)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ResponderRow {
                id: col(r, "id")?,
                lon: col(r, "lon")?,
                lat: col(r, "lat")?,
                skills: col(r, "skills")?,
                insured: col::<i64>(r, "insured")? != 0,
                org_id: col(r, "org_id")?,
                user_id: col(r, "user_id")?,
            })
        })
        .collect()
}

/// An offer to insert.
#[derive(Debug, Clone)]
pub struct NewOffer {
    /// Task.
    pub task_id: i64,
    /// Slot number.
    pub slot: i64,
    /// Volunteer.
    pub volunteer_id: i64,
    /// Volunteer's organisation.
    pub org_id: Option<i64>,
    /// Volunteer's account.
    pub user_id: Option<i64>,
    /// Travel distance.
    pub distance_m: i64,
    /// Path of the task.
    pub division_path: String,
}

/// Inserts offers in bulk; a slot or responder already held makes the whole batch a
/// [`StoreError::Conflict`] (the caller's transaction then rolls back). Returns ids in order.
pub async fn insert_offers(tx: &mut Tx, rows: &[NewOffer], now: i64, expires_at: i64) -> Result<Vec<i64>> {
    use crate::bulk::Column::{Int, Text};
    let ints = |f: fn(&NewOffer) -> Option<i64>| Int(rows.iter().map(f).collect());
    let n = rows.len();
    crate::bulk::insert_columns(
        tx,
        "task_assignments",
        &[
            ("task_id", ints(|o| Some(o.task_id))),
            ("slot", ints(|o| Some(o.slot))),
            ("volunteer_id", ints(|o| Some(o.volunteer_id))),
            ("org_id", ints(|o| o.org_id)),
            ("user_id", ints(|o| o.user_id)),
            ("distance_m", ints(|o| Some(o.distance_m))),
            ("division_path", Text(rows.iter().map(|o| o.division_path.clone()).collect())),
            ("state", Text(vec!["offered".into(); n])),
            ("live", Int(vec![Some(1); n])),
            ("offered_at", Int(vec![Some(now); n])),
            ("expires_at", Int(vec![Some(expires_at); n])),
        ],
        true,
    )
    .await
}

/// An assignment.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    /// Id.
    pub id: i64,
    /// Task.
    pub task_id: i64,
    /// Slot.
    pub slot: i64,
    /// Volunteer.
    pub volunteer_id: i64,
    /// Volunteer name.
    pub volunteer_name: String,
    /// Organisation.
    pub org_id: Option<i64>,
    /// Account.
    pub user_id: Option<i64>,
    /// State key.
    pub state: String,
    /// Distance.
    pub distance_m: i64,
    /// Offered at.
    pub offered_at: i64,
    /// Offer expiry.
    pub expires_at: i64,
    /// Answered at.
    pub answered_at: Option<i64>,
    /// En route at.
    pub en_route_at: Option<i64>,
    /// On scene (checked in) at.
    pub on_scene_at: Option<i64>,
    /// Done (checked out) at.
    pub done_at: Option<i64>,
    /// Task path.
    pub division_path: String,
}

const ASG_SELECT: &str =
    "SELECT a.id, a.task_id, a.slot, a.volunteer_id, v.name AS volunteer_name, a.org_id, a.user_id, \
     a.state, a.distance_m, a.offered_at, a.expires_at, a.answered_at, a.en_route_at, a.on_scene_at, a.done_at, \
     a.division_path FROM task_assignments a JOIN volunteers v ON v.id = a.volunteer_id";

fn asg_of(r: &AnyRow) -> Result<Assignment> {
    Ok(Assignment {
        id: col(r, "id")?,
        task_id: col(r, "task_id")?,
        slot: col(r, "slot")?,
        volunteer_id: col(r, "volunteer_id")?,
        volunteer_name: col(r, "volunteer_name")?,
        org_id: col(r, "org_id")?,
        user_id: col(r, "user_id")?,
        state: col(r, "state")?,
        distance_m: col(r, "distance_m")?,
        offered_at: col(r, "offered_at")?,
        expires_at: col(r, "expires_at")?,
        answered_at: col(r, "answered_at")?,
        en_route_at: col(r, "en_route_at")?,
        on_scene_at: col(r, "on_scene_at")?,
        done_at: col(r, "done_at")?,
        division_path: col(r, "division_path")?,
    })
}

/// Assignments of a task, by slot.
pub async fn assignments_of(pool: &AnyPool, task_id: i64) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(&format!("{ASG_SELECT} WHERE a.task_id = $1 ORDER BY a.live DESC, a.slot, a.id"))
        .bind(task_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(asg_of).collect()
}

/// Assignments of an account (a volunteer's own), newest first.
pub async fn assignments_of_user(pool: &AnyPool, user_id: i64) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(&format!("{ASG_SELECT} WHERE a.user_id = $1 ORDER BY a.id DESC LIMIT 100"))
        .bind(user_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(asg_of).collect()
}

/// Assignments held by members of an organisation, newest first.
pub async fn assignments_of_org(pool: &AnyPool, org_id: i64) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(&format!("{ASG_SELECT} WHERE a.org_id = $1 ORDER BY a.id DESC LIMIT 200"))
        .bind(org_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(asg_of).collect()
}

/// One assignment.
pub async fn get_assignment<'e, E>(ex: E, id: i64) -> Result<Assignment>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query(&format!("{ASG_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .ok_or(StoreError::NotFound)?;
    asg_of(&r)
}

/// Moves an assignment from `from` to `to` if it is still in `from` (and, for an accept,
/// the offer has not expired at `now`). `stamp` names the time column to set. False = lost race.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    tx: &mut Tx,
    id: i64,
    from: &str,
    to: &str,
    live: bool,
    stamp: Option<&'static str>,
    now: i64,
    require_unexpired: bool,
) -> Result<bool> {
    debug_assert!(stamp.is_none_or(|s| matches!(s, "answered_at" | "en_route_at" | "on_scene_at" | "done_at")));
    let set_stamp = stamp.map(|s| format!(", {s} = {now}")).unwrap_or_default();
    let expiry = if require_unexpired { format!(" AND expires_at > {now}") } else { String::new() };
    let r = sqlx::query(&format!(
        "UPDATE task_assignments SET state = $1, live = $2{set_stamp} WHERE id = $3 AND state = $4{expiry}"
    ))
    .bind(to.to_string())
    .bind(live as i64)
    .bind(id)
    .bind(from.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records the check-in position.
pub async fn set_checkin_pos(tx: &mut Tx, id: i64, lon: f64, lat: f64) -> Result<()> {
    sqlx::query("UPDATE task_assignments SET checkin_lon = $1, checkin_lat = $2 WHERE id = $3")
        .bind(lon)
        .bind(lat)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Offers past their expiry (id, task id), oldest first.
pub async fn expired_offers(pool: &AnyPool, now: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT id, task_id FROM task_assignments WHERE live = 1 AND state = 'offered' AND expires_at <= $1 \
         ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok((col(r, "id")?, col(r, "task_id")?))).collect()
}

/// Volunteers who already had (and lost, declined or finished) this task: not offered again.
pub async fn past_holders(pool: &AnyPool, task_id: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT DISTINCT volunteer_id FROM task_assignments WHERE task_id = $1")
        .bind(task_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| col(r, "volunteer_id")).collect()
}

/// Service hours of one assignment.
#[derive(Debug, Clone, Serialize)]
pub struct Hours {
    /// Id.
    pub id: i64,
    /// Volunteer.
    pub volunteer_id: i64,
    /// Assignment.
    pub assignment_id: i64,
    /// Task.
    pub task_id: i64,
    /// Task title.
    pub task_title: String,
    /// Organisation.
    pub org_id: Option<i64>,
    /// Check-in.
    pub checkin_at: i64,
    /// Check-out.
    pub checkout_at: i64,
    /// Minutes on duty.
    pub minutes: i64,
    /// Edit reason.
    pub edit_reason: String,
}

/// Records hours.
pub async fn insert_hours(tx: &mut Tx, a: &Assignment, checkin: i64, checkout: i64, minutes: i64) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO service_hours (volunteer_id, assignment_id, task_id, org_id, checkin_at, checkout_at, minutes, \
         division_path, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$6) RETURNING id",
    )
    .bind(a.volunteer_id)
    .bind(a.id)
    .bind(a.task_id)
    .bind(a.org_id)
    .bind(checkin)
    .bind(checkout)
    .bind(minutes)
    .bind(a.division_path.clone())
    .fetch_one(&mut **tx)
    .await
    .map_err(map_unique)?;
    col(&r, "id")
}

const HOURS_SELECT: &str = "SELECT h.id, h.volunteer_id, h.assignment_id, h.task_id, t.title AS task_title, h.org_id, \
     h.checkin_at, h.checkout_at, h.minutes, h.edit_reason FROM service_hours h JOIN tasks t ON t.id = h.task_id";

fn hours_of(r: &AnyRow) -> Result<Hours> {
    Ok(Hours {
        id: col(r, "id")?,
        volunteer_id: col(r, "volunteer_id")?,
        assignment_id: col(r, "assignment_id")?,
        task_id: col(r, "task_id")?,
        task_title: col(r, "task_title")?,
        org_id: col(r, "org_id")?,
        checkin_at: col(r, "checkin_at")?,
        checkout_at: col(r, "checkout_at")?,
        minutes: col(r, "minutes")?,
        edit_reason: col(r, "edit_reason")?,
    })
}

/// Hours of a volunteer, newest first.
pub async fn hours_of_volunteer(pool: &AnyPool, volunteer_id: i64) -> Result<Vec<Hours>> {
    let rows = sqlx::query(&format!("{HOURS_SELECT} WHERE h.volunteer_id = $1 ORDER BY h.id DESC"))
        .bind(volunteer_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(hours_of).collect()
}

/// Hours recorded for an organisation's members, newest first.
pub async fn hours_of_org(pool: &AnyPool, org_id: i64) -> Result<Vec<Hours>> {
    let rows = sqlx::query(&format!("{HOURS_SELECT} WHERE h.org_id = $1 ORDER BY h.id DESC LIMIT 500"))
        .bind(org_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(hours_of).collect()
}

/// One hours record.
pub async fn get_hours<'e, E>(ex: E, id: i64) -> Result<Hours>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query(&format!("{HOURS_SELECT} WHERE h.id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .ok_or(StoreError::NotFound)?;
    hours_of(&r)
}

/// Corrects hours.
pub async fn edit_hours(tx: &mut Tx, id: i64, minutes: i64, by: i64, reason: &str) -> Result<()> {
    sqlx::query("UPDATE service_hours SET minutes = $1, edited_by = $2, edit_reason = $3 WHERE id = $4")
        .bind(minutes)
        .bind(by)
        .bind(reason.to_string())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The first task of an incident to receive offers (for the reinforcement rule).
pub async fn first_dispatched_task(tx: &mut Tx, incident_id: i64) -> Result<Option<i64>> {
    let r = sqlx::query(
        "SELECT a.task_id FROM task_assignments a JOIN tasks t ON t.id = a.task_id WHERE t.incident_id = $1 \
         ORDER BY a.offered_at, a.id LIMIT 1",
    )
    .bind(incident_id)
    .fetch_optional(&mut **tx)
    .await?;
    r.map(|r| col(&r, "task_id")).transpose()
}

/// Whether `user_id` reported incident `id`, or organisation `org_id` was mobilised for it.
pub async fn involved(pool: &AnyPool, id: i64, user_id: i64, org_id: Option<i64>) -> Result<bool> {
    let r = sqlx::query(
        "SELECT 1 AS x FROM incident_reporters WHERE incident_id = $1 AND user_id = $2 \
         UNION ALL SELECT 1 AS x FROM mobilisations WHERE incident_id = $1 AND org_id = $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(org_id.unwrap_or(-1))
    .fetch_optional(pool)
    .await?;
    Ok(r.is_some())
}

/// Rows per `IN (…)` list of ids (written as integer literals: no parameters to number).
const IDS_PER_QUERY: usize = 1000;

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Tasks by id, in the order asked; a missing id is [`StoreError::NotFound`]. Set-based: one
/// query per thousand ids (mass mobilisation reads thousands of tasks at once).
pub async fn get_tasks(pool: &AnyPool, ids: &[i64]) -> Result<Vec<TaskRow>> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = format!("SELECT {TASK_COLS} FROM tasks WHERE id IN ({})", id_list(chunk));
        for r in sqlx::query(&sql).fetch_all(pool).await? {
            let t = task_of(&r)?;
            found.insert(t.id, t);
        }
    }
    ids.iter().map(|id| found.get(id).cloned().ok_or(StoreError::NotFound)).collect()
}

/// Live slot numbers of many tasks (task id → slots), inside the claiming transaction.
pub async fn live_slots_of(tx: &mut Tx, task_ids: &[i64]) -> Result<std::collections::HashMap<i64, Vec<i64>>> {
    let mut out: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for chunk in task_ids.chunks(IDS_PER_QUERY) {
        let sql =
            format!("SELECT task_id, slot FROM task_assignments WHERE live = 1 AND task_id IN ({})", id_list(chunk));
        for r in sqlx::query(&sql).fetch_all(&mut **tx).await? {
            out.entry(col(&r, "task_id")?).or_default().push(col(&r, "slot")?);
        }
    }
    Ok(out)
}

/// Live assignment counts of many tasks (task id → count; absent = 0).
pub async fn live_counts(pool: &AnyPool, task_ids: &[i64]) -> Result<std::collections::HashMap<i64, i64>> {
    let mut out = std::collections::HashMap::new();
    for chunk in task_ids.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT task_id, COUNT(*) AS n FROM task_assignments WHERE live = 1 AND task_id IN ({}) GROUP BY task_id",
            id_list(chunk)
        );
        for r in sqlx::query(&sql).fetch_all(pool).await? {
            out.insert(col(&r, "task_id")?, col(&r, "n")?);
        }
    }
    Ok(out)
}

/// A timeline entry to add in bulk.
#[derive(Debug, Clone)]
pub struct NewTimeline {
    /// Incident.
    pub incident_id: i64,
    /// Unix ms.
    pub at: i64,
    /// Kind.
    pub kind: String,
    /// Automatic (true) or written by a person.
    pub auto: bool,
    /// Who (user id, username).
    pub by: Option<(i64, String)>,
    /// Chinese text.
    pub text_zh: String,
    /// English text.
    pub text_en: String,
}

/// Adds many timeline entries (in order), written like [`add_timeline`]'s.
pub async fn add_timeline_many(tx: &mut Tx, rows: &[NewTimeline]) -> Result<()> {
    let ids = timeline_ids(tx, rows.len()).await?;
    tx.batch().timeline.extend(ids.into_iter().zip(rows.iter().cloned()));
    Ok(())
}
