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

/// Accumulates rows and writes them in batches.
struct Batches {
    buildings: Vec<Building>,
    households: Vec<Household>,
    vulnerable: Vec<NewVulnerable>,
    boundaries: Vec<Boundary>,
    report: BaseSeedReport,
    now: i64,
}

impl Batches {
    async fn flush(&mut self, tx: &mut Tx, all: bool) -> AppResult<()> {
        if all || self.buildings.len() >= 5_000 {
            st::insert_buildings(tx, &self.buildings, self.now).await?;
            self.buildings.clear();
        }
        if all || self.households.len() >= 10_000 {
            // Households reference buildings: write pending buildings first.
            st::insert_buildings(tx, &self.buildings, self.now).await?;
            self.buildings.clear();
            st::insert_households(tx, &self.households).await?;
            self.households.clear();
            st::insert_vulnerable(tx, &self.vulnerable, self.now).await?;
            self.vulnerable.clear();
        }
        if all || self.boundaries.len() >= 2_000 {
            st::upsert_boundaries(tx, &self.boundaries).await?;
            self.boundaries.clear();
        }
        Ok(())
    }
}

impl App {
    /// Generates base data for `grids` (in community order, with their paths) inside the seed
    /// transaction: a block of cells per community, one cell per grid as its (generated)
    /// boundary, buildings on a lattice inside the cell, `per_grid` households per grid
    /// ([`DEMO_STREET_HOUSEHOLDS`] on the demo street) placed in the buildings, 10 % of them
    /// (25 % on the demo street) with a vulnerable member. `name_of` gives a division's name.
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
        let pb = if progress { ProgressBar::new(grids.len() as u64) } else { ProgressBar::hidden() };
        pb.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message("网格 grids");
        let demo_path_part = format!("/{}/", crate::seed::DEMO_STREET);
        let mut layout = BlockLayout::new(BLOCK_M, 31.3);
        let mut next_building = st::next_id(tx, "buildings").await?;
        let mut next_household = st::next_id(tx, "households").await?;
        let mut next_person = st::next_id(tx, "vulnerable_people").await?;
        let now = now_ms();
        let mut b = Batches {
            buildings: Vec::with_capacity(5_000),
            households: Vec::with_capacity(10_000),
            vulnerable: Vec::with_capacity(2_000),
            boundaries: Vec::with_capacity(2_000),
            report: BaseSeedReport::default(),
            now,
        };
        let mut i = 0;
        while i < grids.len() {
            // One community's run of grids.
            let community = grids[i].parent.clone().unwrap_or_default();
            let mut j = i;
            while j < grids.len() && grids[j].parent.as_deref() == Some(community.as_str()) {
                j += 1;
            }
            let n = j - i;
            let d6 = community.get(..6).unwrap_or("320508").to_string();
            let (wlon, wlat) = f.point_in_district(&d6);
            let block = layout.claim(wlon, wlat);
            let district = district_name(&d6).unwrap_or("").to_string();
            let street = name_of(community.get(..9).map(|s| format!("{s}000")).as_deref().unwrap_or(""));
            for k in 0..n {
                let g = &grids[i + k];
                let path = &grid_paths[i + k];
                let cell = block_cell(block, n, k);
                let mp = rect(cell.0, cell.1, cell.2, cell.3);
                b.boundaries.push(Boundary {
                    division_code: g.code.clone(),
                    division_path: path.clone(),
                    level: "grid".into(),
                    geometry: serde_json::json!({ "type": "MultiPolygon", "coordinates": mp }).to_string(),
                    bbox: [cell.0, cell.1, cell.2, cell.3],
                    source: GENERATED_SOURCE.into(),
                    synthetic: true,
                    updated_at: now,
                });
                b.report.boundaries += 1;
                let demo = path.contains(&demo_path_part);
                let count = if demo { DEMO_STREET_HOUSEHOLDS } else { per_grid };
                let vuln_permille = if demo { 250 } else { 100 };
                self.seed_grid(
                    tx,
                    f,
                    &mut b,
                    g,
                    path,
                    cell,
                    count,
                    vuln_permille,
                    &district,
                    &street,
                    &mut [&mut next_building, &mut next_household, &mut next_person],
                )
                .await?;
            }
            pb.inc(n as u64);
            i = j;
        }
        b.flush(tx, true).await?;
        st::sync_ids(tx, self.store.backend()).await?;
        pb.finish_and_clear();
        Ok(b.report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn seed_grid(
        &self,
        tx: &mut Tx,
        f: &mut Faker,
        b: &mut Batches,
        g: &DivisionRow,
        path: &str,
        cell: (f64, f64, f64, f64),
        count: usize,
        vuln_permille: u32,
        district: &str,
        street: &str,
        ids: &mut [&mut i64; 3],
    ) -> AppResult<()> {
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
            let id = *ids[0];
            *ids[0] += 1;
            let name = format!("{}幢", k + 1);
            let kind = if floors <= 3 && old_town {
                BuildingKind::House
            } else if f.chance(80) {
                BuildingKind::Mixed
            } else {
                BuildingKind::Residential
            };
            let address = format!("{compound}{name}");
            b.buildings.push(Building {
                id,
                grid_code: g.code.clone(),
                division_path: path.to_string(),
                name,
                address: address.clone(),
                lon: (lon * 1e6).round() / 1e6,
                lat: (lat * 1e6).round() / 1e6,
                floors,
                kind: kind.key().into(),
                route_seq: k as i64 + 1,
            });
            b.report.buildings += 1;
            let here = left.min((floors * per_floor) as usize);
            left -= here;
            for slot in 0..here as i64 {
                let floor = 1 + slot / per_floor;
                let room = floor * 100 + slot % per_floor + 1;
                let hid = *ids[1];
                *ids[1] += 1;
                let head = f.person_name();
                let mut members = rand::Rng::gen_range(f.rng(), 1..6);
                let mut kinds = String::new();
                if f.chance(vuln_permille) {
                    let kind = weighted(f, &KINDS);
                    if kind == VulnerableKind::ElderlyAlone {
                        members = 1;
                    }
                    let needs = needs_for(f, kind);
                    let pid = *ids[2];
                    *ids[2] += 1;
                    b.vulnerable.push(NewVulnerable {
                        id: pid,
                        household_id: hid,
                        grid_code: g.code.clone(),
                        division_path: path.to_string(),
                        name: if kind == VulnerableKind::ElderlyAlone { head.clone() } else { f.person_name() },
                        kind: kind.key().into(),
                        needs: needs_key(&needs),
                        tier: check_tier(kind, &needs),
                        note: note_for(kind, &needs).into(),
                    });
                    b.report.vulnerable += 1;
                    kinds = kind.key().to_string();
                }
                b.households.push(Household {
                    id: hid,
                    grid_code: g.code.clone(),
                    division_path: path.to_string(),
                    building_id: Some(id),
                    address: format!("{address}{room}室"),
                    floor: Some(floor),
                    lon: (lon * 1e6).round() / 1e6,
                    lat: (lat * 1e6).round() / 1e6,
                    members,
                    vulnerable: kinds,
                    head_name: head,
                    contact_enc: self.crypto.encrypt(&f.phone()),
                    updated_at: b.now,
                });
                b.report.households += 1;
            }
        }
        b.flush(tx, false).await
    }

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
