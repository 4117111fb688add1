//! Errors for bad areas and bad points, in Chinese first and English second.

use std::fmt;

/// Where in an [`crate::Area`] a problem was found: the part (0-based, in the order the parts
/// were added) and, for polygons, the ring (0 = exterior, 1.. = holes) and vertex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Index of the part in the area.
    pub part: usize,
    /// Ring of a polygon: 0 is the exterior, 1.. the holes. `None` for circles and divisions.
    pub ring: Option<usize>,
    /// Vertex within the ring, when one vertex is at fault.
    pub vertex: Option<usize>,
}

impl Location {
    /// A whole part.
    pub fn part(part: usize) -> Location {
        Location { part, ring: None, vertex: None }
    }

    /// A ring of a polygon part.
    pub fn ring(part: usize, ring: usize) -> Location {
        Location { part, ring: Some(ring), vertex: None }
    }

    /// One vertex of a ring.
    pub fn vertex(part: usize, ring: usize, vertex: usize) -> Location {
        Location { part, ring: Some(ring), vertex: Some(vertex) }
    }

    fn zh(&self) -> String {
        let mut s = format!("第 {} 个区域部分", self.part + 1);
        if let Some(r) = self.ring {
            if r == 0 {
                s.push_str("的外环");
            } else {
                s.push_str(&format!("的第 {r} 个洞"));
            }
        }
        if let Some(v) = self.vertex {
            s.push_str(&format!("第 {} 个顶点", v + 1));
        }
        s
    }

    fn en(&self) -> String {
        let mut s = format!("area part {}", self.part + 1);
        if let Some(r) = self.ring {
            if r == 0 {
                s.push_str(", exterior ring");
            } else {
                s.push_str(&format!(", hole {r}"));
            }
        }
        if let Some(v) = self.vertex {
            s.push_str(&format!(", vertex {}", v + 1));
        }
        s
    }
}

/// Why an area, a point or an input text was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum AreaError {
    /// The area has no polygon, circle or division code.
    EmptyArea,
    /// A ring has fewer than 3 distinct vertices.
    TooFewVertices {
        /// Where.
        at: Location,
        /// Distinct vertices found.
        distinct: usize,
    },
    /// A coordinate is NaN or infinite.
    NonFinite {
        /// Where.
        at: Location,
    },
    /// Longitude outside −180..180 or latitude outside −90..90.
    OutOfRange {
        /// Where.
        at: Location,
        /// The offending longitude as given.
        lon: f64,
        /// The offending latitude as given.
        lat: f64,
        /// The pair would be valid with longitude and latitude exchanged: the input probably
        /// used `lat,lon` order (as CAP does) where `lon,lat` (as GeoJSON does) was expected.
        swapped: bool,
    },
    /// A polygon spans more than 180° of longitude: it crosses the antimeridian (±180°), which
    /// is not supported; split it into two polygons on each side.
    CrossesAntimeridian {
        /// Where.
        at: Location,
    },
    /// A ring crosses or touches itself, or two rings of one polygon cross.
    SelfIntersection {
        /// Where.
        at: Location,
    },
    /// A polygon is invalid for another reason (for example a hole outside its exterior ring).
    InvalidPolygon {
        /// Where.
        at: Location,
        /// The validator's explanation (English).
        detail: String,
    },
    /// A circle's radius is not a finite number greater than zero, or is absurdly large.
    InvalidRadius {
        /// Where.
        at: Location,
        /// The radius in metres as given.
        radius_m: f64,
    },
    /// A division code is not a 12-digit statistical code.
    InvalidDivisionCode {
        /// Where (`None` for a point's division).
        at: Option<Location>,
        /// The code as given.
        code: u64,
    },
    /// The area has more vertices than the limit (memory and time are bounded).
    TooManyVertices {
        /// Vertices given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The area is too intricate to check or plan within bounded time and memory.
    TooComplex {
        /// Which limit was hit (English).
        detail: String,
    },
    /// A point with this id is already in the index.
    DuplicateId {
        /// The id.
        id: u64,
    },
    /// A point's coordinates are not finite or out of range.
    InvalidPoint {
        /// The point's id.
        id: u64,
        /// Longitude as given.
        lon: f64,
        /// Latitude as given.
        lat: f64,
    },
    /// A text input (GeoJSON, CAP polygon or circle) could not be read.
    Syntax {
        /// What was being read (for example `GeoJSON`, `CAP polygon`).
        what: &'static str,
        /// What is wrong (English, technical).
        detail: String,
    },
}

impl AreaError {
    /// The message in Simplified Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            AreaError::EmptyArea => "区域为空：至少需要一个多边形、圆或行政区划代码".into(),
            AreaError::TooFewVertices { at, distinct } => {
                format!("{}只有 {distinct} 个不同的顶点，至少需要 3 个", at.zh())
            }
            AreaError::NonFinite { at } => format!("{}的坐标不是有效数字", at.zh()),
            AreaError::OutOfRange { at, lon, lat, swapped } => {
                let mut s = format!(
                    "{}的坐标超出范围（经度 {lon}，纬度 {lat}；经度应在 −180 到 180，纬度应在 −90 到 90）",
                    at.zh()
                );
                if *swapped {
                    s.push_str("，经纬度顺序可能颠倒：应为“经度,纬度”");
                }
                s
            }
            AreaError::CrossesAntimeridian { at } => {
                format!("{}跨越了 180° 经线，不受支持，请在 180° 处拆分为两个多边形", at.zh())
            }
            AreaError::SelfIntersection { at } => format!("{}自相交（边与边交叉或接触）", at.zh()),
            AreaError::InvalidPolygon { at, detail } => {
                format!("{}不是有效的多边形：{detail}", at.zh())
            }
            AreaError::InvalidRadius { at, radius_m } => {
                format!("{}的半径无效（{radius_m} 米），半径必须大于 0 且不超过 1000 公里", at.zh())
            }
            AreaError::InvalidDivisionCode { at, code } => {
                let place = at.map(|a| a.zh()).unwrap_or_else(|| "点".into());
                format!("{place}的行政区划代码 {code} 无效，应为 12 位统计用区划代码")
            }
            AreaError::TooManyVertices { count, max } => {
                format!("区域共有 {count} 个顶点，超过上限 {max}")
            }
            AreaError::TooComplex { .. } => "区域过于复杂（边数过多或过长），请简化后重试".into(),
            AreaError::DuplicateId { id } => format!("编号为 {id} 的点已存在"),
            AreaError::InvalidPoint { id, lon, lat } => {
                format!("编号为 {id} 的点坐标无效（经度 {lon}，纬度 {lat}）")
            }
            AreaError::Syntax { what, detail } => format!("无法读取 {what}：{detail}"),
        }
    }

    /// The message in English.
    pub fn message_en(&self) -> String {
        match self {
            AreaError::EmptyArea => "empty area: give at least one polygon, circle or division code".into(),
            AreaError::TooFewVertices { at, distinct } => {
                format!("{} has {distinct} distinct vertices; at least 3 are needed", at.en())
            }
            AreaError::NonFinite { at } => format!("{}: coordinate is not a finite number", at.en()),
            AreaError::OutOfRange { at, lon, lat, swapped } => {
                let mut s = format!(
                    "{}: coordinate out of range (lon {lon}, lat {lat}; lon must be within −180..180, lat within −90..90)",
                    at.en()
                );
                if *swapped {
                    s.push_str("; longitude and latitude look swapped: give lon,lat");
                }
                s
            }
            AreaError::CrossesAntimeridian { at } => format!(
                "{} crosses the antimeridian (180°), which is not supported: split it there into two polygons",
                at.en()
            ),
            AreaError::SelfIntersection { at } => {
                format!("{} intersects itself (edges cross or touch)", at.en())
            }
            AreaError::InvalidPolygon { at, detail } => {
                format!("{} is not a valid polygon: {detail}", at.en())
            }
            AreaError::InvalidRadius { at, radius_m } => {
                format!("{}: invalid radius ({radius_m} m); it must be greater than 0 and at most 1000 km", at.en())
            }
            AreaError::InvalidDivisionCode { at, code } => {
                let place = at.map(|a| a.en()).unwrap_or_else(|| "point".into());
                format!("{place}: division code {code} is invalid; a 12-digit statistical code is expected")
            }
            AreaError::TooManyVertices { count, max } => {
                format!("the area has {count} vertices, more than the limit of {max}")
            }
            AreaError::TooComplex { detail } => {
                format!("the area is too complex (too many or too long edges), simplify it: {detail}")
            }
            AreaError::DuplicateId { id } => format!("a point with id {id} already exists"),
            AreaError::InvalidPoint { id, lon, lat } => {
                format!("point {id} has invalid coordinates (lon {lon}, lat {lat})")
            }
            AreaError::Syntax { what, detail } => format!("cannot read {what}: {detail}"),
        }
    }

    /// The message in the language given by a tag such as `zh-CN` or `en` (Chinese unless the
    /// tag starts with `en`).
    pub fn message(&self, lang: &str) -> String {
        if lang.to_ascii_lowercase().starts_with("en") {
            self.message_en()
        } else {
            self.message_zh()
        }
    }
}

impl fmt::Display for AreaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message_zh(), self.message_en())
    }
}

impl std::error::Error for AreaError {}
