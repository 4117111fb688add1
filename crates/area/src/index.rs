//! The point index: a uniform lon/lat grid of buckets, with per-bucket counts by (division,
//! kind), answering area queries exactly.
//!
//! Chosen by measurement (see the crate docs and `area-bench`): a grid lets a query classify whole
//! cells as inside an area (counted from the bucket's tallies without touching its points), outside
//! (skipped), or on the boundary (each point tested exactly). Polygon edges are bucketed by grid
//! row, so a boundary point is tested only against the few edges that cross its row. Buckets are
//! plain vectors, so insert, remove and move are O(points in one cell).

use crate::error::AreaError;
use crate::geom::{
    contains_by_edges, division_level, Area, DivisionLevel, Edge, Prepared, PreparedCircle, PreparedPolygon, M_PER_DEG,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Point kind: a household (住户).
pub const KIND_HOUSEHOLD: u8 = 1;
/// Point kind: a registered device (设备, e.g. a sensor or a phone that opted in).
pub const KIND_DEVICE: u8 = 2;
/// Point kind: a responder (救援/志愿者).
pub const KIND_RESPONDER: u8 = 3;

/// A targetable point, in WGS-84.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Caller's id (unique in an index).
    pub id: u64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// 12-digit division code (community level, e.g. `320508017010`), or 0 when unknown.
    pub division: u64,
    /// Kind, e.g. [`KIND_HOUSEHOLD`], [`KIND_DEVICE`], [`KIND_RESPONDER`].
    pub kind: u8,
}

/// Index tuning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexConfig {
    /// Cell height in degrees of latitude; cells are made about as wide in metres.
    pub cell_deg: f64,
    /// Grid bounds `[lon_min, lat_min, lon_max, lat_max]`; by default the points' bounds with a
    /// margin. Points outside still work (they are kept in a list tested one by one).
    pub bounds: Option<[f64; 4]>,
    /// Cap on the number of cells (the cell size grows to respect it).
    pub max_cells: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        // 0.0015° ≈ 170 m; see the crate docs for the measurement behind it.
        IndexConfig { cell_deg: 0.0015, bounds: None, max_cells: 4_000_000 }
    }
}

/// Bounds used when an index is built without points or bounds: Suzhou, the first city.
pub const DEFAULT_BOUNDS: [f64; 4] = [119.9, 30.75, 121.35, 32.05];

/// What to compute in a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Collect the ids of the points found.
    pub ids: bool,
    /// Compute counts per division code and per kind.
    pub breakdown: bool,
    /// Only count points of these kinds (all kinds when `None`).
    pub kinds: Option<Vec<u8>>,
}

/// The answer to an area query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueryResult {
    /// Points in the area.
    pub count: u64,
    /// Points per (12-digit) division code, 0 for points without one; only codes with points.
    /// Empty unless a breakdown was asked for.
    pub per_division: BTreeMap<u64, u64>,
    /// Points per kind; empty unless a breakdown was asked for.
    pub per_kind: BTreeMap<u8, u64>,
    /// Ids of the points found (in no particular order), when asked for.
    pub ids: Option<Vec<u64>>,
}

impl QueryResult {
    /// Counts rolled up to the division nodes at `level` (for example the streets touched).
    /// Points without a division are left out.
    pub fn divisions_at(&self, level: DivisionLevel) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for (&code, &n) in &self.per_division {
            if let Some(a) = level.ancestor(code) {
                *out.entry(a).or_insert(0) += n;
            }
        }
        out
    }
}

/// Sizes of an index, for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IndexStats {
    /// Points held.
    pub points: usize,
    /// Grid columns × rows.
    pub grid: (usize, usize),
    /// Cells holding at least one point.
    pub nonempty_cells: usize,
    /// Points outside the grid (tested one by one).
    pub outside_grid: usize,
    /// Distinct division codes seen.
    pub divisions: usize,
    /// Estimated heap bytes.
    pub approx_bytes: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    lon: f64,
    lat: f64,
    id: u64,
    div: u32,
    kind: u8,
}

/// Number of points of one (division, kind) in a bucket.
#[derive(Debug, Clone, Copy)]
struct Run {
    div: u32,
    kind: u8,
    count: u32,
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    pts: Vec<Entry>,
    runs: Vec<Run>,
}

impl Bucket {
    fn add_run(&mut self, div: u32, kind: u8) {
        match self.runs.iter_mut().find(|r| r.div == div && r.kind == kind) {
            Some(r) => r.count += 1,
            None => self.runs.push(Run { div, kind, count: 1 }),
        }
    }

    fn remove_run(&mut self, div: u32, kind: u8) {
        if let Some(i) = self.runs.iter().position(|r| r.div == div && r.kind == kind) {
            self.runs[i].count -= 1;
            if self.runs[i].count == 0 {
                self.runs.swap_remove(i);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Grid {
    x0: f64,
    y0: f64,
    cw: f64,
    ch: f64,
    w: usize,
    h: usize,
}

impl Grid {
    fn cell(&self, x: f64, y: f64) -> Option<usize> {
        let c = ((x - self.x0) / self.cw).floor();
        let r = ((y - self.y0) / self.ch).floor();
        if c >= 0.0 && r >= 0.0 && c < self.w as f64 && r < self.h as f64 {
            Some(r as usize * self.w + c as usize)
        } else {
            None
        }
    }

    /// Column of `x`, clamped to the grid.
    fn col_clamped(&self, x: f64) -> usize {
        (((x - self.x0) / self.cw).floor().max(0.0) as usize).min(self.w - 1)
    }

    /// Row of `y`, clamped to the grid.
    fn row_clamped(&self, y: f64) -> usize {
        (((y - self.y0) / self.ch).floor().max(0.0) as usize).min(self.h - 1)
    }

    fn overlaps(&self, b: &[f64; 4]) -> bool {
        b[2] >= self.x0
            && b[0] <= self.x0 + self.w as f64 * self.cw
            && b[3] >= self.y0
            && b[1] <= self.y0 + self.h as f64 * self.ch
    }
}

const EMPTY: u32 = u32::MAX;
const OUTSIDE: u32 = u32::MAX;
/// Slack around cells when deciding whether an edge touches them, in degrees (≈ 0.1 mm); far
/// above the rounding error of the cell arithmetic.
const EPS: f64 = 1e-9;
/// Most (edge, grid row) pairs one query may plan (32 bytes each).
const MAX_ROW_EDGES: usize = 4_000_000;

/// A spatial index over points, answering exact area queries.
#[derive(Debug, Clone)]
pub struct PointIndex {
    grid: Grid,
    slot_of_cell: Vec<u32>,
    buckets: Vec<Bucket>,
    outside: Vec<Entry>,
    /// id → bucket slot (or `OUTSIDE`).
    ids: FxHashMap<u64, u32>,
    div_codes: Vec<u64>,
    div_index: FxHashMap<u64, u32>,
    config: IndexConfig,
}

fn check_point(p: &Point) -> Result<(), AreaError> {
    if !(p.lon.is_finite() && p.lat.is_finite() && p.lon.abs() <= 180.0 && p.lat.abs() <= 90.0) {
        return Err(AreaError::InvalidPoint { id: p.id, lon: p.lon, lat: p.lat });
    }
    if p.division != 0 && division_level(p.division).is_none() {
        return Err(AreaError::InvalidDivisionCode { at: None, code: p.division });
    }
    Ok(())
}

impl PointIndex {
    /// Builds an index with the default configuration.
    pub fn build(points: Vec<Point>) -> Result<PointIndex, AreaError> {
        PointIndex::build_with(points, IndexConfig::default())
    }

    /// Builds an index. Fails on an invalid point or a repeated id.
    pub fn build_with(points: Vec<Point>, config: IndexConfig) -> Result<PointIndex, AreaError> {
        // Validation and bounds, on two threads.
        let bounds_of = |pts: &[Point]| -> Result<[f64; 4], AreaError> {
            let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            for p in pts {
                check_point(p)?;
                b = [b[0].min(p.lon), b[1].min(p.lat), b[2].max(p.lon), b[3].max(p.lat)];
            }
            Ok(b)
        };
        let (b1, b2) = on_two_threads(&points, bounds_of);
        let (b1, b2) = (b1?, b2?);
        let b = [b1[0].min(b2[0]), b1[1].min(b2[1]), b1[2].max(b2[2]), b1[3].max(b2[3])];
        let bounds = config.bounds.unwrap_or(if points.is_empty() { DEFAULT_BOUNDS } else { b });
        let grid = make_grid(bounds, &config);
        let mut index = PointIndex {
            grid,
            slot_of_cell: vec![EMPTY; grid.w * grid.h],
            buckets: Vec::new(),
            outside: Vec::new(),
            ids: FxHashMap::default(),
            div_codes: Vec::new(),
            div_index: FxHashMap::default(),
            config,
        };
        // Two passes: size every bucket exactly, then fill.
        let cells_of = |pts: &[Point]| -> Vec<u32> {
            pts.iter().map(|p| grid.cell(p.lon, p.lat).map_or(OUTSIDE, |c| c as u32)).collect()
        };
        let (mut cells, more) = on_two_threads(&points, cells_of);
        cells.extend_from_slice(&more);
        drop(more);
        let mut counts = vec![0u32; grid.w * grid.h];
        for &c in &cells {
            if c != OUTSIDE {
                counts[c as usize] += 1;
            }
        }
        for (cell, &n) in counts.iter().enumerate() {
            if n > 0 {
                index.slot_of_cell[cell] = index.buckets.len() as u32;
                index.buckets.push(Bucket { pts: Vec::with_capacity(n as usize), runs: Vec::new() });
            }
        }
        drop(counts);
        // The id map and the buckets are filled on two threads: both are dominated by cache
        // misses, and the machine has two cores.
        let slot_of_cell = std::mem::take(&mut index.slot_of_cell);
        let slot_of = |c: u32| if c == OUTSIDE { OUTSIDE } else { slot_of_cell[c as usize] };
        let ids = std::thread::scope(|scope| {
            let ids = scope.spawn(|| {
                let mut ids: FxHashMap<u64, u32> = FxHashMap::default();
                ids.reserve(points.len());
                for (p, &c) in points.iter().zip(&cells) {
                    if ids.insert(p.id, slot_of(c)).is_some() {
                        return Err(AreaError::DuplicateId { id: p.id });
                    }
                }
                Ok(ids)
            });
            for (p, &c) in points.iter().zip(&cells) {
                let div = index.intern(p.division);
                let e = Entry { lon: p.lon, lat: p.lat, id: p.id, div, kind: p.kind };
                match slot_of(c) {
                    OUTSIDE => index.outside.push(e),
                    s => index.buckets[s as usize].pts.push(e),
                }
            }
            ids.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        })?;
        index.ids = ids;
        index.slot_of_cell = slot_of_cell;
        drop(points);
        drop(cells);
        for b in &mut index.buckets {
            let mut runs: Vec<Run> = Vec::new();
            for e in &b.pts {
                match runs.iter_mut().find(|r| r.div == e.div && r.kind == e.kind) {
                    Some(r) => r.count += 1,
                    None => runs.push(Run { div: e.div, kind: e.kind, count: 1 }),
                }
            }
            runs.shrink_to_fit();
            b.runs = runs;
        }
        Ok(index)
    }

    fn intern(&mut self, code: u64) -> u32 {
        if let Some(&i) = self.div_index.get(&code) {
            return i;
        }
        let i = self.div_codes.len() as u32;
        self.div_codes.push(code);
        self.div_index.insert(code, i);
        i
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no point.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn entry_to_point(&self, e: &Entry) -> Point {
        Point { id: e.id, lon: e.lon, lat: e.lat, division: self.div_codes[e.div as usize], kind: e.kind }
    }

    /// The point with this id.
    pub fn get(&self, id: u64) -> Option<Point> {
        let slot = *self.ids.get(&id)?;
        let list = if slot == OUTSIDE { &self.outside } else { &self.buckets[slot as usize].pts };
        list.iter().find(|e| e.id == id).map(|e| self.entry_to_point(e))
    }

    /// All points, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = Point> + '_ {
        self.buckets.iter().flat_map(|b| b.pts.iter()).chain(self.outside.iter()).map(|e| self.entry_to_point(e))
    }

    /// Adds a point. Fails on an invalid point or an id already present.
    pub fn insert(&mut self, p: Point) -> Result<(), AreaError> {
        check_point(&p)?;
        if self.ids.contains_key(&p.id) {
            return Err(AreaError::DuplicateId { id: p.id });
        }
        let div = self.intern(p.division);
        let e = Entry { lon: p.lon, lat: p.lat, id: p.id, div, kind: p.kind };
        let slot = match self.grid.cell(p.lon, p.lat) {
            None => {
                self.outside.push(e);
                OUTSIDE
            }
            Some(cell) => {
                let mut s = self.slot_of_cell[cell];
                if s == EMPTY {
                    s = self.buckets.len() as u32;
                    self.slot_of_cell[cell] = s;
                    self.buckets.push(Bucket::default());
                }
                let b = &mut self.buckets[s as usize];
                b.pts.push(e);
                b.add_run(div, p.kind);
                s
            }
        };
        self.ids.insert(p.id, slot);
        Ok(())
    }

    /// Removes a point; returns it, or `None` when the id is unknown.
    pub fn remove(&mut self, id: u64) -> Option<Point> {
        let slot = self.ids.remove(&id)?;
        let e = if slot == OUTSIDE {
            let i = self.outside.iter().position(|e| e.id == id)?;
            self.outside.swap_remove(i)
        } else {
            let b = &mut self.buckets[slot as usize];
            let i = b.pts.iter().position(|e| e.id == id)?;
            let e = b.pts.swap_remove(i);
            b.remove_run(e.div, e.kind);
            e
        };
        Some(self.entry_to_point(&e))
    }

    /// Moves a point, keeping its division and kind; `Ok(false)` when the id is unknown.
    pub fn move_point(&mut self, id: u64, lon: f64, lat: f64) -> Result<bool, AreaError> {
        let Some(old) = self.get(id) else {
            return Ok(false);
        };
        let new = Point { lon, lat, ..old };
        check_point(&new)?;
        self.remove(id);
        self.insert(new)?;
        Ok(true)
    }

    /// Inserts or replaces the point with this id (position, division and kind); returns the
    /// point it replaced.
    pub fn upsert(&mut self, p: Point) -> Result<Option<Point>, AreaError> {
        check_point(&p)?;
        let old = self.remove(p.id);
        self.insert(p)?;
        Ok(old)
    }

    /// Rebuilds the grid around the current points (useful after many points moved outside it).
    pub fn rebuild(&mut self) -> Result<(), AreaError> {
        let points: Vec<Point> = self.iter().collect();
        let config = IndexConfig { bounds: None, ..self.config };
        *self = PointIndex::build_with(points, config)?;
        Ok(())
    }

    /// Sizes of the index.
    pub fn stats(&self) -> IndexStats {
        let pts: usize = self.buckets.iter().map(|b| b.pts.capacity()).sum();
        let runs: usize = self.buckets.iter().map(|b| b.runs.capacity()).sum();
        let approx_bytes = pts * std::mem::size_of::<Entry>()
            + runs * std::mem::size_of::<Run>()
            + self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.slot_of_cell.capacity() * 4
            + self.outside.capacity() * std::mem::size_of::<Entry>()
            // hashbrown: key + value + one control byte per bucket, buckets ≈ capacity × 8/7.
            + self.ids.capacity() * 8 / 7 * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.div_codes.capacity() * 8 * 3;
        IndexStats {
            points: self.len(),
            grid: (self.grid.w, self.grid.h),
            nonempty_cells: self.buckets.iter().filter(|b| !b.pts.is_empty()).count(),
            outside_grid: self.outside.len(),
            divisions: self.div_codes.len(),
            approx_bytes,
        }
    }

    /// Number of points in the area.
    pub fn count(&self, area: &Area) -> Result<u64, AreaError> {
        Ok(self.query_with(area, &QueryOptions::default())?.count)
    }

    /// Count with the per-division and per-kind breakdown (no ids).
    pub fn query(&self, area: &Area) -> Result<QueryResult, AreaError> {
        self.query_with(area, &QueryOptions { breakdown: true, ..QueryOptions::default() })
    }

    /// Full query.
    pub fn query_with(&self, area: &Area, opts: &QueryOptions) -> Result<QueryResult, AreaError> {
        let prepared = area.prepare()?;
        self.run(&prepared, opts)
    }

    fn run(&self, area: &Prepared, opts: &QueryOptions) -> Result<QueryResult, AreaError> {
        let mut acc = Acc::new(opts, self.div_codes.len());
        let div_sel: Vec<bool> =
            self.div_codes.iter().map(|&c| area.divisions.iter().any(|&(lo, hi)| c >= lo && c < hi)).collect();
        let any_div = div_sel.iter().any(|&s| s);
        let plan = Plan::new(&self.grid, area)?;
        let g = &self.grid;
        for (ri, row) in plan.rows.iter().enumerate() {
            let r = plan.r0 + ri;
            let base = r * g.w;
            for &(a, b) in &row.full {
                for c in a..b {
                    let s = self.slot_of_cell[base + c as usize];
                    if s != EMPTY {
                        acc.add_full(&self.buckets[s as usize]);
                    }
                }
            }
            let mut i = 0;
            while i < row.partial.len() {
                let c = row.partial[i].0;
                let mut j = i;
                while j < row.partial.len() && row.partial[j].0 == c {
                    j += 1;
                }
                let s = self.slot_of_cell[base + c as usize];
                if s != EMPTY {
                    let comps = &row.partial[i..j];
                    for e in &self.buckets[s as usize].pts {
                        if !acc.kind_ok[e.kind as usize] {
                            continue;
                        }
                        let inside = (any_div && div_sel[e.div as usize])
                            || comps.iter().any(|&(_, k)| plan.comp_contains(k as usize, r, e.lon, e.lat));
                        if inside {
                            acc.add_point(e);
                        }
                    }
                }
                i = j;
            }
        }
        if any_div {
            // Cells the geometry did not cover can still hold points of the selected divisions.
            for r in 0..g.h {
                let row = r.checked_sub(plan.r0).and_then(|i| plan.rows.get(i));
                let mut covered: Vec<(u32, u32)> = Vec::new();
                if let Some(row) = row {
                    covered.extend_from_slice(&row.full);
                    covered.extend(row.partial.iter().map(|&(c, _)| (c, c + 1)));
                    covered.sort_unstable();
                }
                let mut k = 0;
                for c in 0..g.w as u32 {
                    while k < covered.len() && covered[k].1 <= c {
                        k += 1;
                    }
                    if k < covered.len() && covered[k].0 <= c {
                        continue;
                    }
                    let s = self.slot_of_cell[r * g.w + c as usize];
                    if s != EMPTY {
                        acc.add_selected_divisions(&self.buckets[s as usize], &div_sel);
                    }
                }
            }
        }
        for e in &self.outside {
            if acc.kind_ok[e.kind as usize] && area.contains(e.lon, e.lat, self.div_codes[e.div as usize]) {
                acc.add_point(e);
            }
        }
        Ok(acc.finish(&self.div_codes))
    }
}

/// Runs `f` on both halves of `items`, the second half on another thread.
fn on_two_threads<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> (R, R) {
    let (a, b) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        let h = s.spawn(|| f(b));
        let ra = f(a);
        (ra, h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    })
}

fn make_grid(bounds: [f64; 4], config: &IndexConfig) -> Grid {
    let cell = if config.cell_deg.is_finite() && config.cell_deg > 0.0 { config.cell_deg } else { 0.0015 };
    let mid = ((bounds[1] + bounds[3]) / 2.0).clamp(-80.0, 80.0);
    let mut ch = cell;
    let mut cw = cell / mid.to_radians().cos();
    // A margin of one cell, so points moving slightly past the extremes stay in the grid.
    let span_x = (bounds[2] - bounds[0]).max(0.0);
    let span_y = (bounds[3] - bounds[1]).max(0.0);
    let dims =
        |cw: f64, ch: f64| ((span_x / cw).ceil().min(1e12) as usize + 3, (span_y / ch).ceil().min(1e12) as usize + 3);
    let (mut w, mut h) = dims(cw, ch);
    let max_cells = config.max_cells.max(16) as f64;
    // The product in f64: with a tiny cell or huge bounds it would overflow usize.
    while w as f64 * h as f64 > max_cells {
        let f = (w as f64 * h as f64 / max_cells).sqrt().max(1.01);
        cw *= f;
        ch *= f;
        (w, h) = dims(cw, ch);
    }
    Grid { x0: bounds[0] - cw, y0: bounds[1] - ch, cw, ch, w, h }
}

/// Accumulates a query's answer.
struct Acc {
    count: u64,
    breakdown: bool,
    all_kinds: bool,
    kind_ok: [bool; 256],
    per_div: Vec<u64>,
    per_kind: [u64; 256],
    ids: Option<Vec<u64>>,
}

impl Acc {
    fn new(opts: &QueryOptions, ndiv: usize) -> Acc {
        let mut kind_ok = [opts.kinds.is_none(); 256];
        for &k in opts.kinds.iter().flatten() {
            kind_ok[k as usize] = true;
        }
        Acc {
            count: 0,
            breakdown: opts.breakdown,
            all_kinds: opts.kinds.is_none(),
            kind_ok,
            per_div: if opts.breakdown { vec![0; ndiv] } else { Vec::new() },
            per_kind: [0; 256],
            ids: opts.ids.then(Vec::new),
        }
    }

    #[inline]
    fn add_point(&mut self, e: &Entry) {
        self.count += 1;
        if self.breakdown {
            self.per_div[e.div as usize] += 1;
            self.per_kind[e.kind as usize] += 1;
        }
        if let Some(ids) = &mut self.ids {
            ids.push(e.id);
        }
    }

    fn add_full(&mut self, b: &Bucket) {
        if !self.breakdown && self.all_kinds {
            self.count += b.pts.len() as u64;
        } else {
            for run in &b.runs {
                if self.kind_ok[run.kind as usize] {
                    let n = u64::from(run.count);
                    self.count += n;
                    if self.breakdown {
                        self.per_div[run.div as usize] += n;
                        self.per_kind[run.kind as usize] += n;
                    }
                }
            }
        }
        if let Some(ids) = &mut self.ids {
            ids.extend(b.pts.iter().filter(|e| self.kind_ok[e.kind as usize]).map(|e| e.id));
        }
    }

    fn add_selected_divisions(&mut self, b: &Bucket, sel: &[bool]) {
        let mut any = false;
        for run in &b.runs {
            if sel[run.div as usize] && self.kind_ok[run.kind as usize] {
                any = true;
                let n = u64::from(run.count);
                self.count += n;
                if self.breakdown {
                    self.per_div[run.div as usize] += n;
                    self.per_kind[run.kind as usize] += n;
                }
            }
        }
        if any {
            if let Some(ids) = &mut self.ids {
                ids.extend(b.pts.iter().filter(|e| sel[e.div as usize] && self.kind_ok[e.kind as usize]).map(|e| e.id));
            }
        }
    }

    fn finish(self, codes: &[u64]) -> QueryResult {
        let mut per_division = BTreeMap::new();
        for (i, &n) in self.per_div.iter().enumerate() {
            if n > 0 {
                *per_division.entry(codes[i]).or_insert(0) += n;
            }
        }
        let per_kind = (0..256usize).filter(|&k| self.per_kind[k] > 0).map(|k| (k as u8, self.per_kind[k])).collect();
        QueryResult { count: self.count, per_division, per_kind, ids: self.ids }
    }
}

/// Per-row work for one query: runs of cells wholly inside some part, and boundary cells with
/// the parts to test their points against.
#[derive(Default)]
struct RowPlan {
    /// Half-open column ranges.
    full: Vec<(u32, u32)>,
    /// (column, component), sorted.
    partial: Vec<(u32, u32)>,
}

enum Comp<'a> {
    /// A polygon's edges bucketed by grid row, from row `r0`.
    Polygon {
        r0: usize,
        rows: Vec<Vec<Edge>>,
    },
    Circle(&'a PreparedCircle),
}

struct Plan<'a> {
    r0: usize,
    rows: Vec<RowPlan>,
    comps: Vec<Comp<'a>>,
}

impl<'a> Plan<'a> {
    fn new(g: &Grid, area: &'a Prepared) -> Result<Plan<'a>, AreaError> {
        let mut r_lo = usize::MAX;
        let mut r_hi = 0;
        let bboxes = area.polygons.iter().map(|p| p.bbox).chain(area.circles.iter().map(|c| c.bbox));
        for b in bboxes.filter(|b| g.overlaps(b)) {
            r_lo = r_lo.min(g.row_clamped(b[1] - EPS));
            r_hi = r_hi.max(g.row_clamped(b[3] + EPS));
        }
        let mut plan = Plan { r0: r_lo, rows: Vec::new(), comps: Vec::new() };
        if r_lo == usize::MAX {
            plan.r0 = 0;
            return Ok(plan);
        }
        // Edges are copied into every grid row they cross: bound that (a district outline
        // needs a few thousand entries).
        let entries: usize = area
            .polygons
            .iter()
            .flat_map(|p| p.edges.iter())
            .map(|e| g.row_clamped(e.ymax() + EPS) - g.row_clamped(e.ymin() - EPS) + 1)
            .sum();
        if entries > MAX_ROW_EDGES {
            return Err(AreaError::TooComplex {
                detail: format!("edges cross {entries} grid rows in total, more than {MAX_ROW_EDGES}"),
            });
        }
        plan.rows.resize_with(r_hi - r_lo + 1, RowPlan::default);
        for p in &area.polygons {
            let k = plan.comps.len() as u32;
            let comp = plan.add_polygon(g, p, k);
            plan.comps.push(comp);
        }
        for c in &area.circles {
            let k = plan.comps.len() as u32;
            plan.add_circle(g, c, k);
            plan.comps.push(Comp::Circle(c));
        }
        for row in &mut plan.rows {
            normalise(row);
        }
        Ok(plan)
    }

    #[inline]
    fn comp_contains(&self, k: usize, r: usize, x: f64, y: f64) -> bool {
        match &self.comps[k] {
            Comp::Polygon { r0, rows } => contains_by_edges(rows[r - r0].iter(), x, y),
            Comp::Circle(c) => c.contains(x, y),
        }
    }

    fn add_polygon(&mut self, g: &Grid, p: &PreparedPolygon, k: u32) -> Comp<'a> {
        if !g.overlaps(&p.bbox) {
            return Comp::Polygon { r0: 0, rows: Vec::new() };
        }
        let r0 = g.row_clamped(p.bbox[1] - EPS);
        let r1 = g.row_clamped(p.bbox[3] + EPS);
        let n = r1 - r0 + 1;
        let mut rows: Vec<Vec<Edge>> = vec![Vec::new(); n];
        let mut marks: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        let xmax_grid = g.x0 + g.w as f64 * g.cw;
        for e in &p.edges {
            let (ymin, ymax) = (e.ymin(), e.ymax());
            let (er0, er1) = (g.row_clamped(ymin - EPS), g.row_clamped(ymax + EPS));
            for r in er0.max(r0)..=er1.min(r1) {
                let lo = g.y0 + r as f64 * g.ch - EPS;
                let hi = g.y0 + (r + 1) as f64 * g.ch + EPS;
                if ymax < lo || ymin > hi {
                    continue;
                }
                rows[r - r0].push(*e);
                // The edge's x extent inside this row's band.
                let (xa, xb) = if e.ay == e.by {
                    (e.xmin(), e.xmax())
                } else {
                    let t0 = ((lo - e.ay) / (e.by - e.ay)).clamp(0.0, 1.0);
                    let t1 = ((hi - e.ay) / (e.by - e.ay)).clamp(0.0, 1.0);
                    let xa = e.ax + t0 * (e.bx - e.ax);
                    let xb = e.ax + t1 * (e.bx - e.ax);
                    (xa.min(xb), xa.max(xb))
                };
                if xb + EPS < g.x0 || xa - EPS > xmax_grid {
                    continue;
                }
                marks[r - r0].push((g.col_clamped(xa - EPS), g.col_clamped(xb + EPS)));
            }
        }
        let c_lo = g.col_clamped(p.bbox[0] - EPS);
        let c_hi = g.col_clamped(p.bbox[2] + EPS);
        for (i, m) in marks.iter_mut().enumerate() {
            let r = r0 + i;
            m.sort_unstable();
            let row = &mut self.rows[r - self.r0];
            let cy = g.y0 + (r as f64 + 0.5) * g.ch;
            let mut c = c_lo;
            let mut j = 0;
            while c <= c_hi {
                // Next boundary interval at or after c.
                while j < m.len() && m[j].1 < c {
                    j += 1;
                }
                let next = if j < m.len() { m[j].0.max(c) } else { c_hi + 1 };
                if next > c {
                    // Cells c..next have no edge: one centre decides them all.
                    let cx = g.x0 + (c as f64 + 0.5) * g.cw;
                    if contains_by_edges(rows[i].iter(), cx, cy) {
                        row.full.push((c as u32, next.min(c_hi + 1) as u32));
                    }
                    c = next;
                    continue;
                }
                // Merge overlapping boundary intervals starting at c.
                let mut end = m[j].1;
                while j + 1 < m.len() && m[j + 1].0 <= end + 1 {
                    j += 1;
                    end = end.max(m[j].1);
                }
                for col in c..=end.min(c_hi) {
                    row.partial.push((col as u32, k));
                }
                c = end + 1;
                j += 1;
            }
        }
        Comp::Polygon { r0, rows }
    }

    fn add_circle(&mut self, g: &Grid, circle: &PreparedCircle, k: u32) {
        if !g.overlaps(&circle.bbox) {
            return;
        }
        let b = circle.bbox;
        let (r0, r1) = (g.row_clamped(b[1]), g.row_clamped(b[3]));
        let (c0, c1) = (g.col_clamped(b[0]), g.col_clamped(b[2]));
        let ncols = c1 - c0 + 1;
        // Distances at grid vertices, one row line at a time.
        let line = |r: usize| -> Vec<f64> {
            let y = g.y0 + r as f64 * g.ch;
            (c0..=c1 + 1).map(|c| circle.distance(g.x0 + c as f64 * g.cw, y)).collect()
        };
        // A cell with its four corners inside is inside (the cap is convex; parallels bow by far
        // less than the margin for cells this size).
        let cell_m = g.ch.max(g.cw) * M_PER_DEG;
        let margin_in = 1.0 + cell_m * cell_m / 6.0e6;
        // Skipping cells whose nearest point is clearly outside is only an optimisation; the
        // slack covers the sphere's departure from the clamped nearest point.
        let skip_far = b[1].abs().max(b[3].abs()) < 70.0;
        let margin_out = 1.0 + 0.02 * circle.radius_m + cell_m;
        let mut below = line(r0);
        for r in r0..=r1 {
            let above = line(r + 1);
            let row = &mut self.rows[r - self.r0];
            let (ylo, yhi) = (g.y0 + r as f64 * g.ch, g.y0 + (r + 1) as f64 * g.ch);
            let mut run_start: Option<usize> = None;
            for i in 0..ncols {
                let c = c0 + i;
                let dmax = below[i].max(below[i + 1]).max(above[i]).max(above[i + 1]);
                let full = dmax <= circle.radius_m - margin_in;
                if full {
                    run_start.get_or_insert(c);
                    continue;
                }
                if let Some(s) = run_start.take() {
                    row.full.push((s as u32, c as u32));
                }
                if skip_far {
                    let (xlo, xhi) = (g.x0 + c as f64 * g.cw, g.x0 + (c + 1) as f64 * g.cw);
                    let near = circle.distance(circle.lon.clamp(xlo, xhi), circle.lat.clamp(ylo, yhi));
                    if near > circle.radius_m + margin_out {
                        continue;
                    }
                }
                row.partial.push((c as u32, k));
            }
            if let Some(s) = run_start.take() {
                row.full.push((s as u32, (c1 + 1) as u32));
            }
            below = above;
        }
    }
}

/// Merges full runs and drops boundary cells that a full run already covers.
fn normalise(row: &mut RowPlan) {
    row.full.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(row.full.len());
    for &(a, b) in &row.full {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    row.full = merged;
    row.partial.sort_unstable();
    row.partial.dedup();
    if !row.full.is_empty() {
        let full = &row.full;
        let mut j = 0;
        row.partial.retain(|&(c, _)| {
            while j < full.len() && full[j].1 <= c {
                j += 1;
            }
            !(j < full.len() && full[j].0 <= c)
        });
    }
}
