//! China profile of CAP 1.2 (GB/T 35965.1-2018 as used by Tongxin).
//!
//! - Identifiers `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`: the issuer code (6-digit GB/T 2260 division,
//!   3-digit department, 3-digit unit, 2-digit sub-unit), the send time in Beijing time, and a
//!   sequence number for alerts of one issuer sent in the same second.
//! - Warning colour and level travel as `parameter`s named [`PARAM_COLOUR`] (红色/橙色/黄色/蓝色)
//!   and [`PARAM_LEVEL`] (Ⅰ级–Ⅳ级); they must agree with each other and with `severity`
//!   (红 Extreme, 橙 Severe, 黄 Moderate, 蓝 Minor).
//! - Language `zh-CN`; every time at +08:00.

use std::fmt;

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

use crate::datetime::CapDateTime;
use crate::error::{CapError, CapErrors, Rule};
use crate::model::{Alert, Category, Certainty, Info, MsgType, NameValue, Scope, Severity, Status, Urgency};
use crate::parse::Locations;

/// `valueName` of the warning-colour parameter.
pub const PARAM_COLOUR: &str = "预警颜色";
/// `valueName` of the warning-level parameter.
pub const PARAM_LEVEL: &str = "预警级别";
/// The profile's language.
pub const LANGUAGE: &str = "zh-CN";

/// Beijing time, +08:00.
pub fn beijing() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Why a text is not a China-profile identifier or issuer code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChinaIdError {
    /// Not three parts `14 digits _ 14 digits _ digits`.
    Shape,
    /// The division code's province part is not a GB/T 2260 province.
    Division,
    /// The time part is not a real date and time.
    Time,
    /// The sequence number is not a number that fits 32 bits.
    Sequence,
}

impl ChinaIdError {
    /// Message in Chinese.
    pub fn message_zh(self) -> &'static str {
        match self {
            ChinaIdError::Shape => "应为 14 位发布单位编码_14 位时间_序号",
            ChinaIdError::Division => "前 6 位不是有效的行政区划代码",
            ChinaIdError::Time => "时间部分不是有效的日期时间",
            ChinaIdError::Sequence => "序号无效",
        }
    }

    /// Message in English.
    pub fn message_en(self) -> &'static str {
        match self {
            ChinaIdError::Shape => "expected 14-digit issuer code_14-digit time_sequence",
            ChinaIdError::Division => "the first 6 digits are not a valid division code",
            ChinaIdError::Time => "the time part is not a valid date and time",
            ChinaIdError::Sequence => "invalid sequence number",
        }
    }
}

impl fmt::Display for ChinaIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.message_zh(), self.message_en())
    }
}

impl std::error::Error for ChinaIdError {}

/// GB/T 2260 province-level prefixes.
const PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82,
];

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// The 14-digit issuer code `ZZZZZZDDDUUUXX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssuerCode(String);

impl IssuerCode {
    /// From its parts: 6-digit division, 3-digit department, 3-digit unit, 2-digit sub-unit.
    pub fn new(division: &str, department: &str, unit: &str, sub_unit: &str) -> Result<Self, ChinaIdError> {
        if !(all_digits(division, 6) && all_digits(department, 3) && all_digits(unit, 3) && all_digits(sub_unit, 2)) {
            return Err(ChinaIdError::Shape);
        }
        Self::parse(&format!("{division}{department}{unit}{sub_unit}"))
    }

    /// From the 14 digits.
    pub fn parse(code: &str) -> Result<Self, ChinaIdError> {
        if !all_digits(code, 14) {
            return Err(ChinaIdError::Shape);
        }
        let province: u8 = code[..2].parse().map_err(|_| ChinaIdError::Division)?;
        if !PROVINCES.contains(&province) {
            return Err(ChinaIdError::Division);
        }
        Ok(Self(code.to_string()))
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit administrative division code (e.g. 320500 Suzhou).
    pub fn division(&self) -> &str {
        &self.0[..6]
    }

    /// The 3-digit department code.
    pub fn department(&self) -> &str {
        &self.0[6..9]
    }

    /// The 3-digit unit code.
    pub fn unit(&self) -> &str {
        &self.0[9..12]
    }

    /// The 2-digit sub-unit code.
    pub fn sub_unit(&self) -> &str {
        &self.0[12..14]
    }
}

impl fmt::Display for IssuerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A China-profile alert identifier `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChinaId {
    /// The issuer.
    pub issuer: IssuerCode,
    /// The send time in Beijing time.
    pub sent: PrimitiveDateTime,
    /// Sequence number among the issuer's alerts of the same second.
    pub sequence: u32,
}

impl ChinaId {
    /// Generates the identifier of an alert sent at `sent` (converted to Beijing time).
    pub fn generate(issuer: IssuerCode, sent: CapDateTime, sequence: u32) -> Self {
        Self { issuer, sent: sent.to_offset(beijing()).local(), sequence }
    }

    /// Reads an identifier.
    pub fn parse(text: &str) -> Result<Self, ChinaIdError> {
        let mut parts = text.split('_');
        let (Some(issuer), Some(time), Some(seq), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ChinaIdError::Shape);
        };
        let issuer = IssuerCode::parse(issuer)?;
        if !all_digits(time, 14) {
            return Err(ChinaIdError::Shape);
        }
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ChinaIdError::Shape);
        }
        let sequence = seq.parse().map_err(|_| ChinaIdError::Sequence)?;
        let n = |r: std::ops::Range<usize>| time[r].parse::<u16>().unwrap_or(u16::MAX);
        let month = Month::try_from(n(4..6) as u8).map_err(|_| ChinaIdError::Time)?;
        let date =
            Date::from_calendar_date(i32::from(n(0..4)), month, n(6..8) as u8).map_err(|_| ChinaIdError::Time)?;
        let clock = Time::from_hms(n(8..10) as u8, n(10..12) as u8, n(12..14) as u8).map_err(|_| ChinaIdError::Time)?;
        Ok(Self { issuer, sent: PrimitiveDateTime::new(date, clock), sequence })
    }

    /// The send time as a CAP time at +08:00.
    pub fn sent_beijing(&self) -> CapDateTime {
        CapDateTime::from_offset_datetime(self.sent.assume_offset(beijing()))
    }

    /// The time part `YYYYMMDDhhmmss`.
    pub fn time_part(&self) -> String {
        stamp(self.sent)
    }
}

fn stamp(t: PrimitiveDateTime) -> String {
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

impl fmt::Display for ChinaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}_{}", self.issuer, self.time_part(), self.sequence)
    }
}

impl std::str::FromStr for ChinaId {
    type Err = ChinaIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Hands out identifiers for one issuer: the sequence restarts at 1 each new second and
/// counts up within a second, so identifiers never repeat.
#[derive(Debug, Clone)]
pub struct IdSequence {
    issuer: IssuerCode,
    last: Option<PrimitiveDateTime>,
    count: u32,
}

impl IdSequence {
    /// A sequence for this issuer.
    pub fn new(issuer: IssuerCode) -> Self {
        Self { issuer, last: None, count: 0 }
    }

    /// The identifier for an alert sent at `sent`.
    pub fn next(&mut self, sent: CapDateTime) -> ChinaId {
        let id = ChinaId::generate(self.issuer.clone(), sent, 1);
        if self.last == Some(id.sent) {
            self.count += 1;
        } else {
            self.last = Some(id.sent);
            self.count = 1;
        }
        ChinaId { sequence: self.count, ..id }
    }
}

/// The four warning colours, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WarningColour {
    /// 红色, level Ⅰ, Extreme.
    Red,
    /// 橙色, level Ⅱ, Severe.
    Orange,
    /// 黄色, level Ⅲ, Moderate.
    Yellow,
    /// 蓝色, level Ⅳ, Minor.
    Blue,
}

impl WarningColour {
    /// All colours, most severe first.
    pub const ALL: [WarningColour; 4] = [Self::Red, Self::Orange, Self::Yellow, Self::Blue];

    /// Chinese name as written in the parameter (`红色` ...).
    pub fn zh(self) -> &'static str {
        ["红色", "橙色", "黄色", "蓝色"][self as usize]
    }

    /// English name.
    pub fn en(self) -> &'static str {
        ["red", "orange", "yellow", "blue"][self as usize]
    }

    /// Reads `红色`/`红`/`red`/`Red` and so on.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        Self::ALL
            .into_iter()
            .find(|c| t == c.zh() || t == c.zh().trim_end_matches('色') || t.eq_ignore_ascii_case(c.en()))
    }

    /// The matching level (红 Ⅰ ... 蓝 Ⅳ).
    pub fn level(self) -> WarningLevel {
        WarningLevel::ALL[self as usize]
    }

    /// The matching CAP severity.
    pub fn severity(self) -> Severity {
        [Severity::Extreme, Severity::Severe, Severity::Moderate, Severity::Minor][self as usize]
    }
}

/// The four warning levels (Ⅰ highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WarningLevel {
    /// Ⅰ级 (特别重大).
    One,
    /// Ⅱ级 (重大).
    Two,
    /// Ⅲ级 (较大).
    Three,
    /// Ⅳ级 (一般).
    Four,
}

impl WarningLevel {
    /// All levels, highest first.
    pub const ALL: [WarningLevel; 4] = [Self::One, Self::Two, Self::Three, Self::Four];

    /// As written in the parameter: `Ⅰ级` ... `Ⅳ级` (Unicode Roman numerals).
    pub fn zh(self) -> &'static str {
        ["Ⅰ级", "Ⅱ级", "Ⅲ级", "Ⅳ级"][self as usize]
    }

    /// Reads `Ⅰ级`, `I级`, `1级`, `Ⅰ`, `I`, `1` (and the same for Ⅱ–Ⅳ).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t.strip_suffix('级').unwrap_or(t);
        const FORMS: [[&str; 3]; 4] = [["Ⅰ", "I", "1"], ["Ⅱ", "II", "2"], ["Ⅲ", "III", "3"], ["Ⅳ", "IV", "4"]];
        FORMS.iter().position(|forms| forms.contains(&t)).map(|i| Self::ALL[i])
    }

    /// The matching colour.
    pub fn colour(self) -> WarningColour {
        WarningColour::ALL[self as usize]
    }
}

/// The colour and level parameters for an info block.
pub fn warning_parameters(colour: WarningColour) -> [NameValue; 2] {
    [NameValue::new(PARAM_COLOUR, colour.zh()), NameValue::new(PARAM_LEVEL, colour.level().zh())]
}

/// A new actual public alert with a China-profile identifier and its `sent` time.
pub fn new_alert(id: &ChinaId, sender: impl Into<String>) -> Alert {
    Alert::new(id.to_string(), sender, id.sent_beijing(), Status::Actual, MsgType::Alert, Scope::Public)
}

/// A new zh-CN info block whose severity and parameters follow the warning colour.
pub fn new_info(
    category: Category,
    event: impl Into<String>,
    colour: WarningColour,
    urgency: Urgency,
    certainty: Certainty,
) -> Info {
    let mut info = Info::new(category, event, urgency, colour.severity(), certainty);
    info.language = Some(LANGUAGE.to_string());
    info.parameters.extend(warning_parameters(colour));
    info
}

/// Whether a text has the shape of a China-profile identifier (used to apply the profile).
pub fn looks_like_china_id(identifier: &str) -> bool {
    let parts: Vec<&str> = identifier.split('_').collect();
    matches!(parts.as_slice(), [a, b, c] if all_digits(a, 14) && all_digits(b, 14)
        && !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks an alert against the China profile. `locations` (from
/// [`crate::parse_located`]) gives the errors their lines; without it lines are 0.
pub fn check(alert: &Alert, locations: Option<&Locations>) -> Result<(), CapErrors> {
    let mut errors = Vec::new();
    let mut err = |path: &str, rule: Rule| {
        let line = locations.map_or(0, |l| l.line(path));
        errors.push(CapError::new(line, path, rule));
    };
    let bj = beijing();
    if alert.sent.offset() != bj {
        err("alert/sent", Rule::ChinaOffset { value: alert.sent.to_string() });
    }
    match ChinaId::parse(&alert.identifier) {
        Err(detail) => err("alert/identifier", Rule::ChinaIdentifier { detail }),
        Ok(id) => {
            let sent = stamp(alert.sent.to_offset(bj).local());
            if id.time_part() != sent {
                err("alert/identifier", Rule::ChinaSentMismatch { in_identifier: id.time_part(), sent });
            }
        }
    }
    if !alert.infos.is_empty() && !alert.infos.iter().any(|i| i.language.as_deref() == Some(LANGUAGE)) {
        err("alert/info[1]/language", Rule::ChinaLanguage);
    }
    for (n, info) in alert.infos.iter().enumerate() {
        let base = format!("alert/info[{}]", n + 1);
        for (name, t) in [("effective", info.effective), ("onset", info.onset), ("expires", info.expires)] {
            if let Some(t) = t.filter(|t| t.offset() != bj) {
                err(&format!("{base}/{name}"), Rule::ChinaOffset { value: t.to_string() });
            }
        }
        if info.language.as_deref() != Some(LANGUAGE) {
            continue;
        }
        let param_path = |name: &str| {
            info.parameters
                .iter()
                .position(|p| p.value_name == name)
                .map_or_else(|| base.clone(), |i| format!("{base}/parameter[{}]", i + 1))
        };
        let colour_text = info.parameter(PARAM_COLOUR);
        let colour = colour_text.and_then(WarningColour::parse);
        if colour.is_none() {
            err(&param_path(PARAM_COLOUR), Rule::ChinaColour { value: colour_text.map(String::from) });
        }
        let level_text = info.parameter(PARAM_LEVEL);
        let level = level_text.and_then(WarningLevel::parse);
        if level.is_none() {
            err(&param_path(PARAM_LEVEL), Rule::ChinaLevel { value: level_text.map(String::from) });
        }
        if let (Some(c), Some(l)) = (colour, level) {
            if c.level() != l {
                err(
                    &param_path(PARAM_LEVEL),
                    Rule::ChinaMismatch {
                        zh: format!("预警颜色{}应对应{}，而不是{}", c.zh(), c.level().zh(), l.zh()),
                        en: format!("warning colour {} goes with level {}, not {}", c.en(), c.level().zh(), l.zh()),
                    },
                );
            }
        }
        if let Some(c) = colour.filter(|c| c.severity() != info.severity) {
            err(
                &format!("{base}/severity"),
                Rule::ChinaMismatch {
                    zh: format!("预警颜色{}对应的 severity 应为 {}，而不是 {}", c.zh(), c.severity(), info.severity),
                    en: format!("warning colour {} needs severity {}, not {}", c.en(), c.severity(), info.severity),
                },
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by_key(|e| e.line);
        Err(CapErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> IssuerCode {
        IssuerCode::new("320500", "001", "002", "03").unwrap()
    }

    #[test]
    fn generates_and_parses_identifiers_in_beijing_time() {
        // 04:05:06 UTC is 12:05:06 in Beijing.
        let sent = CapDateTime::parse("2024-07-01T04:05:06-00:00").unwrap();
        let id = ChinaId::generate(issuer(), sent, 7);
        assert_eq!(id.to_string(), "32050000100203_20240701120506_7");
        let back = ChinaId::parse(&id.to_string()).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.issuer.division(), "320500");
        assert_eq!(back.issuer.department(), "001");
        assert_eq!(back.issuer.unit(), "002");
        assert_eq!(back.issuer.sub_unit(), "03");
        assert_eq!(back.sent_beijing().to_string(), "2024-07-01T12:05:06+08:00");
    }

    #[test]
    fn rejects_malformed_identifiers() {
        let cases = [
            ("3205000010020_20240701120506_7", ChinaIdError::Shape),
            ("32050000100203-20240701120506-7", ChinaIdError::Shape),
            ("32050000100203_20240701120506_", ChinaIdError::Shape),
            ("32050000100203_20240701120506_7_1", ChinaIdError::Shape),
            ("99050000100203_20240701120506_7", ChinaIdError::Division),
            ("32050000100203_20241301120506_7", ChinaIdError::Time),
            ("32050000100203_20240701250506_7", ChinaIdError::Time),
            ("32050000100203_20240701120506_99999999999", ChinaIdError::Sequence),
        ];
        for (text, want) in cases {
            assert_eq!(ChinaId::parse(text), Err(want), "{text}");
        }
    }

    #[test]
    fn sequence_counts_within_a_second_and_restarts() {
        let mut seq = IdSequence::new(issuer());
        let t1 = CapDateTime::parse("2024-07-01T12:00:00+08:00").unwrap();
        let t2 = CapDateTime::parse("2024-07-01T12:00:01+08:00").unwrap();
        let ids: Vec<String> = [t1, t1, t1, t2].into_iter().map(|t| seq.next(t).to_string()).collect();
        assert_eq!(
            ids,
            [
                "32050000100203_20240701120000_1",
                "32050000100203_20240701120000_2",
                "32050000100203_20240701120000_3",
                "32050000100203_20240701120001_1",
            ]
        );
    }

    #[test]
    fn colours_levels_and_severities_agree() {
        assert_eq!(WarningColour::parse("橙色"), Some(WarningColour::Orange));
        assert_eq!(WarningColour::parse("Blue"), Some(WarningColour::Blue));
        assert_eq!(WarningColour::parse("绿色"), None);
        assert_eq!(WarningLevel::parse("Ⅲ级"), Some(WarningLevel::Three));
        assert_eq!(WarningLevel::parse("IV级"), Some(WarningLevel::Four));
        assert_eq!(WarningLevel::parse("2"), Some(WarningLevel::Two));
        assert_eq!(WarningLevel::parse("Ⅴ级"), None);
        for c in WarningColour::ALL {
            assert_eq!(c.level().colour(), c);
        }
        assert_eq!(WarningColour::Red.severity(), Severity::Extreme);
        assert_eq!(WarningColour::Blue.severity(), Severity::Minor);
    }
}
