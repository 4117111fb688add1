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

#[tokio::test]
async fn staged_rows_reach_the_database_only_with_the_load_transaction() {
    use tongxin_store::bulk::{copy_staged, BulkSink};
    use tongxin_store::grids::Household;
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        tx.commit().await.unwrap();
        let Some(stager) = s.stage(&["households"]).await.unwrap() else {
            // Only a SQLite file stages; PostgreSQL loads through the transaction.
            assert_eq!(s.backend(), tongxin_store::Backend::Postgres);
            db.cleanup().await;
            continue;
        };
        let rows = |from: i64| -> Vec<Household> {
            (from..from + 50)
                .map(|i| Household {
                    id: i,
                    grid_code: "320508017001".into(),
                    division_path: PINGJIANG.into(),
                    building_id: None,
                    address: format!("{i}号"),
                    floor: Some(i % 7),
                    lon: 120.6,
                    lat: 31.3,
                    members: 2,
                    vulnerable: String::new(),
                    head_name: "张三".into(),
                    contact_enc: String::new(),
                    updated_at: 5,
                })
                .collect()
        };
        let mut sink = BulkSink::Stage(&stager);
        let first = sink.next_id("households").await.unwrap();
        sink.insert(rows(first), 0).await.unwrap();
        sink.insert(rows(first + 50), 0).await.unwrap();
        let staged = stager.finish().await.unwrap();
        assert_eq!(s.count_rows("households").await.unwrap(), 0);

        // A load that fails after the copy leaves nothing behind.
        let mut tx = s.begin_bulk_staged(BulkMode::Rerunnable, &staged).await.unwrap();
        assert_eq!(copy_staged::<Household>(&mut tx).await.unwrap(), 100);
        drop(tx);
        s.end_bulk().await.unwrap();
        assert_eq!(s.count_rows("households").await.unwrap(), 0);

        let mut tx = s.begin_bulk_staged(BulkMode::Rerunnable, &staged).await.unwrap();
        assert_eq!(copy_staged::<Household>(&mut tx).await.unwrap(), 100);
        tx.commit().await.unwrap();
        s.end_bulk().await.unwrap();
        let file = s.sqlite_file().unwrap();
        let mut stage_file = file.file_name().unwrap().to_os_string();
        stage_file.push("-stage");
        let stage_file = file.with_file_name(stage_file);
        assert!(stage_file.exists());
        drop(staged);
        assert!(!stage_file.exists(), "the staging file is deleted with its Staged");
        assert_eq!(s.count_rows("households").await.unwrap(), 100);
        let r = sqlx::query("SELECT address, floor, head_name, updated_at, building_id FROM households WHERE id = $1")
            .bind(first + 57)
            .fetch_one(s.reader())
            .await
            .unwrap();
        assert_eq!(tongxin_store::col::<String>(&r, "address").unwrap(), format!("{}号", first + 57));
        assert_eq!(tongxin_store::col::<Option<i64>>(&r, "floor").unwrap(), Some((first + 57) % 7));
        assert_eq!(tongxin_store::col::<String>(&r, "head_name").unwrap(), "张三");
        assert_eq!(tongxin_store::col::<i64>(&r, "updated_at").unwrap(), 5);
        assert_eq!(tongxin_store::col::<Option<i64>>(&r, "building_id").unwrap(), None);
        assert_eq!(pragma(s, "journal_mode").await, "wal");
        // The staging file was detached: the next staged load attaches its own.
        let staged = s.stage(&["households"]).await.unwrap().unwrap().finish().await.unwrap();
        let tx = s.begin_bulk_staged(BulkMode::Rerunnable, &staged).await.unwrap();
        drop(tx);
        s.end_bulk().await.unwrap();
        drop(staged);

        // Rows whose ids are taken are refused, in the staging file already.
        let stager = s.stage(&["households"]).await.unwrap().unwrap();
        let mut sink = BulkSink::Stage(&stager);
        sink.insert(rows(1), 0).await.unwrap();
        sink.insert(rows(1), 0).await.ok();
        assert!(matches!(stager.finish().await, Err(tongxin_store::StoreError::Conflict(_))));
        db.cleanup().await;
    }
}
