//! Households and vulnerable residents: create one, read one (masked, unmask audited), add a
//! vulnerable member, and bulk import from Excel/CSV with per-row errors (all or nothing).
//!
//! Location: a household gets its building's location; without coordinates its address is
//! matched against known buildings (offline geocoding: the longest building address the
//! household address starts with); its grid is the one whose boundary holds it. A household
//! outside every grid, or outside the grid it names, is refused.

use super::{require, READ_ROLES, TOPIC, WRITE_ROLES};
use crate::registry::excel::{read_table, ImportReport, RowError};
use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use serde::{Deserialize, Serialize};
use tongxin_domain::codes::{mask_name, mask_phone};
use tongxin_domain::division::Level;
use tongxin_domain::grids::{
    check_tier, contains, needs_key, parse_needs, validate_household, HouseholdInput, MultiPoly, VulnerableKind,
};
use tongxin_domain::{Actor, FieldError, Role};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::grids::{self as st, Household, NewVulnerable};
use tongxin_store::{now_ms, StoreError};

/// A household as entered.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct HouseholdForm {
    /// Grid code (optional: found from the location).
    #[serde(default)]
    pub grid_code: Option<String>,
    /// Building id (optional: found from the address).
    #[serde(default)]
    pub building_id: Option<i64>,
    /// Address.
    pub address: String,
    /// Floor.
    #[serde(default)]
    pub floor: Option<i64>,
    /// Members.
    pub members: i64,
    /// Householder's name.
    #[serde(default)]
    pub head_name: String,
    /// Contact phone.
    #[serde(default)]
    pub contact_phone: String,
    /// WGS-84 longitude.
    #[serde(default)]
    pub lon: Option<f64>,
    /// WGS-84 latitude.
    #[serde(default)]
    pub lat: Option<f64>,
}

/// A vulnerable member as entered.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VulnerableForm {
    /// Name.
    pub name: String,
    /// Kind key or Chinese label.
    pub kind: String,
    /// Needs (keys or labels, comma separated).
    #[serde(default)]
    pub needs: String,
    /// Care note.
    #[serde(default)]
    pub note: String,
}

/// A household as shown.
#[derive(Debug, Clone, Serialize)]
pub struct HouseholdView {
    /// The row (phone encrypted, not serialised).
    #[serde(flatten)]
    pub household: Household,
    /// Householder's name, masked unless unmasked.
    pub head: String,
    /// Contact phone, masked unless unmasked.
    pub phone: String,
    /// Whether shown unmasked.
    pub unmasked: bool,
    /// Vulnerable members.
    pub vulnerable: Vec<super::VulnerableView>,
}

/// Where a household goes.
struct Placed {
    grid_code: String,
    path: String,
    building_id: Option<i64>,
    lon: f64,
    lat: f64,
}

fn parse_mp(geometry: &str) -> Option<MultiPoly> {
    let v: serde_json::Value = serde_json::from_str(geometry).ok()?;
    match v.get("type")?.as_str()? {
        "MultiPolygon" => serde_json::from_value(v.get("coordinates")?.clone()).ok(),
        "Polygon" => serde_json::from_value(v.get("coordinates")?.clone()).ok().map(|p| vec![p]),
        _ => None,
    }
}

/// Candidate building addresses of a household address: the address cut after each
/// `幢`/`栋`/`号楼`/`号`, longest first.
fn building_prefixes(address: &str) -> Vec<String> {
    let mut out = vec![address.trim().to_string()];
    for (i, c) in address.char_indices().rev() {
        if matches!(c, '幢' | '栋' | '号') {
            out.push(address[..i + c.len_utf8()].trim().to_string());
        }
    }
    out.dedup();
    out
}

fn fe(field: &str, rule: &str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
    FieldError::new(field, rule, zh, en)
}

impl App {
    /// Finds the grid (and building) of a household: explicit building, else coordinates, else
    /// an address match against known buildings; then the grid whose boundary holds the point.
    async fn place_household(&self, actor: &Actor, f: &HouseholdForm) -> Result<Placed, Vec<FieldError>> {
        let internal =
            |e: StoreError| vec![fe("", "internal", format!("内部错误：{e}"), format!("internal error: {e}"))];
        let mut building = None;
        if let Some(bid) = f.building_id {
            match self.store.building(bid).await {
                Ok(b) if actor.covers(&b.division_path) => building = Some(b),
                _ => return Err(vec![fe("building_id", "building.unknown", "楼栋不存在", "unknown building")]),
            }
        }
        let (lon, lat) = match (f.lon, f.lat, &building) {
            (Some(lon), Some(lat), _) => (lon, lat),
            (_, _, Some(b)) => (b.lon, b.lat),
            _ => {
                let mut found = None;
                for cand in building_prefixes(&f.address) {
                    let hits = self.store.buildings_by_address(actor, &cand).await.map_err(internal)?;
                    if let Some(b) = hits.into_iter().next() {
                        found = Some(b);
                        break;
                    }
                }
                match found {
                    Some(b) => {
                        let p = (b.lon, b.lat);
                        building = Some(b);
                        p
                    }
                    None => {
                        return Err(vec![fe(
                            "address",
                            "geocode.no_match",
                            format!("没有坐标，且地址“{}”与已知楼栋都不匹配；请填写经纬度或先登记楼栋", f.address.trim()),
                            format!(
                                "no coordinates, and the address \"{}\" matches no known building; give longitude and latitude or add the building first",
                                f.address.trim()
                            ),
                        )])
                    }
                }
            }
        };
        // The grid: explicit (its boundary must hold the point when it has one), or found.
        if let Some(code) = f.grid_code.as_deref().filter(|c| !c.trim().is_empty()) {
            let d = match self.store.division(code.trim()).await {
                Ok(d) if d.level == Level::Grid.key() && actor.covers(&d.path) => d,
                _ => return Err(vec![fe("grid_code", "grid.unknown", "网格不存在", "unknown grid")]),
            };
            if let Some(b) = self.store.boundary(&d.code).await.map_err(internal)? {
                if parse_mp(&b.geometry).is_some_and(|mp| !contains(&mp, lon, lat)) {
                    return Err(vec![fe(
                        "grid_code",
                        "grid.outside",
                        format!("位置 ({lon}, {lat}) 不在{}的边界内", d.name),
                        format!("the location ({lon}, {lat}) is outside the boundary of grid {}", d.code),
                    )]);
                }
            }
            if let Some(b) = &building {
                if b.grid_code != d.code {
                    return Err(vec![fe(
                        "building_id",
                        "building.grid",
                        "楼栋不在该网格内",
                        "the building is not in this grid",
                    )]);
                }
            }
            return Ok(Placed { grid_code: d.code, path: d.path, building_id: building.map(|b| b.id), lon, lat });
        }
        if let Some(b) = building {
            return Ok(Placed { grid_code: b.grid_code, path: b.division_path, building_id: Some(b.id), lon, lat });
        }
        let hits = st::grid_boundaries_at(&self.store, actor, lon, lat).await.map_err(internal)?;
        let hit = hits.into_iter().find(|b| parse_mp(&b.geometry).is_some_and(|mp| contains(&mp, lon, lat)));
        match hit {
            Some(b) => Ok(Placed { grid_code: b.division_code, path: b.division_path, building_id: None, lon, lat }),
            None => Err(vec![fe(
                "lon",
                "grid.none",
                format!("位置 ({lon}, {lat}) 不在您辖区内的任何网格中"),
                format!("the location ({lon}, {lat}) is outside every grid of your jurisdiction"),
            )]),
        }
    }

    async fn household_row_from(&self, actor: &Actor, f: &HouseholdForm) -> Result<Household, Vec<FieldError>> {
        let input = HouseholdInput {
            address: f.address.clone(),
            members: f.members,
            contact_phone: f.contact_phone.clone(),
            floor: f.floor,
            lon: f.lon,
            lat: f.lat,
        };
        let phone = validate_household(&input)?;
        if f.head_name.trim().chars().count() > 50 {
            return Err(vec![fe(
                "head_name",
                "too_long",
                "户主姓名最多 50 个字符",
                "householder name: at most 50 characters",
            )]);
        }
        let p = self.place_household(actor, f).await?;
        Ok(Household {
            id: 0,
            grid_code: p.grid_code,
            division_path: p.path,
            building_id: p.building_id,
            address: f.address.trim().to_string(),
            floor: f.floor,
            lon: p.lon,
            lat: p.lat,
            members: f.members,
            vulnerable: String::new(),
            head_name: f.head_name.trim().to_string(),
            contact_enc: if phone.is_empty() { String::new() } else { self.crypto.encrypt(&phone) },
            updated_at: now_ms(),
        })
    }

    /// Registers a household.
    pub async fn create_household(&self, actor: &Actor, ctx: &RequestCtx, f: &HouseholdForm) -> AppResult<i64> {
        require(actor, &WRITE_ROLES)?;
        let h = self.household_row_from(actor, f).await.map_err(AppError::Validation)?;
        let mut tx = self.store.begin().await?;
        let id = st::insert_household_one(&mut tx, &h).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "grids.household.create",
                "household",
                id,
                serde_json::json!({ "grid": h.grid_code, "building": h.building_id }),
            ),
        )
        .await?;
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: "household_changed".into(),
                division_path: h.division_path.clone(),
                payload: serde_json::json!({ "household_id": id, "grid": h.grid_code }).to_string(),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// One household; `unmask` shows name and phone in full (permission, audited).
    pub async fn household_detail(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        unmask: bool,
    ) -> AppResult<HouseholdView> {
        require(actor, &READ_ROLES)?;
        let h = self.store.household(id).await?;
        if !actor.covers(&h.division_path) {
            return Err(AppError::NotFound);
        }
        if unmask {
            if !(actor.role.may_unmask() || actor.role == Role::SysAdmin) {
                return Err(AppError::Forbidden);
            }
            let mut tx = self.store.begin().await?;
            tongxin_store::audit::append(
                &mut tx,
                audit::entry(
                    Some(actor),
                    ctx,
                    "pii.unmask",
                    "household",
                    id,
                    serde_json::json!({ "fields": ["head_name", "contact_phone"] }),
                ),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let phone = self.crypto.decrypt(&h.contact_enc).unwrap_or_default();
        let vulnerable = self
            .store
            .vulnerable_of_household(id)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, v)| super::vuln_view(self, v, i + 1, unmask))
            .collect();
        Ok(HouseholdView {
            head: if unmask { h.head_name.clone() } else { mask_name(&h.head_name) },
            phone: if unmask { phone } else { mask_phone(&phone) },
            unmasked: unmask,
            vulnerable,
            household: h,
        })
    }

    /// Households the actor may see (masked list).
    pub async fn household_list(&self, actor: &Actor, f: &st::HouseholdFilter) -> AppResult<Vec<Household>> {
        require(actor, &READ_ROLES)?;
        let mut rows = self.store.households(actor, f).await?;
        for h in &mut rows {
            h.head_name = mask_name(&h.head_name);
        }
        Ok(rows)
    }

    /// Adds a vulnerable member to a household.
    pub async fn add_vulnerable(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        household: i64,
        f: &VulnerableForm,
    ) -> AppResult<i64> {
        require(actor, &WRITE_ROLES)?;
        let h = self.store.household(household).await?;
        if !actor.covers(&h.division_path) {
            return Err(AppError::NotFound);
        }
        let v = vulnerable_row(&h, f).map_err(AppError::Validation)?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let id = st::insert_vulnerable_one(&mut tx, &v, now).await?;
        let kinds = st::household_kinds(&mut tx, household).await?;
        st::set_household_vulnerable(&mut tx, household, &kinds, now).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "grids.vulnerable.create",
                "vulnerable_person",
                id,
                serde_json::json!({ "household": household, "kind": v.kind, "needs": v.needs }),
            ),
        )
        .await?;
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: "vulnerable_changed".into(),
                division_path: h.division_path.clone(),
                payload: serde_json::json!({ "household_id": household, "grid": h.grid_code }).to_string(),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Imports households (and their vulnerable member, one per row) from an xlsx or CSV file.
    /// Every row is checked first; when any row is bad nothing is saved and every bad row is
    /// reported. `dry_run` checks only.
    pub async fn import_households(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        bytes: &[u8],
        dry_run: bool,
    ) -> AppResult<ImportReport> {
        require(actor, &WRITE_ROLES)?;
        let t = read_table(bytes)?;
        let find = |names: &[&str]| t.headers.iter().position(|h| names.contains(&h.as_str()));
        let col_address = find(&["地址", "address"]);
        let col_members = find(&["家庭人数", "人数", "members"]);
        let Some(col_address) = col_address else {
            return Err(invalid("file", "file.columns", "缺少“地址”列", "the column \"地址 / address\" is missing"));
        };
        let Some(col_members) = col_members else {
            return Err(invalid(
                "file",
                "file.columns",
                "缺少“家庭人数”列",
                "the column \"家庭人数 / members\" is missing",
            ));
        };
        let opt = |names: &[&str]| find(names);
        let (c_head, c_phone, c_floor, c_lon, c_lat, c_grid, c_kind, c_vname, c_needs, c_note) = (
            opt(&["户主", "户主姓名", "head_name"]),
            opt(&["联系电话", "电话", "contact_phone"]),
            opt(&["楼层", "floor"]),
            opt(&["经度", "lon"]),
            opt(&["纬度", "lat"]),
            opt(&["网格编码", "网格", "grid_code"]),
            opt(&["重点人群类别", "vulnerable_kind"]),
            opt(&["重点人员姓名", "vulnerable_name"]),
            opt(&["特殊需求", "needs"]),
            opt(&["备注", "note"]),
        );
        let cell = |r: &Vec<String>, c: Option<usize>| c.and_then(|i| r.get(i)).cloned().unwrap_or_default();
        let header = |c: Option<usize>| c.and_then(|i| t.headers.get(i)).cloned().unwrap_or_default();
        let mut report = ImportReport { total: t.rows.len(), ..Default::default() };
        let mut ready: Vec<(Household, Option<VulnerableForm>)> = Vec::with_capacity(t.rows.len());
        for (rowno, r) in &t.rows {
            let mut errs: Vec<(String, FieldError)> = vec![];
            let num = |s: String, field: &str, label: String, errs: &mut Vec<(String, FieldError)>| -> Option<f64> {
                if s.trim().is_empty() {
                    return None;
                }
                match s.trim().parse::<f64>() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        errs.push((
                            label,
                            fe(field, "number", format!("“{s}”不是数字"), format!("\"{s}\" is not a number")),
                        ));
                        None
                    }
                }
            };
            let mut nerrs = vec![];
            let members = num(cell(r, Some(col_members)), "members", header(Some(col_members)), &mut nerrs);
            let floor = num(cell(r, c_floor), "floor", header(c_floor), &mut nerrs);
            let lon = num(cell(r, c_lon), "lon", header(c_lon), &mut nerrs);
            let lat = num(cell(r, c_lat), "lat", header(c_lat), &mut nerrs);
            errs.extend(nerrs);
            let form = HouseholdForm {
                grid_code: Some(cell(r, c_grid)).filter(|s| !s.trim().is_empty()),
                building_id: None,
                address: cell(r, Some(col_address)),
                floor: floor.map(|f| f as i64),
                members: members.map_or(0, |m| m as i64),
                head_name: cell(r, c_head),
                contact_phone: cell(r, c_phone),
                lon,
                lat,
            };
            let vform = Some(cell(r, c_kind)).filter(|k| !k.trim().is_empty()).map(|kind| VulnerableForm {
                name: Some(cell(r, c_vname)).filter(|n| !n.trim().is_empty()).unwrap_or_else(|| cell(r, c_head)),
                kind,
                needs: cell(r, c_needs),
                note: cell(r, c_note),
            });
            if errs.is_empty() {
                match self.household_row_from(actor, &form).await {
                    Ok(h) => {
                        if let Some(v) = &vform {
                            if let Err(es) = vulnerable_row(&h, v) {
                                for e in es {
                                    let c = match e.field.as_str() {
                                        "kind" => header(c_kind),
                                        "needs" => header(c_needs),
                                        _ => header(c_vname),
                                    };
                                    errs.push((c, e));
                                }
                            }
                        }
                        if errs.is_empty() {
                            ready.push((h, vform));
                        }
                    }
                    Err(es) => {
                        for e in es {
                            let c = match e.field.as_str() {
                                "address" => header(Some(col_address)),
                                "members" => header(Some(col_members)),
                                "contact_phone" => header(c_phone),
                                "floor" => header(c_floor),
                                "lon" => header(c_lon),
                                "lat" => header(c_lat),
                                "grid_code" => header(c_grid),
                                "head_name" => header(c_head),
                                _ => String::new(),
                            };
                            errs.push((c, e));
                        }
                    }
                }
            }
            report.errors.extend(errs.into_iter().map(|(column, e)| RowError {
                row: *rowno,
                column,
                rule: e.rule,
                message: e.message,
            }));
        }
        report.created = ready.len();
        if dry_run || !report.errors.is_empty() {
            return Ok(report);
        }
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let mut paths = std::collections::BTreeSet::new();
        for (h, v) in &ready {
            let id = st::insert_household_one(&mut tx, h).await?;
            if let Some(v) = v {
                let mut row = vulnerable_row(h, v).map_err(AppError::Validation)?;
                row.household_id = id;
                st::insert_vulnerable_one(&mut tx, &row, now).await?;
                st::set_household_vulnerable(&mut tx, id, &row.kind, now).await?;
            }
            paths.insert(h.division_path.clone());
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "grids.household.import",
                "household",
                "batch",
                serde_json::json!({ "rows": ready.len(), "grids": paths.len() }),
            ),
        )
        .await?;
        for p in paths {
            publish(
                &mut tx,
                self.store.backend(),
                &NewEvent {
                    topic: TOPIC.into(),
                    kind: "household_changed".into(),
                    division_path: p,
                    payload: serde_json::json!({ "import": true }).to_string(),
                    ..Default::default()
                },
            )
            .await?;
        }
        self.commit(tx).await?;
        report.saved = true;
        Ok(report)
    }
}

fn vulnerable_row(h: &Household, f: &VulnerableForm) -> Result<NewVulnerable, Vec<FieldError>> {
    let mut errs = vec![];
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        errs.push(fe("name", "required", "重点人员姓名须为 1 到 50 个字符", "name: 1 to 50 characters"));
    }
    let kind = VulnerableKind::parse(&f.kind);
    if kind.is_none() {
        errs.push(fe(
            "kind",
            "vulnerable.kind",
            format!("未知的重点人群类别“{}”（独居老人、残疾人、慢性病、卧床、孕产妇、无人看护儿童）", f.kind.trim()),
            format!(
                "unknown vulnerable kind \"{}\" (elderly_alone, disabled, chronic, bedridden, pregnant, child_no_carer)",
                f.kind.trim()
            ),
        ));
    }
    let needs = match parse_needs(&f.needs) {
        Ok(n) => n,
        Err(bad) => {
            errs.push(fe(
                "needs",
                "vulnerable.needs",
                format!("未知的特殊需求“{bad}”（透析、吸氧、轮椅、长期服药、认知障碍）"),
                format!("unknown need \"{bad}\" (dialysis, oxygen, wheelchair, medication, cognitive)"),
            ));
            vec![]
        }
    };
    if f.note.chars().count() > 200 {
        errs.push(fe("note", "too_long", "备注最多 200 个字符", "note: at most 200 characters"));
    }
    match (kind, errs.is_empty()) {
        (Some(kind), true) => Ok(NewVulnerable {
            id: 0,
            household_id: h.id,
            grid_code: h.grid_code.clone(),
            division_path: h.division_path.clone(),
            name: name.to_string(),
            kind: kind.key().into(),
            needs: needs_key(&needs),
            tier: check_tier(kind, &needs),
            note: f.note.trim().to_string(),
        }),
        _ => Err(errs),
    }
}

/// The household import template's header row (CSV).
pub fn household_template_csv() -> String {
    "\u{feff}地址,家庭人数,户主,联系电话,楼层,经度,纬度,网格编码,重点人群类别,重点人员姓名,特殊需求,备注\n\
     苏州市姑苏区平江路100号1幢101室,2,张三,13800000000,1,,,,独居老人,,,\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_longest_first() {
        let p = building_prefixes("平江路12号3幢502室");
        assert_eq!(p, vec!["平江路12号3幢502室", "平江路12号3幢", "平江路12号"]);
    }
}
