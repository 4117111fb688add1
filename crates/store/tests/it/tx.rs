use super::{dbs, load_mini};
use tongxin_store::audit::{append, AuditInput, VerifyOutcome};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::users::{create, NewUser};
use tongxin_store::StoreError;

/// An audit record and a live event, as every request writes them.
async fn audit_and_event(tx: &mut tongxin_store::Tx, s: &tongxin_store::Store, name: &str) {
    let input = AuditInput {
        action: "test.create".into(),
        object_type: "user".into(),
        object_id: name.into(),
        ..Default::default()
    };
    append(tx, input).await.unwrap();
    let e = NewEvent {
        topic: "test".into(),
        kind: name.into(),
        division_path: "320500000000/".into(),
        ..Default::default()
    };
    publish(tx, s.backend(), &e).await.unwrap();
}

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

/// Many requests commit at once (group commit): every acknowledged one is saved, and the ones
/// that failed or rolled back leave nothing, whatever batch they shared — not even their audit
/// records or events: the audit chain (whose head a batch keeps in memory) has no gap or fork.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commits_land_and_failures_stay_out() {
    for db in dbs().await {
        let s = db.store.clone();
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        tx.commit().await.unwrap();

        let mut tasks = Vec::new();
        for i in 0..240 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("c{i}");
                let mut tx = s.begin().await.unwrap();
                create(&mut tx, &user(&name)).await.unwrap();
                audit_and_event(&mut tx, &s, &name).await;
                match i % 6 {
                    // A request that fails half-way: dropped, as the `?` operator does.
                    0 => {
                        assert!(create(&mut tx, &user(&name)).await.is_err());
                        drop(tx);
                        (name, false)
                    }
                    1 => {
                        tx.rollback().await.unwrap();
                        (name, false)
                    }
                    _ => {
                        tokio::task::yield_now().await;
                        tx.commit().await.unwrap();
                        (name, true)
                    }
                }
            }));
        }
        let mut saved = Vec::new();
        let mut dropped = Vec::new();
        for t in tasks {
            let (name, ok) = t.await.unwrap();
            if ok {
                saved.push(name)
            } else {
                dropped.push(name)
            }
        }
        // A write acknowledged above is visible to a reader at once.
        for n in &saved {
            assert!(s.user_by_username(n).await.is_ok(), "{n} was acknowledged but is missing on {:?}", s.backend());
        }
        // A later commit must not carry a dropped request's changes along.
        let mut tx = s.begin().await.unwrap();
        create(&mut tx, &user("after")).await.unwrap();
        audit_and_event(&mut tx, &s, "after").await;
        tx.commit().await.unwrap();
        for n in &dropped {
            assert!(s.user_by_username(n).await.is_err(), "{n} was rolled back but is saved on {:?}", s.backend());
        }
        assert_eq!(s.user_count().await.unwrap(), saved.len() as i64 + 1);
        let records = saved.len() as i64 + 1;
        assert_eq!(s.audit_verify().await.unwrap(), VerifyOutcome::Intact { records }, "on {:?}", s.backend());
        let events = s.events_after(0, 1000).await.unwrap();
        let mut kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        kinds.sort();
        let mut want: Vec<&str> = saved.iter().map(String::as_str).chain(["after"]).collect();
        want.sort();
        assert_eq!(kinds, want, "events of exactly the saved requests on {:?}", s.backend());
        db.cleanup().await;
    }
}

/// Appends-only requests (no savepoint: their rows are written at COMMIT) share batches with
/// ordinary ones: a committed request's timeline entries, audit records and events are saved
/// under the ids it was given, a dropped one leaves nothing, and the audit chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_only_requests_commit_with_their_batch_and_roll_back_in_memory() {
    use tongxin_store::incidents::{add_timeline, insert_incident, timeline, NewIncident};
    for db in dbs().await {
        let s = db.store.clone();
        let mut tx = s.begin().await.unwrap();
        load_mini(&mut tx).await;
        let incident = NewIncident {
            title: "内涝".into(),
            category: "natural".into(),
            subtype: "flood".into(),
            severity: 2,
            lon: 120.6,
            lat: 31.3,
            radius_m: 500,
            division_code: "320508000000".into(),
            division_path: "320500000000/320508000000/".into(),
            reporter_id: 0,
            source: "api".into(),
            at: tongxin_store::now_ms(),
            description: String::new(),
        };
        let inc = insert_incident(&mut tx, &incident, "tester").await.unwrap();
        tx.commit().await.unwrap();

        let mut tasks = Vec::new();
        for i in 0..180 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("n{i}");
                let mut tx = if i % 3 == 0 { s.begin().await.unwrap() } else { s.begin_appends().await.unwrap() };
                if i % 3 == 0 {
                    create(&mut tx, &user(&name)).await.unwrap();
                }
                let at = tongxin_store::now_ms();
                let id =
                    add_timeline(&mut tx, inc, at, "note", false, Some((1, "tester")), &name, &name).await.unwrap();
                audit_and_event(&mut tx, &s, &name).await;
                tokio::task::yield_now().await;
                if i % 3 == 2 {
                    drop(tx);
                    (name, id, false)
                } else {
                    tx.commit().await.unwrap();
                    (name, id, true)
                }
            }));
        }
        let mut saved = std::collections::BTreeMap::new();
        for t in tasks {
            let (name, id, ok) = t.await.unwrap();
            if ok {
                saved.insert(name, id);
            }
        }
        let stored: std::collections::BTreeMap<String, i64> =
            timeline(s.reader(), inc).await.unwrap().into_iter().map(|e| (e.text_zh, e.id)).collect();
        assert_eq!(stored, saved, "exactly the committed entries, under the ids they were given, on {:?}", s.backend());
        let records = saved.len() as i64;
        assert_eq!(s.audit_verify().await.unwrap(), VerifyOutcome::Intact { records }, "on {:?}", s.backend());
        let events = s.events_after(0, 1000).await.unwrap();
        let kinds: std::collections::BTreeSet<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, saved.keys().map(String::as_str).collect(), "on {:?}", s.backend());
        assert!(events.windows(2).all(|w| w[0].id < w[1].id));
        // The live hub keeps up with this node's commits from this figure, without a read.
        assert_eq!(
            s.events_committed_here(),
            s.events_last_id().await.unwrap(),
            "the newest committed event, counted without a read, on {:?}",
            s.backend()
        );
        db.cleanup().await;
    }
}
