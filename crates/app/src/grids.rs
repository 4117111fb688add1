//! Grids and base data (capability H): use cases for boundaries, grid workers, buildings,
//! households, vulnerable residents and door-to-door check rounds, plus the demo seed.
//!
//! Who may do what:
//! - read grids, buildings, households and vulnerable residents: officers and workers whose
//!   jurisdiction covers them (commander, civil affairs, community and grid workers, system
//!   administrators); everyone else gets 403, out-of-scope ids 404;
//! - change households and vulnerable records, start and record check rounds: community and grid
//!   workers, civil affairs, commanders (rounds) and system administrators, within scope;
//! - personal data (names, phones) is masked; unmasking is a permission and audited.

pub mod boundaries;
pub mod buildings;
pub mod households;
pub mod seed;

use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use serde::Serialize;
use tongxin_domain::codes::{mask_name, mask_phone};
use tongxin_domain::division::Level;
use tongxin_domain::grids::{needs_from_key, CheckStatus, RoundProgress};
use tongxin_domain::{Actor, Role, Text};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::grids::{self as st, Boundary, Building, GridSummary, Mark, Round};
use tongxin_store::{now_ms, StoreError};

/// Live-event topic of this capability.
pub const TOPIC: &str = "grids";

/// Roles that may read base data within their jurisdiction.
pub const READ_ROLES: [Role; 5] =
    [Role::Commander, Role::CivilAffairs, Role::CommunityWorker, Role::GridWorker, Role::SysAdmin];
/// Roles that may change households and vulnerable records.
pub const WRITE_ROLES: [Role; 4] = [Role::CivilAffairs, Role::CommunityWorker, Role::GridWorker, Role::SysAdmin];
/// Roles that may start, record and close check rounds.
pub const ROUND_ROLES: [Role; 5] =
    [Role::Commander, Role::CivilAffairs, Role::CommunityWorker, Role::GridWorker, Role::SysAdmin];

pub(crate) fn require(actor: &Actor, roles: &[Role]) -> AppResult<()> {
    if roles.contains(&actor.role) && actor.division_path.is_some() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// A vulnerable resident as shown (name and phone masked unless unmasked).
#[derive(Debug, Clone, Serialize)]
pub struct VulnerableView {
    /// Person id.
    pub id: i64,
    /// Household id.
    pub household_id: i64,
    /// Grid code.
    pub grid_code: String,
    /// Name (masked).
    pub name: String,
    /// Kind key.
    pub kind: String,
    /// Need keys.
    pub needs: Vec<String>,
    /// Check tier (0 first).
    pub tier: i64,
    /// Care note.
    pub note: String,
    /// Address.
    pub address: String,
    /// Building name.
    pub building: String,
    /// Floor.
    pub floor: Option<i64>,
    /// Contact phone (masked).
    pub phone: String,
    /// Location.
    pub lon: f64,
    /// Location.
    pub lat: f64,
    /// Position in check order (1-based).
    pub order: usize,
}

fn vuln_view(app: &App, r: st::VulnerableRow, order: usize, unmask: bool) -> VulnerableView {
    let phone = app.crypto.decrypt(&r.contact_enc).unwrap_or_default();
    VulnerableView {
        id: r.id,
        household_id: r.household_id,
        grid_code: r.grid_code,
        name: if unmask { r.name } else { mask_name(&r.name) },
        kind: r.kind,
        needs: needs_from_key(&r.needs).iter().map(|n| n.key().to_string()).collect(),
        tier: r.tier,
        note: r.note,
        address: r.address,
        building: r.building,
        floor: r.floor,
        phone: if unmask { phone } else { mask_phone(&phone) },
        lon: r.lon,
        lat: r.lat,
        order,
    }
}

/// A local responder as shown.
#[derive(Debug, Clone, Serialize)]
pub struct ResponderView {
    /// Id.
    pub id: i64,
    /// Kind key.
    pub kind: String,
    /// Name (masked).
    pub name: String,
    /// Phone (masked).
    pub phone: String,
    /// Responsibility zone.
    pub zone: String,
    /// Names of buildings covered.
    pub buildings: Vec<String>,
    /// Ids of buildings covered.
    pub building_ids: Vec<i64>,
    /// Has an account.
    pub has_account: bool,
}

/// Everything about one grid a worker needs.
#[derive(Debug, Clone, Serialize)]
pub struct GridDetail {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// Names of its ancestors from district down (`姑苏区 / 平江街道 / …社区`).
    pub place: String,
    /// Boundary, if any.
    pub boundary: Option<Boundary>,
    /// Buildings in route order.
    pub buildings: Vec<Building>,
    /// Responders.
    pub responders: Vec<ResponderView>,
    /// Vulnerable residents in check order (masked).
    pub vulnerable: Vec<VulnerableView>,
    /// Households.
    pub households: i64,
    /// Recent rounds with progress.
    pub rounds: Vec<RoundSummary>,
    /// What the actor may do here: `edit`, `round`, `unmask`.
    pub may: Vec<&'static str>,
}

/// A round with its progress.
#[derive(Debug, Clone, Serialize)]
pub struct RoundSummary {
    /// The round.
    #[serde(flatten)]
    pub round: Round,
    /// Grid name.
    pub grid_name: String,
    /// Progress.
    pub progress: RoundProgress,
}

/// One person on a round with their latest status.
#[derive(Debug, Clone, Serialize)]
pub struct RoundItem {
    /// The person.
    pub person: VulnerableView,
    /// Status key (`pending` until visited).
    pub status: String,
    /// Note of the visit.
    pub note: String,
    /// Who recorded it.
    pub by: String,
    /// When (unix ms), if visited.
    pub at: Option<i64>,
}

/// A round with its list.
#[derive(Debug, Clone, Serialize)]
pub struct RoundView {
    /// Round and progress.
    #[serde(flatten)]
    pub summary: RoundSummary,
    /// People in check order with status.
    pub items: Vec<RoundItem>,
    /// Whether the actor may record visits.
    pub may_record: bool,
}

fn progress_of(total: i64, counts: &std::collections::HashMap<String, i64>) -> RoundProgress {
    let mut p = RoundProgress { total, ..Default::default() };
    for (k, n) in counts {
        match CheckStatus::parse(k) {
            Some(CheckStatus::Checked) => p.checked += n,
            Some(CheckStatus::NeedsHelp) => p.needs_help += n,
            Some(CheckStatus::Unreachable) => p.unreachable += n,
            _ => {}
        }
    }
    p
}

impl App {
    /// A grid (division of level `grid`) the actor may read; 404 when outside scope or not a grid.
    pub(crate) async fn grid_visible(
        &self,
        actor: &Actor,
        code: &str,
    ) -> AppResult<tongxin_store::divisions::Division> {
        require(actor, &READ_ROLES)?;
        let d = self.store.division(code).await.map_err(|_| AppError::NotFound)?;
        if d.level != Level::Grid.key() || !actor.covers(&d.path) {
            return Err(AppError::NotFound);
        }
        Ok(d)
    }

    /// Grids within `within` (default: the actor's jurisdiction) with counts, in code order after
    /// `after`.
    pub async fn grid_list(
        &self,
        actor: &Actor,
        within: Option<&str>,
        after: &str,
        limit: i64,
    ) -> AppResult<Vec<GridSummary>> {
        require(actor, &READ_ROLES)?;
        let path = match within.filter(|w| !w.trim().is_empty()) {
            Some(code) => {
                let d = self.store.division(code.trim()).await.map_err(|_| AppError::NotFound)?;
                if !actor.covers(&d.path) {
                    return Err(AppError::NotFound);
                }
                d.path
            }
            None => actor.division_path.clone().unwrap_or_default(),
        };
        Ok(self.store.grid_summaries(actor, &path, after, limit.clamp(1, 500)).await?)
    }

    /// Human place name of a path from the district down.
    pub(crate) async fn place_of(&self, code: &str) -> String {
        let anc = self.store.division_ancestors(code).await.unwrap_or_default();
        anc.into_iter()
            .filter(|d| d.level != "province" && d.level != "city")
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The detail of one grid.
    pub async fn grid_detail(&self, actor: &Actor, code: &str) -> AppResult<GridDetail> {
        let d = self.grid_visible(actor, code).await?;
        let buildings = self.store.buildings_in_grid(&d.code).await?;
        let names: std::collections::HashMap<i64, String> = buildings.iter().map(|b| (b.id, b.name.clone())).collect();
        let responders = self
            .store
            .responders_in_grid(&d.code)
            .await?
            .into_iter()
            .map(|r| ResponderView {
                id: r.id,
                kind: r.kind,
                name: mask_name(&r.name),
                phone: mask_phone(&self.crypto.decrypt(&r.phone_enc).unwrap_or_default()),
                zone: r.zone,
                buildings: r.buildings.iter().filter_map(|b| names.get(b).cloned()).collect(),
                building_ids: r.buildings.clone(),
                has_account: r.user_id.is_some(),
            })
            .collect();
        let vulnerable = self.vulnerable_in_grid(actor, &d.code).await?;
        let summary = self.store.grid_summaries(actor, &d.path, "", 1).await?;
        let households = summary.first().map_or(0, |g| g.households);
        let rounds = self.round_summaries(actor, &d.path, false, 10).await?;
        let mut may = vec![];
        if WRITE_ROLES.contains(&actor.role) {
            may.push("edit");
        }
        if ROUND_ROLES.contains(&actor.role) {
            may.push("round");
        }
        if actor.role.may_unmask() || actor.role == Role::SysAdmin {
            may.push("unmask");
        }
        Ok(GridDetail {
            place: self.place_of(&d.code).await,
            boundary: self.store.boundary(&d.code).await?,
            code: d.code,
            name: d.name,
            path: d.path,
            buildings,
            responders,
            vulnerable,
            households,
            rounds,
            may,
        })
    }

    /// The active vulnerable residents of a grid in door-to-door check order, masked.
    pub async fn vulnerable_in_grid(&self, actor: &Actor, grid: &str) -> AppResult<Vec<VulnerableView>> {
        let d = self.grid_visible(actor, grid).await?;
        let rows = self.store.vulnerable_in_grid(&d.code).await?;
        Ok(rows.into_iter().enumerate().map(|(i, r)| vuln_view(self, r, i + 1, false)).collect())
    }

    /// One vulnerable resident; `unmask` shows name and phone in full to roles that may unmask,
    /// with an audit record.
    pub async fn vulnerable_detail(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        unmask: bool,
    ) -> AppResult<VulnerableView> {
        require(actor, &READ_ROLES)?;
        let r = self.store.vulnerable_person(id).await?;
        if !actor.covers(&r.division_path) {
            return Err(AppError::NotFound);
        }
        if unmask {
            if !(actor.role.may_unmask() || actor.role == Role::SysAdmin) {
                return Err(AppError::Forbidden);
            }
            let mut tx = self.store.begin().await?;
            tongxin_store::audit::append(
                &mut tx,
                audit::entry(
                    Some(actor),
                    ctx,
                    "pii.unmask",
                    "vulnerable_person",
                    id,
                    serde_json::json!({ "fields": ["name", "contact_phone"] }),
                ),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        Ok(vuln_view(self, r, 0, unmask))
    }

    async fn round_summaries(
        &self,
        actor: &Actor,
        path: &str,
        open_only: bool,
        limit: i64,
    ) -> AppResult<Vec<RoundSummary>> {
        let rounds = self.store.rounds(actor, path, open_only, limit).await?;
        let ids: Vec<i64> = rounds.iter().map(|r| r.id).collect();
        let counts = self.store.round_counts(&ids).await?;
        let mut out = Vec::with_capacity(rounds.len());
        for r in rounds {
            let grid_name = self.store.division(&r.grid_code).await.map(|d| d.name).unwrap_or_default();
            let progress = progress_of(r.total, counts.get(&r.id).unwrap_or(&Default::default()));
            out.push(RoundSummary { round: r, grid_name, progress });
        }
        Ok(out)
    }

    /// Rounds within the actor's jurisdiction (or `within`), newest first.
    pub async fn round_list(
        &self,
        actor: &Actor,
        within: Option<&str>,
        open_only: bool,
        limit: i64,
    ) -> AppResult<Vec<RoundSummary>> {
        require(actor, &READ_ROLES)?;
        let path = match within.filter(|w| !w.trim().is_empty()) {
            Some(code) => {
                let d = self.store.division(code.trim()).await.map_err(|_| AppError::NotFound)?;
                if !actor.covers(&d.path) {
                    return Err(AppError::NotFound);
                }
                d.path
            }
            None => actor.division_path.clone().unwrap_or_default(),
        };
        self.round_summaries(actor, &path, open_only, limit.clamp(1, 200)).await
    }

    /// Starts a door-to-door check round on a grid: its list is the grid's vulnerable residents
    /// in check order. One open round per grid.
    pub async fn start_round(&self, actor: &Actor, ctx: &RequestCtx, grid: &str, title: &str) -> AppResult<i64> {
        require(actor, &ROUND_ROLES)?;
        let d = self.grid_visible(actor, grid).await?;
        let title = title.trim();
        if title.chars().count() > 100 {
            return Err(invalid("title", "too_long", "标题最多 100 个字符", "title must be at most 100 characters"));
        }
        let title = if title.is_empty() { "入户走访 / door-to-door check".to_string() } else { title.to_string() };
        let total = self.store.vulnerable_in_grid(&d.code).await?.len() as i64;
        if total == 0 {
            return Err(AppError::Conflict(Text::new(
                "该网格没有登记重点人群，无需走访",
                "this grid has no vulnerable residents on record; nothing to check",
            )));
        }
        let mut tx = self.store.begin().await?;
        if let Some(open) = st::open_round_tx(&mut tx, &d.code).await? {
            return Err(AppError::Conflict(Text::new(
                format!("该网格已有进行中的走访（#{open}），请先结束"),
                format!("this grid already has an open check round (#{open}); close it first"),
            )));
        }
        let now = now_ms();
        let id = st::insert_round(
            &mut tx,
            &Round {
                id: 0,
                grid_code: d.code.clone(),
                division_path: d.path.clone(),
                title: title.clone(),
                state: "open".into(),
                total,
                started_by: actor.user_id,
                started_at: now,
                closed_at: None,
            },
        )
        .await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "grids.round.start",
                "check_round",
                id,
                serde_json::json!({ "grid": d.code, "title": title, "total": total }),
            ),
        )
        .await?;
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: "round_started".into(),
                division_path: d.path.clone(),
                payload: serde_json::json!({ "round_id": id, "grid": d.code, "grid_name": d.name, "total": total })
                    .to_string(),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    async fn round_visible(&self, actor: &Actor, id: i64) -> AppResult<Round> {
        require(actor, &READ_ROLES)?;
        let r = self.store.round(id).await?;
        if !actor.covers(&r.division_path) {
            return Err(AppError::NotFound);
        }
        Ok(r)
    }

    /// A round with its list in check order and the latest status of each person.
    pub async fn round_view(&self, actor: &Actor, id: i64) -> AppResult<RoundView> {
        let r = self.round_visible(actor, id).await?;
        let marks: std::collections::HashMap<i64, Mark> =
            self.store.marks(id).await?.into_iter().map(|m| (m.person_id, m)).collect();
        let people = self.store.vulnerable_in_grid(&r.grid_code).await?;
        let mut counts: std::collections::HashMap<String, i64> = Default::default();
        for m in marks.values() {
            *counts.entry(m.status.clone()).or_default() += 1;
        }
        let mut items: Vec<RoundItem> = people
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let m = marks.get(&p.id);
                RoundItem {
                    status: m.map_or("pending".into(), |m| m.status.clone()),
                    note: m.map(|m| m.note.clone()).unwrap_or_default(),
                    by: m.map(|m| m.by_name.clone()).unwrap_or_default(),
                    at: m.map(|m| m.at),
                    person: vuln_view(self, p, i + 1, false),
                }
            })
            .collect();
        // People marked but no longer on the active list stay visible at the end.
        let listed: std::collections::HashSet<i64> = items.iter().map(|i| i.person.id).collect();
        for m in marks.values().filter(|m| !listed.contains(&m.person_id)) {
            if let Ok(p) = self.store.vulnerable_person(m.person_id).await {
                let n = items.len() + 1;
                items.push(RoundItem {
                    status: m.status.clone(),
                    note: m.note.clone(),
                    by: m.by_name.clone(),
                    at: Some(m.at),
                    person: vuln_view(self, p, n, false),
                });
            }
        }
        let total = r.total.max(items.len() as i64);
        let grid_name = self.store.division(&r.grid_code).await.map(|d| d.name).unwrap_or_default();
        let may_record = r.state == "open" && ROUND_ROLES.contains(&actor.role);
        Ok(RoundView {
            summary: RoundSummary { progress: progress_of(total, &counts), grid_name, round: r },
            items,
            may_record,
        })
    }

    /// Records the visit of one person in an open round (a later record corrects an earlier
    /// one). `needs_help` notifies the community workers and the round's starter.
    pub async fn record_check(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        round_id: i64,
        person_id: i64,
        status: &str,
        note: &str,
    ) -> AppResult<RoundProgress> {
        require(actor, &ROUND_ROLES)?;
        let status = CheckStatus::parse_recordable(status).map_err(|e| AppError::Validation(vec![e]))?;
        let note = note.trim();
        if note.chars().count() > 500 {
            return Err(invalid("note", "too_long", "备注最多 500 个字符", "note must be at most 500 characters"));
        }
        let r = self.round_visible(actor, round_id).await?;
        let person = self.store.vulnerable_person(person_id).await?;
        if person.grid_code != r.grid_code {
            return Err(AppError::NotFound);
        }
        let mut tx = self.store.begin().await?;
        let r = st::round_tx(&mut tx, round_id).await?;
        if r.state != "open" {
            return Err(AppError::Conflict(Text::new(
                "本轮走访已结束，不能再记录",
                "this check round is closed; no more visits can be recorded",
            )));
        }
        let now = now_ms();
        st::upsert_mark(&mut tx, round_id, person_id, status.key(), note, actor.user_id, now).await?;
        let counts: std::collections::HashMap<String, i64> =
            st::mark_counts_tx(&mut tx, round_id).await?.into_iter().collect();
        let progress = progress_of(r.total, &counts);
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "grids.round.record",
                "check_round",
                round_id,
                serde_json::json!({ "person": person_id, "status": status.key(), "note": !note.is_empty() }),
            ),
        )
        .await?;
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: "check_recorded".into(),
                division_path: r.division_path.clone(),
                payload: serde_json::json!({
                    "round_id": round_id, "grid": r.grid_code, "person_id": person_id, "status": status.key(),
                    "progress": progress, "by": actor.display_name,
                })
                .to_string(),
                ..Default::default()
            },
        )
        .await?;
        if status == CheckStatus::NeedsHelp {
            let mut users = st::workers_covering(&mut tx, &r.division_path).await?;
            if !users.contains(&r.started_by) {
                users.push(r.started_by);
            }
            users.retain(|u| *u != actor.user_id);
            let grid_name = self.store.division(&r.grid_code).await.map(|d| d.name).unwrap_or_default();
            let n = tongxin_store::notifications::NewNotification {
                kind: "grids.needs_help".into(),
                title_zh: format!("{grid_name}走访：{}需要帮助", mask_name(&person.name)),
                title_en: format!("Check in {grid_name}: {} needs help", mask_name(&person.name)),
                body: format!("{} {}", person.address, note),
                link: format!("/grids/rounds/{round_id}"),
            };
            tongxin_store::notifications::insert(&mut tx, &users, &n).await?;
            for u in users {
                publish(
                    &mut tx,
                    self.store.backend(),
                    &NewEvent {
                        topic: "notification".into(),
                        kind: "created".into(),
                        user_id: Some(u),
                        payload: serde_json::json!({ "kind": n.kind, "link": n.link }).to_string(),
                        ..Default::default()
                    },
                )
                .await?;
            }
        }
        self.commit(tx).await?;
        Ok(progress)
    }

    /// Closes an open round.
    pub async fn close_round(&self, actor: &Actor, ctx: &RequestCtx, round_id: i64) -> AppResult<()> {
        require(actor, &ROUND_ROLES)?;
        let r = self.round_visible(actor, round_id).await?;
        if r.state != "open" {
            return Err(AppError::Conflict(Text::new("本轮走访已结束", "this check round is already closed")));
        }
        let mut tx = self.store.begin().await?;
        st::close_round(&mut tx, round_id, now_ms()).await?;
        let counts: std::collections::HashMap<String, i64> =
            st::mark_counts_tx(&mut tx, round_id).await?.into_iter().collect();
        let progress = progress_of(r.total, &counts);
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "grids.round.close",
                "check_round",
                round_id,
                serde_json::json!({ "progress": progress }),
            ),
        )
        .await?;
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: "round_closed".into(),
                division_path: r.division_path.clone(),
                payload: serde_json::json!({ "round_id": round_id, "grid": r.grid_code, "progress": progress })
                    .to_string(),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Benchmark: lists one grid's vulnerable residents `repeat` times (grids with the most
    /// vulnerable residents first) and reports the latency distribution in milliseconds.
    pub async fn bench_grids(&self, repeat: usize) -> AppResult<serde_json::Value> {
        let grids = st::busiest_grids(self.store.reader(), 20).await?;
        if grids.is_empty() {
            return Err(AppError::Conflict(Text::new(
                "数据库中没有重点人群，请先运行 seed",
                "no vulnerable residents in the database; run seed first",
            )));
        }
        let actor = Actor {
            user_id: 0,
            username: "bench".into(),
            display_name: "bench".into(),
            role: Role::Commander,
            division_code: Some("320500000000".into()),
            division_path: Some("320500000000/".into()),
            org_id: None,
        };
        let mut times = Vec::with_capacity(repeat);
        let mut rows = 0;
        for i in 0..repeat.max(1) {
            let g = &grids[i % grids.len()];
            let t = std::time::Instant::now();
            rows = self.vulnerable_in_grid(&actor, g).await?.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        Ok(serde_json::json!({
            "bench": "grids-vulnerable-list", "repeat": times.len(), "rows_last": rows,
            "households": self.store.count_rows("households").await?,
            "vulnerable": self.store.count_rows("vulnerable_people").await?,
            "p50_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": pct(1.0),
        }))
    }
}
