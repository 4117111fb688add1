//! Integration tests of the domain crate, one module per source module.

mod codes;
mod fake;
