//! Integration tests of the dispatch engine (one test binary, modules by topic).

mod bad_input;
mod bench_cmd;
mod claims;
mod exactness;
mod index;
mod reference;
