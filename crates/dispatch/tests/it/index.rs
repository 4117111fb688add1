//! The spatial index returns exactly the K nearest eligible free responders, also after
//! incremental updates, and the single-task fast path agrees with it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use tongxin_dispatch::bench::{generate_responders, generate_tasks};
use tongxin_dispatch::{
    best_for_task, candidates_with_threads, Availability, GeoPoint, Priority, Responder, ResponderId, ResponderIndex,
    SkillSet, Task, TaskId,
};

fn eligible(r: &Responder, t: &Task) -> bool {
    let (from, until) = r.availability.bounds();
    !r.busy
        && r.skills.covers(t.required_skills)
        && (r.insured || !t.insurance_required)
        && from <= t.start_at
        && t.start_at <= until
}

/// Brute force over every responder with the haversine formula.
fn brute(model: &HashMap<ResponderId, Responder>, t: &Task, k: usize) -> Vec<f64> {
    let mut d: Vec<f64> = model
        .values()
        .filter(|r| eligible(r, t))
        .map(|r| r.location.distance_m(&t.location))
        .filter(|&m| m <= t.max_distance_m as f64)
        .collect();
    d.sort_by(f64::total_cmp);
    d.truncate(k);
    d
}

fn check(index: &ResponderIndex, model: &HashMap<ResponderId, Responder>, tasks: &[Task], k: usize) {
    for t in tasks {
        let got = index.nearest_eligible(t, k).unwrap();
        let want = brute(model, t, k);
        assert_eq!(got.len(), want.len(), "task {:?}", t.id);
        for (g, w) in got.iter().zip(&want) {
            assert!((g.distance_m as f64 - w).abs() <= 1.0, "{} vs {w}", g.distance_m);
            assert!(eligible(&model[&g.responder], t), "ineligible candidate returned");
        }
    }
}

#[test]
fn knn_matches_brute_force_before_and_after_updates() {
    let responders = generate_responders(4_000, 3);
    let tasks = generate_tasks(150, 3);
    let mut index = ResponderIndex::build(&responders).unwrap();
    let mut model: HashMap<_, _> = responders.iter().map(|r| (r.id, r.clone())).collect();
    check(&index, &model, &tasks, 12);

    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for step in 0..3_000u64 {
        let id = ResponderId(rng.gen_range(1..=4_000));
        match rng.gen_range(0..5) {
            0 if model.contains_key(&id) => {
                // Moves, sometimes far outside the current grid (forces a re-grid).
                let far = rng.gen_bool(0.01);
                let p = if far {
                    GeoPoint::new(rng.gen_range(20.0..40.0), rng.gen_range(100.0..125.0))
                } else {
                    let r = &model[&id];
                    GeoPoint::new(r.location.lat + rng.gen_range(-0.02..0.02), r.location.lon)
                };
                index.move_to(id, p).unwrap();
                model.get_mut(&id).unwrap().location = p;
            }
            1 if model.contains_key(&id) => {
                let busy = rng.gen_bool(0.5);
                index.set_busy(id, busy).unwrap();
                model.get_mut(&id).unwrap().busy = busy;
            }
            2 if model.contains_key(&id) => {
                assert_eq!(index.remove(id).unwrap(), model.remove(&id).unwrap());
            }
            3 if model.contains_key(&id) => {
                // New skills and insurance move the responder between the per-skill grids.
                let mut r = model[&id].clone();
                r.skills = SkillSet(rng.gen_range(0..1u64 << 16) & rng.gen_range(0..1u64 << 16));
                r.insured = rng.gen_bool(0.5);
                index.update(r.clone()).unwrap();
                model.insert(id, r);
            }
            _ if !model.contains_key(&id) => {
                let mut r = responders[(id.0 - 1) as usize].clone();
                r.availability = Availability::Now;
                index.insert(r.clone()).unwrap();
                model.insert(id, r);
            }
            _ => {}
        }
        if step % 1_000 == 999 {
            check(&index, &model, &tasks, 12);
        }
    }
    assert_eq!(index.len(), model.len());
    assert_eq!(index.free_len(), model.values().filter(|r| !r.busy).count());
    check(&index, &model, &tasks, 12);
}

#[test]
fn fast_path_proposes_the_head_count_nearest_and_skips_busy_ones() {
    let responders = generate_responders(5_000, 4);
    let mut index = ResponderIndex::build(&responders).unwrap();
    let t = generate_tasks(50, 4).into_iter().find(|t| t.head_count >= 2).unwrap();
    let first = best_for_task(&index, &t).unwrap();
    assert_eq!(first.len(), t.head_count as usize);
    let all = index.nearest_eligible(&t, 32).unwrap();
    assert_eq!(first, all[..first.len()].to_vec());
    // Once the nearest takes a task, the next best moves up.
    index.set_busy(first[0].responder, true).unwrap();
    let second = best_for_task(&index, &t).unwrap();
    assert!(!second.iter().any(|c| c.responder == first[0].responder));
    assert_eq!(second, all[1..=t.head_count as usize].to_vec());
}

/// A random instance unlike the bench's: uniform positions in a box of `span` degrees, random
/// skills over 6 bits, insurance, windows, busy flags, ranges and head counts.
fn random_instance(seed: u64, responders: usize, tasks: usize, span: f64) -> (Vec<Responder>, Vec<Task>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let point =
        |rng: &mut ChaCha8Rng| GeoPoint::new(31.3 + rng.gen_range(-span..span), 120.6 + rng.gen_range(-span..span));
    let rs = (0..responders)
        .map(|i| {
            let location = point(&mut rng);
            let availability = if rng.gen_bool(0.7) {
                Availability::Now
            } else {
                let from = rng.gen_range(-3_600..3_600);
                Availability::Window { from, until: from + rng.gen_range(0..7_200) }
            };
            Responder {
                id: ResponderId(1_000 + i as u64 * 7),
                location,
                skills: SkillSet(rng.gen_range(0..64u64)),
                insured: rng.gen_bool(0.7),
                availability,
                busy: rng.gen_bool(0.1),
            }
        })
        .collect();
    let ts = (0..tasks)
        .map(|i| {
            let location = point(&mut rng);
            Task {
                id: TaskId(i as u64 + 1),
                location,
                head_count: rng.gen_range(1..=4),
                required_skills: SkillSet(rng.gen_range(0..64u64) & rng.gen_range(0..64u64) & rng.gen_range(0..64u64)),
                insurance_required: rng.gen_bool(0.5),
                priority: [Priority::Routine, Priority::Elevated, Priority::Urgent, Priority::Critical]
                    [rng.gen_range(0..4)],
                max_distance_m: rng.gen_range(200..20_000),
                start_at: rng.gen_range(-1_800..1_800),
            }
        })
        .collect();
    (rs, ts)
}

/// Every task's candidate list in the graph is exactly its K nearest eligible responders in
/// range (brute force), and a task with fewer than its head count says why.
fn check_graph(responders: &[Responder], tasks: &[Task], k: usize, threads: usize) -> tongxin_dispatch::CandidateGraph {
    let index = ResponderIndex::build(responders).unwrap();
    let model: HashMap<_, _> = responders.iter().map(|r| (r.id, r.clone())).collect();
    let graph = candidates_with_threads(&index, tasks, k, threads).unwrap();
    assert_eq!(graph.task_count(), tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        assert_eq!(graph.task_id(i), t.id);
        let kk = k.max(t.head_count as usize);
        let got = graph.candidates_of(i);
        let want = brute(&model, t, kk);
        assert_eq!(got.len(), want.len(), "task {:?}", t.id);
        let mut last = 0;
        for ((r, m), w) in got.iter().zip(&want) {
            assert!((*m as f64 - w).abs() <= 1.0, "task {:?}: {m} m vs {w} m", t.id);
            assert!(eligible(&model[r], t), "ineligible candidate {r:?} for task {:?}", t.id);
            assert!(*m >= last, "candidates nearest first");
            last = *m;
        }
        assert_eq!(graph.shortfall_of(i).is_some(), got.len() < t.head_count as usize, "task {:?}", t.id);
    }
    graph
}

#[test]
fn candidate_graph_rows_are_the_k_nearest_eligible_by_brute_force() {
    for seed in 0..4 {
        let (rs, ts) = random_instance(seed, 3_000, 300, 0.08);
        check_graph(&rs, &ts, 8, 2);
    }
    let rs = generate_responders(6_000, 11);
    let ts = generate_tasks(400, 11);
    check_graph(&rs, &ts, 32, 2);
}

#[test]
fn candidate_graph_is_the_same_on_any_number_of_threads() {
    // Enough tasks that the search really splits across threads (small batches run on one).
    for seed in 0..3 {
        let (rs, ts) = random_instance(100 + seed, 20_000, 1_500, 0.15);
        let index = ResponderIndex::build(&rs).unwrap();
        let one = candidates_with_threads(&index, &ts, 16, 1).unwrap();
        assert!(one.edge_count() > 1_500, "a real instance, {} edges", one.edge_count());
        for threads in [2, 3, 4, 7] {
            assert_eq!(
                candidates_with_threads(&index, &ts, 16, threads).unwrap(),
                one,
                "{threads} threads, seed {seed}"
            );
        }
    }
    let rs = generate_responders(30_000, 5);
    let ts = generate_tasks(2_000, 5);
    let index = ResponderIndex::build(&rs).unwrap();
    let one = candidates_with_threads(&index, &ts, 32, 1).unwrap();
    for threads in [2, 5] {
        assert_eq!(candidates_with_threads(&index, &ts, 32, threads).unwrap(), one, "{threads} threads");
    }
}
