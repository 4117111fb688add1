//! Incidents, graded mobilisation, tasks and dispatch (capabilities B, C, D): use cases.
//!
//! Every change commits with its audit record and its live event in one transaction. Claims
//! are race-safe in the database (see `tongxin_store::incidents`); the dispatch engine
//! (`tongxin-dispatch`) proposes the exact optimum, and the database decides who holds a slot.

use crate::{invalid, App, AppError, AppResult, RequestCtx};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use tongxin_dispatch as dx;
use tongxin_domain::fake::SKILL_KEYS;
use tongxin_domain::incidents::{self as rules, kpi, AssignState, IncidentInput, TaskInput};
use tongxin_domain::{Actor, Role, Text};
use tongxin_store::events::{publish, publish_many, NewEvent};
use tongxin_store::incidents::{self as st, Assignment, Incident, Mobilisation, NewOffer, Plan, TaskRow};
use tongxin_store::notifications::{self, NewNotification};
use tongxin_store::{now_ms, StoreError, Tx};

/// How long a responder has to answer an offer.
pub const OFFER_TTL_MS: i64 = 5 * 60 * 1000;
/// Furthest a proposed responder may be from a task (metres).
pub const MAX_TRAVEL_M: u32 = 30_000;
/// Candidates per task for the exact solve.
pub const CANDIDATES_K: usize = 16;
/// Further solve rounds for slots left open only because nearby tasks shared their candidates.
pub const MAX_EXTRA_ROUNDS: usize = 4;

/// Roles that command: raise levels, merge, create tasks, dispatch, write plans.
pub const COMMAND_ROLES: [Role; 4] = [Role::Commander, Role::CivilAffairs, Role::CommunityWorker, Role::SysAdmin];

fn may_command(a: &Actor) -> bool {
    COMMAND_ROLES.contains(&a.role) && a.division_path.is_some()
}

fn conflict(zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::Conflict(Text::new(zh, en))
}

fn json(v: serde_json::Value) -> String {
    v.to_string()
}

/// A report as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct IncidentForm {
    /// Title.
    pub title: String,
    /// Category key.
    pub category: String,
    /// Sub-type key.
    pub subtype: String,
    /// Severity 1–4 (0 = ungraded social-security incident).
    pub severity: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Radius (m).
    #[serde(default)]
    pub radius_m: i64,
    /// Division of the place (defaults to the reporter's own).
    #[serde(default)]
    pub division_code: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// The result of a report.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    /// New incident id.
    pub id: i64,
    /// Possible duplicates (same category, near in space and time).
    pub duplicates: Vec<Incident>,
}

/// A task as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TaskForm {
    /// Incident (None: a stand-alone task, e.g. a drill).
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Skill key ('' = any).
    #[serde(default)]
    pub skill: String,
    /// People needed.
    pub head_count: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Check-in radius (m), default 300.
    #[serde(default)]
    pub geofence_m: Option<i64>,
    /// Priority key, default `urgent`.
    #[serde(default)]
    pub priority: Option<String>,
    /// Insurance required (default true).
    #[serde(default)]
    pub insurance_required: Option<bool>,
    /// Window start (unix ms, default now).
    #[serde(default)]
    pub starts_at: Option<i64>,
    /// Window end (unix ms, default start + 4 h).
    #[serde(default)]
    pub ends_at: Option<i64>,
    /// Division of the place (defaults to the incident's, else the actor's).
    #[serde(default)]
    pub division_code: Option<String>,
}

/// One proposed responder.
#[derive(Debug, Clone, Serialize)]
pub struct Pick {
    /// Task.
    pub task_id: i64,
    /// Volunteer.
    pub volunteer_id: i64,
    /// Travel distance.
    pub distance_m: u32,
}

/// A dispatch proposal (nothing saved yet).
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    /// Optimal picks, by task.
    pub picks: Vec<Pick>,
    /// Slots asked for.
    pub slots: u64,
    /// Slots filled.
    pub filled: u64,
    /// Total travel (m).
    pub travel_m: u64,
    /// Unfilled slots per task with the reason.
    pub unfilled: Vec<(i64, u32, Text)>,
    /// Responders considered.
    pub responders: usize,
    /// Solver method.
    pub method: String,
}

/// 1-3-5-10 figures of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentKpi {
    /// Incident id.
    pub incident_id: i64,
    /// Measures.
    pub measures: Vec<kpi::Measure>,
}

/// KPI share per group (organisation or district).
#[derive(Debug, Clone, Serialize)]
pub struct KpiGroup {
    /// Group key (org id or district code).
    pub key: String,
    /// Name.
    pub name: String,
    /// Incidents or assignments counted.
    pub n: i64,
    /// Met counts per rule step (dispatch, on scene, first action, reinforce).
    pub met: [i64; 4],
    /// Late counts per step.
    pub late: [i64; 4],
}

fn skill_bit(key: &str) -> Option<u16> {
    SKILL_KEYS.iter().position(|k| *k == key).map(|i| i as u16)
}

fn skills_of(csv: &str) -> dx::SkillSet {
    dx::SkillSet(csv.split(',').filter_map(skill_bit).fold(0u64, |acc, b| acc | (1 << b)))
}

fn priority_of(p: &str) -> dx::Priority {
    match p {
        "routine" => dx::Priority::Routine,
        "elevated" => dx::Priority::Elevated,
        "critical" => dx::Priority::Critical,
        _ => dx::Priority::Urgent,
    }
}

/// A lon/lat box around points with `margin_m` metres on every side.
fn bbox_around(points: impl Iterator<Item = (f64, f64)>, margin_m: f64) -> Option<(f64, f64, f64, f64)> {
    let mut b: Option<(f64, f64, f64, f64)> = None;
    for (lon, lat) in points {
        let dlat = margin_m / 111_000.0;
        let dlon = margin_m / (111_000.0 * lat.to_radians().cos().max(0.1));
        b = Some(match b {
            None => (lon - dlon, lon + dlon, lat - dlat, lat + dlat),
            Some((a, c, d, e)) => (a.min(lon - dlon), c.max(lon + dlon), d.min(lat - dlat), e.max(lat + dlat)),
        });
    }
    b
}

impl App {
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        tx: &mut Tx,
        actor: Option<&Actor>,
        ctx: &RequestCtx,
        action: &str,
        ty: &str,
        id: i64,
        s: serde_json::Value,
    ) -> AppResult<()> {
        tongxin_store::audit::append(tx, crate::audit::entry(actor, ctx, action, ty, id, s)).await?;
        Ok(())
    }

    async fn event(&self, tx: &mut Tx, e: NewEvent) -> AppResult<()> {
        publish(tx, self.store.backend(), &e).await?;
        Ok(())
    }

    async fn timeline(
        &self,
        tx: &mut Tx,
        inc: i64,
        kind: &str,
        by: Option<&Actor>,
        zh: &str,
        en: &str,
    ) -> AppResult<i64> {
        Ok(st::add_timeline(
            tx,
            inc,
            now_ms(),
            kind,
            by.is_none(),
            by.map(|a| (a.user_id, a.username.as_str())),
            zh,
            en,
        )
        .await?)
    }

    /// Whether `actor` may see incident `i`: its jurisdiction covers it, it reported it, or its
    /// organisation was mobilised for it.
    async fn may_see_incident(&self, actor: &Actor, i: &Incident) -> AppResult<bool> {
        self.may_see(actor, i.id, &i.division_path, i.reporter_id).await
    }

    async fn may_see(&self, actor: &Actor, id: i64, division_path: &str, reporter_id: i64) -> AppResult<bool> {
        if actor.covers(division_path) || reporter_id == actor.user_id {
            return Ok(true);
        }
        Ok(st::involved(self.store.reader(), id, actor.user_id, actor.org_id).await?)
    }

    /// One incident the actor may see (404 otherwise).
    pub async fn incident_for(&self, actor: &Actor, id: i64) -> AppResult<Incident> {
        let i = st::get_incident(self.store.reader(), id).await?;
        if self.may_see_incident(actor, &i).await? {
            Ok(i)
        } else {
            Err(AppError::NotFound)
        }
    }

    async fn incident_to_command(&self, actor: &Actor, id: i64) -> AppResult<Incident> {
        let i = st::get_incident(self.store.reader(), id).await?;
        if !actor.covers(&i.division_path) {
            return Err(AppError::NotFound);
        }
        if !may_command(actor) {
            return Err(AppError::Forbidden);
        }
        Ok(i)
    }

    /// Incidents in the actor's jurisdiction, newest first.
    pub async fn incidents_for(&self, actor: &Actor, f: &st::IncidentFilter) -> AppResult<Vec<Incident>> {
        Ok(st::list_incidents(self.store.reader(), actor, f).await?)
    }

    /// Reports an incident. Residents, volunteers and organisations may report anywhere; an
    /// officer's report must lie in its jurisdiction. `source` is `web` or `api`.
    pub async fn report_incident(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        f: &IncidentForm,
        source: &str,
    ) -> AppResult<Reported> {
        if actor.role == Role::Supervisor {
            return Err(AppError::Forbidden);
        }
        let input = IncidentInput {
            title: f.title.trim().to_string(),
            category: f.category.clone(),
            subtype: f.subtype.clone(),
            severity: f.severity,
            lon: f.lon,
            lat: f.lat,
            radius_m: f.radius_m,
            description: f.description.trim().to_string(),
        };
        rules::validate_incident(&input).map_err(AppError::Validation)?;
        let code = f.division_code.clone().filter(|c| !c.is_empty()).or_else(|| actor.division_code.clone());
        let Some(code) = code else {
            return Err(invalid(
                "division_code",
                "required",
                "请选择事发地所在区划",
                "Choose the division of the place",
            ));
        };
        let div = self.store.division(&code).await.map_err(|_| {
            invalid(
                "division_code",
                "division.unknown",
                format!("区划代码 {code} 不存在"),
                format!("Division {code} does not exist"),
            )
        })?;
        if actor.role.needs_jurisdiction() && !actor.covers(&div.path) {
            return Err(invalid(
                "division_code",
                "division.scope",
                "事发地不在您的辖区内",
                "The place is outside your jurisdiction",
            ));
        }
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let id = st::insert_incident(
            &mut tx,
            &st::NewIncident {
                title: input.title.clone(),
                category: input.category.clone(),
                subtype: input.subtype.clone(),
                severity: input.severity,
                lon: input.lon,
                lat: input.lat,
                radius_m: input.radius_m,
                division_code: div.code.clone(),
                division_path: div.path.clone(),
                description: input.description.clone(),
                reporter_id: actor.user_id,
                source: source.to_string(),
                at: now,
            },
            &actor.username,
        )
        .await?;
        self.timeline(
            &mut tx,
            id,
            "reported",
            None,
            &format!("{} 上报：{}（{}）", actor.display_name, input.title, rules::subtype_label(&input.subtype, true)),
            &format!(
                "Reported by {}: {} ({})",
                actor.display_name,
                input.title,
                rules::subtype_label(&input.subtype, false)
            ),
        )
        .await?;
        self.audit(&mut tx, Some(actor), ctx, "incident.report", "incident", id, serde_json::json!({"category": input.category, "subtype": input.subtype, "severity": input.severity, "source": source})).await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "incident".into(),
                kind: "reported".into(),
                division_path: div.path.clone(),
                payload: json(serde_json::json!({"id": id, "title": input.title, "category": input.category, "lon": input.lon, "lat": input.lat})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        let duplicates = self.duplicates_of_row(&st::get_incident(self.store.reader(), id).await?).await?;
        Ok(Reported { id, duplicates })
    }

    async fn duplicates_of_row(&self, i: &Incident) -> AppResult<Vec<Incident>> {
        let Some(bbox) = bbox_around(std::iter::once((i.lon, i.lat)), rules::DUP_RADIUS_M) else { return Ok(vec![]) };
        let near =
            st::incidents_near(self.store.reader(), &i.category, i.reported_at - rules::DUP_WINDOW_MS, bbox, i.id)
                .await?;
        Ok(near
            .into_iter()
            .filter(|o| {
                rules::possible_duplicate(
                    (&i.category, i.lon, i.lat, i.reported_at),
                    (&o.category, o.lon, o.lat, o.reported_at),
                )
            })
            .collect())
    }

    /// Possible duplicates of an incident the actor may see (only those it may see too).
    pub async fn duplicates_for(&self, actor: &Actor, id: i64) -> AppResult<Vec<Incident>> {
        let i = self.incident_for(actor, id).await?;
        Ok(self.duplicates_of_row(&i).await?.into_iter().filter(|o| actor.covers(&o.division_path)).collect())
    }

    /// Merges `dup` into `into`: both reporters and timelines are kept on `into`.
    pub async fn merge_incident(&self, actor: &Actor, ctx: &RequestCtx, dup: i64, into: i64) -> AppResult<()> {
        if dup == into {
            return Err(invalid("into", "merge.self", "不能与自身合并", "An incident cannot be merged into itself"));
        }
        let a = self.incident_to_command(actor, dup).await?;
        let b = self.incident_to_command(actor, into).await?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        if !st::merge(&mut tx, dup, into, now).await? {
            return Err(conflict("事件已合并或已关闭", "The incident was already merged or closed"));
        }
        self.timeline(
            &mut tx,
            into,
            "merged",
            Some(actor),
            &format!("合并重复上报 #{dup}（{}）", a.title),
            &format!("Merged duplicate report #{dup} ({})", a.title),
        )
        .await?;
        self.audit(&mut tx, Some(actor), ctx, "incident.merge", "incident", dup, serde_json::json!({"into": into}))
            .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "incident".into(),
                kind: "merged".into(),
                division_path: b.division_path.clone(),
                payload: json(serde_json::json!({"id": into, "merged": dup})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await
    }

    /// Sets the lifecycle phase.
    pub async fn set_incident_phase(&self, actor: &Actor, ctx: &RequestCtx, id: i64, phase: &str) -> AppResult<()> {
        let i = self.incident_to_command(actor, id).await?;
        if !rules::PHASES.iter().any(|p| p.0 == phase) {
            return Err(invalid("phase", "phase.unknown", "阶段无效", "Unknown phase"));
        }
        let mut tx = self.store.begin().await?;
        st::set_phase(&mut tx, id, phase, now_ms()).await?;
        self.timeline(
            &mut tx,
            id,
            "phase",
            Some(actor),
            &format!("阶段变更为：{}", rules::label(&rules::PHASES, phase, true)),
            &format!("Phase set to {}", rules::label(&rules::PHASES, phase, false)),
        )
        .await?;
        self.audit(&mut tx, Some(actor), ctx, "incident.phase", "incident", id, serde_json::json!({"phase": phase}))
            .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "incident".into(),
                kind: "phase".into(),
                division_path: i.division_path,
                payload: json(serde_json::json!({"id": id, "phase": phase})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await
    }

    /// Writes a manual timeline note (officers and grid workers).
    /// Adds a manual timeline entry (field update); integrations subscribed to `incident.note`
    /// get it by webhook. Returns the entry's id.
    pub async fn add_incident_note(&self, actor: &Actor, ctx: &RequestCtx, id: i64, text: &str) -> AppResult<i64> {
        let i = self.store.incident_ref(id).await?;
        if !self.may_see(actor, id, &i.division_path, i.reporter_id).await? {
            return Err(AppError::NotFound);
        }
        if !(may_command(actor) || actor.role == Role::GridWorker) || !actor.covers(&i.division_path) {
            return Err(AppError::Forbidden);
        }
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 2000 {
            return Err(invalid("text", "length", "内容须为 1–2000 字", "Text must be 1–2,000 characters"));
        }
        let hooks = self.store.outbox_endpoints().await?;
        // Without webhooks to queue, a note is only appends (timeline, audit, event), the
        // most frequent write in the field: it then costs the shared writer no round trip.
        let mut tx = if crate::outbox::subscribers(&hooks, "incident.note", &i.division_path).next().is_none() {
            self.store.begin_appends().await?
        } else {
            self.store.begin().await?
        };
        let entry = self.timeline(&mut tx, id, "note", Some(actor), text, text).await?;
        self.audit(&mut tx, Some(actor), ctx, "incident.note", "incident", id, serde_json::json!({"entry": entry}))
            .await?;
        let base = tongxin_store::outbox::NewMessage {
            kind: "incident.note".into(),
            ref_type: "incident".into(),
            ref_id: Some(id),
            subject: format!("{} 现场反馈 / field update", i.title),
            body: serde_json::json!({"incident": id, "entry": entry, "text": text, "by": actor.display_name})
                .to_string(),
            link: format!("/incidents/{id}"),
            not_before: now_ms(),
            ..Default::default()
        };
        let msgs =
            crate::outbox::webhook_messages(&hooks, &base, &i.division_path, &format!("incident:{id}:note:{entry}"));
        crate::outbox::enqueue(&mut tx, &msgs).await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "incident".into(),
                kind: "note".into(),
                division_path: i.division_path,
                payload: json(serde_json::json!({"id": id})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        if !msgs.is_empty() {
            self.wake_outbox();
        }
        Ok(entry)
    }

    /// Writes a situation report.
    pub async fn add_sitrep(&self, actor: &Actor, ctx: &RequestCtx, id: i64, s: &st::Sitrep) -> AppResult<i64> {
        let i = self.incident_for(actor, id).await?;
        if !(may_command(actor) || actor.role == Role::GridWorker) || !actor.covers(&i.division_path) {
            return Err(AppError::Forbidden);
        }
        let figures = [
            ("deaths", s.deaths),
            ("injured", s.injured),
            ("missing", s.missing),
            ("affected", s.affected),
            ("deployed", s.deployed),
        ];
        for (f, v) in figures {
            if !(0..=10_000_000).contains(&v) {
                return Err(invalid(
                    f,
                    "range",
                    "人数须为 0–10000000 的整数",
                    "Figures must be whole numbers 0–10,000,000",
                ));
            }
        }
        if s.body.chars().count() > 8000 {
            return Err(invalid("body", "length", "正文不超过 8000 字", "The text is at most 8,000 characters"));
        }
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let sid = st::insert_sitrep(
            &mut tx,
            id,
            actor.user_id,
            &st::Sitrep { at: now, username: actor.username.clone(), ..s.clone() },
        )
        .await?;
        self.timeline(
            &mut tx,
            id,
            "sitrep",
            Some(actor),
            &format!(
                "情况报告：死亡 {}，受伤 {}，失联 {}，受影响 {}，投入力量 {}",
                s.deaths, s.injured, s.missing, s.affected, s.deployed
            ),
            &format!(
                "Sitrep: {} dead, {} injured, {} missing, {} affected, {} deployed",
                s.deaths, s.injured, s.missing, s.affected, s.deployed
            ),
        )
        .await?;
        self.audit(&mut tx, Some(actor), ctx, "incident.sitrep", "incident", id, serde_json::json!({"sitrep": sid}))
            .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "incident".into(),
                kind: "sitrep".into(),
                division_path: i.division_path,
                payload: json(serde_json::json!({"id": id})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(sid)
    }

    // -----------------------------------------------------------------------------------------
    // Graded mobilisation
    // -----------------------------------------------------------------------------------------

    /// Creates a mobilisation plan in the actor's jurisdiction.
    pub async fn create_plan(&self, actor: &Actor, ctx: &RequestCtx, p: &Plan) -> AppResult<i64> {
        if !may_command(actor) {
            return Err(AppError::Forbidden);
        }
        let mut errs = Vec::new();
        if p.name.trim().is_empty() {
            errs.push(tongxin_domain::FieldError::new("name", "required", "请填写预案名称", "Name the plan"));
        }
        if !rules::CATEGORIES.iter().any(|c| c.0 == p.category) {
            errs.push(tongxin_domain::FieldError::new(
                "category",
                "category.unknown",
                "事件类别无效",
                "Unknown category",
            ));
        }
        if !p.subtype.is_empty() && !rules::SUBTYPES.iter().any(|s| s.0 == p.category && s.1 == p.subtype) {
            errs.push(tongxin_domain::FieldError::new(
                "subtype",
                "subtype.unknown",
                "子类型不属于该类别",
                "Sub-type does not belong to the category",
            ));
        }
        if !(1..=4).contains(&p.level) {
            errs.push(tongxin_domain::FieldError::new("level", "range", "响应级别须为 1–4", "Level must be 1–4"));
        }
        if !(1..=100_000).contains(&p.people) {
            errs.push(tongxin_domain::FieldError::new(
                "people",
                "range",
                "人数须为 1–100000",
                "People must be 1–100,000",
            ));
        }
        if !(100..=200_000).contains(&p.radius_m) {
            errs.push(tongxin_domain::FieldError::new(
                "radius_m",
                "range",
                "动员半径须为 100–200000 米",
                "Radius must be 100–200,000 m",
            ));
        }
        if !rules::MODES.iter().any(|m| m.0 == p.mode) {
            errs.push(tongxin_domain::FieldError::new(
                "mode",
                "mode.unknown",
                "方式须为待命或出动",
                "Mode must be standby or deploy",
            ));
        }
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let (Some(code), Some(path)) = (actor.division_code.clone(), actor.division_path.clone()) else {
            return Err(AppError::Forbidden);
        };
        let mut tx = self.store.begin().await?;
        let id =
            st::insert_plan(&mut tx, &Plan { division_code: code, division_path: path, ..p.clone() }, now_ms()).await?;
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            "mobilisation_plan.create",
            "mobilisation_plan",
            id,
            serde_json::json!({"category": p.category, "level": p.level, "mode": p.mode}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Plans the actor may see.
    pub async fn plans_for(&self, actor: &Actor) -> AppResult<Vec<Plan>> {
        Ok(st::list_plans(self.store.reader(), actor).await?)
    }

    /// Raises or lowers the response level. Raising issues the mobilisation at once: matching
    /// organisations (by the plans of the category and level, within their radius) get a
    /// standby or deploy notice in their inbox and on screen. Lowering stands down the notices
    /// of the more urgent levels. Returns (notified, stood down).
    pub async fn set_response_level(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        level: i64,
    ) -> AppResult<(usize, usize)> {
        let i = self.incident_to_command(actor, id).await?;
        if !(0..=4).contains(&level) {
            return Err(invalid(
                "level",
                "range",
                "响应级别须为 1–4，0 表示终止响应",
                "Level must be 1–4, or 0 to end the response",
            ));
        }
        if i.state != "open" {
            return Err(conflict(
                "事件已合并或关闭，不能调整响应级别",
                "The incident is merged or closed; its level cannot change",
            ));
        }
        if level == i.response_level {
            return Ok((0, 0));
        }
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        if !st::set_level(&mut tx, id, i.response_level, level, now).await? {
            return Err(conflict(
                "响应级别已被他人修改，请刷新后重试",
                "Someone else changed the level; reload and try again",
            ));
        }
        let raising = rules::level_higher(level, i.response_level);
        let (zh, en) = (rules::level_label(level, true), rules::level_label(level, false));
        let (was_zh, was_en) =
            (rules::level_label(i.response_level, true), rules::level_label(i.response_level, false));
        self.timeline(
            &mut tx,
            id,
            if raising { "level_raised" } else { "level_lowered" },
            Some(actor),
            &format!("{}：{was_zh} → {zh}", if raising { "提升响应级别" } else { "降低响应级别" }),
            &format!("{}: {was_en} → {en}", if raising { "Response level raised" } else { "Response level lowered" }),
        )
        .await?;
        // Stand down notices of levels more urgent than the new one (all of them at 0).
        let down = st::stand_down(&mut tx, id, level, now).await?;
        if !down.is_empty() {
            let admins = st::org_admin_users(&mut tx, &down).await?;
            let users: Vec<i64> = admins.iter().map(|a| a.0).collect();
            notifications::insert(
                &mut tx,
                &users,
                &NewNotification {
                    kind: "mobilisation.stand_down".into(),
                    title_zh: format!("解除动员：{}", i.title),
                    title_en: format!("Stand down: {}", i.title),
                    body: format!("{zh} / {en}"),
                    link: "/mobilisation".into(),
                },
            )
            .await?;
            for o in &down {
                self.event(
                    &mut tx,
                    NewEvent {
                        topic: "mobilisation".into(),
                        kind: "stood_down".into(),
                        division_path: i.division_path.clone(),
                        org_id: Some(*o),
                        payload: json(serde_json::json!({"incident": id, "org": o})),
                        ..Default::default()
                    },
                )
                .await?;
            }
            for u in users {
                self.event(
                    &mut tx,
                    NewEvent {
                        topic: "notification".into(),
                        kind: "mobilisation.stand_down".into(),
                        user_id: Some(u),
                        payload: json(serde_json::json!({"incident": id})),
                        ..Default::default()
                    },
                )
                .await?;
            }
            self.timeline(
                &mut tx,
                id,
                "stood_down",
                None,
                &format!("{} 个组织解除动员", down.len()),
                &format!("{} organisations stood down", down.len()),
            )
            .await?;
        }
        let mut notified = 0;
        if level > 0 {
            notified = self.issue_mobilisation(&mut tx, &i, level, now).await?;
        }
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            "incident.level",
            "incident",
            id,
            serde_json::json!({"from": i.response_level, "to": level, "notified": notified, "stood_down": down.len()}),
        )
        .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "incident".into(),
                kind: "level".into(),
                division_path: i.division_path.clone(),
                payload: json(serde_json::json!({"id": id, "level": level})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok((notified, down.len()))
    }

    /// Notifies the organisations the plans of `level` call for incident `i`.
    async fn issue_mobilisation(&self, tx: &mut Tx, i: &Incident, level: i64, now: i64) -> AppResult<usize> {
        let plans: Vec<Plan> = st::plans_for(&mut **tx, &i.category, &i.subtype, level)
            .await?
            .into_iter()
            .filter(|p| tongxin_domain::division::is_within(&i.division_path, &p.division_path))
            .collect();
        if plans.is_empty() {
            return Ok(0);
        }
        let max_r = plans.iter().map(|p| p.radius_m).max().unwrap_or(0) as f64;
        let Some(bbox) = bbox_around(std::iter::once((i.lon, i.lat)), max_r) else { return Ok(0) };
        let orgs = st::verified_orgs_in_box(&mut **tx, bbox).await?;
        // Each organisation answers to the most urgent plan that calls it (plans are in level order).
        let mut chosen: HashMap<i64, (&Plan, i64, String)> = HashMap::new();
        for p in &plans {
            let wanted: Vec<&str> = p.domains.split(',').filter(|s| !s.is_empty()).collect();
            let mut matched: Vec<(&st::OrgCandidate, f64)> = orgs
                .iter()
                .filter(|o| !chosen.contains_key(&o.id))
                .filter(|o| {
                    wanted.is_empty()
                        || wanted
                            .iter()
                            .any(|w| o.domains.split(',').any(|d| d == *w) || o.specialties.split(',').any(|d| d == *w))
                })
                .map(|o| (o, rules::distance_m(i.lon, i.lat, o.lon, o.lat)))
                .filter(|(_, d)| *d <= p.radius_m as f64)
                .collect();
            matched.sort_by(|a, b| a.1.total_cmp(&b.1));
            // Call the nearest organisations until the plan's head count is covered.
            let mut people = 0;
            for (o, d) in matched {
                if people >= p.people {
                    break;
                }
                let ask = (p.people - people).min(o.people_count.max(1));
                people += ask;
                chosen.insert(o.id, (p, d as i64, o.name.clone()));
                let _ = ask;
            }
        }
        let mut ids: Vec<i64> = chosen.keys().copied().collect();
        ids.sort_unstable();
        let admins = st::org_admin_users(tx, &ids).await?;
        let mut by_org: HashMap<i64, Vec<i64>> = HashMap::new();
        for (u, o) in admins {
            by_org.entry(o).or_default().push(u);
        }
        for org in &ids {
            let (p, d, _) = &chosen[org];
            let mid =
                st::upsert_mobilisation(tx, i.id, *org, p.id, p.level, &p.mode, p.people, *d, &i.division_path, now)
                    .await?;
            let (mzh, men) = (rules::label(&rules::MODES, &p.mode, true), rules::label(&rules::MODES, &p.mode, false));
            let users = by_org.get(org).cloned().unwrap_or_default();
            notifications::insert(
                tx,
                &users,
                &NewNotification {
                    kind: format!("mobilisation.{}", p.mode),
                    title_zh: format!("{mzh}通知：{}（{}）", i.title, rules::level_label(level, true)),
                    title_en: format!("{men} notice: {} ({})", i.title, rules::level_label(level, false)),
                    body: format!("距离约 {:.1} 公里 / about {:.1} km away", *d as f64 / 1000.0, *d as f64 / 1000.0),
                    link: "/mobilisation".into(),
                },
            )
            .await?;
            self.event(
                tx,
                NewEvent {
                    topic: "mobilisation".into(),
                    kind: p.mode.clone(),
                    division_path: i.division_path.clone(),
                    org_id: Some(*org),
                    payload: json(
                        serde_json::json!({"id": mid, "incident": i.id, "org": org, "mode": p.mode, "title": i.title}),
                    ),
                    ..Default::default()
                },
            )
            .await?;
            for u in users {
                self.event(
                    tx,
                    NewEvent {
                        topic: "notification".into(),
                        kind: format!("mobilisation.{}", p.mode),
                        user_id: Some(u),
                        payload: json(serde_json::json!({"incident": i.id})),
                        ..Default::default()
                    },
                )
                .await?;
            }
        }
        if !ids.is_empty() {
            let deploy = chosen.values().any(|c| c.0.mode == "deploy");
            if deploy {
                st::mark_first(tx, i.id, "reinforce_at", now).await?;
            }
            st::add_timeline(
                tx,
                i.id,
                now,
                "mobilised",
                true,
                None,
                &format!("自动动员 {} 个组织", ids.len()),
                &format!("{} organisations mobilised automatically", ids.len()),
            )
            .await?;
        }
        Ok(ids.len())
    }

    /// Notices of an incident (commander's view, filling up live).
    pub async fn mobilisations_of(&self, actor: &Actor, incident: i64) -> AppResult<Vec<Mobilisation>> {
        let i = self.incident_for(actor, incident).await?;
        let all = st::mobilisations_of(self.store.reader(), i.id).await?;
        if actor.covers(&i.division_path) {
            Ok(all)
        } else {
            Ok(all.into_iter().filter(|m| actor.acts_for(m.org_id)).collect())
        }
    }

    /// Notices addressed to the actor's organisation.
    pub async fn my_mobilisations(&self, actor: &Actor) -> AppResult<Vec<Mobilisation>> {
        match actor.org_id {
            Some(o) if actor.role == Role::OrgAdmin => Ok(st::mobilisations_for_org(self.store.reader(), o).await?),
            _ => Ok(vec![]),
        }
    }

    /// An organisation admin answers a notice: ready with `people`, or not available.
    pub async fn answer_mobilisation(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        ready: bool,
        people: i64,
        note: &str,
    ) -> AppResult<()> {
        let m = st::get_mobilisation(self.store.reader(), id).await?;
        if !actor.acts_for(m.org_id) {
            return Err(AppError::NotFound);
        }
        if actor.role != Role::OrgAdmin {
            return Err(AppError::Forbidden);
        }
        if ready && !(1..=100_000).contains(&people) {
            return Err(invalid("people", "range", "就绪人数须为 1–100000", "People ready must be 1–100,000"));
        }
        let i = st::get_incident(self.store.reader(), m.incident_id).await?;
        let state = if ready { "ready" } else { "unavailable" };
        let mut tx = self.store.begin().await?;
        if !st::answer_mobilisation(&mut tx, id, state, if ready { people } else { 0 }, note.trim(), now_ms()).await? {
            return Err(conflict("该动员已解除，无需答复", "This mobilisation was stood down; no answer is needed"));
        }
        let (zh, en) = if ready {
            (
                format!("{} 答复：就绪 {} 人", m.org_name, people),
                format!("{} answered: ready, {} people", m.org_name, people),
            )
        } else {
            (format!("{} 答复：无法参加", m.org_name), format!("{} answered: not available", m.org_name))
        };
        self.timeline(&mut tx, i.id, "mobilisation_answer", Some(actor), &zh, &en).await?;
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            "mobilisation.answer",
            "mobilisation",
            id,
            serde_json::json!({"state": state, "people": people}),
        )
        .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "mobilisation".into(),
                kind: "answered".into(),
                division_path: i.division_path.clone(),
                org_id: Some(m.org_id),
                payload: json(serde_json::json!({"id": id, "incident": i.id, "state": state, "people": people})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await
    }

    // -----------------------------------------------------------------------------------------
    // Tasks and dispatch
    // -----------------------------------------------------------------------------------------

    /// Creates a task (of an incident, or stand-alone).
    pub async fn create_task(&self, actor: &Actor, ctx: &RequestCtx, f: &TaskForm) -> AppResult<i64> {
        if !may_command(actor) {
            return Err(AppError::Forbidden);
        }
        let inc = match f.incident_id {
            Some(iid) => Some(self.incident_to_command(actor, iid).await?),
            None => None,
        };
        let now = now_ms();
        let starts = f.starts_at.unwrap_or(now);
        let input = TaskInput {
            title: f.title.trim().to_string(),
            skill: f.skill.clone(),
            head_count: f.head_count,
            lon: f.lon,
            lat: f.lat,
            geofence_m: f.geofence_m.unwrap_or(300),
            priority: f.priority.clone().unwrap_or_else(|| "urgent".into()),
            starts_at: starts,
            ends_at: f.ends_at.unwrap_or(starts + 4 * 3600 * 1000),
        };
        rules::validate_task(&input, &SKILL_KEYS).map_err(AppError::Validation)?;
        let code = f
            .division_code
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| inc.as_ref().map(|i| i.division_code.clone()))
            .or_else(|| actor.division_code.clone())
            .unwrap_or_default();
        let div = self.store.division(&code).await.map_err(|_| {
            invalid(
                "division_code",
                "division.unknown",
                format!("区划代码 {code} 不存在"),
                format!("Division {code} does not exist"),
            )
        })?;
        if !actor.covers(&div.path) {
            return Err(invalid(
                "division_code",
                "division.scope",
                "任务地点不在您的辖区内",
                "The task place is outside your jurisdiction",
            ));
        }
        let row = TaskRow {
            id: 0,
            incident_id: f.incident_id,
            title: input.title.clone(),
            skill: input.skill.clone(),
            head_count: input.head_count,
            lon: input.lon,
            lat: input.lat,
            geofence_m: input.geofence_m,
            priority: input.priority.clone(),
            insurance_required: f.insurance_required.unwrap_or(true),
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            state: "open".into(),
            division_code: div.code.clone(),
            division_path: div.path.clone(),
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        let id = st::insert_tasks(&mut tx, std::slice::from_ref(&row), actor.user_id).await?[0];
        if let Some(i) = &inc {
            self.timeline(
                &mut tx,
                i.id,
                "task",
                Some(actor),
                &format!("创建任务 #{id}：{}（{} 人）", row.title, row.head_count),
                &format!("Task #{id} created: {} ({} people)", row.title, row.head_count),
            )
            .await?;
        }
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            "task.create",
            "task",
            id,
            serde_json::json!({"incident": f.incident_id, "head_count": row.head_count, "skill": row.skill}),
        )
        .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "task".into(),
                kind: "created".into(),
                division_path: div.path.clone(),
                payload: json(serde_json::json!({"id": id, "incident": f.incident_id})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// One task the actor may see: jurisdiction, or an assignment of its own or its organisation.
    pub async fn task_for(&self, actor: &Actor, id: i64) -> AppResult<TaskRow> {
        let t = st::get_task(self.store.reader(), id).await?;
        if actor.covers(&t.division_path) {
            return Ok(t);
        }
        let mine = st::assignments_of(self.store.reader(), id).await?.iter().any(|a| Self::may_answer(actor, a));
        if mine {
            Ok(t)
        } else {
            Err(AppError::NotFound)
        }
    }

    async fn task_to_command(&self, actor: &Actor, id: i64) -> AppResult<TaskRow> {
        let t = st::get_task(self.store.reader(), id).await?;
        if !actor.covers(&t.division_path) {
            return Err(AppError::NotFound);
        }
        if !may_command(actor) {
            return Err(AppError::Forbidden);
        }
        Ok(t)
    }

    /// Tasks in the actor's jurisdiction.
    pub async fn tasks_for(&self, actor: &Actor, incident: Option<i64>) -> AppResult<Vec<TaskRow>> {
        Ok(st::list_tasks(self.store.reader(), actor, incident, 500).await?)
    }

    /// Assignments of a task the actor may see.
    pub async fn assignments_for(&self, actor: &Actor, task: i64) -> AppResult<Vec<Assignment>> {
        let t = self.task_for(actor, task).await?;
        let all = st::assignments_of(self.store.reader(), t.id).await?;
        if actor.covers(&t.division_path) {
            Ok(all)
        } else {
            // A volunteer sees their own offers, not those of the others in their organisation.
            Ok(all.into_iter().filter(|a| Self::may_answer(actor, a)).collect())
        }
    }

    /// The exact optimal proposal for open slots of `tasks` (nothing is saved).
    pub async fn propose(&self, tasks: &[TaskRow]) -> AppResult<Proposal> {
        let mut need = Vec::with_capacity(tasks.len());
        let ids: Vec<i64> = tasks.iter().map(|t| t.id).collect();
        let live = st::live_counts(self.store.reader(), &ids).await?;
        for t in tasks {
            let open = t.head_count - live.get(&t.id).copied().unwrap_or(0);
            if open > 0 && t.state == "open" {
                need.push((t, open));
            }
        }
        let Some(bbox) = bbox_around(need.iter().map(|(t, _)| (t.lon, t.lat)), f64::from(MAX_TRAVEL_M)) else {
            return Ok(Proposal {
                picks: vec![],
                slots: 0,
                filled: 0,
                travel_m: 0,
                unfilled: vec![],
                responders: 0,
                method: "none".into(),
            });
        };
        let rows = st::free_responders(self.store.reader(), bbox).await?;
        let responders: Vec<dx::Responder> = rows
            .iter()
            .map(|r| dx::Responder {
                id: dx::ResponderId(r.id as u64),
                location: dx::GeoPoint::new(r.lat, r.lon),
                skills: skills_of(&r.skills),
                insured: r.insured,
                availability: dx::Availability::Now,
                busy: false,
            })
            .collect();
        if responders.is_empty() {
            // Nobody free within reach: an answer for the officer, not a server error.
            let none = Text::new("附近没有空闲的志愿者", "no free volunteer within reach");
            return Ok(Proposal {
                picks: vec![],
                slots: need.iter().map(|(_, open)| *open as u64).sum(),
                filled: 0,
                travel_m: 0,
                unfilled: need.iter().map(|(t, open)| (t.id, *open as u32, none.clone())).collect(),
                responders: 0,
                method: "none".into(),
            });
        }
        let mut index = dx::ResponderIndex::build(&responders).map_err(|e| AppError::Internal(e.to_string()))?;
        // Responders who already declined or lost this task are not offered it again.
        if need.len() == 1 {
            for v in st::past_holders(self.store.reader(), need[0].0.id).await? {
                let _ = index.set_busy(dx::ResponderId(v as u64), true);
            }
        }
        let dtasks: Vec<dx::Task> = need
            .iter()
            .map(|(t, open)| dx::Task {
                id: dx::TaskId(t.id as u64),
                location: dx::GeoPoint::new(t.lat, t.lon),
                head_count: *open as u32,
                required_skills: skill_bit(&t.skill).map_or(dx::SkillSet::EMPTY, |b| dx::SkillSet(1 << b)),
                insurance_required: t.insurance_required,
                priority: priority_of(&t.priority),
                max_distance_m: MAX_TRAVEL_M,
                start_at: 0,
            })
            .collect();
        let err = |e: dx::DispatchError| AppError::Internal(e.to_string());
        let (_, plan) = dx::dispatch(&index, &dtasks, CANDIDATES_K).map_err(err)?;
        let (slots, method) = (plan.slots, format!("{:?}", plan.method));
        let mut pairs = plan.pairs;
        let mut unfilled = plan.unfilled;
        let order: HashMap<dx::TaskId, usize> = dtasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        // Each task sees only its K nearest responders, so tasks close together can share one
        // small pool and leave slots open ("contended") while free responders stand a little
        // further away. Those slots get further rounds over the responders still free, until a
        // round fills nothing more; genuine shortfalls (nobody eligible in reach) are final.
        for _ in 0..MAX_EXTRA_ROUNDS {
            let retry: Vec<dx::Task> = unfilled
                .iter()
                .filter(|u| matches!(u.reason, dx::UnfilledReason::Contended))
                .filter_map(|u| order.get(&u.task).map(|&i| dx::Task { head_count: u.missing, ..dtasks[i].clone() }))
                .collect();
            if retry.is_empty() {
                break;
            }
            for p in &pairs {
                let _ = index.set_busy(p.responder, true);
            }
            let (_, next) = dx::dispatch(&index, &retry, CANDIDATES_K).map_err(err)?;
            if next.filled == 0 {
                break;
            }
            unfilled.retain(|u| !matches!(u.reason, dx::UnfilledReason::Contended));
            unfilled.extend(next.unfilled);
            pairs.extend(next.pairs);
        }
        pairs.sort_by_key(|p| (order.get(&p.task).copied(), p.distance_m));
        unfilled.sort_by_key(|u| order.get(&u.task).copied());
        Ok(Proposal {
            filled: pairs.len() as u64,
            travel_m: pairs.iter().map(|p| u64::from(p.distance_m)).sum(),
            picks: pairs
                .iter()
                .map(|p| Pick {
                    task_id: p.task.0 as i64,
                    volunteer_id: p.responder.0 as i64,
                    distance_m: p.distance_m,
                })
                .collect(),
            slots,
            unfilled: unfilled
                .iter()
                .map(|u| (u.task.0 as i64, u.missing, Text::new(u.reason.message_zh(), u.reason.message_en())))
                .collect(),
            responders: rows.len(),
            method,
        })
    }

    /// Proposal for one task (officer's preview).
    pub async fn propose_task(&self, actor: &Actor, task: i64) -> AppResult<Proposal> {
        let t = self.task_to_command(actor, task).await?;
        self.propose(std::slice::from_ref(&t)).await
    }

    /// Proposal for many tasks at once (mass mobilisation preview).
    pub async fn propose_tasks(&self, actor: &Actor, ids: &[i64]) -> AppResult<Proposal> {
        if !may_command(actor) {
            return Err(AppError::Forbidden);
        }
        let mut tasks = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut b = tongxin_store::sql::SqlBuf::new("SELECT id FROM tasks WHERE ");
            b.scope(actor, "division_path", None);
            b.push(" AND id IN (");
            for (k, id) in chunk.iter().enumerate() {
                if k > 0 {
                    b.push(",");
                }
                b.int(*id);
            }
            b.push(")");
            let found = b.query().fetch_all(self.store.reader()).await.map_err(StoreError::from)?;
            if found.len() != chunk.len() {
                return Err(AppError::NotFound);
            }
        }
        for t in self.tasks_by_ids(ids).await? {
            tasks.push(t);
        }
        self.propose(&tasks).await
    }

    async fn tasks_by_ids(&self, ids: &[i64]) -> AppResult<Vec<TaskRow>> {
        Ok(st::get_tasks(self.store.reader(), ids).await?)
    }

    /// Confirms picks as offers: each becomes an offer to the volunteer (or its organisation)
    /// with a deadline. Race-safe: a slot or a responder already held makes the whole
    /// confirmation a conflict, and nothing is saved.
    pub async fn confirm_offers(&self, actor: &Actor, ctx: &RequestCtx, picks: &[Pick]) -> AppResult<Vec<i64>> {
        if !may_command(actor) {
            return Err(AppError::Forbidden);
        }
        if picks.is_empty() {
            return Err(invalid("picks", "required", "没有可确认的人选", "There are no picks to confirm"));
        }
        let mut wanted: Vec<i64> = picks.iter().map(|p| p.task_id).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut tasks: HashMap<i64, TaskRow> = HashMap::with_capacity(wanted.len());
        for t in self.tasks_by_ids(&wanted).await? {
            if !actor.covers(&t.division_path) {
                return Err(AppError::NotFound);
            }
            tasks.insert(t.id, t);
        }
        let vols = self.volunteer_links(&picks.iter().map(|p| p.volunteer_id).collect::<Vec<_>>()).await?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let mut offers = Vec::with_capacity(picks.len());
        let mut by_task: HashMap<i64, Vec<&Pick>> = HashMap::new();
        for p in picks {
            by_task.entry(p.task_id).or_default().push(p);
        }
        let mut task_ids: Vec<i64> = by_task.keys().copied().collect();
        task_ids.sort_unstable();
        let mut live = st::live_slots_of(&mut tx, &task_ids).await?;
        for tid in &task_ids {
            let t = &tasks[tid];
            let held: HashSet<i64> = live.remove(tid).unwrap_or_default().into_iter().collect();
            let mut free_slots = (0..t.head_count).filter(|s| !held.contains(s));
            for p in &by_task[tid] {
                let Some(slot) = free_slots.next() else {
                    return Err(conflict(
                        format!("任务 #{tid} 的名额已满"),
                        format!("Task #{tid} has no free slot left"),
                    ));
                };
                let (org, user) = vols.get(&p.volunteer_id).copied().unwrap_or((None, None));
                offers.push(NewOffer {
                    task_id: *tid,
                    slot,
                    volunteer_id: p.volunteer_id,
                    org_id: org,
                    user_id: user,
                    distance_m: i64::from(p.distance_m),
                    division_path: t.division_path.clone(),
                });
            }
        }
        let ids = st::insert_offers(&mut tx, &offers, now, now + OFFER_TTL_MS).await.map_err(|e| match e {
            StoreError::Conflict(_) => conflict(
                "所选名额或人员已被占用（可能有他人同时确认），请刷新后重新推荐",
                "A slot or responder is already taken (perhaps confirmed by someone else just now); reload and propose again",
            ),
            o => o.into(),
        })?;
        self.after_offers(&mut tx, actor, ctx, &tasks, &offers, now).await?;
        self.commit(tx).await?;
        Ok(ids)
    }

    async fn volunteer_links(&self, ids: &[i64]) -> AppResult<HashMap<i64, (Option<i64>, Option<i64>)>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut b = tongxin_store::sql::SqlBuf::new("SELECT id, org_id, user_id FROM volunteers WHERE id IN (");
            for (k, id) in chunk.iter().enumerate() {
                if k > 0 {
                    b.push(",");
                }
                b.int(*id);
            }
            b.push(")");
            for r in b.query().fetch_all(self.store.reader()).await.map_err(StoreError::from)? {
                out.insert(
                    tongxin_store::col::<i64>(&r, "id")?,
                    (tongxin_store::col(&r, "org_id")?, tongxin_store::col(&r, "user_id")?),
                );
            }
        }
        if out.len() != ids.iter().collect::<HashSet<_>>().len() {
            return Err(invalid("volunteer_id", "unknown", "所选志愿者不存在", "A chosen volunteer does not exist"));
        }
        Ok(out)
    }

    /// Inbox notices, live events, timeline and 1-3-5-10 stamps for new offers. Set-based: a
    /// handful of statements whatever the number of offers (one multi-row INSERT per table, one
    /// stamp per incident), so a mass offer of thousands of slots stays one short transaction.
    async fn after_offers(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ctx: &RequestCtx,
        tasks: &HashMap<i64, TaskRow>,
        offers: &[NewOffer],
        now: i64,
    ) -> AppResult<()> {
        // Offers go to the volunteer's account, or else to its organisation's admins.
        let mut to_users: HashMap<i64, Vec<i64>> = HashMap::new();
        let org_less: Vec<i64> = offers
            .iter()
            .filter(|o| o.user_id.is_none())
            .filter_map(|o| o.org_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let admins = st::org_admin_users(tx, &org_less).await?;
        let mut per_task: HashMap<i64, usize> = HashMap::new();
        for o in offers {
            *per_task.entry(o.task_id).or_default() += 1;
            match (o.user_id, o.org_id) {
                (Some(u), _) => to_users.entry(o.task_id).or_default().push(u),
                (None, Some(org)) => {
                    to_users.entry(o.task_id).or_default().extend(admins.iter().filter(|a| a.1 == org).map(|a| a.0))
                }
                _ => {}
            }
        }
        let mut tids: Vec<i64> = tasks.keys().copied().collect();
        tids.sort_unstable();
        let mass = offers.len() > 50;
        let mut notices: Vec<(i64, NewNotification)> = Vec::new();
        let mut timeline: Vec<st::NewTimeline> = Vec::new();
        let mut incidents: HashMap<i64, Vec<i64>> = HashMap::new();
        for tid in &tids {
            let t = &tasks[tid];
            let mut users = to_users.remove(tid).unwrap_or_default();
            users.sort_unstable();
            users.dedup();
            let notice = NewNotification {
                kind: "task.offer".into(),
                title_zh: format!("任务邀请：{}", t.title),
                title_en: format!("Task offer: {}", t.title),
                body: "请在 5 分钟内接受或拒绝 / Please accept or decline within 5 minutes".into(),
                link: "/my/tasks".into(),
            };
            notices.extend(users.into_iter().map(|u| (u, notice.clone())));
            if let Some(iid) = t.incident_id {
                incidents.entry(iid).or_default().push(*tid);
                let n = per_task.get(tid).copied().unwrap_or(0);
                timeline.push(st::NewTimeline {
                    incident_id: iid,
                    at: now,
                    kind: "dispatched".into(),
                    auto: false,
                    by: Some((actor.user_id, actor.username.clone())),
                    text_zh: format!("任务 #{tid} 派出 {n} 人"),
                    text_en: format!("Task #{tid}: {n} offers sent"),
                });
            }
        }
        notifications::insert_many(tx, &notices).await?;
        st::add_timeline_many(tx, &timeline).await?;
        // 1-3-5-10: the first dispatch of each incident, and reinforcements (offers for a task
        // other than the incident's first dispatched one).
        let mut iids: Vec<i64> = incidents.keys().copied().collect();
        iids.sort_unstable();
        for iid in iids {
            let first = st::first_dispatched_task(tx, iid).await?;
            st::mark_first(tx, iid, "first_dispatch_at", now).await?;
            if incidents[&iid].iter().any(|tid| first.is_some_and(|f| f != *tid)) {
                st::mark_first(tx, iid, "reinforce_at", now).await?;
            }
        }
        // Live: each offer reaches its responder's (or organisation's) screen. A mass offer
        // tells the command screens once, instead of once per offer.
        let mut events = Vec::with_capacity(offers.len() + 1);
        if mass {
            events.push(NewEvent {
                topic: "task".into(),
                kind: "mass_offered".into(),
                division_path: actor.division_path.clone().unwrap_or_default(),
                payload: json(serde_json::json!({"offers": offers.len(), "tasks": tasks.len()})),
                ..Default::default()
            });
        }
        for o in offers {
            let t = &tasks[&o.task_id];
            events.push(if mass {
                NewEvent {
                    topic: "task".into(),
                    kind: "offered".into(),
                    org_id: if o.user_id.is_none() { o.org_id } else { None },
                    user_id: o.user_id,
                    payload: json(serde_json::json!({"task": o.task_id, "title": t.title})),
                    ..Default::default()
                }
            } else {
                NewEvent {
                    topic: "task".into(),
                    kind: "offered".into(),
                    division_path: t.division_path.clone(),
                    org_id: o.org_id,
                    user_id: o.user_id,
                    payload: json(
                        serde_json::json!({"task": o.task_id, "volunteer": o.volunteer_id, "title": t.title}),
                    ),
                    ..Default::default()
                }
            });
        }
        // A mass offer's responders without an account nor organisation hear of it from the officer.
        events.retain(|e| !mass || e.kind == "mass_offered" || e.user_id.is_some() || e.org_id.is_some());
        publish_many(tx, self.store.backend(), &events).await?;
        self.audit(
            tx,
            Some(actor),
            ctx,
            "task.offer",
            "task",
            tids.first().copied().unwrap_or(0),
            serde_json::json!({"tasks": tids.len(), "offers": offers.len(), "task_ids": tids}),
        )
        .await?;
        Ok(())
    }

    /// Proposes and offers at once for one task (the auto-offer path); returns offers made.
    pub async fn dispatch_task(&self, actor: &Actor, ctx: &RequestCtx, task: i64) -> AppResult<usize> {
        let p = self.propose_task(actor, task).await?;
        if p.picks.is_empty() {
            let why =
                p.unfilled.first().map(|u| u.2.clone()).unwrap_or_else(|| Text::new("名额已满", "All slots are taken"));
            return Err(AppError::Conflict(Text::new(
                format!("没有可派的志愿者：{}", why.zh),
                format!("No responder to offer: {}", why.en),
            )));
        }
        Ok(self.confirm_offers(actor, ctx, &p.picks).await?.len())
    }

    /// Whether the actor may see and answer an assignment: its volunteer, or the admin of its
    /// organisation (a volunteer's organisation is a membership, not a mandate).
    fn may_answer(actor: &Actor, a: &Assignment) -> bool {
        a.user_id == Some(actor.user_id)
            || (actor.role == Role::OrgAdmin && a.org_id.is_some_and(|o| actor.acts_for(o)))
    }

    /// Accepts or declines an offer. A late accept (the offer timed out) is refused; a decline
    /// re-offers the slot to the next best responder.
    pub async fn answer_offer(&self, actor: &Actor, ctx: &RequestCtx, id: i64, accept: bool) -> AppResult<()> {
        let a = st::get_assignment(self.store.reader(), id).await?;
        if !Self::may_answer(actor, &a) {
            return Err(AppError::NotFound);
        }
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let to = if accept { AssignState::Accepted } else { AssignState::Declined };
        if !st::transition(&mut tx, id, "offered", to.key(), accept, Some("answered_at"), now, accept).await? {
            let cur = st::get_assignment(&mut *tx, id).await?;
            return Err(if cur.state == "offered" || cur.state == "expired" {
                conflict(
                    "该任务邀请已超时，名额已转给其他人",
                    "This offer has timed out; the slot went to someone else",
                )
            } else {
                conflict(
                    format!("该任务邀请已处理（{}）", AssignState::from_key(&cur.state).map_or("", |s| s.label(true))),
                    "This offer was already answered",
                )
            });
        }
        let t = st::get_task(&mut *tx, a.task_id).await?;
        if let Some(iid) = t.incident_id {
            st::add_timeline(
                &mut tx,
                iid,
                now,
                "offer_answer",
                false,
                Some((actor.user_id, &actor.username)),
                &format!("{} {}任务 #{}", a.volunteer_name, if accept { "接受" } else { "拒绝" }, t.id),
                &format!("{} {} task #{}", a.volunteer_name, if accept { "accepted" } else { "declined" }, t.id),
            )
            .await?;
        }
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            if accept { "task.accept" } else { "task.decline" },
            "assignment",
            id,
            serde_json::json!({"task": a.task_id}),
        )
        .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "task".into(),
                kind: to.key().into(),
                division_path: t.division_path.clone(),
                org_id: a.org_id,
                user_id: a.user_id,
                payload: json(serde_json::json!({"task": t.id, "assignment": id, "state": to.key()})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        if !accept {
            self.reoffer(t.id).await?;
        }
        Ok(())
    }

    /// Offers a task's free slots to the next best responders (after a decline or a timeout).
    async fn reoffer(&self, task: i64) -> AppResult<usize> {
        let t = st::get_task(self.store.reader(), task).await?;
        if t.state != "open" {
            return Ok(0);
        }
        let p = self.propose(std::slice::from_ref(&t)).await?;
        if p.picks.is_empty() {
            return Ok(0);
        }
        let system = Actor {
            user_id: 0,
            username: "system".into(),
            display_name: "系统 / system".into(),
            role: Role::Commander,
            division_code: Some(t.division_code.clone()),
            division_path: Some(t.division_path.clone()),
            org_id: None,
        };
        match self.confirm_offers(&system, &RequestCtx::default(), &p.picks).await {
            Ok(ids) => Ok(ids.len()),
            Err(AppError::Conflict(_)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Marks offers past their deadline as timed out and re-offers their slots; returns how
    /// many timed out. Safe on several nodes (conditional updates).
    pub async fn expire_offers(&self) -> AppResult<usize> {
        let now = now_ms();
        let due = st::expired_offers(self.store.reader(), now, 1000).await?;
        let mut n = 0;
        let mut tasks = HashSet::new();
        for (id, task) in due {
            let mut tx = self.store.begin().await?;
            if st::transition(&mut tx, id, "offered", "expired", false, None, now, false).await? {
                let a = st::get_assignment(&mut *tx, id).await?;
                self.audit(
                    &mut tx,
                    None,
                    &RequestCtx::default(),
                    "task.offer_timeout",
                    "assignment",
                    id,
                    serde_json::json!({"task": task}),
                )
                .await?;
                self.event(
                    &mut tx,
                    NewEvent {
                        topic: "task".into(),
                        kind: "expired".into(),
                        division_path: a.division_path.clone(),
                        org_id: a.org_id,
                        user_id: a.user_id,
                        payload: json(serde_json::json!({"task": task, "assignment": id})),
                        ..Default::default()
                    },
                )
                .await?;
                self.commit(tx).await?;
                n += 1;
                tasks.insert(task);
            }
        }
        for t in tasks {
            self.reoffer(t).await?;
        }
        Ok(n)
    }

    /// Runs [`App::expire_offers`] every 10 seconds for as long as the process runs.
    pub fn start_offer_expiry(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                if let Err(e) = app.expire_offers().await {
                    tracing::warn!(error = %e, "offer expiry failed");
                }
            }
        });
    }

    /// The responder sets off (accepted → en route).
    pub async fn set_en_route(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<()> {
        let a = st::get_assignment(self.store.reader(), id).await?;
        if a.user_id != Some(actor.user_id) {
            return Err(AppError::NotFound);
        }
        let from = AssignState::from_key(&a.state).unwrap_or(AssignState::Done);
        from.check(AssignState::EnRoute).map_err(AppError::Conflict)?;
        let mut tx = self.store.begin().await?;
        if !st::transition(&mut tx, id, from.key(), "en_route", true, Some("en_route_at"), now_ms(), false).await? {
            return Err(conflict("状态已变化，请刷新", "The state changed; reload"));
        }
        self.audit(&mut tx, Some(actor), ctx, "task.en_route", "assignment", id, serde_json::json!({})).await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "task".into(),
                kind: "en_route".into(),
                division_path: a.division_path.clone(),
                org_id: a.org_id,
                user_id: a.user_id,
                payload: json(serde_json::json!({"task": a.task_id, "assignment": id})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await
    }

    /// Check-in on site from a phone: within the task's geofence, it puts the responder on scene
    /// and starts the time on duty.
    pub async fn check_in(&self, actor: &Actor, ctx: &RequestCtx, id: i64, lon: f64, lat: f64) -> AppResult<f64> {
        let a = st::get_assignment(self.store.reader(), id).await?;
        if a.user_id != Some(actor.user_id) {
            return Err(AppError::NotFound);
        }
        let t = st::get_task(self.store.reader(), a.task_id).await?;
        let from = AssignState::from_key(&a.state).unwrap_or(AssignState::Done);
        from.check(AssignState::OnScene).map_err(AppError::Conflict)?;
        let d = rules::check_geofence((t.lon, t.lat), t.geofence_m as f64, (lon, lat)).map_err(|m| {
            AppError::Validation(vec![tongxin_domain::FieldError {
                field: "location".into(),
                rule: "geofence".into(),
                message: m,
            }])
        })?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        if !st::transition(&mut tx, id, from.key(), "on_scene", true, Some("on_scene_at"), now, false).await? {
            return Err(conflict("状态已变化，请刷新", "The state changed; reload"));
        }
        st::set_checkin_pos(&mut tx, id, lon, lat).await?;
        if let Some(iid) = t.incident_id {
            st::mark_first(&mut tx, iid, "first_on_scene_at", now).await?;
            st::mark_first(&mut tx, iid, "first_action_at", now).await?;
            st::add_timeline(
                &mut tx,
                iid,
                now,
                "on_scene",
                false,
                Some((actor.user_id, &actor.username)),
                &format!("{} 到场签到（任务 #{}，距离 {:.0} 米）", a.volunteer_name, t.id, d),
                &format!("{} checked in on scene (task #{}, {:.0} m)", a.volunteer_name, t.id, d),
            )
            .await?;
        }
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            "task.check_in",
            "assignment",
            id,
            serde_json::json!({"distance_m": d.round()}),
        )
        .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "task".into(),
                kind: "on_scene".into(),
                division_path: a.division_path.clone(),
                org_id: a.org_id,
                user_id: a.user_id,
                payload: json(serde_json::json!({"task": t.id, "assignment": id})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(d)
    }

    /// Check-out: ends the duty and records the service hours on the volunteer's record.
    pub async fn check_out(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<i64> {
        let a = st::get_assignment(self.store.reader(), id).await?;
        if a.user_id != Some(actor.user_id) {
            return Err(AppError::NotFound);
        }
        let from = AssignState::from_key(&a.state).unwrap_or(AssignState::Done);
        from.check(AssignState::Done).map_err(AppError::Conflict)?;
        let now = now_ms();
        let checkin = a.on_scene_at.unwrap_or(now);
        let minutes = rules::service_minutes(checkin, now);
        let mut tx = self.store.begin().await?;
        if !st::transition(&mut tx, id, "on_scene", "done", false, Some("done_at"), now, false).await? {
            return Err(conflict("状态已变化，请刷新", "The state changed; reload"));
        }
        st::insert_hours(&mut tx, &a, checkin, now, minutes).await?;
        let t = st::get_task(&mut *tx, a.task_id).await?;
        if let Some(iid) = t.incident_id {
            st::add_timeline(
                &mut tx,
                iid,
                now,
                "done",
                false,
                Some((actor.user_id, &actor.username)),
                &format!("{} 签退，服务 {} 分钟", a.volunteer_name, minutes),
                &format!("{} checked out after {} minutes on duty", a.volunteer_name, minutes),
            )
            .await?;
        }
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            "task.check_out",
            "assignment",
            id,
            serde_json::json!({"minutes": minutes}),
        )
        .await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "task".into(),
                kind: "done".into(),
                division_path: a.division_path.clone(),
                org_id: a.org_id,
                user_id: a.user_id,
                payload: json(serde_json::json!({"task": t.id, "assignment": id, "minutes": minutes})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(minutes)
    }

    /// Withdraws a live assignment (officer).
    pub async fn withdraw_assignment(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<()> {
        let a = st::get_assignment(self.store.reader(), id).await?;
        self.task_to_command(actor, a.task_id).await?;
        let from = AssignState::from_key(&a.state).unwrap_or(AssignState::Done);
        from.check(AssignState::Withdrawn).map_err(AppError::Conflict)?;
        let mut tx = self.store.begin().await?;
        if !st::transition(&mut tx, id, from.key(), "withdrawn", false, None, now_ms(), false).await? {
            return Err(conflict("状态已变化，请刷新", "The state changed; reload"));
        }
        self.audit(&mut tx, Some(actor), ctx, "task.withdraw", "assignment", id, serde_json::json!({})).await?;
        self.event(
            &mut tx,
            NewEvent {
                topic: "task".into(),
                kind: "withdrawn".into(),
                division_path: a.division_path.clone(),
                org_id: a.org_id,
                user_id: a.user_id,
                payload: json(serde_json::json!({"task": a.task_id, "assignment": id})),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await
    }

    /// The actor's own assignments (volunteer) or its organisation's (org admin).
    pub async fn my_assignments(&self, actor: &Actor) -> AppResult<Vec<(Assignment, TaskRow)>> {
        let v = match (actor.role, actor.org_id) {
            (Role::OrgAdmin, Some(o)) => st::assignments_of_org(self.store.reader(), o).await?,
            _ => st::assignments_of_user(self.store.reader(), actor.user_id).await?,
        };
        let mut out = Vec::with_capacity(v.len());
        for a in v {
            let t = st::get_task(self.store.reader(), a.task_id).await?;
            out.push((a, t));
        }
        Ok(out)
    }

    /// Service hours: the volunteer's own, or its organisation's members'.
    pub async fn my_hours(&self, actor: &Actor) -> AppResult<Vec<st::Hours>> {
        match (actor.role, actor.org_id) {
            (Role::OrgAdmin, Some(o)) => Ok(st::hours_of_org(self.store.reader(), o).await?),
            _ => match tongxin_store::registry::volunteer_of_user(self.store.reader(), actor.user_id).await? {
                Some(v) => Ok(st::hours_of_volunteer(self.store.reader(), v).await?),
                None => Ok(vec![]),
            },
        }
    }

    /// An organisation admin corrects recorded hours, with a reason (audited).
    pub async fn edit_hours(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        minutes: i64,
        reason: &str,
    ) -> AppResult<()> {
        let h = st::get_hours(self.store.reader(), id).await?;
        if actor.role != Role::OrgAdmin || !h.org_id.is_some_and(|o| actor.acts_for(o)) {
            return Err(AppError::NotFound);
        }
        if !(0..=24 * 60).contains(&minutes) {
            return Err(invalid("minutes", "range", "服务时长须为 0–1440 分钟", "Minutes must be 0–1,440"));
        }
        if reason.trim().chars().count() < 2 {
            return Err(invalid("reason", "required", "请说明修改原因", "Give the reason for the change"));
        }
        let mut tx = self.store.begin().await?;
        st::edit_hours(&mut tx, id, minutes, actor.user_id, reason.trim()).await?;
        self.audit(
            &mut tx,
            Some(actor),
            ctx,
            "hours.edit",
            "service_hours",
            id,
            serde_json::json!({"from": h.minutes, "to": minutes, "reason": reason.trim()}),
        )
        .await?;
        self.commit(tx).await
    }

    /// 1-3-5-10 figures of an incident.
    pub async fn incident_kpi(&self, actor: &Actor, id: i64) -> AppResult<IncidentKpi> {
        let i = self.incident_for(actor, id).await?;
        Ok(IncidentKpi { incident_id: id, measures: kpi_of(&i, now_ms()) })
    }

    /// 1-3-5-10 shares per district (6-digit code) over the incidents in scope.
    pub async fn kpi_by_district(&self, actor: &Actor) -> AppResult<Vec<KpiGroup>> {
        let list =
            st::list_incidents(self.store.reader(), actor, &st::IncidentFilter { limit: 500, ..Default::default() })
                .await?;
        let now = now_ms();
        let mut groups: HashMap<String, KpiGroup> = HashMap::new();
        for i in list.iter().filter(|i| i.state != "merged") {
            let d = i.division_code.get(..6).unwrap_or("").to_string();
            let g = groups.entry(d.clone()).or_insert_with(|| KpiGroup {
                name: tongxin_domain::fake::district_name(&d).unwrap_or("").to_string(),
                key: d,
                n: 0,
                met: [0; 4],
                late: [0; 4],
            });
            g.n += 1;
            for (k, m) in kpi_of(i, now).iter().enumerate() {
                g.met[k] += m.met as i64;
                g.late[k] += m.late as i64;
            }
        }
        let mut v: Vec<KpiGroup> = groups.into_values().collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(v)
    }

    /// Per organisation: of its members' offers, the share dispatched-to-on-scene within 3
    /// minutes of the offer (the unit's own part of the rule), over incidents in scope.
    pub async fn kpi_by_org(&self, actor: &Actor) -> AppResult<Vec<KpiGroup>> {
        let mut b = tongxin_store::sql::SqlBuf::new(
            "SELECT a.org_id, o.name, a.offered_at, a.answered_at, a.on_scene_at, a.state FROM task_assignments a \
             JOIN organizations o ON o.id = a.org_id WHERE ",
        );
        b.scope(actor, "a.division_path", Some("a.org_id"));
        b.push(" ORDER BY a.id DESC LIMIT 20000");
        let rows = b.query().fetch_all(self.store.reader()).await.map_err(StoreError::from)?;
        let now = now_ms();
        let mut groups: HashMap<i64, KpiGroup> = HashMap::new();
        for r in rows {
            let org: i64 = tongxin_store::col(&r, "org_id")?;
            let offered: i64 = tongxin_store::col(&r, "offered_at")?;
            let answered: Option<i64> = tongxin_store::col(&r, "answered_at")?;
            let on_scene: Option<i64> = tongxin_store::col(&r, "on_scene_at")?;
            let g = groups.entry(org).or_insert_with(|| KpiGroup {
                key: org.to_string(),
                name: String::new(),
                n: 0,
                met: [0; 4],
                late: [0; 4],
            });
            g.name = tongxin_store::col(&r, "name")?;
            g.n += 1;
            // Answer within 1 minute of the offer, on scene within 3.
            let m = kpi::measure(offered, [answered, on_scene, on_scene, None], now);
            for (k, x) in m.iter().take(3).enumerate() {
                g.met[k] += x.met as i64;
                g.late[k] += x.late as i64;
            }
        }
        let mut v: Vec<KpiGroup> = groups.into_values().collect();
        v.sort_by_key(|g| std::cmp::Reverse(g.n));
        Ok(v)
    }

    /// Map layers in the actor's jurisdiction: open incidents, open tasks and available
    /// responders (positions rounded to about 100 m; no names).
    pub async fn map_features(&self, actor: &Actor) -> AppResult<serde_json::Value> {
        let incidents = st::list_incidents(
            self.store.reader(),
            actor,
            &st::IncidentFilter { state: Some("open".into()), limit: 500, ..Default::default() },
        )
        .await?;
        let tasks = st::list_tasks(self.store.reader(), actor, None, 500).await?;
        let mut b = tongxin_store::sql::SqlBuf::new(
            "SELECT lon, lat, skills FROM volunteers WHERE available_now = 1 AND lon IS NOT NULL AND ",
        );
        b.scope(actor, "division_path", Some("org_id"));
        b.push(" ORDER BY id LIMIT 3000");
        let rows = b.query().fetch_all(self.store.reader()).await.map_err(StoreError::from)?;
        let mut responders = Vec::with_capacity(rows.len());
        for r in rows {
            let lon: f64 = tongxin_store::col(&r, "lon")?;
            let lat: f64 = tongxin_store::col(&r, "lat")?;
            responders.push(serde_json::json!([(lon * 1000.0).round() / 1000.0, (lat * 1000.0).round() / 1000.0]));
        }
        Ok(serde_json::json!({
            "incidents": incidents.iter().map(|i| serde_json::json!({"id": i.id, "title": i.title, "category": i.category, "severity": i.severity, "level": i.response_level, "lon": i.lon, "lat": i.lat, "radius_m": i.radius_m})).collect::<Vec<_>>(),
            "tasks": tasks.iter().filter(|t| t.state == "open").map(|t| serde_json::json!({"id": t.id, "title": t.title, "incident": t.incident_id, "head_count": t.head_count, "lon": t.lon, "lat": t.lat})).collect::<Vec<_>>(),
            "responders": responders,
        }))
    }

    /// Demo incidents, mobilisation plans and tasks (after the demo accounts exist); does
    /// nothing when incidents already exist.
    pub async fn seed_incidents(&self) -> AppResult<()> {
        if self.store.count_rows("incidents").await? > 0 {
            return Ok(());
        }
        let commander = self.actor_of_username("commander").await?;
        let Some(commander) = commander else { return Ok(()) };
        let ctx = RequestCtx::default();
        // Plans for the city: standby at level 3–4, deploy at level 1–2.
        let plans = [
            ("城市内涝四级待命", "natural", "", 4, "search_rescue,water_rescue,logistics", 60, 10_000, "standby"),
            (
                "城市内涝三级待命",
                "natural",
                "",
                3,
                "search_rescue,water_rescue,logistics,first_aid",
                150,
                20_000,
                "standby",
            ),
            (
                "自然灾害二级出动",
                "natural",
                "",
                2,
                "search_rescue,water_rescue,collapsed_structure,first_aid,logistics",
                400,
                40_000,
                "deploy",
            ),
            ("事故灾难四级待命", "accident", "", 4, "first_aid,search_rescue,medical", 40, 8_000, "standby"),
            (
                "事故灾难三级出动",
                "accident",
                "",
                3,
                "first_aid,search_rescue,medical,psychology",
                120,
                15_000,
                "deploy",
            ),
            ("公共卫生三级待命", "health", "", 3, "medical,first_aid,elderly", 100, 20_000, "standby"),
            ("社会安全四级待命", "social", "", 4, "", 30, 5_000, "standby"),
        ];
        for (name, cat, sub, level, domains, people, radius, mode) in plans {
            self.create_plan(
                &commander,
                &ctx,
                &Plan {
                    id: 0,
                    name: name.into(),
                    category: cat.into(),
                    subtype: sub.into(),
                    level,
                    domains: domains.into(),
                    people,
                    radius_m: radius,
                    mode: mode.into(),
                    division_code: String::new(),
                    division_path: String::new(),
                },
            )
            .await?;
        }
        // One live incident in Gusu (平江街道) with a level-4 response and a task.
        let r = self
            .report_incident(
                &commander,
                &ctx,
                &IncidentForm {
                    title: "平江路暴雨内涝，多户居民被困".into(),
                    category: "natural".into(),
                    subtype: "rainstorm".into(),
                    severity: 4,
                    lon: 120.6335,
                    lat: 31.3172,
                    radius_m: 800,
                    division_code: Some(crate::seed::DEMO_STREET.into()),
                    description: "平江路历史街区积水 40 厘米，独居老人需转移。".into(),
                },
                "seed",
            )
            .await?;
        self.set_response_level(&commander, &ctx, r.id, 4).await?;
        self.seed_incident_photo(&commander, &ctx, r.id).await?;
        let tid = self
            .create_task(
                &commander,
                &ctx,
                &TaskForm {
                    incident_id: Some(r.id),
                    title: "转移独居老人".into(),
                    skill: String::new(),
                    head_count: 4,
                    lon: 120.6335,
                    lat: 31.3172,
                    geofence_m: Some(300),
                    priority: Some("urgent".into()),
                    ..Default::default()
                },
            )
            .await?;
        let _ = self.dispatch_task(&commander, &ctx, tid).await;
        self.report_incident(
            &commander,
            &ctx,
            &IncidentForm {
                title: "吴中区东山镇山林火情".into(),
                category: "accident".into(),
                subtype: "fire".into(),
                severity: 3,
                lon: 120.40,
                lat: 31.08,
                radius_m: 2000,
                division_code: Some("320506000000".into()),
                description: "山林起火，风力 4 级。".into(),
            },
            "seed",
        )
        .await?;
        Ok(())
    }

    async fn actor_of_username(&self, username: &str) -> AppResult<Option<Actor>> {
        match self.store.user_by_username(username).await {
            Ok(u) => Ok(Some(Actor {
                user_id: u.id,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: Role::from_key(&u.role).unwrap_or(Role::Resident),
                division_code: u.division_code.clone(),
                division_path: u.division_path.clone(),
                org_id: u.org_id,
            })),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The 1-3-5-10 measures of an incident at `now`.
pub fn kpi_of(i: &Incident, now: i64) -> Vec<kpi::Measure> {
    kpi::measure(i.reported_at, [i.first_dispatch_at, i.first_on_scene_at, i.first_action_at, i.reinforce_at], now)
}
