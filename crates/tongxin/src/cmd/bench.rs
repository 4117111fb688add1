//! `tongxin bench …`: benchmarks that print one JSON line per measurement. Run them with
//! `cargo run --release`; they are never part of the test suite.

use super::{open, Resolved};
use clap::Subcommand;
use std::process::ExitCode;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Area targeting over millions of points (neighbourhood, district with a hole, city, 3 km circle).
    Target(tongxin_area::bench::BenchArgs),
    /// Exact dispatch of responders to tasks at city scale (candidates + min-cost flow).
    Dispatch(tongxin_dispatch::bench::BenchArgs),
    /// Alerts and outbox (capability G): queueing a red alert to a district, in-app reach, webhook throughput.
    #[command(subcommand)]
    Alerts(super::bench_alerts::AlertsBench),
    /// Work orders (capabilities E, J): overdue scan over 100,000 open orders, public page render.
    #[command(subcommand)]
    Workorders(super::bench_workorders::WorkordersBench),
    /// Registry list pages and volunteer export at city scale (after `bench seed`).
    Registry(super::bench_registry::RegistryBench),
    /// Lists one grid's vulnerable residents in check order on a seeded database (target < 20 ms).
    #[command(name = "grids-vulnerable")]
    GridsVulnerable {
        /// Number of list calls (over the 20 grids with most vulnerable residents).
        #[arg(long, default_value_t = 200)]
        repeat: usize,
    },
    /// Acknowledged writes over HTTP: starts a server, 64 clients post field updates; prints
    /// acknowledged, errors, rps, p50_ms, p99_ms.
    Writes(super::bench_writes::WritesArgs),
    /// Kills the server with SIGKILL at random moments while clients write, then checks that no
    /// acknowledged write was lost or duplicated and every queued notification was delivered.
    Crash(super::bench_writes::CrashArgs),
    /// Mass mobilisation over HTTP: city-scale responders, propose + confirm N open slots at
    /// once; prints slots, responders, propose_ms, confirm_ms, total_ms, offers.
    Mobilise(super::bench_mobilise::MobiliseArgs),
    /// A responder's screen on /events: time from the commander's confirm request to the offer
    /// event arriving; prints p50_ms, p99_ms.
    #[command(name = "offer-latency")]
    OfferLatency(super::bench_mobilise::OfferLatencyArgs),
    /// City-scale demo seed into a fresh database (use an empty --data dir): prints counts and time.
    Seed {
        /// Random seed.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

/// Runs a benchmark.
pub async fn run(r: &Resolved, c: BenchCommand) -> anyhow::Result<ExitCode> {
    match c {
        BenchCommand::Writes(a) => return super::bench_writes::writes(r, a).await,
        BenchCommand::Crash(a) => return super::bench_writes::crash(r, a).await,
        BenchCommand::Mobilise(a) => return super::bench_mobilise::mobilise(r, a).await,
        BenchCommand::OfferLatency(a) => return super::bench_mobilise::offer_latency(r, a).await,
        BenchCommand::Target(args) => {
            tokio::task::spawn_blocking(move || tongxin_area::bench::run(&args, &mut std::io::stdout())).await??;
        }
        BenchCommand::Dispatch(args) => {
            let v = tokio::task::spawn_blocking(move || tongxin_dispatch::bench::run(&args)).await??;
            println!("{v}");
        }
        BenchCommand::Alerts(a) => super::bench_alerts::run(r, a).await?,
        BenchCommand::Workorders(w) => super::bench_workorders::run(r, w).await?,
        BenchCommand::Registry(a) => super::bench_registry::run(r, a).await?,
        BenchCommand::GridsVulnerable { repeat } => {
            let app = open(&r.db).await?;
            let mut v = app.bench_grids(repeat).await?;
            v["backend"] = app.store.backend().name().into();
            v["cores"] = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).into();
            println!("{v}");
        }
        BenchCommand::Seed { seed } => {
            let app = open(&r.db).await?;
            let rep = app.seed(tongxin_app::seed::Scale::City, seed, true).await?;
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let mut v = serde_json::to_value(&rep)?;
            v["backend"] = app.store.backend().name().into();
            v["cores"] = cores.into();
            println!("{v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
