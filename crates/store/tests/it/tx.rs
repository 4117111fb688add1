use super::{dbs, load_mini};
use tongxin_store::users::{create, NewUser};
use tongxin_store::StoreError;

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: name.into(),
        password_hash: "x".into(),
        role: "civil_affairs".into(),
        division_code: Some("320508000000".into()),
        division_path: Some("320500000000/320508000000/".into()),
        org_id: None,
    }
}

#[tokio::test]
async fn failed_transaction_leaves_nothing_partial() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        tx.commit().await.unwrap();

        let mut tx = s.begin().await.unwrap();
        create(&mut tx, &user("a1")).await.unwrap();
        let e = create(&mut tx, &user("a1")).await;
        assert!(matches!(e, Err(StoreError::Conflict(_))), "duplicate username is a conflict on {:?}", s.backend());
        drop(tx); // dropped without commit = rollback, as when a request fails
        assert_eq!(s.user_count().await.unwrap(), 0, "the first insert must be rolled back too");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn committed_write_is_visible_to_readers() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        let id = create(&mut tx, &user("b1")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(s.user_by_username("b1").await.unwrap().id, id);
        assert_eq!(s.user_by_id(id).await.unwrap().username, "b1");
        db.cleanup().await;
    }
}
