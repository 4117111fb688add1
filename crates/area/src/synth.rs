//! Synthetic but realistic data for benchmarks and tests: points clustered like Suzhou's
//! population (dense old town, the industrial park and the county-level cities, towns, sparse
//! countryside, nothing on Lake Taihu), with division codes that are spatially coherent, and the
//! benchmark's default areas. Everything is generated from a seed; no data file is needed.

use crate::geom::{Area, LonLat};
use crate::index::{Point, KIND_DEVICE, KIND_HOUSEHOLD, KIND_RESPONDER};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Suzhou's extent, `[lon_min, lat_min, lon_max, lat_max]`.
pub const SUZHOU_BOUNDS: [f64; 4] = [119.9, 30.75, 121.35, 32.05];

/// Urban centres: lon, lat, core spread (km), share of the population, district code (6 digits).
const CENTRES: [(f64, f64, f64, f64, u64); 10] = [
    (120.620, 31.305, 2.0, 0.110, 320508), // 姑苏区 old town
    (120.720, 31.320, 3.5, 0.090, 320576), // 苏州工业园区
    (120.560, 31.300, 3.5, 0.070, 320505), // 虎丘区 / 新区
    (120.620, 31.250, 3.5, 0.065, 320506), // 吴中区
    (120.640, 31.380, 3.5, 0.055, 320507), // 相城区
    (120.645, 31.150, 4.0, 0.065, 320509), // 吴江区
    (120.980, 31.385, 4.5, 0.100, 320583), // 昆山市
    (120.750, 31.655, 4.0, 0.065, 320581), // 常熟市
    (120.555, 31.875, 4.0, 0.055, 320582), // 张家港市
    (121.110, 31.455, 3.5, 0.040, 320585), // 太仓市
];
const TOWNS: usize = 60;
const TOWN_SHARE: f64 = 0.17;
const KM_PER_DEG_LAT: f64 = 111.195;

fn km_per_deg_lon(lat: f64) -> f64 {
    KM_PER_DEG_LAT * lat.to_radians().cos()
}

/// Rough outline of Lake Taihu's Suzhou part (an ellipse): no one lives there.
fn in_taihu(lon: f64, lat: f64) -> bool {
    let (x, y) = ((lon - 120.22) / 0.26, (lat - 31.18) / 0.25);
    x * x + y * y < 1.0
}

fn in_bounds(lon: f64, lat: f64) -> bool {
    let b = SUZHOU_BOUNDS;
    lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3]
}

fn mix(mut z: u64) -> u64 {
    // splitmix64 finaliser.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn cell_hash(lon: f64, lat: f64, size: f64) -> u64 {
    let ix = (lon / size).floor() as i64 as u64;
    let iy = (lat / size).floor() as i64 as u64;
    mix(ix.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ iy)
}

/// The synthetic division code of a location: the district of the nearest urban centre, a street
/// from a ~3 km cell and a community from a ~600 m cell.
pub fn synthetic_division(lon: f64, lat: f64) -> u64 {
    let k = km_per_deg_lon(lat);
    let district = CENTRES
        .iter()
        .min_by(|a, b| {
            let da = ((a.0 - lon) * k).powi(2) + ((a.1 - lat) * KM_PER_DEG_LAT).powi(2);
            let db = ((b.0 - lon) * k).powi(2) + ((b.1 - lat) * KM_PER_DEG_LAT).powi(2);
            da.total_cmp(&db)
        })
        .map_or(320508, |c| c.4);
    let street = 1 + cell_hash(lon, lat, 0.03) % 20;
    let community = 1 + cell_hash(lon, lat, 0.006) % 40;
    district * 1_000_000 + street * 1_000 + community
}

fn normal(rng: &mut ChaCha8Rng) -> (f64, f64) {
    // Box–Muller.
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen();
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    (r * t.cos(), r * t.sin())
}

/// `n` points with ids `1..=n`, clustered like Suzhou's population; the same seed gives the same
/// points. About 88 % households, 10 % devices, 2 % responders.
pub fn suzhou_points(n: usize, seed: u64) -> Vec<Point> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let b = SUZHOU_BOUNDS;
    let mut towns = Vec::with_capacity(TOWNS);
    while towns.len() < TOWNS {
        let lon = rng.gen_range(b[0] + 0.1..b[2] - 0.05);
        let lat = rng.gen_range(b[1] + 0.05..b[3] - 0.05);
        if !in_taihu(lon, lat) {
            towns.push((lon, lat, rng.gen_range(0.5..1.2)));
        }
    }
    let mut out = Vec::with_capacity(n);
    let mut id = 0u64;
    while out.len() < n {
        let u: f64 = rng.gen();
        let (lon, lat) = if u < 0.715 {
            // Pick a centre by share; a fifth of each centre's people live in a wider suburb.
            let mut acc = 0.0;
            let mut c = CENTRES[0];
            for cand in CENTRES {
                acc += cand.3;
                c = cand;
                if u < acc {
                    break;
                }
            }
            let spread = if rng.gen_bool(0.2) { c.2 * 2.5 } else { c.2 };
            let (dx, dy) = normal(&mut rng);
            (c.0 + dx * spread / km_per_deg_lon(c.1), c.1 + dy * spread / KM_PER_DEG_LAT)
        } else if u < 0.715 + TOWN_SHARE {
            let t = towns[rng.gen_range(0..TOWNS)];
            let (dx, dy) = normal(&mut rng);
            (t.0 + dx * t.2 / km_per_deg_lon(t.1), t.1 + dy * t.2 / KM_PER_DEG_LAT)
        } else {
            (rng.gen_range(b[0]..b[2]), rng.gen_range(b[1]..b[3]))
        };
        if !in_bounds(lon, lat) || in_taihu(lon, lat) {
            continue;
        }
        let k: f64 = rng.gen();
        let kind = if k < 0.88 {
            KIND_HOUSEHOLD
        } else if k < 0.98 {
            KIND_DEVICE
        } else {
            KIND_RESPONDER
        };
        id += 1;
        out.push(Point { id, lon, lat, division: synthetic_division(lon, lat), kind });
    }
    out
}

/// A neighbourhood of about 1 km² in Suzhou's old town (around 120.62 E, 31.30 N).
pub fn neighbourhood() -> Area {
    let ring: Vec<LonLat> = vec![
        [120.6263, 31.3000],
        [120.6244, 31.3040],
        [120.6200, 31.3054],
        [120.6154, 31.3036],
        [120.6137, 31.3000],
        [120.6157, 31.2961],
        [120.6200, 31.2946],
        [120.6246, 31.2962],
        [120.6263, 31.3000],
    ];
    Area::new().with_polygon(ring, vec![])
}

/// A district-sized polygon (about 330 km²) over the old town and the industrial park, with a
/// hole of about 7 km² where Jinji Lake is.
pub fn district_with_hole() -> Area {
    let ring: Vec<LonLat> = vec![
        [120.570, 31.258],
        [120.620, 31.238],
        [120.680, 31.232],
        [120.745, 31.240],
        [120.800, 31.265],
        [120.812, 31.310],
        [120.795, 31.355],
        [120.745, 31.383],
        [120.680, 31.390],
        [120.618, 31.380],
        [120.580, 31.350],
        [120.560, 31.300],
        [120.570, 31.258],
    ];
    let hole: Vec<LonLat> = vec![
        [120.690, 31.300],
        [120.712, 31.298],
        [120.722, 31.310],
        [120.714, 31.322],
        [120.694, 31.321],
        [120.686, 31.311],
        [120.690, 31.300],
    ];
    Area::new().with_polygon(ring, vec![hole])
}

/// The whole city: a polygon over Suzhou's extent (lon 119.9–121.35, lat 30.75–32.05).
pub fn city() -> Area {
    let b = SUZHOU_BOUNDS;
    Area::new().with_polygon(vec![[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]], vec![])
}

/// A 3 km circle around the old town's centre.
pub fn circle_3km() -> Area {
    Area::new().with_circle(120.62, 31.31, 3000.0)
}

/// The benchmark's default areas, by name: neighbourhood, district with hole, city, 3 km circle,
/// and a division-code area (昆山市 320583).
pub fn default_areas() -> Vec<(String, Area)> {
    vec![
        ("neighbourhood_1km2".into(), neighbourhood()),
        ("district_330km2_with_hole".into(), district_with_hole()),
        ("city_suzhou".into(), city()),
        ("circle_3km".into(), circle_3km()),
        ("division_320583_kunshan".into(), Area::new().with_division(320583000000)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_points_and_clustered() {
        let a = suzhou_points(20_000, 7);
        let b = suzhou_points(20_000, 7);
        assert_eq!(a, b);
        assert_ne!(a, suzhou_points(20_000, 8));
        assert!(a.iter().all(|p| in_bounds(p.lon, p.lat) && !in_taihu(p.lon, p.lat)));
        // Denser in the old town than the city average: the 1 km² neighbourhood holds far more
        // than 1/8,000 of the points.
        let p = neighbourhood().prepare().unwrap();
        let inside = a.iter().filter(|q| p.contains(q.lon, q.lat, q.division)).count();
        assert!(inside > 20_000 / 8_000 * 5, "{inside}");
        assert!(a.iter().all(|p| crate::geom::division_level(p.division).is_some()));
    }
}
