//! Account administration (system administrators, within their jurisdiction).

use super::ApiJson;
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tongxin_app::auth::NewAccount;
use utoipa::ToSchema;

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    /// Login name (3–64 of letters, digits, `._-`).
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Initial password.
    pub password: String,
    /// Role key: commander, civil_affairs, community_worker, grid_worker, org_admin, volunteer, resident, supervisor, sys_admin.
    pub role: String,
    /// Jurisdiction code (required for officers and workers).
    pub division_code: Option<String>,
    /// Organisation id (required for organisation admins).
    pub org_id: Option<i64>,
}

/// Created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// New id.
    pub id: i64,
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let n = NewAccount {
        username: b.username,
        display_name: b.display_name,
        password: b.password,
        role: b.role,
        division_code: b.division_code,
        org_id: b.org_id,
    };
    let id = st
        .app
        .create_user(&u.ctx, Some(&u.authed.actor), &n)
        .await
        .map_err(|err| ApiError { err, lang: u.ctx.lang })?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}
