//! tongxin-area (placeholder, being written).
