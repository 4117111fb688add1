//! Grids and base data (capability H): boundaries, grid workers, buildings, households,
//! vulnerable residents and check rounds.
//!
//! Personal data arrives here already encrypted (contact phones); names are stored as given and
//! masked by the application on display. By-id reads return the row with its division path so
//! the application can check the actor's scope; lists take an [`Actor`] and scope in SQL.

use crate::bulk::Val;
use crate::sql::{Arg, SqlBuf};
use crate::{col, Backend, Result, Store, StoreError, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;
use tongxin_domain::Actor;

/// Tables whose ids the bulk loaders assign explicitly.
pub const ID_TABLES: [&str; 5] = ["buildings", "households", "vulnerable_people", "grid_responders", "check_rounds"];

/// Next free id of `table` (one of [`ID_TABLES`]), read inside the loading transaction.
pub async fn next_id(tx: &mut Tx, table: &'static str) -> Result<i64> {
    debug_assert!(ID_TABLES.contains(&table));
    let r = sqlx::query(&format!("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM {table}")).fetch_one(&mut **tx).await?;
    col(&r, "n")
}

/// After inserting explicit ids on PostgreSQL, moves the identity sequences past them.
pub async fn sync_ids(tx: &mut Tx, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres {
        for t in ID_TABLES {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
            ))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Boundaries
// ---------------------------------------------------------------------------------------------

/// A boundary of a division node or grid (GeoJSON geometry text, WGS-84).
#[derive(Debug, Clone, Serialize)]
pub struct Boundary {
    /// Division or grid code.
    pub division_code: String,
    /// Its path.
    pub division_path: String,
    /// Level key.
    pub level: String,
    /// GeoJSON geometry (MultiPolygon) as text.
    pub geometry: String,
    /// Bounding box.
    pub bbox: [f64; 4],
    /// Where it came from.
    pub source: String,
    /// Generated for the demo rather than imported.
    pub synthetic: bool,
    /// Unix ms.
    pub updated_at: i64,
}

fn boundary_row(r: &AnyRow) -> Result<Boundary> {
    Ok(Boundary {
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        level: col(r, "level")?,
        geometry: col(r, "geometry")?,
        bbox: [col(r, "min_lon")?, col(r, "min_lat")?, col(r, "max_lon")?, col(r, "max_lat")?],
        source: col(r, "source")?,
        synthetic: col::<i64>(r, "synthetic")? != 0,
        updated_at: col(r, "updated_at")?,
    })
}

const BOUNDARY_COLS: &str =
    "division_code, division_path, level, geometry, min_lon, min_lat, max_lon, max_lat, source, synthetic, updated_at";

/// Inserts or replaces boundaries.
pub async fn upsert_boundaries(tx: &mut Tx, rows: &[Boundary]) -> Result<()> {
    crate::bulk::bulk_insert_then(
        tx,
        "boundaries",
        BOUNDARY_COLS,
        " ON CONFLICT (division_code) DO UPDATE SET \
         geometry = excluded.geometry, min_lon = excluded.min_lon, min_lat = excluded.min_lat, \
         max_lon = excluded.max_lon, max_lat = excluded.max_lat, source = excluded.source, \
         synthetic = excluded.synthetic, updated_at = excluded.updated_at",
        rows,
        |q, b| {
            q.bind(b.division_code.clone())
                .bind(b.division_path.clone())
                .bind(b.level.clone())
                .bind(b.geometry.clone())
                .bind(b.bbox[0])
                .bind(b.bbox[1])
                .bind(b.bbox[2])
                .bind(b.bbox[3])
                .bind(b.source.clone())
                .bind(b.synthetic as i64)
                .bind(b.updated_at)
        },
    )
    .await
    .map(|_| ())
}

impl Store {
    /// The boundary of one node, if any.
    pub async fn boundary(&self, code: &str) -> Result<Option<Boundary>> {
        let r = sqlx::query(&format!("SELECT {BOUNDARY_COLS} FROM boundaries WHERE division_code = $1"))
            .bind(code.to_string())
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(boundary_row).transpose()
    }

    /// Boundaries within `path` (the node itself included), at `level` when given, at most `limit`.
    pub async fn boundaries_within(&self, path: &str, level: Option<&str>, limit: i64) -> Result<Vec<Boundary>> {
        let mut b = SqlBuf::new(&format!("SELECT {BOUNDARY_COLS} FROM boundaries WHERE "));
        b.within("division_path", path);
        if let Some(l) = level {
            b.push(" AND level = ").text(l);
        }
        b.push(" ORDER BY division_path LIMIT ").int(limit);
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(boundary_row).collect()
    }

    /// Boundaries of the given codes.
    pub async fn boundaries_of(&self, codes: &[String]) -> Result<Vec<Boundary>> {
        if codes.is_empty() {
            return Ok(vec![]);
        }
        let mut b = SqlBuf::new(&format!("SELECT {BOUNDARY_COLS} FROM boundaries WHERE division_code IN ("));
        for (i, c) in codes.iter().enumerate() {
            if i > 0 {
                b.push(",");
            }
            b.text(c.clone());
        }
        b.push(")");
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(boundary_row).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Buildings and households
// ---------------------------------------------------------------------------------------------

/// A building.
#[derive(Debug, Clone, Serialize)]
pub struct Building {
    /// Id.
    pub id: i64,
    /// Grid code.
    pub grid_code: String,
    /// Grid path.
    pub division_path: String,
    /// Short name (`3幢`).
    pub name: String,
    /// Full address.
    pub address: String,
    /// WGS-84 longitude.
    pub lon: f64,
    /// WGS-84 latitude.
    pub lat: f64,
    /// Floors above ground.
    pub floors: i64,
    /// Kind key.
    pub kind: String,
    /// Position on the grid's door-to-door route.
    pub route_seq: i64,
}

const BUILDING_COLS: &str =
    "id, grid_code, division_path, name, address, lon, lat, floors, kind, route_seq, updated_at";

fn building_row(r: &AnyRow) -> Result<Building> {
    Ok(Building {
        id: col(r, "id")?,
        grid_code: col(r, "grid_code")?,
        division_path: col(r, "division_path")?,
        name: col(r, "name")?,
        address: col(r, "address")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        floors: col(r, "floors")?,
        kind: col(r, "kind")?,
        route_seq: col(r, "route_seq")?,
    })
}

impl crate::bulk::BulkRow for Building {
    const TABLE: &'static str = "buildings";
    const COLS: &'static str = BUILDING_COLS;
    fn values<'a>(&'a self, now: i64, out: &mut Vec<Val<'a>>) {
        out.extend([
            Val::Int(Some(self.id)),
            Val::Text(&self.grid_code),
            Val::Text(&self.division_path),
            Val::Text(&self.name),
            Val::Text(&self.address),
            Val::Real(Some(self.lon)),
            Val::Real(Some(self.lat)),
            Val::Int(Some(self.floors)),
            Val::Text(&self.kind),
            Val::Int(Some(self.route_seq)),
            Val::Int(Some(now)),
        ]);
    }
}

/// Inserts buildings with their ids.
pub async fn insert_buildings(tx: &mut Tx, rows: &[Building], now: i64) -> Result<()> {
    crate::bulk::insert_rows(tx, rows, now).await
}

/// A household row (the contact phone encrypted).
#[derive(Debug, Clone, Serialize)]
pub struct Household {
    /// Id.
    pub id: i64,
    /// Grid code.
    pub grid_code: String,
    /// Grid path.
    pub division_path: String,
    /// Building, when known.
    pub building_id: Option<i64>,
    /// Address.
    pub address: String,
    /// Floor.
    pub floor: Option<i64>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Members.
    pub members: i64,
    /// Vulnerable-kind keys of its members, comma separated.
    pub vulnerable: String,
    /// Householder's name.
    pub head_name: String,
    /// Encrypted contact phone (empty when none).
    #[serde(skip)]
    pub contact_enc: String,
    /// Unix ms.
    pub updated_at: i64,
}

const HOUSEHOLD_COLS: &str =
    "id, grid_code, division_path, building_id, address, floor, lon, lat, members, vulnerable, \
                              head_name, contact_phone, updated_at";

fn household_row(r: &AnyRow) -> Result<Household> {
    Ok(Household {
        id: col(r, "id")?,
        grid_code: col(r, "grid_code")?,
        division_path: col(r, "division_path")?,
        building_id: col(r, "building_id")?,
        address: col(r, "address")?,
        floor: col(r, "floor")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        members: col(r, "members")?,
        vulnerable: col(r, "vulnerable")?,
        head_name: col(r, "head_name")?,
        contact_enc: col(r, "contact_phone")?,
        updated_at: col(r, "updated_at")?,
    })
}

impl crate::bulk::BulkRow for Household {
    const TABLE: &'static str = "households";
    const COLS: &'static str = HOUSEHOLD_COLS;
    fn values<'a>(&'a self, _now: i64, out: &mut Vec<Val<'a>>) {
        out.extend([
            Val::Int(Some(self.id)),
            Val::Text(&self.grid_code),
            Val::Text(&self.division_path),
            Val::Int(self.building_id),
            Val::Text(&self.address),
            Val::Int(self.floor),
            Val::Real(Some(self.lon)),
            Val::Real(Some(self.lat)),
            Val::Int(Some(self.members)),
            Val::Text(&self.vulnerable),
            Val::Text(&self.head_name),
            Val::Text(&self.contact_enc),
            Val::Int(Some(self.updated_at)),
        ]);
    }
}

/// Inserts households with their ids.
pub async fn insert_households(tx: &mut Tx, rows: &[Household]) -> Result<()> {
    crate::bulk::insert_rows(tx, rows, 0).await
}

/// Sets a household's vulnerable-kind summary.
pub async fn set_household_vulnerable(tx: &mut Tx, id: i64, kinds: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE households SET vulnerable = $1, updated_at = $2 WHERE id = $3")
        .bind(kinds.to_string())
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Updates a household's editable fields.
pub async fn update_household(tx: &mut Tx, h: &Household) -> Result<()> {
    let r = sqlx::query(
        "UPDATE households SET grid_code = $1, division_path = $2, building_id = $3, address = $4, floor = $5, \
         lon = $6, lat = $7, members = $8, head_name = $9, contact_phone = $10, updated_at = $11 WHERE id = $12",
    )
    .bind(h.grid_code.clone())
    .bind(h.division_path.clone())
    .bind(h.building_id)
    .bind(h.address.clone())
    .bind(h.floor)
    .bind(h.lon)
    .bind(h.lat)
    .bind(h.members)
    .bind(h.head_name.clone())
    .bind(h.contact_enc.clone())
    .bind(h.updated_at)
    .bind(h.id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Filter of a household list.
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    /// Subtree (path) to list.
    pub within: Option<String>,
    /// One grid.
    pub grid: Option<String>,
    /// One building.
    pub building: Option<i64>,
    /// Only households with a vulnerable member.
    pub vulnerable_only: bool,
    /// Address contains.
    pub q: Option<String>,
    /// After this id (keyset).
    pub after_id: i64,
    /// Page size.
    pub limit: i64,
}

impl Store {
    /// One building.
    pub async fn building(&self, id: i64) -> Result<Building> {
        let r = sqlx::query(&format!("SELECT {BUILDING_COLS} FROM buildings WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        building_row(&r)
    }

    /// Buildings of a grid in route order.
    pub async fn buildings_in_grid(&self, grid: &str) -> Result<Vec<Building>> {
        let rows = sqlx::query(&format!(
            "SELECT {BUILDING_COLS} FROM buildings WHERE grid_code = $1 ORDER BY route_seq, id LIMIT 2000"
        ))
        .bind(grid.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(building_row).collect()
    }

    /// Buildings whose address is exactly `address`, within the actor's scope (geocoding by
    /// matching known buildings).
    pub async fn buildings_by_address(&self, actor: &Actor, address: &str) -> Result<Vec<Building>> {
        let mut b = SqlBuf::new(&format!("SELECT {BUILDING_COLS} FROM buildings WHERE address = "));
        b.text(address).push(" AND ");
        b.scope(actor, "division_path", None);
        b.push(" ORDER BY id LIMIT 5");
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(building_row).collect()
    }

    /// One household.
    pub async fn household(&self, id: i64) -> Result<Household> {
        let r = sqlx::query(&format!("SELECT {HOUSEHOLD_COLS} FROM households WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        household_row(&r)
    }

    /// Households the actor may see, by filter, in id order.
    pub async fn households(&self, actor: &Actor, f: &HouseholdFilter) -> Result<Vec<Household>> {
        let mut b = SqlBuf::new(&format!("SELECT {HOUSEHOLD_COLS} FROM households WHERE "));
        b.scope(actor, "division_path", None);
        if let Some(p) = &f.within {
            b.push(" AND ");
            b.within("division_path", p);
        }
        if let Some(g) = &f.grid {
            b.push(" AND grid_code = ").text(g.clone());
        }
        if let Some(id) = f.building {
            b.push(" AND building_id = ").int(id);
        }
        if f.vulnerable_only {
            b.push(" AND vulnerable <> ''");
        }
        if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
            b.push(" AND address LIKE ").text(format!("%{}%", crate::sql::like_escape(q.trim()))).push(" ESCAPE '\\'");
        }
        b.push(" AND id > ").int(f.after_id);
        b.push(" ORDER BY id LIMIT ").int(f.limit);
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(household_row).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Vulnerable residents
// ---------------------------------------------------------------------------------------------

/// A vulnerable person to insert.
#[derive(Debug, Clone)]
pub struct NewVulnerable {
    /// Id (explicit).
    pub id: i64,
    /// Household.
    pub household_id: i64,
    /// Grid code.
    pub grid_code: String,
    /// Grid path.
    pub division_path: String,
    /// Name.
    pub name: String,
    /// Kind key.
    pub kind: String,
    /// Need keys.
    pub needs: String,
    /// Check tier.
    pub tier: i64,
    /// Free note (care instructions).
    pub note: String,
}

impl crate::bulk::BulkRow for NewVulnerable {
    const TABLE: &'static str = "vulnerable_people";
    const COLS: &'static str = "id, household_id, grid_code, division_path, name, kind, needs, tier, note, updated_at";
    fn values<'a>(&'a self, now: i64, out: &mut Vec<Val<'a>>) {
        out.extend([
            Val::Int(Some(self.id)),
            Val::Int(Some(self.household_id)),
            Val::Text(&self.grid_code),
            Val::Text(&self.division_path),
            Val::Text(&self.name),
            Val::Text(&self.kind),
            Val::Text(&self.needs),
            Val::Int(Some(self.tier)),
            Val::Text(&self.note),
            Val::Int(Some(now)),
        ]);
    }
}

/// Inserts vulnerable people with their ids.
pub async fn insert_vulnerable(tx: &mut Tx, rows: &[NewVulnerable], now: i64) -> Result<()> {
    crate::bulk::insert_rows(tx, rows, now).await
}

/// A vulnerable person with where to find them, in check order.
#[derive(Debug, Clone, Serialize)]
pub struct VulnerableRow {
    /// Person id.
    pub id: i64,
    /// Household id.
    pub household_id: i64,
    /// Grid code.
    pub grid_code: String,
    /// Grid path.
    pub division_path: String,
    /// Name (mask before showing).
    pub name: String,
    /// Kind key.
    pub kind: String,
    /// Need keys.
    pub needs: String,
    /// Check tier.
    pub tier: i64,
    /// Note.
    pub note: String,
    /// Household address.
    pub address: String,
    /// Floor.
    pub floor: Option<i64>,
    /// Building name (empty when the household has none).
    pub building: String,
    /// Route position of the building.
    pub route_seq: i64,
    /// Household location.
    pub lon: f64,
    /// Household location.
    pub lat: f64,
    /// Encrypted household contact phone.
    #[serde(skip)]
    pub contact_enc: String,
}

const VULN_SELECT: &str =
    "SELECT v.id, v.household_id, v.grid_code, v.division_path, v.name, v.kind, v.needs, v.tier, \
     v.note, h.address, h.floor, h.lon, h.lat, h.contact_phone, COALESCE(b.name, '') AS bname, \
     COALESCE(b.route_seq, 0) AS route_seq FROM vulnerable_people v JOIN households h ON h.id = v.household_id \
     LEFT JOIN buildings b ON b.id = h.building_id";

fn vuln_row(r: &AnyRow) -> Result<VulnerableRow> {
    Ok(VulnerableRow {
        id: col(r, "id")?,
        household_id: col(r, "household_id")?,
        grid_code: col(r, "grid_code")?,
        division_path: col(r, "division_path")?,
        name: col(r, "name")?,
        kind: col(r, "kind")?,
        needs: col(r, "needs")?,
        tier: col(r, "tier")?,
        note: col(r, "note")?,
        address: col(r, "address")?,
        floor: col(r, "floor")?,
        building: col(r, "bname")?,
        route_seq: col(r, "route_seq")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        contact_enc: col(r, "contact_phone")?,
    })
}

impl Store {
    /// The active vulnerable residents of one grid in door-to-door check order: tier, then the
    /// building's place on the route, then floor.
    pub async fn vulnerable_in_grid(&self, grid: &str) -> Result<Vec<VulnerableRow>> {
        let rows = sqlx::query(&format!(
            "{VULN_SELECT} WHERE v.grid_code = $1 AND v.active = 1 \
             ORDER BY v.tier, COALESCE(b.route_seq, 0), COALESCE(h.floor, 0), v.id LIMIT 5000"
        ))
        .bind(grid.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(vuln_row).collect()
    }

    /// One vulnerable person.
    pub async fn vulnerable_person(&self, id: i64) -> Result<VulnerableRow> {
        let r = sqlx::query(&format!("{VULN_SELECT} WHERE v.id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        vuln_row(&r)
    }

    /// The active vulnerable residents of one household.
    pub async fn vulnerable_of_household(&self, household: i64) -> Result<Vec<VulnerableRow>> {
        let rows = sqlx::query(&format!("{VULN_SELECT} WHERE v.household_id = $1 AND v.active = 1 ORDER BY v.id"))
            .bind(household)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(vuln_row).collect()
    }
}

/// Marks a vulnerable person inactive (moved away, no longer vulnerable).
pub async fn deactivate_vulnerable(tx: &mut Tx, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE vulnerable_people SET active = 0, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Kind keys of a household's active vulnerable members, comma separated and de-duplicated.
pub async fn household_kinds(tx: &mut Tx, household: i64) -> Result<String> {
    let rows = sqlx::query("SELECT DISTINCT kind FROM vulnerable_people WHERE household_id = $1 AND active = 1")
        .bind(household)
        .fetch_all(&mut **tx)
        .await?;
    let mut kinds: Vec<String> = rows.iter().map(|r| col(r, "kind")).collect::<Result<_>>()?;
    kinds.sort();
    Ok(kinds.join(","))
}

// ---------------------------------------------------------------------------------------------
// Grids (summaries) and responders
// ---------------------------------------------------------------------------------------------

/// A grid with its counts.
#[derive(Debug, Clone, Serialize)]
pub struct GridSummary {
    /// 15-digit grid code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// Community code.
    pub community: String,
    /// Buildings.
    pub buildings: i64,
    /// Households.
    pub households: i64,
    /// Active vulnerable residents.
    pub vulnerable: i64,
    /// Open check round, if any.
    pub open_round: Option<i64>,
    /// Has a boundary.
    pub has_boundary: bool,
}

async fn counts_by_grid(
    store: &Store,
    table: &str,
    extra: &str,
    codes: &[String],
) -> Result<std::collections::HashMap<String, i64>> {
    let mut b = SqlBuf::new(&format!("SELECT grid_code, COUNT(*) AS n FROM {table} WHERE {extra}grid_code IN ("));
    for (i, c) in codes.iter().enumerate() {
        if i > 0 {
            b.push(",");
        }
        b.text(c.clone());
    }
    b.push(") GROUP BY grid_code");
    let rows = b.query().fetch_all(store.reader()).await?;
    rows.iter().map(|r| Ok((col::<String>(r, "grid_code")?, col::<i64>(r, "n")?))).collect()
}

impl Store {
    /// Grids within `path` visible to the actor, in code order after `after_code`, with counts.
    pub async fn grid_summaries(
        &self,
        actor: &Actor,
        path: &str,
        after_code: &str,
        limit: i64,
    ) -> Result<Vec<GridSummary>> {
        let mut b = SqlBuf::new("SELECT code, name, path, parent_code FROM divisions WHERE level = 'grid' AND ");
        b.within("path", path);
        b.push(" AND ");
        b.scope(actor, "path", None);
        b.push(" AND code > ").text(after_code);
        b.push(" ORDER BY code LIMIT ").int(limit);
        let rows = b.query().fetch_all(self.reader()).await?;
        let mut out: Vec<GridSummary> = rows
            .iter()
            .map(|r| {
                Ok(GridSummary {
                    code: col(r, "code")?,
                    name: col(r, "name")?,
                    path: col(r, "path")?,
                    community: col::<Option<String>>(r, "parent_code")?.unwrap_or_default(),
                    buildings: 0,
                    households: 0,
                    vulnerable: 0,
                    open_round: None,
                    has_boundary: false,
                })
            })
            .collect::<Result<_>>()?;
        if out.is_empty() {
            return Ok(out);
        }
        let codes: Vec<String> = out.iter().map(|g| g.code.clone()).collect();
        let bld = counts_by_grid(self, "buildings", "", &codes).await?;
        let hh = counts_by_grid(self, "households", "", &codes).await?;
        let vu = counts_by_grid(self, "vulnerable_people", "active = 1 AND ", &codes).await?;
        let mut rb =
            SqlBuf::new("SELECT grid_code, MAX(id) AS id FROM check_rounds WHERE state = 'open' AND grid_code IN (");
        for (i, c) in codes.iter().enumerate() {
            if i > 0 {
                rb.push(",");
            }
            rb.text(c.clone());
        }
        rb.push(") GROUP BY grid_code");
        let open: std::collections::HashMap<String, i64> = rb
            .query()
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| Ok((col::<String>(r, "grid_code")?, col::<i64>(r, "id")?)))
            .collect::<Result<_>>()?;
        let with_b: std::collections::HashSet<String> =
            self.boundaries_of(&codes).await?.into_iter().map(|b| b.division_code).collect();
        for g in &mut out {
            g.buildings = bld.get(&g.code).copied().unwrap_or(0);
            g.households = hh.get(&g.code).copied().unwrap_or(0);
            g.vulnerable = vu.get(&g.code).copied().unwrap_or(0);
            g.open_round = open.get(&g.code).copied();
            g.has_boundary = with_b.contains(&g.code);
        }
        Ok(out)
    }
}

/// A local responder on a grid.
#[derive(Debug, Clone, Serialize)]
pub struct Responder {
    /// Id.
    pub id: i64,
    /// Grid code.
    pub grid_code: String,
    /// Grid path.
    pub division_path: String,
    /// Kind key.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Encrypted phone.
    #[serde(skip)]
    pub phone_enc: String,
    /// Account, when the responder logs in.
    pub user_id: Option<i64>,
    /// Volunteer record, when registered as one (dispatch assigns through it).
    pub volunteer_id: Option<i64>,
    /// Responsibility zone (party members).
    pub zone: String,
    /// Buildings covered.
    pub buildings: Vec<i64>,
}

/// Inserts a responder with its buildings; returns its id.
pub async fn insert_responder(tx: &mut Tx, r: &Responder, now: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO grid_responders (grid_code, division_path, kind, name, phone_enc, user_id, volunteer_id, zone, \
         active, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,1,$9) RETURNING id",
    )
    .bind(r.grid_code.clone())
    .bind(r.division_path.clone())
    .bind(r.kind.clone())
    .bind(r.name.clone())
    .bind(r.phone_enc.clone())
    .bind(r.user_id)
    .bind(r.volunteer_id)
    .bind(r.zone.clone())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = col(&row, "id")?;
    for b in &r.buildings {
        sqlx::query("INSERT INTO responder_buildings (responder_id, building_id) VALUES ($1, $2)")
            .bind(id)
            .bind(*b)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

impl Store {
    /// Active responders of a grid, grid workers first.
    pub async fn responders_in_grid(&self, grid: &str) -> Result<Vec<Responder>> {
        let rows = sqlx::query(
            "SELECT id, grid_code, division_path, kind, name, phone_enc, user_id, volunteer_id, zone \
             FROM grid_responders WHERE grid_code = $1 AND active = 1 ORDER BY kind DESC, id",
        )
        .bind(grid.to_string())
        .fetch_all(self.reader())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = col(r, "id")?;
            let b =
                sqlx::query("SELECT building_id FROM responder_buildings WHERE responder_id = $1 ORDER BY building_id")
                    .bind(id)
                    .fetch_all(self.reader())
                    .await?;
            out.push(Responder {
                id,
                grid_code: col(r, "grid_code")?,
                division_path: col(r, "division_path")?,
                kind: col(r, "kind")?,
                name: col(r, "name")?,
                phone_enc: col(r, "phone_enc")?,
                user_id: col(r, "user_id")?,
                volunteer_id: col(r, "volunteer_id")?,
                zone: col(r, "zone")?,
                buildings: b.iter().map(|x| col(x, "building_id")).collect::<Result<_>>()?,
            });
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Check rounds
// ---------------------------------------------------------------------------------------------

/// A check round.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    /// Id.
    pub id: i64,
    /// Grid code.
    pub grid_code: String,
    /// Grid path.
    pub division_path: String,
    /// Title (the emergency it is for).
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    /// People on the list when it started.
    pub total: i64,
    /// Who started it.
    pub started_by: i64,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms.
    pub closed_at: Option<i64>,
}

const ROUND_COLS: &str = "id, grid_code, division_path, title, state, total, started_by, started_at, closed_at";

fn round_row(r: &AnyRow) -> Result<Round> {
    Ok(Round {
        id: col(r, "id")?,
        grid_code: col(r, "grid_code")?,
        division_path: col(r, "division_path")?,
        title: col(r, "title")?,
        state: col(r, "state")?,
        total: col(r, "total")?,
        started_by: col(r, "started_by")?,
        started_at: col(r, "started_at")?,
        closed_at: col(r, "closed_at")?,
    })
}

/// Starts a round; returns its id.
pub async fn insert_round(tx: &mut Tx, r: &Round) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO check_rounds (grid_code, division_path, title, state, total, started_by, started_at) \
         VALUES ($1,$2,$3,'open',$4,$5,$6) RETURNING id",
    )
    .bind(r.grid_code.clone())
    .bind(r.division_path.clone())
    .bind(r.title.clone())
    .bind(r.total)
    .bind(r.started_by)
    .bind(r.started_at)
    .fetch_one(&mut **tx)
    .await?;
    col(&row, "id")
}

/// The open round of a grid, read inside a transaction (to refuse a second one).
pub async fn open_round_tx(tx: &mut Tx, grid: &str) -> Result<Option<i64>> {
    let r = sqlx::query("SELECT id FROM check_rounds WHERE grid_code = $1 AND state = 'open' ORDER BY id LIMIT 1")
        .bind(grid.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    r.map(|r| col(&r, "id")).transpose()
}

/// Reads a round inside a transaction.
pub async fn round_tx(tx: &mut Tx, id: i64) -> Result<Round> {
    let r = sqlx::query(&format!("SELECT {ROUND_COLS} FROM check_rounds WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    round_row(&r)
}

/// Closes a round.
pub async fn close_round(tx: &mut Tx, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE check_rounds SET state = 'closed', closed_at = $1 WHERE id = $2 AND state = 'open'")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records (or corrects) one visit of a round.
pub async fn upsert_mark(
    tx: &mut Tx,
    round: i64,
    person: i64,
    status: &str,
    note: &str,
    by_user: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO check_marks (round_id, person_id, status, note, by_user, at) VALUES ($1,$2,$3,$4,$5,$6) \
         ON CONFLICT (round_id, person_id) DO UPDATE SET status = excluded.status, note = excluded.note, \
         by_user = excluded.by_user, at = excluded.at",
    )
    .bind(round)
    .bind(person)
    .bind(status.to_string())
    .bind(note.to_string())
    .bind(by_user)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One recorded visit.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// Person.
    pub person_id: i64,
    /// Status key.
    pub status: String,
    /// Note.
    pub note: String,
    /// Recorded by (user id).
    pub by_user: i64,
    /// Recorder's display name.
    pub by_name: String,
    /// Unix ms.
    pub at: i64,
}

/// Status counts of a round's marks: `(status, n)`.
pub async fn mark_counts_tx(tx: &mut Tx, round: i64) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM check_marks WHERE round_id = $1 GROUP BY status")
        .bind(round)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(|r| Ok((col(r, "status")?, col(r, "n")?))).collect()
}

impl Store {
    /// One round.
    pub async fn round(&self, id: i64) -> Result<Round> {
        let r = sqlx::query(&format!("SELECT {ROUND_COLS} FROM check_rounds WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        round_row(&r)
    }

    /// The marks of a round.
    pub async fn marks(&self, round: i64) -> Result<Vec<Mark>> {
        let rows = sqlx::query(
            "SELECT m.person_id, m.status, m.note, m.by_user, m.at, COALESCE(u.display_name, '') AS by_name \
             FROM check_marks m LEFT JOIN users u ON u.id = m.by_user WHERE m.round_id = $1 ORDER BY m.at",
        )
        .bind(round)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Mark {
                    person_id: col(r, "person_id")?,
                    status: col(r, "status")?,
                    note: col(r, "note")?,
                    by_user: col(r, "by_user")?,
                    by_name: col(r, "by_name")?,
                    at: col(r, "at")?,
                })
            })
            .collect()
    }

    /// Rounds the actor may see within `path`, newest first, at most `limit`; `open_only` to
    /// narrow to open rounds.
    pub async fn rounds(&self, actor: &Actor, path: &str, open_only: bool, limit: i64) -> Result<Vec<Round>> {
        let mut b = SqlBuf::new(&format!("SELECT {ROUND_COLS} FROM check_rounds WHERE "));
        b.scope(actor, "division_path", None);
        b.push(" AND ");
        b.within("division_path", path);
        if open_only {
            b.push(" AND state = 'open'");
        }
        b.push(" ORDER BY id DESC LIMIT ").int(limit);
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(round_row).collect()
    }

    /// Status counts of several rounds: round id → (status → n).
    pub async fn round_counts(
        &self,
        rounds: &[i64],
    ) -> Result<std::collections::HashMap<i64, std::collections::HashMap<String, i64>>> {
        let mut out: std::collections::HashMap<i64, std::collections::HashMap<String, i64>> = Default::default();
        if rounds.is_empty() {
            return Ok(out);
        }
        let mut b = SqlBuf::new("SELECT round_id, status, COUNT(*) AS n FROM check_marks WHERE round_id IN (");
        for (i, r) in rounds.iter().enumerate() {
            if i > 0 {
                b.push(",");
            }
            b.bind(Arg::I64(*r));
        }
        b.push(") GROUP BY round_id, status");
        for r in b.query().fetch_all(self.reader()).await? {
            out.entry(col(&r, "round_id")?).or_default().insert(col(&r, "status")?, col(&r, "n")?);
        }
        Ok(out)
    }
}

/// Active community workers whose jurisdiction covers `path` (to notify of someone in need).
pub async fn workers_covering(tx: &mut Tx, path: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM users WHERE role = 'community_worker' AND disabled = 0 AND division_path IS NOT NULL \
         AND substr($1, 1, length(division_path)) = division_path ORDER BY id LIMIT 200",
    )
    .bind(path.to_string())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| col(r, "id")).collect()
}

/// Grids with the most active vulnerable residents (benchmark input).
pub async fn busiest_grids(pool: &sqlx::AnyPool, limit: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT grid_code, COUNT(*) AS n FROM vulnerable_people WHERE active = 1 GROUP BY grid_code \
         ORDER BY n DESC, grid_code LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| col(r, "grid_code")).collect()
}

/// Grid boundaries the actor may see whose bounding box holds the point (exact test in the app).
pub async fn grid_boundaries_at(store: &Store, actor: &Actor, lon: f64, lat: f64) -> Result<Vec<Boundary>> {
    let mut b = SqlBuf::new(&format!("SELECT {BOUNDARY_COLS} FROM boundaries WHERE level = 'grid' AND min_lon <= "));
    b.bind(Arg::F64(lon)).push(" AND max_lon >= ").bind(Arg::F64(lon));
    b.push(" AND min_lat <= ").bind(Arg::F64(lat)).push(" AND max_lat >= ").bind(Arg::F64(lat));
    b.push(" AND ");
    b.scope(actor, "division_path", None);
    b.push(" LIMIT 50");
    let rows = b.query().fetch_all(store.reader()).await?;
    rows.iter().map(boundary_row).collect()
}

/// Inserts one household (id assigned by the database); returns its id.
pub async fn insert_household_one(tx: &mut Tx, h: &Household) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO households (grid_code, division_path, building_id, address, floor, lon, lat, members, vulnerable, \
         head_name, contact_phone, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id",
    )
    .bind(h.grid_code.clone())
    .bind(h.division_path.clone())
    .bind(h.building_id)
    .bind(h.address.clone())
    .bind(h.floor)
    .bind(h.lon)
    .bind(h.lat)
    .bind(h.members)
    .bind(h.vulnerable.clone())
    .bind(h.head_name.clone())
    .bind(h.contact_enc.clone())
    .bind(h.updated_at)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

/// Inserts one vulnerable person (id assigned by the database); returns its id.
pub async fn insert_vulnerable_one(tx: &mut Tx, v: &NewVulnerable, now: i64) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO vulnerable_people (household_id, grid_code, division_path, name, kind, needs, tier, note, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id",
    )
    .bind(v.household_id)
    .bind(v.grid_code.clone())
    .bind(v.division_path.clone())
    .bind(v.name.clone())
    .bind(v.kind.clone())
    .bind(v.needs.clone())
    .bind(v.tier)
    .bind(v.note.clone())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

// ---------------------------------------------------------------------------------------------
// Editing buildings and responders
// ---------------------------------------------------------------------------------------------

/// Updates a building's editable fields (name, address, location, floors, kind, route order).
pub async fn update_building(tx: &mut Tx, b: &Building, now: i64) -> Result<()> {
    let r = sqlx::query(
        "UPDATE buildings SET name = $1, address = $2, lon = $3, lat = $4, floors = $5, kind = $6, route_seq = $7, \
         updated_at = $8 WHERE id = $9",
    )
    .bind(b.name.clone())
    .bind(b.address.clone())
    .bind(b.lon)
    .bind(b.lat)
    .bind(b.floors)
    .bind(b.kind.clone())
    .bind(b.route_seq)
    .bind(now)
    .bind(b.id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Households registered in a building.
pub async fn households_in_building(tx: &mut Tx, id: i64) -> Result<i64> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM households WHERE building_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    col(&r, "n")
}

/// Deletes a building and the responders' coverage of it (the caller checks it is empty).
pub async fn delete_building(tx: &mut Tx, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM responder_buildings WHERE building_id = $1").bind(id).execute(&mut **tx).await?;
    let r = sqlx::query("DELETE FROM buildings WHERE id = $1").bind(id).execute(&mut **tx).await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Updates an active responder's kind, name, phone, zone and buildings covered.
pub async fn update_responder(tx: &mut Tx, r: &Responder) -> Result<()> {
    let done = sqlx::query(
        "UPDATE grid_responders SET kind = $1, name = $2, phone_enc = $3, zone = $4 WHERE id = $5 AND active = 1",
    )
    .bind(r.kind.clone())
    .bind(r.name.clone())
    .bind(r.phone_enc.clone())
    .bind(r.zone.clone())
    .bind(r.id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM responder_buildings WHERE responder_id = $1").bind(r.id).execute(&mut **tx).await?;
    for b in &r.buildings {
        sqlx::query("INSERT INTO responder_buildings (responder_id, building_id) VALUES ($1, $2)")
            .bind(r.id)
            .bind(*b)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Removes a responder from its grid: the row stays (tasks and audit records name it) but is
/// no longer active, and covers no building.
pub async fn deactivate_responder(tx: &mut Tx, id: i64) -> Result<()> {
    let r = sqlx::query("UPDATE grid_responders SET active = 0 WHERE id = $1 AND active = 1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM responder_buildings WHERE responder_id = $1").bind(id).execute(&mut **tx).await?;
    Ok(())
}

impl Store {
    /// The jurisdiction path of a responder, removed or not.
    pub async fn responder_path_any(&self, id: i64) -> Result<String> {
        let r = sqlx::query("SELECT division_path FROM grid_responders WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        col(&r, "division_path")
    }

    /// One active responder with its buildings.
    pub async fn responder(&self, id: i64) -> Result<Responder> {
        let r = sqlx::query("SELECT grid_code FROM grid_responders WHERE id = $1 AND active = 1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        let grid: String = col(&r, "grid_code")?;
        self.responders_in_grid(&grid).await?.into_iter().find(|x| x.id == id).ok_or(StoreError::NotFound)
    }
}
