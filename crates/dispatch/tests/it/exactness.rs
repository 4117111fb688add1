//! The solver's optimum equals independent exact methods, on thousands of random instances.

use crate::reference::{brute_force, min_cost_flow, RawTasks};
use proptest::prelude::*;
use std::collections::HashSet;
use tongxin_dispatch::bench::{generate_responders, generate_tasks};
use tongxin_dispatch::{
    candidates, parse_dimacs, solve, solve_auction, solve_in_parts, solve_saturated, solve_warm, solve_with_budget,
    Assignment, CandidateGraph, GeoPoint, Priority, Responder, ResponderId, ResponderIndex, SkillSet, SolveMethod,
    Task, TaskId, UnfilledReason,
};

fn graph_of(raw: &RawTasks, responders: usize) -> CandidateGraph {
    CandidateGraph::from_parts(
        raw.iter().enumerate().map(|(i, (h, p, e))| (TaskId(i as u64 + 100), *h, *p, e.clone())).collect(),
        (0..responders as u64).map(|r| ResponderId(r + 1)).collect(),
    )
    .expect("valid raw instance")
}

/// The plan is a feasible flow whose cost is what it claims.
fn check_feasible(g: &CandidateGraph, raw: &RawTasks, plan: &Assignment) {
    let mut used = HashSet::new();
    let mut travel = 0u64;
    let mut penalty = 0i64;
    for (t, task) in raw.iter().enumerate() {
        let mine = &plan.pairs[plan.task_offsets[t] as usize..plan.task_offsets[t + 1] as usize];
        assert!(mine.len() as u32 <= task.0, "task over-filled");
        for p in mine {
            assert_eq!(p.task, g.task_id(t));
            assert!(used.insert(p.responder), "responder used twice");
            let col = (p.responder.0 - 1) as u32;
            let edge = task.2.iter().find(|e| e.0 == col).expect("pair on an edge");
            assert_eq!(edge.1, p.distance_m);
            travel += p.distance_m as u64;
        }
        let missing = task.0 - mine.len() as u32;
        penalty += missing as i64 * task.1;
        let listed = plan.unfilled.iter().find(|u| u.task == g.task_id(t));
        assert_eq!(listed.map(|u| u.missing).unwrap_or(0), missing);
    }
    assert_eq!(plan.travel_m, travel);
    assert_eq!(plan.penalty, penalty);
    assert_eq!(plan.cost, travel as i64 + penalty);
    assert_eq!(plan.filled, used.len() as u64);
}

fn raw_tasks(
    max_tasks: usize,
    max_resp: u32,
    max_edges: usize,
    max_cost: u32,
) -> impl Strategy<Value = (RawTasks, usize)> {
    (1..=max_resp).prop_flat_map(move |nr| {
        let task = (
            1u32..=3,
            prop_oneof![Just(1i64), Just(10), Just(100)],
            proptest::collection::vec((0..nr, 0..max_cost), 0..=max_edges),
        )
            .prop_map(move |(h, w, mut e)| {
                let mut seen = HashSet::new();
                e.retain(|x| seen.insert(x.0));
                (h, w * max_cost as i64 + 1, e)
            });
        (proptest::collection::vec(task, 1..=max_tasks), Just(nr as usize))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Small random graphs with many cost ties: same optimum as a textbook min-cost flow
    /// run on the exported DIMACS text.
    #[test]
    fn optimum_equals_textbook_min_cost_flow((raw, nr) in raw_tasks(8, 14, 7, 40)) {
        let g = graph_of(&raw, nr);
        let plan = solve(&g);
        check_feasible(&g, &raw, &plan);
        let oracle = min_cost_flow(&parse_dimacs(&g.to_dimacs()).unwrap()).unwrap();
        prop_assert_eq!(plan.cost, oracle);
        for other in [
            solve_auction(&g),
            solve_with_budget(&g, 0),
            solve_with_budget(&g, usize::MAX),
            solve_in_parts(&g, 2),
            solve_in_parts(&g, 3),
        ] {
            check_feasible(&g, &raw, &other);
            prop_assert_eq!(other.cost, oracle);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Tiny graphs: same optimum as enumerating every assignment.
    #[test]
    fn optimum_equals_brute_force((raw, nr) in raw_tasks(3, 5, 4, 12)) {
        let g = graph_of(&raw, nr);
        let plan = solve(&g);
        check_feasible(&g, &raw, &plan);
        let best = brute_force(&raw, nr);
        prop_assert_eq!(plan.cost, best);
        for other in [
            solve_auction(&g),
            solve_with_budget(&g, 0),
            solve_with_budget(&g, usize::MAX),
            solve_in_parts(&g, 2),
            solve_in_parts(&g, 3),
        ] {
            check_feasible(&g, &raw, &other);
            prop_assert_eq!(other.cost, best);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The saturated-market path: the auction on unscaled weights stopped at ε, then shortest
    /// paths forward from the rows it left and backward from the columns it left priced. Every
    /// instance must finish that way (no fallback: the plan passed its duality certificate) and
    /// reach the textbook optimum. Few responders and a large ε leave many rows and priced
    /// columns to the finish, so the backward searches run too.
    #[test]
    fn warm_started_paths_equal_textbook_min_cost_flow(
        (raw, nr) in raw_tasks(10, 10, 7, 40),
        eps in prop_oneof![Just(1i64), Just(3), Just(40), Just(1_000_000)],
    ) {
        let g = graph_of(&raw, nr);
        let oracle = min_cost_flow(&parse_dimacs(&g.to_dimacs()).unwrap()).unwrap();
        let warm = solve_warm(&g, eps);
        prop_assert!(warm.is_some(), "the warm finish fell back");
        let warm = warm.unwrap();
        check_feasible(&g, &raw, &warm);
        prop_assert_eq!(warm.cost, oracle);
        prop_assert_eq!(warm.method, SolveMethod::AuctionThenPaths);
        let saturated = solve_saturated(&g);
        check_feasible(&g, &raw, &saturated);
        prop_assert_eq!(saturated.cost, oracle);
    }
}

/// Saturated Suzhou markets (more slots than candidates): the warm path finishes on its own,
/// at any ε, with the optimum of the independent method.
#[test]
fn saturated_suzhou_markets_finish_from_auction_prices() {
    for seed in 0..6u64 {
        let responders = generate_responders(160, seed);
        let tasks = generate_tasks(90, seed);
        let index = ResponderIndex::build(&responders).unwrap();
        let g = candidates(&index, &tasks, 6).unwrap();
        assert!(g.slot_count() > g.responder_count() as u64, "seed {seed}: not saturated");
        let oracle = min_cost_flow(&parse_dimacs(&g.to_dimacs()).unwrap());
        for eps in [1, 10, 1_000, 1_000_000] {
            let plan = solve_warm(&g, eps).unwrap_or_else(|| panic!("seed {seed}, eps {eps}: fell back"));
            assert_eq!(Some(plan.cost), oracle, "seed {seed}, eps {eps}");
        }
        assert_eq!(Some(solve_with_budget(&g, 0).cost), oracle, "seed {seed}");
    }
}

/// Real geometry: generated Suzhou instances through index, candidates and solve, checked by
/// re-solving the exported DIMACS with the independent method.
#[test]
fn suzhou_instances_match_textbook_min_cost_flow_on_their_dimacs() {
    for seed in 0..12u64 {
        let responders = generate_responders(400, seed);
        let tasks = generate_tasks(80, seed);
        let index = ResponderIndex::build(&responders).unwrap();
        let g = candidates(&index, &tasks, 6).unwrap();
        let plan = solve(&g);
        assert_eq!(solve_auction(&g).cost, plan.cost, "seed {seed}");
        assert_eq!(solve_with_budget(&g, 0).cost, plan.cost, "seed {seed}");
        let parts = solve_in_parts(&g, 2);
        assert_eq!(parts.cost, plan.cost, "seed {seed}");
        assert_eq!(parts.unfilled.len(), plan.unfilled.len(), "seed {seed}");
        let text = g.to_dimacs();
        let p = parse_dimacs(&text).unwrap();
        assert_eq!(min_cost_flow(&p), Some(plan.cost), "seed {seed}");
        assert_eq!(plan.slots, tasks.iter().map(|t| t.head_count as u64).sum::<u64>());
        // The export is exactly the solved graph: one arc per edge plus the fixed arcs.
        assert_eq!(p.arcs.len(), g.edge_count() + 2 * g.task_count() + g.responder_count());
        assert_eq!(p.supplies, vec![(1, plan.slots as i64), (p.nodes, -(plan.slots as i64))]);
    }
}

#[test]
fn solving_is_deterministic_and_order_independent_in_cost() {
    let responders = generate_responders(3_000, 7);
    let mut tasks = generate_tasks(600, 7);
    let index = ResponderIndex::build(&responders).unwrap();
    let a = solve(&candidates(&index, &tasks, 16).unwrap());
    let b = solve(&candidates(&index, &tasks, 16).unwrap());
    assert_eq!(a, b);
    tasks.reverse();
    let c = solve(&candidates(&index, &tasks, 16).unwrap());
    assert_eq!(a.cost, c.cost);
}

fn responder(id: u64, lat: f64, lon: f64) -> Responder {
    Responder {
        id: ResponderId(id),
        location: GeoPoint::new(lat, lon),
        skills: SkillSet::EMPTY,
        insured: true,
        availability: tongxin_dispatch::Availability::Now,
        busy: false,
    }
}

fn task(id: u64, lat: f64, lon: f64, head: u32, priority: Priority) -> Task {
    Task {
        id: TaskId(id),
        location: GeoPoint::new(lat, lon),
        head_count: head,
        required_skills: SkillSet::EMPTY,
        insurance_required: false,
        priority,
        max_distance_m: 20_000,
        start_at: 0,
    }
}

#[test]
fn the_urgent_task_gets_the_only_responder_even_when_farther() {
    let index = ResponderIndex::build(&[responder(1, 31.30, 120.60)]).unwrap();
    let tasks = [task(1, 31.301, 120.60, 1, Priority::Routine), task(2, 31.32, 120.60, 1, Priority::Critical)];
    let plan = solve(&candidates(&index, &tasks, 4).unwrap());
    assert_eq!(plan.pairs.len(), 1);
    assert_eq!(plan.pairs[0].task, TaskId(2));
    assert_eq!(plan.unfilled.len(), 1);
    assert_eq!(plan.unfilled[0].task, TaskId(1));
    assert_eq!(plan.unfilled[0].reason, UnfilledReason::Contended);
}

#[test]
fn more_slots_filled_beats_shorter_travel() {
    // A is near both tasks, B only reaches task 1: the optimum sends B to task 1 and A to
    // task 2, although A is the nearest for task 1.
    let index = ResponderIndex::build(&[responder(1, 31.300, 120.600), responder(2, 31.300, 120.650)]).unwrap();
    let mut t1 = task(1, 31.300, 120.601, 1, Priority::Routine);
    t1.max_distance_m = 6_000;
    let mut t2 = task(2, 31.300, 120.560, 1, Priority::Routine);
    t2.max_distance_m = 5_000;
    let plan = solve(&candidates(&index, &[t1, t2], 4).unwrap());
    assert_eq!(plan.filled, 2);
    let who = |t: u64| plan.pairs.iter().find(|p| p.task == TaskId(t)).unwrap().responder;
    assert_eq!(who(1), ResponderId(2));
    assert_eq!(who(2), ResponderId(1));
}
