//! `GET /openapi.json`: the OpenAPI 3.1 document of every route this server answers,
//! generated from the code that answers them.
//!
//! Each handler carries `#[utoipa::path(…)]` — its method and path, parameters, request
//! body, every answer it can give and who may call it — and its bodies are the Rust types
//! it serializes (`#[derive(Serialize, ToSchema)]`), so a schema and the bytes on the wire
//! come from one definition. The routers are `utoipa_axum` [`OpenApiRouter`]s fed only by
//! `routes!(handler)`, which registers the handler at the path and methods of its
//! annotation *and* adds the operation to the document: a route cannot be served without
//! being documented, and the operation id is the handler's name (`list_tokens`). The test
//! `openapi_json_documents_every_route_under_its_handlers_name` (tests/api/observability.rs)
//! checks that no route is registered another way and that the running router allows
//! exactly the documented methods.
//!
//! What the annotations share lives here: the document's info and tags, the error
//! envelopes and their reusable answers ([`super::error::responses`]), the security
//! schemes, and [`finish`], which expands the shorthand `security(("accessToken" =
//! ["read"]))` of the handlers into the four ways a token can be presented.
//!
//! [`OpenApiRouter`]: utoipa_axum::router::OpenApiRouter

use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use super::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, OAuthBadRequest, OAuthPayloadTooLarge,
    OAuthTooManyRequests, OAuthUnauthorized, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use super::error::{ApiError, Envelope, OAuthErrorBody};

/// The document's frame: info, tags, the shared components. The paths come from the
/// routers ([`super::router`] merges them into this).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "HarmonyCMS REST API",
        description = "The HarmonyCMS platform API: an OAuth2 authorization server and the \
            resource API behind it. Our own resources use camelCase keys and the error \
            envelope `{\"error\": {\"code\", \"message\", \"status\", \"fields\"}}`; the OAuth \
            endpoints speak RFC 6749/7009/7662/8414. An access token is sent as \
            `Authorization: token T`, `Authorization: Bearer T`, HTTP Basic with the token as \
            the password, or `?access_token=T` (one of them per request).\n\n\
            Every path answers `405 Method Not Allowed` (with `Allow`) to a method it does not \
            list, `OPTIONS` with `204` and `Allow`, and an unknown path `404`, in the error \
            envelope. Successful `GET`s carry an `ETag` and answer `If-None-Match` with `304`. \
            A failure of the server is `500`, a database that does not answer `503`, both in \
            the envelope (an opaque message; the `X-Request-Id` finds it in the logs).",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "meta", description = "The map of the API, liveness, monitoring, this document"),
        (name = "user", description = "The current user"),
        (name = "tokens", description = "API Access: the user's access tokens"),
        (name = "clients", description = "The user's API clients"),
        (name = "admin", description = "Administration of accounts and vendors"),
        (name = "oauth", description = "OAuth 2 (RFC 6749, 7009, 7662, 8414, 7636)"),
        (name = "orgs", description = "Organizations and their members"),
        (name = "projects", description = "Projects and the add-ons they require"),
        (name = "packages", description = "The add-on marketplace"),
        (name = "composer", description = "The Composer v2 repository"),
        (name = "console", description = "The console for a browser: tokens, applications (HTML, session cookie, CSRF-checked forms, redirect after every action)"),
    ),
    components(
        schemas(Envelope, OAuthErrorBody),
        responses(
            BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge,
            UnsupportedMediaType, UnprocessableEntity, TooManyRequests, OAuthBadRequest,
            OAuthUnauthorized, OAuthPayloadTooLarge, OAuthTooManyRequests,
        ),
    ),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

/// The shorthand handlers write for "an access token with these scopes"; [`finish`]
/// replaces it by the schemes below.
pub const ACCESS_TOKEN: &str = "accessToken";

/// The ways an access token can be presented, in the order the document lists them.
const TOKEN_SCHEMES: [&str; 4] = [
    "bearerAuth",
    "accessTokenQuery",
    "tokenHeader",
    "tokenBasic",
];

/// The security schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_default();
        let http = |scheme: HttpAuthScheme, description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(scheme)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "bearerAuth",
            http(
                HttpAuthScheme::Bearer,
                "`Authorization: Bearer T` (the scheme name in any case).",
            ),
        );
        components.add_security_scheme(
            "accessTokenQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "`?access_token=T` (the documented form; a deployment may refuse it, \
                 `400 invalid_request`). Never together with a header (`400`).",
            ))),
        );
        components.add_security_scheme(
            "tokenHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Authorization: token T`, the documented header: the value is `token ` and \
                 the access token.",
            ))),
        );
        components.add_security_scheme(
            "tokenBasic",
            http(
                HttpAuthScheme::Basic,
                "HTTP Basic with any username and the access token as the password (what \
                 Composer's `http-basic` sends).",
            ),
        );
        components.add_security_scheme(
            "clientBasic",
            http(
                HttpAuthScheme::Basic,
                "Client authentication at the OAuth endpoints: `client_id:client_secret`, \
                 each form-urlencoded first (RFC 6749 §2.3.1). The endpoints also take \
                 `client_id` and `client_secret` parameters instead (never both).",
            ),
        );
        components.add_security_scheme(
            "sessionCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "harmony_session",
                "The browser session of the console and the authorization endpoint \
                 (`__Host-harmony_session` under an https public URL), set by signing in on \
                 the page.",
            ))),
        );
    }
}

/// Completes the document the routers built: each `accessToken` requirement becomes one
/// requirement per way of presenting a token, with the same scopes, and the operation's
/// description says what the token must be.
pub fn finish(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let Some(security) = &mut operation.security else {
                continue;
            };
            let requirements: Vec<Value> = security
                .iter()
                .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                .collect();
            let Some(scopes) = requirements.iter().find_map(|r| r.get(ACCESS_TOKEN)) else {
                continue;
            };
            let optional = requirements.iter().any(|r| r == &json!({}));
            let scope = scopes[0].as_str().unwrap_or_default();
            let sentence = token_sentence(scope, optional);
            operation.description = Some(match operation.description.take() {
                Some(d) => format!("{d}\n\n{sentence}"),
                None => sentence,
            });
            *security = requirements
                .iter()
                .flat_map(|r| match r.get(ACCESS_TOKEN) {
                    Some(scopes) => TOKEN_SCHEMES
                        .iter()
                        .map(|s| json!({ *s: scopes }))
                        .collect(),
                    None => vec![r.clone()],
                })
                .filter_map(|r| serde_json::from_value::<SecurityRequirement>(r).ok())
                .collect();
        }
    }
}

/// What an operation asks of the token, in words.
fn token_sentence(scope: &str, optional: bool) -> String {
    if optional {
        return "No token needed (an invalid one is still `401`); a user token with `read` \
                also shows the user's private add-ons (an administrator's, with `admin`, \
                every one)."
            .to_owned();
    }
    let who = if scope == "admin" {
        "acting for an administrator (`403 forbidden` otherwise)"
    } else {
        "acting for a user"
    };
    format!(
        "Needs an access token with the `{scope}` scope {who}: `401` without a valid token, \
         `403 user_token_required` for a client_credentials token, `403 insufficient_scope` \
         without the scope{}.",
        if scope == "read" {
            " (`write` satisfies `read`)"
        } else {
            ""
        }
    )
}

/// The served document, serialized once when the router is assembled (it does not depend
/// on the deployment). One per router, not a global: a test process builds many apps.
#[derive(Clone, Default)]
pub struct Published(Arc<OnceLock<Bytes>>);

impl Published {
    /// Serializes the finished document; later calls keep the first.
    pub fn publish(&self, openapi: &utoipa::openapi::OpenApi) -> serde_json::Result<()> {
        let bytes = Bytes::from(serde_json::to_vec(openapi)?);
        let _ = self.0.set(bytes);
        Ok(())
    }
}

/// This document (OpenAPI 3.1)
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = Object),
    )
)]
pub async fn get_openapi(Extension(document): Extension<Published>) -> Response {
    let Some(bytes) = document.0.get() else {
        return ApiError::internal(anyhow::anyhow!("the OpenAPI document was not published"))
            .into_response();
    };
    let mut response = (StatusCode::OK, bytes.clone()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Schemas of the domain's closed sets of names, made from the domain's own lists (for
/// `#[schema(schema_with = …)]`), so that a new grant type or scope shows up by itself.
pub mod schemas {
    use utoipa::openapi::{Object, ObjectBuilder, Type};

    use crate::domain::package::{PackageType, Visibility};
    use crate::domain::tokens::TokenOrigin;
    use crate::domain::tokens::TokenStatus;
    use crate::domain::{GrantType, Scope};

    fn names(values: impl IntoIterator<Item = &'static str>) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .build()
    }

    /// A grant type (`password`…).
    pub fn grant_type() -> Object {
        names(GrantType::ALL.map(GrantType::as_str))
    }

    /// How a listed token came to be: a grant type, or `personal_access_token`.
    pub fn token_origin() -> Object {
        names(TokenOrigin::names())
    }

    /// A scope (`read`, `write`, `admin`).
    pub fn scope() -> Object {
        names(Scope::ALL.map(Scope::as_str))
    }

    /// A token's state in API Access.
    pub fn token_status() -> Object {
        names(
            [
                TokenStatus::Active,
                TokenStatus::Expired,
                TokenStatus::Revoked,
            ]
            .map(TokenStatus::as_str),
        )
    }

    /// An add-on's Composer type.
    pub fn package_type() -> Object {
        names(PackageType::ALL.map(PackageType::as_str))
    }

    /// `public` or `private`.
    pub fn visibility() -> Object {
        names([Visibility::Public, Visibility::Private].map(Visibility::as_str))
    }

    /// Whether an add-on is abandoned: `true`, `false`, or its replacement's `vendor/name`
    /// (as Composer's `abandoned`).
    pub fn abandoned() -> utoipa::openapi::schema::Schema {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(
                        "^[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$",
                    ))
                    .max_length(Some(201)),
            )
            .build()
            .into()
    }
}
