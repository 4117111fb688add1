//! Incidents, graded mobilisation, tasks and dispatch (capabilities B, C, D): pure rules.
