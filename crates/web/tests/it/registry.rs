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
