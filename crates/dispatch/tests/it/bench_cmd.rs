//! The bench command prints the promised figures, and its DIMACS export re-solves to its cost.

use crate::reference::min_cost_flow;
use std::path::PathBuf;
use tongxin_dispatch::bench::{run, BenchArgs};
use tongxin_dispatch::parse_dimacs;

#[test]
fn bench_reports_figures_and_exports_the_solved_graph() {
    let file = std::env::temp_dir().join(format!("tongxin-dispatch-{}.dimacs", std::process::id()));
    let args = BenchArgs {
        tasks: 120,
        responders: 1_500,
        k: 8,
        seed: 5,
        export_dimacs: Some(PathBuf::from(&file)),
        cell_m: 500.0,
        repeat: 2,
        threads: None,
    };
    let v = run(&args).unwrap();
    for key in
        ["tasks", "slots", "responders", "edges", "index_ms", "candidates_ms", "solve_ms", "total_ms", "filled", "cost"]
    {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["tasks"], 120);
    assert_eq!(v["responders"], 1_500);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).ok();
    let p = parse_dimacs(&text).unwrap();
    assert_eq!(min_cost_flow(&p), v["cost"].as_i64());
    assert_eq!(p.supplies[0].1, v["slots"].as_i64().unwrap());
    // Same seed, same instance, same answer.
    let again = run(&BenchArgs { export_dimacs: None, ..args }).unwrap();
    assert_eq!(again["cost"], v["cost"]);
}
