//! Tongxin application services: the use cases. They take an [`Actor`] and a [`RequestCtx`],
//! check permissions, scope every query through the actor, and commit each change together
//! with its audit record in one transaction. No HTTP here.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod divisions;
pub mod grids;
pub mod incident_photos;
pub mod incidents;
pub mod live;
pub mod outbox;
pub mod registry;
pub mod seed;
pub mod workorders;

use tongxin_domain::{Actor, FieldError, Lang, Text};
use tongxin_store::{Store, StoreError};

/// Per-request context recorded in audit entries.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    /// Request id (x-request-id).
    pub request_id: String,
    /// Client IP.
    pub ip: String,
    /// Language of the request.
    pub lang: Lang,
}

/// Errors of the application layer; the web edge maps them to problem+json or HTML.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not logged in, or bad credentials (one message for unknown user and wrong password).
    #[error("unauthorized")]
    Unauthorized,
    /// Logged in but not allowed (or outside jurisdiction).
    #[error("forbidden")]
    Forbidden,
    /// Nothing there (or nothing the actor may see; we do not reveal which).
    #[error("not found")]
    NotFound,
    /// Input fails validation.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Conflicts with existing data.
    #[error("conflict: {0}")]
    Conflict(Text),
    /// Too many attempts.
    #[error("rate limited")]
    RateLimited {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// Anything else; details are logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(c) => AppError::Conflict(Text::new(
                format!("与已有记录冲突（{c}）"),
                format!("conflicts with an existing record ({c})"),
            )),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Result alias.
pub type AppResult<T> = Result<T, AppError>;

/// Application settings that services need.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Absolute session lifetime.
    pub session_ttl_ms: i64,
    /// Idle timeout.
    pub session_idle_ms: i64,
    /// Failed logins per account or IP within the window before lock-out.
    pub login_max_failures: i64,
    /// Lock-out window.
    pub login_window_ms: i64,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            session_ttl_ms: 12 * 3600 * 1000,
            session_idle_ms: 2 * 3600 * 1000,
            login_max_failures: 5,
            login_window_ms: 15 * 60 * 1000,
        }
    }
}

/// The application: store plus settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    /// The store.
    pub store: Store,
    /// Settings.
    pub config: AppConfig,
    /// This node's live-event hub.
    pub live: std::sync::Arc<live::Hub>,
    /// Key for personal data at rest (registry): from `TONGXIN_DATA_KEY`, dev key when unset.
    pub crypto: std::sync::Arc<registry::crypto::PersonalCrypto>,
    /// Capability G's per-node state: area index, four-eyes policy, channel settings, outbox wake-up.
    pub alerts: std::sync::Arc<alerts::AlertsState>,
    /// Resolved API tokens of this node (see [`App::bearer`]).
    pub tokens: std::sync::Arc<auth::TokenCache>,
}

impl App {
    /// Builds the application.
    ///
    /// Panics when `TONGXIN_DATA_KEY` is set but malformed: running with a wrong key would
    /// write personal data that cannot be read back.
    pub fn new(store: Store, config: AppConfig) -> App {
        let crypto = registry::crypto::PersonalCrypto::from_env().unwrap_or_else(|e| panic!("{e}"));
        App::with_crypto(store, config, crypto)
    }

    /// Builds the application with an explicit personal-data key.
    pub fn with_crypto(store: Store, config: AppConfig, crypto: registry::crypto::PersonalCrypto) -> App {
        App {
            store,
            config,
            crypto: std::sync::Arc::new(crypto),
            live: Default::default(),
            alerts: Default::default(),
            tokens: Default::default(),
        }
    }
}

/// A validation error for one field.
pub fn invalid(field: &str, rule: &str, zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new(field, rule, zh, en)])
}

/// Requires the actor to have one of `roles`.
pub fn require_role(actor: &Actor, roles: &[tongxin_domain::Role]) -> AppResult<()> {
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
