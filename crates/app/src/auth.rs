//! Accounts, passwords, sessions, API tokens and login throttling.

use crate::{audit, invalid, App, AppError, AppResult, RequestCtx};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use tongxin_domain::{Actor, FieldError, Role};
use tongxin_store::users::{NewUser, UserRow};
use tongxin_store::{now_ms, sessions, users, StoreError};

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// Checks a password against a stored hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Password rules: at least 8 characters with letters and digits.
pub fn check_password_policy(field: &str, pw: &str) -> Result<(), FieldError> {
    let ok = pw.chars().count() >= 8
        && pw.chars().any(|c| c.is_ascii_alphabetic())
        && pw.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "password.weak",
            "密码至少 8 位，且须同时包含字母和数字",
            "Password must be at least 8 characters and contain both letters and digits",
        ))
    }
}

/// A random URL-safe secret of 32 bytes.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 hex of a secret: what the database keeps instead of the secret.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The scope value for an account.
pub fn actor_of(u: &UserRow) -> AppResult<Actor> {
    let role = Role::from_key(&u.role).ok_or_else(|| AppError::Internal(format!("unknown role {}", u.role)))?;
    Ok(Actor {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role,
        division_code: u.division_code.clone(),
        // Only officers and workers scope by division: a resident's home community must not
        // let them see their neighbours' records.
        division_path: if role.needs_jurisdiction() { u.division_path.clone() } else { None },
        org_id: u.org_id,
    })
}

/// How long a resolved API token is reused without reading the database (milliseconds).
pub const TOKEN_CACHE_MS: i64 = 1_000;
/// Most tokens held resolved at once.
const TOKEN_CACHE_MAX: usize = 10_000;

/// Resolved API tokens by hash, with the time they were read.
pub type TokenCache = std::sync::Mutex<std::collections::HashMap<String, (Actor, i64)>>;

/// A new session.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// Cookie value (secret).
    pub token: String,
    /// CSRF token of the session.
    pub csrf: String,
    /// The account.
    pub actor: Actor,
    /// Preferred language code.
    pub lang: String,
}

/// A resolved session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The account.
    pub actor: Actor,
    /// CSRF token.
    pub csrf: String,
    /// Preferred language code.
    pub lang: String,
}

// A real hash verified for unknown users, so both failure paths cost the same time.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not-a-real-password-0").unwrap_or_default())
}

impl App {
    /// Logs in. Unknown user and wrong password give the same error and both count towards
    /// the lock-out of that name and of the client IP. Every login creates a new session
    /// token (no fixation).
    pub async fn login(&self, ctx: &RequestCtx, username: &str, password: &str) -> AppResult<LoginOutcome> {
        let username = username.trim();
        let since = now_ms() - self.config.login_window_ms;
        let ukey = format!("u:{}", username.to_lowercase());
        let ikey = format!("ip:{}", ctx.ip);
        let ufail = self.store.login_failures_since(&ukey, since).await?;
        let ifail = self.store.login_failures_since(&ikey, since).await?;
        if ufail >= self.config.login_max_failures || ifail >= self.config.login_max_failures * 4 {
            return Err(AppError::RateLimited { retry_after_s: (self.config.login_window_ms / 1000) as u64 });
        }
        let user = match self.store.user_by_username(username).await {
            Ok(u) => Some(u),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let ok = match &user {
            Some(u) => verify_password(&u.password_hash, password) && !u.disabled,
            None => {
                let _ = verify_password(dummy_hash(), password);
                false
            }
        };
        let mut tx = self.store.begin().await?;
        let Some(user) = user.filter(|_| ok) else {
            sessions::record_login_failure(&mut tx, &[ukey, ikey]).await?;
            tongxin_store::audit::append(
                &mut tx,
                audit::entry(None, ctx, "auth.login_failed", "user", username, json!({ "username": username })),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Err(AppError::Unauthorized);
        };
        let actor = actor_of(&user)?;
        let token = random_token();
        let csrf = random_token();
        sessions::create_session(&mut tx, &token_hash(&token), user.id, &csrf, self.config.session_ttl_ms, &ctx.ip)
            .await?;
        sessions::clear_login_failures(&mut tx, &ukey, now_ms() - 24 * 3600 * 1000).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(&actor), ctx, "auth.login", "user", user.id, json!({})),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(LoginOutcome { token, csrf, actor, lang: user.lang })
    }

    /// Resolves a session cookie.
    pub async fn session(&self, token: &str) -> AppResult<SessionInfo> {
        let h = token_hash(token);
        let s = self.store.session(&h, self.config.session_idle_ms).await.map_err(|e| match e {
            StoreError::NotFound => AppError::Unauthorized,
            e => e.into(),
        })?;
        if s.user.disabled {
            return Err(AppError::Unauthorized);
        }
        // Refresh the idle clock at most once a minute: sessions are read far more than written.
        if now_ms() - s.last_seen > 60_000 {
            self.store.touch_session(&h).await?;
        }
        Ok(SessionInfo { actor: actor_of(&s.user)?, csrf: s.csrf_token, lang: s.user.lang })
    }

    /// Resolves an API bearer token to its account. An integration posting thousands of writes
    /// a second would read its token and account once per request: a resolved token is reused
    /// for [`TOKEN_CACHE_MS`] (refused tokens are never cached). A change to an account's
    /// organisation clears this node's cache at once ([`App::forget_tokens`]); other nodes and
    /// an expiry catch up within the same bound.
    pub async fn bearer(&self, token: &str) -> AppResult<Actor> {
        let h = token_hash(token);
        let now = now_ms();
        if let Some((actor, at)) = self.tokens.lock().ok().and_then(|m| m.get(&h).cloned()) {
            if now - at < TOKEN_CACHE_MS {
                return Ok(actor);
            }
        }
        match self.store.token_user(&h).await {
            Ok(u) if !u.disabled => {
                let actor = actor_of(&u)?;
                if let Ok(mut m) = self.tokens.lock() {
                    // Bounded: a flood of distinct tokens only empties it.
                    if m.len() >= TOKEN_CACHE_MAX {
                        m.clear();
                    }
                    m.insert(h, (actor.clone(), now));
                }
                Ok(actor)
            }
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }

    /// Drops this node's resolved API tokens (after a change to an account they act for).
    pub fn forget_tokens(&self) {
        if let Ok(mut m) = self.tokens.lock() {
            m.clear();
        }
    }

    /// Ends one session.
    pub async fn logout(&self, ctx: &RequestCtx, actor: &Actor, token: &str) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        sessions::delete_session(&mut tx, &token_hash(token)).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "auth.logout", "user", actor.user_id, json!({})),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Ends every session of the account.
    pub async fn logout_everywhere(&self, ctx: &RequestCtx, actor: &Actor) -> AppResult<u64> {
        let mut tx = self.store.begin().await?;
        let n = sessions::delete_user_sessions(&mut tx, actor.user_id).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "auth.logout_all", "user", actor.user_id, json!({ "sessions": n })),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(n)
    }

    /// Changes the password after checking the current one; ends all sessions.
    pub async fn change_password(&self, ctx: &RequestCtx, actor: &Actor, current: &str, new: &str) -> AppResult<()> {
        let user = self.store.user_by_id(actor.user_id).await?;
        if !verify_password(&user.password_hash, current) {
            return Err(invalid("current_password", "password.wrong", "当前密码不正确", "Current password is wrong"));
        }
        check_password_policy("new_password", new).map_err(|e| AppError::Validation(vec![e]))?;
        let hash = hash_password(new)?;
        let mut tx = self.store.begin().await?;
        users::set_password(&mut tx, actor.user_id, &hash).await?;
        sessions::delete_user_sessions(&mut tx, actor.user_id).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "auth.password_change", "user", actor.user_id, json!({})),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Saves the preferred language of the account.
    pub async fn set_lang(&self, actor: &Actor, lang: &str) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        users::set_lang(&mut tx, actor.user_id, lang).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Creates an account. `by` is the creating administrator (None from the command line):
    /// a system administrator may only create accounts inside its own jurisdiction.
    pub async fn create_user(&self, ctx: &RequestCtx, by: Option<&Actor>, n: &NewAccount) -> AppResult<i64> {
        if let Some(a) = by {
            crate::require_role(a, &[Role::SysAdmin])?;
        }
        let mut errs = Vec::new();
        let uname = n.username.trim();
        if uname.len() < 3 || uname.len() > 64 || !uname.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            errs.push(FieldError::new(
                "username",
                "username.format",
                "用户名须为 3–64 位字母、数字或 . _ -",
                "Username must be 3–64 letters, digits or . _ -",
            ));
        }
        let role = Role::from_key(&n.role);
        if role.is_none() {
            errs.push(FieldError::new(
                "role",
                "role.unknown",
                format!("未知角色“{}”", n.role),
                format!("Unknown role \"{}\"", n.role),
            ));
        }
        if let Err(e) = check_password_policy("password", &n.password) {
            errs.push(e);
        }
        let mut path = None;
        if let Some(code) = n.division_code.as_deref().filter(|c| !c.is_empty()) {
            match self.store.division(code).await {
                Ok(d) => path = Some(d.path),
                Err(StoreError::NotFound) => errs.push(FieldError::new(
                    "division_code",
                    "division.unknown",
                    format!("区划代码 {code} 不存在"),
                    format!("Unknown division code {code}"),
                )),
                Err(e) => return Err(e.into()),
            }
        } else if role.is_some_and(|r| r.needs_jurisdiction()) {
            errs.push(FieldError::new(
                "division_code",
                "required",
                "该角色必须指定辖区",
                "This role needs a jurisdiction",
            ));
        }
        if role == Some(Role::OrgAdmin) && n.org_id.is_none() {
            errs.push(FieldError::new(
                "org_id",
                "required",
                "组织管理员必须指定所属组织",
                "An organisation admin needs an organisation",
            ));
        }
        if let (Some(a), Some(p)) = (by, &path) {
            if !a.covers(p) {
                errs.push(FieldError::new(
                    "division_code",
                    "division.outside",
                    "只能在本辖区内创建账号",
                    "You can only create accounts within your jurisdiction",
                ));
            }
        }
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let hash = hash_password(&n.password)?;
        let mut tx = self.store.begin().await?;
        let id = users::create(
            &mut tx,
            &NewUser {
                username: uname.to_string(),
                display_name: if n.display_name.trim().is_empty() {
                    uname.to_string()
                } else {
                    n.display_name.trim().to_string()
                },
                password_hash: hash,
                role: n.role.clone(),
                division_code: n.division_code.clone().filter(|c| !c.is_empty()),
                division_path: path,
                org_id: n.org_id,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => invalid(
                "username",
                "username.taken",
                format!("用户名 {uname} 已被使用"),
                format!("Username {uname} is taken"),
            ),
            e => e.into(),
        })?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                by,
                ctx,
                "user.create",
                "user",
                id,
                json!({ "username": uname, "role": n.role, "division_code": n.division_code }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Issues an API token acting as `actor` (same scope). Returns the secret once.
    pub async fn create_api_token(
        &self,
        ctx: &RequestCtx,
        actor: &Actor,
        name: &str,
        ttl_days: Option<i64>,
    ) -> AppResult<String> {
        if name.trim().is_empty() {
            return Err(invalid("name", "required", "令牌名称不能为空", "Token name is required"));
        }
        let token = format!("txk_{}", random_token());
        let expires = ttl_days.map(|d| now_ms() + d * 86_400_000);
        let mut tx = self.store.begin().await?;
        let id = sessions::create_token(&mut tx, name.trim(), &token_hash(&token), actor.user_id, expires).await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "token.create", "api_token", id, json!({ "name": name })),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(token)
    }
}

/// Input for [`App::create_user`].
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Password (checked against the policy).
    pub password: String,
    /// Role key.
    pub role: String,
    /// Jurisdiction code.
    pub division_code: Option<String>,
    /// Organisation.
    pub org_id: Option<i64>,
}
