//! Boundaries of districts, streets, communities and grids: import from GeoJSON (WGS-84, or
//! GCJ-02 / BD-09 converted), validated with a preview, all or nothing; export as GeoJSON.
//!
//! Each feature names its node in `properties.code` (12-digit division code, 6-digit adcode, or
//! 15-digit grid code). Geometry is read and validated by `tongxin-area` (rings simple, no
//! self-intersection, coordinates in range with a hint when longitude and latitude are swapped).
//! Grids of one community must not overlap one another (sharing an edge is fine).

use super::{require, READ_ROLES, TOPIC};
use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongxin_area::{Area, AreaPart, Datum};
use tongxin_domain::grids::{bbox, overlaps, MultiPoly};
use tongxin_domain::{Actor, Role, Text};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::grids::{upsert_boundaries, Boundary};
use tongxin_store::now_ms;

/// Roles that may import boundaries.
pub const IMPORT_ROLES: [Role; 3] = [Role::SysAdmin, Role::CivilAffairs, Role::CommunityWorker];
/// Most features in one import.
pub const MAX_FEATURES: usize = 20_000;

/// One feature of an import, as it would be saved.
#[derive(Debug, Clone, Serialize)]
pub struct BoundaryItem {
    /// Feature index (0-based).
    pub index: usize,
    /// Node code.
    pub code: String,
    /// Node name.
    pub name: String,
    /// Level key.
    pub level: String,
    /// Vertices.
    pub vertices: usize,
    /// Bounding box (WGS-84).
    pub bbox: [f64; 4],
    /// Geometry in WGS-84 (for the preview map).
    pub geometry: Value,
}

/// One problem of an import.
#[derive(Debug, Clone, Serialize)]
pub struct BoundaryProblem {
    /// Feature index (0-based), when about one feature.
    pub index: Option<usize>,
    /// Node code, when known.
    pub code: String,
    /// Rule.
    pub rule: String,
    /// Message.
    pub message: Text,
}

/// What an import did (or would do).
#[derive(Debug, Clone, Serialize, Default)]
pub struct BoundaryReport {
    /// Features read.
    pub total: usize,
    /// Features that would be / were saved.
    pub items: Vec<BoundaryItem>,
    /// Errors (nothing is saved when there is any).
    pub errors: Vec<BoundaryProblem>,
    /// Warnings (saved anyway).
    pub warnings: Vec<BoundaryProblem>,
    /// Whether anything was saved.
    pub saved: bool,
}

fn problem(index: Option<usize>, code: &str, rule: &str, zh: String, en: String) -> BoundaryProblem {
    BoundaryProblem { index, code: code.to_string(), rule: rule.into(), message: Text::new(zh, en) }
}

/// Parses a stored geometry into a multipolygon.
pub fn parse_geometry(geometry: &str) -> Option<MultiPoly> {
    let v: Value = serde_json::from_str(geometry).ok()?;
    match v.get("type")?.as_str()? {
        "MultiPolygon" => serde_json::from_value(v.get("coordinates")?.clone()).ok(),
        "Polygon" => serde_json::from_value(v.get("coordinates")?.clone()).ok().map(|p| vec![p]),
        _ => None,
    }
}

fn area_to_mp(a: &Area) -> MultiPoly {
    a.parts
        .iter()
        .filter_map(|p| match p {
            AreaPart::Polygon(poly) => {
                let close = |r: &Vec<[f64; 2]>| {
                    let mut r = r.clone();
                    if r.first() != r.last() {
                        r.push(r[0]);
                    }
                    r
                };
                let mut rings = vec![close(&poly.exterior)];
                rings.extend(poly.holes.iter().map(close));
                Some(rings)
            }
            _ => None,
        })
        .collect()
}

/// Normalises a feature's code: 6-digit adcodes and 9-digit street codes are padded to 12.
fn normalise_code(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(match s.len() {
        6 => format!("{s}000000"),
        9 => format!("{s}000"),
        _ => s,
    })
}

impl App {
    /// Imports boundaries from GeoJSON text in `datum` (`wgs84`, `gcj02`, `bd09`). Checks every
    /// feature; when any is bad nothing is saved. `dry_run` previews only.
    pub async fn import_boundaries(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        text: &str,
        datum: &str,
        dry_run: bool,
    ) -> AppResult<BoundaryReport> {
        self.import_boundaries_at(actor, ctx, text, datum, None, dry_run).await
    }

    /// As [`App::import_boundaries`], and when `level` is given (`district`, `street`,
    /// `community`, `grid`) every feature must name a node of that level.
    pub async fn import_boundaries_at(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        text: &str,
        datum: &str,
        level: Option<&str>,
        dry_run: bool,
    ) -> AppResult<BoundaryReport> {
        require(actor, &IMPORT_ROLES)?;
        if let Some(l) = level {
            if !matches!(l, "district" | "street" | "community" | "grid") {
                return Err(invalid(
                    "level",
                    "level.unknown",
                    "层级须为 district、street、community 或 grid",
                    "level must be district, street, community or grid",
                ));
            }
        }
        let datum = Datum::parse(datum).ok_or_else(|| {
            invalid("datum", "datum.unknown", "坐标系须为 wgs84、gcj02 或 bd09", "datum must be wgs84, gcj02 or bd09")
        })?;
        let v: Value = serde_json::from_str(text).map_err(|e| {
            invalid("file", "geojson.syntax", format!("GeoJSON 格式错误：{e}"), format!("malformed GeoJSON: {e}"))
        })?;
        let features: Vec<Value> = match v.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => v.get("features").and_then(Value::as_array).cloned().unwrap_or_default(),
            Some("Feature") => vec![v.clone()],
            _ => {
                return Err(invalid(
                    "file",
                    "geojson.type",
                    "须为 FeatureCollection 或 Feature，每个要素的 properties.code 为区划或网格编码",
                    "expected a FeatureCollection or Feature, each with properties.code (division or grid code)",
                ))
            }
        };
        if features.is_empty() {
            return Err(invalid("file", "geojson.empty", "GeoJSON 中没有要素", "the GeoJSON has no features"));
        }
        if features.len() > MAX_FEATURES {
            return Err(invalid(
                "file",
                "geojson.too_many",
                format!("要素数 {} 超过上限 {MAX_FEATURES}", features.len()),
                format!("{} features, more than the limit of {MAX_FEATURES}", features.len()),
            ));
        }
        let mut rep = BoundaryReport { total: features.len(), ..Default::default() };
        let mut shapes: Vec<(BoundaryItem, String, MultiPoly, Option<String>)> = vec![]; // item, path, shape, parent
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, f) in features.iter().enumerate() {
            let props = f.get("properties").cloned().unwrap_or(Value::Null);
            let raw = props.get("code").or_else(|| props.get("division_code")).or_else(|| props.get("adcode"));
            let Some(code) = raw.and_then(normalise_code) else {
                rep.errors.push(problem(
                    Some(i),
                    "",
                    "code.missing",
                    format!("第 {} 个要素缺少 properties.code（区划或网格编码）", i + 1),
                    format!("feature {} has no properties.code (division or grid code)", i + 1),
                ));
                continue;
            };
            if let Some(prev) = seen.insert(code.clone(), i) {
                rep.errors.push(problem(
                    Some(i),
                    &code,
                    "code.duplicate",
                    format!("第 {} 个要素与第 {} 个要素的编码 {code} 重复", i + 1, prev + 1),
                    format!("feature {} repeats code {code} of feature {}", i + 1, prev + 1),
                ));
                continue;
            }
            let d = match self.store.division(&code).await {
                Ok(d) if actor.covers(&d.path) => d,
                _ => {
                    rep.errors.push(problem(
                        Some(i),
                        &code,
                        "code.unknown",
                        format!("第 {} 个要素：编码 {code} 不存在或不在您的辖区内", i + 1),
                        format!("feature {}: code {code} does not exist or is outside your jurisdiction", i + 1),
                    ));
                    continue;
                }
            };
            if let Some(l) = level.filter(|l| *l != d.level) {
                rep.errors.push(problem(
                    Some(i),
                    &code,
                    "level.mismatch",
                    format!("第 {} 个要素：{}（{code}）的层级是 {}，不是所选的 {l}", i + 1, d.name, d.level),
                    format!("feature {}: {code} is a {} node, not the chosen level {l}", i + 1, d.level),
                ));
                continue;
            }
            let geom = f.get("geometry").cloned().unwrap_or(Value::Null);
            let area = match Area::from_geojson(&geom.to_string(), datum) {
                Ok(a) => a,
                Err(e) => {
                    let rule = match &e {
                        tongxin_area::AreaError::OutOfRange { swapped: true, .. } => "coords.swapped",
                        tongxin_area::AreaError::SelfIntersection { .. } => "geometry.self_intersection",
                        _ => "geometry.invalid",
                    };
                    rep.errors.push(problem(
                        Some(i),
                        &code,
                        rule,
                        format!("第 {} 个要素（{}）：{}", i + 1, d.name, e.message_zh()),
                        format!("feature {} ({code}): {}", i + 1, e.message_en()),
                    ));
                    continue;
                }
            };
            let mp = area_to_mp(&area);
            let Some(b) = bbox(&mp).filter(|_| !mp.is_empty()) else {
                rep.errors.push(problem(
                    Some(i),
                    &code,
                    "geometry.empty",
                    format!("第 {} 个要素没有多边形", i + 1),
                    format!("feature {} has no polygon", i + 1),
                ));
                continue;
            };
            let inside_china = |x: f64, y: f64| (73.0..=136.0).contains(&x) && (3.0..=54.0).contains(&y);
            if !inside_china(b.0, b.1) || !inside_china(b.2, b.3) {
                let swapped = inside_china(b.1, b.0) && inside_china(b.3, b.2);
                rep.errors.push(problem(
                    Some(i),
                    &code,
                    if swapped { "coords.swapped" } else { "coords.range" },
                    if swapped {
                        format!("第 {} 个要素（{}）的坐标似乎经纬度颠倒：GeoJSON 应为“经度,纬度”", i + 1, d.name)
                    } else {
                        format!("第 {} 个要素（{}）不在中国境内", i + 1, d.name)
                    },
                    if swapped {
                        format!("feature {} ({code}): coordinates look swapped; GeoJSON is longitude, latitude", i + 1)
                    } else {
                        format!("feature {} ({code}) lies outside China", i + 1)
                    },
                ));
                continue;
            }
            let item = BoundaryItem {
                index: i,
                code: d.code.clone(),
                name: d.name.clone(),
                level: d.level.clone(),
                vertices: area.vertex_count(),
                bbox: [b.0, b.1, b.2, b.3],
                geometry: json!({ "type": "MultiPolygon", "coordinates": mp }),
            };
            shapes.push((item, d.path.clone(), mp, d.parent_code.clone()));
        }
        // Grids of one community must not overlap: new against new, and new against stored
        // siblings that this import does not replace.
        let mut by_parent: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, s) in shapes.iter().enumerate() {
            if s.0.level == "grid" {
                by_parent.entry(s.3.clone().unwrap_or_default()).or_default().push(k);
            }
        }
        for (parent, ks) in &by_parent {
            for (x, &a) in ks.iter().enumerate() {
                for &b in &ks[x + 1..] {
                    if overlaps(&shapes[a].2, &shapes[b].2) {
                        rep.errors.push(problem(
                            Some(shapes[b].0.index),
                            &shapes[b].0.code,
                            "grid.overlap",
                            format!(
                                "同一社区内的网格重叠：{}（{}）与 {}（{}）",
                                shapes[a].0.name, shapes[a].0.code, shapes[b].0.name, shapes[b].0.code
                            ),
                            format!("grids of one community overlap: {} and {}", shapes[a].0.code, shapes[b].0.code),
                        ));
                    }
                }
            }
            let Ok(pd) = self.store.division(parent).await else { continue };
            let stored = self.store.boundaries_within(&pd.path, Some("grid"), 5000).await?;
            for s in stored.iter().filter(|s| !seen.contains_key(&s.division_code)) {
                let Some(mp) = parse_geometry(&s.geometry) else { continue };
                for &a in ks {
                    if overlaps(&shapes[a].2, &mp) {
                        rep.errors.push(problem(
                            Some(shapes[a].0.index),
                            &shapes[a].0.code,
                            "grid.overlap",
                            format!("网格 {} 与已有网格 {} 的边界重叠", shapes[a].0.code, s.division_code),
                            format!(
                                "grid {} overlaps the stored boundary of grid {}",
                                shapes[a].0.code, s.division_code
                            ),
                        ));
                    }
                }
            }
        }
        // Warnings: a node reaching outside its parent's stored boundary box.
        for (item, _, _, parent) in &shapes {
            let Some(p) = parent else { continue };
            if let Some(pb) = self.store.boundary(p).await? {
                let [a, b, c, d] = item.bbox;
                let [pa, pb2, pc, pd] = pb.bbox;
                let tol = 0.002;
                if a < pa - tol || b < pb2 - tol || c > pc + tol || d > pd + tol {
                    rep.warnings.push(problem(
                        Some(item.index),
                        &item.code,
                        "outside_parent",
                        format!("{}（{}）超出上级区划 {p} 边界的范围", item.name, item.code),
                        format!("{} reaches outside the boundary of its parent {p}", item.code),
                    ));
                }
            }
        }
        rep.items = shapes.iter().map(|s| s.0.clone()).collect();
        if dry_run || !rep.errors.is_empty() {
            return Ok(rep);
        }
        let now = now_ms();
        let source = format!("导入 / imported ({})", datum_name(datum));
        let rows: Vec<Boundary> = shapes
            .iter()
            .map(|(item, path, _, _)| Boundary {
                division_code: item.code.clone(),
                division_path: path.clone(),
                level: item.level.clone(),
                geometry: item.geometry.to_string(),
                bbox: item.bbox,
                source: source.clone(),
                synthetic: false,
                updated_at: now,
            })
            .collect();
        let mut tx = self.store.begin().await?;
        upsert_boundaries(&mut tx, &rows).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "grids.boundaries.import",
                "boundary",
                "batch",
                json!({ "features": rows.len(), "datum": datum_name(datum),
                        "codes": rows.iter().take(50).map(|r| r.division_code.clone()).collect::<Vec<_>>() }),
            ),
        )
        .await?;
        let top = rows.iter().map(|r| r.division_path.clone()).min_by_key(|p| p.len()).unwrap_or_default();
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: "boundaries_imported".into(),
                division_path: top,
                payload: json!({ "features": rows.len() }).to_string(),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        rep.saved = true;
        Ok(rep)
    }

    /// Boundaries within `within` (default: the actor's jurisdiction) as a GeoJSON
    /// FeatureCollection, at `level` when given.
    pub async fn export_boundaries(
        &self,
        actor: &Actor,
        within: Option<&str>,
        level: Option<&str>,
    ) -> AppResult<Value> {
        require(actor, &READ_ROLES)?;
        let (path, code) = match within.filter(|w| !w.trim().is_empty()) {
            Some(c) => {
                let d = self.store.division(c.trim()).await.map_err(|_| AppError::NotFound)?;
                if !actor.covers(&d.path) {
                    return Err(AppError::NotFound);
                }
                (d.path, d.code)
            }
            None => (actor.division_path.clone().unwrap_or_default(), actor.division_code.clone().unwrap_or_default()),
        };
        let rows = self.store.boundaries_within(&path, level.filter(|l| !l.is_empty()), 20_000).await?;
        let mut names: HashMap<String, String> = HashMap::new();
        for r in &rows {
            if let Ok(d) = self.store.division(&r.division_code).await {
                names.insert(r.division_code.clone(), d.name);
            }
        }
        let features: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "type": "Feature",
                    "properties": { "code": r.division_code, "name": names.get(&r.division_code),
                                    "level": r.level, "source": r.source, "synthetic": r.synthetic },
                    "geometry": serde_json::from_str::<Value>(&r.geometry).unwrap_or(Value::Null),
                })
            })
            .collect();
        Ok(json!({ "type": "FeatureCollection", "name": format!("tongxin-boundaries-{code}"), "features": features }))
    }
}

fn datum_name(d: Datum) -> &'static str {
    match d {
        Datum::Wgs84 => "WGS-84",
        Datum::Gcj02 => "GCJ-02",
        Datum::Bd09 => "BD-09",
    }
}
