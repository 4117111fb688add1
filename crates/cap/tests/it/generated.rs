//! Property tests over random valid alerts of every shape: what we write parses back to the
//! same alert, and validates against the official XSD with xmllint.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use tongxin_cap::{
    parse, validate, write, Alert, Area, CapDateTime, Category, Certainty, Circle, Info, MsgType, NameValue,
    NamespaceDeclaration, Point, Polygon, Reference, Resource, ResponseType, Scope, Severity, Status, Urgency,
    XmlAttribute, XmlElement, XmlNode, XMLDSIG_NAMESPACE,
};

use crate::support::{xmllint_available, xsd_validate};

/// Free text: ASCII, Chinese, markup characters, tabs, newlines and carriage returns.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 苏州暴雨预警红色橙é<>&\"'\t\n\r.,:;!?()/-]{1,24}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    option::of(text())
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:@-]{1,16}"
}

fn uri() -> impl Strategy<Value = String> {
    "https://example\\.org/[a-z0-9/._-]{0,16}"
}

fn time() -> impl Strategy<Value = CapDateTime> {
    (1970i32..2100, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60, 0u8..60, -12i32..=14, select(vec![0u8, 30, 45])).prop_map(
        |(y, mo, d, h, mi, s, oh, om)| {
            let om = if oh == 14 || oh == -12 { 0 } else { om };
            let sign = if oh < 0 { '-' } else { '+' };
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{sign}{:02}:{om:02}", oh.abs());
            CapDateTime::parse(&text).expect("generated time")
        },
    )
}

fn point() -> impl Strategy<Value = Point> {
    (-900_000i32..=900_000, -1_800_000i32..=1_800_000)
        .prop_map(|(lat, lon)| Point::new(f64::from(lat) / 1e4, f64::from(lon) / 1e4))
}

fn polygon() -> impl Strategy<Value = Polygon> {
    vec(point(), 3..8).prop_map(|mut points| {
        points.push(points[0]);
        Polygon { points }
    })
}

fn circle() -> impl Strategy<Value = Circle> {
    (point(), 0u32..1_000_000).prop_map(|(center, r)| Circle { center, radius_km: f64::from(r) / 100.0 })
}

fn name_value() -> impl Strategy<Value = NameValue> {
    (text(), prop_oneof![text(), Just(String::new())]).prop_map(|(n, v)| NameValue::new(n, v))
}

fn decimal() -> impl Strategy<Value = f64> {
    (-1_000_000i64..1_000_000_000).prop_map(|v| v as f64 / 1000.0)
}

fn area() -> impl Strategy<Value = Area> {
    (
        prop_oneof![text(), Just(String::new())],
        vec(polygon(), 0..3),
        vec(circle(), 0..3),
        vec(name_value(), 0..3),
        option::of(decimal()),
        option::of(decimal()),
    )
        .prop_map(|(area_desc, polygons, circles, geocodes, altitude, ceiling)| Area {
            area_desc,
            polygons,
            circles,
            geocodes,
            // CAP allows a ceiling only with an altitude.
            altitude: altitude.or(ceiling.map(|c| c - 1.0)),
            ceiling,
        })
}

fn resource() -> impl Strategy<Value = Resource> {
    (
        text(),
        "[a-z]{1,8}/[a-z0-9.+-]{1,10}",
        option::of(0u64..u64::MAX),
        option::of(uri()),
        option::of("[A-Za-z0-9+/]{4,64}={0,2}"),
        option::of("[0-9a-f]{40}"),
    )
        .prop_map(|(resource_desc, mime_type, size, uri, deref_uri, digest)| Resource {
            resource_desc,
            mime_type,
            size,
            uri,
            deref_uri,
            digest,
        })
}

fn info() -> impl Strategy<Value = Info> {
    let head = (
        option::of(select(vec!["zh-CN", "en-US", "es-419", "fr-CA", "de", "is-IS"])),
        vec(select(Category::ALL), 1..4),
        prop_oneof![text(), Just(String::new())],
        vec(select(ResponseType::ALL), 0..3),
        select(Urgency::ALL),
        select(Severity::ALL),
        select(Certainty::ALL),
        opt_text(),
        vec(name_value(), 0..3),
        (option::of(time()), option::of(time()), option::of(time())),
    );
    let tail = (
        (opt_text(), opt_text(), opt_text(), opt_text()),
        option::of(uri()),
        opt_text(),
        vec(name_value(), 0..4),
        vec(resource(), 0..3),
        vec(area(), 0..3),
    );
    (head, tail).prop_map(
        |(
            (
                language,
                categories,
                event,
                response_types,
                urgency,
                severity,
                certainty,
                audience,
                event_codes,
                (effective, onset, expires),
            ),
            ((sender_name, headline, description, instruction), web, contact, parameters, resources, areas),
        )| Info {
            language: language.map(String::from),
            categories,
            event,
            response_types,
            urgency,
            severity,
            certainty,
            audience,
            event_codes,
            effective,
            onset,
            expires,
            sender_name,
            headline,
            description,
            instruction,
            web,
            contact,
            parameters,
            resources,
            areas,
        },
    )
}

fn signature() -> impl Strategy<Value = XmlElement> {
    // Declarations are explicit so that the element round-trips exactly.
    ("[A-Za-z0-9+/=]{1,40}", text()).prop_map(|(value, note)| XmlElement {
        namespace: Some(XMLDSIG_NAMESPACE.into()),
        prefix: Some("ds".into()),
        name: "Signature".into(),
        namespace_declarations: vec![
            NamespaceDeclaration { prefix: Some("ds".into()), uri: XMLDSIG_NAMESPACE.into() },
            NamespaceDeclaration { prefix: Some("at".into()), uri: "urn:example:attr".into() },
        ],
        attributes: vec![XmlAttribute { namespace: None, prefix: None, name: "Id".into(), value: note.clone() }],
        children: vec![
            XmlNode::Element(XmlElement {
                namespace: Some(XMLDSIG_NAMESPACE.into()),
                prefix: Some("ds".into()),
                name: "SignatureValue".into(),
                namespace_declarations: Vec::new(),
                attributes: Vec::new(),
                children: vec![XmlNode::Text(value)],
            }),
            XmlNode::Element(XmlElement {
                namespace: Some("urn:example:ext".into()),
                prefix: None,
                name: "Note".into(),
                namespace_declarations: vec![NamespaceDeclaration { prefix: None, uri: "urn:example:ext".into() }],
                attributes: vec![XmlAttribute {
                    namespace: Some("urn:example:attr".into()),
                    prefix: Some("at".into()),
                    name: "kind".into(),
                    value: note.clone(),
                }],
                children: vec![XmlNode::Text(note)],
            }),
        ],
    })
}

fn alert() -> impl Strategy<Value = Alert> {
    let head = (
        token(),
        token(),
        time(),
        select(Status::ALL),
        select(MsgType::ALL),
        opt_text(),
        select(Scope::ALL),
        opt_text(),
        opt_text(),
    );
    let tail = (
        vec(prop_oneof![text(), Just(String::new())], 0..3),
        opt_text(),
        vec((token(), token(), time()), 0..3),
        vec(token(), 0..3),
        vec(info(), 0..3),
        vec(signature(), 0..2),
    );
    (head, tail).prop_map(
        |(
            (identifier, sender, sent, status, msg_type, source, scope, restriction, addresses),
            (codes, note, refs, incidents, infos, signatures),
        )| {
            let mut references: Vec<Reference> =
                refs.into_iter().map(|(sender, identifier, sent)| Reference { sender, identifier, sent }).collect();
            // Rules the schema cannot express: keep the generated alert valid.
            if msg_type != MsgType::Alert && references.is_empty() {
                references.push(Reference { sender: sender.clone(), identifier: format!("{identifier}-prev"), sent });
            }
            let restriction = match scope {
                Scope::Restricted => restriction.or(Some("staff only".into())),
                _ => restriction,
            };
            let addresses = match scope {
                Scope::Private => addresses.or(Some("ops@example.org \"duty desk\"".into())),
                _ => addresses,
            };
            Alert {
                identifier,
                sender,
                sent,
                status,
                msg_type,
                source,
                scope,
                restriction,
                addresses,
                codes,
                note,
                references,
                incidents,
                infos,
                signatures,
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn written_alerts_parse_back_to_the_same_alert(a in alert()) {
        let xml = write(&a);
        let back = parse(xml.as_bytes());
        prop_assert!(back.is_ok(), "{}\n{}", back.unwrap_err(), xml);
        prop_assert_eq!(back.unwrap(), a.clone());
        prop_assert!(validate(&a).is_ok());
    }
}

proptest! {
    // Each case starts xmllint once; 64 cases keep the run to a second or two.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn written_alerts_validate_against_the_official_xsd(a in alert()) {
        if xmllint_available() {
            let xml = write(&a);
            let verdict = xsd_validate(&xml);
            prop_assert!(verdict.is_ok(), "{}\n{}", verdict.unwrap_err(), xml);
        }
    }
}

#[test]
fn validate_refuses_what_cap_cannot_carry() {
    let sent = CapDateTime::parse("2024-07-01T12:00:00+08:00").unwrap();
    let mut a = Alert::new("id", "me", sent, Status::Test, MsgType::Alert, Scope::Public);
    assert!(validate(&a).is_ok());
    a.note = Some(String::new());
    assert!(validate(&a).is_err(), "empty optional text cannot round-trip");
    a.note = None;
    let mut info = Info::new(Category::Met, "x", Urgency::Future, Severity::Minor, Certainty::Likely);
    let mut area = Area::new("bad");
    area.circles.push(Circle { center: Point::new(f64::NAN, 0.0), radius_km: 1.0 });
    info.areas.push(area);
    a.infos.push(info);
    let err = validate(&a).unwrap_err();
    assert!(err.has_rule("cap-coordinate"), "{err}");
}
