//! tongxin-web (placeholder, being written).
