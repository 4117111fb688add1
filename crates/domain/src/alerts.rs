//! Alerts (capability G): four-colour warnings, their state machine and validation rules; notification channel rules
//! (preferences, quiet hours, retry backoff). Pure, no I/O.

use crate::validation::FieldError;
use serde::{Deserialize, Serialize};

/// Warning colour (预警颜色), red the most severe (Ⅰ级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// 红色 Ⅰ级.
    Red,
    /// 橙色 Ⅱ级.
    Orange,
    /// 黄色 Ⅲ级.
    Yellow,
    /// 蓝色 Ⅳ级.
    Blue,
}

impl Colour {
    /// All colours, most severe first.
    pub const ALL: [Colour; 4] = [Colour::Red, Colour::Orange, Colour::Yellow, Colour::Blue];

    /// Stored key.
    pub fn key(self) -> &'static str {
        ["red", "orange", "yellow", "blue"][self as usize]
    }

    /// From a stored key (also accepts 红色/红 and the level number 1–4).
    pub fn parse(s: &str) -> Option<Colour> {
        let t = s.trim();
        Colour::ALL.into_iter().find(|c| {
            t.eq_ignore_ascii_case(c.key())
                || t == c.zh()
                || t == c.zh().trim_end_matches('色')
                || t == (c.level()).to_string()
        })
    }

    /// Chinese name.
    pub fn zh(self) -> &'static str {
        ["红色", "橙色", "黄色", "蓝色"][self as usize]
    }

    /// English name.
    pub fn en(self) -> &'static str {
        ["Red", "Orange", "Yellow", "Blue"][self as usize]
    }

    /// Level 1 (Ⅰ级, red) to 4 (Ⅳ级, blue).
    pub fn level(self) -> u8 {
        self as u8 + 1
    }

    /// Level in Chinese numerals.
    pub fn level_zh(self) -> &'static str {
        ["Ⅰ级", "Ⅱ级", "Ⅲ级", "Ⅳ级"][self as usize]
    }
}

/// Lifecycle of an alert record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Being written; only its author and colleagues see it.
    Draft,
    /// Submitted, waiting for a second officer.
    Pending,
    /// Issued and in force until it expires.
    Issued,
    /// Replaced by an Update that references it.
    Superseded,
    /// Withdrawn by a Cancel that references it (or the Cancel message itself).
    Cancelled,
    /// Sent back by the approver.
    Rejected,
}

impl AlertState {
    /// Stored key.
    pub fn key(self) -> &'static str {
        match self {
            AlertState::Draft => "draft",
            AlertState::Pending => "pending",
            AlertState::Issued => "issued",
            AlertState::Superseded => "superseded",
            AlertState::Cancelled => "cancelled",
            AlertState::Rejected => "rejected",
        }
    }

    /// From a stored key.
    pub fn from_key(s: &str) -> Option<AlertState> {
        [
            AlertState::Draft,
            AlertState::Pending,
            AlertState::Issued,
            AlertState::Superseded,
            AlertState::Cancelled,
            AlertState::Rejected,
        ]
        .into_iter()
        .find(|x| x.key() == s)
    }

    /// Chinese label.
    pub fn zh(self) -> &'static str {
        match self {
            AlertState::Draft => "草稿",
            AlertState::Pending => "待审核",
            AlertState::Issued => "已发布",
            AlertState::Superseded => "已更新",
            AlertState::Cancelled => "已解除",
            AlertState::Rejected => "已退回",
        }
    }

    /// English label.
    pub fn en(self) -> &'static str {
        match self {
            AlertState::Draft => "Draft",
            AlertState::Pending => "Awaiting approval",
            AlertState::Issued => "Issued",
            AlertState::Superseded => "Updated",
            AlertState::Cancelled => "Cancelled",
            AlertState::Rejected => "Returned",
        }
    }
}

/// An action on an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    /// Author submits a draft for approval (or issues directly when no second officer is needed).
    Submit,
    /// Second officer approves: the alert is issued.
    Approve,
    /// Second officer sends it back.
    Reject,
    /// An issued alert is replaced by an update.
    Supersede,
    /// An issued alert is cancelled.
    Cancel,
}

/// The state after `action` from `from`, or `None` when the action is not allowed there.
pub fn transition(from: AlertState, action: AlertAction) -> Option<AlertState> {
    use AlertAction as A;
    use AlertState as S;
    match (from, action) {
        (S::Draft | S::Rejected, A::Submit) => Some(S::Pending),
        (S::Pending, A::Approve) => Some(S::Issued),
        (S::Pending, A::Reject) => Some(S::Rejected),
        (S::Issued, A::Supersede) => Some(S::Superseded),
        (S::Issued, A::Cancel) => Some(S::Cancelled),
        _ => None,
    }
}

/// Which colours need a second officer's approval (four-eyes), configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FourEyes {
    /// Colours that need a second officer.
    pub colours: Vec<Colour>,
}

impl Default for FourEyes {
    /// Every colour needs a second officer.
    fn default() -> Self {
        FourEyes { colours: Colour::ALL.to_vec() }
    }
}

impl FourEyes {
    /// From a comma-separated list of colours (`red,orange`); `none` for none. Unknown names are an error.
    pub fn parse(s: &str) -> Result<FourEyes, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("none") || s.is_empty() {
            return Ok(FourEyes { colours: vec![] });
        }
        let mut colours = Vec::new();
        for part in s.split(',') {
            colours.push(Colour::parse(part).ok_or_else(|| format!("unknown colour `{part}`"))?);
        }
        Ok(FourEyes { colours })
    }

    /// Whether an alert of `colour` needs a second officer.
    pub fn required(&self, colour: Colour) -> bool {
        self.colours.contains(&colour)
    }
}

/// Largest headline (CAP recommends under 160 characters).
pub const MAX_HEADLINE: usize = 160;
/// Largest description or instruction.
pub const MAX_TEXT: usize = 4000;
/// Longest validity of one alert (7 days).
pub const MAX_VALIDITY_MS: i64 = 7 * 24 * 3600 * 1000;

/// Draft fields checked before saving.
#[derive(Debug, Clone)]
pub struct DraftCheck<'a> {
    /// Event type, e.g. 暴雨.
    pub event: &'a str,
    /// Headline.
    pub headline: &'a str,
    /// Description.
    pub description: &'a str,
    /// Instruction.
    pub instruction: &'a str,
    /// Effective, unix ms.
    pub effective: i64,
    /// Expires, unix ms.
    pub expires: i64,
    /// Whether any area part was given.
    pub has_area: bool,
}

/// Validates a draft; every problem is returned, in Chinese and English.
pub fn check_draft(d: &DraftCheck<'_>, now_ms: i64) -> Vec<FieldError> {
    let mut e = Vec::new();
    if d.event.trim().is_empty() {
        e.push(FieldError::new("event", "required", "请填写事件类型", "Event type is required"));
    }
    if d.headline.trim().is_empty() {
        e.push(FieldError::new("headline", "required", "请填写标题", "Headline is required"));
    } else if d.headline.chars().count() > MAX_HEADLINE {
        e.push(FieldError::new(
            "headline",
            "too_long",
            format!("标题不能超过 {MAX_HEADLINE} 字"),
            format!("Headline must be at most {MAX_HEADLINE} characters"),
        ));
    }
    for (f, v) in [("description", d.description), ("instruction", d.instruction)] {
        if v.chars().count() > MAX_TEXT {
            e.push(FieldError::new(
                f,
                "too_long",
                format!("内容不能超过 {MAX_TEXT} 字"),
                format!("Text must be at most {MAX_TEXT} characters"),
            ));
        }
    }
    if d.expires <= d.effective {
        e.push(FieldError::new(
            "expires",
            "before_effective",
            "失效时间必须晚于生效时间",
            "Expires must be after effective",
        ));
    } else if d.expires - d.effective > MAX_VALIDITY_MS {
        e.push(FieldError::new(
            "expires",
            "too_long",
            "预警有效期不能超过 7 天",
            "An alert may be valid for at most 7 days",
        ));
    }
    if d.expires <= now_ms {
        e.push(FieldError::new("expires", "past", "失效时间已过", "Expires is in the past"));
    }
    if !d.has_area {
        e.push(FieldError::new(
            "area",
            "required",
            "请选择预警区域（行政区划、地图多边形或圆形）",
            "Choose the alert area (divisions, a polygon on the map or a circle)",
        ));
    }
    e
}

/// Shanghai is UTC+8 all year.
const SHANGHAI_OFFSET_MS: i64 = 8 * 3600 * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Whether `minute` (0–1439, local time) falls in quiet hours `start..end` (minutes, may wrap midnight).
pub fn in_quiet(minute: i64, start: i64, end: i64) -> bool {
    if start == end {
        false
    } else if start < end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    }
}

/// When a non-urgent message due at `now_ms` may go out given quiet hours (Asia/Shanghai): `now_ms`
/// itself outside quiet hours, else the end of the quiet period.
pub fn quiet_release(now_ms: i64, start: Option<i64>, end: Option<i64>) -> i64 {
    let (Some(start), Some(end)) = (start, end) else { return now_ms };
    let local = now_ms + SHANGHAI_OFFSET_MS;
    let minute = local.rem_euclid(DAY_MS) / 60_000;
    if !in_quiet(minute, start, end) {
        return now_ms;
    }
    let day_start = local - local.rem_euclid(DAY_MS);
    let mut release = day_start + end * 60_000;
    if release <= local {
        release += DAY_MS;
    }
    release - SHANGHAI_OFFSET_MS
}

/// Attempts before a message goes to the dead-letter list.
pub const MAX_ATTEMPTS: i64 = 8;

/// Delay before retry number `attempt` (1-based: after the first failure): 2 s, 4 s, 8 s … capped at 1 h.
pub fn retry_delay_ms(attempt: i64) -> i64 {
    let exp = attempt.clamp(1, 20) as u32;
    (1000i64 << exp).min(3600 * 1000)
}

/// Notification channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// In-app inbox and live screen.
    Inapp,
    /// E-mail over SMTP.
    Email,
    /// Signed HTTP POST to a registered endpoint.
    Webhook,
    /// SMS through the HTTP gateway.
    Sms,
}

impl Channel {
    /// All channels.
    pub const ALL: [Channel; 4] = [Channel::Inapp, Channel::Email, Channel::Webhook, Channel::Sms];

    /// Stored key.
    pub fn key(self) -> &'static str {
        match self {
            Channel::Inapp => "inapp",
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Sms => "sms",
        }
    }

    /// From a stored key.
    pub fn from_key(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.key() == s.trim())
    }

    /// Whether quiet hours apply (the in-app inbox is silent, so they do not).
    pub fn honours_quiet_hours(self) -> bool {
        matches!(self, Channel::Email | Channel::Sms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(Colour::parse("红色"), Some(Colour::Red));
        assert_eq!(Colour::parse("Yellow"), Some(Colour::Yellow));
        assert_eq!(Colour::parse("4"), Some(Colour::Blue));
        assert_eq!(Colour::parse("purple"), None);
        assert_eq!(Colour::Orange.level(), 2);
    }

    #[test]
    fn state_machine() {
        assert_eq!(transition(AlertState::Draft, AlertAction::Submit), Some(AlertState::Pending));
        assert_eq!(transition(AlertState::Pending, AlertAction::Approve), Some(AlertState::Issued));
        assert_eq!(transition(AlertState::Issued, AlertAction::Cancel), Some(AlertState::Cancelled));
        assert_eq!(transition(AlertState::Draft, AlertAction::Approve), None);
        assert_eq!(transition(AlertState::Cancelled, AlertAction::Cancel), None);
        assert_eq!(transition(AlertState::Superseded, AlertAction::Supersede), None);
    }

    #[test]
    fn four_eyes_config() {
        let f = FourEyes::parse("red,orange").unwrap();
        assert!(f.required(Colour::Red) && !f.required(Colour::Blue));
        assert!(FourEyes::parse("none").unwrap().colours.is_empty());
        assert!(FourEyes::parse("red,pink").is_err());
        assert!(FourEyes::default().required(Colour::Blue));
    }

    #[test]
    fn draft_rules() {
        let ok = DraftCheck {
            event: "暴雨",
            headline: "暴雨黄色预警",
            description: "",
            instruction: "",
            effective: 1000,
            expires: 2000,
            has_area: true,
        };
        assert!(check_draft(&ok, 0).is_empty());
        let bad = DraftCheck { expires: 500, has_area: false, headline: "", ..ok.clone() };
        let e = check_draft(&bad, 0);
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert!(fields.contains(&"expires") && fields.contains(&"area") && fields.contains(&"headline"), "{fields:?}");
        assert!(!check_draft(&ok, 3000).is_empty(), "expired drafts are refused");
    }

    #[test]
    fn quiet_hours() {
        // 22:00–07:00 Shanghai. 2026-11-28 23:30 +08:00 = 15:30 UTC.
        let t = 1_795_793_400_000 + 30 * 60_000; // arbitrary base then adjust below
        let local_min = (t + SHANGHAI_OFFSET_MS).rem_euclid(DAY_MS) / 60_000;
        let (start, end) = (22 * 60, 7 * 60);
        let r = quiet_release(t, Some(start), Some(end));
        if in_quiet(local_min, start, end) {
            assert!(r > t);
            assert_eq!((r + SHANGHAI_OFFSET_MS).rem_euclid(DAY_MS) / 60_000, end);
        } else {
            assert_eq!(r, t);
        }
        assert!(in_quiet(23 * 60, start, end) && in_quiet(60, start, end) && !in_quiet(12 * 60, start, end));
        assert!(in_quiet(13 * 60, 12 * 60, 14 * 60) && !in_quiet(14 * 60, 12 * 60, 14 * 60));
        // A time at 23:00 local releases at 07:00 the next day.
        let day = 1_795_795_200_000 - SHANGHAI_OFFSET_MS; // some local midnight
        let day = day - (day + SHANGHAI_OFFSET_MS).rem_euclid(DAY_MS);
        let at23 = day + 23 * 3600 * 1000;
        assert_eq!(quiet_release(at23, Some(start), Some(end)), day + DAY_MS + 7 * 3600 * 1000);
        assert_eq!(quiet_release(at23, None, None), at23);
    }

    #[test]
    fn backoff() {
        assert_eq!(retry_delay_ms(1), 2000);
        assert_eq!(retry_delay_ms(2), 4000);
        assert_eq!(retry_delay_ms(30), 3600 * 1000);
    }
}
