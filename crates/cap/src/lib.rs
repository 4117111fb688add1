//! tongxin-cap (placeholder, being written).
