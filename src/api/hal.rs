//! HAL resources and pages, as ChatKitty's API shapes them.

use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use crate::store::PageRequest;

pub const DEFAULT_PAGE_SIZE: i64 = 25;
pub const MAX_PAGE_SIZE: i64 = 100;

/// A listing's paging: `page` (0-based) and `size` (default 25, at most
/// 100); its order is a [`SortOrder`] beside it. Numbers arrive as text so
/// that a bad one is refused with a message naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Zero-based page index (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    page: Option<String>,
    /// Page size (default 25, at most 100).
    #[param(value_type = Option<i64>, minimum = 1)]
    size: Option<String>,
}

/// A listing's `sort=property[,asc|desc]` parameter. Each listing names the
/// properties it sorts by, so that the document lists exactly the orders
/// the handler accepts; all of them order as the ids do.
pub trait SortOrder {
    const SORTABLE: &'static [&'static str];
    fn sort(&self) -> Option<&str>;
}

/// `sort`'s schema: every order `sortable` allows, as an enum.
fn sort_schema(sortable: &[&str]) -> utoipa::openapi::Object {
    let orders = sortable.iter().flat_map(|p| [p.to_string(), format!("{p},asc"), format!("{p},desc")]);
    super::openapi::string_enum(orders)
}

macro_rules! sort_orders {
    ($($(#[$doc:meta])* $name:ident = [$($property:literal),+];)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// `property`, `property,asc` or `property,desc`.
            #[param(schema_with = $name::schema)]
            sort: Option<String>,
        }

        impl $name {
            fn schema() -> utoipa::openapi::Object {
                sort_schema(<Self as SortOrder>::SORTABLE)
            }
        }

        impl SortOrder for $name {
            const SORTABLE: &'static [&'static str] = &[$($property),+];
            fn sort(&self) -> Option<&str> {
                self.sort.as_deref()
            }
        }
    )+};
}

sort_orders! {
    /// Listings sorted by id only.
    ById = ["id"];
    /// Listings of things created in id order.
    ByCreation = ["id", "createdTime"];
    /// A function's versions.
    ByVersion = ["versionNumber", "id", "createdTime"];
}

impl PageQuery {
    /// The page asked for, in `order` (ascending unless asked otherwise).
    pub fn request(&self, order: &impl SortOrder) -> Result<PageRequest, ApiError> {
        self.page_in(order, false)
    }

    /// As `request`, newest first unless a sort is asked for.
    pub fn newest_first(&self, order: &impl SortOrder) -> Result<PageRequest, ApiError> {
        self.page_in(order, true)
    }

    fn page_in<O: SortOrder>(&self, order: &O, descending_by_default: bool) -> Result<PageRequest, ApiError> {
        let page = query_integer("page", &self.page, 0)?.unwrap_or(0);
        let size = query_integer("size", &self.size, 1)?.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE);
        let descending = match order.sort() {
            None => descending_by_default,
            Some(sort) => sort_descending(sort, O::SORTABLE)?,
        };
        Ok(PageRequest { page, size, descending })
    }
}

/// Whether `sort` (`property[,asc|desc]`) asks for descending order.
fn sort_descending(sort: &str, sortable: &[&str]) -> Result<bool, ApiError> {
    let (property, direction) = sort.split_once(',').unwrap_or((sort, "asc"));
    if !sortable.contains(&property) {
        return Err(ApiError::bad_request(format!(
            "cannot sort by {property:?}: sortable properties are {}",
            sortable.join(", ")
        )));
    }
    match direction.to_ascii_lowercase().as_str() {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(ApiError::bad_request(format!("sort direction must be asc or desc, got {other:?}"))),
    }
}

pub fn time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A query parameter's integer, at least `min`.
pub fn query_integer(name: &str, value: &Option<String>, min: i64) -> Result<Option<i64>, ApiError> {
    value
        .as_ref()
        .map(|raw| match raw.parse::<i64>() {
            Ok(n) if n >= min => Ok(n),
            _ => {
                Err(ApiError::bad_request(format!("query parameter `{name}` must be an integer >= {min}, got {raw:?}")))
            }
        })
        .transpose()
}

/// A query parameter's RFC 3339 time, in milliseconds.
pub fn parse_time(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .as_ref()
        .map(|raw| {
            chrono::DateTime::parse_from_rfc3339(raw)
                .map(|t| t.timestamp_millis())
                .map_err(|e| ApiError::bad_request(format!("query parameter `{name}` must be an RFC 3339 time: {e}")))
        })
        .transpose()
}

/// Where a listing's page links point: its path with the query it was
/// asked with (filters and sort kept), less `page` and `size`.
pub fn listing_path(path: &str, query: Option<&str>) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name != "page" && name != "size")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    if kept.is_empty() {
        return path.to_string();
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    format!("{path}?{query}")
}

/// Every value of a repeatable query parameter (`members=a&members=b`, or
/// `members=a,b`).
pub fn repeated(query: Option<&str>, name: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == name)
        .flat_map(|(_, value)| {
            value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect::<Vec<_>>()
        })
        .collect()
}

/// A seed filter chatfn does not implement yet: refused, never ignored.
pub fn refuse_unsupported(name: &str, value: &Option<String>, why: &str) -> Result<(), ApiError> {
    match value {
        Some(_) => Err(ApiError::bad_request(format!("query parameter `{name}` is not supported: {why}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Any `page`, `size` and `sort` give a page or a 400 naming the problem.
        #[test]
        fn any_paging_is_a_page_or_a_400(
            page in proptest::option::of("\\PC{0,12}"),
            size in proptest::option::of("-?[0-9]{0,22}|\\PC{0,6}"),
            sort in proptest::option::of("\\PC{0,16}"),
        ) {
            let query = PageQuery { page, size };
            match query.request(&ByCreation { sort }) {
                Ok(request) => {
                    proptest::prop_assert!(request.page >= 0);
                    proptest::prop_assert!((1..=MAX_PAGE_SIZE).contains(&request.size));
                }
                Err(e) => {
                    proptest::prop_assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
                    proptest::prop_assert!(!e.message.is_empty());
                }
            }
        }
    }
}
