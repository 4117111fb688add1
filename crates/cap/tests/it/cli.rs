//! The `check` and `normalize` commands, through the library entry point and the binary.

use std::path::PathBuf;
use std::process::Command;

use tongxin_cap::cli::{run, CapCommand};

use crate::written::BASE;

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tongxin-cap-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn check(files: Vec<PathBuf>, lang: &str) -> (i32, String) {
    let mut out = Vec::new();
    let code = run(&CapCommand::Check { files, lang: Some(lang.into()) }, &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn check_exits_zero_for_valid_files() {
    let good = temp_file("good.xml", BASE);
    let (code, out) = check(vec![good.clone()], "zh");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("有效") && out.contains("GB/T 35965.1"), "{out}");
    if let Some(dir) = crate::support::samples_dir() {
        let files = crate::support::samples().into_iter().map(|(n, _)| dir.join(n)).collect();
        let (code, out) = check(files, "en");
        assert_eq!(code, 0, "{out}");
        assert_eq!(out.matches("valid (CAP 1.2)").count(), 6, "{out}");
    }
}

#[test]
fn check_prints_file_line_rule_message_in_the_chosen_language() {
    let bad = BASE
        .replace("<status>Actual</status>", "<status>Live</status>")
        .replace("31.30,120.58 31.33", "31.31,120.58 31.33");
    let bad_path = temp_file("bad.xml", &bad);
    let good_path = temp_file("good2.xml", BASE);
    let (code, out) = check(vec![good_path, bad_path.clone()], "en");
    assert_eq!(code, 1);
    let status_line = bad[..bad.find("<status>").unwrap()].matches('\n').count() + 1;
    let expected = format!("{}:{status_line}: cap-enum: <alert/status>: invalid value \"Live\"", bad_path.display());
    assert!(out.contains(&expected), "{out}");
    assert!(out.contains("cap-polygon-closed"), "{out}");

    let (_, zh) = check(vec![bad_path.clone()], "zh");
    assert!(zh.contains("取值“Live”无效"), "{zh}");
    assert!(zh.contains("多边形未闭合"), "{zh}");

    let missing = bad_path.with_file_name("missing.xml");
    let (code, out) = check(vec![missing], "en");
    assert_eq!(code, 1);
    assert!(out.contains(":0: io: cannot read file"), "{out}");
}

#[test]
fn normalize_prints_the_canonical_form() {
    let messy = BASE.replace("\n", "\r\n").replace("<alert xmlns=", "<alert  xmlns =");
    let path = temp_file("messy.xml", &messy);
    let mut out = Vec::new();
    let code = run(&CapCommand::Normalize { file: path }, &mut out).unwrap();
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text, tongxin_cap::write(&tongxin_cap::parse(BASE.as_bytes()).unwrap()));
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns="));
}

#[test]
fn the_binary_has_the_same_subcommands() {
    let bin = env!("CARGO_BIN_EXE_tongxin-cap");
    let good = temp_file("bin-good.xml", BASE);
    let bad = temp_file("bin-bad.xml", &BASE.replace("+08:00", "Z"));
    let ok = Command::new(bin).args(["check"]).arg(&good).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let fail =
        Command::new(bin).env("LANG", "en_US.UTF-8").env_remove("LC_ALL").args(["check"]).arg(&bad).output().unwrap();
    assert_eq!(fail.status.code(), Some(1));
    let out = String::from_utf8_lossy(&fail.stdout);
    assert!(out.contains("cap-time") && out.contains("not Z"), "{out}");
    let norm = Command::new(bin).args(["normalize"]).arg(&good).output().unwrap();
    assert_eq!(norm.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&norm.stdout).contains("<areaDesc>姑苏区</areaDesc>"));
}
