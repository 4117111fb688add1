//! Residents' requests (E) as work orders with deadlines and escalation, complaints, public
//! accountability figures and price monitoring (J).
//!
//! Every change commits with its audit record, its live event and the accountability counters
//! in one transaction. Deadlines are stored on the row (computed in Beijing working time from
//! the policy and holiday calendar in the database); the overdue scan reads them back, so a
//! restarted node escalates whatever became overdue while it was down. The scan runs on one
//! node at a time under a lease, and each escalation is a conditional update, so two nodes can
//! never escalate the same step twice.

use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use serde::{Deserialize, Serialize};
use tongxin_domain::codes::mask_phone;
use tongxin_domain::validation::Validator;
use tongxin_domain::workorders::{self as wo, Action, Calendar, Policy, State, Subject};
use tongxin_domain::{Actor, FieldError, Role, Text};
use tongxin_store::events::{self, NewEvent};
use tongxin_store::notifications::{self, NewNotification};
use tongxin_store::workorders::{self as st, ComplaintRow, OrderFilter, OrderRow, StatDelta, StepRow};
use tongxin_store::{now_ms, Tx};

/// Live topic of work orders and complaints.
pub const TOPIC: &str = "workorders";
/// Public live topic of the accountability figures (no personal data in its payloads).
pub const PUBLIC_TOPIC: &str = "accountability";

/// A need as filed (resident, guest, or grid worker on a resident's behalf).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NeedForm {
    /// Kind key (medicine, medical_visit, elderly_care, disabled_care, supplies, counselling, legal_aid, other).
    pub kind: String,
    /// `normal` or `urgent`.
    pub urgency: String,
    /// Vulnerable-person flags.
    pub vulnerable: Vec<String>,
    /// What is needed.
    pub description: String,
    /// Community or grid code; a resident's own community when empty.
    pub division_code: String,
    /// Address (stored encrypted, shown masked).
    pub address: String,
    /// Contact name.
    pub contact_name: String,
    /// Mobile number (stored encrypted, shown masked).
    pub phone: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
}

/// The result of filing.
#[derive(Debug, Clone, Serialize)]
pub struct Filed {
    /// Id.
    pub id: i64,
    /// Order number.
    pub code: String,
    /// Tracking code (shown once; only its hash is stored).
    pub tracking_code: String,
}

/// An action on an order.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ActForm {
    /// Action key.
    pub action: String,
    /// Dispatch: `staff`, `org` or `volunteer`.
    pub assignee_kind: String,
    /// Dispatch: user id (staff), organisation id or volunteer id.
    pub assignee_id: Option<i64>,
    /// Reason, answer or comment.
    pub note: String,
    /// Rating 1–5.
    pub rating: Option<i64>,
    /// Extension: working days (hours for urgent needs).
    pub extension: Option<u32>,
}

/// An order as shown (personal data masked unless unmasked).
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    /// The record.
    #[serde(flatten)]
    pub order: OrderRow,
    /// Address: masked unless unmasked.
    pub address: String,
    /// Phone: masked unless unmasked.
    pub phone: String,
    /// Whether shown in full.
    pub unmasked: bool,
    /// Overdue now.
    pub overdue: bool,
    /// History.
    pub steps: Vec<StepRow>,
    /// What the viewer may do (action keys, plus `unmask`).
    pub may: Vec<&'static str>,
}

/// A suggested assignee.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// `org`, `staff`.
    pub kind: &'static str,
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Matching specialties.
    pub domains: String,
    /// Distance in km, when both have coordinates.
    pub distance_km: Option<f64>,
}

fn is_staff(a: &Actor) -> bool {
    matches!(a.role, Role::Commander | Role::CivilAffairs | Role::CommunityWorker | Role::GridWorker)
}

fn is_overseer(a: &Actor) -> bool {
    is_staff(a) || matches!(a.role, Role::Supervisor | Role::SysAdmin)
}

fn is_assignee(a: &Actor, o: &OrderRow) -> bool {
    // An order for an organisation is its admin's to handle, not every member volunteer's.
    (o.assignee_kind == "org" && a.role == Role::OrgAdmin && o.assignee_org_id.is_some_and(|x| a.acts_for(x)))
        || (o.assignee_user_id == Some(a.user_id) && !o.assignee_kind.is_empty())
}

fn is_requester(a: &Actor, o: &OrderRow) -> bool {
    o.requester_user_id == Some(a.user_id)
}

/// Whether `a` may see order `o` at all.
pub fn may_see(a: &Actor, o: &OrderRow) -> bool {
    (is_overseer(a) && a.covers(&o.division_path)) || is_assignee(a, o) || is_requester(a, o)
}

fn allowed_actions(a: &Actor, o: &OrderRow) -> Vec<&'static str> {
    let Some(state) = State::from_key(&o.state) else { return vec![] };
    let staff = is_staff(a) && a.covers(&o.division_path);
    let assignee = is_assignee(a, o);
    let requester = is_requester(a, o);
    let mut v = vec![];
    for act in [
        Action::Dispatch,
        Action::Accept,
        Action::Return,
        Action::Start,
        Action::Extend,
        Action::Answer,
        Action::Rate,
        Action::Close,
        Action::Reopen,
    ] {
        if wo::transition(state, act).is_err() {
            continue;
        }
        let who = match act {
            Action::Dispatch | Action::Close => staff,
            Action::Accept | Action::Return | Action::Start | Action::Extend | Action::Answer => assignee,
            Action::Rate | Action::Reopen => requester || staff,
        };
        if who {
            v.push(act.key());
        }
    }
    if (staff && a.role.may_unmask()) || assignee {
        v.push("unmask");
    }
    v
}

/// Segments of a division path: (district, street, community) codes, empty where missing.
pub fn units_of(path: &str) -> (String, String, String) {
    let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let g = |i: usize| seg.get(i).map(|s| s.to_string()).unwrap_or_default();
    (g(1), g(2), g(3))
}

fn step_row(actor: &str, action: &str, from: &str, to: &str, note: &str, due: Option<i64>, at: i64) -> StepRow {
    StepRow {
        at,
        action: action.into(),
        from_state: from.into(),
        to_state: to.into(),
        actor_name: actor.into(),
        note: note.into(),
        due_at: due,
    }
}

fn conflict_changed() -> AppError {
    AppError::Conflict(Text::new("工单已被他人更新，请刷新后重试", "the order was changed meanwhile; reload and retry"))
}

impl App {
    /// The deadline policy and the holiday calendar, from the database.
    pub async fn wo_policy(&self) -> AppResult<(Policy, Calendar)> {
        let json = self.store.wo_policy_json().await?;
        let policy: Policy = serde_json::from_str(&json).unwrap_or_default();
        let rows = self.store.wo_calendar().await?;
        let cal = Calendar::from_rows(rows.iter().map(|r| (r.0.as_str(), r.1.as_str())));
        Ok((policy, cal))
    }

    /// Replaces the policy (system administrator or civil-affairs officer), audited.
    pub async fn set_wo_policy(&self, actor: &Actor, ctx: &RequestCtx, p: &Policy) -> AppResult<()> {
        crate::require_role(actor, &[Role::SysAdmin, Role::CivilAffairs, Role::Commander])?;
        p.validate().map_err(|t| {
            AppError::Validation(vec![FieldError { field: "policy".into(), rule: "range".into(), message: t }])
        })?;
        let json = serde_json::to_string(p).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        st::set_policy(&mut tx, &json, now_ms()).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "workorders.policy", "wo_policy", 1, serde_json::json!({ "policy": p })),
        )
        .await?;
        self.commit(tx).await
    }

    /// Marks a day as `holiday` or `workday` (调休), or clears it (`kind` empty), audited.
    pub async fn set_calendar_day(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        day: &str,
        kind: &str,
        name: &str,
    ) -> AppResult<()> {
        crate::require_role(actor, &[Role::SysAdmin, Role::CivilAffairs, Role::Commander])?;
        if wo::parse_date(day).is_none() {
            return Err(invalid("day", "date", "日期格式须为 YYYY-MM-DD", "the day must be YYYY-MM-DD"));
        }
        if !matches!(kind, "" | "holiday" | "workday") {
            return Err(invalid("kind", "enum", "类型须为 holiday 或 workday", "kind must be holiday or workday"));
        }
        let mut tx = self.store.begin().await?;
        st::set_calendar_day(&mut tx, day.trim(), kind, name.trim()).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "workorders.calendar",
                "wo_calendar",
                day,
                serde_json::json!({ "kind": kind, "name": name }),
            ),
        )
        .await?;
        self.commit(tx).await
    }

    fn validate_need(&self, f: &NeedForm) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        if !wo::known(&wo::KINDS, &f.kind) {
            v.push(FieldError::new("kind", "enum", "请选择需求类型", "choose the kind of need"));
        }
        if !matches!(f.urgency.as_str(), "normal" | "urgent") {
            v.push(FieldError::new(
                "urgency",
                "enum",
                "紧急程度须为 normal 或 urgent",
                "urgency must be normal or urgent",
            ));
        }
        for flag in &f.vulnerable {
            if !wo::known(&wo::VULNERABLE, flag) {
                v.push(FieldError::new(
                    "vulnerable",
                    "enum",
                    format!("未知的重点人群标记：{flag}"),
                    format!("unknown vulnerable-person flag: {flag}"),
                ));
            }
        }
        v.text("description", "需求描述", "Description", &f.description, 500);
        v.text("address", "地址", "Address", &f.address, 200);
        v.text("contact_name", "联系人", "Contact name", &f.contact_name, 50);
        if tongxin_domain::codes::Phone::parse(&f.phone).is_err() {
            v.push(FieldError::new(
                "phone",
                "phone",
                "请填写正确的 11 位手机号码",
                "enter a valid 11-digit mobile number",
            ));
        }
        v.finish()
    }

    /// Files a need. `actor` None is a guest (tracking code only). Grid and community workers
    /// file on a resident's behalf inside their jurisdiction.
    pub async fn file_need(&self, actor: Option<&Actor>, ctx: &RequestCtx, f: &NeedForm) -> AppResult<Filed> {
        self.validate_need(f).map_err(AppError::Validation)?;
        let code = if f.division_code.trim().is_empty() {
            actor.and_then(|a| a.division_code.clone()).unwrap_or_default()
        } else {
            f.division_code.trim().to_string()
        };
        let div = match self.store.division(&code).await {
            Ok(d) if d.depth >= 3 => d,
            _ => return Err(invalid("division_code", "division", "请选择所在社区", "choose your community")),
        };
        let channel = match actor {
            None => "guest",
            Some(a) if a.role == Role::Resident || a.role == Role::Volunteer => "self",
            Some(a) if is_staff(a) => {
                if !a.covers(&div.path) {
                    return Err(invalid(
                        "division_code",
                        "scope",
                        "只能代居民提交本辖区的需求",
                        "you may file only inside your jurisdiction",
                    ));
                }
                "grid"
            }
            Some(_) => return Err(AppError::Forbidden),
        };
        let (policy, cal) = self.wo_policy().await?;
        let now = now_ms();
        let vulnerable = f.vulnerable.join(",");
        let urgent = wo::urgent_clock(&f.urgency, &vulnerable);
        let due = cal.deadline(now, policy.span(wo::Step::Dispatch, urgent));
        let (district, street, community) = units_of(&div.path);
        let tracking = wo::tracking_code(&mut rand::thread_rng());
        let phone = tongxin_domain::codes::Phone::parse(&f.phone).map(|p| p.as_str().to_string()).unwrap_or_default();
        let row = OrderRow {
            id: 0,
            code: String::new(),
            kind: f.kind.clone(),
            urgency: f.urgency.clone(),
            vulnerable,
            description: f.description.trim().to_string(),
            division_code: div.code.clone(),
            division_path: div.path.clone(),
            district_code: district.clone(),
            street_code: street.clone(),
            address_enc: self.crypto.encrypt(f.address.trim()),
            contact_name: f.contact_name.trim().to_string(),
            phone_enc: self.crypto.encrypt(&phone),
            lon: f.lon.filter(|x| x.is_finite()),
            lat: f.lat.filter(|x| x.is_finite()),
            requester_user_id: actor.filter(|_| channel == "self").map(|a| a.user_id),
            filed_by_user_id: actor.filter(|_| channel == "grid").map(|a| a.user_id),
            channel: channel.into(),
            state: State::Received.key().into(),
            assignee_kind: String::new(),
            assignee_org_id: None,
            assignee_user_id: None,
            assignee_name: String::new(),
            step_started_at: now,
            due_at: Some(due),
            escalate_at: Some(due),
            step_ms: due - now,
            escalation: 0,
            extensions: 0,
            answer: String::new(),
            rating: None,
            rating_comment: String::new(),
            answered_on_time: None,
            answered_at: None,
            closed_at: None,
            created_at: now,
            updated_at: now,
        };
        let prefix = wo::local_date(now)
            .map(|d| format!("WO{:04}{:02}{:02}", d.year(), d.month() as u8, d.day()))
            .unwrap_or_else(|| "WO".into());
        let mut tx = self.store.begin().await?;
        let (id, code) = st::insert_order(&mut tx, &row, &self.track_hash(&tracking), &prefix).await?;
        let who = actor.map_or("居民（访客）".to_string(), |a| a.display_name.clone());
        st::insert_step(&mut tx, id, &step_row(&who, "file", "", "received", "", Some(due), now)).await?;
        st::bump_stats(&mut tx, &community, &street, &district, &StatDelta { received: 1, ..Default::default() })
            .await?;
        // Guests are recorded without IP: nothing identifies them beyond what they typed.
        let actx = if actor.is_none() { RequestCtx { ip: String::new(), ..ctx.clone() } } else { ctx.clone() };
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                actor,
                &actx,
                "workorder.file",
                "work_order",
                id,
                serde_json::json!({ "code": code, "kind": f.kind, "urgency": f.urgency, "channel": channel }),
            ),
        )
        .await?;
        self.wo_event(&mut tx, &row_with(&row, id, &code), "created").await?;
        self.commit(tx).await?;
        Ok(Filed { id, code, tracking_code: tracking })
    }

    fn track_hash(&self, code: &str) -> String {
        self.crypto.blind("wo-track", &wo::normalise_code(code))
    }

    async fn wo_event(&self, tx: &mut Tx, o: &OrderRow, kind: &str) -> AppResult<()> {
        let payload =
            serde_json::json!({ "id": o.id, "code": o.code, "state": o.state, "escalation": o.escalation }).to_string();
        events::publish(
            tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: kind.into(),
                division_path: o.division_path.clone(),
                org_id: o.assignee_org_id,
                user_id: None,
                public: false,
                payload,
            },
        )
        .await?;
        if let Some(u) = o.requester_user_id {
            let payload = serde_json::json!({ "id": o.id, "state": o.state }).to_string();
            events::publish(
                tx,
                self.store.backend(),
                &NewEvent {
                    topic: TOPIC.into(),
                    kind: kind.into(),
                    division_path: String::new(),
                    org_id: None,
                    user_id: Some(u),
                    public: false,
                    payload,
                },
            )
            .await?;
        }
        let payload = serde_json::json!({ "district": o.district_code }).to_string();
        events::publish(
            tx,
            self.store.backend(),
            &NewEvent {
                topic: PUBLIC_TOPIC.into(),
                kind: "changed".into(),
                division_path: String::new(),
                org_id: None,
                user_id: None,
                public: true,
                payload,
            },
        )
        .await?;
        Ok(())
    }

    /// One order for `actor` (NotFound outside its scope).
    pub async fn order_for(&self, actor: &Actor, ctx: &RequestCtx, id: i64, unmask: bool) -> AppResult<OrderView> {
        let o = self.store.order(id).await?;
        if !may_see(actor, &o) {
            return Err(AppError::NotFound);
        }
        let may = allowed_actions(actor, &o);
        if unmask && !may.contains(&"unmask") {
            return Err(AppError::Forbidden);
        }
        if unmask {
            let mut tx = self.store.begin().await?;
            tongxin_store::audit::append(
                &mut tx,
                audit::entry(
                    Some(actor),
                    ctx,
                    "workorder.unmask",
                    "work_order",
                    id,
                    serde_json::json!({ "code": o.code }),
                ),
            )
            .await?;
            self.commit(tx).await?;
        }
        self.view(o, unmask, may).await
    }

    async fn view(&self, o: OrderRow, unmask: bool, may: Vec<&'static str>) -> AppResult<OrderView> {
        let addr = self.crypto.decrypt(&o.address_enc).unwrap_or_default();
        let phone = self.crypto.decrypt(&o.phone_enc).unwrap_or_default();
        let (address, phone) = if unmask { (addr, phone) } else { (mask_address(&addr), mask_phone(&phone)) };
        let steps = self.store.order_steps(o.id).await?;
        let overdue = o.due_at.is_some_and(|d| d < now_ms()) && o.state != "closed";
        Ok(OrderView { order: o, address, phone, unmasked: unmask, overdue, steps, may })
    }

    /// An order by tracking code (guests): masked, no actions except rating and reopening.
    pub async fn order_by_tracking(&self, code: &str) -> AppResult<OrderView> {
        let o = self.store.order_by_track(&self.track_hash(code)).await?;
        let may = match State::from_key(&o.state) {
            Some(State::Answered) => vec!["rate", "reopen"],
            _ => vec![],
        };
        self.view(o, false, may).await
    }

    /// Lists orders: staff see their jurisdiction (and their organisation's assignments),
    /// organisations their assignments, residents their own.
    pub async fn orders_for(&self, actor: &Actor, mut f: OrderFilter) -> AppResult<Vec<OrderRow>> {
        if let Some(p) = &f.within_path {
            if is_overseer(actor) && !actor.covers(p) {
                return Err(AppError::NotFound);
            }
        }
        f.limit = f.limit.clamp(1, 500);
        let rows = if matches!(actor.role, Role::Resident | Role::Volunteer) {
            f.requester = Some(actor.user_id);
            self.store.orders(actor, false, &f).await?
        } else {
            self.store.orders(actor, true, &f).await?
        };
        Ok(rows)
    }

    /// The community needs list (物资/服务需求清单): open orders by community, kind and urgency.
    pub async fn needs_list(
        &self,
        actor: &Actor,
        within: Option<String>,
    ) -> AppResult<Vec<(String, String, String, i64)>> {
        if !is_overseer(actor) {
            return Err(AppError::Forbidden);
        }
        if within.as_deref().is_some_and(|p| !actor.covers(p)) {
            return Err(AppError::NotFound);
        }
        let f = OrderFilter { within_path: within, open: true, ..Default::default() };
        Ok(self.store.needs_rollup(actor, &f).await?)
    }

    /// Dispatch suggestions: verified organisations with a matching specialty, nearest first,
    /// then the community staff of the order's street.
    pub async fn dispatch_suggestions(&self, actor: &Actor, id: i64) -> AppResult<Vec<Suggestion>> {
        let o = self.store.order(id).await?;
        if !(is_staff(actor) && actor.covers(&o.division_path)) {
            return Err(AppError::NotFound);
        }
        let domains = wo::domains_for(&o.kind);
        let district_path = o.division_path.split('/').take(2).collect::<Vec<_>>().join("/") + "/";
        let mut out = Vec::new();
        for (id, name, ds, lon, lat) in self.store.wo_org_candidates(&district_path).await? {
            let matching: Vec<&str> = ds.split(',').filter(|d| domains.contains(d)).collect();
            if !domains.is_empty() && matching.is_empty() {
                continue;
            }
            let distance_km = match (o.lon, o.lat, lon, lat) {
                (Some(a), Some(b), Some(c), Some(d)) => Some((wo::distance_km(a, b, c, d) * 10.0).round() / 10.0),
                _ => None,
            };
            out.push(Suggestion { kind: "org", id, name, domains: matching.join(","), distance_km });
        }
        out.sort_by(|a, b| {
            (b.domains.split(',').count(), a.distance_km.unwrap_or(f64::MAX))
                .partial_cmp(&(a.domains.split(',').count(), b.distance_km.unwrap_or(f64::MAX)))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        out.truncate(8);
        let street_path = o.division_path.split('/').take(3).collect::<Vec<_>>().join("/") + "/";
        for (id, name) in self.store.wo_staff_under(&street_path, &["community_worker", "grid_worker"]).await? {
            out.push(Suggestion { kind: "staff", id, name, domains: String::new(), distance_km: None });
        }
        Ok(out)
    }

    /// Acts on an order as `actor`.
    pub async fn act_on_order(&self, actor: &Actor, ctx: &RequestCtx, id: i64, f: &ActForm) -> AppResult<OrderView> {
        let o = self.store.order(id).await?;
        if !may_see(actor, &o) {
            return Err(AppError::NotFound);
        }
        let action = Action::from_key(&f.action).ok_or_else(|| {
            invalid("action", "enum", format!("未知操作：{}", f.action), format!("unknown action: {}", f.action))
        })?;
        let state = State::from_key(&o.state).ok_or_else(|| AppError::Internal(format!("bad state {}", o.state)))?;
        wo::transition(state, action).map_err(|t| {
            AppError::Validation(vec![FieldError { field: "action".into(), rule: "state".into(), message: t }])
        })?;
        if !allowed_actions(actor, &o).contains(&action.key()) {
            return Err(AppError::Forbidden);
        }
        self.apply(Some(actor), ctx, o, action, f).await?;
        self.order_for(actor, ctx, id, false).await
    }

    /// Rates or reopens an order by its tracking code (guest requester).
    pub async fn act_by_tracking(&self, ctx: &RequestCtx, code: &str, f: &ActForm) -> AppResult<OrderView> {
        let o = self.store.order_by_track(&self.track_hash(code)).await?;
        let action = match Action::from_key(&f.action) {
            Some(a @ (Action::Rate | Action::Reopen)) => a,
            _ => return Err(invalid("action", "enum", "只能评价或申请重办", "you may only rate or reopen")),
        };
        let state = State::from_key(&o.state).ok_or_else(|| AppError::Internal("bad state".into()))?;
        wo::transition(state, action).map_err(|t| {
            AppError::Validation(vec![FieldError { field: "action".into(), rule: "state".into(), message: t }])
        })?;
        let id = o.id;
        let ctx = RequestCtx { ip: String::new(), ..ctx.clone() };
        self.apply(None, &ctx, o, action, f).await?;
        let _ = id;
        self.order_by_tracking(code).await
    }

    async fn assignee_of(
        &self,
        o: &OrderRow,
        f: &ActForm,
    ) -> AppResult<(String, Option<i64>, Option<i64>, String, Vec<i64>)> {
        let id = f
            .assignee_id
            .ok_or_else(|| invalid("assignee_id", "required", "请选择承办对象", "choose who handles it"))?;
        match f.assignee_kind.as_str() {
            "org" => {
                let Some((name, state, _)) = self.store.wo_org(id).await? else {
                    return Err(invalid("assignee_id", "unknown", "承办组织不存在", "no such organisation"));
                };
                if state != "verified" {
                    return Err(invalid(
                        "assignee_id",
                        "state",
                        "只能派给已核验的组织",
                        "only verified organisations can be assigned",
                    ));
                }
                let uids = self.store.wo_org_admins(id).await?;
                Ok(("org".into(), Some(id), None, name, uids))
            }
            "staff" => {
                let u = self
                    .store
                    .user_by_id(id)
                    .await
                    .map_err(|_| invalid("assignee_id", "unknown", "承办人不存在", "no such account"))?;
                let ok = matches!(u.role.as_str(), "community_worker" | "grid_worker")
                    && u.division_path.as_deref().is_some_and(|p| {
                        tongxin_domain::division::is_within(&o.division_path, p)
                            || tongxin_domain::division::is_within(p, &o.division_path)
                    });
                if !ok {
                    return Err(invalid(
                        "assignee_id",
                        "scope",
                        "只能派给本街道社区的工作人员",
                        "only staff of this street or community can be assigned",
                    ));
                }
                Ok(("staff".into(), None, Some(id), u.display_name, vec![id]))
            }
            "volunteer" => {
                let Some((vname, uid)) = self.store.wo_volunteer(id).await? else {
                    return Err(invalid("assignee_id", "unknown", "志愿者不存在", "no such volunteer"));
                };
                let Some(uid) = uid else {
                    return Err(invalid(
                        "assignee_id",
                        "account",
                        "该志愿者没有账号，无法接单",
                        "this volunteer has no account to accept orders",
                    ));
                };
                Ok(("volunteer".into(), None, Some(uid), vname, vec![uid]))
            }
            _ => Err(invalid(
                "assignee_kind",
                "enum",
                "承办类型须为 staff、org 或 volunteer",
                "assignee kind must be staff, org or volunteer",
            )),
        }
    }

    async fn apply(
        &self,
        actor: Option<&Actor>,
        ctx: &RequestCtx,
        o: OrderRow,
        action: Action,
        f: &ActForm,
    ) -> AppResult<()> {
        let (policy, cal) = self.wo_policy().await?;
        let now = now_ms();
        let from = State::from_key(&o.state).ok_or_else(|| AppError::Internal("bad state".into()))?;
        let to = wo::transition(from, action).map_err(AppError::Conflict)?;
        let urgent = wo::urgent_clock(&o.urgency, &o.vulnerable);
        let mut n = o.clone();
        n.state = to.key().into();
        n.updated_at = now.max(o.updated_at + 1);
        let mut delta = StatDelta::default();
        let mut notify: Vec<i64> = vec![];
        let mut note = f.note.trim().to_string();
        if note.chars().count() > 1000 {
            return Err(invalid("note", "too_long", "说明最多 1000 个字符", "the note may be at most 1000 characters"));
        }
        match action {
            Action::Dispatch => {
                let (kind, org, user, name, users) = self.assignee_of(&o, f).await?;
                n.assignee_kind = kind;
                n.assignee_org_id = org;
                n.assignee_user_id = user;
                n.assignee_name = name.clone();
                notify = users;
                if note.is_empty() {
                    note = name;
                } else {
                    note = format!("{name}：{note}");
                }
            }
            Action::Return => {
                if note.is_empty() {
                    return Err(invalid(
                        "note",
                        "required",
                        "退回须说明理由",
                        "a reason is required to return an order",
                    ));
                }
            }
            Action::Answer => {
                if note.is_empty() {
                    return Err(invalid("note", "required", "请填写办理结果", "describe how the need was resolved"));
                }
                n.answer = note.clone();
                n.answered_at = Some(now);
                let on_time = o.due_at.is_none_or(|d| now <= d);
                n.answered_on_time = Some(on_time as i64);
                delta.resolved = 1;
                delta.resolved_on_time = on_time as i64;
                notify.extend(o.requester_user_id);
            }
            Action::Rate => {
                let r = f.rating.unwrap_or(0);
                if !(1..=5).contains(&r) {
                    return Err(invalid("rating", "range", "评分须为 1–5 星", "the rating must be 1 to 5"));
                }
                if note.chars().count() > 500 {
                    return Err(invalid(
                        "note",
                        "too_long",
                        "评价最多 500 个字符",
                        "the comment may be at most 500 characters",
                    ));
                }
                n.rating = Some(r);
                n.rating_comment = note.clone();
                n.closed_at = Some(now);
                delta.rating_sum = r;
                delta.rating_n = 1;
                note = format!("{r}★ {note}");
            }
            Action::Close => n.closed_at = Some(now),
            Action::Reopen => {
                if note.is_empty() {
                    return Err(invalid("note", "required", "请说明重办原因", "say why it should be reopened"));
                }
                n.closed_at = None;
                n.answered_at = None;
            }
            Action::Extend => {
                let span =
                    policy.check_extension(urgent, f.extension.unwrap_or(0), o.extensions as u32).map_err(|t| {
                        AppError::Validation(vec![FieldError {
                            field: "extension".into(),
                            rule: "policy".into(),
                            message: t,
                        }])
                    })?;
                if note.is_empty() {
                    return Err(invalid("note", "required", "延期须说明理由", "a reason is required for an extension"));
                }
                let due = cal.extend(o.due_at.unwrap_or(now), span);
                n.due_at = Some(due);
                n.escalate_at = Some(due.max(now));
                n.escalation = 0;
                n.extensions += 1;
            }
            Action::Accept | Action::Start => {}
        }
        // A new step gets a fresh deadline; staying in the step (start, extend) keeps it.
        if from.step() != to.step() {
            match to.step() {
                Some(step) => {
                    let due = cal.deadline(now, policy.span(step, urgent));
                    n.step_started_at = now;
                    n.due_at = Some(due);
                    n.escalate_at = Some(due);
                    n.step_ms = due - now;
                    n.escalation = 0;
                }
                None => {
                    n.due_at = None;
                    n.escalate_at = None;
                    n.escalation = 0;
                }
            }
        }
        let mut tx = self.store.begin().await?;
        if !st::update_order(&mut tx, &n, o.updated_at).await? {
            return Err(conflict_changed());
        }
        let who = actor.map_or("居民（访客）".to_string(), |a| a.display_name.clone());
        st::insert_step(&mut tx, o.id, &step_row(&who, action.key(), from.key(), to.key(), &note, n.due_at, now))
            .await?;
        if delta.resolved + delta.rating_n > 0 {
            let (district, street, community) = units_of(&o.division_path);
            st::bump_stats(&mut tx, &community, &street, &district, &delta).await?;
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                actor,
                ctx,
                &format!("workorder.{}", action.key()),
                "work_order",
                o.id,
                serde_json::json!({ "code": o.code, "from": from.key(), "to": to.key(), "assignee": n.assignee_name }),
            ),
        )
        .await?;
        if !notify.is_empty() {
            let (zh, en) = match action {
                Action::Dispatch => (format!("新派工单 {}", o.code), format!("New work order {}", o.code)),
                _ => (format!("您的需求 {} 已有办理结果", o.code), format!("Your request {} was answered", o.code)),
            };
            notifications::insert(
                &mut tx,
                &notify,
                &NewNotification {
                    kind: format!("workorder.{}", action.key()),
                    title_zh: zh,
                    title_en: en,
                    body: wo::label(&wo::KINDS, &o.kind, true).to_string(),
                    link: format!("/workorders/{}", o.id),
                },
            )
            .await?;
            for u in &notify {
                events::publish(
                    &mut tx,
                    self.store.backend(),
                    &NewEvent {
                        topic: "notification".into(),
                        kind: "new".into(),
                        user_id: Some(*u),
                        payload: "{}".into(),
                        ..Default::default()
                    },
                )
                .await?;
            }
        }
        self.wo_event(&mut tx, &n, action.key()).await?;
        self.commit(tx).await
    }

    /// One pass of the overdue scan: escalates every order and complaint whose escalation time
    /// has come (catching up levels missed while no node ran). Returns how many were escalated.
    pub async fn scan_overdue(&self, now: i64) -> AppResult<usize> {
        let mut total = 0;
        loop {
            let due = self.store.due_escalations(now, 1000).await?;
            if due.is_empty() {
                return Ok(total);
            }
            let n = due.len();
            let mut tx = self.store.begin().await?;
            let mut escalated = Vec::new();
            for (table, id, level, at, step_ms) in due {
                let step = if table == "complaints" { wo::days_ms(5) } else { step_ms };
                let Some((new, next)) = wo::escalate(level, at, step, now) else {
                    // At the top already: stop scanning it.
                    st::set_escalation(&mut tx, table, id, at, level, None).await?;
                    continue;
                };
                if st::set_escalation(&mut tx, table, id, at, new, next).await? {
                    escalated.push((table, id, level, new));
                }
            }
            for (table, id, old, new) in &escalated {
                self.escalation_effects(&mut tx, table, *id, *old, *new).await?;
            }
            total += escalated.len();
            self.commit(tx).await?;
            if n < 1000 {
                return Ok(total);
            }
        }
    }

    async fn escalation_effects(&self, tx: &mut Tx, table: &str, id: i64, old: i64, new: i64) -> AppResult<()> {
        let (path, code, label) = if table == "work_orders" {
            let (path, code, state, org) = st::order_brief(tx, id).await?;
            st::insert_step(
                tx,
                id,
                &step_row("系统 / system", "escalate", &state, &state, wo::escalation_label(new, true), None, now_ms()),
            )
            .await?;
            let payload = serde_json::json!({ "id": id, "code": code, "escalation": new }).to_string();
            events::publish(
                tx,
                self.store.backend(),
                &NewEvent {
                    topic: TOPIC.into(),
                    kind: "escalated".into(),
                    division_path: path.clone(),
                    org_id: org,
                    payload,
                    ..Default::default()
                },
            )
            .await?;
            (path, code, "工单")
        } else {
            let (path, state) = st::complaint_brief(tx, id).await?;
            st::insert_complaint_step(
                tx,
                id,
                now_ms(),
                "escalate",
                &state,
                "系统 / system",
                wo::escalation_label(new, true),
            )
            .await?;
            let payload = serde_json::json!({ "complaint": id, "escalation": new }).to_string();
            events::publish(
                tx,
                self.store.backend(),
                &NewEvent {
                    topic: TOPIC.into(),
                    kind: "complaint_escalated".into(),
                    division_path: path.clone(),
                    payload,
                    ..Default::default()
                },
            )
            .await?;
            (path, format!("TS{id:06}"), "投诉")
        };
        // The level up: street (1), district (2), city (3) of the record's path.
        let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let target_idx = (seg.len().saturating_sub(1) as i64 - new).max(0) as usize;
        let target = seg.get(target_idx.min(2)).copied().unwrap_or_default();
        let roles: &[&str] =
            if table == "work_orders" { &["community_worker", "civil_affairs", "commander"] } else { &["supervisor"] };
        let uids = st::users_at(tx, target, roles).await?;
        if !uids.is_empty() {
            notifications::insert(
                tx,
                &uids,
                &NewNotification {
                    kind: "workorder.escalated".into(),
                    title_zh: format!("{label} {code} 逾期督办（{}）", wo::escalation_label(new, true)),
                    title_en: format!("{code} is overdue: {}", wo::escalation_label(new, false)),
                    body: String::new(),
                    link: if table == "work_orders" {
                        format!("/workorders/{id}")
                    } else {
                        format!("/complaints/{id}")
                    },
                },
            )
            .await?;
            for u in &uids {
                events::publish(
                    tx,
                    self.store.backend(),
                    &NewEvent {
                        topic: "notification".into(),
                        kind: "new".into(),
                        user_id: Some(*u),
                        payload: "{}".into(),
                        ..Default::default()
                    },
                )
                .await?;
            }
        }
        tongxin_store::audit::append(
            tx,
            audit::entry(
                None,
                &RequestCtx::default(),
                "workorder.escalate",
                if table == "work_orders" { "work_order" } else { "complaint" },
                id,
                serde_json::json!({ "from": old, "to": new }),
            ),
        )
        .await?;
        Ok(())
    }

    /// Starts the overdue scan: once at start (catch-up) and every 30 s, on one node at a time
    /// (a 60 s lease in the database).
    pub fn start_workorder_scanner(&self) {
        let app = self.clone();
        let holder = format!("{}-{}", std::process::id(), wo::tracking_code(&mut rand::thread_rng()));
        tokio::spawn(async move {
            loop {
                let now = now_ms();
                match app.store.take_scan_lease(&holder, now, 60_000).await {
                    Ok(true) => match app.scan_overdue(now).await {
                        Ok(n) if n > 0 => tracing::info!(escalated = n, "逾期督办 / overdue work orders escalated"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "overdue scan failed"),
                    },
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "scan lease failed"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            }
        });
    }
}

fn row_with(o: &OrderRow, id: i64, code: &str) -> OrderRow {
    OrderRow { id, code: code.to_string(), ..o.clone() }
}

/// Masks an address: keeps the first 6 characters.
pub fn mask_address(s: &str) -> String {
    let n = s.chars().count();
    if n <= 6 {
        return "*".repeat(n);
    }
    let head: String = s.chars().take(6).collect();
    format!("{head}{}", "*".repeat((n - 6).min(10)))
}

// ---------------------------------------------------------------- complaints (J)

/// A complaint or report as filed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ComplaintForm {
    /// Category key.
    pub category: String,
    /// `staff`, `org` or `community`.
    pub subject_kind: String,
    /// Staff: username; org: organisation id; community: division code.
    pub subject: String,
    /// Where it happened (community or street code); the community itself for `community`.
    pub division_code: String,
    /// What happened.
    pub description: String,
    /// Anonymous (default for guests).
    pub anonymous: bool,
}

/// An attachment: file name and bytes.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// A complaint as shown to its handler or complainant. Never names an anonymous complainant.
#[derive(Debug, Clone, Serialize)]
pub struct ComplaintView {
    /// The record.
    #[serde(flatten)]
    pub c: ComplaintRow,
    /// The complainant as the viewer may see it: "匿名" or the name (handler only).
    pub complainant: String,
    /// History: (at, action, state, who, note).
    pub steps: Vec<tongxin_store::workorders::ComplaintStep>,
    /// Attachments: (id, name, mime, size).
    pub files: Vec<(i64, String, String, i64)>,
    /// What the viewer may do: `take`, `conclude`.
    pub may: Vec<&'static str>,
}

/// The result of filing a complaint.
#[derive(Debug, Clone, Serialize)]
pub struct ComplaintFiled {
    /// Id.
    pub id: i64,
    /// Tracking code.
    pub tracking_code: String,
}

fn subject_of(c: &ComplaintRow, subject_path: Option<String>, subject_org: Option<i64>) -> Subject {
    match c.subject_kind.as_str() {
        "staff" => Subject::Staff { user_id: c.subject_user_id.unwrap_or(-1), path: subject_path, org_id: subject_org },
        "org" => Subject::Org(c.subject_org_id.unwrap_or(-1)),
        _ => Subject::Community(c.division_path.clone()),
    }
}

impl App {
    /// Files a complaint. Guests are always anonymous; named complainants are shown only to
    /// the handler. An attachment must be an image or PDF of at most 1 MB.
    pub async fn file_complaint(
        &self,
        actor: Option<&Actor>,
        ctx: &RequestCtx,
        f: &ComplaintForm,
        file: Option<Attachment>,
    ) -> AppResult<ComplaintFiled> {
        let mut v = Validator::new();
        if !wo::known(&wo::COMPLAINT_CATEGORIES, &f.category) {
            v.push(FieldError::new("category", "enum", "请选择投诉类别", "choose a category"));
        }
        v.text("description", "投诉内容", "Description", &f.description, 2000);
        v.text("subject", "投诉对象", "Subject", &f.subject, 100);
        let mime = match &file {
            Some(a) if a.bytes.len() > wo::MAX_ATTACHMENT_BYTES => {
                v.push(FieldError::new(
                    "file",
                    "too_large",
                    format!("附件不能超过 {} KB", wo::MAX_ATTACHMENT_BYTES / 1024),
                    format!("the attachment may be at most {} KB", wo::MAX_ATTACHMENT_BYTES / 1024),
                ));
                None
            }
            Some(a) => match wo::sniff_attachment(&a.bytes) {
                Some(m) => Some(m),
                None => {
                    v.push(FieldError::new(
                        "file",
                        "type",
                        "附件只能是图片（PNG/JPEG/GIF/WebP）或 PDF",
                        "the attachment must be an image (PNG/JPEG/GIF/WebP) or a PDF",
                    ));
                    None
                }
            },
            None => None,
        };
        v.finish().map_err(AppError::Validation)?;
        let (subject_user, subject_org, subject_name, code) = match f.subject_kind.as_str() {
            "staff" => {
                let u = self.store.user_by_username(f.subject.trim()).await.map_err(|_| {
                    invalid("subject", "unknown", "找不到该工作人员账号", "no staff account with that username")
                })?;
                if !is_overseer(&tongxin_domain::Actor {
                    user_id: 0,
                    username: String::new(),
                    display_name: String::new(),
                    role: Role::from_key(&u.role).unwrap_or(Role::Resident),
                    division_code: None,
                    division_path: None,
                    org_id: None,
                }) && u.role != "org_admin"
                {
                    return Err(invalid("subject", "role", "只能投诉工作人员", "only staff can be the subject"));
                }
                let code = if f.division_code.trim().is_empty() {
                    u.division_code.clone().unwrap_or_default()
                } else {
                    f.division_code.trim().to_string()
                };
                (Some(u.id), None, u.display_name.clone(), code)
            }
            "org" => {
                let id: i64 = f
                    .subject
                    .trim()
                    .parse()
                    .map_err(|_| invalid("subject", "org", "请填写组织编号", "give the organisation's id"))?;
                let Some((name, _, dc)) = self.store.wo_org(id).await? else {
                    return Err(invalid("subject", "unknown", "组织不存在", "no such organisation"));
                };
                let code = if f.division_code.trim().is_empty() { dc } else { f.division_code.trim().to_string() };
                (None, Some(id), name, code)
            }
            "community" => {
                let d = self.store.division(f.subject.trim()).await.map_err(|_| {
                    invalid("subject", "unknown", "社区或街道代码不存在", "no such community or street")
                })?;
                (None, None, d.name.clone(), d.code)
            }
            _ => {
                return Err(invalid(
                    "subject_kind",
                    "enum",
                    "投诉对象类型须为 staff、org 或 community",
                    "the subject kind must be staff, org or community",
                ))
            }
        };
        let div = match self.store.division(&code).await {
            Ok(d) if d.depth >= 2 => d,
            _ => {
                return Err(invalid(
                    "division_code",
                    "division",
                    "请选择发生地所在街道或社区",
                    "choose the street or community where it happened",
                ))
            }
        };
        let (policy, cal) = self.wo_policy().await?;
        let now = now_ms();
        let due = cal.deadline(now, wo::Span::WorkingDays(policy.complaint_days));
        let anonymous = actor.is_none() || f.anonymous;
        let (district, street, community) = units_of(&div.path);
        let community = if community.is_empty() { street.clone() } else { community };
        let row = ComplaintRow {
            id: 0,
            category: f.category.clone(),
            subject_kind: f.subject_kind.clone(),
            subject_user_id: subject_user,
            subject_org_id: subject_org,
            subject_name,
            division_code: div.code.clone(),
            division_path: div.path.clone(),
            district_code: district.clone(),
            street_code: street.clone(),
            description: f.description.trim().to_string(),
            anonymous,
            complainant_user_id: if anonymous { None } else { actor.map(|a| a.user_id) },
            complainant_name: if anonymous {
                String::new()
            } else {
                actor.map(|a| a.display_name.clone()).unwrap_or_default()
            },
            state: "received".into(),
            handler_user_id: None,
            handler_name: String::new(),
            verified: None,
            finding: String::new(),
            due_at: due,
            escalate_at: Some(due),
            escalation: 0,
            concluded_at: None,
            on_time: None,
            created_at: now,
            updated_at: now,
        };
        let tracking = wo::tracking_code(&mut rand::thread_rng());
        let mut tx = self.store.begin().await?;
        let id =
            st::insert_complaint(&mut tx, &row, &self.crypto.blind("complaint-track", &wo::normalise_code(&tracking)))
                .await?;
        st::insert_complaint_step(
            &mut tx,
            id,
            now,
            "file",
            "received",
            if anonymous { "匿名 / anonymous" } else { &row.complainant_name },
            "",
        )
        .await?;
        if let (Some(a), Some(m)) = (file, mime) {
            let name: String =
                a.name.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').take(100).collect();
            st::insert_complaint_file(&mut tx, id, &name, m, &a.bytes).await?;
        }
        st::bump_stats(&mut tx, &community, &street, &district, &StatDelta { complaints: 1, ..Default::default() })
            .await?;
        // Anonymous: the audit record carries neither the account nor the IP.
        let (aa, actx) =
            if anonymous { (None, RequestCtx { ip: String::new(), ..ctx.clone() }) } else { (actor, ctx.clone()) };
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                aa,
                &actx,
                "complaint.file",
                "complaint",
                id,
                serde_json::json!({ "category": f.category, "subject_kind": f.subject_kind, "anonymous": anonymous }),
            ),
        )
        .await?;
        self.complaint_event(&mut tx, &row, id, "complaint_filed").await?;
        self.commit(tx).await?;
        Ok(ComplaintFiled { id, tracking_code: tracking })
    }

    async fn complaint_event(&self, tx: &mut Tx, c: &ComplaintRow, id: i64, kind: &str) -> AppResult<()> {
        let payload = serde_json::json!({ "complaint": id, "state": c.state }).to_string();
        // Supervisors see complaint events; the accused organisation does not (no org_id).
        events::publish(
            tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: kind.into(),
                division_path: c.division_path.clone(),
                payload,
                ..Default::default()
            },
        )
        .await?;
        let payload = serde_json::json!({ "district": c.district_code }).to_string();
        events::publish(
            tx,
            self.store.backend(),
            &NewEvent {
                topic: PUBLIC_TOPIC.into(),
                kind: "changed".into(),
                public: true,
                payload,
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }

    async fn subject_facts(&self, c: &ComplaintRow) -> AppResult<(Option<String>, Option<i64>)> {
        match c.subject_user_id {
            Some(u) => match self.store.user_by_id(u).await {
                Ok(u) => Ok((u.division_path, u.org_id)),
                Err(_) => Ok((None, None)),
            },
            None => Ok((None, None)),
        }
    }

    /// Whether `actor` is the subject of (or inside the accused unit of) a complaint.
    fn is_subject(actor: &Actor, c: &ComplaintRow, subject_path: Option<&str>) -> bool {
        c.subject_user_id == Some(actor.user_id)
            || c.subject_org_id.is_some_and(|o| actor.acts_for(o))
            || (c.subject_kind == "community"
                && actor
                    .division_path
                    .as_deref()
                    .is_some_and(|p| tongxin_domain::division::is_within(p, &c.division_path)))
            || subject_path.is_some_and(|sp| {
                actor.division_path.as_deref().is_some_and(|p| p == sp) && actor.role != Role::Supervisor
            })
    }

    /// A complaint for a supervisor covering it (the complainant's name only for the handler
    /// of a named complaint); NotFound for everyone else, the accused included.
    pub async fn complaint_for(&self, actor: &Actor, id: i64) -> AppResult<ComplaintView> {
        let c = self.store.complaint(id).await?;
        let (sp, so) = self.subject_facts(&c).await?;
        if !matches!(actor.role, Role::Supervisor | Role::SysAdmin)
            || !actor.covers(&c.division_path)
            || Self::is_subject(actor, &c, sp.as_deref())
        {
            return Err(AppError::NotFound);
        }
        let subject = subject_of(&c, sp, so);
        let may_handle = wo::may_handle(actor, &subject, &c.division_path);
        let mut may = vec![];
        if may_handle && c.state == "received" {
            may.push("take");
        }
        if c.state == "investigating" && c.handler_user_id == Some(actor.user_id) {
            may.push("conclude");
        }
        let complainant = if c.anonymous {
            "匿名 / anonymous".to_string()
        } else if c.handler_user_id == Some(actor.user_id) {
            c.complainant_name.clone()
        } else {
            "实名（仅承办人可见）/ named (handler only)".to_string()
        };
        let steps = self.store.complaint_steps(id).await?;
        let files = self.store.complaint_files(id).await?;
        Ok(ComplaintView { c, complainant, steps, files, may })
    }

    /// A complaint by tracking code (the complainant following it).
    pub async fn complaint_by_tracking(&self, code: &str) -> AppResult<ComplaintView> {
        let c = self.store.complaint_by_track(&self.crypto.blind("complaint-track", &wo::normalise_code(code))).await?;
        let steps = self.store.complaint_steps(c.id).await?;
        Ok(ComplaintView { complainant: "您本人 / you".into(), files: vec![], steps, may: vec![], c })
    }

    /// Complaints in a supervisor's jurisdiction, excluding those about the viewer.
    pub async fn complaints_for(&self, actor: &Actor, state: Option<&str>) -> AppResult<Vec<ComplaintRow>> {
        if !matches!(actor.role, Role::Supervisor | Role::SysAdmin) {
            return Err(AppError::Forbidden);
        }
        let rows = self.store.complaints(actor, state, 500).await?;
        Ok(rows.into_iter().filter(|c| !Self::is_subject(actor, c, None)).collect())
    }

    /// `take` (a supervisor outside the accused line becomes the handler) or `conclude`
    /// (`verified` and a finding), audited.
    pub async fn act_on_complaint(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        action: &str,
        verified: Option<bool>,
        finding: &str,
    ) -> AppResult<ComplaintView> {
        let view = self.complaint_for(actor, id).await?;
        let c = view.c.clone();
        if !view.may.contains(&action) {
            return match action {
                "take" | "conclude" => Err(AppError::Forbidden),
                _ => Err(invalid("action", "enum", "操作须为 take 或 conclude", "the action must be take or conclude")),
            };
        }
        let now = now_ms();
        let mut n = c.clone();
        n.updated_at = now.max(c.updated_at + 1);
        let mut delta = StatDelta::default();
        let note;
        if action == "take" {
            n.state = "investigating".into();
            n.handler_user_id = Some(actor.user_id);
            n.handler_name = actor.display_name.clone();
            note = String::new();
        } else {
            let Some(v) = verified else {
                return Err(invalid(
                    "verified",
                    "required",
                    "请确认投诉是否属实",
                    "say whether the complaint was verified",
                ));
            };
            if finding.trim().is_empty() || finding.chars().count() > 2000 {
                return Err(invalid(
                    "finding",
                    "required",
                    "请填写核查结论（最多 2000 字）",
                    "write the finding (at most 2000 characters)",
                ));
            }
            n.state = "concluded".into();
            n.verified = Some(v);
            n.finding = finding.trim().to_string();
            n.concluded_at = Some(now);
            n.on_time = Some(now <= c.due_at);
            n.escalate_at = None;
            delta.complaints_concluded = 1;
            delta.complaints_verified = v as i64;
            delta.complaints_on_time = (now <= c.due_at) as i64;
            note = format!("{}：{}", if v { "属实" } else { "不属实" }, n.finding);
        }
        let mut tx = self.store.begin().await?;
        if !st::update_complaint(&mut tx, &n, c.updated_at).await? {
            return Err(conflict_changed());
        }
        st::insert_complaint_step(&mut tx, id, now, action, &n.state, &actor.display_name, &note).await?;
        if delta.complaints_concluded > 0 {
            let (district, street, community) = units_of(&c.division_path);
            let community = if community.is_empty() { street.clone() } else { community };
            st::bump_stats(&mut tx, &community, &street, &district, &delta).await?;
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                &format!("complaint.{action}"),
                "complaint",
                id,
                serde_json::json!({ "state": n.state, "verified": n.verified }),
            ),
        )
        .await?;
        self.complaint_event(&mut tx, &n, id, &format!("complaint_{action}")).await?;
        self.commit(tx).await?;
        self.complaint_for(actor, id).await
    }

    /// An attachment for the complaint's handler or a supervisor covering it (audited read).
    pub async fn complaint_attachment(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        file_id: i64,
    ) -> AppResult<(String, String, Vec<u8>)> {
        let (cid, name, mime, bytes) = self.store.complaint_file(file_id).await?;
        self.complaint_for(actor, cid).await?;
        let mut tx = self.store.begin().await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "complaint.file_read",
                "complaint",
                cid,
                serde_json::json!({ "file": file_id }),
            ),
        )
        .await?;
        self.commit(tx).await?;
        Ok((name, mime, bytes))
    }
}

// ---------------------------------------------------------------- public figures (J)

/// One unit's public figures, small counts suppressed.
#[derive(Debug, Clone, Serialize)]
pub struct PublicFigures {
    /// Division code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Requests received.
    pub received: String,
    /// Resolved on time (share of resolved).
    pub on_time_rate: String,
    /// Resolved on time (count).
    pub resolved_on_time: String,
    /// Average rating.
    pub average_rating: String,
    /// Complaints received.
    pub complaints: String,
    /// Verified.
    pub complaints_verified: String,
    /// Handled on time (share of concluded).
    pub complaints_on_time_rate: String,
    /// Rank by on-time rate (1 best), where enough data.
    pub rank: Option<usize>,
    /// Raw on-time permille for sorting (hidden figures sort last).
    #[serde(skip)]
    pub score: i64,
}

/// The public accountability page at one level.
#[derive(Debug, Clone, Serialize)]
pub struct PublicPage {
    /// Level shown: `district`, `street` or `community`.
    pub level: String,
    /// Parent unit (code, name), if drilled down.
    pub parent: Option<(String, String)>,
    /// Totals of the whole level.
    pub total: PublicFigures,
    /// One row per unit, ranked.
    pub rows: Vec<PublicFigures>,
}

fn public_of(f: &st::Figures, name: String) -> PublicFigures {
    PublicFigures {
        code: f.code.clone(),
        name,
        received: wo::public_count(f.received),
        on_time_rate: wo::public_rate(f.resolved_on_time, f.resolved),
        resolved_on_time: wo::public_count(f.resolved_on_time),
        average_rating: wo::public_average(f.rating_sum, f.rating_n),
        complaints: wo::public_count(f.complaints),
        complaints_verified: wo::public_count(f.complaints_verified),
        complaints_on_time_rate: wo::public_rate(f.complaints_on_time, f.complaints_concluded),
        rank: None,
        score: if f.resolved >= wo::SUPPRESS_BELOW { f.resolved_on_time * 1000 / f.resolved } else { -1 },
    }
}

impl App {
    /// Public figures: the city's districts, or one district's streets, or one street's communities.
    pub async fn public_figures(&self, code: Option<&str>) -> AppResult<PublicPage> {
        let (level, parent) = match code.filter(|c| !c.is_empty()) {
            None => ("district", None),
            Some(c) => {
                let d = self.store.division(c).await?;
                match d.depth {
                    1 => ("street", Some(("district", d))),
                    2 => ("community", Some(("street", d))),
                    _ => return Err(AppError::NotFound),
                }
            }
        };
        let figs = self.store.figures(level, parent.as_ref().map(|(l, d)| (*l, d.code.as_str()))).await?;
        let names: std::collections::HashMap<String, String> = match &parent {
            None => {
                let roots = self.store.division_roots().await?;
                let Some(root) = roots.first() else { return Err(AppError::NotFound) };
                self.store.division_children(&root.code).await?.into_iter().map(|d| (d.code, d.name)).collect()
            }
            Some((_, d)) => {
                self.store.division_children(&d.code).await?.into_iter().map(|d| (d.code, d.name)).collect()
            }
        };
        let mut total = st::Figures::default();
        for f in &figs {
            total.received += f.received;
            total.resolved += f.resolved;
            total.resolved_on_time += f.resolved_on_time;
            total.rating_sum += f.rating_sum;
            total.rating_n += f.rating_n;
            total.complaints += f.complaints;
            total.complaints_verified += f.complaints_verified;
            total.complaints_concluded += f.complaints_concluded;
            total.complaints_on_time += f.complaints_on_time;
        }
        let mut rows: Vec<PublicFigures> = names
            .iter()
            .map(|(code, name)| {
                let f = figs
                    .iter()
                    .find(|f| &f.code == code)
                    .cloned()
                    .unwrap_or(st::Figures { code: code.clone(), ..Default::default() });
                public_of(&f, name.clone())
            })
            .collect();
        rows.sort_by(|a, b| b.score.cmp(&a.score).then(a.code.cmp(&b.code)));
        let mut rank = 0;
        for r in rows.iter_mut() {
            if r.score >= 0 {
                rank += 1;
                r.rank = Some(rank);
            }
        }
        let total = public_of(&total, parent.as_ref().map_or("苏州市".into(), |(_, d)| d.name.clone()));
        Ok(PublicPage { level: level.into(), parent: parent.map(|(_, d)| (d.code, d.name)), total, rows })
    }
}

// ---------------------------------------------------------------- price monitoring (J)

/// A reference price as set by the office.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PriceRefForm {
    /// Item.
    pub item: String,
    /// Unit.
    pub unit: String,
    /// Division code (the city or a district…).
    pub division_code: String,
    /// Period `YYYY-MM`.
    pub period: String,
    /// Price in yuan.
    pub price: f64,
}

/// A reported offer or sale.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PriceReportForm {
    /// Item.
    pub item: String,
    /// Division code where offered or sold.
    pub division_code: String,
    /// Seller.
    pub seller: String,
    /// `offer` or `sale`.
    pub kind: String,
    /// Price in yuan.
    pub price: f64,
}

fn yuan_to_fen(field: &str, v: f64) -> AppResult<i64> {
    if !v.is_finite() || v <= 0.0 || v > 1_000_000.0 {
        return Err(invalid(
            field,
            "range",
            "价格须为 0–1,000,000 元之间的正数",
            "the price must be a positive amount up to 1,000,000 yuan",
        ));
    }
    Ok((v * 100.0).round() as i64)
}

fn period_of(ms: i64) -> String {
    wo::local_date(ms).map(|d| format!("{:04}-{:02}", d.year(), d.month() as u8)).unwrap_or_default()
}

impl App {
    /// Sets a reference price (commander, civil-affairs officer, administrator) in its jurisdiction.
    pub async fn set_price_ref(&self, actor: &Actor, ctx: &RequestCtx, f: &PriceRefForm) -> AppResult<i64> {
        crate::require_role(actor, &[Role::Commander, Role::CivilAffairs, Role::SysAdmin])?;
        let mut v = Validator::new();
        v.text("item", "品名", "Item", &f.item, 100);
        v.text("unit", "单位", "Unit", &f.unit, 20);
        let period_ok = f.period.len() == 7 && wo::parse_date(&format!("{}-01", f.period)).is_some();
        if !period_ok {
            v.push(FieldError::new("period", "format", "期间格式须为 YYYY-MM", "the period must be YYYY-MM"));
        }
        v.finish().map_err(AppError::Validation)?;
        let fen = yuan_to_fen("price", f.price)?;
        let d = self
            .store
            .division(f.division_code.trim())
            .await
            .map_err(|_| invalid("division_code", "division", "区划不存在", "no such division"))?;
        if !actor.covers(&d.path) {
            return Err(invalid(
                "division_code",
                "scope",
                "只能设置本辖区的参考价",
                "you may set reference prices only in your jurisdiction",
            ));
        }
        let p = st::PriceRef {
            id: 0,
            item: f.item.trim().into(),
            unit: f.unit.trim().into(),
            division_code: d.code.clone(),
            division_path: d.path.clone(),
            period: f.period.clone(),
            price_fen: fen,
        };
        let mut tx = self.store.begin().await?;
        let id = st::upsert_price_ref(&mut tx, &p, &actor.display_name, now_ms()).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "price.reference",
                "price_ref",
                id,
                serde_json::json!({ "item": p.item, "division": p.division_code, "period": p.period, "fen": fen }),
            ),
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Records an offer or sale (community staff, organisation admins, supervisors); flags it
    /// when above the reference by more than the policy's margin, and tells supervisors.
    pub async fn report_price(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        f: &PriceReportForm,
    ) -> AppResult<st::PriceReport> {
        if !(is_overseer(actor) || actor.role == Role::OrgAdmin) {
            return Err(AppError::Forbidden);
        }
        let mut v = Validator::new();
        v.text("item", "品名", "Item", &f.item, 100);
        v.text("seller", "销售方", "Seller", &f.seller, 100);
        if !matches!(f.kind.as_str(), "offer" | "sale") {
            v.push(FieldError::new(
                "kind",
                "enum",
                "类型须为 offer（报价）或 sale（成交）",
                "kind must be offer or sale",
            ));
        }
        v.finish().map_err(AppError::Validation)?;
        let fen = yuan_to_fen("price", f.price)?;
        let d = self
            .store
            .division(f.division_code.trim())
            .await
            .map_err(|_| invalid("division_code", "division", "区划不存在", "no such division"))?;
        if is_overseer(actor) && !actor.covers(&d.path) {
            return Err(invalid(
                "division_code",
                "scope",
                "只能报告本辖区的价格",
                "you may report prices only in your jurisdiction",
            ));
        }
        let now = now_ms();
        let (policy, _) = self.wo_policy().await?;
        let reference = self.store.price_refs_for(f.item.trim(), &period_of(now), &d.path).await?;
        let ref_fen = reference.as_ref().map(|r| r.price_fen);
        let flagged = ref_fen.is_some_and(|r| wo::over_reference(fen, r, policy.price_margin_pct));
        let mut p = st::PriceReport {
            id: 0,
            item: f.item.trim().into(),
            division_code: d.code.clone(),
            division_path: d.path.clone(),
            seller: f.seller.trim().into(),
            kind: f.kind.clone(),
            price_fen: fen,
            ref_fen,
            flagged,
            reported_by: actor.display_name.clone(),
            reported_at: now,
        };
        let mut tx = self.store.begin().await?;
        p.id = st::insert_price_report(&mut tx, &p).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "price.report",
                "price_report",
                p.id,
                serde_json::json!({ "item": p.item, "fen": fen, "flagged": flagged }),
            ),
        )
        .await?;
        let payload = serde_json::json!({ "price_report": p.id, "flagged": flagged }).to_string();
        events::publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: if flagged { "price_flagged".into() } else { "price_reported".into() },
                division_path: d.path.clone(),
                payload,
                ..Default::default()
            },
        )
        .await?;
        if flagged {
            let uids: Vec<i64> = self
                .store
                .wo_supervisors()
                .await?
                .into_iter()
                .filter(|(_, sp)| sp.as_deref().is_some_and(|sp| tongxin_domain::division::is_within(&d.path, sp)))
                .map(|(id, _)| id)
                .collect();
            if !uids.is_empty() {
                notifications::insert(
                    &mut tx,
                    &uids,
                    &NewNotification {
                        kind: "price.flagged".into(),
                        title_zh: format!("价格异常：{} {:.2} 元（{}）", p.item, fen as f64 / 100.0, p.seller),
                        title_en: format!(
                            "Price above reference: {} {:.2} yuan ({})",
                            p.item,
                            fen as f64 / 100.0,
                            p.seller
                        ),
                        body: String::new(),
                        link: "/prices".into(),
                    },
                )
                .await?;
            }
        }
        self.commit(tx).await?;
        Ok(p)
    }
}

// ---------------------------------------------------------------- demo data

impl App {
    /// Demo data (once, when there are no work orders yet): needs in the demo street in every
    /// state, complaints, reference prices and price reports, all through the real use cases.
    pub async fn seed_workorders(&self) -> AppResult<()> {
        if self.store.count_rows("work_orders").await? > 0 {
            return Ok(());
        }
        let actor = |name: &str| {
            let name = name.to_string();
            async move {
                let u = self.store.user_by_username(&name).await.ok()?;
                Some(Actor {
                    user_id: u.id,
                    username: u.username,
                    display_name: u.display_name,
                    role: Role::from_key(&u.role)?,
                    division_code: u.division_code,
                    division_path: u.division_path,
                    org_id: u.org_id,
                })
            }
        };
        let (Some(jumin), Some(wangge), Some(shequ), Some(jiandu)) =
            (actor("jumin").await, actor("wangge").await, actor("shequ").await, actor("jiandu").await)
        else {
            return Ok(());
        };
        let zuzhi = actor("zuzhi").await;
        let ctx = RequestCtx { request_id: "seed".into(), ..Default::default() };
        let community = jumin.division_code.clone().unwrap_or_default();
        let needs = [
            (
                "medicine",
                "urgent",
                vec!["elderly_alone"],
                "降压药（硝苯地平缓释片）快吃完了，行动不便，请帮忙代购送药上门。",
            ),
            ("supplies", "normal", vec![], "家中米面油不足，请协助代购并送到楼下。"),
            ("elderly_care", "normal", vec!["elderly_alone", "chronic"], "独居老人需要每周两次上门探望、助浴。"),
            ("medical_visit", "urgent", vec!["disabled"], "下周三需去苏大附一院复查，需要陪诊和轮椅接送。"),
            ("counselling", "normal", vec![], "疫情封控期间情绪低落、失眠，希望有心理咨询师电话疏导。"),
            ("legal_aid", "normal", vec![], "房屋租赁纠纷，房东拒退押金，需要法律咨询。"),
        ];
        let mut ids = vec![];
        for (i, (kind, urgency, vul, desc)) in needs.iter().enumerate() {
            let form = NeedForm {
                kind: kind.to_string(),
                urgency: urgency.to_string(),
                vulnerable: vul.iter().map(|s| s.to_string()).collect(),
                description: desc.to_string(),
                division_code: community.clone(),
                address: format!("姑苏区平江路{}号{}幢{}室", 100 + i * 7, 1 + i, 101 + i),
                contact_name: ["钱阿姨", "孙先生", "周奶奶", "吴先生", "郑女士", "冯先生"][i].into(),
                phone: format!("1391234{:04}", 5600 + i),
                lon: Some(120.628 + i as f64 * 0.002),
                lat: Some(31.318 + i as f64 * 0.001),
            };
            // Every other need is filed by the grid worker on a resident's behalf, in the grid.
            let (by, form) = if i % 2 == 0 {
                (&jumin, form)
            } else {
                (&wangge, NeedForm { division_code: wangge.division_code.clone().unwrap_or_default(), ..form })
            };
            ids.push(self.file_need(Some(by), &ctx, &form).await?.id);
        }
        let act = |action: &str| ActForm { action: action.into(), ..Default::default() };
        if let Some(org) = zuzhi.as_ref().and_then(|z| z.org_id) {
            // #1: dispatched to the organisation, accepted, answered, rated.
            let d = ActForm { assignee_kind: "org".into(), assignee_id: Some(org), ..act("dispatch") };
            if self.act_on_order(&shequ, &ctx, ids[0], &d).await.is_ok() {
                let z = zuzhi.as_ref().expect("checked");
                self.act_on_order(z, &ctx, ids[0], &act("accept")).await?;
                self.act_on_order(
                    z,
                    &ctx,
                    ids[0],
                    &ActForm { note: "已购药并送达，老人已签收。".into(), ..act("answer") },
                )
                .await?;
                self.act_on_order(
                    &jumin,
                    &ctx,
                    ids[0],
                    &ActForm { rating: Some(5), note: "送药很及时，谢谢！".into(), ..act("rate") },
                )
                .await?;
                // #3: dispatched and in progress.
                self.act_on_order(&shequ, &ctx, ids[2], &d).await?;
                self.act_on_order(z, &ctx, ids[2], &act("accept")).await?;
                self.act_on_order(z, &ctx, ids[2], &act("start")).await?;
            }
        }
        // #2: dispatched to the grid worker.
        let d = ActForm { assignee_kind: "staff".into(), assignee_id: Some(wangge.user_id), ..act("dispatch") };
        self.act_on_order(&shequ, &ctx, ids[1], &d).await?;
        // Complaints: one anonymous about the community, one named about an organisation.
        let _ = self
            .file_complaint(
                None,
                &ctx,
                &ComplaintForm {
                    category: "overpricing".into(),
                    subject_kind: "community".into(),
                    subject: community.clone(),
                    division_code: String::new(),
                    description: "社区团购的应急物资包标价 168 元，明显高于市场价。".into(),
                    anonymous: true,
                },
                None,
            )
            .await?;
        let c = self
            .file_complaint(
                Some(&jumin),
                &ctx,
                &ComplaintForm {
                    category: "service".into(),
                    subject_kind: "community".into(),
                    subject: community.clone(),
                    division_code: String::new(),
                    description: "多次电话反映楼道照明损坏，无人处理。".into(),
                    anonymous: false,
                },
                None,
            )
            .await?;
        let _ = self.act_on_complaint(&jiandu, &ctx, c.id, "take", None, "").await;
        // Reference prices for this month (city) and reports, one above the margin.
        if let Some(cmd) = actor("commander").await {
            let period = period_of(now_ms());
            for (item, unit, price) in
                [("应急物资包（标准）", "包", 98.0), ("大米 5kg", "袋", 32.0), ("N95 口罩", "只", 3.5)]
            {
                let f = PriceRefForm {
                    item: item.into(),
                    unit: unit.into(),
                    division_code: "320500000000".into(),
                    period: period.clone(),
                    price,
                };
                self.set_price_ref(&cmd, &ctx, &f).await?;
            }
            for (item, seller, price) in [
                ("应急物资包（标准）", "平江便民超市", 99.0),
                ("应急物资包（标准）", "某社区团购群", 168.0),
                ("大米 5kg", "平江便民超市", 33.5),
                ("N95 口罩", "某药房", 6.0),
            ] {
                let f = PriceReportForm {
                    item: item.into(),
                    division_code: community.clone(),
                    seller: seller.into(),
                    kind: "offer".into(),
                    price,
                };
                self.report_price(&shequ, &ctx, &f).await?;
            }
        }
        Ok(())
    }
}
