//! Stand-alone `dispatch-bench`: the same flags and output as `tongxin bench dispatch`.

use clap::Parser;
use tongxin_dispatch::bench::{run, BenchArgs};

/// Generates a Suzhou dispatch instance, solves it exactly and prints one JSON line of figures.
#[derive(Parser, Debug)]
#[command(name = "dispatch-bench", version)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let out = run(&cli.args)?;
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
