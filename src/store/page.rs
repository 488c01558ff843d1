//! Listings: one page of rows and how many there are in all, from one
//! query (`COUNT(*) OVER ()` is computed before `LIMIT`), as the Rust
//! package registry's server paginates. A page past the end has no row to
//! carry the total; only then is it counted on its own.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreResult};

/// A page request: zero-based page number and page size.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub size: i64,
    pub descending: bool,
}

/// A value bound to a listing's `$n`, in order.
#[derive(Debug, Clone)]
pub(super) enum Param {
    Int(i64),
    Text(String),
}

/// What a listing selects: `SELECT {columns} FROM {from_where} ORDER BY
/// {order_by} ASC|DESC`, with `params` bound to `$1..` of `from_where`.
pub(super) struct Listing<'a> {
    pub columns: &'a str,
    pub from_where: &'a str,
    pub order_by: &'a str,
    pub params: Vec<Param>,
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for param in params {
        query = match param {
            Param::Int(n) => query.bind(*n),
            Param::Text(text) => query.bind(text.as_str()),
        };
    }
    query
}

impl Store {
    pub(super) async fn page(&self, listing: Listing<'_>, page: PageRequest) -> StoreResult<(Vec<AnyRow>, i64)> {
        let Listing { columns, from_where, order_by, params } = listing;
        let direction = if page.descending { "DESC" } else { "ASC" };
        let (limit, offset) = (params.len() + 1, params.len() + 2);
        let sql = format!(
            "SELECT {columns}, COUNT(*) OVER () AS total_rows FROM {from_where} \
             ORDER BY {order_by} {direction} LIMIT ${limit} OFFSET ${offset}"
        );
        let rows = bind_all(sqlx::query(&sql), &params)
            .bind(page.size)
            .bind(page.page.saturating_mul(page.size)) // far past the end is an empty page, not an overflow
            .fetch_all(&self.pool)
            .await?;
        let total = match rows.first() {
            Some(row) => row.try_get("total_rows")?,
            None if page.page == 0 => 0,
            None => {
                let count = format!("SELECT COUNT(*) AS n FROM {from_where}");
                bind_all(sqlx::query(&count), &params).fetch_one(&self.pool).await?.try_get("n")?
            }
        };
        Ok((rows, total))
    }
}

/// A listing's WHERE clause, built condition by condition with each
/// condition's parameter numbered in turn.
pub(super) struct Conditions {
    clauses: Vec<String>,
    pub params: Vec<Param>,
}

impl Conditions {
    /// Starts with `clause`, whose `$1..` are `params`.
    pub fn new(clause: &str, params: Vec<Param>) -> Conditions {
        Conditions { clauses: vec![clause.to_string()], params }
    }

    /// Adds `clause($n)`, `$n` being `param`'s placeholder.
    pub fn and(&mut self, clause: impl Fn(&str) -> String, param: Param) {
        self.params.push(param);
        self.clauses.push(clause(&format!("${}", self.params.len())));
    }

    /// Adds a condition without a parameter.
    pub fn and_sql(&mut self, clause: &str) {
        self.clauses.push(clause.to_string());
    }

    pub fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`: `%`, `_` and `\` in `text` match
/// themselves. Lower-cased: compare with `LOWER(column)`, so matching is
/// case-insensitive on SQLite and PostgreSQL alike.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `LOWER(column) LIKE $n ESCAPE '\'`.
pub(super) fn contains(column: &str, placeholder: &str) -> String {
    format!("LOWER({column}) LIKE {placeholder} ESCAPE '\\'")
}
