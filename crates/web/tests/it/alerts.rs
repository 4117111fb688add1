//! Alerts and notification outbox over HTTP on both backends: draft → approve (four-eyes) →
//! CAP 1.2 issue, CAP URLs and feed, cancel, scoping, bad input, intake, and delivery through
//! the outbox (in-app, webhook with HMAC and retries, SMS gateway, crash recovery).

use super::{apps, TestApp};
use axum::routing::post;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tongxin_store::registry::{insert_households, NewHousehold};

const STREET: &str = "320508018000";
const CHANNELS: [&str; 4] = ["inapp", "email", "webhook", "sms"];
const WUZHONG_STREET: &str = "320506001000";

fn draft(colour: &str, divisions: &[&str]) -> Value {
    let now = tongxin_store::now_ms();
    json!({
        "category": "Met", "event": "暴雨", "colour": colour, "headline": format!("{colour} 暴雨预警"),
        "description": "预计未来 6 小时有强降雨", "instruction": "减少外出",
        "effective": now, "expires": now + 6 * 3600 * 1000,
        "area": { "divisions": divisions }
    })
}

async fn post_json(c: &reqwest::Client, csrf: &str, url: String, body: Value) -> (u16, Value) {
    let r = c.post(url).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Households in the demo street's first community (the fixture has none).
async fn add_households(t: &TestApp, n: usize) {
    let street = t.app.store.division(STREET).await.unwrap();
    let community = &t.app.store.division_children(&street.code).await.unwrap()[0];
    let grids = t.app.store.division_children(&community.code).await.unwrap();
    let g = &grids[0];
    let rows: Vec<NewHousehold> = (0..n)
        .map(|i| NewHousehold {
            grid_code: g.code.clone(),
            division_path: g.path.clone(),
            address: format!("平江路 {i} 号"),
            lon: 120.63 + i as f64 * 0.0001,
            lat: 31.32,
            members: 3,
            vulnerable: String::new(),
            contact_phone: format!("1391234{i:04}"),
        })
        .collect();
    let mut tx = t.app.store.begin().await.unwrap();
    insert_households(&mut tx, &rows).await.unwrap();
    tx.commit().await.unwrap();
    t.app.invalidate_area_index();
}

/// Delivers until nothing is due (bounded).
async fn drain(t: &TestApp) {
    let client = reqwest::Client::new();
    for _ in 0..50 {
        if t.app.deliver_batch("test-worker", &client).await.unwrap() == 0 {
            break;
        }
    }
}

async fn force_due(t: &TestApp) {
    let mut tx = t.app.store.begin().await.unwrap();
    sqlx::query("UPDATE outbox SET next_at = 0 WHERE state IN ('queued','failed')").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn draft_approve_issue_cap_feed_cancel() {
    for t in apps().await {
        add_households(&t, 5).await;
        let (shequ, sc) = t.login("shequ").await;
        let (mz, mc) = t.login("minzheng").await;

        // Preview the reach before saving: the five households of the street.
        let (s, reach) = post_json(&shequ, &sc, t.url("/api/v1/alerts/preview"), json!({"divisions": [STREET]})).await;
        assert_eq!(s, 200, "{reach}");
        assert_eq!(reach["households"], 5, "{reach}");
        assert_eq!(reach["per_division"][0]["code"], STREET);

        let (s, a) = post_json(&shequ, &sc, t.url("/api/v1/alerts"), draft("yellow", &[STREET])).await;
        assert_eq!(s, 201, "{a}");
        let id = a["alert"]["id"].as_i64().unwrap();
        assert_eq!(a["alert"]["state"], "draft");
        assert_eq!(a["reach"]["households"], 5);

        // Not public yet.
        assert_eq!(reqwest::get(t.url(&format!("/cap/{id}.xml"))).await.unwrap().status(), 404);

        let (s, a) = post_json(&shequ, &sc, t.url(&format!("/api/v1/alerts/{id}/submit")), json!({})).await;
        assert_eq!((s, a["alert"]["state"].as_str()), (200, Some("pending")), "{a}");
        // The author cannot approve (not an approver role); a second officer must.
        let (s, _) = post_json(&shequ, &sc, t.url(&format!("/api/v1/alerts/{id}/approve")), json!({})).await;
        assert_eq!(s, 403);
        let (s, a) = post_json(&mz, &mc, t.url(&format!("/api/v1/alerts/{id}/approve")), json!({})).await;
        assert_eq!(s, 200, "{a}");
        assert_eq!(a["alert"]["state"], "issued");
        let ident = a["alert"]["identifier"].as_str().unwrap().to_string();
        assert!(ident.starts_with("32050800100100_"), "{ident}");
        assert!(tongxin_cap::china::ChinaId::parse(&ident).is_ok());

        // CAP XML at a stable URL: valid CAP 1.2 and China profile; JSON; the Atom feed; the XSD.
        let xml = reqwest::get(t.url(&format!("/cap/{id}.xml"))).await.unwrap();
        assert!(xml.headers()["content-type"].to_str().unwrap().starts_with("application/cap+xml"));
        let xml = xml.text().await.unwrap();
        let cap = tongxin_cap::parse(xml.as_bytes()).expect("valid CAP");
        tongxin_cap::china::check(&cap, None).expect("China profile");
        assert_eq!(cap.identifier, ident);
        assert_eq!(cap.infos[0].parameter("预警颜色"), Some("黄色"));
        assert_eq!(cap.infos[0].areas[0].geocodes[0].value, STREET);
        let j: Value = reqwest::get(t.url(&format!("/cap/{id}.json"))).await.unwrap().json().await.unwrap();
        assert_eq!(j["identifier"], ident.as_str());
        let feed = reqwest::get(t.url("/cap/feed.atom")).await.unwrap().text().await.unwrap();
        assert!(feed.contains(&ident) && feed.contains(&format!("/cap/{id}.xml")), "{feed}");
        let xsd = reqwest::get(t.url("/cap/CAP-v1.2.xsd")).await.unwrap().text().await.unwrap();
        assert!(xsd.contains("urn:oasis:names:tc:emergency:cap:1.2"));

        // Public page lists it for the street and for the city; not for Wuzhong.
        let page =
            reqwest::get(t.url(&format!("/public/alerts?division={STREET}"))).await.unwrap().text().await.unwrap();
        assert!(page.contains("yellow 暴雨预警"), "public page");
        let other =
            reqwest::get(t.url("/public/alerts/list?division=320506000000")).await.unwrap().text().await.unwrap();
        assert!(!other.contains("yellow 暴雨预警"));
        // A public live event was written in the issuing transaction.
        let ev = t.app.store.events_after(0, 1000).await.unwrap();
        assert!(ev.iter().any(|e| e.topic == "alert" && e.kind == "issued" && e.public));

        // Deliveries were queued in the same transaction: SMS per household, in-app to the accounts in the street.
        let counts = t.app.store.outbox_counts("alert", id).await.unwrap();
        let n = |ch: &str| counts.iter().filter(|c| c.channel == ch).map(|c| c.n).sum::<i64>();
        assert_eq!(n("sms"), 5, "{counts:?}");
        assert!(n("inapp") >= 3, "shequ, wangge, jumin… {counts:?}");
        drain(&t).await;
        let jumin = t.app.store.user_by_username("jumin").await.unwrap();
        let inbox = t.app.store.notifications_of(jumin.id, 10).await.unwrap();
        assert!(inbox.iter().any(|n| n.title_zh.contains("黄色预警")), "{inbox:?}");
        // No SMS gateway configured: the SMS deliveries failed and are scheduled for retry, none lost.
        let msgs = t.app.store.outbox_list(Some(("alert", id)), &["failed"], 100).await.unwrap();
        assert_eq!(msgs.iter().filter(|m| m.channel == "sms").count(), 5);
        assert!(msgs[0].last_error.contains("SMS"), "{}", msgs[0].last_error);

        // Cancel: a Cancel message referencing the original; the original is cancelled and leaves the public list.
        let (s, c) =
            post_json(&shequ, &sc, t.url(&format!("/api/v1/alerts/{id}/cancel")), json!({"note": "雨势减弱"})).await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["alert"]["msg_type"], "Cancel");
        let cid = c["alert"]["id"].as_i64().unwrap();
        let cx = reqwest::get(t.url(&format!("/cap/{cid}.xml"))).await.unwrap().text().await.unwrap();
        let ccap = tongxin_cap::parse(cx.as_bytes()).unwrap();
        assert_eq!(ccap.msg_type, tongxin_cap::MsgType::Cancel);
        assert_eq!(ccap.references[0].identifier, ident);
        let (_, orig) =
            (0, shequ.get(t.url(&format!("/api/v1/alerts/{id}"))).send().await.unwrap().json::<Value>().await.unwrap());
        assert_eq!(orig["alert"]["state"], "cancelled");
        let list =
            reqwest::get(t.url(&format!("/public/alerts/list?division={STREET}"))).await.unwrap().text().await.unwrap();
        let (in_force, lifted) = list.split_once("lifted-alerts").expect("a lifted list");
        assert!(!in_force.contains("yellow 暴雨预警"), "cancelled alert still listed as in force");
        assert!(
            lifted.contains("解除：yellow 暴雨预警") && lifted.contains("雨势减弱"),
            "the all-clear is shown: {lifted}"
        );
        // Cancelling twice is refused.
        let (s, _) = post_json(&shequ, &sc, t.url(&format!("/api/v1/alerts/{id}/cancel")), json!({})).await;
        assert_eq!(s, 409);
        // Audit trail holds the steps.
        let audit = t.app.store.count_rows("audit_log").await.unwrap();
        assert!(audit > 5);
        t.stop().await;
    }
}

#[tokio::test]
async fn scoping_and_bad_input() {
    for t in apps().await {
        let (cmd, cc) = t.login("commander").await;
        let (mz, mc) = t.login("minzheng").await;
        // A Wuzhong alert drafted by the city commander is invisible to the Gusu officer: 404.
        let (s, a) = post_json(&cmd, &cc, t.url("/api/v1/alerts"), draft("blue", &[WUZHONG_STREET])).await;
        assert_eq!(s, 201, "{a}");
        let id = a["alert"]["id"].as_i64().unwrap();
        post_json(&cmd, &cc, t.url(&format!("/api/v1/alerts/{id}/submit")), json!({})).await;
        assert_eq!(mz.get(t.url(&format!("/api/v1/alerts/{id}"))).send().await.unwrap().status(), 404);
        let (s, _) = post_json(&mz, &mc, t.url(&format!("/api/v1/alerts/{id}/approve")), json!({})).await;
        assert_eq!(s, 404);
        let list: Value = mz.get(t.url("/api/v1/alerts")).send().await.unwrap().json().await.unwrap();
        assert!(list.as_array().unwrap().iter().all(|a| a["alert"]["id"] != id));
        // The Gusu officer cannot target Wuzhong.
        let (s, e) = post_json(&mz, &mc, t.url("/api/v1/alerts"), draft("blue", &[WUZHONG_STREET])).await;
        assert_eq!(s, 422, "{e}");
        // The commander cannot approve their own alert (four-eyes).
        let (s, e) = post_json(&cmd, &cc, t.url(&format!("/api/v1/alerts/{id}/approve")), json!({})).await;
        assert_eq!(s, 409, "{e}");

        // No area; expires before effective; polygon given as (lat, lon); unknown colour — clear errors, nothing saved.
        let before = t.app.store.count_rows("alerts").await.unwrap();
        let mut d = draft("red", &[]);
        let (s, e) = post_json(&mz, &mc, t.url("/api/v1/alerts"), d.clone()).await;
        assert_eq!(s, 422);
        assert!(e.to_string().contains("area"), "{e}");
        d["area"] = json!({"divisions": [STREET]});
        d["expires"] = json!(d["effective"].as_i64().unwrap() - 1000);
        let (s, e) = post_json(&mz, &mc, t.url("/api/v1/alerts"), d.clone()).await;
        assert_eq!(s, 422);
        assert!(e.to_string().contains("expires"), "{e}");
        let mut d = draft("red", &[]);
        d["area"] = json!({"polygon": [[31.30, 120.60], [31.30, 120.62], [31.32, 120.62], [31.30, 120.60]]});
        let (s, e) = post_json(&mz, &mc, t.url("/api/v1/alerts"), d).await;
        assert_eq!(s, 422, "{e}");
        assert!(e.to_string().to_lowercase().contains("swapped") || e.to_string().contains("颠倒"), "{e}");
        let (s, _) = post_json(&mz, &mc, t.url("/api/v1/alerts"), draft("purple", &[STREET])).await;
        assert_eq!(s, 422);
        assert_eq!(t.app.store.count_rows("alerts").await.unwrap(), before);
        t.stop().await;
    }
}

fn sample_alert(ident_seq: u32, msg: &str) -> tongxin_cap::Alert {
    let issuer = tongxin_cap::china::IssuerCode::new("320500", "002", "001", "00").unwrap();
    let sent = tongxin_app::alerts::cap_time(1_795_000_000_000);
    let id = tongxin_cap::china::ChinaId::generate(issuer, sent, ident_seq);
    let mut a = tongxin_cap::china::new_alert(&id, "weather@example.cn");
    a.msg_type = tongxin_cap::MsgType::from_cap(msg).unwrap();
    let mut info = tongxin_cap::china::new_info(
        tongxin_cap::Category::Met,
        "大风",
        tongxin_cap::china::WarningColour::Orange,
        tongxin_cap::Urgency::Expected,
        tongxin_cap::Certainty::Likely,
    );
    info.headline = Some("苏州市大风橙色预警".into());
    info.expires = Some(tongxin_app::alerts::cap_time(tongxin_store::now_ms() + 3_600_000));
    let mut area = tongxin_cap::Area::new("苏州市");
    area.geocodes.push(tongxin_cap::NameValue::new("行政区划代码", "320508000000"));
    info.areas.push(area);
    a.infos.push(info);
    a
}

fn sample_cap(ident_seq: u32, msg: &str) -> String {
    tongxin_cap::write(&sample_alert(ident_seq, msg))
}

#[tokio::test]
async fn cap_intake_duplicates_and_rejections() {
    for t in apps().await {
        let admin = t.app.store.user_by_username("admin").await.unwrap();
        let actor = tongxin_app::auth::actor_of(&admin).unwrap();
        let token = t.app.create_api_token(&Default::default(), &actor, "weather", None).await.unwrap();
        let c = reqwest::Client::new();
        let send = |body: String| {
            c.post(t.url("/api/v1/cap/intake"))
                .bearer_auth(&token)
                .header("content-type", "application/cap+xml")
                .body(body)
                .send()
        };
        let xml = sample_cap(1, "Alert");
        let r = send(xml.clone()).await.unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        let id = v["id"].as_i64().unwrap();
        // Same sender, identifier, sent: ignored.
        let r = send(xml).await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!((v["result"].as_str(), v["id"].as_i64()), (Some("duplicate"), Some(id)));
        // It shows in the public list for Gusu.
        let list =
            reqwest::get(t.url("/public/alerts/list?division=320508000000")).await.unwrap().text().await.unwrap();
        assert!(list.contains("苏州市大风橙色预警"));
        // Invalid: refused with the codec's errors and kept.
        let r = send("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier></alert>".into())
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        assert!(!v["errors"].as_array().unwrap().is_empty(), "{v}");
        // Oversized.
        let big = format!("<alert>{}</alert>", "x".repeat(tongxin_app::alerts::MAX_CAP_BYTES + 10));
        let r = send(big).await.unwrap();
        assert!(r.status() == 422 || r.status() == 413, "{}", r.status());
        let rej = t.app.store.alerts_rejected(10).await.unwrap();
        assert!(!rej.is_empty());
        // A resident's token may not feed alerts.
        let jumin = tongxin_app::auth::actor_of(&t.app.store.user_by_username("jumin").await.unwrap()).unwrap();
        let tok2 = t.app.create_api_token(&Default::default(), &jumin, "x", None).await.unwrap();
        let r =
            c.post(t.url("/api/v1/cap/intake")).bearer_auth(&tok2).body(sample_cap(2, "Alert")).send().await.unwrap();
        assert_eq!(r.status(), 403);
        // A Cancel referencing it cancels it.
        let mut cancel = sample_alert(3, "Cancel");
        let orig = tongxin_cap::parse(sample_cap(1, "Alert").as_bytes()).unwrap();
        cancel.references.push(tongxin_cap::Reference {
            sender: orig.sender,
            identifier: orig.identifier,
            sent: orig.sent,
        });
        let r = send(tongxin_cap::write(&cancel)).await.unwrap();
        assert_eq!(r.status(), 201);
        let list =
            reqwest::get(t.url("/public/alerts/list?division=320508000000")).await.unwrap().text().await.unwrap();
        assert!(!list.contains("苏州市大风橙色预警"), "cancelled by intake");
        t.stop().await;
    }
}

/// A local webhook receiver: fails the first `fail` requests with 500, records the rest.
async fn receiver(fail: usize, delay: Duration) -> (String, Arc<Mutex<Vec<(String, String, String, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (s2, c2) = (seen.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/hook",
        post(move |h: axum::http::HeaderMap, body: String| {
            let (seen, calls) = (s2.clone(), c2.clone());
            async move {
                tokio::time::sleep(delay).await;
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let g = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                seen.lock().unwrap().push((
                    g("idempotency-key"),
                    g("x-tongxin-timestamp"),
                    g("x-tongxin-signature"),
                    body,
                ));
                if n < fail {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn webhook_signed_retried_and_timeouts() {
    for t in apps().await {
        let (url, seen) = receiver(2, Duration::ZERO).await;
        let (cmd, cc) = t.login("commander").await;
        let secret = "0123456789abcdef-secret";
        let (s, e) = post_json(
            &cmd,
            &cc,
            t.url("/api/v1/outbox/endpoints"),
            json!({"name": "区应急局", "url": url, "secret": secret, "kinds": "alert."}),
        )
        .await;
        assert_eq!(s, 201, "{e}");
        let (s, _) = post_json(
            &cmd,
            &cc,
            t.url("/api/v1/outbox/endpoints"),
            json!({"name": "x", "url": "ftp://x", "secret": "short"}),
        )
        .await;
        assert_eq!(s, 422);
        // Blue needs no second officer when configured so: issue directly.
        *t.app.alerts.four_eyes.write().unwrap() = Some(tongxin_domain::alerts::FourEyes::parse("red,orange").unwrap());
        let (_, a) = post_json(&cmd, &cc, t.url("/api/v1/alerts"), draft("blue", &[STREET])).await;
        let id = a["alert"]["id"].as_i64().unwrap();
        let (s, a) = post_json(&cmd, &cc, t.url(&format!("/api/v1/alerts/{id}/submit")), json!({})).await;
        assert_eq!((s, a["alert"]["state"].as_str()), (200, Some("issued")), "{a}");
        for _ in 0..3 {
            drain(&t).await;
            force_due(&t).await;
        }
        let got = seen.lock().unwrap().clone();
        assert_eq!(got.len(), 3, "two 500s then success");
        assert!(got.iter().all(|g| g.0 == got[0].0 && g.0 == format!("alert:{id}:webhook:1")), "same idempotency key");
        let (_, ts, sig, body) = &got[2];
        let expect = tongxin_app::outbox::sign(secret, ts.parse().unwrap(), body);
        assert_eq!(sig, &format!("sha256={expect}"));
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["id"], id);
        let d: Value =
            cmd.get(t.url(&format!("/api/v1/alerts/{id}/deliveries"))).send().await.unwrap().json().await.unwrap();
        let webhook_sent =
            d["counts"].as_array().unwrap().iter().any(|c| c["channel"] == "webhook" && c["state"] == "sent");
        assert!(webhook_sent, "{d}");
        let retried = d["log"].as_array().unwrap().iter().filter(|l| l["status"] == "retried").count();
        assert_eq!(retried, 2, "{d}");

        // A hanging endpoint: the attempt times out and is retried later, nothing lost.
        let (slow, slow_seen) = receiver(0, Duration::from_secs(3)).await;
        let mut cfg = t.app.channel_config();
        cfg.http_timeout = Duration::from_millis(300);
        t.app.set_channel_config(cfg);
        let mut tx = t.app.store.begin().await.unwrap();
        tongxin_store::outbox::insert_endpoint(&mut tx, "slow", &slow, secret, "alert.", "").await.unwrap();
        tx.commit().await.unwrap();
        let (_, a) = post_json(&cmd, &cc, t.url("/api/v1/alerts"), draft("blue", &[STREET])).await;
        let id2 = a["alert"]["id"].as_i64().unwrap();
        post_json(&cmd, &cc, t.url(&format!("/api/v1/alerts/{id2}/submit")), json!({})).await;
        let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
        t.app.deliver_batch("w", &client).await.unwrap();
        let msgs = t.app.store.outbox_list(Some(("alert", id2)), &["failed"], 10).await.unwrap();
        let m = msgs.iter().find(|m| m.channel == "webhook" && m.recipient == "2").expect("timed-out webhook failed");
        assert!(m.last_error.contains("timed out"), "{}", m.last_error);
        assert!(m.next_at > tongxin_store::now_ms());
        drop(slow_seen);
        // The dead-letter view and operator retry.
        let mut tx = t.app.store.begin().await.unwrap();
        sqlx::query("UPDATE outbox SET state = 'dead' WHERE id = $1").bind(m.id).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let dl: Value = cmd.get(t.url("/api/v1/outbox?state=dead")).send().await.unwrap().json().await.unwrap();
        assert!(dl.as_array().unwrap().iter().any(|x| x["id"] == m.id));
        let r = cmd
            .post(t.url(&format!("/api/v1/outbox/{}/retry", m.id)))
            .header("x-csrf-token", &cc)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(t.app.store.outbox_message(m.id).await.unwrap().state, "queued");
        t.stop().await;
    }
}

#[tokio::test]
async fn sms_gateway_and_crash_recovery() {
    for t in apps().await {
        add_households(&t, 4).await;
        let (url, seen) = receiver(0, Duration::ZERO).await;
        let mut cfg = t.app.channel_config();
        cfg.sms_url = Some(url);
        cfg.lease_ms = 200;
        t.app.set_channel_config(cfg);
        let (cmd, cc) = t.login("commander").await;
        let (mz, mc) = t.login("minzheng").await;
        let mut d = draft("red", &[STREET]);
        d["headline"] = json!("红色预警 SMS");
        let (_, a) = post_json(&mz, &mc, t.url("/api/v1/alerts"), d).await;
        let id = a["alert"]["id"].as_i64().unwrap();
        post_json(&mz, &mc, t.url(&format!("/api/v1/alerts/{id}/submit")), json!({})).await;
        let (s, _) = post_json(&cmd, &cc, t.url(&format!("/api/v1/alerts/{id}/approve")), json!({})).await;
        assert_eq!(s, 200);
        // A worker claims everything and dies before finishing (kill -9): nothing is marked sent.
        let claimed = tongxin_store::outbox::claim(&t.app.store, "dead-worker", &CHANNELS, 1000, 200).await.unwrap();
        assert!(claimed.iter().filter(|m| m.channel == "sms").count() == 4);
        // While the lease runs, another worker gets none of them (on PostgreSQL: SKIP LOCKED + lease).
        let other = tongxin_store::outbox::claim(&t.app.store, "w2", &CHANNELS, 1000, 200).await.unwrap();
        assert!(other.is_empty());
        // After the lease (or, on SQLite, the restart releasing leases) the messages go out.
        if t.app.store.backend() == tongxin_store::Backend::Sqlite {
            tongxin_store::outbox::release_all_leases(&t.app.store).await.unwrap();
        } else {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        drain(&t).await;
        let got = seen.lock().unwrap().clone();
        assert_eq!(got.len(), 4, "one SMS per household");
        assert!(got.iter().all(|g| g.3.contains("红色预警 SMS") && g.3.contains("\"to\":\"1391234")), "{got:?}");
        let keys: std::collections::HashSet<_> = got.iter().map(|g| g.0.clone()).collect();
        assert_eq!(keys.len(), 4);
        // The dead worker's late finish does not overwrite anything (it no longer holds the lease).
        let results: Vec<_> =
            claimed.iter().map(|m| (m.id, tongxin_store::outbox::Outcome::Dead { error: "late".into() })).collect();
        let mut tx = t.app.store.begin().await.unwrap();
        tongxin_store::outbox::finish(&mut tx, "dead-worker", &results).await.unwrap();
        tx.commit().await.unwrap();
        let counts = t.app.store.outbox_counts("alert", id).await.unwrap();
        assert!(counts.iter().all(|c| c.state == "sent"), "{counts:?}");
        t.stop().await;
    }
}

#[tokio::test]
async fn pages_render() {
    for t in apps().await {
        let (c, csrf) = t.login("shequ").await;
        let r = c.get(t.url("/alerts/new")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        // Draft through the page form.
        let form = [
            ("_csrf", csrf.as_str()),
            ("category", "Met"),
            ("event", "暴雨"),
            ("colour", "yellow"),
            ("headline", "页面起草的黄色预警"),
            ("hours", "6"),
            ("divisions", STREET),
            ("action", "save"),
        ];
        let r = c.post(t.url("/alerts/new")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let page = c.get(t.url(&loc)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("页面起草的黄色预警") && page.contains("submit-alert"));
        let list = c.get(t.url("/alerts")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("页面起草的黄色预警"));
        // Missing form CSRF is refused.
        let r = c.post(t.url("/alerts/new")).form(&[("event", "x")]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        // Public page without login.
        let r = reqwest::get(t.url("/public/alerts")).await.unwrap();
        assert_eq!(r.status(), 200);
        t.stop().await;
    }
}

/// A webhook receiver that hangs (longer than the client's timeout) on its first `hang` calls and
/// answers 500 on the next `fail`; records (idempotency key, worker header) of every call.
async fn flaky_receiver(hang: usize, fail: usize) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (s2, c2) = (seen.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/hook",
        post(move |h: axum::http::HeaderMap, _body: String| {
            let (seen, calls) = (s2.clone(), c2.clone());
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let g = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                if n < hang {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    return axum::http::StatusCode::OK;
                }
                seen.lock().unwrap().push((g("idempotency-key"), g("x-worker")));
                if n < hang.saturating_add(fail) {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen)
}

async fn webhook_message(t: &TestApp, url: &str, key: &str) -> i64 {
    let mut tx = t.app.store.begin().await.unwrap();
    let ep =
        tongxin_store::outbox::insert_endpoint(&mut tx, "ep", url, "0123456789abcdef-secret", "", "").await.unwrap();
    let m = tongxin_store::outbox::NewMessage {
        channel: "webhook".into(),
        recipient: ep.to_string(),
        kind: "alert.alert".into(),
        ref_type: "test".into(),
        ref_id: Some(1),
        idempotency_key: key.into(),
        body: "{\"n\":1}".into(),
        not_before: 0,
        ..Default::default()
    };
    tongxin_store::outbox::enqueue(&mut tx, &[m]).await.unwrap();
    tx.commit().await.unwrap();
    t.app.store.outbox_list(Some(("test", 1)), &[], 10).await.unwrap()[0].id
}

#[tokio::test]
async fn webhook_hang_then_retry_with_backoff_and_500_to_dead_letter() {
    for t in apps().await {
        let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
        // Hangs once: the attempt times out, is retried after the backoff, then delivered.
        let (url, seen) = flaky_receiver(1, 0).await;
        let id = webhook_message(&t, &url, "hang:1").await;
        let t0 = tongxin_store::now_ms();
        assert_eq!(t.app.deliver_batch("w", &client).await.unwrap(), 1);
        let m = t.app.store.outbox_message(id).await.unwrap();
        assert_eq!((m.state.as_str(), m.attempts), ("failed", 1));
        assert!(m.last_error.contains("timed out"), "{}", m.last_error);
        let wait = m.next_at - t0;
        assert!((1500..=3000).contains(&wait), "first retry after ~2 s, got {wait} ms");
        // Not due yet: nothing is claimed.
        assert_eq!(t.app.deliver_batch("w", &client).await.unwrap(), 0);
        force_due(&t).await;
        assert_eq!(t.app.deliver_batch("w", &client).await.unwrap(), 1);
        let m = t.app.store.outbox_message(id).await.unwrap();
        assert_eq!((m.state.as_str(), m.attempts), ("sent", 2));
        assert_eq!(seen.lock().unwrap().iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), vec!["hang:1"]);

        // Always 500: retried with growing delays, then dead-lettered; kept and retryable.
        let (url, seen) = flaky_receiver(0, usize::MAX).await;
        let id = webhook_message(&t, &url, "fail:1").await;
        let mut delays = Vec::new();
        for _ in 0..tongxin_domain::alerts::MAX_ATTEMPTS {
            let before = tongxin_store::now_ms();
            assert_eq!(t.app.deliver_batch("w", &client).await.unwrap(), 1);
            let m = t.app.store.outbox_message(id).await.unwrap();
            if m.state == "failed" {
                delays.push(m.next_at - before);
            }
            force_due(&t).await;
        }
        let m = t.app.store.outbox_message(id).await.unwrap();
        assert_eq!((m.state.as_str(), m.attempts), ("dead", tongxin_domain::alerts::MAX_ATTEMPTS));
        assert!(m.last_error.contains("HTTP 500"), "{}", m.last_error);
        assert_eq!(delays.len() as i64, tongxin_domain::alerts::MAX_ATTEMPTS - 1);
        assert!(delays.windows(2).all(|w| w[1] > w[0]), "backoff grows: {delays:?}");
        assert_eq!(seen.lock().unwrap().len() as i64, tongxin_domain::alerts::MAX_ATTEMPTS);
        assert!(seen.lock().unwrap().iter().all(|s| s.0 == "fail:1"), "one idempotency key for every attempt");
        // A dead message is not claimed again until an operator puts it back.
        assert_eq!(t.app.deliver_batch("w", &client).await.unwrap(), 0);
        let (cmd, cc) = t.login("commander").await;
        let dl: Value = cmd.get(t.url("/api/v1/outbox?state=dead")).send().await.unwrap().json().await.unwrap();
        assert!(dl.as_array().unwrap().iter().any(|x| x["id"] == id && x["attempts"] == 8), "{dl}");
        let r =
            cmd.post(t.url(&format!("/api/v1/outbox/{id}/retry"))).header("x-csrf-token", &cc).send().await.unwrap();
        assert_eq!(r.status(), 204);
        let m = t.app.store.outbox_message(id).await.unwrap();
        assert_eq!((m.state.as_str(), m.attempts), ("queued", 0));
        t.stop().await;
    }
}

#[tokio::test]
async fn drawn_areas_outside_china_or_swapped_are_refused() {
    for t in apps().await {
        let (mz, mc) = t.login("minzheng").await;
        let before = t.app.store.count_rows("alerts").await.unwrap();
        let cases = [
            // (lat, lon) with both numbers in range: read as lon,lat it lies in Central Asia; swapped it is Suzhou-ish.
            (json!({"polygon": [[31.30, 80.0], [31.32, 80.0], [31.32, 80.02]]}), "area.swapped", "swapped", "颠倒"),
            // Paris: outside China, and not a swap.
            (
                json!({"polygon": [[2.35, 48.85], [2.36, 48.85], [2.36, 48.86]]}),
                "area.outside_china",
                "outside China",
                "不在中国境内",
            ),
            (json!({"circle": {"lon": 31.31, "lat": 120.62, "radius_m": 1000}}), "", "swapped", "颠倒"),
            (json!({"circle": {"lon": 120.62, "lat": 31.31, "radius_m": -5}}), "", "", ""),
        ];
        for (area, rule, en, zh) in cases {
            let mut d = draft("yellow", &[]);
            d["area"] = area.clone();
            for (lang, word) in [("en", en), ("zh-CN", zh)] {
                let r = mz
                    .post(t.url("/api/v1/alerts"))
                    .header("x-csrf-token", &mc)
                    .header("accept-language", lang)
                    .json(&d)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 422, "{area}");
                assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
                let e: Value = r.json().await.unwrap();
                assert!(e.to_string().contains(word), "{lang} {area}: {e}");
                if !rule.is_empty() {
                    assert!(e.to_string().contains(rule), "{e}");
                }
            }
            // The preview refuses it the same way.
            let (s, _) = post_json(&mz, &mc, t.url("/api/v1/alerts/preview"), area).await;
            assert_eq!(s, 422);
        }
        assert_eq!(t.app.store.count_rows("alerts").await.unwrap(), before, "nothing saved");
        t.stop().await;
    }
}

#[tokio::test]
async fn oversized_cap_is_refused_as_problem_json_in_both_languages() {
    for t in apps().await {
        let admin = t.app.store.user_by_username("admin").await.unwrap();
        let actor = tongxin_app::auth::actor_of(&admin).unwrap();
        let token = t.app.create_api_token(&Default::default(), &actor, "feed", None).await.unwrap();
        let c = reqwest::Client::new();
        let big = format!("<alert>{}</alert>", "雨".repeat(tongxin_app::alerts::MAX_CAP_BYTES / 3 + 10));
        let before = t.app.store.alerts_rejected(100).await.unwrap().len();
        for (lang, title, word) in [("zh-CN", "CAP 消息过大", "上限"), ("en", "CAP message too large", "limit")] {
            let r = c
                .post(t.url("/api/v1/cap/intake"))
                .bearer_auth(&token)
                .header("accept-language", lang)
                .header("content-type", "application/cap+xml")
                .body(big.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 413);
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["title"], title, "{v}");
            assert!(v["detail"].as_str().unwrap().contains(word), "{v}");
            assert!(v["errors"][0]["zh"].as_str().unwrap().contains("过大"));
            assert!(v["errors"][0]["en"].as_str().unwrap().contains("too large"));
        }
        // Kept in the rejected list, nothing stored as an alert.
        assert_eq!(t.app.store.alerts_rejected(100).await.unwrap().len(), before + 2);
        // Far beyond the limit: refused before reading, still problem+json.
        let huge = "x".repeat(tongxin_app::alerts::MAX_CAP_BYTES * 5);
        let r = c
            .post(t.url("/api/v1/cap/intake"))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["title"], "CAP message too large");
        assert_eq!(t.app.store.count_rows("alerts").await.unwrap(), 0);
        t.stop().await;
    }
}

/// Two nodes (two App instances with their own pools) on one database run delivery workers at
/// the same time: every message reaches the receiver exactly once, none is lost. On PostgreSQL
/// the claim locks rows FOR UPDATE SKIP LOCKED; SQLite has one writer (one node owns the file,
/// so there the two workers run in one App).
#[tokio::test]
async fn two_nodes_deliver_each_message_exactly_once() {
    for t in apps().await {
        let node_b = if t.app.store.backend() == tongxin_store::Backend::Postgres {
            let b = t.second_node().await;
            let app = b.app.clone();
            Some((b, app))
        } else {
            None
        };
        let (url, seen) = flaky_receiver(0, 0).await;
        let mut tx = t.app.store.begin().await.unwrap();
        let ep = tongxin_store::outbox::insert_endpoint(&mut tx, "ep", &url, "0123456789abcdef-secret", "", "")
            .await
            .unwrap();
        let n = 2000;
        let msgs: Vec<_> = (0..n)
            .map(|i| tongxin_store::outbox::NewMessage {
                channel: "webhook".into(),
                recipient: ep.to_string(),
                kind: "alert.alert".into(),
                ref_type: "two-nodes".into(),
                ref_id: Some(1),
                idempotency_key: format!("two:{i}"),
                body: format!("{{\"n\":{i}}}"),
                not_before: 0,
                ..Default::default()
            })
            .collect();
        assert_eq!(tongxin_store::outbox::enqueue(&mut tx, &msgs).await.unwrap(), n);
        tx.commit().await.unwrap();
        let app_b = node_b.as_ref().map(|b| b.1.clone()).unwrap_or_else(|| t.app.clone());
        let mut handles = Vec::new();
        for (name, app) in [("node-a", t.app.clone()), ("node-b", app_b)] {
            let mut cfg = app.channel_config();
            cfg.batch = 50;
            app.set_channel_config(cfg);
            handles.push(tokio::spawn(async move {
                let mut h = reqwest::header::HeaderMap::new();
                h.insert("x-worker", name.parse().unwrap());
                let client = reqwest::Client::builder().default_headers(h).build().unwrap();
                let mut idle = 0;
                while idle < 3 {
                    match app.deliver_batch(name, &client).await {
                        Ok(0) => {
                            idle += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Ok(_) => idle = 0,
                        Err(e) => panic!("{name}: {e:?}"),
                    }
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let got = seen.lock().unwrap().clone();
        let mut per_key = std::collections::HashMap::<String, usize>::new();
        for (k, _) in &got {
            *per_key.entry(k.clone()).or_default() += 1;
        }
        assert_eq!(per_key.len(), n as usize, "every message delivered");
        assert!(per_key.values().all(|&c| c == 1), "no message delivered twice");
        let by_a = got.iter().filter(|g| g.1 == "node-a").count();
        let by_b = got.iter().filter(|g| g.1 == "node-b").count();
        assert!(by_a > 0 && by_b > 0, "both nodes delivered: {by_a} + {by_b}");
        let counts = t.app.store.outbox_counts("two-nodes", 1).await.unwrap();
        assert_eq!(counts.len(), 1, "{counts:?}");
        assert_eq!((counts[0].state.as_str(), counts[0].n), ("sent", n as i64));
        if let Some((b, _)) = node_b {
            b.stop().await;
        }
        t.stop().await;
    }
}
