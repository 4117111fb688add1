//! `tongxin bench mobilise` and `tongxin bench offer-latency`: mass mobilisation and offer
//! delivery over real HTTP against a child `tongxin serve`, one JSON line each.
//!
//! `mobilise` loads city-scale responders (245,000 volunteers spread over Suzhou as
//! `seed --scale city` spreads them; those available now get accounts) into a fresh database
//! (a temporary SQLite dir, or the given `--database-url`: use a fresh PostgreSQL schema),
//! opens tasks with `--slots` open slots across the city for one incident, then times what a
//! commander does: `POST /api/v1/dispatch/propose` (the exact solve) and
//! `POST /api/v1/dispatch/confirm` (every pick becomes an offer with its inbox notice, live
//! event, timeline entry and audit record, in one transaction). Afterwards it counts what was
//! saved and exits non-zero if offers, notices or live events are missing.
//!
//! `offer-latency` connects a responder's screen to `GET /events` (server-sent events) and
//! measures, offer by offer, the time from the commander's `POST /api/v1/dispatch/confirm`
//! being sent to the `task.offered` event arriving on the responder's stream.

use super::bench_writes::{cores, fixture, http_client, percentile_ms, BenchDb, Server, CTX_IP};
use super::Resolved;
use clap::Args;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tongxin_app::auth::NewAccount;
use tongxin_app::incidents::TaskForm;
use tongxin_app::RequestCtx;
use tongxin_domain::division::Level;
use tongxin_domain::fake::{Faker, SKILL_KEYS};
use tongxin_store::incidents::TaskRow;

/// Options of `bench mobilise`.
#[derive(Debug, Args)]
pub struct MobiliseArgs {
    /// Open task slots to fill at once.
    #[arg(long, default_value_t = 5_000)]
    pub slots: usize,
    /// Slots per task (head count); the last task takes the remainder.
    #[arg(long, default_value_t = 5)]
    pub per_task: usize,
    /// Volunteers to load when the database has none (city scale: 245,000).
    #[arg(long, default_value_t = 245_000)]
    pub responders: usize,
    /// Random seed of responders and task places.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

/// Options of `bench offer-latency`.
#[derive(Debug, Args)]
pub struct OfferLatencyArgs {
    /// Offers to send, one after the other.
    #[arg(long, default_value_t = 100)]
    pub offers: usize,
}

fn backend(r: &Resolved) -> &'static str {
    if r.db.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

fn err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// Runs `bench mobilise`.
pub async fn mobilise(r: &Resolved, a: MobiliseArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.slots > 0 && a.per_task > 0,
        "--slots 与 --per-task 须大于 0 / --slots and --per-task must be > 0"
    );
    let db = BenchDb::new(r, "mobilise")?;
    let app = super::open(&db.db).await?;
    app.ensure_division_tree().await?;
    if app.store.count_rows("task_assignments").await? > 0 {
        anyhow::bail!(
            "数据库中已有任务派遣记录，请使用新的数据库 / the database already has assignments; use a fresh database"
        );
    }
    let mut load_ms = 0;
    let existing = app.store.count_rows("volunteers").await?;
    if existing == 0 {
        let s = app.seed_responders(a.responders, a.seed, &format!("Bench{}x9", a.seed)).await.map_err(err)?;
        load_ms = s.ms;
    }
    let responders = app.store.count_rows("volunteers").await?;
    app.store.close().await;

    let f = fixture(&db.db, None).await?;
    let app = super::open(&db.db).await?;
    let city = app.store.division("320500000000").await?;
    let communities = app.store.divisions_at_level(&city.path, Level::Community).await?;
    anyhow::ensure!(!communities.is_empty(), "没有社区区划 / no communities");
    let mut fk = Faker::new(a.seed ^ 0x7a5c);
    let now = tongxin_store::now_ms();
    let mut rows = Vec::new();
    let mut left = a.slots;
    while left > 0 {
        let n = a.per_task.min(left);
        left -= n;
        let i = rows.len();
        let c = &communities[i * 7919 % communities.len()];
        let (lon, lat) = fk.point_in_district(&c.code[..6]);
        // A third of the tasks need a skill; the others any volunteer.
        let skill = if i % 3 == 0 { SKILL_KEYS[i / 3 % SKILL_KEYS.len()].to_string() } else { String::new() };
        rows.push(TaskRow {
            id: 0,
            incident_id: Some(f.incident),
            title: format!("全市防汛巡查点 {}", i + 1),
            skill,
            head_count: n as i64,
            lon,
            lat,
            geofence_m: 300,
            priority: ["urgent", "elevated", "critical", "routine"][i % 4].into(),
            insurance_required: true,
            starts_at: now,
            ends_at: now + 4 * 3_600_000,
            state: "open".into(),
            division_code: c.code.clone(),
            division_path: c.path.clone(),
            created_at: now,
        });
    }
    let mut tx = app.store.begin().await?;
    let task_ids = tongxin_store::incidents::insert_tasks(&mut tx, &rows, 0).await?;
    tongxin_store::audit::append(
        &mut tx,
        tongxin_app::audit::entry(
            None,
            &RequestCtx { request_id: "bench".into(), ip: CTX_IP.into(), ..Default::default() },
            "bench.tasks",
            "incident",
            f.incident,
            serde_json::json!({"tasks": task_ids.len(), "slots": a.slots}),
        ),
    )
    .await?;
    tx.commit().await?;
    app.store.close().await;

    let http = http_client()?;
    let mut server = Server::new(&db.db)?;
    server.start(&http).await?;
    let base = server.url();

    let started = Instant::now();
    let resp = http
        .post(format!("{base}/api/v1/dispatch/propose"))
        .bearer_auth(&f.token)
        .json(&serde_json::json!({ "task_ids": task_ids }))
        .send()
        .await?;
    let status = resp.status();
    let proposal: serde_json::Value = resp.json().await?;
    let propose = started.elapsed();
    anyhow::ensure!(status.is_success(), "推荐失败 / propose failed: {status} {proposal}");
    let picks: Vec<serde_json::Value> = proposal["picks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|p| serde_json::json!({"task_id": p["task_id"], "volunteer_id": p["volunteer_id"], "distance_m": p["distance_m"]}))
        .collect();
    let t = Instant::now();
    let resp = http.post(format!("{base}/api/v1/dispatch/confirm")).bearer_auth(&f.token).json(&picks).send().await?;
    let status = resp.status();
    let confirmed: serde_json::Value = resp.json().await?;
    let confirm = t.elapsed();
    let total = started.elapsed();
    anyhow::ensure!(status.is_success(), "确认失败 / confirm failed: {status} {confirmed}");
    server.stop();

    // What was saved, read back after the server stopped.
    let app = super::open(&db.db).await?;
    let count = |sql: &'static str| {
        let app = app.clone();
        async move {
            let r = tongxin_store::sql::SqlBuf::new(sql).query().fetch_one(app.store.reader()).await?;
            anyhow::Ok(tongxin_store::col::<i64>(&r, "n")?)
        }
    };
    let live = count("SELECT COUNT(*) AS n FROM task_assignments WHERE live = 1 AND state = 'offered'").await?;
    let notices = count("SELECT COUNT(*) AS n FROM notifications WHERE kind = 'task.offer'").await?;
    let with_account = count("SELECT COUNT(*) AS n FROM task_assignments WHERE user_id IS NOT NULL").await?;
    let events = count("SELECT COUNT(*) AS n FROM events WHERE topic = 'task' AND kind = 'offered'").await?;
    let audits = count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'task.offer'").await?;
    app.store.close().await;
    let offers = confirmed["offers"].as_i64().unwrap_or(0);
    let ok = offers > 0
        && live == offers
        && notices >= with_account
        && events >= with_account
        && audits >= 1
        && proposal["filled"].as_i64() == Some(offers);
    println!(
        "{}",
        serde_json::json!({
            "bench": "mobilise", "slots": a.slots, "tasks": task_ids.len(), "responders": responders,
            "free_responders": proposal["responders"], "method": proposal["method"],
            "filled": proposal["filled"], "offers": offers,
            "propose_ms": ms(propose), "confirm_ms": ms(confirm), "total_ms": ms(total),
            "notifications": notices, "live_events": events, "audit_records": audits,
            "target_ms": 2000, "met": ok && total.as_millis() < 2000,
            "load_ms": load_ms, "backend": backend(r), "cores": cores(), "ok": ok,
        })
    );
    drop(db);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// One server-sent event as it arrived.
struct Arrived {
    event: String,
    data: String,
    at: Instant,
}

/// Reads an SSE response into events, time-stamped on arrival.
async fn read_sse(mut resp: reqwest::Response, tx: tokio::sync::mpsc::UnboundedSender<Arrived>) {
    let mut buf = String::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let at = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut event, mut data) = (String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if !event.is_empty() && tx.send(Arrived { event, data, at }).is_err() {
                return;
            }
        }
    }
}

/// Runs `bench offer-latency`.
pub async fn offer_latency(r: &Resolved, a: OfferLatencyArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.offers > 0, "--offers 须大于 0 / --offers must be > 0");
    let db = BenchDb::new(r, "offers")?;
    let f = fixture(&db.db, None).await?;
    let app = super::open(&db.db).await?;
    let ctx = RequestCtx { request_id: "bench".into(), ip: CTX_IP.into(), ..Default::default() };
    // The responder: a volunteer account linked to a located, insured volunteer near the incident.
    let username = format!("resp{}", tongxin_store::now_ms());
    let account = NewAccount {
        username: username.clone(),
        display_name: "压测志愿者".into(),
        password: format!("Bench{}x9", rand::random::<u64>()),
        role: "volunteer".into(),
        division_code: None,
        org_id: None,
    };
    app.create_user(&ctx, None, &account).await.map_err(err)?;
    let user = app.store.user_by_username(&username).await?;
    let street = app.store.division("320508018000").await?;
    let mut tx = app.store.begin().await?;
    tongxin_store::registry::insert_volunteers(
        &mut tx,
        &[tongxin_store::registry::NewVolunteer {
            name: "压测志愿者".into(),
            id_hash: format!("bench-{username}"),
            id_enc: String::new(),
            phone_enc: String::new(),
            phone_hash: format!("bench-{username}"),
            birth_year: 1990,
            real_name: true,
            division_code: street.code.clone(),
            division_path: street.path.clone(),
            lon: Some(120.705),
            lat: Some(31.318),
            skills: "first_aid".into(),
            insured: true,
            org_id: None,
            weekly: String::new(),
            available_now: true,
            cert_kinds: String::new(),
            user_id: Some(user.id),
        }],
        tongxin_store::now_ms(),
    )
    .await?;
    tx.commit().await?;
    let vid = tongxin_store::registry::volunteer_of_user(app.store.reader(), user.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("volunteer missing"))?;
    let vactor = tongxin_app::auth::actor_of(&user).map_err(err)?;
    let vtoken = app.create_api_token(&ctx, &vactor, "bench-responder", Some(1)).await.map_err(err)?;
    let commander = tongxin_app::auth::actor_of(&app.store.user_by_username(&f.username).await?).map_err(err)?;
    let mut tasks = Vec::with_capacity(a.offers);
    for i in 0..a.offers {
        let form = TaskForm {
            incident_id: Some(f.incident),
            title: format!("转移被困居民 {}", i + 1),
            head_count: 1,
            lon: 120.705,
            lat: 31.318,
            ..Default::default()
        };
        tasks.push(app.create_task(&commander, &ctx, &form).await.map_err(err)?);
    }
    app.store.close().await;

    let http = http_client()?;
    let mut server = Server::new(&db.db)?;
    server.start(&http).await?;
    let base = server.url();
    // The responder's screen: a long-lived stream without the client's request timeout.
    let sse_client = reqwest::Client::builder().build()?;
    let resp =
        sse_client.get(format!("{base}/events?topics=task")).bearer_auth(&vtoken).send().await?.error_for_status()?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(read_sse(resp, tx));
    // The stream starts when the handler has run; a short pause lets the hub subscribe.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut lat_us = Vec::with_capacity(a.offers);
    let mut req_us = Vec::with_capacity(a.offers);
    let mut missed = 0;
    for tid in &tasks {
        while rx.try_recv().is_ok() {}
        let t0 = Instant::now();
        let resp = http
            .post(format!("{base}/api/v1/dispatch/confirm"))
            .bearer_auth(&f.token)
            .json(&serde_json::json!([{"task_id": tid, "volunteer_id": vid, "distance_m": 0}]))
            .send()
            .await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await?;
        req_us.push(t0.elapsed().as_micros() as u64);
        anyhow::ensure!(status.is_success(), "派单失败 / offer failed: {status} {body}");
        let deadline = t0 + Duration::from_secs(5);
        let mut got = None;
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            if e.event != "task.offered" {
                continue;
            }
            let row: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
            let payload: serde_json::Value =
                serde_json::from_str(row["payload"].as_str().unwrap_or("{}")).unwrap_or_default();
            if payload["task"].as_i64() == Some(*tid) {
                got = Some(e.at);
                break;
            }
        }
        match got {
            Some(at) => lat_us.push(at.saturating_duration_since(t0).as_micros() as u64),
            None => missed += 1,
        }
        // Free the responder for the next offer.
        let aid = body["ids"][0].as_i64().unwrap_or(0);
        let r = http.post(format!("{base}/api/v1/assignments/{aid}/withdraw")).bearer_auth(&f.token).send().await?;
        anyhow::ensure!(r.status().is_success(), "撤回失败 / withdraw failed: {}", r.status());
    }
    reader.abort();
    server.stop();
    lat_us.sort_unstable();
    req_us.sort_unstable();
    let p99 = percentile_ms(&lat_us, 0.99);
    let ok = missed == 0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "offer-latency", "offers": a.offers, "received": lat_us.len(), "missed": missed,
            "p50_ms": percentile_ms(&lat_us, 0.50), "p99_ms": p99, "max_ms": percentile_ms(&lat_us, 1.0),
            "request_p50_ms": percentile_ms(&req_us, 0.50), "request_p99_ms": percentile_ms(&req_us, 0.99),
            "target_ms": 200, "met": ok && p99 < 200.0, "backend": backend(r), "cores": cores(), "ok": ok,
        })
    );
    drop(db);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
