use super::{dbs, load_mini};

#[tokio::test]
async fn tree_lookups_on_every_backend() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        tx.commit().await.unwrap();
        assert_eq!(s.division_count().await.unwrap(), 6, "{:?}", s.backend());
        let kids: Vec<String> =
            s.division_children("320500000000").await.unwrap().into_iter().map(|d| d.name).collect();
        assert_eq!(kids, vec!["吴中区", "姑苏区"]);
        let anc: Vec<String> =
            s.division_ancestors("320508017001").await.unwrap().into_iter().map(|d| d.code).collect();
        assert_eq!(anc, vec!["320500000000", "320508000000", "320508017000"]);
        assert!(s.division_within("320508017001", "320508000000").await.unwrap());
        assert!(!s.division_within("320506001000", "320508000000").await.unwrap());
        let found = s.division_search(&s.division("320508000000").await.unwrap().path, "平江", 10).await.unwrap();
        assert_eq!(found.len(), 2, "street and community under Gusu named 平江");
        let none = s.division_search(&s.division("320506000000").await.unwrap().path, "平江", 10).await.unwrap();
        assert!(none.is_empty(), "Wuzhong search must not find Gusu nodes");
        assert!(matches!(s.division("999999999999").await, Err(tongxin_store::StoreError::NotFound)));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn loading_twice_inserts_nothing_new() {
    for db in dbs().await {
        let mut tx = db.store.begin().await.unwrap();
        load_mini(&mut tx).await;
        load_mini(&mut tx).await;
        tx.commit().await.unwrap();
        assert_eq!(db.store.division_count().await.unwrap(), 6);
        db.cleanup().await;
    }
}
