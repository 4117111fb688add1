//! `area-bench`: the area-targeting benchmark as a stand-alone binary, with the same flags as
//! `tongxin bench target`.

use clap::Parser;
use tongxin_area::bench::{run, BenchArgs};

/// Area-targeting benchmark: one JSON line per area.
#[derive(Parser, Debug)]
#[command(name = "area-bench", version)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run(&cli.args, &mut out)
}
