//! Storage of work orders, complaints, deadline policy, holiday calendar, price monitoring and the
//! cluster-wide lease of the overdue scan. Same SQL text on SQLite and PostgreSQL.

use crate::sql::SqlBuf;
use crate::{col, map_unique, Result, Store, StoreError, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;
use tongxin_domain::Actor;

/// A work order as stored (address and phone encrypted).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OrderRow {
    /// Id.
    pub id: i64,
    /// Public order number, e.g. `WO20261128-000001`.
    pub code: String,
    /// Kind of need.
    pub kind: String,
    /// `normal` or `urgent`.
    pub urgency: String,
    /// Vulnerable-person flags, comma-separated.
    pub vulnerable: String,
    /// What is needed.
    pub description: String,
    /// Community (or grid) code.
    pub division_code: String,
    /// Its path.
    pub division_path: String,
    /// District code.
    pub district_code: String,
    /// Street code.
    pub street_code: String,
    /// Address, encrypted.
    #[serde(skip)]
    pub address_enc: String,
    /// Contact name.
    pub contact_name: String,
    /// Phone, encrypted.
    #[serde(skip)]
    pub phone_enc: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Resident account that filed it (None for guests and paper requests).
    pub requester_user_id: Option<i64>,
    /// Account that typed it in (grid worker on behalf), if not the requester.
    pub filed_by_user_id: Option<i64>,
    /// `self`, `guest`, `grid` (on behalf).
    pub channel: String,
    /// State key.
    pub state: String,
    /// `staff`, `org`, `volunteer` or empty.
    pub assignee_kind: String,
    /// Assigned organisation.
    pub assignee_org_id: Option<i64>,
    /// Assigned account (staff or volunteer).
    pub assignee_user_id: Option<i64>,
    /// Who handles it, as shown to the resident.
    pub assignee_name: String,
    /// When the current step began.
    pub step_started_at: i64,
    /// Deadline of the current step.
    pub due_at: Option<i64>,
    /// Next escalation time.
    pub escalate_at: Option<i64>,
    /// Length of the current step (for repeated escalation).
    pub step_ms: i64,
    /// Escalation level (0 none, 1 street, 2 district, 3 city).
    pub escalation: i64,
    /// Extensions granted.
    pub extensions: i64,
    /// The answer.
    pub answer: String,
    /// Rating 1–5.
    pub rating: Option<i64>,
    /// Rating comment.
    pub rating_comment: String,
    /// Whether the answer came before its deadline.
    pub answered_on_time: Option<i64>,
    /// Answer time.
    pub answered_at: Option<i64>,
    /// Close time.
    pub closed_at: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// Updated (optimistic concurrency).
    pub updated_at: i64,
}

const ORDER_COLS: &str = "id, code, kind, urgency, vulnerable, description, division_code, division_path, district_code, \
    street_code, address_enc, contact_name, phone_enc, lon, lat, requester_user_id, filed_by_user_id, channel, state, \
    assignee_kind, assignee_org_id, assignee_user_id, assignee_name, step_started_at, due_at, escalate_at, step_ms, \
    escalation, extensions, answer, rating, rating_comment, answered_on_time, answered_at, closed_at, created_at, updated_at";

fn order_of(r: &AnyRow) -> Result<OrderRow> {
    Ok(OrderRow {
        id: col(r, "id")?,
        code: col(r, "code")?,
        kind: col(r, "kind")?,
        urgency: col(r, "urgency")?,
        vulnerable: col(r, "vulnerable")?,
        description: col(r, "description")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        district_code: col(r, "district_code")?,
        street_code: col(r, "street_code")?,
        address_enc: col(r, "address_enc")?,
        contact_name: col(r, "contact_name")?,
        phone_enc: col(r, "phone_enc")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        requester_user_id: col(r, "requester_user_id")?,
        filed_by_user_id: col(r, "filed_by_user_id")?,
        channel: col(r, "channel")?,
        state: col(r, "state")?,
        assignee_kind: col(r, "assignee_kind")?,
        assignee_org_id: col(r, "assignee_org_id")?,
        assignee_user_id: col(r, "assignee_user_id")?,
        assignee_name: col(r, "assignee_name")?,
        step_started_at: col(r, "step_started_at")?,
        due_at: col(r, "due_at")?,
        escalate_at: col(r, "escalate_at")?,
        step_ms: col(r, "step_ms")?,
        escalation: col(r, "escalation")?,
        extensions: col(r, "extensions")?,
        answer: col(r, "answer")?,
        rating: col(r, "rating")?,
        rating_comment: col(r, "rating_comment")?,
        answered_on_time: col(r, "answered_on_time")?,
        answered_at: col(r, "answered_at")?,
        closed_at: col(r, "closed_at")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// Inserts a new order (id and code assigned here); returns (id, code).
pub async fn insert_order(tx: &mut Tx, o: &OrderRow, track_hash: &str, code_prefix: &str) -> Result<(i64, String)> {
    let r = sqlx::query(
        "INSERT INTO work_orders (code, track_hash, kind, urgency, vulnerable, description, division_code, division_path, \
         district_code, street_code, address_enc, contact_name, phone_enc, lon, lat, requester_user_id, filed_by_user_id, \
         channel, state, step_started_at, due_at, escalate_at, step_ms, created_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25) RETURNING id",
    )
    .bind(format!("pending-{track_hash}"))
    .bind(track_hash.to_string())
    .bind(o.kind.clone())
    .bind(o.urgency.clone())
    .bind(o.vulnerable.clone())
    .bind(o.description.clone())
    .bind(o.division_code.clone())
    .bind(o.division_path.clone())
    .bind(o.district_code.clone())
    .bind(o.street_code.clone())
    .bind(o.address_enc.clone())
    .bind(o.contact_name.clone())
    .bind(o.phone_enc.clone())
    .bind(o.lon)
    .bind(o.lat)
    .bind(o.requester_user_id)
    .bind(o.filed_by_user_id)
    .bind(o.channel.clone())
    .bind(o.state.clone())
    .bind(o.step_started_at)
    .bind(o.due_at)
    .bind(o.escalate_at)
    .bind(o.step_ms)
    .bind(o.created_at)
    .bind(o.updated_at)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_unique)?;
    let id: i64 = col(&r, "id")?;
    let code = format!("{code_prefix}-{id:06}");
    sqlx::query("UPDATE work_orders SET code = $1 WHERE id = $2")
        .bind(code.clone())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok((id, code))
}

/// Writes the mutable part of an order, only if nobody changed it since `expected_updated_at`.
/// Returns false on a concurrent change.
pub async fn update_order(tx: &mut Tx, o: &OrderRow, expected_updated_at: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE work_orders SET state=$1, assignee_kind=$2, assignee_org_id=$3, assignee_user_id=$4, assignee_name=$5, \
         step_started_at=$6, due_at=$7, escalate_at=$8, step_ms=$9, escalation=$10, extensions=$11, answer=$12, rating=$13, \
         rating_comment=$14, answered_on_time=$15, answered_at=$16, closed_at=$17, updated_at=$18 \
         WHERE id=$19 AND updated_at=$20",
    )
    .bind(o.state.clone())
    .bind(o.assignee_kind.clone())
    .bind(o.assignee_org_id)
    .bind(o.assignee_user_id)
    .bind(o.assignee_name.clone())
    .bind(o.step_started_at)
    .bind(o.due_at)
    .bind(o.escalate_at)
    .bind(o.step_ms)
    .bind(o.escalation)
    .bind(o.extensions)
    .bind(o.answer.clone())
    .bind(o.rating)
    .bind(o.rating_comment.clone())
    .bind(o.answered_on_time)
    .bind(o.answered_at)
    .bind(o.closed_at)
    .bind(o.updated_at)
    .bind(o.id)
    .bind(expected_updated_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// A step in an order's history.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepRow {
    /// Unix ms.
    pub at: i64,
    /// Action key (or `escalate`).
    pub action: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Who (display name; "系统" for the scheduler).
    pub actor_name: String,
    /// Note (reason, answer, rating comment).
    pub note: String,
    /// Deadline set by this step.
    pub due_at: Option<i64>,
}

/// Appends a history step.
pub async fn insert_step(tx: &mut Tx, order_id: i64, s: &StepRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO work_order_steps (order_id, at, action, from_state, to_state, actor_name, note, due_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(order_id)
    .bind(s.at)
    .bind(s.action.clone())
    .bind(s.from_state.clone())
    .bind(s.to_state.clone())
    .bind(s.actor_name.clone())
    .bind(s.note.clone())
    .bind(s.due_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Filter of an order list (scoping is applied separately).
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Subtree (path), already checked to be inside the actor's scope.
    pub within_path: Option<String>,
    /// State key.
    pub state: Option<String>,
    /// Kind key.
    pub kind: Option<String>,
    /// `normal`/`urgent`.
    pub urgency: Option<String>,
    /// Only escalated (督办).
    pub escalated: bool,
    /// Only open (not closed).
    pub open: bool,
    /// Only the requester's own.
    pub requester: Option<i64>,
    /// Id below this (keyset, newest first).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

fn push_filter(b: &mut SqlBuf, f: &OrderFilter) {
    if let Some(p) = &f.within_path {
        b.push(" AND ").within("division_path", p);
    }
    if let Some(s) = &f.state {
        b.push(" AND state = ").text(s.clone());
    }
    if let Some(k) = &f.kind {
        b.push(" AND kind = ").text(k.clone());
    }
    if let Some(u) = &f.urgency {
        b.push(" AND urgency = ").text(u.clone());
    }
    if f.escalated {
        b.push(" AND escalation > 0");
    }
    if f.open {
        b.push(" AND state <> 'closed'");
    }
    if let Some(r) = f.requester {
        b.push(" AND requester_user_id = ").int(r);
    }
}

impl Store {
    /// One order by id (unscoped: the caller checks access).
    pub async fn order(&self, id: i64) -> Result<OrderRow> {
        let r = sqlx::query(&format!("SELECT {ORDER_COLS} FROM work_orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        order_of(&r)
    }

    /// One order by its tracking-code hash.
    pub async fn order_by_track(&self, hash: &str) -> Result<OrderRow> {
        let r = sqlx::query(&format!("SELECT {ORDER_COLS} FROM work_orders WHERE track_hash = $1"))
            .bind(hash.to_string())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        order_of(&r)
    }

    /// History of an order, oldest first.
    pub async fn order_steps(&self, id: i64) -> Result<Vec<StepRow>> {
        let rows = sqlx::query(
            "SELECT at, action, from_state, to_state, actor_name, note, due_at FROM work_order_steps \
             WHERE order_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StepRow {
                    at: col(r, "at")?,
                    action: col(r, "action")?,
                    from_state: col(r, "from_state")?,
                    to_state: col(r, "to_state")?,
                    actor_name: col(r, "actor_name")?,
                    note: col(r, "note")?,
                    due_at: col(r, "due_at")?,
                })
            })
            .collect()
    }

    /// Orders visible to `actor` (scope: jurisdiction or assigned organisation), newest first.
    /// `scoped = false` skips the jurisdiction filter (the requester's own list).
    pub async fn orders(&self, actor: &Actor, scoped: bool, f: &OrderFilter) -> Result<Vec<OrderRow>> {
        let mut b = SqlBuf::new(&format!("SELECT {ORDER_COLS} FROM work_orders WHERE "));
        if scoped {
            b.scope(actor, "division_path", Some("assignee_org_id"));
        } else {
            b.push("1 = 1");
        }
        push_filter(&mut b, f);
        if let Some(id) = f.before_id {
            b.push(" AND id < ").int(id);
        }
        b.push(" ORDER BY id DESC LIMIT ").int(f.limit);
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(order_of).collect()
    }

    /// Community needs list: open orders by community, kind and urgency, within the actor's scope.
    pub async fn needs_rollup(&self, actor: &Actor, f: &OrderFilter) -> Result<Vec<(String, String, String, i64)>> {
        let mut b = SqlBuf::new("SELECT division_code, kind, urgency, COUNT(*) AS n FROM work_orders WHERE ");
        b.scope(actor, "division_path", Some("assignee_org_id"));
        push_filter(&mut b, f);
        b.push(" GROUP BY division_code, kind, urgency ORDER BY division_code, kind, urgency");
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((col(r, "division_code")?, col(r, "kind")?, col(r, "urgency")?, col(r, "n")?))).collect()
    }

    /// Orders and complaints whose escalation time has come: (table, id, level, escalate_at, step_ms).
    pub async fn due_escalations(&self, now: i64, limit: i64) -> Result<Vec<(&'static str, i64, i64, i64, i64)>> {
        let mut out = Vec::new();
        for (table, step) in [("work_orders", "step_ms"), ("complaints", "0")] {
            let rows = sqlx::query(&format!(
                "SELECT id, escalation, escalate_at, {step} AS step_ms FROM {table} \
                 WHERE escalate_at IS NOT NULL AND escalate_at <= $1 ORDER BY escalate_at LIMIT $2"
            ))
            .bind(now)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
            for r in rows {
                out.push((table, col(&r, "id")?, col(&r, "escalation")?, col(&r, "escalate_at")?, col(&r, "step_ms")?));
            }
        }
        Ok(out)
    }

    /// Tries to take (or keep) the scan lease for `ttl_ms`. True when `holder` holds it.
    pub async fn take_scan_lease(&self, holder: &str, now: i64, ttl_ms: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE wo_lease SET holder = $1, until = $2 WHERE id = 1 AND (until < $3 OR holder = $1)")
            .bind(holder.to_string())
            .bind(now + ttl_ms)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The stored policy JSON.
    pub async fn wo_policy_json(&self) -> Result<String> {
        let r = sqlx::query("SELECT policy FROM wo_settings WHERE id = 1").fetch_one(self.reader()).await?;
        col(&r, "policy")
    }

    /// Holiday calendar rows (day, kind, name), by day.
    pub async fn wo_calendar(&self) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query("SELECT day, kind, name FROM wo_calendar ORDER BY day").fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((col(r, "day")?, col(r, "kind")?, col(r, "name")?))).collect()
    }
}

/// Moves an escalation forward, only if it is still at `old_at` (another node did not).
pub async fn set_escalation(
    tx: &mut Tx,
    table: &'static str,
    id: i64,
    old_at: i64,
    level: i64,
    next: Option<i64>,
) -> Result<bool> {
    let n = sqlx::query(&format!(
        "UPDATE {table} SET escalation = $1, escalate_at = $2 WHERE id = $3 AND escalate_at = $4"
    ))
    .bind(level)
    .bind(next)
    .bind(id)
    .bind(old_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Stores the policy JSON.
pub async fn set_policy(tx: &mut Tx, json: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE wo_settings SET policy = $1, updated_at = $2 WHERE id = 1")
        .bind(json.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets (or with `kind` empty, removes) a calendar day.
pub async fn set_calendar_day(tx: &mut Tx, day: &str, kind: &str, name: &str) -> Result<()> {
    sqlx::query("DELETE FROM wo_calendar WHERE day = $1").bind(day.to_string()).execute(&mut **tx).await?;
    if !kind.is_empty() {
        sqlx::query("INSERT INTO wo_calendar (day, kind, name) VALUES ($1,$2,$3)")
            .bind(day.to_string())
            .bind(kind.to_string())
            .bind(name.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Increments of the accountability figures of one community.
#[derive(Debug, Clone, Default)]
pub struct StatDelta {
    /// Requests received.
    pub received: i64,
    /// Requests resolved (answered).
    pub resolved: i64,
    /// Resolved before the deadline.
    pub resolved_on_time: i64,
    /// Rating added.
    pub rating_sum: i64,
    /// Ratings counted.
    pub rating_n: i64,
    /// Complaints received.
    pub complaints: i64,
    /// Complaints verified.
    pub complaints_verified: i64,
    /// Complaints concluded.
    pub complaints_concluded: i64,
    /// Concluded on time.
    pub complaints_on_time: i64,
}

/// Adds `d` to the figures of `community` (upsert), in the change's transaction.
pub async fn bump_stats(tx: &mut Tx, community: &str, street: &str, district: &str, d: &StatDelta) -> Result<()> {
    sqlx::query(
        "INSERT INTO wo_stats (community_code, street_code, district_code, received, resolved, resolved_on_time, \
         rating_sum, rating_n, complaints, complaints_verified, complaints_concluded, complaints_on_time) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) \
         ON CONFLICT (community_code) DO UPDATE SET received = wo_stats.received + excluded.received, \
         resolved = wo_stats.resolved + excluded.resolved, resolved_on_time = wo_stats.resolved_on_time + excluded.resolved_on_time, \
         rating_sum = wo_stats.rating_sum + excluded.rating_sum, rating_n = wo_stats.rating_n + excluded.rating_n, \
         complaints = wo_stats.complaints + excluded.complaints, \
         complaints_verified = wo_stats.complaints_verified + excluded.complaints_verified, \
         complaints_concluded = wo_stats.complaints_concluded + excluded.complaints_concluded, \
         complaints_on_time = wo_stats.complaints_on_time + excluded.complaints_on_time",
    )
    .bind(community.to_string())
    .bind(street.to_string())
    .bind(district.to_string())
    .bind(d.received)
    .bind(d.resolved)
    .bind(d.resolved_on_time)
    .bind(d.rating_sum)
    .bind(d.rating_n)
    .bind(d.complaints)
    .bind(d.complaints_verified)
    .bind(d.complaints_concluded)
    .bind(d.complaints_on_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Accountability figures of one unit (district, street or community).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    /// Division code of the unit.
    pub code: String,
    /// Requests received.
    pub received: i64,
    /// Resolved.
    pub resolved: i64,
    /// Resolved on time.
    pub resolved_on_time: i64,
    /// Rating sum.
    pub rating_sum: i64,
    /// Ratings.
    pub rating_n: i64,
    /// Complaints received.
    pub complaints: i64,
    /// Verified.
    pub complaints_verified: i64,
    /// Concluded.
    pub complaints_concluded: i64,
    /// Concluded on time.
    pub complaints_on_time: i64,
}

impl Store {
    /// Figures grouped by `level` (`district`, `street` or `community`), optionally inside one
    /// district or street (`parent_level`, `parent_code`).
    pub async fn figures(&self, level: &str, parent: Option<(&str, &str)>) -> Result<Vec<Figures>> {
        let group = match level {
            "district" => "district_code",
            "street" => "street_code",
            _ => "community_code",
        };
        let mut b = SqlBuf::new(&format!(
            "SELECT {group} AS code, CAST(SUM(received) AS BIGINT) AS received, CAST(SUM(resolved) AS BIGINT) AS resolved, \
             CAST(SUM(resolved_on_time) AS BIGINT) AS resolved_on_time, CAST(SUM(rating_sum) AS BIGINT) AS rating_sum, CAST(SUM(rating_n) AS BIGINT) AS rating_n, \
             CAST(SUM(complaints) AS BIGINT) AS complaints, CAST(SUM(complaints_verified) AS BIGINT) AS complaints_verified, \
             CAST(SUM(complaints_concluded) AS BIGINT) AS complaints_concluded, CAST(SUM(complaints_on_time) AS BIGINT) AS complaints_on_time \
             FROM wo_stats WHERE 1 = 1"
        ));
        if let Some((pl, pc)) = parent {
            let pcol = if pl == "district" { "district_code" } else { "street_code" };
            b.push(&format!(" AND {pcol} = ")).text(pc.to_string());
        }
        b.push(&format!(" GROUP BY {group} ORDER BY {group}"));
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter()
            .map(|r| {
                Ok(Figures {
                    code: col(r, "code")?,
                    received: sum(r, "received")?,
                    resolved: sum(r, "resolved")?,
                    resolved_on_time: sum(r, "resolved_on_time")?,
                    rating_sum: sum(r, "rating_sum")?,
                    rating_n: sum(r, "rating_n")?,
                    complaints: sum(r, "complaints")?,
                    complaints_verified: sum(r, "complaints_verified")?,
                    complaints_concluded: sum(r, "complaints_concluded")?,
                    complaints_on_time: sum(r, "complaints_on_time")?,
                })
            })
            .collect()
    }
}

fn sum(r: &AnyRow, name: &str) -> Result<i64> {
    Ok(col::<Option<i64>>(r, name)?.unwrap_or(0))
}

/// A complaint as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComplaintRow {
    /// Id.
    pub id: i64,
    /// Category key.
    pub category: String,
    /// `staff`, `org` or `community`.
    pub subject_kind: String,
    /// Accused account.
    pub subject_user_id: Option<i64>,
    /// Accused organisation.
    pub subject_org_id: Option<i64>,
    /// Name of the accused as entered/resolved.
    pub subject_name: String,
    /// Where (community or street code).
    pub division_code: String,
    /// Its path.
    pub division_path: String,
    /// District code.
    pub district_code: String,
    /// Street code.
    pub street_code: String,
    /// What happened.
    pub description: String,
    /// Anonymous.
    pub anonymous: bool,
    /// Named complainant's account (never set when anonymous).
    #[serde(skip)]
    pub complainant_user_id: Option<i64>,
    /// Named complainant's name (never set when anonymous).
    #[serde(skip)]
    pub complainant_name: String,
    /// `received`, `investigating`, `concluded`.
    pub state: String,
    /// Handler.
    pub handler_user_id: Option<i64>,
    /// Handler name.
    pub handler_name: String,
    /// Verified (substantiated).
    pub verified: Option<bool>,
    /// Finding.
    pub finding: String,
    /// Deadline.
    pub due_at: i64,
    /// Next escalation.
    pub escalate_at: Option<i64>,
    /// Escalation level.
    pub escalation: i64,
    /// Concluded at.
    pub concluded_at: Option<i64>,
    /// Concluded on time.
    pub on_time: Option<bool>,
    /// Created.
    pub created_at: i64,
    /// Updated.
    pub updated_at: i64,
}

const COMPLAINT_COLS: &str = "id, category, subject_kind, subject_user_id, subject_org_id, subject_name, division_code, \
    division_path, district_code, street_code, description, anonymous, complainant_user_id, complainant_name, state, \
    handler_user_id, handler_name, verified, finding, due_at, escalate_at, escalation, concluded_at, on_time, created_at, updated_at";

fn complaint_of(r: &AnyRow) -> Result<ComplaintRow> {
    let b = |v: Option<i64>| v.map(|x| x != 0);
    Ok(ComplaintRow {
        id: col(r, "id")?,
        category: col(r, "category")?,
        subject_kind: col(r, "subject_kind")?,
        subject_user_id: col(r, "subject_user_id")?,
        subject_org_id: col(r, "subject_org_id")?,
        subject_name: col(r, "subject_name")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        district_code: col(r, "district_code")?,
        street_code: col(r, "street_code")?,
        description: col(r, "description")?,
        anonymous: col::<i64>(r, "anonymous")? != 0,
        complainant_user_id: col(r, "complainant_user_id")?,
        complainant_name: col(r, "complainant_name")?,
        state: col(r, "state")?,
        handler_user_id: col(r, "handler_user_id")?,
        handler_name: col(r, "handler_name")?,
        verified: b(col(r, "verified")?),
        finding: col(r, "finding")?,
        due_at: col(r, "due_at")?,
        escalate_at: col(r, "escalate_at")?,
        escalation: col(r, "escalation")?,
        concluded_at: col(r, "concluded_at")?,
        on_time: b(col(r, "on_time")?),
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// Inserts a complaint; returns its id.
pub async fn insert_complaint(tx: &mut Tx, c: &ComplaintRow, track_hash: &str) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO complaints (track_hash, category, subject_kind, subject_user_id, subject_org_id, subject_name, \
         division_code, division_path, district_code, street_code, description, anonymous, complainant_user_id, \
         complainant_name, state, due_at, escalate_at, created_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19) RETURNING id",
    )
    .bind(track_hash.to_string())
    .bind(c.category.clone())
    .bind(c.subject_kind.clone())
    .bind(c.subject_user_id)
    .bind(c.subject_org_id)
    .bind(c.subject_name.clone())
    .bind(c.division_code.clone())
    .bind(c.division_path.clone())
    .bind(c.district_code.clone())
    .bind(c.street_code.clone())
    .bind(c.description.clone())
    .bind(c.anonymous as i64)
    .bind(c.complainant_user_id)
    .bind(c.complainant_name.clone())
    .bind(c.state.clone())
    .bind(c.due_at)
    .bind(c.escalate_at)
    .bind(c.created_at)
    .bind(c.updated_at)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_unique)?;
    col(&r, "id")
}

/// Writes the mutable part of a complaint if unchanged since `expected_updated_at`.
pub async fn update_complaint(tx: &mut Tx, c: &ComplaintRow, expected_updated_at: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE complaints SET state=$1, handler_user_id=$2, handler_name=$3, verified=$4, finding=$5, escalate_at=$6, \
         escalation=$7, concluded_at=$8, on_time=$9, updated_at=$10 WHERE id=$11 AND updated_at=$12",
    )
    .bind(c.state.clone())
    .bind(c.handler_user_id)
    .bind(c.handler_name.clone())
    .bind(c.verified.map(i64::from))
    .bind(c.finding.clone())
    .bind(c.escalate_at)
    .bind(c.escalation)
    .bind(c.concluded_at)
    .bind(c.on_time.map(i64::from))
    .bind(c.updated_at)
    .bind(c.id)
    .bind(expected_updated_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Appends a complaint history step.
pub async fn insert_complaint_step(
    tx: &mut Tx,
    id: i64,
    at: i64,
    action: &str,
    to_state: &str,
    actor_name: &str,
    note: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO complaint_steps (complaint_id, at, action, to_state, actor_name, note) VALUES ($1,$2,$3,$4,$5,$6)",
    )
    .bind(id)
    .bind(at)
    .bind(action.to_string())
    .bind(to_state.to_string())
    .bind(actor_name.to_string())
    .bind(note.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores an attachment.
pub async fn insert_complaint_file(tx: &mut Tx, id: i64, name: &str, mime: &str, content: &[u8]) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO complaint_files (complaint_id, name, mime, size, content) VALUES ($1,$2,$3,$4,$5) RETURNING id",
    )
    .bind(id)
    .bind(name.to_string())
    .bind(mime.to_string())
    .bind(content.len() as i64)
    .bind(content.to_vec())
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

/// A complaint history step: (at, action, to_state, actor_name, note).
pub type ComplaintStep = (i64, String, String, String, String);

impl Store {
    /// One complaint by id.
    pub async fn complaint(&self, id: i64) -> Result<ComplaintRow> {
        let r = sqlx::query(&format!("SELECT {COMPLAINT_COLS} FROM complaints WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        complaint_of(&r)
    }

    /// One complaint by tracking-code hash.
    pub async fn complaint_by_track(&self, hash: &str) -> Result<ComplaintRow> {
        let r = sqlx::query(&format!("SELECT {COMPLAINT_COLS} FROM complaints WHERE track_hash = $1"))
            .bind(hash.to_string())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        complaint_of(&r)
    }

    /// Complaints located in the actor's jurisdiction, newest first.
    pub async fn complaints(&self, actor: &Actor, state: Option<&str>, limit: i64) -> Result<Vec<ComplaintRow>> {
        let mut b = SqlBuf::new(&format!("SELECT {COMPLAINT_COLS} FROM complaints WHERE "));
        b.scope(actor, "division_path", None);
        if let Some(s) = state {
            b.push(" AND state = ").text(s.to_string());
        }
        b.push(" ORDER BY id DESC LIMIT ").int(limit);
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(complaint_of).collect()
    }

    /// History of a complaint.
    pub async fn complaint_steps(&self, id: i64) -> Result<Vec<ComplaintStep>> {
        let rows = sqlx::query(
            "SELECT at, action, to_state, actor_name, note FROM complaint_steps WHERE complaint_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((col(r, "at")?, col(r, "action")?, col(r, "to_state")?, col(r, "actor_name")?, col(r, "note")?))
            })
            .collect()
    }

    /// Attachments of a complaint: (id, name, mime, size).
    pub async fn complaint_files(&self, id: i64) -> Result<Vec<(i64, String, String, i64)>> {
        let rows = sqlx::query("SELECT id, name, mime, size FROM complaint_files WHERE complaint_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| Ok((col(r, "id")?, col(r, "name")?, col(r, "mime")?, col(r, "size")?))).collect()
    }

    /// One attachment: (complaint id, name, mime, content).
    pub async fn complaint_file(&self, file_id: i64) -> Result<(i64, String, String, Vec<u8>)> {
        let r = sqlx::query("SELECT complaint_id, name, mime, content FROM complaint_files WHERE id = $1")
            .bind(file_id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((col(&r, "complaint_id")?, col(&r, "name")?, col(&r, "mime")?, col(&r, "content")?))
    }
}

/// A reference price.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PriceRef {
    /// Id.
    pub id: i64,
    /// Item, e.g. `应急物资包（标准）`.
    pub item: String,
    /// Unit, e.g. `包`.
    pub unit: String,
    /// Division code.
    pub division_code: String,
    /// Division path.
    pub division_path: String,
    /// Period `YYYY-MM`.
    pub period: String,
    /// Price in fen (0.01 yuan).
    pub price_fen: i64,
}

/// A reported offer or sale.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PriceReport {
    /// Id.
    pub id: i64,
    /// Item.
    pub item: String,
    /// Division code.
    pub division_code: String,
    /// Division path.
    #[serde(skip)]
    pub division_path: String,
    /// Seller.
    pub seller: String,
    /// `offer` or `sale`.
    pub kind: String,
    /// Price in fen.
    pub price_fen: i64,
    /// Reference in effect, fen.
    pub ref_fen: Option<i64>,
    /// Above the reference by more than the margin.
    pub flagged: bool,
    /// Reporter.
    pub reported_by: String,
    /// When.
    pub reported_at: i64,
}

/// Sets a reference price (replacing the one for the same item, division and period).
pub async fn upsert_price_ref(tx: &mut Tx, p: &PriceRef, set_by: &str, now: i64) -> Result<i64> {
    sqlx::query("DELETE FROM price_refs WHERE item = $1 AND division_code = $2 AND period = $3")
        .bind(p.item.clone())
        .bind(p.division_code.clone())
        .bind(p.period.clone())
        .execute(&mut **tx)
        .await?;
    let r = sqlx::query(
        "INSERT INTO price_refs (item, unit, division_code, division_path, period, price_fen, set_by, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
    )
    .bind(p.item.clone())
    .bind(p.unit.clone())
    .bind(p.division_code.clone())
    .bind(p.division_path.clone())
    .bind(p.period.clone())
    .bind(p.price_fen)
    .bind(set_by.to_string())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

/// Inserts a price report; returns its id.
pub async fn insert_price_report(tx: &mut Tx, p: &PriceReport) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO price_reports (item, division_code, division_path, seller, kind, price_fen, ref_fen, flagged, \
         reported_by, reported_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
    )
    .bind(p.item.clone())
    .bind(p.division_code.clone())
    .bind(p.division_path.clone())
    .bind(p.seller.clone())
    .bind(p.kind.clone())
    .bind(p.price_fen)
    .bind(p.ref_fen)
    .bind(p.flagged as i64)
    .bind(p.reported_by.clone())
    .bind(p.reported_at)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

fn price_ref_of(r: &AnyRow) -> Result<PriceRef> {
    Ok(PriceRef {
        id: col(r, "id")?,
        item: col(r, "item")?,
        unit: col(r, "unit")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        period: col(r, "period")?,
        price_fen: col(r, "price_fen")?,
    })
}

impl Store {
    /// Reference prices of `item` for `period` set at any ancestor of (or at) `path`; the most
    /// specific (longest path) first.
    pub async fn price_refs_for(&self, item: &str, period: &str, path: &str) -> Result<Option<PriceRef>> {
        let rows = sqlx::query(
            "SELECT id, item, unit, division_code, division_path, period, price_fen FROM price_refs \
             WHERE item = $1 AND period = $2",
        )
        .bind(item.to_string())
        .bind(period.to_string())
        .fetch_all(self.reader())
        .await?;
        let mut best: Option<PriceRef> = None;
        for r in &rows {
            let p = price_ref_of(r)?;
            if path.starts_with(&p.division_path)
                && best.as_ref().is_none_or(|b| p.division_path.len() > b.division_path.len())
            {
                best = Some(p);
            }
        }
        Ok(best)
    }

    /// Reference prices visible to the actor (in its jurisdiction or above it), newest period first.
    pub async fn price_refs(&self, limit: i64) -> Result<Vec<PriceRef>> {
        let rows = sqlx::query(
            "SELECT id, item, unit, division_code, division_path, period, price_fen FROM price_refs \
             ORDER BY period DESC, item, division_path LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(price_ref_of).collect()
    }

    /// Price reports in the actor's jurisdiction, newest first; `flagged_only` for the warning list,
    /// `item` for one item's series.
    pub async fn price_reports(
        &self,
        actor: &Actor,
        flagged_only: bool,
        item: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PriceReport>> {
        let mut b = SqlBuf::new(
            "SELECT id, item, division_code, division_path, seller, kind, price_fen, ref_fen, flagged, reported_by, \
             reported_at FROM price_reports WHERE ",
        );
        b.scope(actor, "division_path", None);
        if flagged_only {
            b.push(" AND flagged = 1");
        }
        if let Some(i) = item {
            b.push(" AND item = ").text(i.to_string());
        }
        b.push(" ORDER BY reported_at DESC, id DESC LIMIT ").int(limit);
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter()
            .map(|r| {
                Ok(PriceReport {
                    id: col(r, "id")?,
                    item: col(r, "item")?,
                    division_code: col(r, "division_code")?,
                    division_path: col(r, "division_path")?,
                    seller: col(r, "seller")?,
                    kind: col(r, "kind")?,
                    price_fen: col(r, "price_fen")?,
                    ref_fen: col(r, "ref_fen")?,
                    flagged: col::<i64>(r, "flagged")? != 0,
                    reported_by: col(r, "reported_by")?,
                    reported_at: col(r, "reported_at")?,
                })
            })
            .collect()
    }
}

/// A candidate organisation for dispatch: (id, name, domains, lon, lat).
pub type OrgCandidate = (i64, String, String, Option<f64>, Option<f64>);

impl Store {
    /// Verified organisations located under `path` (at most 2000).
    pub async fn wo_org_candidates(&self, path: &str) -> Result<Vec<OrgCandidate>> {
        let mut b = SqlBuf::new("SELECT id, name, domains, lon, lat FROM organizations WHERE state = 'verified' AND ");
        b.within("division_path", path);
        b.push(" ORDER BY id LIMIT 2000");
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter()
            .map(|r| Ok((col(r, "id")?, col(r, "name")?, col(r, "domains")?, col(r, "lon")?, col(r, "lat")?)))
            .collect()
    }

    /// Enabled accounts with one of `roles` located under `path`: (id, display name).
    pub async fn wo_staff_under(&self, path: &str, roles: &[&str]) -> Result<Vec<(i64, String)>> {
        let mut b = SqlBuf::new("SELECT id, display_name FROM users WHERE disabled = 0 AND role IN (");
        for (i, r) in roles.iter().enumerate() {
            if i > 0 {
                b.push(",");
            }
            b.text(r.to_string());
        }
        b.push(") AND ");
        b.within("division_path", path);
        b.push(" ORDER BY id LIMIT 50");
        let rows = b.query().fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((col(r, "id")?, col(r, "display_name")?))).collect()
    }

    /// An organisation's (name, state, division code), if it exists.
    pub async fn wo_org(&self, id: i64) -> Result<Option<(String, String, String)>> {
        let r = sqlx::query("SELECT name, state, division_code FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        r.map(|r| Ok((col(&r, "name")?, col(&r, "state")?, col(&r, "division_code")?))).transpose()
    }

    /// Enabled organisation-admin accounts of an organisation.
    pub async fn wo_org_admins(&self, org_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT id FROM users WHERE org_id = $1 AND role = 'org_admin' AND disabled = 0")
            .bind(org_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| col(r, "id")).collect()
    }

    /// A volunteer's (name, linked account), if it exists.
    pub async fn wo_volunteer(&self, id: i64) -> Result<Option<(String, Option<i64>)>> {
        let r = sqlx::query("SELECT name, user_id FROM volunteers WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        r.map(|r| Ok((col(&r, "name")?, col(&r, "user_id")?))).transpose()
    }

    /// Enabled supervisors: (id, jurisdiction path).
    pub async fn wo_supervisors(&self) -> Result<Vec<(i64, Option<String>)>> {
        let rows = sqlx::query("SELECT id, division_path FROM users WHERE role = 'supervisor' AND disabled = 0")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| Ok((col(r, "id")?, col(r, "division_path")?))).collect()
    }
}

/// (division path, code, state, assignee org) of an order, inside a transaction.
pub async fn order_brief(tx: &mut Tx, id: i64) -> Result<(String, String, String, Option<i64>)> {
    let r = sqlx::query("SELECT division_path, code, state, assignee_org_id FROM work_orders WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok((col(&r, "division_path")?, col(&r, "code")?, col(&r, "state")?, col(&r, "assignee_org_id")?))
}

/// (division path, state) of a complaint, inside a transaction.
pub async fn complaint_brief(tx: &mut Tx, id: i64) -> Result<(String, String)> {
    let r =
        sqlx::query("SELECT division_path, state FROM complaints WHERE id = $1").bind(id).fetch_one(&mut **tx).await?;
    Ok((col(&r, "division_path")?, col(&r, "state")?))
}

/// Enabled accounts whose jurisdiction is exactly `division_code`, with one of `roles`.
pub async fn users_at(tx: &mut Tx, division_code: &str, roles: &[&str]) -> Result<Vec<i64>> {
    let mut b = SqlBuf::new("SELECT id FROM users WHERE disabled = 0 AND division_code = ");
    b.text(division_code.to_string()).push(" AND role IN (");
    for (i, r) in roles.iter().enumerate() {
        if i > 0 {
            b.push(",");
        }
        b.text(r.to_string());
    }
    b.push(")");
    let rows = b.query().fetch_all(&mut **tx).await?;
    rows.iter().map(|r| col(r, "id")).collect()
}

/// Inserts many orders at once (benchmarks and bulk imports): codes from `code_prefix` and the
/// row's position, tracking hashes as given. Accountability counters are the caller's to bump.
pub async fn insert_orders_bulk(tx: &mut Tx, rows: &[(OrderRow, String)], code_prefix: &str) -> Result<()> {
    const COLS: usize = 24;
    for (chunk_no, chunk) in rows.chunks(crate::batch_rows(COLS)).enumerate() {
        let sql = format!(
            "INSERT INTO work_orders (code, track_hash, kind, urgency, vulnerable, description, division_code, division_path, \
             district_code, street_code, address_enc, contact_name, phone_enc, lon, lat, requester_user_id, channel, state, \
             step_started_at, due_at, escalate_at, step_ms, created_at, updated_at) VALUES {}",
            crate::values_placeholders(chunk.len(), COLS)
        );
        let mut q = sqlx::query(&sql);
        for (i, (o, hash)) in chunk.iter().enumerate() {
            q = q
                .bind(format!("{code_prefix}-{:07}", chunk_no * crate::batch_rows(COLS) + i + 1))
                .bind(hash.clone())
                .bind(o.kind.clone())
                .bind(o.urgency.clone())
                .bind(o.vulnerable.clone())
                .bind(o.description.clone())
                .bind(o.division_code.clone())
                .bind(o.division_path.clone())
                .bind(o.district_code.clone())
                .bind(o.street_code.clone())
                .bind(o.address_enc.clone())
                .bind(o.contact_name.clone())
                .bind(o.phone_enc.clone())
                .bind(o.lon)
                .bind(o.lat)
                .bind(o.requester_user_id)
                .bind(o.channel.clone())
                .bind(o.state.clone())
                .bind(o.step_started_at)
                .bind(o.due_at)
                .bind(o.escalate_at)
                .bind(o.step_ms)
                .bind(o.created_at)
                .bind(o.updated_at);
        }
        q.execute(&mut **tx).await.map_err(map_unique)?;
    }
    Ok(())
}
