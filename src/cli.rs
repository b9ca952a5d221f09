//! The command line (`docs/api.md` §6): `serve`, `migrate`, `user create`,
//! `user reset-password`, `client create`, `token list` and `token revoke`. Every
//! subcommand prints JSON with `--json`; failures end with a non-zero status and one line
//! on stderr (see `main.rs`).

use std::io::Read as _;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use uuid::Uuid;

use crate::admin::{self, ClientSpec};
use crate::config::{DatabaseConfig, HashingConfig, LogConfig, ServeConfig};
use crate::domain::password::PasswordHasher;
use crate::http::tokens::token_status;
use crate::http::user::rfc3339;
use crate::startup::{Application, shutdown_signal};
use crate::store::{self, Page, Store, StoreError};

/// `harmony` — the HarmonyCMS REST API server.
#[derive(Debug, Parser)]
#[command(name = "harmony", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,

    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,

    /// Logging.
    #[command(flatten)]
    pub log: LogConfig,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the API.
    Serve(Box<ServeConfig>),
    /// Apply the database migrations and exit.
    Migrate(DatabaseConfig),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Inspect and revoke tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `harmony user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints it (and the generated password when none was given).
    Create(UserCreate),
    /// Give an account a new password, ending its browser sessions and revoking its tokens.
    ///
    /// For when the first start's banner was lost, or a password leaked. Prints the
    /// generated password once, unless one is read with --password-stdin.
    ResetPassword(UserResetPassword),
}

/// `harmony user create`.
#[derive(Debug, Args)]
pub struct UserCreate {
    /// The username.
    pub username: String,
    /// The email address.
    #[arg(long)]
    pub email: String,
    /// Make the account an administrator.
    #[arg(long)]
    pub admin: bool,
    /// Read the password from standard input (one trailing newline is dropped).
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    hashing: HashingConfig,
}

/// `harmony user reset-password`.
#[derive(Debug, Args)]
pub struct UserResetPassword {
    /// The username.
    pub username: String,
    /// Read the new password from standard input (one trailing newline is dropped).
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    hashing: HashingConfig,
}

/// `harmony client …`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an OAuth client; prints client_id and client_secret.
    Create(ClientCreate),
}

/// `harmony client create`.
#[derive(Debug, Args)]
pub struct ClientCreate {
    /// The account that owns the client.
    #[arg(long)]
    pub owner: String,
    /// The client's name.
    #[arg(long)]
    pub name: String,
    /// A grant type it may use (repeatable: authorization_code, password, refresh_token,
    /// client_credentials; default: authorization_code when a redirect URI is given,
    /// password, refresh_token and, for confidential clients, client_credentials).
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// A scope it may ask for (repeatable; default: read, write).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// A redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A public client: no secret.
    #[arg(long)]
    pub public: bool,
    /// Let the client sign in any user with the password grant, not only its owner.
    #[arg(long)]
    pub trusted: bool,
    #[command(flatten)]
    database: DatabaseConfig,
}

/// `harmony token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List an account's tokens (the ids of `GET /user/tokens`).
    List {
        /// The account.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Revoke a token and every token of its grant.
    Revoke {
        /// The token id.
        id: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

async fn open(database: &DatabaseConfig) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let store = store::connect(database).await?;
    store.migrate().await?;
    Ok(store)
}

fn print(json_mode: bool, value: serde_json::Value, text: String) {
    if json_mode {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let json_mode = cli.json;
    match cli.command {
        Command::Serve(config) => serve(*config, json_mode).await,
        Command::Migrate(database) => {
            open(&database).await?;
            print(
                json_mode,
                json!({"migrated": true}),
                "migrations applied".into(),
            );
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => user_create(args, json_mode).await,
        Command::User(UserCommand::ResetPassword(args)) => reset_password(args, json_mode).await,
        Command::Client(ClientCommand::Create(args)) => client_create(args, json_mode).await,
        Command::Token(TokenCommand::List { user, database }) => {
            token_list(&database, &user, json_mode).await
        }
        Command::Token(TokenCommand::Revoke { id, database }) => {
            let store = open(&database).await?;
            let id = Uuid::parse_str(&id).map_err(|_| anyhow::anyhow!("no token {id}"))?;
            let record = match store.token_record(id).await {
                Ok(r) => r,
                Err(StoreError::NotFound) => anyhow::bail!("no token {id}"),
                Err(e) => return Err(e.into()),
            };
            store.revoke_family(record.family_id, store::now()).await?;
            print(
                json_mode,
                json!({"revoked": id.to_string()}),
                format!("revoked {id}"),
            );
            Ok(())
        }
    }
}

async fn serve(config: ServeConfig, json_mode: bool) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let state = app.state().clone();
    if let Some(boot) = admin::bootstrap(state.store.as_ref(), &state.hasher).await? {
        let curl = format!(
            "curl '{}?client_id={}&client_secret={}&grant_type=password&username={}&password={}'",
            state.url("/oauth/v2/token"),
            boot.client_id,
            boot.client_secret,
            boot.username,
            boot.password
        );
        let text = format!(
            "HarmonyCMS API: first start. Created the administrator and its API client.\n\
             These credentials are shown only this once; store them now.\n\n\
             \x20 username:      {}\n  password:      {}\n  client_id:     {}\n  client_secret: {}\n\n\
             Get a token:\n\n  {curl}\n",
            boot.username, boot.password, boot.client_id, boot.client_secret
        );
        let mut value = serde_json::to_value(&boot)?;
        value["curl"] = json!(curl);
        print(json_mode, value, text);
    }
    tracing::info!(address = %app.local_addr(), url = %state.public_url, "harmony is listening");
    app.run_until(shutdown_signal()).await
}

async fn user_create(args: UserCreate, json_mode: bool) -> anyhow::Result<()> {
    let password = args.password_stdin.then(password_from_stdin).transpose()?;
    let store = open(&args.database).await?;
    let hasher = PasswordHasher::new(&args.hashing)?;
    let created = admin::create_user(
        store.as_ref(),
        &hasher,
        &args.username,
        &args.email,
        password.as_deref(),
        args.admin,
    )
    .await?;
    let u = &created.user;
    let mut value = json!({
        "id": u.id.to_string(),
        "username": u.username,
        "email": u.email,
        "name": u.name,
        "admin": u.is_admin,
        "createdAt": rfc3339(u.created_at),
    });
    let mut text = format!("created user {} ({})", u.username, u.id);
    if let Some(p) = &created.generated_password {
        value["password"] = json!(p.expose());
        text.push_str(&format!("\npassword: {}", p.expose()));
    }
    print(json_mode, value, text);
    Ok(())
}

/// The password on standard input, without one trailing newline (`\n` or `\r\n`).
fn password_from_stdin() -> std::io::Result<String> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let end = input
        .strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .map_or(input.len(), str::len);
    input.truncate(end);
    Ok(input)
}

async fn reset_password(args: UserResetPassword, json_mode: bool) -> anyhow::Result<()> {
    let password = args.password_stdin.then(password_from_stdin).transpose()?;
    let store = open(&args.database).await?;
    let hasher = PasswordHasher::new(&args.hashing)?;
    let reset =
        admin::reset_password(store.as_ref(), &hasher, &args.username, password.as_deref()).await?;
    let u = &reset.user;
    let mut value = json!({
        "id": u.id.to_string(),
        "username": u.username,
        "tokensRevoked": reset.tokens_revoked,
    });
    let mut text = format!(
        "new password set for {}; its browser sessions ended and {} token(s) were revoked",
        u.username, reset.tokens_revoked
    );
    if let Some(p) = &reset.generated_password {
        value["password"] = json!(p.expose());
        text.push_str(&format!("\npassword: {}", p.expose()));
    }
    print(json_mode, value, text);
    Ok(())
}

async fn client_create(args: ClientCreate, json_mode: bool) -> anyhow::Result<()> {
    let store = open(&args.database).await?;
    let spec = ClientSpec {
        name: args.name,
        grant_types: args.grant_types,
        scopes: args.scopes,
        redirect_uris: args.redirect_uris,
        public: args.public,
        trusted: args.trusted,
    };
    let created = admin::create_client(store.as_ref(), &args.owner, &spec).await?;
    let secret = created.secret.as_ref().map(|s| s.expose().to_owned());
    let value = json!({ "client_id": created.client.id, "client_secret": secret });
    let text = match &secret {
        Some(s) => format!("client_id: {}\nclient_secret: {s}", created.client.id),
        None => format!(
            "client_id: {}\n(public client: no secret)",
            created.client.id
        ),
    };
    print(json_mode, value, text);
    Ok(())
}

async fn token_list(
    database: &DatabaseConfig,
    username: &str,
    json_mode: bool,
) -> anyhow::Result<()> {
    let store = open(database).await?;
    let user = match store.user_by_username(username).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => anyhow::bail!("no account named {username:?}"),
        Err(e) => return Err(e.into()),
    };
    let now = store::now();
    let mut all = Vec::new();
    let mut page = Page {
        number: 1,
        size: 100,
    };
    loop {
        let (records, total) = store.list_user_tokens(user.id, page).await?;
        let done = records.is_empty() || u64::from(page.number) * 100 >= total;
        all.extend(records);
        if done {
            break;
        }
        page.number += 1;
    }
    let views: Vec<_> = all
        .iter()
        .map(|r| crate::http::tokens::TokenView::new(r, now))
        .collect();
    let text = all
        .iter()
        .map(|r| {
            format!(
                "{}  {:<8} {:<18} {:<12} {}",
                r.id,
                token_status(r.revoked_at, r.expires_at, now),
                r.grant_type.as_str(),
                r.scope.to_string(),
                r.client_name
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    print(json_mode, serde_json::to_value(&views)?, text);
    Ok(())
}
