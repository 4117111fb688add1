//! tongxin-app (placeholder, being written).
