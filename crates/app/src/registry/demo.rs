//! Demo data of the registry that needs the demo accounts (`serve --demo`): filing decisions
//! with reasons (verified, returned, rejected, suspended), yearly inspections with some
//! organisations left overdue, evaluations, spot checks with findings, insurance, teams with
//! members, a pending membership request and leader training with attendance. Everything goes
//! through the same use cases as the UI, so each step is validated and audited.

use super::vocab::INSPECTION_RESULTS;
use super::volunteers::VolForm;
use super::{current_year, Decision};
use crate::auth::actor_of;
use crate::{App, AppResult, RequestCtx};
use tongxin_domain::fake::Faker;
use tongxin_domain::page::Order;
use tongxin_domain::Actor;
use tongxin_store::registry::{Certificate, OrgFilter, Policy};

impl App {
    async fn demo_actor(&self, username: &str) -> Option<Actor> {
        let u = self.store.user_by_username(username).await.ok()?;
        actor_of(&u).ok()
    }

    /// Adds the registry's workflow history to the demo organisations of Gusu. Idempotent:
    /// does nothing once any review is on record or when the demo accounts are missing.
    pub async fn seed_registry(&self) -> AppResult<()> {
        if self.store.count_rows("org_reviews").await? > 0 {
            return Ok(());
        }
        let (Some(officer), Some(admin)) = (self.demo_actor("minzheng").await, self.demo_actor("zuzhi").await) else {
            return Ok(());
        };
        let ctx = RequestCtx { request_id: "seed".into(), ..Default::default() };
        let mut f = Faker::new(4);
        let year = current_year();
        let by_state = |s: &'static str| OrgFilter {
            state: Some(s.into()),
            sort: Some("id".into()),
            order: Order::Asc,
            limit: 40,
            ..Default::default()
        };

        // Filing decisions on organisations still waiting: verify, return, reject.
        let filed = self.list_orgs(&officer, &by_state("filed")).await?.items;
        let returns = ["联系电话无法接通，请核实联系人信息后重新报备", "服务领域与章程不一致，请补充章程复印件"];
        for (i, o) in filed.iter().take(6).enumerate() {
            let (d, reason) = match i % 3 {
                0 => (Decision::Verify, ""),
                1 => (Decision::Return, returns[i % 2]),
                _ => (Decision::Reject, "统一社会信用代码与登记证书不符，且逾期未补正"),
            };
            self.decide_org(&officer, &ctx, o.id, d, reason).await?;
        }

        // The admin's own organisation must be verified to take members.
        if let Some(org) = admin.org_id {
            let o = self.org_visible(&officer, org).await?;
            if o.state == "filed" {
                self.decide_org(&officer, &ctx, org, Decision::Verify, "").await?;
            }
        }

        // Verified organisations: inspections for last year (a few left overdue, some basic
        // passes and fails), evaluations, spot checks, one suspension with its reason.
        let verified = self.list_orgs(&officer, &by_state("verified")).await?.items;
        for (i, o) in verified.iter().enumerate() {
            if i % 5 == 4 {
                continue; // no inspection for last year: shown as overdue
            }
            let result = INSPECTION_RESULTS[match i % 7 {
                3 => 1,
                6 => 2,
                _ => 0,
            }]
            .0;
            let findings = match result {
                "basic_pass" => "财务凭证不完整，已要求三个月内整改",
                "fail" => "未按章程召开理事会，年度工作报告缺失",
                _ => "",
            };
            self.add_review(&officer, &ctx, o.id, "inspection", year - 1, result, findings).await?;
            if i % 3 == 0 {
                self.add_review(&officer, &ctx, o.id, "inspection", year - 2, "pass", "").await?;
            }
            if i % 4 == 0 {
                let grade = ["3A", "4A", "5A", "2A"][(i / 4) % 4];
                self.add_review(&officer, &ctx, o.id, "evaluation", year - 1, grade, "第三方评估机构现场评估").await?;
            }
            if i % 6 == 1 {
                self.add_review(
                    &officer,
                    &ctx,
                    o.id,
                    "spot_check",
                    year,
                    "issues",
                    "应急物资台账与实物不符（救生衣少 6 件）",
                )
                .await?;
            } else if i % 6 == 2 {
                self.add_review(&officer, &ctx, o.id, "spot_check", year, "ok", "").await?;
            }
        }
        if let Some(o) = verified.iter().find(|o| Some(o.id) != admin.org_id && o.id % 2 == 1) {
            self.decide_org(&officer, &ctx, o.id, Decision::Suspend, "年检不合格，责令限期整改，整改期间暂停报备资格")
                .await?;
        }

        // Insurance policies.
        for (i, o) in verified.iter().take(8).enumerate() {
            let p = Policy {
                insurer: ["中国人民财产保险苏州分公司", "中国平安财产保险苏州分公司"][i % 2].into(),
                policy_no: format!("PDEA{}3205{:08}", year, 1000 + o.id),
                covered_people: o.people_count.max(1),
                valid_from: format!("{year}-01-01"),
                valid_to: if i % 4 == 3 { format!("{}-12-31", year - 1) } else { format!("{year}-12-31") },
            };
            let p = if i % 4 == 3 { Policy { valid_from: format!("{}-01-01", year - 1), ..p } } else { p };
            self.add_policy(&officer, &ctx, o.id, &p).await?;
        }

        // The admin's organisation: teams, members registered by the admin (approved), team
        // assignments, certificates.
        if let Some(org) = admin.org_id {
            let rescue = self.create_team(&admin, &ctx, org, "水上救援一队", "water_rescue").await?;
            let care = self.create_team(&admin, &ctx, org, "心理疏导小组", "psychology").await?;
            let community = self
                .store
                .divisions_at_level(
                    &self.store.division(crate::seed::DEMO_STREET).await?.path,
                    tongxin_domain::division::Level::Community,
                )
                .await?;
            let today = time::OffsetDateTime::now_utc().date();
            for i in 0..6 {
                let c = &community[i % community.len()];
                let p = f.person(&c.code[..6], 20..=55, today);
                let form = VolForm {
                    name: p.name,
                    id_number: p.id_number,
                    phone: p.phone,
                    division_code: c.code.clone(),
                    skills: vec![if i < 3 { "water_rescue" } else { "psychology" }.into()],
                    insured: i != 5,
                    weekly: vec!["sat_am".into(), "sun_am".into()],
                    available_now: i % 2 == 0,
                    ..Default::default()
                };
                let Ok(vid) = self.register_volunteer(&admin, &ctx, &form).await else { continue };
                self.add_team_member(&admin, &ctx, if i < 3 { rescue } else { care }, vid).await?;
                let cert = Certificate {
                    kind: if i < 3 { "first_responder" } else { "first_aid" }.into(),
                    name: if i < 3 { "第一响应人培训合格证" } else { "红十字救护员证" }.into(),
                    number: format!("SZ{year}{:05}", vid),
                    expires_on: format!("{}-06-30", year + 2),
                };
                self.add_certificate(&admin, &ctx, vid, &cert).await?;
            }
            // The demo volunteer registers and asks to join: a pending request for the admin.
            if let Some(vol) = self.demo_actor("zhiyuan").await {
                if let (Some(code), true) =
                    (vol.division_code.clone(), self.org_visible(&officer, org).await?.state == "verified")
                {
                    let p = f.person(&code[..6], 25..=40, today);
                    let form = VolForm {
                        name: vol.display_name.trim_start_matches("志愿者 ").to_string(),
                        id_number: p.id_number,
                        phone: p.phone,
                        division_code: code,
                        skills: vec!["first_aid".into()],
                        insured: true,
                        weekly: vec!["sat_pm".into()],
                        available_now: true,
                        // Located near 平江路, so the demo volunteer can be dispatched (a record
                        // without a place is never proposed).
                        lon: Some(120.6318),
                        lat: Some(31.3186),
                        ..Default::default()
                    };
                    if self.register_volunteer(&vol, &ctx, &form).await.is_ok() {
                        self.request_membership(
                            &vol,
                            &ctx,
                            org,
                            Some(rescue),
                            "会游泳，持有救生员证，希望加入水上救援队",
                        )
                        .await?;
                    }
                }
            }
        }

        // Leader training: two sessions of one course and a second course, with attendance.
        let leaders: Vec<(i64, String, bool)> =
            verified.iter().take(10).enumerate().map(|(i, o)| (o.id, o.contact_name.clone(), i % 4 != 3)).collect();
        let start = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let day = 86_400_000;
        self.record_training(
            &officer,
            &ctx,
            "社会组织负责人应急管理培训（第一期）",
            start - 60 * day,
            "姑苏区民政局三楼会议室",
            &leaders,
        )
        .await?;
        self.record_training(
            &officer,
            &ctx,
            "防汛防台社会力量协同演练",
            start - 20 * day,
            "苏州市应急救援训练基地",
            &leaders[..leaders.len().min(5)],
        )
        .await?;
        Ok(())
    }
}
