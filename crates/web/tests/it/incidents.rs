//! Incidents, mobilisation, tasks and dispatch over HTTP on every backend: the main flow
//! (report → raise level → standby notice → answer → task → offer → accept → check-in/out →
//! hours and 1-3-5-10), jurisdiction scoping by id, duplicates and merging, and the races
//! (two officers confirming the same pick, a late accept, double booking, head count 0,
//! check-in outside the geofence).

use super::{apps, TestApp};
use serde_json::{json, Value};
use tongxin_store::registry::{insert_volunteers, NewVolunteer};

/// An insured first-aider available now in `street`, unlocated and without organisation or
/// account; `tag` makes its ID and phone hashes unique.
fn gusu_volunteer(street: &tongxin_store::divisions::Division, name: &str, tag: &str) -> NewVolunteer {
    NewVolunteer {
        name: name.into(),
        id_hash: format!("idhash-{tag}"),
        id_enc: String::new(),
        phone_enc: String::new(),
        phone_hash: format!("ph-{tag}"),
        birth_year: 1990,
        real_name: true,
        division_code: street.code.clone(),
        division_path: street.path.clone(),
        lon: None,
        lat: None,
        skills: "first_aid".into(),
        insured: true,
        org_id: None,
        weekly: String::new(),
        available_now: true,
        cert_kinds: String::new(),
        user_id: None,
    }
}

/// Adds located, insured, available volunteers of organisation 1 in Gusu; the first is the
/// demo volunteer account `zhiyuan`. Returns their ids in order.
async fn volunteers(t: &TestApp, n: usize) -> Vec<i64> {
    let app = &t.app;
    let zhiyuan = app.store.user_by_username("zhiyuan").await.unwrap().id;
    let street = app.store.division(tongxin_app::seed::DEMO_STREET).await.unwrap();
    let rows: Vec<NewVolunteer> = (0..n)
        .map(|k| NewVolunteer {
            lon: Some(120.6335 + k as f64 * 0.002),
            lat: Some(31.3172),
            org_id: Some(1),
            user_id: if k == 0 { Some(zhiyuan) } else { None },
            ..gusu_volunteer(&street, &format!("志愿者{k}"), &format!("{k}"))
        })
        .collect();
    let mut tx = app.store.begin().await.unwrap();
    insert_volunteers(&mut tx, &rows, 0).await.unwrap();
    tx.commit().await.unwrap();
    let mut b = tongxin_store::sql::SqlBuf::new("SELECT id FROM volunteers ORDER BY id");
    let r = b.push("").query().fetch_all(app.store.reader()).await.unwrap();
    r.iter().map(|r| tongxin_store::col::<i64>(r, "id").unwrap()).collect()
}

async fn post(c: &reqwest::Client, csrf: &str, url: String, body: Value) -> (u16, Value) {
    let r = c.post(url).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(c: &reqwest::Client, url: String) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn report_body(title: &str, lon: f64, lat: f64, division: &str) -> Value {
    json!({"title": title, "category": "natural", "subtype": "rainstorm", "severity": 4, "lon": lon, "lat": lat,
           "radius_m": 300, "division_code": division})
}

#[tokio::test]
async fn report_raise_standby_answer_dispatch_accept_check_in_out_hours() {
    for t in apps().await {
        let vols = volunteers(&t, 3).await;
        let (cmd, ccsrf) = t.login("commander").await;
        let (s, _) = post(&cmd, &ccsrf, t.url("/api/v1/mobilisation-plans"), json!({"name": "内涝四级待命",
            "category": "natural", "level": 4, "domains": ["elderly"], "people": 20, "radius_m": 20000, "mode": "standby"})).await;
        assert_eq!(s, 200);
        let (s, v) = post(
            &cmd,
            &ccsrf,
            t.url("/api/v1/incidents"),
            report_body("平江路内涝", 120.6335, 31.3172, "320508018000"),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_i64().unwrap();

        // The organisation admin sees nothing before the level is raised.
        let (org, ocsrf) = t.login("zuzhi").await;
        let (_, m) = get(&org, t.url("/api/v1/mobilisations")).await;
        assert_eq!(m.as_array().unwrap().len(), 0);

        let (s, v) = post(&cmd, &ccsrf, t.url(&format!("/api/v1/incidents/{id}/level")), json!({"level": 4})).await;
        // Both fixture organisations lie at the same point, within the plan's 20 km radius.
        assert_eq!((s, v["notified"].as_i64()), (200, Some(2)), "{v}");
        let (_, m) = get(&org, t.url("/api/v1/mobilisations")).await;
        let m = &m.as_array().unwrap()[0];
        assert_eq!((m["mode"].as_str(), m["state"].as_str()), (Some("standby"), Some("notified")));
        let (_, inbox) = get(&org, t.url("/api/v1/notifications")).await;
        assert!(inbox.to_string().contains("待命通知"), "standby notice in the inbox: {inbox}");
        // The org admin may read the incident it was mobilised for.
        assert_eq!(get(&org, t.url(&format!("/api/v1/incidents/{id}"))).await.0, 200);
        let mid = m["id"].as_i64().unwrap();
        let (s, _) = post(
            &org,
            &ocsrf,
            t.url(&format!("/api/v1/mobilisations/{mid}/answer")),
            json!({"ready": true, "people": 6}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, d) = get(&cmd, t.url(&format!("/api/v1/incidents/{id}"))).await;
        let mine = d["mobilisations"].as_array().unwrap().iter().find(|m| m["org_id"] == 1).unwrap().clone();
        assert_eq!((mine["state"].as_str(), mine["answer_people"].as_i64()), (Some("ready"), Some(6)));

        // A task with head count 0 is refused, nothing saved.
        let task = |n: i64| json!({"incident_id": id, "title": "转移老人", "skill": "first_aid", "head_count": n, "lon": 120.6335, "lat": 31.3172});
        let (s, v) = post(&cmd, &ccsrf, t.url("/api/v1/tasks"), task(0)).await;
        assert_eq!(s, 422, "{v}");
        assert!(v.to_string().contains("head_count"));
        let (s, v) = post(&cmd, &ccsrf, t.url("/api/v1/tasks"), task(1)).await;
        assert_eq!(s, 201);
        let tid = v["id"].as_i64().unwrap();
        let (_, p) = get(&cmd, t.url(&format!("/api/v1/tasks/{tid}/proposal"))).await;
        assert_eq!(p["picks"][0]["volunteer_id"].as_i64(), Some(vols[0]), "nearest first: {p}");
        let (s, v) = post(&cmd, &ccsrf, t.url(&format!("/api/v1/tasks/{tid}/dispatch")), json!({})).await;
        assert_eq!((s, v["offers"].as_i64()), (200, Some(1)), "{v}");

        let (vc, vcsrf) = t.login("zhiyuan").await;
        let (_, mine) = get(&vc, t.url("/api/v1/my/assignments")).await;
        let aid = mine[0]["assignment"]["id"].as_i64().unwrap();
        assert_eq!(mine[0]["assignment"]["state"], "offered");
        let (s, _) = post(&vc, &vcsrf, t.url(&format!("/api/v1/assignments/{aid}/accept")), json!({})).await;
        assert_eq!(s, 200);
        // Accepting twice is a clear conflict.
        let (s, v) = post(&vc, &vcsrf, t.url(&format!("/api/v1/assignments/{aid}/accept")), json!({})).await;
        assert_eq!(s, 409, "{v}");
        // Check-in 7 km away is refused with the distance.
        let (s, v) = post(
            &vc,
            &vcsrf,
            t.url(&format!("/api/v1/assignments/{aid}/check-in")),
            json!({"lon": 120.70, "lat": 31.3172}),
        )
        .await;
        assert_eq!(s, 422, "{v}");
        assert!(v.to_string().contains("签到范围"), "{v}");
        let (s, _) = post(
            &vc,
            &vcsrf,
            t.url(&format!("/api/v1/assignments/{aid}/check-in")),
            json!({"lon": 120.6336, "lat": 31.3173}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, v) = post(&vc, &vcsrf, t.url(&format!("/api/v1/assignments/{aid}/check-out")), json!({})).await;
        assert_eq!(s, 200);
        assert_eq!(v["minutes"], 0);
        let (_, h) = get(&vc, t.url("/api/v1/my/hours")).await;
        assert_eq!(h.as_array().unwrap().len(), 1, "{h}");
        // The organisation admin corrects the hours with a reason; without one it is refused.
        let hid = h[0]["id"].as_i64().unwrap();
        let r = org
            .put(t.url(&format!("/api/v1/hours/{hid}")))
            .header("x-csrf-token", &ocsrf)
            .json(&json!({"minutes": 90, "reason": ""}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let r = org
            .put(t.url(&format!("/api/v1/hours/{hid}")))
            .header("x-csrf-token", &ocsrf)
            .json(&json!({"minutes": 90, "reason": "补录现场值守"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (_, h) = get(&vc, t.url("/api/v1/my/hours")).await;
        assert_eq!(h[0]["minutes"], 90);

        // 1-3-5-10: dispatched and on scene are recorded; the timeline has the whole story.
        let (_, d) = get(&cmd, t.url(&format!("/api/v1/incidents/{id}"))).await;
        assert_eq!(d["kpi"][0]["met"], true, "{}", d["kpi"]);
        assert_eq!(d["kpi"][1]["met"], true);
        let kinds: Vec<&str> = d["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        for k in
            ["reported", "level_raised", "mobilised", "mobilisation_answer", "task", "dispatched", "on_scene", "done"]
        {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        // Lowering the level stands the organisation down.
        let (s, v) = post(&cmd, &ccsrf, t.url(&format!("/api/v1/incidents/{id}/level")), json!({"level": 0})).await;
        assert_eq!((s, v["stood_down"].as_i64()), (200, Some(2)));
        let (s, _) = post(
            &org,
            &ocsrf,
            t.url(&format!("/api/v1/mobilisations/{mid}/answer")),
            json!({"ready": true, "people": 2}),
        )
        .await;
        assert_eq!(s, 409, "no answer after stand-down");
        // Pages render for each role.
        for (c, path) in [
            (&cmd, format!("/incidents/{id}")),
            (&cmd, "/incidents".into()),
            (&org, "/mobilisation".into()),
            (&vc, "/my/tasks".into()),
        ] {
            let r = c.get(t.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
        t.stop().await;
    }
}

#[tokio::test]
async fn gusu_officer_cannot_read_or_change_a_wuzhong_incident() {
    for t in apps().await {
        let (cmd, ccsrf) = t.login("commander").await;
        let (_, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/incidents"), report_body("吴中山林火情", 120.40, 31.08, "320506001000"))
                .await;
        let wz = v["id"].as_i64().unwrap();
        let (mz, mcsrf) = t.login("minzheng").await;
        assert_eq!(get(&mz, t.url(&format!("/api/v1/incidents/{wz}"))).await.0, 404);
        assert_eq!(
            post(&mz, &mcsrf, t.url(&format!("/api/v1/incidents/{wz}/level")), json!({"level": 2})).await.0,
            404
        );
        assert_eq!(mz.get(t.url(&format!("/incidents/{wz}"))).send().await.unwrap().status(), 404);
        let (_, list) = get(&mz, t.url("/api/v1/incidents")).await;
        assert!(list["items"].as_array().unwrap().iter().all(|i| i["id"] != wz));
        // A Gusu officer cannot report a Wuzhong place either.
        let (s, _) =
            post(&mz, &mcsrf, t.url("/api/v1/incidents"), report_body("越权上报", 120.40, 31.08, "320506001000")).await;
        assert_eq!(s, 422);
        t.stop().await;
    }
}

#[tokio::test]
async fn duplicates_are_suggested_and_merged_keeping_both_reporters() {
    for t in apps().await {
        let (cmd, ccsrf) = t.login("commander").await;
        let (_, a) =
            post(&cmd, &ccsrf, t.url("/api/v1/incidents"), report_body("内涝一", 120.6335, 31.3172, "320508018000"))
                .await;
        let (wc, wcsrf) = t.login("wangge").await;
        let (s, b) = post(
            &wc,
            &wcsrf,
            t.url("/api/v1/incidents"),
            json!({"title": "内涝二", "category": "natural", "subtype": "flood",
            "severity": 4, "lon": 120.634, "lat": 31.3175}),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
        assert_eq!(b_dups(&b_json(&cmd, &t, b).await), vec![a]);
        let (s, _) = post(&cmd, &ccsrf, t.url(&format!("/api/v1/incidents/{b}/merge")), json!({"into": a})).await;
        assert_eq!(s, 200);
        let (_, d) = get(&cmd, t.url(&format!("/api/v1/incidents/{a}"))).await;
        assert_eq!(d["reporters"].as_array().unwrap().len(), 2, "{}", d["reporters"]);
        let (s, _) = post(&cmd, &ccsrf, t.url(&format!("/api/v1/incidents/{b}/merge")), json!({"into": a})).await;
        assert_eq!(s, 409, "merging twice");
        t.stop().await;
    }
}

async fn b_json(c: &reqwest::Client, t: &TestApp, id: i64) -> Value {
    get(c, t.url(&format!("/api/v1/incidents/{id}/duplicates"))).await.1
}

fn b_dups(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn races_double_confirm_late_accept_and_double_booking() {
    for t in apps().await {
        let vols = volunteers(&t, 2).await;
        let (cmd, ccsrf) = t.login("commander").await;
        let (_, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/incidents"), report_body("演练", 120.6335, 31.3172, "320508018000"))
                .await;
        let id = v["id"].as_i64().unwrap();
        let mk = |n: i64| json!({"incident_id": id, "title": "值守", "head_count": n, "lon": 120.6335, "lat": 31.3172});
        let t1 = post(&cmd, &ccsrf, t.url("/api/v1/tasks"), mk(1)).await.1["id"].as_i64().unwrap();
        let t2 = post(&cmd, &ccsrf, t.url("/api/v1/tasks"), mk(1)).await.1["id"].as_i64().unwrap();
        // Two officers confirm the same pick at the same moment: exactly one wins.
        let (cmd2, ccsrf2) = t.login("minzheng").await;
        let pick = json!([{"task_id": t1, "volunteer_id": vols[0], "distance_m": 10}]);
        let (a, b) = tokio::join!(
            post(&cmd, &ccsrf, t.url("/api/v1/dispatch/confirm"), pick.clone()),
            post(&cmd2, &ccsrf2, t.url("/api/v1/dispatch/confirm"), pick.clone())
        );
        let mut codes = [a.0, b.0];
        codes.sort_unstable();
        assert_eq!(codes, [200, 409], "{a:?} {b:?}");
        // The same responder cannot hold a second task at the same time.
        let (s, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/dispatch/confirm"), json!([{"task_id": t2, "volunteer_id": vols[0]}]))
                .await;
        assert_eq!(s, 409, "{v}");
        // A slot of a full task cannot be given to a second organisation's member.
        let (s, _) =
            post(&cmd, &ccsrf, t.url("/api/v1/dispatch/confirm"), json!([{"task_id": t1, "volunteer_id": vols[1]}]))
                .await;
        assert_eq!(s, 409);
        // The offer times out; the late accept is refused and the slot is re-offered.
        let mut tx = t.app.store.begin().await.unwrap();
        tongxin_store::sql::SqlBuf::new("UPDATE task_assignments SET expires_at = 1 WHERE task_id = ")
            .int(t1)
            .query()
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (vc, vcsrf) = t.login("zhiyuan").await;
        let aid = get(&vc, t.url("/api/v1/my/assignments")).await.1[0]["assignment"]["id"].as_i64().unwrap();
        let (s, v) = post(&vc, &vcsrf, t.url(&format!("/api/v1/assignments/{aid}/accept")), json!({})).await;
        assert_eq!(s, 409, "{v}");
        assert!(v.to_string().contains("超时") || v.to_string().contains("timed out"), "{v}");
        assert_eq!(t.app.expire_offers().await.unwrap(), 1);
        let (_, d) = get(&cmd, t.url(&format!("/api/v1/tasks/{t1}"))).await;
        let states: Vec<(&str, i64)> = d["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["state"].as_str().unwrap(), a["volunteer_id"].as_i64().unwrap()))
            .collect();
        assert!(states.contains(&("expired", vols[0])), "{states:?}");
        assert!(states.contains(&("offered", vols[1])), "re-offered to the next best: {states:?}");
        t.stop().await;
    }
}

#[tokio::test]
async fn demo_seed_reports_mobilises_and_is_idempotent() {
    for t in apps().await {
        volunteers(&t, 5).await;
        t.app.seed_incidents().await.unwrap();
        t.app.seed_incidents().await.unwrap();
        assert_eq!(t.app.store.count_rows("incidents").await.unwrap(), 2);
        assert_eq!(t.app.store.count_rows("mobilisation_plans").await.unwrap(), 7);
        // The fixture organisations serve the elderly only; the flood plans call rescue forces.
        assert_eq!(t.app.store.count_rows("mobilisations").await.unwrap(), 0);
        assert_eq!(t.app.store.count_rows("task_assignments").await.unwrap(), 4, "the demo task is offered");
        t.stop().await;
    }
}

#[tokio::test]
async fn a_task_with_no_free_volunteer_in_reach_is_an_answer_not_a_server_error() {
    for t in apps().await {
        let (cmd, ccsrf) = t.login("commander").await;
        let (s, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/incidents"), report_body("无人可派", 120.6335, 31.3172, "320508018000"))
                .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_i64().unwrap();
        let body = json!({"incident_id": id, "title": "转移老人", "skill": "first_aid", "head_count": 2, "lon": 120.6335, "lat": 31.3172});
        let (s, v) = post(&cmd, &ccsrf, t.url("/api/v1/tasks"), body).await;
        assert_eq!(s, 201, "{v}");
        let tid = v["id"].as_i64().unwrap();
        let (s, p) = get(&cmd, t.url(&format!("/api/v1/tasks/{tid}/proposal"))).await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(p["picks"].as_array().unwrap().len(), 0);
        assert!(p.to_string().contains("附近没有空闲的志愿者"), "{p}");
        let (s, e) = post(&cmd, &ccsrf, t.url(&format!("/api/v1/tasks/{tid}/dispatch")), json!({})).await;
        assert_eq!(s, 409, "{e}");
        t.stop().await;
    }
}

/// `n` located, insured, available volunteers in Gusu, each with a volunteer account
/// (`mass{k}`, fixture password). Returns (volunteer id, user id) pairs in order.
async fn responders_with_accounts(t: &TestApp, n: usize) -> Vec<(i64, i64)> {
    let app = &t.app;
    let street = app.store.division(tongxin_app::seed::DEMO_STREET).await.unwrap();
    let hash = tongxin_app::auth::hash_password(super::PW).unwrap();
    let users: Vec<tongxin_store::users::NewUser> = (0..n)
        .map(|k| tongxin_store::users::NewUser {
            username: format!("mass{k}"),
            display_name: format!("队员{k}"),
            password_hash: hash.clone(),
            role: "volunteer".into(),
            division_code: None,
            division_path: None,
            org_id: None,
        })
        .collect();
    let mut tx = app.store.begin().await.unwrap();
    let uids = tongxin_store::users::create_many(&mut tx, &users).await.unwrap();
    let rows: Vec<NewVolunteer> = (0..n)
        .map(|k| NewVolunteer {
            lon: Some(120.60 + (k % 10) as f64 * 0.004),
            lat: Some(31.30 + (k / 10) as f64 * 0.004),
            skills: "first_aid,logistics".into(),
            user_id: Some(uids[k]),
            ..gusu_volunteer(&street, &format!("队员{k}"), &format!("mass-{k}"))
        })
        .collect();
    insert_volunteers(&mut tx, &rows, 0).await.unwrap();
    tx.commit().await.unwrap();
    let mut out = Vec::with_capacity(n);
    for u in uids {
        let v = tongxin_store::registry::volunteer_of_user(app.store.reader(), u).await.unwrap().unwrap();
        out.push((v, u));
    }
    out
}

async fn count(t: &TestApp, sql: &str) -> i64 {
    let r = tongxin_store::sql::SqlBuf::new(sql).query().fetch_one(t.app.store.reader()).await.unwrap();
    tongxin_store::col::<i64>(&r, "n").unwrap()
}

#[tokio::test]
async fn mass_offer_claims_all_or_nothing_and_reaches_every_responder() {
    for t in apps().await {
        let people = responders_with_accounts(&t, 70).await;
        let (cmd, ccsrf) = t.login("commander").await;
        let (_, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/incidents"), report_body("全区防汛", 120.62, 31.31, "320508018000"))
                .await;
        let id = v["id"].as_i64().unwrap();
        let mut tids = Vec::new();
        for k in 0..12 {
            // One title with quotes and a backslash, as people type them.
            let title = if k == 0 { r#"巡查点"零号" \ 东门"#.to_string() } else { format!("巡查点{k}") };
            let body = json!({"incident_id": id, "title": title, "head_count": 5,
                              "lon": 120.60 + k as f64 * 0.003, "lat": 31.31});
            let (s, v) = post(&cmd, &ccsrf, t.url("/api/v1/tasks"), body).await;
            assert_eq!(s, 201, "{v}");
            tids.push(v["id"].as_i64().unwrap());
        }
        let (s, p) = post(&cmd, &ccsrf, t.url("/api/v1/dispatch/propose"), json!({"task_ids": tids})).await;
        assert_eq!(s, 200, "{p}");
        assert_eq!((p["slots"].as_i64(), p["filled"].as_i64()), (Some(60), Some(60)), "{p}");
        let picks = p["picks"].clone();
        let first_ten = json!(picks.as_array().unwrap()[..10].to_vec());

        // One responder's phone is on the live stream while the offers go out.
        let (chosen_vol, chosen_user) = people
            .iter()
            .copied()
            .find(|(v, _)| picks.as_array().unwrap().iter().any(|p| p["volunteer_id"] == *v))
            .unwrap();
        let k = people.iter().position(|p| p.0 == chosen_vol).unwrap();
        let (phone, _) = t.login(&format!("mass{k}")).await;
        let mut sse = super::live::SseReader::new(phone.get(t.url("/events?topics=task")).send().await.unwrap());

        // Two officers confirm overlapping picks at the same moment: one wins all of its picks,
        // the other gets a clear conflict and none of its picks.
        let (cmd2, ccsrf2) = t.login("minzheng").await;
        let (a, b) = tokio::join!(
            post(&cmd, &ccsrf, t.url("/api/v1/dispatch/confirm"), picks.clone()),
            post(&cmd2, &ccsrf2, t.url("/api/v1/dispatch/confirm"), first_ten.clone())
        );
        let mut codes = [a.0, b.0];
        codes.sort_unstable();
        assert_eq!(codes, [200, 409], "{a:?} {b:?}");
        let loser = if a.0 == 409 { &a.1 } else { &b.1 };
        // Either the slot count or the unique claim stops it, depending on who read first.
        assert!(loser.to_string().contains("名额"), "clear conflict: {loser}");
        let won = if a.0 == 200 { 60 } else { 10 };
        let offers = if a.0 == 200 { a.1["offers"].as_i64() } else { b.1["offers"].as_i64() };
        assert_eq!(offers, Some(won));

        // Nothing double-booked, and everything of the winner saved with it.
        assert_eq!(count(&t, "SELECT COUNT(*) AS n FROM task_assignments WHERE live = 1").await, won);
        assert_eq!(
            count(&t, "SELECT COUNT(*) AS n FROM (SELECT volunteer_id FROM task_assignments WHERE live = 1 GROUP BY volunteer_id HAVING COUNT(*) > 1) d").await,
            0
        );
        assert_eq!(count(&t, "SELECT COUNT(*) AS n FROM notifications WHERE kind = 'task.offer'").await, won);
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) AS n FROM events WHERE topic = 'task' AND kind = 'offered' AND user_id IS NOT NULL"
            )
            .await,
            won
        );
        assert_eq!(count(&t, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'task.offer'").await, 1);
        let titles = tongxin_store::sql::SqlBuf::new("SELECT DISTINCT title_zh FROM notifications")
            .query()
            .fetch_all(t.app.store.reader())
            .await
            .unwrap();
        let titles: Vec<String> = titles.iter().map(|r| tongxin_store::col(r, "title_zh").unwrap()).collect();
        assert!(titles.contains(&r#"任务邀请：巡查点"零号" \ 东门"#.to_string()), "saved as typed: {titles:?}");
        let ten_tasks: std::collections::HashSet<i64> =
            first_ten.as_array().unwrap().iter().map(|p| p["task_id"].as_i64().unwrap()).collect();
        let tasks_won = if won == 60 { 12 } else { ten_tasks.len() as i64 };
        assert_eq!(count(&t, "SELECT COUNT(*) AS n FROM incident_timeline WHERE kind = 'dispatched'").await, tasks_won);
        let (_, d) = get(&cmd, t.url(&format!("/api/v1/incidents/{id}"))).await;
        assert_eq!(d["kpi"][0]["met"], true, "first dispatch stamped: {}", d["kpi"]);

        // The responder, if offered, sees it live, in the inbox and in their list.
        let offered_to_chosen =
            won == 60 || first_ten.as_array().unwrap().iter().any(|p| p["volunteer_id"] == chosen_vol);
        if offered_to_chosen {
            let mut got = None;
            while let Some((_, ev, data)) = sse.next(std::time::Duration::from_secs(5)).await {
                if ev == "task.offered" {
                    got = Some(data);
                    break;
                }
            }
            let data = got.expect("the offer arrives on the responder's stream");
            let row: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(row["user_id"].as_i64(), Some(chosen_user));
            let (_, inbox) = get(&phone, t.url("/api/v1/notifications")).await;
            assert!(inbox.to_string().contains("任务邀请"), "{inbox}");
            let (_, mine) = get(&phone, t.url("/api/v1/my/assignments")).await;
            assert_eq!(mine[0]["assignment"]["state"], "offered", "{mine}");
        }
        // Confirming the same picks again is a conflict, not a second booking.
        let (s, _) = post(&cmd, &ccsrf, t.url("/api/v1/dispatch/confirm"), first_ten).await;
        assert_eq!(s, 409);
        assert_eq!(count(&t, "SELECT COUNT(*) AS n FROM task_assignments WHERE live = 1").await, won);
        t.stop().await;
    }
}

#[tokio::test]
async fn an_accept_racing_the_offer_timeout_ends_in_one_state() {
    for t in apps().await {
        let vols = volunteers(&t, 1).await;
        let (cmd, ccsrf) = t.login("commander").await;
        let (_, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/incidents"), report_body("超时竞争", 120.6335, 31.3172, "320508018000"))
                .await;
        let id = v["id"].as_i64().unwrap();
        let body = json!({"incident_id": id, "title": "值守", "head_count": 1, "lon": 120.6335, "lat": 31.3172});
        let tid = post(&cmd, &ccsrf, t.url("/api/v1/tasks"), body).await.1["id"].as_i64().unwrap();
        let (s, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/dispatch/confirm"), json!([{"task_id": tid, "volunteer_id": vols[0]}]))
                .await;
        assert_eq!(s, 200, "{v}");
        let aid = v["ids"][0].as_i64().unwrap();
        // The offer runs out 150 ms from now; the accept and the timeout sweep go at that moment.
        let due = tongxin_store::now_ms() + 150;
        let mut tx = t.app.store.begin().await.unwrap();
        tongxin_store::sql::SqlBuf::new("UPDATE task_assignments SET expires_at = ")
            .int(due)
            .push(" WHERE id = ")
            .int(aid)
            .query()
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (vc, vcsrf) = t.login("zhiyuan").await;
        tokio::time::sleep(std::time::Duration::from_millis(140)).await;
        let sweep = async {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            t.app.expire_offers().await.unwrap()
        };
        let ((s, v), expired) =
            tokio::join!(post(&vc, &vcsrf, t.url(&format!("/api/v1/assignments/{aid}/accept")), json!({})), sweep);
        // Whatever the sweep had not yet done, it does now.
        let expired = expired + t.app.expire_offers().await.unwrap();
        let state = tongxin_store::incidents::get_assignment(t.app.store.reader(), aid).await.unwrap().state;
        match s {
            200 => assert_eq!((state.as_str(), expired), ("accepted", 0), "accepted, so never timed out"),
            409 => {
                assert!(v.to_string().contains("超时"), "clear timeout error: {v}");
                assert_eq!((state.as_str(), expired), ("expired", 1), "timed out exactly once");
            }
            _ => panic!("unexpected {s} {v}"),
        }
        assert_eq!(
            count(&t, "SELECT COUNT(*) AS n FROM task_assignments WHERE live = 1 AND state = 'accepted'").await,
            i64::from(s == 200)
        );
        t.stop().await;
    }
}

/// Field notes, the most frequent write (appends only: no savepoint, written with the batch's
/// COMMIT): a retry with the same Idempotency-Key gets the first entry back and adds nothing,
/// every saved note is on the timeline under the id it was answered with and in the audit
/// trail, and a note on an incident outside the writer's jurisdiction is refused and leaves
/// nothing.
#[tokio::test]
async fn field_notes_are_saved_once_and_only_in_scope() {
    use tongxin_store::incidents::timeline;
    for t in apps().await {
        let (cmd, ccsrf) = t.login("commander").await;
        let (_, v) = post(
            &cmd,
            &ccsrf,
            t.url("/api/v1/incidents"),
            report_body("平江路内涝", 120.6335, 31.3172, "320508018000"),
        )
        .await;
        let id = v["id"].as_i64().unwrap();
        let note = |key: &str, text: &str| {
            cmd.post(t.url(&format!("/api/v1/incidents/{id}/notes")))
                .header("x-csrf-token", &ccsrf)
                .header("idempotency-key", key)
                .json(&json!({ "text": text }))
                .send()
        };
        let r1: Value = note("note-1", "积水 40 厘米").await.unwrap().json().await.unwrap();
        let r2: Value = note("note-1", "积水 40 厘米").await.unwrap().json().await.unwrap();
        assert_eq!(r1["id"], r2["id"], "the retry answers with the first entry");
        let r3: Value = note("note-2", "已疏散 12 人").await.unwrap().json().await.unwrap();
        let store = &t.app.store;
        let notes: Vec<(i64, String)> = timeline(store.reader(), id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "note")
            .map(|e| (e.id, e.text_zh))
            .collect();
        assert_eq!(
            notes,
            vec![
                (r1["id"].as_i64().unwrap(), "积水 40 厘米".to_string()),
                (r3["id"].as_i64().unwrap(), "已疏散 12 人".into())
            ]
        );
        assert_eq!(store.audit_recent("incident.note", 10).await.unwrap().len(), 2);

        let (_, v) =
            post(&cmd, &ccsrf, t.url("/api/v1/incidents"), report_body("吴中山林火情", 120.40, 31.08, "320506001000"))
                .await;
        let wz = v["id"].as_i64().unwrap();
        let (mz, mcsrf) = t.login("minzheng").await;
        let (s, _) = post(&mz, &mcsrf, t.url(&format!("/api/v1/incidents/{wz}/notes")), json!({"text": "越权"})).await;
        assert_eq!(s, 404);
        assert!(timeline(store.reader(), wz).await.unwrap().iter().all(|e| e.kind != "note"));
        assert_eq!(store.audit_recent("incident.note", 10).await.unwrap().len(), 2);
        t.stop().await;
    }
}
