//! The incident map's configuration reaches the page: without tiles the map draws the district
//! outlines only (nothing fetched from outside, the CSP allows no other image host); with a
//! basemap the tile host is allowed by the CSP and the page is told the basemap's datum.

use super::TestApp;
use tongxin_store::testkit::TestDb;
use tongxin_web::WebConfig;

#[tokio::test]
async fn the_map_draws_districts_offline_and_a_configured_basemap_is_allowed_by_the_csp() {
    for db in TestDb::all().await {
        let t = TestApp::start(db).await;
        let (c, _) = t.login("commander").await;
        let r = c.get(t.url("/incidents")).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("img-src 'self' data: blob:;"), "{csp}");
        let html = r.text().await.unwrap();
        assert!(html.contains(r#"data-districts="/static/geo/suzhou-districts.json""#));
        assert!(html.contains(r#"data-tiles="""#), "no basemap by default");
        let geo = c.get(t.url("/static/geo/suzhou-districts.json")).send().await.unwrap();
        assert_eq!(geo.status(), 200, "the outlines are served by this server");
        t.stop().await;
    }
    for db in TestDb::all().await {
        let cfg = WebConfig {
            map_tiles: "https://{s}.tile.example.cn/{z}/{x}/{y}.png".into(),
            map_crs: "gcj02".into(),
            map_attribution: "© 示例地图".into(),
            ..Default::default()
        };
        let t = TestApp::start_with(db, cfg).await;
        let (c, _) = t.login("wangge").await;
        let r = c.get(t.url("/incidents")).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("img-src 'self' data: blob: https://*.tile.example.cn;"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "scripts still only from this server: {csp}");
        let html = r.text().await.unwrap();
        assert!(html.contains(r#"data-tiles="https://{s}.tile.example.cn/{z}/{x}/{y}.png""#));
        assert!(html.contains(r#"data-crs="gcj02""#));
        assert!(html.contains("© 示例地图"));
        t.stop().await;
    }
}
