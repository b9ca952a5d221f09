//! What the token, revocation and introspection endpoints share: reading the request's
//! parameters (query for GET, form body for POST; RFC 6749 §3.1) and how the client
//! identified itself, by HTTP Basic or parameters but never both (RFC 6749 §2.3.1). The
//! client is authenticated by the grants service, behind the failed-credentials limiter
//! ([`crate::service::limiter`]).

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Method, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::domain::PlainSecret;
use crate::domain::form;
use crate::http::error::OAuthError;
use crate::service::grants::{AuthenticatedClient, ClientCredentials};
use crate::state::AppState;

/// A client's request about one token (revocation, introspection).
pub struct TokenQuery {
    /// The client that asked, authenticated.
    pub client: AuthenticatedClient,
    /// The token it named.
    pub token: PlainSecret,
    /// `token_type_hint`, if given.
    pub hint: Option<String>,
}

/// Reads a revocation or introspection request: parameters, client authentication
/// (`confidential_only`: a public client is refused) and the `token`.
pub async fn token_query(
    state: &AppState,
    addr: IpAddr,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Result<Bytes, BytesRejection>,
    confidential_only: bool,
) -> Result<TokenQuery, OAuthError> {
    let mut params = request_params(method, headers, query, body)?;
    let auth = client_auth(headers, &mut params)?;
    if confidential_only && auth.credentials.secret.is_none() {
        return Err(OAuthError::invalid_client(auth.basic));
    }
    let client = state
        .services
        .grants()
        .authenticate_client(addr, &auth.credentials)
        .await
        .map_err(|e| OAuthError::from_grant(e, auth.basic))?;
    let token = params
        .remove("token")
        .ok_or_else(|| OAuthError::invalid_request("the token parameter is required"))?;
    Ok(TokenQuery {
        client,
        token: PlainSecret::new(token),
        hint: params.remove("token_type_hint"),
    })
}

/// How the client identified itself.
pub struct ClientAuth {
    /// `client_id` and `client_secret`.
    pub credentials: ClientCredentials,
    /// It used HTTP Basic (errors then answer 401 with a Basic challenge).
    pub basic: bool,
}

/// Parameters of a form or query; a repeated parameter is an error (RFC 6749 §3.1), and
/// one without a value counts as absent. Bytes that are not UTF-8 are `invalid_request`,
/// never replaced (a lossy username or secret would be checked as another one).
pub fn parse_params(raw: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut params = HashMap::new();
    let pairs = form::pairs(raw).map_err(|_| {
        OAuthError::invalid_request("the parameters are not valid UTF-8 once percent-decoded")
    })?;
    for (k, v) in pairs {
        if v.is_empty() {
            continue;
        }
        if params.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {k} is repeated"
            )));
        }
    }
    Ok(params)
}

/// The parameters of an OAuth request: the form body of a POST
/// (`application/x-www-form-urlencoded`), else the query (GET, or a POST without body for
/// old clients).
pub fn request_params(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Result<Bytes, BytesRejection>,
) -> Result<HashMap<String, String>, OAuthError> {
    let body = body.map_err(|e| {
        let mut err = OAuthError::invalid_request("the request body could not be read");
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            err.status = StatusCode::PAYLOAD_TOO_LARGE;
        }
        err
    })?;
    if *method == Method::POST && !body.is_empty() {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        parse_params(&body)
    } else {
        parse_params(query.unwrap_or("").as_bytes())
    }
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client(true);
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "client authentication must use HTTP Basic or parameters",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| -> Result<String, OAuthError> {
        let pair = format!("x={s}");
        let mut pairs = form::pairs(pair.as_bytes()).map_err(|_| malformed())?;
        Ok(pairs
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// How the client identified itself, taking `client_id` and `client_secret` out of
/// `params`.
pub fn client_auth(
    headers: &HeaderMap,
    params: &mut HashMap<String, String>,
) -> Result<ClientAuth, OAuthError> {
    let basic = basic_credentials(headers)?;
    let param_id = params.remove("client_id");
    let param_secret = params.remove("client_secret");
    match (basic, param_id, param_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "authenticate the client one way: HTTP Basic or parameters, not both",
        )),
        (Some((id, secret)), None, None) => Ok(ClientAuth {
            credentials: ClientCredentials {
                id,
                secret: (!secret.is_empty()).then(|| PlainSecret::new(secret)),
            },
            basic: true,
        }),
        (None, Some(id), secret) => Ok(ClientAuth {
            credentials: ClientCredentials {
                id,
                secret: secret.map(PlainSecret::new),
            },
            basic: false,
        }),
        (None, None, _) => Err(OAuthError::invalid_client(true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        assert!(parse_params(b"a=1&a=2").is_err());
        let p = parse_params(b"a=1&b=&b=2").unwrap();
        assert_eq!(p.get("b").map(String::as_str), Some("2"));
    }

    #[test]
    fn parameters_that_are_not_utf8_are_invalid_request() {
        let err = parse_params(b"username=%FF%FE&password=x").unwrap_err();
        assert_eq!(err.error, "invalid_request");
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("my id".to_owned(), "s:cret".to_owned()))
        );
    }

    #[test]
    fn both_ways_of_client_authentication_is_invalid_request() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("id:secret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        let mut params = HashMap::from([("client_id".to_owned(), "id".to_owned())]);
        let err = client_auth(&h, &mut params).err().unwrap();
        assert_eq!(err.error, "invalid_request");
    }
}
