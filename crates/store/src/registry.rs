//! Registry core tables (organisations, volunteers) and households: bulk loading for the demo
//! seed and the scoped, cursor-paginated lists that set the convention later lists follow.

use crate::sql::{Arg, SqlBuf};
use crate::{batch_rows, col, values_placeholders, Backend, Result, Tx};
use serde::Serialize;
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
    /// Contact phone.
    pub contact_phone: String,
    /// Comma-separated domain keys.
    pub domains: String,
    /// People count.
    pub people_count: i64,
    /// Filing state key.
    pub state: String,
}

/// A volunteer to insert.
#[derive(Debug, Clone)]
pub struct NewVolunteer {
    /// Name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// Phone.
    pub phone: String,
    /// Division code.
    pub division_code: String,
    /// Division path.
    pub division_path: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Comma-separated skill keys.
    pub skills: String,
    /// Insured.
    pub insured: bool,
    /// Organisation.
    pub org_id: Option<i64>,
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
    const C: usize = 16;
    for chunk in rows.chunks(batch_rows(C)) {
        let sql = format!(
            "INSERT INTO organizations (id, name, credit_code, kind, division_code, division_path, address, lon, lat, \
             contact_name, contact_phone, domains, people_count, state, created_at, updated_at) VALUES {}",
            values_placeholders(chunk.len(), C)
        );
        let mut q = sqlx::query(&sql);
        for o in chunk {
            q = q
                .bind(o.id)
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
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Inserts volunteers.
pub async fn insert_volunteers(tx: &mut Tx, rows: &[NewVolunteer], now: i64) -> Result<()> {
    const C: usize = 11;
    for chunk in rows.chunks(batch_rows(C)) {
        let sql = format!(
            "INSERT INTO volunteers (name, id_number, phone, division_code, division_path, lon, lat, skills, insured, \
             org_id, created_at) VALUES {}",
            values_placeholders(chunk.len(), C)
        );
        let mut q = sqlx::query(&sql);
        for v in chunk {
            q = q
                .bind(v.name.clone())
                .bind(v.id_number.clone())
                .bind(v.phone.clone())
                .bind(v.division_code.clone())
                .bind(v.division_path.clone())
                .bind(v.lon)
                .bind(v.lat)
                .bind(v.skills.clone())
                .bind(v.insured as i64)
                .bind(v.org_id)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
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

/// Filters of the organisation list.
#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    /// Name contains.
    pub q: Option<String>,
    /// Division subtree (path).
    pub within_path: Option<String>,
    /// Kind key.
    pub kind: Option<String>,
    /// State key.
    pub state: Option<String>,
    /// Sort: `name` (default) or `id`.
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
}

/// Lists organisations the actor may see, one page, keyset-paginated.
pub async fn list_orgs(pool: &sqlx::AnyPool, actor: &Actor, f: &OrgFilter) -> Result<Page<OrgListItem>> {
    let sort_col = if f.sort.as_deref() == Some("id") { "o.id" } else { "o.name" };
    let (cmp, dir) = match f.order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    };
    let mut b = SqlBuf::new(
        "SELECT o.id, o.name, o.credit_code, o.kind, o.division_code, d.name AS division_name, o.state, o.people_count, \
         o.domains FROM organizations o JOIN divisions d ON d.code = o.division_code WHERE ",
    );
    b.scope(actor, "o.division_path", Some("o.id"));
    if let Some(p) = &f.within_path {
        b.push(" AND ").within("o.division_path", p);
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        b.push(" AND o.name LIKE ").text(format!("%{}%", q.trim().replace(['%', '_'], "")));
    }
    if let Some(k) = &f.kind {
        b.push(" AND o.kind = ").text(k.clone());
    }
    if let Some(s) = &f.state {
        b.push(" AND o.state = ").text(s.clone());
    }
    if let Some(c) = &f.cursor {
        let key = if sort_col == "o.id" { Arg::I64(c.key.parse().unwrap_or(c.id)) } else { Arg::Text(c.key.clone()) };
        b.push(&format!(" AND ({sort_col} {cmp} ")).bind(key.clone());
        b.push(&format!(" OR ({sort_col} = ")).bind(key).push(&format!(" AND o.id {cmp} ")).int(c.id).push("))");
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
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() > f.limit as usize {
        items.truncate(f.limit as usize);
        items.last().map(|l| {
            let key = if sort_col == "o.id" { l.id.to_string() } else { l.name.clone() };
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
        b.scope(actor, path_col, org_col).push(extra);
        out[i].1 = col(&b.query().fetch_one(pool).await?, "n")?;
    }
    Ok(out)
}
