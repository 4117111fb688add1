//! Typed model of an OASIS CAP 1.2 message: `alert`, `info`, `resource`, `area` and their
//! enumerations, one field per element of the standard, in schema order.
//!
//! Optional elements are `Option`s (an empty element such as `<restriction/>` parses as `None`),
//! repeatable ones are `Vec`s. Geometry is typed (`Polygon`, `Circle`) and times are
//! [`CapDateTime`]s, which keep their numeric offset.

use serde::{Deserialize, Serialize};

use crate::datetime::CapDateTime;

/// Declares a CAP enumeration with its exact XML spellings, in schema order.
macro_rules! cap_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the order of the official schema.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every spelling accepted in XML, in the order of the official schema.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The value exactly as written in CAP XML.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Reads a value from its exact (case-sensitive) CAP spelling.
            pub fn from_cap(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cap_enum! {
    /// `alert/status`: the appropriate handling of the message.
    Status {
        /// Actionable by all targeted recipients.
        Actual = "Actual",
        /// Only for designated participants of an exercise.
        Exercise = "Exercise",
        /// Messages supporting alert network internal functions.
        System = "System",
        /// Technical testing only; all recipients disregard.
        Test = "Test",
        /// A preliminary template or draft, not actionable.
        Draft = "Draft",
    }
}

cap_enum! {
    /// `alert/msgType`: the nature of the message.
    MsgType {
        /// Initial information requiring attention.
        Alert = "Alert",
        /// Updates and supersedes the messages in `references`.
        Update = "Update",
        /// Cancels the messages in `references`.
        Cancel = "Cancel",
        /// Acknowledges the messages in `references`.
        Ack = "Ack",
        /// Rejects the messages in `references`.
        Error = "Error",
    }
}

cap_enum! {
    /// `alert/scope`: the intended distribution.
    Scope {
        /// For general dissemination to unrestricted audiences.
        Public = "Public",
        /// For users with a known operational requirement (`restriction`).
        Restricted = "Restricted",
        /// For the specified `addresses`.
        Private = "Private",
    }
}

cap_enum! {
    /// `info/category`: the category of the subject event.
    Category {
        /// Geophysical (including landslide).
        Geo = "Geo",
        /// Meteorological (including flood).
        Met = "Met",
        /// General emergency and public safety.
        Safety = "Safety",
        /// Law enforcement, military, homeland and local/private security.
        Security = "Security",
        /// Rescue and recovery.
        Rescue = "Rescue",
        /// Fire suppression and rescue.
        Fire = "Fire",
        /// Medical and public health.
        Health = "Health",
        /// Pollution and other environmental.
        Env = "Env",
        /// Public and private transportation.
        Transport = "Transport",
        /// Utility, telecommunication, other non-transport infrastructure.
        Infra = "Infra",
        /// Chemical, biological, radiological, nuclear or high-yield explosive threat or attack.
        Cbrne = "CBRNE",
        /// Other events.
        Other = "Other",
    }
}

cap_enum! {
    /// `info/responseType`: the recommended type of action.
    ResponseType {
        /// Take shelter in place.
        Shelter = "Shelter",
        /// Relocate as instructed.
        Evacuate = "Evacuate",
        /// Make preparations.
        Prepare = "Prepare",
        /// Execute a pre-planned activity.
        Execute = "Execute",
        /// Avoid the subject event.
        Avoid = "Avoid",
        /// Attend to information sources.
        Monitor = "Monitor",
        /// Evaluate the information (not for public warnings).
        Assess = "Assess",
        /// The subject event no longer poses a threat.
        AllClear = "AllClear",
        /// No action recommended.
        None = "None",
    }
}

cap_enum! {
    /// `info/urgency`: the urgency of the subject event.
    Urgency {
        /// Responsive action should be taken immediately.
        Immediate = "Immediate",
        /// Within the next hour.
        Expected = "Expected",
        /// In the near future.
        Future = "Future",
        /// No longer required.
        Past = "Past",
        /// Not known.
        Unknown = "Unknown",
    }
}

cap_enum! {
    /// `info/severity`: the severity of the subject event.
    Severity {
        /// Extraordinary threat to life or property.
        Extreme = "Extreme",
        /// Significant threat to life or property.
        Severe = "Severe",
        /// Possible threat to life or property.
        Moderate = "Moderate",
        /// Minimal to no known threat.
        Minor = "Minor",
        /// Not known.
        Unknown = "Unknown",
    }
}

cap_enum! {
    /// `info/certainty`: the certainty of the subject event.
    Certainty {
        /// Determined to have occurred or to be ongoing.
        Observed = "Observed",
        /// Likely (p > ~50%).
        Likely = "Likely",
        /// Possible but not likely (p <= ~50%).
        Possible = "Possible",
        /// Not expected to occur (p ~ 0).
        Unlikely = "Unlikely",
        /// Not known.
        Unknown = "Unknown",
    }
}

/// A whole CAP 1.2 message (`alert`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `identifier`: unique for this sender. The China profile fixes its format ([`crate::china`]).
    pub identifier: String,
    /// `sender`: globally unique originator identifier.
    pub sender: String,
    /// `sent`: time of origination.
    pub sent: CapDateTime,
    /// `status`.
    pub status: Status,
    /// `msgType`.
    pub msg_type: MsgType,
    /// `source`: the particular source of this alert.
    pub source: Option<String>,
    /// `scope`.
    pub scope: Scope,
    /// `restriction`: the rule for restricted distribution (required for `Restricted`).
    pub restriction: Option<String>,
    /// `addresses`: space-separated recipients, multi-word ones in double quotes (required for `Private`).
    pub addresses: Option<String>,
    /// `code`: special handling codes, one per element.
    pub codes: Vec<String>,
    /// `note`: explanatory text.
    pub note: Option<String>,
    /// `references`: earlier messages this one refers to (required for Update, Cancel, Ack, Error).
    pub references: Vec<Reference>,
    /// `incidents`: incident identifiers, written space-separated.
    pub incidents: Vec<String>,
    /// `info` blocks, usually one per language.
    pub infos: Vec<Info>,
    /// XML signatures (`ds:Signature` and other xmldsig elements) that follow the CAP elements.
    pub signatures: Vec<XmlElement>,
}

/// One entry of `alert/references`: `sender,identifier,sent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The referenced message's sender.
    pub sender: String,
    /// The referenced message's identifier.
    pub identifier: String,
    /// The referenced message's `sent` time.
    pub sent: CapDateTime,
}

/// `info`: the event, its urgency, severity, certainty, texts, parameters, resources and areas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// `language` (RFC 3066 code). Absent means `en-US`.
    pub language: Option<String>,
    /// `category`: at least one.
    pub categories: Vec<Category>,
    /// `event`: the type of the subject event.
    pub event: String,
    /// `responseType`: recommended actions.
    pub response_types: Vec<ResponseType>,
    /// `urgency`.
    pub urgency: Urgency,
    /// `severity`.
    pub severity: Severity,
    /// `certainty`.
    pub certainty: Certainty,
    /// `audience`.
    pub audience: Option<String>,
    /// `eventCode`: system-specific event codes.
    pub event_codes: Vec<NameValue>,
    /// `effective`: when the information becomes effective.
    pub effective: Option<CapDateTime>,
    /// `onset`: expected onset of the event.
    pub onset: Option<CapDateTime>,
    /// `expires`: when the information expires.
    pub expires: Option<CapDateTime>,
    /// `senderName`: human-readable issuer name.
    pub sender_name: Option<String>,
    /// `headline`.
    pub headline: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `instruction`: recommended action.
    pub instruction: Option<String>,
    /// `web`: URI with more information.
    pub web: Option<String>,
    /// `contact`.
    pub contact: Option<String>,
    /// `parameter`: system-specific parameters (the China profile puts colour and level here).
    pub parameters: Vec<NameValue>,
    /// `resource`: attached files.
    pub resources: Vec<Resource>,
    /// `area`: affected areas.
    pub areas: Vec<Area>,
}

/// A `valueName`/`value` pair (`eventCode`, `parameter`, `geocode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NameValue {
    /// `valueName`: the system or domain of the value.
    pub value_name: String,
    /// `value`.
    pub value: String,
}

impl NameValue {
    /// Builds a pair.
    pub fn new(value_name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { value_name: value_name.into(), value: value.into() }
    }
}

/// `resource`: a file attached by reference (`uri`) or embedded (`derefUri`, base64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// `resourceDesc`.
    pub resource_desc: String,
    /// `mimeType` (RFC 2046).
    pub mime_type: String,
    /// `size` in bytes.
    pub size: Option<u64>,
    /// `uri`.
    pub uri: Option<String>,
    /// `derefUri`: the base64 content itself.
    pub deref_uri: Option<String>,
    /// `digest`: SHA-1 hex of the resource.
    pub digest: Option<String>,
}

/// `area`: a description plus polygons, circles, geocodes and an optional altitude band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    /// `areaDesc`.
    pub area_desc: String,
    /// `polygon`s (WGS-84).
    pub polygons: Vec<Polygon>,
    /// `circle`s (WGS-84, radius in km).
    pub circles: Vec<Circle>,
    /// `geocode`s; in China the division code.
    pub geocodes: Vec<NameValue>,
    /// `altitude` in feet above mean sea level (or the base of the band with `ceiling`).
    pub altitude: Option<f64>,
    /// `ceiling` in feet; only with `altitude`.
    pub ceiling: Option<f64>,
}

/// A WGS-84 coordinate pair as CAP writes it (`lat,lon`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
}

impl Point {
    /// Builds a point (no range check; parsing checks ranges).
    pub fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }
}

/// A closed polygon: at least four points, the first equal to the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    /// The ring, closing point included.
    pub points: Vec<Point>,
}

/// A circle: centre and radius in kilometres (> 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Circle {
    /// The centre.
    pub center: Point,
    /// Radius in kilometres.
    pub radius_km: f64,
}

/// A foreign-namespace XML element (used for `ds:Signature`), kept with its prefixes and
/// namespace declarations so that QName values such as `xsi:type="ds:KeyValueType"` still
/// resolve after re-writing.
///
/// On the outermost element, parsing adds the declarations inherited from `alert` (and the
/// default namespace when it is not CAP's), so the element stands on its own. The writer
/// declares whatever is still unbound, so hand-built elements need no declarations; they
/// round-trip exactly when their declarations are explicit. The structure round-trips, not
/// the bytes: an enveloped XML signature no longer verifies after canonical re-writing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmlElement {
    /// Namespace URI, `None` for no namespace.
    pub namespace: Option<String>,
    /// Prefix as written (`ds` in `ds:Signature`), `None` for the default namespace.
    pub prefix: Option<String>,
    /// Local name.
    pub name: String,
    /// Namespace declarations made on this element, in document order.
    pub namespace_declarations: Vec<NamespaceDeclaration>,
    /// Attributes other than namespace declarations, in document order.
    pub attributes: Vec<XmlAttribute>,
    /// Child elements and text, in document order; whitespace between elements is dropped.
    pub children: Vec<XmlNode>,
}

/// An `xmlns` or `xmlns:prefix` declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceDeclaration {
    /// The prefix, `None` for the default namespace.
    pub prefix: Option<String>,
    /// The URI; empty un-declares the default namespace.
    pub uri: String,
}

/// An attribute of an [`XmlElement`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmlAttribute {
    /// Namespace URI, `None` for an unprefixed attribute.
    pub namespace: Option<String>,
    /// Prefix as written, `None` for an unprefixed attribute.
    pub prefix: Option<String>,
    /// Local name.
    pub name: String,
    /// Unescaped value.
    pub value: String,
}

/// A child of an [`XmlElement`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum XmlNode {
    /// A nested element.
    Element(XmlElement),
    /// Character data (text or CDATA), unescaped.
    Text(String),
}

impl Alert {
    /// A minimal alert with the required elements and nothing else.
    pub fn new(
        identifier: impl Into<String>,
        sender: impl Into<String>,
        sent: CapDateTime,
        status: Status,
        msg_type: MsgType,
        scope: Scope,
    ) -> Self {
        Self {
            identifier: identifier.into(),
            sender: sender.into(),
            sent,
            status,
            msg_type,
            source: None,
            scope,
            restriction: None,
            addresses: None,
            codes: Vec::new(),
            note: None,
            references: Vec::new(),
            incidents: Vec::new(),
            infos: Vec::new(),
            signatures: Vec::new(),
        }
    }
}

impl Info {
    /// A minimal info block with the required elements and nothing else.
    pub fn new(
        category: Category,
        event: impl Into<String>,
        urgency: Urgency,
        severity: Severity,
        certainty: Certainty,
    ) -> Self {
        Self {
            language: None,
            categories: vec![category],
            event: event.into(),
            response_types: Vec::new(),
            urgency,
            severity,
            certainty,
            audience: None,
            event_codes: Vec::new(),
            effective: None,
            onset: None,
            expires: None,
            sender_name: None,
            headline: None,
            description: None,
            instruction: None,
            web: None,
            contact: None,
            parameters: Vec::new(),
            resources: Vec::new(),
            areas: Vec::new(),
        }
    }

    /// The first parameter named `value_name`, if any.
    pub fn parameter(&self, value_name: &str) -> Option<&str> {
        self.parameters.iter().find(|p| p.value_name == value_name).map(|p| p.value.as_str())
    }

    /// The language, with the CAP default `en-US` when absent.
    pub fn language_or_default(&self) -> &str {
        self.language.as_deref().unwrap_or("en-US")
    }
}

impl Area {
    /// An area with only its description.
    pub fn new(area_desc: impl Into<String>) -> Self {
        Self {
            area_desc: area_desc.into(),
            polygons: Vec::new(),
            circles: Vec::new(),
            geocodes: Vec::new(),
            altitude: None,
            ceiling: None,
        }
    }
}
