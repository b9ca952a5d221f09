//! `GET /openapi.json`: the OpenAPI 3.1 document of every route this server answers.
//!
//! Written by hand (as data, below) rather than derived with utoipa's attributes: most of
//! our answers are assembled with `json!` (projects, add-ons, Composer files, the OAuth
//! answers) and have no Rust type to derive a schema from, and the contract's details
//! (the `token` header scheme, scopes per operation, the RFC formats) are easier to state
//! exactly than to coax out of derive macros. The test `openapi_json_covers_every_route`
//! (tests/api/observability.rs) keeps it from rotting: it compares the document with the
//! routes the source registers, and each documented path's methods with the `Allow` header
//! the running router answers.
//!
//! Operation ids are the handler names (`list_tokens`, `create_client`…).

use std::sync::OnceLock;

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::state::AppState;

/// Who may call an operation.
#[derive(Clone, Copy)]
enum Auth {
    /// Nothing.
    None,
    /// An access token acting for a user, with this scope.
    User(&'static str),
    /// An access token with `admin`, acting for an administrator.
    Admin,
    /// Optional: a user token with `read` shows more (private add-ons to their owner).
    Optional,
    /// Client authentication at an OAuth endpoint (RFC 6749 §2.3).
    Client,
    /// A browser session cookie plus the form's CSRF token (the settings page).
    Session,
}

/// One operation: method, path, id, summary, tag, auth, parameters, body, responses.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Vec<(&'static str, Value)>,
}

fn op(method: &'static str, path: &'static str, id: &'static str, summary: &'static str) -> Op {
    let tag = match path {
        p if p.starts_with("/user/tokens") => "tokens",
        p if p.starts_with("/user/clients") => "clients",
        p if p.starts_with("/user") => "user",
        p if p.starts_with("/admin") => "admin",
        p if p.starts_with("/oauth") || p.starts_with("/.well-known") => "oauth",
        p if p.starts_with("/projects") => "projects",
        p if p.starts_with("/packages/") || p == "/packages" || p == "/update-package" => {
            "packages"
        }
        p if p.starts_with("/p2") || p == "/packages.json" => "composer",
        p if p.starts_with("/settings") => "settings",
        _ => "meta",
    };
    Op {
        method,
        path,
        id,
        summary,
        tag,
        auth: Auth::None,
        params: Vec::new(),
        body: None,
        responses: Vec::new(),
    }
}

impl Op {
    fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }
    fn params(mut self, params: &[Value]) -> Self {
        self.params.extend_from_slice(params);
        self
    }
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn json_body(self, schema: &str) -> Self {
        self.body(json!({
            "required": true,
            "content": { "application/json": { "schema": schema_ref(schema) } }
        }))
    }
    fn ok(mut self, status: &'static str, description: &str, schema: Option<Value>) -> Self {
        let mut response = json!({ "description": description });
        if let Some(schema) = schema {
            response["content"] = json!({ "application/json": { "schema": schema } });
        }
        self.responses.push((status, response));
        self
    }
    fn err(mut self, statuses: &[&'static str]) -> Self {
        for s in statuses {
            self.responses
                .push((s, json!({ "$ref": format!("#/components/responses/{s}") })));
        }
        self
    }
    fn oauth_err(mut self) -> Self {
        self.responses.push((
            "400",
            json!({ "$ref": "#/components/responses/OAuthError" }),
        ));
        self.responses.push((
            "401",
            json!({ "description": "`invalid_client` when the client tried HTTP Basic",
                    "content": { "application/json": { "schema": schema_ref("OAuthError") } } }),
        ));
        self.responses
            .push(("429", json!({ "$ref": "#/components/responses/429" })));
        self
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn array_of(name: &str) -> Value {
    json!({ "type": "array", "items": schema_ref(name) })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description,
            "schema": { "type": "string" } })
}

fn query_param(name: &str, description: &str, required: bool) -> Value {
    json!({ "name": name, "in": "query", "required": required, "description": description,
            "schema": { "type": "string" } })
}

fn paging() -> [Value; 2] {
    [
        json!({ "$ref": "#/components/parameters/page" }),
        json!({ "$ref": "#/components/parameters/per_page" }),
    ]
}

fn form_or_query_body(schema: &str) -> Value {
    json!({
        "required": false,
        "content": { "application/x-www-form-urlencoded": { "schema": schema_ref(schema) } }
    })
}

/// A form of the settings page: `csrf_token` and these fields.
fn settings_form(fields: &[&str]) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "csrf_token".to_owned(),
        json!({ "type": "string", "description": "the token the page's forms carry, bound to the session cookie" }),
    );
    for f in fields {
        properties.insert((*f).to_owned(), json!({ "type": "string" }));
    }
    json!({
        "required": true,
        "content": { "application/x-www-form-urlencoded": { "schema": {
            "type": "object", "required": ["csrf_token"], "properties": properties
        } } }
    })
}

/// Every operation the router serves.
fn operations() -> Vec<Op> {
    use Auth::{Admin, Client, Optional, Session, User};
    let id = || path_param("id", "the resource's UUID");
    let client_id = || path_param("client_id", "the client's `id`");
    let vendor = || path_param("vendor", "the add-on's vendor");
    let name = || path_param("name", "the add-on's name within the vendor");
    let version = || path_param("version", "a version (`1.2.0`)");
    vec![
        // The map, liveness and monitoring.
        op("get", "/", "get_root", "Every endpoint family, as URL templates").ok(
            "200",
            "the map",
            Some(json!({ "type": "object", "additionalProperties": { "type": "string" } })),
        ),
        op("get", "/ping", "ping", "Liveness for the old SDK").ok(
            "200",
            "`{\"ping\":\"pong\"}`",
            Some(json!({ "type": "object", "properties": { "ping": { "const": "pong" } } })),
        ),
        op("get", "/token/status", "get_token_status", "What a token is")
            .params(&[query_param("token", "the access token to describe", true)])
            .ok("200", "the token's status", Some(schema_ref("TokenStatus")))
            .err(&["400"]),
        op("get", "/health", "get_health", "200 when the database answers")
            .ok("200", "healthy", Some(json!({ "type": "object" })))
            .ok("503", "the database does not answer", Some(json!({ "type": "object" }))),
        op("get", "/metrics", "get_metrics", "Prometheus text exposition").ok(
            "200",
            "metrics, `text/plain; version=0.0.4`",
            None,
        ),
        op("get", "/openapi.json", "get_openapi", "This document").ok(
            "200",
            "the OpenAPI 3.1 document",
            Some(json!({ "type": "object" })),
        ),
        op("get", "/docs", "get_docs", "A page that renders this document (Swagger UI)")
            .ok("200", "HTML", None),
        op("get", "/docs/{file}", "get_docs_asset", "The page's scripts and styles")
            .params(&[path_param("file", "an asset of the page")])
            .ok("200", "the asset", None)
            .err(&["404"]),
        // The current user.
        op("get", "/user", "get_user", "The current user")
            .auth(User("read"))
            .ok("200", "the user", Some(schema_ref("User")))
            .err(&["401", "403"]),
        op("get", "/users", "get_user", "The current user (the old SDK's path)")
            .auth(User("read"))
            .ok("200", "the user", Some(schema_ref("User")))
            .err(&["401", "403"]),
        op("patch", "/user", "update_user", "Change the current user's name or email")
            .auth(User("write"))
            .json_body("UserPatch")
            .ok("200", "the user", Some(schema_ref("User")))
            .err(&["400", "401", "403", "422"]),
        // API Access.
        op("get", "/user/tokens", "list_tokens", "The user's access tokens")
            .auth(User("read"))
            .params(&paging())
            .ok("200", "a page of tokens", Some(array_of("Token")))
            .err(&["400", "401", "403"]),
        op("delete", "/user/tokens", "revoke_all_tokens", "Revoke every token of the user")
            .auth(User("write"))
            .ok("204", "revoked", None)
            .err(&["401", "403"]),
        op("delete", "/user/tokens/{id}", "revoke_token", "Revoke one token")
            .auth(User("write"))
            .params(&[id()])
            .ok("204", "revoked", None)
            .err(&["401", "403", "404"]),
        // Clients.
        op("get", "/user/clients", "list_clients", "The user's API clients")
            .auth(User("read"))
            .params(&paging())
            .ok("200", "a page of clients", Some(array_of("Client")))
            .err(&["400", "401", "403"]),
        op("post", "/user/clients", "create_client", "Register a client")
            .auth(User("write"))
            .json_body("NewClient")
            .ok("201", "the client, with its `secret` shown once", Some(schema_ref("Client")))
            .err(&["400", "401", "403", "422"]),
        op("get", "/user/clients/{client_id}", "get_client", "One client")
            .auth(User("read"))
            .params(&[client_id()])
            .ok("200", "the client", Some(schema_ref("Client")))
            .err(&["401", "403", "404"]),
        op("patch", "/user/clients/{client_id}", "update_client", "Change a client")
            .auth(User("write"))
            .params(&[client_id()])
            .json_body("ClientPatch")
            .ok("200", "the client", Some(schema_ref("Client")))
            .err(&["400", "401", "403", "404", "422"]),
        op("delete", "/user/clients/{client_id}", "delete_client", "Delete a client and its tokens")
            .auth(User("write"))
            .params(&[client_id()])
            .ok("204", "deleted", None)
            .err(&["401", "403", "404"]),
        op("post", "/user/clients/{client_id}/secret", "rotate_client_secret", "A new secret")
            .auth(User("write"))
            .params(&[client_id()])
            .ok("200", "the client with its new `secret`", Some(schema_ref("Client")))
            .err(&["401", "403", "404", "409"]),
        // Administration.
        op("get", "/admin/users", "list_admin_users", "Every account")
            .auth(Admin)
            .params(&paging())
            .ok("200", "a page of accounts", Some(array_of("AdminUser")))
            .err(&["400", "401", "403"]),
        op("post", "/admin/users", "create_admin_user", "Create an account")
            .auth(Admin)
            .json_body("NewUser")
            .ok("201", "the account (with a generated `password` when none was given)", Some(schema_ref("AdminUser")))
            .err(&["400", "401", "403", "409", "422"]),
        op("patch", "/admin/users/{id}", "update_admin_user", "Disable, promote or reset an account")
            .auth(Admin)
            .params(&[id()])
            .json_body("AdminUserPatch")
            .ok("200", "the account", Some(schema_ref("AdminUser")))
            .err(&["400", "401", "403", "404", "409", "422"]),
        op("delete", "/admin/users/{id}", "delete_admin_user", "Delete an account (its vendors stay reserved, its versions tombstoned)")
            .auth(Admin)
            .params(&[id()])
            .ok("204", "deleted", None)
            .err(&["401", "403", "404", "409"]),
        op("get", "/admin/vendors/{vendor}", "get_admin_vendor", "A vendor and its owner")
            .auth(Admin)
            .params(&[vendor()])
            .ok("200", "the vendor (`owner: null` once its account was deleted)", Some(schema_ref("AdminVendor")))
            .err(&["401", "403", "404"]),
        op("patch", "/admin/vendors/{vendor}", "update_admin_vendor", "Give a vendor to another account")
            .auth(Admin)
            .params(&[vendor()])
            .json_body("AdminVendorPatch")
            .ok("200", "the vendor", Some(schema_ref("AdminVendor")))
            .err(&["400", "401", "403", "404", "422"]),
        // OAuth 2.
        op("get", "/oauth/v2/token", "issue_token", "Token request in the query (the documented legacy form)")
            .auth(Client)
            .params(&[
                query_param("grant_type", "`password`, `refresh_token` or `client_credentials` (`authorization_code` must be POSTed)", true),
                query_param("client_id", "the client (or HTTP Basic)", false),
                query_param("client_secret", "the client's secret (or HTTP Basic)", false),
                query_param("username", "password grant", false),
                query_param("password", "password grant", false),
                query_param("refresh_token", "refresh grant", false),
                query_param("scope", "space-separated scopes", false),
            ])
            .ok("200", "the tokens (`Cache-Control: no-store`)", Some(schema_ref("TokenResponse")))
            .oauth_err(),
        op("post", "/oauth/v2/token", "issue_token", "Token request (RFC 6749 §3.2)")
            .auth(Client)
            .body(form_or_query_body("TokenRequest"))
            .ok("200", "the tokens (`Cache-Control: no-store`)", Some(schema_ref("TokenResponse")))
            .oauth_err(),
        op("get", "/oauth/v2/auth", "get_authorization", "Authorization endpoint (RFC 6749 §4.1, PKCE)")
            .params(&[
                query_param("response_type", "`code`", true),
                query_param("client_id", "the client", true),
                query_param("redirect_uri", "one of the client's registered URIs", false),
                query_param("scope", "space-separated scopes", false),
                query_param("state", "echoed to the redirect", false),
                query_param("code_challenge", "PKCE (RFC 7636)", false),
                query_param("code_challenge_method", "`S256`", false),
            ])
            .ok("200", "the sign-in or consent page (HTML)", None)
            .ok("303", "a redirect to the client with a `code` or an `error`", None)
            .ok("400", "an error page (HTML) when the client or redirect URI is wrong, or the query is not UTF-8", None),
        op("post", "/oauth/v2/auth", "submit_authorization", "The sign-in and consent forms")
            .body(json!({ "required": true, "content": { "application/x-www-form-urlencoded": { "schema": { "type": "object" } } } }))
            .ok("200", "the next page (HTML)", None)
            .ok("303", "a redirect to the client", None)
            .ok("400", "an error page (HTML)", None)
            .ok("401", "wrong username or password: the sign-in form again (HTML)", None)
            .ok("403", "the CSRF check failed, or the account is disabled (HTML)", None)
            .ok("429", "too many failed attempts (`Retry-After`; the sign-in form, HTML)", None),
        // The API Access page (HTML for a browser; a session cookie, not a token).
        op("get", "/settings/api", "get_settings", "The API Access page (HTML)")
            .auth(Session)
            .ok("200", "the page with the account's tokens and clients, or the sign-in form without a session", None),
        op("post", "/settings/api/login", "sign_in_settings", "Sign in to the API Access page")
            .auth(Session)
            .body(settings_form(&["username", "password"]))
            .ok("303", "signed in: to `/settings/api`, with the session cookie", None)
            .ok("401", "wrong username or password: the sign-in form again (HTML)", None)
            .ok("403", "the CSRF check failed, or the account is disabled (HTML)", None)
            .ok("429", "too many failed attempts (`Retry-After`; HTML)", None),
        op("post", "/settings/api/logout", "sign_out_settings", "Sign out of the API Access page")
            .auth(Session)
            .body(settings_form(&[]))
            .ok("303", "the session ended: to `/settings/api`", None)
            .ok("403", "the CSRF check failed (HTML)", None),
        op("post", "/settings/api/tokens/{id}/revoke", "revoke_settings_token", "Revoke a token (as `DELETE /user/tokens/{id}`)")
            .auth(Session)
            .params(&[path_param("id", "the token's id")])
            .body(settings_form(&[]))
            .ok("303", "revoked: to `/settings/api`", None)
            .ok("401", "no session: the sign-in form (HTML)", None)
            .ok("403", "the CSRF check failed (HTML)", None)
            .ok("404", "no such token of this account (HTML)", None),
        op("post", "/settings/api/clients", "create_settings_client", "Create a client (as `POST /user/clients`)")
            .auth(Session)
            .body(settings_form(&["name", "redirect_uris", "grant_type", "scope", "confidential"]))
            .ok("201", "the page with the new client's secret, shown once (HTML)", None)
            .ok("401", "no session: the sign-in form (HTML)", None)
            .ok("403", "the CSRF check failed (HTML)", None)
            .ok("422", "invalid registration: the page with the error (HTML)", None),
        op("post", "/settings/api/clients/{client_id}/secret", "rotate_settings_client_secret", "Rotate a client's secret (as `POST /user/clients/{clientId}/secret`)")
            .auth(Session)
            .params(&[path_param("client_id", "the client's id")])
            .body(settings_form(&[]))
            .ok("200", "the page with the new secret, shown once (HTML)", None)
            .ok("401", "no session: the sign-in form (HTML)", None)
            .ok("403", "the CSRF check failed (HTML)", None)
            .ok("404", "no such client of this account (HTML)", None)
            .ok("409", "a public client has no secret (HTML)", None),
        op("post", "/oauth/v2/revoke", "revoke_token", "Token revocation (RFC 7009)")
            .auth(Client)
            .body(form_or_query_body("RevocationRequest"))
            .ok("200", "revoked, or the token was unknown", None)
            .oauth_err(),
        op("post", "/oauth/v2/introspect", "introspect_token", "Token introspection (RFC 7662)")
            .auth(Client)
            .body(form_or_query_body("RevocationRequest"))
            .ok("200", "the token's state", Some(schema_ref("Introspection")))
            .oauth_err(),
        op("get", "/.well-known/oauth-authorization-server", "get_metadata", "Authorization server metadata (RFC 8414)")
            .ok("200", "the metadata", Some(json!({ "type": "object" }))),
        // Projects.
        op("get", "/projects", "list_projects", "The user's projects")
            .auth(User("read"))
            .params(&paging())
            .ok("200", "a page of projects", Some(array_of("Project")))
            .err(&["400", "401", "403"]),
        op("post", "/projects", "create_project", "Create a project")
            .auth(User("write"))
            .json_body("NewProject")
            .ok("201", "the project", Some(schema_ref("Project")))
            .err(&["400", "401", "403", "422"]),
        op("get", "/projects/{id}", "get_project", "One project")
            .auth(User("read"))
            .params(&[id()])
            .ok("200", "the project", Some(schema_ref("Project")))
            .err(&["401", "403", "404"]),
        op("patch", "/projects/{id}", "update_project", "Change a project")
            .auth(User("write"))
            .params(&[id()])
            .json_body("ProjectPatch")
            .ok("200", "the project", Some(schema_ref("Project")))
            .err(&["400", "401", "403", "404", "422"]),
        op("delete", "/projects/{id}", "delete_project", "Delete a project")
            .auth(User("write"))
            .params(&[id()])
            .ok("204", "deleted", None)
            .err(&["401", "403", "404"]),
        op("put", "/projects/{id}/addons/{vendor}/{name}", "bind_addon", "Require an add-on in a project")
            .auth(User("write"))
            .params(&[id(), vendor(), name()])
            .json_body("BindAddon")
            .ok("200", "the project", Some(schema_ref("Project")))
            .err(&["400", "401", "403", "404", "422"]),
        op("delete", "/projects/{id}/addons/{vendor}/{name}", "unbind_addon", "Drop an add-on from a project")
            .auth(User("write"))
            .params(&[id(), vendor(), name()])
            .ok("204", "dropped", None)
            .err(&["401", "403", "404"]),
        // The marketplace.
        op("get", "/packages", "list_packages", "The add-ons the caller may see")
            .auth(Optional)
            .params(&[
                query_param("type", "`extension`, `package`, `theme` or `translation`", false),
                query_param("q", "words in the name or description", false),
            ])
            .params(&paging())
            .ok("200", "a page of add-ons", Some(array_of("Package")))
            .err(&["400"]),
        op("get", "/packages/{vendor}/{name}", "get_package", "An add-on with its versions")
            .auth(Optional)
            .params(&[vendor(), name()])
            .ok("200", "the add-on", Some(schema_ref("Package")))
            .err(&["404"]),
        op("patch", "/packages/{vendor}/{name}", "update_package", "Change an add-on (owner or administrator)")
            .auth(User("write"))
            .params(&[vendor(), name()])
            .json_body("PackagePatch")
            .ok("200", "the add-on", Some(schema_ref("Package")))
            .err(&["400", "401", "403", "404", "422"]),
        op("get", "/packages/{vendor}/{name}/versions/{version}", "get_version", "One version")
            .auth(Optional)
            .params(&[vendor(), name(), version()])
            .ok("200", "the version", Some(schema_ref("PackageVersion")))
            .err(&["404"]),
        op("put", "/packages/{vendor}/{name}/versions/{version}", "publish_version", "Publish a version (a zip body)")
            .auth(User("write"))
            .params(&[
                vendor(), name(), version(),
                json!({ "name": "visibility", "in": "query", "required": false,
                        "description": "`private` makes a new add-on private from its first version; on an existing add-on it must be its current visibility (`409 visibility_mismatch` otherwise)",
                        "schema": { "enum": ["public", "private"] } }),
            ])
            .body(json!({ "required": true, "content": { "application/zip": { "schema": { "type": "string", "contentMediaType": "application/zip" } } } }))
            .ok("201", "the version", Some(schema_ref("PackageVersion")))
            .err(&["400", "401", "403", "404", "409", "413", "415", "422"]),
        op("get", "/packages/{vendor}/{name}/versions/{version}/dist", "download_dist", "The version's zip")
            .auth(Optional)
            .params(&[vendor(), name(), version()])
            .ok("200", "`application/zip`", None)
            .err(&["404"]),
        op("post", "/update-package", "receive_webhook", "GitHub push webhook: sync an add-on")
            .auth(User("write"))
            .body(json!({ "required": true, "content": {
                "application/json": { "schema": { "type": "object" } },
                "application/x-www-form-urlencoded": { "schema": { "type": "object", "properties": { "payload": { "type": "string" } } } } } }))
            .ok("202", "accepted: one job per add-on; a push for an add-on whose sync is still waiting gets that job", Some(json!({
                "type": "object",
                "properties": {
                    "status": { "type": "string" },
                    "jobs": { "type": "array", "items": { "type": "object", "properties": {
                        "id": { "type": "string", "format": "uuid" }, "package": { "type": "string" } } } },
                },
            })))
            .err(&["400", "401", "403", "404", "406"])
            .ok("429", "`sync_queue_full`: too many of the caller's add-ons wait for a sync; nothing was queued and the delivery id was not recorded (`Retry-After`)", Some(schema_ref("Error"))),
        // The Composer repository.
        op("get", "/packages.json", "get_repository", "The Composer v2 repository root")
            .auth(Optional)
            .ok("200", "`packages.json`", Some(json!({ "type": "object" }))),
        op("get", "/p2/{vendor}/{file}", "get_package_metadata", "Composer v2 metadata: `{name}.json` or `{name}~dev.json`")
            .auth(Optional)
            .params(&[vendor(), path_param("file", "`{name}.json` or `{name}~dev.json`")])
            .ok("200", "the versions in Composer's format", Some(json!({ "type": "object" })))
            .err(&["404"]),
    ]
}

/// The security requirement of an operation.
fn security(auth: Auth) -> Option<Value> {
    let token = |scopes: Value| {
        json!([
            { "bearerAuth": scopes.clone() },
            { "accessTokenQuery": scopes },
        ])
    };
    match auth {
        Auth::None => Some(json!([])),
        Auth::User(scope) => Some(token(json!([scope]))),
        Auth::Admin => Some(token(json!(["admin"]))),
        Auth::Optional => {
            let mut options = token(json!(["read"]));
            options.as_array_mut().expect("array").push(json!({}));
            Some(options)
        }
        Auth::Client => Some(json!([{ "clientBasic": [] }, {}])),
        Auth::Session => Some(json!([{ "sessionCookie": [] }, {}])),
    }
}

fn description(op: &Op) -> String {
    match op.auth {
        Auth::None => "No authentication.".to_owned(),
        Auth::User(scope) => format!(
            "Needs an access token with the `{scope}` scope (`write` satisfies `read`) acting for a user: \
             `403 user_token_required` for a client_credentials token, `403 insufficient_scope` without the scope."
        ),
        Auth::Admin => "Needs an access token with the `admin` scope acting for an administrator (`403 forbidden` otherwise).".to_owned(),
        Auth::Optional => "No authentication needed; a user token with `read` also shows the user's private add-ons (an administrator's needs `admin`).".to_owned(),
        Auth::Session => "A browser session: the `harmony_session` cookie (`__Host-harmony_session` under https) set by signing in on the page; every form POST also carries the page's `csrf_token` (`403` without it). No access token.".to_owned(),
        Auth::Client => "Client authentication (RFC 6749 §2.3): HTTP Basic, or `client_id`/`client_secret` parameters (never both). No access token.".to_owned(),
    }
}

/// Builds the document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in operations() {
        let mut responses = Map::new();
        for (status, response) in &op.responses {
            responses.insert((*status).to_owned(), response.clone());
        }
        let mut operation = json!({
            "operationId": op.id,
            "summary": op.summary,
            "description": description(&op),
            "tags": [op.tag],
            "responses": responses,
        });
        if !op.params.is_empty() {
            operation["parameters"] = Value::Array(op.params.clone());
        }
        if let Some(body) = &op.body {
            operation["requestBody"] = body.clone();
        }
        if let Some(security) = security(op.auth) {
            operation["security"] = security;
        }
        let item = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        item[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "HarmonyCMS REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The HarmonyCMS platform API: an OAuth2 authorization server and the resource API behind it. \
                Our own resources use camelCase keys and the error envelope `{\"error\":{\"code\",\"message\",\"status\",\"fields\"}}`; \
                the OAuth endpoints speak RFC 6749/7009/7662/8414. \
                An access token is sent as `Authorization: token T`, `Authorization: Bearer T` or `?access_token=T` (one of them per request).",
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "tags": [
            { "name": "meta", "description": "The map of the API, liveness, monitoring, this document" },
            { "name": "user", "description": "The current user" },
            { "name": "tokens", "description": "API Access: the user's access tokens" },
            { "name": "clients", "description": "The user's API clients" },
            { "name": "admin", "description": "Administration of accounts" },
            { "name": "oauth", "description": "OAuth 2 (RFC 6749, 7009, 7662, 8414, 7636)" },
            { "name": "projects", "description": "Projects and the add-ons they require" },
            { "name": "packages", "description": "The add-on marketplace" },
            { "name": "composer", "description": "The Composer v2 repository" },
            { "name": "settings", "description": "The API Access page for a browser (HTML, session cookie, CSRF-checked forms)" },
        ],
        "paths": paths,
        "components": components(),
    })
}

fn components() -> Value {
    let error_response = |description: &str| {
        json!({ "description": description,
                "content": { "application/json": { "schema": schema_ref("Error") } } })
    };
    let string = json!({ "type": "string" });
    let nullable_string = json!({ "type": ["string", "null"] });
    let date_time = json!({ "type": "string", "format": "date-time" });
    let scopes = json!({ "oneOf": [
        { "type": "array", "items": { "enum": ["read", "write", "admin"] } },
        { "type": "string", "description": "space-separated" } ] });
    let addon_map = json!({ "type": "object", "additionalProperties": {
        "type": "object", "properties": { "version": { "type": "string" } } } });
    let mut components = json!({
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer T`; the documented `Authorization: token T` is the same token under another scheme name, accepted alike (case-insensitive).",
            },
            "accessTokenQuery": {
                "type": "apiKey",
                "in": "query",
                "name": "access_token",
                "description": "`?access_token=T` (the documented form). Never combine it with the header (`400 invalid_request`).",
            },
            "sessionCookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "harmony_session",
                "description": "The browser session of the settings page and the authorization endpoint (`__Host-harmony_session` under an https public URL).",
            },
            "clientBasic": {
                "type": "http",
                "scheme": "basic",
                "description": "Client authentication at the OAuth endpoints: `client_id:client_secret`, form-urlencoded first (RFC 6749 §2.3.1).",
            },
        },
        "parameters": {
            "page": { "name": "page", "in": "query", "required": false,
                      "schema": { "type": "integer", "minimum": 1, "default": 1 } },
            "per_page": { "name": "per_page", "in": "query", "required": false,
                          "description": "capped at 100",
                          "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 30 } },
        },
        "responses": {
            "400": error_response("malformed request (bad JSON, bad paging numbers, more than one token, a query string that is not UTF-8: `invalid_query`)"),
            "401": error_response("no token, or an unknown, expired or revoked one (`WWW-Authenticate: Bearer …`)"),
            "403": error_response("`insufficient_scope`, `user_token_required`, `forbidden` or (publishing) `vendor_owned`"),
            "404": error_response("not found"),
            "406": error_response("the payload is not acceptable"),
            "409": error_response("conflicts with an existing resource (publishing: `conflict`, `version_tombstoned`, `visibility_mismatch`)"),
            "413": error_response("the body is over the limit"),
            "415": error_response("the body is not of the type the operation takes"),
            "422": error_response("well-formed but invalid; `fields` names each problem"),
            "429": error_response("over a rate limit (`Retry-After`)"),
            "OAuthError": { "description": "RFC 6749 §5.2 error",
                            "content": { "application/json": { "schema": schema_ref("OAuthError") } } },
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": { "error": {
                    "type": "object",
                    "required": ["code", "message", "status"],
                    "properties": {
                        "code": { "type": "string", "description": "stable snake_case identifier" },
                        "message": { "type": "string", "description": "for people" },
                        "status": { "type": "integer" },
                        "fields": { "type": "object", "additionalProperties": { "type": "string" },
                                    "description": "on 422: what is wrong with each field" },
                    },
                } },
            },
            "OAuthError": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": { "enum": ["invalid_request", "invalid_client", "invalid_grant",
                        "unauthorized_client", "unsupported_grant_type", "invalid_scope",
                        "unsupported_token_type", "slow_down", "server_error"] },
                    "error_description": string,
                },
            },
            "TokenRequest": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": { "enum": ["password", "refresh_token", "client_credentials", "authorization_code"] },
                    "client_id": string, "client_secret": string,
                    "username": string, "password": string,
                    "refresh_token": string, "scope": string,
                    "code": string, "redirect_uri": string, "code_verifier": string,
                },
            },
            "TokenResponse": {
                "type": "object",
                "description": "In this key order.",
                "required": ["access_token", "expires_in", "token_type", "scope"],
                "properties": {
                    "access_token": string,
                    "expires_in": { "type": "integer", "examples": [3600] },
                    "token_type": { "const": "bearer" },
                    "scope": nullable_string,
                    "refresh_token": string,
                },
            },
            "RevocationRequest": {
                "type": "object",
                "required": ["token"],
                "properties": {
                    "token": string,
                    "token_type_hint": { "enum": ["access_token", "refresh_token"] },
                    "client_id": string, "client_secret": string,
                },
            },
            "Introspection": {
                "type": "object",
                "required": ["active"],
                "properties": {
                    "active": { "type": "boolean" },
                    "scope": string, "client_id": string,
                    "token_type": { "enum": ["bearer", "refresh_token"] },
                    "exp": { "type": "integer" }, "iat": { "type": "integer" },
                    "username": string, "sub": string,
                },
            },
            "TokenStatus": {
                "type": "object",
                "properties": {
                    "status": { "enum": ["authenticated", "anon.", "invalid"] },
                    "username": string, "clientId": string, "scope": string,
                    "expiresAt": date_time,
                },
            },
            "User": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" }, "username": string,
                    "email": string, "name": nullable_string, "createdAt": date_time,
                },
            },
            "UserPatch": {
                "type": "object", "additionalProperties": false,
                "properties": { "name": nullable_string, "email": string },
            },
            "Token": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" },
                    "client": { "type": "object", "properties": { "id": string, "name": string } },
                    "grantType": string, "scope": string,
                    "createdAt": date_time, "expiresAt": date_time,
                    "lastUsedAt": { "type": ["string", "null"], "format": "date-time" },
                    "status": string,
                },
            },
            "Client": {
                "type": "object",
                "properties": {
                    "id": string, "name": string,
                    "redirectUris": { "type": "array", "items": string },
                    "grantTypes": { "type": "array", "items": string },
                    "scopes": { "type": "array", "items": string },
                    "confidential": { "type": "boolean" },
                    "createdAt": date_time,
                    "secret": { "type": "string", "description": "only when created or rotated" },
                },
            },
            "NewClient": {
                "type": "object", "additionalProperties": false, "required": ["name"],
                "properties": {
                    "name": string,
                    "redirectUris": { "type": "array", "items": string },
                    "grantTypes": { "type": "array", "items": string },
                    "scopes": scopes,
                    "confidential": { "type": "boolean", "default": true },
                },
            },
            "ClientPatch": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "name": string,
                    "redirectUris": { "type": "array", "items": string },
                    "grantTypes": { "type": "array", "items": string },
                    "scopes": scopes,
                },
            },
            "AdminUser": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" }, "username": string,
                    "email": string, "name": nullable_string,
                    "isAdmin": { "type": "boolean" }, "disabled": { "type": "boolean" },
                    "createdAt": date_time,
                    "password": { "type": "string", "description": "only when generated" },
                },
            },
            "NewUser": {
                "type": "object", "additionalProperties": false, "required": ["username", "email"],
                "properties": {
                    "username": string, "email": string, "password": nullable_string,
                    "admin": { "type": "boolean", "default": false },
                },
            },
            "AdminUserPatch": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "disabled": { "type": "boolean" }, "admin": { "type": "boolean" },
                    "password": string,
                },
            },
            "Database": {
                "type": "object",
                "required": ["scheme"],
                "properties": {
                    "scheme": string, "host": nullable_string,
                    "port": { "type": ["integer", "null"] }, "name": nullable_string,
                    "user": nullable_string, "pass": nullable_string, "path": nullable_string,
                    "memory": { "type": "boolean" }, "query": nullable_string,
                },
            },
            "Project": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" }, "name": string,
                    "description": nullable_string, "slug": string, "url": nullable_string,
                    "isSecured": { "type": "boolean" },
                    "createdAt": date_time, "updatedAt": date_time,
                    "databases": array_of("Database"),
                    "extensions": addon_map.clone(), "packages": addon_map.clone(),
                    "themes": addon_map.clone(), "translations": addon_map,
                },
            },
            "NewProject": {
                "type": "object", "additionalProperties": false, "required": ["name"],
                "properties": {
                    "name": string, "slug": nullable_string, "description": nullable_string,
                    "url": nullable_string, "databases": array_of("Database"),
                },
            },
            "ProjectPatch": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "name": string, "slug": string, "description": nullable_string,
                    "url": nullable_string, "databases": array_of("Database"),
                },
            },
            "BindAddon": {
                "type": "object", "additionalProperties": false, "required": ["version"],
                "properties": { "version": { "type": "string", "description": "a Composer constraint" } },
            },
            "Package": {
                "type": "object",
                "properties": {
                    "name": string, "type": string, "description": nullable_string,
                    "visibility": { "enum": ["public", "private"] },
                    "repositoryUrl": nullable_string,
                    "hasWebhookSecret": { "type": "boolean", "description": "to the owner and administrators only" },
                    "hasRepositoryCredentials": { "type": "boolean", "description": "to the owner and administrators only" },
                    "owner": { "type": "object", "properties": { "username": string } },
                    "url": string, "createdAt": date_time, "updatedAt": date_time,
                    "versions": array_of("PackageVersion"),
                },
            },
            "PackageVersion": {
                "type": "object",
                "properties": {
                    "name": string, "version": string, "versionNormalized": string,
                    "type": string, "description": nullable_string,
                    "require": { "type": "object", "additionalProperties": string },
                    "shasum": string, "size": { "type": "integer" }, "distUrl": string,
                    "publishedAt": date_time,
                },
            },
            "PackagePatch": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "visibility": { "enum": ["public", "private"] },
                    "description": nullable_string,
                    "repositoryUrl": { "type": ["string", "null"], "maxLength": 1000,
                        "description": "https or http URL of a git repository (ssh, git and local paths where the deployment enables them); no credentials; its host must resolve to public addresses unless the deployment allow-lists it" },
                    "webhookSecret": { "type": ["string", "null"], "writeOnly": true },
                    "repositoryCredentials": { "type": ["string", "null"], "writeOnly": true, "maxLength": 1024,
                        "description": "`username:token` for a private https repository, sent as HTTP Basic authorization; never shown again; dropped when repositoryUrl moves to another scheme, host or port" },
                },
            },
        },
    });
    // Kept apart: one `json!` this large exceeds the macro recursion limit.
    let schemas = &mut components["schemas"];
    schemas["OwnerRef"] = json!({
        "type": "object", "additionalProperties": false, "required": ["type", "name"],
        "properties": {
            "type": { "enum": ["user"], "description": "organizations will be a second kind" },
            "name": { "type": "string", "description": "the username" },
        },
    });
    schemas["AdminVendor"] = json!({
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "owner": { "oneOf": [schema_ref("OwnerRef"), { "type": "null" }] },
            "createdAt": { "type": "string", "format": "date-time" },
        },
    });
    schemas["AdminVendorPatch"] = json!({
        "type": "object", "additionalProperties": false, "required": ["owner"],
        "properties": { "owner": schema_ref("OwnerRef") },
    });
    components
}

/// `GET /openapi.json`: built once per process (it does not depend on the deployment).
pub async fn get_openapi(State(_): State<AppState>) -> Json<&'static Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document))
}
