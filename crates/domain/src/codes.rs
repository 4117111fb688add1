//! National identifiers and their check characters, plus masking for display.
//!
//! - Unified social credit code (统一社会信用代码, GB 32100-2015): [`CreditCode`].
//! - Resident identity number (居民身份号码, GB 11643-1999): [`IdNumber`].
//! - Mainland mobile numbers: [`Phone`].
//! - Masking helpers for showing personal data to roles that must not see all of it:
//!   [`mask_id`], [`mask_phone`], [`mask_name`].
//!
//! Parsers are strict (a single wrong character is always rejected) and report which rule failed
//! through [`CodeError::rule`], with a message in Chinese and English. Generators take a caller's RNG
//! so that demo data stays deterministic.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// The 31 symbols of GB 32100 in value order (no I, O, S, V, Z).
pub const CREDIT_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 of a credit code: 3^(i) mod 31.
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Weights of positions 1–17 of an ID number: 2^(17-i) mod 11.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check characters of an ID number indexed by the weighted sum mod 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Weights of the 8 body characters of an organisation code (GB 11714).
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an identifier was rejected. [`CodeError::rule`] is a stable key for APIs and tests;
/// the messages name the rule in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} / {}", self.message_zh(), self.message_en())]
pub enum CodeError {
    /// A credit code must have exactly 18 characters.
    CreditLength {
        /// Number of characters found.
        got: usize,
    },
    /// A credit code character outside `0-9 A-Y` without I, O, S, V, Z.
    CreditCharset {
        /// 1-based position.
        position: usize,
        /// The offending character.
        ch: char,
    },
    /// Position 1 is not a registering authority defined by the standard.
    CreditAuthority {
        /// The character at position 1.
        ch: char,
    },
    /// Positions 3–8 must be a 6-digit division code.
    CreditDivision {
        /// The characters found at positions 3–8.
        found: String,
    },
    /// The check character (position 18) does not match positions 1–17.
    CreditCheckChar {
        /// The check character the first 17 characters call for.
        expected: char,
        /// The check character found.
        got: char,
    },
    /// An ID number must have exactly 18 characters.
    IdLength {
        /// Number of characters found.
        got: usize,
    },
    /// Positions 1–17 of an ID number must be digits and position 18 a digit or X.
    IdCharset {
        /// 1-based position.
        position: usize,
        /// The offending character.
        ch: char,
    },
    /// Positions 7–14 of an ID number are not a real calendar date.
    IdBirthDate {
        /// The 8 characters found (YYYYMMDD).
        found: String,
    },
    /// The check character (position 18) does not match positions 1–17.
    IdCheckChar {
        /// The check character the first 17 digits call for.
        expected: char,
        /// The check character found.
        got: char,
    },
    /// A mobile number must have exactly 11 digits.
    PhoneLength {
        /// Number of characters found.
        got: usize,
    },
    /// A mobile number may contain digits only.
    PhoneCharset {
        /// 1-based position.
        position: usize,
        /// The offending character.
        ch: char,
    },
    /// A mainland mobile number starts with 13–19.
    PhonePrefix {
        /// The first two characters found.
        found: String,
    },
}

impl CodeError {
    /// Stable rule identifier, e.g. `credit_code.check_char`.
    pub fn rule(&self) -> &'static str {
        match self {
            CodeError::CreditLength { .. } => "credit_code.length",
            CodeError::CreditCharset { .. } => "credit_code.charset",
            CodeError::CreditAuthority { .. } => "credit_code.authority",
            CodeError::CreditDivision { .. } => "credit_code.division",
            CodeError::CreditCheckChar { .. } => "credit_code.check_char",
            CodeError::IdLength { .. } => "id_number.length",
            CodeError::IdCharset { .. } => "id_number.charset",
            CodeError::IdBirthDate { .. } => "id_number.birth_date",
            CodeError::IdCheckChar { .. } => "id_number.check_char",
            CodeError::PhoneLength { .. } => "phone.length",
            CodeError::PhoneCharset { .. } => "phone.charset",
            CodeError::PhonePrefix { .. } => "phone.prefix",
        }
    }

    /// The message in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            CodeError::CreditLength { got } => {
                format!("统一社会信用代码应为 18 位（实际 {got} 位）")
            }
            CodeError::CreditCharset { position, ch } => {
                format!("统一社会信用代码第 {position} 位“{ch}”不是允许的字符（数字或大写字母，不含 I、O、S、V、Z）")
            }
            CodeError::CreditAuthority { ch } => {
                format!("统一社会信用代码第 1 位“{ch}”不是有效的登记管理部门代码")
            }
            CodeError::CreditDivision { found } => {
                format!("统一社会信用代码第 3–8 位“{found}”应为 6 位数字的行政区划代码")
            }
            CodeError::CreditCheckChar { expected, .. } => {
                format!("统一社会信用代码校验位错误（应为 {expected}）")
            }
            CodeError::IdLength { got } => format!("身份证号应为 18 位（实际 {got} 位）"),
            CodeError::IdCharset { position, ch } => {
                format!("身份证号第 {position} 位“{ch}”无效（前 17 位应为数字，第 18 位为数字或 X）")
            }
            CodeError::IdBirthDate { found } => {
                format!("身份证号中的出生日期“{found}”不是有效日期")
            }
            CodeError::IdCheckChar { expected, .. } => {
                format!("身份证号校验位错误（应为 {expected}）")
            }
            CodeError::PhoneLength { got } => format!("手机号应为 11 位数字（实际 {got} 位）"),
            CodeError::PhoneCharset { position, ch } => {
                format!("手机号第 {position} 位“{ch}”不是数字")
            }
            CodeError::PhonePrefix { found } => {
                format!("手机号应以 13–19 开头（实际为 {found}）")
            }
        }
    }

    /// The message in English.
    pub fn message_en(&self) -> String {
        match self {
            CodeError::CreditLength { got } => {
                format!("Unified social credit code must have 18 characters (got {got})")
            }
            CodeError::CreditCharset { position, ch } => format!(
                "Unified social credit code character {position} '{ch}' is not allowed \
                 (digits or capital letters except I, O, S, V, Z)"
            ),
            CodeError::CreditAuthority { ch } => {
                format!("Unified social credit code position 1 '{ch}' is not a registering authority code")
            }
            CodeError::CreditDivision { found } => {
                format!("Unified social credit code positions 3–8 '{found}' must be a 6-digit division code")
            }
            CodeError::CreditCheckChar { expected, .. } => {
                format!("Unified social credit code check character is wrong (expected {expected})")
            }
            CodeError::IdLength { got } => {
                format!("ID number must have 18 characters (got {got})")
            }
            CodeError::IdCharset { position, ch } => format!(
                "ID number character {position} '{ch}' is invalid \
                 (17 digits, then a digit or X)"
            ),
            CodeError::IdBirthDate { found } => {
                format!("ID number birth date '{found}' is not a real date")
            }
            CodeError::IdCheckChar { expected, .. } => {
                format!("ID number check character is wrong (expected {expected})")
            }
            CodeError::PhoneLength { got } => {
                format!("Mobile number must have 11 digits (got {got})")
            }
            CodeError::PhoneCharset { position, ch } => {
                format!("Mobile number character {position} '{ch}' is not a digit")
            }
            CodeError::PhonePrefix { found } => {
                format!("Mobile number must start with 13–19 (got {found})")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unified social credit code (GB 32100)
// ---------------------------------------------------------------------------------------------

/// Registering authority: position 1 of a credit code (登记管理部门代码).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    /// `1` 机构编制 — organs and public institutions (establishment offices).
    Establishment,
    /// `2` 外交 — foreign affairs.
    ForeignAffairs,
    /// `3` 司法行政 — justice administration.
    Justice,
    /// `4` 文化 — culture.
    Culture,
    /// `5` 民政 — civil affairs (social organisations).
    CivilAffairs,
    /// `6` 旅游 — tourism.
    Tourism,
    /// `7` 宗教 — religious affairs.
    Religion,
    /// `8` 工会 — trade unions.
    TradeUnion,
    /// `9` 工商 / 市场监管 — market regulation (companies).
    MarketRegulation,
    /// `A` 中央军委改革和编制办公室 — military establishment office.
    Military,
    /// `N` 农业 — agriculture (rural collective economic organisations).
    Agriculture,
    /// `Y` 其他 — other.
    Other,
}

impl Authority {
    /// Every authority, in code order.
    pub const ALL: [Authority; 12] = [
        Authority::Establishment,
        Authority::ForeignAffairs,
        Authority::Justice,
        Authority::Culture,
        Authority::CivilAffairs,
        Authority::Tourism,
        Authority::Religion,
        Authority::TradeUnion,
        Authority::MarketRegulation,
        Authority::Military,
        Authority::Agriculture,
        Authority::Other,
    ];

    /// The code character at position 1.
    pub fn code(self) -> char {
        match self {
            Authority::Establishment => '1',
            Authority::ForeignAffairs => '2',
            Authority::Justice => '3',
            Authority::Culture => '4',
            Authority::CivilAffairs => '5',
            Authority::Tourism => '6',
            Authority::Religion => '7',
            Authority::TradeUnion => '8',
            Authority::MarketRegulation => '9',
            Authority::Military => 'A',
            Authority::Agriculture => 'N',
            Authority::Other => 'Y',
        }
    }

    /// The authority for a position-1 character.
    pub fn from_code(c: char) -> Option<Authority> {
        Authority::ALL.into_iter().find(|a| a.code() == c)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Authority::Establishment => "机构编制",
            Authority::ForeignAffairs => "外交",
            Authority::Justice => "司法行政",
            Authority::Culture => "文化",
            Authority::CivilAffairs => "民政",
            Authority::Tourism => "旅游",
            Authority::Religion => "宗教",
            Authority::TradeUnion => "工会",
            Authority::MarketRegulation => "市场监管",
            Authority::Military => "中央军委改革和编制办公室",
            Authority::Agriculture => "农业",
            Authority::Other => "其他",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Authority::Establishment => "Organs (establishment office)",
            Authority::ForeignAffairs => "Foreign affairs",
            Authority::Justice => "Justice administration",
            Authority::Culture => "Culture",
            Authority::CivilAffairs => "Civil affairs",
            Authority::Tourism => "Tourism",
            Authority::Religion => "Religious affairs",
            Authority::TradeUnion => "Trade unions",
            Authority::MarketRegulation => "Market regulation",
            Authority::Military => "Military establishment office",
            Authority::Agriculture => "Agriculture",
            Authority::Other => "Other",
        }
    }
}

/// Kind of a civil-affairs registration (position 2 when position 1 is `5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CivilAffairsKind {
    /// `1` 社会团体 — social group (associations, societies).
    SocialGroup,
    /// `2` 社会服务机构 (民办非企业单位) — social service organisation.
    SocialService,
    /// `3` 基金会 — foundation.
    Foundation,
    /// `9` 其他 — other civil-affairs registrations.
    Other,
}

impl CivilAffairsKind {
    /// The code character at position 2.
    pub fn code(self) -> char {
        match self {
            CivilAffairsKind::SocialGroup => '1',
            CivilAffairsKind::SocialService => '2',
            CivilAffairsKind::Foundation => '3',
            CivilAffairsKind::Other => '9',
        }
    }

    /// The kind for a position-2 character.
    pub fn from_code(c: char) -> Option<CivilAffairsKind> {
        match c {
            '1' => Some(CivilAffairsKind::SocialGroup),
            '2' => Some(CivilAffairsKind::SocialService),
            '3' => Some(CivilAffairsKind::Foundation),
            '9' => Some(CivilAffairsKind::Other),
            _ => None,
        }
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            CivilAffairsKind::SocialGroup => "社会团体",
            CivilAffairsKind::SocialService => "社会服务机构",
            CivilAffairsKind::Foundation => "基金会",
            CivilAffairsKind::Other => "其他",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            CivilAffairsKind::SocialGroup => "Social group",
            CivilAffairsKind::SocialService => "Social service organisation",
            CivilAffairsKind::Foundation => "Foundation",
            CivilAffairsKind::Other => "Other",
        }
    }
}

fn credit_value(c: u8) -> Option<u32> {
    CREDIT_CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

fn credit_check_from_bytes(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (i, &b) in first17.iter().enumerate() {
        sum += credit_value(b)? * CREDIT_WEIGHTS[i];
    }
    Some(CREDIT_CHARSET[((31 - sum % 31) % 31) as usize] as char)
}

/// The check character for the first 17 characters of a credit code, or `None` when the input
/// is not 17 characters of the credit-code charset.
pub fn credit_check_char(first17: &str) -> Option<char> {
    credit_check_from_bytes(first17.as_bytes())
}

/// A valid unified social credit code (统一社会信用代码). Serialises as its 18-character string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses and validates a credit code: 18 characters of the GB 32100 charset, a known
    /// registering authority, a 6-digit division at positions 3–8 and a matching check character.
    /// Surrounding whitespace is ignored; letters must be capitals.
    pub fn parse(s: &str) -> Result<CreditCode, CodeError> {
        let s = s.trim();
        let n = s.chars().count();
        if n != 18 {
            return Err(CodeError::CreditLength { got: n });
        }
        for (i, ch) in s.chars().enumerate() {
            if !ch.is_ascii() || credit_value(ch as u8).is_none() {
                return Err(CodeError::CreditCharset { position: i + 1, ch });
            }
        }
        let b = s.as_bytes();
        if Authority::from_code(b[0] as char).is_none() {
            return Err(CodeError::CreditAuthority { ch: b[0] as char });
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CodeError::CreditDivision { found: s[2..8].to_string() });
        }
        let expected = credit_check_from_bytes(&b[..17]).expect("charset checked above");
        if b[17] as char != expected {
            return Err(CodeError::CreditCheckChar { expected, got: b[17] as char });
        }
        Ok(CreditCode(s.to_string()))
    }

    /// The 18-character code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The registering authority (position 1).
    pub fn authority(&self) -> Authority {
        Authority::from_code(self.0.as_bytes()[0] as char).expect("validated by parse")
    }

    /// The organisation-kind character (position 2); its meaning depends on the authority.
    pub fn kind_char(&self) -> char {
        self.0.as_bytes()[1] as char
    }

    /// With authority `5` (civil affairs), the kind of social organisation; `None` otherwise.
    pub fn civil_affairs_kind(&self) -> Option<CivilAffairsKind> {
        if self.authority() == Authority::CivilAffairs {
            CivilAffairsKind::from_code(self.kind_char())
        } else {
            None
        }
    }

    /// The 6-digit division code of the registering office (positions 3–8).
    pub fn division6(&self) -> &str {
        &self.0[2..8]
    }

    /// The organisation code (主体标识码, positions 9–17).
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CreditCode::parse(&s)
    }
}

impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}

impl AsRef<str> for CreditCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// GB 11714 value of an organisation-code character: digits 0–9, letters A=10 … Z=35.
fn org_value(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        _ => u32::from(b - b'A') + 10,
    }
}

/// The GB 11714 check character of an 8-character organisation-code body.
fn org_check_char(body: &[u8; 8]) -> u8 {
    let sum: u32 = body.iter().zip(ORG_WEIGHTS).map(|(&b, w)| org_value(b) * w).sum();
    match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        d => b'0' + d as u8,
    }
}

/// Generates a valid credit code for `authority`, organisation kind `kind_char` (position 2)
/// and registering division `division6`.
///
/// The organisation code (positions 9–17) follows current practice: 8 digits for organs, and
/// `M` + a letter + 6 symbols for market regulation and civil affairs, always with a valid
/// GB 11714 check character, so the result looks like a real code.
///
/// # Panics
/// If `kind_char` is not an ASCII digit or `division6` is not 6 ASCII digits (caller bugs).
pub fn generate_credit_code<R: Rng + ?Sized>(
    rng: &mut R,
    authority: Authority,
    kind_char: char,
    division6: &str,
) -> String {
    assert!(kind_char.is_ascii_digit(), "kind_char must be a digit");
    assert!(division6.len() == 6 && division6.bytes().all(|b| b.is_ascii_digit()), "division6 must be 6 digits");
    let mut body = [0u8; 8];
    let second = match authority {
        Authority::MarketRegulation => Some(b'A'),
        Authority::CivilAffairs => Some(b'J'),
        Authority::Religion | Authority::TradeUnion | Authority::Justice => Some(b'C'),
        _ => None,
    };
    match second {
        Some(letter) => {
            body[0] = b'M';
            body[1] = letter;
            for b in &mut body[2..] {
                *b = CREDIT_CHARSET[rng.gen_range(0..31)];
            }
        }
        None => {
            for b in &mut body {
                *b = b'0' + rng.gen_range(0..10u8);
            }
        }
    }
    let mut code = Vec::with_capacity(18);
    code.push(authority.code() as u8);
    code.push(kind_char as u8);
    code.extend_from_slice(division6.as_bytes());
    code.extend_from_slice(&body);
    code.push(org_check_char(&body));
    let check = credit_check_from_bytes(&code).expect("generated from the charset");
    code.push(check as u8);
    String::from_utf8(code).expect("ASCII")
}

// ---------------------------------------------------------------------------------------------
// Resident identity number (GB 11643)
// ---------------------------------------------------------------------------------------------

/// Sex as encoded in an ID number (odd sequence = male).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男.
    Male,
    /// 女.
    Female,
}

impl Sex {
    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Sex::Male => "Male",
            Sex::Female => "Female",
        }
    }
}

fn id_check_from_digits(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(&b, w)| u32::from(b - b'0') * w).sum();
    ID_CHECK[(sum % 11) as usize] as char
}

/// The check character for the first 17 digits of an ID number, or `None` when the input is
/// not 17 ASCII digits.
pub fn id_check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(id_check_from_digits(b))
}

fn parse_yyyymmdd(s: &str) -> Option<Date> {
    let year: i32 = s.get(0..4)?.parse().ok()?;
    let month: u8 = s.get(4..6)?.parse().ok()?;
    let day: u8 = s.get(6..8)?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// A valid 18-character resident ID number (居民身份号码). Serialises as its string.
///
/// `Debug` prints the masked form so that the number does not leak into logs by accident;
/// use [`IdNumber::as_str`] or `Display` where the whole value is needed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses and validates an ID number: 17 digits then a digit or `X`, a real birth date at
    /// positions 7–14, and a matching check character. A lowercase `x` is accepted and stored
    /// as `X`; surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<IdNumber, CodeError> {
        let s = s.trim();
        let n = s.chars().count();
        if n != 18 {
            return Err(CodeError::IdLength { got: n });
        }
        for (i, ch) in s.chars().enumerate() {
            let ok = ch.is_ascii_digit() || (i == 17 && (ch == 'X' || ch == 'x'));
            if !ok {
                return Err(CodeError::IdCharset { position: i + 1, ch });
            }
        }
        let normalised = s.to_ascii_uppercase();
        if parse_yyyymmdd(&normalised[6..14]).is_none() {
            return Err(CodeError::IdBirthDate { found: normalised[6..14].to_string() });
        }
        let b = normalised.as_bytes();
        let expected = id_check_from_digits(&b[..17]);
        if b[17] as char != expected {
            return Err(CodeError::IdCheckChar { expected, got: b[17] as char });
        }
        Ok(IdNumber(normalised))
    }

    /// The 18-character number (`X` in capitals).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit division code of the place of first registration (positions 1–6).
    pub fn division6(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date (positions 7–14).
    pub fn birth_date(&self) -> Date {
        parse_yyyymmdd(&self.0[6..14]).expect("validated by parse")
    }

    /// Sex from the sequence code (positions 15–17): odd is male, even is female.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Age in whole years on `date` (birthday counted on the day itself; someone born on
    /// 29 February turns a year older on 1 March in common years). 0 when `date` is before birth.
    pub fn age_on(&self, date: Date) -> u32 {
        age_on(self.birth_date(), date)
    }

    /// The masked display form, e.g. `110105********002X`.
    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

/// Whole years between `birth` and `date` (0 if `date` is earlier).
pub(crate) fn age_on(birth: Date, date: Date) -> u32 {
    if date < birth {
        return 0;
    }
    let mut years = date.year() - birth.year();
    if (u8::from(date.month()), date.day()) < (u8::from(birth.month()), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdNumber {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdNumber::parse(s)
    }
}

impl TryFrom<String> for IdNumber {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        IdNumber::parse(&s)
    }
}

impl From<IdNumber> for String {
    fn from(c: IdNumber) -> String {
        c.0
    }
}

impl AsRef<str> for IdNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Generates a valid ID number for `division6`, `birth_date` and `sex` with a random
/// sequence code of the right parity.
///
/// # Panics
/// If `division6` is not 6 ASCII digits or the birth year is not in 1000–9999 (caller bugs).
pub fn generate_id_number<R: Rng + ?Sized>(rng: &mut R, division6: &str, birth_date: Date, sex: Sex) -> String {
    assert!(division6.len() == 6 && division6.bytes().all(|b| b.is_ascii_digit()), "division6 must be 6 digits");
    assert!((1000..=9999).contains(&birth_date.year()), "birth year must have 4 digits");
    // Sequence 001–999; parity carries the sex.
    let base = rng.gen_range(0..500u32) * 2;
    let seq = match sex {
        Sex::Male => base + 1,
        Sex::Female => base.max(2),
    };
    let mut s = String::with_capacity(18);
    s.push_str(division6);
    s.push_str(&format!(
        "{:04}{:02}{:02}{:03}",
        birth_date.year(),
        u8::from(birth_date.month()),
        birth_date.day(),
        seq
    ));
    let check = id_check_from_digits(s.as_bytes());
    s.push(check);
    s
}

// ---------------------------------------------------------------------------------------------
// Mobile phone
// ---------------------------------------------------------------------------------------------

/// A mainland mobile number: 11 digits starting with 13–19.
///
/// `Debug` prints the masked form (`138****1234`) to keep numbers out of logs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a mobile number. Surrounding whitespace is ignored; nothing else is.
    pub fn parse(s: &str) -> Result<Phone, CodeError> {
        let s = s.trim();
        for (i, ch) in s.chars().enumerate() {
            if !ch.is_ascii_digit() {
                return Err(CodeError::PhoneCharset { position: i + 1, ch });
            }
        }
        if s.len() != 11 {
            return Err(CodeError::PhoneLength { got: s.len() });
        }
        let b = s.as_bytes();
        if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
            return Err(CodeError::PhonePrefix { found: s[..2].to_string() });
        }
        Ok(Phone(s.to_string()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The masked display form, e.g. `138****1234`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Phone {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

impl TryFrom<String> for Phone {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(c: Phone) -> String {
        c.0
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Mobile prefixes (first three digits) in use by the three carriers, weighted roughly by
/// how common they are, so demo numbers look familiar.
#[rustfmt::skip]
const PHONE_PREFIXES: &[(&str, u32)] = &[
    ("138", 8), ("139", 8), ("137", 6), ("136", 6), ("135", 6), ("134", 3), ("150", 5),
    ("151", 5), ("152", 4), ("157", 3), ("158", 5), ("159", 5), ("182", 4), ("183", 3),
    ("187", 4), ("188", 4), ("198", 2), ("130", 4), ("131", 4), ("132", 4), ("155", 3),
    ("156", 3), ("185", 3), ("186", 4), ("176", 2), ("166", 2), ("133", 3), ("153", 2),
    ("180", 3), ("181", 3), ("189", 4), ("177", 2), ("199", 2), ("191", 1), ("195", 1),
];

const PHONE_PREFIX_TOTAL: u32 = {
    let mut t = 0;
    let mut i = 0;
    while i < PHONE_PREFIXES.len() {
        t += PHONE_PREFIXES[i].1;
        i += 1;
    }
    t
};

/// Generates a plausible mobile number (real carrier prefix, random subscriber digits).
pub fn generate_phone<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut pick = rng.gen_range(0..PHONE_PREFIX_TOTAL);
    let mut prefix = PHONE_PREFIXES[0].0;
    for &(p, w) in PHONE_PREFIXES {
        if pick < w {
            prefix = p;
            break;
        }
        pick -= w;
    }
    format!("{prefix}{:08}", rng.gen_range(0..100_000_000u32))
}

// ---------------------------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------------------------

/// Keeps `head` leading and `tail` trailing characters and replaces the rest with `*`;
/// masks everything when the value is too short to keep anything safely.
fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n <= head + tail {
        return "*".repeat(n);
    }
    let mut out = String::with_capacity(s.len());
    out.extend(&chars[..head]);
    out.extend(std::iter::repeat_n('*', n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// Masks an ID number for display: first 6 + `********` + last 4 for 18-character numbers
/// (`110105********002X`); other lengths keep the same head and tail.
pub fn mask_id(id: &str) -> String {
    mask_middle(id.trim(), 6, 4)
}

/// Masks a mobile number for display: `138****1234`.
pub fn mask_phone(phone: &str) -> String {
    mask_middle(phone.trim(), 3, 4)
}

/// Masks a personal name: `张三丰` → `张*丰`, `李四` → `李*`, `欧阳娜娜` → `欧**娜`;
/// a single character becomes `*`.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut out = String::new();
            out.push(chars[0]);
            out.extend(std::iter::repeat_n('*', n - 2));
            out.push(chars[n - 1]);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_check_matches_known_codes() {
        // Positions 9–17 of the two valid vectors carry correct GB 11714 check characters.
        assert_eq!(org_check_char(b"M000100Y"), b'4');
        assert_eq!(org_check_char(b"80210043"), b'3');
    }
}
