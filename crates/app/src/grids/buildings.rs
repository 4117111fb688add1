//! Editing and removing buildings and local responders (grid workers, party members, building
//! heads 楼长). Same rules as households: write roles within the jurisdiction, anything outside
//! it answers 404, bad input names the field in both languages, and every change is audited in
//! its own transaction.

use super::{require, TOPIC, WRITE_ROLES};
use crate::{audit, App, AppError, AppResult, RequestCtx};
use serde_json::json;
use tongxin_domain::codes::Phone;
use tongxin_domain::grids::{contains, BuildingKind, ResponderKind};
use tongxin_domain::validation::FieldError;
use tongxin_domain::{Actor, Text};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::grids::{self as st, Building, Responder};
use tongxin_store::{now_ms, StoreError, Tx};

/// A building's editable fields.
#[derive(Debug, Clone, Default)]
pub struct BuildingForm {
    /// Short name (`3幢`).
    pub name: String,
    /// Full address.
    pub address: String,
    /// Floors above ground, 1–200.
    pub floors: i64,
    /// Kind key or Chinese label.
    pub kind: String,
    /// WGS-84 longitude (inside the grid's boundary when it has one).
    pub lon: f64,
    /// WGS-84 latitude.
    pub lat: f64,
    /// Position on the door-to-door route (unchanged when `None`).
    pub route_seq: Option<i64>,
}

/// A responder's editable fields.
#[derive(Debug, Clone, Default)]
pub struct ResponderForm {
    /// `grid_worker`, `party_member`, `building_head` (or Chinese label).
    pub kind: String,
    /// New name; empty keeps the stored one (forms show names masked).
    pub name: String,
    /// New phone; empty keeps the stored one.
    pub phone: String,
    /// Responsibility zone.
    pub zone: String,
    /// Buildings covered (all in the responder's grid).
    pub buildings: Vec<i64>,
}

fn fe(field: &str, rule: &str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
    FieldError::new(field, rule, zh, en)
}

fn text_len(v: &mut Vec<FieldError>, field: &str, value: &str, max: usize, zh: &str, en: &str) {
    let n = value.trim().chars().count();
    if n == 0 {
        v.push(fe(field, "required", format!("{zh}不能为空"), format!("{en} is required")));
    } else if n > max {
        v.push(fe(field, "too_long", format!("{zh}最多 {max} 个字符"), format!("{en}: at most {max} characters")));
    }
}

impl App {
    /// A building within the actor's jurisdiction (404 otherwise).
    async fn building_in_scope(&self, actor: &Actor, id: i64) -> AppResult<Building> {
        match self.store.building(id).await {
            Ok(b) if actor.covers(&b.division_path) => Ok(b),
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Edits a building. Its location must stay inside its grid's boundary.
    pub async fn update_building(&self, actor: &Actor, ctx: &RequestCtx, id: i64, f: &BuildingForm) -> AppResult<()> {
        require(actor, &WRITE_ROLES)?;
        let old = self.building_in_scope(actor, id).await?;
        let mut errs = Vec::new();
        text_len(&mut errs, "name", &f.name, 50, "楼栋名称", "building name");
        text_len(&mut errs, "address", &f.address, 200, "地址", "address");
        if !(1..=200).contains(&f.floors) {
            errs.push(fe("floors", "range", "层数须在 1 到 200 之间", "floors must be between 1 and 200"));
        }
        let kind = BuildingKind::parse(f.kind.trim());
        if kind.is_none() {
            errs.push(fe(
                "kind",
                "unknown",
                "类型须为 residential（住宅）、mixed（商住）、house（平房）或 public（公共建筑）",
                "kind must be residential, mixed, house or public",
            ));
        }
        let in_range = (-180.0..=180.0).contains(&f.lon) && (-90.0..=90.0).contains(&f.lat);
        if !in_range {
            let swapped = (-180.0..=180.0).contains(&f.lat) && (-90.0..=90.0).contains(&f.lon);
            errs.push(fe(
                "lon",
                "coords.range",
                if swapped { "经纬度超出范围，可能颠倒了" } else { "经纬度超出范围" },
                if swapped {
                    "coordinates out of range; longitude and latitude may be swapped"
                } else {
                    "coordinates out of range"
                },
            ));
        } else if let Some(b) = self.store.boundary(&old.grid_code).await? {
            let inside = super::boundaries::parse_geometry(&b.geometry).is_some_and(|mp| contains(&mp, f.lon, f.lat));
            if !inside {
                errs.push(fe(
                    "lon",
                    "grid.outside",
                    format!("位置 ({}, {}) 不在楼栋所在网格的边界内", f.lon, f.lat),
                    format!("the location ({}, {}) is outside the boundary of the building's grid", f.lon, f.lat),
                ));
            }
        }
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let new = Building {
            name: f.name.trim().to_string(),
            address: f.address.trim().to_string(),
            lon: (f.lon * 1e6).round() / 1e6,
            lat: (f.lat * 1e6).round() / 1e6,
            floors: f.floors,
            kind: kind.map(|k| k.key().to_string()).unwrap_or_default(),
            route_seq: f.route_seq.unwrap_or(old.route_seq),
            ..old.clone()
        };
        let mut tx = self.store.begin().await?;
        st::update_building(&mut tx, &new, now_ms()).await?;
        let changes = json!({
            "grid": old.grid_code,
            "before": { "name": old.name, "address": old.address, "lon": old.lon, "lat": old.lat,
                        "floors": old.floors, "kind": old.kind, "route_seq": old.route_seq },
            "after": { "name": new.name, "address": new.address, "lon": new.lon, "lat": new.lat,
                       "floors": new.floors, "kind": new.kind, "route_seq": new.route_seq },
        });
        self.finish_change(tx, actor, ctx, "grids.building.update", "building", id, changes, &old.division_path).await
    }

    /// Deletes a building that no household is registered in.
    pub async fn delete_building(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<()> {
        require(actor, &WRITE_ROLES)?;
        let old = self.building_in_scope(actor, id).await?;
        let mut tx = self.store.begin().await?;
        let n = st::households_in_building(&mut tx, id).await?;
        if n > 0 {
            return Err(AppError::Conflict(Text::new(
                format!("{}仍登记有 {n} 户住户，请先将住户迁到其他楼栋或删除后再删除楼栋", old.name),
                format!("{n} households are still registered in {}; move or remove them before deleting it", old.name),
            )));
        }
        st::delete_building(&mut tx, id).await?;
        let changes = json!({ "grid": old.grid_code, "name": old.name, "address": old.address });
        self.finish_change(tx, actor, ctx, "grids.building.delete", "building", id, changes, &old.division_path).await
    }

    /// A responder within the actor's jurisdiction (404 otherwise).
    async fn responder_in_scope(&self, actor: &Actor, id: i64) -> AppResult<Responder> {
        match self.store.responder(id).await {
            Ok(r) if actor.covers(&r.division_path) => Ok(r),
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Edits a local responder: kind, name, phone (kept when empty), zone, buildings covered.
    pub async fn update_responder(&self, actor: &Actor, ctx: &RequestCtx, id: i64, f: &ResponderForm) -> AppResult<()> {
        require(actor, &WRITE_ROLES)?;
        let old = self.responder_in_scope(actor, id).await?;
        let mut errs = Vec::new();
        let kind = ResponderKind::parse(f.kind.trim());
        if kind.is_none() {
            errs.push(fe(
                "kind",
                "unknown",
                "类型须为 grid_worker（网格员）、party_member（党员）或 building_head（楼长）",
                "kind must be grid_worker, party_member or building_head",
            ));
        }
        if !f.name.trim().is_empty() {
            text_len(&mut errs, "name", &f.name, 50, "姓名", "name");
        }
        if f.zone.trim().chars().count() > 200 {
            errs.push(fe("zone", "too_long", "责任区最多 200 个字符", "zone: at most 200 characters"));
        }
        let phone_enc = if f.phone.trim().is_empty() {
            old.phone_enc.clone()
        } else {
            match Phone::parse(&f.phone) {
                Ok(p) => self.crypto.encrypt(p.as_str()),
                Err(e) => {
                    errs.push(fe("phone", e.rule(), e.message_zh(), e.message_en()));
                    String::new()
                }
            }
        };
        let grid_buildings: std::collections::HashSet<i64> =
            self.store.buildings_in_grid(&old.grid_code).await?.iter().map(|b| b.id).collect();
        let mut buildings = f.buildings.clone();
        buildings.sort_unstable();
        buildings.dedup();
        if let Some(b) = buildings.iter().find(|b| !grid_buildings.contains(b)) {
            errs.push(fe(
                "buildings",
                "building.grid",
                format!("楼栋 {b} 不在该责任人所在的网格内"),
                format!("building {b} is not in the responder's grid"),
            ));
        }
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let new = Responder {
            kind: kind.map(|k| k.key().to_string()).unwrap_or_default(),
            name: if f.name.trim().is_empty() { old.name.clone() } else { f.name.trim().to_string() },
            phone_enc,
            zone: f.zone.trim().to_string(),
            buildings,
            ..old.clone()
        };
        let mut tx = self.store.begin().await?;
        st::update_responder(&mut tx, &new).await?;
        // Names and phones are personal data: the audit says what changed, not the values.
        let changes = json!({
            "grid": old.grid_code,
            "kind": [old.kind, new.kind],
            "name_changed": old.name != new.name,
            "phone_changed": !f.phone.trim().is_empty(),
            "zone": [old.zone, new.zone],
            "buildings": [old.buildings, new.buildings],
        });
        self.finish_change(tx, actor, ctx, "grids.responder.update", "grid_responder", id, changes, &old.division_path)
            .await
    }

    /// Removes a local responder from its grid (kept inactive for the records that name it).
    pub async fn delete_responder(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<()> {
        require(actor, &WRITE_ROLES)?;
        let old = match self.responder_in_scope(actor, id).await {
            Ok(r) => r,
            // Already removed: removing it again changes nothing (as DELETE should), within scope.
            Err(AppError::NotFound) if self.store.responder_path_any(id).await.is_ok_and(|p| actor.covers(&p)) => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut tx = self.store.begin().await?;
        match st::deactivate_responder(&mut tx, id).await {
            Ok(()) => {}
            // Removed meanwhile by a concurrent request: the outcome is the same.
            Err(tongxin_store::StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let changes = json!({ "grid": old.grid_code, "kind": old.kind, "buildings": old.buildings });
        self.finish_change(tx, actor, ctx, "grids.responder.delete", "grid_responder", id, changes, &old.division_path)
            .await
    }

    /// Audits the change, tells the grid's live viewers, and commits.
    #[allow(clippy::too_many_arguments)]
    async fn finish_change(
        &self,
        mut tx: Tx,
        actor: &Actor,
        ctx: &RequestCtx,
        action: &str,
        entity: &str,
        id: i64,
        details: serde_json::Value,
        path: &str,
    ) -> AppResult<()> {
        let grid = details["grid"].clone();
        tongxin_store::audit::append(&mut tx, audit::entry(Some(actor), ctx, action, entity, id, details)).await?;
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: TOPIC.into(),
                kind: "base_data_changed".into(),
                division_path: path.to_string(),
                payload: json!({ "entity": entity, "id": id, "grid": grid }).to_string(),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await
    }
}
