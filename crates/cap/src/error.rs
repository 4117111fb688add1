//! Errors of the codec: every problem carries the line, the element (as a path such as
//! `alert/info[1]/area[2]/polygon`) and the rule broken, with a message in Chinese and English.

use std::fmt;

use crate::china::ChinaIdError;
use crate::datetime::DateTimeError;
use crate::model::{MsgType, Scope};

/// Language of user-visible messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Chooses the language: an explicit choice (`en`, `en-US`, `zh` ...) wins, else the
    /// locale (`LC_ALL` when it names a language, then `LANG`) starting with `en` means
    /// English; Chinese otherwise.
    pub fn choose(explicit: Option<&str>) -> Self {
        if let Some(choice) = explicit {
            return Self::from_tag(choice);
        }
        let named = |v: &String| !v.is_empty() && v != "C" && v != "POSIX" && !v.starts_with("C.");
        let locale = std::env::var("LC_ALL").ok().filter(named).or_else(|| std::env::var("LANG").ok());
        locale.map_or(Lang::Zh, |l| Self::from_tag(&l))
    }

    /// `en...` is English, anything else Chinese.
    pub fn from_tag(tag: &str) -> Self {
        if tag.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// The rule a message breaks. [`Rule::code`] is a stable identifier for scripts and tests.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rule {
    /// The message is larger than the configured maximum.
    TooLarge {
        /// The maximum in bytes.
        limit: usize,
        /// The message size in bytes.
        size: usize,
    },
    /// An encoding other than UTF-8 / UTF-16, or bytes that do not decode.
    Encoding {
        /// What was declared or found.
        label: String,
    },
    /// Not well-formed XML.
    Malformed {
        /// The XML parser's description (English).
        detail: String,
    },
    /// A document type declaration (DTD); refused before any entity could be expanded.
    Dtd,
    /// A reference to an entity that is not one of the five predefined ones.
    Entity {
        /// The entity name.
        name: String,
    },
    /// A character not allowed in XML 1.0.
    InvalidChar {
        /// Its code point.
        code: u32,
    },
    /// Elements nested deeper than the limit.
    TooDeep {
        /// The maximum depth.
        limit: usize,
    },
    /// The root element is not a CAP 1.2 `alert`.
    NotCap {
        /// Namespace found.
        namespace: Option<String>,
    },
    /// An element that CAP 1.2 does not allow inside this parent.
    UnexpectedElement {
        /// The parent element's name.
        parent: String,
    },
    /// An element out of schema order.
    Misplaced {
        /// An element it must come before.
        before: String,
    },
    /// A non-repeatable element given twice.
    Duplicate,
    /// A required child element is missing.
    Missing {
        /// The missing child's name.
        child: String,
    },
    /// Text directly inside an element that only holds elements.
    UnexpectedText,
    /// An attribute CAP does not define.
    UnexpectedAttribute {
        /// The attribute's name.
        name: String,
    },
    /// A value outside an enumeration.
    Enumeration {
        /// The value found.
        value: String,
        /// The allowed values.
        allowed: &'static [&'static str],
    },
    /// A date-time not in `YYYY-MM-DDThh:mm:ss±hh:mm` form.
    DateTime {
        /// The value found.
        value: String,
        /// What is wrong.
        kind: DateTimeError,
    },
    /// Not an integer (`size`).
    Integer {
        /// The value found.
        value: String,
    },
    /// Not a decimal number (`altitude`, `ceiling`).
    Decimal {
        /// The value found.
        value: String,
    },
    /// Not a language tag (`language`).
    Language {
        /// The value found.
        value: String,
    },
    /// A polygon with fewer than four coordinate pairs.
    PolygonPairs {
        /// How many pairs it has.
        count: usize,
    },
    /// A polygon whose first and last pairs differ.
    PolygonOpen,
    /// A coordinate pair that is not `lat,lon` in range.
    Coordinate {
        /// The pair found.
        value: String,
    },
    /// A circle not of the form `lat,lon radius`.
    Circle {
        /// The value found.
        value: String,
    },
    /// A circle radius that is not a number of kilometres >= 0 (0 marks a point).
    Radius {
        /// The radius found.
        value: String,
    },
    /// An identifier or sender holding spaces, commas, `<` or `&` (CAP 1.2 forbids them).
    Identifier {
        /// The value found.
        value: String,
    },
    /// A `references` entry that is not `sender,identifier,sent`.
    Reference {
        /// The entry found.
        value: String,
    },
    /// Update, Cancel, Ack and Error must name the messages they refer to.
    ReferencesRequired {
        /// The message type.
        msg_type: MsgType,
    },
    /// `Restricted` needs `restriction`, `Private` needs `addresses`.
    ScopeNeeds {
        /// The scope.
        scope: Scope,
        /// The element it needs.
        needs: &'static str,
    },
    /// `ceiling` without `altitude`.
    CeilingWithoutAltitude,
    /// China profile: the identifier is not `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`.
    ChinaIdentifier {
        /// What is wrong.
        detail: ChinaIdError,
    },
    /// China profile: the time in the identifier differs from `sent`.
    ChinaSentMismatch {
        /// Time in the identifier (`YYYYMMDDhhmmss`).
        in_identifier: String,
        /// `sent` converted to Beijing time (same form).
        sent: String,
    },
    /// China profile: a time not at +08:00.
    ChinaOffset {
        /// The value found.
        value: String,
    },
    /// China profile: no `info` in `zh-CN`.
    ChinaLanguage,
    /// China profile: the warning colour parameter is missing or not one of the four colours.
    ChinaColour {
        /// The value found, `None` when missing.
        value: Option<String>,
    },
    /// China profile: the warning level parameter is missing or not I–IV.
    ChinaLevel {
        /// The value found, `None` when missing.
        value: Option<String>,
    },
    /// China profile: colour, level and severity disagree.
    ChinaMismatch {
        /// Explanation (Chinese).
        zh: String,
        /// Explanation (English).
        en: String,
    },
}

fn list(allowed: &[&str]) -> String {
    allowed.join(", ")
}

fn dt_zh(kind: DateTimeError) -> &'static str {
    match kind {
        DateTimeError::Shape => "格式应为 YYYY-MM-DDThh:mm:ss±hh:mm",
        DateTimeError::NoNumericOffset => "必须带数字时区偏移（如 +08:00），不能用 Z",
        DateTimeError::OutOfRange => "日期、时间或时区超出范围",
    }
}

fn dt_en(kind: DateTimeError) -> &'static str {
    match kind {
        DateTimeError::Shape => "expected YYYY-MM-DDThh:mm:ss±hh:mm",
        DateTimeError::NoNumericOffset => "needs a numeric offset (e.g. +08:00), not Z",
        DateTimeError::OutOfRange => "date, time or offset out of range",
    }
}

impl Rule {
    /// Stable identifier of the rule, e.g. `cap-polygon-closed`.
    pub fn code(&self) -> &'static str {
        match self {
            Rule::TooLarge { .. } => "xml-too-large",
            Rule::Encoding { .. } => "xml-encoding",
            Rule::Malformed { .. } => "xml-malformed",
            Rule::Dtd => "xml-dtd",
            Rule::Entity { .. } => "xml-entity",
            Rule::InvalidChar { .. } => "xml-char",
            Rule::TooDeep { .. } => "xml-depth",
            Rule::NotCap { .. } => "cap-root",
            Rule::UnexpectedElement { .. } => "cap-unexpected-element",
            Rule::Misplaced { .. } => "cap-order",
            Rule::Duplicate => "cap-duplicate",
            Rule::Missing { .. } => "cap-missing",
            Rule::UnexpectedText => "cap-text",
            Rule::UnexpectedAttribute { .. } => "cap-attribute",
            Rule::Enumeration { .. } => "cap-enum",
            Rule::DateTime { .. } => "cap-time",
            Rule::Integer { .. } => "cap-integer",
            Rule::Decimal { .. } => "cap-decimal",
            Rule::Language { .. } => "cap-language",
            Rule::PolygonPairs { .. } => "cap-polygon-pairs",
            Rule::PolygonOpen => "cap-polygon-closed",
            Rule::Coordinate { .. } => "cap-coordinate",
            Rule::Circle { .. } => "cap-circle",
            Rule::Radius { .. } => "cap-radius",
            Rule::Identifier { .. } => "cap-identifier",
            Rule::Reference { .. } => "cap-reference",
            Rule::ReferencesRequired { .. } => "cap-references-required",
            Rule::ScopeNeeds { .. } => "cap-scope",
            Rule::CeilingWithoutAltitude => "cap-ceiling",
            Rule::ChinaIdentifier { .. } => "china-identifier",
            Rule::ChinaSentMismatch { .. } => "china-sent",
            Rule::ChinaOffset { .. } => "china-offset",
            Rule::ChinaLanguage => "china-language",
            Rule::ChinaColour { .. } => "china-colour",
            Rule::ChinaLevel { .. } => "china-level",
            Rule::ChinaMismatch { .. } => "china-consistency",
        }
    }

    /// The message in Chinese, without position.
    pub fn message_zh(&self) -> String {
        match self {
            Rule::TooLarge { limit, size } => {
                format!("消息过大：{size} 字节，上限 {limit} 字节")
            }
            Rule::Encoding { label } => {
                format!("不支持的字符编码或无法解码：{label}（支持 UTF-8、UTF-16）")
            }
            Rule::Malformed { detail } => format!("XML 格式错误：{detail}"),
            Rule::Dtd => "拒绝 DTD（文档类型声明）：可能含实体炸弹或外部实体，未作展开".into(),
            Rule::Entity { name } => format!("拒绝未定义的实体引用 &{name};（不展开实体）"),
            Rule::InvalidChar { code } => format!("XML 中不允许的字符 U+{code:04X}"),
            Rule::TooDeep { limit } => format!("元素嵌套超过 {limit} 层"),
            Rule::NotCap { namespace } => {
                format!("根元素不是 CAP 1.2 的 alert（命名空间 {}）", namespace.as_deref().unwrap_or("无"))
            }
            Rule::UnexpectedElement { parent } => format!("<{parent}> 中不允许此元素"),
            Rule::Misplaced { before } => format!("元素顺序错误：应位于 <{before}> 之前"),
            Rule::Duplicate => "此元素只能出现一次".into(),
            Rule::Missing { child } => format!("缺少必需元素 <{child}>"),
            Rule::UnexpectedText => "此元素只能包含子元素，不能有文本".into(),
            Rule::UnexpectedAttribute { name } => format!("CAP 未定义属性 {name}"),
            Rule::Enumeration { value, allowed } => {
                format!("取值“{value}”无效，允许：{}", list(allowed))
            }
            Rule::DateTime { value, kind } => format!("时间“{value}”无效：{}", dt_zh(*kind)),
            Rule::Integer { value } => format!("“{value}”不是整数"),
            Rule::Decimal { value } => format!("“{value}”不是十进制数"),
            Rule::Language { value } => format!("“{value}”不是语言代码（如 zh-CN）"),
            Rule::PolygonPairs { count } => {
                format!("多边形只有 {count} 个坐标对，至少需要 4 个")
            }
            Rule::PolygonOpen => "多边形未闭合：首尾坐标对必须相同".into(),
            Rule::Coordinate { value } => {
                format!("坐标“{value}”无效：应为“纬度,经度”，纬度 ±90、经度 ±180 以内")
            }
            Rule::Circle { value } => format!("圆“{value}”无效：应为“纬度,经度 半径”"),
            Rule::Radius { value } => format!("圆半径“{value}”无效：必须是不小于 0 的公里数"),
            Rule::Identifier { value } => {
                format!("“{value}”不能包含空格、逗号、< 或 &")
            }
            Rule::Reference { value } => {
                format!("引用“{value}”无效：应为“发送者,标识符,发送时间”")
            }
            Rule::ReferencesRequired { msg_type } => {
                format!("msgType 为 {msg_type} 时必须有 <references>")
            }
            Rule::ScopeNeeds { scope, needs } => {
                format!("scope 为 {scope} 时必须有 <{needs}>")
            }
            Rule::CeilingWithoutAltitude => "<ceiling> 只能与 <altitude> 一起使用".into(),
            Rule::ChinaIdentifier { detail } => {
                format!("标识符不符合 GB/T 35965.1 格式 ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N：{}", detail.message_zh())
            }
            Rule::ChinaSentMismatch { in_identifier, sent } => {
                format!("标识符中的时间 {in_identifier} 与发送时间（北京时间）{sent} 不一致")
            }
            Rule::ChinaOffset { value } => format!("时间“{value}”应使用北京时间 +08:00"),
            Rule::ChinaLanguage => "至少一个 <info> 的语言必须是 zh-CN".into(),
            Rule::ChinaColour { value: None } => "缺少预警颜色参数".into(),
            Rule::ChinaColour { value: Some(v) } => {
                format!("预警颜色“{v}”无效，应为 红色、橙色、黄色、蓝色")
            }
            Rule::ChinaLevel { value: None } => "缺少预警级别参数".into(),
            Rule::ChinaLevel { value: Some(v) } => {
                format!("预警级别“{v}”无效，应为 Ⅰ级、Ⅱ级、Ⅲ级、Ⅳ级")
            }
            Rule::ChinaMismatch { zh, .. } => zh.clone(),
        }
    }

    /// The message in English, without position.
    pub fn message_en(&self) -> String {
        match self {
            Rule::TooLarge { limit, size } => {
                format!("message too large: {size} bytes, limit {limit} bytes")
            }
            Rule::Encoding { label } => {
                format!("unsupported or undecodable encoding: {label} (UTF-8 and UTF-16 are supported)")
            }
            Rule::Malformed { detail } => format!("malformed XML: {detail}"),
            Rule::Dtd => "DTD (document type declaration) refused: it may hold an entity bomb or external \
                 entities; nothing was expanded"
                .into(),
            Rule::Entity { name } => {
                format!("undefined entity reference &{name}; refused (entities are not expanded)")
            }
            Rule::InvalidChar { code } => format!("character U+{code:04X} is not allowed in XML"),
            Rule::TooDeep { limit } => format!("elements nested deeper than {limit} levels"),
            Rule::NotCap { namespace } => format!(
                "the root element is not a CAP 1.2 alert (namespace {})",
                namespace.as_deref().unwrap_or("none")
            ),
            Rule::UnexpectedElement { parent } => {
                format!("element not allowed inside <{parent}>")
            }
            Rule::Misplaced { before } => format!("element out of order: must come before <{before}>"),
            Rule::Duplicate => "element may appear only once".into(),
            Rule::Missing { child } => format!("required element <{child}> is missing"),
            Rule::UnexpectedText => "this element holds elements only, not text".into(),
            Rule::UnexpectedAttribute { name } => format!("attribute {name} is not defined by CAP"),
            Rule::Enumeration { value, allowed } => {
                format!("invalid value \"{value}\", allowed: {}", list(allowed))
            }
            Rule::DateTime { value, kind } => {
                format!("invalid time \"{value}\": {}", dt_en(*kind))
            }
            Rule::Integer { value } => format!("\"{value}\" is not an integer"),
            Rule::Decimal { value } => format!("\"{value}\" is not a decimal number"),
            Rule::Language { value } => format!("\"{value}\" is not a language tag (e.g. zh-CN)"),
            Rule::PolygonPairs { count } => {
                format!("polygon has {count} coordinate pairs, at least 4 are needed")
            }
            Rule::PolygonOpen => "polygon is not closed: the first and last pairs must be equal".into(),
            Rule::Coordinate { value } => {
                format!("invalid coordinate pair \"{value}\": expected \"lat,lon\" within ±90 and ±180")
            }
            Rule::Circle { value } => {
                format!("invalid circle \"{value}\": expected \"lat,lon radius\"")
            }
            Rule::Radius { value } => {
                format!("invalid circle radius \"{value}\": must be a non-negative number of km")
            }
            Rule::Identifier { value } => {
                format!("\"{value}\" must not contain spaces, commas, < or &")
            }
            Rule::Reference { value } => {
                format!("invalid reference \"{value}\": expected \"sender,identifier,sent\"")
            }
            Rule::ReferencesRequired { msg_type } => {
                format!("msgType {msg_type} requires <references>")
            }
            Rule::ScopeNeeds { scope, needs } => format!("scope {scope} requires <{needs}>"),
            Rule::CeilingWithoutAltitude => "<ceiling> may only be used with <altitude>".into(),
            Rule::ChinaIdentifier { detail } => format!(
                "identifier does not follow GB/T 35965.1 ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N: {}",
                detail.message_en()
            ),
            Rule::ChinaSentMismatch { in_identifier, sent } => {
                format!("time in identifier {in_identifier} differs from sent (Beijing time) {sent}")
            }
            Rule::ChinaOffset { value } => {
                format!("time \"{value}\" should be Beijing time +08:00")
            }
            Rule::ChinaLanguage => "at least one <info> must be in language zh-CN".into(),
            Rule::ChinaColour { value: None } => "warning colour parameter is missing".into(),
            Rule::ChinaColour { value: Some(v) } => {
                format!("invalid warning colour \"{v}\": expected 红色, 橙色, 黄色 or 蓝色")
            }
            Rule::ChinaLevel { value: None } => "warning level parameter is missing".into(),
            Rule::ChinaLevel { value: Some(v) } => {
                format!("invalid warning level \"{v}\": expected Ⅰ级, Ⅱ级, Ⅲ级 or Ⅳ级")
            }
            Rule::ChinaMismatch { en, .. } => en.clone(),
        }
    }

    /// The message in the given language.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => self.message_zh(),
            Lang::En => self.message_en(),
        }
    }
}

/// One problem in a CAP message.
#[derive(Debug, Clone, PartialEq)]
pub struct CapError {
    /// 1-based line of the element (or of the XML error); 0 when the whole input is concerned.
    pub line: usize,
    /// Path of the element, e.g. `alert/info[1]/area[2]/polygon`; empty for document-level errors.
    pub element: String,
    /// The rule broken.
    pub rule: Rule,
}

impl CapError {
    /// Builds an error.
    pub fn new(line: usize, element: impl Into<String>, rule: Rule) -> Self {
        Self { line, element: element.into(), rule }
    }

    /// Message in Chinese, with the element.
    pub fn message_zh(&self) -> String {
        self.message(Lang::Zh)
    }

    /// Message in English, with the element.
    pub fn message_en(&self) -> String {
        self.message(Lang::En)
    }

    /// Message in the given language, with the element (not the line).
    pub fn message(&self, lang: Lang) -> String {
        if self.element.is_empty() {
            self.rule.message(lang)
        } else {
            format!("<{}>: {}", self.element, self.rule.message(lang))
        }
    }
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "第 {} 行 / line {}: {}: {} / {}",
            self.line,
            self.line,
            self.rule.code(),
            self.message_zh(),
            self.message_en()
        )
    }
}

impl std::error::Error for CapError {}

/// All problems found in one message (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq)]
pub struct CapErrors(pub Vec<CapError>);

impl CapErrors {
    /// The problems, in document order.
    pub fn errors(&self) -> &[CapError] {
        &self.0
    }

    /// Whether any problem breaks the rule with this code (e.g. `xml-dtd`).
    pub fn has_rule(&self, code: &str) -> bool {
        self.0.iter().any(|e| e.rule.code() == code)
    }
}

impl fmt::Display for CapErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CapErrors {}

impl From<CapError> for CapErrors {
    fn from(e: CapError) -> Self {
        CapErrors(vec![e])
    }
}
