//! JSON API under `/api/v1`, documented in OpenAPI 3.1 generated from these handlers.
//!
//! Conventions every later list follows: `?limit=` (1–500, default 50), `?cursor=` from the
//! previous page's `next_cursor`, `?sort=` and `?order=asc|desc`, filters as plain query
//! parameters, `?division=` for a subtree. Errors are problem+json in the request's language.

pub mod alerts;
pub mod divisions;
pub mod grids;
pub mod incident_photos;
pub mod incidents;
pub mod me;
pub mod orgs;
pub mod users;
pub mod volunteers;
pub mod workorders;

use crate::error::{ApiError, Problem};
use crate::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tongxin_domain::Lang;
use utoipa::OpenApi;

/// API routes (mounted at `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(me::login))
        .route("/auth/logout", post(me::logout))
        .route("/me", get(me::me))
        .route("/me/password", post(me::change_password))
        .route("/me/tokens", post(me::create_token))
        .route("/divisions", get(divisions::search))
        .route("/divisions/{code}", get(divisions::get_one))
        .route("/divisions/{code}/children", get(divisions::children))
        .route("/users", post(users::create))
        .merge(orgs::registry_router())
        .merge(grids::router())
        .merge(incidents::router())
        .merge(incident_photos::router())
        .merge(workorders::router())
        .merge(alerts::router())
        .fallback(not_found)
}

/// Middleware: under `/api/`, errors written as plain text become problem+json.
pub async fn api_problems(req: Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    if api {
        plain_errors_as_problems(resp).await
    } else {
        resp
    }
}

/// Every API error is problem+json, also the ones axum's extractors and router write as plain
/// text (a path id that is not a number, a method the route does not take).
async fn plain_errors_as_problems(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ct = resp.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/problem+json") || ct.starts_with("application/json") {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        t => t.to_string(),
    };
    let kind = if status == StatusCode::METHOD_NOT_ALLOWED { "method-not-allowed" } else { "bad-request" };
    let mut out = Problem::new(status, kind, detail).into_response();
    // Keep headers such as Allow and Retry-After.
    for (k, v) in parts.headers.iter() {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// OpenAPI document and explorer routes.
pub fn docs_router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json)).route("/api/docs", get(explorer))
}

async fn not_found(req: Request) -> Response {
    let lang = lang_of(req.headers());
    ApiError { err: tongxin_app::AppError::NotFound, lang }.into_response()
}

fn lang_of(h: &axum::http::HeaderMap) -> Lang {
    crate::session::cookie(h, crate::session::LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| h.get("accept-language").and_then(|v| v.to_str().ok()).map(Lang::from_accept_language))
        .unwrap_or_default()
}

/// The OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tongxin 同心 API", description = "政府与社会力量应急协同平台接口 / Emergency cooperation platform API. \
        Authenticate with the session cookie (send X-CSRF-Token on writes) or `Authorization: Bearer <token>`."),
    paths(me::login, me::logout, me::me, me::change_password, me::create_token, divisions::search, divisions::get_one,
          divisions::children, orgs::list, users::create,
          orgs::create, orgs::update, orgs::detail, orgs::decide, orgs::add_review, orgs::add_policy, orgs::create_team,
          orgs::memberships, orgs::template, orgs::import, orgs::export, orgs::record_training, volunteers::list,
          volunteers::register, volunteers::detail, volunteers::add_certificate, volunteers::set_availability,
          volunteers::request_membership, volunteers::decide_membership, volunteers::export,
          crate::live::list_notifications, crate::live::mark_read),
    components(schemas(Problem, crate::error::ProblemField)),
    tags((name = "auth", description = "登录与会话 / Sessions"), (name = "divisions", description = "行政区划 / Divisions"),
         (name = "registry", description = "社会力量名录 / Registry"), (name = "admin", description = "账号管理 / Accounts"))
)]
pub struct ApiDoc;

async fn openapi_json() -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    doc.merge(workorders::WorkordersApi::openapi());
    doc.merge(grids::GridsApi::openapi());
    doc.merge(incidents::IncidentsApi::openapi());
    doc.merge(incident_photos::IncidentPhotosApi::openapi());
    doc.merge(alerts::AlertsApi::openapi());
    Json(problems_documented(serde_json::to_value(doc).unwrap_or_default()))
}

/// Every error of this API is `application/problem+json` (see `error.rs`); the annotations say
/// `body = Problem`, which utoipa files under `application/json`. This moves them to the right
/// media type and adds a `default` problem response to operations that list only successes, so
/// clients and fuzzers (schemathesis) see every error documented as it is sent.
fn problems_documented(mut doc: serde_json::Value) -> serde_json::Value {
    let problem = serde_json::json!({ "schema": { "$ref": "#/components/schemas/Problem" } });
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return doc };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            for r in responses.values_mut() {
                let Some(content) = r.get_mut("content").and_then(|c| c.as_object_mut()) else { continue };
                let is_problem = content
                    .get("application/json")
                    .and_then(|j| j.pointer("/schema/$ref"))
                    .and_then(|v| v.as_str())
                    .is_some_and(|r| r.ends_with("/Problem"));
                if is_problem {
                    if let Some(v) = content.remove("application/json") {
                        content.insert("application/problem+json".into(), v);
                    }
                }
            }
            responses.entry("default").or_insert_with(|| {
                serde_json::json!({
                    "description": "错误（problem+json）/ Error (problem+json)",
                    "content": { "application/problem+json": problem.clone() },
                })
            });
        }
    }
    doc
}

async fn explorer() -> Html<&'static str> {
    Html(include_str!("../../templates/api_docs.html"))
}

/// JSON body extractor whose rejections are problem+json: malformed JSON → 400, wrong shape →
/// 422, wrong content type → 415, too large → 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;
    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(req.headers());
        match Json::<T>::from_request(req, s).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_problem(&rej, lang).into_response()),
        }
    }
}

fn json_problem(rej: &JsonRejection, lang: Lang) -> Problem {
    let status = rej.status();
    let (kind, zh, en) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "请求体过大", "Request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("media-type", "请求须为 application/json", "Request must be application/json")
        }
        StatusCode::UNPROCESSABLE_ENTITY => {
            ("invalid-body", "JSON 字段缺失或类型错误", "JSON fields are missing or of the wrong type")
        }
        _ => ("malformed-json", "JSON 格式错误", "Malformed JSON"),
    };
    let detail = format!("{}：{}", if lang == Lang::Zh { zh } else { en }, rej.body_text());
    Problem::new(
        if status == StatusCode::BAD_REQUEST || status.is_client_error() { status } else { StatusCode::BAD_REQUEST },
        kind,
        detail,
    )
}

/// Query-string extractor with problem+json rejections (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        match axum::extract::Query::<T>::from_request_parts(parts, s).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => Err(query_problem(&rej, lang).into_response()),
        }
    }
}

fn query_problem(rej: &QueryRejection, lang: Lang) -> Problem {
    let zh = format!("查询参数错误：{}", rej.body_text());
    let en = format!("Invalid query parameters: {}", rej.body_text());
    Problem::new(StatusCode::BAD_REQUEST, "invalid-query", if lang == Lang::Zh { zh } else { en })
}
