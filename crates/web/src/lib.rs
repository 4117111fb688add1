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
    /// Basemap tiles for the incident map: a Leaflet URL template (`https://{s}.tile.example/{z}/{x}/{y}.png`);
    /// empty: no basemap (the map draws the district outlines only and works offline).
    pub map_tiles: String,
    /// Datum of the basemap: `wgs84` (OpenStreetMap-style) or `gcj02` (Chinese basemaps); data stays
    /// WGS-84 and is converted in the browser when drawn (and back when a place is picked).
    pub map_crs: String,
    /// Attribution the basemap's licence requires (shown on the map).
    pub map_attribution: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            trust_proxy: false,
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            demo: false,
            map_tiles: String::new(),
            map_crs: "wgs84".into(),
            map_attribution: String::new(),
        }
    }
}

/// Shared state of every handler. One pointer: axum clones it for every middleware layer and
/// handler of every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] points to.
pub struct Shared {
    /// Application services.
    pub app: App,
    /// Web settings.
    pub cfg: Arc<WebConfig>,
    /// Prometheus renderer.
    pub metrics: PrometheusHandle,
}

impl AppState {
    /// The state of one node's router.
    pub fn new(app: App, cfg: Arc<WebConfig>, metrics: PrometheusHandle) -> AppState {
        AppState(Arc::new(Shared { app, cfg, metrics }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Content-Security-Policy: no inline script anywhere; styles may be inline (Leaflet, Swagger UI).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
                       connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The origin a Leaflet tile URL template loads images from, for the CSP (`{s}` subdomains become
/// a wildcard); None for anything that is not a plain http(s) origin.
pub fn tile_origin(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split('/').next()?.replace("{s}", "*");
    let ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'))
        && host.matches('*').count() <= usize::from(host.starts_with("*."));
    ok.then(|| format!("{scheme}://{host}"))
}

/// The Content-Security-Policy of every page: [`CSP`], with the configured tile origin allowed
/// as an image source.
pub fn csp_for(cfg: &WebConfig) -> HeaderValue {
    let csp = match tile_origin(&cfg.map_tiles) {
        Some(o) => CSP.replacen("img-src 'self' data: blob:", &format!("img-src 'self' data: blob: {o}"), 1),
        None => CSP.to_string(),
    };
    HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static(CSP))
}

/// The whole application router with its middleware stack.
pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let timeout = state.cfg.request_timeout;
    let limit = state.cfg.max_body_bytes;
    let csp = csp_for(&state.cfg);
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
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
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

#[cfg(test)]
mod tests {
    #[test]
    fn tile_origins_for_the_csp() {
        assert_eq!(
            super::tile_origin("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png").as_deref(),
            Some("https://*.tile.openstreetmap.org")
        );
        assert_eq!(
            super::tile_origin("http://10.0.0.5:8081/tiles/{z}/{x}/{y}.png").as_deref(),
            Some("http://10.0.0.5:8081")
        );
        assert_eq!(super::tile_origin(""), None);
        assert_eq!(super::tile_origin("javascript:alert(1)"), None);
        assert_eq!(super::tile_origin("https://a.example'; script-src *"), None);
        assert_eq!(super::tile_origin("https://{x}.example/{z}"), None);
    }
}
