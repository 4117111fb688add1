//! Errors at the edge: RFC 9457 problem+json for the API (message in the request's language,
//! field-level errors for validation), and the same status for pages. Internal details are
//! logged with the request id, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tongxin_app::AppError;
use tongxin_domain::{FieldError, Lang};

/// An API error with the language to render it in.
#[derive(Debug)]
pub struct ApiError {
    /// The error.
    pub err: AppError,
    /// Language of the message.
    pub lang: Lang,
}

/// One field error in a problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    /// Field name.
    pub field: String,
    /// Rule identifier.
    pub rule: String,
    /// Message in the request's language.
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Problem type URI.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short title.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Human-readable explanation in the request's language.
    pub detail: String,
    /// Field errors, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

impl Problem {
    /// Builds a problem.
    pub fn new(status: StatusCode, kind: &str, detail: String) -> Problem {
        Problem {
            kind: format!("https://tongxin.example/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("error").to_string(),
            status: status.as_u16(),
            detail,
            errors: vec![],
        }
    }

    /// Adds field errors.
    pub fn with_fields(mut self, fields: &[FieldError], lang: Lang) -> Problem {
        self.errors = fields
            .iter()
            .map(|f| ProblemField {
                field: f.field.clone(),
                rule: f.rule.clone(),
                message: f.message(lang).to_string(),
            })
            .collect();
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, axum::Json(&self)).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        r
    }
}

fn msg(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

/// Status and problem for an application error.
pub fn problem_for(err: &AppError, lang: Lang) -> Problem {
    match err {
        AppError::Unauthorized => Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            msg(lang, "未登录或凭据无效", "Not logged in or invalid credentials"),
        ),
        AppError::Forbidden => {
            Problem::new(StatusCode::FORBIDDEN, "forbidden", msg(lang, "无权执行此操作", "You may not do this"))
        }
        AppError::NotFound => Problem::new(StatusCode::NOT_FOUND, "not-found", msg(lang, "未找到该资源", "Not found")),
        AppError::Validation(fields) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            msg(lang, "提交的内容有误，请检查标出的字段", "Some fields are invalid; see errors"),
        )
        .with_fields(fields, lang),
        AppError::Conflict(t) => Problem::new(StatusCode::CONFLICT, "conflict", t.get(lang).to_string()),
        AppError::RateLimited { .. } => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            msg(lang, "尝试次数过多，请稍后再试", "Too many attempts; try again later"),
        ),
        AppError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                msg(lang, "服务器内部错误，已记录", "Internal error; it has been logged"),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = match &self.err {
            AppError::RateLimited { retry_after_s } => Some(*retry_after_s),
            _ => None,
        };
        let mut r = problem_for(&self.err, self.lang).into_response();
        if let Some(s) = retry {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}
