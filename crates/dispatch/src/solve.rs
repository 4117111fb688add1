//! Exact min-cost-flow solver for the candidate graph (successive shortest paths).
//!
//! The network of [`crate::graph`] is a transportation problem with unit-capacity responders.
//! Each task of head count d is split into d identical slot rows; each row must take one
//! column: a candidate responder (cost = metres) or one of the task's d private "unfilled"
//! columns (cost = penalty). This is a rectangular assignment problem that always has a
//! complete row assignment, solved by the shortest-augmenting-path method (Jonker–Volgenant /
//! Hungarian family, as in Crouse 2016 for rectangular problems): rows are added one at a time,
//! each along a shortest alternating path found by Dijkstra on reduced costs, with column
//! potentials updated after each path so that reduced costs stay non-negative. Every partial
//! assignment is optimal for the rows added so far, so the final one is the exact optimum.
//!
//! Why our own code: the graph is sparse (K+1 arcs per slot), almost every row finds a free
//! responder at its first scan (a heap-free fast path), and contention is local, so each
//! Dijkstra touches only a small neighbourhood and stops at the first free column. General
//! min-cost-flow crates solve the generic network and are much slower here (see the bench).
//!
//! Two facts keep the unfilled columns cheap: a free unfilled column of a task always has
//! potential 0 (columns are never freed again once taken, and only scanned columns change
//! potential), so all of a task's free unfilled columns are one virtual column; and an already
//! taken unfilled column of task t only leads to another row of t with the same arcs and the
//! same base distance, so it can never shorten a path and is skipped.
//!
//! Ties are broken deterministically: rows are added in order of priority then input order, and
//! Dijkstra pops by (distance, column number).

use crate::graph::{CandidateGraph, Shortfall};
use crate::model::{ResponderId, TaskId};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const NONE: u32 = u32::MAX;

/// One responder assigned to one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AssignedPair {
    /// The task.
    pub task: TaskId,
    /// The responder.
    pub responder: ResponderId,
    /// Travel distance, great-circle metres.
    pub distance_m: u32,
}

/// Why slots of a task stayed unfilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnfilledReason {
    /// Not enough eligible responders were found for it at all.
    Shortfall {
        /// Details from the search.
        detail: Shortfall,
    },
    /// Candidates existed, but the optimum gives them to other tasks (more urgent ones, or a
    /// combination with fewer unfilled slots or less total travel).
    Contended,
}

impl UnfilledReason {
    /// Chinese explanation.
    pub fn message_zh(&self) -> String {
        match self {
            UnfilledReason::Shortfall { detail } => detail.message_zh(),
            UnfilledReason::Contended => "候选人员已被分配给更紧急或整体更优的任务".into(),
        }
    }

    /// English explanation.
    pub fn message_en(&self) -> String {
        match self {
            UnfilledReason::Shortfall { detail } => detail.message_en(),
            UnfilledReason::Contended => {
                "its candidates went to more urgent tasks or to a better overall plan".into()
            }
        }
    }
}

/// A task with slots left unfilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UnfilledTask {
    /// The task.
    pub task: TaskId,
    /// Number of slots left unfilled.
    pub missing: u32,
    /// Why.
    pub reason: UnfilledReason,
}

/// The optimal dispatch plan for a candidate graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Filled slots, grouped by task in input order, nearest responder first.
    pub pairs: Vec<AssignedPair>,
    /// Tasks with unfilled slots, in input order.
    pub unfilled: Vec<UnfilledTask>,
    /// Total slots asked for.
    pub slots: u64,
    /// Slots filled.
    pub filled: u64,
    /// Total travel of the filled slots, metres.
    pub travel_m: u64,
    /// Total penalty of the unfilled slots.
    pub penalty: i64,
    /// Objective: `travel_m + penalty`, the minimum cost of the flow network.
    pub cost: i64,
    /// `pairs[task_offsets[t]..task_offsets[t + 1]]` belong to task `t`.
    #[serde(skip)]
    pub task_offsets: Vec<u32>,
}

impl Assignment {
    /// The offer order for task `t`: its assigned responders first, then its other candidates,
    /// each group nearest first. Feed this to [`crate::claims::Claims::open_task`].
    pub fn ranked_for(&self, graph: &CandidateGraph, t: usize) -> Vec<(ResponderId, u32)> {
        let mine = &self.pairs[self.task_offsets[t] as usize..self.task_offsets[t + 1] as usize];
        let mut out: Vec<(ResponderId, u32)> =
            mine.iter().map(|p| (p.responder, p.distance_m)).collect();
        out.extend(
            graph
                .candidates_of(t)
                .into_iter()
                .filter(|(r, _)| !mine.iter().any(|p| p.responder == *r)),
        );
        out
    }
}

/// Solver state: slot rows, responder columns and their potentials.
struct Solver<'g> {
    g: &'g CandidateGraph,
    m: usize,
    row_task: Vec<u32>,
    row_col: Vec<u32>,
    row_cost: Vec<i64>,
    col_row: Vec<u32>,
    /// Potentials of real columns (all free unfilled columns have potential 0).
    v: Vec<i64>,
    /// Unfilled columns taken per task.
    dummies: Vec<u32>,
    dist: Vec<i64>,
    pred: Vec<u32>,
    pred_cost: Vec<i64>,
    seen: Vec<u32>,
    done: Vec<u32>,
    stamp: u32,
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    scanned: Vec<u32>,
}

impl<'g> Solver<'g> {
    fn new(g: &'g CandidateGraph) -> Self {
        let m = g.responder_count();
        let t = g.task_count();
        let slots = g.slot_count() as usize;
        let mut row_task = Vec::with_capacity(slots);
        for (i, &h) in g.head.iter().enumerate() {
            row_task.extend(std::iter::repeat_n(i as u32, h as usize));
        }
        let ncols = m + t; // real columns, then one virtual unfilled column per task
        Solver {
            g,
            m,
            row_task,
            row_col: vec![NONE; slots],
            row_cost: vec![0; slots],
            col_row: vec![NONE; m],
            v: vec![0; m],
            dummies: vec![0; t],
            dist: vec![0; ncols],
            pred: vec![NONE; ncols],
            pred_cost: vec![0; ncols],
            seen: vec![0; ncols],
            done: vec![0; ncols],
            stamp: 0,
            heap: BinaryHeap::new(),
            scanned: Vec::new(),
        }
    }

    #[inline]
    fn relax(&mut self, r: u32, base: i64) {
        let t = self.row_task[r as usize] as usize;
        let g = self.g;
        let (a, b) = (g.offsets[t] as usize, g.offsets[t + 1] as usize);
        for e in a..b {
            let c = g.cols[e] as usize;
            if self.done[c] == self.stamp {
                continue;
            }
            let cost = g.costs[e] as i64;
            let nd = base + cost - self.v[c];
            if self.seen[c] != self.stamp || nd < self.dist[c] {
                self.seen[c] = self.stamp;
                self.dist[c] = nd;
                self.pred[c] = r;
                self.pred_cost[c] = cost;
                self.heap.push(Reverse((nd, c as u32)));
            }
        }
        let c = self.m + t;
        let cost = g.penalty[t];
        let nd = base + cost;
        if self.seen[c] != self.stamp || nd < self.dist[c] {
            self.seen[c] = self.stamp;
            self.dist[c] = nd;
            self.pred[c] = r;
            self.pred_cost[c] = cost;
            self.heap.push(Reverse((nd, c as u32)));
        }
    }

    /// Column that the first Dijkstra step would pop for a fresh row, if it is free.
    #[inline]
    fn first_free(&self, r: u32) -> Option<(u32, i64)> {
        let t = self.row_task[r as usize] as usize;
        let g = self.g;
        let mut best = (g.penalty[t], (self.m + t) as u32, g.penalty[t]);
        for e in g.offsets[t] as usize..g.offsets[t + 1] as usize {
            let c = g.cols[e];
            let cost = g.costs[e] as i64;
            let nd = cost - self.v[c as usize];
            if (nd, c) < (best.0, best.1) {
                best = (nd, c, cost);
            }
        }
        let (_, c, cost) = best;
        if c as usize >= self.m || self.col_row[c as usize] == NONE {
            Some((c, cost))
        } else {
            None
        }
    }

    fn assign(&mut self, r: u32, c: u32, cost: i64) {
        self.row_col[r as usize] = c;
        self.row_cost[r as usize] = cost;
        if (c as usize) < self.m {
            self.col_row[c as usize] = r;
        } else {
            self.dummies[c as usize - self.m] += 1;
        }
    }

    fn add_row(&mut self, r0: u32) {
        if let Some((c, cost)) = self.first_free(r0) {
            self.assign(r0, c, cost);
            return;
        }
        self.stamp += 1;
        self.heap.clear();
        self.scanned.clear();
        self.relax(r0, 0);
        let (sink, dmin) = loop {
            let Reverse((d, c)) = self
                .heap
                .pop()
                .expect("an unfilled column is always reachable");
            let cu = c as usize;
            if self.done[cu] == self.stamp || d > self.dist[cu] {
                continue;
            }
            if cu >= self.m || self.col_row[cu] == NONE {
                break (c, d);
            }
            self.done[cu] = self.stamp;
            self.scanned.push(c);
            let r = self.col_row[cu];
            // The row's own arc is tight: u_r = row_cost - v_c.
            let base = d - (self.row_cost[r as usize] - self.v[cu]);
            self.relax(r, base);
        };
        for &c in &self.scanned {
            self.v[c as usize] += self.dist[c as usize] - dmin;
        }
        let mut c = sink;
        loop {
            let r = self.pred[c as usize];
            let cost = self.pred_cost[c as usize];
            let old = self.row_col[r as usize];
            self.assign(r, c, cost);
            if r == r0 {
                break;
            }
            c = old;
        }
    }
}

/// Solves the dispatch min-cost flow on `graph` exactly.
pub fn solve(graph: &CandidateGraph) -> Assignment {
    let mut s = Solver::new(graph);
    let t = graph.task_count();
    // Urgent tasks first: any order is exact, this one is deterministic and scans less.
    let mut order: Vec<u32> = (0..t as u32).collect();
    order.sort_by_key(|&i| (Reverse(graph.penalty[i as usize]), i));
    let mut row_start = Vec::with_capacity(t + 1);
    row_start.push(0u32);
    for &h in &graph.head {
        row_start.push(row_start.last().copied().unwrap_or(0) + h);
    }
    for &ti in &order {
        for r in row_start[ti as usize]..row_start[ti as usize + 1] {
            s.add_row(r);
        }
    }
    collect(graph, &s, &row_start)
}

fn collect(g: &CandidateGraph, s: &Solver<'_>, row_start: &[u32]) -> Assignment {
    let mut pairs = Vec::new();
    let mut task_offsets = Vec::with_capacity(g.task_count() + 1);
    let mut unfilled = Vec::new();
    let (mut travel, mut penalty, mut filled) = (0u64, 0i64, 0u64);
    task_offsets.push(0);
    for t in 0..g.task_count() {
        let start = pairs.len();
        for r in row_start[t]..row_start[t + 1] {
            let c = s.row_col[r as usize] as usize;
            if c < s.m {
                let m = s.row_cost[r as usize] as u32;
                pairs.push(AssignedPair {
                    task: g.task_ids[t],
                    responder: g.responder_ids[c],
                    distance_m: m,
                });
                travel += m as u64;
                filled += 1;
            }
        }
        pairs[start..].sort_by_key(|p| (p.distance_m, p.responder));
        task_offsets.push(pairs.len() as u32);
        let missing = s.dummies[t];
        if missing > 0 {
            penalty += missing as i64 * g.penalty[t];
            unfilled.push(UnfilledTask {
                task: g.task_ids[t],
                missing,
                reason: match g.shortfall_of(t) {
                    Some(detail) => UnfilledReason::Shortfall { detail },
                    None if (g.offsets[t + 1] - g.offsets[t]) < g.head[t] => {
                        UnfilledReason::Shortfall {
                            detail: Shortfall::TooFewEligible {
                                eligible: g.offsets[t + 1] - g.offsets[t],
                            },
                        }
                    }
                    None => UnfilledReason::Contended,
                },
            });
        }
    }
    Assignment {
        pairs,
        unfilled,
        slots: g.slot_count(),
        filled,
        travel_m: travel,
        penalty,
        cost: travel as i64 + penalty,
        task_offsets,
    }
}
