//! Canonical CAP 1.2 writing: UTF-8, an XML declaration, the CAP namespace as default
//! namespace, elements in schema order indented by two spaces, UTC written `-00:00`,
//! numbers in shortest round-trip form, empty optional elements left out.
//!
//! The output validates against the official `CAP-v1.2.xsd` whenever the [`Alert`] obeys the
//! rules [`crate::parse`] checks (use [`validate`] for alerts built in code). Signatures are
//! written back as elements with fresh namespace declarations; since the text around them is
//! re-formatted, an enveloped XML signature no longer verifies after normalisation.

use std::fmt::Write as _;

use crate::error::CapErrors;
use crate::model::{Alert, Area, Info, NameValue, Resource, XmlElement, XmlNode};
use crate::CAP_NAMESPACE;

const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// Writes an alert as canonical CAP 1.2 XML.
pub fn write(alert: &Alert) -> String {
    let mut w = Writer::default();
    w.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(w.out, "<alert xmlns=\"{CAP_NAMESPACE}\">");
    w.depth = 1;
    w.leaf("identifier", &alert.identifier);
    w.leaf("sender", &alert.sender);
    w.leaf("sent", &alert.sent.to_string());
    w.leaf("status", alert.status.as_str());
    w.leaf("msgType", alert.msg_type.as_str());
    w.opt("source", &alert.source);
    w.leaf("scope", alert.scope.as_str());
    w.opt("restriction", &alert.restriction);
    w.opt("addresses", &alert.addresses);
    for code in &alert.codes {
        w.leaf("code", code);
    }
    w.opt("note", &alert.note);
    if !alert.references.is_empty() {
        let refs: Vec<String> =
            alert.references.iter().map(|r| format!("{},{},{}", r.sender, r.identifier, r.sent)).collect();
        w.leaf("references", &refs.join(" "));
    }
    if !alert.incidents.is_empty() {
        w.leaf("incidents", &alert.incidents.join(" "));
    }
    for info in &alert.infos {
        w.info(info);
    }
    for sig in &alert.signatures {
        w.indent();
        let mut scope = vec![(None, CAP_NAMESPACE.to_string())];
        xml_element(&mut w.out, sig, &mut scope);
        w.out.push('\n');
    }
    w.out.push_str("</alert>\n");
    w.out
}

/// Checks an alert built in code by writing it and reading it back: `Ok` means the written
/// form is a valid CAP 1.2 message that parses to the same alert. Lines in errors refer to
/// the canonical form ([`write()`]).
pub fn validate(alert: &Alert) -> Result<(), CapErrors> {
    let xml = write(alert);
    let opts = crate::dom::ParseOptions { max_bytes: usize::MAX, ..Default::default() };
    let back = crate::parse::parse_with(xml.as_bytes(), &opts)?;
    if &back == alert {
        Ok(())
    } else {
        Err(crate::error::CapError::new(
            0,
            "alert",
            crate::error::Rule::Malformed {
                detail: "the alert holds values CAP cannot carry (empty optional text, \
                         sub-second times or non-finite numbers)"
                    .into(),
            },
        )
        .into())
    }
}

#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        if text.is_empty() {
            let _ = writeln!(self.out, "<{name}/>");
        } else {
            let _ = write!(self.out, "<{name}>");
            escape_text(&mut self.out, text);
            let _ = writeln!(self.out, "</{name}>");
        }
    }

    fn opt(&mut self, name: &str, text: &Option<String>) {
        if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
            self.leaf(name, t);
        }
    }

    fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }

    fn pair(&mut self, name: &str, nv: &NameValue) {
        self.open(name);
        self.leaf("valueName", &nv.value_name);
        self.leaf("value", &nv.value);
        self.close(name);
    }

    fn info(&mut self, info: &Info) {
        self.open("info");
        self.opt("language", &info.language);
        for c in &info.categories {
            self.leaf("category", c.as_str());
        }
        self.leaf("event", &info.event);
        for r in &info.response_types {
            self.leaf("responseType", r.as_str());
        }
        self.leaf("urgency", info.urgency.as_str());
        self.leaf("severity", info.severity.as_str());
        self.leaf("certainty", info.certainty.as_str());
        self.opt("audience", &info.audience);
        for ec in &info.event_codes {
            self.pair("eventCode", ec);
        }
        for (name, t) in [("effective", info.effective), ("onset", info.onset), ("expires", info.expires)] {
            if let Some(t) = t {
                self.leaf(name, &t.to_string());
            }
        }
        self.opt("senderName", &info.sender_name);
        self.opt("headline", &info.headline);
        self.opt("description", &info.description);
        self.opt("instruction", &info.instruction);
        self.opt("web", &info.web);
        self.opt("contact", &info.contact);
        for p in &info.parameters {
            self.pair("parameter", p);
        }
        for r in &info.resources {
            self.resource(r);
        }
        for a in &info.areas {
            self.area(a);
        }
        self.close("info");
    }

    fn resource(&mut self, r: &Resource) {
        self.open("resource");
        self.leaf("resourceDesc", &r.resource_desc);
        self.leaf("mimeType", &r.mime_type);
        if let Some(size) = r.size {
            self.leaf("size", &size.to_string());
        }
        self.opt("uri", &r.uri);
        self.opt("derefUri", &r.deref_uri);
        self.opt("digest", &r.digest);
        self.close("resource");
    }

    fn area(&mut self, a: &Area) {
        self.open("area");
        self.leaf("areaDesc", &a.area_desc);
        for p in &a.polygons {
            let pairs: Vec<String> = p.points.iter().map(|pt| format!("{},{}", pt.lat, pt.lon)).collect();
            self.leaf("polygon", &pairs.join(" "));
        }
        for c in &a.circles {
            let text = format!("{},{} {}", c.center.lat, c.center.lon, c.radius_km);
            self.leaf("circle", &text);
        }
        for g in &a.geocodes {
            self.pair("geocode", g);
        }
        if let Some(alt) = a.altitude {
            self.leaf("altitude", &alt.to_string());
        }
        if let Some(ceiling) = a.ceiling {
            self.leaf("ceiling", &ceiling.to_string());
        }
        self.close("area");
    }
}

/// Escapes character data; `\r` becomes a reference so that it survives end-of-line handling.
fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// In-scope namespace bindings while writing a foreign element: (prefix, URI), innermost last.
type Scope = Vec<(Option<String>, String)>;

fn lookup<'a>(scope: &'a Scope, prefix: Option<&str>) -> Option<&'a str> {
    scope.iter().rev().find(|(p, _)| p.as_deref() == prefix).map(|(_, uri)| uri.as_str())
}

fn declare(scope: &mut Scope, tag: &mut String, prefix: Option<&str>, uri: &str) {
    match prefix {
        Some(p) => {
            let _ = write!(tag, " xmlns:{p}=\"");
        }
        None => tag.push_str(" xmlns=\""),
    }
    escape_attr(tag, uri);
    tag.push('"');
    scope.push((prefix.map(String::from), uri.to_string()));
}

/// Writes a foreign element on one line: its own declarations first, then whatever its
/// element and attribute names still need (generated attribute prefixes are `a0`, `a1` ...).
fn xml_element(out: &mut String, el: &XmlElement, scope: &mut Scope) {
    let mark = scope.len();
    let mut decls = String::new();
    for d in &el.namespace_declarations {
        // A prefix cannot be bound to the empty URI in XML 1.0; skip such a declaration.
        if d.prefix.is_some() && d.uri.is_empty() {
            continue;
        }
        declare(scope, &mut decls, d.prefix.as_deref(), &d.uri);
    }
    let uri = el.namespace.as_deref().unwrap_or("");
    // An element in no namespace cannot carry a prefix.
    let prefix = el.prefix.as_deref().filter(|_| !uri.is_empty());
    if lookup(scope, prefix).unwrap_or("") != uri {
        declare(scope, &mut decls, prefix, uri);
    }
    let qname = match prefix {
        Some(p) => format!("{p}:{}", el.name),
        None => el.name.clone(),
    };
    let mut attrs = String::new();
    for (i, attr) in el.attributes.iter().enumerate() {
        attrs.push(' ');
        match attr.namespace.as_deref() {
            None => {}
            Some(XML_NAMESPACE) => attrs.push_str("xml:"),
            Some(ns) => {
                let wanted = attr.prefix.as_deref();
                let p = match wanted {
                    Some(p) if lookup(scope, Some(p)) == Some(ns) => p.to_string(),
                    Some(p) if lookup(scope, Some(p)).is_none() => {
                        declare(scope, &mut decls, Some(p), ns);
                        p.to_string()
                    }
                    _ => {
                        let p = format!("a{i}");
                        declare(scope, &mut decls, Some(&p), ns);
                        p
                    }
                };
                attrs.push_str(&p);
                attrs.push(':');
            }
        }
        attrs.push_str(&attr.name);
        attrs.push_str("=\"");
        escape_attr(&mut attrs, &attr.value);
        attrs.push('"');
    }
    out.push('<');
    out.push_str(&qname);
    out.push_str(&decls);
    out.push_str(&attrs);
    if el.children.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        for child in &el.children {
            match child {
                XmlNode::Element(e) => xml_element(out, e, scope),
                XmlNode::Text(t) => escape_text(out, t),
            }
        }
        out.push_str("</");
        out.push_str(&qname);
        out.push('>');
    }
    scope.truncate(mark);
}
