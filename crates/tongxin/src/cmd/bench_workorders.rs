//! `tongxin bench workorders …`: the overdue scan over a city's open work orders and the public
//! accountability page, one JSON line. Use an empty `--data` dir (or a scratch PostgreSQL
//! database) and `--release`.
//!
//! `scan --orders 100000 --overdue 1000`: loads that many open orders spread over every community
//! of Suzhou (of which `--overdue` are past their deadline), then times one overdue scan (each
//! escalation commits its history step, live event, inbox notifications and audit record), a
//! second scan with nothing due, and `GET /public/accountability` (city and one district) over
//! real HTTP.

use super::{open, Resolved};
use clap::Subcommand;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tongxin_domain::division::Level;
use tongxin_store::workorders::{OrderRow, StatDelta};

/// Work-order benchmarks.
#[derive(Debug, Subcommand)]
pub enum WorkordersBench {
    /// Overdue scan over N open work orders and the public accountability page.
    Scan {
        /// Open work orders to create.
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        /// How many of them are past their deadline.
        #[arg(long, default_value_t = 1_000)]
        overdue: usize,
        /// Requests per public page measurement.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    (v.get(i).copied().unwrap_or(0.0) * 100.0).round() / 100.0
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<(u16, usize)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let status = std::str::from_utf8(&buf[..buf.len().min(12)])
        .ok()
        .and_then(|l| l.get(9..12))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, buf.len()))
}

/// Runs a work-order benchmark.
pub async fn run(r: &Resolved, c: WorkordersBench) -> anyhow::Result<()> {
    let WorkordersBench::Scan { orders, overdue, requests } = c;
    let app = open(&r.db).await?;
    app.ensure_division_tree().await?;
    if app.store.count_rows("work_orders").await? > 0 {
        anyhow::bail!(
            "数据库中已有工单，请使用空的 --data 目录 / the database already has work orders; use an empty --data dir"
        );
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let city = app.store.division("320500000000").await?;
    let communities = app.store.divisions_at_level(&city.path, Level::Community).await?;
    let now = tongxin_store::now_ms();
    let load = Instant::now();
    let mut rows = Vec::with_capacity(orders);
    let mut stats: std::collections::HashMap<String, (String, String, i64)> = Default::default();
    let kinds = tongxin_domain::workorders::KINDS;
    for i in 0..orders {
        let c = &communities[i * 7919 % communities.len()];
        let (district, street, _) = tongxin_app::workorders::units_of(&c.path);
        let late = i < overdue;
        // Overdue ones passed their deadline a minute ago; the rest are due within 5 days.
        let due = if late { now - 60_000 } else { now + 3_600_000 + (i as i64 % 120) * 3_600_000 };
        let o = OrderRow {
            id: 0,
            code: String::new(),
            kind: kinds[i % kinds.len()].0.to_string(),
            urgency: if i % 5 == 0 { "urgent".into() } else { "normal".into() },
            vulnerable: if i % 3 == 0 { "elderly_alone".into() } else { String::new() },
            description: "bench".into(),
            division_code: c.code.clone(),
            division_path: c.path.clone(),
            district_code: district.clone(),
            street_code: street.clone(),
            address_enc: String::new(),
            contact_name: String::new(),
            phone_enc: String::new(),
            lon: None,
            lat: None,
            requester_user_id: None,
            filed_by_user_id: None,
            channel: "grid".into(),
            state: ["received", "dispatched", "accepted", "in_progress", "answered"][i % 5].into(),
            assignee_kind: String::new(),
            assignee_org_id: None,
            assignee_user_id: None,
            assignee_name: String::new(),
            step_started_at: now - 3_600_000,
            due_at: Some(due),
            escalate_at: Some(due),
            step_ms: 2 * 3_600_000,
            escalation: 0,
            extensions: 0,
            answer: String::new(),
            rating: None,
            rating_comment: String::new(),
            answered_on_time: None,
            answered_at: None,
            closed_at: None,
            created_at: now - 3_600_000,
            updated_at: now - 3_600_000,
        };
        stats.entry(c.code.clone()).or_insert((street, district, 0)).2 += 1;
        rows.push((o, format!("bench-{i}")));
    }
    let mut tx = app.store.begin().await?;
    tongxin_store::workorders::insert_orders_bulk(&mut tx, &rows, "WOBENCH").await?;
    for (community, (street, district, n)) in &stats {
        tongxin_store::workorders::bump_stats(
            &mut tx,
            community,
            street,
            district,
            &StatDelta { received: *n, ..Default::default() },
        )
        .await?;
    }
    tx.commit().await?;
    let load_ms = load.elapsed().as_millis();

    let t = Instant::now();
    let escalated = app.scan_overdue(tongxin_store::now_ms()).await?;
    let scan_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let again = app.scan_overdue(tongxin_store::now_ms()).await?;
    let idle_scan_ms = t.elapsed().as_secs_f64() * 1000.0;

    // The public page over real HTTP on this node.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = tongxin_web::AppState::new(
        app.clone(),
        std::sync::Arc::new(tongxin_web::WebConfig::default()),
        tongxin_web::ops::metrics_handle(),
    );
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tongxin_web::serve_with_listener(listener, state, async {
        let _ = rx.await;
    }));
    let mut out = serde_json::json!({
        "bench": "workorders-scan", "backend": app.store.backend().name(), "cores": cores,
        "open_orders": orders, "overdue": overdue, "load_ms": load_ms,
        "scan_ms": (scan_ms * 10.0).round() / 10.0, "escalated": escalated,
        "idle_scan_ms": (idle_scan_ms * 100.0).round() / 100.0, "idle_escalated": again,
    });
    for (name, path) in
        [("public_city", "/public/accountability"), ("public_district", "/public/accountability?division=320508000000")]
    {
        let mut times = Vec::with_capacity(requests);
        let mut bytes = 0;
        for _ in 0..requests {
            let t = Instant::now();
            let (status, n) = http_get(addr, path).await?;
            anyhow::ensure!(status == 200, "{path} answered {status}");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            bytes = n;
        }
        out[format!("{name}_p50_ms")] = pct(&mut times, 0.5).into();
        out[format!("{name}_p95_ms")] = pct(&mut times, 0.95).into();
        out[format!("{name}_bytes")] = bytes.into();
    }
    let _ = stop.send(());
    println!("{out}");
    Ok(())
}
