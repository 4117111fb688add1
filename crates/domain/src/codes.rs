//! Identifier codes (being written).
