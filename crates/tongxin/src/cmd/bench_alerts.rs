//! `tongxin bench alerts …`: capability G figures, one JSON line each. Use an empty `--data` dir
//! (or a scratch PostgreSQL database) and `--release`.
//!
//! - `issue --households 1000000`: loads that many households into one district, then issues a
//!   red alert for the district and measures until every delivery is queued (one transaction),
//!   and how long the public live event takes to reach `--screens` subscribers of the live hub.
//! - `webhook --messages 20000`: delivery throughput of the outbox workers to a local webhook
//!   receiver (HTTP/1.1 keep-alive on 127.0.0.1), HMAC-signed, until every message is sent.

use super::{open, Resolved};
use clap::Subcommand;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tongxin_app::alerts::{AreaInput, DraftInput};
use tongxin_domain::{Actor, Role};

/// Alert benchmarks.
#[derive(Debug, Subcommand)]
pub enum AlertsBench {
    /// Issue a red alert to a district of N households: queueing time and live reach.
    Issue {
        /// Households to load into the district.
        #[arg(long, default_value_t = 1_000_000)]
        households: usize,
        /// District code.
        #[arg(long, default_value = "320508000000")]
        district: String,
        /// Live-hub subscribers (connected screens) to reach.
        #[arg(long, default_value_t = 1000)]
        screens: usize,
    },
    /// Webhook delivery throughput to a local receiver.
    Webhook {
        /// Messages to deliver.
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// Worker loops (as several nodes would run).
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
}

fn bench_actor(path: &str) -> Actor {
    Actor {
        user_id: 0,
        username: "bench".into(),
        display_name: "bench".into(),
        role: Role::Commander,
        division_code: Some("320500000000".into()),
        division_path: Some(path.into()),
        org_id: None,
    }
}

/// Runs an alert benchmark.
pub async fn run(r: &Resolved, c: AlertsBench) -> anyhow::Result<()> {
    let app = open(&r.db).await?;
    app.ensure_division_tree().await?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let city = app.store.division("320500000000").await?;
    match c {
        AlertsBench::Issue { households, district, screens } => {
            let d = app.store.division(&district).await?;
            // Households spread over the district's communities (a grid each), deterministic.
            let t = Instant::now();
            let communities = app.store.divisions_at_level(&d.path, tongxin_domain::division::Level::Community).await?;
            anyhow::ensure!(!communities.is_empty(), "no communities under {district}");
            let existing = app.store.count_rows("households").await?;
            if existing < households as i64 {
                let mut f = tongxin_domain::fake::Faker::new(7);
                let mut tx = app.store.begin().await?;
                let mut batch = Vec::with_capacity(10_000);
                for i in existing as usize..households {
                    let c = &communities[i % communities.len()];
                    let (lon, lat) = f.point_in_district(&district[..6]);
                    batch.push(tongxin_store::registry::NewHousehold {
                        grid_code: c.code.clone(),
                        division_path: c.path.clone(),
                        address: String::new(),
                        lon,
                        lat,
                        members: 3,
                        vulnerable: String::new(),
                        contact_phone: format!("139{:08}", i),
                    });
                    if batch.len() == batch.capacity() {
                        tongxin_store::registry::insert_households(&mut tx, &batch).await?;
                        batch.clear();
                    }
                }
                tongxin_store::registry::insert_households(&mut tx, &batch).await?;
                tx.commit().await?;
            }
            let load_ms = t.elapsed().as_millis();
            // The alert goes to data loaded long before in real life: statistics, vacuum and the
            // load's checkpoint are done then, not during the measured issue.
            let t = Instant::now();
            app.store.analyze().await?;
            if let Err(e) = app.store.checkpoint().await {
                tracing::warn!(error = %e, "checkpoint before the measurement failed / 测量前检查点失败");
            }
            let settle_ms = t.elapsed().as_millis();
            let t = Instant::now();
            app.area_index().await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let index_ms = t.elapsed().as_millis();
            app.live.start(app.store.clone());
            *app.alerts.four_eyes.write().map_err(|_| anyhow::anyhow!("lock"))? =
                Some(tongxin_domain::alerts::FourEyes::parse("none").map_err(|e| anyhow::anyhow!(e))?);
            let actor = bench_actor(&city.path);
            let ctx = tongxin_app::RequestCtx { request_id: "bench".into(), ..Default::default() };
            let now = tongxin_store::now_ms();
            let draft = DraftInput {
                category: "Met".into(),
                event: "台风".into(),
                colour: "red".into(),
                urgency: Some("Immediate".into()),
                certainty: Some("Observed".into()),
                headline: format!("{}台风红色预警", d.name),
                description: "bench".into(),
                instruction: "立即转移".into(),
                effective: Some(now),
                expires: now + 6 * 3600 * 1000,
                area: AreaInput { divisions: vec![district.clone()], polygon: None, circle: None },
                area_desc: None,
            };
            let a = app.alert_draft(&actor, &ctx, &draft).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            // Connected screens: subscribers of this node's live hub.
            let mut subs: Vec<_> = (0..screens).map(|_| app.live.subscribe()).collect();
            let before = app.store.count_rows("outbox").await?;
            let t = Instant::now();
            app.alert_submit(&actor, &ctx, a.id).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let issue_ms = t.elapsed().as_secs_f64() * 1000.0;
            let queued = app.store.count_rows("outbox").await? - before;
            // Time until every subscriber has the public alert event.
            let mut reached = 0;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            for s in subs.iter_mut() {
                loop {
                    match tokio::time::timeout_at(deadline, s.recv()).await {
                        Ok(Ok(e)) if e.topic == "alert" && e.kind == "issued" => {
                            reached += 1;
                            break;
                        }
                        Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                        _ => break,
                    }
                }
            }
            let live_ms = t.elapsed().as_secs_f64() * 1000.0 - issue_ms;
            println!(
                "{}",
                serde_json::json!({"bench": "alerts-issue", "households": households, "queued": queued,
                    "issue_and_queue_ms": issue_ms.round(), "screens": screens, "screens_reached": reached,
                    "live_after_commit_ms": live_ms.round(), "load_ms": load_ms, "settle_ms": settle_ms, "index_ms": index_ms,
                    "backend": app.store.backend().name(), "cores": cores})
            );
        }
        AlertsBench::Webhook { messages, workers } => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}/hook", listener.local_addr()?);
            tokio::spawn(serve_ok(listener));
            let mut tx = app.store.begin().await?;
            let ep = tongxin_store::outbox::insert_endpoint(&mut tx, "bench", &url, "bench-secret-0123456789", "", "")
                .await?;
            let tag = tongxin_store::now_ms();
            let msgs: Vec<_> = (0..messages)
                .map(|i| tongxin_store::outbox::NewMessage {
                    channel: "webhook".into(),
                    recipient: ep.to_string(),
                    kind: "bench.webhook".into(),
                    ref_type: "bench".into(),
                    ref_id: Some(tag),
                    idempotency_key: format!("bench:{tag}:{i}"),
                    body: format!("{{\"n\":{i},\"text\":\"台风红色预警\"}}"),
                    not_before: 0,
                    ..Default::default()
                })
                .collect();
            tongxin_store::outbox::enqueue(&mut tx, &msgs).await?;
            tx.commit().await?;
            let mut cfg = app.channel_config();
            cfg.batch = 1000;
            cfg.concurrency = 128;
            app.set_channel_config(cfg);
            let t = Instant::now();
            let mut handles = Vec::new();
            for w in 0..workers {
                let app = app.clone();
                handles.push(tokio::spawn(async move {
                    let client = reqwest_client();
                    let name = format!("bench-{w}");
                    while app.deliver_batch(&name, &client).await.unwrap_or(0) > 0 {}
                }));
            }
            for h in handles {
                h.await?;
            }
            let secs = t.elapsed().as_secs_f64();
            let counts = app.store.outbox_counts("bench", tag).await?;
            let sent: i64 = counts.iter().filter(|c| c.state == "sent").map(|c| c.n).sum();
            println!(
                "{}",
                serde_json::json!({"bench": "alerts-webhook", "messages": messages, "sent": sent,
                    "seconds": (secs * 1000.0).round() / 1000.0, "per_second": (sent as f64 / secs).round(),
                    "workers": workers, "backend": app.store.backend().name(), "cores": cores})
            );
        }
    }
    Ok(())
}

fn reqwest_client() -> tongxin_app::outbox::HttpClient {
    tongxin_app::outbox::http_client(Duration::from_secs(10))
}

/// A minimal HTTP/1.1 receiver answering 200 to every POST, with keep-alive.
async fn serve_ok(l: tokio::net::TcpListener) {
    while let Ok((sock, _)) = l.accept().await {
        tokio::spawn(async move {
            let (r, mut w) = sock.into_split();
            let mut r = BufReader::new(r);
            loop {
                let mut len = 0usize;
                let mut line = String::new();
                let mut first = true;
                loop {
                    line.clear();
                    match r.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == "\r\n" && !first {
                        break;
                    }
                    first = false;
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).await.is_err() {
                    return;
                }
                if w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
                    return;
                }
            }
        });
    }
}
