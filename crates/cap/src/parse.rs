//! Reading CAP 1.2: from bytes to the typed [`Alert`], collecting every problem with its line,
//! element path and rule instead of stopping at the first one.
//!
//! Accepted beyond the bare schema: any namespace prefix, byte-order marks, UTF-16, XML
//! signatures (kept as [`XmlElement`]s), `xsi:` attributes, empty optional elements (read as
//! absent). Checked beyond the schema: numeric time offsets, closed polygons of at least four
//! pairs, `lat,lon radius` circles with radius > 0, references on Update/Cancel/Ack/Error,
//! `restriction`/`addresses` for Restricted/Private, `ceiling` only with `altitude`.

use std::collections::HashMap;

use crate::datetime::CapDateTime;
use crate::dom::{self, Dom, DomNode, ParseOptions};
use crate::error::{CapError, CapErrors, Rule};
use crate::model::{
    Alert, Area, Category, Certainty, Circle, Info, MsgType, NameValue, NamespaceDeclaration, Point, Polygon,
    Reference, Resource, ResponseType, Scope, Severity, Status, Urgency, XmlAttribute, XmlElement, XmlNode,
};
use crate::{CAP_NAMESPACE, XMLDSIG_NAMESPACE, XSI_NAMESPACE};

/// Parses a CAP 1.2 message with the default limits ([`ParseOptions::default`]).
pub fn parse(bytes: &[u8]) -> Result<Alert, CapErrors> {
    parse_with(bytes, &ParseOptions::default())
}

/// Parses a CAP 1.2 message with explicit limits (maximum size, nesting depth).
pub fn parse_with(bytes: &[u8], opts: &ParseOptions) -> Result<Alert, CapErrors> {
    parse_located(bytes, opts).map(|(alert, _)| alert)
}

/// Line numbers of the elements of a parsed message, by path (`alert/info[1]/parameter[2]`).
#[derive(Debug, Clone, Default)]
pub struct Locations {
    lines: HashMap<String, usize>,
}

impl Locations {
    /// The line of the element at `path`, or of its nearest recorded ancestor; 0 if none.
    pub fn line(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(&line) = self.lines.get(p) {
                return line;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 0,
            }
        }
    }
}

/// Parses like [`parse_with`] and also returns where each element was, so that checks made
/// later on the model (such as [`crate::china::check`]) can report lines.
pub fn parse_located(bytes: &[u8], opts: &ParseOptions) -> Result<(Alert, Locations), CapErrors> {
    let root = dom::read(bytes, opts)?;
    let mut ctx = Ctx::default();
    ctx.locations.lines.insert("alert".into(), root.line);
    let alert = ctx.alert(&root);
    match alert {
        Some(alert) if ctx.errors.is_empty() => Ok((alert, ctx.locations)),
        _ => {
            if ctx.errors.is_empty() {
                // Defensive: a value missing without a recorded reason.
                ctx.errors.push(CapError::new(root.line, "alert", Rule::Missing { child: "alert".into() }));
            }
            ctx.errors.sort_by_key(|e| e.line);
            Err(CapErrors(ctx.errors))
        }
    }
}

/// One child element allowed by the schema: name, required, repeatable.
struct Field(&'static str, bool, bool);

const ALERT: &[Field] = &[
    Field("identifier", true, false),
    Field("sender", true, false),
    Field("sent", true, false),
    Field("status", true, false),
    Field("msgType", true, false),
    Field("source", false, false),
    Field("scope", true, false),
    Field("restriction", false, false),
    Field("addresses", false, false),
    Field("code", false, true),
    Field("note", false, false),
    Field("references", false, false),
    Field("incidents", false, false),
    Field("info", false, true),
];

const INFO: &[Field] = &[
    Field("language", false, false),
    Field("category", true, true),
    Field("event", true, false),
    Field("responseType", false, true),
    Field("urgency", true, false),
    Field("severity", true, false),
    Field("certainty", true, false),
    Field("audience", false, false),
    Field("eventCode", false, true),
    Field("effective", false, false),
    Field("onset", false, false),
    Field("expires", false, false),
    Field("senderName", false, false),
    Field("headline", false, false),
    Field("description", false, false),
    Field("instruction", false, false),
    Field("web", false, false),
    Field("contact", false, false),
    Field("parameter", false, true),
    Field("resource", false, true),
    Field("area", false, true),
];

const RESOURCE: &[Field] = &[
    Field("resourceDesc", true, false),
    Field("mimeType", true, false),
    Field("size", false, false),
    Field("uri", false, false),
    Field("derefUri", false, false),
    Field("digest", false, false),
];

const AREA: &[Field] = &[
    Field("areaDesc", true, false),
    Field("polygon", false, true),
    Field("circle", false, true),
    Field("geocode", false, true),
    Field("altitude", false, false),
    Field("ceiling", false, false),
];

const NAME_VALUE: &[Field] = &[Field("valueName", true, false), Field("value", true, false)];

/// A child accepted by [`Ctx::children`]: its field name, element and path.
struct Child<'a> {
    name: &'static str,
    el: &'a Dom,
    path: String,
}

#[derive(Default)]
struct Ctx {
    errors: Vec<CapError>,
    locations: Locations,
}

fn display_name(el: &Dom) -> String {
    match el.ns.as_deref() {
        Some(CAP_NAMESPACE) => el.local.clone(),
        Some(ns) => format!("{{{ns}}}{}", el.local),
        None => el.local.clone(),
    }
}

impl Ctx {
    fn err(&mut self, line: usize, path: &str, rule: Rule) {
        self.errors.push(CapError::new(line, path, rule));
    }

    /// Only `xsi:` attributes (schemaLocation, type ...) may appear on CAP elements.
    fn check_attrs(&mut self, el: &Dom, path: &str) {
        for attr in &el.attrs {
            if attr.ns.as_deref() != Some(XSI_NAMESPACE) {
                self.err(el.line, path, Rule::UnexpectedAttribute { name: attr.qname.clone() });
            }
        }
    }

    /// Checks the children of `parent` against the schema sequence `fields` and returns the
    /// accepted ones in order, plus the trailing xmldsig elements when `dsig` is allowed.
    fn children<'a>(
        &mut self,
        parent: &'a Dom,
        path: &str,
        fields: &[Field],
        dsig: bool,
    ) -> (Vec<Child<'a>>, Vec<&'a Dom>) {
        self.check_attrs(parent, path);
        let mut out = Vec::new();
        let mut signatures = Vec::new();
        let mut counts = vec![0usize; fields.len()];
        let mut last = 0usize;
        for node in &parent.children {
            let el = match node {
                DomNode::Text(t) => {
                    if !t.trim().is_empty() {
                        self.err(parent.line, path, Rule::UnexpectedText);
                    }
                    continue;
                }
                DomNode::Elem(el) => el,
            };
            let child_path = format!("{path}/{}", display_name(el));
            if el.ns.as_deref() == Some(XMLDSIG_NAMESPACE) && dsig {
                signatures.push(el);
                continue;
            }
            let index = if el.ns.as_deref() == Some(CAP_NAMESPACE) {
                fields.iter().position(|f| f.0 == el.local)
            } else {
                None
            };
            let Some(i) = index else {
                self.err(el.line, &child_path, Rule::UnexpectedElement { parent: parent.local.clone() });
                continue;
            };
            if let Some(sig) = signatures.first() {
                self.err(el.line, &child_path, Rule::Misplaced { before: sig.local.clone() });
                continue;
            }
            if i < last {
                self.err(el.line, &child_path, Rule::Misplaced { before: fields[last].0.to_string() });
                continue;
            }
            if counts[i] > 0 && !fields[i].2 {
                self.err(el.line, &child_path, Rule::Duplicate);
                continue;
            }
            counts[i] += 1;
            last = i;
            let indexed = if fields[i].2 { format!("{child_path}[{}]", counts[i]) } else { child_path };
            self.locations.lines.insert(indexed.clone(), el.line);
            out.push(Child { name: fields[i].0, el, path: indexed });
        }
        for (field, count) in fields.iter().zip(&counts) {
            if field.1 && *count == 0 {
                self.err(parent.line, path, Rule::Missing { child: field.0.to_string() });
            }
        }
        (out, signatures)
    }

    /// The text of a leaf element (child elements are errors).
    fn text(&mut self, c: &Child) -> String {
        self.check_attrs(c.el, &c.path);
        let mut text = String::new();
        for node in &c.el.children {
            match node {
                DomNode::Text(t) => text.push_str(t),
                DomNode::Elem(inner) => self.err(
                    inner.line,
                    &format!("{}/{}", c.path, display_name(inner)),
                    Rule::UnexpectedElement { parent: c.el.local.clone() },
                ),
            }
        }
        text
    }

    /// An optional string element: empty means absent.
    fn opt_text(&mut self, c: &Child) -> Option<String> {
        Some(self.text(c)).filter(|t| !t.is_empty())
    }

    fn enumerated<T: Copy>(
        &mut self,
        c: &Child,
        from: fn(&str) -> Option<T>,
        allowed: &'static [&'static str],
    ) -> Option<T> {
        let text = self.text(c);
        let value = from(text.trim());
        if value.is_none() {
            self.err(c.el.line, &c.path, Rule::Enumeration { value: text, allowed });
        }
        value
    }

    fn time(&mut self, c: &Child) -> Option<CapDateTime> {
        let text = self.text(c);
        match CapDateTime::parse(&text) {
            Ok(t) => Some(t),
            Err(kind) => {
                self.err(c.el.line, &c.path, Rule::DateTime { value: text, kind });
                None
            }
        }
    }

    /// An optional time: empty means absent.
    fn opt_time(&mut self, c: &Child) -> Option<CapDateTime> {
        if self.text(c).trim().is_empty() {
            return None;
        }
        self.time(c)
    }

    fn opt_decimal(&mut self, c: &Child) -> Option<f64> {
        let text = self.text(c);
        if text.trim().is_empty() {
            return None;
        }
        let value = decimal(text.trim());
        if value.is_none() {
            self.err(c.el.line, &c.path, Rule::Decimal { value: text });
        }
        value
    }

    fn identifier_like(&mut self, c: &Child) -> String {
        let text = self.text(c);
        if text.is_empty() || text.contains([' ', ',', '<', '&', '\t', '\n']) {
            self.err(c.el.line, &c.path, Rule::Identifier { value: text.clone() });
        }
        text
    }

    fn alert(&mut self, root: &Dom) -> Option<Alert> {
        if root.local != "alert" || root.ns.as_deref() != Some(CAP_NAMESPACE) {
            self.err(root.line, &display_name(root), Rule::NotCap { namespace: root.ns.clone() });
            return None;
        }
        let (children, signatures) = self.children(root, "alert", ALERT, true);
        let mut identifier = None;
        let mut sender = None;
        let mut sent = None;
        let mut status = None;
        let mut msg_type = None;
        let mut msg_type_line = root.line;
        let mut scope = None;
        let mut source = None;
        let mut restriction = None;
        let mut addresses = None;
        let mut codes = Vec::new();
        let mut note = None;
        let mut references = Vec::new();
        let mut incidents = Vec::new();
        let mut infos = Vec::new();
        let mut complete = true;
        for c in &children {
            match c.name {
                "identifier" => identifier = Some(self.identifier_like(c)),
                "sender" => sender = Some(self.identifier_like(c)),
                "sent" => sent = self.time(c),
                "status" => status = self.enumerated(c, Status::from_cap, Status::NAMES),
                "msgType" => {
                    msg_type_line = c.el.line;
                    msg_type = self.enumerated(c, MsgType::from_cap, MsgType::NAMES);
                }
                "source" => source = self.opt_text(c),
                "scope" => scope = self.enumerated(c, Scope::from_cap, Scope::NAMES),
                "restriction" => restriction = self.opt_text(c),
                "addresses" => addresses = self.opt_text(c),
                "code" => codes.push(self.text(c)),
                "note" => note = self.opt_text(c),
                "references" => references = self.references(c),
                "incidents" => {
                    incidents = self.text(c).split_whitespace().map(String::from).collect();
                }
                "info" => match self.info(c) {
                    Some(info) => infos.push(info),
                    None => complete = false,
                },
                _ => {}
            }
        }
        if let Some(t) = msg_type {
            if t != MsgType::Alert && references.is_empty() {
                self.err(msg_type_line, "alert/msgType", Rule::ReferencesRequired { msg_type: t });
            }
        }
        match scope {
            Some(Scope::Restricted) if restriction.is_none() => {
                self.err(root.line, "alert", Rule::ScopeNeeds { scope: Scope::Restricted, needs: "restriction" })
            }
            Some(Scope::Private) if addresses.is_none() => {
                self.err(root.line, "alert", Rule::ScopeNeeds { scope: Scope::Private, needs: "addresses" })
            }
            _ => {}
        }
        let signatures = signatures.into_iter().map(|sig| fragment(sig, &root.decls)).collect();
        if !complete {
            return None;
        }
        Some(Alert {
            identifier: identifier?,
            sender: sender?,
            sent: sent?,
            status: status?,
            msg_type: msg_type?,
            source,
            scope: scope?,
            restriction,
            addresses,
            codes,
            note,
            references,
            incidents,
            infos,
            signatures,
        })
    }

    fn references(&mut self, c: &Child) -> Vec<Reference> {
        let text = self.text(c);
        let mut out = Vec::new();
        for entry in text.split_whitespace() {
            let parts: Vec<&str> = entry.split(',').collect();
            let parsed = match parts.as_slice() {
                [sender, identifier, sent] if !sender.is_empty() && !identifier.is_empty() => CapDateTime::parse(sent)
                    .ok()
                    .map(|sent| Reference { sender: sender.to_string(), identifier: identifier.to_string(), sent }),
                _ => None,
            };
            match parsed {
                Some(r) => out.push(r),
                None => self.err(c.el.line, &c.path, Rule::Reference { value: entry.to_string() }),
            }
        }
        out
    }

    fn name_value(&mut self, c: &Child) -> Option<NameValue> {
        let (children, _) = self.children(c.el, &c.path, NAME_VALUE, false);
        let mut value_name = None;
        let mut value = None;
        for k in &children {
            match k.name {
                "valueName" => value_name = Some(self.text(k)),
                "value" => value = Some(self.text(k)),
                _ => {}
            }
        }
        Some(NameValue { value_name: value_name?, value: value? })
    }

    fn info(&mut self, c: &Child) -> Option<Info> {
        let (children, _) = self.children(c.el, &c.path, INFO, false);
        let mut language = None;
        let mut categories = Vec::new();
        let mut event = None;
        let mut response_types = Vec::new();
        let mut urgency = None;
        let mut severity = None;
        let mut certainty = None;
        let mut info = Info::new(Category::Other, "", Urgency::Unknown, Severity::Unknown, Certainty::Unknown);
        let mut complete = true;
        for k in &children {
            match k.name {
                "language" => {
                    let text = self.text(k);
                    let tag = text.trim();
                    if !tag.is_empty() {
                        if is_language(tag) {
                            language = Some(tag.to_string());
                        } else {
                            self.err(k.el.line, &k.path, Rule::Language { value: text.clone() });
                        }
                    }
                }
                "category" => match self.enumerated(k, Category::from_cap, Category::NAMES) {
                    Some(v) => categories.push(v),
                    None => complete = false,
                },
                "event" => event = Some(self.text(k)),
                "responseType" => match self.enumerated(k, ResponseType::from_cap, ResponseType::NAMES) {
                    Some(v) => response_types.push(v),
                    None => complete = false,
                },
                "urgency" => urgency = self.enumerated(k, Urgency::from_cap, Urgency::NAMES),
                "severity" => severity = self.enumerated(k, Severity::from_cap, Severity::NAMES),
                "certainty" => certainty = self.enumerated(k, Certainty::from_cap, Certainty::NAMES),
                "audience" => info.audience = self.opt_text(k),
                "eventCode" => match self.name_value(k) {
                    Some(v) => info.event_codes.push(v),
                    None => complete = false,
                },
                "effective" => info.effective = self.opt_time(k),
                "onset" => info.onset = self.opt_time(k),
                "expires" => info.expires = self.opt_time(k),
                "senderName" => info.sender_name = self.opt_text(k),
                "headline" => info.headline = self.opt_text(k),
                "description" => info.description = self.opt_text(k),
                "instruction" => info.instruction = self.opt_text(k),
                "web" => info.web = self.opt_text(k),
                "contact" => info.contact = self.opt_text(k),
                "parameter" => match self.name_value(k) {
                    Some(v) => info.parameters.push(v),
                    None => complete = false,
                },
                "resource" => match self.resource(k) {
                    Some(v) => info.resources.push(v),
                    None => complete = false,
                },
                "area" => match self.area(k) {
                    Some(v) => info.areas.push(v),
                    None => complete = false,
                },
                _ => {}
            }
        }
        if !complete {
            return None;
        }
        info.language = language;
        info.categories = categories;
        info.event = event?;
        info.response_types = response_types;
        info.urgency = urgency?;
        info.severity = severity?;
        info.certainty = certainty?;
        Some(info)
    }

    fn resource(&mut self, c: &Child) -> Option<Resource> {
        let (children, _) = self.children(c.el, &c.path, RESOURCE, false);
        let mut desc = None;
        let mut mime = None;
        let mut size = None;
        let mut uri = None;
        let mut deref_uri = None;
        let mut digest = None;
        for k in &children {
            match k.name {
                "resourceDesc" => desc = Some(self.text(k)),
                "mimeType" => mime = Some(self.text(k)),
                "size" => {
                    let text = self.text(k);
                    let t = text.trim();
                    if !t.is_empty() {
                        match integer(t) {
                            Some(n) => size = Some(n),
                            None => self.err(k.el.line, &k.path, Rule::Integer { value: text }),
                        }
                    }
                }
                "uri" => uri = self.opt_text(k),
                // Embedded content may be wrapped over lines; base64 ignores whitespace.
                "derefUri" => deref_uri = self.opt_text(k),
                "digest" => digest = self.opt_text(k),
                _ => {}
            }
        }
        Some(Resource { resource_desc: desc?, mime_type: mime?, size, uri, deref_uri, digest })
    }

    fn area(&mut self, c: &Child) -> Option<Area> {
        let (children, _) = self.children(c.el, &c.path, AREA, false);
        let mut area = Area::new("");
        let mut desc = None;
        let mut ceiling_line = None;
        let mut complete = true;
        for k in &children {
            match k.name {
                "areaDesc" => desc = Some(self.text(k)),
                "polygon" => match self.polygon(k) {
                    Some(p) => area.polygons.push(p),
                    None => complete = false,
                },
                "circle" => match self.circle(k) {
                    Some(p) => area.circles.push(p),
                    None => complete = false,
                },
                "geocode" => match self.name_value(k) {
                    Some(v) => area.geocodes.push(v),
                    None => complete = false,
                },
                "altitude" => area.altitude = self.opt_decimal(k),
                "ceiling" => {
                    area.ceiling = self.opt_decimal(k);
                    ceiling_line = Some((k.el.line, k.path.clone()));
                }
                _ => {}
            }
        }
        if let (Some(_), None, Some((line, path))) = (area.ceiling, area.altitude, ceiling_line) {
            self.err(line, &path, Rule::CeilingWithoutAltitude);
        }
        if !complete {
            return None;
        }
        area.area_desc = desc?;
        Some(area)
    }

    fn point(&mut self, c: &Child, pair: &str) -> Option<Point> {
        let parsed = pair.split_once(',').and_then(|(lat, lon)| {
            let lat = decimal(lat)?;
            let lon = decimal(lon)?;
            ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some(Point { lat, lon })
        });
        if parsed.is_none() {
            self.err(c.el.line, &c.path, Rule::Coordinate { value: pair.to_string() });
        }
        parsed
    }

    fn polygon(&mut self, c: &Child) -> Option<Polygon> {
        let text = self.text(c);
        let mut points = Vec::new();
        let mut ok = true;
        for pair in text.split_whitespace() {
            match self.point(c, pair) {
                Some(p) => points.push(p),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        if points.len() < 4 {
            self.err(c.el.line, &c.path, Rule::PolygonPairs { count: points.len() });
            return None;
        }
        if points.first() != points.last() {
            self.err(c.el.line, &c.path, Rule::PolygonOpen);
            return None;
        }
        Some(Polygon { points })
    }

    fn circle(&mut self, c: &Child) -> Option<Circle> {
        let text = self.text(c);
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let [pair, radius] = tokens.as_slice() else {
            self.err(c.el.line, &c.path, Rule::Circle { value: text.clone() });
            return None;
        };
        let center = self.point(c, pair)?;
        // Radius 0 marks a point (NOAA's tsunami centre does this); only negatives are wrong.
        // Area targeting, not the codec, refuses empty areas.
        match decimal(radius) {
            Some(r) if r >= 0.0 => Some(Circle { center, radius_km: r }),
            _ => {
                self.err(c.el.line, &c.path, Rule::Radius { value: radius.to_string() });
                None
            }
        }
    }
}

/// xs:decimal: optional sign, digits with an optional fraction; no exponent, no NaN.
pub(crate) fn decimal(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// xs:integer restricted to sizes: optional `+`, digits.
fn integer(text: &str) -> Option<u64> {
    let body = text.strip_prefix('+').unwrap_or(text);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    body.parse().ok()
}

/// xs:language: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
pub(crate) fn is_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok =
        parts.next().is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A foreign element directly under `alert`, made self-contained: it also carries the
/// prefixed declarations inherited from `alert` and, when it differs from CAP's, the default
/// namespace in scope.
fn fragment(el: &Dom, inherited: &[(Option<String>, String)]) -> XmlElement {
    let mut out = to_xml_element(el);
    let declared = |p: &Option<String>, out: &XmlElement| out.namespace_declarations.iter().any(|d| &d.prefix == p);
    for (prefix, uri) in inherited {
        if prefix.is_some() && !declared(prefix, &out) {
            out.namespace_declarations.push(NamespaceDeclaration { prefix: prefix.clone(), uri: uri.clone() });
        }
    }
    if !declared(&None, &out) {
        let default = inherited.iter().rev().find(|(p, _)| p.is_none()).map_or("", |(_, uri)| uri.as_str());
        if default != CAP_NAMESPACE {
            out.namespace_declarations.push(NamespaceDeclaration { prefix: None, uri: default.to_string() });
        }
    }
    out
}

fn to_xml_element(el: &Dom) -> XmlElement {
    let has_elements = el.children.iter().any(|n| matches!(n, DomNode::Elem(_)));
    let children = el
        .children
        .iter()
        .filter_map(|n| match n {
            DomNode::Elem(e) => Some(XmlNode::Element(to_xml_element(e))),
            // Whitespace between elements is layout, not content.
            DomNode::Text(t) if has_elements && t.trim().is_empty() => None,
            DomNode::Text(t) => Some(XmlNode::Text(t.clone())),
        })
        .collect();
    XmlElement {
        namespace: el.ns.clone(),
        prefix: el.prefix.clone(),
        name: el.local.clone(),
        namespace_declarations: el
            .decls
            .iter()
            .map(|(prefix, uri)| NamespaceDeclaration { prefix: prefix.clone(), uri: uri.clone() })
            .collect(),
        attributes: el
            .attrs
            .iter()
            .map(|a| XmlAttribute {
                namespace: a.ns.clone(),
                prefix: a.prefix.clone(),
                name: a.local.clone(),
                value: a.value.clone(),
            })
            .collect(),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_follow_xs_decimal() {
        assert_eq!(decimal("31.3"), Some(31.3));
        assert_eq!(decimal("-0.5"), Some(-0.5));
        assert_eq!(decimal("+7"), Some(7.0));
        assert_eq!(decimal(".5"), Some(0.5));
        assert_eq!(decimal("5."), Some(5.0));
        assert_eq!(decimal("1e3"), None);
        assert_eq!(decimal("NaN"), None);
        assert_eq!(decimal("."), None);
        assert_eq!(decimal(""), None);
    }

    #[test]
    fn language_tags() {
        assert!(is_language("zh-CN"));
        assert!(is_language("es-419"));
        assert!(is_language("en"));
        assert!(!is_language("zh_CN"));
        assert!(!is_language("123"));
        assert!(!is_language("zh-"));
    }
}
