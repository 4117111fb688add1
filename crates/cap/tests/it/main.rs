//! Integration tests of tongxin-cap, one binary (see STYLE.md): real samples, self-written
//! edge cases, precise errors, hostile input, generated alerts validated by xmllint, the China
//! profile and the CLI.

mod bad_input;
mod china_profile;
mod cli;
mod errors;
mod generated;
mod samples;
mod support;
mod written;
