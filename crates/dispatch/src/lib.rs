//! tongxin-dispatch (placeholder, being written).
