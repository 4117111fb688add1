//! Invalid messages give precise errors: line, element path, rule, Chinese and English text.

use tongxin_cap::{parse, CapError, Lang};

use crate::written::BASE;

/// 1-based line of the first occurrence of `needle`.
fn line_of(xml: &str, needle: &str) -> usize {
    let at = xml.find(needle).unwrap_or_else(|| panic!("{needle} not in document"));
    xml[..at].matches('\n').count() + 1
}

/// Parses `xml`, expecting a failure that includes `rule` at the line of `needle`.
fn expect(xml: &str, rule: &str, needle: &str, element: &str) -> CapError {
    let errors = parse(xml.as_bytes()).expect_err("should be invalid");
    let line = line_of(xml, needle);
    errors
        .errors()
        .iter()
        .find(|e| e.rule.code() == rule && e.element == element)
        .map(|e| {
            assert_eq!(e.line, line, "line of {rule}: {errors}");
            e.clone()
        })
        .unwrap_or_else(|| panic!("no {rule} at {element} in:\n{errors}"))
}

#[test]
fn unknown_element_names_line_and_path() {
    let xml = BASE.replace("<certainty>Likely</certainty>", "<certainty>Likely</certainty>\n    <colour>red</colour>");
    let e = expect(&xml, "cap-unexpected-element", "<colour>", "alert/info[1]/colour");
    assert!(e.message_zh().contains("不允许"), "{}", e.message_zh());
    assert!(e.message_en().contains("not allowed inside <info>"));
    // Display carries both languages.
    let shown = e.to_string();
    assert!(shown.contains("不允许") && shown.contains("not allowed"), "{shown}");
}

#[test]
fn foreign_and_nested_elements_are_refused_where_cap_has_none() {
    let xml =
        BASE.replace("<event>暴雨</event>", "<event>暴雨<b>!</b></event>\n    <x:extra xmlns:x=\"urn:x\">1</x:extra>");
    expect(&xml, "cap-unexpected-element", "<b>", "alert/info[1]/event/b");
    expect(&xml, "cap-unexpected-element", "<x:extra", "alert/info[1]/{urn:x}extra");
}

#[test]
fn misplaced_duplicate_and_missing_elements() {
    let xml = BASE.replace(
        "  <sender>yjj@suzhou.gov.cn</sender>\n  <sent>2024-07-01T12:05:06+08:00</sent>",
        "  <sent>2024-07-01T12:05:06+08:00</sent>\n  <sender>yjj@suzhou.gov.cn</sender>",
    );
    let e = expect(&xml, "cap-order", "<sender>", "alert/sender");
    assert!(e.message_en().contains("before <sent>"), "{}", e.message_en());

    let xml = BASE.replace("<status>Actual</status>", "<status>Actual</status>\n  <status>Test</status>");
    expect(&xml, "cap-duplicate", "<status>Test", "alert/status");

    let xml = BASE.replace("<event>暴雨</event>", "");
    let e = expect(&xml, "cap-missing", "<info>", "alert/info[1]");
    assert!(e.message_zh().contains("<event>"));
}

#[test]
fn enumerations_are_checked() {
    let xml = BASE.replace("<status>Actual</status>", "<status>actual</status>");
    let e = expect(&xml, "cap-enum", "<status>", "alert/status");
    assert!(e.message_en().contains("Actual, Exercise, System, Test, Draft"));
    let xml = BASE.replace("<category>Met</category>", "<category>Weather</category>");
    expect(&xml, "cap-enum", "<category>", "alert/info[1]/category[1]");
}

#[test]
fn times_need_a_numeric_offset() {
    let xml = BASE.replace("2024-07-01T12:05:06+08:00", "2024-07-01T04:05:06Z");
    let e = expect(&xml, "cap-time", "<sent>", "alert/sent");
    assert!(e.message_zh().contains("不能用 Z"), "{}", e.message_zh());
    let xml = BASE.replace("2024-07-01T12:05:06+08:00", "2024-07-01T12:05:06");
    expect(&xml, "cap-time", "<sent>", "alert/sent");
}

#[test]
fn polygons_must_close_and_have_four_pairs() {
    let xml = BASE.replace(
        "31.30,120.58 31.33,120.62 31.29,120.65 31.30,120.58",
        "31.30,120.58 31.33,120.62 31.29,120.65 31.31,120.58",
    );
    expect(&xml, "cap-polygon-closed", "<polygon>", "alert/info[1]/area[1]/polygon[1]");
    let xml =
        BASE.replace("31.30,120.58 31.33,120.62 31.29,120.65 31.30,120.58", "31.30,120.58 31.33,120.62 31.30,120.58");
    let e = expect(&xml, "cap-polygon-pairs", "<polygon>", "alert/info[1]/area[1]/polygon[1]");
    assert!(e.message_en().contains("3 coordinate pairs"));
    let xml = BASE.replace("31.33,120.62", "91.33,120.62");
    expect(&xml, "cap-coordinate", "<polygon>", "alert/info[1]/area[1]/polygon[1]");
    let xml = BASE.replace("31.33,120.62", "31.33;120.62");
    expect(&xml, "cap-coordinate", "<polygon>", "alert/info[1]/area[1]/polygon[1]");
}

#[test]
fn circles_are_lat_lon_radius() {
    let xml = BASE.replace("<circle>31.3,120.6 3</circle>", "<circle>31.3,120.6</circle>");
    expect(&xml, "cap-circle", "<circle>", "alert/info[1]/area[1]/circle[1]");
    let xml = BASE.replace("<circle>31.3,120.6 3</circle>", "<circle>31.3,120.6 -3</circle>");
    expect(&xml, "cap-radius", "<circle>", "alert/info[1]/area[1]/circle[1]");
    let xml = BASE.replace("<circle>31.3,120.6 3</circle>", "<circle>31.3,120.6 3km</circle>");
    expect(&xml, "cap-radius", "<circle>", "alert/info[1]/area[1]/circle[1]");
}

#[test]
fn cross_element_rules() {
    let xml = BASE.replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>");
    expect(&xml, "cap-references-required", "<msgType>", "alert/msgType");

    let xml = BASE.replace("<scope>Public</scope>", "<scope>Restricted</scope>");
    expect(&xml, "cap-scope", "<alert", "alert");

    let xml =
        BASE.replace("<circle>31.3,120.6 3</circle>", "<circle>31.3,120.6 3</circle>\n      <ceiling>100</ceiling>");
    expect(&xml, "cap-ceiling", "<ceiling>", "alert/info[1]/area[1]/ceiling");

    let xml = BASE
        .replace("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>")
        .replace("<scope>Public</scope>", "<scope>Public</scope>\n  <references>a,b,2024-07-01T12:05:06Z</references>");
    expect(&xml, "cap-reference", "<references>", "alert/references");

    let xml = BASE.replace("<sender>yjj@suzhou.gov.cn</sender>", "<sender>yjj suzhou</sender>");
    expect(&xml, "cap-identifier", "<sender>", "alert/sender");
}

#[test]
fn attributes_text_and_wrong_root() {
    let xml = BASE.replace("<event>", "<event lang=\"zh\">");
    expect(&xml, "cap-attribute", "<event", "alert/info[1]/event");
    let xml = BASE.replace("<area>", "<area>stray text");
    expect(&xml, "cap-text", "<area>", "alert/info[1]/area[1]");
    let xml = BASE.replace("cap:1.2", "cap:1.1");
    let e = expect(&xml, "cap-root", "<alert", "{urn:oasis:names:tc:emergency:cap:1.1}alert");
    assert!(e.message_en().contains("cap:1.1"));
}

#[test]
fn cap_elements_after_a_signature_are_misplaced() {
    let xml = BASE.replace("  <info>", "  <ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>\n  <info>");
    let e = expect(&xml, "cap-order", "<info>", "alert/info");
    assert!(e.message_en().contains("<Signature>"));
}

#[test]
fn several_problems_are_all_reported_in_line_order() {
    let xml = BASE
        .replace("<status>Actual</status>", "<status>Real</status>")
        .replace("<urgency>Expected</urgency>", "<urgency>Soon</urgency>")
        .replace("<circle>31.3,120.6 3</circle>", "<circle>x</circle>");
    let errors = parse(xml.as_bytes()).unwrap_err();
    let rules: Vec<_> = errors.errors().iter().map(|e| e.rule.code()).collect();
    assert_eq!(rules, ["cap-enum", "cap-enum", "cap-circle"], "{errors}");
    let lines: Vec<_> = errors.errors().iter().map(|e| e.line).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
    assert!(errors.errors()[0].message(Lang::Zh).contains("Real"));
}
