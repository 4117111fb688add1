//! Division tree lookups, within the caller's jurisdiction.

use super::ApiQuery;
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tongxin_store::divisions::Division;
use utoipa::{IntoParams, ToSchema};

/// A division node.
#[derive(Debug, Serialize, ToSchema)]
pub struct DivisionDto {
    /// 12-digit code (15 for grids).
    pub code: String,
    /// Name.
    pub name: String,
    /// Level key: city, district, street, community, grid.
    pub level: String,
    /// Parent code.
    pub parent_code: Option<String>,
    /// Codes from the root to this node.
    pub path: Vec<String>,
}

impl From<Division> for DivisionDto {
    fn from(d: Division) -> Self {
        DivisionDto {
            path: tongxin_domain::division::path_codes(&d.path).into_iter().map(String::from).collect(),
            code: d.code,
            name: d.name,
            level: d.level,
            parent_code: d.parent_code,
        }
    }
}

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// Name contains.
    pub q: Option<String>,
    /// At most this many (1–100, default 20).
    pub limit: Option<i64>,
}

/// Search divisions by name inside the caller's jurisdiction.
#[utoipa::path(get, path = "/api/v1/divisions", tag = "divisions", params(SearchParams),
    responses((status = 200, body = Vec<DivisionDto>), (status = 401, body = Problem)))]
pub async fn search(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<Vec<DivisionDto>>, ApiError> {
    let v = st
        .app
        .division_search_for(&u.authed.actor, p.q.as_deref().unwrap_or(""), p.limit.unwrap_or(20))
        .await
        .map_err(|err| ApiError { err, lang: u.ctx.lang })?;
    Ok(Json(v.into_iter().map(Into::into).collect()))
}

/// One node (its own jurisdiction, below it, or an ancestor of it).
#[utoipa::path(get, path = "/api/v1/divisions/{code}", tag = "divisions", params(("code" = String, Path, description = "division code")),
    responses((status = 200, body = DivisionDto), (status = 404, body = Problem)))]
pub async fn get_one(
    State(st): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<DivisionDto>, ApiError> {
    let d = st.app.division_for(&u.authed.actor, &code).await.map_err(|err| ApiError { err, lang: u.ctx.lang })?;
    Ok(Json(d.into()))
}

/// Children of a node, limited to the caller's jurisdiction.
#[utoipa::path(get, path = "/api/v1/divisions/{code}/children", tag = "divisions", params(("code" = String, Path, description = "division code")),
    responses((status = 200, body = Vec<DivisionDto>), (status = 404, body = Problem)))]
pub async fn children(
    State(st): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<Vec<DivisionDto>>, ApiError> {
    let v =
        st.app.division_children_for(&u.authed.actor, &code).await.map_err(|err| ApiError { err, lang: u.ctx.lang })?;
    Ok(Json(v.into_iter().map(Into::into).collect()))
}
