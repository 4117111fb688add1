//! Brute-force reference: tests every point against the area with the `geo` crate's own
//! predicates (`Contains` for polygons, haversine distance for circles), independent of the
//! index's grid and edge code. Used by the tests and by `area-bench --verify`.

use crate::error::AreaError;
use crate::geom::{division_range, Area, AreaPart, LonLat};
use crate::index::Point;
use geo::{Contains, Distance, Haversine};

/// An area converted to `geo` geometries.
#[derive(Debug, Clone)]
pub struct BruteForce {
    polygons: Vec<geo::Polygon<f64>>,
    circles: Vec<(geo::Point<f64>, f64)>,
    divisions: Vec<(u64, u64)>,
}

fn ring(r: &[LonLat]) -> geo::LineString<f64> {
    geo::LineString::from(r.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>())
}

impl BruteForce {
    /// Validates the area (with the crate's rules) and converts it.
    pub fn new(area: &Area) -> Result<BruteForce, AreaError> {
        area.validate()?;
        let mut out = BruteForce { polygons: Vec::new(), circles: Vec::new(), divisions: Vec::new() };
        for part in &area.parts {
            match part {
                AreaPart::Polygon(p) => {
                    out.polygons.push(geo::Polygon::new(ring(&p.exterior), p.holes.iter().map(|h| ring(h)).collect()))
                }
                AreaPart::Circle { lon, lat, radius_m } => out.circles.push((geo::Point::new(*lon, *lat), *radius_m)),
                AreaPart::Division { code } => out.divisions.extend(division_range(*code)),
            }
        }
        Ok(out)
    }

    /// Whether the point is in the area.
    pub fn contains(&self, p: &Point) -> bool {
        let q = geo::Point::new(p.lon, p.lat);
        self.divisions.iter().any(|&(lo, hi)| p.division >= lo && p.division < hi)
            || self.circles.iter().any(|(c, r)| Haversine.distance(*c, q) <= *r)
            || self.polygons.iter().any(|poly| poly.contains(&q))
    }

    /// Number of the points in the area.
    pub fn count<'a>(&self, points: impl IntoIterator<Item = &'a Point>) -> u64 {
        points.into_iter().filter(|p| self.contains(p)).count() as u64
    }
}
