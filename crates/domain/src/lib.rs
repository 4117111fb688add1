//! Tongxin domain: entities, identifiers and rules. No I/O here: everything is pure and testable.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod audit;
pub mod codes;
pub mod division;
pub mod fake;
pub mod grids;
pub mod i18n;
pub mod incidents;
pub mod page;
pub mod role;
pub mod validation;
pub mod workorders;

pub use i18n::{Lang, Text};
pub use role::{Actor, Role};
pub use validation::FieldError;
