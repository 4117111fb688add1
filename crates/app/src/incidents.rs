//! Incidents, graded mobilisation, tasks and dispatch (capabilities B, C, D): use cases.

use crate::{App, AppResult};

impl App {
    /// Demo incidents, mobilisation plans and tasks (after the demo accounts exist); does
    /// nothing when incidents already exist.
    pub async fn seed_incidents(&self) -> AppResult<()> {
        Ok(())
    }
}
