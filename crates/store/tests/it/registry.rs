//! Registry store: filing state and history, reviews, insurance, filters, volunteer scope,
//! memberships — on every backend.

use super::{dbs, load_mini};
use tongxin_domain::page::{Cursor, Order};
use tongxin_domain::{Actor, Role};
use tongxin_store::registry::*;
use tongxin_store::StoreError;

const GUSU: &str = "320500000000/320508000000/320508017000/";
const WUZHONG: &str = "320500000000/320506000000/320506001000/";

fn input(name: &str, code: &str, path: &str, div: &str) -> OrgInput {
    OrgInput {
        name: name.into(),
        credit_code: code.into(),
        kind: "rescue_team".into(),
        division_code: div.into(),
        division_path: path.into(),
        contact_name: "王五".into(),
        contact_phone_enc: "v1:opaque".into(),
        domains: "water_rescue,logistics".into(),
        specialties: "water_rescue".into(),
        grade: "grade2".into(),
        people_count: 30,
        ..Default::default()
    }
}

fn actor(role: Role, path: Option<&str>, org: Option<i64>, user_id: i64) -> Actor {
    Actor {
        user_id,
        username: format!("u{user_id}"),
        display_name: "x".into(),
        role,
        division_code: None,
        division_path: path.map(String::from),
        org_id: org,
    }
}

fn vol(name: &str, hash: &str, path: &str, div: &str, user: Option<i64>) -> NewVolunteer {
    NewVolunteer {
        name: name.into(),
        id_hash: hash.into(),
        id_enc: "v1:x".into(),
        phone_enc: "v1:y".into(),
        phone_hash: format!("p{hash}"),
        birth_year: 1990,
        real_name: true,
        division_code: div.into(),
        division_path: path.into(),
        lon: None,
        lat: None,
        skills: "first_aid,driving".into(),
        insured: true,
        org_id: None,
        weekly: String::new(),
        available_now: false,
        cert_kinds: String::new(),
        user_id: user,
    }
}

#[tokio::test]
async fn filing_history_reviews_and_filters() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        let by = By { user_id: 7, username: "minzheng".into() };
        let a = create_org(&mut tx, &input("姑苏水上救援队", "A1", GUSU, "320508017000"), "filed", 1).await.unwrap();
        add_history(&mut tx, a, "", "filed", "", &by, 1).await.unwrap();
        let dup = create_org(&mut tx, &input("另一个", "A1", WUZHONG, "320506001000"), "filed", 1).await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{:?}: duplicate credit code refused", s.backend());
        tx.rollback().await.unwrap();

        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        let a = create_org(&mut tx, &input("姑苏水上救援队", "A1", GUSU, "320508017000"), "filed", 1).await.unwrap();
        let mut other = input("吴中助老协会", "B2", WUZHONG, "320506001000");
        other.kind = "social_group".into();
        other.domains = "elderly".into();
        other.specialties = String::new();
        other.grade = String::new();
        other.people_count = 5;
        let b = create_org(&mut tx, &other, "filed", 1).await.unwrap();
        set_org_state(&mut tx, a, "filed", "verified", "", &by, 2).await.unwrap();
        // A decision against a stale state loses.
        assert!(matches!(set_org_state(&mut tx, a, "filed", "returned", "x", &by, 3).await, Err(StoreError::NotFound)));
        let rev = Review {
            kind: "inspection".into(),
            year: 2025,
            result: "pass".into(),
            findings: String::new(),
            username: "m".into(),
            at: 4,
        };
        add_review(&mut tx, a, &rev, &by).await.unwrap();
        assert!(has_review(&mut tx, a, "inspection", 2025).await.unwrap());
        add_policy(
            &mut tx,
            a,
            &Policy {
                insurer: "人保".into(),
                policy_no: "P1".into(),
                covered_people: 30,
                valid_from: "2026-01-01".into(),
                valid_to: "2026-12-31".into(),
            },
        )
        .await
        .unwrap();
        org_by_credit_code(&mut *tx, "B2").await.unwrap().expect("found by code");
        tx.commit().await.unwrap();

        let h = org_history(s.reader(), a).await.unwrap();
        assert_eq!(h.iter().map(|x| x.to_state.as_str()).collect::<Vec<_>>(), vec!["verified"]);
        let o = get_org(s.reader(), a).await.unwrap();
        assert_eq!(
            (o.state.as_str(), o.last_inspection_year, o.insured_until.as_str()),
            ("verified", 2025, "2026-12-31")
        );

        let city = actor(Role::CivilAffairs, Some("320500000000/"), None, 1);
        let list = |f: OrgFilter| {
            let city = city.clone();
            async move {
                list_orgs(s.reader(), &city, &OrgFilter { limit: 50, ..f })
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|o| o.id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list(OrgFilter { domain: Some("elderly".into()), ..Default::default() }).await, vec![b]);
        assert_eq!(
            list(OrgFilter {
                specialty: Some("water_rescue".into()),
                grade: Some("grade2".into()),
                ..Default::default()
            })
            .await,
            vec![a]
        );
        assert_eq!(list(OrgFilter { insured_on: Some("2026-06-01".into()), ..Default::default() }).await, vec![a]);
        assert_eq!(list(OrgFilter { overdue_before: Some(2026), ..Default::default() }).await, vec![a]);
        assert!(list(OrgFilter { overdue_before: Some(2025), ..Default::default() }).await.is_empty());
        assert_eq!(list(OrgFilter { q: Some("b2".into()), ..Default::default() }).await, vec![b], "credit code search");
        // Sorted by people count, descending, one per page.
        let mut f = OrgFilter {
            sort: Some("people".into()),
            order: tongxin_domain::page::Order::Desc,
            limit: 1,
            ..Default::default()
        };
        let p1 = list_orgs(s.reader(), &city, &f).await.unwrap();
        f.cursor = Cursor::decode(p1.next_cursor.as_deref().unwrap());
        let p2 = list_orgs(s.reader(), &city, &f).await.unwrap();
        assert_eq!((p1.items[0].id, p2.items[0].id, p2.next_cursor), (a, b, None));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn volunteer_scope_and_memberships() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        let org =
            create_org(&mut tx, &input("吴中救援队", "W1", WUZHONG, "320506001000"), "verified", 1).await.unwrap();
        let g = create_volunteer(&mut tx, &vol("姑苏志愿者", "h1", GUSU, "320508017000", Some(99)), 1).await.unwrap();
        let w = create_volunteer(&mut tx, &vol("吴中志愿者", "h2", WUZHONG, "320506001000", None), 1).await.unwrap();
        let m = add_membership(&mut tx, g, org, 0, "pending", "想加入", 2).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = s.begin().await.unwrap();
        assert!(matches!(
            create_volunteer(&mut tx, &vol("重复", "h1", GUSU, "320508017000", None), 1).await,
            Err(StoreError::Conflict(_))
        ));
        tx.rollback().await.unwrap();

        let gusu = actor(Role::CivilAffairs, Some("320500000000/320508000000/"), None, 1);
        let admin = actor(Role::OrgAdmin, None, Some(org), 2);
        let me = actor(Role::Volunteer, None, None, 99);
        let names = |a: Actor| async move {
            list_volunteers(s.reader(), &a, &VolFilter { limit: 50, ..Default::default() })
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|v| v.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(gusu.clone()).await, vec![g]);
        assert!(names(admin.clone()).await.is_empty(), "a pending request does not open the record");
        assert_eq!(names(me.clone()).await, vec![g], "a volunteer sees only their own record");
        assert!(!volunteer_visible(s.reader(), &gusu, w).await.unwrap());

        let mut tx = s.begin().await.unwrap();
        decide_membership(&mut tx, m, "approved", 2, 3).await.unwrap();
        assert!(
            matches!(decide_membership(&mut tx, m, "rejected", 2, 3).await, Err(StoreError::NotFound)),
            "decided once"
        );
        tx.commit().await.unwrap();
        assert_eq!(names(admin.clone()).await, vec![g], "approved member is in the admin's scope");
        assert_eq!(get_volunteer(s.reader(), g).await.unwrap().org_id, Some(org), "primary organisation set");
        let f = VolFilter {
            org_id: Some(org),
            skill: Some("first_aid".into()),
            insured: Some(true),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(list_volunteers(s.reader(), &gusu, &f).await.unwrap().items.len(), 1);
        let f = VolFilter { hash: Some("ph2".into()), limit: 10, ..Default::default() };
        assert!(list_volunteers(s.reader(), &gusu, &f).await.unwrap().items.is_empty(), "phone lookup stays scoped");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn volunteer_pages_follow_the_sort_in_wide_and_narrow_scopes() {
    const COMMUNITY: &str = "320500000000/320508000000/320508017000/320508017001/";
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        // Names repeat so that the id breaks ties across page boundaries.
        let names = ["王芳", "李娜", "王芳", "张伟", "陈静", "李娜", "王芳", "刘洋", "赵敏", "王芳", "孙丽"];
        let mut all = vec![]; // (id, name, updated, path)
        for (i, n) in names.iter().enumerate() {
            let (path, code) = match i % 3 {
                0 => (COMMUNITY, "320508017001"),
                1 => (GUSU, "320508017000"),
                _ => (WUZHONG, "320506001000"),
            };
            let updated = 1000 - (i as i64 % 4) * 10;
            let id = create_volunteer(&mut tx, &vol(n, &format!("k{i}"), path, code, None), updated).await.unwrap();
            all.push((id, n.to_string(), updated, path));
        }
        tx.commit().await.unwrap();
        let city = actor(Role::Commander, Some("320500000000/"), None, 1);
        let gusu = actor(Role::CivilAffairs, Some("320500000000/320508000000/"), None, 2);
        for (who, within) in [(&city, None), (&gusu, None), (&city, Some(COMMUNITY)), (&gusu, Some(GUSU))] {
            let visible: Vec<_> = all
                .iter()
                .filter(|v| v.3.starts_with(who.division_path.as_deref().unwrap()))
                .filter(|v| within.is_none_or(|w| v.3.starts_with(w)))
                .cloned()
                .collect();
            for (sort, order) in
                [("name", Order::Asc), ("name", Order::Desc), ("updated", Order::Desc), ("id", Order::Asc)]
            {
                let mut want = visible.clone();
                want.sort_by(|a, b| {
                    let o = match sort {
                        "name" => a.1.cmp(&b.1),
                        "updated" => a.2.cmp(&b.2),
                        _ => std::cmp::Ordering::Equal,
                    }
                    .then(a.0.cmp(&b.0));
                    if order == Order::Desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
                let mut f = VolFilter {
                    within_path: within.map(String::from),
                    sort: Some(sort.into()),
                    order,
                    limit: 2,
                    ..Default::default()
                };
                let mut got = vec![];
                loop {
                    let p = list_volunteers(s.reader(), who, &f).await.unwrap();
                    got.extend(p.items.iter().map(|v| v.id));
                    match p.next_cursor {
                        Some(c) => f.cursor = Cursor::decode(&c),
                        None => break,
                    }
                }
                let want: Vec<i64> = want.iter().map(|v| v.0).collect();
                assert_eq!(got, want, "{} {within:?} {sort} {order:?}", who.username);
            }
        }
        db.cleanup().await;
    }
}
