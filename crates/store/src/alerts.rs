//! Alerts (capability G): authored and received CAP alerts, rejected intake, pulled feeds.

use crate::sql::SqlBuf;
use crate::{col, map_unique, now_ms, Result, Store, StoreError, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;
use tongxin_domain::Actor;

/// An alert record (a draft, or an issued/received CAP message).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRow {
    /// Id.
    pub id: i64,
    /// `local` (authored here) or `intake` (received).
    pub origin: String,
    /// State key (draft, pending, issued, superseded, cancelled, rejected).
    pub state: String,
    /// CAP msgType: Alert, Update or Cancel.
    pub msg_type: String,
    /// The alert this one updates or cancels.
    pub ref_id: Option<i64>,
    /// CAP identifier (GB/T 35965.1), once issued.
    pub identifier: Option<String>,
    /// CAP sender.
    pub sender: String,
    /// CAP sent, unix ms, once issued.
    pub sent: Option<i64>,
    /// CAP category.
    pub category: String,
    /// Event type.
    pub event: String,
    /// Colour key.
    pub colour: String,
    /// CAP urgency.
    pub urgency: String,
    /// CAP certainty.
    pub certainty: String,
    /// Headline.
    pub headline: String,
    /// Description.
    pub description: String,
    /// Instruction.
    pub instruction: String,
    /// Effective, unix ms.
    pub effective: i64,
    /// Expires, unix ms.
    pub expires: i64,
    /// Area description.
    pub area_desc: String,
    /// Area as JSON (divisions, polygon, circle).
    pub area_json: String,
    /// Smallest division covering the area (code).
    pub division_code: String,
    /// Its path (scoping).
    pub division_path: String,
    /// Reach preview as JSON.
    pub reach_json: String,
    /// The CAP XML as issued or received.
    pub cap_xml: String,
    /// Approver's or rejecter's note.
    pub note: String,
    /// Author.
    pub created_by: Option<i64>,
    /// Approver.
    pub approved_by: Option<i64>,
    /// Created, unix ms.
    pub created_at: i64,
    /// Approved, unix ms.
    pub approved_at: Option<i64>,
    /// Last change, unix ms.
    pub updated_at: i64,
}

const COLS: &str = "id, origin, state, msg_type, ref_id, identifier, sender, sent, category, event, colour, urgency, \
    certainty, headline, description, instruction, effective, expires, area_desc, area_json, division_code, \
    division_path, reach_json, cap_xml, note, created_by, approved_by, created_at, approved_at, updated_at";

fn row(r: &AnyRow) -> Result<AlertRow> {
    Ok(AlertRow {
        id: col(r, "id")?,
        origin: col(r, "origin")?,
        state: col(r, "state")?,
        msg_type: col(r, "msg_type")?,
        ref_id: col(r, "ref_id")?,
        identifier: col(r, "identifier")?,
        sender: col(r, "sender")?,
        sent: col(r, "sent")?,
        category: col(r, "category")?,
        event: col(r, "event")?,
        colour: col(r, "colour")?,
        urgency: col(r, "urgency")?,
        certainty: col(r, "certainty")?,
        headline: col(r, "headline")?,
        description: col(r, "description")?,
        instruction: col(r, "instruction")?,
        effective: col(r, "effective")?,
        expires: col(r, "expires")?,
        area_desc: col(r, "area_desc")?,
        area_json: col(r, "area_json")?,
        division_code: col(r, "division_code")?,
        division_path: col(r, "division_path")?,
        reach_json: col(r, "reach_json")?,
        cap_xml: col(r, "cap_xml")?,
        note: col(r, "note")?,
        created_by: col(r, "created_by")?,
        approved_by: col(r, "approved_by")?,
        created_at: col(r, "created_at")?,
        approved_at: col(r, "approved_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// Inserts an alert row (id ignored); returns its id. A duplicate (sender, identifier, sent) is a conflict.
pub async fn insert(tx: &mut Tx, a: &AlertRow) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO alerts (origin, state, msg_type, ref_id, identifier, sender, sent, category, event, colour, \
         urgency, certainty, headline, description, instruction, effective, expires, area_desc, area_json, \
         division_code, division_path, reach_json, cap_xml, note, created_by, approved_by, created_at, approved_at, \
         updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,\
         $25,$26,$27,$28,$29) RETURNING id",
    )
    .bind(a.origin.clone())
    .bind(a.state.clone())
    .bind(a.msg_type.clone())
    .bind(a.ref_id)
    .bind(a.identifier.clone())
    .bind(a.sender.clone())
    .bind(a.sent)
    .bind(a.category.clone())
    .bind(a.event.clone())
    .bind(a.colour.clone())
    .bind(a.urgency.clone())
    .bind(a.certainty.clone())
    .bind(a.headline.clone())
    .bind(a.description.clone())
    .bind(a.instruction.clone())
    .bind(a.effective)
    .bind(a.expires)
    .bind(a.area_desc.clone())
    .bind(a.area_json.clone())
    .bind(a.division_code.clone())
    .bind(a.division_path.clone())
    .bind(a.reach_json.clone())
    .bind(a.cap_xml.clone())
    .bind(a.note.clone())
    .bind(a.created_by)
    .bind(a.approved_by)
    .bind(a.created_at)
    .bind(a.approved_at)
    .bind(a.updated_at)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_unique)?;
    col(&r, "id")
}

/// Reads an alert inside a transaction (for a state change), locking it on PostgreSQL.
pub async fn get_for_update(tx: &mut Tx, backend: crate::Backend, id: i64) -> Result<AlertRow> {
    let lock = if backend == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
    let r = sqlx::query(&format!("SELECT {COLS} FROM alerts WHERE id = $1{lock}"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    row(&r)
}

/// Replaces the editable content of an alert (draft fields, issue fields, state).
pub async fn update(tx: &mut Tx, a: &AlertRow) -> Result<()> {
    sqlx::query(
        "UPDATE alerts SET state=$1, msg_type=$2, ref_id=$3, identifier=$4, sender=$5, sent=$6, category=$7, \
         event=$8, colour=$9, urgency=$10, certainty=$11, headline=$12, description=$13, instruction=$14, \
         effective=$15, expires=$16, area_desc=$17, area_json=$18, division_code=$19, division_path=$20, \
         reach_json=$21, cap_xml=$22, note=$23, approved_by=$24, approved_at=$25, updated_at=$26 WHERE id=$27",
    )
    .bind(a.state.clone())
    .bind(a.msg_type.clone())
    .bind(a.ref_id)
    .bind(a.identifier.clone())
    .bind(a.sender.clone())
    .bind(a.sent)
    .bind(a.category.clone())
    .bind(a.event.clone())
    .bind(a.colour.clone())
    .bind(a.urgency.clone())
    .bind(a.certainty.clone())
    .bind(a.headline.clone())
    .bind(a.description.clone())
    .bind(a.instruction.clone())
    .bind(a.effective)
    .bind(a.expires)
    .bind(a.area_desc.clone())
    .bind(a.area_json.clone())
    .bind(a.division_code.clone())
    .bind(a.division_path.clone())
    .bind(a.reach_json.clone())
    .bind(a.cap_xml.clone())
    .bind(a.note.clone())
    .bind(a.approved_by)
    .bind(a.approved_at)
    .bind(now_ms())
    .bind(a.id)
    .execute(&mut **tx)
    .await
    .map_err(map_unique)?;
    Ok(())
}

/// Number of alerts already issued by `sender` with an identifier starting `prefix` (the
/// `issuer_time_` part): the next sequence number is this plus one.
pub async fn count_identifier_prefix(tx: &mut Tx, prefix: &str) -> Result<i64> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE identifier LIKE $1 ESCAPE '\\'")
        .bind(format!("{}%", crate::sql::like_escape(prefix)))
        .fetch_one(&mut **tx)
        .await?;
    col(&r, "n")
}

/// Filters of a list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only these states.
    pub state: Option<String>,
    /// Only alerts before this id (keyset, newest first).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

impl Store {
    /// An alert the actor may see (its division within the actor's jurisdiction, or authored by them).
    pub async fn alert_scoped(&self, actor: &Actor, id: i64) -> Result<AlertRow> {
        let mut b = SqlBuf::new(&format!("SELECT {COLS} FROM alerts WHERE id = "));
        b.int(id).push(" AND (");
        b.scope(actor, "division_path", None);
        b.push(" OR created_by = ").int(actor.user_id).push(")");
        let r = b.query().fetch_optional(self.reader()).await?.ok_or(StoreError::NotFound)?;
        row(&r)
    }

    /// An issued (public) alert by id, for the public pages and CAP URLs: issued, superseded or cancelled only.
    pub async fn alert_public(&self, id: i64) -> Result<AlertRow> {
        let r = sqlx::query(&format!(
            "SELECT {COLS} FROM alerts WHERE id = $1 AND state IN ('issued','superseded','cancelled') AND cap_xml <> ''"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        row(&r)
    }

    /// Alerts the actor may see, newest first.
    pub async fn alerts_scoped(&self, actor: &Actor, f: &AlertFilter) -> Result<Vec<AlertRow>> {
        let mut b = SqlBuf::new(&format!("SELECT {COLS} FROM alerts WHERE ("));
        b.scope(actor, "division_path", None);
        b.push(" OR created_by = ").int(actor.user_id).push(")");
        if let Some(s) = &f.state {
            b.push(" AND state = ").text(s.clone());
        }
        if let Some(id) = f.before_id {
            b.push(" AND id < ").int(id);
        }
        b.push(" ORDER BY id DESC LIMIT ").int(f.limit.clamp(1, 500));
        b.query().fetch_all(self.reader()).await?.iter().map(row).collect()
    }

    /// Issued messages (Alert, Update, Cancel) newest first, for the public feed and the Atom feed.
    /// `in_force_at`: only those not expired, not superseded and not cancelled at that time.
    pub async fn alerts_published(&self, in_force_at: Option<i64>, limit: i64) -> Result<Vec<AlertRow>> {
        let mut b = SqlBuf::new(&format!("SELECT {COLS} FROM alerts WHERE "));
        match in_force_at {
            Some(t) => {
                b.push("state = 'issued' AND msg_type <> 'Cancel' AND expires > ").int(t);
                b.push(" AND effective <= ").int(t + 24 * 3600 * 1000);
            }
            None => {
                b.push("state IN ('issued','superseded','cancelled') AND cap_xml <> ''");
            }
        }
        b.push(" ORDER BY sent DESC, id DESC LIMIT ").int(limit.clamp(1, 1000));
        b.query().fetch_all(self.reader()).await?.iter().map(row).collect()
    }

    /// Cancel messages sent at or after `since` (the public page's "lifted" list), newest first.
    pub async fn alerts_cancels_since(&self, since: i64, limit: i64) -> Result<Vec<AlertRow>> {
        let mut b =
            SqlBuf::new(&format!("SELECT {COLS} FROM alerts WHERE msg_type = 'Cancel' AND cap_xml <> '' AND sent >= "));
        b.int(since);
        b.push(" ORDER BY sent DESC, id DESC LIMIT ").int(limit.clamp(1, 1000));
        b.query().fetch_all(self.reader()).await?.iter().map(row).collect()
    }

    /// Alerts that reference `id` (its updates and cancellation), oldest first.
    pub async fn alert_followups(&self, id: i64) -> Result<Vec<AlertRow>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM alerts WHERE ref_id = $1 ORDER BY id"))
            .bind(id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(row).collect()
    }

    /// An alert by CAP key (sender, identifier), any state.
    pub async fn alert_by_identifier(&self, sender: &str, identifier: &str) -> Result<Option<AlertRow>> {
        let r = sqlx::query(&format!("SELECT {COLS} FROM alerts WHERE sender = $1 AND identifier = $2 LIMIT 1"))
            .bind(sender.to_string())
            .bind(identifier.to_string())
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(row).transpose()
    }
}

/// A refused intake message.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedRow {
    /// Id.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Where it came from (`http:<token name>` or the feed URL).
    pub origin: String,
    /// Size in bytes.
    pub size: i64,
    /// The codec's errors as JSON.
    pub errors: String,
    /// The first 2,000 characters.
    pub excerpt: String,
}

/// Records a refused message (in its own transaction, so a refusal is kept).
pub async fn insert_rejected(tx: &mut Tx, origin: &str, size: i64, errors: &str, excerpt: &str) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO alert_rejected (at, origin, size, errors, excerpt) VALUES ($1,$2,$3,$4,$5) RETURNING id",
    )
    .bind(now_ms())
    .bind(origin.to_string())
    .bind(size)
    .bind(errors.to_string())
    .bind(excerpt.chars().take(2000).collect::<String>())
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

impl Store {
    /// Newest refused messages.
    pub async fn alerts_rejected(&self, limit: i64) -> Result<Vec<RejectedRow>> {
        let rows =
            sqlx::query("SELECT id, at, origin, size, errors, excerpt FROM alert_rejected ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(RejectedRow {
                    id: col(r, "id")?,
                    at: col(r, "at")?,
                    origin: col(r, "origin")?,
                    size: col(r, "size")?,
                    errors: col(r, "errors")?,
                    excerpt: col(r, "excerpt")?,
                })
            })
            .collect()
    }
}

/// A CAP feed pulled on a schedule.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    /// Id.
    pub id: i64,
    /// Feed or message URL.
    pub url: String,
    /// Seconds between polls.
    pub interval_s: i64,
    /// Next poll, unix ms.
    pub next_poll_at: i64,
    /// Last poll, unix ms.
    pub last_polled_at: Option<i64>,
    /// Outcome of the last poll.
    pub last_status: String,
}

fn source_row(r: &AnyRow) -> Result<SourceRow> {
    Ok(SourceRow {
        id: col(r, "id")?,
        url: col(r, "url")?,
        interval_s: col(r, "interval_s")?,
        next_poll_at: col(r, "next_poll_at")?,
        last_polled_at: col(r, "last_polled_at")?,
        last_status: col(r, "last_status")?,
    })
}

/// Adds a pulled source.
pub async fn insert_source(tx: &mut Tx, url: &str, interval_s: i64, by: i64) -> Result<i64> {
    let now = now_ms();
    let r = sqlx::query(
        "INSERT INTO alert_sources (url, interval_s, next_poll_at, created_by, created_at) VALUES ($1,$2,$3,$4,$5) \
         RETURNING id",
    )
    .bind(url.to_string())
    .bind(interval_s)
    .bind(now)
    .bind(by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_unique)?;
    col(&r, "id")
}

/// Claims the sources due now by moving their next poll forward (one node polls each).
pub async fn claim_due_sources(tx: &mut Tx, backend: crate::Backend, now: i64) -> Result<Vec<SourceRow>> {
    let lock = if backend == crate::Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT id, url, interval_s, next_poll_at, last_polled_at, last_status FROM alert_sources \
         WHERE next_poll_at <= $1 ORDER BY next_poll_at LIMIT 20{lock}"
    ))
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let out: Vec<SourceRow> = rows.iter().map(source_row).collect::<Result<_>>()?;
    for s in &out {
        sqlx::query("UPDATE alert_sources SET next_poll_at = $1, last_polled_at = $2 WHERE id = $3")
            .bind(now + s.interval_s * 1000)
            .bind(now)
            .bind(s.id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(out)
}

/// Records the outcome of a poll.
pub async fn set_source_status(tx: &mut Tx, id: i64, status: &str) -> Result<()> {
    sqlx::query("UPDATE alert_sources SET last_status = $1 WHERE id = $2")
        .bind(status.to_string())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// All pulled sources.
    pub async fn alert_sources(&self) -> Result<Vec<SourceRow>> {
        let rows = sqlx::query(
            "SELECT id, url, interval_s, next_poll_at, last_polled_at, last_status FROM alert_sources ORDER BY id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(source_row).collect()
    }
}

/// A point for area targeting: (id, lon, lat, division path).
pub type AreaPoint = (i64, f64, f64, String);

impl Store {
    /// Located points of `table` (households, volunteers or organizations) for the area index.
    pub async fn area_points(&self, table: &'static str) -> Result<Vec<AreaPoint>> {
        let sql = match table {
            "households" => "SELECT id, lon, lat, division_path FROM households",
            "volunteers" => {
                "SELECT id, lon, lat, division_path FROM volunteers WHERE lon IS NOT NULL AND lat IS NOT NULL"
            }
            _ => "SELECT id, lon, lat, division_path FROM organizations WHERE lon IS NOT NULL AND lat IS NOT NULL",
        };
        let rows = sqlx::query(sql).fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((col(r, "id")?, col(r, "lon")?, col(r, "lat")?, col(r, "division_path")?))).collect()
    }
}

/// Enabled accounts located under `path` (inside the transaction that queues their messages).
pub async fn users_within(tx: &mut Tx, path: &str) -> Result<Vec<i64>> {
    let mut b = SqlBuf::new("SELECT id FROM users WHERE disabled = 0 AND ");
    b.within("division_path", path);
    b.query().fetch_all(&mut **tx).await?.iter().map(|r| col(r, "id")).collect()
}
