//! `tongxin bench writes` and `tongxin bench crash`: acknowledged writes over real HTTP.
//!
//! Both start `tongxin serve` as a child process on a fresh SQLite data dir (or on the given
//! `--database-url`), create a commander account with an API token and an incident, and have
//! many clients post field updates (`POST /api/v1/incidents/{id}/notes`: a timeline entry, an
//! audit record, a live event, and a webhook notification per subscribed endpoint, all in one
//! transaction). `writes` measures throughput and latency; `crash` kills the server with
//! SIGKILL at random moments and then checks that nothing acknowledged was lost or duplicated
//! and that every queued notification was delivered. In `crash` half the clients write on an
//! incident no webhook listens to, so the appends-only path is killed mid-way too.

use super::Resolved;
use crate::config::DbSettings;
use axum::response::IntoResponse;
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tongxin_app::auth::NewAccount;
use tongxin_app::incidents::IncidentForm;
use tongxin_app::RequestCtx;

/// Options of `bench writes`.
#[derive(Debug, Args)]
pub struct WritesArgs {
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Duration of the measurement.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Drive an already running server instead of starting one (needs --token and --incident).
    #[arg(long)]
    pub url: Option<String>,
    /// API token of an account that may write to the incident (with --url).
    #[arg(long, env = "TONGXIN_BENCH_TOKEN")]
    pub token: Option<String>,
    /// Incident id to write to (with --url).
    #[arg(long)]
    pub incident: Option<i64>,
    /// Drive a do-nothing endpoint of the same shape instead (bearer check, JSON in, 201 and
    /// JSON out, no storage), served by axum on its own two-thread runtime: the ceiling that
    /// HTTP alone sets on this machine, with the same clients.
    #[arg(long, conflicts_with = "url")]
    pub floor: bool,
}

/// Options of `bench crash`.
#[derive(Debug, Args)]
pub struct CrashArgs {
    /// How many times the server is killed with SIGKILL.
    #[arg(long, default_value_t = 5)]
    pub kills: u32,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Longest run between two kills, in milliseconds (each run is random, at least 300 ms).
    #[arg(long, default_value_t = 2000)]
    pub max_run_ms: u64,
    /// Random seed of the kill moments.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub(super) const CTX_IP: &str = "local";
const HOOK_SECRET: &str = "bench-webhook-secret-2026";

/// A database for the run: a fresh SQLite dir (removed afterwards) or the given PostgreSQL.
pub(super) struct BenchDb {
    pub(super) db: DbSettings,
    temp: Option<PathBuf>,
}

impl BenchDb {
    pub(super) fn new(r: &Resolved, tag: &str) -> anyhow::Result<BenchDb> {
        if r.db.database_url.is_some() {
            return Ok(BenchDb { db: r.db.clone(), temp: None });
        }
        let dir = std::env::temp_dir().join(format!("tongxin-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let db = DbSettings { data: dir.clone(), ..r.db.clone() };
        Ok(BenchDb { db, temp: Some(dir) })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some(d) = &self.temp {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// What the clients need: a token and an incident to write to.
pub(super) struct Fixture {
    pub(super) token: String,
    pub(super) incident: i64,
    /// The commander's username.
    pub(super) username: String,
    /// The webhook endpoint registered for the run, if any.
    hook: Option<i64>,
    /// With a webhook: an incident outside the webhook's district, so notes on it queue nothing
    /// (they take the appends-only path) while notes on `incident` queue a notification.
    quiet_incident: Option<i64>,
}

pub(super) async fn fixture(db: &DbSettings, hook_url: Option<&str>) -> anyhow::Result<Fixture> {
    let app = super::open(db).await?;
    app.ensure_division_tree().await?;
    let ctx = RequestCtx { request_id: "bench".into(), ip: CTX_IP.into(), ..Default::default() };
    let username = format!("bench{}", tongxin_store::now_ms());
    let password = format!("Bench{}x9", rand::random::<u64>());
    let account = NewAccount {
        username: username.clone(),
        display_name: "压测指挥员".into(),
        password,
        role: "commander".into(),
        division_code: Some("320500000000".into()),
        org_id: None,
    };
    app.create_user(&ctx, None, &account).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let user = app.store.user_by_username(&username).await?;
    let actor = tongxin_app::auth::actor_of(&user).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let token = app.create_api_token(&ctx, &actor, "bench", Some(1)).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let form = IncidentForm {
        title: "压测：金鸡湖周边暴雨内涝".into(),
        category: "natural".into(),
        subtype: "rainstorm".into(),
        severity: 3,
        lon: 120.705,
        lat: 31.318,
        radius_m: 500,
        division_code: Some("320576000000".into()),
        description: "写入压测用事件 / incident for the write benchmark".into(),
    };
    let incident = app.report_incident(&actor, &ctx, &form, "bench").await.map_err(|e| anyhow::anyhow!("{e:?}"))?.id;
    let (mut hook, mut quiet_incident) = (None, None);
    if let Some(url) = hook_url {
        // The endpoint belongs to a commander of the incident's district (Suzhou Industrial
        // Park), so it hears notes there and not in Gusu.
        let district =
            NewAccount { username: format!("{username}sip"), division_code: Some("320576000000".into()), ..account };
        app.create_user(&ctx, None, &district).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let owner = app.store.user_by_username(&district.username).await?;
        let owner = tongxin_app::auth::actor_of(&owner).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let id = app
            .outbox_add_endpoint(&owner, &ctx, "压测接收端 / bench receiver", url, HOOK_SECRET, "incident.note")
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        hook = Some(id);
        let quiet = IncidentForm {
            title: "压测：观前街积水".into(),
            lon: 120.625,
            lat: 31.31,
            division_code: Some("320508000000".into()),
            ..form
        };
        let r = app.report_incident(&actor, &ctx, &quiet, "bench").await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        quiet_incident = Some(r.id);
    }
    app.store.close().await;
    Ok(Fixture { token, incident, hook, quiet_incident, username })
}

/// The server as a child process, restartable on the same data and port.
pub(super) struct Server {
    db: DbSettings,
    addr: String,
    child: Option<Child>,
}

impl Server {
    pub(super) fn new(db: &DbSettings) -> anyhow::Result<Server> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?.to_string();
        drop(l);
        Ok(Server { db: db.clone(), addr, child: None })
    }

    pub(super) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(super) async fn start(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let mut c = Command::new(std::env::current_exe()?);
        match &self.db.database_url {
            Some(u) => c.arg("--database-url").arg(u),
            None => c.arg("--data").arg(&self.db.data),
        };
        c.args(["serve", "--listen", &self.addr])
            .env("RUST_LOG", "warn")
            // A killed node's claimed messages go out again after the lease (PostgreSQL; SQLite
            // releases them at start): short here so the check does not wait a minute.
            .env("TONGXIN_OUTBOX_LEASE_MS", "5000")
            .env_remove("TONGXIN_DEMO")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        self.child = Some(c.spawn()?);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(120) {
            if let Ok(r) = http.get(format!("{}/healthz", self.url())).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(Some(st)) = self.child.as_mut().map(|c| c.try_wait()).transpose()? {
                anyhow::bail!("服务进程已退出 / the server exited: {st}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("服务未能在 120 秒内就绪 / the server was not ready within 120 s")
    }

    /// SIGKILL: no shutdown code runs, as in a power cut of the process.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (graceful).
    pub(super) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(super) fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().pool_max_idle_per_host(1024).timeout(Duration::from_secs(30)).build()?)
}

pub(super) fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub(super) fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    (sorted_us[i] as f64 / 10.0).round() / 100.0
}

/// Runs `bench writes`.
pub async fn writes(r: &Resolved, a: WritesArgs) -> anyhow::Result<ExitCode> {
    let http = http_client()?;
    let _db;
    let mut server = None;
    let (url, token, incident, backend) = match &a.url {
        None if a.floor => (floor_server()?, "floor-token".to_string(), 1, "http-floor"),
        Some(u) => {
            let (Some(t), Some(i)) = (a.token.clone(), a.incident) else {
                anyhow::bail!("--url 需要同时给出 --token 和 --incident / --url needs --token and --incident");
            };
            (u.trim_end_matches('/').to_string(), t, i, "remote")
        }
        None => {
            let db = BenchDb::new(r, "writes")?;
            let f = fixture(&db.db, None).await?;
            let mut s = Server::new(&db.db)?;
            s.start(&http).await?;
            let url = s.url();
            server = Some(s);
            _db = db;
            (url, f.token, f.incident, if r.db.database_url.is_some() { "postgres" } else { "sqlite" })
        }
    };
    let endpoint = format!("{url}/api/v1/incidents/{incident}/notes");
    // Warm up caches, not counted.
    for i in 0..a.clients.min(8) {
        let _ = post_note(&http, &endpoint, &token, &format!("warm-up {i}"), None).await;
    }
    // The clients speak HTTP/1.1 on kept-alive connections with little code of their own: the
    // driver shares the machine's cores with the server, and what it spends is not the server's.
    let host =
        url.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("--url 须为 http:// / --url must be http://"))?;
    let path = format!("/api/v1/incidents/{incident}/notes");
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let mut conn = RawClient::connect(host, &path, &token).await?;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let t = Instant::now();
                match conn.post_note(&format!("现场反馈 {c}-{n}")).await {
                    Ok(s) if (200..300).contains(&s) => lat.push(t.elapsed().as_micros() as u64),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        // A broken connection is replaced, as a client's pool would.
                        if let Ok(c2) = conn.reconnect().await {
                            conn = c2;
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(s) = server.as_mut() {
        s.stop();
    }
    lat.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "bench": "writes", "acknowledged": lat.len(), "errors": errors,
            "rps": (lat.len() as f64 / secs).round(), "p50_ms": percentile_ms(&lat, 0.50),
            "p99_ms": percentile_ms(&lat, 0.99), "max_ms": percentile_ms(&lat, 1.0),
            "clients": a.clients, "seconds": (secs * 100.0).round() / 100.0,
            "backend": backend, "cores": cores(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// The do-nothing endpoint of `bench writes --floor`, on a runtime of its own (as `serve` has).
fn floor_server() -> anyhow::Result<String> {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicI64, Ordering};
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.set_nonblocking(true)?;
    let url = format!("http://{}", l.local_addr()?);
    let next = Arc::new(AtomicI64::new(1));
    let app = axum::Router::new().route(
        "/api/v1/incidents/{id}/notes",
        axum::routing::post(move |headers: HeaderMap, axum::Json(v): axum::Json<serde_json::Value>| {
            let next = next.clone();
            async move {
                let ok = headers.get("authorization").is_some_and(|h| h == "Bearer floor-token");
                if !ok || !v["text"].is_string() {
                    return (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({}))).into_response();
                }
                let id = next.fetch_add(1, Ordering::Relaxed);
                (StatusCode::CREATED, axum::Json(serde_json::json!({ "id": id }))).into_response()
            }
        }),
    );
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cores()).enable_all().build()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).expect("listener");
            let _ = axum::serve(l, app).await;
        })
    });
    Ok(url)
}

/// One kept-alive HTTP/1.1 connection that posts field updates (the `bench writes` client).
struct RawClient {
    stream: tokio::net::TcpStream,
    host: String,
    path: String,
    token: String,
    buf: Vec<u8>,
}

impl RawClient {
    async fn connect(host: &str, path: &str, token: &str) -> anyhow::Result<RawClient> {
        let stream = tokio::net::TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(RawClient {
            stream,
            host: host.into(),
            path: path.into(),
            token: token.into(),
            buf: Vec::with_capacity(4096),
        })
    }

    async fn reconnect(&self) -> anyhow::Result<RawClient> {
        RawClient::connect(&self.host, &self.path, &self.token).await
    }

    /// Sends one note and reads the whole response; returns its status.
    async fn post_note(&mut self, text: &str) -> anyhow::Result<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = serde_json::json!({ "text": text }).to_string();
        let req = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            self.path,
            self.host,
            self.token,
            body.len(),
            body
        );
        self.stream.write_all(req.as_bytes()).await?;
        self.buf.clear();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = resp.parse(&self.buf)? {
                let status = resp.code.unwrap_or(0);
                let len = resp
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok())
                    .ok_or_else(|| anyhow::anyhow!("响应缺少 Content-Length / response without Content-Length"))?;
                while self.buf.len() < head + len {
                    if self.stream.read_buf(&mut self.buf).await? == 0 {
                        anyhow::bail!("连接已关闭 / connection closed");
                    }
                }
                return Ok(status);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                anyhow::bail!("连接已关闭 / connection closed");
            }
        }
    }
}

/// Posts one field update; returns the HTTP status, and the problem type for 4xx.
async fn post_note(
    http: &reqwest::Client,
    endpoint: &str,
    token: &str,
    text: &str,
    key: Option<&str>,
) -> reqwest::Result<u16> {
    let mut req = http.post(endpoint).bearer_auth(token).json(&serde_json::json!({ "text": text }));
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    if status == 409 {
        // "Already applied" (the response of a committed request was lost) counts as saved.
        let v: serde_json::Value = resp.json().await.unwrap_or_default();
        if v["type"].as_str().is_some_and(|t| t.ends_with("/idempotency-applied")) {
            return Ok(200);
        }
    }
    Ok(status)
}

/// What a crash-test client learnt about one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The server said it is saved.
    Acknowledged,
    /// No answer (the server died with it in flight) or still in progress: may or may not be saved.
    Unknown,
}

/// Runs `bench crash`.
pub async fn crash(r: &Resolved, a: CrashArgs) -> anyhow::Result<ExitCode> {
    use rand::{Rng, SeedableRng};
    let http = http_client()?;
    let db = BenchDb::new(r, "crash")?;
    // The webhook receiver records every idempotency key it is given (duplicates are expected:
    // delivery is at least once).
    let received: Arc<Mutex<HashMap<String, u32>>> = Default::default();
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", hook_listener.local_addr()?);
    let rec = received.clone();
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let rec = rec.clone();
            async move {
                if let Some(k) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
                    *rec.lock().expect("receiver lock").entry(k.to_string()).or_default() += 1;
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(hook_listener, hook).await });

    let f = fixture(&db.db, Some(&hook_url)).await?;
    let mut server = Server::new(&db.db)?;
    server.start(&http).await?;
    // Half the clients write where a webhook listens (each note queues a notification), half
    // where none does (each note is appends only).
    let endpoints = [f.incident, f.quiet_incident.unwrap_or(f.incident)]
        .map(|i| format!("{}/api/v1/incidents/{i}/notes", server.url()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let endpoint = endpoints[c % 2].clone();
        let (http, token, stop) = (http.clone(), f.token.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut fates: Vec<(String, Fate)> = Vec::new();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let id = format!("crash-{c}-{n}");
                // Retry the same request with the same key while the server is down, as a
                // client would; the key makes a retry of a saved request change nothing.
                let mut fate = Fate::Unknown;
                let t = Instant::now();
                while t.elapsed() < Duration::from_secs(20) {
                    match post_note(&http, &endpoint, &token, &id, Some(&id)).await {
                        Ok(s) if (200..300).contains(&s) => {
                            fate = Fate::Acknowledged;
                            break;
                        }
                        // Still in progress (its first attempt died with the server): unknown.
                        Ok(409) => break,
                        Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
                fates.push((id, fate));
            }
            fates
        }));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(a.seed);
    let started = Instant::now();
    for _ in 0..a.kills {
        let run = rng.gen_range(300..=a.max_run_ms.max(300));
        tokio::time::sleep(Duration::from_millis(run)).await;
        server.kill();
        server.start(&http).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut fates = Vec::new();
    for t in tasks {
        fates.extend(t.await?);
    }
    let acked: HashSet<&str> =
        fates.iter().filter(|(_, f)| *f == Fate::Acknowledged).map(|(id, _)| id.as_str()).collect();

    // What the database holds, read through a fresh store after the last restart.
    let app = super::open(&db.db).await?;
    let hooked = tongxin_store::incidents::timeline(app.store.reader(), f.incident).await?;
    let quiet = match f.quiet_incident {
        Some(q) => tongxin_store::incidents::timeline(app.store.reader(), q).await?,
        None => Vec::new(),
    };
    let mut saved: HashMap<&str, Vec<i64>> = HashMap::new();
    for e in hooked.iter().chain(&quiet).filter(|e| e.kind == "note") {
        saved.entry(e.text_zh.as_str()).or_default().push(e.id);
    }
    let lost = acked.iter().filter(|id| !saved.contains_key(**id)).count();
    let duplicated = saved.values().filter(|ids| ids.len() > 1).count();
    // Every entry saved where the webhook listens queued one message; wait for the outbox to
    // deliver them all.
    let hook = f.hook.unwrap_or_default();
    let expected: Vec<String> = hooked
        .iter()
        .filter(|e| e.kind == "note")
        .map(|e| format!("incident:{}:note:{}:webhook:{hook}", f.incident, e.id))
        .collect();
    let t = Instant::now();
    let missing = loop {
        let missing = {
            let got = received.lock().expect("receiver lock");
            expected.iter().filter(|k| !got.contains_key(*k)).count()
        };
        if missing == 0 || t.elapsed() > Duration::from_secs(60) {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The receiver goes away with this process: retire its endpoint (matters on a shared database).
    let mut tx = app.store.begin().await?;
    tongxin_store::sql::SqlBuf::new("UPDATE outbox_endpoints SET active = 0 WHERE id = ")
        .int(hook)
        .query()
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    app.store.close().await;
    server.stop();
    let ok = lost == 0 && duplicated == 0 && missing == 0 && !acked.is_empty();
    println!(
        "{}",
        serde_json::json!({
            "bench": "crash", "kills": a.kills, "acknowledged": acked.len(),
            "unacknowledged": fates.len() - acked.len(), "saved": saved.len(),
            "saved_appends_only": quiet.iter().filter(|e| e.kind == "note").count(), "lost": lost,
            "duplicated": duplicated, "notifications": expected.len(), "notifications_lost": missing,
            "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "backend": if r.db.database_url.is_some() { "postgres" } else { "sqlite" }, "cores": cores(), "ok": ok,
        })
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
