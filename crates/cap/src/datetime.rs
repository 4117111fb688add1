//! CAP date-times: `YYYY-MM-DDThh:mm:ss±hh:mm`, always with a numeric offset, never `Z`,
//! no fractional seconds (the pattern of the official schema).
//!
//! The offset is part of the value: `12:00+08:00` and `04:00-00:00` are the same instant but
//! different [`CapDateTime`]s, so a round trip keeps what the sender wrote. UTC is written
//! `-00:00`, as CAP 1.2 asks.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Why a text is not a CAP date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeError {
    /// The text does not have the `YYYY-MM-DDThh:mm:ss±hh:mm` shape.
    Shape,
    /// A `Z` (or other letter) instead of a numeric offset.
    NoNumericOffset,
    /// The shape is right but a field is out of range (month 13, 25:00, offset +15:00 ...).
    OutOfRange,
}

/// A CAP time: a local date-time plus the numeric offset it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CapDateTime {
    local: PrimitiveDateTime,
    offset: UtcOffset,
}

impl CapDateTime {
    /// From a `time` value; sub-second precision is dropped because CAP cannot carry it.
    pub fn from_offset_datetime(value: OffsetDateTime) -> Self {
        let value = value.replace_nanosecond(0).unwrap_or(value);
        Self { local: PrimitiveDateTime::new(value.date(), value.time()), offset: value.offset() }
    }

    /// The instant as a `time` value (with the written offset).
    pub fn to_offset_datetime(self) -> OffsetDateTime {
        self.local.assume_offset(self.offset)
    }

    /// The same instant expressed at another offset.
    pub fn to_offset(self, offset: UtcOffset) -> Self {
        Self::from_offset_datetime(self.to_offset_datetime().to_offset(offset))
    }

    /// The local date-time as written.
    pub fn local(self) -> PrimitiveDateTime {
        self.local
    }

    /// The offset as written.
    pub fn offset(self) -> UtcOffset {
        self.offset
    }

    /// Parses the CAP form strictly (surrounding XML whitespace allowed).
    pub fn parse(text: &str) -> Result<Self, DateTimeError> {
        let b = text.trim().as_bytes();
        if b.len() == 20 && (b[19] == b'Z' || b[19] == b'z') {
            return Err(DateTimeError::NoNumericOffset);
        }
        // Fractional seconds are outside the schema's pattern, so the length is fixed.
        if b.len() != 25 {
            return Err(DateTimeError::Shape);
        }
        let digits = |range: std::ops::Range<usize>| -> Result<u32, DateTimeError> {
            let mut n = 0u32;
            for &c in &b[range] {
                if !c.is_ascii_digit() {
                    return Err(DateTimeError::Shape);
                }
                n = n * 10 + u32::from(c - b'0');
            }
            Ok(n)
        };
        let punct = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (22, b':')];
        if punct.iter().any(|&(i, c)| b[i] != c) {
            return Err(DateTimeError::Shape);
        }
        let sign: i32 = match b[19] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(DateTimeError::Shape),
        };
        let year = digits(0..4)? as i32;
        let month = digits(5..7)? as u8;
        let day = digits(8..10)? as u8;
        let hour = digits(11..13)? as u8;
        let minute = digits(14..16)? as u8;
        let second = digits(17..19)? as u8;
        let off_h = digits(20..22)? as i32;
        let off_m = digits(23..25)? as i32;
        let month = Month::try_from(month).map_err(|_| DateTimeError::OutOfRange)?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| DateTimeError::OutOfRange)?;
        let clock = Time::from_hms(hour, minute, second).map_err(|_| DateTimeError::OutOfRange)?;
        // xs:dateTime allows offsets up to ±14:00.
        if off_m >= 60 || off_h * 60 + off_m > 14 * 60 {
            return Err(DateTimeError::OutOfRange);
        }
        let total = sign * (off_h * 3600 + off_m * 60);
        let offset = UtcOffset::from_whole_seconds(total).map_err(|_| DateTimeError::OutOfRange)?;
        Ok(Self { local: PrimitiveDateTime::new(date, clock), offset })
    }
}

impl fmt::Display for CapDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.local.date();
        let t = self.local.time();
        let secs = self.offset.whole_seconds();
        // CAP 1.2 writes UTC as -00:00.
        let sign = if secs > 0 { '+' } else { '-' };
        let abs = secs.unsigned_abs();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            t.hour(),
            t.minute(),
            t.second(),
            sign,
            abs / 3600,
            (abs % 3600) / 60
        )
    }
}

impl std::str::FromStr for CapDateTime {
    type Err = DateTimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CapDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CapDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|e| serde::de::Error::custom(format!("not a CAP date-time ({e:?}): {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offset_and_writes_utc_as_minus_zero() {
        let t = CapDateTime::parse("2024-07-01T12:30:05+08:00").unwrap();
        assert_eq!(t.to_string(), "2024-07-01T12:30:05+08:00");
        let u = CapDateTime::parse("2019-07-12T17:59:29+00:00").unwrap();
        assert_eq!(u.to_string(), "2019-07-12T17:59:29-00:00");
        let n = CapDateTime::parse("2018-10-20T07:15:00-05:30").unwrap();
        assert_eq!(n.to_string(), "2018-10-20T07:15:00-05:30");
        // Same instant, different offset: different values.
        let same_instant = t.to_offset(UtcOffset::UTC);
        assert_ne!(same_instant, t);
        assert_eq!(same_instant.to_offset_datetime(), t.to_offset_datetime());
    }

    #[test]
    fn rejects_z_fractions_and_bad_fields() {
        assert_eq!(CapDateTime::parse("2024-07-01T12:30:05Z"), Err(DateTimeError::NoNumericOffset));
        assert_eq!(CapDateTime::parse("2024-07-01T12:30:05.5+08:00"), Err(DateTimeError::Shape));
        assert_eq!(CapDateTime::parse("2024-07-01 12:30:05+08:00"), Err(DateTimeError::Shape));
        assert_eq!(CapDateTime::parse("2024-02-30T12:30:05+08:00"), Err(DateTimeError::OutOfRange));
        assert_eq!(CapDateTime::parse("2024-02-01T12:30:05+15:00"), Err(DateTimeError::OutOfRange));
        assert_eq!(CapDateTime::parse("2024-02-01T12:30:05,08:00"), Err(DateTimeError::Shape));
    }
}
