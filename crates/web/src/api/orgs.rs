//! The organisation list (registry, capability A), scoped by jurisdiction or organisation.

use super::ApiQuery;
use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use tongxin_app::{invalid, App, AppError};
use tongxin_domain::page::{clamp_limit, Cursor, Order};
use tongxin_domain::Actor;
use tongxin_store::registry::{OrgFilter, OrgListItem};
use utoipa::{IntoParams, ToSchema};

/// List parameters (the convention every list follows).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListParams {
    /// Name contains.
    pub q: Option<String>,
    /// Division subtree (code).
    pub division: Option<String>,
    /// Kind key.
    pub kind: Option<String>,
    /// State key.
    pub state: Option<String>,
    /// `name` (default) or `id`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// An organisation in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Kind key.
    pub kind: String,
    /// Division code.
    pub division_code: String,
    /// Division name.
    pub division_name: String,
    /// Filing state.
    pub state: String,
    /// People count.
    pub people_count: i64,
    /// Domain keys.
    pub domains: Vec<String>,
}

impl From<OrgListItem> for OrgDto {
    fn from(o: OrgListItem) -> Self {
        OrgDto {
            domains: o.domains.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
            id: o.id,
            name: o.name,
            credit_code: o.credit_code,
            kind: o.kind,
            division_code: o.division_code,
            division_name: o.division_name,
            state: o.state,
            people_count: o.people_count,
        }
    }
}

/// One page.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgPage {
    /// Rows.
    pub items: Vec<OrgDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Turns list parameters into a filter; shared by the API and the page.
pub async fn filter_of(app: &App, actor: &Actor, p: &ListParams) -> Result<OrgFilter, AppError> {
    let within_path = match p.division.as_deref().filter(|d| !d.is_empty()) {
        Some(code) => Some(
            app.division_for(actor, code)
                .await
                .map_err(|_| {
                    invalid(
                        "division",
                        "division.unknown",
                        format!("区划代码 {code} 不存在或不在您的辖区内"),
                        format!("Division {code} does not exist or is outside your jurisdiction"),
                    )
                })?
                .path,
        ),
        None => None,
    };
    let order = match p.order.as_deref() {
        None | Some("") => Order::Asc,
        Some(o) => Order::parse(o)
            .ok_or_else(|| invalid("order", "order.value", "order 只能是 asc 或 desc", "order must be asc or desc"))?,
    };
    if let Some(s) = p.sort.as_deref().filter(|s| !matches!(*s, "" | "name" | "id")) {
        return Err(invalid(
            "sort",
            "sort.value",
            format!("不支持按 {s} 排序（可用 name、id）"),
            format!("cannot sort by {s} (use name or id)"),
        ));
    }
    let cursor = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            Cursor::decode(c).ok_or_else(|| invalid("cursor", "cursor.format", "分页游标无效", "Invalid cursor"))?,
        ),
        None => None,
    };
    Ok(OrgFilter {
        q: p.q.clone(),
        within_path,
        kind: p.kind.clone().filter(|s| !s.is_empty()),
        state: p.state.clone().filter(|s| !s.is_empty()),
        sort: p.sort.clone(),
        order,
        cursor,
        limit: clamp_limit(p.limit),
    })
}

/// Organisations the caller may see, filtered, sorted, cursor-paginated.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "registry", params(ListParams),
    responses((status = 200, body = OrgPage), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<OrgPage>, ApiError> {
    let lang = u.ctx.lang;
    let f = filter_of(&st.app, &u.authed.actor, &p).await.map_err(|err| ApiError { err, lang })?;
    let page = st.app.list_orgs(&u.authed.actor, &f).await.map_err(|err| ApiError { err, lang })?;
    Ok(Json(OrgPage { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}
