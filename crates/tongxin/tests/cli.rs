//! The binary as a user runs it: help, config precedence, migrate, audit verify (and tampering),
//! account creation errors, seeding, CAP checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tongxin"));
    c.env_remove("TONGXIN_DATA")
        .env_remove("TONGXIN_DATABASE_URL")
        .env_remove("TONGXIN_CONFIG")
        .env("RUST_LOG", "warn");
    c
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tongxin_cli_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn help_explains_every_command() {
    let o = bin().arg("--help").output().unwrap();
    let t = text(&o);
    for c in ["serve", "migrate", "seed", "admin", "audit", "import", "bench", "cap"] {
        assert!(t.contains(c), "help lists {c}: {t}");
    }
    let o = bin().args(["serve", "--help"]).output().unwrap();
    let t = text(&o);
    assert!(
        t.contains("--listen")
            && t.contains("--demo")
            && t.contains("--database-url")
            && t.contains("TONGXIN_DATABASE_URL")
    );
}

#[test]
fn config_precedence_flag_over_env_over_file() {
    let d = tmp("prec");
    let (file_dir, env_dir, flag_dir) = (d.join("file"), d.join("env"), d.join("flag"));
    let cfg = d.join("tongxin.toml");
    std::fs::write(&cfg, format!("data = {:?}\nunknown_key = 1\n", file_dir.display().to_string())).unwrap();
    let run = |env: Option<&Path>, flag: Option<&Path>| {
        let mut c = bin();
        c.arg("--config").arg(&cfg);
        if let Some(e) = env {
            c.env("TONGXIN_DATA", e);
        }
        if let Some(f) = flag {
            c.arg("--data").arg(f);
        }
        let o = c.arg("migrate").output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        o
    };
    let o = run(None, None);
    assert!(file_dir.join("tongxin.db").exists(), "file value used");
    assert!(text(&o).contains("unknown_key"), "unknown keys are reported");
    run(Some(&env_dir), None);
    assert!(env_dir.join("tongxin.db").exists(), "env beats file");
    run(Some(&env_dir), Some(&flag_dir));
    assert!(flag_dir.join("tongxin.db").exists(), "flag beats env");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn audit_verify_finds_a_tampered_record() {
    let d = tmp("audit");
    let data = d.join("data");
    let o = bin().arg("--data").arg(&data).arg("migrate").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = bin()
        .arg("--data")
        .arg(&data)
        .args([
            "admin",
            "create-user",
            "--username",
            "gusu1",
            "--password",
            "Passw0rd1",
            "--role",
            "civil_affairs",
            "--division",
            "320508000000",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = bin().arg("--data").arg(&data).args(["audit", "verify"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 records"), "{}", text(&o));

    // Edit record 2 directly in the database file.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = tongxin_store::StoreConfig {
            url: tongxin_store::sqlite_url(&data.join("tongxin.db")),
            max_connections: 1,
            pg_schema: None,
        };
        let s = tongxin_store::Store::connect(&cfg).await.unwrap();
        let mut tx = s.begin().await.unwrap();
        sqlx_update(&mut tx).await;
        tx.commit().await.unwrap();
        s.close().await;
    });
    let o = bin().arg("--data").arg(&data).args(["audit", "verify"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("record 2"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(d);
}

async fn sqlx_update(tx: &mut tongxin_store::Tx) {
    let mut b = tongxin_store::sql::SqlBuf::new("UPDATE audit_log SET username = ");
    b.text("intruder").push(" WHERE seq = 2");
    b.query().execute(&mut **tx).await.unwrap();
}

#[test]
fn create_user_with_unknown_division_names_the_field() {
    let d = tmp("user");
    let o = bin()
        .arg("--data")
        .arg(d.join("data"))
        .args([
            "admin",
            "create-user",
            "--username",
            "x1",
            "--password",
            "Passw0rd1",
            "--role",
            "commander",
            "--division",
            "999999999999",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains("division_code") && t.contains("区划代码 999999999999 不存在"), "{t}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn seed_small_prints_counts_and_refuses_twice() {
    let d = tmp("seed");
    let data = d.join("data");
    let o = bin().arg("--data").arg(&data).args(["seed", "--scale", "small"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["orgs"], 240);
    assert_eq!(v["volunteers"], 2400);
    assert!(v["grids"].as_u64().unwrap() > 2248);
    let o = bin().arg("--data").arg(&data).args(["seed", "--scale", "small"]).output().unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("未重复生成"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(d);
}

fn shared_data() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TONGXIN_SHARED") {
        return Some(PathBuf::from(p).join("data"));
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared").join("data");
        if cand.is_dir() {
            return Some(cand);
        }
        if !dir.pop() {
            return None;
        }
    }
}

#[test]
fn cap_check_accepts_a_real_alert_and_rejects_a_broken_one() {
    let Some(data) = shared_data() else {
        assert!(std::env::var("CI").is_err(), "shared/data must be present in CI");
        eprintln!("skipped: shared/data not found");
        return;
    };
    let sample = data.join("cap-samples").join("us-ntwc-tsunami-cancellation-update.xml");
    let o = bin().args(["cap", "check"]).arg(&sample).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let d = tmp("cap");
    let bad = d.join("bad.xml");
    let body =
        std::fs::read_to_string(&sample).unwrap().replacen("<status>Actual</status>", "<status>Real</status>", 1);
    std::fs::write(&bad, body).unwrap();
    let o = bin().args(["cap", "check", "--lang", "en"]).arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bad.xml:"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(d);
}

/// Backup, a later change, restore: the audit chain verifies and the later change is gone.
/// `db` selects the database (`--data DIR` or `--database-url URL`).
fn backup_round_trip(db: &[&std::ffi::OsStr], dir: &Path) {
    let user = |name: &str| {
        bin()
            .args(db)
            .args(["admin", "create-user", "--username", name, "--password", "Passw0rd1", "--role", "supervisor"])
            .args(["--division", "320500000000"])
            .output()
            .unwrap()
    };
    let run = |args: &[&std::ffi::OsStr]| {
        let o = bin().args(db).args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        o
    };
    assert!(user("before1").status.success());
    let file = dir.join("tongxin.backup");
    run(&["backup".as_ref(), file.as_os_str()]);
    let o = bin().args(db).arg("backup").arg(&file).output().unwrap();
    assert!(!o.status.success(), "an existing backup is never overwritten");
    assert!(user("after1").status.success());
    run(&["restore".as_ref(), file.as_os_str()]);
    let o = run(&["audit".as_ref(), "verify".as_ref()]);
    assert!(text(&o).contains("intact"), "{}", text(&o));
    let o = user("before1");
    assert!(!o.status.success() && text(&o).contains("username"), "before1 exists after restore: {}", text(&o));
    assert!(user("after1").status.success(), "after1 is gone after restore");
    let o = bin().args(db).arg("restore").arg(dir.join("missing.backup")).output().unwrap();
    assert!(!o.status.success());
}

#[test]
fn backup_and_restore_round_trip_on_sqlite() {
    let d = tmp("backup");
    let data = d.join("data");
    backup_round_trip(&["--data".as_ref(), data.as_os_str()], &d);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn backup_and_restore_round_trip_on_postgres() {
    let Ok(base) = std::env::var("TONGXIN_TEST_PG") else {
        eprintln!("skipped: TONGXIN_TEST_PG not set");
        return;
    };
    if std::process::Command::new("pg_dump").arg("--version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "pg_dump must be installed in CI");
        return;
    }
    // A database of its own: restore replaces everything in it.
    let name = format!("tongxin_backup_{}", std::process::id());
    let admin = |sql: String| {
        let o =
            std::process::Command::new("psql").arg(&base).args(["-v", "ON_ERROR_STOP=1", "-c", &sql]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    admin(format!("DROP DATABASE IF EXISTS {name}"));
    admin(format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let d = tmp("pgbackup");
    backup_round_trip(&["--database-url".as_ref(), url.as_ref()], &d);
    admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    let _ = std::fs::remove_dir_all(d);
}

/// Boundaries stored in the SQLite database under `data`: (code, synthetic) in code order.
fn stored_boundaries(data: &Path) -> Vec<(String, bool)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = tongxin_store::StoreConfig {
            url: tongxin_store::sqlite_url(&data.join("tongxin.db")),
            max_connections: 1,
            pg_schema: None,
        };
        let s = tongxin_store::Store::connect(&cfg).await.unwrap();
        let v = s.boundaries_within("320500000000/", None, 100).await.unwrap();
        s.close().await;
        let mut v: Vec<(String, bool)> = v.into_iter().map(|b| (b.division_code, b.synthetic)).collect();
        v.sort();
        v
    })
}

#[test]
fn import_boundaries_loads_real_district_outlines_and_refuses_bad_files_whole() {
    let Some(shared) = shared_data() else {
        assert!(std::env::var("CI").is_err(), "shared/data must be present in CI");
        eprintln!("skipped: shared/data not found");
        return;
    };
    let real = shared.join("suzhou-districts.geojson");
    let d = tmp("boundaries");
    let data = d.join("data");
    let import = |file: &Path, extra: &[&str]| {
        bin().arg("--data").arg(&data).args(["import", "boundaries"]).arg(file).args(extra).output().unwrap()
    };
    let geo: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    let n = geo["features"].as_array().unwrap().len();

    // Wrong level: district outlines are not streets. Nothing saved.
    let o = import(&real, &["--level", "street"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("不是所选的 street") && text(&o).contains("nothing saved"), "{}", text(&o));

    // One feature with longitude and latitude swapped: a clear error naming it, nothing saved.
    let mut swapped = geo.clone();
    let ring = &mut swapped["features"][3]["geometry"]["coordinates"][0][0];
    for p in ring.as_array_mut().unwrap() {
        let a = p.as_array_mut().unwrap();
        a.swap(0, 1);
    }
    let bad = d.join("swapped.geojson");
    std::fs::write(&bad, swapped.to_string()).unwrap();
    let o = import(&bad, &["--level", "district"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("颠倒") && text(&o).contains("姑苏区"), "{}", text(&o));
    assert!(text(&o).contains("swapped") && text(&o).contains("nothing saved"), "{}", text(&o));

    // A self-intersecting ring (a bow tie) in one feature: refused.
    let mut bow = geo.clone();
    bow["features"][0]["geometry"] = serde_json::json!({"type": "Polygon", "coordinates": [[[120.5, 31.3], [120.6, 31.4], [120.6, 31.3], [120.5, 31.4], [120.5, 31.3]]]});
    let bad = d.join("bowtie.geojson");
    std::fs::write(&bad, bow.to_string()).unwrap();
    let o = import(&bad, &["--level", "district"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("自相交") && text(&o).contains("intersects itself"), "{}", text(&o));
    assert!(stored_boundaries(&data).is_empty(), "refused files leave nothing behind");

    // Dry run previews every real outline and saves nothing; the real import saves them all.
    let o = import(&real, &["--level", "district", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("320508000000 姑苏区") && text(&o).contains("nothing saved"), "{}", text(&o));
    assert!(stored_boundaries(&data).is_empty());
    let o = import(&real, &["--level", "district", "--crs", "wgs84"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("{n} features: {n} valid, 0 bad")), "{}", text(&o));
    let stored = stored_boundaries(&data);
    assert_eq!(stored.len(), n);
    assert!(stored.iter().any(|(c, synthetic)| c == "320508000000" && !synthetic));
    let o = bin().arg("--data").arg(&data).args(["audit", "verify"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_dir_all(d);
}

fn json_line(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|_| panic!("one JSON line: {}", text(o)))
}

#[test]
fn bench_mobilise_and_offer_latency_run_small() {
    // Tiny runs keep the benchmarks from rotting; the figures come from release builds.
    let o = bin().args(["bench", "mobilise", "--slots", "60", "--responders", "3000"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v = json_line(&o);
    assert_eq!(v["slots"], 60, "{v}");
    assert_eq!(v["offers"], v["filled"], "{v}");
    assert!(v["offers"].as_i64().unwrap() > 0 && v["live_events"].as_i64().unwrap() > 0, "{v}");
    for k in ["propose_ms", "confirm_ms", "total_ms"] {
        assert!(v[k].as_f64().is_some(), "{k}: {v}");
    }
    let o = bin().args(["bench", "offer-latency", "--offers", "5"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v = json_line(&o);
    assert_eq!((v["received"].as_i64(), v["missed"].as_i64()), (Some(5), Some(0)), "{v}");
}
