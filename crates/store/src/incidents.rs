//! Incidents, mobilisation, tasks and dispatch (capabilities B, C, D): tables and queries.
