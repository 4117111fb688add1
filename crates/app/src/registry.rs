//! Registry of social forces (capability A): filing and editing organisations, the
//! civil-affairs decisions on a filing (verify, return, reject, suspend, reinstate) with their
//! history, yearly inspections, evaluations and spot checks, equipment and insurance, teams and
//! membership requests, leader training; volunteers in [`volunteers`], Excel rosters in
//! [`excel`]. Every change commits with its audit record; by-id reads outside the actor's scope
//! answer NotFound.

pub mod crypto;
pub mod demo;
pub mod excel;
pub mod vocab;
pub mod volunteers;

use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use serde::{Deserialize, Serialize};
use tongxin_domain::codes::{mask_phone, Authority, CivilAffairsKind, CreditCode, Phone};
use tongxin_domain::page::Page;
use tongxin_domain::validation::Validator;
use tongxin_domain::{Actor, FieldError, Role, Text};
use tongxin_store::registry::{self as reg, By, Equipment, OrgFilter, OrgInput, OrgListItem, OrgRow, Policy, Review};
use tongxin_store::{now_ms, StoreError, Tx};
use vocab::*;

/// An organisation as filed (create or edit), from a form, the API or an import row.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OrgForm {
    /// Name (组织名称).
    pub name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Kind key (or label).
    pub kind: String,
    /// Division code where it is registered.
    pub division_code: String,
    /// Address.
    pub address: String,
    /// Longitude (WGS-84).
    pub lon: Option<f64>,
    /// Latitude (WGS-84).
    pub lat: Option<f64>,
    /// Contact person.
    pub contact_name: String,
    /// Contact mobile number.
    pub contact_phone: String,
    /// Domain keys.
    pub domains: Vec<String>,
    /// Rescue specialty keys (rescue teams).
    pub specialties: Vec<String>,
    /// Rescue grade key (`grade1`…`grade3`, rescue teams).
    pub grade: String,
    /// People count.
    pub people_count: i64,
    /// Equipment (replaces the list when given).
    pub equipment: Option<Vec<Equipment>>,
}

/// A filing decision by a civil-affairs officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// filed → verified.
    Verify,
    /// filed → returned (reason required).
    Return,
    /// filed/returned → rejected (reason required).
    Reject,
    /// verified → suspended (reason required).
    Suspend,
    /// suspended → verified.
    Reinstate,
}

impl Decision {
    /// Parses `verify`, `return`, `reject`, `suspend`, `reinstate`.
    pub fn parse(s: &str) -> Option<Decision> {
        Some(match s {
            "verify" => Decision::Verify,
            "return" => Decision::Return,
            "reject" => Decision::Reject,
            "suspend" => Decision::Suspend,
            "reinstate" => Decision::Reinstate,
            _ => return None,
        })
    }

    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            Decision::Verify => "verify",
            Decision::Return => "return",
            Decision::Reject => "reject",
            Decision::Suspend => "suspend",
            Decision::Reinstate => "reinstate",
        }
    }

    /// (allowed from-states, to-state, reason required).
    pub fn transition(self) -> (&'static [&'static str], &'static str, bool) {
        match self {
            Decision::Verify => (&["filed"], "verified", false),
            Decision::Return => (&["filed"], "returned", true),
            Decision::Reject => (&["filed", "returned"], "rejected", true),
            Decision::Suspend => (&["verified"], "suspended", true),
            Decision::Reinstate => (&["suspended"], "verified", false),
        }
    }
}

/// Everything shown about one organisation.
#[derive(Debug, Clone, Serialize)]
pub struct OrgDetail {
    /// The record (phone omitted).
    pub org: OrgRow,
    /// Contact phone: masked unless unmasked on request.
    pub contact_phone: String,
    /// Whether `contact_phone` is shown in full.
    pub unmasked: bool,
    /// Warnings: kind or division disagreeing with the credit code.
    pub flags: Vec<Text>,
    /// Whether the yearly inspection is overdue.
    pub inspection_overdue: bool,
    /// State history, oldest first.
    pub history: Vec<reg::HistoryRow>,
    /// Equipment.
    pub equipment: Vec<Equipment>,
    /// Insurance policies.
    pub policies: Vec<Policy>,
    /// Reviews, newest first.
    pub reviews: Vec<Review>,
    /// Teams.
    pub teams: Vec<reg::Team>,
    /// Leader training: (course, session start, person, attended).
    pub training: Vec<(String, i64, String, bool)>,
    /// What the actor may do: `edit`, `decide`, `review`, `unmask`, `teams`.
    pub may: Vec<&'static str>,
}

/// The current year in Beijing time.
pub fn current_year() -> i64 {
    let t =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC));
    i64::from(t.year())
}

/// Today in Beijing time as `YYYY-MM-DD`.
pub fn today() -> String {
    let t =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day())
}

/// A verified organisation must have its yearly inspection for last year on record.
pub fn inspection_overdue(state: &str, last_inspection_year: i64) -> bool {
    state == "verified" && last_inspection_year < current_year() - 1
}

/// The kind a credit code implies, where it says so (civil-affairs codes and companies).
pub fn kind_from_credit_code(c: &CreditCode) -> Option<&'static str> {
    match c.authority() {
        Authority::CivilAffairs => match c.civil_affairs_kind()? {
            CivilAffairsKind::SocialGroup => Some("social_group"),
            CivilAffairsKind::SocialService => Some("social_service"),
            CivilAffairsKind::Foundation => Some("foundation"),
            CivilAffairsKind::Other => None,
        },
        _ if c.as_str().starts_with('9') => Some("company"),
        _ => None,
    }
}

/// Warnings (not errors) where the credit code disagrees with the filed kind or division.
pub fn credit_code_flags(code: &str, kind: &str, division_code: &str) -> Vec<Text> {
    let Ok(c) = CreditCode::parse(code) else { return vec![] };
    let mut out = vec![];
    if let Some(k) = kind_from_credit_code(&c) {
        // A rescue team or community body may register as any civil-affairs kind.
        if k != kind && !matches!(kind, "rescue_team" | "community_body") {
            out.push(Text::new(
                format!(
                    "信用代码表明类型为“{}”，与填报的“{}”不一致",
                    label(&KINDS, k, true),
                    label(&KINDS, kind, true)
                ),
                format!(
                    "the credit code says kind '{}', but '{}' was filed",
                    label(&KINDS, k, false),
                    label(&KINDS, kind, false)
                ),
            ));
        }
    }
    let d6 = tongxin_domain::division::normalize_code(c.division6());
    let d6 = &d6[..6.min(d6.len())];
    let own = tongxin_domain::division::normalize_code(division_code);
    // Codes registered at city level (xxxx00) cover every district of the city.
    let city_level = d6.ends_with("00");
    if !(own.starts_with(d6) || city_level && own.starts_with(&d6[..4])) {
        out.push(Text::new(
            format!("信用代码中的登记地区划 {d6} 与所在区划 {division_code} 不一致"),
            format!("the credit code's registration division {d6} differs from the filed division {division_code}"),
        ));
    }
    out
}

fn by(actor: &Actor) -> By {
    By { user_id: actor.user_id, username: actor.username.clone() }
}

fn is_officer(a: &Actor) -> bool {
    matches!(a.role, Role::CivilAffairs | Role::SysAdmin)
}

fn conflict_credit(code: &str, id: i64, name: &str) -> AppError {
    AppError::Conflict(Text::new(
        format!("统一社会信用代码 {code} 已由“{name}”（编号 {id}）登记，不能重复报备"),
        format!("credit code {code} is already registered by \"{name}\" (id {id}); it cannot be filed twice"),
    ))
}

impl App {
    /// One page of the organisations the actor may see.
    pub async fn list_orgs(&self, actor: &Actor, filter: &OrgFilter) -> AppResult<Page<OrgListItem>> {
        Ok(reg::list_orgs(self.store.reader(), actor, filter).await?)
    }

    /// Home-page counts within the actor's scope.
    pub async fn home_counts(&self, actor: &Actor) -> AppResult<[(&'static str, i64); 4]> {
        Ok(reg::scoped_counts(self.store.reader(), actor).await?)
    }

    /// Validates a filing; returns the store input (phone encrypted). Every field error at once.
    pub async fn org_input(&self, actor: &Actor, f: &OrgForm) -> AppResult<OrgInput> {
        let mut v = Validator::new();
        v.text("name", "组织名称", "Name", &f.name, 100);
        let code = f.credit_code.trim().to_ascii_uppercase();
        if let Err(e) = CreditCode::parse(&code) {
            v.push(FieldError::new("credit_code", e.rule(), e.message_zh(), e.message_en()));
        }
        let kind = key_of(&KINDS, &f.kind);
        if kind.is_none() {
            v.push(FieldError::new(
                "kind",
                "kind.unknown",
                format!("组织类型“{}”无效，可选：{}", f.kind, KINDS.map(|k| k.1).join("、")),
                format!("Unknown kind '{}'; use one of {}", f.kind, KINDS.map(|k| k.0).join(", ")),
            ));
        }
        if f.address.chars().count() > 200 {
            v.push(FieldError::new(
                "address",
                "too_long",
                "地址最多 200 个字符",
                "Address must be at most 200 characters",
            ));
        }
        v.text("contact_name", "联系人", "Contact person", &f.contact_name, 50);
        let phone = match Phone::parse(&f.contact_phone) {
            Ok(p) => Some(p),
            Err(e) => {
                v.push(FieldError::new("contact_phone", e.rule(), e.message_zh(), e.message_en()));
                None
            }
        };
        let mut domains = vec![];
        for d in &f.domains {
            match key_of(&DOMAINS, d) {
                Some(k) if !domains.contains(&k) => domains.push(k),
                Some(_) => {}
                None => v.push(FieldError::new(
                    "domains",
                    "domain.unknown",
                    format!("服务领域“{d}”无效"),
                    format!("Unknown domain of service '{d}'"),
                )),
            }
        }
        if domains.is_empty() {
            v.push(FieldError::new(
                "domains",
                "required",
                "至少选择一个服务领域",
                "Choose at least one domain of service",
            ));
        }
        let mut specialties = vec![];
        for s in &f.specialties {
            match key_of(&SPECIALTIES, s) {
                Some(k) if !specialties.contains(&k) => specialties.push(k),
                Some(_) => {}
                None => v.push(FieldError::new(
                    "specialties",
                    "specialty.unknown",
                    format!("救援专业“{s}”无效"),
                    format!("Unknown rescue specialty '{s}'"),
                )),
            }
        }
        let grade = if f.grade.trim().is_empty() {
            ""
        } else {
            match key_of(&GRADES, &f.grade) {
                Some(g) => g,
                None => {
                    v.push(FieldError::new(
                        "grade",
                        "grade.unknown",
                        "救援队伍等级只能是一级、二级或三级",
                        "Rescue grade must be grade 1, 2 or 3",
                    ));
                    ""
                }
            }
        };
        if kind != Some("rescue_team") && (!specialties.is_empty() || !grade.is_empty()) {
            v.push(FieldError::new(
                "grade",
                "grade.not_rescue_team",
                "只有社会救援队伍填写救援专业和等级",
                "Only social rescue teams have rescue specialties and a grade",
            ));
        }
        if !(0..=1_000_000).contains(&f.people_count) {
            v.push(FieldError::new(
                "people_count",
                "range",
                "人数应在 0–1000000 之间",
                "People count must be 0–1,000,000",
            ));
        }
        if f.lon.is_some_and(|x| !(73.0..=136.0).contains(&x)) || f.lat.is_some_and(|y| !(3.0..=54.0).contains(&y)) {
            v.push(FieldError::new("lon", "location.range", "位置不在中国境内", "Location is outside China"));
        }
        let division = match self.store.division(f.division_code.trim()).await {
            Ok(d) if !is_officer(actor) || actor.covers(&d.path) => Some(d),
            _ => {
                v.push(FieldError::new(
                    "division_code",
                    "division.unknown",
                    format!("区划代码 {} 不存在或不在您的辖区内", f.division_code),
                    format!("Division {} does not exist or is outside your jurisdiction", f.division_code),
                ));
                None
            }
        };
        if let Some(eq) = &f.equipment {
            for e in eq {
                if e.name.trim().is_empty() || e.quantity < 0 {
                    v.push(FieldError::new(
                        "equipment",
                        "equipment.invalid",
                        "装备须有名称且数量不小于 0",
                        "Equipment needs a name and a quantity of 0 or more",
                    ));
                    break;
                }
            }
        }
        v.finish().map_err(AppError::Validation)?;
        let (Some(kind), Some(phone), Some(d)) = (kind, phone, division) else {
            return Err(AppError::Internal("validated filing lost a field".into()));
        };
        Ok(OrgInput {
            name: f.name.trim().to_string(),
            credit_code: code,
            kind: kind.to_string(),
            division_code: d.code,
            division_path: d.path,
            address: f.address.trim().to_string(),
            lon: f.lon,
            lat: f.lat,
            contact_name: f.contact_name.trim().to_string(),
            contact_phone_enc: self.crypto.encrypt(phone.as_str()),
            domains: domains.join(","),
            specialties: specialties.join(","),
            grade: grade.to_string(),
            people_count: f.people_count,
        })
    }

    /// Files a new organisation (state `filed`). Organisation admins without an organisation
    /// file their own (and are linked to it); civil-affairs officers and system admins file
    /// within their jurisdiction. A credit code already on record is refused, naming the record.
    pub async fn create_org(&self, actor: &Actor, ctx: &RequestCtx, f: &OrgForm) -> AppResult<i64> {
        match actor.role {
            Role::OrgAdmin if actor.org_id.is_none() => {}
            Role::OrgAdmin => {
                return Err(AppError::Conflict(Text::new(
                    "您的账号已关联一个组织，请编辑该组织的报备信息",
                    "Your account already manages an organisation; edit its filing instead",
                )))
            }
            r if is_officer(actor) || r == Role::SysAdmin => {}
            _ => return Err(AppError::Forbidden),
        }
        let input = self.org_input(actor, f).await?;
        let mut tx = self.store.begin().await?;
        let id = self.create_org_tx(&mut tx, actor, ctx, &input, f.equipment.as_deref()).await?;
        if actor.role == Role::OrgAdmin {
            reg::link_user_org(&mut tx, actor.user_id, id).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        if actor.role == Role::OrgAdmin {
            self.forget_tokens();
        }
        Ok(id)
    }

    pub(crate) async fn create_org_tx(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ctx: &RequestCtx,
        input: &OrgInput,
        equipment: Option<&[Equipment]>,
    ) -> AppResult<i64> {
        if let Some((id, name, _)) = reg::org_by_credit_code(&mut **tx, &input.credit_code).await? {
            return Err(conflict_credit(&input.credit_code, id, &name));
        }
        let now = now_ms();
        let id = reg::create_org(tx, input, "filed", now).await?;
        reg::add_history(tx, id, "", "filed", "", &by(actor), now).await?;
        if let Some(eq) = equipment {
            reg::replace_equipment(tx, id, eq).await?;
        }
        tongxin_store::audit::append(
            tx,
            audit::entry(
                Some(actor),
                ctx,
                "org.file",
                "organization",
                id,
                serde_json::json!({ "name": input.name, "credit_code": input.credit_code, "division": input.division_code }),
            ),
        )
        .await?;
        Ok(id)
    }

    /// Loads an organisation the actor may see (NotFound otherwise).
    pub async fn org_visible(&self, actor: &Actor, id: i64) -> AppResult<OrgRow> {
        let o = reg::get_org(self.store.reader(), id).await?;
        if !actor.may_access(&o.division_path, Some(o.id)) {
            return Err(AppError::NotFound);
        }
        Ok(o)
    }

    /// Edits a filing: the organisation's admin, or an officer of its jurisdiction. A returned
    /// filing goes back to `filed` (resubmitted); rejected filings cannot be edited.
    pub async fn update_org(&self, actor: &Actor, ctx: &RequestCtx, id: i64, f: &OrgForm) -> AppResult<()> {
        let o = self.org_visible(actor, id).await?;
        let admin = actor.role == Role::OrgAdmin && actor.acts_for(id);
        if !(admin || is_officer(actor) && actor.covers(&o.division_path)) {
            return Err(AppError::Forbidden);
        }
        if o.state == "rejected" {
            return Err(AppError::Conflict(Text::new(
                "已驳回的报备不能修改，请重新报备",
                "A rejected filing cannot be edited; file again",
            )));
        }
        let input = self.org_input(actor, f).await?;
        let mut tx = self.store.begin().await?;
        if let Some((other, name, _)) = reg::org_by_credit_code(&mut *tx, &input.credit_code).await? {
            if other != id {
                return Err(conflict_credit(&input.credit_code, other, &name));
            }
        }
        let now = now_ms();
        reg::update_org(&mut tx, id, &input, now).await?;
        if let Some(eq) = &f.equipment {
            reg::replace_equipment(&mut tx, id, eq).await?;
        }
        if o.state == "returned" {
            reg::set_org_state(&mut tx, id, "returned", "filed", "", &by(actor), now).await?;
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "org.edit", "organization", id, serde_json::json!({ "name": input.name })),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// A civil-affairs decision on a filing, by an officer whose jurisdiction covers it.
    pub async fn decide_org(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        d: Decision,
        reason: &str,
    ) -> AppResult<String> {
        let o = self.org_visible(actor, id).await?;
        if !is_officer(actor) || !actor.covers(&o.division_path) {
            return Err(AppError::Forbidden);
        }
        let (from, to, needs_reason) = d.transition();
        let reason = reason.trim();
        if needs_reason && reason.is_empty() {
            return Err(invalid("reason", "required", "退回、驳回或暂停须填写理由", "A reason is required"));
        }
        if reason.chars().count() > 500 {
            return Err(invalid("reason", "too_long", "理由最多 500 个字符", "Reason must be at most 500 characters"));
        }
        if !from.contains(&o.state.as_str()) {
            return Err(AppError::Conflict(Text::new(
                format!("当前状态为“{}”，不能执行此操作", label(&STATES, &o.state, true)),
                format!("The filing is '{}'; this decision does not apply", label(&STATES, &o.state, false)),
            )));
        }
        let mut tx = self.store.begin().await?;
        reg::set_org_state(&mut tx, id, &o.state, to, reason, &by(actor), now_ms()).await.map_err(|e| match e {
            StoreError::NotFound => {
                AppError::Conflict(Text::new("状态已被他人修改，请刷新", "The state changed meanwhile; reload"))
            }
            e => e.into(),
        })?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                &format!("org.{}", d.key()),
                "organization",
                id,
                serde_json::json!({ "from": o.state, "to": to, "reason": reason }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(to.to_string())
    }

    /// Records a yearly inspection, evaluation or spot check (officers of the jurisdiction).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_review(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        kind: &str,
        year: i64,
        result: &str,
        findings: &str,
    ) -> AppResult<()> {
        let o = self.org_visible(actor, id).await?;
        if !is_officer(actor) || !actor.covers(&o.division_path) {
            return Err(AppError::Forbidden);
        }
        let Some(kind) = key_of(&REVIEW_KINDS, kind) else {
            return Err(invalid(
                "kind",
                "review.kind",
                "检查类型只能是年检、评估或抽查",
                "Kind must be inspection, evaluation or spot_check",
            ));
        };
        let results: &[Term] = match kind {
            "inspection" => &INSPECTION_RESULTS,
            "evaluation" => &EVAL_GRADES,
            _ => &SPOT_RESULTS,
        };
        let Some(result) = key_of(results, result) else {
            return Err(invalid(
                "result",
                "review.result",
                format!("结果无效，可选：{}", results.iter().map(|r| r.1).collect::<Vec<_>>().join("、")),
                format!("Invalid result; use one of {}", results.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")),
            ));
        };
        if !(2000..=current_year()).contains(&year) {
            return Err(invalid(
                "year",
                "range",
                "年度应在 2000 年至今年之间",
                "Year must be between 2000 and this year",
            ));
        }
        if kind == "spot_check" && result == "issues" && findings.trim().is_empty() {
            return Err(invalid(
                "findings",
                "required",
                "发现问题时须填写检查发现",
                "Describe the findings when issues were found",
            ));
        }
        let mut tx = self.store.begin().await?;
        if kind != "spot_check" && reg::has_review(&mut tx, id, kind, year).await? {
            return Err(AppError::Conflict(Text::new(
                format!("{year} 年度的{}结果已登记", label(&REVIEW_KINDS, kind, true)),
                format!("The {year} {} is already on record", label(&REVIEW_KINDS, kind, false)),
            )));
        }
        let r = Review {
            kind: kind.into(),
            year,
            result: result.into(),
            findings: findings.trim().into(),
            username: actor.username.clone(),
            at: now_ms(),
        };
        reg::add_review(&mut tx, id, &r, &by(actor)).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                &format!("org.{kind}"),
                "organization",
                id,
                serde_json::json!({ "year": year, "result": result }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    fn may_manage(actor: &Actor, o: &OrgRow) -> bool {
        (actor.role == Role::OrgAdmin && actor.acts_for(o.id)) || (is_officer(actor) && actor.covers(&o.division_path))
    }

    /// Adds an insurance policy (the organisation's admin or an officer).
    pub async fn add_policy(&self, actor: &Actor, ctx: &RequestCtx, id: i64, p: &Policy) -> AppResult<()> {
        let o = self.org_visible(actor, id).await?;
        if !App::may_manage(actor, &o) {
            return Err(AppError::Forbidden);
        }
        let mut v = Validator::new();
        v.text("insurer", "保险公司", "Insurer", &p.insurer, 100);
        v.text("policy_no", "保单号", "Policy number", &p.policy_no, 64);
        for (field, d) in [("valid_from", &p.valid_from), ("valid_to", &p.valid_to)] {
            if parse_date(d).is_none() {
                v.push(FieldError::new(field, "date.format", "日期格式应为 YYYY-MM-DD", "Date must be YYYY-MM-DD"));
            }
        }
        if p.valid_to < p.valid_from {
            v.push(FieldError::new("valid_to", "date.order", "终止日期早于起始日期", "Valid-to is before valid-from"));
        }
        if p.covered_people < 1 {
            v.push(FieldError::new(
                "covered_people",
                "range",
                "承保人数至少为 1",
                "At least one person must be covered",
            ));
        }
        v.finish().map_err(AppError::Validation)?;
        let mut tx = self.store.begin().await?;
        reg::add_policy(&mut tx, id, p).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "org.insurance",
                "organization",
                id,
                serde_json::json!({ "policy_no": p.policy_no }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Creates a team of an organisation (its admin or an officer).
    pub async fn create_team(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        org_id: i64,
        name: &str,
        specialty: &str,
    ) -> AppResult<i64> {
        let o = self.org_visible(actor, org_id).await?;
        if !App::may_manage(actor, &o) {
            return Err(AppError::Forbidden);
        }
        let mut v = Validator::new();
        v.text("name", "队伍名称", "Team name", name, 50);
        let spec = if specialty.trim().is_empty() {
            Some("")
        } else {
            key_of(&SPECIALTIES, specialty).or(key_of(&DOMAINS, specialty))
        };
        if spec.is_none() {
            v.push(FieldError::new("specialty", "specialty.unknown", "专业无效", "Unknown specialty"));
        }
        v.finish().map_err(AppError::Validation)?;
        let mut tx = self.store.begin().await?;
        let id = reg::create_team(&mut tx, org_id, name.trim(), spec.unwrap_or(""), now_ms()).await.map_err(
            |e| match e {
                StoreError::Conflict(_) => AppError::Conflict(Text::new(
                    format!("本组织已有名为“{}”的队伍", name.trim()),
                    format!("The organisation already has a team named \"{}\"", name.trim()),
                )),
                e => e.into(),
            },
        )?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "team.create",
                "team",
                id,
                serde_json::json!({ "org_id": org_id, "name": name.trim() }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Puts a member of an organisation (primary or approved membership) into one of its
    /// teams (the organisation's admin or an officer of the jurisdiction).
    pub async fn add_team_member(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        team_id: i64,
        volunteer_id: i64,
    ) -> AppResult<()> {
        let pool = self.store.reader();
        let org_id = reg::team_org(pool, team_id).await?;
        let o = self.org_visible(actor, org_id).await?;
        if !App::may_manage(actor, &o) {
            return Err(AppError::Forbidden);
        }
        let not_member = || {
            invalid(
                "volunteer_id",
                "team.not_member",
                "该志愿者不是本组织成员，须先加入组织",
                "This volunteer is not a member of the organisation",
            )
        };
        let v = match reg::get_volunteer(pool, volunteer_id).await {
            Ok(v) => v,
            Err(StoreError::NotFound) => return Err(not_member()),
            Err(e) => return Err(e.into()),
        };
        let member = v.org_id == Some(org_id)
            || reg::memberships_of(pool, volunteer_id)
                .await?
                .iter()
                .any(|m| m.org_id == org_id && m.state == "approved");
        if !member {
            return Err(not_member());
        }
        let mut tx = self.store.begin().await?;
        reg::add_membership(&mut tx, volunteer_id, org_id, team_id, "approved", "", now_ms()).await.map_err(
            |e| match e {
                StoreError::Conflict(_) => {
                    AppError::Conflict(Text::new("该志愿者已在此队伍中", "The volunteer is already in this team"))
                }
                e => e.into(),
            },
        )?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "team.member.add",
                "team",
                team_id,
                serde_json::json!({ "org_id": org_id, "volunteer_id": volunteer_id }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The detail of one organisation; `unmask` shows the contact phone in full to roles that
    /// may unmask (audited), masked otherwise.
    pub async fn org_detail(&self, actor: &Actor, ctx: &RequestCtx, id: i64, unmask: bool) -> AppResult<OrgDetail> {
        let o = self.org_visible(actor, id).await?;
        let pool = self.store.reader();
        let phone = self.crypto.decrypt(&o.contact_phone_enc).unwrap_or_default();
        let may_unmask = (actor.role.may_unmask() || actor.role == Role::SysAdmin) && actor.covers(&o.division_path)
            || (actor.role == Role::OrgAdmin && actor.acts_for(id));
        if unmask && !may_unmask {
            return Err(AppError::Forbidden);
        }
        if unmask {
            let mut tx = self.store.begin().await?;
            tongxin_store::audit::append(
                &mut tx,
                audit::entry(
                    Some(actor),
                    ctx,
                    "pii.unmask",
                    "organization",
                    id,
                    serde_json::json!({ "field": "contact_phone" }),
                ),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let mut may = vec![];
        if App::may_manage(actor, &o) && o.state != "rejected" {
            may.push("edit");
            may.push("teams");
        }
        if is_officer(actor) && actor.covers(&o.division_path) {
            may.push("decide");
            may.push("review");
        }
        if may_unmask {
            may.push("unmask");
        }
        Ok(OrgDetail {
            flags: credit_code_flags(&o.credit_code, &o.kind, &o.division_code),
            inspection_overdue: inspection_overdue(&o.state, o.last_inspection_year),
            contact_phone: if unmask { phone } else { mask_phone(&phone) },
            unmasked: unmask,
            history: reg::org_history(pool, id).await?,
            equipment: reg::list_equipment(pool, id).await?,
            policies: reg::list_policies(pool, id).await?,
            reviews: reg::list_reviews(pool, id).await?,
            teams: reg::list_teams(pool, id).await?,
            training: reg::org_training(pool, id).await?,
            may,
            org: o,
        })
    }

    /// Creates a leader-training course in the officer's jurisdiction with one session, and
    /// records who attended (organisation id, person) in the same transaction.
    pub async fn record_training(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        title: &str,
        starts_at: i64,
        place: &str,
        attendance: &[(i64, String, bool)],
    ) -> AppResult<i64> {
        if !is_officer(actor) {
            return Err(AppError::Forbidden);
        }
        let (Some(code), Some(path)) = (actor.division_code.clone(), actor.division_path.clone()) else {
            return Err(AppError::Forbidden);
        };
        let mut v = Validator::new();
        v.text("title", "课程名称", "Course title", title, 100);
        v.finish().map_err(AppError::Validation)?;
        for (org_id, _, _) in attendance {
            self.org_visible(actor, *org_id).await?;
        }
        let mut tx = self.store.begin().await?;
        let course = reg::create_course(&mut tx, title.trim(), &code, &path, now_ms()).await?;
        let session = reg::add_session(&mut tx, course, starts_at, place.trim()).await?;
        for (org_id, person, attended) in attendance {
            reg::record_attendance(&mut tx, session, *org_id, person.trim(), *attended).await?;
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "training.record",
                "training_course",
                course,
                serde_json::json!({ "title": title.trim(), "people": attendance.len() }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(course)
    }

    /// Leader-training courses run within the actor's jurisdiction (officers and commanders).
    pub async fn list_courses(&self, actor: &Actor) -> AppResult<Vec<reg::Course>> {
        if !matches!(actor.role, Role::CivilAffairs | Role::SysAdmin | Role::Commander | Role::Supervisor) {
            return Err(AppError::Forbidden);
        }
        Ok(reg::list_courses(self.store.reader(), actor).await?)
    }

    /// [`App::record_training`] with attendance typed one person per line: the organisation's
    /// credit code (or id), the person's name, and optionally 缺席/absent. Every bad line is
    /// reported by its number; nothing is saved then.
    pub async fn record_training_lines(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        title: &str,
        starts_at: i64,
        place: &str,
        lines: &str,
    ) -> AppResult<i64> {
        if !is_officer(actor) {
            return Err(AppError::Forbidden);
        }
        let mut errors = vec![];
        let mut rows = vec![];
        for (i, line) in lines.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let n = i + 1;
            let parts: Vec<&str> =
                line.split([' ', '\t', ',', '，']).map(str::trim).filter(|p| !p.is_empty()).collect();
            let bad = |zh: String, en: String| FieldError::new("attendance", "attendance.line", zh, en);
            if parts.len() < 2 {
                errors.push(bad(
                    format!("第 {n} 行：应为“信用代码 姓名 [缺席]”"),
                    format!("Line {n}: expected 'credit-code name [absent]'"),
                ));
                continue;
            }
            let org = match parts[0].parse::<i64>() {
                Ok(id) => self.org_visible(actor, id).await.ok().map(|o| o.id),
                Err(_) => match reg::org_by_credit_code(self.store.reader(), &parts[0].to_ascii_uppercase()).await? {
                    Some((id, _, path)) if actor.covers(&path) => Some(id),
                    _ => None,
                },
            };
            let Some(org) = org else {
                errors.push(bad(
                    format!("第 {n} 行：辖区内没有信用代码（或编号）为 {} 的组织", parts[0]),
                    format!("Line {n}: no organisation {} in your jurisdiction", parts[0]),
                ));
                continue;
            };
            let absent =
                parts.get(2).is_some_and(|w| matches!(w.to_lowercase().as_str(), "缺席" | "absent" | "否" | "no"));
            rows.push((org, parts[1].to_string(), !absent));
        }
        if rows.is_empty() && errors.is_empty() {
            errors.push(FieldError::new(
                "attendance",
                "required",
                "请至少登记一名参训人员",
                "List at least one participant",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        self.record_training(actor, ctx, title, starts_at, place, &rows).await
    }

    /// Re-encrypts personal data written before encryption (rows with `pii_v = 0`). Idempotent;
    /// call after migrating. Returns how many rows were converted.
    pub async fn encrypt_legacy_personal_data(&self) -> AppResult<usize> {
        let mut n = 0;
        loop {
            let rows = reg::legacy_org_phones(self.store.reader(), 1000).await?;
            if rows.is_empty() {
                break;
            }
            let mut tx = self.store.begin().await?;
            for (id, phone) in &rows {
                reg::set_org_phone(&mut tx, *id, &self.crypto.encrypt(phone)).await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            n += rows.len();
        }
        loop {
            let rows = reg::legacy_volunteers(self.store.reader(), 1000).await?;
            if rows.is_empty() {
                break;
            }
            let mut tx = self.store.begin().await?;
            for (id, plain_id, phone) in &rows {
                let birth = tongxin_domain::codes::IdNumber::parse(plain_id)
                    .map(|i| i64::from(i.birth_date().year()))
                    .unwrap_or(0);
                reg::set_volunteer_pii(
                    &mut tx,
                    *id,
                    &self.crypto.id_hash(plain_id),
                    &self.crypto.encrypt(plain_id),
                    &self.crypto.encrypt(phone),
                    &self.crypto.phone_hash(phone),
                    birth,
                    birth > 0,
                )
                .await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            n += rows.len();
        }
        Ok(n)
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_code_flags_kind_and_division() {
        // 5 = civil affairs, 1 = social group, registered in 350100 (Fuzhou).
        let code = tongxin_domain::codes::generate_credit_code(
            &mut rand::rngs::mock::StepRng::new(1, 7),
            Authority::CivilAffairs,
            '1',
            "320508",
        );
        assert!(credit_code_flags(&code, "social_group", "320508018000").is_empty());
        let f = credit_code_flags(&code, "foundation", "320506001000");
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].zh.contains("社会团体"));
        assert!(f[1].zh.contains("320508"));
    }

    #[test]
    fn decisions_follow_the_filing_states() {
        assert_eq!(Decision::Verify.transition().1, "verified");
        assert!(Decision::Suspend.transition().0.contains(&"verified"));
        assert!(!Decision::Verify.transition().0.contains(&"rejected"));
        assert_eq!(Decision::parse("return"), Some(Decision::Return));
        assert!(Decision::Return.transition().2);
    }
}
