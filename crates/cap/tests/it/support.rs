//! Test support: locating the shared data folder and validating XML with xmllint.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// True when running under CI (`CI` set to anything but empty or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The project's `shared/` folder: `$TONGXIN_SHARED`, else a `shared/` with `data/` beside
/// one of the ancestors of this crate.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TONGXIN_SHARED") {
        let dir = PathBuf::from(dir);
        if dir.join("data").is_dir() {
            return Some(dir);
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().map(|a| a.join("shared")).find(|s| s.join("data").is_dir())
}

/// The real CAP samples folder; fails under CI when missing, else prints a notice.
pub fn samples_dir() -> Option<PathBuf> {
    let dir = shared_dir().map(|s| s.join("data/cap-samples"));
    match dir {
        Some(d) if d.is_dir() => Some(d),
        _ => {
            assert!(
                !in_ci(),
                "shared/data/cap-samples not found: set TONGXIN_SHARED or put shared/ beside the repository"
            );
            eprintln!("NOTICE: shared/data/cap-samples not found, real-sample tests skipped");
            None
        }
    }
}

/// The six real samples as (file name, bytes).
pub fn samples() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = samples_dir() else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("read cap-samples")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("xml" | "cap")))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read sample"))
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 6, "expected the six real CAP samples in {}", dir.display());
    out
}

/// The vendored official schema.
pub fn xsd_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/CAP-v1.2.xsd")
}

/// Whether xmllint can run; fails under CI when it cannot, else prints a notice.
pub fn xmllint_available() -> bool {
    let ok = Command::new("xmllint")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(!in_ci(), "xmllint is missing: install Debian's libxml2-utils (apt-get install -y libxml2-utils)");
        eprintln!("NOTICE: xmllint not installed, XSD validation skipped (apt-get install libxml2-utils)");
    }
    ok
}

/// Validates a document against the official CAP 1.2 schema with xmllint (no network).
pub fn xsd_validate(xml: &str) -> Result<(), String> {
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd_path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run xmllint: {e}"))?;
    child.stdin.take().expect("stdin").write_all(xml.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
