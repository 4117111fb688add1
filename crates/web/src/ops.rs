//! Operations endpoints: `/healthz` (checks the database) and `/metrics` (Prometheus text:
//! request counts and latency by route, database pool, build info).

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Installs the process-wide metrics recorder once and returns its handle.
pub fn metrics_handle() -> PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        let h = PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            .expect("static buckets")
            .install_recorder()
            .expect("metrics recorder installs once");
        metrics::gauge!("tongxin_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        h
    })
    .clone()
}

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics_text))
}

/// Middleware: counts requests and records latency per matched route (not raw path, to keep
/// label cardinality bounded).
pub async fn track(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.app.store.ping().await {
        Ok(()) => {
            Json(serde_json::json!({ "status": "ok", "database": st.app.store.backend().name() })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "error", "database": "unreachable" })))
                .into_response()
        }
    }
}

async fn metrics_text(State(st): State<AppState>) -> Response {
    for (pool, size, idle) in st.app.store.pool_stats() {
        metrics::gauge!("db_pool_connections", "pool" => pool, "state" => "open").set(size as f64);
        metrics::gauge!("db_pool_connections", "pool" => pool, "state" => "idle").set(idle as f64);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render()).into_response()
}
