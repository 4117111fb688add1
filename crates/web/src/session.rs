//! Who is asking: session cookie or API bearer token, language, request id and IP, resolved
//! once per request by [`resolve`] and read by handlers through extractors. CSRF is checked
//! here for cookie-authenticated API calls (header) and by [`CsrfForm`] for page forms (field).

use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use tongxin_app::{AppError, RequestCtx};
use tongxin_domain::{Actor, Lang};

/// Session cookie name.
pub const SESSION_COOKIE: &str = "tx_session";
/// Language cookie name.
pub const LANG_COOKIE: &str = "tx_lang";
/// Pre-login CSRF cookie (double submit on the login form).
pub const PRE_CSRF_COOKIE: &str = "tx_pre";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authed {
    /// The account and its scope.
    pub actor: Actor,
    /// CSRF token of the session (empty for bearer tokens).
    pub csrf: String,
    /// The session cookie value (None for bearer tokens).
    pub session_token: Option<String>,
}

/// Per-request facts, stored in request extensions by [`resolve`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// Request context for audit.
    pub ctx: RequestCtx,
    /// The account, if any.
    pub authed: Option<Authed>,
}

/// Reads one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value. HttpOnly and SameSite=Lax always; Secure when configured.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, http_only: bool, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age_s}{}{}",
        if http_only { "; HttpOnly" } else { "" },
        if secure { "; Secure" } else { "" }
    )
}

fn client_ip(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(ip) =
            req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next())
        {
            return ip.trim().to_string();
        }
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default()
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: resolves the caller once; refuses cookie-authenticated API writes without the
/// session's CSRF header.
pub async fn resolve(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let lang = cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(Lang::from_accept_language))
        .unwrap_or_default();
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let ctx = RequestCtx { request_id, ip: client_ip(&req, st.cfg.trust_proxy), lang };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let session = cookie(headers, SESSION_COOKIE).map(str::to_string);
    let mut authed = None;
    if let Some(token) = bearer {
        match st.app.bearer(&token).await {
            Ok(actor) => authed = Some(Authed { actor, csrf: String::new(), session_token: None }),
            Err(AppError::Unauthorized) => return ApiError { err: AppError::Unauthorized, lang }.into_response(),
            Err(err) => return ApiError { err, lang }.into_response(),
        }
    } else if let Some(token) = session {
        match st.app.session(&token).await {
            Ok(s) => authed = Some(Authed { actor: s.actor, csrf: s.csrf, session_token: Some(token) }),
            Err(AppError::Unauthorized) => {}
            Err(err) => return ApiError { err, lang }.into_response(),
        }
        if let Some(a) = &authed {
            let path = req.uri().path();
            if path.starts_with("/api/") && is_unsafe(req.method()) {
                let sent = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
                if !constant_eq(sent, &a.csrf) {
                    let detail = match lang {
                        Lang::Zh => "缺少或错误的 CSRF 令牌（请求头 X-CSRF-Token）",
                        Lang::En => "Missing or wrong CSRF token (X-CSRF-Token header)",
                    };
                    return crate::error::Problem::new(StatusCode::FORBIDDEN, "csrf", detail.to_string())
                        .into_response();
                }
            }
        }
    }
    req.extensions_mut().insert(Caller { ctx, authed });
    next.run(req).await
}

/// Compares secrets in constant time.
pub fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().cloned().unwrap_or(Caller { ctx: RequestCtx::default(), authed: None }))
    }
}

/// An authenticated API caller; 401 problem+json otherwise.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// The caller.
    pub authed: Authed,
    /// Request context.
    pub ctx: RequestCtx,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let Ok(c) = Caller::from_request_parts(parts, s).await;
        match c.authed {
            Some(authed) => Ok(ApiUser { authed, ctx: c.ctx }),
            None => Err(ApiError { err: AppError::Unauthorized, lang: c.ctx.lang }),
        }
    }
}

/// A logged-in page visitor; redirected to the login page otherwise.
#[derive(Debug, Clone)]
pub struct PageUser {
    /// The caller.
    pub authed: Authed,
    /// Request context.
    pub ctx: RequestCtx,
}

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let Ok(c) = Caller::from_request_parts(parts, s).await;
        match c.authed {
            Some(authed) => Ok(PageUser { authed, ctx: c.ctx }),
            None => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                Err(Redirect::to(&format!("/login?{q}")).into_response())
            }
        }
    }
}

/// A form body whose `_csrf` field must match the session's token. Protects every page form.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(c) = Caller::from_request_parts(&mut parts, s).await;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, s).await.map_err(IntoResponse::into_response)?;
        let sent: Option<String> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|v| v.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v));
        let expected = c.authed.as_ref().map(|a| a.csrf.as_str()).unwrap_or("");
        if expected.is_empty() || !sent.is_some_and(|s| constant_eq(&s, expected)) {
            let msg = if c.ctx.lang == Lang::Zh {
                "表单已过期或来源不明，请刷新页面后重试"
            } else {
                "The form expired or did not come from this site; reload and try again"
            };
            return Err((StatusCode::FORBIDDEN, msg).into_response());
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response())
    }
}
