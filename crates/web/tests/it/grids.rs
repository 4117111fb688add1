//! Grids and base data (capability H) over HTTP on every backend: demo base data in the
//! fixture grids, the vulnerable list in check order, a check round recorded by the grid worker
//! and seen by the community worker (also live), jurisdiction scoping, masking and audited
//! unmasking, household creation with offline geocoding, refused bad input (outside every grid,
//! overlapping grids, self-intersecting and swapped GeoJSON), and boundary export.

use crate::{apps, TestApp};
use serde_json::{json, Value};
use tongxin_domain::division::{self, DivisionRow};
use tongxin_domain::fake::Faker;

/// Adds generated base data (boundaries, buildings, households, vulnerable residents) to the
/// fixture's grids on the demo street and to two new grids in a Wuzhong community.
async fn seed_base(t: &TestApp) -> (String, String) {
    let app = &t.app;
    let street = app.store.division(tongxin_app::seed::DEMO_STREET).await.unwrap();
    let communities = app.store.division_children(&street.code).await.unwrap();
    let mut grids: Vec<DivisionRow> = tongxin_app::divisions::grid_rows(&communities[0].code, 2);
    let mut paths: Vec<String> = grids.iter().map(|g| division::child_path(&communities[0].path, &g.code)).collect();
    let wz_street = app.store.division("320506001000").await.unwrap();
    let wz_comm = app.store.division_children(&wz_street.code).await.unwrap().remove(0);
    let wz_grids = tongxin_app::divisions::grid_rows(&wz_comm.code, 2);
    let wz_paths: Vec<String> = wz_grids.iter().map(|g| division::child_path(&wz_comm.path, &g.code)).collect();
    let mut tx = app.store.begin().await.unwrap();
    tongxin_store::divisions::insert_rows(&mut tx, &wz_grids, &wz_paths).await.unwrap();
    grids.extend(wz_grids.clone());
    paths.extend(wz_paths);
    let names = |_: &str| "平江街道".to_string();
    let mut f = Faker::new(11);
    let rep = app.seed_base_data(&mut tx, &mut f, &grids, &paths, 30, &names, false).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rep.boundaries, 4);
    assert_eq!(rep.households, 2 * tongxin_app::grids::seed::DEMO_STREET_HOUSEHOLDS + 2 * 30);
    assert!(rep.vulnerable > 0);
    app.seed_grids().await.unwrap();
    (grids[0].code.clone(), wz_grids[0].code.clone())
}

async fn get(c: &reqwest::Client, t: &TestApp, path: &str) -> (u16, Value) {
    let r = c.get(t.url(path)).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(c: &reqwest::Client, t: &TestApp, csrf: &str, path: &str, body: Value) -> (u16, Value) {
    let r = c.post(t.url(path)).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn check_round_end_to_end_with_scoping_and_masking() {
    for t in apps().await {
        let (grid, wz_grid) = seed_base(&t).await;
        let (wg, wg_csrf) = t.login("wangge").await;
        let (sq, sq_csrf) = t.login("shequ").await;
        let (mz, _) = t.login("minzheng").await;

        // The grid worker's vulnerable list, in check order, masked.
        let (s, v) = get(&wg, &t, &format!("/api/v1/grids/{grid}/vulnerable")).await;
        assert_eq!(s, 200, "{v}");
        let items = v["items"].as_array().unwrap().clone();
        assert!(!items.is_empty());
        let tiers: Vec<i64> = items.iter().map(|i| i["tier"].as_i64().unwrap()).collect();
        assert!(tiers.windows(2).all(|w| w[0] <= w[1]), "check order by tier: {tiers:?}");
        assert!(items.iter().all(|i| i["name"].as_str().unwrap().contains('*')), "names masked");
        assert!(items.iter().all(|i| i["phone"].as_str().unwrap().contains("****")), "phones masked");

        // Grid detail: generated boundary, buildings, the demo responders.
        let (s, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        assert_eq!(s, 200);
        assert_eq!(d["boundary"]["synthetic"], true);
        assert!(!d["buildings"].as_array().unwrap().is_empty());

        // Jurisdiction: Gusu accounts cannot read a Wuzhong grid, household or person by id.
        let (s, _) = get(&mz, &t, &format!("/api/v1/grids/{wz_grid}")).await;
        assert_eq!(s, 404);
        let (s, _) = get(&sq, &t, &format!("/api/v1/grids/{wz_grid}/vulnerable")).await;
        assert_eq!(s, 404);
        let (cmd, _) = t.login("commander").await;
        let (s, wz) = get(&cmd, &t, &format!("/api/v1/grids/{wz_grid}/vulnerable")).await;
        assert_eq!(s, 200);
        let wz_person = wz["items"][0]["id"].as_i64().unwrap();
        let wz_household = wz["items"][0]["household_id"].as_i64().unwrap();
        assert_eq!(get(&sq, &t, &format!("/api/v1/vulnerable/{wz_person}")).await.0, 404);
        assert_eq!(get(&sq, &t, &format!("/api/v1/households/{wz_household}")).await.0, 404);
        // Residents and volunteers see no base data at all.
        let (jm, _) = t.login("jumin").await;
        assert_eq!(get(&jm, &t, "/api/v1/grids").await.0, 403);

        // Start a round (community worker), a second one is refused.
        let (s, r) =
            post(&sq, &t, &sq_csrf, &format!("/api/v1/grids/{grid}/rounds"), json!({"title": "台风入户走访"})).await;
        assert_eq!(s, 201, "{r}");
        let round = r["id"].as_i64().unwrap();
        let (s, _) = post(&wg, &t, &wg_csrf, &format!("/api/v1/grids/{grid}/rounds"), json!({})).await;
        assert_eq!(s, 409);
        // Cannot start a round on a Wuzhong grid.
        let (s, _) = post(&sq, &t, &sq_csrf, &format!("/api/v1/grids/{wz_grid}/rounds"), json!({})).await;
        assert_eq!(s, 404);

        // The community worker watches live.
        let mut es = sq.get(t.url("/events?topics=grids")).send().await.unwrap();
        assert_eq!(es.status(), 200);

        // The grid worker records visits.
        let p0 = items[0]["id"].as_i64().unwrap();
        let p1 = items[1.min(items.len() - 1)]["id"].as_i64().unwrap();
        let rec = format!("/api/v1/check-rounds/{round}/checks");
        let (s, p) = post(&wg, &t, &wg_csrf, &rec, json!({"person_id": p0, "status": "checked"})).await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(p["checked"], 1);
        let (s, p) =
            post(&wg, &t, &wg_csrf, &rec, json!({"person_id": p1, "status": "needs_help", "note": "需要送药"})).await;
        assert_eq!(s, 200);
        if p0 != p1 {
            assert_eq!((p["checked"].as_i64(), p["needs_help"].as_i64()), (Some(1), Some(1)));
        }
        // Bad status and a person from another grid are refused; nothing recorded.
        let (s, e) = post(&wg, &t, &wg_csrf, &rec, json!({"person_id": p0, "status": "pending"})).await;
        assert_eq!(s, 422, "{e}");
        let (s, _) = post(&wg, &t, &wg_csrf, &rec, json!({"person_id": wz_person, "status": "checked"})).await;
        assert_eq!(s, 404);

        // The community worker sees the progress over SSE and in the round view.
        let mut seen = String::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !seen.contains("needs_help") && std::time::Instant::now() < deadline {
            if let Ok(Ok(Some(chunk))) = tokio::time::timeout(std::time::Duration::from_secs(3), es.chunk()).await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        assert!(seen.contains("event: grids.check_recorded"), "{seen}");
        assert!(seen.contains(&format!("\\\"round_id\\\":{round}")), "{seen}");
        let (s, rv) = get(&sq, &t, &format!("/api/v1/check-rounds/{round}")).await;
        assert_eq!(s, 200);
        let done = rv["progress"]["checked"].as_i64().unwrap() + rv["progress"]["needs_help"].as_i64().unwrap();
        assert_eq!(done, if p0 == p1 { 1 } else { 2 });
        // needs_help notified the community worker.
        let (s, n) = get(&sq, &t, "/api/v1/notifications").await;
        assert_eq!(s, 200);
        assert!(n.to_string().contains("grids.needs_help"), "{n}");

        // The round page renders on a phone for the grid worker.
        let html = wg.get(t.url(&format!("/grids/rounds/{round}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("data-live-round") && html.contains("needs_help"), "round page");

        // Close; then recording is refused.
        let r = sq.post(t.url(&format!("/api/v1/check-rounds/{round}/close"))).header("x-csrf-token", &sq_csrf);
        assert_eq!(r.send().await.unwrap().status(), 204);
        let (s, _) = post(&wg, &t, &wg_csrf, &rec, json!({"person_id": p0, "status": "checked"})).await;
        assert_eq!(s, 409);

        // Unmasking is a permission and audited.
        let (s, full) = get(&sq, &t, &format!("/api/v1/vulnerable/{p0}?unmask=true")).await;
        assert_eq!(s, 200);
        assert!(!full["name"].as_str().unwrap().contains('*'));
        let audit = t.app.store.audit_recent("", 50).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "pii.unmask" && a.object_type == "vulnerable_person"));
        assert!(audit.iter().any(|a| a.action == "grids.round.record"));
        t.stop().await;
    }
}

#[tokio::test]
async fn households_geocode_and_refuse_bad_locations() {
    for t in apps().await {
        let (grid, wz_grid) = seed_base(&t).await;
        let (sq, csrf) = t.login("shequ").await;
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        let b = &d["buildings"][0];
        let addr = format!("{}901室", b["address"].as_str().unwrap());

        // No coordinates: matched to the known building, placed in its grid.
        let (s, r) = post(
            &sq,
            &t,
            &csrf,
            "/api/v1/households",
            json!({"address": addr, "members": 2, "contact_phone": "13912345678", "head_name": "王小明"}),
        )
        .await;
        assert_eq!(s, 201, "{r}");
        let id = r["id"].as_i64().unwrap();
        let (_, h) = get(&sq, &t, &format!("/api/v1/households/{id}")).await;
        assert_eq!(h["grid_code"], grid.as_str());
        assert_eq!(h["building_id"], b["id"]);
        assert_eq!(h["phone"], "139****5678");
        assert_eq!(h["head"], "王*明");

        // Unknown address without coordinates; a point outside every grid; swapped lon/lat.
        let (s, e) = post(&sq, &t, &csrf, "/api/v1/households", json!({"address": "不存在路1号", "members": 2})).await;
        assert_eq!(s, 422);
        assert!(e.to_string().contains("geocode.no_match"), "{e}");
        let (s, e) = post(
            &sq,
            &t,
            &csrf,
            "/api/v1/households",
            json!({"address": "某路1号", "members": 2, "lon": 121.9, "lat": 31.9}),
        )
        .await;
        assert_eq!(s, 422);
        assert!(e.to_string().contains("grid.none"), "{e}");
        let (s, e) = post(
            &sq,
            &t,
            &csrf,
            "/api/v1/households",
            json!({"address": "某路1号", "members": 2, "lon": 31.3, "lat": 120.6}),
        )
        .await;
        assert_eq!(s, 422);
        assert!(e.to_string().contains("coords.swapped"), "{e}");
        // A Wuzhong grid is out of scope.
        let (s, _) =
            post(&sq, &t, &csrf, "/api/v1/households", json!({"address": addr, "members": 1, "grid_code": wz_grid}))
                .await;
        assert_eq!(s, 422);

        // Import: one bad row → nothing saved, every bad row reported.
        let before = t.app.store.count_rows("households").await.unwrap();
        let csv = format!(
            "地址,家庭人数,户主,联系电话,重点人群类别,特殊需求\n{addr}1,3,李四,13800001111,卧床,吸氧\n未知路9号,2,赵六,,,\n{addr}2,0,钱七,123,飞人,\n"
        );
        let r = sq.post(t.url("/api/v1/households/import")).header("x-csrf-token", &csrf).body(csv.clone());
        let rep: Value = r.send().await.unwrap().json().await.unwrap();
        assert_eq!(rep["saved"], false, "{rep}");
        let rows: Vec<i64> = rep["errors"].as_array().unwrap().iter().map(|e| e["row"].as_i64().unwrap()).collect();
        assert!(rows.contains(&3) && rows.contains(&4) && !rows.contains(&2), "{rep}");
        assert_eq!(t.app.store.count_rows("households").await.unwrap(), before);
        // The good row alone imports, with its bedridden member at the top of the list.
        let good = format!("地址,家庭人数,户主,联系电话,重点人群类别,特殊需求\n{addr}1,3,李四,13800001111,卧床,吸氧\n");
        let r = sq.post(t.url("/api/v1/households/import")).header("x-csrf-token", &csrf).body(good);
        let rep: Value = r.send().await.unwrap().json().await.unwrap();
        assert_eq!(rep["saved"], true, "{rep}");
        assert_eq!(t.app.store.count_rows("households").await.unwrap(), before + 1);
        let (_, v) = get(&sq, &t, &format!("/api/v1/grids/{grid}/vulnerable")).await;
        assert_eq!(v["items"][0]["tier"], 0);
        t.stop().await;
    }
}

#[tokio::test]
async fn boundary_import_validates_and_exports() {
    for t in apps().await {
        let (grid, _) = seed_base(&t).await;
        let (sq, csrf) = t.login("shequ").await;
        let imp = |q: &str, body: String| {
            sq.post(t.url(&format!("/api/v1/boundaries/import{q}"))).header("x-csrf-token", &csrf).body(body)
        };
        let fc = |code: &str, ring: Value| {
            json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": code},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}]})
            .to_string()
        };
        // Self-intersecting ring (bow tie).
        let bow = json!([[120.62, 31.31], [120.63, 31.32], [120.63, 31.31], [120.62, 31.32], [120.62, 31.31]]);
        let rep: Value = imp("", fc(&grid, bow)).send().await.unwrap().json().await.unwrap();
        assert_eq!(rep["saved"], false);
        assert!(rep["errors"].to_string().contains("自相交"), "{rep}");
        // Swapped longitude and latitude.
        let swapped = json!([[31.31, 120.62], [31.31, 120.63], [31.32, 120.63], [31.32, 120.62], [31.31, 120.62]]);
        let rep: Value = imp("", fc(&grid, swapped)).send().await.unwrap().json().await.unwrap();
        assert_eq!(rep["saved"], false);
        assert!(rep["errors"].to_string().contains("coords.swapped"), "{rep}");
        // A grid overlapping its sibling's stored boundary.
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        let sib = format!("{}002", &grid[..12]);
        let geo: Value = serde_json::from_str(d["boundary"]["geometry"].as_str().unwrap()).unwrap();
        let sib_fc = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": sib}, "geometry": geo}]});
        let rep: Value = imp("", sib_fc.to_string()).send().await.unwrap().json().await.unwrap();
        assert_eq!(rep["saved"], false);
        assert!(rep["errors"].to_string().contains("grid.overlap"), "{rep}");
        // A good GCJ-02 boundary for the street: preview, then save.
        let street = json!([[120.62, 31.30], [120.64, 31.30], [120.64, 31.33], [120.62, 31.33], [120.62, 31.30]]);
        let rep: Value = imp("?datum=gcj02&dry_run=true", fc("320508018", street.clone()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!((rep["saved"].as_bool(), rep["errors"].as_array().unwrap().len()), (Some(false), 0), "{rep}");
        let x = rep["items"][0]["bbox"][0].as_f64().unwrap();
        assert!(x < 120.62 && x > 120.61, "GCJ-02 converted to WGS-84: {x}");
        assert!(t.app.store.boundary("320508018000").await.unwrap().is_none(), "dry run saves nothing");
        let rep: Value = imp("?datum=gcj02", fc("320508018", street)).send().await.unwrap().json().await.unwrap();
        assert_eq!(rep["saved"], true, "{rep}");
        // Out of jurisdiction.
        let wz = json!([[120.60, 31.25], [120.61, 31.25], [120.61, 31.26], [120.60, 31.25]]);
        let rep = imp("", fc("320506000000", wz)).send().await.unwrap();
        let rep: Value = rep.json().await.unwrap();
        assert!(rep["errors"].to_string().contains("code.unknown"), "{rep}");
        // Export as GeoJSON.
        let r = sq.get(t.url("/api/v1/boundaries/export?within=320508018000")).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/geo+json");
        let ex: Value = r.json().await.unwrap();
        let codes: Vec<&str> =
            ex["features"].as_array().unwrap().iter().map(|f| f["properties"]["code"].as_str().unwrap()).collect();
        assert!(codes.contains(&"320508018000") && codes.contains(&grid.as_str()), "{codes:?}");
        t.stop().await;
    }
}

#[tokio::test]
async fn grid_pages_render() {
    for t in apps().await {
        let (grid, _) = seed_base(&t).await;
        let (wg, _) = t.login("wangge").await;
        // The grid worker lands on their own grid.
        let r = wg.get(t.url("/grids")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let html = wg.get(t.url(&format!("/grids/{grid}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"vulnerable\"") && html.contains("synthetic-note") && html.contains("start-round"));
        let (sq, _) = t.login("shequ").await;
        let html = sq.get(t.url("/grids")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&grid) && html.contains("open-rounds"));
        let html = sq.get(t.url("/grids/boundaries")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("boundary-form"));
        t.stop().await;
    }
}

async fn send(c: &reqwest::Client, t: &TestApp, csrf: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = c.request(m, t.url(path)).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn buildings_and_responders_are_edited_and_removed_within_scope_and_audited() {
    for t in apps().await {
        let (grid, wz_grid) = seed_base(&t).await;
        let (sq, sq_csrf) = t.login("shequ").await;
        let (mz, mz_csrf) = t.login("minzheng").await;
        let (cmd, _) = t.login("commander").await;
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        let b0 = d["buildings"][0].clone();
        let bid = b0["id"].as_i64().unwrap();
        let (lon, lat) = (b0["lon"].as_f64().unwrap(), b0["lat"].as_f64().unwrap());

        // Edit a building: saved and shown.
        let body = json!({ "name": "甲幢", "address": "姑苏区平江路1号甲幢", "floors": 7, "kind": "mixed",
                           "lon": lon, "lat": lat, "route_seq": 9 });
        let (s, v) = send(&sq, &t, &sq_csrf, "PUT", &format!("/api/v1/buildings/{bid}"), body.clone()).await;
        assert_eq!(s, 204, "{v}");
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        let b = d["buildings"].as_array().unwrap().iter().find(|b| b["id"] == bid).unwrap().clone();
        assert_eq!(
            (b["name"].as_str(), b["floors"].as_i64(), b["kind"].as_str()),
            (Some("甲幢"), Some(7), Some("mixed"))
        );

        // Bad input names the field and saves nothing: outside the grid, swapped, unknown kind.
        let mut outside = body.clone();
        outside["lon"] = json!(lon + 0.5);
        let (s, v) = send(&sq, &t, &sq_csrf, "PUT", &format!("/api/v1/buildings/{bid}"), outside).await;
        assert_eq!(s, 422, "{v}");
        assert!(v.to_string().contains("grid.outside") && v.to_string().contains("不在楼栋所在网格的边界内"), "{v}");
        let mut bad = body.clone();
        bad["lon"] = json!(lat);
        bad["lat"] = json!(lon);
        bad["kind"] = json!("castle");
        bad["name"] = json!("");
        let (s, v) = send(&sq, &t, &sq_csrf, "PUT", &format!("/api/v1/buildings/{bid}"), bad).await;
        assert_eq!(s, 422, "{v}");
        for rule in ["coords.range", "unknown", "required"] {
            assert!(v.to_string().contains(rule), "{rule}: {v}");
        }
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        let b = d["buildings"].as_array().unwrap().iter().find(|b| b["id"] == bid).unwrap().clone();
        assert_eq!(b["name"], "甲幢");
        assert_eq!(b["lon"].as_f64(), Some(lon));

        // A building with households cannot be deleted; an empty one can.
        let (s, v) = send(&sq, &t, &sq_csrf, "DELETE", &format!("/api/v1/buildings/{bid}"), json!({})).await;
        assert_eq!(s, 409, "{v}");
        assert!(v.to_string().contains("住户"), "{v}");
        let empty_id = {
            let g = t.app.store.division(&grid).await.unwrap();
            let mut tx = t.app.store.begin().await.unwrap();
            let id = tongxin_store::grids::next_id(&mut tx, "buildings").await.unwrap();
            let e = tongxin_store::grids::Building {
                id,
                grid_code: grid.clone(),
                division_path: g.path,
                name: "空楼".into(),
                address: "空楼地址".into(),
                lon,
                lat,
                floors: 2,
                kind: "public".into(),
                route_seq: 99,
            };
            tongxin_store::grids::insert_buildings(&mut tx, &[e], 0).await.unwrap();
            tx.commit().await.unwrap();
            id
        };
        let (s, v) = send(&sq, &t, &sq_csrf, "DELETE", &format!("/api/v1/buildings/{empty_id}"), json!({})).await;
        assert_eq!(s, 204, "{v}");
        let (s, _) = send(&sq, &t, &sq_csrf, "DELETE", &format!("/api/v1/buildings/{empty_id}"), json!({})).await;
        assert_eq!(s, 404);

        // Responders: edit kind, name, phone, zone and buildings; the phone is shown masked.
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        let responders = d["responders"].as_array().unwrap().clone();
        assert_eq!(responders.len(), 3, "{d}");
        let rid = responders.iter().find(|r| r["kind"] == "party_member").unwrap()["id"].as_i64().unwrap();
        let body = json!({ "kind": "building_head", "name": "陈国强", "phone": "13912345678",
                           "zone": "甲幢", "buildings": [bid] });
        let (s, v) = send(&sq, &t, &sq_csrf, "PUT", &format!("/api/v1/responders/{rid}"), body.clone()).await;
        assert_eq!(s, 204, "{v}");
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        let r = d["responders"].as_array().unwrap().iter().find(|r| r["id"] == rid).unwrap().clone();
        assert_eq!(r["kind"], "building_head");
        assert_eq!(r["phone"], "139****5678");
        assert_eq!(r["buildings"], json!(["甲幢"]));
        assert!(!r["name"].as_str().unwrap().contains("国强"), "name masked: {r}");

        // A building of another grid, an unknown kind or a bad phone: refused, nothing changed.
        let (_, wz) = get(&cmd, &t, &format!("/api/v1/grids/{wz_grid}")).await;
        let wz_bid = wz["buildings"][0]["id"].as_i64().unwrap();
        let mut bad = body.clone();
        bad["buildings"] = json!([wz_bid]);
        bad["phone"] = json!("12345");
        let (s, v) = send(&sq, &t, &sq_csrf, "PUT", &format!("/api/v1/responders/{rid}"), bad).await;
        assert_eq!(s, 422, "{v}");
        assert!(v.to_string().contains("building.grid") && v.to_string().contains("phone"), "{v}");

        // Out of jurisdiction: a Gusu officer cannot touch a Wuzhong building (404, not 403).
        let wz_body = json!({ "name": "x", "address": "x", "floors": 3, "kind": "residential",
                              "lon": wz["buildings"][0]["lon"], "lat": wz["buildings"][0]["lat"] });
        let (s, _) = send(&mz, &t, &mz_csrf, "PUT", &format!("/api/v1/buildings/{wz_bid}"), wz_body).await;
        assert_eq!(s, 404);
        let (s, _) = send(&mz, &t, &mz_csrf, "DELETE", &format!("/api/v1/buildings/{wz_bid}"), json!({})).await;
        assert_eq!(s, 404);
        // A resident may not edit base data at all.
        let (jm, jm_csrf) = t.login("jumin").await;
        let (s, _) = send(&jm, &t, &jm_csrf, "DELETE", &format!("/api/v1/responders/{rid}"), json!({})).await;
        assert_eq!(s, 403);

        // Remove the responder: gone from the grid; removing it again changes nothing (DELETE is idempotent).
        let (s, v) = send(&sq, &t, &sq_csrf, "DELETE", &format!("/api/v1/responders/{rid}"), json!({})).await;
        assert_eq!(s, 204, "{v}");
        let (_, d) = get(&sq, &t, &format!("/api/v1/grids/{grid}")).await;
        assert!(d["responders"].as_array().unwrap().iter().all(|r| r["id"] != rid));
        let (s, _) = send(&sq, &t, &sq_csrf, "DELETE", &format!("/api/v1/responders/{rid}"), json!({})).await;
        assert_eq!(s, 204);
        assert_eq!(t.app.store.audit_recent("grids.responder.delete", 10).await.unwrap().len(), 1, "audited once");

        let audit = t.app.store.audit_recent("", 50).await.unwrap();
        for action in
            ["grids.building.update", "grids.building.delete", "grids.responder.update", "grids.responder.delete"]
        {
            assert!(audit.iter().any(|a| a.action == action && a.username == "shequ"), "{action} audited");
        }
        assert!(audit.iter().all(|a| !a.summary.contains("13912345678")), "no phone in the audit");
    }
}
