//! Input records of the dispatch engine: tasks, responders, skills, priorities.
//!
//! These are plain values; the engine validates them when they enter the index or a solve
//! and answers bad input with a typed [`DispatchError`], never a panic.

use crate::error::DispatchError;
use crate::geo::GeoPoint;
use serde::{Deserialize, Serialize};

/// Number of distinct skills a [`SkillSet`] can hold (skill numbers `0..MAX_SKILLS`).
pub const MAX_SKILLS: u16 = 64;
/// Largest head count one task may ask for.
pub const MAX_HEAD_COUNT: u32 = 10_000;
/// Largest allowed maximum travel distance of a task, in metres (a city-scale engine).
pub const MAX_TRAVEL_M: u32 = 200_000;
/// Penalty of one unfilled slot of weight 1, in cost units (metres). It is larger than any
/// travel cost ([`MAX_TRAVEL_M`]), so the solver fills a slot whenever it can.
pub const PENALTY_UNIT: i64 = 1_000_000;

/// Identifier of a task, chosen by the caller (e.g. the database key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub u64);

/// Identifier of a responder (volunteer or team member), chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResponderId(pub u64);

/// A set of skills or specialties, as a 64-bit bitset (skill numbers `0..64`).
///
/// The mapping from skill names (e.g. 急救, 水上救援) to numbers is the caller's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SkillSet(pub u64);

impl SkillSet {
    /// The empty set (a task that needs no particular skill).
    pub const EMPTY: SkillSet = SkillSet(0);

    /// Builds a set from skill numbers; a number `>= 64` is an error.
    pub fn from_skills(skills: &[u16]) -> Result<Self, DispatchError> {
        let mut bits = 0u64;
        for &s in skills {
            if s >= MAX_SKILLS {
                return Err(DispatchError::InvalidSkill(s));
            }
            bits |= 1 << s;
        }
        Ok(SkillSet(bits))
    }

    /// True when every skill of `required` is in `self`.
    #[inline]
    pub fn covers(self, required: SkillSet) -> bool {
        required.0 & !self.0 == 0
    }

    /// The skill numbers in ascending order.
    pub fn skills(self) -> Vec<u16> {
        (0..MAX_SKILLS).filter(|s| self.0 >> s & 1 == 1).collect()
    }
}

/// How urgent a task is; it weights the penalty of each slot left unfilled.
///
/// Weights grow tenfold per level, so one unfilled slot of a level costs more than nine of the
/// level below: the solver sacrifices routine slots before urgent ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    /// Routine work (weight 1).
    Routine,
    /// Elevated (weight 10).
    Elevated,
    /// Urgent (weight 100).
    Urgent,
    /// Life-critical (weight 1000).
    Critical,
}

impl Priority {
    /// Multiplier of [`PENALTY_UNIT`] for one unfilled slot.
    pub fn weight(self) -> i64 {
        match self {
            Priority::Routine => 1,
            Priority::Elevated => 10,
            Priority::Urgent => 100,
            Priority::Critical => 1000,
        }
    }

    /// Cost of leaving one slot of this priority unfilled.
    pub fn penalty(self) -> i64 {
        PENALTY_UNIT * self.weight()
    }
}

/// When a responder can work, in the caller's clock (e.g. unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Availability {
    /// Available now and for the foreseeable future.
    Now,
    /// Available from `from` to `until`, both inclusive.
    Window {
        /// Start of availability.
        from: i64,
        /// End of availability.
        until: i64,
    },
}

impl Availability {
    /// The window as an inclusive `(from, until)` pair.
    pub fn bounds(self) -> (i64, i64) {
        match self {
            Availability::Now => (i64::MIN, i64::MAX),
            Availability::Window { from, until } => (from, until),
        }
    }
}

/// A responder as the caller knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Responder {
    /// Caller's id; unique in an index.
    pub id: ResponderId,
    /// Current position.
    pub location: GeoPoint,
    /// Skills and specialties held.
    pub skills: SkillSet,
    /// Whether the responder's accident insurance is valid.
    pub insured: bool,
    /// When the responder can work.
    pub availability: Availability,
    /// Already holds a task (then never a candidate until released).
    pub busy: bool,
}

/// A task that needs people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Caller's id; unique within one solve.
    pub id: TaskId,
    /// Where the people are needed.
    pub location: GeoPoint,
    /// How many people (slots), `1..=MAX_HEAD_COUNT`.
    pub head_count: u32,
    /// Skills every assigned responder must have.
    pub required_skills: SkillSet,
    /// Only insured responders may take it.
    pub insurance_required: bool,
    /// Weight of each unfilled slot.
    pub priority: Priority,
    /// Furthest a responder may travel (great-circle metres), `1..=MAX_TRAVEL_M`.
    pub max_distance_m: u32,
    /// When the task starts, in the same clock as [`Availability`]; a responder is available
    /// for it when this instant lies in the responder's window.
    pub start_at: i64,
}

impl Task {
    /// Checks the task's own fields.
    pub fn validate(&self) -> Result<(), DispatchError> {
        self.location.validate(|| format!("任务/task {}", self.id.0))?;
        if self.head_count == 0 {
            return Err(DispatchError::ZeroHeadCount(self.id));
        }
        if self.head_count > MAX_HEAD_COUNT {
            return Err(DispatchError::HeadCountTooLarge { task: self.id, head_count: self.head_count });
        }
        if self.max_distance_m == 0 || self.max_distance_m > MAX_TRAVEL_M {
            return Err(DispatchError::MaxDistanceOutOfRange { task: self.id, max_distance_m: self.max_distance_m });
        }
        Ok(())
    }

    /// Cost of leaving one of this task's slots unfilled.
    pub fn penalty(&self) -> i64 {
        self.priority.penalty()
    }
}

impl Responder {
    /// Checks the responder's own fields.
    pub fn validate(&self) -> Result<(), DispatchError> {
        self.location.validate(|| format!("响应人员/responder {}", self.id.0))?;
        let (from, until) = self.availability.bounds();
        if from > until {
            return Err(DispatchError::InvalidAvailability(self.id));
        }
        Ok(())
    }
}
