//! A small SQL builder that numbers `$n` placeholders (sqlx's `QueryBuilder` writes `?` for the
//! `Any` driver, which PostgreSQL rejects), and the one jurisdiction-scoping filter every list uses.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;
use tongxin_domain::division::path_upper_bound;
use tongxin_domain::Actor;

/// Escapes `\`, `%` and `_` for a LIKE pattern used with `ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Integer.
    I64(i64),
    /// Float.
    F64(f64),
    /// Text.
    Text(String),
}

/// SQL text plus its arguments.
#[derive(Debug, Default, Clone)]
pub struct SqlBuf {
    /// The SQL so far.
    pub sql: String,
    args: Vec<Arg>,
}

impl SqlBuf {
    /// Starts with `sql`.
    pub fn new(sql: &str) -> SqlBuf {
        SqlBuf { sql: sql.to_string(), args: vec![] }
    }

    /// Appends raw SQL.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }

    /// Appends a placeholder bound to `a`.
    pub fn bind(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        self.sql.push('$');
        self.sql.push_str(&self.args.len().to_string());
        self
    }

    /// Appends a text placeholder.
    pub fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(s.into()))
    }

    /// Appends an integer placeholder.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.bind(Arg::I64(v))
    }

    /// Builds the sqlx query.
    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.sql);
        for a in &self.args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Text(s) => q.bind(s.clone()),
            };
        }
        q
    }

    /// Restricts to rows under `path` (a division path column), inclusive: one index range.
    pub fn within(&mut self, path_col: &str, path: &str) -> &mut Self {
        self.push(&format!("({path_col} >= "))
            .text(path)
            .push(&format!(" AND {path_col} < "))
            .text(path_upper_bound(path))
            .push(")")
    }

    /// THE scoping filter: rows the actor may see are those located in its jurisdiction, or
    /// (when `org_col` is given) owned by its organisation. An actor with neither sees nothing.
    pub fn scope(&mut self, actor: &Actor, path_col: &str, org_col: Option<&str>) -> &mut Self {
        self.push("(");
        let mut any = false;
        if let Some(p) = &actor.division_path {
            self.within(path_col, p);
            any = true;
        }
        if let (Some(col), Some(org)) = (org_col, actor.org_id) {
            if any {
                self.push(" OR ");
            }
            self.push(&format!("{col} = ")).int(org);
            any = true;
        }
        if !any {
            self.push("1 = 0");
        }
        self.push(")")
    }
}
