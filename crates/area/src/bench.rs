//! The targeting benchmark (`tongxin bench target`, or `area-bench` in this crate): builds an
//! index over synthetic Suzhou points and times queries over the default areas, printing one JSON
//! line per area. `--verify` checks every count against a brute-force scan with the `geo` crate;
//! `--export` writes the areas and counts as GeoJSON (and, for a directory, the points as CSV) so
//! they can be checked elsewhere, e.g. with PostGIS.

use crate::brute::BruteForce;
use crate::geom::Area;
use crate::index::{IndexConfig, PointIndex, QueryOptions};
use crate::synth;
use crate::Datum;
use anyhow::{bail, Context};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of the targeting benchmark.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Number of synthetic points.
    #[arg(long, default_value_t = 10_000_000)]
    pub points: usize,
    /// Seed of the point generator (same seed, same points).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the areas with their counts as GeoJSON: to FILE, or into DIR as `areas.geojson`
    /// together with `points.csv` (id,lon,lat,division,kind).
    #[arg(long, value_name = "DIR or FILE")]
    pub export: Option<PathBuf>,
    /// Also query each feature of this GeoJSON file (WGS-84), e.g. district outlines.
    #[arg(long, value_name = "FILE")]
    pub districts: Option<PathBuf>,
    /// Check every count against a brute-force scan of all points (slow).
    #[arg(long)]
    pub verify: bool,
    /// Grid cell height in degrees of latitude.
    #[arg(long, default_value_t = 0.0015)]
    pub cell_deg: f64,
    /// Timed repetitions per query (the median is printed).
    #[arg(long, default_value_t = 7)]
    pub repeat: usize,
    /// Also build an R-tree (rstar) over the same points and time the same counts with it
    /// (envelope search, then the same exact test), for comparison.
    #[arg(long)]
    pub compare_rtree: bool,
}

type RtreePoint = rstar::primitives::GeomWithData<[f64; 2], u64>;

/// Counts with an R-tree: every point in the area's bounding boxes is fetched and tested.
fn rtree_count(tree: &rstar::RTree<RtreePoint>, area: &Area) -> anyhow::Result<Option<u64>> {
    let p = area.prepare()?;
    if !p.divisions.is_empty() {
        return Ok(None);
    }
    let boxes = p.polygons.iter().map(|q| q.bbox).chain(p.circles.iter().map(|c| c.bbox));
    let mut n = 0u64;
    for b in boxes {
        let env = rstar::AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
        // Division codes play no part here; a point counts once even if several boxes hold it.
        n += tree
            .locate_in_envelope(&env)
            .filter(|q| {
                let [x, y] = *q.geom();
                p.contains(x, y, 0) && !earlier_box_holds(&p, b, x, y)
            })
            .count() as u64;
    }
    Ok(Some(n))
}

/// Whether a box before `b` (in the order `rtree_count` visits them) holds a point of the area
/// at (x, y), so that the point was already counted there.
fn earlier_box_holds(p: &crate::geom::Prepared, b: [f64; 4], x: f64, y: f64) -> bool {
    let inside = |q: &[f64; 4]| x >= q[0] && x <= q[2] && y >= q[1] && y <= q[3];
    p.polygons
        .iter()
        .map(|q| q.bbox)
        .chain(p.circles.iter().map(|c| c.bbox))
        .take_while(|q| *q != b)
        .any(|q| inside(&q))
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

fn median_ms(repeat: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?; // warm-up
    let mut v = Vec::with_capacity(repeat.max(1));
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        f()?;
        v.push(ms(t));
    }
    v.sort_by(f64::total_cmp);
    Ok(v[v.len() / 2])
}

/// Resident and peak memory of this process in MiB (Linux), if known.
fn memory_mib() -> (Option<f64>, Option<f64>) {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| (kb / 1024.0).round())
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn read_districts(path: &PathBuf) -> anyhow::Result<Vec<(String, Area)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value = serde_json::from_str(&text).context("parsing districts GeoJSON")?;
    let features = match v.get("features").and_then(Value::as_array) {
        Some(f) => f.clone(),
        None => vec![v],
    };
    let mut out = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let props = f.get("properties");
        let label = props
            .and_then(|p| p.get("code").or_else(|| p.get("name")))
            .and_then(|c| c.as_str().map(str::to_owned).or_else(|| c.as_u64().map(|n| n.to_string())))
            .unwrap_or_else(|| i.to_string());
        let area =
            Area::from_geojson(&f.to_string(), Datum::Wgs84).map_err(|e| anyhow::anyhow!("feature {label}: {e}"))?;
        out.push((format!("district_{label}"), area));
    }
    Ok(out)
}

/// Runs the benchmark, printing one JSON line per area to `out`.
pub fn run(args: &BenchArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut areas = synth::default_areas();
    if let Some(p) = &args.districts {
        areas.extend(read_districts(p)?);
    }
    let t = Instant::now();
    let points = synth::suzhou_points(args.points, args.seed);
    let gen_ms = ms(t);
    let t = Instant::now();
    let config = IndexConfig { cell_deg: args.cell_deg, ..IndexConfig::default() };
    let index = PointIndex::build_with(points, config)?;
    let build_ms = ms(t);
    let stats = index.stats();
    let rtree = if args.compare_rtree {
        let t = Instant::now();
        let tree = rstar::RTree::bulk_load(index.iter().map(|p| RtreePoint::new([p.lon, p.lat], p.id)).collect());
        Some((tree, ms(t)))
    } else {
        None
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut exported = Vec::new();
    for (name, area) in &areas {
        let full = index.query(area)?;
        let ms_breakdown = median_ms(args.repeat, || index.query(area).map(|_| ()).map_err(Into::into))?;
        let ms_count = median_ms(args.repeat, || index.count(area).map(|_| ()).map_err(Into::into))?;
        let opts = QueryOptions { ids: true, ..QueryOptions::default() };
        let ms_ids = median_ms(args.repeat.min(3), || index.query_with(area, &opts).map(|_| ()).map_err(Into::into))?;
        let (rss, peak) = memory_mib();
        let mut line = json!({
            "name": name,
            "count": full.count,
            "ms": ms_breakdown,
            "count_ms": ms_count,
            "ids_ms": ms_ids,
            "index_build_ms": build_ms,
            "points": args.points,
            "seed": args.seed,
            "divisions_touched": full.per_division.len(),
            "per_kind": full.per_kind,
            "gen_ms": gen_ms,
            "cell_deg": args.cell_deg,
            "grid": [stats.grid.0, stats.grid.1],
            "index_mib": (stats.approx_bytes as f64 / 1048576.0).round(),
            "rss_mib": rss,
            "peak_rss_mib": peak,
            "cores": cores,
        });
        if let Some((tree, build)) = &rtree {
            if let Some(n) = rtree_count(tree, area)? {
                line["rtree_count"] = json!(n);
                line["rtree_count_ms"] = json!(median_ms(args.repeat.min(3), || rtree_count(tree, area).map(|_| ()))?);
                line["rtree_build_ms"] = json!(build);
            }
        }
        if args.verify {
            let brute = BruteForce::new(area)?;
            let t = Instant::now();
            let n = index.iter().filter(|p| brute.contains(p)).count() as u64;
            line["brute_force_count"] = json!(n);
            line["brute_force_ms"] = json!(ms(t));
            line["verified"] = json!(n == full.count);
            if n != full.count {
                writeln!(out, "{line}")?;
                bail!("area {name}: index counted {} but brute force {n}", full.count);
            }
        }
        writeln!(out, "{line}")?;
        exported.push((name.clone(), area.clone(), full));
    }
    if let Some(path) = &args.export {
        export(path, args, &index, &exported)?;
    }
    Ok(())
}

fn export(
    path: &PathBuf,
    args: &BenchArgs,
    index: &PointIndex,
    results: &[(String, Area, crate::QueryResult)],
) -> anyhow::Result<()> {
    let is_dir = path.is_dir() || path.to_string_lossy().ends_with('/');
    let features: Vec<Value> = results
        .iter()
        .map(|(name, area, r)| {
            let mut props = Map::new();
            props.insert("name".into(), json!(name));
            props.insert("count".into(), json!(r.count));
            props.insert("per_kind".into(), json!(r.per_kind));
            area.to_geojson(props)
        })
        .collect();
    let fc = json!({
        "type": "FeatureCollection",
        "points": args.points,
        "seed": args.seed,
        "semantics": "polygon: interior only (ST_Contains); circle: haversine distance <= radius_m on a sphere of radius 6371008.8 m; division: code prefix",
        "features": features,
    });
    let geojson_path = if is_dir {
        std::fs::create_dir_all(path)?;
        path.join("areas.geojson")
    } else {
        path.clone()
    };
    std::fs::write(&geojson_path, serde_json::to_string_pretty(&fc)?)
        .with_context(|| format!("writing {}", geojson_path.display()))?;
    if is_dir {
        let file = std::fs::File::create(path.join("points.csv"))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(w, "id,lon,lat,division,kind")?;
        for p in index.iter() {
            writeln!(w, "{},{},{},{},{}", p.id, p.lon, p.lat, p.division, p.kind)?;
        }
        w.flush()?;
    }
    Ok(())
}
