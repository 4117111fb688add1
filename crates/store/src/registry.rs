//! Registry of social forces (capability A): organisations with their filing state and history,
//! equipment, insurance, reviews (yearly inspection, evaluation, spot check), teams, memberships,
//! volunteers with certificates and availability, and leader training; plus the bulk loaders the
//! demo seed uses and households (capability H's base rows, loaded by the seed).
//!
//! Personal data arrives here already encrypted (`*_enc`) with its blind index (`*_hash`): the
//! store never sees a key. Lists are scoped with [`SqlBuf::scope`] and keyset-paginated.

use crate::bulk::Val;
use crate::sql::{Arg, SqlBuf};
use crate::{batch_rows, col, map_unique, values_placeholders, Backend, Result, StoreError, Tx};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::AnyPool;
use tongxin_domain::page::{Cursor, Order, Page};
use tongxin_domain::Actor;

/// An organisation to insert (seed/import).
#[derive(Debug, Clone)]
pub struct NewOrg {
    /// Explicit id (seeding links volunteers by it).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Kind key.
    pub kind: String,
    /// Division code.
    pub division_code: String,
    /// Division path.
    pub division_path: String,
    /// Address.
    pub address: String,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Contact person.
    pub contact_name: String,
    /// Contact phone: ciphertext from the application's personal-data key (`v1:…`). A plain
    /// value is accepted as legacy data and re-encrypted by the application on start.
    pub contact_phone: String,
    /// Comma-separated domain keys.
    pub domains: String,
    /// People count.
    pub people_count: i64,
    /// Filing state key.
    pub state: String,
}

/// A volunteer to insert in bulk (seed). Personal data is already encrypted.
#[derive(Debug, Clone)]
pub struct NewVolunteer {
    /// Name.
    pub name: String,
    /// Blind index of the ID number (or of the phone for phone-only registrations).
    pub id_hash: String,
    /// Encrypted ID number (empty for phone-only registrations).
    pub id_enc: String,
    /// Encrypted phone.
    pub phone_enc: String,
    /// Blind index of the phone.
    pub phone_hash: String,
    /// Birth year (from the ID number; 0 when unknown), for age filters.
    pub birth_year: i64,
    /// Registered with a validated ID number (实名).
    pub real_name: bool,
    /// Division code.
    pub division_code: String,
    /// Division path.
    pub division_path: String,
    /// Longitude (None = unknown).
    pub lon: Option<f64>,
    /// Latitude (None = unknown).
    pub lat: Option<f64>,
    /// Comma-separated skill keys.
    pub skills: String,
    /// Insured.
    pub insured: bool,
    /// Primary organisation.
    pub org_id: Option<i64>,
    /// Weekly availability: comma-separated `mon_am`, `mon_pm`, … slots.
    pub weekly: String,
    /// Available right now.
    pub available_now: bool,
    /// Comma-separated kinds of valid certificates (denormalised for filters).
    pub cert_kinds: String,
    /// Linked account, for self-registered volunteers.
    pub user_id: Option<i64>,
}

/// A household to insert.
#[derive(Debug, Clone)]
pub struct NewHousehold {
    /// Grid code.
    pub grid_code: String,
    /// Grid path.
    pub division_path: String,
    /// Address.
    pub address: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Members.
    pub members: i64,
    /// Comma-separated vulnerability flags.
    pub vulnerable: String,
    /// Contact phone.
    pub contact_phone: String,
}

/// Inserts organisations with their explicit ids.
pub async fn insert_orgs(tx: &mut Tx, rows: &[NewOrg], now: i64) -> Result<()> {
    crate::bulk::bulk_insert(
        tx,
        "organizations",
        "id, name, credit_code, kind, division_code, division_path, address, lon, lat, contact_name, \
         contact_phone_enc, domains, people_count, state, created_at, updated_at, pii_v",
        rows,
        |q, o| {
            let v = i64::from(o.contact_phone.starts_with("v1:") || o.contact_phone.is_empty());
            q.bind(o.id)
                .bind(o.name.clone())
                .bind(o.credit_code.clone())
                .bind(o.kind.clone())
                .bind(o.division_code.clone())
                .bind(o.division_path.clone())
                .bind(o.address.clone())
                .bind(o.lon)
                .bind(o.lat)
                .bind(o.contact_name.clone())
                .bind(o.contact_phone.clone())
                .bind(o.domains.clone())
                .bind(o.people_count)
                .bind(o.state.clone())
                .bind(now)
                .bind(now)
                .bind(v)
        },
    )
    .await
}

const VOL_INSERT_COLS: &str = "name, id_hash, id_enc, phone_enc, phone_hash, birth_year, real_name, division_code, \
     division_path, lon, lat, skills, insured, org_id, weekly, available_now, cert_kinds, user_id, created_at, \
     updated_at, pii_v";

impl crate::bulk::BulkRow for NewVolunteer {
    const TABLE: &'static str = "volunteers";
    const COLS: &'static str = VOL_INSERT_COLS;
    /// One row, version 1 of the personal-data columns.
    fn values<'a>(&'a self, now: i64, out: &mut Vec<Val<'a>>) {
        out.extend([
            Val::Text(&self.name),
            Val::Text(&self.id_hash),
            Val::Text(&self.id_enc),
            Val::Text(&self.phone_enc),
            Val::Text(&self.phone_hash),
            Val::Int(Some(self.birth_year)),
            Val::Int(Some(i64::from(self.real_name))),
            Val::Text(&self.division_code),
            Val::Text(&self.division_path),
            Val::Real(self.lon),
            Val::Real(self.lat),
            Val::Text(&self.skills),
            Val::Int(Some(i64::from(self.insured))),
            Val::Int(self.org_id),
            Val::Text(&self.weekly),
            Val::Int(Some(i64::from(self.available_now))),
            Val::Text(&self.cert_kinds),
            Val::Int(self.user_id),
            Val::Int(Some(now)),
            Val::Int(Some(now)),
            Val::Int(Some(1)),
        ]);
    }
}

/// Inserts volunteers in bulk.
pub async fn insert_volunteers(tx: &mut Tx, rows: &[NewVolunteer], now: i64) -> Result<()> {
    crate::bulk::insert_rows(tx, rows, now).await
}

/// Inserts households.
pub async fn insert_households(tx: &mut Tx, rows: &[NewHousehold]) -> Result<()> {
    const C: usize = 8;
    for chunk in rows.chunks(batch_rows(C)) {
        let sql = format!(
            "INSERT INTO households (grid_code, division_path, address, lon, lat, members, vulnerable, contact_phone) VALUES {}",
            values_placeholders(chunk.len(), C)
        );
        let mut q = sqlx::query(&sql);
        for h in chunk {
            q = q
                .bind(h.grid_code.clone())
                .bind(h.division_path.clone())
                .bind(h.address.clone())
                .bind(h.lon)
                .bind(h.lat)
                .bind(h.members)
                .bind(h.vulnerable.clone())
                .bind(h.contact_phone.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// After inserting explicit ids on PostgreSQL, moves the identity sequence past them.
pub async fn sync_org_ids(tx: &mut Tx, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('organizations', 'id'), COALESCE((SELECT MAX(id) FROM organizations), 0) + 1, false)",
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Organisations
// ---------------------------------------------------------------------------------------------

/// An organisation's fields as filed (create or edit). The phone is already encrypted.
#[derive(Debug, Clone, Default)]
pub struct OrgInput {
    /// Name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Kind key.
    pub kind: String,
    /// Division code.
    pub division_code: String,
    /// Division path.
    pub division_path: String,
    /// Address.
    pub address: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Contact person.
    pub contact_name: String,
    /// Encrypted contact phone.
    pub contact_phone_enc: String,
    /// Comma-separated domain keys.
    pub domains: String,
    /// Comma-separated rescue specialty keys.
    pub specialties: String,
    /// Rescue grade key (`grade1`…`grade3`) or empty.
    pub grade: String,
    /// People count.
    pub people_count: i64,
}

/// A stored organisation.
#[derive(Debug, Clone, Serialize)]
pub struct OrgRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Credit code.
    pub credit_code: String,
    /// Kind key.
    pub kind: String,
    /// Division code.
    pub division_code: String,
    /// Division name.
    pub division_name: String,
    /// Division path.
    pub division_path: String,
    /// Address.
    pub address: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Contact person.
    pub contact_name: String,
    /// Encrypted contact phone.
    #[serde(skip)]
    pub contact_phone_enc: String,
    /// Domain keys, comma-separated.
    pub domains: String,
    /// Rescue specialty keys, comma-separated.
    pub specialties: String,
    /// Rescue grade key.
    pub grade: String,
    /// People count.
    pub people_count: i64,
    /// Filing state key.
    pub state: String,
    /// Reason of the last return/reject/suspend.
    pub state_reason: String,
    /// Latest year with a yearly-inspection result (0 = none).
    pub last_inspection_year: i64,
    /// Latest evaluation grade (`1A`…`5A`) or empty.
    pub eval_grade: String,
    /// Latest end date of an insurance policy (`YYYY-MM-DD`) or empty.
    pub insured_until: String,
    /// Created (unix ms).
    pub created_at: i64,
    /// Updated (unix ms).
    pub updated_at: i64,
}

const ORG_COLS: &str =
    "o.id, o.name, o.credit_code, o.kind, o.division_code, d.name AS division_name, o.division_path, \
     o.address, o.lon, o.lat, o.contact_name, o.contact_phone_enc, o.domains, o.specialties, o.grade, o.people_count, \
     o.state, o.state_reason, o.last_inspection_year, o.eval_grade, o.insured_until, o.created_at, o.updated_at";

fn org_from_row(r: &AnyRow) -> Result<OrgRow> {
    Ok(OrgRow {
        id: col(r, "id")?,
        name: col(r, "name")?,
        credit_code: col(r, "credit_code")?,
        kind: col(r, "kind")?,
        division_code: col(r, "division_code")?,
        division_name: col(r, "division_name")?,
        division_path: col(r, "division_path")?,
        address: col(r, "address")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        contact_name: col(r, "contact_name")?,
        contact_phone_enc: col(r, "contact_phone_enc")?,
        domains: col(r, "domains")?,
        specialties: col(r, "specialties")?,
        grade: col(r, "grade")?,
        people_count: col(r, "people_count")?,
        state: col(r, "state")?,
        state_reason: col(r, "state_reason")?,
        last_inspection_year: col(r, "last_inspection_year")?,
        eval_grade: col(r, "eval_grade")?,
        insured_until: col(r, "insured_until")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// One organisation by id, unscoped: the caller checks `Actor::may_access` and answers
/// NotFound when it fails.
pub async fn get_org<'e, E>(ex: E, id: i64) -> Result<OrgRow>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql =
        format!("SELECT {ORG_COLS} FROM organizations o JOIN divisions d ON d.code = o.division_code WHERE o.id = $1");
    let r = sqlx::query(&sql).bind(id).fetch_optional(ex).await?.ok_or(StoreError::NotFound)?;
    org_from_row(&r)
}

/// The organisation holding `credit_code`, if any: (id, name, division path).
pub async fn org_by_credit_code<'e, E>(ex: E, credit_code: &str) -> Result<Option<(i64, String, String)>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query("SELECT id, name, division_path FROM organizations WHERE credit_code = $1")
        .bind(credit_code.to_string())
        .fetch_optional(ex)
        .await?;
    r.map(|r| Ok((col(&r, "id")?, col(&r, "name")?, col(&r, "division_path")?))).transpose()
}

/// Creates an organisation in `state`; returns its id. A taken credit code is a conflict.
pub async fn create_org(tx: &mut Tx, o: &OrgInput, state: &str, now: i64) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO organizations (name, credit_code, kind, division_code, division_path, address, lon, lat, \
         contact_name, contact_phone_enc, domains, specialties, grade, people_count, state, created_at, updated_at, pii_v) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,1) RETURNING id",
    )
    .bind(o.name.clone())
    .bind(o.credit_code.clone())
    .bind(o.kind.clone())
    .bind(o.division_code.clone())
    .bind(o.division_path.clone())
    .bind(o.address.clone())
    .bind(o.lon)
    .bind(o.lat)
    .bind(o.contact_name.clone())
    .bind(o.contact_phone_enc.clone())
    .bind(o.domains.clone())
    .bind(o.specialties.clone())
    .bind(o.grade.clone())
    .bind(o.people_count)
    .bind(state.to_string())
    .bind(now)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_unique)?;
    col(&r, "id")
}

/// Overwrites an organisation's filed fields.
pub async fn update_org(tx: &mut Tx, id: i64, o: &OrgInput, now: i64) -> Result<()> {
    let n = sqlx::query(
        "UPDATE organizations SET name = $1, credit_code = $2, kind = $3, division_code = $4, division_path = $5, \
         address = $6, lon = $7, lat = $8, contact_name = $9, contact_phone_enc = $10, domains = $11, specialties = $12, \
         grade = $13, people_count = $14, updated_at = $15, pii_v = 1 WHERE id = $16",
    )
    .bind(o.name.clone())
    .bind(o.credit_code.clone())
    .bind(o.kind.clone())
    .bind(o.division_code.clone())
    .bind(o.division_path.clone())
    .bind(o.address.clone())
    .bind(o.lon)
    .bind(o.lat)
    .bind(o.contact_name.clone())
    .bind(o.contact_phone_enc.clone())
    .bind(o.domains.clone())
    .bind(o.specialties.clone())
    .bind(o.grade.clone())
    .bind(o.people_count)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(map_unique)?;
    if n.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Who decided something, for history rows.
#[derive(Debug, Clone)]
pub struct By {
    /// User id (0 = system).
    pub user_id: i64,
    /// Login name.
    pub username: String,
}

/// Moves an organisation from `from` to `to` (only if it is still in `from`: a concurrent
/// decision loses with NotFound) and appends the history row.
pub async fn set_org_state(tx: &mut Tx, id: i64, from: &str, to: &str, reason: &str, by: &By, now: i64) -> Result<()> {
    let n = sqlx::query(
        "UPDATE organizations SET state = $1, state_reason = $2, updated_at = $3 WHERE id = $4 AND state = $5",
    )
    .bind(to.to_string())
    .bind(reason.to_string())
    .bind(now)
    .bind(id)
    .bind(from.to_string())
    .execute(&mut **tx)
    .await?;
    if n.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    add_history(tx, id, from, to, reason, by, now).await
}

/// Appends a state-history row (also for creation: `from` = "").
pub async fn add_history(
    tx: &mut Tx,
    org_id: i64,
    from: &str,
    to: &str,
    reason: &str,
    by: &By,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO org_state_history (org_id, from_state, to_state, reason, user_id, username, at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7)",
    )
    .bind(org_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(reason.to_string())
    .bind(by.user_id)
    .bind(by.username.clone())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One state change.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    /// Previous state ("" on creation).
    pub from_state: String,
    /// New state.
    pub to_state: String,
    /// Reason given.
    pub reason: String,
    /// Who.
    pub username: String,
    /// When (unix ms).
    pub at: i64,
}

/// State history of an organisation, oldest first.
pub async fn org_history(pool: &AnyPool, org_id: i64) -> Result<Vec<HistoryRow>> {
    let rows = sqlx::query(
        "SELECT from_state, to_state, reason, username, at FROM org_state_history WHERE org_id = $1 ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryRow {
                from_state: col(r, "from_state")?,
                to_state: col(r, "to_state")?,
                reason: col(r, "reason")?,
                username: col(r, "username")?,
                at: col(r, "at")?,
            })
        })
        .collect()
}

/// One piece of equipment.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Equipment {
    /// Name (e.g. 冲锋舟).
    pub name: String,
    /// How many.
    pub quantity: i64,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Replaces an organisation's equipment list.
pub async fn replace_equipment(tx: &mut Tx, org_id: i64, items: &[Equipment]) -> Result<()> {
    sqlx::query("DELETE FROM org_equipment WHERE org_id = $1").bind(org_id).execute(&mut **tx).await?;
    for e in items {
        sqlx::query("INSERT INTO org_equipment (org_id, name, quantity, note) VALUES ($1,$2,$3,$4)")
            .bind(org_id)
            .bind(e.name.clone())
            .bind(e.quantity)
            .bind(e.note.clone())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An organisation's equipment.
pub async fn list_equipment(pool: &AnyPool, org_id: i64) -> Result<Vec<Equipment>> {
    let rows = sqlx::query("SELECT name, quantity, note FROM org_equipment WHERE org_id = $1 ORDER BY id")
        .bind(org_id)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok(Equipment { name: col(r, "name")?, quantity: col(r, "quantity")?, note: col(r, "note")? }))
        .collect()
}

/// An insurance policy.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Policy {
    /// Insurer.
    pub insurer: String,
    /// Policy number.
    pub policy_no: String,
    /// Covered people.
    pub covered_people: i64,
    /// Valid from (`YYYY-MM-DD`).
    pub valid_from: String,
    /// Valid to (`YYYY-MM-DD`).
    pub valid_to: String,
}

/// Adds a policy and moves `insured_until` to the latest end date.
pub async fn add_policy(tx: &mut Tx, org_id: i64, p: &Policy) -> Result<()> {
    sqlx::query(
        "INSERT INTO org_insurance (org_id, insurer, policy_no, covered_people, valid_from, valid_to) VALUES ($1,$2,$3,$4,$5,$6)",
    )
    .bind(org_id)
    .bind(p.insurer.clone())
    .bind(p.policy_no.clone())
    .bind(p.covered_people)
    .bind(p.valid_from.clone())
    .bind(p.valid_to.clone())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE organizations SET insured_until = (SELECT MAX(valid_to) FROM org_insurance WHERE org_id = $1) WHERE id = $2",
    )
    .bind(org_id)
    .bind(org_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An organisation's policies.
pub async fn list_policies(pool: &AnyPool, org_id: i64) -> Result<Vec<Policy>> {
    let rows = sqlx::query(
        "SELECT insurer, policy_no, covered_people, valid_from, valid_to FROM org_insurance WHERE org_id = $1 ORDER BY valid_to DESC, id",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Policy {
                insurer: col(r, "insurer")?,
                policy_no: col(r, "policy_no")?,
                covered_people: col(r, "covered_people")?,
                valid_from: col(r, "valid_from")?,
                valid_to: col(r, "valid_to")?,
            })
        })
        .collect()
}

/// A review: yearly inspection (`inspection`), evaluation (`evaluation`) or spot check (`spot_check`).
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// Kind key.
    pub kind: String,
    /// Year reviewed.
    pub year: i64,
    /// Result key (`pass`, `basic_pass`, `fail`; `1A`…`5A`; `ok`, `issues`).
    pub result: String,
    /// Findings.
    pub findings: String,
    /// Recorded by.
    pub username: String,
    /// When (unix ms).
    pub at: i64,
}

/// Records a review and keeps the organisation's latest inspection year / evaluation grade.
pub async fn add_review(tx: &mut Tx, org_id: i64, r: &Review, by: &By) -> Result<()> {
    sqlx::query(
        "INSERT INTO org_reviews (org_id, kind, year, result, findings, user_id, username, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(org_id)
    .bind(r.kind.clone())
    .bind(r.year)
    .bind(r.result.clone())
    .bind(r.findings.clone())
    .bind(by.user_id)
    .bind(by.username.clone())
    .bind(r.at)
    .execute(&mut **tx)
    .await?;
    match r.kind.as_str() {
        "inspection" => {
            sqlx::query(
                "UPDATE organizations SET last_inspection_year = $1 WHERE id = $2 AND last_inspection_year < $3",
            )
            .bind(r.year)
            .bind(org_id)
            .bind(r.year)
            .execute(&mut **tx)
            .await?;
        }
        "evaluation" => {
            sqlx::query("UPDATE organizations SET eval_grade = $1 WHERE id = $2")
                .bind(r.result.clone())
                .bind(org_id)
                .execute(&mut **tx)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether a review of `kind` for `year` exists.
pub async fn has_review(tx: &mut Tx, org_id: i64, kind: &str, year: i64) -> Result<bool> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM org_reviews WHERE org_id = $1 AND kind = $2 AND year = $3")
        .bind(org_id)
        .bind(kind.to_string())
        .bind(year)
        .fetch_one(&mut **tx)
        .await?;
    Ok(col::<i64>(&r, "n")? > 0)
}

/// Reviews of an organisation, newest year first.
pub async fn list_reviews(pool: &AnyPool, org_id: i64) -> Result<Vec<Review>> {
    let rows = sqlx::query(
        "SELECT kind, year, result, findings, username, at FROM org_reviews WHERE org_id = $1 ORDER BY year DESC, id DESC",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Review {
                kind: col(r, "kind")?,
                year: col(r, "year")?,
                result: col(r, "result")?,
                findings: col(r, "findings")?,
                username: col(r, "username")?,
                at: col(r, "at")?,
            })
        })
        .collect()
}

/// Sets the admin account's organisation (an organisation admin who files a new organisation).
pub async fn link_user_org(tx: &mut Tx, user_id: i64, org_id: i64) -> Result<()> {
    sqlx::query("UPDATE users SET org_id = $1 WHERE id = $2 AND org_id IS NULL")
        .bind(org_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Filters of the organisation list.
#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    /// Name contains, or credit code starts with.
    pub q: Option<String>,
    /// Division subtree (path).
    pub within_path: Option<String>,
    /// Kind key.
    pub kind: Option<String>,
    /// State key.
    pub state: Option<String>,
    /// Domain of service key.
    pub domain: Option<String>,
    /// Rescue specialty key.
    pub specialty: Option<String>,
    /// Rescue grade key.
    pub grade: Option<String>,
    /// `Some(d)`: only organisations insured on date `d` (`YYYY-MM-DD`) — or, with
    /// `insured_not`, only those not insured then.
    pub insured_on: Option<String>,
    /// Invert `insured_on`.
    pub insured_not: bool,
    /// `Some(y)`: only verified organisations whose latest yearly inspection is before year `y`.
    pub overdue_before: Option<i64>,
    /// Sort: `name` (default), `id`, `people` or `updated`.
    pub sort: Option<String>,
    /// Direction.
    pub order: Order,
    /// Cursor from the previous page.
    pub cursor: Option<Cursor>,
    /// Page size.
    pub limit: u32,
}

/// One organisation in a list.
#[derive(Debug, Clone, Serialize)]
pub struct OrgListItem {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Credit code.
    pub credit_code: String,
    /// Kind key.
    pub kind: String,
    /// Division code.
    pub division_code: String,
    /// Division name.
    pub division_name: String,
    /// State key.
    pub state: String,
    /// People count.
    pub people_count: i64,
    /// Domains.
    pub domains: String,
    /// Rescue specialties.
    pub specialties: String,
    /// Rescue grade key.
    pub grade: String,
    /// Latest inspection year (0 = never).
    pub last_inspection_year: i64,
    /// Latest evaluation grade.
    pub eval_grade: String,
    /// Latest insurance end date.
    pub insured_until: String,
    /// Contact person.
    pub contact_name: String,
    /// Encrypted contact phone (never serialised).
    #[serde(skip)]
    pub contact_phone_enc: String,
    /// Updated (unix ms).
    pub updated_at: i64,
}

/// Text-sorted or number-sorted column for keyset paging.
fn sort_spec(sort: Option<&str>, table: &str) -> (String, bool) {
    match (table, sort) {
        (_, Some("id")) => (format!("{table}.id"), true),
        ("o", Some("people")) => ("o.people_count".into(), true),
        (_, Some("updated")) => (format!("{table}.updated_at"), true),
        _ => (format!("{table}.name"), false),
    }
}

/// Keyset condition as a row-value comparison: both databases seek the (sort key, id) index to
/// the cursor instead of filtering from the first row.
fn keyset(b: &mut SqlBuf, table: &str, sort_col: &str, numeric: bool, order: Order, c: &Cursor) {
    let cmp = if order == Order::Asc { ">" } else { "<" };
    let key = if numeric { Arg::I64(c.key.parse().unwrap_or(0)) } else { Arg::Text(c.key.clone()) };
    b.push(&format!(" AND ({sort_col}, {table}.id) {cmp} (")).bind(key).push(", ").int(c.id).push(")");
}

/// Membership of `key` in a comma-separated list column, tested on the column itself (not on
/// `',' || col || ','`) so that PostgreSQL estimates it from the column's statistics.
fn has_key(b: &mut SqlBuf, col: &str, key: &str) {
    let k: String = key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    b.push(&format!(" AND ({col} = ")).text(k.clone());
    b.push(&format!(" OR {col} LIKE ")).text(format!("{k},%"));
    b.push(&format!(" OR {col} LIKE ")).text(format!("%,{k}"));
    b.push(&format!(" OR {col} LIKE ")).text(format!("%,{k},%")).push(")");
}

fn like_term(q: &str) -> String {
    format!("%{}%", q.trim().replace(['%', '_', '\\'], ""))
}

/// Lists organisations the actor may see, one page, keyset-paginated.
pub async fn list_orgs(pool: &sqlx::AnyPool, actor: &Actor, f: &OrgFilter) -> Result<Page<OrgListItem>> {
    let (sort_col, numeric) = sort_spec(f.sort.as_deref(), "o");
    let dir = if f.order == Order::Asc { "ASC" } else { "DESC" };
    let mut b = SqlBuf::new(
        "SELECT o.id, o.name, o.credit_code, o.kind, o.division_code, d.name AS division_name, o.state, o.people_count, \
         o.domains, o.specialties, o.grade, o.last_inspection_year, o.eval_grade, o.insured_until, o.contact_name, \
         o.contact_phone_enc, o.updated_at FROM organizations o JOIN divisions d ON d.code = o.division_code WHERE ",
    );
    // A city- or district-wide list walks the index of its sort key (name, or kind/state then
    // name) and stops after a page; a street or community reads its few rows by path and sorts.
    let broad = is_sqlite(pool)
        && f.within_path.as_deref().or(actor.division_path.as_deref()).is_some_and(|p| p.matches('/').count() <= 2);
    let (scope_path, within_path) = match (broad, is_sqlite(pool) && f.within_path.is_some()) {
        (true, _) => ("(o.division_path || '')", "(o.division_path || '')"),
        (false, true) => ("(o.division_path || '')", "o.division_path"),
        (false, false) => ("o.division_path", "o.division_path"),
    };
    b.scope(actor, scope_path, Some("o.id"));
    if let Some(p) = &f.within_path {
        b.push(" AND ").within(within_path, p);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        b.push(" AND (o.name LIKE ").text(like_term(q));
        b.push(" OR o.credit_code = ").text(q.to_ascii_uppercase()).push(")");
    }
    if let Some(k) = &f.kind {
        b.push(" AND o.kind = ").text(k.clone());
    }
    if let Some(s) = &f.state {
        b.push(" AND o.state = ").text(s.clone());
    }
    if let Some(d) = &f.domain {
        has_key(&mut b, "o.domains", d);
    }
    if let Some(s) = &f.specialty {
        has_key(&mut b, "o.specialties", s);
    }
    if let Some(g) = &f.grade {
        b.push(" AND o.grade = ").text(g.clone());
    }
    if let Some(d) = &f.insured_on {
        if f.insured_not {
            b.push(" AND o.insured_until < ").text(d.clone());
        } else {
            b.push(" AND o.insured_until >= ").text(d.clone());
        }
    }
    if let Some(y) = f.overdue_before {
        b.push(" AND o.state = 'verified' AND o.last_inspection_year < ").int(y);
    }
    if let Some(c) = &f.cursor {
        keyset(&mut b, "o", &sort_col, numeric, f.order, c);
    }
    b.push(&format!(" ORDER BY {sort_col} {dir}, o.id {dir} LIMIT ")).int(f.limit as i64 + 1);
    let rows = b.query().fetch_all(pool).await?;
    let mut items = rows
        .iter()
        .map(|r| {
            Ok(OrgListItem {
                id: col(r, "id")?,
                name: col(r, "name")?,
                credit_code: col(r, "credit_code")?,
                kind: col(r, "kind")?,
                division_code: col(r, "division_code")?,
                division_name: col(r, "division_name")?,
                state: col(r, "state")?,
                people_count: col(r, "people_count")?,
                domains: col(r, "domains")?,
                specialties: col(r, "specialties")?,
                grade: col(r, "grade")?,
                last_inspection_year: col(r, "last_inspection_year")?,
                eval_grade: col(r, "eval_grade")?,
                insured_until: col(r, "insured_until")?,
                contact_name: col(r, "contact_name")?,
                contact_phone_enc: col(r, "contact_phone_enc")?,
                updated_at: col(r, "updated_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() > f.limit as usize {
        items.truncate(f.limit as usize);
        items.last().map(|l| {
            let key = match sort_col.as_str() {
                "o.id" => l.id.to_string(),
                "o.people_count" => l.people_count.to_string(),
                "o.updated_at" => l.updated_at.to_string(),
                _ => l.name.clone(),
            };
            Cursor { key, id: l.id }.encode()
        })
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// Counts the actor can see on the home page: organisations, volunteers, households, grids.
pub async fn scoped_counts(pool: &sqlx::AnyPool, actor: &Actor) -> Result<[(&'static str, i64); 4]> {
    let mut out = [("organizations", 0), ("volunteers", 0), ("households", 0), ("grids", 0)];
    let specs: [(&str, &str, Option<&str>, &str); 4] = [
        ("organizations", "division_path", Some("id"), ""),
        ("volunteers", "division_path", Some("org_id"), ""),
        ("households", "division_path", None, ""),
        ("divisions", "path", None, " AND level = 'grid'"),
    ];
    for (i, (table, path_col, org_col, extra)) in specs.into_iter().enumerate() {
        let mut b = SqlBuf::new(&format!("SELECT COUNT(*) AS n FROM {table} WHERE "));
        if table == "volunteers" {
            volunteer_scope(&mut b, actor, "volunteers");
        } else {
            b.scope(actor, path_col, org_col);
        }
        b.push(extra);
        out[i].1 = col(&b.query().fetch_one(pool).await?, "n")?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Volunteers
// ---------------------------------------------------------------------------------------------

/// Volunteer scope: located in the actor's jurisdiction, or member of (primary or approved
/// membership) the actor's organisation. Volunteers and residents see only their own record.
pub fn volunteer_scope(b: &mut SqlBuf, actor: &Actor, t: &str) {
    volunteer_scope_on(b, actor, t, &format!("{t}.division_path"));
}

/// [`volunteer_scope`] with the division path read through `path_expr` (the list passes
/// `(v.division_path || '')` when the path index must not drive the query).
fn volunteer_scope_on(b: &mut SqlBuf, actor: &Actor, t: &str, path_expr: &str) {
    use tongxin_domain::Role;
    if matches!(actor.role, Role::Volunteer | Role::Resident) {
        b.push(&format!("({t}.user_id = ")).int(actor.user_id).push(")");
        return;
    }
    let Some(org) = actor.org_id else {
        b.scope(actor, path_expr, None);
        return;
    };
    // The organisation's members (primary or approved) as one id set: both databases read it
    // by index, where `org_id = x OR EXISTS (...)` would probe every volunteer.
    b.push("(");
    if actor.division_path.is_some() {
        b.scope(actor, path_expr, None).push(" OR ");
    }
    b.push(&format!("{t}.id IN (SELECT vm.id FROM volunteers vm WHERE vm.org_id = ")).int(org);
    b.push(" UNION SELECT m.volunteer_id FROM memberships m WHERE m.state = 'approved' AND m.org_id = ").int(org);
    b.push("))");
}

/// Whether the pool is SQLite: it keeps no value histograms, so the list picks its access path
/// itself (PostgreSQL plans each execution with its values and is left to choose).
fn is_sqlite(pool: &AnyPool) -> bool {
    pool.connect_options().database_url.scheme().starts_with("sqlite")
}

/// Filters of the volunteer list.
#[derive(Debug, Clone, Default)]
pub struct VolFilter {
    /// Name contains.
    pub q: Option<String>,
    /// Exact lookup by ID-number or phone blind index.
    pub hash: Option<String>,
    /// Division subtree (path).
    pub within_path: Option<String>,
    /// Skill key.
    pub skill: Option<String>,
    /// Valid certificate kind.
    pub cert: Option<String>,
    /// Insured or not.
    pub insured: Option<bool>,
    /// Available now or not.
    pub available_now: Option<bool>,
    /// Real-name registered or not.
    pub real_name: Option<bool>,
    /// Member (primary or approved) of this organisation.
    pub org_id: Option<i64>,
    /// Sort: `name` (default), `id` or `updated`.
    pub sort: Option<String>,
    /// Direction.
    pub order: Order,
    /// Cursor.
    pub cursor: Option<Cursor>,
    /// Page size.
    pub limit: u32,
}

/// A stored volunteer (personal data encrypted).
#[derive(Debug, Clone, Serialize)]
pub struct VolRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Encrypted ID number ("" for phone-only registrations).
    #[serde(skip)]
    pub id_enc: String,
    /// Encrypted phone.
    #[serde(skip)]
    pub phone_enc: String,
    /// Birth year (0 = unknown).
    pub birth_year: i64,
    /// Real-name registered.
    pub real_name: bool,
    /// Division code.
    pub division_code: String,
    /// Division name.
    pub division_name: String,
    /// Division path.
    pub division_path: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Skill keys, comma-separated.
    pub skills: String,
    /// Insured.
    pub insured: bool,
    /// Primary organisation.
    pub org_id: Option<i64>,
    /// Primary organisation's name.
    pub org_name: Option<String>,
    /// Weekly availability slots.
    pub weekly: String,
    /// Available now.
    pub available_now: bool,
    /// Valid certificate kinds.
    pub cert_kinds: String,
    /// Linked account.
    pub user_id: Option<i64>,
    /// Updated (unix ms).
    pub updated_at: i64,
}

const VOL_COLS: &str = "v.id, v.name, v.id_enc, v.phone_enc, v.birth_year, v.real_name, v.division_code, \
     d.name AS division_name, v.division_path, v.lon, v.lat, v.skills, v.insured, v.org_id, o.name AS org_name, v.weekly, \
     v.available_now, v.cert_kinds, v.user_id, v.updated_at";
const VOL_FROM: &str = " FROM volunteers v JOIN divisions d ON d.code = v.division_code \
     LEFT JOIN organizations o ON o.id = v.org_id";

fn vol_from_row(r: &AnyRow) -> Result<VolRow> {
    Ok(VolRow {
        id: col(r, "id")?,
        name: col(r, "name")?,
        id_enc: col(r, "id_enc")?,
        phone_enc: col(r, "phone_enc")?,
        birth_year: col(r, "birth_year")?,
        real_name: col::<i64>(r, "real_name")? != 0,
        division_code: col(r, "division_code")?,
        division_name: col(r, "division_name")?,
        division_path: col(r, "division_path")?,
        lon: col(r, "lon")?,
        lat: col(r, "lat")?,
        skills: col(r, "skills")?,
        insured: col::<i64>(r, "insured")? != 0,
        org_id: col(r, "org_id")?,
        org_name: col(r, "org_name")?,
        weekly: col(r, "weekly")?,
        available_now: col::<i64>(r, "available_now")? != 0,
        cert_kinds: col(r, "cert_kinds")?,
        user_id: col(r, "user_id")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// Whether a volunteer list should walk its sort-key index rather than the path index: yes
/// for a city-, district- or street-wide scope with no exact lookup (a page is found after a
/// few hundred index entries), no for a community, grid, organisation or person (few rows,
/// read by index and sorted). SQLite keeps no value histograms, so the choice is made here.
fn walk_sort_index(actor: &Actor, f: &VolFilter) -> bool {
    use tongxin_domain::Role;
    if f.hash.is_some() || f.org_id.is_some() || matches!(actor.role, Role::Volunteer | Role::Resident) {
        return false;
    }
    match f.within_path.as_deref().or(actor.division_path.as_deref()) {
        Some(p) => p.matches('/').count() <= 3,
        None => false,
    }
}

/// One page of the volunteers the actor may see.
pub async fn list_volunteers(pool: &AnyPool, actor: &Actor, f: &VolFilter) -> Result<Page<VolRow>> {
    let (sort_col, numeric) = sort_spec(f.sort.as_deref(), "v");
    let dir = if f.order == Order::Asc { "ASC" } else { "DESC" };
    let walk = is_sqlite(pool) && walk_sort_index(actor, f);
    // Offer the path index at most once (for the narrower range), and not at all when walking.
    let (scope_path, within_path) = match (walk, is_sqlite(pool) && f.within_path.is_some()) {
        (true, _) => ("(v.division_path || '')", "(v.division_path || '')"),
        (false, true) => ("(v.division_path || '')", "v.division_path"),
        (false, false) => ("v.division_path", "v.division_path"),
    };
    let mut b = SqlBuf::new(&format!("SELECT {VOL_COLS}{VOL_FROM} WHERE "));
    volunteer_scope_on(&mut b, actor, "v", scope_path);
    if let Some(p) = &f.within_path {
        b.push(" AND ").within(within_path, p);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        b.push(" AND v.name LIKE ").text(like_term(q));
    }
    if let Some(h) = &f.hash {
        b.push(" AND (v.id_hash = ").text(h.clone()).push(" OR v.phone_hash = ").text(h.clone()).push(")");
    }
    if let Some(s) = &f.skill {
        has_key(&mut b, "v.skills", s);
    }
    if let Some(c) = &f.cert {
        has_key(&mut b, "v.cert_kinds", c);
    }
    for (col_name, v) in [("v.insured", f.insured), ("v.available_now", f.available_now), ("v.real_name", f.real_name)]
    {
        if let Some(v) = v {
            b.push(&format!(" AND {col_name} = ")).int(v as i64);
        }
    }
    if let Some(org) = f.org_id {
        b.push(" AND v.id IN (SELECT v2.id FROM volunteers v2 WHERE v2.org_id = ").int(org);
        b.push(" UNION SELECT m2.volunteer_id FROM memberships m2 WHERE m2.state = 'approved' AND m2.org_id = ")
            .int(org)
            .push(")");
    }
    if let Some(c) = &f.cursor {
        keyset(&mut b, "v", &sort_col, numeric, f.order, c);
    }
    b.push(&format!(" ORDER BY {sort_col} {dir}, v.id {dir} LIMIT ")).int(f.limit as i64 + 1);
    let rows = b.query().fetch_all(pool).await?;
    let mut items = rows.iter().map(vol_from_row).collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() > f.limit as usize {
        items.truncate(f.limit as usize);
        items.last().map(|l| {
            let key = match sort_col.as_str() {
                "v.id" => l.id.to_string(),
                "v.updated_at" => l.updated_at.to_string(),
                _ => l.name.clone(),
            };
            Cursor { key, id: l.id }.encode()
        })
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The organisation with the most primary members (benchmarks).
pub async fn org_with_most_members(pool: &AnyPool) -> Result<Option<i64>> {
    let r = sqlx::query(
        "SELECT org_id FROM volunteers WHERE org_id IS NOT NULL GROUP BY org_id ORDER BY COUNT(*) DESC, org_id LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    r.map(|r| col(&r, "org_id")).transpose()
}

/// One volunteer by id, unscoped (the caller checks scope with [`volunteer_visible`]).
pub async fn get_volunteer<'e, E>(ex: E, id: i64) -> Result<VolRow>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("SELECT {VOL_COLS}{VOL_FROM} WHERE v.id = $1");
    let r = sqlx::query(&sql).bind(id).fetch_optional(ex).await?.ok_or(StoreError::NotFound)?;
    vol_from_row(&r)
}

/// Whether the actor may see volunteer `id` (same rule as the list).
pub async fn volunteer_visible(pool: &AnyPool, actor: &Actor, id: i64) -> Result<bool> {
    let mut b = SqlBuf::new("SELECT COUNT(*) AS n FROM volunteers v WHERE v.id = ");
    b.int(id).push(" AND ");
    volunteer_scope(&mut b, actor, "v");
    Ok(col::<i64>(&b.query().fetch_one(pool).await?, "n")? > 0)
}

/// The volunteer with this ID-number blind index: (id, division path).
pub async fn volunteer_by_id_hash(tx: &mut Tx, id_hash: &str) -> Result<Option<(i64, String)>> {
    let r = sqlx::query("SELECT id, division_path FROM volunteers WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    r.map(|r| Ok((col(&r, "id")?, col(&r, "division_path")?))).transpose()
}

/// The volunteer record linked to an account.
pub async fn volunteer_of_user(pool: &AnyPool, user_id: i64) -> Result<Option<i64>> {
    let r = sqlx::query("SELECT id FROM volunteers WHERE user_id = $1").bind(user_id).fetch_optional(pool).await?;
    r.map(|r| col(&r, "id")).transpose()
}

/// Creates one volunteer; a registered ID number is a conflict.
pub async fn create_volunteer(tx: &mut Tx, v: &NewVolunteer, now: i64) -> Result<i64> {
    let sql = format!(
        "INSERT INTO volunteers ({VOL_INSERT_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21) RETURNING id"
    );
    let r = crate::bulk::bind_row(sqlx::query(&sql), v, now).fetch_one(&mut **tx).await.map_err(map_unique)?;
    col(&r, "id")
}

/// Overwrites a volunteer's profile (import upsert, edits). Keeps the account link, the
/// certificates and, when `v.org_id` is None, the primary organisation.
pub async fn update_volunteer(tx: &mut Tx, id: i64, v: &NewVolunteer, now: i64) -> Result<()> {
    let n = sqlx::query(
        "UPDATE volunteers SET name = $1, id_hash = $2, id_enc = $3, phone_enc = $4, phone_hash = $5, birth_year = $6, \
         real_name = $7, division_code = $8, division_path = $9, lon = $10, lat = $11, skills = $12, insured = $13, \
         org_id = COALESCE($14, org_id), weekly = $15, available_now = $16, updated_at = $17, pii_v = 1 WHERE id = $18",
    )
    .bind(v.name.clone())
    .bind(v.id_hash.clone())
    .bind(v.id_enc.clone())
    .bind(v.phone_enc.clone())
    .bind(v.phone_hash.clone())
    .bind(v.birth_year)
    .bind(v.real_name as i64)
    .bind(v.division_code.clone())
    .bind(v.division_path.clone())
    .bind(v.lon)
    .bind(v.lat)
    .bind(v.skills.clone())
    .bind(v.insured as i64)
    .bind(v.org_id)
    .bind(v.weekly.clone())
    .bind(v.available_now as i64)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(map_unique)?;
    if n.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Sets a volunteer's availability.
pub async fn set_availability(tx: &mut Tx, id: i64, weekly: &str, available_now: bool, now: i64) -> Result<()> {
    sqlx::query("UPDATE volunteers SET weekly = $1, available_now = $2, updated_at = $3 WHERE id = $4")
        .bind(weekly.to_string())
        .bind(available_now as i64)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A certificate (first aid, 第一响应人, professional licence).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Certificate {
    /// Kind key: `first_aid`, `first_responder`, `licence`.
    pub kind: String,
    /// Name (e.g. 红十字救护员证).
    pub name: String,
    /// Certificate number.
    #[serde(default)]
    pub number: String,
    /// Expiry (`YYYY-MM-DD`) or empty for none.
    #[serde(default)]
    pub expires_on: String,
}

/// Adds a certificate and refreshes the volunteer's valid certificate kinds as of `today`.
pub async fn add_certificate(tx: &mut Tx, vol_id: i64, c: &Certificate, today: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO volunteer_certificates (volunteer_id, kind, name, number, expires_on) VALUES ($1,$2,$3,$4,$5)",
    )
    .bind(vol_id)
    .bind(c.kind.clone())
    .bind(c.name.clone())
    .bind(c.number.clone())
    .bind(c.expires_on.clone())
    .execute(&mut **tx)
    .await?;
    let rows = sqlx::query(
        "SELECT DISTINCT kind FROM volunteer_certificates WHERE volunteer_id = $1 AND (expires_on = '' OR expires_on >= $2) ORDER BY kind",
    )
    .bind(vol_id)
    .bind(today.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let kinds = rows.iter().map(|r| col::<String>(r, "kind")).collect::<Result<Vec<_>>>()?.join(",");
    sqlx::query("UPDATE volunteers SET cert_kinds = $1 WHERE id = $2")
        .bind(kinds)
        .bind(vol_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A volunteer's certificates.
pub async fn list_certificates(pool: &AnyPool, vol_id: i64) -> Result<Vec<Certificate>> {
    let rows = sqlx::query(
        "SELECT kind, name, number, expires_on FROM volunteer_certificates WHERE volunteer_id = $1 ORDER BY id",
    )
    .bind(vol_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Certificate {
                kind: col(r, "kind")?,
                name: col(r, "name")?,
                number: col(r, "number")?,
                expires_on: col(r, "expires_on")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Teams and memberships
// ---------------------------------------------------------------------------------------------

/// A team of an organisation.
#[derive(Debug, Clone, Serialize)]
pub struct Team {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Name.
    pub name: String,
    /// Specialty key or empty.
    pub specialty: String,
    /// Approved members.
    pub members: i64,
}

/// Creates a team; a name taken within the organisation is a conflict.
pub async fn create_team(tx: &mut Tx, org_id: i64, name: &str, specialty: &str, now: i64) -> Result<i64> {
    let r = sqlx::query("INSERT INTO teams (org_id, name, specialty, created_at) VALUES ($1,$2,$3,$4) RETURNING id")
        .bind(org_id)
        .bind(name.to_string())
        .bind(specialty.to_string())
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_unique)?;
    col(&r, "id")
}

/// Teams of an organisation with their approved member counts.
pub async fn list_teams(pool: &AnyPool, org_id: i64) -> Result<Vec<Team>> {
    let rows = sqlx::query(
        "SELECT t.id, t.org_id, t.name, t.specialty, (SELECT COUNT(*) FROM memberships m WHERE m.team_id = t.id \
         AND m.state = 'approved') AS members FROM teams t WHERE t.org_id = $1 ORDER BY t.name, t.id",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Team {
                id: col(r, "id")?,
                org_id: col(r, "org_id")?,
                name: col(r, "name")?,
                specialty: col(r, "specialty")?,
                members: col(r, "members")?,
            })
        })
        .collect()
}

/// The organisation of team `id`.
pub async fn team_org(pool: &AnyPool, id: i64) -> Result<i64> {
    let r = sqlx::query("SELECT org_id FROM teams WHERE id = $1").bind(id).fetch_optional(pool).await?;
    col(&r.ok_or(StoreError::NotFound)?, "org_id")
}

/// A membership request or membership.
#[derive(Debug, Clone, Serialize)]
pub struct Membership {
    /// Id.
    pub id: i64,
    /// Volunteer.
    pub volunteer_id: i64,
    /// Volunteer's name.
    pub volunteer_name: String,
    /// Organisation.
    pub org_id: i64,
    /// Its name.
    pub org_name: String,
    /// Team (0 = none).
    pub team_id: i64,
    /// The team's name ("" for none).
    pub team_name: String,
    /// State: `pending`, `approved`, `rejected`.
    pub state: String,
    /// Note from the volunteer.
    pub note: String,
    /// Requested (unix ms).
    pub requested_at: i64,
}

/// Records a membership in `state` (pending for requests; approved when the admin adds someone).
pub async fn add_membership(
    tx: &mut Tx,
    vol_id: i64,
    org_id: i64,
    team_id: i64,
    state: &str,
    note: &str,
    now: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO memberships (volunteer_id, org_id, team_id, state, note, requested_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
    )
    .bind(vol_id)
    .bind(org_id)
    .bind(team_id)
    .bind(state.to_string())
    .bind(note.to_string())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_unique)?;
    let id = col(&r, "id")?;
    if state == "approved" {
        set_primary_org(tx, vol_id, org_id).await?;
    }
    Ok(id)
}

async fn set_primary_org(tx: &mut Tx, vol_id: i64, org_id: i64) -> Result<()> {
    sqlx::query("UPDATE volunteers SET org_id = $1 WHERE id = $2 AND org_id IS NULL")
        .bind(org_id)
        .bind(vol_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One membership by id.
pub async fn get_membership(tx: &mut Tx, id: i64) -> Result<Membership> {
    let r = sqlx::query(
        "SELECT m.id, m.volunteer_id, v.name AS volunteer_name, m.org_id, o.name AS org_name, m.team_id, \
         COALESCE(t.name, '') AS team_name, m.state, m.note, m.requested_at FROM memberships m \
         JOIN volunteers v ON v.id = m.volunteer_id JOIN organizations o ON o.id = m.org_id \
         LEFT JOIN teams t ON t.id = m.team_id WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    membership_from_row(&r)
}

fn membership_from_row(r: &AnyRow) -> Result<Membership> {
    Ok(Membership {
        id: col(r, "id")?,
        volunteer_id: col(r, "volunteer_id")?,
        volunteer_name: col(r, "volunteer_name")?,
        org_id: col(r, "org_id")?,
        org_name: col(r, "org_name")?,
        team_id: col(r, "team_id")?,
        team_name: col(r, "team_name")?,
        state: col(r, "state")?,
        note: col(r, "note")?,
        requested_at: col(r, "requested_at")?,
    })
}

/// Decides a pending membership (`approved` or `rejected`); NotFound when no longer pending.
pub async fn decide_membership(tx: &mut Tx, id: i64, to: &str, by: i64, now: i64) -> Result<()> {
    let n = sqlx::query(
        "UPDATE memberships SET state = $1, decided_at = $2, decided_by = $3 WHERE id = $4 AND state = 'pending'",
    )
    .bind(to.to_string())
    .bind(now)
    .bind(by)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if n.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    if to == "approved" {
        let m = get_membership(tx, id).await?;
        set_primary_org(tx, m.volunteer_id, m.org_id).await?;
    }
    Ok(())
}

/// Memberships of an organisation (optionally in one state), newest first.
pub async fn list_memberships(pool: &AnyPool, org_id: i64, state: Option<&str>) -> Result<Vec<Membership>> {
    let mut b = SqlBuf::new(
        "SELECT m.id, m.volunteer_id, v.name AS volunteer_name, m.org_id, o.name AS org_name, m.team_id, \
         COALESCE(t.name, '') AS team_name, m.state, m.note, m.requested_at FROM memberships m \
         JOIN volunteers v ON v.id = m.volunteer_id JOIN organizations o ON o.id = m.org_id \
         LEFT JOIN teams t ON t.id = m.team_id WHERE m.org_id = ",
    );
    b.int(org_id);
    if let Some(s) = state {
        b.push(" AND m.state = ").text(s);
    }
    b.push(" ORDER BY m.id DESC LIMIT 500");
    b.query().fetch_all(pool).await?.iter().map(membership_from_row).collect()
}

/// Memberships of a volunteer.
pub async fn memberships_of(pool: &AnyPool, vol_id: i64) -> Result<Vec<Membership>> {
    let rows = sqlx::query(
        "SELECT m.id, m.volunteer_id, v.name AS volunteer_name, m.org_id, o.name AS org_name, m.team_id, \
         COALESCE(t.name, '') AS team_name, m.state, m.note, m.requested_at FROM memberships m \
         JOIN volunteers v ON v.id = m.volunteer_id JOIN organizations o ON o.id = m.org_id \
         LEFT JOIN teams t ON t.id = m.team_id WHERE m.volunteer_id = $1 ORDER BY m.id",
    )
    .bind(vol_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(membership_from_row).collect()
}

// ---------------------------------------------------------------------------------------------
// Leader training
// ---------------------------------------------------------------------------------------------

/// A training course with its sessions' attendance count.
#[derive(Debug, Clone, Serialize)]
pub struct Course {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Organising division.
    pub division_code: String,
    /// Sessions.
    pub sessions: i64,
    /// Attendance records marked present.
    pub attended: i64,
}

/// Creates a course run by a division.
pub async fn create_course(tx: &mut Tx, title: &str, division_code: &str, path: &str, now: i64) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO training_courses (title, division_code, division_path, created_at) VALUES ($1,$2,$3,$4) RETURNING id",
    )
    .bind(title.to_string())
    .bind(division_code.to_string())
    .bind(path.to_string())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    col(&r, "id")
}

/// The division path of a course.
pub async fn course_path(tx: &mut Tx, id: i64) -> Result<String> {
    let r = sqlx::query("SELECT division_path FROM training_courses WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    col(&r, "division_path")
}

/// Adds a session to a course.
pub async fn add_session(tx: &mut Tx, course_id: i64, starts_at: i64, place: &str) -> Result<i64> {
    let r = sqlx::query("INSERT INTO training_sessions (course_id, starts_at, place) VALUES ($1,$2,$3) RETURNING id")
        .bind(course_id)
        .bind(starts_at)
        .bind(place.to_string())
        .fetch_one(&mut **tx)
        .await?;
    col(&r, "id")
}

/// The course of a session.
pub async fn session_course(tx: &mut Tx, session_id: i64) -> Result<i64> {
    let r = sqlx::query("SELECT course_id FROM training_sessions WHERE id = $1")
        .bind(session_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    col(&r, "course_id")
}

/// Records (or re-records) attendance of an organisation's leader at a session.
pub async fn record_attendance(tx: &mut Tx, session_id: i64, org_id: i64, person: &str, attended: bool) -> Result<()> {
    sqlx::query("DELETE FROM training_attendance WHERE session_id = $1 AND org_id = $2 AND person_name = $3")
        .bind(session_id)
        .bind(org_id)
        .bind(person.to_string())
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO training_attendance (session_id, org_id, person_name, attended) VALUES ($1,$2,$3,$4)")
        .bind(session_id)
        .bind(org_id)
        .bind(person.to_string())
        .bind(attended as i64)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Courses run within the actor's jurisdiction.
pub async fn list_courses(pool: &AnyPool, actor: &Actor) -> Result<Vec<Course>> {
    let mut b = SqlBuf::new(
        "SELECT c.id, c.title, c.division_code, (SELECT COUNT(*) FROM training_sessions s WHERE s.course_id = c.id) AS sessions, \
         (SELECT COUNT(*) FROM training_attendance a JOIN training_sessions s ON s.id = a.session_id WHERE s.course_id = c.id \
         AND a.attended = 1) AS attended FROM training_courses c WHERE ",
    );
    b.scope(actor, "c.division_path", None).push(" ORDER BY c.id DESC LIMIT 200");
    b.query()
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Course {
                id: col(r, "id")?,
                title: col(r, "title")?,
                division_code: col(r, "division_code")?,
                sessions: col(r, "sessions")?,
                attended: col(r, "attended")?,
            })
        })
        .collect()
}

/// Training attended by an organisation's leaders: (course title, session start, person, attended).
pub async fn org_training(pool: &AnyPool, org_id: i64) -> Result<Vec<(String, i64, String, bool)>> {
    let rows = sqlx::query(
        "SELECT c.title, s.starts_at, a.person_name, a.attended FROM training_attendance a \
         JOIN training_sessions s ON s.id = a.session_id JOIN training_courses c ON c.id = s.course_id \
         WHERE a.org_id = $1 ORDER BY s.starts_at DESC, a.id",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((col(r, "title")?, col(r, "starts_at")?, col(r, "person_name")?, col::<i64>(r, "attended")? != 0)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Legacy personal data (rows written before encryption)
// ---------------------------------------------------------------------------------------------

/// Up to `limit` volunteers still holding plain personal data: (id, plain ID, plain phone).
pub async fn legacy_volunteers(pool: &AnyPool, limit: i64) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query("SELECT id, id_hash, phone_enc FROM volunteers WHERE pii_v = 0 ORDER BY id LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((col(r, "id")?, col(r, "id_hash")?, col(r, "phone_enc")?))).collect()
}

/// Replaces a legacy volunteer's plain personal data with its encrypted form.
#[allow(clippy::too_many_arguments)]
pub async fn set_volunteer_pii(
    tx: &mut Tx,
    id: i64,
    id_hash: &str,
    id_enc: &str,
    phone_enc: &str,
    phone_hash: &str,
    birth_year: i64,
    real_name: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE volunteers SET id_hash = $1, id_enc = $2, phone_enc = $3, phone_hash = $4, birth_year = $5, \
         real_name = $6, pii_v = 1 WHERE id = $7",
    )
    .bind(id_hash.to_string())
    .bind(id_enc.to_string())
    .bind(phone_enc.to_string())
    .bind(phone_hash.to_string())
    .bind(birth_year)
    .bind(real_name as i64)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Up to `limit` organisations with a plain contact phone: (id, plain phone).
pub async fn legacy_org_phones(pool: &AnyPool, limit: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, contact_phone_enc FROM organizations WHERE pii_v = 0 ORDER BY id LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((col(r, "id")?, col(r, "contact_phone_enc")?))).collect()
}

/// Stores an organisation's encrypted contact phone.
pub async fn set_org_phone(tx: &mut Tx, id: i64, phone_enc: &str) -> Result<()> {
    sqlx::query("UPDATE organizations SET contact_phone_enc = $1, pii_v = 1 WHERE id = $2")
        .bind(phone_enc.to_string())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
