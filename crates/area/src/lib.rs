//! tongxin-area: area targeting for Tongxin (同心). Given an area — polygons with holes, circles
//! in metres, division codes, or a union of them — it answers which points (households, devices,
//! responders) lie inside, how many, and which division nodes are touched, over millions of
//! points in milliseconds.
//!
//! - [`Area`] / [`AreaPart`]: the area, with validation ([`AreaError`], Chinese and English),
//!   GeoJSON and CAP 1.2 string input, GeoJSON output.
//! - [`coords`]: WGS-84 ⇄ GCJ-02 ⇄ BD-09; convert polygons from Chinese map tools at the edge with
//!   [`Area::into_wgs84`] or [`Area::from_geojson`].
//! - [`PointIndex`]: built from `Vec<Point>`, updated with insert / remove / move / upsert,
//!   queried with [`PointIndex::query`], [`PointIndex::count`] or [`PointIndex::query_with`].
//! - [`bench`]: the benchmark behind `tongxin bench target` (and the `area-bench` binary).
//!
//! Why a grid: among an R-tree (rstar), H3 cell polyfill and a uniform grid, the grid gives the
//! cheapest exact answer here. Cells wholly inside an area are counted from per-cell tallies
//! without touching their points, and only boundary cells test points, against just the edges
//! crossing their grid row, with the same exact orientation predicate as the `geo` crate. An
//! R-tree must visit every point inside (10 M for the city), and H3 polyfill works on hexagon
//! centroids, so boundary hexagons still need exact tests and a second index. Counts equal a
//! brute-force scan with `geo` (property tests and `area-bench --verify`).

pub mod bench;
pub mod brute;
pub mod coords;
mod error;
mod geom;
mod index;
pub mod synth;

pub use coords::Datum;
pub use error::{AreaError, Location};
pub use geom::{
    division_level, division_range, Area, AreaPart, DivisionLevel, LonLat, Polygon, MAX_RADIUS_M, MAX_VERTICES,
};
pub use index::{
    IndexConfig, IndexStats, Point, PointIndex, QueryOptions, QueryResult, DEFAULT_BOUNDS, KIND_DEVICE, KIND_HOUSEHOLD,
    KIND_RESPONDER,
};
