//! Area queries against a brute-force scan with the `geo` crate: random polygons with holes,
//! circles, division codes and their unions, points on edges and vertices, incremental updates,
//! and Suzhou's real district outlines.

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tongxin_area::brute::BruteForce;
use tongxin_area::synth::suzhou_points;
use tongxin_area::{
    Area, AreaError, Datum, DivisionLevel, IndexConfig, LonLat, Point, PointIndex, QueryOptions, KIND_HOUSEHOLD,
    KIND_RESPONDER,
};

/// Checks count, ids, per-division and per-kind figures of one query against brute force.
fn check(index: &PointIndex, points: &[Point], area: &Area, kinds: Option<Vec<u8>>) {
    let brute = BruteForce::new(area).expect("valid area");
    let expect: Vec<&Point> = points
        .iter()
        .filter(|p| kinds.as_ref().is_none_or(|k| k.contains(&p.kind)))
        .filter(|p| brute.contains(p))
        .collect();
    let opts = QueryOptions { ids: true, breakdown: true, kinds: kinds.clone() };
    let got = index.query_with(area, &opts).expect("query");
    assert_eq!(got.count, expect.len() as u64, "count for {area:?}");
    let ids: BTreeSet<u64> = got.ids.clone().unwrap().into_iter().collect();
    assert_eq!(ids.len() as u64, got.count, "ids are unique");
    assert_eq!(ids, expect.iter().map(|p| p.id).collect::<BTreeSet<_>>());
    let mut per_div = BTreeMap::new();
    let mut per_kind = BTreeMap::new();
    for p in &expect {
        *per_div.entry(p.division).or_insert(0u64) += 1;
        *per_kind.entry(p.kind).or_insert(0u64) += 1;
    }
    assert_eq!(got.per_division, per_div);
    assert_eq!(got.per_kind, per_kind);
    let plain = QueryOptions { kinds, ..QueryOptions::default() };
    assert_eq!(index.query_with(area, &plain).unwrap().count, got.count);
}

/// A star-shaped (hence simple) ring around a centre.
fn star(cx: f64, cy: f64, angles: &[f64], radii: &[f64], scale: f64) -> Vec<LonLat> {
    let mut a: Vec<f64> = angles.to_vec();
    a.sort_by(f64::total_cmp);
    a.dedup_by(|x, y| (*x - *y).abs() < 1e-3);
    let mut ring: Vec<LonLat> = a
        .iter()
        .zip(radii.iter().cycle())
        .map(|(t, r)| [cx + r * scale * t.cos() / 0.85, cy + r * scale * t.sin()])
        .collect();
    ring.push(ring[0]);
    ring
}

/// Rounds to a lattice of 0.0005° so vertices, edges and points often coincide exactly.
fn snap(v: f64) -> f64 {
    (v * 2000.0).round() / 2000.0
}

#[derive(Debug, Clone)]
enum PartSpec {
    Polygon { cx: f64, cy: f64, angles: Vec<f64>, radii: Vec<f64>, scale: f64, hole: bool, snapped: bool },
    Circle { cx: f64, cy: f64, radius_m: f64 },
    Division { which: usize, level: usize },
}

fn part_spec() -> impl Strategy<Value = PartSpec> {
    let centre = (120.45..120.85f64, 31.15..31.45f64);
    prop_oneof![
        3 => (centre.clone(), prop::collection::vec(0.0..std::f64::consts::TAU, 3..14),
              prop::collection::vec(0.3..1.0f64, 1..8), 0.002..0.12f64, any::<bool>(), any::<bool>())
            .prop_map(|((cx, cy), angles, radii, scale, hole, snapped)|
                PartSpec::Polygon { cx, cy, angles, radii, scale, hole, snapped }),
        2 => (centre, 50.0..15_000.0f64).prop_map(|((cx, cy), radius_m)| PartSpec::Circle { cx, cy, radius_m }),
        1 => (0..1000usize, 0..3usize).prop_map(|(which, level)| PartSpec::Division { which, level }),
    ]
}

fn build_area(specs: &[PartSpec], points: &[Point]) -> Area {
    let mut area = Area::new();
    for s in specs {
        area = match s {
            PartSpec::Polygon { cx, cy, angles, radii, scale, hole, snapped } => {
                let mut ring = star(*cx, *cy, angles, radii, *scale);
                if *snapped {
                    for p in &mut ring {
                        *p = [snap(p[0]), snap(p[1])];
                    }
                }
                // The hole is a small square around the centre, well inside every star (all
                // radii are at least 0.3 × scale).
                let holes = if *hole {
                    let h = scale * 0.1;
                    vec![vec![[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h]]]
                } else {
                    vec![]
                };
                area.with_polygon(ring, holes)
            }
            PartSpec::Circle { cx, cy, radius_m } => area.with_circle(*cx, *cy, *radius_m),
            PartSpec::Division { which, level } => {
                let code = points[which % points.len()].division;
                let l = [DivisionLevel::District, DivisionLevel::Street, DivisionLevel::Community][*level];
                area.with_division(l.ancestor(code).unwrap())
            }
        };
    }
    area
}

/// Points of the synthetic city plus points on the lattice used by snapped polygons.
fn test_points(n: usize, seed: u64) -> Vec<Point> {
    let mut pts = suzhou_points(n, seed);
    let base = pts.len() as u64;
    for (i, p) in suzhou_points(n / 4, seed + 1).into_iter().enumerate() {
        pts.push(Point { id: base + 1 + i as u64, lon: snap(p.lon), lat: snap(p.lat), ..p });
    }
    pts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn counts_equal_brute_force(
        specs in prop::collection::vec(part_spec(), 1..4),
        cell in prop::sample::select(vec![0.0004, 0.0015, 0.006, 0.05]),
        kinds in prop::option::of(prop::sample::select(vec![vec![KIND_HOUSEHOLD], vec![KIND_RESPONDER, 2]])),
    ) {
        let points = test_points(12_000, 11);
        let area = build_area(&specs, &points);
        // Snapping can make a random star self-intersect or degenerate: those must be refused
        // with a reason, never panic; such cases are replaced.
        prop_assume!(area.validate().is_ok());
        let index = PointIndex::build_with(points.clone(), IndexConfig { cell_deg: cell, ..IndexConfig::default() }).unwrap();
        check(&index, &points, &area, kinds);
    }
}

#[test]
fn points_on_vertices_and_edges_follow_st_contains() {
    // A square with a hole, both on the 0.0005° lattice, and points exactly on its lattice.
    let (x0, y0) = (120.60, 31.30);
    // Every coordinate goes through `snap`, so equal lattice values are equal doubles.
    let sq = |a: f64, b: f64, s: f64| {
        let (a, b, c, d) = (snap(a), snap(b), snap(a + s), snap(b + s));
        vec![[a, b], [c, b], [c, d], [a, d], [a, b]]
    };
    let area = Area::new().with_polygon(sq(x0, y0, 0.01), vec![sq(x0 + 0.004, y0 + 0.004, 0.002)]);
    let mut points = Vec::new();
    for i in 0..=24 {
        for j in 0..=24 {
            let id = points.len() as u64 + 1;
            let (lon, lat) = (snap(x0 - 0.001 + f64::from(i) * 0.0005), snap(y0 - 0.001 + f64::from(j) * 0.0005));
            points.push(Point { id, lon, lat, division: 0, kind: KIND_HOUSEHOLD });
        }
    }
    for cell in [0.0005, 0.001, 0.0015] {
        let index =
            PointIndex::build_with(points.clone(), IndexConfig { cell_deg: cell, ..IndexConfig::default() }).unwrap();
        check(&index, &points, &area, None);
        // Interior lattice points: 19 × 19 strictly inside the square, minus the hole's closed
        // 5 × 5 block.
        assert_eq!(index.count(&area).unwrap(), 19 * 19 - 5 * 5);
    }
}

#[test]
fn incremental_updates_match_a_rebuild() {
    let all = suzhou_points(30_000, 3);
    let (first, rest) = all.split_at(20_000);
    let mut index = PointIndex::build(first.to_vec()).unwrap();
    let mut truth: HashMap<u64, Point> = first.iter().map(|p| (p.id, *p)).collect();
    for p in rest {
        index.insert(*p).unwrap();
        truth.insert(p.id, *p);
    }
    assert_eq!(index.insert(rest[0]), Err(AreaError::DuplicateId { id: rest[0].id }));
    for id in (1..30_000u64).step_by(7) {
        assert_eq!(index.remove(id), truth.remove(&id));
    }
    assert_eq!(index.remove(7 * 3 + 1), None, "already removed");
    // Move some points across the city, some far outside the grid (Beijing).
    for (n, id) in (2..30_000u64).step_by(11).enumerate() {
        let Some(p) = truth.get_mut(&id) else { continue };
        let (lon, lat) =
            if n % 10 == 0 { (116.4, 39.9) } else { (120.5 + (n % 50) as f64 * 0.01, 31.1 + (n % 37) as f64 * 0.01) };
        assert!(index.move_point(id, lon, lat).unwrap());
        p.lon = lon;
        p.lat = lat;
    }
    assert!(!index.move_point(u64::MAX, 120.6, 31.3).unwrap());
    assert!(index.move_point(2, f64::NAN, 31.3).is_err());
    let changed = Point { id: 3, lon: 120.62, lat: 31.30, division: 320508001001, kind: KIND_RESPONDER };
    index.upsert(changed).unwrap();
    truth.insert(3, changed);
    assert_eq!(index.len(), truth.len());
    assert_eq!(index.get(3), Some(changed));
    let points: Vec<Point> = truth.values().copied().collect();
    let beijing = Area::new().with_circle(116.4, 39.9, 1000.0);
    let mut areas = tongxin_area::synth::default_areas();
    areas.push(("beijing".into(), beijing.clone()));
    areas.push((
        "union".into(),
        tongxin_area::synth::neighbourhood().with_circle(116.4, 39.9, 10.0).with_division(320507000000),
    ));
    for (_, area) in &areas {
        check(&index, &points, area, None);
    }
    assert!(index.count(&beijing).unwrap() > 0, "points moved outside the grid are still found");
    index.rebuild().unwrap();
    assert_eq!(index.stats().outside_grid, 0);
    for (_, area) in &areas {
        check(&index, &points, area, None);
    }
}

fn districts_path() -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/suzhou-districts.geojson");
    assert!(p.exists(), "shared data missing: {} (see the brief: ../shared beside the repository)", p.display());
    p
}

#[test]
fn real_suzhou_districts() {
    let text = std::fs::read_to_string(districts_path()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let points = suzhou_points(150_000, 5);
    let index = PointIndex::build(points.clone()).unwrap();
    let mut total = 0;
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), 9);
    for f in features {
        // Every real outline (hundreds of vertices) passes validation and counts exactly.
        let area = Area::from_geojson(&f.to_string(), Datum::Wgs84).unwrap();
        check(&index, &points, &area, None);
        total += index.count(&area).unwrap();
    }
    // The nine outlines tile the land without overlap: their counts add up to the count of the
    // whole collection as one area.
    let all = Area::from_geojson(&text, Datum::Wgs84).unwrap();
    assert_eq!(all.parts.len(), 9);
    assert_eq!(index.count(&all).unwrap(), total);
    // The same outlines given in GCJ-02 (as AMap would draw them) convert back at the edge and
    // select (almost) the same points: the round trip is exact to a millimetre.
    let mut shifted = all.clone();
    for part in &mut shifted.parts {
        if let tongxin_area::AreaPart::Polygon(p) = part {
            for q in p.exterior.iter_mut() {
                let (x, y) = Datum::Gcj02.from_wgs84(q[0], q[1]);
                *q = [x, y];
            }
        }
    }
    let back = shifted.into_wgs84(Datum::Gcj02);
    let diff = index.count(&back).unwrap().abs_diff(total);
    assert!(diff <= 2, "{diff}");
    // Most synthetic points fall inside the real city.
    assert!(total as f64 > 0.8 * points.len() as f64, "{total}");
}

#[test]
fn bad_areas_are_refused_by_queries() {
    let index = PointIndex::build(suzhou_points(1_000, 1)).unwrap();
    assert_eq!(index.count(&Area::new()), Err(AreaError::EmptyArea));
    let err = index.count(&Area::new().with_circle(120.6, 31.3, 0.0)).unwrap_err();
    assert!(err.message_zh().contains("半径") && err.message_en().contains("radius"));
    let bow = Area::new().with_polygon(vec![[120.6, 31.3], [120.7, 31.4], [120.7, 31.3], [120.6, 31.4]], vec![]);
    assert!(matches!(index.count(&bow), Err(AreaError::SelfIntersection { .. })));
    let mut cap = Area::new();
    // CAP gives lat,lon: the reader swaps, so this is Suzhou and valid.
    cap.add_cap_polygon("31.29,120.60 31.29,120.64 31.32,120.64 31.32,120.60 31.29,120.60").unwrap();
    assert!(index.count(&cap).is_ok());
    // The same text read as GeoJSON order is out of range and says so.
    let swapped = Area::new().with_polygon(vec![[31.29, 120.60], [31.29, 120.64], [31.32, 120.64]], vec![]);
    match index.count(&swapped) {
        Err(AreaError::OutOfRange { swapped: true, .. }) => {}
        other => panic!("{other:?}"),
    }
    // A huge circle (1000 km) is fine and finds everyone.
    assert_eq!(index.count(&Area::new().with_circle(120.6, 31.3, 1_000_000.0)).unwrap(), 1_000);
    // Invalid points are refused when building.
    let bad = vec![Point { id: 1, lon: 200.0, lat: 31.0, division: 0, kind: 1 }];
    assert!(matches!(PointIndex::build(bad), Err(AreaError::InvalidPoint { id: 1, .. })));
    let bad = vec![Point { id: 1, lon: 120.0, lat: 31.0, division: 42, kind: 1 }];
    assert!(matches!(PointIndex::build(bad), Err(AreaError::InvalidDivisionCode { .. })));
    let dup = vec![Point { id: 1, lon: 120.0, lat: 31.0, division: 0, kind: 1 }; 2];
    assert_eq!(PointIndex::build(dup).unwrap_err(), AreaError::DuplicateId { id: 1 });
}

#[test]
fn divisions_rollup_and_empty_index() {
    let points = suzhou_points(5_000, 9);
    let index = PointIndex::build(points.clone()).unwrap();
    let r = index.query(&Area::new().with_division(320508000000)).unwrap();
    let expect = points.iter().filter(|p| p.division / 1_000_000 == 320508).count() as u64;
    assert_eq!(r.count, expect);
    assert!(expect > 0);
    let districts = r.divisions_at(DivisionLevel::District);
    assert_eq!(districts.into_iter().collect::<Vec<_>>(), vec![(320508000000, expect)]);
    let streets = r.divisions_at(DivisionLevel::Street);
    assert!(streets.len() > 1 && streets.values().sum::<u64>() == expect);
    let empty = PointIndex::build(Vec::new()).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.count(&tongxin_area::synth::city()).unwrap(), 0);
}

#[test]
fn time_and_memory_stay_bounded() {
    let points = suzhou_points(2_000, 4);
    // A cell size absurdly small for the bounds: the grid is capped, answers stay exact.
    let tiny = IndexConfig { cell_deg: 1e-12, max_cells: 10_000, ..IndexConfig::default() };
    let index = PointIndex::build_with(points.clone(), tiny).unwrap();
    let (w, h) = index.stats().grid;
    assert!(w * h <= 10_000, "{w} x {h}");
    check(&index, &points, &tongxin_area::synth::district_with_hole(), None);
    // A comb of 5,000 full-height teeth is a valid polygon, but planning it would copy 10,000
    // edges into every grid row: refused with a reason instead of gigabytes.
    let index = PointIndex::build(points).unwrap();
    let mut ring: Vec<LonLat> = Vec::new();
    let n = 5_000;
    for i in 0..n {
        let x = 119.95 + 1.3 * f64::from(i) / f64::from(n);
        let dx = 0.4 / f64::from(n);
        ring.extend([[x, 30.80], [x, 32.00], [x + dx, 32.00], [x + dx, 30.81]]);
    }
    ring.extend([[121.3, 30.81], [121.3, 30.79], [119.95, 30.79]]);
    let comb = Area::new().with_polygon(ring, vec![]);
    assert_eq!(comb.validate(), Ok(()));
    match index.count(&comb) {
        Err(e @ AreaError::TooComplex { .. }) => assert!(e.message_zh().contains("复杂")),
        other => panic!("{other:?}"),
    }
    // More vertices than the limit are refused before any work.
    let many: Vec<LonLat> =
        (0..200_000).map(|i| [120.0 + f64::from(i) * 1e-6, 31.0 + (f64::from(i) * 0.1).sin() * 0.1]).collect();
    assert!(matches!(index.count(&Area::new().with_polygon(many, vec![])), Err(AreaError::TooManyVertices { .. })));
}
