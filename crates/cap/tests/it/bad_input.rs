//! Hostile input: XML bombs, DTDs, external entities, oversize and malformed messages are
//! refused with clear errors, before any expansion, without panics or network access.

use std::time::Instant;

use tongxin_cap::{parse, parse_with, ParseOptions};

use crate::written::BASE;

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE alert [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>
"#;

#[test]
fn billion_laughs_is_refused_at_the_dtd() {
    let err = parse(BILLION_LAUGHS.as_bytes()).unwrap_err();
    assert_eq!(err.errors().len(), 1);
    let e = &err.errors()[0];
    assert_eq!(e.rule.code(), "xml-dtd");
    assert_eq!(e.line, 2, "the DOCTYPE line");
    assert!(e.message_zh().contains("DTD") && e.message_en().contains("nothing was expanded"));
}

/// A 10 MB bomb: a DTD of nested entities padded with more definitions.
fn ten_megabyte_bomb() -> Vec<u8> {
    let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE alert [\n");
    doc.push_str("<!ENTITY a0 \"HAHAHAHAHA\">\n");
    let mut i = 1;
    while doc.len() < 10 * 1024 * 1024 {
        let p = i - 1;
        doc.push_str(&format!("<!ENTITY a{i} \"&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};\">\n"));
        i += 1;
    }
    doc.push_str(&format!(
        "]>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&a{};</identifier></alert>\n",
        i - 1
    ));
    doc.into_bytes()
}

#[test]
fn ten_megabyte_bomb_is_refused_by_size_or_by_dtd_quickly() {
    let bomb = ten_megabyte_bomb();
    assert!(bomb.len() >= 10 * 1024 * 1024);
    let start = Instant::now();
    let err = parse(&bomb).unwrap_err();
    assert!(err.has_rule("xml-too-large"), "{err}");
    assert!(err.errors()[0].message_en().contains("limit 5242880"));
    // With the size limit raised, the DTD itself is refused, still without expansion.
    let roomy = ParseOptions { max_bytes: 64 * 1024 * 1024, ..ParseOptions::default() };
    let err = parse_with(&bomb, &roomy).unwrap_err();
    assert!(err.has_rule("xml-dtd"), "{err}");
    // Not a timing target: an expansion would take minutes and gigabytes, so finishing at
    // all shows nothing was expanded.
    eprintln!("10 MB bomb refused in {:?}", start.elapsed());
}

#[test]
fn external_entities_and_parameter_entities_are_refused() {
    for doctype in [
        "<!DOCTYPE alert SYSTEM \"http://example.invalid/cap.dtd\">",
        "<!DOCTYPE alert [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        "<!DOCTYPE alert [<!ENTITY % p SYSTEM \"http://example.invalid/p.dtd\"> %p;]>",
        "<!DOCTYPE alert PUBLIC \"-//X//Y\" \"http://example.invalid/x.dtd\">",
    ] {
        let xml = BASE.replacen("\n", &format!("\n{doctype}\n"), 1);
        let err = parse(xml.as_bytes()).unwrap_err();
        assert!(err.has_rule("xml-dtd"), "{doctype}: {err}");
        assert_eq!(err.errors()[0].line, 2);
    }
}

#[test]
fn undefined_entity_references_are_refused_not_expanded() {
    let xml = BASE.replace("<event>暴雨</event>", "<event>&xxe;</event>");
    let err = parse(xml.as_bytes()).unwrap_err();
    assert!(err.has_rule("xml-entity"), "{err}");
    assert!(err.errors()[0].message_en().contains("&xxe;"));
    // The five predefined entities and character references are fine.
    let xml = BASE.replace("<event>暴雨</event>", "<event>&lt;&gt;&amp;&quot;&apos;&#x66B4;&#38632;</event>");
    assert_eq!(parse(xml.as_bytes()).unwrap().infos[0].event, "<>&\"'暴雨");
}

#[test]
fn deep_nesting_is_bounded() {
    let depth = 10_000;
    let mut xml = String::from("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">");
    xml.push_str(&"<a>".repeat(depth));
    xml.push_str(&"</a>".repeat(depth));
    xml.push_str("</alert>");
    let err = parse(xml.as_bytes()).unwrap_err();
    assert!(err.has_rule("xml-depth"), "{err}");
}

#[test]
fn malformed_documents_give_line_numbers() {
    let truncated = &BASE[..BASE.find("<area>").unwrap()];
    let err = parse(truncated.as_bytes()).unwrap_err();
    assert!(err.has_rule("xml-malformed"), "{err}");

    let mismatched = BASE.replace("</event>", "</evnt>");
    let err = parse(mismatched.as_bytes()).unwrap_err();
    assert!(err.has_rule("xml-malformed"), "{err}");
    let line = BASE[..BASE.find("</event>").unwrap()].matches('\n').count() + 1;
    assert_eq!(err.errors()[0].line, line, "{err}");

    let unbound = BASE.replace("<event>暴雨</event>", "<q:event>暴雨</q:event>");
    assert!(parse(unbound.as_bytes()).unwrap_err().has_rule("xml-malformed"));

    for junk in [&b""[..], b"   ", b"not xml", b"<a", b"\xFF\xFE\x00", b"<?xml version=\"1.0\"?>"] {
        let err = parse(junk).unwrap_err();
        assert!(!err.errors().is_empty());
    }
}

#[test]
fn control_characters_and_bad_encodings_are_refused() {
    let xml = BASE.replace("<event>暴雨</event>", "<event>a\u{1}b</event>");
    let err = parse(xml.as_bytes()).unwrap_err();
    assert!(err.has_rule("xml-char"), "{err}");
    let xml = BASE.replace("<event>暴雨</event>", "<event>a&#1;b</event>");
    assert!(parse(xml.as_bytes()).is_err());

    let mut bad_utf8 = BASE.as_bytes().to_vec();
    let at = BASE.find("暴雨").unwrap();
    bad_utf8[at] = 0xFF;
    assert!(parse(&bad_utf8).unwrap_err().has_rule("xml-encoding"));

    let gbk = BASE.replace("UTF-8", "GBK");
    let err = parse(gbk.as_bytes()).unwrap_err();
    assert!(err.has_rule("xml-encoding"));
    assert!(err.errors()[0].message_zh().contains("GBK"));
}
