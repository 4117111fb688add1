//! `tongxin serve`.

use super::{open, Resolved};
use clap::Args;
use std::process::ExitCode;
use std::time::Duration;
use tongxin_web::{AppState, WebConfig};

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TONGXIN_LISTEN")]
    pub listen: Option<String>,
    /// Demo mode: on an empty database, generate small-scale Suzhou demo data and one account
    /// per role (password printed below).
    #[arg(long, env = "TONGXIN_DEMO")]
    pub demo: bool,
    /// Basemap tile URL template for the incident map, e.g.
    /// `https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png` [default: none: district outlines only, offline].
    #[arg(long, env = "TONGXIN_MAP_TILES")]
    pub map_tiles: Option<String>,
    /// Datum of the basemap: `wgs84` or `gcj02` (Chinese basemaps) [default: wgs84].
    #[arg(long, env = "TONGXIN_MAP_CRS")]
    pub map_crs: Option<String>,
    /// Attribution the basemap requires, shown on the map.
    #[arg(long, env = "TONGXIN_MAP_ATTRIBUTION")]
    pub map_attribution: Option<String>,
}

/// Runs the server until Ctrl-C or SIGTERM, then drains requests in flight.
pub async fn run(r: &Resolved, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let listen = args.listen.or_else(|| r.file.listen.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
    let app = open(&r.db).await?;
    let loaded = app.ensure_division_tree().await?;
    if loaded > 0 {
        tracing::info!(rows = loaded, "已载入苏州行政区划 / loaded the Suzhou division tree");
    }
    if args.demo {
        if app.store.count_rows("organizations").await? == 0 {
            let rep = app.seed(tongxin_app::seed::Scale::Small, 2026, false).await?;
            tracing::info!(?rep, "演示数据已生成 / demo data generated");
        }
        app.ensure_demo_accounts().await?;
        app.seed_alerts().await?;
        app.seed_incidents().await?;
        app.seed_workorders().await?;
        app.seed_registry().await?;
    }
    app.live.start(app.store.clone());
    app.start_outbox_workers();
    app.start_offer_expiry();
    app.start_workorder_scanner();
    let store = app.store.clone();
    tokio::spawn(async move {
        // Idempotency keys only need to outlive retries: forget them after a day.
        loop {
            if let Err(e) = store.idem_prune(tongxin_store::now_ms() - 24 * 3600 * 1000).await {
                tracing::warn!(error = %e, "pruning idempotency keys failed");
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    let map_crs = args.map_crs.or_else(|| r.file.map_crs.clone()).unwrap_or_else(|| "wgs84".into()).to_lowercase();
    if map_crs != "wgs84" && map_crs != "gcj02" {
        anyhow::bail!("地图坐标系只能是 wgs84 或 gcj02 / map_crs must be wgs84 or gcj02, not {map_crs}");
    }
    let cfg = WebConfig {
        secure_cookies: r.file.secure_cookies.unwrap_or(false),
        trust_proxy: r.file.trust_proxy.unwrap_or(false),
        max_body_bytes: r.file.max_body_bytes.unwrap_or(2 * 1024 * 1024),
        request_timeout: Duration::from_secs(30),
        demo: args.demo,
        map_tiles: args.map_tiles.or_else(|| r.file.map_tiles.clone()).unwrap_or_default(),
        map_crs,
        map_attribution: args.map_attribution.or_else(|| r.file.map_attribution.clone()).unwrap_or_default(),
    };
    let state = AppState::new(app.clone(), std::sync::Arc::new(cfg), tongxin_web::ops::metrics_handle());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("无法监听 / cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    println!("同心 Tongxin 已启动 / is running: http://{addr}/  ({})", app.store.backend().name());
    if args.demo {
        println!("演示账号 / demo accounts (密码 / password: {}):", tongxin_app::seed::DEMO_PASSWORD);
        for (u, name, role, _) in tongxin_app::seed::DEMO_ACCOUNTS {
            println!("  {u:<10} {} / {} — {name}", role.label_zh(), role.label_en());
        }
    }
    tongxin_web::serve_with_listener(listener, state, shutdown_signal()).await?;
    app.store.close().await;
    tracing::info!("已停止 / stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("正在停止 / shutting down");
}
