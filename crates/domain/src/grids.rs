//! Grids and base data (capability H): pure rules for buildings, households, vulnerable
//! residents and door-to-door check rounds.
//!
//! - Vulnerable-person kinds and needs, and the order of a door-to-door check in an emergency:
//!   those who cannot survive long without help first (bedridden, oxygen, dialysis), then those
//!   who cannot help themselves (disabled, children without a carer, elderly living alone), then
//!   the rest; within a tier, the route through the grid (building order, then floor).
//! - Check rounds: a status per person (`checked`, `needs_help`, `unreachable`), progress counts.
//! - Plane geometry on lon/lat for grid boundaries: point in multipolygon, overlap of two
//!   multipolygons (interiors intersect, shared edges allowed), bounding boxes.
//! - Deterministic demo layout of grid cells: blocks of cells per community that never overlap.

use crate::validation::{FieldError, Validator};
use serde::Serialize;

/// Kind of vulnerable person (重点人群).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum VulnerableKind {
    /// 独居老人.
    ElderlyAlone,
    /// 残疾人.
    Disabled,
    /// 慢性病患者 (with needs such as dialysis or oxygen).
    Chronic,
    /// 卧床.
    Bedridden,
    /// 孕产妇.
    Pregnant,
    /// 无人看护儿童.
    ChildNoCarer,
}

impl VulnerableKind {
    /// All kinds in display order.
    pub const ALL: [VulnerableKind; 6] = [
        VulnerableKind::ElderlyAlone,
        VulnerableKind::Disabled,
        VulnerableKind::Chronic,
        VulnerableKind::Bedridden,
        VulnerableKind::Pregnant,
        VulnerableKind::ChildNoCarer,
    ];

    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            VulnerableKind::ElderlyAlone => "elderly_alone",
            VulnerableKind::Disabled => "disabled",
            VulnerableKind::Chronic => "chronic",
            VulnerableKind::Bedridden => "bedridden",
            VulnerableKind::Pregnant => "pregnant",
            VulnerableKind::ChildNoCarer => "child_no_carer",
        }
    }

    /// Parses a key, or a Chinese label as written in spreadsheets.
    pub fn parse(s: &str) -> Option<VulnerableKind> {
        let s = s.trim();
        VulnerableKind::ALL.into_iter().find(|k| k.key() == s || k.label_zh() == s)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            VulnerableKind::ElderlyAlone => "独居老人",
            VulnerableKind::Disabled => "残疾人",
            VulnerableKind::Chronic => "慢性病",
            VulnerableKind::Bedridden => "卧床",
            VulnerableKind::Pregnant => "孕产妇",
            VulnerableKind::ChildNoCarer => "无人看护儿童",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            VulnerableKind::ElderlyAlone => "elderly living alone",
            VulnerableKind::Disabled => "disabled",
            VulnerableKind::Chronic => "chronically ill",
            VulnerableKind::Bedridden => "bedridden",
            VulnerableKind::Pregnant => "pregnant",
            VulnerableKind::ChildNoCarer => "child without carer",
        }
    }
}

/// A special need of a vulnerable person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Need {
    /// 透析.
    Dialysis,
    /// 吸氧 / home oxygen.
    Oxygen,
    /// 轮椅.
    Wheelchair,
    /// 长期服药.
    Medication,
    /// 认知障碍 (dementia).
    Cognitive,
}

impl Need {
    /// All needs.
    pub const ALL: [Need; 5] = [Need::Dialysis, Need::Oxygen, Need::Wheelchair, Need::Medication, Need::Cognitive];

    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            Need::Dialysis => "dialysis",
            Need::Oxygen => "oxygen",
            Need::Wheelchair => "wheelchair",
            Need::Medication => "medication",
            Need::Cognitive => "cognitive",
        }
    }

    /// Parses a key or Chinese label.
    pub fn parse(s: &str) -> Option<Need> {
        let s = s.trim();
        Need::ALL.into_iter().find(|k| k.key() == s || k.label_zh() == s)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Need::Dialysis => "透析",
            Need::Oxygen => "吸氧",
            Need::Wheelchair => "轮椅",
            Need::Medication => "长期服药",
            Need::Cognitive => "认知障碍",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Need::Dialysis => "dialysis",
            Need::Oxygen => "oxygen",
            Need::Wheelchair => "wheelchair",
            Need::Medication => "daily medication",
            Need::Cognitive => "dementia",
        }
    }
}

/// Parses a list of needs (`,`, `，`, `、`, `;` or spaces between); unknown entries are errors.
pub fn parse_needs(s: &str) -> Result<Vec<Need>, String> {
    let mut out = Vec::new();
    for part in s.split([',', '，', '、', ';', '；', ' ']).map(str::trim).filter(|p| !p.is_empty()) {
        match Need::parse(part) {
            Some(n) if !out.contains(&n) => out.push(n),
            Some(_) => {}
            None => return Err(part.to_string()),
        }
    }
    Ok(out)
}

/// Joins need keys for storage.
pub fn needs_key(needs: &[Need]) -> String {
    needs.iter().map(|n| n.key()).collect::<Vec<_>>().join(",")
}

/// Reads stored need keys (unknown keys are skipped).
pub fn needs_from_key(s: &str) -> Vec<Need> {
    s.split(',').filter_map(Need::parse).collect()
}

/// Check tier: 0 is visited first. Life-sustaining needs and the bedridden first, those who
/// cannot help themselves next, the others last.
pub fn check_tier(kind: VulnerableKind, needs: &[Need]) -> i64 {
    if kind == VulnerableKind::Bedridden || needs.iter().any(|n| matches!(n, Need::Oxygen | Need::Dialysis)) {
        0
    } else if matches!(kind, VulnerableKind::Disabled | VulnerableKind::ChildNoCarer | VulnerableKind::ElderlyAlone)
        || needs.iter().any(|n| matches!(n, Need::Wheelchair | Need::Cognitive))
    {
        1
    } else {
        2
    }
}

/// Building kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BuildingKind {
    /// 住宅楼.
    Residential,
    /// 商住楼.
    Mixed,
    /// 平房/自建房 (old-town courtyard or village house).
    House,
    /// 公共建筑 (school, hospital, office).
    Public,
}

impl BuildingKind {
    /// All kinds.
    pub const ALL: [BuildingKind; 4] =
        [BuildingKind::Residential, BuildingKind::Mixed, BuildingKind::House, BuildingKind::Public];

    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            BuildingKind::Residential => "residential",
            BuildingKind::Mixed => "mixed",
            BuildingKind::House => "house",
            BuildingKind::Public => "public",
        }
    }

    /// Parses a key or Chinese label.
    pub fn parse(s: &str) -> Option<BuildingKind> {
        let s = s.trim();
        BuildingKind::ALL.into_iter().find(|k| k.key() == s || k.label_zh() == s)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            BuildingKind::Residential => "住宅楼",
            BuildingKind::Mixed => "商住楼",
            BuildingKind::House => "平房/自建房",
            BuildingKind::Public => "公共建筑",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            BuildingKind::Residential => "residential",
            BuildingKind::Mixed => "mixed use",
            BuildingKind::House => "house",
            BuildingKind::Public => "public building",
        }
    }
}

/// Kind of local responder attached to a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ResponderKind {
    /// 网格员.
    GridWorker,
    /// 党员责任区 (party member with a responsibility zone).
    PartyMember,
    /// 楼长 (building head).
    BuildingHead,
}

impl ResponderKind {
    /// All kinds.
    pub const ALL: [ResponderKind; 3] =
        [ResponderKind::GridWorker, ResponderKind::PartyMember, ResponderKind::BuildingHead];

    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            ResponderKind::GridWorker => "grid_worker",
            ResponderKind::PartyMember => "party_member",
            ResponderKind::BuildingHead => "building_head",
        }
    }

    /// Parses a key.
    pub fn parse(s: &str) -> Option<ResponderKind> {
        ResponderKind::ALL.into_iter().find(|k| k.key() == s.trim())
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            ResponderKind::GridWorker => "网格员",
            ResponderKind::PartyMember => "党员责任区",
            ResponderKind::BuildingHead => "楼长",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            ResponderKind::GridWorker => "grid worker",
            ResponderKind::PartyMember => "party member (zone)",
            ResponderKind::BuildingHead => "building head",
        }
    }
}

/// Outcome of one visit in a check round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CheckStatus {
    /// Not visited yet.
    Pending,
    /// 已确认安全.
    Checked,
    /// 需要帮助.
    NeedsHelp,
    /// 联系不上.
    Unreachable,
}

impl CheckStatus {
    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            CheckStatus::Pending => "pending",
            CheckStatus::Checked => "checked",
            CheckStatus::NeedsHelp => "needs_help",
            CheckStatus::Unreachable => "unreachable",
        }
    }

    /// Parses a key.
    pub fn parse(s: &str) -> Option<CheckStatus> {
        [CheckStatus::Pending, CheckStatus::Checked, CheckStatus::NeedsHelp, CheckStatus::Unreachable]
            .into_iter()
            .find(|k| k.key() == s.trim())
    }

    /// A status a grid worker may record (not `pending`).
    pub fn parse_recordable(s: &str) -> Result<CheckStatus, FieldError> {
        match CheckStatus::parse(s) {
            Some(CheckStatus::Pending) | None => Err(FieldError::new(
                "status",
                "check.status",
                "状态须为：已确认安全(checked)、需要帮助(needs_help)、联系不上(unreachable)",
                "status must be checked, needs_help or unreachable",
            )),
            Some(s) => Ok(s),
        }
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            CheckStatus::Pending => "待走访",
            CheckStatus::Checked => "已确认安全",
            CheckStatus::NeedsHelp => "需要帮助",
            CheckStatus::Unreachable => "联系不上",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            CheckStatus::Pending => "pending",
            CheckStatus::Checked => "checked, safe",
            CheckStatus::NeedsHelp => "needs help",
            CheckStatus::Unreachable => "unreachable",
        }
    }
}

/// Progress of a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RoundProgress {
    /// People on the round's list.
    pub total: i64,
    /// Checked and safe.
    pub checked: i64,
    /// Need help.
    pub needs_help: i64,
    /// Could not be reached.
    pub unreachable: i64,
}

impl RoundProgress {
    /// Visits recorded so far.
    pub fn done(&self) -> i64 {
        self.checked + self.needs_help + self.unreachable
    }

    /// Still to visit.
    pub fn pending(&self) -> i64 {
        (self.total - self.done()).max(0)
    }

    /// Percentage done, 0–100 (100 for an empty list).
    pub fn percent(&self) -> i64 {
        if self.total <= 0 {
            100
        } else {
            self.done() * 100 / self.total
        }
    }

    /// Counts one status.
    pub fn add(&mut self, s: CheckStatus) {
        match s {
            CheckStatus::Checked => self.checked += 1,
            CheckStatus::NeedsHelp => self.needs_help += 1,
            CheckStatus::Unreachable => self.unreachable += 1,
            CheckStatus::Pending => {}
        }
    }
}

/// Fields of a household as entered (form, API or spreadsheet row).
#[derive(Debug, Clone, Default)]
pub struct HouseholdInput {
    /// Address (required).
    pub address: String,
    /// Number of members.
    pub members: i64,
    /// Contact phone (optional; validated when present).
    pub contact_phone: String,
    /// Floor in the building (optional).
    pub floor: Option<i64>,
    /// Longitude, when known.
    pub lon: Option<f64>,
    /// Latitude, when known.
    pub lat: Option<f64>,
}

/// Validates a household's fields; returns the normalised phone (empty when none).
pub fn validate_household(h: &HouseholdInput) -> Result<String, Vec<FieldError>> {
    let mut v = Validator::new();
    v.text("address", "地址", "Address", &h.address, 200);
    if !(1..=50).contains(&h.members) {
        v.push(FieldError::new("members", "range", "家庭人数须在 1 到 50 之间", "members must be between 1 and 50"));
    }
    if let Some(f) = h.floor {
        if !(-5..=200).contains(&f) {
            v.push(FieldError::new("floor", "range", "楼层须在 -5 到 200 之间", "floor must be between -5 and 200"));
        }
    }
    let mut phone = String::new();
    if !h.contact_phone.trim().is_empty() {
        match crate::codes::Phone::parse(&h.contact_phone) {
            Ok(p) => phone = p.as_str().to_string(),
            Err(e) => v.push(FieldError::new("contact_phone", e.rule(), e.message_zh(), e.message_en())),
        }
    }
    match (h.lon, h.lat) {
        (Some(lon), Some(lat)) => {
            if let Err(e) = check_lon_lat(lon, lat) {
                v.push(e);
            }
        }
        (None, None) => {}
        _ => v.push(FieldError::new(
            "lon",
            "coords.partial",
            "经度和纬度须同时填写或同时留空",
            "give both longitude and latitude, or neither",
        )),
    }
    v.finish().map(|_| phone)
}

/// Rough bounds of mainland China, for catching swapped or mistyped coordinates.
const CHINA_LON: (f64, f64) = (73.0, 136.0);
const CHINA_LAT: (f64, f64) = (3.0, 54.0);

/// Checks one WGS-84 coordinate pair, with a hint when longitude and latitude look swapped.
pub fn check_lon_lat(lon: f64, lat: f64) -> Result<(), FieldError> {
    let inside = |x: f64, y: f64| (CHINA_LON.0..=CHINA_LON.1).contains(&x) && (CHINA_LAT.0..=CHINA_LAT.1).contains(&y);
    if !(lon.is_finite() && lat.is_finite()) {
        return Err(FieldError::new("lon", "coords.nan", "坐标不是有效数字", "coordinates are not valid numbers"));
    }
    if inside(lon, lat) {
        return Ok(());
    }
    if inside(lat, lon) {
        return Err(FieldError::new(
            "lon",
            "coords.swapped",
            format!("坐标 ({lon}, {lat}) 似乎经纬度颠倒：经度在前、纬度在后"),
            format!("coordinates ({lon}, {lat}) look swapped: longitude first, then latitude"),
        ));
    }
    Err(FieldError::new(
        "lon",
        "coords.range",
        format!("坐标 ({lon}, {lat}) 不在中国境内"),
        format!("coordinates ({lon}, {lat}) are outside China"),
    ))
}

/// A ring of `[lon, lat]` vertices (closed or open).
pub type Ring = Vec<[f64; 2]>;
/// A polygon: exterior ring then holes.
pub type Poly = Vec<Ring>;
/// A multipolygon.
pub type MultiPoly = Vec<Poly>;

/// Bounding box `(min_lon, min_lat, max_lon, max_lat)`; `None` when empty.
pub fn bbox(mp: &MultiPoly) -> Option<(f64, f64, f64, f64)> {
    let mut it = mp.iter().flat_map(|p| p.iter()).flat_map(|r| r.iter());
    let first = it.next()?;
    let mut b = (first[0], first[1], first[0], first[1]);
    for p in it {
        b.0 = b.0.min(p[0]);
        b.1 = b.1.min(p[1]);
        b.2 = b.2.max(p[0]);
        b.3 = b.3.max(p[1]);
    }
    Some(b)
}

/// Where a point lies relative to a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Inside,
    Outside,
    Boundary,
}

fn on_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> bool {
    let cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
    let scale = (b[0] - a[0]).abs() + (b[1] - a[1]).abs();
    cross.abs() <= 1e-12 * scale.max(1e-12)
        && p[0] >= a[0].min(b[0]) - 1e-12
        && p[0] <= a[0].max(b[0]) + 1e-12
        && p[1] >= a[1].min(b[1]) - 1e-12
        && p[1] <= a[1].max(b[1]) + 1e-12
}

fn ring_side(ring: &Ring, p: [f64; 2]) -> Side {
    let n = ring.len();
    if n < 3 {
        return Side::Outside;
    }
    let mut inside = false;
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        if on_segment(p, a, b) {
            return Side::Boundary;
        }
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    if inside {
        Side::Inside
    } else {
        Side::Outside
    }
}

fn poly_side(poly: &Poly, p: [f64; 2]) -> Side {
    let Some(ext) = poly.first() else { return Side::Outside };
    match ring_side(ext, p) {
        Side::Inside => {}
        other => return other,
    }
    for hole in &poly[1..] {
        match ring_side(hole, p) {
            Side::Inside => return Side::Outside,
            Side::Boundary => return Side::Boundary,
            Side::Outside => {}
        }
    }
    Side::Inside
}

fn mp_side(mp: &MultiPoly, p: [f64; 2]) -> Side {
    let mut boundary = false;
    for poly in mp {
        match poly_side(poly, p) {
            Side::Inside => return Side::Inside,
            Side::Boundary => boundary = true,
            Side::Outside => {}
        }
    }
    if boundary {
        Side::Boundary
    } else {
        Side::Outside
    }
}

/// Whether `(lon, lat)` lies in the multipolygon (interior or on its boundary: a household on a
/// grid's edge belongs to it).
pub fn contains(mp: &MultiPoly, lon: f64, lat: f64) -> bool {
    mp_side(mp, [lon, lat]) != Side::Outside
}

fn segments_cross(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let o = |p: [f64; 2], q: [f64; 2], r: [f64; 2]| (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
    let (d1, d2, d3, d4) = (o(c, d, a), o(c, d, b), o(a, b, c), o(a, b, d));
    // Proper crossing only: touching or collinear overlap is a shared edge, not an overlap.
    ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
}

fn edges(mp: &MultiPoly) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
    mp.iter().flat_map(|p| p.iter()).flat_map(|r| (0..r.len()).map(move |i| (r[i], r[(i + 1) % r.len()])))
}

/// Probe points of a multipolygon: vertices, edge midpoints and a point just inside each edge
/// (either side), used to find interior overlap without a full polygon clipper.
fn probes(mp: &MultiPoly) -> Vec<[f64; 2]> {
    let mut out = Vec::new();
    for (a, b) in edges(mp) {
        out.push(a);
        let m = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        out.push(m);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        if len > 0.0 {
            let e = len * 1e-3;
            out.push([m[0] - dy / len * e, m[1] + dx / len * e]);
            out.push([m[0] + dy / len * e, m[1] - dx / len * e]);
        }
    }
    out
}

/// Whether the interiors of two multipolygons intersect (sharing an edge or a corner is not an
/// overlap). Exact for edges that cross; containment and coincident shapes are found by probe
/// points just inside each edge.
pub fn overlaps(a: &MultiPoly, b: &MultiPoly) -> bool {
    match (bbox(a), bbox(b)) {
        (Some(x), Some(y)) if x.0 < y.2 && y.0 < x.2 && x.1 < y.3 && y.1 < x.3 => {}
        _ => return false,
    }
    for (p, q) in edges(a) {
        for (r, s) in edges(b) {
            if segments_cross(p, q, r, s) {
                return true;
            }
        }
    }
    let inside_both = |pt: [f64; 2]| mp_side(a, pt) == Side::Inside && mp_side(b, pt) == Side::Inside;
    probes(a).into_iter().chain(probes(b)).any(inside_both)
}

/// Metres per degree of latitude.
pub const M_PER_DEG_LAT: f64 = 111_320.0;

/// Metres per degree of longitude at `lat`.
pub fn m_per_deg_lon(lat: f64) -> f64 {
    M_PER_DEG_LAT * lat.to_radians().cos()
}

/// A rectangle `[lon0, lat0, lon1, lat1]` as a one-polygon multipolygon.
pub fn rect(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> MultiPoly {
    vec![vec![vec![[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]]
}

/// Deterministic demo layout: communities get square blocks of `block_m` metres on a city-wide
/// lattice, as close as possible to a wanted point, never sharing a block; a block holds its
/// community's grids as a k×k lattice of cells in serpentine order (so neighbours are adjacent).
#[derive(Debug, Default)]
pub struct BlockLayout {
    taken: std::collections::HashSet<(i64, i64)>,
    /// Block side in metres.
    pub block_m: f64,
    /// Reference latitude for the metre conversion.
    pub ref_lat: f64,
}

impl BlockLayout {
    /// A layout with blocks of `block_m` metres, metres computed at `ref_lat`.
    pub fn new(block_m: f64, ref_lat: f64) -> BlockLayout {
        BlockLayout { taken: Default::default(), block_m, ref_lat }
    }

    fn deg(&self) -> (f64, f64) {
        (self.block_m / m_per_deg_lon(self.ref_lat), self.block_m / M_PER_DEG_LAT)
    }

    /// Claims the free block nearest to `(lon, lat)` (spiral search) and returns its south-west
    /// corner and size in degrees `(lon0, lat0, dlon, dlat)`.
    pub fn claim(&mut self, lon: f64, lat: f64) -> (f64, f64, f64, f64) {
        let (dlon, dlat) = self.deg();
        let (ci, cj) = ((lon / dlon).floor() as i64, (lat / dlat).floor() as i64);
        let mut r = 0i64;
        loop {
            let mut best: Option<(i64, i64, i64)> = None;
            for i in ci - r..=ci + r {
                for j in cj - r..=cj + r {
                    if (i - ci).abs().max((j - cj).abs()) != r || self.taken.contains(&(i, j)) {
                        continue;
                    }
                    let d = (i - ci) * (i - ci) + (j - cj) * (j - cj);
                    if best.is_none_or(|b| d < b.0) {
                        best = Some((d, i, j));
                    }
                }
            }
            if let Some((_, i, j)) = best {
                self.taken.insert((i, j));
                return (i as f64 * dlon, j as f64 * dlat, dlon, dlat);
            }
            r += 1;
        }
    }
}

/// The `idx`-th of `n` cells of a block (serpentine rows of `k = ceil(sqrt(n))` cells):
/// `(lon0, lat0, lon1, lat1)`.
pub fn block_cell(block: (f64, f64, f64, f64), n: usize, idx: usize) -> (f64, f64, f64, f64) {
    let k = (n as f64).sqrt().ceil().max(1.0) as usize;
    let rows = n.div_ceil(k).max(1);
    let (row, mut col) = (idx / k, idx % k);
    if row % 2 == 1 {
        col = k - 1 - col;
    }
    let (w, h) = (block.2 / k as f64, block.3 / rows as f64);
    let lon0 = block.0 + col as f64 * w;
    let lat0 = block.1 + row as f64 * h;
    (lon0, lat0, lon0 + w, lat0 + h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_put_life_support_first() {
        assert_eq!(check_tier(VulnerableKind::Bedridden, &[]), 0);
        assert_eq!(check_tier(VulnerableKind::Chronic, &[Need::Dialysis]), 0);
        assert_eq!(check_tier(VulnerableKind::ElderlyAlone, &[]), 1);
        assert_eq!(check_tier(VulnerableKind::Chronic, &[Need::Medication]), 2);
        assert_eq!(check_tier(VulnerableKind::Pregnant, &[]), 2);
    }

    #[test]
    fn parses_kinds_and_needs() {
        assert_eq!(VulnerableKind::parse("独居老人"), Some(VulnerableKind::ElderlyAlone));
        assert_eq!(VulnerableKind::parse("bedridden"), Some(VulnerableKind::Bedridden));
        assert_eq!(VulnerableKind::parse("x"), None);
        assert_eq!(parse_needs("透析、oxygen").unwrap(), vec![Need::Dialysis, Need::Oxygen]);
        assert_eq!(parse_needs("飞行").unwrap_err(), "飞行");
        assert_eq!(needs_from_key(&needs_key(&[Need::Oxygen, Need::Cognitive])), vec![Need::Oxygen, Need::Cognitive]);
        assert!(CheckStatus::parse_recordable("pending").is_err());
        assert_eq!(CheckStatus::parse_recordable("needs_help").unwrap(), CheckStatus::NeedsHelp);
    }

    #[test]
    fn progress_counts() {
        let mut p = RoundProgress { total: 4, ..Default::default() };
        p.add(CheckStatus::Checked);
        p.add(CheckStatus::NeedsHelp);
        assert_eq!((p.done(), p.pending(), p.percent()), (2, 2, 50));
        assert_eq!(RoundProgress::default().percent(), 100);
    }

    #[test]
    fn household_validation() {
        let ok = HouseholdInput { address: "平江路1号".into(), members: 2, ..Default::default() };
        assert_eq!(validate_household(&ok).unwrap(), "");
        let bad = HouseholdInput {
            address: " ".into(),
            members: 0,
            contact_phone: "123".into(),
            lon: Some(31.3),
            lat: Some(120.6),
            ..Default::default()
        };
        let errs = validate_household(&bad).unwrap_err();
        let rules: Vec<&str> = errs.iter().map(|e| e.rule.as_str()).collect();
        assert!(
            rules.contains(&"required") && rules.contains(&"range") && rules.contains(&"coords.swapped"),
            "{rules:?}"
        );
        assert!(check_lon_lat(120.6, 31.3).is_ok());
        assert_eq!(check_lon_lat(-3.0, 40.0).unwrap_err().rule, "coords.range");
    }

    #[test]
    fn point_in_multipolygon_with_hole() {
        let mut mp = rect(0.0, 0.0, 10.0, 10.0);
        mp[0].push(vec![[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0]]);
        assert!(contains(&mp, 1.0, 1.0));
        assert!(contains(&mp, 0.0, 5.0), "boundary counts");
        assert!(!contains(&mp, 5.0, 5.0), "hole");
        assert!(!contains(&mp, 11.0, 5.0));
    }

    #[test]
    fn overlap_ignores_shared_edges() {
        let a = rect(0.0, 0.0, 1.0, 1.0);
        let b = rect(1.0, 0.0, 2.0, 1.0);
        assert!(!overlaps(&a, &b), "adjacent");
        assert!(!overlaps(&a, &rect(1.0, 1.0, 2.0, 2.0)), "corner");
        assert!(overlaps(&a, &rect(0.5, 0.5, 1.5, 1.5)), "crossing");
        assert!(overlaps(&a, &rect(0.2, 0.2, 0.4, 0.4)), "contained");
        assert!(overlaps(&rect(0.2, 0.2, 0.4, 0.4), &a), "contains");
        assert!(overlaps(&a, &a.clone()), "identical");
        assert!(overlaps(&a, &rect(0.0, 0.0, 1.0, 0.5)), "shares edges and overlaps");
        assert!(!overlaps(&a, &rect(3.0, 3.0, 4.0, 4.0)));
    }

    #[test]
    fn blocks_never_overlap_and_cells_tile() {
        let mut l = BlockLayout::new(600.0, 31.3);
        let blocks: Vec<_> = (0..30).map(|_| l.claim(120.62, 31.31)).collect();
        for (i, a) in blocks.iter().enumerate() {
            for b in &blocks[i + 1..] {
                assert!(!overlaps(&rect(a.0, a.1, a.0 + a.2, a.1 + a.3), &rect(b.0, b.1, b.0 + b.2, b.1 + b.3)));
            }
        }
        let b = blocks[0];
        let cells: Vec<MultiPoly> = (0..7)
            .map(|i| {
                let c = block_cell(b, 7, i);
                rect(c.0, c.1, c.2, c.3)
            })
            .collect();
        for (i, a) in cells.iter().enumerate() {
            for c in &cells[i + 1..] {
                assert!(!overlaps(a, c));
            }
        }
        // Serpentine: consecutive cells touch.
        for w in (0..7).collect::<Vec<_>>().windows(2) {
            let (a, c) = (block_cell(b, 7, w[0]), block_cell(b, 7, w[1]));
            let touch = (a.2 - c.0).abs() < 1e-9 || (c.2 - a.0).abs() < 1e-9 || (a.3 - c.1).abs() < 1e-9;
            assert!(touch, "{w:?}");
        }
    }
}
