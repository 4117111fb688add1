//! Photos of incidents: re-encoded images stored in the database (BLOB on SQLite, BYTEA on
//! PostgreSQL), so a backup of the database holds them and every node serves them. Scoping is
//! the incident's: callers check the incident first (`app::incident_photos`).

use crate::{col, Result, StoreError, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;

/// A photo without its bytes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PhotoMeta {
    /// Generated id (the only name the photo has on the server).
    pub id: i64,
    /// Incident id.
    pub incident_id: i64,
    /// The uploader's file name, sanitised, shown as text only.
    pub name: String,
    /// `image/jpeg` or `image/png` (what the server encoded).
    pub mime: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the stored bytes, hex.
    pub sha256: String,
    /// Uploader's user id.
    pub user_id: i64,
    /// Uploader's username.
    pub username: String,
    /// Upload time (unix ms).
    pub at: i64,
}

/// A photo to store.
#[derive(Debug, Clone)]
pub struct NewPhoto<'a> {
    /// Incident id.
    pub incident_id: i64,
    /// Sanitised display name.
    pub name: &'a str,
    /// Content type.
    pub mime: &'a str,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// SHA-256, hex.
    pub sha256: &'a str,
    /// The re-encoded bytes.
    pub content: &'a [u8],
    /// Uploader.
    pub user_id: i64,
    /// Uploader's username.
    pub username: &'a str,
    /// Time (unix ms).
    pub at: i64,
}

const META: &str = "id, incident_id, name, mime, width, height, size, sha256, user_id, username, at";

fn meta_of(r: &AnyRow) -> Result<PhotoMeta> {
    Ok(PhotoMeta {
        id: col(r, "id")?,
        incident_id: col(r, "incident_id")?,
        name: col(r, "name")?,
        mime: col(r, "mime")?,
        width: col(r, "width")?,
        height: col(r, "height")?,
        size: col(r, "size")?,
        sha256: col(r, "sha256")?,
        user_id: col(r, "user_id")?,
        username: col(r, "username")?,
        at: col(r, "at")?,
    })
}

/// Stores one photo; returns its id.
pub async fn insert(tx: &mut Tx, p: &NewPhoto<'_>) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO incident_photos (incident_id, name, mime, width, height, size, sha256, content, user_id, username, at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
    )
    .bind(p.incident_id)
    .bind(p.name.to_string())
    .bind(p.mime.to_string())
    .bind(i64::from(p.width))
    .bind(i64::from(p.height))
    .bind(p.content.len() as i64)
    .bind(p.sha256.to_string())
    .bind(p.content.to_vec())
    .bind(p.user_id)
    .bind(p.username.to_string())
    .bind(p.at)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

/// The photos of an incident, oldest first (no bytes).
pub async fn of_incident<'e, E>(db: E, incident_id: i64) -> Result<Vec<PhotoMeta>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(&format!("SELECT {META} FROM incident_photos WHERE incident_id = $1 ORDER BY id"))
        .bind(incident_id)
        .fetch_all(db)
        .await?;
    rows.iter().map(meta_of).collect()
}

/// One photo with its bytes.
pub async fn get<'e, E>(db: E, id: i64) -> Result<(PhotoMeta, Vec<u8>)>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query(&format!("SELECT {META}, content FROM incident_photos WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((meta_of(&r)?, col(&r, "content")?))
}
