//! Accounts.

use crate::{col, now_ms, Result, Store, StoreError, Tx};
use sqlx::any::AnyRow;

/// A stored account.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string. Never leaves the app layer.
    pub password_hash: String,
    /// Role key.
    pub role: String,
    /// Jurisdiction code.
    pub division_code: Option<String>,
    /// Jurisdiction path.
    pub division_path: Option<String>,
    /// Organisation.
    pub org_id: Option<i64>,
    /// Preferred language code.
    pub lang: String,
    /// Disabled flag.
    pub disabled: bool,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role key.
    pub role: String,
    /// Jurisdiction code.
    pub division_code: Option<String>,
    /// Jurisdiction path (must match the code).
    pub division_path: Option<String>,
    /// Organisation.
    pub org_id: Option<i64>,
}

pub(crate) const USER_COLS: &str =
    "u.id, u.username, u.display_name, u.password_hash, u.role, u.division_code, u.division_path, u.org_id, u.lang, u.disabled";

pub(crate) fn user_from_row(r: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: col(r, "id")?,
        username: col(r, "username")?,
        display_name: col(r, "display_name")?,
        password_hash: col(r, "password_hash")?,
        role: col(r, "role")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        org_id: col(r, "org_id")?,
        lang: col(r, "lang")?,
        disabled: col::<i64>(r, "disabled")? != 0,
    })
}

/// Creates an account; a taken username is a conflict.
pub async fn create(tx: &mut Tx, u: &NewUser) -> Result<i64> {
    let ids = create_many(tx, std::slice::from_ref(u)).await?;
    ids.first().copied().ok_or(StoreError::NotFound)
}

/// Replaces the password hash.
pub async fn set_password(tx: &mut Tx, user_id: i64, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
        .bind(hash.to_string())
        .bind(now_ms())
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets the preferred language.
pub async fn set_lang(tx: &mut Tx, user_id: i64, lang: &str) -> Result<()> {
    sqlx::query("UPDATE users SET lang = $1 WHERE id = $2")
        .bind(lang.to_string())
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Account by login name.
    pub async fn user_by_username(&self, username: &str) -> Result<UserRow> {
        let r = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.username = $1"))
            .bind(username.to_string())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&r)
    }

    /// Account by id.
    pub async fn user_by_id(&self, id: i64) -> Result<UserRow> {
        let r = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&r)
    }

    /// Number of accounts.
    pub async fn user_count(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.reader()).await?;
        col(&r, "n")
    }
}

/// Creates many accounts in multi-row INSERTs (bulk loads: benchmark and demo responders);
/// returns their ids in input order. A taken username makes the whole call a conflict.
pub async fn create_many(tx: &mut Tx, users: &[NewUser]) -> Result<Vec<i64>> {
    let now = now_ms();
    crate::bulk::bulk_insert_ids(
        tx,
        "users",
        "username, display_name, password_hash, role, division_code, division_path, org_id, created_at, \
         password_changed_at",
        users,
        |q, u| {
            q.bind(u.username.clone())
                .bind(u.display_name.clone())
                .bind(u.password_hash.clone())
                .bind(u.role.clone())
                .bind(u.division_code.clone())
                .bind(u.division_path.clone())
                .bind(u.org_id)
                .bind(now)
                .bind(now)
        },
    )
    .await
}
