//! A scripted browser for the authorization endpoint: a reqwest client with a cookie
//! store that does not follow redirects, helpers that read the forms of the sign-in and
//! consent pages, PKCE pairs, and third-party-app fixtures.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harmony::domain::secret::random_id;
use harmony::service::clients::ClientSpec;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use crate::helpers::{Account, TestApp, header};

/// The redirect URI every test app registers.
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random_id(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// A browser: cookies kept, redirects not followed; it remembers the origin it last
/// visited, against which the pages' forms (whose actions are paths) are sent.
pub struct Browser {
    pub http: reqwest::Client,
    origin: std::sync::Mutex<String>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            origin: std::sync::Mutex::new(String::new()),
        }
    }

    pub async fn get(&self, url: &str) -> Response {
        let parsed = Url::parse(url).expect("an absolute URL");
        *self.origin.lock().unwrap() = parsed.origin().ascii_serialization();
        self.http.get(url).send().await.expect("request")
    }

    /// `path` (a form's action) on the origin last visited.
    pub fn resolve(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.origin.lock().unwrap())
        } else {
            path.to_owned()
        }
    }

    /// Submits the page's form with its CSRF token plus `fields`.
    pub async fn submit(&self, page: &str, fields: &[(&str, &str)]) -> Response {
        let mut form = vec![("csrf_token", input_value(page, "csrf_token"))];
        form.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        self.http
            .post(self.resolve(&form_action(page)))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// Submits the sign-in form on `page` as `username` with `password`.
    pub async fn sign_in(&self, page: &str, username: &str, password: &str) -> Response {
        self.submit(
            page,
            &[
                ("action", "login"),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }
}

/// The `value` of the input named `name`.
pub fn input_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name} in {page}"))
        + marker.len();
    let end = page[start..].find('"').expect("closing quote") + start;
    page[start..end].to_owned()
}

/// The form's `action`, unescaped.
pub fn form_action(page: &str) -> String {
    let marker = "action=\"";
    let start = page.find(marker).expect("a form") + marker.len();
    let end = page[start..].find('"').expect("closing quote") + start;
    page[start..end].replace("&amp;", "&")
}

/// An account whose client may use the code flow (confidential unless `public`).
pub async fn code_client(app: &TestApp, username: &str, public: bool) -> Account {
    app.account_with(
        username,
        false,
        ClientSpec {
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            redirect_uris: vec![REDIRECT.into()],
            public,
            ..ClientSpec::default()
        },
    )
    .await
}

/// The authorization URL for `client_id` with PKCE S256, plus `extra` parameters.
pub fn authorize_url(
    app: &TestApp,
    client_id: &str,
    pkce: &Pkce,
    extra: &[(&str, &str)],
) -> String {
    let mut url = Url::parse(&app.url("/oauth/v2/auth")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    url.into()
}

/// The query parameters of a redirect's `Location`, checking that it goes to `REDIRECT`.
pub fn redirect_params(response: &Response) -> Vec<(String, String)> {
    assert!(
        response.status() == StatusCode::FOUND || response.status() == StatusCode::SEE_OTHER,
        "a redirect, got {}",
        response.status()
    );
    let location = Url::parse(&header(response, "location")).expect("absolute location");
    assert_eq!(
        format!(
            "{}{}",
            location.origin().ascii_serialization(),
            location.path()
        ),
        REDIRECT
    );
    location.query_pairs().into_owned().collect()
}

/// One parameter of a redirect.
pub fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Signs in as `account` and approves: returns the redirect carrying the code.
pub async fn sign_in_and_approve(browser: &Browser, url: &str, account: &Account) -> Response {
    let page = browser.get(url).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Sign in"), "{page}");
    let consent = browser
        .sign_in(&page, account.user.username.as_str(), &account.password)
        .await;
    assert_eq!(consent.status(), StatusCode::OK);
    let consent = consent.text().await.unwrap();
    assert!(consent.contains("Authorize"), "{consent}");
    browser.submit(&consent, &[("action", "approve")]).await
}

/// Opens `url` and signs in as `account`: the text of the page that follows (the consent page).
pub async fn consent_page(browser: &Browser, url: &str, account: &Account) -> String {
    let page = browser.get(url).await.text().await.unwrap();
    browser
        .sign_in(&page, account.user.username.as_str(), &account.password)
        .await
        .text()
        .await
        .unwrap()
}

/// A whole flow up to the code: sign in, approve, read the code from the redirect.
pub async fn obtain_code(app: &TestApp, account: &Account, pkce: &Pkce) -> String {
    let browser = Browser::new();
    let url = authorize_url(app, &account.client_id, pkce, &[("state", "xyz")]);
    let response = sign_in_and_approve(&browser, &url, account).await;
    let params = redirect_params(&response);
    param(&params, "code").expect("a code")
}

/// Exchanges a code at the token endpoint with the client's credentials.
pub async fn exchange(app: &TestApp, account: &Account, code: &str, verifier: &str) -> Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", account.client_id.as_str()),
    ];
    if !account.client_secret.is_empty() {
        form.push(("client_secret", account.client_secret.as_str()));
    }
    app.post_token(&form).await
}

/// A code exchanged for tokens (must succeed).
pub async fn code_tokens(app: &TestApp, account: &Account) -> Value {
    let pkce = Pkce::new();
    let code = obtain_code(app, account, &pkce).await;
    let response = exchange(app, account, &code, &pkce.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Runs SQL against the test database directly (to age a code, for instance).
pub async fn execute_sql(app: &TestApp, sql: &str) {
    use sqlx::Executor as _;
    if app.database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        pool.execute(sqlx::AssertSqlSafe(sql.to_owned()))
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        pool.execute(sqlx::AssertSqlSafe(sql.to_owned()))
            .await
            .unwrap();
        pool.close().await;
    }
}
