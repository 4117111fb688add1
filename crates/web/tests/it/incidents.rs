//! Incidents, mobilisation, tasks and dispatch over HTTP on every backend.
