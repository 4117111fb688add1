//! tongxin-store (placeholder, being written).
