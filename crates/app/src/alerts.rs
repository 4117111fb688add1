//! Alerts (capability G): authoring with four-eyes approval, CAP 1.2 issue/update/cancel with
//! GB/T 35965.1 identifiers, intake of other systems' CAP, the public feed, and area targeting
//! over households, responders and organisations.

use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tongxin_area::{Area, PointIndex, QueryOptions, KIND_HOUSEHOLD, KIND_RESPONDER};
use tongxin_cap::china::{self, ChinaId, IssuerCode, WarningColour};
use tongxin_cap::{CapDateTime, Category, Certainty, MsgType, NameValue, Reference, Urgency};
use tongxin_domain::alerts::{check_draft, transition, AlertAction, AlertState, Colour, DraftCheck, FourEyes};
use tongxin_domain::{Actor, FieldError, Role, Text};
use tongxin_store::alerts::{AlertFilter, AlertRow};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::outbox::{Households, NewMessage};
use tongxin_store::{now_ms, StoreError};

/// Point kind for organisations in the area index.
pub const KIND_ORG: u8 = 4;
const RESPONDER_BASE: u64 = 1 << 40;
const ORG_BASE: u64 = 2 << 40;
/// Largest accepted CAP message (intake).
pub const MAX_CAP_BYTES: usize = 512 * 1024;
/// How long an area index is used before it is rebuilt from the tables.
const INDEX_TTL_MS: i64 = 5 * 60 * 1000;

/// Roles that may draft and issue alerts.
pub const AUTHORS: [Role; 4] = [Role::Commander, Role::CivilAffairs, Role::CommunityWorker, Role::SysAdmin];
/// Roles that may approve (the second officer).
pub const APPROVERS: [Role; 3] = [Role::Commander, Role::CivilAffairs, Role::SysAdmin];

/// Per-node state of capability G: the area index, settings, and the outbox worker's wake-up.
#[derive(Default)]
pub struct AlertsState {
    index: RwLock<Option<(i64, Arc<PointIndex>)>>,
    building: tokio::sync::Mutex<()>,
    /// Four-eyes policy (`TONGXIN_ALERT_FOUR_EYES`, default every colour).
    pub four_eyes: RwLock<Option<FourEyes>>,
    /// Channel settings (SMTP, SMS gateway, webhook timeout).
    pub channels: RwLock<Option<crate::outbox::ChannelConfig>>,
    /// Wakes this node's delivery workers after an enqueue.
    pub outbox_wake: tokio::sync::Notify,
    /// Whether the workers were started.
    pub workers_started: AtomicBool,
}

impl std::fmt::Debug for AlertsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertsState").finish_non_exhaustive()
    }
}

impl AlertsState {
    /// The four-eyes policy in force.
    pub fn four_eyes(&self) -> FourEyes {
        if let Some(f) = self.four_eyes.read().ok().and_then(|g| g.clone()) {
            return f;
        }
        std::env::var("TONGXIN_ALERT_FOUR_EYES").ok().and_then(|s| FourEyes::parse(&s).ok()).unwrap_or_default()
    }
}

/// The area of an alert as the author gives it. Coordinates are WGS-84 `[lon, lat]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AreaInput {
    /// Division codes (street, community, district…).
    #[serde(default)]
    pub divisions: Vec<String>,
    /// A polygon drawn on the map: `[lon, lat]` vertices.
    #[serde(default)]
    pub polygon: Option<Vec<[f64; 2]>>,
    /// A circle: centre and radius in metres.
    #[serde(default)]
    pub circle: Option<CircleInput>,
}

/// A circle.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct CircleInput {
    /// Centre longitude.
    pub lon: f64,
    /// Centre latitude.
    pub lat: f64,
    /// Radius in metres.
    pub radius_m: f64,
}

impl AreaInput {
    fn is_empty(&self) -> bool {
        self.divisions.is_empty() && self.polygon.is_none() && self.circle.is_none()
    }
}

/// A draft as entered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftInput {
    /// CAP category (Met, Geo, Safety, …).
    pub category: String,
    /// Event type, e.g. 暴雨.
    pub event: String,
    /// red, orange, yellow, blue (or 红色…).
    pub colour: String,
    /// CAP urgency (default Expected).
    #[serde(default)]
    pub urgency: Option<String>,
    /// CAP certainty (default Likely).
    #[serde(default)]
    pub certainty: Option<String>,
    /// Headline.
    pub headline: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Instruction.
    #[serde(default)]
    pub instruction: String,
    /// Effective, unix ms (default now).
    #[serde(default)]
    pub effective: Option<i64>,
    /// Expires, unix ms.
    pub expires: i64,
    /// Area.
    pub area: AreaInput,
    /// Area description (default: names of the divisions).
    #[serde(default)]
    pub area_desc: Option<String>,
}

/// Who an area reaches, per division.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Reach {
    /// Households.
    pub households: u64,
    /// Responders (volunteers).
    pub responders: u64,
    /// Organisations.
    pub organisations: u64,
    /// Per street: (code, name, households, responders, organisations).
    pub per_division: Vec<ReachRow>,
    /// Milliseconds the count took.
    pub ms: f64,
}

/// Reach in one division.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReachRow {
    /// Division code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Households.
    pub households: u64,
    /// Responders.
    pub responders: u64,
    /// Organisations.
    pub organisations: u64,
}

fn area_error(e: &tongxin_area::AreaError) -> AppError {
    AppError::Validation(vec![FieldError::new("area", "area.invalid", e.message_zh(), e.message_en())])
}

/// Drawn areas must lie in China: a point outside is refused, and when the point read as
/// (lat, lon) would lie in China the message says the order is swapped (CAP writes "lat,lon",
/// this API takes `[lon, lat]` as GeoJSON does).
fn check_in_china(a: &AreaInput) -> AppResult<()> {
    use tongxin_area::coords::out_of_china;
    let mut pts: Vec<(&str, usize, f64, f64)> = Vec::new();
    if let Some(p) = &a.polygon {
        pts.extend(p.iter().enumerate().map(|(i, v)| ("area.polygon", i, v[0], v[1])));
    }
    if let Some(c) = a.circle {
        pts.push(("area.circle", 0, c.lon, c.lat));
    }
    for (field, i, lon, lat) in pts {
        if !out_of_china(lon, lat) {
            continue;
        }
        return Err(if !out_of_china(lat, lon) {
            invalid(
                field,
                "area.swapped",
                format!("第 {} 个点（{lon}, {lat}）不在中国境内，经纬度顺序可能颠倒：应为“经度,纬度”", i + 1),
                format!(
                    "point {} ({lon}, {lat}) lies outside China; longitude and latitude look swapped: give lon,lat",
                    i + 1
                ),
            )
        } else {
            invalid(
                field,
                "area.outside_china",
                format!("第 {} 个点（{lon}, {lat}）不在中国境内", i + 1),
                format!("point {} ({lon}, {lat}) lies outside China", i + 1),
            )
        });
    }
    Ok(())
}

fn parse_code(code: &str) -> Option<u64> {
    (code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit())).then(|| code.parse().ok()).flatten()
}

/// The 12-digit community (or lowest 12-digit) code of a division path.
fn community_of(path: &str) -> u64 {
    tongxin_domain::division::path_codes(path).iter().rev().find_map(|c| parse_code(c)).unwrap_or(0)
}

/// The longest common ancestor of division paths ("" when none).
fn common_path(paths: &[String]) -> String {
    let Some(first) = paths.first() else { return String::new() };
    let mut prefix: Vec<&str> = tongxin_domain::division::path_codes(first);
    for p in &paths[1..] {
        let codes = tongxin_domain::division::path_codes(p);
        let n = prefix.iter().zip(&codes).take_while(|(a, b)| a == b).count();
        prefix.truncate(n);
    }
    if prefix.is_empty() {
        String::new()
    } else {
        let lead = if first.starts_with('/') { "/" } else { "" };
        format!("{lead}{}/", prefix.join("/"))
    }
}

impl App {
    /// The area index of this node: households, responders and organisations, built on first use
    /// and rebuilt when older than five minutes.
    pub async fn area_index(&self) -> AppResult<Arc<PointIndex>> {
        if let Some((at, idx)) = self.alerts.index.read().ok().and_then(|g| g.clone()) {
            if now_ms() - at < INDEX_TTL_MS {
                return Ok(idx);
            }
        }
        let _g = self.alerts.building.lock().await;
        if let Some((at, idx)) = self.alerts.index.read().ok().and_then(|g| g.clone()) {
            if now_ms() - at < INDEX_TTL_MS {
                return Ok(idx);
            }
        }
        let idx = Arc::new(self.build_area_index().await?);
        if let Ok(mut g) = self.alerts.index.write() {
            *g = Some((now_ms(), idx.clone()));
        }
        Ok(idx)
    }

    /// Forgets the area index (after bulk changes; the next use rebuilds it).
    pub fn invalidate_area_index(&self) {
        if let Ok(mut g) = self.alerts.index.write() {
            *g = None;
        }
    }

    async fn build_area_index(&self) -> AppResult<PointIndex> {
        let t = Instant::now();
        let mut pts = Vec::new();
        for (table, base, kind) in [
            ("households", 0, KIND_HOUSEHOLD),
            ("volunteers", RESPONDER_BASE, KIND_RESPONDER),
            ("organizations", ORG_BASE, KIND_ORG),
        ] {
            for (id, lon, lat, path) in self.store.area_points(table).await? {
                pts.push(tongxin_area::Point { id: base + id as u64, lon, lat, division: community_of(&path), kind });
            }
        }
        let n = pts.len();
        let idx = tokio::task::spawn_blocking(move || PointIndex::build(pts))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Internal(e.to_string()))?;
        tracing::info!(points = n, ms = t.elapsed().as_millis() as u64, "area index built / 区域索引已建立");
        Ok(idx)
    }

    /// Turns the author's area into a validated targeting area; divisions must exist and lie in
    /// the actor's jurisdiction. Returns the area, the covering division path and code, and the
    /// default description.
    async fn resolve_area(&self, actor: &Actor, a: &AreaInput) -> AppResult<(Area, String, String, String)> {
        if a.is_empty() {
            return Err(invalid(
                "area",
                "required",
                "请选择预警区域（行政区划、地图多边形或圆形）",
                "Choose the alert area (divisions, a polygon on the map or a circle)",
            ));
        }
        let mut area = Area::new();
        let mut paths = Vec::new();
        let mut names = Vec::new();
        for code in &a.divisions {
            let code = tongxin_domain::division::normalize_code(code);
            let d = match self.store.division(&code).await {
                Ok(d) => d,
                Err(StoreError::NotFound) => {
                    return Err(invalid(
                        "area.divisions",
                        "division.unknown",
                        format!("行政区划 {code} 不存在"),
                        format!("division {code} does not exist"),
                    ))
                }
                Err(e) => return Err(e.into()),
            };
            if !actor.covers(&d.path) {
                return Err(invalid(
                    "area.divisions",
                    "division.out_of_scope",
                    format!("{} 不在您的辖区内", d.name),
                    format!("{} is outside your jurisdiction", d.name),
                ));
            }
            // Grids (15 digits) target their community's points: the index holds 12-digit codes.
            let twelve = if code.len() > 12 { code[..12].to_string() } else { code.clone() };
            let c = parse_code(&twelve).ok_or_else(|| {
                invalid("area.divisions", "division.code", "行政区划代码应为 12 位", "division codes have 12 digits")
            })?;
            area = area.with_division(c);
            paths.push(d.path.clone());
            names.push(d.name.clone());
        }
        if let Some(poly) = &a.polygon {
            area = area.with_polygon(poly.clone(), vec![]);
        }
        if let Some(c) = a.circle {
            area = area.with_circle(c.lon, c.lat, c.radius_m);
        }
        area.validate().map_err(|e| area_error(&e))?;
        check_in_china(a)?;
        if a.polygon.is_some() || a.circle.is_some() {
            names.push(if a.polygon.is_some() { "地图划定区域".into() } else { "圆形区域".into() });
            paths.push(actor.division_path.clone().unwrap_or_default());
        }
        let path = common_path(&paths);
        if path.is_empty() || !actor.covers(&path) {
            return Err(AppError::Forbidden);
        }
        let code = tongxin_domain::division::path_codes(&path).last().map(|s| s.to_string()).unwrap_or_default();
        Ok((area, path, code, names.join("、")))
    }

    /// Counts households, responders and organisations in an area, per street.
    pub async fn reach_of(&self, area: &Area) -> AppResult<Reach> {
        let idx = self.area_index().await?;
        let t = Instant::now();
        let area2 = area.clone();
        let idx2 = idx.clone();
        let per_kind: Vec<(u8, BTreeMap<u64, u64>)> = tokio::task::spawn_blocking(move || {
            [KIND_HOUSEHOLD, KIND_RESPONDER, KIND_ORG]
                .into_iter()
                .map(|k| {
                    let r =
                        idx2.query_with(&area2, &QueryOptions { ids: false, breakdown: true, kinds: Some(vec![k]) })?;
                    Ok((k, r.divisions_at(tongxin_area::DivisionLevel::Street)))
                })
                .collect::<Result<Vec<_>, tongxin_area::AreaError>>()
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| area_error(&e))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let mut rows: BTreeMap<u64, ReachRow> = BTreeMap::new();
        let mut reach = Reach { ms, ..Default::default() };
        for (k, m) in per_kind {
            for (code, n) in m {
                let r = rows.entry(code).or_default();
                match k {
                    KIND_HOUSEHOLD => {
                        r.households += n;
                        reach.households += n;
                    }
                    KIND_RESPONDER => {
                        r.responders += n;
                        reach.responders += n;
                    }
                    _ => {
                        r.organisations += n;
                        reach.organisations += n;
                    }
                }
            }
        }
        for (code, mut r) in rows {
            r.code = format!("{code:012}");
            r.name = self.store.division(&r.code).await.map(|d| d.name).unwrap_or_default();
            reach.per_division.push(r);
        }
        Ok(reach)
    }

    /// Reach of an area before saving anything (the author's preview).
    pub async fn alert_preview(&self, actor: &Actor, a: &AreaInput) -> AppResult<Reach> {
        crate::require_role(actor, &AUTHORS)?;
        let (area, ..) = self.resolve_area(actor, a).await?;
        self.reach_of(&area).await
    }

    fn check_input(&self, d: &DraftInput) -> AppResult<(Colour, Category, Urgency, Certainty, i64)> {
        let mut errs = Vec::new();
        let colour = Colour::parse(&d.colour);
        if colour.is_none() {
            errs.push(FieldError::new(
                "colour",
                "colour",
                "预警颜色应为红、橙、黄、蓝之一",
                "Colour must be red, orange, yellow or blue",
            ));
        }
        let category = Category::from_cap(d.category.trim());
        if category.is_none() {
            errs.push(FieldError::new(
                "category",
                "cap.category",
                format!("类别应为 {} 之一", Category::NAMES.join(" ")),
                format!("Category must be one of {}", Category::NAMES.join(" ")),
            ));
        }
        let urgency = Urgency::from_cap(d.urgency.as_deref().unwrap_or("Expected"));
        if urgency.is_none() {
            errs.push(FieldError::new("urgency", "cap.urgency", "紧急程度无效", "Invalid urgency"));
        }
        let certainty = Certainty::from_cap(d.certainty.as_deref().unwrap_or("Likely"));
        if certainty.is_none() {
            errs.push(FieldError::new("certainty", "cap.certainty", "确定性无效", "Invalid certainty"));
        }
        let now = now_ms();
        let effective = d.effective.unwrap_or(now);
        errs.extend(check_draft(
            &DraftCheck {
                event: &d.event,
                headline: &d.headline,
                description: &d.description,
                instruction: &d.instruction,
                effective,
                expires: d.expires,
                has_area: !d.area.is_empty(),
            },
            now,
        ));
        match (colour, category, urgency, certainty) {
            (Some(a), Some(b), Some(c), Some(e)) if errs.is_empty() => Ok((a, b, c, e, effective)),
            _ => Err(AppError::Validation(errs)),
        }
    }

    async fn build_row(&self, actor: &Actor, d: &DraftInput) -> AppResult<AlertRow> {
        let (colour, category, urgency, certainty, effective) = self.check_input(d)?;
        let (area, path, code, desc) = self.resolve_area(actor, &d.area).await?;
        let reach = self.reach_of(&area).await?;
        let now = now_ms();
        Ok(AlertRow {
            id: 0,
            origin: "local".into(),
            state: AlertState::Draft.key().into(),
            msg_type: "Alert".into(),
            ref_id: None,
            identifier: None,
            sender: String::new(),
            sent: None,
            category: category.as_str().into(),
            event: d.event.trim().into(),
            colour: colour.key().into(),
            urgency: urgency.as_str().into(),
            certainty: certainty.as_str().into(),
            headline: d.headline.trim().into(),
            description: d.description.trim().into(),
            instruction: d.instruction.trim().into(),
            effective: effective / 1000 * 1000,
            expires: d.expires / 1000 * 1000,
            area_desc: d.area_desc.clone().filter(|s| !s.trim().is_empty()).unwrap_or(desc),
            area_json: serde_json::to_string(&d.area).unwrap_or_default(),
            division_code: code,
            division_path: path,
            reach_json: serde_json::to_string(&reach).unwrap_or_default(),
            cap_xml: String::new(),
            note: String::new(),
            created_by: Some(actor.user_id),
            approved_by: None,
            created_at: now,
            approved_at: None,
            updated_at: now,
        })
    }

    /// Saves a draft (validated, with its reach).
    pub async fn alert_draft(&self, actor: &Actor, ctx: &RequestCtx, d: &DraftInput) -> AppResult<AlertRow> {
        crate::require_role(actor, &AUTHORS)?;
        let mut row = self.build_row(actor, d).await?;
        let mut tx = self.store.begin().await?;
        row.id = tongxin_store::alerts::insert(&mut tx, &row).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "alert.draft",
                "alert",
                row.id,
                serde_json::json!({"headline": row.headline, "colour": row.colour}),
            ),
        )
        .await?;
        self.alert_event(&mut tx, &row, "drafted", false).await?;
        self.commit(tx).await?;
        Ok(row)
    }

    /// Drafts an Update of an issued alert (goes through approval like any alert).
    pub async fn alert_draft_update(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        original: i64,
        d: &DraftInput,
    ) -> AppResult<AlertRow> {
        crate::require_role(actor, &AUTHORS)?;
        let orig = self.store.alert_scoped(actor, original).await?;
        if orig.state != AlertState::Issued.key() || orig.origin != "local" {
            return Err(AppError::Conflict(Text::new(
                "只能更新已发布的本地预警",
                "Only an issued local alert can be updated",
            )));
        }
        let mut row = self.build_row(actor, d).await?;
        row.msg_type = "Update".into();
        row.ref_id = Some(orig.id);
        let mut tx = self.store.begin().await?;
        row.id = tongxin_store::alerts::insert(&mut tx, &row).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "alert.draft_update",
                "alert",
                row.id,
                serde_json::json!({"updates": orig.id}),
            ),
        )
        .await?;
        self.alert_event(&mut tx, &row, "drafted", false).await?;
        self.commit(tx).await?;
        Ok(row)
    }

    /// An alert the actor may see (NotFound outside its jurisdiction).
    pub async fn alert_get(&self, actor: &Actor, id: i64) -> AppResult<AlertRow> {
        Ok(self.store.alert_scoped(actor, id).await?)
    }

    /// Alerts the actor may see.
    pub async fn alerts_list(&self, actor: &Actor, f: &AlertFilter) -> AppResult<Vec<AlertRow>> {
        Ok(self.store.alerts_scoped(actor, f).await?)
    }

    /// Submits a draft: waits for a second officer, or is issued at once when the colour needs none.
    pub async fn alert_submit(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<AlertRow> {
        crate::require_role(actor, &AUTHORS)?;
        self.store.alert_scoped(actor, id).await?;
        let mut tx = self.store.begin().await?;
        let mut row = tongxin_store::alerts::get_for_update(&mut tx, self.store.backend(), id).await?;
        let state = AlertState::from_key(&row.state).unwrap_or(AlertState::Draft);
        let next = transition(state, AlertAction::Submit).ok_or_else(|| bad_state(state))?;
        if row.expires <= now_ms() {
            return Err(invalid(
                "expires",
                "past",
                "失效时间已过，请修改后再提交",
                "Expires is in the past; edit before submitting",
            ));
        }
        let colour = Colour::parse(&row.colour).unwrap_or(Colour::Red);
        row.state = next.key().into();
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "alert.submit", "alert", id, serde_json::json!({})),
        )
        .await?;
        if !self.alerts.four_eyes().required(colour) {
            self.issue_in(&mut tx, actor, ctx, &mut row).await?;
        } else {
            tongxin_store::alerts::update(&mut tx, &row).await?;
            self.alert_event(&mut tx, &row, "submitted", false).await?;
        }
        self.commit(tx).await?;
        self.alerts.outbox_wake.notify_one();
        Ok(row)
    }

    /// The second officer approves: the alert is issued as CAP 1.2.
    pub async fn alert_approve(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<AlertRow> {
        crate::require_role(actor, &APPROVERS)?;
        self.store.alert_scoped(actor, id).await?;
        let mut tx = self.store.begin().await?;
        let mut row = tongxin_store::alerts::get_for_update(&mut tx, self.store.backend(), id).await?;
        if !actor.covers(&row.division_path) {
            return Err(AppError::NotFound);
        }
        let state = AlertState::from_key(&row.state).unwrap_or(AlertState::Draft);
        transition(state, AlertAction::Approve).ok_or_else(|| bad_state(state))?;
        if row.created_by == Some(actor.user_id) {
            return Err(AppError::Conflict(Text::new(
                "四眼原则：须由另一名干部审核发布",
                "Four-eyes rule: another officer must approve",
            )));
        }
        if row.expires <= now_ms() {
            return Err(invalid("expires", "past", "失效时间已过，无法发布", "Expires is in the past; cannot issue"));
        }
        row.approved_by = Some(actor.user_id);
        row.approved_at = Some(now_ms());
        self.issue_in(&mut tx, actor, ctx, &mut row).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "alert.approve",
                "alert",
                id,
                serde_json::json!({"identifier": row.identifier}),
            ),
        )
        .await?;
        self.commit(tx).await?;
        self.alerts.outbox_wake.notify_one();
        Ok(row)
    }

    /// The approver sends a pending alert back with a note.
    pub async fn alert_reject(&self, actor: &Actor, ctx: &RequestCtx, id: i64, note: &str) -> AppResult<AlertRow> {
        crate::require_role(actor, &APPROVERS)?;
        self.store.alert_scoped(actor, id).await?;
        let mut tx = self.store.begin().await?;
        let mut row = tongxin_store::alerts::get_for_update(&mut tx, self.store.backend(), id).await?;
        let state = AlertState::from_key(&row.state).unwrap_or(AlertState::Draft);
        let next = transition(state, AlertAction::Reject).ok_or_else(|| bad_state(state))?;
        if note.trim().is_empty() {
            return Err(invalid("note", "required", "请说明退回原因", "Give the reason for returning it"));
        }
        row.state = next.key().into();
        row.note = note.trim().chars().take(1000).collect();
        tongxin_store::alerts::update(&mut tx, &row).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "alert.reject", "alert", id, serde_json::json!({"note": row.note})),
        )
        .await?;
        self.alert_event(&mut tx, &row, "rejected", false).await?;
        self.commit(tx).await?;
        Ok(row)
    }

    /// Cancels an issued alert: a CAP Cancel referencing it is issued at once and delivered to the same area.
    pub async fn alert_cancel(&self, actor: &Actor, ctx: &RequestCtx, id: i64, note: &str) -> AppResult<AlertRow> {
        crate::require_role(actor, &AUTHORS)?;
        self.store.alert_scoped(actor, id).await?;
        let mut tx = self.store.begin().await?;
        let orig = tongxin_store::alerts::get_for_update(&mut tx, self.store.backend(), id).await?;
        if !actor.covers(&orig.division_path) {
            return Err(AppError::NotFound);
        }
        let state = AlertState::from_key(&orig.state).unwrap_or(AlertState::Draft);
        transition(state, AlertAction::Cancel).ok_or_else(|| bad_state(state))?;
        let now = now_ms();
        let mut c = orig.clone();
        c.id = 0;
        c.msg_type = "Cancel".into();
        c.ref_id = Some(orig.id);
        c.state = AlertState::Draft.key().into();
        c.identifier = None;
        c.sent = None;
        c.note = note.trim().chars().take(1000).collect();
        c.headline = format!("解除：{}", orig.headline).chars().take(160).collect();
        c.instruction =
            if note.trim().is_empty() { "预警已解除。".into() } else { note.trim().chars().take(1000).collect() };
        c.created_by = Some(actor.user_id);
        c.approved_by = Some(actor.user_id);
        c.approved_at = Some(now);
        c.created_at = now;
        c.updated_at = now;
        c.cap_xml = String::new();
        c.id = tongxin_store::alerts::insert(&mut tx, &c).await?;
        self.issue_in(&mut tx, actor, ctx, &mut c).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "alert.cancel",
                "alert",
                id,
                serde_json::json!({"cancel": c.id, "identifier": c.identifier}),
            ),
        )
        .await?;
        self.commit(tx).await?;
        self.alerts.outbox_wake.notify_one();
        Ok(c)
    }

    /// Issues `row` inside `tx`: identifier, CAP XML (validated, China profile checked), state,
    /// the referenced alert superseded or cancelled, the public event, and every delivery queued.
    async fn issue_in(
        &self,
        tx: &mut tongxin_store::Tx,
        actor: &Actor,
        ctx: &RequestCtx,
        row: &mut AlertRow,
    ) -> AppResult<()> {
        let district = row.division_code.get(..6).filter(|d| d.len() == 6).unwrap_or("320500");
        let issuer = IssuerCode::new(district, "001", "001", "00")
            .or_else(|_| IssuerCode::new("320500", "001", "001", "00"))
            .map_err(|e| AppError::Internal(e.message_en().to_string()))?;
        let sent_ms = now_ms() / 1000 * 1000;
        let sent = cap_time(sent_ms);
        let probe = ChinaId::generate(issuer.clone(), sent, 1);
        let prefix = format!("{}_{}_", issuer, probe.time_part());
        let seq = tongxin_store::alerts::count_identifier_prefix(tx, &prefix).await? + 1;
        let id = ChinaId::generate(issuer.clone(), sent, seq as u32);
        row.identifier = Some(id.to_string());
        row.sender = format!("{issuer}@tongxin.gov.cn");
        row.sent = Some(sent_ms);
        let mut references = Vec::new();
        let mut referenced = None;
        if let Some(rid) = row.ref_id {
            let orig = tongxin_store::alerts::get_for_update(tx, self.store.backend(), rid).await?;
            // References carry the original and everything that referenced it before.
            let mut chain = vec![orig.clone()];
            for f in self.store.alert_followups(rid).await? {
                if f.id != row.id && f.sent.is_some() {
                    chain.push(f);
                }
            }
            for a in &chain {
                if let (Some(ident), Some(s)) = (&a.identifier, a.sent) {
                    references.push(Reference {
                        sender: a.sender.clone(),
                        identifier: ident.clone(),
                        sent: cap_time(s),
                    });
                }
            }
            referenced = Some(orig);
        }
        let cap = to_cap(row, &references)?;
        row.cap_xml = tongxin_cap::write(&cap);
        row.state =
            if row.msg_type == "Cancel" { AlertState::Cancelled.key().into() } else { AlertState::Issued.key().into() };
        tongxin_store::alerts::update(tx, row).await?;
        if let Some(mut orig) = referenced {
            let action = if row.msg_type == "Cancel" { AlertAction::Cancel } else { AlertAction::Supersede };
            let st = AlertState::from_key(&orig.state).unwrap_or(AlertState::Issued);
            let next = transition(st, action).ok_or_else(|| bad_state(st))?;
            orig.state = next.key().into();
            tongxin_store::alerts::update(tx, &orig).await?;
            self.alert_event(tx, &orig, next.key(), true).await?;
        }
        tongxin_store::audit::append(
            tx,
            audit::entry(
                Some(actor),
                ctx,
                "alert.issue",
                "alert",
                row.id,
                serde_json::json!({"identifier": row.identifier, "msg_type": row.msg_type}),
            ),
        )
        .await?;
        let kind = match row.msg_type.as_str() {
            "Cancel" => "cancelled",
            "Update" => "updated",
            _ => "issued",
        };
        self.alert_event(tx, row, kind, true).await?;
        self.enqueue_alert_deliveries(tx, row).await?;
        Ok(())
    }

    async fn alert_event(&self, tx: &mut tongxin_store::Tx, row: &AlertRow, kind: &str, public: bool) -> AppResult<()> {
        publish(
            tx,
            self.store.backend(),
            &NewEvent {
                topic: "alert".into(),
                kind: kind.into(),
                division_path: row.division_path.clone(),
                org_id: None,
                user_id: None,
                public,
                payload: serde_json::json!({
                    "id": row.id, "state": row.state, "msg_type": row.msg_type, "colour": row.colour,
                    "headline": row.headline, "area_desc": row.area_desc, "ref_id": row.ref_id,
                    "expires": row.expires,
                })
                .to_string(),
            },
        )
        .await?;
        Ok(())
    }

    /// Queues the deliveries of an issued message: in-app to accounts located in the area, SMS
    /// to every household in it, e-mail/SMS to accounts that asked for them, and one webhook per
    /// matching endpoint. Red alerts are urgent (quiet hours do not hold them back).
    async fn enqueue_alert_deliveries(&self, tx: &mut tongxin_store::Tx, row: &AlertRow) -> AppResult<u64> {
        let area_in: AreaInput = serde_json::from_str(&row.area_json).unwrap_or_default();
        let urgent = row.colour == "red";
        let (subject, body, link) = alert_texts(row);
        let base = NewMessage {
            kind: format!("alert.{}", row.msg_type.to_lowercase()),
            ref_type: "alert".into(),
            ref_id: Some(row.id),
            urgent,
            subject: subject.clone(),
            body: body.clone(),
            link: link.clone(),
            not_before: now_ms(),
            ..Default::default()
        };
        let mut n = 0;
        // Households: division areas by path range, drawn areas through the index.
        let mut division_paths = Vec::new();
        for code in &area_in.divisions {
            if let Ok(d) = self.store.division(&tongxin_domain::division::normalize_code(code)).await {
                division_paths.push(d.path);
            }
        }
        let key = format!("alert:{}:sms:hh:", row.id);
        // A million household rows do not repeat the text: the workers fill it in from the alert.
        let hh = NewMessage { subject: String::new(), body: String::new(), link: String::new(), ..base.clone() };
        if !division_paths.is_empty() {
            n += tongxin_store::outbox::enqueue_households(tx, Households::Within(&division_paths), &hh, &key).await?;
        }
        let mut drawn = Area::new();
        if let Some(p) = &area_in.polygon {
            drawn = drawn.with_polygon(p.clone(), vec![]);
        }
        if let Some(c) = area_in.circle {
            drawn = drawn.with_circle(c.lon, c.lat, c.radius_m);
        }
        let mut user_paths = division_paths.clone();
        if !drawn.parts.is_empty() {
            let idx = self.area_index().await?;
            let r = idx
                .query_with(&drawn, &QueryOptions { ids: true, breakdown: true, kinds: Some(vec![KIND_HOUSEHOLD]) })
                .map_err(|e| area_error(&e))?;
            let ids = r.ids.unwrap_or_default();
            n += tongxin_store::outbox::enqueue_households(tx, Households::Ids(&ids), &hh, &key).await?;
            for code in r.per_division.keys().filter(|c| **c != 0) {
                if let Ok(d) = self.store.division(&format!("{code:012}")).await {
                    user_paths.push(d.path);
                }
            }
        }
        // Accounts located in the area (residents, volunteers, grid and community workers).
        let mut ids: Vec<i64> = Vec::new();
        for p in &user_paths {
            ids.extend(tongxin_store::alerts::users_within(tx, p).await?);
        }
        ids.sort_unstable();
        ids.dedup();
        let prefs = self.store.prefs_of(&ids).await?;
        let mut msgs = Vec::new();
        for uid in &ids {
            let p = prefs.iter().find(|p| p.user_id == *uid);
            let channels = p.map_or("inapp", |p| p.channels.as_str());
            for ch in channels.split(',').filter_map(tongxin_domain::alerts::Channel::from_key) {
                let recipient = match ch {
                    tongxin_domain::alerts::Channel::Inapp => uid.to_string(),
                    tongxin_domain::alerts::Channel::Email => {
                        match p.map(|p| p.email.clone()).filter(|e| !e.is_empty()) {
                            Some(e) => e,
                            None => continue,
                        }
                    }
                    tongxin_domain::alerts::Channel::Sms => format!("user:{uid}"),
                    tongxin_domain::alerts::Channel::Webhook => continue,
                };
                let not_before = if urgent || !ch.honours_quiet_hours() {
                    now_ms()
                } else {
                    tongxin_domain::alerts::quiet_release(
                        now_ms(),
                        p.and_then(|p| p.quiet_start),
                        p.and_then(|p| p.quiet_end),
                    )
                };
                msgs.push(NewMessage {
                    channel: ch.key().into(),
                    recipient,
                    user_id: Some(*uid),
                    idempotency_key: format!("alert:{}:{}:u:{uid}", row.id, ch.key()),
                    not_before,
                    ..base.clone()
                });
            }
        }
        let hooks = self.store.outbox_endpoints().await?;
        let hook_base = NewMessage { body: alert_json(row).to_string(), ..base.clone() };
        msgs.extend(crate::outbox::webhook_messages(
            &hooks,
            &hook_base,
            &row.division_path,
            &format!("alert:{}", row.id),
        ));
        n += tongxin_store::outbox::enqueue(tx, &msgs).await?;
        Ok(n)
    }
}

fn bad_state(s: AlertState) -> AppError {
    AppError::Conflict(Text::new(
        format!("当前状态（{}）不允许此操作", s.zh()),
        format!("Not allowed in the current state ({})", s.en()),
    ))
}

/// A unix-ms time as a CAP time at +08:00.
pub fn cap_time(ms: i64) -> CapDateTime {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    CapDateTime::from_offset_datetime(t.to_offset(china::beijing()))
}

fn cap_ms(t: CapDateTime) -> i64 {
    (t.to_offset_datetime().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The CAP 1.2 message of an issued row, checked against the codec and the China profile.
pub fn to_cap(row: &AlertRow, references: &[Reference]) -> AppResult<tongxin_cap::Alert> {
    let ident = row.identifier.clone().unwrap_or_default();
    let id = ChinaId::parse(&ident).map_err(|e| AppError::Internal(e.message_en().into()))?;
    let mut cap = china::new_alert(&id, row.sender.clone());
    cap.msg_type = MsgType::from_cap(&row.msg_type).unwrap_or(MsgType::Alert);
    cap.references = references.to_vec();
    cap.source = Some("同心应急协同平台 Tongxin".into());
    let colour = Colour::parse(&row.colour).unwrap_or(Colour::Blue);
    let wc = WarningColour::parse(colour.key()).unwrap_or(WarningColour::Blue);
    let mut info = china::new_info(
        Category::from_cap(&row.category).unwrap_or(Category::Other),
        row.event.clone(),
        wc,
        Urgency::from_cap(&row.urgency).unwrap_or(Urgency::Expected),
        Certainty::from_cap(&row.certainty).unwrap_or(Certainty::Likely),
    );
    info.effective = Some(cap_time(row.effective));
    info.expires = Some(cap_time(row.expires));
    info.sender_name = Some("同心应急协同平台".into());
    info.headline = Some(row.headline.clone()).filter(|s| !s.is_empty());
    info.description = Some(row.description.clone()).filter(|s| !s.is_empty());
    info.instruction = Some(row.instruction.clone()).filter(|s| !s.is_empty());
    info.web = None;
    let a: AreaInput = serde_json::from_str(&row.area_json).unwrap_or_default();
    let mut area = tongxin_cap::Area::new(if row.area_desc.is_empty() {
        "预警区域".to_string()
    } else {
        row.area_desc.clone()
    });
    if let Some(p) = &a.polygon {
        let mut pts: Vec<tongxin_cap::Point> = p.iter().map(|v| tongxin_cap::Point::new(v[1], v[0])).collect();
        if pts.first() != pts.last() {
            if let Some(f) = pts.first().copied() {
                pts.push(f);
            }
        }
        area.polygons.push(tongxin_cap::Polygon { points: pts });
    }
    if let Some(c) = a.circle {
        area.circles.push(tongxin_cap::Circle {
            center: tongxin_cap::Point::new(c.lat, c.lon),
            radius_km: c.radius_m / 1000.0,
        });
    }
    for d in &a.divisions {
        area.geocodes.push(NameValue::new("行政区划代码", d.clone()));
    }
    info.areas.push(area);
    cap.infos.push(info);
    tongxin_cap::validate(&cap).map_err(|e| AppError::Internal(format!("CAP validation: {e}")))?;
    china::check(&cap, None).map_err(|e| AppError::Internal(format!("CAP China profile: {e}")))?;
    Ok(cap)
}

/// Subject, body and link of an alert's notifications.
pub fn alert_texts(row: &AlertRow) -> (String, String, String) {
    let colour = Colour::parse(&row.colour).unwrap_or(Colour::Blue);
    let subject = format!("【{}预警】{}", colour.zh(), row.headline);
    let body = format!("{}\n{}\n{}", row.area_desc, row.description, row.instruction).trim().to_string();
    (subject, body, format!("/public/alerts/{}", row.id))
}

/// The JSON form of an issued alert (public).
pub fn alert_json(row: &AlertRow) -> serde_json::Value {
    let colour = Colour::parse(&row.colour).unwrap_or(Colour::Blue);
    serde_json::json!({
        "id": row.id,
        "identifier": row.identifier,
        "sender": row.sender,
        "sent": row.sent,
        "msg_type": row.msg_type,
        "state": row.state,
        "references": row.ref_id,
        "category": row.category,
        "event": row.event,
        "colour": row.colour,
        "colour_zh": colour.zh(),
        "level": colour.level(),
        "urgency": row.urgency,
        "certainty": row.certainty,
        "headline": row.headline,
        "description": row.description,
        "instruction": row.instruction,
        "effective": row.effective,
        "expires": row.expires,
        "area_desc": row.area_desc,
        "area": serde_json::from_str::<serde_json::Value>(&row.area_json).unwrap_or_default(),
        "division_code": row.division_code,
        "cap_url": format!("/cap/{}.xml", row.id),
    })
}

/// What became of a received message.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// Stored as a new alert.
    Accepted {
        /// Alert id.
        id: i64,
    },
    /// Already received (same sender, identifier, sent): ignored.
    Duplicate {
        /// The existing alert id.
        id: i64,
    },
}

/// Refusal of a received message: the codec's errors, kept in the rejected list.
#[derive(Debug, Clone, Serialize)]
pub struct IntakeRefusal {
    /// Rejected-list id.
    pub rejected_id: i64,
    /// Refused for its size (larger than [`MAX_CAP_BYTES`]) before parsing.
    pub too_large: bool,
    /// Errors (line, element, rule, zh, en).
    pub errors: Vec<serde_json::Value>,
}

impl App {
    /// Receives a CAP 1.2 message from another system (`origin` names the token or feed).
    /// Invalid messages are refused with the codec's errors and kept; duplicates are ignored.
    pub async fn alert_intake(
        &self,
        ctx: &RequestCtx,
        origin: &str,
        bytes: &[u8],
    ) -> AppResult<Result<IntakeOutcome, IntakeRefusal>> {
        let opts = tongxin_cap::ParseOptions { max_bytes: MAX_CAP_BYTES, ..Default::default() };
        let too_large = bytes.len() > MAX_CAP_BYTES;
        let parsed = if too_large {
            Err(vec![serde_json::json!({"line": 0, "element": "", "rule": "too_large",
                "zh": format!("CAP 消息过大（{} 字节），上限为 {MAX_CAP_BYTES} 字节", bytes.len()),
                "en": format!("CAP message too large ({} bytes); the limit is {MAX_CAP_BYTES} bytes", bytes.len())})])
        } else {
            tongxin_cap::parse_with(bytes, &opts).map_err(|errs| {
                errs.errors()
                    .iter()
                    .map(|e| {
                        serde_json::json!({"line": e.line, "element": e.element, "rule": e.rule.code(),
                            "zh": e.message_zh(), "en": e.message_en()})
                    })
                    .collect::<Vec<_>>()
            })
        };
        let cap = match parsed {
            Ok(c) => c,
            Err(list) => {
                let mut tx = self.store.begin().await?;
                let id = tongxin_store::alerts::insert_rejected(
                    &mut tx,
                    origin,
                    bytes.len() as i64,
                    &serde_json::Value::Array(list.clone()).to_string(),
                    &String::from_utf8_lossy(&bytes[..bytes.len().min(4000)]),
                )
                .await?;
                tongxin_store::audit::append(
                    &mut tx,
                    audit::entry(
                        None,
                        ctx,
                        "alert.intake_rejected",
                        "alert_rejected",
                        id,
                        serde_json::json!({"origin": origin, "errors": list.len()}),
                    ),
                )
                .await?;
                self.commit(tx).await?;
                return Ok(Err(IntakeRefusal { rejected_id: id, too_large, errors: list }));
            }
        };
        let sent = cap_ms(cap.sent);
        if let Some(existing) = self.store.alert_by_identifier(&cap.sender, &cap.identifier).await? {
            if existing.sent == Some(sent) {
                return Ok(Ok(IntakeOutcome::Duplicate { id: existing.id }));
            }
        }
        let info = cap.infos.iter().find(|i| i.language.as_deref() == Some("zh-CN")).or(cap.infos.first());
        let colour = info
            .and_then(|i| i.parameter(china::PARAM_COLOUR).and_then(WarningColour::parse))
            .map(|c| c.en().to_string())
            .or_else(|| {
                info.map(|i| match i.severity {
                    tongxin_cap::Severity::Extreme => "red",
                    tongxin_cap::Severity::Severe => "orange",
                    tongxin_cap::Severity::Moderate => "yellow",
                    _ => "blue",
                })
                .map(String::from)
            })
            .unwrap_or_else(|| "blue".into());
        // Area: polygons and circles as drawn, division geocodes that we know.
        let mut area = AreaInput::default();
        let mut desc = Vec::new();
        let mut paths = Vec::new();
        for a in info.map(|i| i.areas.as_slice()).unwrap_or(&[]) {
            desc.push(a.area_desc.clone());
            if area.polygon.is_none() {
                if let Some(p) = a.polygons.first() {
                    area.polygon = Some(p.points.iter().map(|pt| [pt.lon, pt.lat]).collect());
                }
            }
            if area.circle.is_none() {
                if let Some(c) = a.circles.first() {
                    area.circle =
                        Some(CircleInput { lon: c.center.lon, lat: c.center.lat, radius_m: c.radius_km * 1000.0 });
                }
            }
            for g in &a.geocodes {
                if let Ok(d) = self.store.division(&g.value).await {
                    area.divisions.push(d.code.clone());
                    paths.push(d.path);
                }
            }
        }
        let path = if paths.is_empty() {
            self.store.division_roots().await?.first().map(|d| d.path.clone()).unwrap_or_default()
        } else {
            common_path(&paths)
        };
        let code = tongxin_domain::division::path_codes(&path).last().map(|s| s.to_string()).unwrap_or_default();
        let now = now_ms();
        let msg_type = cap.msg_type.as_str().to_string();
        let state = match cap.msg_type {
            MsgType::Cancel => AlertState::Cancelled,
            _ => AlertState::Issued,
        };
        let row = AlertRow {
            id: 0,
            origin: "intake".into(),
            state: state.key().into(),
            msg_type: msg_type.clone(),
            ref_id: None,
            identifier: Some(cap.identifier.clone()),
            sender: cap.sender.clone(),
            sent: Some(sent),
            category: info.and_then(|i| i.categories.first()).map_or("Other", |c| c.as_str()).into(),
            event: info.map(|i| i.event.clone()).unwrap_or_default(),
            colour,
            urgency: info.map_or("Unknown", |i| i.urgency.as_str()).into(),
            certainty: info.map_or("Unknown", |i| i.certainty.as_str()).into(),
            headline: info
                .and_then(|i| i.headline.clone())
                .unwrap_or_else(|| info.map(|i| i.event.clone()).unwrap_or_default()),
            description: info.and_then(|i| i.description.clone()).unwrap_or_default(),
            instruction: info.and_then(|i| i.instruction.clone()).unwrap_or_default(),
            effective: info.and_then(|i| i.effective).map_or(sent, cap_ms),
            expires: info.and_then(|i| i.expires).map_or(sent + 24 * 3600 * 1000, cap_ms),
            area_desc: desc.join("、"),
            area_json: serde_json::to_string(&area).unwrap_or_default(),
            division_code: code,
            division_path: path,
            reach_json: "{}".into(),
            cap_xml: String::from_utf8_lossy(bytes).into_owned(),
            note: format!("received from {origin}"),
            created_by: None,
            approved_by: None,
            created_at: now,
            approved_at: None,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        let id = match tongxin_store::alerts::insert(&mut tx, &row).await {
            Ok(id) => id,
            Err(StoreError::Conflict(_)) => {
                let existing = self.store.alert_by_identifier(&cap.sender, &cap.identifier).await?.map_or(0, |a| a.id);
                return Ok(Ok(IntakeOutcome::Duplicate { id: existing }));
            }
            Err(e) => return Err(e.into()),
        };
        // Updates and cancels mark the referenced alerts they name.
        for r in &cap.references {
            if let Some(mut orig) = self.store.alert_by_identifier(&r.sender, &r.identifier).await? {
                if orig.state == AlertState::Issued.key() {
                    orig.state = if cap.msg_type == MsgType::Cancel { "cancelled" } else { "superseded" }.into();
                    tongxin_store::alerts::update(&mut tx, &orig).await?;
                }
            }
        }
        let mut stored = row.clone();
        stored.id = id;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                None,
                ctx,
                "alert.intake",
                "alert",
                id,
                serde_json::json!({"origin": origin, "identifier": cap.identifier}),
            ),
        )
        .await?;
        let kind = match cap.msg_type {
            MsgType::Cancel => "cancelled",
            MsgType::Update => "updated",
            _ => "issued",
        };
        self.alert_event(&mut tx, &stored, kind, true).await?;
        self.commit(tx).await?;
        Ok(Ok(IntakeOutcome::Accepted { id }))
    }

    /// Alerts in force now whose area covers or lies within `division` (public feed).
    pub async fn alerts_in_force(&self, division: Option<&str>) -> AppResult<Vec<AlertRow>> {
        let rows = self.store.alerts_published(Some(now_ms()), 500).await?;
        self.for_place(rows, division).await
    }

    /// Cancellations (all-clears) of the last 24 hours for `division` (public feed).
    pub async fn alerts_lifted(&self, division: Option<&str>) -> AppResult<Vec<AlertRow>> {
        let rows = self.store.alerts_cancels_since(now_ms() - 24 * 3600 * 1000, 100).await?;
        self.for_place(rows, division).await
    }

    async fn for_place(&self, rows: Vec<AlertRow>, division: Option<&str>) -> AppResult<Vec<AlertRow>> {
        let Some(code) = division.filter(|c| !c.is_empty()) else { return Ok(rows) };
        let d = self.store.division(code).await?;
        Ok(rows
            .into_iter()
            .filter(|a| {
                tongxin_domain::division::is_within(&d.path, &a.division_path)
                    || tongxin_domain::division::is_within(&a.division_path, &d.path)
            })
            .collect())
    }

    /// Adds a CAP feed or message URL to pull every `interval_s` seconds.
    pub async fn alert_add_source(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        url: &str,
        interval_s: i64,
    ) -> AppResult<i64> {
        crate::require_role(actor, &[Role::SysAdmin, Role::Commander])?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                "url",
                "url",
                "地址须以 http:// 或 https:// 开头",
                "URL must start with http:// or https://",
            ));
        }
        if !(10..=86_400).contains(&interval_s) {
            return Err(invalid(
                "interval_s",
                "range",
                "拉取间隔应在 10 秒到 1 天之间",
                "Interval must be 10 s to 1 day",
            ));
        }
        let mut tx = self.store.begin().await?;
        let id = tongxin_store::alerts::insert_source(&mut tx, url, interval_s, actor.user_id).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "alert.source_add", "alert_source", id, serde_json::json!({"url": url})),
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Polls the sources that are due (one node each): a CAP message is taken in directly; an
    /// Atom/RSS feed's entries that link CAP messages are fetched and taken in.
    pub async fn poll_alert_sources(&self) -> AppResult<usize> {
        let mut tx = self.store.begin().await?;
        let due = tongxin_store::alerts::claim_due_sources(&mut tx, self.store.backend(), now_ms()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let ctx = RequestCtx { request_id: "feed-poll".into(), ..Default::default() };
        for s in &due {
            let status = match fetch(&client, &s.url).await {
                Ok(body) => {
                    let mut got = (0, 0, 0);
                    let links = feed_links(&body);
                    let bodies = if links.is_empty() {
                        vec![body]
                    } else {
                        let mut v = Vec::new();
                        for l in links.iter().take(100) {
                            let url = absolutize(&s.url, l);
                            if let Ok(b) = fetch(&client, &url).await {
                                v.push(b);
                            }
                        }
                        v
                    };
                    for b in bodies {
                        match self.alert_intake(&ctx, &s.url, &b).await? {
                            Ok(IntakeOutcome::Accepted { .. }) => got.0 += 1,
                            Ok(IntakeOutcome::Duplicate { .. }) => got.1 += 1,
                            Err(_) => got.2 += 1,
                        }
                    }
                    format!("ok: {} new, {} duplicate, {} rejected", got.0, got.1, got.2)
                }
                Err(e) => format!("error: {e}"),
            };
            let mut tx = self.store.begin().await?;
            tongxin_store::alerts::set_source_status(&mut tx, s.id, &status).await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        Ok(due.len())
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let r = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("HTTP {}", r.status()));
    }
    if r.content_length().is_some_and(|n| n as usize > MAX_CAP_BYTES * 4) {
        return Err("too large".into());
    }
    let b = r.bytes().await.map_err(|e| e.to_string())?;
    Ok(b.to_vec())
}

/// Links to CAP messages in an Atom or RSS feed (`<link … href="…">` of entries, `<link>…</link>`).
pub fn feed_links(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    if !(text.contains("<feed") || text.contains("<rss")) {
        return vec![];
    }
    let mut out = Vec::new();
    for part in text.split("<entry").skip(1).chain(text.split("<item").skip(1)) {
        let mut rest = part;
        while let Some(i) = rest.find("<link") {
            let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
            let tag = &rest[i..tag_end];
            if let Some(h) = tag.find("href=\"") {
                let v = &tag[h + 6..];
                if let Some(e) = v.find('"') {
                    out.push(v[..e].replace("&amp;", "&"));
                }
            } else if let Some(close) = rest[tag_end..].find("</link>") {
                out.push(rest[tag_end + 1..tag_end + close].trim().replace("&amp;", "&"));
            }
            rest = &rest[tag_end.min(rest.len())..];
            if rest.len() <= 1 {
                break;
            }
            rest = &rest[1..];
        }
    }
    out.dedup();
    out
}

fn absolutize(base: &str, link: &str) -> String {
    if link.starts_with("http://") || link.starts_with("https://") {
        return link.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    if link.starts_with('/') {
        format!("{}{}", &base[..host_end], link)
    } else {
        let dir = base
            .rfind('/')
            .filter(|&i| i >= host_end)
            .map_or(format!("{}/", &base[..host_end]), |i| base[..=i].to_string());
        format!("{dir}{link}")
    }
}

/// The Atom feed of issued CAP messages (newest first), as alerting hubs publish.
pub fn atom_feed(base_url: &str, rows: &[AlertRow]) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }
    let updated = rows.iter().filter_map(|r| r.sent).max().unwrap_or_else(now_ms);
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    s.push_str("  <title>同心预警信息 Tongxin alerts (CAP 1.2)</title>\n");
    s.push_str(&format!("  <id>{}/cap/feed.atom</id>\n", esc(base_url)));
    s.push_str(&format!("  <link rel=\"self\" href=\"{}/cap/feed.atom\"/>\n", esc(base_url)));
    s.push_str(&format!("  <updated>{}</updated>\n", cap_time(updated)));
    s.push_str("  <author><name>同心应急协同平台</name></author>\n");
    for r in rows {
        let sent = cap_time(r.sent.unwrap_or(r.created_at));
        s.push_str("  <entry>\n");
        s.push_str(&format!("    <id>{}</id>\n", esc(r.identifier.as_deref().unwrap_or(""))));
        s.push_str(&format!("    <title>{}</title>\n", esc(&r.headline)));
        s.push_str(&format!("    <updated>{sent}</updated>\n"));
        s.push_str(&format!("    <published>{sent}</published>\n"));
        s.push_str(&format!(
            "    <summary>{} · {} · {}</summary>\n",
            esc(&r.msg_type),
            esc(&r.colour),
            esc(&r.area_desc)
        ));
        s.push_str(&format!(
            "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{}/cap/{}.xml\"/>\n",
            esc(base_url),
            r.id
        ));
        s.push_str(&format!(
            "    <link rel=\"related\" type=\"application/json\" href=\"{}/cap/{}.json\"/>\n",
            esc(base_url),
            r.id
        ));
        s.push_str("  </entry>\n");
    }
    s.push_str("</feed>\n");
    s
}

/// Demo data.
impl App {
    /// Demo alerts (issued, updated and cancelled, of each colour) with their deliveries; does
    /// nothing when alerts exist.
    pub async fn seed_alerts(&self) -> AppResult<()> {
        if self.store.count_rows("alerts").await? > 0 {
            return Ok(());
        }
        let author = self.store.user_by_username("shequ").await;
        let approver = self.store.user_by_username("minzheng").await;
        let commander = self.store.user_by_username("commander").await;
        let (Ok(author), Ok(approver), Ok(commander)) = (author, approver, commander) else { return Ok(()) };
        let (author, approver, commander) =
            (crate::auth::actor_of(&author)?, crate::auth::actor_of(&approver)?, crate::auth::actor_of(&commander)?);
        let ctx = RequestCtx { request_id: "seed".into(), ..Default::default() };
        let street = crate::seed::DEMO_STREET.to_string();
        let now = now_ms();
        let hour = 3600 * 1000;
        let draft = |colour: &str, event: &str, headline: &str, category: &str, divisions: Vec<String>| DraftInput {
            category: category.into(),
            event: event.into(),
            colour: colour.into(),
            urgency: Some(if colour == "red" { "Immediate" } else { "Expected" }.into()),
            certainty: Some("Likely".into()),
            headline: headline.into(),
            description: format!("{headline}。请关注官方发布的最新信息。"),
            instruction: "减少外出，远离危险区域，服从现场工作人员指挥。".into(),
            effective: Some(now),
            expires: now + 24 * hour,
            area: AreaInput { divisions, polygon: None, circle: None },
            area_desc: None,
        };
        // For each colour: one warning issued then updated (the update in force), one issued then
        // cancelled. The demo street's are the street worker's (approved by the district officer);
        // the other Gusu streets' are the district officer's (approved by the commander).
        let streets = self.store.division_children("320508000000").await?;
        let others: Vec<_> = streets.iter().filter(|d| d.code != street).collect();
        let plan = [
            ("red", "台风", "Met", "危化品泄漏", "Safety"),
            ("orange", "暴雨", "Met", "雷电", "Met"),
            ("yellow", "大雾", "Met", "道路结冰", "Met"),
            ("blue", "高温", "Met", "寒潮", "Met"),
        ];
        for (i, (colour, ev_updated, cat_u, ev_cancelled, cat_c)) in plan.into_iter().enumerate() {
            let c = Colour::parse(colour).unwrap_or(Colour::Blue);
            let (place_code, place_name, by, approve_by) = if i == 2 {
                (street.clone(), "平江街道".to_string(), &author, &approver)
            } else {
                let d = others.get(i % others.len().max(1)).map(|d| (d.code.clone(), d.name.clone()));
                let (code, name) = d.unwrap_or_else(|| ("320508000000".into(), "姑苏区".into()));
                (code, name, &approver, &commander)
            };
            let h = format!("{place_name}{ev_updated}{}预警", c.zh());
            let a = self.alert_draft(by, &ctx, &draft(colour, ev_updated, &h, cat_u, vec![place_code.clone()])).await?;
            self.alert_submit(by, &ctx, a.id).await?;
            self.alert_approve(approve_by, &ctx, a.id).await?;
            let u = self
                .alert_draft_update(
                    by,
                    &ctx,
                    a.id,
                    &draft(colour, ev_updated, &format!("{h}（更新）"), cat_u, vec![place_code.clone()]),
                )
                .await?;
            self.alert_submit(by, &ctx, u.id).await?;
            self.alert_approve(approve_by, &ctx, u.id).await?;
            let h = format!("{place_name}{ev_cancelled}{}预警", c.zh());
            let b = self.alert_draft(by, &ctx, &draft(colour, ev_cancelled, &h, cat_c, vec![place_code])).await?;
            self.alert_submit(by, &ctx, b.id).await?;
            self.alert_approve(approve_by, &ctx, b.id).await?;
            self.alert_cancel(by, &ctx, b.id, "险情解除，预警解除。").await?;
        }
        // Red flood warning around the old town: a circle, issued.
        let mut red = draft("red", "洪水", "姑苏区古城片区洪水红色预警", "Geo", vec![]);
        red.area.circle = Some(CircleInput { lon: 120.628, lat: 31.318, radius_m: 1500.0 });
        red.area_desc = Some("姑苏古城片区（半径 1.5 公里）".into());
        let r = self.alert_draft(&approver, &ctx, &red).await?;
        self.alert_submit(&approver, &ctx, r.id).await?;
        self.alert_approve(&commander, &ctx, r.id).await?;
        // Orange gas-leak warning for a community, pending approval (shows the approval queue).
        let communities = self.store.division_children(&street).await?;
        if let Some(c) = communities.first() {
            let p = self
                .alert_draft(
                    &author,
                    &ctx,
                    &draft(
                        "orange",
                        "燃气泄漏",
                        &format!("{}燃气泄漏橙色预警", c.name),
                        "Safety",
                        vec![c.code.clone()],
                    ),
                )
                .await?;
            self.alert_submit(&author, &ctx, p.id).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_paths() {
        assert_eq!(common_path(&["/1/2/3/".into(), "/1/2/4/".into()]), "/1/2/");
        assert_eq!(common_path(&["/1/2/3/".into()]), "/1/2/3/");
        assert_eq!(common_path(&[]), "");
        assert_eq!(common_path(&["32/3205/a/".into(), "32/3205/b/".into()]), "32/3205/");
    }

    #[test]
    fn feed_link_extraction() {
        let atom = br#"<feed><entry><link rel="alternate" type="application/cap+xml" href="/cap/1.xml"/></entry>
            <entry><link href="http://x/cap/2.xml?a=1&amp;b=2"/></entry></feed>"#;
        assert_eq!(feed_links(atom), vec!["/cap/1.xml".to_string(), "http://x/cap/2.xml?a=1&b=2".to_string()]);
        assert!(feed_links(b"<alert/>").is_empty());
        assert_eq!(absolutize("http://h:1/feeds/a.atom", "/cap/1.xml"), "http://h:1/cap/1.xml");
        assert_eq!(absolutize("http://h:1/feeds/a.atom", "b.xml"), "http://h:1/feeds/b.xml");
    }

    #[test]
    fn community_codes() {
        assert_eq!(community_of("/320000000000/320500000000/320508018001/320508018001001/"), 320508018001);
        assert_eq!(community_of(""), 0);
    }
}
