//! Incident photos over HTTP on every backend (issue 7 item 1, issue 11 item 6): a valid PNG
//! and JPEG come back re-encoded with their EXIF/GPS gone and the pixels kept; an oversize file
//! is 413, an HTML page named `.jpg` is 422, a path-traversal file name is kept only as a
//! harmless display name; photos of another jurisdiction's incident are 404 for reading and
//! writing; a supervisor may look but not upload; uploads are audited; the report form takes
//! photos along; the demo incident has its drawn photo.

use super::{apps, TestApp};
use image::{DynamicImage, GenericImageView, RgbImage};
use serde_json::{json, Value};

/// A multipart body of `(field, file name, content type, bytes)` parts.
fn multipart(parts: &[(&str, Option<&str>, &str, &[u8])]) -> (String, Vec<u8>) {
    let mut b = Vec::new();
    for (name, file, ct, bytes) in parts {
        b.extend_from_slice(b"--PHOTOTEST\r\n");
        match file {
            Some(f) => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: {ct}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => b.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"--PHOTOTEST--\r\n");
    ("multipart/form-data; boundary=PHOTOTEST".to_string(), b)
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// A 64×48 picture with a recognisable pattern.
fn picture() -> RgbImage {
    RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, if (x / 8 + y / 8) % 2 == 0 { 200 } else { 30 }])
    })
}

const GPS_MARK: &[u8] = b"GPSLatitude=31.3172N;GPSLongitude=120.6335E";

/// The picture as PNG with an `eXIf` chunk (carrying GPS text) after IHDR.
fn png_with_exif() -> Vec<u8> {
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(picture()).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let mut exif = b"MM\0*\0\0\0\x08".to_vec();
    exif.extend_from_slice(GPS_MARK);
    let mut chunk = (exif.len() as u32).to_be_bytes().to_vec();
    let mut body = b"eXIf".to_vec();
    body.extend_from_slice(&exif);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    // Signature (8) + IHDR chunk (4 + 4 + 13 + 4).
    let at = 8 + 25;
    let mut out = png[..at].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[at..]);
    out
}

/// The picture as JPEG with an APP1 Exif segment (carrying GPS text) right after SOI.
fn jpeg_with_exif() -> Vec<u8> {
    let mut jpg = Vec::new();
    DynamicImage::ImageRgb8(picture()).write_to(&mut std::io::Cursor::new(&mut jpg), image::ImageFormat::Jpeg).unwrap();
    let mut payload = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
    payload.extend_from_slice(GPS_MARK);
    let mut out = jpg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpg[2..]);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn report(t: &TestApp, c: &reqwest::Client, csrf: &str, title: &str, division: &str, lon: f64, lat: f64) -> i64 {
    let r = c
        .post(t.url("/api/v1/incidents"))
        .header("x-csrf-token", csrf)
        .json(&json!({"title": title, "category": "natural", "subtype": "rainstorm", "severity": 4,
            "lon": lon, "lat": lat, "division_code": division}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn upload(
    t: &TestApp,
    c: &reqwest::Client,
    csrf: &str,
    id: i64,
    parts: &[(&str, Option<&str>, &str, &[u8])],
) -> (u16, String, Value) {
    let (ct, body) = multipart(parts);
    let r = c
        .post(t.url(&format!("/api/v1/incidents/{id}/photos")))
        .header("x-csrf-token", csrf)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (s, ct, r.json().await.unwrap_or(Value::Null))
}

async fn audit_count(t: &TestApp, action: &str) -> i64 {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = $1")
        .bind(action.to_string())
        .fetch_one(t.app.store.reader())
        .await
        .unwrap();
    tongxin_store::col::<i64>(&r, "n").unwrap()
}

#[tokio::test]
async fn photos_are_reencoded_without_exif_and_hostile_uploads_are_refused() {
    for t in apps().await {
        let (cmd, csrf) = t.login("commander").await;
        let id = report(&t, &cmd, &csrf, "积水照片", "320508018000", 120.6335, 31.3172).await;
        let png = png_with_exif();
        assert!(contains(&png, b"eXIf") && contains(&png, GPS_MARK));
        assert_eq!(image::load_from_memory(&png).unwrap().dimensions(), (64, 48), "the test PNG is valid");
        let jpg = jpeg_with_exif();
        assert!(image::load_from_memory(&jpg).is_ok(), "the test JPEG is valid");

        let (s, _, v) = upload(
            &t,
            &cmd,
            &csrf,
            id,
            &[
                ("photo", Some("../../etc/passwd.jpg"), "image/jpeg", &png),
                ("photo", Some("C:\\Users\\x\\现场<b>.jpeg"), "image/jpeg", &jpg),
            ],
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let items = v["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2, "{v}");
        // The name is display text: the last component, the real extension, no markup.
        assert_eq!(items[0]["name"], "passwd.png");
        assert_eq!(items[0]["mime"], "image/png");
        assert_eq!(items[1]["name"], "现场b.jpg");
        assert_eq!(items[1]["mime"], "image/jpeg");

        // The PNG: same pixels, no EXIF, served as a PNG that cannot be sniffed into anything else.
        let r = cmd.get(t.url(items[0]["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers().clone();
        assert_eq!(h["content-type"], "image/png");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let cd = h["content-disposition"].to_str().unwrap().to_string();
        assert!(cd.starts_with("inline; filename=\"incident-"), "{cd}");
        assert!(!cd.contains("..") && !cd.contains('/'), "{cd}");
        assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
        let bytes = r.bytes().await.unwrap();
        assert!(!contains(&bytes, b"eXIf") && !contains(&bytes, GPS_MARK), "EXIF kept");
        let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(back, picture(), "a PNG keeps its pixels exactly");
        // The JPEG: still a 64×48 JPEG, its APP1/Exif and GPS gone.
        let r = cmd.get(t.url(items[1]["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        let bytes = r.bytes().await.unwrap();
        assert!(!contains(&bytes, b"Exif") && !contains(&bytes, GPS_MARK), "EXIF kept in the JPEG");
        assert_eq!(image::load_from_memory(&bytes).unwrap().dimensions(), (64, 48));

        // Oversize: 413 before decoding, in the caller's language.
        let mut big = png.clone();
        big.resize(5 * 1024 * 1024 + 1, 0);
        let (s, ct, v) = upload(&t, &cmd, &csrf, id, &[("photo", Some("big.png"), "image/png", &big)]).await;
        assert_eq!(s, 413, "{v}");
        assert!(ct.starts_with("application/problem+json"), "{ct}");
        assert!(v["detail"].as_str().unwrap().contains("5 MB"), "{v}");
        // An HTML page called .jpg, and a truncated image: 422, field errors.
        let html = b"<html><body><script>alert(document.cookie)</script></body></html>";
        let (s, _, v) = upload(&t, &cmd, &csrf, id, &[("photo", Some("cat.jpg"), "image/jpeg", html)]).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["errors"][0]["rule"], "type", "{v}");
        let (s, _, v) =
            upload(&t, &cmd, &csrf, id, &[("photo", Some("half.png"), "image/png", &png[..png.len() / 2])]).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["errors"][0]["rule"], "decode", "{v}");
        // One bad file refuses the whole upload.
        let (s, _, _) = upload(
            &t,
            &cmd,
            &csrf,
            id,
            &[("photo", Some("ok.png"), "image/png", &png), ("photo", Some("bad.jpg"), "image/jpeg", html)],
        )
        .await;
        assert_eq!(s, 422);
        // Not multipart at all: 400 problem.
        let r = cmd
            .post(t.url(&format!("/api/v1/incidents/{id}/photos")))
            .header("x-csrf-token", &csrf)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);

        let r = cmd.get(t.url(&format!("/api/v1/incidents/{id}/photos"))).send().await.unwrap();
        let list: Value = r.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 2, "refused uploads store nothing: {list}");
        assert_eq!(audit_count(&t, "incident.photo_add").await, 1, "one audited upload");
        // A retried upload with the same Idempotency-Key answers the first response, stores once.
        let (ct, body) = multipart(&[("photo", Some("retry.png"), "image/png", &png)]);
        let mut answers = vec![];
        for _ in 0..2 {
            let r = cmd
                .post(t.url(&format!("/api/v1/incidents/{id}/photos")))
                .header("x-csrf-token", &csrf)
                .header("idempotency-key", "photo-retry-1")
                .header("content-type", ct.clone())
                .body(body.clone())
                .send()
                .await
                .unwrap();
            answers.push((r.status().as_u16(), r.text().await.unwrap()));
        }
        assert_eq!(answers[0].0, 201, "{answers:?}");
        assert_eq!(answers[0], answers[1], "the retry replays the first answer");
        assert_eq!(audit_count(&t, "incident.photo_add").await, 2, "stored once");
        // The timeline says so.
        let page = cmd.get(t.url(&format!("/incidents/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("上传了 2 张现场照片"), "timeline entry");
        assert!(page.contains(&format!("/api/v1/incidents/photos/{}", items[0]["id"])), "gallery");
        t.stop().await;
    }
}

#[tokio::test]
async fn photos_of_another_jurisdiction_are_not_found_and_supervisors_only_look() {
    for t in apps().await {
        let (cmd, csrf) = t.login("commander").await;
        let png = png_with_exif();
        // 吴中区 (outside minzheng's 姑苏区).
        let wz = report(&t, &cmd, &csrf, "吴中积水", "320506001000", 120.62, 31.26).await;
        let (s, _, v) = upload(&t, &cmd, &csrf, wz, &[("photo", Some("a.png"), "image/png", &png)]).await;
        assert_eq!(s, 201, "{v}");
        let photo = v["items"][0]["id"].as_i64().unwrap();
        let (mz, mcsrf) = t.login("minzheng").await;
        let r = mz.get(t.url(&format!("/api/v1/incidents/photos/{photo}"))).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let r = mz.get(t.url(&format!("/api/v1/incidents/{wz}/photos"))).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let (s, _, _) = upload(&t, &mz, &mcsrf, wz, &[("photo", Some("b.png"), "image/png", &png)]).await;
        assert_eq!(s, 404);
        // An unknown photo id is the same 404.
        let r = mz.get(t.url("/api/v1/incidents/photos/987654")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        // The supervisor (city-wide) sees the photo but may not add one.
        let (jd, jcsrf) = t.login("jiandu").await;
        let r = jd.get(t.url(&format!("/api/v1/incidents/photos/{photo}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (s, _, _) = upload(&t, &jd, &jcsrf, wz, &[("photo", Some("c.png"), "image/png", &png)]).await;
        assert_eq!(s, 403);
        // Anonymous: 401.
        let r = t.client().get(t.url(&format!("/api/v1/incidents/photos/{photo}"))).send().await.unwrap();
        assert_eq!(r.status(), 401);
        t.stop().await;
    }
}

#[tokio::test]
async fn the_report_form_takes_photos_and_refuses_a_fake_one_without_reporting() {
    for t in apps().await {
        let (wg, csrf) = t.login("wangge").await;
        let grid = t.app.store.user_by_username("wangge").await.unwrap().division_code.unwrap();
        let png = png_with_exif();
        let fields = |title: &'static str| {
            vec![
                ("_csrf", None, "", csrf.as_bytes().to_vec()),
                ("title", None, "", title.as_bytes().to_vec()),
                ("category", None, "", b"natural".to_vec()),
                ("subtype", None, "", b"rainstorm".to_vec()),
                ("severity", None, "", b"4".to_vec()),
                ("lon", None, "", b"120.6335".to_vec()),
                ("lat", None, "", b"31.3172".to_vec()),
                ("radius_m", None, "", b"0".to_vec()),
                ("division_code", None, "", grid.as_bytes().to_vec()),
                ("description", None, "", "路面积水".as_bytes().to_vec()),
            ]
        };
        let send = |parts: Vec<(&'static str, Option<&'static str>, &'static str, Vec<u8>)>| {
            let wg = wg.clone();
            let url = t.url("/incidents");
            async move {
                let refs: Vec<(&str, Option<&str>, &str, &[u8])> =
                    parts.iter().map(|(a, b, c, d)| (*a, *b, *c, d.as_slice())).collect();
                let (ct, body) = multipart(&refs);
                wg.post(url).header("content-type", ct).body(body).send().await.unwrap()
            }
        };
        let before = t.app.store.count_rows("incidents").await.unwrap();
        let mut parts = fields("假照片上报");
        parts.push(("photos", Some("photo.jpg"), "image/jpeg", b"<svg onload=alert(1)>".to_vec()));
        let r = send(parts).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("只接受 JPEG、PNG 或 WebP 图片"), "the refusal is shown");
        assert!(!html.contains("<svg onload"), "nothing of the upload is echoed as markup");
        assert_eq!(t.app.store.count_rows("incidents").await.unwrap(), before, "no half-made report");

        let mut parts = fields("带照片上报");
        parts.push(("photos", Some("现场.png"), "image/png", png.clone()));
        // An empty file input (no file chosen) is skipped.
        parts.push(("photos", Some(""), "application/octet-stream", vec![]));
        let r = send(parts).await;
        assert_eq!(r.status(), 303, "{:?}", r.text().await);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let id: i64 = loc.trim_start_matches("/incidents/").parse().unwrap();
        let r = wg.get(t.url(&format!("/api/v1/incidents/{id}/photos"))).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["items"][0]["name"], "现场.png");
        // Photos added on the incident page, with a CSRF-less form refused.
        let (ct, body) = multipart(&[("photos", Some("x.png"), "image/png", &png)]);
        let r = wg
            .post(t.url(&format!("/incidents/{id}/photos")))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let (ct, body) =
            multipart(&[("_csrf", None, "", csrf.as_bytes()), ("photos", Some("x.png"), "image/png", &png)]);
        let r = wg
            .post(t.url(&format!("/incidents/{id}/photos")))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let r = wg.get(t.url(&format!("/api/v1/incidents/{id}/photos"))).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["items"].as_array().unwrap().len(), 2);
        t.stop().await;
    }
}

#[tokio::test]
async fn the_demo_incident_has_a_drawn_photo() {
    for t in apps().await {
        t.app.seed_incidents().await.unwrap();
        let (cmd, _) = t.login("commander").await;
        let r = cmd.get(t.url("/api/v1/incidents?limit=10")).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        let flood = v["items"].as_array().unwrap().iter().find(|i| i["subtype"] == "rainstorm").unwrap()["id"]
            .as_i64()
            .unwrap();
        let r = cmd.get(t.url(&format!("/api/v1/incidents/{flood}/photos"))).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
        let r = cmd.get(t.url(v["items"][0]["url"].as_str().unwrap())).send().await.unwrap();
        let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(img.dimensions(), (480, 300));
        t.stop().await;
    }
}

#[tokio::test]
async fn merging_a_duplicate_keeps_its_photos_on_the_merged_incident() {
    for t in apps().await {
        let (cmd, csrf) = t.login("commander").await;
        let png = png_with_exif();
        let into = report(&t, &cmd, &csrf, "平江路积水", "320508018000", 120.6335, 31.3172).await;
        let dup = report(&t, &cmd, &csrf, "平江路积水（重复）", "320508018000", 120.6336, 31.3173).await;
        let (s, _, v) = upload(&t, &cmd, &csrf, dup, &[("photo", Some("dup.png"), "image/png", &png)]).await;
        assert_eq!(s, 201, "{v}");
        let r = cmd
            .post(t.url(&format!("/api/v1/incidents/{dup}/merge")))
            .header("x-csrf-token", &csrf)
            .json(&json!({"into": into}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
        let r = cmd.get(t.url(&format!("/api/v1/incidents/{into}/photos"))).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["items"][0]["incident_id"], into);
        t.stop().await;
    }
}
