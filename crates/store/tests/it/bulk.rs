//! Bulk loads (the demo seed): a re-runnable load commits its rows and leaves the database as
//! the server needs it (WAL, foreign keys enforced); a failed one leaves nothing behind.

use super::{dbs, load_mini};
use tongxin_store::bulk::BulkMode;
use tongxin_store::registry::{insert_households, NewHousehold};

const PINGJIANG: &str = "320500000000/320508000000/320508017000/320508017001/";

fn hh(i: usize) -> NewHousehold {
    NewHousehold {
        grid_code: "320508017001".into(),
        division_path: PINGJIANG.into(),
        address: format!("{i}号"),
        lon: 120.6,
        lat: 31.3,
        members: 2,
        vulnerable: String::new(),
        contact_phone: String::new(),
    }
}

async fn pragma(s: &tongxin_store::Store, p: &str) -> String {
    let r = sqlx::query(&format!("PRAGMA {p}")).fetch_one(s.reader()).await.unwrap();
    sqlx::Row::try_get::<String, _>(&r, 0)
        .or_else(|_| sqlx::Row::try_get::<i64, _>(&r, 0).map(|v| v.to_string()))
        .unwrap()
}

#[tokio::test]
async fn rerunnable_bulk_load_commits_and_restores_durable_settings() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        tx.commit().await.unwrap();
        // A reader was open before the load (it is closed for the load and reopened after).
        assert_eq!(s.count_rows("households").await.unwrap(), 0);

        // A failed load rolls back.
        let mut tx = s.begin_bulk(BulkMode::Rerunnable).await.unwrap();
        insert_households(&mut tx, &(0..100).map(hh).collect::<Vec<_>>()).await.unwrap();
        drop(tx);
        s.end_bulk().await.unwrap();
        assert_eq!(s.count_rows("households").await.unwrap(), 0, "{:?}", s.backend());

        let mut tx = s.begin_bulk(BulkMode::Rerunnable).await.unwrap();
        insert_households(&mut tx, &(0..100).map(hh).collect::<Vec<_>>()).await.unwrap();
        tx.commit().await.unwrap();
        s.end_bulk().await.unwrap();
        s.analyze().await.unwrap();
        s.checkpoint().await.unwrap();
        assert_eq!(s.count_rows("households").await.unwrap(), 100);
        if s.backend() == tongxin_store::Backend::Sqlite {
            assert_eq!(pragma(s, "journal_mode").await, "wal");
        } else {
            // The vacuum after the load marked the new pages all-visible (index-only reads).
            let r = sqlx::query("SELECT relallvisible AS n FROM pg_class WHERE oid = 'households'::regclass")
                .fetch_one(s.reader())
                .await
                .unwrap();
            assert!(tongxin_store::col::<i32>(&r, "n").unwrap() > 0);
        }
        // Foreign keys hold again after the load.
        let mut tx = s.begin().await.unwrap();
        let bad = insert_households(&mut tx, &[NewHousehold { grid_code: "999999999999".into(), ..hh(1) }]).await;
        assert!(bad.is_err(), "a household in an unknown grid must be refused on {:?}", s.backend());
        drop(tx);
        db.cleanup().await;
    }
}
