//! Sessions and the caller's own account.

use super::ApiJson;
use crate::error::{ApiError, Problem};
use crate::session::{set_cookie, ApiUser, Caller, SESSION_COOKIE};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tongxin_domain::Actor;
use utoipa::ToSchema;

/// Login credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// The calling account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role key.
    pub role: String,
    /// Role label in the request's language.
    pub role_label: String,
    /// Jurisdiction code.
    pub division_code: Option<String>,
    /// Organisation id.
    pub org_id: Option<i64>,
}

/// Login result.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The account.
    pub user: Me,
    /// Send as `X-CSRF-Token` on writes made with the session cookie.
    pub csrf_token: String,
}

/// Password change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    /// Current password.
    pub current_password: String,
    /// New password (≥ 8, letters and digits).
    pub new_password: String,
}

/// Token request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// A name to recognise the token by.
    pub name: String,
    /// Lifetime in days (none = until revoked).
    pub ttl_days: Option<i64>,
}

/// A new token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Use as `Authorization: Bearer <token>`.
    pub token: String,
}

/// Converts the actor for the API.
pub fn me_of(a: &Actor, lang: tongxin_domain::Lang) -> Me {
    Me {
        id: a.user_id,
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        role: a.role.key().to_string(),
        role_label: if lang == tongxin_domain::Lang::Zh { a.role.label_zh() } else { a.role.label_en() }.to_string(),
        division_code: a.division_code.clone(),
        org_id: a.org_id,
    }
}

/// Log in; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let lang = c.ctx.lang;
    let out = st.app.login(&c.ctx, &body.username, &body.password).await.map_err(|err| ApiError { err, lang })?;
    let cookie =
        set_cookie(SESSION_COOKIE, &out.token, st.app.config.session_ttl_ms / 1000, true, st.cfg.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(LoginResponse { user: me_of(&out.actor, lang), csrf_token: out.csrf }))
        .into_response())
}

/// Log out this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(State(st): State<AppState>, u: ApiUser) -> Result<Response, ApiError> {
    if let Some(t) = &u.authed.session_token {
        st.app.logout(&u.ctx, &u.authed.actor, t).await.map_err(|err| ApiError { err, lang: u.ctx.lang })?;
    }
    let cookie = set_cookie(SESSION_COOKIE, "", 0, true, st.cfg.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The calling account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(u: ApiUser) -> Json<Me> {
    Json(me_of(&u.authed.actor, u.ctx.lang))
}

/// Change the password; ends every session of the account.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = Problem)))]
pub async fn change_password(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    st.app
        .change_password(&u.ctx, &u.authed.actor, &b.current_password, &b.new_password)
        .await
        .map_err(|err| ApiError { err, lang: u.ctx.lang })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API token that acts as the caller, with the caller's scope.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 422, body = Problem)))]
pub async fn create_token(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let token = st
        .app
        .create_api_token(&u.ctx, &u.authed.actor, &b.name, b.ttl_days)
        .await
        .map_err(|err| ApiError { err, lang: u.ctx.lang })?;
    Ok((StatusCode::CREATED, Json(TokenResponse { token })).into_response())
}
