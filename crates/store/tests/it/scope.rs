use super::{dbs, load_mini};
use tongxin_domain::page::{clamp_limit, Cursor};
use tongxin_domain::{Actor, Role};
use tongxin_store::registry::{insert_orgs, list_orgs, scoped_counts, NewOrg, OrgFilter};

fn org(id: i64, name: &str, code: &str, path: &str) -> NewOrg {
    NewOrg {
        id,
        name: name.into(),
        credit_code: format!("CODE{id}"),
        kind: "social_service".into(),
        division_code: code.into(),
        division_path: path.into(),
        address: String::new(),
        lon: 120.6,
        lat: 31.3,
        contact_name: "张三".into(),
        contact_phone: "13812341234".into(),
        domains: "elderly".into(),
        people_count: 10,
        state: "verified".into(),
    }
}

fn officer(path: Option<&str>, org_id: Option<i64>) -> Actor {
    Actor {
        user_id: 1,
        username: "x".into(),
        display_name: "x".into(),
        role: Role::CivilAffairs,
        division_code: None,
        division_path: path.map(String::from),
        org_id,
    }
}

#[tokio::test]
async fn gusu_officer_never_sees_wuzhong_rows() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        let gusu = "320500000000/320508000000/320508017000/";
        let wuzhong = "320500000000/320506000000/320506001000/";
        let mut rows = vec![];
        for i in 1..=30 {
            rows.push(org(i, &format!("姑苏组织{i:02}"), "320508017000", gusu));
        }
        for i in 31..=40 {
            rows.push(org(i, &format!("吴中组织{i:02}"), "320506001000", wuzhong));
        }
        insert_orgs(&mut tx, &rows, 0).await.unwrap();
        tx.commit().await.unwrap();

        let g = officer(Some("320500000000/320508000000/"), None);
        let mut f = OrgFilter { limit: clamp_limit(Some(12)), ..Default::default() };
        let mut seen = vec![];
        loop {
            let page = list_orgs(s.reader(), &g, &f).await.unwrap();
            seen.extend(page.items.iter().map(|o| o.name.clone()));
            match page.next_cursor {
                Some(c) => f.cursor = Cursor::decode(&c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 30, "{:?}: all Gusu rows over 3 pages, no Wuzhong", s.backend());
        assert!(seen.iter().all(|n| n.starts_with("姑苏")));
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "sorted by name across pages");

        // Filtering to a Wuzhong subtree does not widen the scope.
        let f = OrgFilter { within_path: Some(wuzhong.into()), limit: 50, ..Default::default() };
        assert!(list_orgs(s.reader(), &g, &f).await.unwrap().items.is_empty());

        // An organisation admin sees only its own organisation.
        let admin = officer(None, Some(35));
        let page = list_orgs(s.reader(), &admin, &OrgFilter { limit: 50, ..Default::default() }).await.unwrap();
        assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), vec![35]);

        // No jurisdiction, no organisation: nothing.
        let nobody = officer(None, None);
        assert_eq!(scoped_counts(s.reader(), &nobody).await.unwrap()[0].1, 0);
        assert_eq!(scoped_counts(s.reader(), &g).await.unwrap()[0].1, 30);
        db.cleanup().await;
    }
}
