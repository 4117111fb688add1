//! tongxin-domain (placeholder, being written).
