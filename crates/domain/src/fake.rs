//! Fake data (being written).
