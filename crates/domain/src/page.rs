//! List conventions every capability reuses: cursor pagination, sorting, limits.
//!
//! A cursor is the opaque text form of the last row's sort key and id; the next page starts
//! strictly after it, so pages stay stable while rows are inserted (unlike offsets).

use serde::Serialize;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: u32 = 500;

/// Clamps a requested page size.
pub fn clamp_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// A cursor: the last row's sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Sort key of the last row seen, as text.
    pub key: String,
    /// Id of the last row seen (tie-breaker).
    pub id: i64,
}

impl Cursor {
    /// Encodes as `hex(key).id`, safe in URLs.
    pub fn encode(&self) -> String {
        let hex: String = self.key.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{hex}.{}", self.id)
    }

    /// Decodes; `None` for anything malformed.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (hex, id) = s.split_once('.')?;
        if hex.len() % 2 != 0 {
            return None;
        }
        let bytes: Option<Vec<u8>> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
        Some(Cursor { key: String::from_utf8(bytes?).ok()?, id: id.parse().ok()? })
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Order {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

impl Order {
    /// Parses `asc`/`desc`.
    pub fn parse(s: &str) -> Option<Order> {
        match s {
            "asc" => Some(Order::Asc),
            "desc" => Some(Order::Desc),
            _ => None,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Cursor for the next page, if there is one.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        let c = Cursor { key: "姑苏区/a.b".into(), id: 42 };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("zz.1"), None);
        assert_eq!(Cursor::decode("abc"), None);
    }
}
