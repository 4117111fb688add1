//! The China profile: identifiers, Beijing time, zh-CN, warning colour and level.

use tongxin_cap::china::{self, ChinaId, IdSequence, IssuerCode, WarningColour, PARAM_COLOUR, PARAM_LEVEL};
use tongxin_cap::{
    parse, parse_located, write, Area, CapDateTime, Category, Certainty, ParseOptions, Severity, Urgency,
};

use crate::support::{xmllint_available, xsd_validate};
use crate::written::BASE;

fn suzhou_alert(colour: WarningColour) -> tongxin_cap::Alert {
    let issuer = IssuerCode::new("320508", "001", "000", "00").unwrap();
    let sent = CapDateTime::parse("2024-07-01T04:05:06-00:00").unwrap();
    let id = IdSequence::new(issuer).next(sent);
    let mut alert = china::new_alert(&id, "yjj@suzhou.gov.cn");
    let mut info = china::new_info(Category::Met, "暴雨", colour, Urgency::Expected, Certainty::Likely);
    info.headline = Some(format!("姑苏区发布暴雨{}预警", colour.zh()));
    let mut area = Area::new("姑苏区");
    area.geocodes.push(tongxin_cap::NameValue::new("GB/T 2260", "320508"));
    info.areas.push(area);
    alert.infos.push(info);
    alert
}

#[test]
fn generated_alerts_follow_the_profile_and_the_schema() {
    for colour in WarningColour::ALL {
        let alert = suzhou_alert(colour);
        assert_eq!(alert.identifier, "32050800100000_20240701120506_1");
        assert_eq!(alert.sent.to_string(), "2024-07-01T12:05:06+08:00");
        assert_eq!(alert.infos[0].severity, colour.severity());
        assert_eq!(alert.infos[0].parameter(PARAM_LEVEL), Some(colour.level().zh()));
        china::check(&alert, None).unwrap_or_else(|e| panic!("{colour:?}: {e}"));
        let xml = write(&alert);
        let back = parse(xml.as_bytes()).unwrap();
        assert_eq!(back, alert);
        china::check(&back, None).unwrap();
        if xmllint_available() {
            xsd_validate(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        }
    }
}

#[test]
fn profile_violations_are_reported_with_lines() {
    let xml = BASE
        .replace("2024-07-01T12:05:06+08:00", "2024-07-01T04:05:06-00:00")
        .replace("<language>zh-CN</language>", "<language>en-US</language>");
    let (alert, locations) = parse_located(xml.as_bytes(), &ParseOptions::default()).unwrap();
    let errors = china::check(&alert, Some(&locations)).unwrap_err();
    let rules: Vec<_> = errors.errors().iter().map(|e| e.rule.code()).collect();
    assert_eq!(rules, ["china-offset", "china-language"], "{errors}");
    let sent_line = xml[..xml.find("<sent>").unwrap()].matches('\n').count() + 1;
    assert_eq!(errors.errors()[0].line, sent_line);

    // Identifier time and sent disagree.
    let xml = BASE.replace("_20240701120506_", "_20240701120507_");
    let (alert, locations) = parse_located(xml.as_bytes(), &ParseOptions::default()).unwrap();
    let errors = china::check(&alert, Some(&locations)).unwrap_err();
    assert!(errors.has_rule("china-sent"), "{errors}");
    assert!(errors.errors()[0].message_zh().contains("20240701120507"));

    // Wrong colour/level/severity combinations.
    let xml = BASE
        .replace("<value>Ⅱ级</value>", "<value>Ⅳ级</value>")
        .replace("<severity>Severe</severity>", "<severity>Minor</severity>");
    let alert = parse(xml.as_bytes()).unwrap();
    let errors = china::check(&alert, None).unwrap_err();
    let en: Vec<_> = errors.errors().iter().map(|e| e.message_en()).collect();
    assert_eq!(errors.errors().len(), 2, "{en:?}");
    assert!(en[0].contains("goes with level Ⅱ级, not Ⅳ级"), "{en:?}");
    assert!(en[1].contains("needs severity Severe"), "{en:?}");

    let xml = BASE.replace("<value>橙色</value>", "<value>绿色</value>");
    let errors = china::check(&parse(xml.as_bytes()).unwrap(), None).unwrap_err();
    assert!(errors.has_rule("china-colour"));

    let xml = BASE.replace("32050000100203_", "9905000010020_");
    let errors = china::check(&parse(xml.as_bytes()).unwrap(), None).unwrap_err();
    assert!(errors.has_rule("china-identifier"));
}

#[test]
fn base_sample_is_profile_valid_and_severity_follows_colour() {
    let alert = parse(BASE.as_bytes()).unwrap();
    china::check(&alert, None).unwrap();
    assert_eq!(alert.infos[0].parameter(PARAM_COLOUR), Some("橙色"));
    assert_eq!(alert.infos[0].severity, Severity::Severe);
    let id = ChinaId::parse(&alert.identifier).unwrap();
    assert_eq!(id.issuer.division(), "320500");
    assert_eq!(id.sent_beijing(), alert.sent);
}
