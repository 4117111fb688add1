//! Tongxin domain: entities, identifiers and rules. No I/O here: everything is pure and testable.
#![forbid(unsafe_code)]

pub mod codes;
pub mod fake;
