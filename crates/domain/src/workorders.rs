//! Residents' requests as 12345-style work orders (capability E) and complaints (capability J):
//! states, transitions, deadlines in Asia/Shanghai working time, escalation, small-count suppression.
//!
//! Work-order states (STANDARDS.md, 12345 practice): received (受理) → dispatched (派单) →
//! accepted (签收) or returned (退回) → in progress (处置, extensions 延期) → answered (反馈) →
//! rated at the return visit (回访/评价) → closed (办结), or reopened (重办). Every open step has a
//! deadline from the [`Policy`]; an overdue step is escalated (督办) one level up the division tree
//! per elapsed step length, until the city.

use crate::i18n::Text;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// Kinds of need, (key, zh, en).
pub const KINDS: [(&str, &str, &str); 8] = [
    ("medicine", "买药送药", "Medicine"),
    ("medical_visit", "就医陪诊", "Medical visit"),
    ("elderly_care", "老人照料", "Elderly care"),
    ("disabled_care", "残疾人照护", "Disabled care"),
    ("supplies", "代购食品物资", "Food and supplies"),
    ("counselling", "心理疏导", "Psychological counselling"),
    ("legal_aid", "法律援助", "Legal aid"),
    ("other", "其他", "Other"),
];

/// Vulnerable-person flags of a household, (key, zh, en).
pub const VULNERABLE: [(&str, &str, &str); 5] = [
    ("elderly_alone", "独居老人", "Elderly living alone"),
    ("disabled", "残疾人", "Disabled"),
    ("chronic", "慢性病患者", "Chronically ill"),
    ("pregnant", "孕产妇", "Pregnant"),
    ("child_no_carer", "无人照料儿童", "Child without carer"),
];

/// Complaint categories, (key, zh, en).
pub const COMPLAINT_CATEGORIES: [(&str, &str, &str); 5] = [
    ("service", "服务态度与质量", "Service attitude or quality"),
    ("abuse_of_power", "滥用职权", "Abuse of power"),
    ("falsified_report", "虚报瞒报", "Falsified reports"),
    ("overpricing", "哄抬物价", "Overpriced supplies"),
    ("other", "其他", "Other"),
];

/// Label of `key` in a (key, zh, en) table; the key itself when unknown.
pub fn label<'a>(table: &'a [(&'a str, &'a str, &'a str)], key: &'a str, zh: bool) -> &'a str {
    table.iter().find(|k| k.0 == key).map_or(key, |k| if zh { k.1 } else { k.2 })
}

/// Whether `key` is in the table.
pub fn known(table: &[(&str, &str, &str)], key: &str) -> bool {
    table.iter().any(|k| k.0 == key)
}

/// A work order's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 受理: waiting for dispatch.
    Received,
    /// 派单: waiting for the assignee to accept.
    Dispatched,
    /// 签收: accepted, work not started.
    Accepted,
    /// 退回: the assignee returned it; waiting for a new dispatch.
    Returned,
    /// 处置中.
    InProgress,
    /// 已反馈: answered, waiting for the return visit and rating.
    Answered,
    /// 办结.
    Closed,
    /// 重办: reopened after an unsatisfactory answer; waiting for dispatch.
    Reopened,
}

impl State {
    /// All states.
    pub const ALL: [State; 8] = [
        State::Received,
        State::Dispatched,
        State::Accepted,
        State::Returned,
        State::InProgress,
        State::Answered,
        State::Closed,
        State::Reopened,
    ];

    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Dispatched => "dispatched",
            State::Accepted => "accepted",
            State::Returned => "returned",
            State::InProgress => "in_progress",
            State::Answered => "answered",
            State::Closed => "closed",
            State::Reopened => "reopened",
        }
    }

    /// Parses a key.
    pub fn from_key(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.key() == s)
    }

    /// Label.
    pub fn label(self, zh: bool) -> &'static str {
        let (z, e) = match self {
            State::Received => ("已受理", "Received"),
            State::Dispatched => ("已派单", "Dispatched"),
            State::Accepted => ("已签收", "Accepted"),
            State::Returned => ("已退回", "Returned"),
            State::InProgress => ("处置中", "In progress"),
            State::Answered => ("已反馈待评价", "Answered"),
            State::Closed => ("已办结", "Closed"),
            State::Reopened => ("重办", "Reopened"),
        };
        if zh {
            z
        } else {
            e
        }
    }

    /// Whether a deadline runs in this state.
    pub fn open(self) -> bool {
        self != State::Closed
    }

    /// The step whose deadline runs in this state.
    pub fn step(self) -> Option<Step> {
        match self {
            State::Received | State::Returned | State::Reopened => Some(Step::Dispatch),
            State::Dispatched => Some(Step::Accept),
            State::Accepted | State::InProgress => Some(Step::Answer),
            State::Answered => Some(Step::Visit),
            State::Closed => None,
        }
    }
}

/// A timed step of a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Dispatch after receipt (or return, reopening).
    Dispatch,
    /// Accept after dispatch.
    Accept,
    /// Answer after acceptance.
    Answer,
    /// Return visit and rating after the answer.
    Visit,
}

/// An action on a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 派单 (staff).
    Dispatch,
    /// 签收 (assignee).
    Accept,
    /// 退回 (assignee, reason required).
    Return,
    /// 开始处置 (assignee).
    Start,
    /// 申请延期 (assignee).
    Extend,
    /// 反馈 (assignee, answer required).
    Answer,
    /// 评价 (requester, or staff at the return visit).
    Rate,
    /// 办结 (staff, after the visit).
    Close,
    /// 重办 (requester or staff, after the answer).
    Reopen,
}

impl Action {
    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            Action::Dispatch => "dispatch",
            Action::Accept => "accept",
            Action::Return => "return",
            Action::Start => "start",
            Action::Extend => "extend",
            Action::Answer => "answer",
            Action::Rate => "rate",
            Action::Close => "close",
            Action::Reopen => "reopen",
        }
    }

    /// Parses a key.
    pub fn from_key(s: &str) -> Option<Action> {
        [
            Action::Dispatch,
            Action::Accept,
            Action::Return,
            Action::Start,
            Action::Extend,
            Action::Answer,
            Action::Rate,
            Action::Close,
            Action::Reopen,
        ]
        .into_iter()
        .find(|a| a.key() == s)
    }

    /// Label.
    pub fn label(self, zh: bool) -> &'static str {
        let (z, e) = match self {
            Action::Dispatch => ("派单", "Dispatch"),
            Action::Accept => ("签收", "Accept"),
            Action::Return => ("退回", "Return"),
            Action::Start => ("开始处置", "Start work"),
            Action::Extend => ("申请延期", "Extend"),
            Action::Answer => ("反馈办理结果", "Answer"),
            Action::Rate => ("评价", "Rate"),
            Action::Close => ("办结", "Close"),
            Action::Reopen => ("重办", "Reopen"),
        };
        if zh {
            z
        } else {
            e
        }
    }
}

/// The state after `action` in `from`, or a bilingual reason why it is not allowed.
pub fn transition(from: State, action: Action) -> Result<State, Text> {
    use State::*;
    let to = match (action, from) {
        (Action::Dispatch, Received | Returned | Reopened) => Dispatched,
        (Action::Accept, Dispatched) => Accepted,
        (Action::Return, Dispatched | Accepted) => Returned,
        (Action::Start, Accepted) => InProgress,
        (Action::Extend, Accepted | InProgress) => from,
        (Action::Answer, Accepted | InProgress) => Answered,
        (Action::Rate, Answered) => Closed,
        (Action::Close, Answered) => Closed,
        (Action::Reopen, Answered | Closed) => Reopened,
        (Action::Rate, _) => {
            return Err(Text::new(
                format!("工单当前为“{}”，只有已反馈的工单才能评价", from.label(true)),
                format!("only an answered order can be rated (this one is '{}')", from.label(false)),
            ))
        }
        _ => {
            return Err(Text::new(
                format!("工单当前为“{}”，不能执行“{}”", from.label(true), action.label(true)),
                format!("cannot {} an order that is '{}'", action.label(false).to_lowercase(), from.label(false)),
            ))
        }
    };
    Ok(to)
}

/// Deadline policy: working days for normal needs, hours for urgent needs of vulnerable people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Working days to dispatch a normal need.
    pub dispatch_days: u32,
    /// Working days to accept after dispatch.
    pub accept_days: u32,
    /// Working days to answer after acceptance (12345: 5).
    pub answer_days: u32,
    /// Working days for the return visit after the answer.
    pub visit_days: u32,
    /// Hours to dispatch an urgent need of a vulnerable person.
    pub urgent_dispatch_hours: u32,
    /// Hours to accept it.
    pub urgent_accept_hours: u32,
    /// Hours to answer it.
    pub urgent_answer_hours: u32,
    /// Hours for its return visit.
    pub urgent_visit_hours: u32,
    /// Largest single extension, working days (hours for urgent needs: ×24 clock hours not allowed;
    /// see `urgent_max_extension_hours`).
    pub max_extension_days: u32,
    /// Largest single extension of an urgent need, hours.
    pub urgent_max_extension_hours: u32,
    /// Extensions allowed per order.
    pub max_extensions: u32,
    /// Working days to conclude a complaint.
    pub complaint_days: u32,
    /// Reported prices above reference by more than this percentage are flagged.
    pub price_margin_pct: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            dispatch_days: 1,
            accept_days: 1,
            answer_days: 5,
            visit_days: 3,
            urgent_dispatch_hours: 2,
            urgent_accept_hours: 1,
            urgent_answer_hours: 24,
            urgent_visit_hours: 48,
            max_extension_days: 5,
            urgent_max_extension_hours: 24,
            max_extensions: 2,
            complaint_days: 15,
            price_margin_pct: 20,
        }
    }
}

/// How long a step may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Working days (end of the Nth working day after the start day, Beijing time).
    WorkingDays(u32),
    /// Clock hours.
    Hours(u32),
}

impl Policy {
    /// The span of `step`; `urgent` when the need is urgent and the household has a vulnerable person.
    pub fn span(&self, step: Step, urgent: bool) -> Span {
        match (step, urgent) {
            (Step::Dispatch, false) => Span::WorkingDays(self.dispatch_days),
            (Step::Accept, false) => Span::WorkingDays(self.accept_days),
            (Step::Answer, false) => Span::WorkingDays(self.answer_days),
            (Step::Visit, false) => Span::WorkingDays(self.visit_days),
            (Step::Dispatch, true) => Span::Hours(self.urgent_dispatch_hours),
            (Step::Accept, true) => Span::Hours(self.urgent_accept_hours),
            (Step::Answer, true) => Span::Hours(self.urgent_answer_hours),
            (Step::Visit, true) => Span::Hours(self.urgent_visit_hours),
        }
    }

    /// Checks the policy's own numbers.
    pub fn validate(&self) -> Result<(), Text> {
        let days = [self.dispatch_days, self.accept_days, self.answer_days, self.visit_days, self.complaint_days];
        let hours =
            [self.urgent_dispatch_hours, self.urgent_accept_hours, self.urgent_answer_hours, self.urgent_visit_hours];
        if days.iter().any(|d| !(1..=60).contains(d)) || hours.iter().any(|h| !(1..=720).contains(h)) {
            return Err(Text::new(
                "期限须为 1–60 个工作日或 1–720 小时",
                "deadlines must be 1–60 working days or 1–720 hours",
            ));
        }
        if self.price_margin_pct > 500 {
            return Err(Text::new("价格预警幅度最多 500%", "the price margin may be at most 500%"));
        }
        Ok(())
    }

    /// Checks an extension request: `amount` working days (hours for urgent needs), given how
    /// many extensions the order already had.
    pub fn check_extension(&self, urgent: bool, amount: u32, already: u32) -> Result<Span, Text> {
        if already >= self.max_extensions {
            return Err(Text::new(
                format!("每张工单最多延期 {} 次", self.max_extensions),
                format!("an order may be extended at most {} times", self.max_extensions),
            ));
        }
        let (max, zh_unit, en_unit) = if urgent {
            (self.urgent_max_extension_hours, "小时", "hours")
        } else {
            (self.max_extension_days, "个工作日", "working days")
        };
        if amount == 0 || amount > max {
            return Err(Text::new(
                format!("延期须为 1–{max} {zh_unit}（政策上限）"),
                format!("an extension must be 1–{max} {en_unit} (the policy's maximum)"),
            ));
        }
        Ok(if urgent { Span::Hours(amount) } else { Span::WorkingDays(amount) })
    }
}

/// Whether a need runs on the urgent (hours) clock: urgent and a vulnerable person in the household.
pub fn urgent_clock(urgency: &str, vulnerable: &str) -> bool {
    urgency == "urgent" && !vulnerable.trim().is_empty()
}

/// Beijing time (UTC+8; China keeps no daylight saving time).
pub fn beijing() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// The holiday calendar: statutory holidays that fall on weekdays and adjusted working days
/// (调休) that fall on weekends. Other Saturdays and Sundays are rest days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    days: HashMap<Date, bool>,
}

impl Calendar {
    /// From `(YYYY-MM-DD, kind)` rows where kind is `holiday` or `workday`; bad rows are skipped.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Calendar {
        let mut days = HashMap::new();
        for (d, k) in rows {
            if let Some(date) = parse_date(d) {
                days.insert(date, k == "workday");
            }
        }
        Calendar { days }
    }

    /// Whether `d` is a working day.
    pub fn is_working(&self, d: Date) -> bool {
        match self.days.get(&d) {
            Some(w) => *w,
            None => !matches!(d.weekday(), time::Weekday::Saturday | time::Weekday::Sunday),
        }
    }

    /// The deadline of a span started at `start_ms`: for hours, plain clock time; for working
    /// days, the end (24:00 Beijing time) of the Nth working day after the start day.
    pub fn deadline(&self, start_ms: i64, span: Span) -> i64 {
        match span {
            Span::Hours(h) => start_ms + i64::from(h) * 3_600_000,
            Span::WorkingDays(n) => {
                let Some(mut d) = local_date(start_ms) else { return start_ms };
                let mut left = n;
                // Bounded walk: no calendar has a year without working days.
                for _ in 0..(n as usize * 7 + 400) {
                    if left == 0 {
                        break;
                    }
                    d = d.next_day().unwrap_or(d);
                    if self.is_working(d) {
                        left -= 1;
                    }
                }
                let end = d.next_day().unwrap_or(d).midnight().assume_offset(beijing());
                (end.unix_timestamp_nanos() / 1_000_000) as i64
            }
        }
    }

    /// Extends an existing deadline by `span` (working days counted from the deadline's day).
    pub fn extend(&self, due_ms: i64, span: Span) -> i64 {
        match span {
            Span::Hours(_) => self.deadline(due_ms, span),
            // A deadline at 24:00 belongs to the day before.
            Span::WorkingDays(_) => self.deadline(due_ms - 1, span),
        }
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &f).ok()
}

/// The Beijing date of a unix-ms instant.
pub fn local_date(ms: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok().map(|t| t.to_offset(beijing()).date())
}

/// Escalation levels: 0 none, 1 street, 2 district, 3 city.
pub const MAX_ESCALATION: i64 = 3;

/// Escalation after a scan at `now`: each elapsed step length past the deadline raises the
/// level by one, up to the city. Returns the new level and the next escalation time (None at
/// the top), or None when nothing is due.
pub fn escalate(level: i64, escalate_at: i64, step_ms: i64, now: i64) -> Option<(i64, Option<i64>)> {
    if now < escalate_at || level >= MAX_ESCALATION {
        return None;
    }
    let step = step_ms.max(3_600_000);
    let periods = 1 + (now - escalate_at) / step;
    let new = (level + periods).min(MAX_ESCALATION);
    let next = (new < MAX_ESCALATION).then(|| escalate_at + (new - level) * step);
    Some((new, next))
}

/// Label of an escalation level.
pub fn escalation_label(level: i64, zh: bool) -> &'static str {
    match (level, zh) {
        (0, _) => "",
        (1, true) => "街道督办",
        (1, false) => "Escalated to street",
        (2, true) => "区级督办",
        (2, false) => "Escalated to district",
        (_, true) => "市级督办",
        (_, false) => "Escalated to city",
    }
}

/// Counts below this are shown as "<5" on public pages.
pub const SUPPRESS_BELOW: i64 = 5;

/// A public count: the number, or `<5` when small enough to identify someone.
pub fn public_count(n: i64) -> String {
    if n > 0 && n < SUPPRESS_BELOW {
        format!("<{SUPPRESS_BELOW}")
    } else {
        n.to_string()
    }
}

/// A public rate `part/whole` as a percentage, hidden (`—`) when `whole` is suppressed.
pub fn public_rate(part: i64, whole: i64) -> String {
    if whole < SUPPRESS_BELOW {
        "—".into()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

/// A public average rating, hidden when fewer than five ratings.
pub fn public_average(sum: i64, n: i64) -> String {
    if n < SUPPRESS_BELOW {
        "—".into()
    } else {
        format!("{:.1}", sum as f64 / n as f64)
    }
}

/// Complaint states: received (受理) → investigating (核查中) → concluded (已办结, verified or not).
pub const COMPLAINT_STATES: [(&str, &str, &str); 3] = [
    ("received", "已受理", "Received"),
    ("investigating", "核查中", "Investigating"),
    ("concluded", "已办结", "Concluded"),
];

/// What a complaint is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A staff member (user id) working at a division path.
    Staff {
        /// User id.
        user_id: i64,
        /// Their jurisdiction, if any.
        path: Option<String>,
        /// Their organisation, if any.
        org_id: Option<i64>,
    },
    /// An organisation.
    Org(i64),
    /// A community or street (division path).
    Community(String),
}

/// Whether `handler` may handle a complaint about `subject` located at `path`: a supervisor
/// whose jurisdiction covers it, outside the accused unit's line (not the person, not a member
/// of the organisation, not working inside the accused community).
pub fn may_handle(handler: &crate::Actor, subject: &Subject, path: &str) -> bool {
    if handler.role != crate::Role::Supervisor || !handler.covers(path) {
        return false;
    }
    let own = handler.division_path.as_deref().unwrap_or("");
    match subject {
        Subject::Staff { user_id, path: sp, org_id } => {
            handler.user_id != *user_id
                && !org_id.is_some_and(|o| handler.acts_for(o))
                // The same unit: a supervisor posted at the accused's own level or below it.
                && !sp.as_deref().is_some_and(|sp| crate::division::is_within(own, sp))
        }
        Subject::Org(o) => !handler.acts_for(*o),
        Subject::Community(cp) => !crate::division::is_within(own, cp),
    }
}

/// Accepted attachment kinds by magic number: PNG, JPEG, GIF, WebP, PDF.
pub fn sniff_attachment(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Largest attachment of a complaint.
pub const MAX_ATTACHMENT_BYTES: usize = 1024 * 1024;

/// Whether a reported price exceeds the reference by more than `margin_pct` percent.
pub fn over_reference(price_fen: i64, ref_fen: i64, margin_pct: u32) -> bool {
    ref_fen > 0 && price_fen * 100 > ref_fen * (100 + i64::from(margin_pct))
}

/// Suggested specialty domains of organisations for a need kind.
pub fn domains_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "medicine" | "medical_visit" => &["medical", "elderly"],
        "elderly_care" => &["elderly"],
        "disabled_care" => &["disability"],
        "supplies" => &["logistics", "elderly"],
        "counselling" => &["psychology"],
        "legal_aid" => &["legal"],
        _ => &[],
    }
}

/// Great-circle distance in km.
pub fn distance_km(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

/// A random, unguessable tracking code: 16 characters from an alphabet without look-alikes
/// (≈ 80 bits), shown grouped as `XXXX-XXXX-XXXX-XXXX`.
pub fn tracking_code(rng: &mut impl rand::RngCore) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut s = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        let idx = (rng.next_u32() as usize) % ALPHABET.len();
        s.push(ALPHABET[idx] as char);
    }
    s
}

/// Normalises a tracking code as typed (case, spaces, dashes).
pub fn normalise_code(s: &str) -> String {
    let raw: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    raw.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// Duration helper for tests and callers: whole days in ms.
pub fn days_ms(d: i64) -> i64 {
    Duration::days(d).whole_milliseconds() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ms(t: OffsetDateTime) -> i64 {
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[test]
    fn transitions_follow_12345() {
        assert_eq!(transition(State::Received, Action::Dispatch), Ok(State::Dispatched));
        assert_eq!(transition(State::Dispatched, Action::Return), Ok(State::Returned));
        assert_eq!(transition(State::Returned, Action::Dispatch), Ok(State::Dispatched));
        assert_eq!(transition(State::Accepted, Action::Start), Ok(State::InProgress));
        assert_eq!(transition(State::InProgress, Action::Extend), Ok(State::InProgress));
        assert_eq!(transition(State::InProgress, Action::Answer), Ok(State::Answered));
        assert_eq!(transition(State::Answered, Action::Rate), Ok(State::Closed));
        assert_eq!(transition(State::Closed, Action::Reopen), Ok(State::Reopened));
        let e = transition(State::InProgress, Action::Rate).unwrap_err();
        assert!(e.zh.contains("只有已反馈"), "{e}");
        assert!(transition(State::Closed, Action::Dispatch).is_err());
        assert!(transition(State::Received, Action::Answer).is_err());
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_in_beijing_time() {
        let cal = Calendar::default();
        // Friday 2026-11-27 16:00 Beijing = 08:00 UTC; 1 working day → end of Monday 11-30.
        let fri = ms(datetime!(2026-11-27 08:00 UTC));
        assert_eq!(cal.deadline(fri, Span::WorkingDays(1)), ms(datetime!(2026-12-01 00:00 +8)));
        // Friday 23:30 Beijing is still Friday (15:30 UTC).
        let late = ms(datetime!(2026-11-27 15:30 UTC));
        assert_eq!(cal.deadline(late, Span::WorkingDays(1)), ms(datetime!(2026-12-01 00:00 +8)));
        // Saturday 00:30 Beijing is Friday 16:30 UTC: counting starts after Saturday.
        let sat = ms(datetime!(2026-11-27 16:30 UTC));
        assert_eq!(cal.deadline(sat, Span::WorkingDays(1)), ms(datetime!(2026-12-01 00:00 +8)));
        // 5 working days from Monday → end of the next Monday.
        let mon = ms(datetime!(2026-11-30 10:00 +8));
        assert_eq!(cal.deadline(mon, Span::WorkingDays(5)), ms(datetime!(2026-12-08 00:00 +8)));
        // A holiday on Tuesday pushes it one day; a working Saturday (调休) pulls it back.
        let cal = Calendar::from_rows([("2026-12-01", "holiday")]);
        assert_eq!(cal.deadline(mon, Span::WorkingDays(5)), ms(datetime!(2026-12-09 00:00 +8)));
        let cal = Calendar::from_rows([("2026-12-01", "holiday"), ("2026-12-05", "workday")]);
        assert_eq!(cal.deadline(mon, Span::WorkingDays(5)), ms(datetime!(2026-12-08 00:00 +8)));
        // Hours are clock hours, weekends included.
        assert_eq!(Calendar::default().deadline(fri, Span::Hours(2)), fri + 7_200_000);
    }

    #[test]
    fn extension_counts_from_the_deadline_day() {
        let cal = Calendar::default();
        let due = ms(datetime!(2026-12-08 00:00 +8)); // end of Monday 12-07
        assert_eq!(cal.extend(due, Span::WorkingDays(2)), ms(datetime!(2026-12-10 00:00 +8)));
    }

    #[test]
    fn extension_limits() {
        let p = Policy::default();
        assert!(p.check_extension(false, 5, 0).is_ok());
        let e = p.check_extension(false, 6, 0).unwrap_err();
        assert!(e.zh.contains("政策上限"));
        assert!(p.check_extension(true, 24, 0).is_ok());
        assert!(p.check_extension(true, 25, 0).is_err());
        assert!(p.check_extension(false, 1, 2).is_err());
        assert!(p.check_extension(false, 0, 0).is_err());
    }

    #[test]
    fn urgent_needs_of_vulnerable_people_run_on_hours() {
        let p = Policy::default();
        assert!(urgent_clock("urgent", "elderly_alone"));
        assert!(!urgent_clock("urgent", ""));
        assert!(!urgent_clock("normal", "disabled"));
        assert_eq!(p.span(Step::Dispatch, true), Span::Hours(2));
        assert_eq!(p.span(Step::Answer, false), Span::WorkingDays(5));
    }

    #[test]
    fn escalation_climbs_one_level_per_step_and_stops_at_city() {
        let h = 3_600_000;
        assert_eq!(escalate(0, 1000, 2 * h, 999), None);
        assert_eq!(escalate(0, 1000, 2 * h, 1000), Some((1, Some(1000 + 2 * h))));
        // Down for five hours with a 2-hour step: two levels at once (catch-up).
        assert_eq!(escalate(0, 1000, 2 * h, 1000 + 2 * h + 1), Some((2, Some(1000 + 4 * h))));
        assert_eq!(escalate(2, 1000, 2 * h, 1000 + 100 * h), Some((3, None)));
        assert_eq!(escalate(3, 1000, 2 * h, 1000 + 100 * h), None);
    }

    #[test]
    fn small_counts_are_suppressed() {
        assert_eq!(public_count(0), "0");
        assert_eq!(public_count(3), "<5");
        assert_eq!(public_count(5), "5");
        assert_eq!(public_rate(3, 4), "—");
        assert_eq!(public_rate(4, 8), "50%");
        assert_eq!(public_average(20, 4), "—");
        assert_eq!(public_average(22, 5), "4.4");
    }

    #[test]
    fn attachments_are_sniffed() {
        assert_eq!(sniff_attachment(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff_attachment(b"\x89PNG\r\n\x1a\nxxxx"), Some("image/png"));
        assert_eq!(sniff_attachment(b"MZ\x90\x00"), None);
        assert_eq!(sniff_attachment(b"<html>"), None);
    }

    #[test]
    fn prices_over_margin_are_flagged() {
        assert!(!over_reference(1200, 1000, 20));
        assert!(over_reference(1201, 1000, 20));
        assert!(!over_reference(5000, 0, 20));
    }

    #[test]
    fn tracking_codes_are_random_and_normalised() {
        let mut r = rand::thread_rng();
        let a = tracking_code(&mut r);
        let b = tracking_code(&mut r);
        assert_ne!(a, b);
        assert_eq!(a.len(), 19);
        assert_eq!(normalise_code(&a.to_lowercase().replace('-', " ")), a);
    }

    #[test]
    fn handler_must_be_outside_the_accused_line() {
        let sup = |path: &str| crate::Actor {
            user_id: 9,
            username: "s".into(),
            display_name: "S".into(),
            role: crate::Role::Supervisor,
            division_code: None,
            division_path: Some(path.into()),
            org_id: None,
        };
        let city = sup("320500000000/");
        let street = "320500000000/320508000000/320508018000/";
        let community = format!("{street}320508018001/");
        assert!(may_handle(&city, &Subject::Community(community.clone()), &community));
        // A supervisor posted inside the accused community is in its line.
        let inside = sup(&community);
        assert!(!may_handle(&inside, &Subject::Community(community.clone()), &community));
        // The accused person cannot handle a complaint about themselves.
        let me = Subject::Staff { user_id: 9, path: Some("320500000000/".into()), org_id: None };
        assert!(!may_handle(&city, &me, &community));
        // Not a supervisor.
        let mut officer = sup("320500000000/");
        officer.role = crate::Role::CivilAffairs;
        assert!(!may_handle(&officer, &Subject::Org(1), &community));
        // Outside the handler's jurisdiction.
        let wuzhong = sup("320500000000/320506000000/");
        assert!(!may_handle(&wuzhong, &Subject::Org(1), &community));
    }
}
