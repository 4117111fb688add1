use super::dbs;
use tongxin_store::audit::{append, AuditInput, VerifyOutcome};

fn input(i: usize) -> AuditInput {
    AuditInput {
        user_id: 7,
        username: "minzheng".into(),
        role: "civil_affairs".into(),
        division_code: "320508000000".into(),
        action: "org.verify".into(),
        object_type: "organization".into(),
        object_id: i.to_string(),
        summary: format!("{{\"state\":\"verified\",\"n\":{i}}}"),
        request_id: format!("req-{i}"),
        ip: "127.0.0.1".into(),
    }
}

#[tokio::test]
async fn chain_verifies_and_detects_edits_and_deletions() {
    for db in dbs().await {
        let s = &db.store;
        for i in 0..5 {
            let mut tx = s.begin().await.unwrap();
            append(&mut tx, input(i)).await.unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(s.audit_verify().await.unwrap(), VerifyOutcome::Intact { records: 5 });

        // Someone edits record 3 directly in the database.
        let mut tx = s.begin().await.unwrap();
        sqlx::query("UPDATE audit_log SET summary = '{\"state\":\"rejected\"}' WHERE seq = 3")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        match s.audit_verify().await.unwrap() {
            VerifyOutcome::Broken { seq, en, .. } => {
                assert_eq!(seq, 3);
                assert!(en.contains("altered"));
            }
            other => panic!("edit not detected: {other:?}"),
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn deleting_the_last_record_is_detected() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        for i in 0..3 {
            append(&mut tx, input(i)).await.unwrap();
        }
        tx.commit().await.unwrap();
        let mut tx = s.begin().await.unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(s.audit_verify().await.unwrap(), VerifyOutcome::Broken { seq: 3, .. }));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn rolled_back_audit_leaves_no_gap() {
    for db in dbs().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        append(&mut tx, input(1)).await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = s.begin().await.unwrap();
        assert_eq!(append(&mut tx, input(2)).await.unwrap(), 1, "sequence must not skip after a rollback");
        tx.commit().await.unwrap();
        assert_eq!(s.audit_verify().await.unwrap(), VerifyOutcome::Intact { records: 1 });
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    for db in dbs().await {
        let s = db.store.clone();
        let mut handles = vec![];
        for i in 0..16 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let mut tx = s.begin().await.unwrap();
                append(&mut tx, input(i)).await.unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(s.audit_verify().await.unwrap(), VerifyOutcome::Intact { records: 16 });
        db.cleanup().await;
    }
}

#[tokio::test]
async fn retention_removes_old_records_and_the_chain_still_verifies() {
    for db in dbs().await {
        let s = &db.store;
        let day = 86_400_000i64;
        let now = tongxin_store::now_ms();
        let mut tx = s.begin().await.unwrap();
        for i in 0..3 {
            tongxin_store::audit::append_at(&mut tx, input(i), now - 200 * day).await.unwrap();
        }
        for i in 3..5 {
            append(&mut tx, input(i)).await.unwrap();
        }
        tx.commit().await.unwrap();
        let mut tx = s.begin().await.unwrap();
        let by = AuditInput { username: "system".into(), role: "system".into(), ..Default::default() };
        let n = tongxin_store::audit::prune(&mut tx, now - 180 * day, by).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(n, 3, "{:?}", s.backend());
        assert_eq!(s.audit_verify().await.unwrap(), VerifyOutcome::Intact { records: 3 }, "2 kept + the prune record");
        let pruned = s.audit_recent("audit.prune", 5).await.unwrap();
        assert_eq!(pruned.len(), 1, "the retention job is itself audited");
        // Deleting the first kept record is still detected.
        let mut tx = s.begin().await.unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = 4").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(s.audit_verify().await.unwrap(), VerifyOutcome::Broken { seq: 4, .. }));
        db.cleanup().await;
    }
}
