//! Coordinate conversions between WGS-84 (GPS, what we store), GCJ-02 (the "Mars" datum of AMap
//! and Tencent maps) and BD-09 (Baidu maps).
//!
//! GCJ-02 is an obfuscation of WGS-84 whose published reverse-engineered formula (the one every
//! open implementation uses, with Krasovsky semi-major axis 6378245 m) is reproduced here; its
//! inverse has no closed form, so [`gcj02_to_wgs84`] iterates the forward formula until the
//! round trip is below a millimetre. Outside mainland China (a rough bounding box, as in the
//! reference implementations) GCJ-02 equals WGS-84. BD-09 is a closed-form offset of GCJ-02.
//! Per STANDARDS.md we convert only at the edge (import and display), never in storage.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A geodetic datum a client may send coordinates in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    /// WGS-84 (EPSG:4326): GPS, OpenStreetMap, what the index stores.
    #[default]
    Wgs84,
    /// GCJ-02: AMap (高德), Tencent maps, Google maps in China.
    Gcj02,
    /// BD-09: Baidu maps (百度).
    Bd09,
}

impl Datum {
    /// Parses `wgs84`, `gcj02` or `bd09` (case and `-`/`_` insensitive).
    pub fn parse(s: &str) -> Option<Datum> {
        let k: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        match k.as_str() {
            "wgs84" | "epsg4326" => Some(Datum::Wgs84),
            "gcj02" => Some(Datum::Gcj02),
            "bd09" | "bd09ll" => Some(Datum::Bd09),
            _ => None,
        }
    }

    /// Converts `(lon, lat)` in this datum to WGS-84.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Datum::Wgs84 => (lon, lat),
            Datum::Gcj02 => gcj02_to_wgs84(lon, lat),
            Datum::Bd09 => bd09_to_wgs84(lon, lat),
        }
    }

    /// Converts `(lon, lat)` in WGS-84 to this datum.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Datum::Wgs84 => (lon, lat),
            Datum::Gcj02 => wgs84_to_gcj02(lon, lat),
            Datum::Bd09 => wgs84_to_bd09(lon, lat),
        }
    }
}

/// Krasovsky 1940 semi-major axis used by the GCJ-02 formula.
const A: f64 = 6_378_245.0;
/// Krasovsky 1940 first eccentricity squared.
const EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's constant: π · 3000 / 180.
const X_PI: f64 = PI * 3000.0 / 180.0;

/// True when the point is outside the rough mainland-China box where GCJ-02 applies unchanged.
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 offset (Δlon, Δlat) in degrees at a WGS-84 point.
fn gcj_delta(lon: f64, lat: f64) -> (f64, f64) {
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - EE * radlat.sin() * radlat.sin();
    let sqrtmagic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtmagic) * PI);
    let dlon = (dlon * 180.0) / (A / sqrtmagic * radlat.cos() * PI);
    (dlon, dlat)
}

/// WGS-84 → GCJ-02.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = gcj_delta(lon, lat);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS-84, by fixed-point iteration of the forward formula (converges to well under a
/// millimetre in a few steps; the common one-step approximation is off by up to a few metres).
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..30 {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (elon, elat) = (glon - lon, glat - lat);
        wlon -= elon;
        wlat -= elat;
        // 1e-10° is about 0.01 mm.
        if elon.abs() < 1e-10 && elat.abs() < 1e-10 {
            break;
        }
    }
    (wlon, wlat)
}

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02 by the widely published closed form (accurate to about a metre).
pub fn bd09_to_gcj02_approx(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

/// BD-09 → GCJ-02: the closed form refined by iterating [`gcj02_to_bd09`] until the round trip
/// is below 0.01 mm.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let (mut x, mut y) = bd09_to_gcj02_approx(lon, lat);
    for _ in 0..10 {
        let (bx, by) = gcj02_to_bd09(x, y);
        let (ex, ey) = (bx - lon, by - lat);
        x -= ex;
        y -= ey;
        if ex.abs() < 1e-10 && ey.abs() < 1e-10 {
            break;
        }
    }
    (x, y)
}

/// WGS-84 → BD-09.
pub fn wgs84_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let (g, t) = wgs84_to_gcj02(lon, lat);
    gcj02_to_bd09(g, t)
}

/// BD-09 → WGS-84.
pub fn bd09_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let (g, t) = bd09_to_gcj02(lon, lat);
    gcj02_to_wgs84(g, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() <= tol && (a.1 - b.1).abs() <= tol
    }

    // Published pairs from the widely used open implementation (wandergis/coordtransform, also
    // in hutool's CoordinateUtil tests), input (116.404, 39.915) in Beijing.
    #[test]
    fn known_pairs_beijing() {
        let p = (116.404, 39.915);
        assert!(close(wgs84_to_gcj02(p.0, p.1), (116.41024449916938, 39.91640428150164), 1e-11));
        assert!(close(gcj02_to_bd09(p.0, p.1), (116.41036949371029, 39.92133699351021), 1e-11));
        assert!(close(bd09_to_gcj02_approx(p.0, p.1), (116.39762729119315, 39.90865673957631), 1e-11));
        // The refined inverse stays within a metre of the closed form and round-trips exactly.
        let g = bd09_to_gcj02(p.0, p.1);
        assert!(close(g, (116.39762729119315, 39.90865673957631), 1e-5));
        assert!(close(gcj02_to_bd09(g.0, g.1), p, 1e-9));
        // The reference's gcj02→wgs84 is the one-step approximation (116.39775550083061,
        // 39.91359571849836); the iterated inverse agrees with it to about a metre.
        assert!(close(gcj02_to_wgs84(p.0, p.1), (116.39775550083061, 39.91359571849836), 2e-5));
    }

    #[test]
    fn inverse_is_exact_to_a_millimetre_across_suzhou() {
        for i in 0..=20 {
            for j in 0..=20 {
                let lon = 119.9 + 1.45 * f64::from(i) / 20.0;
                let lat = 30.75 + 1.3 * f64::from(j) / 20.0;
                let (g0, g1) = wgs84_to_gcj02(lon, lat);
                // The offset in Suzhou is a few hundred metres, never zero.
                assert!((g0 - lon).abs() + (g1 - lat).abs() > 1e-4);
                assert!(close(gcj02_to_wgs84(g0, g1), (lon, lat), 1e-8));
                let (b0, b1) = wgs84_to_bd09(lon, lat);
                assert!(close(bd09_to_wgs84(b0, b1), (lon, lat), 1e-8));
                assert!(close(Datum::Bd09.to_wgs84(b0, b1), (lon, lat), 1e-8));
                assert_eq!(Datum::Gcj02.from_wgs84(lon, lat), (g0, g1));
            }
        }
    }

    #[test]
    fn outside_china_is_unchanged() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
        assert_eq!(gcj02_to_wgs84(-74.0, 40.7), (-74.0, 40.7));
    }

    #[test]
    fn parse_datum_names() {
        assert_eq!(Datum::parse("GCJ-02"), Some(Datum::Gcj02));
        assert_eq!(Datum::parse("bd09"), Some(Datum::Bd09));
        assert_eq!(Datum::parse("WGS_84"), Some(Datum::Wgs84));
        assert_eq!(Datum::parse("mercator"), None);
    }
}
