//! Tongxin web edge: axum routers per feature, thin handlers over the application services.
//! JSON API under `/api/v1` (problem+json errors, OpenAPI at `/api/openapi.json`), server-rendered
//! pages with htmx, embedded static assets, health and metrics.
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod error;
pub mod i18n;
pub mod idempotency;
pub mod live;
pub mod ops;
pub mod pages;
pub mod session;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tongxin_app::App;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Settings of the web edge.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` (behind a load balancer).
    pub trust_proxy: bool,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Demo mode (`serve --demo`): the login page lists the demo accounts.
    pub demo: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            trust_proxy: false,
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            demo: false,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Application services.
    pub app: App,
    /// Web settings.
    pub cfg: Arc<WebConfig>,
    /// Prometheus renderer.
    pub metrics: PrometheusHandle,
}

/// Content-Security-Policy: no inline script anywhere; styles may be inline (Leaflet, Swagger UI).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
                       connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The whole application router with its middleware stack.
pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let timeout = state.cfg.request_timeout;
    let limit = state.cfg.max_body_bytes;
    Router::new()
        .merge(pages::router())
        .nest("/api/v1", api::router())
        .merge(api::docs_router())
        .merge(ops::router())
        .merge(live::router())
        .merge(assets::router())
        // Inner to `resolve`: idempotency keys belong to the resolved caller.
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotency))
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::resolve))
        .layer(axum::middleware::from_fn(ops::track))
        .layer(DefaultBodyLimit::max(limit))
        // Every API error is problem+json, also axum's own (bad path id, 405, 413).
        .layer(axum::middleware::from_fn(api::api_problems))
        // Streamed exports are sent as they are produced, uncompressed (gzip over the streamed
        // body cut downloads short); everything else is compressed.
        .layer(
            CompressionLayer::new().compress_when(
                DefaultPredicate::new()
                    .and(NotForContentType::const_new("text/csv"))
                    .and(NotForContentType::const_new("application/vnd.openxmlformats")),
            ),
        )
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("geolocation=(self), camera=(), microphone=()"),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// Serves on an already-bound listener until `shutdown` resolves, then drains requests in flight.
pub async fn serve_with_listener(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
