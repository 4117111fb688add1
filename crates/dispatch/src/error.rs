//! Typed errors of the dispatch engine, with a Chinese and an English message each.
//!
//! Bad input never panics: every validation failure is one of these variants, and
//! `Display` prints the Chinese message first, then the English one.

use crate::model::{ResponderId, TaskId};

/// Everything the dispatch engine can refuse.
#[derive(Debug, Clone, PartialEq)]
pub enum DispatchError {
    /// A latitude or longitude is NaN, infinite or outside [-90, 90] / [-180, 180].
    InvalidCoordinate {
        /// Which record carries the coordinate, e.g. `task 7` or `responder 12`.
        what: String,
        /// The latitude given.
        lat: f64,
        /// The longitude given.
        lon: f64,
    },
    /// A task asks for zero people.
    ZeroHeadCount(TaskId),
    /// A task asks for more people than one task may ask for.
    HeadCountTooLarge {
        /// The task.
        task: TaskId,
        /// The head count given.
        head_count: u32,
    },
    /// A task's maximum travel distance is zero or larger than the allowed maximum.
    MaxDistanceOutOfRange {
        /// The task.
        task: TaskId,
        /// The distance given, in metres.
        max_distance_m: u32,
    },
    /// There is no responder at all to dispatch.
    EmptyResponderSet,
    /// K, the number of candidates per task, is zero.
    ZeroK,
    /// Two responders carry the same id.
    DuplicateResponderId(ResponderId),
    /// Two tasks carry the same id.
    DuplicateTaskId(TaskId),
    /// The index cannot hold more responders.
    TooManyResponders,
    /// The responder is not in the index.
    UnknownResponder(ResponderId),
    /// A skill number is outside the supported range.
    InvalidSkill(u16),
    /// An availability window ends before it starts.
    InvalidAvailability(ResponderId),
    /// A hand-built candidate graph is inconsistent.
    InvalidGraph(String),
    /// A DIMACS file could not be read.
    Dimacs {
        /// 1-based line number.
        line: usize,
        /// What is wrong there.
        detail: String,
    },
    /// The offer does not exist.
    UnknownOffer(u64),
    /// The offer was already accepted, declined, withdrawn or timed out.
    OfferClosed(u64),
    /// The task is not open in the claims book.
    UnknownTask(TaskId),
    /// The task is already open in the claims book.
    TaskAlreadyOpen(TaskId),
}

impl DispatchError {
    /// The message in simplified Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Self::InvalidCoordinate { what, lat, lon } => {
                format!("{what} 的坐标无效（纬度 {lat}，经度 {lon}）")
            }
            Self::ZeroHeadCount(t) => format!("任务 {} 的需求人数不能为 0", t.0),
            Self::HeadCountTooLarge { task, head_count } => {
                format!("任务 {} 的需求人数 {head_count} 超过上限 {}", task.0, crate::model::MAX_HEAD_COUNT)
            }
            Self::MaxDistanceOutOfRange { task, max_distance_m } => format!(
                "任务 {} 的最大出行距离 {max_distance_m} 米超出范围（1 至 {} 米）",
                task.0,
                crate::model::MAX_TRAVEL_M
            ),
            Self::EmptyResponderSet => "没有可调度的响应人员".to_string(),
            Self::ZeroK => "每个任务的候选人数 K 必须大于 0".to_string(),
            Self::DuplicateResponderId(r) => format!("响应人员编号 {} 重复", r.0),
            Self::DuplicateTaskId(t) => format!("任务编号 {} 重复", t.0),
            Self::TooManyResponders => format!("响应人员数量超过索引上限 {}", crate::index::MAX_RESPONDERS),
            Self::UnknownResponder(r) => format!("索引中没有响应人员 {}", r.0),
            Self::InvalidSkill(s) => format!("技能编号 {s} 超出范围（0 至 {}）", crate::model::MAX_SKILLS - 1),
            Self::InvalidAvailability(r) => {
                format!("响应人员 {} 的可用时段结束早于开始", r.0)
            }
            Self::InvalidGraph(d) => format!("候选图不一致：{d}"),
            Self::Dimacs { line, detail } => format!("DIMACS 文件第 {line} 行有误：{detail}"),
            Self::UnknownOffer(o) => format!("邀约 {o} 不存在"),
            Self::OfferClosed(o) => format!("邀约 {o} 已结束（已接受、已拒绝、已撤回或已超时）"),
            Self::UnknownTask(t) => format!("任务 {} 未在认领簿中开启", t.0),
            Self::TaskAlreadyOpen(t) => format!("任务 {} 已在认领簿中开启", t.0),
        }
    }

    /// The message in English.
    pub fn message_en(&self) -> String {
        match self {
            Self::InvalidCoordinate { what, lat, lon } => {
                format!("{what} has an invalid coordinate (lat {lat}, lon {lon})")
            }
            Self::ZeroHeadCount(t) => format!("task {} asks for zero people", t.0),
            Self::HeadCountTooLarge { task, head_count } => format!(
                "task {} asks for {head_count} people, more than the limit {}",
                task.0,
                crate::model::MAX_HEAD_COUNT
            ),
            Self::MaxDistanceOutOfRange { task, max_distance_m } => format!(
                "task {} has a maximum travel distance of {max_distance_m} m, outside 1..={} m",
                task.0,
                crate::model::MAX_TRAVEL_M
            ),
            Self::EmptyResponderSet => "there are no responders to dispatch".to_string(),
            Self::ZeroK => "K, the number of candidates per task, must be positive".to_string(),
            Self::DuplicateResponderId(r) => format!("responder id {} appears twice", r.0),
            Self::DuplicateTaskId(t) => format!("task id {} appears twice", t.0),
            Self::TooManyResponders => {
                format!("more responders than the index holds ({})", crate::index::MAX_RESPONDERS)
            }
            Self::UnknownResponder(r) => format!("responder {} is not in the index", r.0),
            Self::InvalidSkill(s) => format!("skill number {s} is out of range (0..={})", crate::model::MAX_SKILLS - 1),
            Self::InvalidAvailability(r) => {
                format!("responder {}'s availability window ends before it starts", r.0)
            }
            Self::InvalidGraph(d) => format!("inconsistent candidate graph: {d}"),
            Self::Dimacs { line, detail } => format!("DIMACS line {line}: {detail}"),
            Self::UnknownOffer(o) => format!("offer {o} does not exist"),
            Self::OfferClosed(o) => {
                format!("offer {o} is closed (accepted, declined, withdrawn or timed out)")
            }
            Self::UnknownTask(t) => format!("task {} is not open in the claims book", t.0),
            Self::TaskAlreadyOpen(t) => format!("task {} is already open in the claims book", t.0),
        }
    }
}

impl std::fmt::Display for DispatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.message_zh(), self.message_en())
    }
}

impl std::error::Error for DispatchError {}
