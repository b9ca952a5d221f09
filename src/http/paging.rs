//! Paging (`?page=1&per_page=30`, `per_page` capped at 100) and GitHub's `Link` header.
//!
//! The two parameters are documented from here ([`Paging`]'s `IntoParams`): any whole
//! number that fits 32 bits is accepted (`page=0` is page 1, `per_page=0` the default, a
//! larger `per_page` is capped), anything else is `400 invalid_paging`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

use crate::domain::form;
use crate::http::error::ApiError;
use crate::store::Page;

/// Default page size.
pub const DEFAULT_PER_PAGE: u32 = 30;
/// Largest page size; larger requests are capped.
pub const MAX_PER_PAGE: u32 = 100;

/// The paging parameters of a list request, with the query's other parameters kept for
/// the `Link` URLs.
#[derive(Debug, Clone)]
pub struct Paging {
    /// The page asked for.
    pub page: Page,
    /// The other query parameters, in order.
    pub rest: Vec<(String, String)>,
}

fn parse_number(name: &str, value: &str) -> Result<u32, ApiError> {
    value.trim().parse::<u32>().map_err(|_| {
        ApiError::bad_request(
            "invalid_paging",
            format!("{name} must be a non-negative whole number, got {value:?}"),
        )
    })
}

impl Paging {
    /// Parses a query string. Page 0 means page 1 and `per_page=0` the default, as on GitHub.
    pub fn parse(query: Option<&str>) -> Result<Paging, ApiError> {
        let mut number = 1;
        let mut size = DEFAULT_PER_PAGE;
        let mut rest = Vec::new();
        let pairs =
            form::pairs(query.unwrap_or("").as_bytes()).map_err(|_| ApiError::invalid_query())?;
        for (k, v) in pairs {
            match k.as_ref() {
                "page" => number = parse_number("page", &v)?.max(1),
                "per_page" => {
                    size = match parse_number("per_page", &v)? {
                        0 => DEFAULT_PER_PAGE,
                        n => n.min(MAX_PER_PAGE),
                    }
                }
                "access_token" => {}
                _ => rest.push((k.into_owned(), v.into_owned())),
            }
        }
        Ok(Paging {
            page: Page { number, size },
            rest,
        })
    }

    /// The `Link` header for a list of `total` items at `url` (absolute, without query),
    /// or `None` when everything fits on one page.
    pub fn link_header(&self, url: &str, total: u64) -> Option<String> {
        let size = u64::from(self.page.size);
        let last = total.div_ceil(size).max(1);
        if last <= 1 {
            return None;
        }
        let current = u64::from(self.page.number);
        let href = |page: u64| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.rest {
                q.append_pair(k, v);
            }
            q.append_pair("page", &page.to_string());
            q.append_pair("per_page", &size.to_string());
            format!("<{url}?{}>", q.finish())
        };
        let mut links = Vec::new();
        if current < last {
            links.push(format!("{}; rel=\"next\"", href(current + 1)));
            links.push(format!("{}; rel=\"last\"", href(last)));
        }
        if current > 1 {
            links.push(format!("{}; rel=\"first\"", href(1)));
            links.push(format!("{}; rel=\"prev\"", href((current - 1).min(last))));
        }
        Some(links.join(", "))
    }
}

impl IntoParams for Paging {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let number = |default: u32| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(u32::MAX))
                .default(Some(default.into()))
        };
        let param = |name: &str, description: &str, default: u32| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(number(default)))
                .build()
        };
        vec![
            param("page", "The page, from 1 (`0` is page 1).", 1),
            param(
                "per_page",
                &format!(
                    "Items per page ({DEFAULT_PER_PAGE} by default, also for `0`); a larger \
                     value than {MAX_PER_PAGE} is capped at {MAX_PER_PAGE}."
                ),
                DEFAULT_PER_PAGE,
            ),
        ]
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Paging::parse(parts.uri.query())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_caps_and_errors() {
        let p = Paging::parse(None).unwrap();
        assert_eq!((p.page.number, p.page.size), (1, 30));
        let p = Paging::parse(Some("page=3&per_page=1000")).unwrap();
        assert_eq!((p.page.number, p.page.size), (3, 100));
        let p = Paging::parse(Some("page=0&per_page=0")).unwrap();
        assert_eq!((p.page.number, p.page.size), (1, 30));
        for bad in [
            "page=-1",
            "page=x",
            "per_page=1.5",
            "per_page=99999999999",
            "q=%FF%FE",
        ] {
            assert!(Paging::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn link_header_in_githubs_format() {
        let p = Paging::parse(Some("page=2&per_page=10&type=x")).unwrap();
        let link = p.link_header("http://h/l", 35).unwrap();
        assert_eq!(
            link,
            "<http://h/l?type=x&page=3&per_page=10>; rel=\"next\", \
             <http://h/l?type=x&page=4&per_page=10>; rel=\"last\", \
             <http://h/l?type=x&page=1&per_page=10>; rel=\"first\", \
             <http://h/l?type=x&page=1&per_page=10>; rel=\"prev\""
        );
        assert!(p.link_header("http://h/l", 10).is_none());
    }
}
