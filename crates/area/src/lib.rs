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
//! - [`mod@bench`]: the benchmark behind `tongxin bench target` (and the `area-bench` binary).
//!
//! Why a grid (see README.md for the figures): measured against an R-tree (rstar) over the same
//! 10 M points, the grid is 2× faster for a neighbourhood and 25–80× faster for districts and
//! the whole city. Cells wholly inside an area are counted from per-cell tallies without
//! touching their points. Only boundary cells test points, and only against the edges that cross
//! their grid row, using the same exact orientation predicate as the `geo` crate. The R-tree must
//! fetch and test every point in the bounding box. H3 (h3o) was not measured: its polyfill works
//! on hexagon centroids, so boundary hexagons would still need exact tests and a second index.
//! Counts equal a brute-force scan with `geo` (property tests and `area-bench --verify`).

#![warn(missing_docs)]

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
