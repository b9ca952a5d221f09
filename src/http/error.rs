//! The two error envelopes the server speaks:
//!
//! * [`ApiError`] — our own endpoints:
//!   `{"error": {"code": "not_found", "message": "…", "status": 404}}`, with `"fields"` on
//!   422 validation errors.
//! * [`OAuthError`] — the token endpoint (RFC 6749 §5.2):
//!   `{"error": "invalid_grant", "error_description": "…"}`.
//!
//! A 5xx logs the whole error chain and answers an opaque body.
//!
//! Each service's error maps to the envelope here, once (`From<…Error> for ApiError`),
//! and so do the fields it names: the services say `ClientField::RedirectUris`, the API
//! says `redirectUris`.
//!
//! Both envelopes are typed ([`Envelope`], [`OAuthErrorBody`]), and so is each error
//! answer the OpenAPI document lists ([`responses`]): the schemas and the bytes come
//! from the same types.

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::advisory::AdvisoryField;
use crate::domain::client::ClientField;
use crate::domain::fields::FieldErrors;
use crate::domain::org::OrgField;
use crate::domain::package::PackageField;
use crate::domain::project::ProjectField;
use crate::domain::tokens::PersonalTokenField;
use crate::domain::user::AccountField;
use crate::service::accounts::AccountError;
use crate::service::advisories::AdvisoryError;
use crate::service::clients::ClientError;
use crate::service::downloads::DownloadError;
use crate::service::dpop::DpopError;
use crate::service::grants::GrantError;
use crate::service::keys::KeyError;
use crate::service::orgs::OrgError;
use crate::service::packages::PackageError;
use crate::service::projects::ProjectError;
use crate::service::sync::WebhookError;
use crate::service::tokens::TokenError;
use crate::store::StoreError;

/// An error of our own endpoints.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code a client can switch on.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Per-field messages (422).
    pub fields: Option<BTreeMap<String, String>>,
    /// Extra headers (`WWW-Authenticate`, `Retry-After`, `Allow`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The cause of a 5xx, logged, never sent.
    pub source: Option<anyhow::Error>,
}

/// The header that carries a server's DPoP nonce (RFC 9449 §8).
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The realm of every challenge.
pub const REALM: &str = "harmony";

/// The challenge of a request without a token (realm [`REALM`]); written out, as is
/// [`INVALID_TOKEN_CHALLENGE`], because every 401 sends one.
const UNAUTHENTICATED_CHALLENGE: &str = "Bearer realm=\"harmony\"";

/// The challenge of an unknown, expired or revoked token.
const INVALID_TOKEN_CHALLENGE: &str = "Bearer realm=\"harmony\", error=\"invalid_token\"";

/// Why a request was refused under the `DPoP` scheme (RFC 9449 §7).
#[derive(Debug, Clone)]
pub enum DpopRefusal {
    /// `invalid_token`, for this reason.
    Invalid(String),
    /// `use_dpop_nonce`: the proof must carry this server nonce.
    UseNonce(String),
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: None,
            headers: Vec::new(),
            source: None,
        }
    }

    /// Adds a header whose value is a constant.
    fn with_static_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: impl AsRef<str>) -> Self {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.push((name, v));
        }
        self
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 422 with one message per field.
    pub fn validation(fields: BTreeMap<String, String>) -> Self {
        let message = match fields.len() {
            1 => {
                let (k, v) = fields.iter().next().expect("one field");
                format!("{k} {v}")
            }
            _ => "the request has invalid fields".to_owned(),
        };
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        );
        e.fields = Some(fields);
        e
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(BTreeMap::from([(field.to_owned(), message.into())]))
    }

    /// 401: no token where one is required.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this endpoint requires an access token",
        )
        .with_static_header(header::WWW_AUTHENTICATE, UNAUTHENTICATED_CHALLENGE)
    }

    /// 401: an unknown, expired or revoked token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        )
        .with_static_header(header::WWW_AUTHENTICATE, INVALID_TOKEN_CHALLENGE)
    }

    /// 401 under the `DPoP` scheme (RFC 9449 §7.1): `invalid_token` with its reason, or
    /// `use_dpop_nonce` with the nonce in `DPoP-Nonce`; the challenge lists the accepted
    /// algorithms.
    pub fn dpop(refusal: &DpopRefusal) -> Self {
        let algs = crate::domain::dpop::ALGS.join(" ");
        let (code, message, nonce) = match refusal {
            DpopRefusal::Invalid(m) => ("invalid_token", m.as_str(), None),
            DpopRefusal::UseNonce(n) => (
                "use_dpop_nonce",
                "the DPoP proof must carry the nonce sent in DPoP-Nonce",
                Some(n),
            ),
        };
        // A quoted-string may not hold a double quote; no message of ours has one.
        let description = message.replace(['"', '\\'], "'");
        let mut e = Self::new(StatusCode::UNAUTHORIZED, code, message).with_header(
            header::WWW_AUTHENTICATE,
            format!(
                "DPoP realm=\"{REALM}\", error=\"{code}\", \
                 error_description=\"{description}\", algs=\"{algs}\""
            ),
        );
        if let Some(nonce) = nonce {
            e = e.with_header(DPOP_NONCE, nonce);
        }
        e
    }

    /// 400: the token was presented more than one way (RFC 6750 §2).
    pub fn ambiguous_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "present the access token only one way: header or query parameter",
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"{REALM}\", error=\"invalid_request\""),
        )
    }

    /// 400: `?access_token=` while the server accepts tokens only in headers.
    pub fn query_token_refused() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "this server does not accept access tokens in the URL; \
             send Authorization: Bearer TOKEN",
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"{REALM}\", error=\"invalid_request\""),
        )
    }

    /// 400: the query string is not UTF-8 once percent-decoded (it is refused rather than
    /// read with replacement characters, which would search or filter for something else).
    pub fn invalid_query() -> Self {
        Self::bad_request(
            "invalid_query",
            "the query string is not valid UTF-8 once percent-decoded",
        )
    }

    /// 403: the token lacks a scope.
    pub fn insufficient_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this endpoint requires the {scope} scope"),
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""),
        )
    }

    /// 403: a client_credentials token on an endpoint that acts for a user.
    pub fn user_token_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "user_token_required",
            "this endpoint acts for a user; a client_credentials token carries none",
        )
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("rate limit exceeded; retry in {retry_after_secs} s"),
        )
        .with_header(header::RETRY_AFTER, retry_after_secs.to_string())
    }

    /// 500, logging the cause.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed; the request id identifies it in the logs",
        );
        e.source = Some(source.into());
        e
    }

    /// 503, logging the cause.
    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot answer now; try again",
        );
        e.source = Some(source.into());
        e
    }

    /// The envelope for a bare status (404 from the router, 405, 413…).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such endpoint"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this endpoint does not allow that method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "the request body has the wrong content type",
            ),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long"),
            s if s.is_server_error() => ("internal_error", "the server failed"),
            _ => ("bad_request", "the request is malformed"),
        };
        Self::new(status, code, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("not found"),
            StoreError::Conflict { constraint } => ApiError::conflict(format!(
                "conflicts with an existing resource ({constraint})"
            )),
            StoreError::Other(e) => classify_other(e),
        }
    }
}

/// A database that cannot be reached is a 503 (retryable), anything else a 500.
fn classify_other(e: anyhow::Error) -> ApiError {
    let unavailable = e.downcast_ref::<sqlx::Error>().is_some_and(|s| {
        matches!(
            s,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
        )
    });
    if unavailable {
        ApiError::unavailable(e)
    } else {
        ApiError::internal(e)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(e)
    }
}

/// A 422 naming each field the API's way.
fn invalid_fields<F: Ord, W: Into<String>>(errors: FieldErrors<F>, wire: fn(&F) -> W) -> ApiError {
    ApiError::validation(
        errors
            .into_iter()
            .map(|(field, message)| (wire(&field).into(), message))
            .collect(),
    )
}

fn client_field(field: &ClientField) -> &'static str {
    match field {
        ClientField::Name => "name",
        ClientField::RedirectUris => "redirectUris",
        ClientField::GrantTypes => "grantTypes",
        ClientField::Scopes => "scopes",
        ClientField::KeepOldSecret => "keepOldForSeconds",
        ClientField::IdTokenAlg => "idTokenSignedResponseAlg",
        ClientField::PostLogoutRedirectUris => "postLogoutRedirectUris",
    }
}

fn personal_token_field(field: &PersonalTokenField) -> &'static str {
    match field {
        PersonalTokenField::Note => "note",
        PersonalTokenField::Scopes => "scopes",
        PersonalTokenField::Expiry => "expiresInDays",
    }
}

fn account_field(field: &AccountField) -> &'static str {
    match field {
        AccountField::Username => "username",
        AccountField::Email => "email",
        AccountField::Name => "name",
        AccountField::Password => "password",
    }
}

/// A project's fields by their JSON path (`databases[0].port`).
fn project_field(field: &ProjectField) -> String {
    match field {
        ProjectField::Name => "name".into(),
        ProjectField::Slug => "slug".into(),
        ProjectField::Description => "description".into(),
        ProjectField::Url => "url".into(),
        ProjectField::Databases => "databases".into(),
        ProjectField::Database(i, f) => format!("databases[{i}].{}", f.as_str()),
        ProjectField::AddonConstraint => "version".into(),
    }
}

fn package_field(field: &PackageField) -> &'static str {
    match field {
        PackageField::Name => "name",
        PackageField::Version => "version",
        PackageField::Archive => "archive",
        PackageField::Type => "type",
        PackageField::Query => "q",
        PackageField::Description => "description",
        PackageField::RepositoryUrl => "repositoryUrl",
        PackageField::RepositoryCredentials => "repositoryCredentials",
        PackageField::WebhookSecret => "webhookSecret",
        PackageField::VendorOwnerKind => "owner.type",
        PackageField::VendorOwner => "owner.name",
        PackageField::Abandoned => "abandoned",
        PackageField::Yanked => "yanked",
        PackageField::Since => "since",
    }
}

fn advisory_field(field: &AdvisoryField) -> &'static str {
    match field {
        AdvisoryField::Title => "title",
        AdvisoryField::AffectedVersions => "affectedVersions",
        AdvisoryField::Severity => "severity",
        AdvisoryField::Cve => "cve",
        AdvisoryField::Link => "link",
        AdvisoryField::ReportedAt => "reportedAt",
        AdvisoryField::Packages => "packages",
        AdvisoryField::UpdatedSince => "updatedSince",
    }
}

impl From<AdvisoryError> for ApiError {
    fn from(e: AdvisoryError) -> Self {
        match e {
            AdvisoryError::Invalid(errors) => invalid_fields(errors, advisory_field),
            AdvisoryError::Package(e) => e.into(),
            AdvisoryError::Store(e) => e.into(),
        }
    }
}

impl From<DownloadError> for ApiError {
    fn from(e: DownloadError) -> Self {
        match e {
            e @ DownloadError::TooMany => ApiError::invalid_field("downloads", e.to_string()),
            DownloadError::Package(e) => e.into(),
            DownloadError::Store(e) => e.into(),
        }
    }
}

impl From<PackageError> for ApiError {
    fn from(e: PackageError) -> Self {
        match e {
            PackageError::Invalid(errors) => invalid_fields(errors, package_field),
            PackageError::InvalidArchive(message) => {
                let mut err = ApiError::invalid_field("archive", message.clone());
                err.code = "invalid_archive";
                err.message = message;
                err
            }
            e @ (PackageError::NotFound(_)
            | PackageError::VersionNotFound { .. }
            | PackageError::VendorNotFound(_)) => ApiError::not_found(e.to_string()),
            e @ (PackageError::NotOwner(_) | PackageError::NotEditor(_)) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            // The rule, never the owner (whose add-ons may all be private).
            PackageError::VendorOwned { vendor, orphaned } => {
                let message = if orphaned {
                    format!(
                        "the vendor {vendor} is reserved: the account that owned it was \
                         deleted; only an administrator can give it to another account"
                    )
                } else {
                    format!(
                        "the vendor {vendor} belongs to another account; only its owner may \
                         publish under it"
                    )
                };
                ApiError::new(StatusCode::FORBIDDEN, "vendor_owned", message)
            }
            PackageError::VersionExists { package, version } => ApiError::conflict(format!(
                "{package} {version} is already published; published versions are immutable"
            )),
            PackageError::Tombstoned { package, version } => ApiError::new(
                StatusCode::CONFLICT,
                "version_tombstoned",
                format!(
                    "{package} {version} was published and then deleted; a deleted version \
                     is never published again, so publish a new version number"
                ),
            ),
            PackageError::VisibilityMismatch { package, current } => ApiError::new(
                StatusCode::CONFLICT,
                "visibility_mismatch",
                format!(
                    "{package} is {current}; publishing does not change that (use PATCH \
                     /packages/{package} first)"
                ),
            ),
            PackageError::CredentialsNeedHttps => ApiError::invalid_field(
                "repositoryCredentials",
                "are sent over https only; repositoryUrl must be an https URL",
            ),
            PackageError::Store(e) => e.into(),
            PackageError::Unexpected(e) => ApiError::internal(e),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        let not_acceptable =
            |message: &str| ApiError::new(StatusCode::NOT_ACCEPTABLE, "invalid_payload", message);
        match e {
            WebhookError::NoRepository => not_acceptable("the payload names no repository"),
            WebhookError::InvalidDelivery => not_acceptable("invalid X-GitHub-Delivery"),
            e @ WebhookError::NoAddon => ApiError::not_found(e.to_string()),
            WebhookError::InvalidSignature => ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_signature",
                "X-Hub-Signature-256 is missing or does not match the add-on's secret",
            ),
            WebhookError::Store(e) => e.into(),
        }
    }
}

impl From<ProjectError> for ApiError {
    fn from(e: ProjectError) -> Self {
        match e {
            ProjectError::Invalid(errors) => invalid_fields(errors, project_field),
            e @ (ProjectError::NotFound(_)
            | ProjectError::AddonNotFound(_)
            | ProjectError::NotBound { .. }) => ApiError::not_found(e.to_string()),
            ProjectError::Store(e) => e.into(),
        }
    }
}

impl From<OrgError> for ApiError {
    fn from(e: OrgError) -> Self {
        match e {
            OrgError::Invalid(errors) => invalid_fields(errors, |f| match f {
                OrgField::Name => "name",
                OrgField::Role => "role",
                OrgField::OwnerKind => "owner.type",
                OrgField::OwnerName => "owner.name",
            }),
            e @ (OrgError::NotFound(_)
            | OrgError::UnknownAccount(_)
            | OrgError::NotMember { .. }
            | OrgError::VendorNotFound(_)) => ApiError::not_found(e.to_string()),
            e @ (OrgError::NotOwner(_) | OrgError::NotVendorOwner(_)) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            e @ (OrgError::NameTaken(_) | OrgError::LastOwner(_)) => {
                ApiError::conflict(e.to_string())
            }
            OrgError::Store(e) => e.into(),
        }
    }
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Invalid(errors) => invalid_fields(errors, client_field),
            e @ (ClientError::UnknownOwner(_)
            | ClientError::NotFound(_)
            | ClientError::OrgNotFound(_)) => ApiError::not_found(e.to_string()),
            e @ ClientError::NotOrgOwner(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            e @ ClientError::PublicClient => ApiError::conflict(e.to_string()),
            ClientError::Store(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(errors) => invalid_fields(errors, account_field),
            e @ (AccountError::NotFound(_) | AccountError::UnknownUsername(_)) => {
                ApiError::not_found(e.to_string())
            }
            e @ (AccountError::OwnAccountDemoted | AccountError::OwnAccountDeleted) => {
                ApiError::conflict(e.to_string())
            }
            AccountError::Store(e) => e.into(),
            AccountError::Unexpected(e) => ApiError::internal(e),
        }
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(e) => e.into(),
            e @ (KeyError::Generate { .. } | KeyError::Missing(_) | KeyError::Sign { .. }) => {
                ApiError::internal(e)
            }
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            e @ TokenError::NotFound(_) => ApiError::not_found(e.to_string()),
            TokenError::Invalid(fields) => invalid_fields(fields, personal_token_field),
            TokenError::Store(e) => e.into(),
        }
    }
}

/// The error envelope of our own endpoints, as written (typed, so that an error answer
/// builds no JSON tree): `{"error": {"code", "message", "status", "fields"?}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct Envelope<'a> {
    /// The error.
    error: EnvelopeBody<'a>,
}

/// The error inside the envelope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ErrorBody)]
pub struct EnvelopeBody<'a> {
    /// A stable snake_case identifier a client can switch on (`not_found`,
    /// `validation_failed`, `insufficient_scope`…).
    #[schema(value_type = String, examples("not_found"))]
    code: &'a str,
    /// For people.
    #[schema(value_type = String)]
    message: &'a str,
    /// The HTTP status, repeated.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// On `422 validation_failed`: what is wrong with each field, by its name in the request
    /// (`redirectUris`, `databases[0].port`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, String>>, nullable = false)]
    fields: Option<&'a BTreeMap<String, String>>,
}

impl<'a> EnvelopeBody<'a> {
    /// An error without fields (for an answer that embeds one, such as `/health`'s).
    pub fn new(code: &'a str, message: &'a str, status: StatusCode) -> Self {
        EnvelopeBody {
            code,
            message,
            status: status.as_u16(),
            fields: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(status = self.status.as_u16(), error = ?source, "request failed");
        }
        let envelope = Envelope {
            error: EnvelopeBody {
                code: self.code,
                message: &self.message,
                status: self.status.as_u16(),
                fields: self.fields.as_ref(),
            },
        };
        let mut response = (self.status, axum::Json(envelope)).into_response();
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

/// An error of the OAuth endpoints (RFC 6749 §5.2).
#[derive(Debug)]
pub struct OAuthError {
    /// HTTP status (400, or 401 for `invalid_client` by Basic).
    pub status: StatusCode,
    /// The RFC's error code.
    pub error: &'static str,
    /// For people.
    pub description: String,
    /// Answer with `WWW-Authenticate: Basic` (401 `invalid_client`).
    pub basic_challenge: bool,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
    /// A server nonce for `DPoP-Nonce` (`use_dpop_nonce`).
    pub dpop_nonce: Option<String>,
    /// The cause of a 5xx, logged, never sent.
    pub source: Option<anyhow::Error>,
}

impl OAuthError {
    /// A 400 error with the RFC's code.
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
            dpop_nonce: None,
            source: None,
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// `invalid_client`: 401 with a Basic challenge when the client tried Basic (or tried
    /// nothing, so that it learns which scheme to use); 400 when it sent parameters.
    pub fn invalid_client(challenge: bool) -> Self {
        let mut e = Self::new("invalid_client", "client authentication failed");
        if challenge {
            e.status = StatusCode::UNAUTHORIZED;
            e.basic_challenge = true;
        }
        e
    }

    /// 429 for too many failed credential checks.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            "temporarily_unavailable",
            format!("too many failed attempts; retry in {retry_after_secs} s"),
        );
        e.status = StatusCode::TOO_MANY_REQUESTS;
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 500 `server_error`, logging the cause.
    pub fn server_error(source: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new("server_error", "the server failed");
        e.status = StatusCode::INTERNAL_SERVER_ERROR;
        e.source = Some(source.into());
        e
    }

    /// Maps a refused DPoP proof (RFC 9449 §5, §8): `invalid_dpop_proof`, or
    /// `use_dpop_nonce` with the nonce to use in `DPoP-Nonce`.
    pub fn from_dpop(e: DpopError) -> Self {
        match e {
            DpopError::Invalid(m) => Self::new("invalid_dpop_proof", m),
            e @ DpopError::UseNonce { .. } => {
                let mut out = Self::new("use_dpop_nonce", e.to_string());
                if let DpopError::UseNonce { nonce } = e {
                    out.dpop_nonce = Some(nonce);
                }
                out
            }
            DpopError::Unexpected(source) => Self::server_error(source),
        }
    }

    /// Maps a grant's failure; `basic` tells whether the client authenticated by Basic.
    pub fn from_grant(e: GrantError, basic: bool) -> Self {
        match e {
            GrantError::InvalidRequest(m) => Self::invalid_request(m),
            GrantError::InvalidClient => Self::invalid_client(basic),
            GrantError::InvalidCredentials => {
                Self::new("invalid_grant", "invalid username or password")
            }
            GrantError::InvalidGrant(m) => Self::new("invalid_grant", m),
            GrantError::UnauthorizedClient(m) => Self::new("unauthorized_client", m),
            GrantError::UnsupportedGrantType => Self::new(
                "unsupported_grant_type",
                "grant_type must be authorization_code, password, refresh_token or client_credentials",
            ),
            e @ GrantError::PasswordGrantDisabled => {
                Self::new("unsupported_grant_type", e.to_string())
            }
            GrantError::InvalidScope(m) => Self::new("invalid_scope", m),
            GrantError::TooManyAttempts { retry_after } => Self::rate_limited(retry_after),
            GrantError::Unexpected(source) => {
                let mut e = Self::new("server_error", "the server failed");
                e.status = StatusCode::INTERNAL_SERVER_ERROR;
                e.source = Some(source);
                e
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(error = ?source, "token request failed");
        }
        let body = OAuthErrorBody {
            error: self.error,
            error_description: &self.description,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"harmony\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(nonce) = self.dpop_nonce.as_deref().and_then(|n| n.parse().ok()) {
            headers.insert(DPOP_NONCE, nonce);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// The RFC 6749 §5.2 error body of the OAuth endpoints, as written:
/// `{"error": "invalid_grant", "error_description": "…"}`.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthError)]
pub struct OAuthErrorBody<'a> {
    /// The RFC's error code.
    #[schema(value_type = OAuthErrorCode)]
    error: &'a str,
    /// For people.
    #[schema(value_type = String)]
    error_description: &'a str,
}

/// The error codes the OAuth endpoints answer (RFC 6749 §5.2; `temporarily_unavailable`
/// for too many failed credentials, `server_error` for a failure of ours).
// The wire value is `OAuthError::error`; this enum is its schema.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// A parameter is missing, repeated or malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (credentials, code, refresh token) is invalid.
    InvalidGrant,
    /// This client may not use this grant or sign in this user.
    UnauthorizedClient,
    /// The grant type is unknown or switched off.
    UnsupportedGrantType,
    /// The scope asked for is unknown or not allowed.
    InvalidScope,
    /// Too many failed credential checks (with `Retry-After`).
    TemporarilyUnavailable,
    /// A `resource` other than this API (RFC 8707 §2).
    InvalidTarget,
    /// A pushed authorization request asks for a response type other than `code`.
    UnsupportedResponseType,
    /// The `DPoP` proof is invalid (RFC 9449 §5).
    InvalidDpopProof,
    /// The `DPoP` proof must carry the nonce sent in `DPoP-Nonce` (RFC 9449 §8).
    UseDpopNonce,
    /// The server failed.
    ServerError,
}

/// The error answers the OpenAPI document lists, one reusable response per status
/// (`#/components/responses/…`), in the envelope of their endpoints.
pub mod responses {
    use utoipa::ToResponse;
    use utoipa::openapi::{
        ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
        schema::ObjectBuilder,
    };

    fn response(schema: &str, description: &str, headers: &[(&str, &str)]) -> RefOr<Response> {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build();
        let mut builder = ResponseBuilder::new()
            .description(description)
            .content("application/json", content);
        for (name, description) in headers {
            let header = HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(*description))
                .build();
            builder = builder.header(*name, header);
        }
        builder.build().into()
    }

    const BEARER_CHALLENGE: (&str, &str) = (
        "WWW-Authenticate",
        "`Bearer realm=\"harmony\"`, with `error=\"…\"` (RFC 6750 §3)",
    );
    const RETRY_AFTER: (&str, &str) = ("Retry-After", "seconds to wait");

    /// Declares a reusable response: a unit type and its `ToResponse`.
    macro_rules! error_response {
        ($(#[$doc:meta])* $name:ident, $schema:literal, $description:literal $(, $header:expr)*) => {
            $(#[$doc])*
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), response($schema, $description, &[$($header),*]))
                }
            }
        };
    }

    error_response!(
        /// `400`.
        BadRequest,
        "Error",
        "Malformed request: a body that is not JSON (`invalid_json`), paging numbers that are \
         not whole numbers (`invalid_paging`), a query string that is not UTF-8 \
         (`invalid_query`), an access token presented more than one way, or in the URL while \
         the server refuses that (`invalid_request`).",
        BEARER_CHALLENGE
    );
    error_response!(
        /// `401`.
        Unauthorized,
        "Error",
        "No access token (`unauthenticated`), or an unknown, expired or revoked one \
         (`invalid_token`); a DPoP-bound token without a valid DPoP proof (`invalid_token`, \
         `use_dpop_nonce` with a `DPoP-Nonce` header), under a `DPoP` challenge.",
        BEARER_CHALLENGE
    );
    error_response!(
        /// `403`.
        Forbidden,
        "Error",
        "The token lacks the scope (`insufficient_scope`), carries no user \
         (`user_token_required`), or the user may not do this (`forbidden`).",
        BEARER_CHALLENGE
    );
    error_response!(
        /// `404`.
        NotFound,
        "Error",
        "Not found (`not_found`): also another account's resource, or one the caller may not \
         see."
    );
    error_response!(
        /// `409`.
        Conflict,
        "Error",
        "Conflicts with the resource's state or with another resource (`conflict`)."
    );
    error_response!(
        /// `413`.
        PayloadTooLarge,
        "Error",
        "The body is over the limit (`payload_too_large`)."
    );
    error_response!(
        /// `415`.
        UnsupportedMediaType,
        "Error",
        "The body is not of the type the operation takes (`unsupported_media_type`)."
    );
    error_response!(
        /// `422`.
        UnprocessableEntity,
        "Error",
        "Well-formed but invalid (`validation_failed`): `fields` names each problem."
    );
    error_response!(
        /// `429`.
        TooManyRequests,
        "Error",
        "Over the request rate limit (`rate_limited`).",
        RETRY_AFTER
    );
    error_response!(
        /// `400` at an OAuth endpoint.
        OAuthBadRequest,
        "OAuthError",
        "RFC 6749 §5.2 error: `invalid_request`, `invalid_client` (the client sent \
         parameters), `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, \
         `invalid_scope`."
    );
    error_response!(
        /// `401` at an OAuth endpoint.
        OAuthUnauthorized,
        "OAuthError",
        "`invalid_client` when the client authenticated with HTTP Basic, or not at all.",
        ("WWW-Authenticate", "`Basic realm=\"harmony\", charset=\"UTF-8\"`")
    );
    error_response!(
        /// `413` at an OAuth endpoint.
        OAuthPayloadTooLarge,
        "OAuthError",
        "`invalid_request`: the body is over the limit."
    );
    error_response!(
        /// `429` at an OAuth endpoint.
        OAuthTooManyRequests,
        "OAuthError",
        "`temporarily_unavailable`: too many failed credential checks.",
        RETRY_AFTER
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_out_challenges_name_the_realm() {
        assert_eq!(
            UNAUTHENTICATED_CHALLENGE,
            format!("Bearer realm=\"{REALM}\"")
        );
        assert_eq!(
            INVALID_TOKEN_CHALLENGE,
            format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")
        );
    }
}
