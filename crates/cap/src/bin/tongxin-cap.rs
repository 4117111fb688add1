//! `tongxin-cap`: the CAP subcommands on their own (`check`, `normalize`), the same as
//! `tongxin cap ...` in the main binary.

use std::io::Write;

use clap::Parser;
use tongxin_cap::cli::{run, CapCommand};

/// CAP 1.2 tools / CAP 1.2 工具.
#[derive(Parser, Debug)]
#[command(name = "tongxin-cap", version, about = "CAP 1.2 check and normalize / CAP 1.2 检查与规范化")]
struct Cli {
    #[command(subcommand)]
    command: CapCommand,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let code = run(&cli.command, &mut stdout)?;
    stdout.flush()?;
    std::process::exit(code);
}
