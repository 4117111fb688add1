//! Registry over HTTP: scoping by id, filing and verification with history and audit,
//! duplicate and invalid credit codes, roster import with bad rows (GB18030 CSV), re-import
//! without duplicates, all-or-nothing, masked and unmasked export.

use super::apps;
use serde_json::{json, Value};
use tongxin_domain::codes::{credit_check_char, id_check_char};

fn credit(first17: &str) -> String {
    format!("{first17}{}", credit_check_char(first17).unwrap())
}

fn id_number(first17: &str) -> String {
    format!("{first17}{}", id_check_char(first17).unwrap())
}

#[tokio::test]
async fn gusu_officer_cannot_see_or_change_a_wuzhong_organisation() {
    for t in apps().await {
        let (c, csrf) = t.login("minzheng").await;
        assert_eq!(c.get(t.url("/api/v1/organizations/1")).send().await.unwrap().status(), 200, "own district");
        assert_eq!(c.get(t.url("/api/v1/organizations/2")).send().await.unwrap().status(), 404, "Wuzhong by id");
        let r = c
            .post(t.url("/api/v1/organizations/2/decision"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "decision": "suspend", "reason": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "no decision on Wuzhong");
        assert_eq!(c.get(t.url("/orgs/2")).send().await.unwrap().status(), 404, "page too");
        let v: Value = c.get(t.url("/api/v1/organizations?limit=500")).send().await.unwrap().json().await.unwrap();
        assert!(v["items"].as_array().unwrap().iter().all(|o| o["id"] != 2));
        t.stop().await;
    }
}

#[tokio::test]
async fn file_verify_with_history_audit_and_duplicate_refused() {
    for t in apps().await {
        let (c, csrf) = t.login("minzheng").await;
        let code = credit("52320508MJ1234567");
        let body = json!({
            "name": "姑苏区同心应急救援队", "credit_code": code, "kind": "rescue_team",
            "division_code": "320508018000", "contact_name": "陈队长", "contact_phone": "13912345678",
            "domains": ["water_rescue", "logistics"], "specialties": ["water_rescue"], "grade": "grade2",
            "people_count": 40, "equipment": [{ "name": "冲锋舟", "quantity": 2 }]
        });
        let post = |b: Value| {
            c.post(t.url("/api/v1/organizations"))
                .header("x-csrf-token", &csrf)
                .header("accept-language", "zh")
                .json(&b)
                .send()
        };
        let r = post(body.clone()).await.unwrap();
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

        // The same credit code again: refused, naming the existing record.
        let mut again = body.clone();
        again["name"] = json!("另一个名字");
        let r = post(again).await.unwrap();
        assert_eq!(r.status(), 409);
        let p: Value = r.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains("姑苏区同心应急救援队"), "{p}");

        // A wrong check character: field error naming the rule.
        let mut bad = body.clone();
        let mut wrong = code.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        bad["credit_code"] = json!(wrong);
        let r = post(bad).await.unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["errors"][0]["rule"], "credit_code.check_char", "{p}");

        let decide = |d: &'static str, reason: &'static str| {
            c.post(t.url(&format!("/api/v1/organizations/{id}/decision")))
                .header("x-csrf-token", &csrf)
                .json(&json!({ "decision": d, "reason": reason }))
                .send()
        };
        assert_eq!(decide("return", "").await.unwrap().status(), 422, "returning needs a reason");
        let r = decide("verify", "").await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["state"], "verified");
        assert_eq!(decide("verify", "").await.unwrap().status(), 409, "already verified");

        let d: Value = c.get(t.url(&format!("/api/v1/organizations/{id}"))).send().await.unwrap().json().await.unwrap();
        let states: Vec<&str> =
            d["history"].as_array().unwrap().iter().map(|h| h["to_state"].as_str().unwrap()).collect();
        assert_eq!(states, vec!["filed", "verified"]);
        assert_eq!(d["contact_phone"], "139****5678", "masked by default");
        assert_eq!(d["equipment"][0]["name"], "冲锋舟");
        let audit = t.app.store.audit_recent("org.", 20).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "org.verify" && a.object_id == id.to_string()));
        assert!(audit.iter().any(|a| a.action == "org.file"));

        // Unmasking is audited.
        let d: Value = c
            .get(t.url(&format!("/api/v1/organizations/{id}?unmask=true")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["contact_phone"], "13912345678");
        assert!(t.app.store.audit_recent("pii.", 5).await.unwrap().iter().any(|a| a.action == "pii.unmask"));

        // The phone is not in the database in clear.
        let raw: String = sqlx::query_scalar::<_, String>("SELECT contact_phone_enc FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_one(t.app.store.reader())
            .await
            .unwrap();
        assert!(!raw.contains("13912345678") && raw.starts_with("v1:"));
        t.stop().await;
    }
}

#[tokio::test]
async fn volunteer_roster_import_reports_bad_rows_and_upserts() {
    for t in apps().await {
        let (c, csrf) = t.login("minzheng").await;
        let good = id_number("32050819900101123");
        let other = id_number("32050819851212004");
        let csv = format!(
            "姓名,身份证号,手机号,所在区划代码,技能,所属组织信用代码\n\
             张伟,{good},13812345678,320508018000,急救、驾驶,\n\
             李娜,320508199001011230,13812345679,320508018000,急救,\n\
             王芳,{other},12345,320508018000,,\n"
        );
        // Offices save CSV from Excel in GB18030.
        let (gb, _, _) = encoding_rs::GB18030.encode(&csv);
        let import = |q: &'static str| {
            c.post(t.url(&format!("/api/v1/registry/import/volunteers{q}")))
                .header("x-csrf-token", &csrf)
                .header("accept-language", "zh")
                .body(gb.to_vec())
                .send()
        };
        let r: Value = import("?dry_run=true").await.unwrap().json().await.unwrap();
        assert_eq!((r["created"].as_i64(), r["saved"].as_bool()), (Some(1), Some(false)), "{r}");
        let rows: Vec<(i64, &str)> = r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap()))
            .collect();
        assert_eq!(rows, vec![(3, "身份证号"), (4, "手机号")], "{r}");
        assert!(r["errors"][0]["message"].as_str().unwrap().contains("校验位"));

        let r: Value = import("?all_or_nothing=true").await.unwrap().json().await.unwrap();
        assert_eq!(r["saved"], false, "all-or-nothing saves nothing with bad rows");
        let r: Value = import("").await.unwrap().json().await.unwrap();
        assert_eq!((r["created"].as_i64(), r["saved"].as_bool()), (Some(1), Some(true)));
        let r: Value = import("").await.unwrap().json().await.unwrap();
        assert_eq!((r["created"].as_i64(), r["updated"].as_i64()), (Some(0), Some(1)), "second import updates");

        // Found by exact ID number, shown masked.
        let v: Value =
            c.get(t.url(&format!("/api/v1/volunteers?q={good}"))).send().await.unwrap().json().await.unwrap();
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{v}");
        assert_eq!(items[0]["id_number"], format!("{}********{}", &good[..6], &good[14..]));
        assert_eq!(items[0]["skills"], json!(["first_aid", "driving"]));

        // A header without a required column: nothing saved, clear error.
        let r = c
            .post(t.url("/api/v1/registry/import/volunteers"))
            .header("x-csrf-token", &csrf)
            .body("姓名,手机号\n张三,13812345678\n")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["errors"][0]["rule"], "header.missing");

        // Export: masked by default, unmasked only on request (audited), ID as text.
        let body = c.get(t.url("/api/v1/volunteers/export?format=csv")).send().await.unwrap().bytes().await.unwrap();
        assert!(body.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.contains("张伟") && !text.contains(&good));
        let text = c
            .get(t.url("/api/v1/volunteers/export?format=csv&unmask=true"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(&good));
        assert!(t.app.store.audit_recent("export", 5).await.unwrap().iter().any(|a| a.action == "export.unmasked"));
        let x = c.get(t.url("/api/v1/volunteers/export?format=xlsx")).send().await.unwrap();
        assert_eq!(x.status(), 200);
        assert!(x.bytes().await.unwrap().starts_with(b"PK"));
        // An organisation admin may not unmask.
        let (z, _) = t.login("zuzhi").await;
        assert_eq!(z.get(t.url("/api/v1/volunteers/export?unmask=true")).send().await.unwrap().status(), 403);
        t.stop().await;
    }
}

/// Posts a page form (with the session's CSRF token); answers (status, Location).
async fn form(c: &reqwest::Client, url: String, csrf: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut body: Vec<(&str, &str)> = vec![("_csrf", csrf)];
    body.extend_from_slice(fields);
    let r = c.post(url).form(&body).send().await.unwrap();
    let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status().as_u16(), loc)
}

#[tokio::test]
async fn page_forms_for_insurance_teams_memberships_certificates_and_training() {
    for t in apps().await {
        // The organisation admin: a policy (a bad one is refused with its reason), a team.
        let (za, za_csrf) = t.login("zuzhi").await;
        let org = |p: &str| t.url(&format!("/orgs/1{p}"));
        let bad = [
            ("insurer", "中国人民财产保险苏州分公司"),
            ("policy_no", "PDEA2026320500001"),
            ("covered_people", "12"),
            ("valid_from", "2026-01-01"),
            ("valid_to", "2025-12-31"),
        ];
        let (s, loc) = form(&za, org("/insurance"), &za_csrf, &bad).await;
        assert_eq!(s, 303);
        let page = za.get(t.url(&loc)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("终止日期早于起始日期"), "the reason is shown in Chinese");
        assert!(!page.contains("PDEA2026320500001"), "nothing saved");
        let mut good = bad;
        good[4] = ("valid_to", "2026-12-31");
        assert_eq!(form(&za, org("/insurance"), &za_csrf, &good).await, (303, "/orgs/1".into()));
        let (s, _) =
            form(&za, org("/teams"), &za_csrf, &[("name", "水上救援一队"), ("specialty", "water_rescue")]).await;
        assert_eq!(s, 303);
        let (_, loc) = form(&za, org("/teams"), &za_csrf, &[("name", "水上救援一队"), ("specialty", "")]).await;
        let page = za.get(t.url(&loc)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("本组织已有名为“水上救援一队”的队伍"), "duplicate team refused");
        let team_id: i64 = sqlx::query_scalar::<_, i64>("SELECT id FROM teams WHERE org_id = 1")
            .fetch_one(t.app.store.reader())
            .await
            .unwrap();

        // A member registered by the admin goes into the team.
        let r = za
            .post(t.url("/api/v1/volunteers"))
            .header("x-csrf-token", &za_csrf)
            .json(&json!({ "name": "陆海", "id_number": id_number("32050819880303123"), "phone": "13912340001",
                           "division_code": "320508018000", "skills": ["water_rescue"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let member = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let (tid, mid) = (team_id.to_string(), member.to_string());
        let fields = [("team_id", tid.as_str()), ("volunteer_id", mid.as_str())];
        assert_eq!(form(&za, org("/team-members"), &za_csrf, &fields).await, (303, "/orgs/1".into()));
        let page = za.get(org("")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("水上救援一队（1）：陆海"), "team with its member");
        assert!(page.contains("PDEA2026320500001"));

        // The volunteer registers, asks to join by credit code; the admin approves on the page.
        let (zy, zy_csrf) = t.login("zhiyuan").await;
        let r = zy
            .post(t.url("/api/v1/volunteers"))
            .header("x-csrf-token", &zy_csrf)
            .json(&json!({ "name": "沈浩", "id_number": id_number("32050819950505123"), "phone": "13912340002",
                           "division_code": "320508018000" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let me = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let mine = |p: &str| t.url(&format!("/volunteers/{me}{p}"));
        let join = t.url("/volunteers/join");
        let back = me.to_string();
        let (_, loc) =
            form(&zy, join.clone(), &zy_csrf, &[("back", back.as_str()), ("credit_code", "51320500MJ000009X")]).await;
        let page = zy.get(t.url(&loc)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("没有信用代码为 51320500MJ000009X 的已审核组织"), "unknown code named");
        let fields = [("back", back.as_str()), ("credit_code", "51320500mj000001x"), ("note", "会游泳")];
        assert_eq!(form(&zy, join, &zy_csrf, &fields).await, (303, format!("/volunteers/{me}")));
        let page = zy.get(mine("")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("姑苏区阳光助老服务中心 · 待组织审核"), "pending on the volunteer's page");

        let page = za.get(org("")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("沈浩") && page.contains("会游泳"), "the request is listed for the admin");
        let req: i64 = sqlx::query_scalar::<_, i64>("SELECT id FROM memberships WHERE state = 'pending'")
            .fetch_one(t.app.store.reader())
            .await
            .unwrap();
        // The officer sees the request but may not decide it.
        let (mz, mz_csrf) = t.login("minzheng").await;
        let (s, _) = form(&mz, org(&format!("/memberships/{req}")), &mz_csrf, &[("decision", "approve")]).await;
        assert_eq!(s, 404);
        let (s, _) = form(&za, org(&format!("/memberships/{req}")), &za_csrf, &[("decision", "approve")]).await;
        assert_eq!(s, 303);
        let page = zy.get(mine("")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("姑苏区阳光助老服务中心 · 已加入"));
        assert!(t
            .app
            .store
            .audit_recent("membership.", 5)
            .await
            .unwrap()
            .iter()
            .any(|a| a.action == "membership.approve"));

        // Certificates and availability from the volunteer's page.
        let fields =
            [("kind", "first_aid"), ("name", "红十字救护员证"), ("number", "SZ001"), ("expires_on", "2028-06-30")];
        assert_eq!(form(&zy, mine("/certificates"), &zy_csrf, &fields).await.0, 303);
        let fields = [("weekly", "sat_am"), ("weekly", "sun_pm"), ("available_now", "on")];
        assert_eq!(form(&zy, mine("/availability"), &zy_csrf, &fields).await.0, 303);
        let page = zy.get(mine("")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("红十字救护员证") && page.contains("周六上午、周日下午"), "{page}");
        let v: Value = mz.get(t.url("/api/v1/volunteers?cert=first_aid")).send().await.unwrap().json().await.unwrap();
        assert!(v["items"].as_array().unwrap().iter().any(|i| i["id"] == me), "found by certificate");

        // Training: a line outside the officer's jurisdiction is refused by number; nothing saved.
        let lines = "51320500MJ000001X 张三\n51320500MJ000002X 李四 缺席";
        let r = mz
            .post(t.url("/training"))
            .form(&[
                ("_csrf", mz_csrf.as_str()),
                ("title", "负责人应急管理培训"),
                ("starts_at", "2026-11-20T09:30"),
                ("place", "姑苏区民政局"),
                ("attendance", lines),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("第 2 行"));
        assert_eq!(t.app.store.count_rows("training_courses").await.unwrap(), 0);
        let lines = "51320500MJ000001X 张三\n1 李四 缺席";
        let r = mz
            .post(t.url("/training"))
            .form(&[
                ("_csrf", mz_csrf.as_str()),
                ("title", "负责人应急管理培训"),
                ("starts_at", "2026-11-20T09:30"),
                ("place", "姑苏区民政局"),
                ("attendance", lines),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("training-done") && page.contains("负责人应急管理培训"));
        let page = mz.get(org("")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("负责人应急管理培训 · 张三 · 已参加") && page.contains("李四 · 缺席"));
        assert_eq!(za.get(t.url("/training")).send().await.unwrap().status(), 403, "not for organisation admins");
        t.stop().await;
    }
}

#[tokio::test]
async fn a_disabled_account_loses_its_api_token_within_the_cache_bound() {
    for t in apps().await {
        let ctx = tongxin_app::RequestCtx::default();
        let user = t.app.store.user_by_username("zuzhi").await.unwrap();
        let actor = tongxin_app::auth::actor_of(&user).unwrap();
        let token = t.app.create_api_token(&ctx, &actor, "integration", None).await.unwrap();
        let c = reqwest::Client::new();
        let me = || c.get(t.url("/api/v1/me")).bearer_auth(&token).send();
        for _ in 0..3 {
            assert_eq!(me().await.unwrap().status(), 200);
        }
        assert_eq!(c.get(t.url("/api/v1/me")).bearer_auth("txk_wrong").send().await.unwrap().status(), 401);
        // Disabled (by an operator, in the database): the next read of the token refuses it.
        let mut tx = t.app.store.begin().await.unwrap();
        sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1").bind(user.id).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let bound = tongxin_app::auth::TOKEN_CACHE_MS as u64 + 100;
        tokio::time::sleep(std::time::Duration::from_millis(bound)).await;
        assert_eq!(me().await.unwrap().status(), 401, "{:?}", t.app.store.backend());
        t.stop().await;
    }
}
