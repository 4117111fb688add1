//! Alerts written by hand for what real feeds carry: namespace prefixes, byte-order marks,
//! UTF-16, prefixed signatures, large embedded resources, circles, empty optional elements,
//! CDATA, comments, `xsi:schemaLocation`, carriage returns.

use tongxin_cap::{parse, parse_with, write, ParseOptions, XmlNode};

use crate::support::{xmllint_available, xsd_validate};

/// A small valid alert; `{INFO}` is replaced by extra info content.
pub const BASE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>32050000100203_20240701120506_1</identifier>
  <sender>yjj@suzhou.gov.cn</sender>
  <sent>2024-07-01T12:05:06+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨</event>
    <urgency>Expected</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <parameter><valueName>预警颜色</valueName><value>橙色</value></parameter>
    <parameter><valueName>预警级别</valueName><value>Ⅱ级</value></parameter>
    <area>
      <areaDesc>姑苏区</areaDesc>
      <polygon>31.30,120.58 31.33,120.62 31.29,120.65 31.30,120.58</polygon>
      <circle>31.3,120.6 3</circle>
    </area>
  </info>
</alert>
"#;

fn round_trip(xml: &[u8]) -> tongxin_cap::Alert {
    let a = parse(xml).unwrap_or_else(|e| panic!("{e}"));
    let written = write(&a);
    let b = parse(written.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(a, b);
    if xmllint_available() {
        xsd_validate(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
    }
    a
}

#[test]
fn namespace_prefixes_are_the_same_message() {
    let plain = parse(BASE.as_bytes()).unwrap();
    // Every element under a `cap:` prefix instead of the default namespace.
    let prefixed = BASE
        .replace("</", "\u{0}")
        .replace('<', "<cap:")
        .replace("<cap:?", "<?")
        .replace('\u{0}', "</cap:")
        .replace("xmlns=", "xmlns:cap=");
    assert!(prefixed.contains("<cap:polygon>") && prefixed.contains("</cap:alert>"));
    assert_eq!(round_trip(prefixed.as_bytes()), plain);
}

#[test]
fn byte_order_marks_and_utf16_are_accepted() {
    let plain = parse(BASE.as_bytes()).unwrap();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(BASE.as_bytes());
    assert_eq!(round_trip(&bom), plain);

    let utf16_text = BASE.replace("UTF-8", "UTF-16");
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in utf16_text.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    assert_eq!(parse(&utf16).unwrap(), plain);
    let mut utf16be = vec![0xFE, 0xFF];
    for unit in utf16_text.encode_utf16() {
        utf16be.extend_from_slice(&unit.to_be_bytes());
    }
    assert_eq!(parse(&utf16be).unwrap(), plain);
}

#[test]
fn crlf_line_ends_and_carriage_returns_in_text_survive() {
    let crlf = BASE.replace('\n', "\r\n");
    assert_eq!(parse(crlf.as_bytes()).unwrap(), parse(BASE.as_bytes()).unwrap());
    let with_cr = BASE.replace("<event>暴雨</event>", "<event>暴雨&#13;大风</event>");
    let a = round_trip(with_cr.as_bytes());
    assert_eq!(a.infos[0].event, "暴雨\r大风");
}

#[test]
fn prefixed_signature_with_attributes_round_trips_by_meaning() {
    let sig = r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Id="s1">
    <ds:SignedInfo><ds:Reference URI=""><ds:DigestValue>abc=</ds:DigestValue></ds:Reference></ds:SignedInfo>
    <ds:SignatureValue>c2lnbmF0dXJl</ds:SignatureValue>
    <ds:KeyInfo><x:Extra xmlns:x="urn:example:other" x:ref="x:T" xsi:nil="false" xml:lang="en">k &amp; v</x:Extra></ds:KeyInfo>
  </ds:Signature>
</alert>"#;
    let xml = BASE.replace("</alert>", sig);
    let a = round_trip(xml.as_bytes());
    let s = &a.signatures[0];
    assert_eq!(s.name, "Signature");
    assert_eq!(s.attributes[0].name, "Id");
    assert_eq!(s.children.len(), 3, "whitespace between elements is not content");
    let XmlNode::Element(key_info) = &s.children[2] else { panic!("KeyInfo expected") };
    let XmlNode::Element(extra) = &key_info.children[0] else { panic!("Extra expected") };
    assert_eq!(extra.namespace.as_deref(), Some("urn:example:other"));
    assert_eq!(extra.children, [XmlNode::Text("k & v".into())]);
    assert_eq!(extra.attributes.len(), 3);
    // Prefixes and declarations are kept, so QName values still resolve.
    let written = write(&a);
    assert!(written.contains(r#"<x:Extra xmlns:x="urn:example:other" x:ref="x:T""#), "{written}");
    assert!(written.contains(r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#));
}

#[test]
fn large_embedded_resource_is_accepted_and_limit_is_configurable() {
    let payload: String = "QUJD".repeat(750_000); // 3 MB of base64
    let resource = format!(
        "<resource><resourceDesc>map</resourceDesc><mimeType>image/png</mimeType>\
         <size>2250000</size><derefUri>{payload}</derefUri>\
         <digest>da39a3ee5e6b4b0d3255bfef95601890afd80709</digest></resource>\n    <area>"
    );
    let xml = BASE.replacen("<area>", &resource, 1);
    let a = round_trip(xml.as_bytes());
    assert_eq!(a.infos[0].resources[0].deref_uri.as_deref().map(str::len), Some(3_000_000));
    let small = ParseOptions { max_bytes: 1_000_000, ..ParseOptions::default() };
    let err = parse_with(xml.as_bytes(), &small).unwrap_err();
    assert!(err.has_rule("xml-too-large"), "{err}");
}

#[test]
fn empty_optional_elements_cdata_comments_and_schema_location() {
    let xml = BASE
        .replace(
            "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
            "<!-- feed header -->\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:schemaLocation=\"urn:oasis:names:tc:emergency:cap:1.2 CAP-v1.2.xsd\">",
        )
        .replace(
            "<scope>Public</scope>",
            "<scope>Public</scope>\n  <restriction/>\n  <addresses></addresses>\n  <note/>\n  <references/>\n  <incidents> </incidents>",
        )
        .replace(
            "<event>暴雨</event>",
            "<event><![CDATA[暴雨 <大到暴雨> & 雷电]]></event>\n    <?pi ignored?>",
        )
        .replace(
            "<certainty>Likely</certainty>",
            "<certainty>Likely</certainty>\n    <audience/>\n    <expires></expires>\n    <instruction/>\n    <contact/>",
        );
    let a = round_trip(xml.as_bytes());
    assert_eq!(a.restriction, None);
    assert_eq!(a.addresses, None);
    assert_eq!(a.note, None);
    assert!(a.references.is_empty() && a.incidents.is_empty());
    let info = &a.infos[0];
    assert_eq!(info.event, "暴雨 <大到暴雨> & 雷电");
    assert_eq!((info.audience.as_ref(), info.expires, info.instruction.as_ref()), (None, None, None));
    let written = write(&a);
    assert!(!written.contains("<restriction"), "empty optional elements are left out");
    assert!(written.contains("&lt;大到暴雨&gt; &amp; 雷电"));
}

#[test]
fn circles_and_points_keep_their_values() {
    let a = round_trip(BASE.as_bytes());
    let area = &a.infos[0].areas[0];
    assert_eq!(area.circles[0].radius_km, 3.0);
    assert_eq!(area.polygons[0].points[1].lat, 31.33);
    assert_eq!(area.polygons[0].points[1].lon, 120.62);
    let written = write(&a);
    assert!(written.contains("<circle>31.3,120.6 3</circle>"), "{written}");
    assert!(written.contains("31.3,120.58 31.33,120.62"), "{written}");
}

#[test]
fn hand_built_signatures_without_declarations_are_written_namespace_correct() {
    use tongxin_cap::{XmlAttribute, XmlElement, XMLDSIG_NAMESPACE};
    let mut alert = parse(BASE.as_bytes()).unwrap();
    let leaf = XmlElement {
        namespace: Some("urn:example:k".into()),
        prefix: Some("k".into()),
        name: "Key".into(),
        namespace_declarations: Vec::new(),
        attributes: vec![XmlAttribute {
            namespace: Some("urn:example:attr".into()),
            prefix: None,
            name: "use".into(),
            value: "sign \"all\"\n".into(),
        }],
        children: vec![XmlNode::Text("K & <1>".into())],
    };
    alert.signatures.push(XmlElement {
        namespace: Some(XMLDSIG_NAMESPACE.into()),
        prefix: None,
        name: "Signature".into(),
        namespace_declarations: Vec::new(),
        attributes: Vec::new(),
        children: vec![XmlNode::Element(leaf)],
    });
    let xml = write(&alert);
    let back = parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let sig = &back.signatures[0];
    assert_eq!(sig.namespace.as_deref(), Some(XMLDSIG_NAMESPACE));
    let XmlNode::Element(key) = &sig.children[0] else { panic!("Key expected") };
    assert_eq!((key.namespace.as_deref(), key.prefix.as_deref()), (Some("urn:example:k"), Some("k")));
    assert_eq!(key.attributes[0].namespace.as_deref(), Some("urn:example:attr"));
    assert_eq!(key.attributes[0].value, "sign \"all\"\n");
    assert_eq!(key.children, [XmlNode::Text("K & <1>".into())]);
    if xmllint_available() {
        xsd_validate(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    }
}
