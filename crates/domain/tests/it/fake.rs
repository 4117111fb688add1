//! Demo-data generator: determinism, validity and realism.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use time::macros::date;
use tongxin_domain::codes::{Authority, CivilAffairsKind, CreditCode, IdNumber, Phone};
use tongxin_domain::fake::*;

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// A mixed run of every generator, rendered to text so two runs can be compared.
fn sample(seed: u64) -> Vec<String> {
    let mut f = Faker::new(seed);
    let today = date!(2025 - 06 - 01);
    let mut out = Vec::new();
    for _ in 0..50 {
        out.push(f.person_name());
        out.push(f.phone());
        out.push(f.id_number("320508", 18..=65, today));
        out.push(f.credit_code_for(FakeOrgKind::SocialService, "320508"));
        out.push(f.org_name(FakeOrgKind::RescueTeam, "吴江区", "water_rescue"));
        out.push(f.street_address("姑苏区", "平江街道"));
        out.push(format!("{:?}", f.point_in_district("320583")));
        out.push(f.skills().join(","));
        out.push(format!("{:?}", f.person("320506", 30..=40, today)));
    }
    out
}

#[test]
fn same_seed_same_output_and_seeds_differ() {
    assert_eq!(sample(42), sample(42));
    assert_ne!(sample(42), sample(43));
}

#[test]
fn outputs_are_pinned_for_a_known_seed() {
    // Demo cities and screenshots rely on a seed meaning the same thing forever. If this fails,
    // a change altered the generated sequence and every seeded database would come out
    // different: make such a change only on purpose, and update these values with it.
    let mut f = Faker::new(2024);
    assert_eq!(f.person_name(), "戴然昊");
    assert_eq!(f.phone(), "13525211926");
    assert_eq!(f.id_number("320508", 18..=65, date!(2025 - 06 - 01)), "320508197012094281");
}

#[test]
fn names_are_two_or_three_han_characters_with_suzhou_surnames() {
    let mut f = Faker::new(1);
    let mut surnames: HashMap<char, u32> = HashMap::new();
    let n = 20_000;
    let mut lengths = [0u32; 4];
    for _ in 0..n {
        let name = f.person_name();
        let chars: Vec<char> = name.chars().collect();
        assert!((2..=3).contains(&chars.len()), "{name}");
        assert!(chars.iter().all(|&c| is_han(c)), "{name}");
        lengths[chars.len()] += 1;
        *surnames.entry(chars[0]).or_default() += 1;
    }
    // Both lengths occur, three-character names dominate as they do in the population.
    assert!(lengths[2] > n / 10 && lengths[3] > n / 2, "{lengths:?}");
    let share = |s: char| f64::from(surnames.get(&s).copied().unwrap_or(0)) / f64::from(n);
    // Nationally 顾 陆 沈 钱 together are under 1 %; in Suzhou they are far more common.
    let jiangnan = share('顾') + share('陆') + share('沈') + share('钱');
    assert!(jiangnan > 0.05, "顾陆沈钱 share {jiangnan}");
    // 王 and 张 are still the most common.
    let mut ranked: Vec<_> = surnames.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1));
    let top: Vec<char> = ranked.iter().take(3).map(|e| *e.0).collect();
    assert!(top.contains(&'王') && top.contains(&'张'), "{top:?}");
    assert!(surnames.len() > 80, "only {} surnames", surnames.len());
}

#[test]
fn ids_are_valid_and_ages_match() {
    let mut f = Faker::new(5);
    let todays = [date!(2025 - 06 - 01), date!(2024 - 02 - 29), date!(2026 - 12 - 31)];
    let ranges = [18..=18, 18..=65, 0..=5, 60..=90];
    for today in todays {
        for ages in ranges.clone() {
            for _ in 0..500 {
                let id = IdNumber::parse(&f.id_number("320505", ages.clone(), today)).unwrap();
                assert!(ages.contains(&id.age_on(today)), "{id} on {today}");
                assert_eq!(id.division6(), "320505");
            }
        }
    }
}

#[test]
fn people_are_consistent() {
    let mut f = Faker::new(6);
    let today = date!(2025 - 06 - 01);
    let mut sexes = HashSet::new();
    for _ in 0..2000 {
        let p = f.person("320583", 20..=70, today);
        let id = IdNumber::parse(&p.id_number).unwrap();
        assert_eq!(id.sex(), p.sex);
        assert_eq!(id.birth_date(), p.birth_date);
        assert!(Phone::parse(&p.phone).is_ok());
        sexes.insert(p.sex);
    }
    assert_eq!(sexes.len(), 2);
}

#[test]
fn credit_codes_match_their_kind() {
    let mut f = Faker::new(7);
    for _ in 0..200 {
        for kind in FakeOrgKind::ALL {
            let code = CreditCode::parse(&f.credit_code_for(kind, "320506")).unwrap();
            assert_eq!(code.division6(), "320506");
            match kind {
                FakeOrgKind::SocialGroup => {
                    assert_eq!(code.civil_affairs_kind(), Some(CivilAffairsKind::SocialGroup))
                }
                FakeOrgKind::SocialService => {
                    assert_eq!(code.civil_affairs_kind(), Some(CivilAffairsKind::SocialService))
                }
                FakeOrgKind::Foundation => {
                    assert_eq!(code.civil_affairs_kind(), Some(CivilAffairsKind::Foundation))
                }
                FakeOrgKind::RescueTeam | FakeOrgKind::CommunityBody => {
                    assert_eq!(code.authority(), Authority::CivilAffairs)
                }
                FakeOrgKind::Company => assert_eq!(code.authority(), Authority::MarketRegulation),
                FakeOrgKind::GovTeam => assert_eq!(code.authority(), Authority::Establishment),
            }
        }
    }
    for kind in FakeOrgKind::ALL {
        assert_eq!(FakeOrgKind::from_key(kind.key()), Some(kind));
    }
}

#[test]
fn org_names_are_plausible_and_unique() {
    let mut f = Faker::new(8);
    let districts = ["姑苏区", "吴中区", "昆山市", "苏州工业园区", "张家港市"];
    let mut seen = HashSet::new();
    for kind in FakeOrgKind::ALL {
        for d in districts {
            for domain in DOMAIN_KEYS.iter().copied().chain([""]) {
                let name = f.org_name(kind, d, domain);
                assert!(seen.insert(name.clone()), "duplicate {name}");
                assert!(name.chars().all(|c| is_han(c) || "（）0123456789".contains(c)), "{name}");
                let ok = match kind {
                    FakeOrgKind::SocialGroup => name.ends_with('会'),
                    FakeOrgKind::SocialService => name.ends_with("中心") || name.ends_with('社'),
                    FakeOrgKind::Foundation => name.contains("基金会"),
                    FakeOrgKind::RescueTeam => name.contains("队"),
                    FakeOrgKind::Company => name.contains("有限公司"),
                    FakeOrgKind::CommunityBody => name.contains("委员会") && name.contains("志愿服务队"),
                    FakeOrgKind::GovTeam => name.contains('队'),
                };
                assert!(ok, "{kind:?}: {name}");
                // The place shows in the name (short form for teams and companies, or the city).
                let short = d.trim_end_matches(['区', '市']);
                assert!(name.contains(short) || name.starts_with("苏州"), "{name}");
            }
        }
    }
    assert_eq!(
        f.community_team_name("平江路社区居委会").strip_prefix("平江路社区居委会").map(|t| t.ends_with("志愿服务队")),
        Some(true)
    );
    for key in DOMAIN_KEYS {
        assert!(domain_label_zh(key).is_some() && domain_label_en(key).is_some());
    }
}

#[test]
fn small_name_spaces_number_their_repeats() {
    // There are only a handful of plausible district foundations; asking for many more must
    // still give unique names, numbered after a name already handed out.
    let mut f = Faker::new(13);
    let names: Vec<String> = (0..300).map(|_| f.org_name(FakeOrgKind::Foundation, "姑苏区", "elderly")).collect();
    let unique: HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    for n in names.iter().filter(|n| n.ends_with('）')) {
        let base = &n[..n.find('（').unwrap()];
        assert!(names.iter().any(|m| m == base), "{n} without {base}");
    }
    assert!(names.iter().any(|n| n.ends_with('）')));
}

#[test]
fn addresses_use_the_district_and_street() {
    let mut f = Faker::new(9);
    for _ in 0..500 {
        let a = f.street_address("姑苏区", "平江街道");
        assert!(a.starts_with("姑苏区平江街道"), "{a}");
        let rest = a.trim_start_matches("姑苏区平江街道");
        let road_end = rest.find(['路', '街', '巷', '市']).unwrap();
        assert!(road_end > 0, "{a}");
        assert!(rest.contains('号'), "{a}");
    }
    let a = f.street_address("昆山市", "");
    assert!(a.starts_with("昆山市"), "{a}");
}

#[test]
fn skills_have_labels() {
    let mut f = Faker::new(10);
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for _ in 0..5000 {
        let s = f.skills();
        assert!((1..=3).contains(&s.len()));
        let distinct: HashSet<_> = s.iter().collect();
        assert_eq!(distinct.len(), s.len());
        for k in s {
            assert!(SKILL_KEYS.contains(&k));
            *counts.entry(k).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), SKILL_KEYS.len(), "every skill occurs");
    assert!(counts["first_aid"] > counts["diving"] * 5);
    assert_eq!(skill_label_zh("first_aid"), Some("急救"));
    assert_eq!(skill_label_en("collapsed_structure"), Some("Collapsed-structure search and rescue"));
    assert_eq!(skill_label_zh("juggling"), None);
    for k in SKILL_KEYS {
        assert!(skill_label_zh(k).is_some() && skill_label_en(k).is_some(), "{k}");
    }
}

// --- points inside district polygons --------------------------------------------------------

/// `/work/shared` or equivalent: env `TONGXIN_SHARED`, else the first ancestor of the crate
/// that has `shared/data`.
fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TONGXIN_SHARED") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().map(|a| a.join("shared")).find(|s| s.join("data").is_dir()).unwrap_or_else(|| {
        panic!(
            "shared data not found above {}: set TONGXIN_SHARED to the directory holding \
                 data/suzhou-districts.geojson",
            manifest.display()
        )
    })
}

/// Exterior and hole rings per polygon.
type MultiPolygon = Vec<Vec<Vec<(f64, f64)>>>;

fn load_districts() -> HashMap<String, MultiPolygon> {
    let path = shared_dir().join("data/suzhou-districts.geojson");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = HashMap::new();
    for feature in json["features"].as_array().unwrap() {
        let code = feature["properties"]["code"].as_str().unwrap()[..6].to_string();
        assert_eq!(feature["geometry"]["type"], "MultiPolygon");
        let polys = feature["geometry"]["coordinates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|poly| {
                poly.as_array()
                    .unwrap()
                    .iter()
                    .map(|ring| {
                        ring.as_array()
                            .unwrap()
                            .iter()
                            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        out.insert(code, polys);
    }
    out
}

/// Even-odd ray casting over one ring.
fn in_ring(ring: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let ((x1, y1), (x2, y2)) = (w[0], w[1]);
        if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
            inside = !inside;
        }
    }
    inside
}

fn in_multipolygon(mp: &MultiPolygon, p: (f64, f64)) -> bool {
    mp.iter().any(|poly| in_ring(&poly[0], p) && !poly[1..].iter().any(|hole| in_ring(hole, p)))
}

#[test]
fn points_fall_inside_their_district() {
    let polygons = load_districts();
    assert_eq!(polygons.len(), 9);
    let mut f = Faker::new(11);
    for code in DISTRICT_CODES {
        // The park has no polygon: it is the part of the 姑苏区 polygon east of 120.66°.
        let polygon_code = if code == "320576" { "320508" } else { code };
        let polygon = &polygons[polygon_code];
        let mut sum = (0.0, 0.0);
        for _ in 0..10_000 {
            let p = f.point_in_district(code);
            assert!(in_multipolygon(polygon, p), "{code}: {p:?} outside");
            for (other, mp) in &polygons {
                if other != polygon_code {
                    assert!(!in_multipolygon(mp, p), "{code}: {p:?} also in {other}");
                }
            }
            match code {
                "320576" => assert!(p.0 > 120.66, "{p:?} west of the park"),
                "320508" => assert!(p.0 < 120.66, "{p:?} outside the old city"),
                _ => {}
            }
            sum = (sum.0 + p.0, sum.1 + p.1);
        }
        // Points spread over the district instead of piling on one spot.
        let mean = (sum.0 / 10_000.0, sum.1 / 10_000.0);
        let mut g = Faker::new(12);
        let spread = (0..200)
            .map(|_| g.point_in_district(code))
            .map(|p| (p.0 - mean.0).abs() + (p.1 - mean.1).abs())
            .fold(0.0, f64::max);
        assert!(spread > 0.01, "{code}: all points within {spread}°");
    }
    // Street-level codes and the pre-2023 park code resolve to their district.
    assert!(in_multipolygon(&polygons["320583"], f.point_in_district("320583100000")));
    let park = f.point_in_district("320571");
    assert!(park.0 > 120.66 && in_multipolygon(&polygons["320508"], park));
    assert_eq!(district_name("320576"), Some("苏州工业园区"));
}

/// Throughput figures for city-scale seeding. Run with
/// `cargo test -p tongxin-domain --release --test it -- --ignored --nocapture fake_throughput`.
#[test]
#[ignore = "benchmark: prints figures"]
fn fake_throughput() {
    let mut f = Faker::new(1);
    let today = date!(2025 - 06 - 01);
    let n = 300_000;
    let t = Instant::now();
    let mut bytes = 0usize;
    for i in 0..n {
        let p = f.person(DISTRICT_CODES[i % 10], 18..=70, today);
        let pt = f.point_in_district(DISTRICT_CODES[i % 10]);
        let skills = f.skills();
        let addr = f.street_address("姑苏区", "平江街道");
        bytes += p.name.len() + p.id_number.len() + addr.len() + skills.len() + (pt.0 > 0.0) as usize;
    }
    let people = t.elapsed();
    let t = Instant::now();
    for i in 0..10_000 {
        let kind = FakeOrgKind::ALL[i % 7];
        bytes += f.org_name(kind, "吴中区", DOMAIN_KEYS[i % DOMAIN_KEYS.len()]).len();
        bytes += f.credit_code_for(kind, "320506").len();
    }
    let orgs = t.elapsed();
    println!(
        "{n} people (person + point + skills + address): {:?} ({:.0} ns each); \
         10000 organisations (name + credit code): {:?}; checksum {bytes}",
        people,
        people.as_nanos() as f64 / n as f64,
        orgs
    );
}
