//! Pages of incidents, mobilisation, tasks and dispatch (capabilities B, C, D).

use crate::AppState;
use axum::Router;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
}
