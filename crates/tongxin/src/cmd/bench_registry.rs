//! `tongxin bench registry`: list and export speed of the registry at city scale. Run after
//! `tongxin bench seed` (or `seed --scale city`) on the same --data / --database-url.

use super::{open, Resolved};
use clap::Args;
use std::time::Instant;
use tongxin_app::registry::excel::{ExportFormat, ExportList};
use tongxin_app::RequestCtx;
use tongxin_domain::page::Order;
use tongxin_domain::{Actor, Role};
use tongxin_store::registry::{OrgFilter, VolFilter};

/// Options.
#[derive(Debug, Args)]
pub struct RegistryBench {
    /// Repetitions per list query (median and p95 reported).
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    /// Skip the exports.
    #[arg(long)]
    pub no_export: bool,
}

fn actor(role: Role, code: &str, path: &str) -> Actor {
    Actor {
        user_id: 0,
        username: "bench".into(),
        display_name: "bench".into(),
        role,
        division_code: Some(code.into()),
        division_path: Some(path.into()),
        org_id: None,
    }
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.95))
}

/// Runs the benchmark, one JSON line per measurement.
pub async fn run(r: &Resolved, a: RegistryBench) -> anyhow::Result<()> {
    let app = open(&r.db).await?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let backend = app.store.backend().name();
    let city = app.store.division("320500000000").await?;
    let gusu = app.store.division("320508000000").await?;
    let commander = actor(Role::Commander, &city.code, &city.path);
    let officer = actor(Role::CivilAffairs, &gusu.code, &gusu.path);
    let street = app.store.division("320508018000").await?;
    let community = app
        .store
        .divisions_at_level(&street.path, tongxin_domain::division::Level::Community)
        .await?
        .first()
        .map_or(street.path.clone(), |d| d.path.clone());
    // The organisation with the most primary members.
    let busiest = tongxin_store::registry::org_with_most_members(app.store.reader()).await?.unwrap_or(1);
    let org_admin = Actor {
        role: Role::OrgAdmin,
        division_code: None,
        division_path: None,
        org_id: Some(busiest),
        ..actor(Role::OrgAdmin, "", "")
    };
    let orgs = app.store.count_rows("organizations").await?;
    let vols = app.store.count_rows("volunteers").await?;
    let org_cases: Vec<(&str, &Actor, OrgFilter)> = vec![
        ("orgs city first page by name", &commander, OrgFilter { limit: 50, ..Default::default() }),
        (
            "orgs city kind=social_service",
            &commander,
            OrgFilter { kind: Some("social_service".into()), limit: 50, ..Default::default() },
        ),
        (
            "orgs Gusu officer state=verified",
            &officer,
            OrgFilter { state: Some("verified".into()), limit: 50, ..Default::default() },
        ),
        (
            "orgs city name contains 助老",
            &commander,
            OrgFilter { q: Some("助老".into()), limit: 50, ..Default::default() },
        ),
        (
            "orgs city by id desc",
            &commander,
            OrgFilter { sort: Some("id".into()), order: Order::Desc, limit: 50, ..Default::default() },
        ),
    ];
    for (name, who, f) in &org_cases {
        let mut times = vec![];
        let mut n = 0;
        for _ in 0..a.repeat {
            let t = Instant::now();
            n = app.list_orgs(who, f).await?.items.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (p50, p95) = stats(times);
        println!(
            "{}",
            serde_json::json!({ "bench": "registry_list", "case": name, "rows": n, "p50_ms": p50, "p95_ms": p95, "orgs": orgs, "backend": backend, "cores": cores })
        );
    }
    let vol_cases: Vec<(&str, &Actor, VolFilter)> = vec![
        ("volunteers city first page", &commander, VolFilter { limit: 50, ..Default::default() }),
        (
            "volunteers city skill=first_aid insured",
            &commander,
            VolFilter { skill: Some("first_aid".into()), insured: Some(true), limit: 50, ..Default::default() },
        ),
        (
            "volunteers Gusu available now",
            &officer,
            VolFilter { available_now: Some(true), limit: 50, ..Default::default() },
        ),
        (
            "volunteers city cert=first_aid",
            &commander,
            VolFilter { cert: Some("first_aid".into()), limit: 50, ..Default::default() },
        ),
        (
            "volunteers city by updated desc",
            &commander,
            VolFilter { sort: Some("updated".into()), order: Order::Desc, limit: 50, ..Default::default() },
        ),
        (
            "volunteers city page 2 by name",
            &commander,
            VolFilter {
                cursor: app
                    .list_volunteers(&commander, &VolFilter { limit: 50, ..Default::default() })
                    .await?
                    .next_cursor
                    .and_then(|c| tongxin_domain::page::Cursor::decode(&c)),
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "volunteers Gusu officer one street",
            &officer,
            VolFilter { within_path: Some(street.path.clone()), limit: 50, ..Default::default() },
        ),
        (
            "volunteers Gusu officer one community",
            &officer,
            VolFilter { within_path: Some(community.clone()), limit: 50, ..Default::default() },
        ),
        ("volunteers organisation admin's members", &org_admin, VolFilter { limit: 50, ..Default::default() }),
    ];
    for (name, who, f) in &vol_cases {
        let mut times = vec![];
        let mut n = 0;
        for _ in 0..a.repeat {
            let t = Instant::now();
            n = app.list_volunteers(who, f).await?.items.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (p50, p95) = stats(times);
        println!(
            "{}",
            serde_json::json!({ "bench": "registry_list", "case": name, "rows": n, "p50_ms": p50, "p95_ms": p95, "volunteers": vols, "backend": backend, "cores": cores })
        );
    }
    if a.no_export {
        return Ok(());
    }
    let ctx = RequestCtx { request_id: "bench".into(), ip: "local".into(), ..Default::default() };
    for fmt in [ExportFormat::Csv, ExportFormat::Xlsx] {
        let t = Instant::now();
        let mut rx = app
            .export(
                &commander,
                &ctx,
                ExportList::Volunteers(VolFilter { limit: 500, ..Default::default() }),
                fmt,
                false,
            )
            .await?;
        let mut bytes = 0usize;
        while let Some(chunk) = rx.recv().await {
            bytes += chunk.map_err(|e| anyhow::anyhow!(e))?.len();
        }
        println!(
            "{}",
            serde_json::json!({ "bench": "registry_export", "format": format!("{fmt:?}"), "volunteers": vols, "bytes": bytes, "ms": t.elapsed().as_millis(), "backend": backend, "cores": cores })
        );
    }
    Ok(())
}
