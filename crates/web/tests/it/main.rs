//! Web tests: the real router on port 0 over a real database (SQLite, plus PostgreSQL when
//! `TONGXIN_TEST_PG` is set), driven over HTTP.

mod alerts;
mod api;
mod authz;
mod grids;
mod incident_map;
mod incident_photos;
mod incidents;
mod live;
mod pages;
mod registry;
mod workorders;

use std::sync::Arc;
use tongxin_app::{App, AppConfig};
use tongxin_domain::division::{self, DivisionRow};
use tongxin_store::registry::{insert_orgs, NewOrg};
use tongxin_store::testkit::TestDb;
use tongxin_web::{AppState, WebConfig};

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// Application services (for direct checks).
    pub app: App,
    db: Option<TestDb>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Password of the fixture accounts.
pub const PW: &str = tongxin_app::seed::DEMO_PASSWORD;

impl TestApp {
    /// Starts on `db` with the Suzhou tree, grids on the demo street, one organisation in Gusu
    /// (id 1) and one in Wuzhong (id 2), and the demo accounts.
    pub async fn start(db: TestDb) -> TestApp {
        TestApp::start_with(db, WebConfig { max_body_bytes: 64 * 1024, ..Default::default() }).await
    }

    /// Starts with a given web configuration.
    pub async fn start_with(db: TestDb, cfg: WebConfig) -> TestApp {
        let app = App::new(db.store.clone(), AppConfig::default());
        app.ensure_division_tree().await.unwrap();
        let mut tx = app.store.begin().await.unwrap();
        let street = app.store.division(tongxin_app::seed::DEMO_STREET).await.unwrap();
        let communities = app.store.division_children(&street.code).await.unwrap();
        let grids: Vec<DivisionRow> = tongxin_app::divisions::grid_rows(&communities[0].code, 2);
        let paths: Vec<String> = grids.iter().map(|g| division::child_path(&communities[0].path, &g.code)).collect();
        tongxin_store::divisions::insert_rows(&mut tx, &grids, &paths).await.unwrap();
        let gusu = app.store.division("320508018000").await.unwrap();
        let wuzhong = app.store.division("320506001000").await.unwrap();
        let org = |id: i64, name: &str, d: &tongxin_store::divisions::Division| NewOrg {
            id,
            name: name.into(),
            credit_code: format!("51320500MJ00000{id}X"),
            kind: "social_service".into(),
            division_code: d.code.clone(),
            division_path: d.path.clone(),
            address: String::new(),
            lon: 120.6,
            lat: 31.3,
            contact_name: "张三".into(),
            contact_phone: "13812341234".into(),
            domains: "elderly".into(),
            people_count: 12,
            state: "verified".into(),
        };
        insert_orgs(&mut tx, &[org(1, "姑苏区阳光助老服务中心", &gusu), org(2, "吴中区启明社工服务社", &wuzhong)], 0)
            .await
            .unwrap();
        tongxin_store::registry::sync_org_ids(&mut tx, app.store.backend()).await.unwrap();
        tx.commit().await.unwrap();
        app.ensure_demo_accounts().await.unwrap();

        let mut t = TestApp::serve(app, cfg).await;
        t.db = Some(db);
        t
    }

    /// Serves `app` without adding any data (a second node on the same database).
    pub async fn serve(app: App, cfg: WebConfig) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(app.clone(), Arc::new(cfg), tongxin_web::ops::metrics_handle());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(tongxin_web::serve_with_listener(listener, state, async {
            let _ = rx.await;
        }));
        TestApp { base, app, db: None, stop: Some(tx) }
    }

    /// A second node: another server with its own pools on the same database.
    pub async fn second_node(&self) -> TestApp {
        let store = self.db.as_ref().expect("first node owns the database").second_store().await;
        TestApp::serve(App::new(store, AppConfig::default()), WebConfig::default()).await
    }

    /// A client that keeps cookies and does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in through the API; returns the client (cookie set) and the CSRF token.
    pub async fn login(&self, user: &str) -> (reqwest::Client, String) {
        let c = self.client();
        let r = c
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": user, "password": PW }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {user}");
        let v: serde_json::Value = r.json().await.unwrap();
        (c, v["csrf_token"].as_str().unwrap().to_string())
    }

    /// Stops the server and removes the database.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// One server per backend under test.
pub async fn apps() -> Vec<TestApp> {
    let mut v = vec![];
    for db in TestDb::all().await {
        v.push(TestApp::start(db).await);
    }
    v
}
