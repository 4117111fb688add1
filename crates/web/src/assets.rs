//! Static assets (CSS, JS, vendored htmx/Leaflet/Swagger UI), embedded in the binary: the UI
//! works offline, with no CDN.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct Static;

/// Routes for `/static/*`.
pub fn router() -> Router<crate::AppState> {
    Router::new().route("/static/{*path}", get(serve))
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("xsd") => "application/xml",
        _ => "application/octet-stream",
    }
}

async fn serve(Path(path): Path<String>) -> Response {
    match Static::get(&path) {
        Some(f) => (
            [(header::CONTENT_TYPE, mime(&path)), (header::CACHE_CONTROL, "public, max-age=3600")],
            f.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
