//! Safe reading of untrusted XML into a small element tree with line numbers.
//!
//! The guards run before any tree is built: a size limit on the raw bytes, a decoding step
//! (UTF-8 with or without BOM, UTF-16 with BOM), refusal of any DTD (so no entity is ever
//! defined, let alone expanded: billion-laughs and external entities cannot happen), refusal
//! of undefined entity references, characters outside XML 1.0, and a nesting limit. Nothing
//! is ever fetched from the network. Memory stays proportional to the (bounded) input.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::{CapError, Rule};

/// Limits applied while reading a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Largest accepted message in bytes (default 5 MiB).
    pub max_bytes: usize,
    /// Deepest accepted element nesting (default 64; CAP itself needs 5, signatures about 7).
    pub max_depth: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { max_bytes: 5 * 1024 * 1024, max_depth: 64 }
    }
}

/// An attribute after namespace resolution (namespace declarations are not kept).
#[derive(Debug, Clone)]
pub(crate) struct DomAttr {
    pub ns: Option<String>,
    pub prefix: Option<String>,
    pub local: String,
    pub qname: String,
    pub value: String,
}

/// An element after namespace resolution.
#[derive(Debug, Clone)]
pub(crate) struct Dom {
    pub ns: Option<String>,
    pub prefix: Option<String>,
    pub local: String,
    /// Namespace declarations made on this element: (prefix, URI).
    pub decls: Vec<(Option<String>, String)>,
    pub line: usize,
    pub attrs: Vec<DomAttr>,
    pub children: Vec<DomNode>,
}

/// Child of an element.
#[derive(Debug, Clone)]
pub(crate) enum DomNode {
    Elem(Dom),
    Text(String),
}

/// Maps byte offsets to 1-based line numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    fn line(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s <= pos)
    }
}

fn doc_error(line: usize, rule: Rule) -> CapError {
    CapError::new(line, "", rule)
}

/// Finds `encoding="..."` in an XML declaration at the start of ASCII-compatible bytes.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(256)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start().strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

fn decode_utf16(bytes: &[u8], little_endian: bool) -> Result<String, CapError> {
    if !bytes.chunks_exact(2).remainder().is_empty() {
        return Err(doc_error(0, Rule::Encoding { label: "UTF-16 (odd byte count)".into() }));
    }
    let units = bytes.chunks_exact(2).map(|c| {
        if little_endian {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| doc_error(0, Rule::Encoding { label: "UTF-16 (unpaired surrogate)".into() }))
}

/// Decodes the raw message to text and normalises line ends as XML 1.0 §2.11 asks.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, CapError> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        utf8(rest)?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        decode_utf16(rest, true)?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        decode_utf16(rest, false)?
    } else if bytes.starts_with(b"<\0?\0") {
        decode_utf16(bytes, true)?
    } else if bytes.starts_with(b"\0<\0?") {
        decode_utf16(bytes, false)?
    } else {
        match declared_encoding(bytes) {
            None => utf8(bytes)?,
            Some(label) => match label.to_ascii_lowercase().as_str() {
                "utf-8" | "utf8" | "us-ascii" | "ascii" => utf8(bytes)?,
                // Latin-1 maps each byte to the code point of the same value.
                "iso-8859-1" | "latin1" | "iso8859-1" | "l1" => bytes.iter().map(|&b| char::from(b)).collect(),
                _ => return Err(doc_error(1, Rule::Encoding { label })),
            },
        }
    };
    if text.contains('\r') {
        Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Ok(text)
    }
}

fn utf8(bytes: &[u8]) -> Result<String, CapError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        doc_error(line, Rule::Encoding { label: format!("invalid UTF-8 at byte {at}") })
    })
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn check_chars(text: &str, lines: &LineIndex, base: usize) -> Result<(), CapError> {
    match text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        None => Ok(()),
        Some((i, c)) => Err(doc_error(lines.line(base + i), Rule::InvalidChar { code: c as u32 })),
    }
}

fn ns_of(resolved: &ResolveResult, line: usize, qname: &str) -> Result<Option<String>, CapError> {
    match resolved {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unknown(prefix) => Err(doc_error(
            line,
            Rule::Malformed {
                detail: format!("namespace prefix `{}` of `{qname}` is not declared", String::from_utf8_lossy(prefix)),
            },
        )),
    }
}

fn malformed(line: usize, err: quick_xml::Error) -> CapError {
    use quick_xml::escape::EscapeError;
    match err {
        quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => doc_error(line, Rule::Entity { name }),
        other => doc_error(line, Rule::Malformed { detail: other.to_string() }),
    }
}

/// Reads a whole message into a tree, enforcing every guard of [`ParseOptions`].
pub(crate) fn read(bytes: &[u8], opts: &ParseOptions) -> Result<Dom, CapError> {
    if bytes.len() > opts.max_bytes {
        return Err(doc_error(0, Rule::TooLarge { limit: opts.max_bytes, size: bytes.len() }));
    }
    let text = decode(bytes)?;
    let lines = LineIndex::new(&text);
    check_chars(&text, &lines, 0)?;

    let mut reader = NsReader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Dom> = Vec::new();
    let mut root: Option<Dom> = None;

    loop {
        let pos = reader.buffer_position() as usize;
        let line = lines.line(pos);
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(pair) => pair,
            Err(e) => {
                let at = reader.error_position() as usize;
                return Err(malformed(lines.line(at), e));
            }
        };
        match event {
            Event::DocType(_) => return Err(doc_error(line, Rule::Dtd)),
            Event::Start(ref start) | Event::Empty(ref start) => {
                let qname = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                let ns = ns_of(&resolved, line, &qname)?;
                let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if root.is_some() {
                    return Err(doc_error(
                        line,
                        Rule::Malformed { detail: format!("content after the root element: <{qname}>") },
                    ));
                }
                if stack.len() >= opts.max_depth {
                    return Err(doc_error(line, Rule::TooDeep { limit: opts.max_depth }));
                }
                let mut attrs = Vec::new();
                let mut decls = Vec::new();
                for attr in start.attributes().with_checks(true) {
                    let attr = attr.map_err(|e| malformed(line, e.into()))?;
                    let key = attr.key.as_ref();
                    if key == b"xmlns" || key.starts_with(b"xmlns:") {
                        let uri = attr.unescape_value().map_err(|e| malformed(line, e))?;
                        let prefix = key.strip_prefix(b"xmlns:").map(|p| String::from_utf8_lossy(p).into_owned());
                        decls.push((prefix, uri.into_owned()));
                        continue;
                    }
                    let aq = String::from_utf8_lossy(key).into_owned();
                    let (ans, alocal) = reader.resolve_attribute(attr.key);
                    let ans = ns_of(&ans, line, &aq)?;
                    let value = attr.unescape_value().map_err(|e| malformed(line, e))?;
                    check_chars(&value, &lines, pos)?;
                    attrs.push(DomAttr {
                        ns: ans,
                        prefix: prefix_of(&aq),
                        local: String::from_utf8_lossy(alocal.as_ref()).into_owned(),
                        qname: aq,
                        value: value.into_owned(),
                    });
                }
                let node = Dom { ns, prefix: prefix_of(&qname), local, decls, line, attrs, children: Vec::new() };
                if matches!(event, Event::Empty(_)) {
                    close(node, &mut stack, &mut root);
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| doc_error(line, Rule::Malformed { detail: "end tag without start tag".into() }))?;
                close(node, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|e| malformed(line, e))?;
                check_chars(&value, &lines, pos)?;
                add_text(&mut stack, &value, line)?;
            }
            Event::CData(c) => {
                let value = String::from_utf8_lossy(&c.into_inner()).into_owned();
                add_text(&mut stack, &value, line)?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(doc_error(
            lines.line(text.len()),
            Rule::Malformed { detail: format!("element <{}> is not closed", open.local) },
        ));
    }
    root.ok_or_else(|| doc_error(0, Rule::Malformed { detail: "no root element".into() }))
}

fn prefix_of(qname: &str) -> Option<String> {
    qname.split_once(':').map(|(p, _)| p.to_string())
}

fn close(node: Dom, stack: &mut [Dom], root: &mut Option<Dom>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(DomNode::Elem(node)),
        None => *root = Some(node),
    }
}

fn add_text(stack: &mut [Dom], value: &str, line: usize) -> Result<(), CapError> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(DomNode::Text(prev)) = parent.children.last_mut() {
                prev.push_str(value);
            } else if !value.is_empty() {
                parent.children.push(DomNode::Text(value.to_string()));
            }
            Ok(())
        }
        None if value.trim().is_empty() => Ok(()),
        None => Err(doc_error(line, Rule::Malformed { detail: "text outside the root element".into() })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_one_based() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
    }

    #[test]
    fn decodes_boms_and_declared_latin1() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&utf16).unwrap(), "<a>é</a>");
        assert_eq!(decode(b"\xEF\xBB\xBF<a/>").unwrap(), "<a/>");
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xE9</a>";
        assert!(decode(latin).unwrap().ends_with("<a>é</a>"));
        let gbk = b"<?xml version=\"1.0\" encoding=\"GBK\"?><a/>";
        assert_eq!(decode(gbk).unwrap_err().rule.code(), "xml-encoding");
        assert_eq!(decode(b"<a>\r\nb\rc</a>").unwrap(), "<a>\nb\nc</a>");
    }
}
