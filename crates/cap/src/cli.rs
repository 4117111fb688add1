//! `cap check` and `cap normalize`, ready to mount in the `tongxin` binary
//! (`tongxin cap check FILE...`, `tongxin cap normalize FILE`) and used by the crate's own
//! `tongxin-cap` binary until then.
//!
//! `check` prints one line per problem, `FILE:LINE: RULE: MESSAGE`, in Chinese unless
//! `--lang en` is given or `LANG`/`LC_ALL` start with `en`; it exits 1 when any file is
//! invalid. Alerts whose identifier has the China-profile shape are also checked against
//! that profile.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CapError, Lang};

/// The `cap` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum CapCommand {
    /// Check CAP 1.2 files (and the China profile when the identifier follows it) /
    /// 检查 CAP 1.2 文件（标识符符合中国规范时也检查中国规范）.
    Check {
        /// Files to check / 要检查的文件.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Message language: zh (default) or en / 提示语言：zh（默认）或 en.
        #[arg(long)]
        lang: Option<String>,
    },
    /// Print a CAP 1.2 file re-written canonically / 以规范形式重写并输出 CAP 1.2 文件.
    Normalize {
        /// The file / 文件.
        file: PathBuf,
    },
}

fn print_problems(out: &mut dyn Write, file: &Path, errors: &[CapError], lang: Lang) -> std::io::Result<()> {
    for e in errors {
        writeln!(out, "{}:{}: {}: {}", file.display(), e.line, e.rule.code(), e.message(lang))?;
    }
    Ok(())
}

/// Checks one file; `Ok(true)` when valid.
fn check_file(out: &mut dyn Write, file: &Path, lang: Lang) -> std::io::Result<bool> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            let msg = match lang {
                Lang::Zh => format!("无法读取文件：{e}"),
                Lang::En => format!("cannot read file: {e}"),
            };
            writeln!(out, "{}:0: io: {msg}", file.display())?;
            return Ok(false);
        }
    };
    match crate::parse_located(&bytes, &crate::ParseOptions::default()) {
        Err(errors) => {
            print_problems(out, file, errors.errors(), lang)?;
            Ok(false)
        }
        Ok((alert, locations)) => {
            let china = crate::china::looks_like_china_id(&alert.identifier);
            if china {
                if let Err(errors) = crate::china::check(&alert, Some(&locations)) {
                    print_problems(out, file, errors.errors(), lang)?;
                    return Ok(false);
                }
            }
            let verdict = match (lang, china) {
                (Lang::Zh, false) => "有效（CAP 1.2）",
                (Lang::Zh, true) => "有效（CAP 1.2，中国规范 GB/T 35965.1）",
                (Lang::En, false) => "valid (CAP 1.2)",
                (Lang::En, true) => "valid (CAP 1.2, China profile GB/T 35965.1)",
            };
            writeln!(out, "{}: {verdict}", file.display())?;
            Ok(true)
        }
    }
}

/// Runs a `cap` subcommand, writing to `out`; returns the process exit code
/// (0 when every file is valid, 1 otherwise).
pub fn run(cmd: &CapCommand, out: &mut dyn Write) -> anyhow::Result<i32> {
    match cmd {
        CapCommand::Check { files, lang } => {
            let lang = Lang::choose(lang.as_deref());
            let mut all_valid = true;
            for file in files {
                all_valid &= check_file(out, file, lang)?;
            }
            Ok(if all_valid { 0 } else { 1 })
        }
        CapCommand::Normalize { file } => {
            let lang = Lang::choose(None);
            let bytes = std::fs::read(file)
                .map_err(|e| anyhow::anyhow!("无法读取文件 / cannot read file {}: {e}", file.display()))?;
            match crate::parse(&bytes) {
                Ok(alert) => {
                    out.write_all(crate::write(&alert).as_bytes())?;
                    Ok(0)
                }
                Err(errors) => {
                    print_problems(out, file, errors.errors(), lang)?;
                    Ok(1)
                }
            }
        }
    }
}
