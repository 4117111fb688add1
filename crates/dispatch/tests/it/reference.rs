//! Independent exact methods used as oracles: a textbook min-cost flow (successive shortest
//! paths with Bellman–Ford on the explicit residual network, straight from a DIMACS problem)
//! and a brute-force enumeration of assignments for tiny instances.

use tongxin_dispatch::DimacsProblem;

/// Minimum cost of a feasible flow, or `None` when the supplies cannot be routed.
pub fn min_cost_flow(p: &DimacsProblem) -> Option<i64> {
    let n = p.nodes + 2;
    let (ss, tt) = (0usize, p.nodes + 1);
    // Residual arcs in pairs: arc i and its reverse i ^ 1.
    let mut to = vec![];
    let mut cap = vec![];
    let mut cost = vec![];
    let mut adj = vec![vec![]; n];
    let mut add = |u: usize, v: usize, c: i64, w: i64, adj: &mut Vec<Vec<usize>>| {
        adj[u].push(to.len());
        to.push(v);
        cap.push(c);
        cost.push(w);
        adj[v].push(to.len());
        to.push(u);
        cap.push(0);
        cost.push(-w);
    };
    let mut need = 0;
    for &(v, s) in &p.supplies {
        if s > 0 {
            add(ss, v, s, 0, &mut adj);
            need += s;
        } else if s < 0 {
            add(v, tt, -s, 0, &mut adj);
        }
    }
    for &(u, v, lo, c, w) in &p.arcs {
        assert_eq!(lo, 0, "the oracle handles zero lower bounds only");
        add(u, v, c, w, &mut adj);
    }
    let (mut flow, mut total) = (0i64, 0i64);
    while flow < need {
        let mut dist = vec![i64::MAX; n];
        let mut pred = vec![usize::MAX; n];
        dist[ss] = 0;
        // Bellman–Ford: costs may be negative on reverse arcs.
        for _ in 0..n {
            let mut changed = false;
            for u in 0..n {
                if dist[u] == i64::MAX {
                    continue;
                }
                for &a in &adj[u] {
                    if cap[a] > 0 && dist[u] + cost[a] < dist[to[a]] {
                        dist[to[a]] = dist[u] + cost[a];
                        pred[to[a]] = a;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        if dist[tt] == i64::MAX {
            return None;
        }
        let mut push = need - flow;
        let mut v = tt;
        while v != ss {
            let a = pred[v];
            push = push.min(cap[a]);
            v = to[a ^ 1];
        }
        let mut v = tt;
        while v != ss {
            let a = pred[v];
            cap[a] -= push;
            cap[a ^ 1] += push;
            v = to[a ^ 1];
        }
        flow += push;
        total += push * dist[tt];
    }
    Some(total)
}

/// A raw instance: per task (head count, penalty per unfilled slot, [(responder, cost)]).
pub type RawTasks = Vec<(u32, i64, Vec<(u32, u32)>)>;

/// Minimum cost by enumerating every way to give each slot a distinct candidate or nothing.
pub fn brute_force(tasks: &RawTasks, responders: usize) -> i64 {
    let slots: Vec<usize> =
        tasks.iter().enumerate().flat_map(|(t, (h, _, _))| std::iter::repeat_n(t, *h as usize)).collect();
    fn go(i: usize, slots: &[usize], tasks: &RawTasks, used: &mut Vec<bool>) -> i64 {
        if i == slots.len() {
            return 0;
        }
        let t = slots[i];
        let (_, pen, edges) = &tasks[t];
        let mut best = pen + go(i + 1, slots, tasks, used);
        for &(r, c) in edges {
            if !used[r as usize] {
                used[r as usize] = true;
                best = best.min(c as i64 + go(i + 1, slots, tasks, used));
                used[r as usize] = false;
            }
        }
        best
    }
    go(0, &slots, tasks, &mut vec![false; responders])
}
