//! Volunteers: self-registration or registration by an officer or organisation admin (ID
//! number per GB 11643 or mobile number; age from the ID), skills, certificates, availability,
//! insurance; membership requests approved by the organisation's admin. ID numbers and phones
//! are encrypted at rest and shown masked; unmasking is a permission and is audited.

use super::vocab::*;
use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use serde::{Deserialize, Serialize};
use tongxin_domain::codes::{mask_id, mask_phone, IdNumber, Phone};
use tongxin_domain::page::Page;
use tongxin_domain::validation::Validator;
use tongxin_domain::{Actor, FieldError, Role, Text};
use tongxin_store::registry::{self as reg, Certificate, Membership, NewVolunteer, VolFilter, VolRow};
use tongxin_store::{now_ms, StoreError, Tx};

/// A volunteer's profile as entered.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct VolForm {
    /// Name.
    pub name: String,
    /// ID number (optional when a phone is given; required for real-name registration).
    pub id_number: String,
    /// Mobile number.
    pub phone: String,
    /// Division code of home (community or below).
    pub division_code: String,
    /// Skill keys or labels.
    pub skills: Vec<String>,
    /// Insured (accident insurance for volunteer service).
    pub insured: bool,
    /// Weekly availability slot keys.
    pub weekly: Vec<String>,
    /// Available right now.
    pub available_now: bool,
    /// Home location.
    pub lon: Option<f64>,
    /// Home location.
    pub lat: Option<f64>,
    /// Organisation (credit code lookups happen in imports; here an id).
    pub org_id: Option<i64>,
}

/// A volunteer as shown: personal data masked unless unmasked.
#[derive(Debug, Clone, Serialize)]
pub struct VolView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// ID number (masked by default; empty for phone-only registrations).
    pub id_number: String,
    /// Phone (masked by default).
    pub phone: String,
    /// Age from the ID number.
    pub age: Option<i64>,
    /// Real-name registered.
    pub real_name: bool,
    /// Division code.
    pub division_code: String,
    /// Division name.
    pub division_name: String,
    /// Skill keys.
    pub skills: Vec<String>,
    /// Insured.
    pub insured: bool,
    /// Weekly slots.
    pub weekly: Vec<String>,
    /// Available now.
    pub available_now: bool,
    /// Valid certificate kinds.
    pub cert_kinds: Vec<String>,
    /// Primary organisation.
    pub org_id: Option<i64>,
    /// Its name.
    pub org_name: Option<String>,
    /// Whether personal data is shown in full.
    pub unmasked: bool,
}

fn not_joinable(code: &str) -> AppError {
    invalid(
        "credit_code",
        "org.not_joinable",
        format!("没有信用代码为 {code} 的已审核组织"),
        format!("No verified organisation has credit code {code}"),
    )
}

fn split(s: &str) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(String::from).collect()
}

impl App {
    /// Turns a stored row into its view, decrypting personal data and masking it unless `unmask`.
    pub fn vol_view(&self, r: &VolRow, unmask: bool) -> VolView {
        let id = if r.id_enc.is_empty() { String::new() } else { self.crypto.decrypt(&r.id_enc).unwrap_or_default() };
        let phone = self.crypto.decrypt(&r.phone_enc).unwrap_or_default();
        VolView {
            id: r.id,
            name: r.name.clone(),
            id_number: if unmask || id.is_empty() { id } else { mask_id(&id) },
            phone: if unmask { phone } else { mask_phone(&phone) },
            age: (r.birth_year > 0).then(|| super::current_year() - r.birth_year),
            real_name: r.real_name,
            division_code: r.division_code.clone(),
            division_name: r.division_name.clone(),
            skills: split(&r.skills),
            insured: r.insured,
            weekly: split(&r.weekly),
            available_now: r.available_now,
            cert_kinds: split(&r.cert_kinds),
            org_id: r.org_id,
            org_name: r.org_name.clone(),
            unmasked: unmask,
        }
    }

    /// Validates a profile into a store row (personal data encrypted). `user_id` links an account.
    pub async fn vol_input(&self, actor: &Actor, f: &VolForm, user_id: Option<i64>) -> AppResult<NewVolunteer> {
        let mut v = Validator::new();
        v.text("name", "姓名", "Name", &f.name, 30);
        let id = if f.id_number.trim().is_empty() {
            None
        } else {
            match IdNumber::parse(&f.id_number.trim().to_ascii_uppercase()) {
                Ok(i) => Some(i),
                Err(e) => {
                    v.push(FieldError::new("id_number", e.rule(), e.message_zh(), e.message_en()));
                    None
                }
            }
        };
        let phone = match Phone::parse(&f.phone) {
            Ok(p) => Some(p),
            Err(e) => {
                v.push(FieldError::new("phone", e.rule(), e.message_zh(), e.message_en()));
                None
            }
        };
        if let Some(i) = &id {
            let age = super::current_year() - i64::from(i.birth_date().year());
            if !(16..=80).contains(&age) {
                v.push(FieldError::new(
                    "id_number",
                    "id_number.age",
                    format!("按身份证号计算年龄为 {age} 岁，志愿者须年满 16 周岁且不超过 80 周岁"),
                    format!("The ID number gives age {age}; volunteers must be 16 to 80"),
                ));
            }
        }
        let skill_terms = skills();
        let mut sk = vec![];
        for s in &f.skills {
            match key_of(&skill_terms, s) {
                Some(k) if !sk.contains(&k) => sk.push(k),
                Some(_) => {}
                None => v.push(FieldError::new(
                    "skills",
                    "skill.unknown",
                    format!("技能“{s}”无效"),
                    format!("Unknown skill '{s}'"),
                )),
            }
        }
        let mut wk = vec![];
        for s in &f.weekly {
            match key_of(&WEEK_SLOTS, s) {
                Some(k) if !wk.contains(&k) => wk.push(k),
                Some(_) => {}
                None => v.push(FieldError::new(
                    "weekly",
                    "slot.unknown",
                    format!("时段“{s}”无效"),
                    format!("Unknown slot '{s}'"),
                )),
            }
        }
        let officer =
            matches!(actor.role, Role::CivilAffairs | Role::CommunityWorker | Role::GridWorker | Role::SysAdmin);
        let division = match self.store.division(f.division_code.trim()).await {
            Ok(d) if !officer || actor.covers(&d.path) => Some(d),
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
        v.finish().map_err(AppError::Validation)?;
        let (Some(phone), Some(d)) = (phone, division) else {
            return Err(AppError::Internal("validated volunteer lost a field".into()));
        };
        let c = &self.crypto;
        Ok(NewVolunteer {
            name: f.name.trim().to_string(),
            // Phone-only registrations are unique per phone until an ID number is added.
            id_hash: match &id {
                Some(i) => c.id_hash(i.as_str()),
                None => format!("phone:{}", c.phone_hash(phone.as_str())),
            },
            id_enc: id.as_ref().map(|i| c.encrypt(i.as_str())).unwrap_or_default(),
            phone_enc: c.encrypt(phone.as_str()),
            phone_hash: c.phone_hash(phone.as_str()),
            birth_year: id.as_ref().map_or(0, |i| i64::from(i.birth_date().year())),
            real_name: id.is_some(),
            lon: f.lon,
            lat: f.lat,
            division_code: d.code,
            division_path: d.path,
            skills: sk.join(","),
            insured: f.insured,
            org_id: f.org_id,
            weekly: wk.join(","),
            available_now: f.available_now,
            cert_kinds: String::new(),
            user_id,
        })
    }

    /// Registers a volunteer. Volunteers and residents register themselves (one record per
    /// account); organisation admins register members of their organisation (membership
    /// approved); officers and community/grid workers within their jurisdiction.
    pub async fn register_volunteer(&self, actor: &Actor, ctx: &RequestCtx, f: &VolForm) -> AppResult<i64> {
        let mut f = f.clone();
        let user_id = match actor.role {
            Role::Volunteer | Role::Resident => {
                if reg::volunteer_of_user(self.store.reader(), actor.user_id).await?.is_some() {
                    return Err(AppError::Conflict(Text::new(
                        "您已登记为志愿者",
                        "You are already registered as a volunteer",
                    )));
                }
                f.org_id = None;
                Some(actor.user_id)
            }
            Role::OrgAdmin => {
                f.org_id = actor.org_id;
                if f.org_id.is_none() {
                    return Err(AppError::Forbidden);
                }
                None
            }
            Role::CivilAffairs | Role::CommunityWorker | Role::GridWorker | Role::SysAdmin => None,
            _ => return Err(AppError::Forbidden),
        };
        let row = self.vol_input(actor, &f, user_id).await?;
        let mut tx = self.store.begin().await?;
        let id = self.create_volunteer_tx(&mut tx, actor, ctx, &row).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    pub(crate) async fn create_volunteer_tx(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ctx: &RequestCtx,
        row: &NewVolunteer,
    ) -> AppResult<i64> {
        let now = now_ms();
        let id = reg::create_volunteer(tx, row, now).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict(Text::new(
                "该身份证号（或手机号）已登记为志愿者",
                "This ID number (or phone) is already registered as a volunteer",
            )),
            e => e.into(),
        })?;
        if let Some(org) = row.org_id {
            reg::add_membership(tx, id, org, 0, "approved", "", now).await?;
        }
        tongxin_store::audit::append(
            tx,
            audit::entry(
                Some(actor),
                ctx,
                "volunteer.register",
                "volunteer",
                id,
                serde_json::json!({ "division": row.division_code, "org_id": row.org_id }),
            ),
        )
        .await?;
        Ok(id)
    }

    /// One page of the volunteers the actor may see, masked.
    pub async fn list_volunteers(&self, actor: &Actor, f: &VolFilter) -> AppResult<Page<VolView>> {
        let p = reg::list_volunteers(self.store.reader(), actor, f).await?;
        Ok(Page { items: p.items.iter().map(|r| self.vol_view(r, false)).collect(), next_cursor: p.next_cursor })
    }

    /// The blind index to search for an exact ID number or phone typed into a search box.
    pub fn personal_lookup_hash(&self, q: &str) -> Option<String> {
        let q = q.trim().to_ascii_uppercase();
        if IdNumber::parse(&q).is_ok() {
            Some(self.crypto.id_hash(&q))
        } else if Phone::parse(&q).is_ok() {
            Some(self.crypto.phone_hash(&q))
        } else {
            None
        }
    }

    async fn vol_visible(&self, actor: &Actor, id: i64) -> AppResult<VolRow> {
        if !reg::volunteer_visible(self.store.reader(), actor, id).await? {
            return Err(AppError::NotFound);
        }
        Ok(reg::get_volunteer(self.store.reader(), id).await?)
    }

    /// One volunteer, with certificates and memberships. `unmask` needs a role that may unmask
    /// (or the volunteer themself) and writes an audit record.
    pub async fn volunteer_detail(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        unmask: bool,
    ) -> AppResult<(VolView, Vec<Certificate>, Vec<Membership>)> {
        let r = self.vol_visible(actor, id).await?;
        if unmask {
            let own = r.user_id == Some(actor.user_id);
            if !(own || actor.role.may_unmask() && actor.covers(&r.division_path)) {
                return Err(AppError::Forbidden);
            }
            let mut tx = self.store.begin().await?;
            tongxin_store::audit::append(
                &mut tx,
                audit::entry(
                    Some(actor),
                    ctx,
                    "pii.unmask",
                    "volunteer",
                    id,
                    serde_json::json!({ "fields": ["id_number", "phone"] }),
                ),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let pool = self.store.reader();
        Ok((self.vol_view(&r, unmask), reg::list_certificates(pool, id).await?, reg::memberships_of(pool, id).await?))
    }

    fn may_edit_volunteer(actor: &Actor, r: &VolRow) -> bool {
        r.user_id == Some(actor.user_id)
            || (matches!(actor.role, Role::CivilAffairs | Role::CommunityWorker | Role::SysAdmin)
                && actor.covers(&r.division_path))
            || (actor.role == Role::OrgAdmin && r.org_id.is_some() && r.org_id == actor.org_id)
    }

    /// Adds a certificate (the volunteer, their organisation's admin or an officer).
    pub async fn add_certificate(&self, actor: &Actor, ctx: &RequestCtx, id: i64, c: &Certificate) -> AppResult<()> {
        let r = self.vol_visible(actor, id).await?;
        if !App::may_edit_volunteer(actor, &r) {
            return Err(AppError::Forbidden);
        }
        let mut v = Validator::new();
        v.text("name", "证书名称", "Certificate name", &c.name, 100);
        let kind = key_of(&CERT_KINDS, &c.kind);
        if kind.is_none() {
            v.push(FieldError::new(
                "kind",
                "cert.kind",
                "证书类型无效（急救证书、第一响应人、职业资格证书）",
                "Unknown certificate kind",
            ));
        }
        if !c.expires_on.trim().is_empty() && super::parse_date(&c.expires_on).is_none() {
            v.push(FieldError::new(
                "expires_on",
                "date.format",
                "有效期格式应为 YYYY-MM-DD",
                "Expiry must be YYYY-MM-DD",
            ));
        }
        v.finish().map_err(AppError::Validation)?;
        let c = Certificate {
            kind: kind.unwrap_or_default().to_string(),
            name: c.name.trim().into(),
            number: c.number.trim().into(),
            expires_on: c.expires_on.trim().into(),
        };
        let mut tx = self.store.begin().await?;
        reg::add_certificate(&mut tx, id, &c, &super::today()).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "volunteer.certificate",
                "volunteer",
                id,
                serde_json::json!({ "kind": c.kind }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Sets weekly availability and the "available now" toggle.
    pub async fn set_availability(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        weekly: &[String],
        now_on: bool,
    ) -> AppResult<()> {
        let r = self.vol_visible(actor, id).await?;
        if !App::may_edit_volunteer(actor, &r) {
            return Err(AppError::Forbidden);
        }
        let (keys, bad) = parse_list(&WEEK_SLOTS, &weekly.join(","));
        if let Some(b) = bad.first() {
            return Err(invalid("weekly", "slot.unknown", format!("时段“{b}”无效"), format!("Unknown slot '{b}'")));
        }
        let mut tx = self.store.begin().await?;
        reg::set_availability(&mut tx, id, &keys.join(","), now_on, now_ms()).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "volunteer.availability",
                "volunteer",
                id,
                serde_json::json!({ "available_now": now_on }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// A volunteer asks to join an organisation (optionally a team of it); the organisation's
    /// admin decides. The organisation must be verified.
    pub async fn request_membership(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        org_id: i64,
        team_id: Option<i64>,
        note: &str,
    ) -> AppResult<i64> {
        let Some(vol) = reg::volunteer_of_user(self.store.reader(), actor.user_id).await? else {
            return Err(AppError::Conflict(Text::new("请先登记为志愿者", "Register as a volunteer first")));
        };
        // Volunteers may ask to join any verified organisation: its public existence is not secret.
        let o = reg::get_org(self.store.reader(), org_id).await?;
        if o.state != "verified" {
            return Err(AppError::NotFound);
        }
        let team = match team_id.filter(|t| *t > 0) {
            Some(t) => {
                if reg::team_org(self.store.reader(), t).await? != org_id {
                    return Err(invalid(
                        "team_id",
                        "team.other_org",
                        "该队伍不属于此组织",
                        "The team belongs to another organisation",
                    ));
                }
                t
            }
            None => 0,
        };
        let mut tx = self.store.begin().await?;
        let id = reg::add_membership(&mut tx, vol, org_id, team, "pending", note.trim(), now_ms()).await.map_err(
            |e| match e {
                StoreError::Conflict(_) => {
                    AppError::Conflict(Text::new("已提交过加入申请", "You already asked to join"))
                }
                e => e.into(),
            },
        )?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "membership.request",
                "membership",
                id,
                serde_json::json!({ "org_id": org_id, "team_id": team }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// [`App::request_membership`] naming the organisation by its credit code.
    pub async fn request_membership_by_code(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        credit_code: &str,
        note: &str,
    ) -> AppResult<i64> {
        let code = credit_code.trim().to_ascii_uppercase();
        match reg::org_by_credit_code(self.store.reader(), &code).await? {
            Some((id, _, _)) => self.request_membership(actor, ctx, id, None, note).await.map_err(|e| match e {
                AppError::NotFound => not_joinable(&code),
                e => e,
            }),
            None => Err(not_joinable(&code)),
        }
    }

    /// The organisation's admin approves or rejects a pending membership request.
    pub async fn decide_membership(&self, actor: &Actor, ctx: &RequestCtx, id: i64, approve: bool) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let m = reg::get_membership(&mut tx, id).await?;
        if !(actor.role == Role::OrgAdmin && actor.acts_for(m.org_id)) {
            return Err(AppError::NotFound);
        }
        let to = if approve { "approved" } else { "rejected" };
        reg::decide_membership(&mut tx, id, to, actor.user_id, now_ms()).await.map_err(|e| match e {
            StoreError::NotFound => AppError::Conflict(Text::new("该申请已处理", "This request was already decided")),
            e => e.into(),
        })?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                &format!("membership.{}", if approve { "approve" } else { "reject" }),
                "membership",
                id,
                serde_json::json!({ "volunteer_id": m.volunteer_id, "org_id": m.org_id }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Membership requests and members of an organisation (its admin or an officer).
    pub async fn org_memberships(&self, actor: &Actor, org_id: i64, state: Option<&str>) -> AppResult<Vec<Membership>> {
        self.org_visible(actor, org_id).await?;
        // The roster (names, notes of pending requests) is for the admin who decides and the
        // officers above; a volunteer of the organisation sees the organisation, not its roster.
        if actor.role == Role::Volunteer {
            return Err(AppError::Forbidden);
        }
        Ok(reg::list_memberships(self.store.reader(), org_id, state).await?)
    }
}
