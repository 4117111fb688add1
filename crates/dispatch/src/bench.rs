//! `tongxin bench dispatch`: a realistic Suzhou instance, solved and timed, as one JSON object.
//!
//! The generator places responders around neighbourhood centres inside Suzhou's ten districts,
//! weighted by approximate resident population (2020 census, millions), and tasks around
//! incidents placed the same way. Head counts are 1–3, skills are mixed with a few common and
//! many rare ones, some tasks require insurance, some responders are only available in a time
//! window or already busy. Everything derives from `--seed`.

use crate::geo::GeoPoint;
use crate::graph::CandidateGraph;
use crate::index::{best_for_task, candidates_with_threads, ResponderIndex, DEFAULT_CELL_M};
use crate::model::{Availability, Priority, Responder, ResponderId, SkillSet, Task, TaskId};
use crate::solve::{solve, solve_with_threads};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `tongxin bench dispatch` (and of the crate's `dispatch-bench` binary).
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Number of tasks to dispatch.
    #[arg(long, default_value_t = 10_000)]
    pub tasks: usize,
    /// Number of responders in the city.
    #[arg(long, default_value_t = 250_000)]
    pub responders: usize,
    /// Candidates per task (K nearest eligible responders).
    #[arg(long, default_value_t = 32)]
    pub k: usize,
    /// Seed of the instance generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the solved flow network to this file in DIMACS min-cost-flow format.
    #[arg(long, value_name = "FILE")]
    pub export_dimacs: Option<PathBuf>,
    /// Threads for the candidate search (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Runs the timed steps this many times and reports the fastest (robust on a busy machine).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Grid cell edge of the responder index, metres.
    #[arg(long, default_value_t = DEFAULT_CELL_M)]
    pub cell_m: f64,
}

/// District centres of Suzhou: (name, lat, lon, residents in millions, spread in km).
const DISTRICTS: [(&str, f64, f64, f64, f64); 10] = [
    ("姑苏区", 31.311, 120.617, 0.92, 2.5),
    ("虎丘区", 31.298, 120.480, 0.83, 4.0),
    ("吴中区", 31.230, 120.600, 1.39, 6.0),
    ("相城区", 31.400, 120.630, 0.89, 5.0),
    ("吴江区", 31.080, 120.660, 1.54, 8.0),
    ("苏州工业园区", 31.320, 120.730, 1.13, 4.5),
    ("常熟市", 31.650, 120.750, 1.68, 8.0),
    ("张家港市", 31.870, 120.560, 1.43, 8.0),
    ("昆山市", 31.380, 120.980, 2.09, 7.0),
    ("太仓市", 31.460, 121.120, 0.83, 6.0),
];

/// Skills in the generated instance and how common each is among responders.
const SKILL_SHARE: [f64; 16] =
    [0.9, 0.35, 0.3, 0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller, to avoid a dependency for one distribution.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn offset(rng: &mut ChaCha8Rng, lat: f64, lon: f64, sigma_km: f64) -> GeoPoint {
    let dn = normal(rng) * sigma_km * 1000.0;
    let de = normal(rng) * sigma_km * 1000.0;
    let lat2 = (lat + dn / 111_195.0).clamp(-89.0, 89.0);
    let lon2 = lon + de / (111_195.0 * lat.to_radians().cos());
    GeoPoint::new(lat2, lon2)
}

struct Centres {
    pts: Vec<(f64, f64)>,
    cumulative: Vec<f64>,
}

impl Centres {
    fn new(rng: &mut ChaCha8Rng) -> Self {
        let mut pts = vec![];
        let mut cumulative = vec![];
        let mut acc = 0.0;
        for &(_, lat, lon, pop, spread) in &DISTRICTS {
            let n = (pop * 60.0) as usize;
            for _ in 0..n {
                let p = offset(rng, lat, lon, spread);
                pts.push((p.lat, p.lon));
                acc += pop / n as f64 * rng.gen_range(0.3..1.7);
                cumulative.push(acc);
            }
        }
        Centres { pts, cumulative }
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> (f64, f64) {
        let x = rng.gen_range(0.0..*self.cumulative.last().expect("centres"));
        let i = self.cumulative.partition_point(|&c| c < x);
        self.pts[i.min(self.pts.len() - 1)]
    }
}

fn skill_draw(rng: &mut ChaCha8Rng) -> u16 {
    let total: f64 = SKILL_SHARE.iter().sum();
    let mut x = rng.gen_range(0.0..total);
    for (s, &w) in SKILL_SHARE.iter().enumerate() {
        if x < w {
            return s as u16;
        }
        x -= w;
    }
    0
}

/// Generates `responders` responders in Suzhou.
pub fn generate_responders(n: usize, seed: u64) -> Vec<Responder> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres = Centres::new(&mut rng);
    (0..n)
        .map(|i| {
            let (lat, lon) = centres.pick(&mut rng);
            let location = offset(&mut rng, lat, lon, 1.2);
            let mut bits = 0u64;
            for (s, &p) in SKILL_SHARE.iter().enumerate() {
                if rng.gen_bool(p) {
                    bits |= 1 << s;
                }
            }
            let availability = if rng.gen_bool(0.75) {
                Availability::Now
            } else {
                let from = rng.gen_range(-7_200..14_400);
                Availability::Window { from, until: from + rng.gen_range(3_600..28_800) }
            };
            Responder {
                id: ResponderId(i as u64 + 1),
                location,
                skills: SkillSet(bits),
                insured: rng.gen_bool(0.85),
                availability,
                busy: rng.gen_bool(0.05),
            }
        })
        .collect()
}

/// Generates `n` tasks around incidents in Suzhou.
pub fn generate_tasks(n: usize, seed: u64) -> Vec<Task> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7A5C_0000_0000_0001);
    let centres = Centres::new(&mut ChaCha8Rng::seed_from_u64(seed));
    let incidents: Vec<GeoPoint> = (0..(n / 25).max(1))
        .map(|_| {
            let (lat, lon) = centres.pick(&mut rng);
            offset(&mut rng, lat, lon, 2.0)
        })
        .collect();
    (0..n)
        .map(|i| {
            let inc = incidents[rng.gen_range(0..incidents.len())];
            let location = offset(&mut rng, inc.lat, inc.lon, 0.6);
            let mut required = SkillSet::EMPTY;
            let roll: f64 = rng.gen();
            if roll >= 0.4 {
                required.0 |= 1 << skill_draw(&mut rng);
            }
            if roll >= 0.85 {
                required.0 |= 1 << skill_draw(&mut rng);
            }
            let priority = match rng.gen_range(0..100) {
                0..=39 => Priority::Routine,
                40..=74 => Priority::Elevated,
                75..=94 => Priority::Urgent,
                _ => Priority::Critical,
            };
            Task {
                id: TaskId(i as u64 + 1),
                location,
                head_count: rng.gen_range(1..=3),
                required_skills: required,
                insurance_required: rng.gen_bool(0.6),
                priority,
                max_distance_m: [3_000, 5_000, 8_000, 10_000, 15_000][rng.gen_range(0..5)],
                start_at: if rng.gen_bool(0.8) { 0 } else { rng.gen_range(0..7_200) },
            }
        })
        .collect()
}

/// CPU time the calling thread has used, nanoseconds (Linux only).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// Generates, indexes, searches and solves; returns the figures as one JSON object.
pub fn run(args: &BenchArgs) -> anyhow::Result<serde_json::Value> {
    let responders = generate_responders(args.responders, args.seed);
    let tasks = generate_tasks(args.tasks, args.seed);

    let repeat = args.repeat.max(1);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = args.threads.unwrap_or(cores).max(1);
    let (mut index_ms, mut candidates_ms, mut solve_ms) = (f64::MAX, f64::MAX, f64::MAX);
    let mut built = None;
    for _ in 0..repeat {
        let t0 = Instant::now();
        let index = ResponderIndex::build_with_cell(&responders, args.cell_m)?;
        index_ms = index_ms.min(ms(t0));

        let t1 = Instant::now();
        let graph: CandidateGraph = candidates_with_threads(&index, &tasks, args.k, threads)?;
        candidates_ms = candidates_ms.min(ms(t1));

        let t2 = Instant::now();
        let plan = solve(&graph);
        solve_ms = solve_ms.min(ms(t2));
        built = Some((index, graph, plan));
    }
    let (mut index, graph, plan) = built.expect("at least one run");

    // CPU time of the same work on one thread (Linux): on a machine shared with other jobs
    // wall-clock figures swing with the load, CPU time does not.
    let cpu = |f: &mut dyn FnMut()| -> Option<f64> {
        let a = thread_cpu_ns()?;
        f();
        Some(((thread_cpu_ns()? - a) as f64 / 1e3).round() / 1e3)
    };
    let candidates_cpu_ms = cpu(&mut || {
        std::hint::black_box(candidates_with_threads(&index, &tasks, args.k, 1).ok());
    });
    let solve_cpu_ms = cpu(&mut || {
        std::hint::black_box(solve_with_threads(&graph, 1));
    });

    // Single urgent task fast path, on fresh tasks against the same index.
    let probes = generate_tasks(1_000, args.seed.wrapping_add(99));
    let mut lat_us = Vec::with_capacity(probes.len());
    for t in &probes {
        let s = Instant::now();
        let found = best_for_task(&index, t)?;
        lat_us.push(s.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(found);
    }
    lat_us.sort_by(f64::total_cmp);
    let pct = |p: f64| (lat_us[((lat_us.len() - 1) as f64 * p) as usize] * 10.0).round() / 10.0;

    // Incremental updates: move, bench (busy) and free again.
    let moves = responders.len().min(10_000);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x55);
    let s = Instant::now();
    for r in responders.iter().take(moves) {
        let p = offset(&mut rng, r.location.lat, r.location.lon, 0.3);
        index.move_to(r.id, p)?;
        index.set_busy(r.id, true)?;
        index.set_busy(r.id, false)?;
    }
    let update_us = s.elapsed().as_secs_f64() * 1e6 / (3 * moves.max(1)) as f64;

    if let Some(path) = &args.export_dimacs {
        std::fs::write(path, graph.to_dimacs())?;
    }

    let unfilled_slots: u64 = plan.unfilled.iter().map(|u| u.missing as u64).sum();
    Ok(serde_json::json!({
        "tasks": graph.task_count(),
        "slots": graph.slot_count(),
        "responders": responders.len(),
        "candidate_responders": graph.responder_count(),
        "edges": graph.edge_count(),
        "k": args.k,
        "repeat": repeat,
        "seed": args.seed,
        "cores": cores,
        "threads": threads,
        "index_ms": index_ms,
        "candidates_ms": candidates_ms,
        "solve_ms": solve_ms,
        "dispatch_ms": ((candidates_ms + solve_ms) * 1e3).round() / 1e3,
        "candidates_cpu_ms": candidates_cpu_ms,
        "solve_cpu_ms": solve_cpu_ms,
        "total_ms": ((index_ms + candidates_ms + solve_ms) * 1e3).round() / 1e3,
        "solver": plan.method,
        "filled": plan.filled,
        "unfilled": unfilled_slots,
        "cost": plan.cost,
        "travel_m": plan.travel_m,
        "penalty": plan.penalty,
        "fast_path_us_p50": pct(0.5),
        "fast_path_us_p99": pct(0.99),
        "fast_path_us_max": pct(1.0),
        "index_update_us": (update_us * 100.0).round() / 100.0,
        "dimacs": args.export_dimacs.as_ref().map(|p| p.display().to_string()),
    }))
}
