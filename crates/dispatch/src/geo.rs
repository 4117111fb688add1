//! Geometry: great-circle distance on the mean-radius sphere, computed through 3-D chords.
//!
//! Costs are great-circle distances on a sphere of radius [`EARTH_RADIUS_M`], rounded to whole
//! metres. Against the WGS-84 ellipsoid this is within 0.5 % at Suzhou's latitude (31° N).
//! Points are kept as Earth-centred vectors relative to a local origin; the chord length between
//! two points is a strictly increasing function of their great-circle distance, so ranking by
//! chord is exactly ranking by great-circle distance, with no projection error. The spatial grid
//! uses the orthogonal projection of these vectors on the local tangent plane: an orthogonal
//! projection never lengthens a vector, so grid distances are true lower bounds of chords and
//! the nearest-neighbour search stays exact anywhere on Earth.

use crate::error::DispatchError;
use serde::{Deserialize, Serialize};

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS-84 latitude/longitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude, degrees north, `-90..=90`.
    pub lat: f64,
    /// Longitude, degrees east, `-180..=180`.
    pub lon: f64,
}

impl GeoPoint {
    /// A point from latitude and longitude in degrees.
    pub const fn new(lat: f64, lon: f64) -> Self {
        GeoPoint { lat, lon }
    }

    /// Rejects NaN, infinities and out-of-range values; `what` names the record for the error.
    pub fn validate(&self, what: impl FnOnce() -> String) -> Result<(), DispatchError> {
        let ok = self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon);
        if ok {
            Ok(())
        } else {
            Err(DispatchError::InvalidCoordinate { what: what(), lat: self.lat, lon: self.lon })
        }
    }

    /// Earth-centred unit vector.
    pub fn unit_vector(&self) -> [f64; 3] {
        let (slat, clat) = self.lat.to_radians().sin_cos();
        let (slon, clon) = self.lon.to_radians().sin_cos();
        [clat * clon, clat * slon, slat]
    }

    /// Great-circle distance in metres (haversine form, for callers and tests).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        let dlat = (other.lat - self.lat).to_radians();
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2)
            + self.lat.to_radians().cos() * other.lat.to_radians().cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

/// Great-circle metres from a chord length in metres.
#[inline]
pub fn chord_to_arc_m(chord: f64) -> f64 {
    let x = chord / (2.0 * EARTH_RADIUS_M);
    if x < 0.02 {
        // asin series to x^5; the next term is below 1e-4 m for chords under 250 km.
        let x2 = x * x;
        chord * (1.0 + x2 * (1.0 / 6.0 + x2 * (3.0 / 40.0)))
    } else {
        2.0 * EARTH_RADIUS_M * x.min(1.0).asin()
    }
}

/// Chord length in metres of a great-circle distance in metres.
#[inline]
pub fn arc_to_chord_m(arc: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (arc / (2.0 * EARTH_RADIUS_M)).min(std::f64::consts::FRAC_PI_2).sin()
}

/// A local frame: an origin on the sphere and its east/north tangent directions.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    origin: [f64; 3],
    east: [f64; 3],
    north: [f64; 3],
    up: [f64; 3],
}

impl Frame {
    /// The frame whose origin is `center`.
    pub fn new(center: GeoPoint) -> Self {
        let (slat, clat) = center.lat.to_radians().sin_cos();
        let (slon, clon) = center.lon.to_radians().sin_cos();
        let o = center.unit_vector();
        Frame {
            origin: [o[0] * EARTH_RADIUS_M, o[1] * EARTH_RADIUS_M, o[2] * EARTH_RADIUS_M],
            east: [-slon, clon, 0.0],
            north: [-slat * clon, -slat * slon, clat],
            up: o,
        }
    }

    /// The point of the sphere's near side whose plane projection is `(x, y)`, as a local
    /// vector (the inverse of [`Frame::plane`] on the near hemisphere).
    #[inline]
    pub fn lift(&self, x: f64, y: f64) -> [f64; 3] {
        let r2 = EARTH_RADIUS_M * EARTH_RADIUS_M;
        let h = (r2 - (x * x + y * y)).max(0.0).sqrt() - EARTH_RADIUS_M;
        [
            x * self.east[0] + y * self.north[0] + h * self.up[0],
            x * self.east[1] + y * self.north[1] + h * self.up[1],
            x * self.east[2] + y * self.north[2] + h * self.up[2],
        ]
    }

    /// Earth-centred position in metres, relative to the frame origin (keeps f64 precision
    /// at the millimetre level for city-sized offsets).
    #[inline]
    pub fn local(&self, p: GeoPoint) -> [f64; 3] {
        let u = p.unit_vector();
        [
            u[0] * EARTH_RADIUS_M - self.origin[0],
            u[1] * EARTH_RADIUS_M - self.origin[1],
            u[2] * EARTH_RADIUS_M - self.origin[2],
        ]
    }

    /// Orthogonal projection of a local vector on the tangent plane (east, north), metres.
    #[inline]
    pub fn plane(&self, v: [f64; 3]) -> (f64, f64) {
        (dot(v, self.east), dot(v, self.north))
    }
}

#[inline]
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Squared Euclidean distance between two local vectors.
#[inline]
pub fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    let dz = a[2] - b[2];
    dx * dx + dy * dy + dz * dz
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chord_route_matches_haversine_within_a_millimetre() {
        let f = Frame::new(GeoPoint::new(31.3, 120.6));
        let a = GeoPoint::new(31.30, 120.58);
        let b = GeoPoint::new(31.41, 120.95);
        let chord = dist2(f.local(a), f.local(b)).sqrt();
        let arc = chord_to_arc_m(chord);
        assert!((arc - a.distance_m(&b)).abs() < 1e-3, "{arc} vs {}", a.distance_m(&b));
        assert!((arc_to_chord_m(arc) - chord).abs() < 1e-6);
        for m in [1.0, 950.0, 15_000.0, 199_999.0, 254_000.0, 300_000.0, 2.0e6] {
            let exact = 2.0 * EARTH_RADIUS_M * (arc_to_chord_m(m) / (2.0 * EARTH_RADIUS_M)).asin();
            assert!((chord_to_arc_m(arc_to_chord_m(m)) - exact).abs() < 1e-4, "{m}");
        }
    }

    #[test]
    fn lift_inverts_the_plane_projection_on_the_near_side() {
        let f = Frame::new(GeoPoint::new(31.3, 120.6));
        let v = f.local(GeoPoint::new(31.5, 120.9));
        let (x, y) = f.plane(v);
        let w = f.lift(x, y);
        assert!(dist2(v, w).sqrt() < 1e-3);
    }

    #[test]
    fn plane_projection_never_exceeds_the_chord() {
        let f = Frame::new(GeoPoint::new(31.3, 120.6));
        for (a, b) in [
            (GeoPoint::new(31.0, 120.0), GeoPoint::new(32.0, 121.4)),
            (GeoPoint::new(-40.0, 10.0), GeoPoint::new(60.0, -170.0)),
        ] {
            let (la, lb) = (f.local(a), f.local(b));
            let (xa, ya) = f.plane(la);
            let (xb, yb) = f.plane(lb);
            let planar = ((xa - xb).powi(2) + (ya - yb).powi(2)).sqrt();
            assert!(planar <= dist2(la, lb).sqrt() + 1e-6);
        }
    }
}
