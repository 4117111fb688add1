//! JSON API of incidents, mobilisation, tasks and dispatch (capabilities B, C, D).

use crate::AppState;
use axum::Router;

/// Routes (mounted under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
}
