//! `GET /metrics`, `GET /openapi.json` and `GET /docs`.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, header, oauth_error};

/// The metrics text, checked for its content type.
async fn metrics(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        header(&response, "content-type").starts_with("text/plain; version=0.0.4"),
        "{}",
        header(&response, "content-type")
    );
    response.text().await.unwrap()
}

/// The value of the sample whose line starts with `name{` and has every one of `labels`.
fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_a_request_under_its_route_template_not_its_raw_id() {
    let app = TestApp::spawn().await;
    let account = app.account("metrics-route").await;
    let token = app.access_token(&account).await;
    let id = uuid::Uuid::new_v4().to_string();
    let response = app
        .http
        .delete(app.url(&format!("/user/tokens/{id}")))
        .header("Authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/no-such-page-xyzzy").await.status(),
        StatusCode::NOT_FOUND
    );
    for _ in 0..2 {
        app.get("/ping").await;
    }
    let refused = app
        .http
        .get(app.url("/user"))
        .header("Authorization", "token hat_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let body = metrics(&app).await;
    // Routes outside the authenticated API are tagged too (the token request above).
    assert!(
        sample(
            &body,
            "http_request_duration_seconds_count",
            &[("route", "/oauth/v2/token")]
        )
        .is_some_and(|n| n >= 1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "http_requests_total",
            &[("method", "GET"), ("route", "/user"), ("status", "401")]
        ),
        Some(1.0)
    );
    let labels = [
        ("method", "DELETE"),
        ("route", "/user/tokens/{id}"),
        ("status", "404"),
    ];
    assert_eq!(sample(&body, "http_requests_total", &labels), Some(1.0));
    assert_eq!(
        sample(
            &body,
            "http_requests_total",
            &[("method", "GET"), ("route", "/ping"), ("status", "200")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &body,
            "http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "http_request_duration_seconds_count",
            &[("route", "/user/tokens/{id}")]
        ),
        Some(1.0)
    );
    assert!(body.contains("http_request_duration_seconds_bucket{"));
    assert!(!body.contains(&id), "the raw id is a label:\n{body}");
    assert!(!body.contains("xyzzy"), "the raw path is a label:\n{body}");
}

#[tokio::test]
async fn metrics_count_tokens_issued_by_grant_type_and_refusals_by_error() {
    let app = TestApp::spawn().await;
    let account = app.account("metrics-grants").await;
    let tokens = app.token_json(&account).await;
    let refreshed = app
        .refresh(&account, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let wrong = app
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", &account.client_id),
            ("client_secret", &account.client_secret),
            ("username", account.user.username.as_str()),
            ("password", "not the password"),
        ])
        .await;
    assert_eq!(oauth_error(wrong).await, "invalid_grant");
    let unknown = app
        .post_token(&[
            ("grant_type", "telepathy"),
            ("client_id", &account.client_id),
        ])
        .await;
    assert_eq!(oauth_error(unknown).await, "unsupported_grant_type");

    let body = metrics(&app).await;
    let issued = |grant| sample(&body, "oauth_tokens_issued_total", &[("grant_type", grant)]);
    assert_eq!(issued("password"), Some(1.0));
    assert_eq!(issued("refresh_token"), Some(1.0));
    assert_eq!(issued("client_credentials"), Some(0.0));
    let errors = |error| sample(&body, "oauth_token_errors_total", &[("error", error)]);
    assert_eq!(errors("invalid_grant"), Some(1.0));
    assert_eq!(errors("unsupported_grant_type"), Some(1.0));
    assert!(!body.contains("telepathy"));
    // Two password checks ran (the good one and the bad one) and none is left running.
    assert!(sample(&body, "password_hashes_total", &[]).unwrap() >= 2.0);
    assert_eq!(sample(&body, "password_hashes_in_flight", &[]), Some(0.0));
    assert!(body.contains("# TYPE http_requests_total counter"));
    assert!(body.contains("# TYPE http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn the_metrics_body_never_contains_a_token_or_secret_even_after_requests_carried_them_in_the_query()
 {
    let app = TestApp::spawn().await;
    let account = app.account("metrics-secret-holder").await;
    let tokens = app.token_json(&account).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for path in [
        format!("/user?access_token={access}"),
        format!("/token/status?token={access}"),
        format!("/projects?access_token={access}&page=1"),
        format!("/no/such/{access}?access_token={access}"),
        format!("/user/tokens/{access}?access_token={access}"),
        format!(
            "/oauth/v2/token?grant_type=refresh_token&refresh_token={refresh}&client_id={}&client_secret={}",
            account.client_id, account.client_secret
        ),
    ] {
        app.get(&path).await;
    }
    app.http
        .request(
            Method::from_bytes(format!("X{}", &access[4..20]).as_bytes()).unwrap(),
            app.url(&format!("/user?access_token={access}")),
        )
        .send()
        .await
        .unwrap();

    let body = metrics(&app).await;
    for secret in [
        access.as_str(),
        &access[4..20],
        refresh.as_str(),
        account.client_secret.as_str(),
        account.password.as_str(),
        "metrics-secret-holder",
    ] {
        assert!(!body.contains(secret), "{secret} in\n{body}");
    }
    assert!(body.contains("method=\"other\""), "{body}");
}

#[tokio::test]
async fn metrics_need_no_token_and_sit_outside_the_rate_limits() {
    let app = TestApp::spawn_with(|c| c.limits.rate_limit_anonymous = 1).await;
    for _ in 0..3 {
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("x-ratelimit-remaining").is_none());
        assert_eq!(header(&response, "cache-control"), "no-cache, private");
    }
    let response = app.http.post(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), "GET");
}

#[tokio::test]
async fn two_apps_in_one_process_keep_their_own_metrics() {
    let one = TestApp::spawn().await;
    let two = TestApp::spawn().await;
    for _ in 0..3 {
        one.get("/ping").await;
    }
    let route = [("route", "/ping")];
    assert_eq!(
        sample(&metrics(&one).await, "http_requests_total", &route),
        Some(3.0)
    );
    assert_eq!(
        sample(&metrics(&two).await, "http_requests_total", &route),
        None
    );
}

async fn openapi(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").starts_with("application/json"));
    response.json().await.expect("openapi.json is JSON")
}

#[tokio::test]
async fn openapi_json_is_an_openapi_3_1_document_that_declares_the_security_schemes() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(doc["info"]["title"], "HarmonyCMS REST API");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["accessTokenQuery"]["type"], "apiKey");
    assert_eq!(schemes["accessTokenQuery"]["in"], "query");
    assert_eq!(schemes["accessTokenQuery"]["name"], "access_token");
    assert_eq!(schemes["tokenHeader"]["type"], "apiKey");
    assert_eq!(schemes["tokenHeader"]["in"], "header");
    assert_eq!(schemes["tokenHeader"]["name"], "Authorization");
    assert_eq!(schemes["tokenBasic"]["scheme"], "basic");
    assert_eq!(schemes["clientBasic"]["type"], "http");
    assert_eq!(schemes["clientBasic"]["scheme"], "basic");

    let paths = &doc["paths"];
    let list_tokens = &paths["/user/tokens"]["get"];
    assert_eq!(list_tokens["operationId"], "list_tokens");
    assert_eq!(
        list_tokens["security"][0]["bearerAuth"],
        serde_json::json!(["read"])
    );
    assert_eq!(
        paths["/user/clients"]["post"]["operationId"],
        "create_client"
    );
    assert_eq!(
        paths["/user/clients"]["post"]["security"][1]["accessTokenQuery"],
        serde_json::json!(["write"])
    );
    assert_eq!(
        paths["/admin/users"]["get"]["security"][0]["bearerAuth"],
        serde_json::json!(["admin"])
    );
    assert_eq!(
        paths["/oauth/v2/token"]["post"]["security"][0]["clientBasic"],
        serde_json::json!([])
    );
    assert_eq!(paths["/ping"]["get"]["security"], serde_json::json!([]));

    // Every $ref points at a component that exists.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let pointer = r.strip_prefix('#').expect("local ref");
        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
    }
    // Our envelope and the RFC 6749 error are described.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Error"]["properties"]["error"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    assert!(schemas["ErrorBody"]["properties"]["fields"].is_object());
    assert_eq!(
        schemas["TokenResponse"]["required"],
        serde_json::json!(["access_token", "expires_in", "token_type", "scope"])
    );
    assert!(schemas["OAuthError"]["properties"]["error_description"].is_object());

    // The conventions hold: an ETag that answers 304, no-cache.
    let response = app.get("/openapi.json").await;
    assert_eq!(header(&response, "cache-control"), "no-cache, private");
    let etag = header(&response, "etag");
    let again = app
        .http
        .get(app.url("/openapi.json"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

/// One `#[utoipa::path(METHOD, path = "…", …)]` annotation and the handler it is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Annotated {
    path: String,
    method: String,
    handler: String,
}

/// The Rust sources under `src/`, by file.
fn sources() -> Vec<(std::path::PathBuf, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out
}

/// Every handler annotation in the sources: the method and path it declares, and the name
/// of the function it is on.
fn annotated_handlers() -> BTreeSet<Annotated> {
    let mut out = BTreeSet::new();
    for (file, text) in sources() {
        // Attributes only: the text at the start of a line (documentation may quote one).
        let starts = text
            .match_indices("#[utoipa::path(")
            .filter(|(i, _)| text[..*i].rsplit('\n').next().unwrap().trim().is_empty());
        for (i, _) in starts {
            let rest = &text[i + "#[utoipa::path(".len()..];
            let method: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            let fn_at = rest.find("fn ").expect("a function after the annotation");
            let attribute = &rest[..fn_at];
            let path_at = attribute
                .find("path = \"")
                .unwrap_or_else(|| panic!("{}: an annotation without a path", file.display()));
            let path = &attribute[path_at + "path = \"".len()..];
            let path = &path[..path.find('"').unwrap()];
            let handler: String = rest[fn_at + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(Annotated {
                path: path.to_owned(),
                method,
                handler,
            });
        }
    }
    out
}

#[tokio::test]
async fn openapi_json_documents_every_route_under_its_handlers_name() {
    // No route is registered around the document: every router is fed by `routes!`, which
    // serves a handler at the path and methods of its annotation and documents it in one
    // step, and nothing registers a route, a service or a nested router directly.
    for (file, text) in sources() {
        for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            assert!(
                !text.contains(call),
                "{} registers a route with `{call}`, outside the OpenAPI document",
                file.display()
            );
        }
    }

    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let paths = doc["paths"].as_object().unwrap();

    // The document's operations are exactly the annotated handlers, each under its own
    // name, and no two share an id.
    let mut documented = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} appears twice");
            documented.insert(Annotated {
                path: path.clone(),
                method: method.clone(),
                handler: id.to_owned(),
            });
        }
    }
    let annotated = annotated_handlers();
    assert!(
        annotated.len() > 50,
        "the annotation scan found {annotated:?}"
    );
    assert_eq!(
        documented.difference(&annotated).collect::<Vec<_>>(),
        Vec::<&Annotated>::new(),
        "documented, but no handler of that name is annotated so"
    );
    assert_eq!(
        annotated.difference(&documented).collect::<Vec<_>>(),
        Vec::<&Annotated>::new(),
        "annotated, but not in the served document (or under another id)"
    );

    // The running router allows exactly the documented methods on each documented path.
    for (path, item) in paths {
        let documented: BTreeSet<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let response = app
            .http
            .request(Method::OPTIONS, app.url(&concrete))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "OPTIONS {path}");
        let allowed: BTreeSet<String> = header(&response, "allow")
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        assert_eq!(allowed, documented, "methods of {path}");
    }

    // The ids that once were shared are each their own now.
    let id = |path: &str, method: &str| paths[path][method]["operationId"].clone();
    assert_eq!(id("/user", "get"), "get_user");
    assert_eq!(id("/users", "get"), "get_users");
    assert_eq!(id("/user/tokens/{id}", "delete"), "revoke_token");
    assert_eq!(id("/oauth/v2/revoke", "post"), "revoke_oauth_token");
    assert_eq!(id("/oauth/v2/token", "get"), "get_token");
    assert_eq!(id("/oauth/v2/token", "post"), "create_token");
}

/// The statuses an operation documents.
fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn every_operation_documents_the_answers_its_extractors_give() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let listed = statuses(op);
            let missing = |wanted: &[&str]| -> Vec<String> {
                wanted
                    .iter()
                    .filter(|s| !listed.contains(**s))
                    .map(|s| s.to_string())
                    .collect()
            };
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let takes_token = security.iter().any(|r| r.get("bearerAuth").is_some());
            let token_optional = security.iter().any(|r| r == &serde_json::json!({}));
            // Behind the token middleware: a query that is not UTF-8 or a token presented
            // twice (400), the request rate limit (429); a token, if required or if
            // presented and bad (401), or lacking the scope (403).
            if takes_token {
                let wanted = ["400", "401", "403", "429"];
                assert_eq!(missing(&wanted), Vec::<String>::new(), "{method} {path}");
                checked += 1;
            }
            if takes_token && !token_optional {
                assert!(listed.contains("401"), "{method} {path}");
            }
            // A JSON body: bad JSON (400), too large (413), not JSON (415), invalid (422).
            if op["requestBody"]["content"]
                .get("application/json")
                .is_some()
                && takes_token
                && path != "/update-package"
            {
                let wanted = ["400", "413", "415", "422"];
                assert_eq!(missing(&wanted), Vec::<String>::new(), "{method} {path}");
            }
        }
    }
    assert!(checked > 30, "{checked} operations take a token");

    // And the server gives them: the body of PATCH /user without its type is 415, a
    // misspelt field 422, both as documented.
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let patch = |content_type: &'static str, body: &'static str| {
        app.http
            .patch(app.url("/user"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
    };
    let r = patch("text/plain", "{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = patch("application/json", "{\"nmae\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed = statuses(&doc["paths"]["/user"]["patch"]);
    assert!(
        listed.contains("415") && listed.contains("422"),
        "{listed:?}"
    );
}

#[tokio::test]
async fn the_documented_paging_bounds_are_what_the_server_accepts() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;

    // Every paged operation documents both numbers as whole numbers from 0 to 2^32 - 1.
    let mut paged = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["name"] == "page" || param["name"] == "per_page" {
                    let schema = &param["schema"];
                    assert_eq!(schema["type"], "integer", "{method} {path}");
                    assert_eq!(schema["minimum"], 0, "{method} {path} {param}");
                    assert_eq!(schema["maximum"], u32::MAX, "{method} {path} {param}");
                    paged += 1;
                }
            }
        }
    }
    assert_eq!(paged, 12, "page and per_page of the six lists");

    // The server accepts exactly that: 0 and the largest numbers (a larger per_page is
    // capped at 100), and refuses what lies outside.
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for (i, name) in ["a", "b"].iter().enumerate() {
        let body = serde_json::json!({ "name": format!("{name}{i}") });
        let r = app
            .http
            .post(app.url("/projects"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let page = async |query: &str| {
        app.get_with_token(&format!("/projects?{query}"), &token)
            .await
    };
    let r = page("page=0&per_page=101").await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: Vec<Value> = r.json().await.unwrap();
    assert_eq!(list.len(), 2, "page 0 is page 1");
    let r = page("per_page=1&page=4294967295").await;
    assert_eq!(r.status(), StatusCode::OK);
    let link = header(&r, "link");
    assert!(link.contains("rel=\"first\""), "{link}");
    let r = page("per_page=4294967295").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = page("per_page=150&page=2").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Vec<Value>>().await.unwrap().is_empty());
    for bad in [
        "page=-1",
        "per_page=-1",
        "page=4294967296",
        "per_page=4294967296",
        "page=x",
    ] {
        let r = page(bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_paging", "{bad}");
    }
}

#[tokio::test]
async fn docs_answer_an_html_page_that_loads_nothing_from_another_host() {
    let app = TestApp::spawn().await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "an absolute URL in the page:\n{html}"
    );

    // Every script and style it names is served here.
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let url = &rest[..rest.find('"').unwrap()];
            if url != "docs/" {
                assets.push(url.trim_start_matches("./").to_owned());
            }
        }
    }
    assert!(
        assets.iter().any(|a| a.ends_with(".js")),
        "no script in {html}"
    );
    // Every one is served, with a type the document lists for the assets.
    let doc = openapi(&app).await;
    let documented = doc["paths"]["/docs/{file}"]["get"]["responses"]["200"]["content"]
        .as_object()
        .unwrap()
        .clone();
    for asset in &assets {
        let response = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let content_type = header(&response, "content-type");
        let media_type = content_type.split(';').next().unwrap().trim();
        assert!(
            documented.contains_key(media_type),
            "{asset} is {content_type}, the document lists {:?}",
            documented.keys().collect::<Vec<_>>()
        );
    }
    let init = app.get("/docs/swagger-initializer.js").await;
    assert!(init.text().await.unwrap().contains("../openapi.json"));

    let missing = app.get("/docs/no-such-file.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let response = app.http.delete(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), "GET");
}

#[tokio::test]
async fn the_root_endpoint_links_the_metrics_the_document_and_its_page() {
    let app = TestApp::spawn().await;
    let root: Value = app.get("/").await.json().await.unwrap();
    assert_eq!(root["metricsUrl"], app.url("/metrics"));
    assert_eq!(root["openapiUrl"], app.url("/openapi.json"));
    assert_eq!(root["docsUrl"], app.url("/docs"));
}

#[tokio::test]
async fn docs_never_call_another_host_and_refuse_framing() {
    use base64::Engine as _;
    use sha2::{Digest as _, Sha256};

    let app = TestApp::spawn().await;
    let page = app.get("/docs").await;
    let csp = header(&page, "content-security-policy");
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    // Only this server (and data: images, the stylesheet's icons): no host, no wildcard,
    // no inline script.
    for forbidden in ["http:", "https:", "*", "unsafe-inline", "unsafe-eval"] {
        assert!(!csp.contains(forbidden), "{forbidden} in {csp}");
    }

    // The UI's validator (which posts this server's URL to validator.swagger.io) is off.
    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(header(&init, "content-security-policy"), csp);
    let init = init.text().await.unwrap();
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");

    // Every asset carries the same headers, and every <style> element the scripts create
    // is allowed by its hash (the page renders as designed under the policy).
    let html = page.text().await.unwrap();
    let mut styles = 0;
    for (i, _) in html.match_indices("src=\"") {
        let rest = &html[i + 5..];
        let asset = rest[..rest.find('"').unwrap()].trim_start_matches("./");
        let response = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{asset}");
        assert_eq!(header(&response, "content-security-policy"), csp, "{asset}");
        let script = response.text().await.unwrap();
        let marker = "createElement(\"style\",null,\"";
        for (j, _) in script.match_indices(marker) {
            let text = &script[j + marker.len()..];
            let text = &text[..text.find('"').unwrap()];
            let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text));
            assert!(
                csp.contains(&format!("'sha256-{hash}'")),
                "{text} in {asset}"
            );
            styles += 1;
        }
    }
    assert!(styles > 0, "the logo's style element was not found");
    let css = app.get("/docs/swagger-ui.css").await;
    assert_eq!(header(&css, "content-security-policy"), csp);
}
