//! Photos of incidents over the JSON API: upload (multipart/form-data, field `photo`, several
//! allowed), list, and the image itself. Uploads are checked and re-encoded by
//! `tongxin_app::incident_photos` (size, type by content, dimensions; EXIF dropped); images are
//! served under generated ids with their real type, `nosniff`, a sandboxing CSP and an inline
//! disposition with a safe name. Scoped like the incident: 404 outside the caller's scope.
//!
//! The multipart reader here is shared with the page forms (`pages::incidents`).

use crate::error::{ApiError, Problem};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tongxin_app::incident_photos::{Upload, MAX_PHOTOS, MAX_PHOTO_BYTES};
use tongxin_domain::Lang;
use tongxin_store::incident_photos::PhotoMeta;
use utoipa::{OpenApi, ToSchema};

/// Largest upload request: every photo at its limit plus the form fields.
pub const MAX_BODY_BYTES: usize = MAX_PHOTO_BYTES * MAX_PHOTOS + 256 * 1024;

/// Routes (mounted under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/photos", get(list).post(upload).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
        .route("/incidents/photos/{id}", get(image))
}

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(paths(list, upload, image), components(schemas(PhotoUpload, PhotoItem)))]
pub struct IncidentPhotosApi;

/// The upload form.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PhotoUpload {
    /// One or more images: JPEG, PNG or WebP (recognised by content), at most 5 MB each and 6 per
    /// request. They are re-encoded (EXIF and GPS removed) and scaled to at most 2048 px a side.
    #[schema(value_type = Vec<String>, format = Binary)]
    pub photo: Vec<Vec<u8>>,
}

/// A stored photo.
#[derive(serde::Serialize, ToSchema)]
pub struct PhotoItem {
    /// Generated id.
    pub id: i64,
    /// Incident id.
    pub incident_id: i64,
    /// The uploader's file name, sanitised (display text only).
    pub name: String,
    /// `image/jpeg` or `image/png`.
    pub mime: String,
    /// Width (px).
    pub width: i64,
    /// Height (px).
    pub height: i64,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the stored bytes.
    pub sha256: String,
    /// Uploader.
    pub username: String,
    /// Upload time (unix ms).
    pub at: i64,
    /// Where to fetch the image.
    pub url: String,
}

fn item(m: PhotoMeta) -> PhotoItem {
    PhotoItem {
        url: format!("/api/v1/incidents/photos/{}", m.id),
        id: m.id,
        incident_id: m.incident_id,
        name: m.name,
        mime: m.mime,
        width: m.width,
        height: m.height,
        size: m.size,
        sha256: m.sha256,
        username: m.username,
        at: m.at,
    }
}

/// Why reading an upload failed.
#[derive(Debug)]
pub enum ReadError {
    /// A file (named, sanitised) or the whole request is over the limit.
    TooLarge(String),
    /// Not a readable multipart body.
    Malformed,
}

impl ReadError {
    /// The message, Chinese or English.
    pub fn message(&self, lang: Lang) -> String {
        let mb = MAX_PHOTO_BYTES / (1024 * 1024);
        match (self, lang) {
            (ReadError::TooLarge(n), Lang::Zh) => format!("照片不能超过 {mb} MB，每次最多 {MAX_PHOTOS} 张：{n}"),
            (ReadError::TooLarge(n), Lang::En) => {
                format!("A photo may be at most {mb} MB, at most {MAX_PHOTOS} per upload: {n}")
            }
            (ReadError::Malformed, Lang::Zh) => "上传中断或格式有误，请以 multipart/form-data 重新上传".into(),
            (ReadError::Malformed, Lang::En) => "The upload was cut off or malformed; send multipart/form-data".into(),
        }
    }

    /// The HTTP status: 413 for sizes, 400 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            ReadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ReadError::Malformed => StatusCode::BAD_REQUEST,
        }
    }

    fn problem(&self, lang: Lang) -> Response {
        let kind = if matches!(self, ReadError::TooLarge(_)) { "too-large" } else { "bad-request" };
        Problem::new(self.status(), kind, self.message(lang)).into_response()
    }
}

/// Reads a multipart body: parts with a file name (or named `photo`, `photos`, `file`) are
/// uploads, read chunk by chunk and refused as soon as one passes [`MAX_PHOTO_BYTES`]; empty
/// file parts (a file input left empty) are skipped; other parts are text fields (at most 64 KB).
pub async fn read_multipart(mp: &mut Multipart) -> Result<(Vec<(String, String)>, Vec<Upload>), ReadError> {
    let mut fields = Vec::new();
    let mut uploads = Vec::new();
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ReadError::TooLarge(String::new())),
            Err(_) => return Err(ReadError::Malformed),
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        if file_name.is_some() || matches!(name.as_str(), "photo" | "photos" | "file") {
            let fname = file_name.unwrap_or_default();
            let shown = tongxin_app::incident_photos::safe_name(&fname, "").trim_end_matches('.').to_string();
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(c)) => {
                        if bytes.len() + c.len() > MAX_PHOTO_BYTES {
                            return Err(ReadError::TooLarge(shown));
                        }
                        bytes.extend_from_slice(&c);
                    }
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ReadError::TooLarge(shown)),
                    Err(_) => return Err(ReadError::Malformed),
                }
            }
            if bytes.is_empty() && fname.is_empty() {
                continue;
            }
            if uploads.len() == MAX_PHOTOS {
                return Err(ReadError::TooLarge(shown));
            }
            uploads.push(Upload { name: fname, bytes });
        } else {
            let mut text = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(c)) => {
                        if text.len() + c.len() > 64 * 1024 {
                            return Err(ReadError::TooLarge(name));
                        }
                        text.extend_from_slice(&c);
                    }
                    Ok(None) => break,
                    Err(_) => return Err(ReadError::Malformed),
                }
            }
            fields.push((name, String::from_utf8_lossy(&text).into_owned()));
        }
    }
    Ok((fields, uploads))
}

/// RFC 8187 percent-encoding (every byte outside the unreserved set).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The image response: its stored type (only what the server encoded), `nosniff`, a CSP that
/// sandboxes it if opened on its own, `inline` with a generated ASCII name and the sanitised
/// original as `filename*`, private caching.
pub fn image_response(m: &PhotoMeta, bytes: Vec<u8>) -> Response {
    let (mime, ext) = if m.mime == "image/png" { ("image/png", "png") } else { ("image/jpeg", "jpg") };
    let disposition = format!(
        "inline; filename=\"incident-{}-photo-{}.{ext}\"; filename*=UTF-8''{}",
        m.incident_id,
        m.id,
        pct(&m.name)
    );
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; img-src 'self'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn e(lang: Lang) -> impl Fn(tongxin_app::AppError) -> ApiError {
    move |err| ApiError { err, lang }
}

/// The photos of an incident.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/photos", tag = "incidents", params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, description = "{items: [PhotoItem]}"), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = st.app.incident_photos(&u.authed.actor, id).await.map_err(e(u.ctx.lang))?;
    Ok(Json(serde_json::json!({"items": v.into_iter().map(item).collect::<Vec<_>>()})))
}

/// Uploads photos of an incident (audited).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/photos", tag = "incidents", params(("id" = i64, Path, description = "Incident id")),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "{items: [PhotoItem]}"), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let lang = u.ctx.lang;
    // Scope first: outside it the answer is 404 whatever the body.
    st.app.may_add_incident_photos(&u.authed.actor, id).await.map_err(e(lang))?;
    let Ok(mut mp) = mp else { return Ok(ReadError::Malformed.problem(lang)) };
    let uploads = match read_multipart(&mut mp).await {
        Ok((_, u)) => u,
        Err(err) => return Ok(err.problem(lang)),
    };
    let ids = st.app.upload_incident_photos(&u.authed.actor, &u.ctx, id, uploads).await.map_err(e(lang))?;
    let all = st.app.incident_photos(&u.authed.actor, id).await.map_err(e(lang))?;
    let items: Vec<PhotoItem> = all.into_iter().filter(|m| ids.contains(&m.id)).map(item).collect();
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "items": items }))).into_response())
}

/// One photo (the image bytes).
#[utoipa::path(get, path = "/api/v1/incidents/photos/{id}", tag = "incidents", params(("id" = i64, Path, description = "Photo id")),
    responses((status = 200, description = "The image, as the server re-encoded it",
                content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
              (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn image(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let (m, bytes) = st.app.incident_photo(&u.authed.actor, id).await.map_err(e(u.ctx.lang))?;
    Ok(image_response(&m, bytes))
}
