//! Outbox fan-out to households: every selected household gets exactly one message, whatever
//! the selection overlaps, and enqueueing the same alert again queues nothing twice.

use super::{dbs, load_mini};
use tongxin_store::outbox::{enqueue_households, Households, NewMessage};
use tongxin_store::registry::{insert_households, NewHousehold};

const CITY: &str = "320500000000/";
const GUSU: &str = "320500000000/320508000000/";
const PINGJIANG: &str = "320500000000/320508000000/320508017000/320508017001/";
const WUZHONG: &str = "320500000000/320506000000/320506001000/";

fn hh(code: &str, path: &str, i: usize) -> NewHousehold {
    NewHousehold {
        grid_code: code.into(),
        division_path: path.into(),
        address: format!("{i}号"),
        lon: 120.6,
        lat: 31.3,
        members: 2,
        vulnerable: String::new(),
        contact_phone: format!("1390000{i:04}"),
    }
}

fn template() -> NewMessage {
    NewMessage {
        kind: "alert.alert".into(),
        ref_type: "alert".into(),
        ref_id: Some(7),
        urgent: true,
        ..Default::default()
    }
}

async fn keys(store: &tongxin_store::Store) -> Vec<String> {
    let rows = sqlx::query("SELECT idempotency_key FROM outbox ORDER BY idempotency_key")
        .fetch_all(store.reader())
        .await
        .unwrap();
    rows.iter().map(|r| tongxin_store::col::<String>(r, "idempotency_key").unwrap()).collect()
}

#[tokio::test]
async fn household_fan_out_queues_each_household_once() {
    for db in dbs().await {
        let mut tx = db.store.begin().await.unwrap();
        load_mini(&mut tx).await;
        let mut rows: Vec<_> = (0..5).map(|i| hh("320508017001", PINGJIANG, i)).collect();
        rows.extend((5..8).map(|i| hh("320506001000", WUZHONG, i)));
        insert_households(&mut tx, &rows).await.unwrap();
        tx.commit().await.unwrap();

        // Gusu twice and a community inside it: the five Gusu households, once each.
        let mut tx = db.store.begin().await.unwrap();
        let paths = vec![GUSU.to_string(), PINGJIANG.to_string(), GUSU.to_string()];
        let n = enqueue_households(&mut tx, Households::Within(&paths), &template(), "alert:7:sms:hh:").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(n, 5, "{:?}", db.store.backend());
        let first = keys(&db.store).await;
        assert_eq!(first.len(), 5);

        // The same alert again (the whole city, then ids with repeats): only the three Wuzhong
        // households are new; nothing is queued twice.
        let mut tx = db.store.begin().await.unwrap();
        let city = vec![CITY.to_string()];
        let n = enqueue_households(&mut tx, Households::Within(&city), &template(), "alert:7:sms:hh:").await.unwrap();
        let ids: Vec<u64> = vec![1, 1, 2, 8, 8];
        let m = enqueue_households(&mut tx, Households::Ids(&ids), &template(), "alert:7:sms:hh:").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((n, m), (3, 0), "{:?}", db.store.backend());
        let all = keys(&db.store).await;
        assert_eq!(all.len(), 8);
        assert!(first.iter().all(|k| all.contains(k)));

        // Another alert whose key prefix starts like this one's is a fresh fan-out.
        let mut tx = db.store.begin().await.unwrap();
        let n = enqueue_households(&mut tx, Households::Ids(&ids), &template(), "alert:71:sms:hh:").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(n, 3, "ids 1, 2 and 8 once each");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_channel_backlog_does_not_hold_back_the_other_channels() {
    for db in dbs().await {
        let mut tx = db.store.begin().await.unwrap();
        load_mini(&mut tx).await;
        let rows: Vec<_> = (0..30).map(|i| hh("320508017001", PINGJIANG, i)).collect();
        insert_households(&mut tx, &rows).await.unwrap();
        // Thirty urgent household SMS first, then two ordinary webhooks.
        let paths = vec![GUSU.to_string()];
        enqueue_households(&mut tx, Households::Within(&paths), &template(), "alert:7:sms:hh:").await.unwrap();
        let hooks: Vec<_> = (0..2)
            .map(|i| NewMessage {
                channel: "webhook".into(),
                recipient: "1".into(),
                kind: "incident.note".into(),
                idempotency_key: format!("incident:1:note:{i}:webhook:1"),
                ..Default::default()
            })
            .collect();
        tongxin_store::outbox::enqueue(&mut tx, &hooks).await.unwrap();
        tx.commit().await.unwrap();

        let channels = ["inapp", "email", "webhook", "sms"];
        let got = tongxin_store::outbox::claim(&db.store, "w1", &channels, 10, 60_000).await.unwrap();
        let n = |ch: &str| got.iter().filter(|m| m.channel == ch).count();
        assert_eq!((n("sms"), n("webhook")), (10, 2), "{:?}", db.store.backend());
        // The next claim takes the next ten SMS, none of the claimed ones again.
        let again = tongxin_store::outbox::claim(&db.store, "w2", &channels, 10, 60_000).await.unwrap();
        assert_eq!(again.len(), 10);
        assert!(again.iter().all(|m| m.channel == "sms" && !got.iter().any(|g| g.id == m.id)));
        db.cleanup().await;
    }
}
