//! Independent parts of the candidate graph, solved in parallel.
//!
//! Two tasks interact only through a shared candidate responder, so the connected components
//! of the task–responder graph are independent min-cost-flow problems: the optimum of the
//! whole is the union of the components' optima, exactly. The components are dealt into one
//! bin per thread (largest first, to the bin with the fewest edges), each bin becomes a
//! smaller [`CandidateGraph`] that keeps the relative order of tasks and responder columns
//! (so every tie is broken as in one solve of the whole), and the bins are solved on their
//! own threads. When one component dominates (a saturated city-wide market), the split
//! cannot help and the graph is solved whole.

use crate::graph::CandidateGraph;
use crate::solve::{Assignment, SolveMethod};

/// Below this many edges a split costs more than it saves.
const MIN_SPLIT_EDGES: usize = 20_000;

/// Union–find with path halving and union by size.
struct Dsu {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Dsu {
    fn new(n: usize) -> Self {
        Dsu { parent: (0..n as u32).collect(), size: vec![1; n] }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = p;
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

/// Deals the tasks of `g` into at most `bins` groups with no responder in common; returns the
/// bin of each task, or `None` when a split would not pay off.
fn bins_of(g: &CandidateGraph, bins: usize, always: bool) -> Option<Vec<u32>> {
    let (t, m) = (g.task_count(), g.responder_count());
    if bins < 2 || (!always && g.edge_count() < MIN_SPLIT_EDGES) {
        return None;
    }
    // Tasks only: each task joins the first task seen with the same candidate. The sets are
    // the same as over tasks and responders, and the union-find stays small enough for the
    // cache (at 10 000 tasks this check is paid on every solve and the split never happens).
    let mut dsu = Dsu::new(t);
    let mut first = vec![u32::MAX; m];
    for i in 0..t {
        for e in g.offsets[i] as usize..g.offsets[i + 1] as usize {
            let f = &mut first[g.cols[e] as usize];
            if *f == u32::MAX {
                *f = i as u32;
            } else {
                dsu.union(i as u32, *f);
            }
        }
    }
    // Edges per component root.
    let mut weight = vec![0u64; t];
    for i in 0..t {
        let r = dsu.find(i as u32) as usize;
        weight[r] += (g.offsets[i + 1] - g.offsets[i]) as u64 + 1;
    }
    let mut roots: Vec<u32> = (0..t as u32).filter(|&r| weight[r as usize] > 0).collect();
    roots.sort_unstable_by_key(|&r| (std::cmp::Reverse(weight[r as usize]), r));
    let total: u64 = roots.iter().map(|&r| weight[r as usize]).sum();
    if roots.len() < 2 || (!always && weight[roots[0] as usize] * 10 > total * 7) {
        return None; // one component holds most of the work
    }
    let mut load = vec![0u64; bins];
    let mut bin_of_root = vec![0u32; t];
    for &r in &roots {
        let b = (0..bins).min_by_key(|&b| (load[b], b)).expect("bins > 0");
        load[b] += weight[r as usize];
        bin_of_root[r as usize] = b as u32;
    }
    Some((0..t).map(|i| bin_of_root[dsu.find(i as u32) as usize]).collect())
}

/// The sub-graph of the tasks in bin `b`, with tasks and columns in their original order.
fn subgraph(g: &CandidateGraph, bin: &[u32], b: u32, local: &mut [u32]) -> (CandidateGraph, Vec<usize>) {
    let tasks: Vec<usize> = (0..g.task_count()).filter(|&i| bin[i] == b).collect();
    let mut used = Vec::new();
    for &i in &tasks {
        used.extend_from_slice(&g.cols[g.offsets[i] as usize..g.offsets[i + 1] as usize]);
    }
    used.sort_unstable();
    used.dedup();
    for (l, &c) in used.iter().enumerate() {
        local[c as usize] = l as u32;
    }
    let mut offsets = Vec::with_capacity(tasks.len() + 1);
    offsets.push(0u32);
    let mut cols = Vec::new();
    let mut costs = Vec::new();
    let mut shortfalls = Vec::new();
    for (l, &i) in tasks.iter().enumerate() {
        let (a, z) = (g.offsets[i] as usize, g.offsets[i + 1] as usize);
        cols.extend(g.cols[a..z].iter().map(|&c| local[c as usize]));
        costs.extend_from_slice(&g.costs[a..z]);
        offsets.push(cols.len() as u32);
        if let Some(s) = g.shortfall_of(i) {
            shortfalls.push((l, s));
        }
    }
    let sub = CandidateGraph::new_unchecked(
        tasks.iter().map(|&i| g.task_ids[i]).collect(),
        tasks.iter().map(|&i| g.head[i]).collect(),
        tasks.iter().map(|&i| g.penalty[i]).collect(),
        offsets,
        cols,
        costs,
        used.iter().map(|&c| g.responder_ids[c as usize]).collect(),
        shortfalls,
    );
    (sub, tasks)
}

/// Solves `g` exactly with `solve_one` on each of up to `threads` independent parts at once;
/// the merged plan lists tasks in input order like a solve of the whole. Unless `always`, a
/// small graph or one dominated by one component is solved whole.
pub(crate) fn solve_split(
    g: &CandidateGraph,
    threads: usize,
    always: bool,
    solve_one: impl Fn(&CandidateGraph) -> Assignment + Sync,
) -> Assignment {
    let Some(bin) = bins_of(g, threads, always) else { return solve_one(g) };
    let bins = threads as u32;
    let parts: Vec<(Assignment, Vec<usize>)> = std::thread::scope(|scope| {
        let (bin, solve_one) = (&bin, &solve_one);
        let handles: Vec<_> = (0..bins)
            .map(|b| {
                scope.spawn(move || {
                    let mut local = vec![0u32; g.responder_count()];
                    let (sub, tasks) = subgraph(g, bin, b, &mut local);
                    (solve_one(&sub), tasks)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("solver thread panicked")).collect()
    });
    // Where each task's pairs live: (part, local task).
    let mut at = vec![(0u32, 0u32); g.task_count()];
    for (p, (_, tasks)) in parts.iter().enumerate() {
        for (l, &i) in tasks.iter().enumerate() {
            at[i] = (p as u32, l as u32);
        }
    }
    let mut unfilled_at: Vec<Vec<(u32, u32)>> = Vec::new();
    for (plan, tasks) in &parts {
        // Local task index of each unfilled entry (they are in local input order).
        let mut idx = Vec::with_capacity(plan.unfilled.len());
        let mut l = 0usize;
        for u in &plan.unfilled {
            while g.task_ids[tasks[l]] != u.task {
                l += 1;
            }
            idx.push((l as u32, 0));
        }
        unfilled_at.push(idx);
    }
    let mut next_unfilled = vec![0usize; parts.len()];
    let mut out = Assignment {
        pairs: Vec::with_capacity(parts.iter().map(|p| p.0.pairs.len()).sum()),
        unfilled: Vec::new(),
        slots: 0,
        filled: 0,
        travel_m: 0,
        penalty: 0,
        cost: 0,
        method: SolveMethod::ShortestPaths,
        task_offsets: Vec::with_capacity(g.task_count() + 1),
    };
    out.task_offsets.push(0);
    for &(p, l) in &at {
        let plan = &parts[p as usize].0;
        let (a, z) = (plan.task_offsets[l as usize] as usize, plan.task_offsets[l as usize + 1] as usize);
        out.pairs.extend_from_slice(&plan.pairs[a..z]);
        out.task_offsets.push(out.pairs.len() as u32);
        let n = &mut next_unfilled[p as usize];
        if *n < unfilled_at[p as usize].len() && unfilled_at[p as usize][*n].0 == l {
            out.unfilled.push(plan.unfilled[*n]);
            *n += 1;
        }
    }
    for (plan, _) in &parts {
        out.slots += plan.slots;
        out.filled += plan.filled;
        out.travel_m += plan.travel_m;
        out.penalty += plan.penalty;
        out.cost += plan.cost;
        if plan.method != SolveMethod::ShortestPaths {
            out.method = plan.method;
        }
    }
    out
}
