//! The test harness: a real server bound on port 0 over a fresh database (a temporary
//! SQLite file, or a fresh PostgreSQL database when `HARMONY_TEST_DATABASE=postgres` and
//! `HARMONY_TEST_POSTGRES_URL` are set), and typed helpers that speak HTTP to it.

use std::sync::Arc;

use harmony::config::ServeConfig;
use harmony::service::clients::ClientSpec;
use harmony::startup::Application;
use harmony::state::AppState;
use harmony::store::User;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The server's state (store, configuration) for setting up fixtures directly.
    pub state: AppState,
    /// The database URL (for the command-line tests).
    pub database_url: String,
    _dir: Arc<tempfile::TempDir>,
}

/// An account with its own confidential client.
#[derive(Clone)]
pub struct Account {
    pub user: User,
    pub password: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery";

async fn fresh_database(dir: &tempfile::TempDir) -> String {
    if std::env::var("HARMONY_TEST_DATABASE").as_deref() == Ok("postgres") {
        let admin_url = std::env::var("HARMONY_TEST_POSTGRES_URL")
            .expect("HARMONY_TEST_POSTGRES_URL must be set for HARMONY_TEST_DATABASE=postgres");
        let name = format!("harmony_test_{}", uuid::Uuid::new_v4().simple());
        use sqlx::Executor as _;
        let pool = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create the test database");
        pool.close().await;
        let (base, _) = admin_url.rsplit_once('/').expect("URL has a database");
        format!("{base}/{name}")
    } else {
        format!("sqlite://{}", dir.path().join("harmony.db").display())
    }
}

impl TestApp {
    /// A server with the default configuration (but cheap password hashing).
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose configuration `tune` adjusts first.
    pub async fn spawn_with(tune: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(&dir).await;
        Self::start(Arc::new(dir), database_url, tune).await
    }

    /// A server over a fresh database that `prepare` (given its URL) fills first, before
    /// the server migrates it: data written under an earlier schema.
    pub async fn spawn_over<F, Fut>(prepare: F) -> TestApp
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(&dir).await;
        prepare(database_url.clone()).await;
        Self::start(Arc::new(dir), database_url, |_| {}).await
    }

    /// Another server (another node) on this one's database and data folder, configured
    /// by `tune`: what one node stores, the other sees.
    pub async fn spawn_on(&self, tune: impl FnOnce(&mut ServeConfig)) -> TestApp {
        Self::start(self._dir.clone(), self.database_url.clone(), tune).await
    }

    async fn start(
        dir: Arc<tempfile::TempDir>,
        database_url: String,
        tune: impl FnOnce(&mut ServeConfig),
    ) -> TestApp {
        let mut config = ServeConfig::for_database(&database_url);
        // Any free port: tests run side by side.
        config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        // Tests exercise the logic, not argon2's cost; one test checks the real defaults.
        config.hashing.argon2_memory_kib = 1024;
        config.hashing.argon2_iterations = 1;
        config.database.db_max_connections = Some(4);
        config.packages.data_dir = dir.path().join("data");
        tune(&mut config);
        let app = Application::build(config).await.expect("build the app");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        tokio::spawn(app.run_until(std::future::pending()));
        TestApp {
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            state,
            database_url,
            _dir: dir,
        }
    }

    /// Rows in a table of the database (what the API does not show).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        if self.database_url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        } else {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }

    /// Runs one SQL statement on the database (a fixture the API cannot make, such as a
    /// rotation that happened a minute ago); answers the rows it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.database_url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
            let done = sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
            done.rows_affected()
        } else {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            let done = sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
            done.rows_affected()
        }
    }

    /// An absolute URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates an account with [`PASSWORD`] and a confidential client of its own.
    pub async fn account(&self, username: &str) -> Account {
        self.account_with(username, false, ClientSpec::default())
            .await
    }

    /// Creates an account and a client registered as `spec` says.
    pub async fn account_with(&self, username: &str, is_admin: bool, spec: ClientSpec) -> Account {
        let created = self
            .state
            .services
            .accounts()
            .create_user(
                username,
                &format!("{username}@example.com"),
                Some(PASSWORD),
                is_admin,
            )
            .await
            .expect("create user");
        let spec = ClientSpec {
            name: if spec.name.is_empty() {
                format!("{username}'s client")
            } else {
                spec.name
            },
            ..spec
        };
        let client = self
            .state
            .services
            .clients()
            .create_for(username, &spec)
            .await
            .expect("create client");
        Account {
            user: created.user,
            password: PASSWORD.to_owned(),
            client_id: client.client.id,
            client_secret: client
                .secret
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
        }
    }

    /// The documented request: `GET /oauth/v2/token?client_id=…&grant_type=password…`.
    pub async fn get_token(&self, account: &Account) -> Response {
        self.http
            .get(self.url("/oauth/v2/token"))
            .query(&[
                ("client_id", account.client_id.as_str()),
                ("client_secret", account.client_secret.as_str()),
                ("grant_type", "password"),
                ("username", account.user.username.as_str()),
                ("password", account.password.as_str()),
            ])
            .send()
            .await
            .expect("request")
    }

    /// A token answer, parsed, for a request that must succeed.
    pub async fn token_json(&self, account: &Account) -> Value {
        let response = self.get_token(account).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    /// A fresh access token for `account`.
    pub async fn access_token(&self, account: &Account) -> String {
        self.token_json(account).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `POST /oauth/v2/token`: the password grant for `account` through its client, asking
    /// for `scope`.
    pub async fn password_grant_with_scope(&self, account: &Account, scope: &str) -> Response {
        self.post_token(&[
            ("grant_type", "password"),
            ("username", account.user.username.as_str()),
            ("password", account.password.as_str()),
            ("client_id", account.client_id.as_str()),
            ("client_secret", account.client_secret.as_str()),
            ("scope", scope),
        ])
        .await
    }

    /// A fresh access token for `account` with `scope` (a request that must succeed).
    pub async fn scoped_token(&self, account: &Account, scope: &str) -> String {
        let response = self.password_grant_with_scope(account, scope).await;
        assert_eq!(response.status(), StatusCode::OK, "scope {scope}");
        let body: Value = response.json().await.expect("json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `POST /oauth/v2/token` with a form.
    pub async fn post_token(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/oauth/v2/token"))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// `POST /oauth/v2/token` with a form, the client authenticated by HTTP Basic as
    /// `id:secret`.
    pub async fn post_token_basic(
        &self,
        id: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> Response {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.http
            .post(self.url("/oauth/v2/token"))
            .header("Authorization", format!("Basic {basic}"))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// `GET /user/tokens` (first page), parsed.
    pub async fn list_tokens(&self, token: &str) -> Vec<Value> {
        self.get_with_token("/user/tokens", token)
            .await
            .json()
            .await
            .expect("a JSON list")
    }

    /// `DELETE path` with a bearer token.
    pub async fn delete_with_token(&self, path: &str, token: &str) -> Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// A refresh grant with the client's parameters.
    pub async fn refresh(&self, account: &Account, refresh_token: &str) -> Response {
        self.post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &account.client_id),
            ("client_secret", &account.client_secret),
        ])
        .await
    }

    /// `GET path` with `Authorization: token T`.
    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.http
            .get(self.url(path))
            .header("Authorization", format!("token {token}"))
            .send()
            .await
            .expect("request")
    }

    /// `GET /user` with a token.
    pub async fn get_user(&self, token: &str) -> Response {
        self.get_with_token("/user", token).await
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }
}

/// The `error.code` of an envelope.
pub async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.expect("json error body");
    body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned()
}

/// The RFC 6749 `error` of an OAuth error body.
pub async fn oauth_error(response: Response) -> String {
    let body: Value = response.json().await.expect("json error body");
    body["error"].as_str().expect("error").to_owned()
}

/// The `error` object of an envelope that must come with `status` and `code`: its
/// `message` and, for `validation_failed`, its `fields`.
pub async fn refusal(response: Response, status: StatusCode, code: &str) -> Value {
    let got = response.status();
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"].clone()
}

/// The `fields` of a `422 validation_failed`, each with its message.
pub async fn invalid_fields(response: Response) -> serde_json::Map<String, Value> {
    let error = refusal(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    error["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("no fields in {error}"))
        .clone()
}

/// The message of field `name` in `fields` (which must name it).
pub fn field_message<'a>(fields: &'a serde_json::Map<String, Value>, name: &str) -> &'a str {
    fields
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

/// A header as a string.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii header")
        .to_owned()
}

/// Polls `check` every 20 ms until it is true and answers how long that took; fails,
/// naming `what` did not happen, once `bound` has passed. Only for what another process
/// changes, which this one can see only by asking again (a revocation written by another
/// node or by the command line reaches a server within its auth cache's bound).
pub async fn within<F, Fut>(
    what: &str,
    bound: std::time::Duration,
    mut check: F,
) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < bound,
            "{what}: not within {bound:?} (polled every 20 ms)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A static file server on `127.0.0.1` (git's dumb HTTP protocol needs nothing more than
/// files: a bare repository after `git update-server-info`), or a server that redirects
/// every request elsewhere. It counts the requests it receives; it stops when dropped.
pub struct FileServer {
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    hits: Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    /// Serves the files under `root`.
    pub async fn serve(root: std::path::PathBuf) -> FileServer {
        Self::start(move |path| {
            let root = root.clone();
            async move {
                use axum::response::IntoResponse as _;
                if path.split('/').any(|c| c == "..") {
                    return StatusCode::NOT_FOUND.into_response();
                }
                match tokio::fs::read(root.join(path.trim_start_matches('/'))).await {
                    Ok(bytes) => bytes.into_response(),
                    Err(_) => StatusCode::NOT_FOUND.into_response(),
                }
            }
        })
        .await
    }

    /// Answers every request with `302` to `base` + the request's path.
    pub async fn redirect_to(base: String) -> FileServer {
        Self::start(move |path| {
            let to = format!("{base}{path}");
            async move {
                use axum::response::IntoResponse as _;
                (StatusCode::FOUND, [(reqwest::header::LOCATION, to)]).into_response()
            }
        })
        .await
    }

    async fn start<F, Fut>(answer: F) -> FileServer
    where
        F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = axum::response::Response> + Send + 'static,
    {
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        let router = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            answer(uri.path().to_owned())
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FileServer { addr, hits, task }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server on `127.0.0.1` that accepts connections and never answers (an unreachable
/// repository, as a client sees one that times out). It holds the connections until
/// dropped.
pub struct SilentServer {
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    connected: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    /// Starts listening.
    pub async fn start() -> SilentServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let connected = Arc::new(tokio::sync::Notify::new());
        let (counted, told) = (Arc::clone(&accepted), Arc::clone(&connected));
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                told.notify_waiters();
                held.push(stream);
            }
        });
        SilentServer {
            addr,
            accepted,
            connected,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until a first connection was accepted, failing after `bound`.
    pub async fn first_connection(&self, bound: std::time::Duration) {
        let first = async {
            loop {
                // Registered before the count is read, so that no connection is missed.
                let next = self.connected.notified();
                tokio::pin!(next);
                next.as_mut().enable();
                if self.accepted() > 0 {
                    return;
                }
                next.await;
            }
        };
        tokio::time::timeout(bound, first)
            .await
            .unwrap_or_else(|_| panic!("nothing connected to {} within {bound:?}", self.addr));
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
