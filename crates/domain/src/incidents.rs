//! Incidents, graded mobilisation, tasks and dispatch (capabilities B, C, D): pure rules.
//!
//! Categories, severity grades, response levels and the lifecycle follow 《突发事件应对法》
//! (2024); the assignment state machine, geofence and service-hour rules follow the Volunteer
//! Service Regulations (time on duty, not travel); the 1-3-5-10 response-time rule is
//! measured by [`kpi`].

use crate::i18n::Text;
use crate::validation::FieldError;

/// (key, zh, en) of a vocabulary term.
pub type Term = (&'static str, &'static str, &'static str);

/// The four incident categories.
pub const CATEGORIES: [Term; 4] = [
    ("natural", "自然灾害", "Natural disaster"),
    ("accident", "事故灾难", "Accident"),
    ("health", "公共卫生事件", "Public health"),
    ("social", "社会安全事件", "Social security"),
];

/// Sub-types per category: (category, key, zh, en).
pub const SUBTYPES: [(&str, &str, &str, &str); 20] = [
    ("natural", "flood", "洪涝", "Flood"),
    ("natural", "typhoon", "台风", "Typhoon"),
    ("natural", "rainstorm", "暴雨内涝", "Rainstorm and waterlogging"),
    ("natural", "earthquake", "地震", "Earthquake"),
    ("natural", "snow_freeze", "雨雪冰冻", "Snow and freezing"),
    ("natural", "geological", "地质灾害", "Geological hazard"),
    ("accident", "fire", "火灾", "Fire"),
    ("accident", "traffic", "交通事故", "Traffic accident"),
    ("accident", "collapse", "建筑物倒塌", "Building collapse"),
    ("accident", "hazchem", "危化品泄漏", "Hazardous chemicals"),
    ("accident", "drowning", "溺水", "Drowning"),
    ("accident", "utility", "水电气中断", "Utility outage"),
    ("health", "epidemic", "传染病疫情", "Epidemic"),
    ("health", "food_poisoning", "食物中毒", "Food poisoning"),
    ("health", "heat", "高温中暑", "Heat illness"),
    ("health", "other_health", "其他公共卫生", "Other public health"),
    ("social", "crowd", "人群聚集踩踏", "Crowd crush"),
    ("social", "missing_person", "人员走失", "Missing person"),
    ("social", "mass_incident", "群体性事件", "Mass incident"),
    ("social", "other_social", "其他社会安全", "Other social security"),
];

/// Lifecycle phases, in order.
pub const PHASES: [Term; 4] = [
    ("prevention", "预防与准备", "Prevention and preparedness"),
    ("warning", "监测与预警", "Monitoring and warning"),
    ("response", "处置与救援", "Response and rescue"),
    ("recovery", "恢复与重建", "Recovery and reconstruction"),
];

/// Chinese or English label of `key` among `terms` (the key itself when unknown).
pub fn label(terms: &[Term], key: &str, zh: bool) -> String {
    terms.iter().find(|t| t.0 == key).map_or_else(|| key.to_string(), |t| if zh { t.1 } else { t.2 }.to_string())
}

/// Label of a sub-type key.
pub fn subtype_label(key: &str, zh: bool) -> String {
    SUBTYPES.iter().find(|t| t.1 == key).map_or_else(|| key.to_string(), |t| if zh { t.2 } else { t.3 }.to_string())
}

/// Severity grade label: 1 → 特别重大 (I) … 4 → 一般 (IV); 0 → not graded.
pub fn severity_label(s: i64, zh: bool) -> &'static str {
    match (s, zh) {
        (1, true) => "特别重大（I级）",
        (2, true) => "重大（II级）",
        (3, true) => "较大（III级）",
        (4, true) => "一般（IV级）",
        (1, false) => "Extremely serious (I)",
        (2, false) => "Serious (II)",
        (3, false) => "Major (III)",
        (4, false) => "General (IV)",
        (_, true) => "未分级",
        (_, false) => "Not graded",
    }
}

/// Response level label: 1 (highest) … 4; 0 = no response level.
pub fn level_label(l: i64, zh: bool) -> &'static str {
    match (l, zh) {
        (1, true) => "一级响应",
        (2, true) => "二级响应",
        (3, true) => "三级响应",
        (4, true) => "四级响应",
        (1, false) => "Level 1 response",
        (2, false) => "Level 2 response",
        (3, false) => "Level 3 response",
        (4, false) => "Level 4 response",
        (_, true) => "未启动响应",
        (_, false) => "No response level",
    }
}

/// Whether level `a` is more severe than `b` (1 is the highest; 0 means none).
pub fn level_higher(a: i64, b: i64) -> bool {
    a != 0 && (b == 0 || a < b)
}

/// A reported incident before validation.
#[derive(Debug, Clone, Default)]
pub struct IncidentInput {
    /// Short title.
    pub title: String,
    /// Category key.
    pub category: String,
    /// Sub-type key (must belong to the category).
    pub subtype: String,
    /// Severity 1–4 (I–IV); social-security incidents may be 0 (not graded).
    pub severity: i64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Radius of the affected area in metres (0 = a point).
    pub radius_m: i64,
    /// Description.
    pub description: String,
}

/// Whether a point lies in the Suzhou-region bounding box used for sanity checks (China-wide
/// is accepted: 73–136 E, 3–54 N).
pub fn in_china(lon: f64, lat: f64) -> bool {
    lon.is_finite() && lat.is_finite() && (73.0..=136.0).contains(&lon) && (3.0..=54.0).contains(&lat)
}

/// Validates a report; every problem is listed.
pub fn validate_incident(i: &IncidentInput) -> Result<(), Vec<FieldError>> {
    let mut e = Vec::new();
    let title = i.title.trim();
    if title.is_empty() || title.chars().count() > 120 {
        e.push(FieldError::new("title", "length", "标题须为 1–120 个字", "Title must be 1–120 characters"));
    }
    if !CATEGORIES.iter().any(|c| c.0 == i.category) {
        e.push(FieldError::new(
            "category",
            "category.unknown",
            "事件类别须为自然灾害、事故灾难、公共卫生事件或社会安全事件",
            "Category must be natural, accident, health or social",
        ));
    } else if !SUBTYPES.iter().any(|s| s.0 == i.category && s.1 == i.subtype) {
        e.push(FieldError::new(
            "subtype",
            "subtype.unknown",
            format!("子类型 {} 不属于所选类别", i.subtype),
            format!("Sub-type {} does not belong to the category", i.subtype),
        ));
    }
    let graded = i.category != "social";
    let ungraded_ok = i.severity == 0 && !graded;
    if !((1..=4).contains(&i.severity) || ungraded_ok) {
        e.push(FieldError::new(
            "severity",
            "severity.range",
            "事件分级须为 I–IV 级（社会安全事件可不分级）",
            "Severity must be I–IV (social-security incidents may be ungraded)",
        ));
    }
    if !in_china(i.lon, i.lat) {
        e.push(FieldError::new(
            "lon",
            "location",
            "请在地图上选择中国境内的位置",
            "Pick a location in China on the map",
        ));
    }
    if !(0..=50_000).contains(&i.radius_m) {
        e.push(FieldError::new("radius_m", "range", "影响半径须在 0–50000 米之间", "Radius must be 0–50,000 m"));
    }
    if i.description.chars().count() > 4000 {
        e.push(FieldError::new(
            "description",
            "length",
            "描述不超过 4000 字",
            "Description is at most 4,000 characters",
        ));
    }
    if e.is_empty() {
        Ok(())
    } else {
        Err(e)
    }
}

/// Great-circle distance in metres (mean-radius sphere, as the dispatch engine).
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().min(1.0).asin()
}

/// Two reports are possible duplicates when they share a category, lie within `DUP_RADIUS_M`
/// of each other and were reported within `DUP_WINDOW_MS`.
pub const DUP_RADIUS_M: f64 = 1_000.0;
/// Time window of duplicate suggestions.
pub const DUP_WINDOW_MS: i64 = 6 * 3600 * 1000;

/// Whether two reports look like the same event.
pub fn possible_duplicate(a: (&str, f64, f64, i64), b: (&str, f64, f64, i64)) -> bool {
    a.0 == b.0 && (a.3 - b.3).abs() <= DUP_WINDOW_MS && distance_m(a.1, a.2, b.1, b.2) <= DUP_RADIUS_M
}

/// State of one task slot held by a responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignState {
    /// Offered, waiting for an answer until the offer expires.
    Offered,
    /// Accepted.
    Accepted,
    /// Travelling.
    EnRoute,
    /// Arrived (checked in).
    OnScene,
    /// Finished (checked out).
    Done,
    /// Declined by the responder.
    Declined,
    /// The offer timed out.
    Expired,
    /// Withdrawn by an officer.
    Withdrawn,
}

impl AssignState {
    /// All states.
    pub const ALL: [AssignState; 8] = [
        AssignState::Offered,
        AssignState::Accepted,
        AssignState::EnRoute,
        AssignState::OnScene,
        AssignState::Done,
        AssignState::Declined,
        AssignState::Expired,
        AssignState::Withdrawn,
    ];

    /// Stored key.
    pub fn key(self) -> &'static str {
        match self {
            AssignState::Offered => "offered",
            AssignState::Accepted => "accepted",
            AssignState::EnRoute => "en_route",
            AssignState::OnScene => "on_scene",
            AssignState::Done => "done",
            AssignState::Declined => "declined",
            AssignState::Expired => "expired",
            AssignState::Withdrawn => "withdrawn",
        }
    }

    /// Parses a key.
    pub fn from_key(s: &str) -> Option<AssignState> {
        AssignState::ALL.into_iter().find(|x| x.key() == s)
    }

    /// Label.
    pub fn label(self, zh: bool) -> &'static str {
        let (z, e) = match self {
            AssignState::Offered => ("待接受", "Offered"),
            AssignState::Accepted => ("已接受", "Accepted"),
            AssignState::EnRoute => ("在途", "En route"),
            AssignState::OnScene => ("到场", "On scene"),
            AssignState::Done => ("完成", "Done"),
            AssignState::Declined => ("已拒绝", "Declined"),
            AssignState::Expired => ("已超时", "Timed out"),
            AssignState::Withdrawn => ("已撤回", "Withdrawn"),
        };
        if zh {
            z
        } else {
            e
        }
    }

    /// Whether the slot is held (counts against the task's head count and the responder).
    pub fn active(self) -> bool {
        matches!(self, AssignState::Offered | AssignState::Accepted | AssignState::EnRoute | AssignState::OnScene)
    }

    /// The states an assignment may move to from here.
    pub fn next(self) -> &'static [AssignState] {
        use AssignState::*;
        match self {
            Offered => &[Accepted, Declined, Expired, Withdrawn],
            Accepted => &[EnRoute, OnScene, Withdrawn],
            EnRoute => &[OnScene, Withdrawn],
            OnScene => &[Done, Withdrawn],
            Done | Declined | Expired | Withdrawn => &[],
        }
    }

    /// Checks a transition.
    pub fn check(self, to: AssignState) -> Result<(), Text> {
        if self.next().contains(&to) {
            Ok(())
        } else {
            Err(Text::new(
                format!("任务状态不能从“{}”变为“{}”", self.label(true), to.label(true)),
                format!("A task assignment cannot go from {} to {}", self.label(false), to.label(false)),
            ))
        }
    }
}

/// Check-in must be within this many metres of the task's place (plus the task's own geofence).
pub const GEOFENCE_SLACK_M: f64 = 50.0;

/// Checks a check-in position against the task's geofence; returns the distance in metres.
pub fn check_geofence(task: (f64, f64), fence_m: f64, at: (f64, f64)) -> Result<f64, Text> {
    if !in_china(at.0, at.1) {
        return Err(Text::new("定位无效，请开启手机定位后重试", "Invalid location; turn on location and try again"));
    }
    let d = distance_m(task.0, task.1, at.0, at.1);
    if d > fence_m + GEOFENCE_SLACK_M {
        return Err(Text::new(
            format!("您距任务地点约 {:.0} 米，超出签到范围（{:.0} 米）", d, fence_m),
            format!("You are about {:.0} m from the task place, outside the check-in area ({:.0} m)", d, fence_m),
        ));
    }
    Ok(d)
}

/// Service minutes between check-in and check-out (time on duty; travel is before check-in).
pub fn service_minutes(checkin_ms: i64, checkout_ms: i64) -> i64 {
    ((checkout_ms - checkin_ms).max(0) + 30_000) / 60_000
}

/// Task priority keys, lowest first, mapped to the dispatch engine's weights.
pub const PRIORITIES: [Term; 4] = [
    ("routine", "一般", "Routine"),
    ("elevated", "较急", "Elevated"),
    ("urgent", "紧急", "Urgent"),
    ("critical", "危急", "Critical"),
];

/// Mobilisation mode keys.
pub const MODES: [Term; 2] = [("standby", "待命", "Stand by"), ("deploy", "出动", "Deploy")];

/// A task before validation.
#[derive(Debug, Clone, Default)]
pub struct TaskInput {
    /// Title.
    pub title: String,
    /// Skill key ('' = any).
    pub skill: String,
    /// People needed.
    pub head_count: i64,
    /// Place.
    pub lon: f64,
    /// Place.
    pub lat: f64,
    /// Check-in radius in metres.
    pub geofence_m: i64,
    /// Priority key.
    pub priority: String,
    /// Start of the window (unix ms).
    pub starts_at: i64,
    /// End of the window (unix ms).
    pub ends_at: i64,
}

/// Largest head count of one task.
pub const MAX_HEAD_COUNT: i64 = 10_000;

/// Validates a task.
pub fn validate_task(t: &TaskInput, skills: &[&str]) -> Result<(), Vec<FieldError>> {
    let mut e = Vec::new();
    if t.title.trim().is_empty() || t.title.chars().count() > 120 {
        e.push(FieldError::new("title", "length", "任务名称须为 1–120 个字", "Task title must be 1–120 characters"));
    }
    if !(1..=MAX_HEAD_COUNT).contains(&t.head_count) {
        e.push(FieldError::new(
            "head_count",
            "range",
            format!("所需人数须在 1–{MAX_HEAD_COUNT} 之间（收到 {}）", t.head_count),
            format!("Head count must be 1–{MAX_HEAD_COUNT} (got {})", t.head_count),
        ));
    }
    if !t.skill.is_empty() && !skills.contains(&t.skill.as_str()) {
        e.push(FieldError::new(
            "skill",
            "skill.unknown",
            format!("未知技能 {}", t.skill),
            format!("Unknown skill {}", t.skill),
        ));
    }
    if !in_china(t.lon, t.lat) {
        e.push(FieldError::new("lon", "location", "请选择中国境内的任务地点", "Pick a task place in China"));
    }
    if !(20..=5_000).contains(&t.geofence_m) {
        e.push(FieldError::new(
            "geofence_m",
            "range",
            "签到范围须在 20–5000 米之间",
            "Check-in radius must be 20–5,000 m",
        ));
    }
    if !PRIORITIES.iter().any(|p| p.0 == t.priority) {
        e.push(FieldError::new("priority", "priority.unknown", "优先级无效", "Unknown priority"));
    }
    if t.ends_at <= t.starts_at {
        e.push(FieldError::new("ends_at", "window", "结束时间须晚于开始时间", "The end must be after the start"));
    }
    if e.is_empty() {
        Ok(())
    } else {
        Err(e)
    }
}

/// The 1-3-5-10 response-time rule.
pub mod kpi {
    /// One interval of the rule.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    pub struct Measure {
        /// Key: `dispatch`, `on_scene`, `first_action`, `reinforce`.
        pub key: &'static str,
        /// Target in minutes.
        pub target_min: i64,
        /// Milliseconds from the report, if it happened.
        pub took_ms: Option<i64>,
        /// Met (happened within the target).
        pub met: bool,
        /// Late: the target passed without it (or it happened after the target).
        pub late: bool,
    }

    /// Targets: (key, minutes, zh, en).
    pub const RULE: [(&str, i64, &str, &str); 4] = [
        ("dispatch", 1, "1 分钟内派出", "Dispatched within 1 min"),
        ("on_scene", 3, "3 分钟内到场", "On scene within 3 min"),
        ("first_action", 5, "5 分钟内首次处置", "First action within 5 min"),
        ("reinforce", 10, "10 分钟内增援出动", "Reinforcements within 10 min"),
    ];

    /// Measures an incident reported at `reported` with the first times of each step; `now`
    /// decides whether a missing step is already late.
    pub fn measure(reported: i64, firsts: [Option<i64>; 4], now: i64) -> Vec<Measure> {
        RULE.iter()
            .zip(firsts)
            .map(|(&(key, min, _, _), at)| {
                let limit = min * 60_000;
                let took = at.map(|t| (t - reported).max(0));
                let met = took.is_some_and(|d| d <= limit);
                let late = match took {
                    Some(d) => d > limit,
                    None => now - reported > limit,
                };
                Measure { key, target_min: min, took_ms: took, met, late }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc() -> IncidentInput {
        IncidentInput {
            title: "平江路河道落水".into(),
            category: "accident".into(),
            subtype: "drowning".into(),
            severity: 4,
            lon: 120.63,
            lat: 31.32,
            radius_m: 100,
            description: String::new(),
        }
    }

    #[test]
    fn incident_validation() {
        assert!(validate_incident(&inc()).is_ok());
        let bad = IncidentInput { subtype: "flood".into(), severity: 0, lon: 0.0, ..inc() };
        let e = validate_incident(&bad).unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["subtype", "severity", "lon"]);
        let social = IncidentInput { category: "social".into(), subtype: "crowd".into(), severity: 0, ..inc() };
        assert!(validate_incident(&social).is_ok());
    }

    #[test]
    fn levels() {
        assert!(level_higher(1, 2));
        assert!(level_higher(4, 0));
        assert!(!level_higher(0, 4));
        assert!(!level_higher(3, 2));
    }

    #[test]
    fn duplicates() {
        let a = ("accident", 120.63, 31.32, 0);
        assert!(possible_duplicate(a, ("accident", 120.635, 31.322, 3_600_000)));
        assert!(!possible_duplicate(a, ("natural", 120.63, 31.32, 0)));
        assert!(!possible_duplicate(a, ("accident", 120.70, 31.32, 0)));
        assert!(!possible_duplicate(a, ("accident", 120.63, 31.32, DUP_WINDOW_MS + 1)));
    }

    #[test]
    fn state_machine() {
        use AssignState::*;
        assert!(Offered.check(Accepted).is_ok());
        assert!(Accepted.check(Done).is_err());
        assert!(Expired.check(Accepted).is_err());
        assert!(Offered.active() && !Declined.active());
        for s in AssignState::ALL {
            assert_eq!(AssignState::from_key(s.key()), Some(s));
        }
    }

    #[test]
    fn geofence_and_hours() {
        let task = (120.63, 31.32);
        assert!(check_geofence(task, 200.0, (120.6301, 31.3201)).is_ok());
        let far = check_geofence(task, 200.0, (120.70, 31.32)).unwrap_err();
        assert!(far.zh.contains("超出签到范围"));
        assert_eq!(service_minutes(0, 90 * 60_000), 90);
        assert_eq!(service_minutes(10, 0), 0);
    }

    #[test]
    fn task_validation() {
        let t = TaskInput {
            title: "搜救".into(),
            skill: "first_aid".into(),
            head_count: 0,
            lon: 120.6,
            lat: 31.3,
            geofence_m: 200,
            priority: "urgent".into(),
            starts_at: 0,
            ends_at: 1,
        };
        let e = validate_task(&t, &["first_aid"]).unwrap_err();
        assert_eq!(e[0].field, "head_count");
        assert!(validate_task(&TaskInput { head_count: 3, ..t }, &["first_aid"]).is_ok());
    }

    #[test]
    fn one_three_five_ten() {
        let m = kpi::measure(0, [Some(30_000), Some(240_000), None, None], 280_000);
        assert!(m[0].met && !m[0].late);
        assert!(!m[1].met && m[1].late);
        assert!(!m[2].late, "5 min not yet passed at 280 s");
        assert!(!m[3].late);
        let m = kpi::measure(0, [None, None, None, None], 700_000);
        assert!(m.iter().all(|x| x.late));
    }
}
