use super::{apps, PW};
use serde_json::{json, Value};
use tongxin_store::idempotency::KeyState;

async fn problem(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same_and_lock_out() {
    for t in apps().await {
        let c = t.client();
        let login = |u: &'static str, p: &'static str| {
            c.post(t.url("/api/v1/auth/login"))
                .header("accept-language", "en")
                .json(&json!({ "username": u, "password": p }))
                .send()
        };
        let (s1, ct, b1) = problem(login("minzheng", "wrong-pass-1").await.unwrap()).await;
        let (s2, _, b2) = problem(login("nobody-here", "wrong-pass-1").await.unwrap()).await;
        assert_eq!((s1, s2), (401, 401));
        assert_eq!(ct, "application/problem+json");
        assert_eq!(b1["detail"], b2["detail"], "same message for unknown user and wrong password");
        assert_eq!(b1["detail"], "Not logged in or invalid credentials");
        for _ in 0..4 {
            login("minzheng", "wrong-pass-1").await.unwrap();
        }
        let r = login("minzheng", PW).await.unwrap();
        assert_eq!(r.status(), 429, "locked after 5 failures, even with the right password");
        assert!(r.headers().get("retry-after").is_some());
        // Another account is not locked by it.
        assert_eq!(login("jiandu", PW).await.unwrap().status(), 200);
        t.stop().await;
    }
}

#[tokio::test]
async fn cookie_writes_need_csrf_header_bearer_does_not() {
    for t in apps().await {
        let (c, csrf) = t.login("admin").await;
        let body = json!({ "name": "监测平台" });
        let r = c.post(t.url("/api/v1/me/tokens")).json(&body).send().await.unwrap();
        let (status, _, b) = problem(r).await;
        assert_eq!(status, 403);
        assert!(b["detail"].as_str().unwrap().contains("CSRF"));
        let r = c.post(t.url("/api/v1/me/tokens")).header("x-csrf-token", &csrf).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();

        // The token acts as its account, with its scope, without cookie or CSRF.
        let fresh = reqwest::Client::new();
        let me: Value = fresh.get(t.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["username"], "admin");
        let r = fresh.post(t.url("/api/v1/me/tokens")).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let r = fresh.get(t.url("/api/v1/me")).bearer_auth("txk_not-a-token").send().await.unwrap();
        assert_eq!(r.status(), 401);
        t.stop().await;
    }
}

#[tokio::test]
async fn bad_bodies_get_problem_json() {
    for t in apps().await {
        let c = reqwest::Client::new();
        let url = t.url("/api/v1/auth/login");
        let r = c.post(&url).header("content-type", "application/json").body("{not json").send().await.unwrap();
        let (s, ct, b) = problem(r).await;
        assert_eq!((s, ct.as_str()), (400, "application/problem+json"));
        assert!(b["detail"].as_str().unwrap().starts_with("JSON 格式错误"), "Chinese by default: {b}");
        let r = c.post(&url).json(&json!({ "username": 5 })).send().await.unwrap();
        assert_eq!(problem(r).await.0, 422);
        let big = format!("{{\"username\":\"{}\",\"password\":\"x\"}}", "a".repeat(100 * 1024));
        let r = c.post(&url).header("content-type", "application/json").body(big).send().await.unwrap();
        let (s, ct, _) = problem(r).await;
        assert_eq!((s, ct.as_str()), (413, "application/problem+json"));
        let r = c.get(t.url("/api/v1/no-such-thing")).send().await.unwrap();
        let (s, ct, _) = problem(r).await;
        assert_eq!((s, ct.as_str()), (404, "application/problem+json"));
        t.stop().await;
    }
}

#[tokio::test]
async fn unknown_division_is_422_with_the_field() {
    for t in apps().await {
        let (c, csrf) = t.login("admin").await;
        let mk = |division: &str| json!({ "username": "newofficer", "password": "Passw0rd!", "role": "civil_affairs", "division_code": division });
        let r = c
            .post(t.url("/api/v1/users"))
            .header("x-csrf-token", &csrf)
            .header("accept-language", "en")
            .json(&mk("999999999999"))
            .send()
            .await
            .unwrap();
        let (s, _, b) = problem(r).await;
        assert_eq!(s, 422);
        assert_eq!(b["errors"][0]["field"], "division_code");
        assert_eq!(b["errors"][0]["rule"], "division.unknown");
        let r = c
            .post(t.url("/api/v1/users"))
            .header("x-csrf-token", &csrf)
            .json(&mk("320506000000"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        // Nothing partial: the failed attempt created no account, the second exactly one.
        assert!(t.app.store.user_by_username("newofficer").await.is_ok());
        // Only a system administrator may create accounts.
        let (c2, csrf2) = t.login("minzheng").await;
        let r = c2
            .post(t.url("/api/v1/users"))
            .header("x-csrf-token", &csrf2)
            .json(&mk("320508000000"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        t.stop().await;
    }
}

#[tokio::test]
async fn gusu_officer_cannot_read_wuzhong() {
    for t in apps().await {
        let (c, _) = t.login("minzheng").await;
        let get = |p: &str| c.get(t.url(p)).send();
        assert_eq!(get("/api/v1/divisions/320506000000").await.unwrap().status(), 404);
        assert_eq!(get("/api/v1/divisions/320506001000/children").await.unwrap().status(), 404);
        assert_eq!(get("/api/v1/divisions/320508018000").await.unwrap().status(), 200);
        let kids: Value = get("/api/v1/divisions/320500000000/children").await.unwrap().json().await.unwrap();
        let codes: Vec<&str> = kids.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
        assert_eq!(codes, vec!["320508000000"], "from the city, only the officer's own branch");
        let orgs: Value = get("/api/v1/organizations").await.unwrap().json().await.unwrap();
        let ids: Vec<i64> = orgs["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![1]);
        let r = get("/api/v1/organizations?division=320506000000").await.unwrap();
        assert_eq!(r.status(), 422, "a subtree outside the jurisdiction is refused, not silently widened");
        let found: Value = get("/api/v1/divisions?q=%E9%95%BF%E6%A1%A5").await.unwrap().json().await.unwrap();
        assert!(found.as_array().unwrap().is_empty(), "searching 长桥 (Wuzhong) from Gusu finds nothing");
        // The city commander sees both.
        let (cc, _) = t.login("commander").await;
        let orgs: Value = cc.get(t.url("/api/v1/organizations?sort=id")).send().await.unwrap().json().await.unwrap();
        assert_eq!(orgs["items"].as_array().unwrap().len(), 2);
        // A resident sees no organisation list at all.
        let (rc, _) = t.login("jumin").await;
        let orgs: Value = rc.get(t.url("/api/v1/organizations")).send().await.unwrap().json().await.unwrap();
        assert!(orgs["items"].as_array().unwrap().is_empty());
        t.stop().await;
    }
}

#[tokio::test]
async fn password_change_ends_sessions_and_is_audited() {
    for t in apps().await {
        let (c, csrf) = t.login("jiandu").await;
        let r = c
            .post(t.url("/api/v1/me/password"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "current_password": PW, "new_password": "short" }))
            .send()
            .await
            .unwrap();
        let (s, _, b) = problem(r).await;
        assert_eq!(s, 422);
        assert_eq!(b["errors"][0]["field"], "new_password");
        let r = c
            .post(t.url("/api/v1/me/password"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "current_password": PW, "new_password": "NewPassw0rd" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(c.get(t.url("/api/v1/me")).send().await.unwrap().status(), 401, "old session ended");
        let recent = t.app.store.audit_recent("auth.password_change", 5).await.unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].username, "jiandu");
        assert!(matches!(
            t.app.store.audit_verify().await.unwrap(),
            tongxin_store::audit::VerifyOutcome::Intact { .. }
        ));
        t.stop().await;
    }
}

#[tokio::test]
async fn openapi_health_and_metrics() {
    for t in apps().await {
        let c = reqwest::Client::new();
        let doc: Value = c.get(t.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for p in ["/api/v1/organizations", "/api/v1/auth/login", "/api/v1/divisions/{code}/children", "/api/v1/users"] {
            assert!(doc["paths"].get(p).is_some(), "{p} documented");
        }
        let h: Value = c.get(t.url("/healthz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(h["status"], "ok");
        let m = c.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(m.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"), "{m}");
        assert!(m.contains("http_request_duration_seconds_bucket"));
        assert!(m.contains("db_pool_connections"));
        assert!(m.contains("tongxin_build_info"));
        let r = c.get(t.url("/api/docs")).send().await.unwrap();
        assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
        assert!(r.text().await.unwrap().contains("/static/vendor/swagger-ui/swagger-ui-bundle.js"));
        let js = c.get(t.url("/static/vendor/swagger-ui/swagger-ui-bundle.js")).send().await.unwrap();
        assert_eq!(js.status(), 200);
        t.stop().await;
    }
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response() {
    for t in apps().await {
        let (c, csrf) = t.login("admin").await;
        let post = |body: Value, key: &str| {
            c.post(t.url("/api/v1/me/tokens"))
                .header("x-csrf-token", &csrf)
                .header("idempotency-key", key)
                .json(&body)
                .send()
        };
        let r1 = post(json!({ "name": "重试测试" }), "k-1").await.unwrap();
        assert_eq!(r1.status(), 201);
        let t1 = r1.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
        let r2 = post(json!({ "name": "重试测试" }), "k-1").await.unwrap();
        assert_eq!(r2.status(), 201);
        assert_eq!(r2.headers()["idempotent-replayed"], "true");
        assert_eq!(r2.json::<Value>().await.unwrap()["token"], t1.as_str(), "the retry gets the first response");
        let made = t.app.store.audit_recent("token.create", 10).await.unwrap();
        assert_eq!(made.len(), 1, "the retry changed nothing");
        let r3 = post(json!({ "name": "另一个" }), "k-1").await.unwrap();
        let (s, ct, _) = problem(r3).await;
        assert_eq!((s, ct.as_str()), (422, "application/problem+json"));
        // Another key is another request.
        assert_eq!(post(json!({ "name": "另一个" }), "k-2").await.unwrap().status(), 201);
        assert_eq!(t.app.store.audit_recent("token.create", 10).await.unwrap().len(), 2);
        t.stop().await;
    }
}

/// The node stops after a request's change committed but before its response was stored: the
/// retry must not run the change again; a reservation whose change never committed is taken
/// over once abandoned.
#[tokio::test]
async fn a_retry_after_a_crash_between_commit_and_response_does_not_run_twice() {
    use sha2::Digest;
    for t in apps().await {
        let (c, csrf) = t.login("admin").await;
        let store = &t.app.store;
        let owner = format!("u:{}", store.user_by_username("admin").await.unwrap().id);
        let body = json!({ "name": "崩溃重试" });
        let hash = |path: &str| {
            let mut h = sha2::Sha256::new();
            h.update(format!("POST {path}\n"));
            h.update(serde_json::to_vec(&body).unwrap());
            hex::encode(h.finalize())
        };
        let post = |key: &str| {
            c.post(t.url("/api/v1/me/tokens"))
                .header("x-csrf-token", &csrf)
                .header("idempotency-key", key)
                .json(&body)
                .send()
        };
        // As the first request did: reserve, commit its change under the key, then die.
        let h = hash("/api/v1/me/tokens");
        assert_eq!(store.idem_reserve(&owner, "crash-1", &h).await.unwrap(), KeyState::Reserved);
        tongxin_store::idempotency::scope(owner.clone(), "crash-1".into(), async {
            let tx = store.begin().await.unwrap();
            tx.commit().await.unwrap();
        })
        .await;
        let (s, _, v) = problem(post("crash-1").await.unwrap()).await;
        assert_eq!(
            (s, v["type"].as_str().unwrap_or("")),
            (409, "https://tongxin.example/problems/idempotency-applied"),
            "{v}"
        );
        assert!(store.audit_recent("token.create", 10).await.unwrap().is_empty(), "the retry ran nothing");

        // A reservation whose request died before committing anything is taken over later.
        assert_eq!(store.idem_reserve(&owner, "crash-2", &h).await.unwrap(), KeyState::Reserved);
        let (s, _, _) = problem(post("crash-2").await.unwrap()).await;
        assert_eq!(s, 409, "still in progress right after");
        let old = tongxin_store::now_ms() - tongxin_store::idempotency::ABANDON_MS - 1000;
        let mut tx = store.begin().await.unwrap();
        tongxin_store::sql::SqlBuf::new("UPDATE idempotency_keys SET created_at = ")
            .int(old)
            .query()
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(post("crash-2").await.unwrap().status(), 201, "an abandoned reservation is run again");
        assert_eq!(store.audit_recent("token.create", 10).await.unwrap().len(), 1);
        t.stop().await;
    }
}

/// A page form sent twice (double click, resend) with its one-time `_idem` key does the work
/// once; both answers are the first one's redirect.
#[tokio::test]
async fn a_form_sent_twice_is_saved_once() {
    for t in apps().await {
        let (c, csrf) = t.login("shequ").await;
        let form = [
            ("_csrf", csrf.as_str()),
            ("_idem", "form-once-1"),
            ("category", "Met"),
            ("event", "暴雨"),
            ("colour", "yellow"),
            ("headline", "双击提交的黄色预警"),
            ("hours", "6"),
            ("divisions", "320508018000"),
            ("action", "save"),
        ];
        let (r1, r2) = tokio::join!(
            c.post(t.url("/alerts/new")).form(&form).send(),
            c.post(t.url("/alerts/new")).form(&form).send()
        );
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        assert_eq!((r1.status().as_u16(), r2.status().as_u16()), (303, 303));
        assert_eq!(r1.headers()["location"], r2.headers()["location"], "both answers lead to the same draft");
        assert_eq!(t.app.store.audit_recent("alert.draft", 10).await.unwrap().len(), 1, "saved once");
        // The page carries the script that gives every form its key.
        let page = c.get(t.url("/alerts/new")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("/static/forms.js"));
        let js = c.get(t.url("/static/forms.js")).send().await.unwrap().text().await.unwrap();
        assert!(js.contains("_idem") && js.contains("Idempotency-Key"));
        t.stop().await;
    }
}
