//! Target areas: polygons with holes, circles in metres and division codes, their validation,
//! reading from GeoJSON and CAP strings, writing to GeoJSON, and the exact point tests.
//!
//! Semantics (the same as PostGIS `ST_Contains` / `ST_DWithin` on a sphere, and as the `geo`
//! crate's `Contains`): a point is in a polygon when it is in its interior, not on its boundary
//! (points on a hole's ring are outside); a point is in a circle when its haversine distance to
//! the centre is at most the radius; a point is in a division area when its 12-digit division
//! code starts with the area code's significant prefix. An area is the union of its parts.

use crate::coords::Datum;
use crate::error::{AreaError, Location};
use geo::{Distance, Haversine};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A `[longitude, latitude]` pair in degrees (GeoJSON order).
pub type LonLat = [f64; 2];

/// Most vertices accepted in one area (bounds the time and memory of validation and queries).
pub const MAX_VERTICES: usize = 100_000;

/// Largest circle radius accepted, in metres.
pub const MAX_RADIUS_M: f64 = 1_000_000.0;

/// A polygon: one exterior ring and any number of holes. Rings may be given closed (first vertex
/// repeated at the end, as GeoJSON requires) or open; orientation does not matter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    /// The outer ring.
    pub exterior: Vec<LonLat>,
    /// Holes, each inside the exterior and disjoint from the others.
    #[serde(default)]
    pub holes: Vec<Vec<LonLat>>,
}

/// One part of an [`Area`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AreaPart {
    /// A polygon in WGS-84.
    Polygon(Polygon),
    /// A circle on the sphere: centre in WGS-84 and radius in metres.
    Circle {
        /// Centre longitude.
        lon: f64,
        /// Centre latitude.
        lat: f64,
        /// Radius in metres (> 0).
        radius_m: f64,
    },
    /// All points whose division code starts with this code's significant prefix (for example
    /// `320508000000` selects `320508xxxxxx`).
    Division {
        /// The 12-digit statistical division code.
        code: u64,
    },
}

/// A target area: the union of its parts, all in WGS-84.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Area {
    /// The parts; a point is in the area when it is in any part.
    pub parts: Vec<AreaPart>,
}

/// Levels of the 12-digit statistical division code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DivisionLevel {
    /// 省: 2 significant digits.
    Province,
    /// 市: 4 digits.
    City,
    /// 区/县: 6 digits.
    District,
    /// 街道/乡镇: 9 digits.
    Street,
    /// 社区/村: all 12 digits.
    Community,
}

impl DivisionLevel {
    /// Number of significant leading digits at this level.
    pub fn digits(self) -> u32 {
        match self {
            DivisionLevel::Province => 2,
            DivisionLevel::City => 4,
            DivisionLevel::District => 6,
            DivisionLevel::Street => 9,
            DivisionLevel::Community => 12,
        }
    }

    /// The ancestor of `code` at this level (the code truncated and zero-padded), or `None` when
    /// `code` is not a valid 12-digit code.
    pub fn ancestor(self, code: u64) -> Option<u64> {
        division_level(code)?;
        let span = 10u64.pow(12 - self.digits());
        Some(code / span * span)
    }
}

/// The level of a 12-digit division code, from which zero groups trail it; `None` when the code is
/// not 12 digits (first digit 1–9).
pub fn division_level(code: u64) -> Option<DivisionLevel> {
    if !(100_000_000_000..1_000_000_000_000).contains(&code) {
        return None;
    }
    Some(if code.is_multiple_of(10_000_000_000) {
        DivisionLevel::Province
    } else if code.is_multiple_of(100_000_000) {
        DivisionLevel::City
    } else if code.is_multiple_of(1_000_000) {
        DivisionLevel::District
    } else if code.is_multiple_of(1_000) {
        DivisionLevel::Street
    } else {
        DivisionLevel::Community
    })
}

/// The half-open range `[lo, hi)` of 12-digit codes a division code selects.
pub fn division_range(code: u64) -> Option<(u64, u64)> {
    let level = division_level(code)?;
    let span = 10u64.pow(12 - level.digits());
    Some((code, code + span))
}

impl Area {
    /// An empty area (invalid until a part is added).
    pub fn new() -> Area {
        Area::default()
    }

    /// Adds a polygon with holes (WGS-84, `[lon, lat]` pairs).
    pub fn with_polygon(mut self, exterior: Vec<LonLat>, holes: Vec<Vec<LonLat>>) -> Area {
        self.parts.push(AreaPart::Polygon(Polygon { exterior, holes }));
        self
    }

    /// Adds a circle (WGS-84 centre, radius in metres).
    pub fn with_circle(mut self, lon: f64, lat: f64, radius_m: f64) -> Area {
        self.parts.push(AreaPart::Circle { lon, lat, radius_m });
        self
    }

    /// Adds a division code.
    pub fn with_division(mut self, code: u64) -> Area {
        self.parts.push(AreaPart::Division { code });
        self
    }

    /// Converts every coordinate from `datum` to WGS-84 (polygon vertices and circle centres;
    /// radii are unchanged). Use it at the edge for polygons drawn on AMap/Tencent (GCJ-02) or
    /// Baidu (BD-09) maps.
    pub fn into_wgs84(mut self, datum: Datum) -> Area {
        if datum == Datum::Wgs84 {
            return self;
        }
        let conv = |p: &mut LonLat| {
            if p[0].is_finite() && p[1].is_finite() {
                let (x, y) = datum.to_wgs84(p[0], p[1]);
                *p = [x, y];
            }
        };
        for part in &mut self.parts {
            match part {
                AreaPart::Polygon(poly) => {
                    poly.exterior.iter_mut().for_each(conv);
                    poly.holes.iter_mut().flatten().for_each(conv);
                }
                AreaPart::Circle { lon, lat, .. } => {
                    let mut p = [*lon, *lat];
                    conv(&mut p);
                    (*lon, *lat) = (p[0], p[1]);
                }
                AreaPart::Division { .. } => {}
            }
        }
        self
    }

    /// Total number of polygon vertices.
    pub fn vertex_count(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                AreaPart::Polygon(poly) => poly.exterior.len() + poly.holes.iter().map(Vec::len).sum::<usize>(),
                _ => 0,
            })
            .sum()
    }

    /// Checks the whole area: not empty, coordinates finite and in range (with a hint when
    /// longitude and latitude look swapped), no antimeridian crossing, simple rings, holes inside
    /// their exterior, radius in (0, 1000 km], 12-digit division codes.
    pub fn validate(&self) -> Result<(), AreaError> {
        self.prepare().map(|_| ())
    }

    /// Validates and prepares the area for point tests.
    pub(crate) fn prepare(&self) -> Result<Prepared, AreaError> {
        if self.parts.is_empty() {
            return Err(AreaError::EmptyArea);
        }
        let count = self.vertex_count();
        if count > MAX_VERTICES {
            return Err(AreaError::TooManyVertices { count, max: MAX_VERTICES });
        }
        let mut out = Prepared::default();
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                AreaPart::Polygon(poly) => out.polygons.push(PreparedPolygon::new(i, poly)?),
                AreaPart::Circle { lon, lat, radius_m } => {
                    let at = Location::part(i);
                    check_coord(at, *lon, *lat)?;
                    if !(radius_m.is_finite() && *radius_m > 0.0 && *radius_m <= MAX_RADIUS_M) {
                        return Err(AreaError::InvalidRadius { at, radius_m: *radius_m });
                    }
                    let c = PreparedCircle::new(*lon, *lat, *radius_m);
                    if c.crosses_antimeridian() {
                        return Err(AreaError::CrossesAntimeridian { at });
                    }
                    out.circles.push(c);
                }
                AreaPart::Division { code } => {
                    let range = division_range(*code)
                        .ok_or(AreaError::InvalidDivisionCode { at: Some(Location::part(i)), code: *code })?;
                    out.divisions.push(range);
                }
            }
        }
        Ok(out)
    }

    /// Reads an area from GeoJSON text: a geometry, a Feature or a FeatureCollection whose
    /// geometries are Polygon, MultiPolygon, GeometryCollection, or Point with a numeric
    /// `radius_m` property (a circle, as [`Area::to_geojson`] writes). A Feature with a `divisions`
    /// array property (12-digit codes) adds division parts. Coordinates are converted from
    /// `datum` to WGS-84. The result is validated.
    pub fn from_geojson(text: &str, datum: Datum) -> Result<Area, AreaError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| AreaError::Syntax { what: "GeoJSON", detail: e.to_string() })?;
        let mut area = Area::new();
        read_geojson_value(&v, None, &mut area)?;
        let area = area.into_wgs84(datum);
        area.validate()?;
        Ok(area)
    }

    /// Adds a CAP 1.2 `<polygon>`: whitespace-separated `lat,lon` pairs (note the order), first
    /// and last equal.
    pub fn add_cap_polygon(&mut self, text: &str) -> Result<(), AreaError> {
        let mut ring = Vec::new();
        for pair in text.split_whitespace() {
            let (lat, lon) = parse_pair(pair, "CAP polygon")?;
            ring.push([lon, lat]);
        }
        self.parts.push(AreaPart::Polygon(Polygon { exterior: ring, holes: Vec::new() }));
        Ok(())
    }

    /// Adds a CAP 1.2 `<circle>`: `lat,lon radius` with the radius in kilometres.
    pub fn add_cap_circle(&mut self, text: &str) -> Result<(), AreaError> {
        let mut it = text.split_whitespace();
        let (pair, radius) = match (it.next(), it.next(), it.next()) {
            (Some(p), Some(r), None) => (p, r),
            _ => {
                return Err(AreaError::Syntax {
                    what: "CAP circle",
                    detail: format!("expected `lat,lon radius_km`, got `{text}`"),
                })
            }
        };
        let (lat, lon) = parse_pair(pair, "CAP circle")?;
        let km: f64 = radius.parse().map_err(|_| AreaError::Syntax {
            what: "CAP circle",
            detail: format!("radius `{radius}` is not a number"),
        })?;
        self.parts.push(AreaPart::Circle { lon, lat, radius_m: km * 1000.0 });
        Ok(())
    }

    /// The area as a GeoJSON geometry: Polygon or MultiPolygon when it has only polygons, a Point
    /// (with the radius to be carried in properties) for a single circle, otherwise a
    /// GeometryCollection in which circles are Points; `null` for division-only areas.
    pub fn to_geojson_geometry(&self) -> Value {
        let ring = |r: &Vec<LonLat>| {
            let mut r: Vec<Value> = r.iter().map(|p| json!([p[0], p[1]])).collect();
            if r.first() != r.last() {
                r.push(r[0].clone());
            }
            Value::Array(r)
        };
        let poly = |p: &Polygon| {
            let mut rings = vec![ring(&p.exterior)];
            rings.extend(p.holes.iter().map(ring));
            Value::Array(rings)
        };
        let polys: Vec<&Polygon> =
            self.parts.iter().filter_map(|p| if let AreaPart::Polygon(p) = p { Some(p) } else { None }).collect();
        let circles: Vec<(f64, f64)> = self
            .parts
            .iter()
            .filter_map(|p| if let AreaPart::Circle { lon, lat, .. } = p { Some((*lon, *lat)) } else { None })
            .collect();
        match (polys.len(), circles.len()) {
            (0, 0) => Value::Null,
            (1, 0) => json!({"type": "Polygon", "coordinates": poly(polys[0])}),
            (_, 0) => json!({"type": "MultiPolygon",
                "coordinates": polys.iter().map(|p| poly(p)).collect::<Vec<_>>()}),
            (0, 1) => json!({"type": "Point", "coordinates": [circles[0].0, circles[0].1]}),
            _ => {
                let mut geoms: Vec<Value> =
                    polys.iter().map(|p| json!({"type": "Polygon", "coordinates": poly(p)})).collect();
                geoms.extend(circles.iter().map(|c| json!({"type": "Point", "coordinates": [c.0, c.1]})));
                json!({"type": "GeometryCollection", "geometries": geoms})
            }
        }
    }

    /// The area as a GeoJSON Feature with `extra` merged into its properties. Circles' radii go in
    /// `radius_m` (one circle) or `radii_m` (in order), division codes in `divisions`.
    pub fn to_geojson(&self, extra: serde_json::Map<String, Value>) -> Value {
        let mut props = extra;
        let radii: Vec<f64> = self
            .parts
            .iter()
            .filter_map(|p| if let AreaPart::Circle { radius_m, .. } = p { Some(*radius_m) } else { None })
            .collect();
        let single_point = radii.len() == 1 && self.parts.iter().all(|p| !matches!(p, AreaPart::Polygon(_)));
        if single_point {
            props.insert("radius_m".into(), json!(radii[0]));
        } else if !radii.is_empty() {
            props.insert("radii_m".into(), json!(radii));
        }
        let divisions: Vec<String> = self
            .parts
            .iter()
            .filter_map(|p| if let AreaPart::Division { code } = p { Some(code.to_string()) } else { None })
            .collect();
        if !divisions.is_empty() {
            props.insert("divisions".into(), json!(divisions));
        }
        json!({"type": "Feature", "properties": props, "geometry": self.to_geojson_geometry()})
    }
}

fn parse_pair(pair: &str, what: &'static str) -> Result<(f64, f64), AreaError> {
    let bad = || AreaError::Syntax { what, detail: format!("`{pair}` is not a `lat,lon` pair") };
    let (a, b) = pair.split_once(',').ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    Ok((a, b))
}

fn geojson_err(detail: impl Into<String>) -> AreaError {
    AreaError::Syntax { what: "GeoJSON", detail: detail.into() }
}

fn read_ring(v: &Value) -> Result<Vec<LonLat>, AreaError> {
    let arr = v.as_array().ok_or_else(|| geojson_err("a ring must be an array of positions"))?;
    arr.iter()
        .map(|p| {
            let p = p.as_array().ok_or_else(|| geojson_err("a position must be an array"))?;
            if p.len() < 2 {
                return Err(geojson_err("a position needs longitude and latitude"));
            }
            let x = p[0].as_f64().ok_or_else(|| geojson_err("longitude must be a number"))?;
            let y = p[1].as_f64().ok_or_else(|| geojson_err("latitude must be a number"))?;
            Ok([x, y])
        })
        .collect()
}

fn read_polygon(v: &Value) -> Result<Polygon, AreaError> {
    let rings = v.as_array().ok_or_else(|| geojson_err("polygon coordinates must be an array"))?;
    let mut rings = rings.iter().map(read_ring).collect::<Result<Vec<_>, _>>()?;
    if rings.is_empty() {
        return Err(geojson_err("a polygon needs an exterior ring"));
    }
    let exterior = rings.remove(0);
    Ok(Polygon { exterior, holes: rings })
}

fn read_geojson_value(v: &Value, props: Option<&Value>, area: &mut Area) -> Result<(), AreaError> {
    let ty = v.get("type").and_then(Value::as_str).ok_or_else(|| geojson_err("missing `type`"))?;
    match ty {
        "FeatureCollection" => {
            let fs = v
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| geojson_err("FeatureCollection without `features`"))?;
            for f in fs {
                read_geojson_value(f, None, area)?;
            }
        }
        "Feature" => {
            let props = v.get("properties");
            if let Some(divs) = props.and_then(|p| p.get("divisions")).and_then(Value::as_array) {
                for d in divs {
                    let code = d
                        .as_u64()
                        .or_else(|| d.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| geojson_err("`divisions` must hold 12-digit codes"))?;
                    area.parts.push(AreaPart::Division { code });
                }
            }
            match v.get("geometry") {
                Some(Value::Null) | None => {}
                Some(g) => read_geojson_value(g, props, area)?,
            }
        }
        "Polygon" => {
            let c = v.get("coordinates").ok_or_else(|| geojson_err("Polygon without coordinates"))?;
            area.parts.push(AreaPart::Polygon(read_polygon(c)?));
        }
        "MultiPolygon" => {
            let c = v
                .get("coordinates")
                .and_then(Value::as_array)
                .ok_or_else(|| geojson_err("MultiPolygon without coordinates"))?;
            for p in c {
                area.parts.push(AreaPart::Polygon(read_polygon(p)?));
            }
        }
        "GeometryCollection" => {
            let gs = v
                .get("geometries")
                .and_then(Value::as_array)
                .ok_or_else(|| geojson_err("GeometryCollection without geometries"))?;
            // Circles in a collection take their radii, in order, from `radii_m`.
            let mut radii = props
                .and_then(|p| p.get("radii_m"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter();
            for g in gs {
                if g.get("type").and_then(Value::as_str) == Some("Point") {
                    let r = radii.next().ok_or_else(|| geojson_err("a Point needs a radius in `radii_m`"))?;
                    push_circle(g, r, area)?;
                } else {
                    read_geojson_value(g, None, area)?;
                }
            }
        }
        "Point" => {
            let r = props
                .and_then(|p| p.get("radius_m"))
                .and_then(Value::as_f64)
                .ok_or_else(|| geojson_err("a Point is a circle only with a numeric `radius_m` property"))?;
            push_circle(v, r, area)?;
        }
        other => return Err(geojson_err(format!("unsupported geometry type `{other}`"))),
    }
    Ok(())
}

fn push_circle(g: &Value, radius_m: f64, area: &mut Area) -> Result<(), AreaError> {
    let c = g.get("coordinates").ok_or_else(|| geojson_err("Point without coordinates"))?;
    let p = read_ring(&Value::Array(vec![c.clone()]))?;
    area.parts.push(AreaPart::Circle { lon: p[0][0], lat: p[0][1], radius_m });
    Ok(())
}

fn check_coord(at: Location, lon: f64, lat: f64) -> Result<(), AreaError> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(AreaError::NonFinite { at });
    }
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        let swapped = (-180.0..=180.0).contains(&lat) && (-90.0..=90.0).contains(&lon);
        return Err(AreaError::OutOfRange { at, lon, lat, swapped });
    }
    Ok(())
}

/// One polygon edge `a → b`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub ax: f64,
    pub ay: f64,
    pub bx: f64,
    pub by: f64,
}

impl Edge {
    pub fn ymin(&self) -> f64 {
        self.ay.min(self.by)
    }
    pub fn ymax(&self) -> f64 {
        self.ay.max(self.by)
    }
    pub fn xmin(&self) -> f64 {
        self.ax.min(self.bx)
    }
    pub fn xmax(&self) -> f64 {
        self.ax.max(self.bx)
    }
}

fn orient(ax: f64, ay: f64, bx: f64, by: f64, px: f64, py: f64) -> f64 {
    robust::orient2d(robust::Coord { x: ax, y: ay }, robust::Coord { x: bx, y: by }, robust::Coord { x: px, y: py })
}

/// Crossing-number step for one edge and a horizontal ray from `(px, py)` towards +x. Returns
/// `true` when the point lies on the edge. Exact (adaptive-precision orientation).
#[inline]
pub(crate) fn edge_step(e: &Edge, px: f64, py: f64, inside: &mut bool) -> bool {
    let (ymin, ymax) = if e.ay < e.by { (e.ay, e.by) } else { (e.by, e.ay) };
    if py < ymin || py > ymax {
        return false;
    }
    let (xmin, xmax) = if e.ax < e.bx { (e.ax, e.bx) } else { (e.bx, e.ax) };
    if px > xmax {
        return false;
    }
    // Half-open rule on y so a vertex on the ray is counted once.
    let crosses = (e.ay > py) != (e.by > py);
    if px < xmin {
        if crosses {
            *inside = !*inside;
        }
        return false;
    }
    let o = orient(e.ax, e.ay, e.bx, e.by, px, py);
    if o == 0.0 {
        // Collinear and inside the edge's bounding box: on the edge.
        return true;
    }
    if crosses && ((e.by > e.ay) == (o > 0.0)) {
        *inside = !*inside;
    }
    false
}

/// Even-odd test over a set of edges of one valid polygon (exterior and holes together): a point
/// is contained when it is on no edge and crosses an odd number of them.
#[inline]
pub(crate) fn contains_by_edges<'a>(edges: impl Iterator<Item = &'a Edge>, px: f64, py: f64) -> bool {
    let mut inside = false;
    for e in edges {
        if edge_step(e, px, py, &mut inside) {
            return false;
        }
    }
    inside
}

/// A validated polygon ready for point tests.
#[derive(Debug, Clone)]
pub(crate) struct PreparedPolygon {
    /// All edges of all rings.
    pub edges: Vec<Edge>,
    /// `[xmin, ymin, xmax, ymax]`.
    pub bbox: [f64; 4],
}

/// Removes consecutive duplicates and the closing vertex.
fn clean_ring(ring: &[LonLat]) -> Vec<LonLat> {
    let mut out: Vec<LonLat> = Vec::with_capacity(ring.len());
    for p in ring {
        if out.last() != Some(p) {
            out.push(*p);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

impl PreparedPolygon {
    fn new(part: usize, poly: &Polygon) -> Result<PreparedPolygon, AreaError> {
        let mut rings = Vec::with_capacity(1 + poly.holes.len());
        for (r, ring) in std::iter::once(&poly.exterior).chain(poly.holes.iter()).enumerate() {
            for (v, p) in ring.iter().enumerate() {
                check_coord(Location::vertex(part, r, v), p[0], p[1])?;
            }
            let ring = clean_ring(ring);
            if ring.len() < 3 {
                return Err(AreaError::TooFewVertices { at: Location::ring(part, r), distinct: ring.len() });
            }
            rings.push(ring);
        }
        let mut bbox = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for p in rings.iter().flatten() {
            bbox[0] = bbox[0].min(p[0]);
            bbox[1] = bbox[1].min(p[1]);
            bbox[2] = bbox[2].max(p[0]);
            bbox[3] = bbox[3].max(p[1]);
        }
        if bbox[2] - bbox[0] > 180.0 {
            return Err(AreaError::CrossesAntimeridian { at: Location::part(part) });
        }
        // Edges tagged with their ring and position, for the simplicity check.
        let mut tagged = Vec::new();
        for (r, ring) in rings.iter().enumerate() {
            let n = ring.len();
            for i in 0..n {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                tagged.push((Edge { ax: a[0], ay: a[1], bx: b[0], by: b[1] }, r, i, n));
            }
        }
        check_simple(part, &tagged)?;
        // Holes must lie inside the exterior and outside each other; with no crossings one vertex
        // of each decides.
        let ring_edges = |r: usize| tagged.iter().filter(move |t| t.1 == r).map(|t| &t.0);
        for h in 1..rings.len() {
            let p = rings[h][0];
            if !contains_by_edges(ring_edges(0), p[0], p[1]) {
                return Err(AreaError::InvalidPolygon {
                    at: Location::ring(part, h),
                    detail: "hole is not inside the exterior ring".into(),
                });
            }
            for o in 1..rings.len() {
                if o != h && contains_by_edges(ring_edges(o), p[0], p[1]) {
                    return Err(AreaError::InvalidPolygon {
                        at: Location::ring(part, h),
                        detail: format!("hole is inside hole {o}"),
                    });
                }
            }
        }
        Ok(PreparedPolygon { edges: tagged.into_iter().map(|t| t.0).collect(), bbox })
    }

    /// Exact containment of a point (interior only).
    pub fn contains(&self, px: f64, py: f64) -> bool {
        if px < self.bbox[0] || px > self.bbox[2] || py < self.bbox[1] || py > self.bbox[3] {
            return false;
        }
        contains_by_edges(self.edges.iter(), px, py)
    }
}

fn on_segment(e: &Edge, px: f64, py: f64) -> bool {
    px >= e.xmin() && px <= e.xmax() && py >= e.ymin() && py <= e.ymax()
}

/// Whether two segments share any point (exact).
fn segments_touch(p: &Edge, q: &Edge) -> bool {
    let d1 = orient(q.ax, q.ay, q.bx, q.by, p.ax, p.ay);
    let d2 = orient(q.ax, q.ay, q.bx, q.by, p.bx, p.by);
    let d3 = orient(p.ax, p.ay, p.bx, p.by, q.ax, q.ay);
    let d4 = orient(p.ax, p.ay, p.bx, p.by, q.bx, q.by);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0)) {
        return true;
    }
    (d1 == 0.0 && on_segment(q, p.ax, p.ay))
        || (d2 == 0.0 && on_segment(q, p.bx, p.by))
        || (d3 == 0.0 && on_segment(p, q.ax, q.ay))
        || (d4 == 0.0 && on_segment(p, q.bx, q.by))
}

/// Rejects rings that cross or touch themselves or each other. A sweep over x keeps it near
/// O(n log n) for real outlines.
fn check_simple(part: usize, tagged: &[(Edge, usize, usize, usize)]) -> Result<(), AreaError> {
    let mut order: Vec<usize> = (0..tagged.len()).collect();
    order.sort_by(|&a, &b| tagged[a].0.xmin().total_cmp(&tagged[b].0.xmin()));
    let mut active: Vec<usize> = Vec::new();
    // Bounds the time a crafted outline (say, thousands of long parallel edges) can take.
    let mut budget: u64 = 200_000_000;
    for &i in &order {
        let (e, r, k, n) = &tagged[i];
        let xmin = e.xmin();
        active.retain(|&j| tagged[j].0.xmax() >= xmin);
        budget = budget.saturating_sub(active.len() as u64);
        if budget == 0 {
            return Err(AreaError::TooComplex {
                detail: format!("part {}: too many overlapping edges to check", part + 1),
            });
        }
        for &j in &active {
            let (f, r2, k2, _) = &tagged[j];
            if f.ymax() < e.ymin() || f.ymin() > e.ymax() {
                continue;
            }
            let adjacent = r == r2 && ((k2 + 1) % n == *k || (k + 1) % n == *k2);
            if adjacent {
                // Neighbours share one vertex; they are bad only when they fold back on each
                // other (a spike: collinear and opposite).
                let (s, m, t) = if (k2 + 1) % n == *k {
                    ((f.ax, f.ay), (e.ax, e.ay), (e.bx, e.by))
                } else {
                    ((e.ax, e.ay), (f.ax, f.ay), (f.bx, f.by))
                };
                let o = orient(s.0, s.1, m.0, m.1, t.0, t.1);
                let dot = (m.0 - s.0) * (t.0 - m.0) + (m.1 - s.1) * (t.1 - m.1);
                if o == 0.0 && dot < 0.0 {
                    return Err(AreaError::SelfIntersection { at: Location::ring(part, *r) });
                }
                // A triangle's three edges are all pairwise adjacent; nothing more to check.
                continue;
            }
            if segments_touch(e, f) {
                return Err(if r == r2 {
                    AreaError::SelfIntersection { at: Location::ring(part, *r) }
                } else {
                    AreaError::InvalidPolygon {
                        at: Location::ring(part, (*r).max(*r2)),
                        detail: format!("ring {} touches or crosses ring {}", r2.min(r), r2.max(r)),
                    }
                });
            }
        }
        active.push(i);
    }
    Ok(())
}

/// Metres per degree of latitude on the mean sphere (geo's haversine radius).
pub(crate) const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// A validated circle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PreparedCircle {
    pub lon: f64,
    pub lat: f64,
    pub radius_m: f64,
    /// Conservative bounding box `[xmin, ymin, xmax, ymax]` in degrees.
    pub bbox: [f64; 4],
    /// Metres per degree of longitude at the centre.
    m_per_deg_lon: f64,
    /// Squared planar distances below (above) which a point is surely inside (outside); the
    /// haversine is computed only in between. `prefilter` is off where the plane is too crude.
    in2: f64,
    out2: f64,
    prefilter: bool,
}

impl PreparedCircle {
    fn new(lon: f64, lat: f64, radius_m: f64) -> PreparedCircle {
        // 1 % and a metre of slack so the box surely holds the circle.
        let dlat = radius_m * 1.01 / M_PER_DEG + 1e-6;
        let (ymin, ymax) = (lat - dlat, lat + dlat);
        let bbox = if ymin <= -89.0 || ymax >= 89.0 {
            [-180.0, ymin.max(-90.0), 180.0, ymax.min(90.0)]
        } else {
            let c = ymin.abs().max(ymax.abs()).to_radians().cos();
            let dlon = (dlat / c).min(180.0);
            [lon - dlon, ymin, lon + dlon, ymax]
        };
        // The local plane's relative error near the circle is below tan(φ + ρ)·ρ (ρ the radius
        // in radians; checked numerically with seven-fold slack); twice that is the band.
        let rho = radius_m / 6_371_008.8;
        let prefilter = radius_m <= 100_000.0 && lat.abs() <= 60.0;
        let delta = 2.0 * (lat.abs().to_radians() + rho).tan() * rho + 1e-4;
        PreparedCircle {
            lon,
            lat,
            radius_m,
            bbox,
            m_per_deg_lon: M_PER_DEG * lat.to_radians().cos(),
            in2: (radius_m * (1.0 - delta)).powi(2),
            out2: (radius_m * (1.0 + delta)).powi(2),
            prefilter,
        }
    }

    fn crosses_antimeridian(&self) -> bool {
        self.bbox[0] < -180.0 || self.bbox[2] > 180.0
    }

    /// Haversine distance from the centre in metres.
    #[inline]
    pub fn distance(&self, px: f64, py: f64) -> f64 {
        Haversine.distance(geo::Point::new(self.lon, self.lat), geo::Point::new(px, py))
    }

    /// Exact membership: haversine distance ≤ radius (a planar estimate settles points clearly
    /// inside or outside first).
    #[inline]
    pub fn contains(&self, px: f64, py: f64) -> bool {
        if px < self.bbox[0] || px > self.bbox[2] || py < self.bbox[1] || py > self.bbox[3] {
            return false;
        }
        if self.prefilter {
            let x = (px - self.lon) * self.m_per_deg_lon;
            let y = (py - self.lat) * M_PER_DEG;
            let d2 = x * x + y * y;
            if d2 <= self.in2 {
                return true;
            }
            if d2 >= self.out2 {
                return false;
            }
        }
        self.distance(px, py) <= self.radius_m
    }
}

/// A validated area.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    pub polygons: Vec<PreparedPolygon>,
    pub circles: Vec<PreparedCircle>,
    /// Half-open code ranges.
    pub divisions: Vec<(u64, u64)>,
}

impl Prepared {
    /// Whether a point is in the area (used for points outside the grid).
    pub fn contains(&self, px: f64, py: f64, division: u64) -> bool {
        self.divisions.iter().any(|&(lo, hi)| division >= lo && division < hi)
            || self.circles.iter().any(|c| c.contains(px, py))
            || self.polygons.iter().any(|p| p.contains(px, py))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, s: f64) -> Vec<LonLat> {
        vec![[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s], [x0, y0]]
    }

    #[test]
    fn division_levels_and_ranges() {
        assert_eq!(division_level(320508000000), Some(DivisionLevel::District));
        assert_eq!(division_level(320508017000), Some(DivisionLevel::Street));
        assert_eq!(division_level(320508017010), Some(DivisionLevel::Community));
        assert_eq!(division_level(320500000000), Some(DivisionLevel::City));
        assert_eq!(division_level(320000000000), Some(DivisionLevel::Province));
        assert_eq!(division_level(32050800), None);
        assert_eq!(division_range(320508000000), Some((320508000000, 320509000000)));
        assert_eq!(DivisionLevel::Street.ancestor(320508017010), Some(320508017000));
    }

    #[test]
    fn point_tests_are_exact_at_edges_and_holes() {
        let area = Area::new().with_polygon(square(0.0, 0.0, 10.0), vec![square(4.0, 4.0, 2.0)]);
        let p = area.prepare().unwrap();
        let poly = &p.polygons[0];
        assert!(poly.contains(1.0, 1.0));
        assert!(!poly.contains(5.0, 5.0), "inside the hole");
        assert!(!poly.contains(4.0, 5.0), "on the hole's ring");
        assert!(!poly.contains(0.0, 5.0), "on the exterior");
        assert!(!poly.contains(10.0, 10.0), "a vertex");
        assert!(poly.contains(3.999_999_999_999, 5.0));
        assert!(!poly.contains(11.0, 5.0));
    }

    #[test]
    fn bad_geometry_is_refused_with_reasons() {
        // Bow-tie.
        let bow = Area::new().with_polygon(vec![[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], vec![]);
        assert!(matches!(bow.validate(), Err(AreaError::SelfIntersection { .. })));
        // Spike folding back on itself.
        let spike = Area::new()
            .with_polygon(vec![[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [2.0, 3.0], [2.0, 2.5], [0.0, 2.0]], vec![]);
        assert!(matches!(spike.validate(), Err(AreaError::SelfIntersection { .. })));
        // Hole outside.
        let hole = Area::new().with_polygon(square(0.0, 0.0, 1.0), vec![square(5.0, 5.0, 1.0)]);
        assert!(matches!(hole.validate(), Err(AreaError::InvalidPolygon { .. })));
        // Hole crossing the exterior.
        let cross = Area::new().with_polygon(square(0.0, 0.0, 1.0), vec![square(0.5, 0.5, 1.0)]);
        assert!(matches!(cross.validate(), Err(AreaError::InvalidPolygon { .. })));
        // Antimeridian.
        let am = Area::new().with_polygon(vec![[179.0, 0.0], [-179.0, 0.0], [-179.0, 1.0], [179.0, 1.0]], vec![]);
        assert!(matches!(am.validate(), Err(AreaError::CrossesAntimeridian { .. })));
        // Swapped order: Suzhou given as lat,lon.
        let swapped = Area::new().with_polygon(vec![[31.3, 120.6], [31.3, 120.7], [31.4, 120.7]], vec![]);
        match swapped.validate() {
            Err(e @ AreaError::OutOfRange { swapped: true, .. }) => {
                assert!(e.message_zh().contains("颠倒"));
                assert!(e.message_en().contains("swapped"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Area::new().validate(), Err(AreaError::EmptyArea));
        for r in [0.0, -5.0, f64::NAN, 2.0e6] {
            assert!(matches!(Area::new().with_circle(120.6, 31.3, r).validate(), Err(AreaError::InvalidRadius { .. })));
        }
        assert!(matches!(
            Area::new().with_circle(179.99, 0.0, 5000.0).validate(),
            Err(AreaError::CrossesAntimeridian { .. })
        ));
        assert!(matches!(Area::new().with_division(3205).validate(), Err(AreaError::InvalidDivisionCode { .. })));
        let two = Area::new().with_polygon(vec![[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]], vec![]);
        assert!(matches!(two.validate(), Err(AreaError::TooFewVertices { distinct: 2, .. })));
        let nan = Area::new().with_polygon(vec![[0.0, 0.0], [f64::NAN, 1.0], [1.0, 0.0]], vec![]);
        assert!(matches!(nan.validate(), Err(AreaError::NonFinite { .. })));
        // Display carries both languages.
        let text = AreaError::EmptyArea.to_string();
        assert!(text.contains("区域为空") && text.contains("empty area"));
    }

    #[test]
    fn cap_strings_use_lat_lon_and_kilometres() {
        let mut a = Area::new();
        a.add_cap_polygon("31.30,120.60 31.30,120.64 31.33,120.64 31.30,120.60").unwrap();
        a.add_cap_circle("31.3,120.62 3").unwrap();
        assert_eq!(a.parts[1], AreaPart::Circle { lon: 120.62, lat: 31.3, radius_m: 3000.0 });
        match &a.parts[0] {
            AreaPart::Polygon(p) => assert_eq!(p.exterior[1], [120.64, 31.30]),
            other => panic!("{other:?}"),
        }
        a.validate().unwrap();
        assert!(a.add_cap_circle("31.3 120.62 3").is_err());
        assert!(a.add_cap_polygon("31.3;120.6").is_err());
    }

    #[test]
    fn geojson_round_trip_and_datum_conversion() {
        let area = Area::new()
            .with_polygon(square(120.6, 31.3, 0.01), vec![square(120.603, 31.303, 0.002)])
            .with_circle(120.62, 31.30, 3000.0)
            .with_division(320508000000);
        let feature = area.to_geojson(serde_json::Map::new());
        let back = Area::from_geojson(&feature.to_string(), Datum::Wgs84).unwrap();
        assert_eq!(back.parts.len(), 3);
        assert!(back.parts.contains(&AreaPart::Circle { lon: 120.62, lat: 31.30, radius_m: 3000.0 }));
        assert!(back.parts.contains(&AreaPart::Division { code: 320508000000 }));
        // A polygon drawn on AMap (GCJ-02) in Suzhou lands about 400 m west and 240 m north in WGS-84.
        let gcj = r#"{"type":"Polygon","coordinates":[[[120.6,31.3],[120.61,31.3],[120.61,31.31],[120.6,31.3]]]}"#;
        let w = Area::from_geojson(gcj, Datum::Gcj02).unwrap();
        match &w.parts[0] {
            AreaPart::Polygon(p) => {
                let (dx, dy) = (120.6 - p.exterior[0][0], 31.3 - p.exterior[0][1]);
                assert!(dx > 0.003 && dx < 0.006 && dy < -0.001 && dy > -0.004, "{dx} {dy}");
            }
            other => panic!("{other:?}"),
        }
        assert!(Area::from_geojson("{\"type\":\"LineString\"}", Datum::Wgs84).is_err());
        assert!(Area::from_geojson("not json", Datum::Wgs84).is_err());
    }
}
