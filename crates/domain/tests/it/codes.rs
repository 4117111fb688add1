//! Identifier parsing, generation and masking as users and other modules see them.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use time::macros::date;
use time::Date;
use tongxin_domain::codes::*;

const CREDIT_VALID: [&str; 2] = ["91350100M000100Y43", "91110000802100433B"];

#[test]
fn credit_code_vectors() {
    for s in CREDIT_VALID {
        let c = CreditCode::parse(s).unwrap();
        assert_eq!(c.as_str(), s);
        assert_eq!(c.authority(), Authority::MarketRegulation);
        assert_eq!(c.civil_affairs_kind(), None);
    }
    let c = CreditCode::parse("91350100M000100Y43").unwrap();
    assert_eq!(c.division6(), "350100");
    assert_eq!(c.organisation_code(), "M000100Y4");
    assert_eq!(credit_check_char("91350100M000100Y4"), Some('3'));
    assert_eq!(credit_check_char("91110000802100433"), Some('B'));

    let e = CreditCode::parse("91350100M000100Y42").unwrap_err();
    assert_eq!(e.rule(), "credit_code.check_char");
    assert_eq!(e, CodeError::CreditCheckChar { expected: '3', got: '2' });
    assert!(e.message_zh().contains("校验位") && e.message_zh().contains('3'));
    assert!(e.message_en().contains("expected 3"));
}

#[test]
fn credit_code_rules_are_named() {
    let cases = [
        ("91350100M000100Y4", "credit_code.length"),
        ("91350100M000100Y433", "credit_code.length"),
        ("91350100M0001O0Y43", "credit_code.charset"), // letter O is not in the charset
        ("91350100m000100Y43", "credit_code.charset"), // capitals only
        ("B1350100M000100Y43", "credit_code.authority"),
        ("9135A100M000100Y43", "credit_code.division"),
    ];
    for (input, rule) in cases {
        assert_eq!(CreditCode::parse(input).unwrap_err().rule(), rule, "{input}");
    }
    let e = CreditCode::parse("91350100M0001O0Y43").unwrap_err();
    assert_eq!(e, CodeError::CreditCharset { position: 14, ch: 'O' });
}

#[test]
fn error_display_is_chinese_then_english() {
    // A code whose check character should be Y, to show the brief's example wording.
    let first17 = (0..).map(|n| format!("51320508MJ{n:07}")).find(|f| credit_check_char(f) == Some('Y')).unwrap();
    let e = CreditCode::parse(&format!("{first17}0")).unwrap_err();
    assert_eq!(e.message_zh(), "统一社会信用代码校验位错误（应为 Y）");
    assert_eq!(e.message_en(), "Unified social credit code check character is wrong (expected Y)");
    assert_eq!(e.to_string(), format!("{} / {}", e.message_zh(), e.message_en()));
}

#[test]
fn civil_affairs_kinds() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (ch, kind, zh) in [
        ('1', CivilAffairsKind::SocialGroup, "社会团体"),
        ('2', CivilAffairsKind::SocialService, "社会服务机构"),
        ('3', CivilAffairsKind::Foundation, "基金会"),
    ] {
        let s = generate_credit_code(&mut rng, Authority::CivilAffairs, ch, "320508");
        let c = CreditCode::parse(&s).unwrap();
        assert_eq!(c.authority(), Authority::CivilAffairs);
        assert_eq!(c.authority().label_zh(), "民政");
        assert_eq!(c.civil_affairs_kind(), Some(kind));
        assert_eq!(kind.label_zh(), zh);
        assert_eq!(c.division6(), "320508");
    }
}

#[test]
fn id_number_vectors() {
    let id = IdNumber::parse("11010519491231002X").unwrap();
    assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
    assert_eq!(id.sex(), Sex::Female); // sequence 002 is even
    assert_eq!(id.division6(), "110105");
    assert_eq!(id.age_on(date!(2024 - 12 - 30)), 74);
    assert_eq!(id.age_on(date!(2024 - 12 - 31)), 75);
    assert_eq!(id.age_on(date!(1940 - 01 - 01)), 0);

    let e = IdNumber::parse("110105194912310021").unwrap_err();
    assert_eq!(e.rule(), "id_number.check_char");
    assert!(e.message_en().contains("expected X"));

    // Lowercase x is accepted and stored as X.
    let lower = IdNumber::parse("11010519491231002x").unwrap();
    assert_eq!(lower.as_str(), "11010519491231002X");
    assert_eq!(lower, id);
    assert_eq!(id_check_char("11010519491231002"), Some('X'));
}

#[test]
fn id_number_rules_are_named() {
    assert_eq!(IdNumber::parse("1101051949123100").unwrap_err().rule(), "id_number.length");
    assert_eq!(IdNumber::parse("1101051949123100X2").unwrap_err().rule(), "id_number.charset");
    // 31 February with a correct check character is still rejected, for the date.
    let first17 = "11010519490231002";
    let full = format!("{first17}{}", id_check_char(first17).unwrap());
    let e = IdNumber::parse(&full).unwrap_err();
    assert_eq!(e.rule(), "id_number.birth_date");
    assert!(e.message_zh().contains("19490231"));
}

#[test]
fn phones() {
    assert_eq!(Phone::parse("13812341234").unwrap().as_str(), "13812341234");
    assert_eq!(Phone::parse("12812341234").unwrap_err().rule(), "phone.prefix");
    assert_eq!(Phone::parse("1381234123").unwrap_err().rule(), "phone.length");
    assert_eq!(Phone::parse("138-1234-1234").unwrap_err().rule(), "phone.charset");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..1000 {
        Phone::parse(&generate_phone(&mut rng)).unwrap();
    }
}

#[test]
fn masking() {
    assert_eq!(mask_id("11010519491231002X"), "110105********002X");
    assert_eq!(mask_phone("13812341234"), "138****1234");
    assert_eq!(mask_name("张三丰"), "张*丰");
    assert_eq!(mask_name("李四"), "李*");
    assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
    // Values too short to keep a head and tail are hidden entirely.
    assert_eq!(mask_phone("1234"), "****");
    let id = IdNumber::parse("11010519491231002X").unwrap();
    assert_eq!(id.masked(), "110105********002X");
    // Debug output (logs) never shows the whole number.
    assert!(!format!("{id:?}").contains("19491231"));
    assert!(!format!("{:?}", Phone::parse("13812341234").unwrap()).contains("1234123"));
}

#[test]
fn serde_round_trip_validates() {
    let c: CreditCode = serde_json::from_str("\"91110000802100433B\"").unwrap();
    assert_eq!(serde_json::to_string(&c).unwrap(), "\"91110000802100433B\"");
    assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y42\"").is_err());
    let id: IdNumber = serde_json::from_str("\"11010519491231002x\"").unwrap();
    assert_eq!(serde_json::to_string(&id).unwrap(), "\"11010519491231002X\"");
    assert!(serde_json::from_str::<Phone>("\"02512345678\"").is_err());
}

fn authority_strategy() -> impl Strategy<Value = Authority> {
    prop::sample::select(Authority::ALL.to_vec())
}

fn division_strategy() -> impl Strategy<Value = String> {
    "[1-8][0-9]{5}"
}

fn date_strategy() -> impl Strategy<Value = Date> {
    (-40_000i32..40_000).prop_map(|d| date!(1980 - 01 - 01) + time::Duration::days(d.into()))
}

/// Characters a typist might put in place of another: the charset plus look-alikes.
const TYPOS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXYIOSVZaxy -";

proptest! {
    #[test]
    fn generated_credit_codes_parse(seed: u64, authority in authority_strategy(),
                                    kind in 0u8..10, division in division_strategy()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let kind = (b'0' + kind) as char;
        let s = generate_credit_code(&mut rng, authority, kind, &division);
        let c = CreditCode::parse(&s).unwrap();
        prop_assert_eq!(c.authority(), authority);
        prop_assert_eq!(c.kind_char(), kind);
        prop_assert_eq!(c.division6(), division.as_str());
    }

    #[test]
    fn any_single_change_of_a_credit_code_is_rejected(seed: u64, authority in authority_strategy(),
            division in division_strategy(), pos in 0usize..18, typo in 0usize..TYPOS.len()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = generate_credit_code(&mut rng, authority, '1', &division);
        let replacement = TYPOS.as_bytes()[typo];
        prop_assume!(s.as_bytes()[pos] != replacement);
        let mut changed = s.into_bytes();
        changed[pos] = replacement;
        let changed = String::from_utf8(changed).unwrap();
        prop_assert!(CreditCode::parse(&changed).is_err(), "{} accepted", changed);
    }

    #[test]
    fn generated_id_numbers_parse(seed: u64, division in division_strategy(),
                                  birth in date_strategy(), male: bool) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sex = if male { Sex::Male } else { Sex::Female };
        let s = generate_id_number(&mut rng, &division, birth, sex);
        let id = IdNumber::parse(&s).unwrap();
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.sex(), sex);
        prop_assert_eq!(id.division6(), division.as_str());
    }

    #[test]
    fn any_single_change_of_an_id_number_is_rejected(seed: u64, division in division_strategy(),
            birth in date_strategy(), male: bool, pos in 0usize..18, typo in 0usize..TYPOS.len()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sex = if male { Sex::Male } else { Sex::Female };
        let s = generate_id_number(&mut rng, &division, birth, sex);
        let original = s.as_bytes()[pos];
        let replacement = TYPOS.as_bytes()[typo];
        // The one documented equivalence: a lowercase x check character means X.
        let case_only = original == b'X' && replacement == b'x';
        prop_assume!(!case_only && original != replacement);
        let mut changed = s.into_bytes();
        changed[pos] = replacement;
        let changed = String::from_utf8(changed).unwrap();
        prop_assert!(IdNumber::parse(&changed).is_err(), "{} accepted", changed);
    }

    #[test]
    fn check_character_completes_any_body(body in "[0-9A-HJ-NP-RTUW-Y]{17}") {
        let check = credit_check_char(&body).unwrap();
        let full = format!("{body}{check}");
        // Authority or division may still be wrong, but never the check character.
        if let Err(e) = CreditCode::parse(&full) {
            prop_assert_ne!(e.rule(), "credit_code.check_char");
        }
    }
}
