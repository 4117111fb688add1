//! Demo data of capability H: generated grid boundaries (said so on the map), buildings inside
//! their grid, households in buildings, about 10 % with a vulnerable member, and the demo grid
//! worker's local responders.

use crate::{App, AppResult, RequestCtx};
use indicatif::{ProgressBar, ProgressStyle};
use tongxin_domain::division::DivisionRow;
use tongxin_domain::fake::{district_name, Faker};
use tongxin_domain::grids::{
    block_cell, check_tier, needs_key, rect, BlockLayout, BuildingKind, Need, ResponderKind, VulnerableKind,
};
use tongxin_store::bulk::BulkSink;
use tongxin_store::grids::{self as st, Boundary, Building, Household, NewVulnerable, Responder};
use tongxin_store::{now_ms, StoreError, Tx};

/// Side of a community's block of grids, metres.
pub const BLOCK_M: f64 = 600.0;
/// Households per grid on the demo street (richer than elsewhere at small scale).
pub const DEMO_STREET_HOUSEHOLDS: usize = 48;
/// Source label of generated boundaries.
pub const GENERATED_SOURCE: &str = "演示生成（非真实边界） / generated for the demo (not real boundaries)";

/// What the base-data seed produced.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct BaseSeedReport {
    /// Grid boundaries generated.
    pub boundaries: usize,
    /// Buildings.
    pub buildings: usize,
    /// Households.
    pub households: usize,
    /// Vulnerable residents.
    pub vulnerable: usize,
    /// Milliseconds spent writing each table (generation runs alongside).
    pub ms_buildings: u128,
    /// See `ms_buildings`.
    pub ms_households: u128,
    /// See `ms_buildings`.
    pub ms_vulnerable: u128,
    /// See `ms_buildings`.
    pub ms_boundaries: u128,
}

const KINDS: [(VulnerableKind, u32); 6] = [
    (VulnerableKind::ElderlyAlone, 40),
    (VulnerableKind::Chronic, 20),
    (VulnerableKind::Disabled, 15),
    (VulnerableKind::Bedridden, 10),
    (VulnerableKind::Pregnant, 8),
    (VulnerableKind::ChildNoCarer, 7),
];

fn weighted<T: Copy>(f: &mut Faker, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rand::Rng::gen_range(f.rng(), 0..total);
    for (t, w) in items {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    items[0].0
}

fn needs_for(f: &mut Faker, kind: VulnerableKind) -> Vec<Need> {
    match kind {
        VulnerableKind::Chronic => match rand::Rng::gen_range(f.rng(), 0..10) {
            0..=2 => vec![Need::Dialysis],
            3..=4 => vec![Need::Oxygen],
            _ => vec![Need::Medication],
        },
        VulnerableKind::Bedridden if f.chance(300) => vec![Need::Oxygen],
        VulnerableKind::Disabled => vec![Need::Wheelchair],
        VulnerableKind::ElderlyAlone if f.chance(150) => vec![Need::Cognitive],
        _ => vec![],
    }
}

fn note_for(kind: VulnerableKind, needs: &[Need]) -> &'static str {
    if needs.contains(&Need::Dialysis) {
        "每周二、四、六透析 / dialysis Tue, Thu, Sat"
    } else if needs.contains(&Need::Oxygen) {
        "家用制氧机，停电需转移 / home oxygen: move out if power fails"
    } else if kind == VulnerableKind::Bedridden {
        "需担架转移 / needs a stretcher to move"
    } else {
        ""
    }
}

/// One community's run of grids, laid out and seeded in the sequential pass so that the rows
/// themselves can be generated on several threads and still come out the same for a seed.
struct Job {
    /// Index of the community's first grid in `grids`, and how many it has.
    first: usize,
    n: usize,
    block: (f64, f64, f64, f64),
    seed: u64,
    district: String,
    street: String,
}

/// Rows of one or more communities. Ids are local (from 0) until [`Rows::append`] places them.
#[derive(Default)]
struct Rows {
    boundaries: Vec<Boundary>,
    buildings: Vec<Building>,
    households: Vec<Household>,
    vulnerable: Vec<NewVulnerable>,
    grids: usize,
}

impl Rows {
    /// Appends `other` whose ids are local, moving them past the ids already taken (`next`:
    /// building, household, person).
    fn append(&mut self, mut other: Rows, next: &mut [i64; 3]) {
        for b in &mut other.buildings {
            b.id += next[0];
        }
        for h in &mut other.households {
            h.id += next[1];
            h.building_id = h.building_id.map(|b| b + next[0]);
        }
        for v in &mut other.vulnerable {
            v.id += next[2];
            v.household_id += next[1];
        }
        next[0] += other.buildings.len() as i64;
        next[1] += other.households.len() as i64;
        next[2] += other.vulnerable.len() as i64;
        self.boundaries.append(&mut other.boundaries);
        self.buildings.append(&mut other.buildings);
        self.households.append(&mut other.households);
        self.vulnerable.append(&mut other.vulnerable);
        self.grids += other.grids;
    }

    /// Room for `parts` appended one after the other (batches are tens of thousands of rows:
    /// growing the vectors copies them again and again).
    fn reserve_for(&mut self, parts: &[Rows]) {
        self.boundaries.reserve(parts.iter().map(|p| p.boundaries.len()).sum());
        self.buildings.reserve(parts.iter().map(|p| p.buildings.len()).sum());
        self.households.reserve(parts.iter().map(|p| p.households.len()).sum());
        self.vulnerable.reserve(parts.iter().map(|p| p.vulnerable.len()).sum());
    }
}

/// What the generator threads share.
struct GenCtx {
    grids: Vec<DivisionRow>,
    paths: Vec<String>,
    per_grid: usize,
    demo_part: String,
    crypto: std::sync::Arc<crate::registry::crypto::PersonalCrypto>,
    now: i64,
}

/// Communities generated per batch handed to the writer (about 30,000 households at city scale).
const JOBS_PER_BATCH: usize = 16;

impl App {
    /// Generates base data for `grids` (in community order, with their paths) inside the seed
    /// transaction: a block of cells per community, one cell per grid as its (generated)
    /// boundary, buildings on a lattice inside the cell, `per_grid` households per grid
    /// ([`DEMO_STREET_HOUSEHOLDS`] on the demo street) placed in the buildings, 10 % of them
    /// (25 % on the demo street) with a vulnerable member. `name_of` gives a division's name.
    ///
    /// Rows are generated on two threads (one generator per community, seeded from `f`, so the
    /// data do not depend on scheduling) while this task writes the previous batch.
    #[allow(clippy::too_many_arguments)]
    pub async fn seed_base_data(
        &self,
        tx: &mut Tx,
        f: &mut Faker,
        grids: &[DivisionRow],
        grid_paths: &[String],
        per_grid: usize,
        name_of: &(dyn Fn(&str) -> String + Sync),
        progress: bool,
    ) -> AppResult<BaseSeedReport> {
        let sink = &mut BulkSink::Tx(tx);
        Ok(self.seed_base_data_into(sink, f, grids, grid_paths, per_grid, name_of, progress).await?.0)
    }

    /// As [`App::seed_base_data`], writing to `sink`. Boundaries are upserted, which a staging
    /// sink does not do: with one they are returned for the caller to upsert in its
    /// transaction (with a transaction sink they are written and none are returned).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn seed_base_data_into(
        &self,
        sink: &mut BulkSink<'_>,
        f: &mut Faker,
        grids: &[DivisionRow],
        grid_paths: &[String],
        per_grid: usize,
        name_of: &(dyn Fn(&str) -> String + Sync),
        progress: bool,
    ) -> AppResult<(BaseSeedReport, Vec<Boundary>)> {
        let pb = if progress { ProgressBar::new(grids.len() as u64) } else { ProgressBar::hidden() };
        pb.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message("网格 grids");
        // Sequential pass: blocks on the city lattice and one seed per community.
        let mut layout = BlockLayout::new(BLOCK_M, 31.3);
        let mut jobs = Vec::new();
        let mut i = 0;
        while i < grids.len() {
            let community = grids[i].parent.clone().unwrap_or_default();
            let mut j = i;
            while j < grids.len() && grids[j].parent.as_deref() == Some(community.as_str()) {
                j += 1;
            }
            let d6 = community.get(..6).unwrap_or("320508").to_string();
            let (wlon, wlat) = f.point_in_district(&d6);
            jobs.push(Job {
                first: i,
                n: j - i,
                block: layout.claim(wlon, wlat),
                seed: rand::Rng::gen(f.rng()),
                district: district_name(&d6).unwrap_or("").to_string(),
                street: name_of(community.get(..9).map(|s| format!("{s}000")).as_deref().unwrap_or("")),
            });
            i = j;
        }
        let now = now_ms();
        let ctx = std::sync::Arc::new(GenCtx {
            grids: grids.to_vec(),
            paths: grid_paths.to_vec(),
            per_grid,
            demo_part: format!("/{}/", crate::seed::DEMO_STREET),
            crypto: self.crypto.clone(),
            now,
        });
        let mut next = [
            sink.next_id("buildings").await?,
            sink.next_id("households").await?,
            sink.next_id("vulnerable_people").await?,
        ];
        // Two batches in flight at most: memory stays flat at city scale.
        let (send, mut recv) = tokio::sync::mpsc::channel::<Rows>(2);
        let producer = tokio::task::spawn_blocking(move || {
            for group in jobs.chunks(JOBS_PER_BATCH) {
                let half = group.len().div_ceil(2);
                let (a, b) = std::thread::scope(|s| {
                    let h = s.spawn(|| group[half..].iter().map(|j| gen_community(&ctx, j)).collect::<Vec<_>>());
                    let a: Vec<Rows> = group[..half].iter().map(|j| gen_community(&ctx, j)).collect();
                    (a, h.join())
                });
                let Ok(b) = b else { return };
                let mut batch = Rows::default();
                let parts: Vec<Rows> = a.into_iter().chain(b).collect();
                batch.reserve_for(&parts);
                for r in parts {
                    batch.append(r, &mut next);
                }
                if send.blocking_send(batch).is_err() {
                    return; // the writer stopped on an error
                }
            }
        });
        let mut report = BaseSeedReport::default();
        let mut pending = Vec::new();
        while let Some(b) = recv.recv().await {
            report.boundaries += b.boundaries.len();
            report.buildings += b.buildings.len();
            report.households += b.households.len();
            report.vulnerable += b.vulnerable.len();
            pb.inc(b.grids as u64);
            let t = std::time::Instant::now();
            sink.insert(b.buildings, now).await?;
            report.ms_buildings += t.elapsed().as_millis();
            let t = std::time::Instant::now();
            sink.insert(b.households, now).await?;
            report.ms_households += t.elapsed().as_millis();
            let t = std::time::Instant::now();
            sink.insert(b.vulnerable, now).await?;
            report.ms_vulnerable += t.elapsed().as_millis();
            let t = std::time::Instant::now();
            match sink {
                BulkSink::Tx(tx) => st::upsert_boundaries(tx, &b.boundaries).await?,
                BulkSink::Stage(_) => pending.extend(b.boundaries),
            }
            report.ms_boundaries += t.elapsed().as_millis();
        }
        producer.await.map_err(|e| crate::AppError::Internal(format!("seed generator: {e}")))?;
        if report.boundaries != grids.len() {
            return Err(crate::AppError::Internal("seed generator stopped early".into()));
        }
        if let BulkSink::Tx(tx) = sink {
            st::sync_ids(tx, self.store.backend()).await?;
        }
        pb.finish_and_clear();
        Ok((report, pending))
    }
}

/// Generates one community's grids: boundary cells, buildings, households and vulnerable
/// residents, with local ids.
fn gen_community(ctx: &GenCtx, job: &Job) -> Rows {
    let mut f = Faker::new(job.seed);
    let mut out = Rows { grids: job.n, ..Rows::default() };
    // About a building per 16 households and a vulnerable resident per 10 (25 % on the demo street).
    let households = job.n * ctx.per_grid.max(DEMO_STREET_HOUSEHOLDS);
    out.boundaries.reserve(job.n);
    out.households.reserve(households);
    out.buildings.reserve(households / 8);
    out.vulnerable.reserve(households / 8);
    for k in 0..job.n {
        let g = &ctx.grids[job.first + k];
        let path = &ctx.paths[job.first + k];
        let cell = block_cell(job.block, job.n, k);
        let mp = rect(cell.0, cell.1, cell.2, cell.3);
        out.boundaries.push(Boundary {
            division_code: g.code.clone(),
            division_path: path.clone(),
            level: "grid".into(),
            geometry: serde_json::json!({ "type": "MultiPolygon", "coordinates": mp }).to_string(),
            bbox: [cell.0, cell.1, cell.2, cell.3],
            source: GENERATED_SOURCE.into(),
            synthetic: true,
            updated_at: ctx.now,
        });
        let demo = path.contains(&ctx.demo_part);
        let count = if demo { DEMO_STREET_HOUSEHOLDS } else { ctx.per_grid };
        let vuln_permille = if demo { 250 } else { 100 };
        gen_grid(ctx, &mut f, &mut out, g, path, cell, count, vuln_permille, &job.district, &job.street);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn gen_grid(
    ctx: &GenCtx,
    f: &mut Faker,
    b: &mut Rows,
    g: &DivisionRow,
    path: &str,
    cell: (f64, f64, f64, f64),
    count: usize,
    vuln_permille: u32,
    district: &str,
    street: &str,
) {
    // Buildings until their capacity holds `count` households.
    let old_town = district == "姑苏区";
    let mut plan: Vec<(i64, i64)> = Vec::new(); // (floors, per floor)
    let mut capacity = 0;
    while capacity < count.max(1) {
        let floors = if old_town {
            rand::Rng::gen_range(f.rng(), 2..=6)
        } else if f.chance(300) {
            rand::Rng::gen_range(f.rng(), 11..=26)
        } else {
            rand::Rng::gen_range(f.rng(), 4..=7)
        };
        let per_floor = rand::Rng::gen_range(f.rng(), 2..=4);
        plan.push((floors, per_floor));
        capacity += (floors * per_floor) as usize;
    }
    let compound = {
        let a = f.street_address(district, street);
        match a.find('号') {
            Some(p) => a[..p + '号'.len_utf8()].to_string(),
            None => a,
        }
    };
    let nb = plan.len();
    let mut left = count;
    for (k, (floors, per_floor)) in plan.into_iter().enumerate() {
        let sub = block_cell((cell.0, cell.1, cell.2 - cell.0, cell.3 - cell.1), nb, k);
        let (lon, lat) = ((sub.0 + sub.2) / 2.0, (sub.1 + sub.3) / 2.0);
        let (lon, lat) = ((lon * 1e6).round() / 1e6, (lat * 1e6).round() / 1e6);
        let id = b.buildings.len() as i64;
        let name = format!("{}幢", k + 1);
        let kind = if floors <= 3 && old_town {
            BuildingKind::House
        } else if f.chance(80) {
            BuildingKind::Mixed
        } else {
            BuildingKind::Residential
        };
        let address = format!("{compound}{name}");
        let here = left.min((floors * per_floor) as usize);
        left -= here;
        for slot in 0..here as i64 {
            let floor = 1 + slot / per_floor;
            let room = floor * 100 + slot % per_floor + 1;
            let hid = b.households.len() as i64;
            let head = f.person_name();
            let mut members = rand::Rng::gen_range(f.rng(), 1..6);
            let mut kinds = String::new();
            if f.chance(vuln_permille) {
                let kind = weighted(f, &KINDS);
                if kind == VulnerableKind::ElderlyAlone {
                    members = 1;
                }
                let needs = needs_for(f, kind);
                b.vulnerable.push(NewVulnerable {
                    id: b.vulnerable.len() as i64,
                    household_id: hid,
                    grid_code: g.code.clone(),
                    division_path: path.to_string(),
                    name: if kind == VulnerableKind::ElderlyAlone { head.clone() } else { f.person_name() },
                    kind: kind.key().into(),
                    needs: needs_key(&needs),
                    tier: check_tier(kind, &needs),
                    note: note_for(kind, &needs).into(),
                });
                kinds = kind.key().to_string();
            }
            b.households.push(Household {
                id: hid,
                grid_code: g.code.clone(),
                division_path: path.to_string(),
                building_id: Some(id),
                address: format!("{address}{room}室"),
                floor: Some(floor),
                lon,
                lat,
                members,
                vulnerable: kinds,
                head_name: head,
                contact_enc: ctx.crypto.encrypt(&f.phone()),
                updated_at: ctx.now,
            });
        }
        b.buildings.push(Building {
            id,
            grid_code: g.code.clone(),
            division_path: path.to_string(),
            name,
            address,
            lon,
            lat,
            floors,
            kind: kind.key().into(),
            route_seq: k as i64 + 1,
        });
    }
}

impl App {
    /// Demo data of capability H that needs the demo accounts: the demo grid worker, a building
    /// head and a party member on the grid worker's grid. Idempotent.
    pub async fn seed_grids(&self) -> AppResult<()> {
        let Ok(user) = self.store.user_by_username("wangge").await else { return Ok(()) };
        let Some(grid) = user.division_code.clone() else { return Ok(()) };
        if !self.store.responders_in_grid(&grid).await?.is_empty() {
            return Ok(());
        }
        let path = self.store.division(&grid).await?.path;
        let buildings = self.store.buildings_in_grid(&grid).await?;
        let ids: Vec<i64> = buildings.iter().map(|b| b.id).collect();
        let half = ids.len().div_ceil(2);
        let mut tx = self.store.begin().await?;
        let now = now_ms();
        let people = [
            (
                ResponderKind::GridWorker,
                user.display_name.trim_start_matches("网格员 ").to_string(),
                Some(user.id),
                "",
                ids.clone(),
            ),
            (ResponderKind::BuildingHead, "周桂英".to_string(), None, "", ids[..half.min(ids.len())].to_vec()),
            (
                ResponderKind::PartyMember,
                "陈国强".to_string(),
                None,
                "党员责任区：北半片 / party zone: north half",
                ids[half.min(ids.len())..].to_vec(),
            ),
        ];
        let mut f = Faker::new(7);
        for (kind, name, user_id, zone, b) in people {
            let id = st::insert_responder(
                &mut tx,
                &Responder {
                    id: 0,
                    grid_code: grid.clone(),
                    division_path: path.clone(),
                    kind: kind.key().into(),
                    name,
                    phone_enc: self.crypto.encrypt(&f.phone()),
                    user_id,
                    volunteer_id: None,
                    zone: zone.into(),
                    buildings: b,
                },
                now,
            )
            .await?;
            tongxin_store::audit::append(
                &mut tx,
                crate::audit::entry(
                    None,
                    &RequestCtx::default(),
                    "grids.responder.create",
                    "grid_responder",
                    id,
                    serde_json::json!({ "grid": grid, "kind": kind.key(), "demo": true }),
                ),
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}
