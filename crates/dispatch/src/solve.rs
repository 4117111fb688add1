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
//! responder at its first scan (a heap-free fast path), and where contention is local each
//! Dijkstra touches only a small neighbourhood and stops at the first free column. General
//! min-cost-flow codes solve the generic network and are much slower here (OR-Tools: about
//! 100× on the 10,000-task bench).
//!
//! When the market is saturated, every slot added re-explores a large tight region. Past a work
//! budget the solve switches to [`solve_saturated`]. The ε-scaling auction of
//! [`crate::auction`] on unscaled integer weights, stopped at a small ε (16 metres), gives
//! prices within ε of optimal duals and a matching that is mostly optimal under them. Exact
//! shortest paths on the residual network then finish from those prices (a pseudoflow start):
//!
//! 1. A row keeps its match if that is exactly its cheapest arc under the prices (including its
//!    unfilled column); the other rows are taken out.
//! 2. Each free column's price drops as far as the kept rows allow. A free column that keeps a
//!    price is a node with a deficit of one unit: its arc to the sink carries a unit that no row
//!    sends yet, which keeps every reduced cost non-negative.
//! 3. Each row taken out is placed along a shortest path (Dijkstra on reduced costs, as above)
//!    to the nearest free column, priced or not, or to its unfilled column. The paths are short
//!    because the prices are nearly right.
//! 4. Each column still priced receives one unit from the sink along a shortest path searched
//!    backwards from it. The path leaves the sink by freeing an assigned column (cost: its
//!    price) or by taking a row off its unfilled column, and then moves rows one column on each.
//!
//! Each step is a shortest-path augmentation followed by a potential update, so reduced costs
//! stay non-negative. At the end no priced free column is left, and plan and potentials meet the
//! optimality conditions exactly. The plan is returned only if it passes the LP-duality
//! certificate (`Solver::certify`), in release builds too. If it does not, or the finish runs
//! over a work budget, the exact auction with weights scaled by slots + 1 runs instead. On the
//! 100 000-task bench this replaces 24 scaled auction phases by 13 unscaled ones and a finish
//! that scans a few hundred thousand columns.
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

pub(crate) const NONE: u32 = u32::MAX;

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
            UnfilledReason::Contended => "its candidates went to more urgent tasks or to a better overall plan".into(),
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

/// Which exact method produced a plan (all give the same optimal cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SolveMethod {
    /// Shortest augmenting paths only.
    ShortestPaths,
    /// The ε-scaling auction (chosen when shortest paths met a saturated market).
    Auction,
    /// The auction on unscaled weights to near-optimal prices, finished exactly by shortest
    /// augmenting paths from those prices (the saturated-market path of [`solve`]).
    AuctionThenPaths,
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
    /// The exact method that produced it.
    pub method: SolveMethod,
    /// `pairs[task_offsets[t]..task_offsets[t + 1]]` belong to task `t`.
    #[serde(skip)]
    pub task_offsets: Vec<u32>,
}

impl Assignment {
    /// The offer order for task `t`: its assigned responders first, then its other candidates,
    /// each group nearest first. Feed this to [`crate::claims::Claims::open_task`].
    pub fn ranked_for(&self, graph: &CandidateGraph, t: usize) -> Vec<(ResponderId, u32)> {
        let mine = &self.pairs[self.task_offsets[t] as usize..self.task_offsets[t + 1] as usize];
        let mut out: Vec<(ResponderId, u32)> = mine.iter().map(|p| (p.responder, p.distance_m)).collect();
        out.extend(graph.candidates_of(t).into_iter().filter(|(r, _)| !mine.iter().any(|p| p.responder == *r)));
        out
    }
}

/// Per-column state, packed so that one relaxation touches one cache line (32 bytes: two to
/// a line, none straddling two).
#[derive(Debug, Clone, Copy)]
struct Col {
    /// Potential (0 while free; only falls once assigned).
    v: i64,
    /// Tentative distance in the current search (valid when `seen == stamp`).
    dist: i64,
    seen: u32,
    done: u32,
    /// Row that reached this column (column, in a backward search). The arc's cost is looked
    /// up again on the path only ([`Solver::arc_cost`]).
    pred: u32,
    /// Assigned row, or `NONE`.
    row: u32,
}

const _: () = assert!(std::mem::size_of::<Col>() == 32);

/// The best free column (terminal) found so far in a search.
#[derive(Debug, Clone, Copy)]
struct Terminal {
    dist: i64,
    col: u32,
    pred: u32,
    cost: i64,
}

/// Solver state: slot rows, responder columns and their potentials.
struct Solver<'g> {
    g: &'g CandidateGraph,
    m: usize,
    row_task: Vec<u32>,
    row_col: Vec<u32>,
    row_cost: Vec<i64>,
    cols: Vec<Col>,
    stamp: u32,
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    scanned: Vec<u32>,
}

impl<'g> Solver<'g> {
    fn new(g: &'g CandidateGraph) -> Self {
        let m = g.responder_count();
        let slots = g.slot_count() as usize;
        let mut row_task = Vec::with_capacity(slots);
        for (i, &h) in g.head.iter().enumerate() {
            row_task.extend(std::iter::repeat_n(i as u32, h as usize));
        }
        let col = Col { v: 0, dist: 0, seen: 0, done: 0, pred: NONE, row: NONE };
        Solver {
            g,
            m,
            row_task,
            row_col: vec![NONE; slots],
            row_cost: vec![0; slots],
            cols: vec![col; m],
            stamp: 0,
            heap: BinaryHeap::new(),
            scanned: Vec::new(),
        }
    }

    /// Relaxes the arcs of row `r` reached at distance `base`. Free columns and the task's
    /// unfilled column are terminals: they only update `best`. An assigned column whose
    /// distance is not below the best terminal can never be scanned before the search ends,
    /// so it is not queued at all (exact, and it keeps the heap small).
    #[inline]
    fn relax(&mut self, r: u32, base: i64, best: &mut Terminal) {
        let t = self.row_task[r as usize] as usize;
        let g = self.g;
        let stamp = self.stamp;
        for e in g.offsets[t] as usize..g.offsets[t + 1] as usize {
            let c = g.cols[e];
            let col = &mut self.cols[c as usize];
            if col.done == stamp {
                continue;
            }
            let cost = g.costs[e];
            let nd = base + cost as i64 - col.v;
            if (nd, c) >= (best.dist, best.col) {
                continue;
            }
            if col.row == NONE {
                *best = Terminal { dist: nd, col: c, pred: r, cost: cost as i64 };
            } else if col.seen != stamp || nd < col.dist {
                col.seen = stamp;
                col.dist = nd;
                col.pred = r;
                self.heap.push(Reverse((nd, c)));
            }
        }
        let nd = base + g.penalty[t];
        let c = (self.m + t) as u32;
        if (nd, c) < (best.dist, best.col) {
            *best = Terminal { dist: nd, col: c, pred: r, cost: g.penalty[t] };
        }
    }

    /// The column a fresh row would take at once, if its cheapest column is free.
    #[inline]
    fn first_free(&self, r: u32) -> Option<(u32, i64)> {
        let t = self.row_task[r as usize] as usize;
        let g = self.g;
        let mut best = (g.penalty[t], (self.m + t) as u32, g.penalty[t]);
        for e in g.offsets[t] as usize..g.offsets[t + 1] as usize {
            let c = g.cols[e];
            let cost = g.costs[e] as i64;
            let nd = cost - self.cols[c as usize].v;
            if (nd, c) < (best.0, best.1) {
                best = (nd, c, cost);
            }
        }
        let (_, c, cost) = best;
        if c as usize >= self.m || self.cols[c as usize].row == NONE {
            Some((c, cost))
        } else {
            None
        }
    }

    #[inline]
    fn assign(&mut self, r: u32, c: u32, cost: i64) {
        self.row_col[r as usize] = c;
        self.row_cost[r as usize] = cost;
        if (c as usize) < self.m {
            self.cols[c as usize].row = r;
        }
    }

    /// Adds row `r0` along a shortest augmenting path (Dijkstra on reduced costs); returns the
    /// number of columns the search scanned.
    fn add_row(&mut self, r0: u32) -> usize {
        if let Some((c, cost)) = self.first_free(r0) {
            self.assign(r0, c, cost);
            return 0;
        }
        self.augment(r0)
    }
}

impl Solver<'_> {
    /// Warm start from the auction's ε-optimal prices and matching (see [`solve_saturated`]).
    /// Keeps every match that is exactly optimal for its row under those prices, lowers the
    /// price of each free column as far as the kept rows allow, and returns the other rows.
    fn warm_start(&mut self, price: &[i64], holds: &[u32]) -> Vec<u32> {
        let g = self.g;
        for (col, &p) in self.cols.iter_mut().zip(price) {
            col.v = -p;
        }
        let mut pending = Vec::new();
        for r in 0..self.row_task.len() as u32 {
            let t = self.row_task[r as usize] as usize;
            let held = holds[r as usize];
            let mut best = g.penalty[t];
            let mut held_cost = None;
            for e in g.offsets[t] as usize..g.offsets[t + 1] as usize {
                let c = g.cols[e];
                best = best.min(g.costs[e] as i64 - self.cols[c as usize].v);
                if c == held {
                    held_cost = Some(g.costs[e] as i64);
                }
            }
            match held_cost {
                Some(cost) if cost - self.cols[held as usize].v == best => self.assign(r, held, cost),
                None if held == NONE && best == g.penalty[t] => self.assign(r, (self.m + t) as u32, g.penalty[t]),
                _ => pending.push(r),
            }
        }
        // A free column's potential may rise to 0 unless a kept row would then prefer it.
        let mut cap: Vec<i64> = self.cols.iter().map(|c| if c.row == NONE { 0 } else { c.v }).collect();
        for r in 0..self.row_task.len() {
            let c = self.row_col[r];
            if c == NONE {
                continue;
            }
            let t = self.row_task[r] as usize;
            let u = self.row_cost[r] - if (c as usize) < self.m { self.cols[c as usize].v } else { 0 };
            for e in g.offsets[t] as usize..g.offsets[t + 1] as usize {
                let j = g.cols[e] as usize;
                if self.cols[j].row == NONE {
                    cap[j] = cap[j].min(g.costs[e] as i64 - u);
                }
            }
        }
        for (col, &k) in self.cols.iter_mut().zip(&cap) {
            if col.row == NONE {
                col.v = k;
            }
        }
        pending
    }

    /// Places row `r0` along a shortest augmenting path (Dijkstra on reduced costs) to the
    /// nearest free column, priced or not, or to its unfilled column; returns the number of
    /// columns scanned. In a warm finish, ending at an unpriced free column or unfilled moves
    /// one unit of excess to the sink, which [`Solver::add_col_back`] later sends on to a
    /// priced column.
    fn augment(&mut self, r0: u32) -> usize {
        self.stamp += 1;
        self.heap.clear();
        self.scanned.clear();
        let mut best = Terminal { dist: i64::MAX, col: NONE, pred: NONE, cost: 0 };
        self.relax(r0, 0, &mut best);
        while let Some(Reverse((d, c))) = self.heap.pop() {
            if (d, c) >= (best.dist, best.col) {
                break;
            }
            let col = &mut self.cols[c as usize];
            if col.done == self.stamp || d > col.dist {
                continue; // stale entry
            }
            col.done = self.stamp;
            let r = col.row;
            // The row's own arc is tight: u_r = row_cost - v_c.
            let base = d - (self.row_cost[r as usize] - col.v);
            self.scanned.push(c);
            self.relax(r, base, &mut best);
        }
        let dmin = best.dist;
        for &c in &self.scanned {
            let col = &mut self.cols[c as usize];
            col.v += col.dist - dmin;
        }
        // Augment: every row on the path moves to the next column.
        let (mut r, mut c, mut cost) = (best.pred, best.col, best.cost);
        loop {
            let old = self.row_col[r as usize];
            self.assign(r, c, cost);
            if r == r0 {
                break;
            }
            c = old;
            let col = &self.cols[c as usize];
            r = col.pred;
            cost = self.arc_cost(r, c) as i64;
        }
        self.scanned.len()
    }

    /// Cost of the arc from row `r` to responder column `c` (which must be a candidate of it).
    fn arc_cost(&self, r: u32, c: u32) -> u32 {
        let t = self.row_task[r as usize] as usize;
        let g = self.g;
        let e =
            (g.offsets[t] as usize..g.offsets[t + 1] as usize).find(|&e| g.cols[e] == c).expect("an arc of the path");
        g.costs[e]
    }

    /// Row dual of an assigned row.
    #[inline]
    fn row_dual(&self, r: u32) -> i64 {
        let c = self.row_col[r as usize];
        self.row_cost[r as usize] - if (c as usize) < self.m { self.cols[c as usize].v } else { 0 }
    }

    /// Sends one unit of the sink's excess to the priced free column `b` along a shortest path
    /// of the residual network, searched backwards from `b` (every row is placed by now). The
    /// path leaves the sink either by freeing an assigned column `c` (cost: its price `−v_c`)
    /// or by taking a row off its unfilled column (cost 0), and then moves rows one column on
    /// each, the last one onto `b`. Potentials change by the backward distances, so reduced
    /// costs stay non-negative, and a column freed this way ends with potential 0.
    fn add_col_back(&mut self, b: u32, rev_off: &[u32], rev: &[(u32, u32)], row_start: &[u32]) -> usize {
        #[derive(Clone, Copy)]
        enum Start {
            /// Free this column (its row moves on).
            Col(u32),
            /// Take this row off its unfilled column, onto column `.1` at cost `.2`.
            Row(u32, u32, u32),
        }
        self.stamp += 1;
        self.heap.clear();
        self.scanned.clear();
        let stamp = self.stamp;
        // Sink → b directly: the price is dropped, b stays free.
        let mut best = (-self.cols[b as usize].v, Start::Col(b));
        let col = &mut self.cols[b as usize];
        col.seen = stamp;
        col.dist = 0;
        self.heap.push(Reverse((0, b)));
        while let Some(Reverse((d, y))) = self.heap.pop() {
            if d >= best.0 {
                break;
            }
            let col = &mut self.cols[y as usize];
            if col.done == stamp || d > col.dist {
                continue;
            }
            col.done = stamp;
            self.scanned.push(y);
            let vy = col.v;
            if y != b && d - vy < best.0 {
                best = (d - vy, Start::Col(y));
            }
            for &(t, cost) in &rev[rev_off[y as usize] as usize..rev_off[y as usize + 1] as usize] {
                for r in row_start[t as usize]..row_start[t as usize + 1] {
                    let cr = self.row_col[r as usize];
                    if cr == y {
                        continue;
                    }
                    let nd = d + cost as i64 - self.row_dual(r) - vy;
                    if nd >= best.0 {
                        continue;
                    }
                    if cr as usize >= self.m {
                        best = (nd, Start::Row(r, y, cost));
                        continue;
                    }
                    let c = &mut self.cols[cr as usize];
                    if c.done != stamp && (c.seen != stamp || nd < c.dist) {
                        c.seen = stamp;
                        c.dist = nd;
                        c.pred = y;
                        self.heap.push(Reverse((nd, cr)));
                    }
                }
            }
        }
        let dmin = best.0;
        for &c in &self.scanned {
            let col = &mut self.cols[c as usize];
            col.v += dmin - col.dist;
        }
        let (mut r, mut y, mut cost) = match best.1 {
            Start::Col(c) if c == b => return self.scanned.len(),
            Start::Col(c) => {
                let r = self.cols[c as usize].row;
                self.cols[c as usize].row = NONE;
                let y = self.cols[c as usize].pred;
                (r, y, self.arc_cost(r, y))
            }
            Start::Row(r, y, cost) => (r, y, cost),
        };
        loop {
            let next = self.cols[y as usize].row;
            self.assign(r, y, cost as i64);
            if y == b {
                break;
            }
            r = next;
            y = self.cols[y as usize].pred;
            cost = self.arc_cost(r, y);
        }
        self.scanned.len()
    }
}

/// Tasks listing each responder column, with the arc's cost: `rev[rev_off[j]..rev_off[j + 1]]`.
pub(crate) fn reverse_arcs(g: &CandidateGraph) -> (Vec<u32>, Vec<(u32, u32)>) {
    let m = g.responder_count();
    let mut rev_off = vec![0u32; m + 1];
    for &c in &g.cols {
        rev_off[c as usize + 1] += 1;
    }
    for j in 0..m {
        rev_off[j + 1] += rev_off[j];
    }
    let mut fill = rev_off.clone();
    let mut rev = vec![(0u32, 0u32); g.cols.len()];
    for t in 0..g.task_count() {
        for e in g.offsets[t] as usize..g.offsets[t + 1] as usize {
            let c = g.cols[e] as usize;
            rev[fill[c] as usize] = (t as u32, g.costs[e]);
            fill[c] += 1;
        }
    }
    (rev_off, rev)
}

/// Shortest-path work allowed per slot when finishing from the auction's prices, before the
/// solve gives up on the warm start and runs the exact auction instead.
const WARM_SCAN_BUDGET_PER_SLOT: usize = 64;

/// ε at which the warm-start auction stops (metres of travel, unscaled). On the 100 000-task
/// bench the solve took 7.2 s of CPU stopping at ε = 1, 6.3 s at 3, 6.2 s at 14 and 6.0 s at 59
/// (the finish grows with ε: at 238 it scanned 15× more columns). 16 keeps the finish small.
const WARM_EPS: i64 = 16;

/// Exact solve of a saturated market: the ε-scaling auction on unscaled weights down to a
/// small ε gives near-optimal prices fast; exact shortest augmenting paths then finish from
/// them. The result must pass the LP-duality certificate; if the finish runs over its budget
/// or fails the check, the exact scaled auction runs instead.
pub fn solve_saturated(graph: &CandidateGraph) -> Assignment {
    solve_warm(graph, WARM_EPS).unwrap_or_else(|| crate::auction::solve_auction(graph))
}

/// The auction-then-shortest-paths path alone, the auction stopped at `eps` (tests): `None`
/// where [`solve_saturated`] would fall back to the exact auction.
pub fn solve_warm(graph: &CandidateGraph, eps: i64) -> Option<Assignment> {
    let (sorted, order) = in_space_order(graph);
    let sorted_cols = warm_rows(&sorted, eps)?;
    let (rs, rs_sorted) = (row_starts(graph), row_starts(&sorted));
    let mut row_col = vec![NONE; sorted_cols.len()];
    for (nt, &t) in order.iter().enumerate() {
        let (a, z) = (rs_sorted[nt] as usize, rs_sorted[nt + 1] as usize);
        let at = rs[t as usize] as usize;
        row_col[at..at + (z - a)].copy_from_slice(&sorted_cols[a..z]);
    }
    Some(collect(graph, &row_col, &rs, SolveMethod::AuctionThenPaths))
}

/// The graph with its tasks sorted by their nearest candidate's column (columns are numbered
/// in space order), and the original position of each sorted task. The auction's bids and
/// offers then read neighbouring memory for neighbouring tasks: on the 100 000-task bench the
/// saturated path is bound by cache misses, not by arithmetic.
fn in_space_order(g: &CandidateGraph) -> (CandidateGraph, Vec<u32>) {
    let t = g.task_count();
    let mut order: Vec<u32> = (0..t as u32).collect();
    order.sort_unstable_by_key(|&i| {
        let (a, b) = (g.offsets[i as usize], g.offsets[i as usize + 1]);
        (if a < b { g.cols[a as usize] } else { NONE }, i)
    });
    let mut offsets = Vec::with_capacity(t + 1);
    let mut cols = Vec::with_capacity(g.cols.len());
    let mut costs = Vec::with_capacity(g.costs.len());
    offsets.push(0u32);
    for &i in &order {
        let (a, b) = (g.offsets[i as usize] as usize, g.offsets[i as usize + 1] as usize);
        cols.extend_from_slice(&g.cols[a..b]);
        costs.extend_from_slice(&g.costs[a..b]);
        offsets.push(cols.len() as u32);
    }
    let sorted = CandidateGraph::new_unchecked(
        order.iter().map(|&i| g.task_ids[i as usize]).collect(),
        order.iter().map(|&i| g.head[i as usize]).collect(),
        order.iter().map(|&i| g.penalty[i as usize]).collect(),
        offsets,
        cols,
        costs,
        g.responder_ids.clone(),
        Vec::new(),
    );
    (sorted, order)
}

/// The auction-then-paths solve on `graph` as it stands: each slot row's responder column
/// (`NONE` = unfilled), or `None` on a fallback.
fn warm_rows(graph: &CandidateGraph, eps: i64) -> Option<Vec<u32>> {
    let (price, holds) = crate::auction::auction_warm_start(graph, eps);
    let mut s = Solver::new(graph);
    let pending = s.warm_start(&price, &holds);
    let budget = WARM_SCAN_BUDGET_PER_SLOT.saturating_mul(s.row_task.len());
    let mut work = 0usize;
    for &r in &pending {
        work += s.augment(r);
        if work > budget {
            return None;
        }
    }
    let priced: Vec<u32> =
        (0..s.m as u32).filter(|&c| s.cols[c as usize].row == NONE && s.cols[c as usize].v < 0).collect();
    if !priced.is_empty() {
        let (rev_off, rev) = reverse_arcs(graph);
        let row_start = row_starts(graph);
        for &b in &priced {
            work += s.add_col_back(b, &rev_off, &rev, &row_start);
            if work > budget {
                return None;
            }
        }
    }
    s.certify().ok()?;
    Some(s.row_col.iter().map(|&c| if (c as usize) < s.m { c } else { NONE }).collect())
}

impl Solver<'_> {
    /// Optimality certificate of a complete assignment (debug builds and tests): the column
    /// potentials and the row duals `u_r = cost(r, col(r)) − v(col(r))` are a feasible dual
    /// solution of the assignment LP (`v ≤ 0`, `u_r + v_c ≤ cost` on every arc including each
    /// task's unfilled columns, whose potential is 0) in complementary slackness with the
    /// assignment (`v_c = 0` on every unused column; assigned arcs tight by construction). By LP
    /// duality the assignment is then optimal, whatever the search did.
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn certify(&self) -> Result<(), String> {
        let g = self.g;
        let mut used = vec![false; self.m];
        for (r, &c) in self.row_col.iter().enumerate() {
            let t = self.row_task[r] as usize;
            if c == NONE {
                return Err(format!("row {r} unassigned"));
            }
            let v = |c: u32| if (c as usize) < self.m { self.cols[c as usize].v } else { 0 };
            if (c as usize) < self.m {
                used[c as usize] = true;
            }
            let u = self.row_cost[r] - v(c);
            if u > g.penalty[t] {
                return Err(format!("row {r}: the unfilled column has negative reduced cost"));
            }
            for e in g.offsets[t] as usize..g.offsets[t + 1] as usize {
                if (g.costs[e] as i64) < u + v(g.cols[e]) {
                    return Err(format!("row {r}: arc to column {} has negative reduced cost", g.cols[e]));
                }
            }
        }
        for (c, col) in self.cols.iter().enumerate() {
            if col.v > 0 || (!used[c] && col.v != 0) {
                return Err(format!("column {c}: potential {} breaks slackness", col.v));
            }
        }
        Ok(())
    }
}

/// Shortest-path work allowed per slot (columns scanned) before the solve switches to the
/// auction: beyond it the market is saturated and each new slot would re-explore a large tight
/// region, which the auction settles with local bids instead.
const SCAN_BUDGET_PER_SLOT: usize = 6;

/// Candidate responders per slot at or below which a market counts as saturated before any
/// search (see [`solve_with_budget`]).
const SATURATED_COLUMNS_PER_SLOT: u64 = 2;

/// Solves the dispatch min-cost flow on `graph` exactly.
///
/// Slots are added by shortest augmenting paths; if the total search work passes a budget
/// proportional to the number of slots, the solve restarts on the saturated path
/// ([`solve_saturated`]). A market with at least half as many slots as candidate responders
/// starts there at once. Both are exact.
///
/// Independent parts of the graph (no responder in common) are solved at once on all cores
/// ([`crate::split`]).
pub fn solve(graph: &CandidateGraph) -> Assignment {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    solve_with_threads(graph, threads)
}

/// [`solve`] on at most `threads` threads (at least one, at most 16).
pub fn solve_with_threads(graph: &CandidateGraph, threads: usize) -> Assignment {
    crate::split::solve_split(graph, threads.clamp(1, 16), false, |g| solve_with_budget(g, SCAN_BUDGET_PER_SLOT))
}

/// [`solve`] with the graph always cut into its connected parts, dealt into `parts` groups
/// solved on their own threads (tests use it to check that the split is exact).
pub fn solve_in_parts(graph: &CandidateGraph, parts: usize) -> Assignment {
    crate::split::solve_split(graph, parts.clamp(1, 16), true, |g| solve_with_budget(g, SCAN_BUDGET_PER_SLOT))
}

/// [`solve`] with an explicit budget (`usize::MAX` = shortest paths only, `0` = the saturated
/// path as soon as one search scans anything). With any budget but `usize::MAX`, a market
/// with at least half as many slots as candidate responders takes the saturated path at once.
pub fn solve_with_budget(graph: &CandidateGraph, per_slot: usize) -> Assignment {
    // At half as many slots as candidate responders or more, shortest paths met the budget
    // on every generated city (40 000 to 100 000 tasks) only after most of the rows, work that
    // the saturated path then threw away: go there at once.
    if per_slot < usize::MAX
        && graph.slot_count().saturating_mul(SATURATED_COLUMNS_PER_SLOT) >= graph.responder_count() as u64
    {
        return solve_saturated(graph);
    }
    let mut s = Solver::new(graph);
    let t = graph.task_count();
    // Urgent tasks first, then by the column number of the nearest candidate (columns are
    // numbered in space order, so this walks the city and keeps memory accesses local). Any
    // order is exact; this one is deterministic.
    let mut order: Vec<u32> = (0..t as u32).collect();
    order.sort_by_key(|&i| {
        let (a, b) = (graph.offsets[i as usize], graph.offsets[i as usize + 1]);
        let near = if a < b { graph.cols[a as usize] } else { NONE };
        (Reverse(graph.penalty[i as usize]), near, i)
    });
    let row_start = row_starts(graph);
    let rows: Vec<u32> = order.iter().flat_map(|&ti| row_start[ti as usize]..row_start[ti as usize + 1]).collect();
    let budget = per_slot.saturating_mul(rows.len());
    let mut work = 0usize;
    for &r in &rows {
        work += s.add_row(r);
        if work > budget {
            return solve_saturated(graph);
        }
    }
    #[cfg(debug_assertions)]
    if let Err(e) = s.certify() {
        panic!("shortest-path plan failed its optimality certificate: {e}");
    }
    let row_col: Vec<u32> = s.row_col.iter().map(|&c| if (c as usize) < s.m { c } else { NONE }).collect();
    collect(graph, &row_col, &row_start, SolveMethod::ShortestPaths)
}

/// First slot row of each task (and the total at the end).
pub(crate) fn row_starts(g: &CandidateGraph) -> Vec<u32> {
    let mut row_start = Vec::with_capacity(g.task_count() + 1);
    row_start.push(0u32);
    for &h in &g.head {
        row_start.push(row_start.last().copied().unwrap_or(0) + h);
    }
    row_start
}

/// Builds the plan from each slot row's responder column (`NONE` = unfilled).
pub(crate) fn collect(g: &CandidateGraph, row_col: &[u32], row_start: &[u32], method: SolveMethod) -> Assignment {
    let mut pairs = Vec::new();
    let mut task_offsets = Vec::with_capacity(g.task_count() + 1);
    let mut unfilled = Vec::new();
    let (mut travel, mut penalty, mut filled) = (0u64, 0i64, 0u64);
    task_offsets.push(0);
    for t in 0..g.task_count() {
        let start = pairs.len();
        let mut missing = 0u32;
        let edges = g.offsets[t] as usize..g.offsets[t + 1] as usize;
        for r in row_start[t]..row_start[t + 1] {
            let c = row_col[r as usize];
            if c == NONE {
                missing += 1;
            } else {
                let e = edges.clone().find(|&e| g.cols[e] == c).expect("assigned along an edge");
                let m = g.costs[e];
                let c = c as usize;
                pairs.push(AssignedPair { task: g.task_ids[t], responder: g.responder_ids[c], distance_m: m });
                travel += m as u64;
                filled += 1;
            }
        }
        pairs[start..].sort_by_key(|p| (p.distance_m, p.responder));
        task_offsets.push(pairs.len() as u32);
        if missing > 0 {
            penalty += missing as i64 * g.penalty[t];
            unfilled.push(UnfilledTask {
                task: g.task_ids[t],
                missing,
                reason: match g.shortfall_of(t) {
                    Some(detail) => UnfilledReason::Shortfall { detail },
                    None if (g.offsets[t + 1] - g.offsets[t]) < g.head[t] => UnfilledReason::Shortfall {
                        detail: Shortfall::TooFewEligible { eligible: g.offsets[t + 1] - g.offsets[t] },
                    },
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
        method,
        task_offsets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResponderId, TaskId};

    /// The warm finish on small random markets stopped at a coarse ε: rows go forward, the
    /// columns left priced go backward, and every plan passes the duality certificate. The
    /// backward searches must actually run on such instances.
    #[test]
    fn the_warm_finish_searches_backwards_and_certifies() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut backward, mut rows) = (0usize, 0usize);
        for _ in 0..2000 {
            let nr = rng.gen_range(1..8u32);
            let mut tasks = Vec::new();
            for i in 0..rng.gen_range(1..8u64) {
                let mut edges = Vec::new();
                for c in 0..nr {
                    if rng.gen_bool(0.6) {
                        edges.push((c, rng.gen_range(0..30u32)));
                    }
                }
                tasks.push((TaskId(i), rng.gen_range(1..=3u32), [31i64, 301, 3001][rng.gen_range(0..3)], edges));
            }
            let g = CandidateGraph::from_parts(tasks, (0..nr as u64).map(|r| ResponderId(r + 1)).collect()).unwrap();
            let (price, holds) = crate::auction::auction_warm_start(&g, 1_000_000);
            let mut s = Solver::new(&g);
            for r in s.warm_start(&price, &holds) {
                s.augment(r);
                rows += 1;
            }
            let priced: Vec<u32> =
                (0..s.m as u32).filter(|&c| s.cols[c as usize].row == NONE && s.cols[c as usize].v < 0).collect();
            backward += priced.len();
            let (rev_off, rev) = reverse_arcs(&g);
            let row_start = row_starts(&g);
            for b in priced {
                s.add_col_back(b, &rev_off, &rev, &row_start);
            }
            assert_eq!(s.certify(), Ok(()));
        }
        assert!(rows > 1000 && backward > 40, "forward {rows}, backward {backward}");
    }

    #[test]
    fn the_certificate_accepts_the_optimum_and_rejects_a_worse_plan() {
        let g = CandidateGraph::from_parts(
            vec![(TaskId(1), 1, 1_000, vec![(0, 5), (1, 9)]), (TaskId(2), 1, 1_000, vec![(1, 3)])],
            vec![ResponderId(1), ResponderId(2)],
        )
        .unwrap();
        let mut s = Solver::new(&g);
        for r in 0..2 {
            s.add_row(r);
        }
        assert_eq!(s.certify(), Ok(()));
        // Task 1 on the farther responder, task 2 unfilled: feasible but not optimal.
        s.cols[0].row = NONE;
        s.assign(0, 1, 9);
        s.assign(1, (s.m + 1) as u32, 1_000);
        assert!(s.certify().is_err());
    }
}
