//! Work orders, complaints, accountability and prices over HTTP on every backend.

use super::{apps, TestApp};
use base64::Engine;
use serde_json::{json, Value};
use tongxin_domain::workorders::days_ms;
use tongxin_store::now_ms;

async fn community_of(t: &TestApp, street: &str) -> String {
    t.app.store.division_children(street).await.unwrap()[0].code.clone()
}

fn need(division: &str) -> Value {
    json!({
        "kind": "medicine", "urgency": "urgent", "vulnerable": ["elderly_alone"],
        "description": "降压药快吃完了，请帮忙代购", "division_code": division,
        "address": "姑苏区平江路 100 号 3 幢 201 室", "contact_name": "钱阿姨", "phone": "13912345678"
    })
}

async fn post(c: &reqwest::Client, t: &TestApp, csrf: &str, path: &str, body: Value) -> (u16, Value) {
    let r = c.post(t.url(path)).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(c: &reqwest::Client, t: &TestApp, path: &str) -> (u16, Value) {
    let r = c.get(t.url(path)).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_need_runs_from_filing_to_rating_and_shows_in_public_figures() {
    for t in apps().await {
        let (jumin, jc) = t.login("jumin").await;
        let (shequ, sc) = t.login("shequ").await;
        let (zuzhi, zc) = t.login("zuzhi").await;
        let (s, filed) = post(&jumin, &t, &jc, "/api/v1/workorders", need("")).await;
        assert_eq!(s, 201, "{filed}");
        let id = filed["id"].as_i64().unwrap();
        assert!(filed["code"].as_str().unwrap().starts_with("WO"));
        assert_eq!(filed["tracking_code"].as_str().unwrap().len(), 19);

        // The resident sees it masked; the state is received with an hours deadline (urgent + vulnerable).
        let (s, v) = get(&jumin, &t, &format!("/api/v1/workorders/{id}")).await;
        assert_eq!(s, 200);
        assert_eq!(v["state"], "received");
        assert_eq!(v["phone"], "139****5678");
        assert!(!v["address"].as_str().unwrap().contains("201"), "address masked: {}", v["address"]);
        let due = v["due_at"].as_i64().unwrap();
        assert!(due - v["created_at"].as_i64().unwrap() == 2 * 3_600_000, "urgent dispatch within 2 hours");

        // Rating before an answer is refused with a clear message; nothing changes.
        let (s, p) =
            post(&jumin, &t, &jc, &format!("/api/v1/workorders/{id}/actions"), json!({"action": "rate", "rating": 5}))
                .await;
        assert_eq!(s, 422, "{p}");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("只有已反馈"), "{p}");

        // The community worker sees the suggestion (organisation 1, elderly specialty) and dispatches.
        let (s, sug) = get(&shequ, &t, &format!("/api/v1/workorders/{id}/suggestions")).await;
        assert_eq!(s, 200);
        assert!(sug.as_array().unwrap().iter().any(|x| x["kind"] == "org" && x["id"] == 1), "{sug}");
        let (s, v) = post(
            &shequ,
            &t,
            &sc,
            &format!("/api/v1/workorders/{id}/actions"),
            json!({"action": "dispatch", "assignee_kind": "org", "assignee_id": 1}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "dispatched");
        assert_eq!(v["assignee_name"], "姑苏区阳光助老服务中心");

        // The organisation sees it in its list, accepts, asks for too long an extension, answers.
        let (s, list) = get(&zuzhi, &t, "/api/v1/workorders").await;
        assert_eq!(s, 200);
        assert!(list["items"].as_array().unwrap().iter().any(|o| o["id"] == id));
        let act = |b: Value| {
            let (c, k) = (zuzhi.clone(), zc.clone());
            let t = &t;
            async move { post(&c, t, &k, &format!("/api/v1/workorders/{id}/actions"), b).await }
        };
        assert_eq!(act(json!({"action": "accept"})).await.0, 200);
        let (s, p) = act(json!({"action": "extend", "extension": 48, "note": "缺货"})).await;
        assert_eq!(s, 422, "{p}");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("政策上限"), "{p}");
        let (s, v) = act(json!({"action": "answer", "note": "已购药送达"})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "answered");
        assert_eq!(v["answered_on_time"], 1);

        // The resident got an inbox notification and rates; the order closes.
        let (_, inbox) = get(&jumin, &t, "/api/v1/notifications").await;
        assert!(inbox.to_string().contains("已有办理结果"), "{inbox}");
        let (s, p) =
            post(&jumin, &t, &jc, &format!("/api/v1/workorders/{id}/actions"), json!({"action": "rate", "rating": 9}))
                .await;
        assert_eq!(s, 422, "{p}");
        let (s, v) = post(
            &jumin,
            &t,
            &jc,
            &format!("/api/v1/workorders/{id}/actions"),
            json!({"action": "rate", "rating": 5, "note": "很及时"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "closed");
        let steps: Vec<&str> = v["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
        assert_eq!(steps, ["file", "dispatch", "accept", "answer", "rate"]);

        // Public figures (no login): one request is suppressed as "<5"; five more show the count.
        let anon = t.client();
        let (s, p) = get(&anon, &t, "/api/v1/public/accountability?division=320508000000").await;
        assert_eq!(s, 200);
        let row = p["rows"].as_array().unwrap().iter().find(|r| r["code"] == "320508018000").unwrap().clone();
        assert_eq!(row["received"], "<5");
        assert_eq!(row["average_rating"], "—");
        for _ in 0..5 {
            assert_eq!(post(&jumin, &t, &jc, "/api/v1/workorders", need("")).await.0, 201);
        }
        let (_, p) = get(&anon, &t, "/api/v1/public/accountability?division=320508000000").await;
        let row = p["rows"].as_array().unwrap().iter().find(|r| r["code"] == "320508018000").unwrap().clone();
        assert_eq!(row["received"], "6");
        let html = anon.get(t.url("/public/accountability")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("公开问责数据") && html.contains("姑苏区"), "public page renders without login");

        // Needs list and CSV export.
        let (s, needs) = get(&shequ, &t, "/api/v1/workorders/needs").await;
        assert_eq!(s, 200);
        assert_eq!(needs[0]["count"], 5, "{needs}");
        let csv = shequ.get(t.url("/api/v1/workorders?format=csv")).send().await.unwrap().text().await.unwrap();
        assert!(csv.starts_with('\u{feff}') && csv.contains("工单号") && csv.lines().count() == 7, "{csv}");
        t.stop().await;
    }
}

#[tokio::test]
async fn jurisdiction_scopes_orders_and_guests_follow_by_code() {
    for t in apps().await {
        let wz = community_of(&t, "320506001000").await;
        // A guest files in Wuzhong without logging in.
        let anon = t.client();
        let r = anon.post(t.url("/api/v1/workorders")).json(&need(&wz)).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let filed: Value = r.json().await.unwrap();
        let (id, code) = (filed["id"].as_i64().unwrap(), filed["tracking_code"].as_str().unwrap().to_string());
        let (s, v) =
            get(&anon, &t, &format!("/api/v1/workorders/track/{}", code.to_lowercase().replace('-', ""))).await;
        assert_eq!(s, 200, "codes are normalised");
        assert_eq!(v["state"], "received");
        assert_eq!(get(&anon, &t, "/api/v1/workorders/track/AAAA-BBBB-CCCC-DDDD").await.0, 404);

        // Gusu staff cannot read or change it by id; the city commander can.
        let (minzheng, mc) = t.login("minzheng").await;
        assert_eq!(get(&minzheng, &t, &format!("/api/v1/workorders/{id}")).await.0, 404);
        let (s, _) =
            post(&minzheng, &t, &mc, &format!("/api/v1/workorders/{id}/actions"), json!({"action": "close"})).await;
        assert_eq!(s, 404);
        let (_, list) = get(&minzheng, &t, "/api/v1/workorders").await;
        assert!(list["items"].as_array().unwrap().iter().all(|o| o["id"] != id));
        let (cmd, _) = t.login("commander").await;
        assert_eq!(get(&cmd, &t, &format!("/api/v1/workorders/{id}")).await.0, 200);
        // Another resident cannot see it either.
        let (jumin, _) = t.login("jumin").await;
        assert_eq!(get(&jumin, &t, &format!("/api/v1/workorders/{id}")).await.0, 404);
        // Bad input: all fields reported, nothing saved.
        let before = t.app.store.count_rows("work_orders").await.unwrap();
        let r = anon
            .post(t.url("/api/v1/workorders"))
            .json(&json!({"kind": "x", "urgency": "now", "phone": "123", "division_code": wz}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.json().await.unwrap();
        assert!(p["errors"].as_array().unwrap().len() >= 5, "{p}");
        assert_eq!(t.app.store.count_rows("work_orders").await.unwrap(), before);
        t.stop().await;
    }
}

#[tokio::test]
async fn overdue_steps_escalate_once_after_a_restart_under_one_lease() {
    for t in apps().await {
        let (jumin, jc) = t.login("jumin").await;
        let (_, filed) = post(&jumin, &t, &jc, "/api/v1/workorders", need("")).await;
        let id = filed["id"].as_i64().unwrap();
        // Nothing is due now.
        assert_eq!(t.app.scan_overdue(now_ms()).await.unwrap(), 0);
        // A "restarted" node (a new App on the same database) finds it overdue three hours later
        // (deadline 2 hours): escalated to the street; one more level per further 2-hour step.
        let node2 = tongxin_app::App::new(t.app.store.clone(), tongxin_app::AppConfig::default());
        let later = now_ms() + 3 * 3_600_000;
        assert!(t.app.store.take_scan_lease("node-a", later, 60_000).await.unwrap());
        assert!(!t.app.store.take_scan_lease("node-b", later, 60_000).await.unwrap(), "one node holds the lease");
        assert!(t.app.store.take_scan_lease("node-b", later + 61_000, 60_000).await.unwrap(), "lease expires");
        assert_eq!(node2.scan_overdue(later).await.unwrap(), 1);
        assert_eq!(node2.scan_overdue(later).await.unwrap(), 0, "a scan escalates a step only once");
        let o = t.app.store.order(id).await.unwrap();
        assert_eq!(o.escalation, 1, "one hour past the deadline: the street ({o:?})");
        // Days later it has reached the city and stops.
        assert_eq!(node2.scan_overdue(later + days_ms(3)).await.unwrap(), 1);
        assert_eq!(t.app.store.order(id).await.unwrap().escalation, 3);
        assert_eq!(t.app.store.order(id).await.unwrap().escalate_at, None);
        // The street's community worker was told (督办) and sees it in the escalated list.
        let (shequ, _) = t.login("shequ").await;
        let (_, inbox) = get(&shequ, &t, "/api/v1/notifications").await;
        assert!(inbox.to_string().contains("督办"), "{inbox}");
        let (_, list) = get(&shequ, &t, "/api/v1/workorders?escalated=true").await;
        assert!(list["items"].as_array().unwrap().iter().any(|o| o["id"] == id));
        let html = shequ.get(t.url(&format!("/workorders/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("市级督办"), "detail shows 督办");
        t.stop().await;
    }
}

#[tokio::test]
async fn complaints_are_anonymous_handled_outside_the_accused_line_and_checked() {
    for db in tongxin_store::testkit::TestDb::all().await {
        let t =
            TestApp::start_with(db, tongxin_web::WebConfig { max_body_bytes: 4 * 1024 * 1024, ..Default::default() })
                .await;
        let anon = t.client();
        let body = |att: Option<&[u8]>| {
            let mut b = json!({"category": "overpricing", "subject_kind": "community", "subject": "320508018000",
                               "description": "物资包标价 168 元", "anonymous": false});
            if let Some(a) = att {
                b["attachment_name"] = "evidence.pdf".into();
                b["attachment_base64"] = base64::engine::general_purpose::STANDARD.encode(a).into();
            }
            b
        };
        // Not an image or PDF; too large: clear errors, nothing saved.
        let r = anon.post(t.url("/api/v1/complaints")).json(&body(Some(b"MZ\x90\x00 not a pdf"))).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.json().await.unwrap();
        assert!(
            p["errors"][0]["message"].as_str().unwrap().contains("图片")
                || p["errors"][0]["message"].as_str().unwrap().contains("image"),
            "{p}"
        );
        let mut big = b"%PDF-1.4\n".to_vec();
        big.resize(1024 * 1024 + 1, b'x');
        let r = anon.post(t.url("/api/v1/complaints")).json(&body(Some(&big))).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(t.app.store.count_rows("complaints").await.unwrap(), 0);

        // A guest files with a PDF: always anonymous, with a tracking code.
        let r = anon.post(t.url("/api/v1/complaints")).json(&body(Some(b"%PDF-1.4\n%%EOF"))).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let filed: Value = r.json().await.unwrap();
        let (id, code) = (filed["id"].as_i64().unwrap(), filed["tracking_code"].as_str().unwrap().to_string());
        let rec = sqlx::query("SELECT ip, username FROM audit_log WHERE action = 'complaint.file'")
            .fetch_one(t.app.store.reader())
            .await
            .unwrap();
        let (ip, who): (String, String) =
            (tongxin_store::col(&rec, "ip").unwrap(), tongxin_store::col(&rec, "username").unwrap());
        assert!(ip.is_empty() && who == "system", "nothing identifies an anonymous complainant");

        // The accused community's worker cannot see complaints; a Gusu-only supervisor-less officer neither.
        let (shequ, _) = t.login("shequ").await;
        assert_eq!(get(&shequ, &t, &format!("/api/v1/complaints/{id}")).await.0, 404);
        assert_eq!(get(&shequ, &t, "/api/v1/complaints").await.0, 403);
        // The city supervisor sees it as anonymous, takes it, and concludes.
        let (jiandu, jc) = t.login("jiandu").await;
        let (s, v) = get(&jiandu, &t, &format!("/api/v1/complaints/{id}")).await;
        assert_eq!(s, 200);
        assert_eq!(v["complainant"], "匿名 / anonymous");
        assert_eq!(v["files"].as_array().unwrap().len(), 1);
        let fid = v["files"][0][0].as_i64().unwrap();
        let f = jiandu.get(t.url(&format!("/api/v1/complaints/files/{fid}"))).send().await.unwrap();
        assert_eq!(f.headers()["content-type"], "application/pdf");
        let (s, p) = post(
            &jiandu,
            &t,
            &jc,
            &format!("/api/v1/complaints/{id}/actions"),
            json!({"action": "conclude", "verified": true, "finding": "x"}),
        )
        .await;
        assert_eq!(s, 403, "must take it first: {p}");
        assert_eq!(
            post(&jiandu, &t, &jc, &format!("/api/v1/complaints/{id}/actions"), json!({"action": "take"})).await.0,
            200
        );
        let (s, v) = post(
            &jiandu,
            &t,
            &jc,
            &format!("/api/v1/complaints/{id}/actions"),
            json!({"action": "conclude", "verified": true, "finding": "属实，已责令退款"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "concluded");
        // The guest follows it by code.
        let (s, v) = get(&anon, &t, &format!("/api/v1/complaints/track/{code}")).await;
        assert_eq!(s, 200);
        assert_eq!(v["state"], "concluded");
        assert_eq!(v["verified"], true);

        // A named complaint about the supervisor himself: he cannot see it.
        let (jumin, juc) = t.login("jumin").await;
        let (s, f2) = post(&jumin, &t, &juc, "/api/v1/complaints", json!({"category": "service", "subject_kind": "staff", "subject": "jiandu", "division_code": "320508018000", "description": "态度恶劣", "anonymous": false})).await;
        assert_eq!(s, 201, "{f2}");
        let id2 = f2["id"].as_i64().unwrap();
        assert_eq!(get(&jiandu, &t, &format!("/api/v1/complaints/{id2}")).await.0, 404);
        let (_, list) = get(&jiandu, &t, "/api/v1/complaints").await;
        assert!(list["items"].as_array().unwrap().iter().all(|c| c["id"] != id2));

        // Public figures count both complaints (suppressed) and the verified one.
        let (_, p) = get(&anon, &t, "/api/v1/public/accountability").await;
        let gusu = p["rows"].as_array().unwrap().iter().find(|r| r["code"] == "320508000000").unwrap().clone();
        assert_eq!(gusu["complaints"], "<5");
        t.stop().await;
    }
}

#[tokio::test]
async fn prices_above_the_reference_margin_are_flagged_for_supervisors() {
    for t in apps().await {
        let (cmd, cc) = t.login("commander").await;
        let period = {
            let d = tongxin_domain::workorders::local_date(now_ms()).unwrap();
            format!("{:04}-{:02}", d.year(), d.month() as u8)
        };
        let (s, p) = post(&cmd, &t, &cc, "/api/v1/prices/references", json!({"item": "应急物资包", "unit": "包", "division_code": "320500000000", "period": period, "price": 100})).await;
        assert_eq!(s, 201, "{p}");
        let (s, _) = post(&cmd, &t, &cc, "/api/v1/prices/references", json!({"item": "应急物资包", "unit": "包", "division_code": "320500000000", "period": "2026-13", "price": 100})).await;
        assert_eq!(s, 422);
        let (shequ, sc) = t.login("shequ").await;
        let report = |price: f64| json!({"item": "应急物资包", "division_code": "320508018000", "seller": "某超市", "kind": "offer", "price": price});
        let (s, r) = post(&shequ, &t, &sc, "/api/v1/prices/reports", report(120.0)).await;
        assert_eq!(s, 201);
        assert_eq!(r["flagged"], false, "at the margin is not flagged");
        let (_, r) = post(&shequ, &t, &sc, "/api/v1/prices/reports", report(168.0)).await;
        assert_eq!(r["flagged"], true);
        assert_eq!(r["ref_fen"], 10000);
        let (s, _) = post(&shequ, &t, &sc, "/api/v1/prices/reports", report(-1.0)).await;
        assert_eq!(s, 422);
        let (jiandu, _) = t.login("jiandu").await;
        let (_, flagged) = get(&jiandu, &t, "/api/v1/prices/reports?flagged=true").await;
        assert_eq!(flagged["items"].as_array().unwrap().len(), 1);
        let (_, inbox) = get(&jiandu, &t, "/api/v1/notifications").await;
        assert!(inbox.to_string().contains("价格异常"), "{inbox}");
        let html = jiandu.get(t.url("/prices")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("price-chart"), "chart rendered");
        t.stop().await;
    }
}

#[tokio::test]
async fn pages_file_a_need_as_a_guest_and_follow_it() {
    for t in apps().await {
        let c = t.client();
        let html = c.get(t.url("/requests/new")).send().await.unwrap().text().await.unwrap();
        let token = html.split("name=\"_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let community = community_of(&t, "320508018000").await;
        let form = [
            ("_token", token.as_str()),
            ("kind", "supplies"),
            ("urgency", "normal"),
            ("description", "代购米面油"),
            ("division_code", community.as_str()),
            ("address", "平江路 1 号"),
            ("contact_name", "孙先生"),
            ("phone", "13800001111"),
        ];
        let r = c.post(t.url("/requests/new")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        let code = html.split("id=\"tracking-code\">").nth(1).unwrap().split('<').next().unwrap().to_string();
        let html = c.get(t.url(&format!("/track?code={code}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("已受理"), "{html}");
        // Without the form token nothing is filed.
        let r = t.client().post(t.url("/requests/new")).form(&form[1..]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        t.stop().await;
    }
}
