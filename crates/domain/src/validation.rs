//! Field-level validation errors, shared by every capability.

use crate::i18n::{Lang, Text};
use serde::Serialize;

/// One invalid field: which field, which rule, and a message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field name as the API spells it (e.g. `division_code`).
    pub field: String,
    /// A stable rule identifier (e.g. `division.unknown`).
    pub rule: String,
    /// The message.
    pub message: Text,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: &str, rule: &str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
        FieldError { field: field.to_string(), rule: rule.to_string(), message: Text::new(zh, en) }
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> &str {
        self.message.get(lang)
    }
}

/// Collects field errors so a form reports all of them at once.
#[derive(Debug, Default, Clone)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// An empty validator.
    pub fn new() -> Validator {
        Validator::default()
    }

    /// Records an error.
    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    /// Requires a non-blank value of at most `max` characters.
    pub fn text(&mut self, field: &str, label_zh: &str, label_en: &str, value: &str, max: usize) {
        let n = value.trim().chars().count();
        if n == 0 {
            self.push(FieldError::new(
                field,
                "required",
                format!("{label_zh}不能为空"),
                format!("{label_en} is required"),
            ));
        } else if n > max {
            self.push(FieldError::new(
                field,
                "too_long",
                format!("{label_zh}最多 {max} 个字符"),
                format!("{label_en} must be at most {max} characters"),
            ));
        }
    }

    /// Ok when no error was recorded, else all errors.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
