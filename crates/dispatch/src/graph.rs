//! The candidate graph that the exact solver works on, and its DIMACS min-cost-flow form.
//!
//! Flow network (one unit of flow = one person on one task):
//! source → task (capacity = head count, cost 0); task → candidate responder (capacity 1, cost =
//! great-circle metres); responder → sink (capacity 1, cost 0); task → sink "unfilled"
//! (capacity = head count, cost = the task's penalty per slot, larger than any travel cost).
//! The source supplies the total number of slots and the sink absorbs them, so a feasible flow
//! always exists and its minimum cost is the dispatch optimum.

use crate::error::DispatchError;
use crate::model::{ResponderId, TaskId, MAX_HEAD_COUNT};
use serde::Serialize;
use std::fmt::Write as _;

/// Why a task has fewer eligible candidates than people needed (found while searching).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shortfall {
    /// No free responder at all lies within the task's maximum distance.
    NoResponderInRange,
    /// Free responders are in range, but none has the skills, insurance and availability.
    NoneEligibleInRange,
    /// Fewer eligible responders in range than the head count.
    TooFewEligible {
        /// How many were found.
        eligible: u32,
    },
}

impl Shortfall {
    /// Chinese explanation for a dispatcher.
    pub fn message_zh(&self) -> String {
        match self {
            Shortfall::NoResponderInRange => "最大出行距离内没有空闲的响应人员".into(),
            Shortfall::NoneEligibleInRange => "距离内有响应人员，但技能、保险或可用时间均不符合".into(),
            Shortfall::TooFewEligible { eligible } => {
                format!("距离内符合条件的响应人员只有 {eligible} 名，少于需求人数")
            }
        }
    }

    /// English explanation for a dispatcher.
    pub fn message_en(&self) -> String {
        match self {
            Shortfall::NoResponderInRange => "no free responder within the maximum travel distance".into(),
            Shortfall::NoneEligibleInRange => {
                "responders are in range but none has the skills, insurance and availability".into()
            }
            Shortfall::TooFewEligible { eligible } => {
                format!("only {eligible} eligible responders in range, fewer than needed")
            }
        }
    }
}

/// One hand-built task for [`CandidateGraph::from_parts`]: id, head count, penalty per
/// unfilled slot, and `(responder column, cost metres)` edges.
pub type TaskEdges = (TaskId, u32, i64, Vec<(u32, u32)>);

/// Tasks, their candidate responders with travel costs, head counts and penalties (CSR form).
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateGraph {
    pub(crate) task_ids: Vec<TaskId>,
    pub(crate) head: Vec<u32>,
    pub(crate) penalty: Vec<i64>,
    pub(crate) offsets: Vec<u32>,
    pub(crate) cols: Vec<u32>,
    pub(crate) costs: Vec<u32>,
    pub(crate) responder_ids: Vec<ResponderId>,
    pub(crate) shortfalls: Vec<(usize, Shortfall)>,
}

impl CandidateGraph {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_unchecked(
        task_ids: Vec<TaskId>,
        head: Vec<u32>,
        penalty: Vec<i64>,
        offsets: Vec<u32>,
        cols: Vec<u32>,
        costs: Vec<u32>,
        responder_ids: Vec<ResponderId>,
        shortfalls: Vec<(usize, Shortfall)>,
    ) -> Self {
        CandidateGraph { task_ids, head, penalty, offsets, cols, costs, responder_ids, shortfalls }
    }

    /// Builds a graph by hand (tests, other callers). `tasks[i] = (id, head count, penalty per
    /// unfilled slot, [(responder column, cost metres)])`; columns index `responders`.
    /// The penalty must exceed every travel cost of the task, and each column may appear
    /// once per task.
    pub fn from_parts(tasks: Vec<TaskEdges>, responders: Vec<ResponderId>) -> Result<Self, DispatchError> {
        let mut seen_r = std::collections::HashSet::new();
        for r in &responders {
            if !seen_r.insert(*r) {
                return Err(DispatchError::DuplicateResponderId(*r));
            }
        }
        let mut seen_t = std::collections::HashSet::new();
        let mut g = CandidateGraph::new_unchecked(vec![], vec![], vec![], vec![0], vec![], vec![], responders, vec![]);
        for (id, head, penalty, mut edges) in tasks {
            if !seen_t.insert(id) {
                return Err(DispatchError::DuplicateTaskId(id));
            }
            if head == 0 {
                return Err(DispatchError::ZeroHeadCount(id));
            }
            if head > MAX_HEAD_COUNT {
                return Err(DispatchError::HeadCountTooLarge { task: id, head_count: head });
            }
            edges.sort_unstable_by_key(|&(c, m)| (m, c));
            let mut cols_seen = std::collections::HashSet::new();
            for &(c, m) in &edges {
                if c as usize >= g.responder_ids.len() {
                    return Err(DispatchError::InvalidGraph(format!(
                        "task {} names responder column {c} of {}",
                        id.0,
                        g.responder_ids.len()
                    )));
                }
                if !cols_seen.insert(c) {
                    return Err(DispatchError::InvalidGraph(format!("task {} lists responder column {c} twice", id.0)));
                }
                if m as i64 >= penalty {
                    return Err(DispatchError::InvalidGraph(format!(
                        "task {}: penalty {penalty} is not above travel cost {m}",
                        id.0
                    )));
                }
            }
            g.task_ids.push(id);
            g.head.push(head);
            g.penalty.push(penalty);
            g.cols.extend(edges.iter().map(|e| e.0));
            g.costs.extend(edges.iter().map(|e| e.1));
            g.offsets.push(g.cols.len() as u32);
        }
        Ok(g)
    }

    /// Number of tasks.
    pub fn task_count(&self) -> usize {
        self.task_ids.len()
    }

    /// Number of distinct responders that appear as candidates.
    pub fn responder_count(&self) -> usize {
        self.responder_ids.len()
    }

    /// Number of task → responder edges.
    pub fn edge_count(&self) -> usize {
        self.cols.len()
    }

    /// Total number of slots (sum of head counts).
    pub fn slot_count(&self) -> u64 {
        self.head.iter().map(|&h| h as u64).sum()
    }

    /// Task id at position `t`.
    pub fn task_id(&self, t: usize) -> TaskId {
        self.task_ids[t]
    }

    /// Candidates of task `t` as `(responder, metres)`, nearest first.
    pub fn candidates_of(&self, t: usize) -> Vec<(ResponderId, u32)> {
        let (a, b) = (self.offsets[t] as usize, self.offsets[t + 1] as usize);
        (a..b).map(|e| (self.responder_ids[self.cols[e] as usize], self.costs[e])).collect()
    }

    /// The search's explanation for a task with fewer eligible candidates than needed.
    pub fn shortfall_of(&self, t: usize) -> Option<Shortfall> {
        // Sorted by task position: the search emits them in task order.
        self.shortfalls.binary_search_by_key(&t, |&(i, _)| i).ok().map(|i| self.shortfalls[i].1)
    }

    /// Writes exactly this flow network in DIMACS min-cost-flow format. Nodes: 1 = source,
    /// 2..=T+1 = tasks in order, then responders by column, then the sink.
    pub fn to_dimacs(&self) -> String {
        let t = self.task_count();
        let m = self.responder_count();
        let n = t + m + 2;
        let sink = n;
        let slots = self.slot_count();
        let arcs = 2 * t + self.edge_count() + m;
        let mut s = String::with_capacity(arcs * 24 + 256);
        let _ = writeln!(
            s,
            "c tongxin dispatch: {t} tasks, {m} responders, {slots} slots\n\
             c nodes: 1 source, 2..={} tasks, {}..={} responders, {sink} sink",
            t + 1,
            t + 2,
            t + 1 + m
        );
        let _ = writeln!(s, "p min {n} {arcs}");
        let _ = writeln!(s, "n 1 {slots}");
        let _ = writeln!(s, "n {sink} -{slots}");
        for i in 0..t {
            let _ = writeln!(s, "a 1 {} 0 {} 0", i + 2, self.head[i]);
        }
        for i in 0..t {
            for e in self.offsets[i] as usize..self.offsets[i + 1] as usize {
                let _ = writeln!(s, "a {} {} 0 1 {}", i + 2, t + 2 + self.cols[e] as usize, self.costs[e]);
            }
            let _ = writeln!(s, "a {} {sink} 0 {} {}", i + 2, self.head[i], self.penalty[i]);
        }
        for j in 0..m {
            let _ = writeln!(s, "a {} {sink} 0 1 0", t + 2 + j);
        }
        s
    }
}

/// A min-cost-flow problem as read from a DIMACS file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimacsProblem {
    /// Number of nodes (numbered `1..=nodes`).
    pub nodes: usize,
    /// `(node, supply)`; demands are negative.
    pub supplies: Vec<(usize, i64)>,
    /// `(from, to, lower, capacity, cost)`.
    pub arcs: Vec<(usize, usize, i64, i64, i64)>,
}

/// Reads a DIMACS min-cost-flow file (`c`, `p min`, `n`, `a` lines).
pub fn parse_dimacs(text: &str) -> Result<DimacsProblem, DispatchError> {
    let mut p = DimacsProblem { nodes: 0, supplies: vec![], arcs: vec![] };
    let mut seen_p = false;
    for (i, line) in text.lines().enumerate() {
        let err = |d: &str| DispatchError::Dimacs { line: i + 1, detail: d.to_string() };
        let mut f = line.split_whitespace();
        let num = |x: Option<&str>| -> Result<i64, DispatchError> {
            x.ok_or_else(|| err("missing field"))?.parse::<i64>().map_err(|_| err("not an integer"))
        };
        match f.next() {
            None | Some("c") => {}
            Some("p") => {
                if f.next() != Some("min") {
                    return Err(err("expected `p min`"));
                }
                let n = num(f.next())?;
                num(f.next())?;
                if n < 0 {
                    return Err(err("negative node count"));
                }
                p.nodes = n as usize;
                seen_p = true;
            }
            Some(kind @ ("n" | "a")) => {
                if !seen_p {
                    return Err(err("line before the `p` line"));
                }
                let node = |v: i64| {
                    if v < 1 || v as usize > p.nodes {
                        Err(err("node out of range"))
                    } else {
                        Ok(v as usize)
                    }
                };
                if kind == "n" {
                    let v = node(num(f.next())?)?;
                    p.supplies.push((v, num(f.next())?));
                } else {
                    let u = node(num(f.next())?)?;
                    let v = node(num(f.next())?)?;
                    let (lo, cap, cost) = (num(f.next())?, num(f.next())?, num(f.next())?);
                    if lo < 0 || cap < lo {
                        return Err(err("bad bounds"));
                    }
                    p.arcs.push((u, v, lo, cap, cost));
                }
            }
            Some(_) => return Err(err("unknown line kind")),
        }
    }
    if !seen_p {
        return Err(DispatchError::Dimacs { line: 0, detail: "no `p min` line".into() });
    }
    Ok(p)
}
