//! Photos of incidents (capability B), with the upload rules of the security baseline
//! (issue 11): at most [`MAX_PHOTO_BYTES`] each and [`MAX_PHOTOS`] per upload; the bytes must
//! decode as JPEG, PNG or WebP (recognised by content, never by the file name), within
//! [`MAX_DECODE_SIDE`] pixels a side; the decoded pixels are re-encoded by the server (JPEG, or
//! PNG for PNG sources and images with transparency), at most [`MAX_SIDE`] pixels a side. So
//! EXIF (with GPS), comments, trailing data and polyglots never reach storage or another
//! user's browser. The client's file name is kept only as sanitised display text; photos are
//! stored and served under generated ids.
//!
//! Whoever may see the incident may see its photos (404 otherwise); whoever may see it may add
//! photos, except supervisors (read-only). Every upload is audited with the stored bytes' hashes.

use crate::{App, AppError, AppResult, RequestCtx};
use image::{DynamicImage, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use tongxin_domain::{Actor, FieldError, Role};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::incident_photos::{self as ph, NewPhoto, PhotoMeta};
use tongxin_store::incidents as st;
use tongxin_store::now_ms;

/// Largest accepted photo (bytes as uploaded).
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// Most photos in one upload.
pub const MAX_PHOTOS: usize = 6;
/// Largest side of a stored photo (larger ones are scaled down).
pub const MAX_SIDE: u32 = 2048;
/// Largest side the decoder accepts at all (a "decompression bomb" is refused before decoding).
pub const MAX_DECODE_SIDE: u32 = 12_000;
/// Memory the decoder may allocate for one photo.
const MAX_DECODE_ALLOC: u64 = 384 * 1024 * 1024;
/// JPEG quality of re-encoded photos.
const JPEG_QUALITY: u8 = 85;

/// One uploaded file as received.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The client's file name (untrusted).
    pub name: String,
    /// The bytes (untrusted).
    pub bytes: Vec<u8>,
}

/// A photo decoded and re-encoded by the server, ready to store.
#[derive(Debug, Clone)]
pub struct CleanPhoto {
    /// Sanitised display name, with the extension of what is stored.
    pub name: String,
    /// `image/jpeg` or `image/png`.
    pub mime: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The re-encoded bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, hex.
    pub sha256: String,
}

fn photo_error(rule: &str, zh: String, en: String) -> FieldError {
    FieldError::new("photos", rule, zh, en)
}

/// A display name from an untrusted file name: the last path component only (no `../`, no
/// drive or directory), no control or markup-significant characters, at most 60 characters,
/// never starting with a dot, with `ext` as its extension.
pub fn safe_name(raw: &str, ext: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = match last.rfind('.') {
        Some(i) if i > 0 => &last[..i],
        _ => last,
    };
    let cleaned: String = stem
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | '"' | '\'' | '`' | '&' | ':' | '*' | '?' | '|' | '%'))
        .take(60)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let stem = if cleaned.is_empty() { "photo" } else { cleaned };
    format!("{stem}.{ext}")
}

/// Checks, decodes and re-encodes one upload (pure; CPU-bound).
pub fn clean_photo(u: &Upload) -> Result<CleanPhoto, FieldError> {
    let shown = safe_name(&u.name, "").trim_end_matches('.').to_string();
    if u.bytes.len() > MAX_PHOTO_BYTES {
        return Err(photo_error(
            "too_large",
            format!("照片不能超过 {} MB：{shown}", MAX_PHOTO_BYTES / (1024 * 1024)),
            format!("A photo may be at most {} MB: {shown}", MAX_PHOTO_BYTES / (1024 * 1024)),
        ));
    }
    if u.bytes.is_empty() {
        return Err(photo_error("empty", format!("文件为空：{shown}"), format!("The file is empty: {shown}")));
    }
    let not_image = || {
        photo_error(
            "type",
            format!("只接受 JPEG、PNG 或 WebP 图片：{shown}"),
            format!("Only JPEG, PNG or WebP images are accepted: {shown}"),
        )
    };
    let mut reader = ImageReader::new(Cursor::new(&u.bytes)).with_guessed_format().map_err(|_| not_image())?;
    let format = reader.format();
    if !matches!(format, Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) {
        return Err(not_image());
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decode_error = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => photo_error(
            "dimensions",
            format!("图片尺寸过大（每边最多 {MAX_DECODE_SIDE} 像素）：{shown}"),
            format!("The image is too large (at most {MAX_DECODE_SIDE} pixels a side): {shown}"),
        ),
        _ => photo_error(
            "decode",
            format!("图片已损坏或无法解码：{shown}"),
            format!("The image is damaged or cannot be decoded: {shown}"),
        ),
    };
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let orientation =
        image::ImageDecoder::orientation(&mut decoder).unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    // EXIF orientation is applied to the pixels before EXIF is dropped.
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > MAX_SIDE {
        img = img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle);
    }
    let png = img.color().has_alpha() || format == Some(ImageFormat::Png);
    let mut out = Vec::new();
    let encoded = if png {
        let img = if img.color().has_alpha() {
            DynamicImage::ImageRgba8(img.to_rgba8())
        } else {
            DynamicImage::ImageRgb8(img.to_rgb8())
        };
        img.write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
    };
    encoded.map_err(decode_error)?;
    let (mime, ext) = if png { ("image/png", "png") } else { ("image/jpeg", "jpg") };
    Ok(CleanPhoto {
        name: safe_name(&u.name, ext),
        mime,
        width: img.width(),
        height: img.height(),
        sha256: hex::encode(Sha256::digest(&out)),
        bytes: out,
    })
}

/// Cleans every upload (off the async threads); all refusals are reported together.
pub async fn clean_photos(uploads: Vec<Upload>) -> AppResult<Vec<CleanPhoto>> {
    if uploads.len() > MAX_PHOTOS {
        return Err(AppError::Validation(vec![photo_error(
            "too_many",
            format!("每次最多上传 {MAX_PHOTOS} 张照片"),
            format!("At most {MAX_PHOTOS} photos per upload"),
        )]));
    }
    let results = tokio::task::spawn_blocking(move || uploads.iter().map(clean_photo).collect::<Vec<_>>())
        .await
        .map_err(|e| AppError::Internal(format!("photo worker: {e}")))?;
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(p) => ok.push(p),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(AppError::Validation(errors))
    }
}

impl App {
    /// The incident the actor may add photos to: one it may see (404 otherwise), not as a
    /// supervisor (403).
    async fn incident_for_photos(&self, actor: &Actor, id: i64) -> AppResult<st::Incident> {
        let i = self.incident_for(actor, id).await?;
        if actor.role == Role::Supervisor {
            return Err(AppError::Forbidden);
        }
        Ok(i)
    }

    /// Checks that the actor may add photos to incident `id` (before reading an upload).
    pub async fn may_add_incident_photos(&self, actor: &Actor, id: i64) -> AppResult<()> {
        self.incident_for_photos(actor, id).await.map(|_| ())
    }

    /// Checks, re-encodes and stores uploaded photos of incident `id`; returns their ids.
    pub async fn upload_incident_photos(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        uploads: Vec<Upload>,
    ) -> AppResult<Vec<i64>> {
        self.incident_for_photos(actor, id).await?;
        if uploads.is_empty() {
            return Err(AppError::Validation(vec![photo_error(
                "required",
                "请选择要上传的照片".into(),
                "Choose the photos to upload".into(),
            )]));
        }
        let clean = clean_photos(uploads).await?;
        self.add_incident_photos(actor, ctx, id, &clean).await
    }

    /// Stores photos already cleaned by [`clean_photos`], with the timeline entry, the audit
    /// record and the live event, in one transaction.
    pub async fn add_incident_photos(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        id: i64,
        photos: &[CleanPhoto],
    ) -> AppResult<Vec<i64>> {
        let inc = self.incident_for_photos(actor, id).await?;
        if photos.is_empty() {
            return Ok(vec![]);
        }
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let mut ids = Vec::with_capacity(photos.len());
        for p in photos {
            ids.push(
                ph::insert(
                    &mut tx,
                    &NewPhoto {
                        incident_id: id,
                        name: &p.name,
                        mime: p.mime,
                        width: p.width,
                        height: p.height,
                        sha256: &p.sha256,
                        content: &p.bytes,
                        user_id: actor.user_id,
                        username: &actor.username,
                        at: now,
                    },
                )
                .await?,
            );
        }
        st::add_timeline(
            &mut tx,
            id,
            now,
            "photo",
            false,
            Some((actor.user_id, actor.username.as_str())),
            &format!("{} 上传了 {} 张现场照片", actor.display_name, photos.len()),
            &format!("{} added {} photo(s)", actor.display_name, photos.len()),
        )
        .await?;
        tongxin_store::audit::append(
            &mut tx,
            crate::audit::entry(
                Some(actor),
                ctx,
                "incident.photo_add",
                "incident",
                id,
                serde_json::json!({
                    "photos": ids,
                    "sha256": photos.iter().map(|p| p.sha256.as_str()).collect::<Vec<_>>(),
                    "bytes": photos.iter().map(|p| p.bytes.len()).collect::<Vec<_>>(),
                }),
            ),
        )
        .await?;
        publish(
            &mut tx,
            self.store.backend(),
            &NewEvent {
                topic: "incident".into(),
                kind: "photo_added".into(),
                division_path: inc.division_path.clone(),
                payload: serde_json::json!({"id": id, "photos": ids}).to_string(),
                ..Default::default()
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(ids)
    }

    /// The photos of an incident the actor may see (404 otherwise).
    pub async fn incident_photos(&self, actor: &Actor, id: i64) -> AppResult<Vec<PhotoMeta>> {
        self.incident_for(actor, id).await?;
        Ok(ph::of_incident(self.store.reader(), id).await?)
    }

    /// One photo with its bytes, if the actor may see its incident (404 otherwise, also for
    /// an unknown id).
    pub async fn incident_photo(&self, actor: &Actor, photo_id: i64) -> AppResult<(PhotoMeta, Vec<u8>)> {
        let (meta, bytes) = ph::get(self.store.reader(), photo_id).await?;
        self.incident_for(actor, meta.incident_id).await?;
        Ok((meta, bytes))
    }

    /// The demo photo of the seeded flood incident: a picture drawn here (no external asset),
    /// going through the same checks and re-encoding as any upload.
    pub async fn seed_incident_photo(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<()> {
        let clean = clean_photos(vec![Upload { name: "平江路积水现场.png".into(), bytes: demo_flood_png() }]).await?;
        self.add_incident_photos(actor, ctx, id, &clean).await?;
        Ok(())
    }
}

/// A drawn 480×300 PNG: sky, a row of white-walled houses with dark roofs, flood water up to
/// the doors with ripples, and a red depth marker.
pub fn demo_flood_png() -> Vec<u8> {
    let (w, h) = (480u32, 300u32);
    let water = 210u32;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let ripple = (x as f32 / 9.0 + y as f32 / 2.0).sin() > 0.93;
        // Houses: walls 150..=230, roofs as triangles above, doors below the water line.
        let house = (x % 120) as i32;
        let in_wall = (20..100).contains(&house) && (150..=235).contains(&y);
        let roof_top = 110 + (house - 60).unsigned_abs() * 40 / 50;
        let in_roof = (10..110).contains(&house) && y >= roof_top && y < 150;
        let window = in_wall && (35..50).contains(&house) && (165..185).contains(&y);
        let marker = (440..448).contains(&x) && (120..260).contains(&y);
        let notch = marker && (y - 120) % 20 < 3;
        if notch {
            image::Rgb([255, 255, 255])
        } else if marker {
            image::Rgb([200, 16, 46])
        } else if y >= water {
            if ripple {
                image::Rgb([190, 210, 225])
            } else {
                image::Rgb([92 + (y - water) as u8 / 2, 110, 120])
            }
        } else if window {
            image::Rgb([60, 80, 110])
        } else if in_wall {
            image::Rgb([236, 232, 222])
        } else if in_roof {
            image::Rgb([55, 58, 64])
        } else {
            let t = (y * 100 / water) as u8;
            image::Rgb([150 + t / 2, 170 + t / 3, 190 + t / 4])
        }
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        .expect("encoding a drawn image in memory cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_become_harmless_display_text() {
        assert_eq!(safe_name("../../etc/passwd.jpg", "png"), "passwd.png");
        assert_eq!(safe_name("..\\..\\windows\\win.ini", "jpg"), "win.jpg");
        assert_eq!(safe_name(".htaccess", "jpg"), "htaccess.jpg");
        assert_eq!(safe_name("", "jpg"), "photo.jpg");
        assert_eq!(safe_name("/", "jpg"), "photo.jpg");
        assert_eq!(safe_name("<img src=x onerror=alert(1)>.png", "png"), "img src=x onerror=alert(1).png");
        assert_eq!(safe_name("a\u{0}b\r\nc.webp", "png"), "abc.png");
        assert_eq!(safe_name(&"长".repeat(100), "jpg").chars().count(), 64);
    }

    #[test]
    fn the_drawn_demo_photo_passes_the_upload_checks() {
        let p = clean_photo(&Upload { name: "demo.png".into(), bytes: demo_flood_png() }).unwrap();
        assert_eq!((p.width, p.height, p.mime), (480, 300, "image/png"));
    }

    #[test]
    fn a_huge_canvas_is_refused_before_decoding() {
        // A valid PNG header announcing 20000×20000 pixels (a decompression bomb's first bytes).
        let mut png = Vec::new();
        let enc = image::codecs::png::PngEncoder::new(&mut png);
        image::ImageEncoder::write_image(enc, &[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8).unwrap();
        png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let mut c = 0xFFFF_FFFFu32;
        for &b in &png[12..29] {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        png[29..33].copy_from_slice(&(!c).to_be_bytes());
        let e = clean_photo(&Upload { name: "bomb.png".into(), bytes: png }).unwrap_err();
        assert_eq!(e.rule, "dimensions", "{e:?}");
    }

    #[test]
    fn large_photos_are_scaled_down() {
        let img = image::RgbImage::from_pixel(3000, 1000, image::Rgb([10, 20, 30]));
        let mut jpg = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 80))
            .unwrap();
        let p = clean_photo(&Upload { name: "wide.jpg".into(), bytes: jpg }).unwrap();
        assert_eq!((p.width, p.height), (MAX_SIDE, 683));
    }
}
