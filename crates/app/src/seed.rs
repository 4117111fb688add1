//! Demo data: deterministic (seeded), realistic Suzhou data at small or city scale, and one
//! demo account per role. Every capability adds its part here.

use crate::auth::hash_password;
use crate::divisions::{grid_rows, suzhou_rows};
use crate::grids::seed::BaseSeedReport;
use crate::{App, AppError, AppResult, RequestCtx};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::time::Instant;
use tongxin_domain::division::{self, DivisionRow, Level};
use tongxin_domain::fake::{district_name, FakeOrgKind, Faker};
use tongxin_domain::Role;
use tongxin_store::bulk::{BulkMode, BulkSink};
use tongxin_store::grids::{Boundary, Building, Household, NewVulnerable};
use tongxin_store::registry::{self, NewOrg, NewVolunteer};
use tongxin_store::{now_ms, StoreError};

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// A few thousand rows: seconds.
    Small,
    /// Suzhou scale: ~24,000 organisations, 245,000 volunteers, grids under every community.
    City,
}

/// Row counts of a plan.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Organisations.
    pub orgs: usize,
    /// Volunteers.
    pub volunteers: usize,
    /// Average grids per community.
    pub grids_per_community: usize,
    /// Households per grid.
    pub households_per_grid: usize,
}

impl Scale {
    /// The plan for this scale.
    pub fn plan(self) -> Plan {
        match self {
            Scale::Small => Plan { orgs: 240, volunteers: 2_400, grids_per_community: 2, households_per_grid: 3 },
            Scale::City => {
                Plan { orgs: 24_000, volunteers: 245_000, grids_per_community: 10, households_per_grid: 180 }
            }
        }
    }
}

/// What a seed run produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedReport {
    /// Organisations inserted.
    pub orgs: usize,
    /// Volunteers inserted.
    pub volunteers: usize,
    /// Grids inserted.
    pub grids: usize,
    /// Households inserted.
    pub households: usize,
    /// Vulnerable residents inserted.
    pub vulnerable: usize,
    /// Buildings inserted.
    pub buildings: usize,
    /// Wall time in milliseconds.
    pub ms: u128,
    /// Where the time went, in milliseconds, in order (writes of a table; generation of grid
    /// rows runs on other threads alongside their writes).
    pub phases: Vec<(&'static str, u128)>,
}

/// What [`App::seed_responders`] added.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResponderSeed {
    /// Volunteers inserted.
    pub volunteers: usize,
    /// Volunteer accounts created (one per volunteer available now).
    pub accounts: usize,
    /// Wall time in milliseconds.
    pub ms: u128,
}

/// The large tables of a seed: their secondary indexes are built after loading them (see
/// `tongxin_store::bulk::defer_indexes`), and a city seed on SQLite stages them
/// (`tongxin_store::Store::stage`).
const BULK_TABLES: [&str; 4] = ["volunteers", "buildings", "households", "vulnerable_people"];

/// Password of every demo account (printed by `serve --demo` and in the README).
pub const DEMO_PASSWORD: &str = "Tongxin2026";

/// The demo street (平江街道, Gusu) where the community worker, grid worker and residents live.
pub const DEMO_STREET: &str = "320508018000";

/// Demo accounts: (username, display name, role, jurisdiction code).
pub const DEMO_ACCOUNTS: [(&str, &str, Role, &str); 9] = [
    ("commander", "市应急局值班员 王建国", Role::Commander, "320500000000"),
    ("minzheng", "姑苏区民政局 李敏", Role::CivilAffairs, "320508000000"),
    ("shequ", "平江街道 张晓燕", Role::CommunityWorker, "320508018000"),
    ("wangge", "网格员 陆晨", Role::GridWorker, ""),
    ("zuzhi", "组织管理员 顾婷", Role::OrgAdmin, ""),
    ("zhiyuan", "志愿者 沈浩", Role::Volunteer, ""),
    ("jumin", "居民 钱阿姨", Role::Resident, ""),
    ("jiandu", "监督员 周正", Role::Supervisor, "320500000000"),
    ("admin", "系统管理员", Role::SysAdmin, "320500000000"),
];

const KIND_SHARE: [(FakeOrgKind, u32); 5] = [
    (FakeOrgKind::SocialService, 46),
    (FakeOrgKind::SocialGroup, 30),
    (FakeOrgKind::Company, 11),
    (FakeOrgKind::CommunityBody, 11),
    (FakeOrgKind::Foundation, 2),
];
const STATES: [(&str, u32); 5] = [("verified", 80), ("filed", 12), ("returned", 4), ("suspended", 2), ("rejected", 2)];

fn weighted<'a, T>(f: &mut Faker, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rand::Rng::gen_range(f.rng(), 0..total);
    for (t, w) in items {
        if x < *w {
            return t;
        }
        x -= w;
    }
    &items[0].0
}

struct Tree {
    rows: Vec<DivisionRow>,
    paths: HashMap<String, String>,
    index: HashMap<String, usize>,
    /// Communities per district code (6 digits).
    communities: HashMap<String, Vec<usize>>,
    districts: Vec<String>,
}

impl Tree {
    fn suzhou() -> Tree {
        let rows = suzhou_rows();
        let paths: HashMap<String, String> =
            rows.iter().zip(division::paths(&rows, "")).map(|(r, p)| (r.code.clone(), p)).collect();
        let mut communities: HashMap<String, Vec<usize>> = HashMap::new();
        let mut districts = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match r.level {
                Level::District => districts.push(r.code[..6].to_string()),
                Level::Community => communities.entry(r.code[..6].to_string()).or_default().push(i),
                _ => {}
            }
        }
        let index = rows.iter().enumerate().map(|(i, r)| (r.code.clone(), i)).collect();
        Tree { rows, paths, index, communities, districts }
    }

    fn name(&self, code: &str) -> &str {
        self.index.get(code).map_or("", |&i| self.rows[i].name.as_str())
    }

    /// A community, districts weighted by how many communities they have.
    fn pick_community(&self, f: &mut Faker) -> &DivisionRow {
        let total: usize = self.communities.values().map(Vec::len).sum();
        let mut x = rand::Rng::gen_range(f.rng(), 0..total);
        for d in &self.districts {
            let c = &self.communities[d];
            if x < c.len() {
                return &self.rows[c[x]];
            }
            x -= c.len();
        }
        &self.rows[self.communities[&self.districts[0]][0]]
    }
}

/// A seed run's generator: one Faker whose sequence runs grids, organisations, volunteers,
/// base data, so a seed gives the same data whichever way the rows are written.
struct Gen {
    scale: Scale,
    seed: u64,
    plan: Plan,
    tree: Tree,
    f: Faker,
    today: time::Date,
    now: i64,
    progress: bool,
}

impl Gen {
    fn new(scale: Scale, seed: u64, progress: bool) -> Gen {
        Gen {
            scale,
            seed,
            plan: scale.plan(),
            tree: Tree::suzhou(),
            f: Faker::new(seed),
            today: time::macros::date!(2026 - 11 - 28),
            now: now_ms(),
            progress,
        }
    }
}

/// The rows generated before any write: grids (with their paths) and organisations.
struct Fixed {
    grids: Vec<DivisionRow>,
    grid_paths: Vec<String>,
    orgs: Vec<NewOrg>,
    orgs_by_district: HashMap<String, Vec<i64>>,
}

/// Records the time since `t` as phase `name` and restarts `t`.
fn lap(phases: &mut Vec<(&'static str, u128)>, name: &'static str, t: &mut Instant) {
    phases.push((name, t.elapsed().as_millis()));
    *t = Instant::now();
}

fn bar(show: bool, len: u64, msg: &'static str) -> ProgressBar {
    let pb = if show { ProgressBar::new(len) } else { ProgressBar::hidden() };
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(msg);
    pb
}

impl App {
    /// Generates demo data at `scale` with `seed`. Refuses when organisations already exist.
    /// All rows go in one transaction: a failed seed leaves nothing behind. The load is a bulk
    /// load (`Store::begin_bulk`): it must run before the server accepts requests. At city
    /// scale on a SQLite file the large tables are staged first (`Store::stage`, rows written
    /// while they are generated) and copied in that transaction.
    pub async fn seed(&self, scale: Scale, seed: u64, progress: bool) -> AppResult<SeedReport> {
        let start = Instant::now();
        self.ensure_division_tree().await?;
        let existing = self.store.count_rows("organizations").await?;
        if existing > 0 {
            return Err(AppError::Conflict(tongxin_domain::Text::new(
                format!("数据库已有 {existing} 个组织，未重复生成演示数据"),
                format!("the database already holds {existing} organisations; demo data not generated again"),
            )));
        }
        // City scale is an offline, re-runnable load (see `BulkMode::Rerunnable`); the small seed
        // of `serve --demo` keeps the write-ahead log.
        let mode = if scale == Scale::City { BulkMode::Rerunnable } else { BulkMode::Wal };
        let mut phases = Vec::new();
        let mut t = Instant::now();
        let mut g = Gen::new(scale, seed, progress);
        let fixed = self.gen_fixed(&mut g);
        lap(&mut phases, "generate", &mut t);
        let stager = if scale == Scale::City { self.store.stage(&BULK_TABLES).await? } else { None };
        let (loaded, t) = match stager {
            Some(stager) => {
                let bulk = self.seed_bulk(&mut BulkSink::Stage(&stager), &mut g, &fixed, &mut phases).await?;
                t = Instant::now();
                let staged = stager.finish().await?;
                lap(&mut phases, "staging", &mut t);
                let tx = self.store.begin_bulk_staged(mode, &staged).await?;
                let loaded = self.seed_rows(tx, &mut g, &fixed, Some(bulk), &mut phases).await;
                let t = Instant::now();
                let restored = self.store.end_bulk().await;
                drop(staged);
                (loaded.and_then(|r| restored.map(|_| r).map_err(AppError::from)), t)
            }
            None => {
                let tx = self.store.begin_bulk(mode).await?;
                let loaded = self.seed_rows(tx, &mut g, &fixed, None, &mut phases).await;
                // Restore the writer's durable settings whatever happened to the load.
                let t = Instant::now();
                let restored = self.store.end_bulk().await;
                (loaded.and_then(|r| restored.map(|_| r).map_err(AppError::from)), t)
            }
        };
        let mut report = loaded?;
        phases.push(("checkpoint", t.elapsed().as_millis()));
        let t = Instant::now();
        self.store.analyze().await?;
        phases.push(("analyze", t.elapsed().as_millis()));
        report.phases = phases;
        report.ms = start.elapsed().as_millis();
        Ok(report)
    }

    /// Grids under every community and the organisations (small: generated before any write).
    fn gen_fixed(&self, g: &mut Gen) -> Fixed {
        let (tree, f, plan) = (&g.tree, &mut g.f, g.plan);
        // Grids under every community: a deterministic count around the plan's average.
        let mut grids = Vec::new();
        for r in tree.rows.iter().filter(|r| r.level == Level::Community) {
            let spread = plan.grids_per_community / 2;
            let n = plan.grids_per_community - spread + rand::Rng::gen_range(f.rng(), 0..=spread * 2);
            grids.extend(grid_rows(&r.code, n.max(1)));
        }
        let grid_paths: Vec<String> = grids
            .iter()
            .map(|g| format!("{}{}/", tree.paths[g.parent.as_deref().unwrap_or_default()], g.code))
            .collect();

        // Organisations: the standing forces first (government and rescue teams), then the rest.
        let (gov, rescue) = if g.scale == Scale::City { (16, 32) } else { (4, 8) };
        let pb = bar(g.progress, plan.orgs as u64, "组织 orgs");
        let mut orgs = Vec::with_capacity(plan.orgs);
        let mut orgs_by_district: HashMap<String, Vec<i64>> = HashMap::new();
        for i in 0..plan.orgs {
            let kind = if i < gov {
                FakeOrgKind::GovTeam
            } else if i < gov + rescue {
                FakeOrgKind::RescueTeam
            } else {
                *weighted(f, &KIND_SHARE)
            };
            let community = tree.pick_community(f).clone();
            let d6 = &community.code[..6];
            let street = community.parent.clone().unwrap_or_default();
            // Most organisations file at street level; community bodies at their community.
            let at = if kind == FakeOrgKind::CommunityBody { community.code.clone() } else { street.clone() };
            let domains = f.service_domains();
            let dname = district_name(d6).unwrap_or("苏州市");
            let name = if kind == FakeOrgKind::CommunityBody {
                f.community_team_name(&community.name)
            } else {
                f.org_name(kind, dname, domains.first().copied().unwrap_or("elderly"))
            };
            let (lon, lat) = f.point_in_district(d6);
            let id = i as i64 + 1;
            orgs_by_district.entry(d6.to_string()).or_default().push(id);
            orgs.push(NewOrg {
                id,
                name,
                credit_code: f.credit_code_for(kind, d6),
                kind: kind.key().to_string(),
                division_code: at.clone(),
                division_path: tree.paths[&at].clone(),
                address: f.street_address(dname, tree.name(&street)),
                lon,
                lat,
                contact_name: f.person_name(),
                contact_phone: self.crypto.encrypt(&f.phone()),
                domains: domains.join(","),
                people_count: rand::Rng::gen_range(f.rng(), 5..300),
                state: weighted(f, &STATES).to_string(),
            });
            pb.inc(1);
        }
        pb.finish_and_clear();
        Fixed { grids, grid_paths, orgs, orgs_by_district }
    }

    /// The large tables: volunteers, then buildings, households and vulnerable residents
    /// (capability H), written to `sink` while they are generated. Returns the base-data
    /// report and the boundaries `sink` did not take.
    async fn seed_bulk(
        &self,
        sink: &mut BulkSink<'_>,
        g: &mut Gen,
        fixed: &Fixed,
        phases: &mut Vec<(&'static str, u128)>,
    ) -> AppResult<(BaseSeedReport, Vec<Boundary>)> {
        let mut t = Instant::now();
        let plan = g.plan;
        let pb = bar(g.progress, plan.volunteers as u64, "志愿者 vols");
        let mut batch = Vec::with_capacity(10_000);
        // ID numbers are unique per person; at city scale random ones collide now and then.
        let mut seen_ids = std::collections::HashSet::with_capacity(plan.volunteers);
        for _ in 0..plan.volunteers {
            batch.push(self.volunteer_row(&mut g.f, &g.tree, g.today, &mut seen_ids, &fixed.orgs_by_district));
            if batch.len() == batch.capacity() {
                pb.inc(batch.len() as u64);
                sink.insert(std::mem::replace(&mut batch, Vec::with_capacity(10_000)), g.now).await?;
            }
        }
        sink.insert(batch, g.now).await?;
        pb.finish_and_clear();
        lap(phases, "volunteers", &mut t);

        // Capability H: grid boundaries, buildings, households and vulnerable residents.
        let tree = &g.tree;
        let name_of = |code: &str| tree.name(code).to_string();
        let (base, pending) = self
            .seed_base_data_into(
                sink,
                &mut g.f,
                &fixed.grids,
                &fixed.grid_paths,
                plan.households_per_grid,
                &name_of,
                g.progress,
            )
            .await?;
        lap(phases, "base_data", &mut t);
        phases.extend([
            ("base_data.buildings", base.ms_buildings),
            ("base_data.households", base.ms_households),
            ("base_data.vulnerable_people", base.ms_vulnerable),
            ("base_data.boundaries", base.ms_boundaries),
        ]);
        Ok((base, pending))
    }

    /// The seed's transaction: grids, organisations, the large tables (written here, or copied
    /// from `staged`'s staging file), secondary indexes built after the load, the audit record.
    async fn seed_rows(
        &self,
        mut tx: tongxin_store::Tx,
        g: &mut Gen,
        fixed: &Fixed,
        staged: Option<(BaseSeedReport, Vec<Boundary>)>,
        phases: &mut Vec<(&'static str, u128)>,
    ) -> AppResult<SeedReport> {
        let mut t = Instant::now();
        let deferred = tongxin_store::bulk::defer_indexes(&mut tx, self.store.backend(), &BULK_TABLES).await?;
        tongxin_store::divisions::insert_rows(&mut tx, &fixed.grids, &fixed.grid_paths).await?;
        lap(phases, "grids", &mut t);
        registry::insert_orgs(&mut tx, &fixed.orgs, g.now).await?;
        registry::sync_org_ids(&mut tx, self.store.backend()).await?;
        lap(phases, "organizations", &mut t);
        let base = match staged {
            Some((base, boundaries)) => {
                use tongxin_store::bulk::copy_staged;
                copy_staged::<NewVolunteer>(&mut tx).await?;
                copy_staged::<Building>(&mut tx).await?;
                copy_staged::<Household>(&mut tx).await?;
                copy_staged::<NewVulnerable>(&mut tx).await?;
                tongxin_store::grids::upsert_boundaries(&mut tx, &boundaries).await?;
                lap(phases, "copy", &mut t);
                base
            }
            None => {
                let (base, _) = self.seed_bulk(&mut BulkSink::Tx(&mut tx), g, fixed, phases).await?;
                t = Instant::now();
                base
            }
        };
        tongxin_store::bulk::restore_indexes(&mut tx, &deferred).await?;
        lap(phases, "indexes", &mut t);
        tongxin_store::audit::append(
            &mut tx,
            crate::audit::entry(
                None,
                &RequestCtx::default(),
                "seed.run",
                "database",
                "demo",
                serde_json::json!({ "scale": format!("{:?}", g.scale), "seed": g.seed }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        lap(phases, "commit", &mut t);
        Ok(SeedReport {
            orgs: fixed.orgs.len(),
            volunteers: g.plan.volunteers,
            grids: fixed.grids.len(),
            households: base.households,
            vulnerable: base.vulnerable,
            buildings: base.buildings,
            ms: 0,
            phases: vec![],
        })
    }

    /// One generated volunteer: a person in a community weighted by size, located in its
    /// district, with skills, insurance (~70%), availability now (~15%) and, for ~60%, an
    /// organisation of the district.
    fn volunteer_row(
        &self,
        f: &mut Faker,
        tree: &Tree,
        today: time::Date,
        seen_ids: &mut std::collections::HashSet<String>,
        orgs_by_district: &HashMap<String, Vec<i64>>,
    ) -> NewVolunteer {
        let c = tree.pick_community(f);
        let d6 = c.code[..6].to_string();
        // ID numbers are unique per person; at city scale random ones collide now and then.
        let p = loop {
            let p = f.person(&d6, 18..=70, today);
            if seen_ids.insert(p.id_number.clone()) {
                break p;
            }
        };
        let (lon, lat) = f.point_in_district(&d6);
        let org_id = if f.chance(600) { orgs_by_district.get(&d6).map(|v| *f.pick(v)) } else { None };
        let available_now = f.chance(150);
        let weekly = if f.chance(600) { "sat_am,sat_pm,sun_am" } else { "mon_pm,wed_pm,fri_pm" };
        NewVolunteer {
            name: p.name,
            id_hash: self.crypto.id_hash(&p.id_number),
            id_enc: self.crypto.encrypt(&p.id_number),
            phone_enc: self.crypto.encrypt(&p.phone),
            phone_hash: self.crypto.phone_hash(&p.phone),
            birth_year: i64::from(p.birth_date.year()),
            real_name: true,
            division_code: c.code.clone(),
            division_path: tree.paths[&c.code].clone(),
            lon: Some(lon),
            lat: Some(lat),
            skills: f.skills().join(","),
            insured: f.chance(700),
            org_id,
            weekly: weekly.to_string(),
            available_now,
            cert_kinds: if f.chance(120) { "first_aid".into() } else { String::new() },
            user_id: None,
        }
    }

    /// City-scale responders for a benchmark on a database without registry data: `n`
    /// volunteers spread over Suzhou as `seed --scale city` spreads them (located, skilled,
    /// ~70% insured, ~15% available now). Every volunteer available now gets a volunteer account
    /// (all with `password`, hashed once) so that an offer reaches a person's inbox and screen.
    /// A bulk load (see [`tongxin_store::Store::begin_bulk`]): run it before serving requests.
    pub async fn seed_responders(&self, n: usize, seed: u64, password: &str) -> AppResult<ResponderSeed> {
        let start = Instant::now();
        self.ensure_division_tree().await?;
        let tree = Tree::suzhou();
        let mut f = Faker::new(seed);
        let today = time::macros::date!(2026 - 11 - 28);
        let now = now_ms();
        let mut seen_ids = std::collections::HashSet::with_capacity(n);
        let none = HashMap::new();
        let mut rows: Vec<NewVolunteer> =
            (0..n).map(|_| self.volunteer_row(&mut f, &tree, today, &mut seen_ids, &none)).collect();
        let hash = hash_password(password)?;
        let wanted: Vec<usize> = (0..n).filter(|&k| rows[k].available_now).collect();
        let users: Vec<tongxin_store::users::NewUser> = wanted
            .iter()
            .map(|&k| tongxin_store::users::NewUser {
                username: format!("v{seed}_{k}"),
                display_name: rows[k].name.clone(),
                password_hash: hash.clone(),
                role: Role::Volunteer.key().to_string(),
                division_code: None,
                division_path: None,
                org_id: None,
            })
            .collect();
        let mut tx = self.store.begin_bulk(BulkMode::Wal).await?;
        let loaded = async {
            let ids = tongxin_store::users::create_many(&mut tx, &users).await?;
            for (&k, id) in wanted.iter().zip(&ids) {
                rows[k].user_id = Some(*id);
            }
            for chunk in rows.chunks(10_000) {
                registry::insert_volunteers(&mut tx, chunk, now).await?;
            }
            tongxin_store::audit::append(
                &mut tx,
                crate::audit::entry(
                    None,
                    &RequestCtx::default(),
                    "seed.responders",
                    "database",
                    "bench",
                    serde_json::json!({ "volunteers": n, "accounts": ids.len(), "seed": seed }),
                ),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok::<usize, AppError>(ids.len())
        }
        .await;
        let restored = self.store.end_bulk().await;
        let accounts = loaded?;
        restored?;
        self.store.analyze().await?;
        Ok(ResponderSeed { volunteers: n, accounts, ms: start.elapsed().as_millis() })
    }

    /// Creates the demo accounts that do not exist yet. The grid worker gets the first grid of
    /// the community worker's street, the organisation admin the first organisation in Gusu.
    pub async fn ensure_demo_accounts(&self) -> AppResult<Vec<&'static str>> {
        let mut created = Vec::new();
        let first_grid = self
            .store
            .divisions_at_level(&self.store.division(DEMO_STREET).await?.path, Level::Grid)
            .await?
            .first()
            .map(|d| d.code.clone());
        let first_community = self
            .store
            .divisions_at_level(&self.store.division(DEMO_STREET).await?.path, Level::Community)
            .await?
            .first()
            .map(|d| d.code.clone())
            .unwrap_or_default();
        let gusu = self.store.division("320508000000").await?.path;
        let first_org = first_org_in(self, &gusu).await?;
        let hash = hash_password(DEMO_PASSWORD)?;
        for (username, display, role, code) in DEMO_ACCOUNTS {
            if self.store.user_by_username(username).await.is_ok() {
                continue;
            }
            let division_code = match role {
                Role::GridWorker => first_grid.clone(),
                Role::Volunteer | Role::Resident => Some(first_community.clone()).filter(|c| !c.is_empty()),
                _ => Some(code.to_string()).filter(|c| !c.is_empty()),
            };
            let org_id = if matches!(role, Role::OrgAdmin | Role::Volunteer) { first_org } else { None };
            if role == Role::OrgAdmin && org_id.is_none() {
                continue;
            }
            let path = match &division_code {
                Some(c) => Some(self.store.division(c).await?.path),
                None => None,
            };
            let mut tx = self.store.begin().await?;
            let id = tongxin_store::users::create(
                &mut tx,
                &tongxin_store::users::NewUser {
                    username: username.to_string(),
                    display_name: display.to_string(),
                    password_hash: hash.clone(),
                    role: role.key().to_string(),
                    division_code,
                    division_path: path,
                    org_id,
                },
            )
            .await?;
            tongxin_store::audit::append(
                &mut tx,
                crate::audit::entry(
                    None,
                    &RequestCtx::default(),
                    "user.create",
                    "user",
                    id,
                    serde_json::json!({ "username": username, "demo": true }),
                ),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            created.push(username);
        }
        self.seed_grids().await?;
        Ok(created)
    }
}

async fn first_org_in(app: &App, path: &str) -> AppResult<Option<i64>> {
    let mut b = tongxin_store::sql::SqlBuf::new("SELECT MIN(id) AS id FROM organizations WHERE ");
    b.within("division_path", path);
    let r = b.query().fetch_one(app.store.reader()).await.map_err(StoreError::from)?;
    Ok(tongxin_store::col(&r, "id")?)
}
