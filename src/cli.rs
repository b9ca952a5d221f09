//! The command line (`docs/api.md` §6): `serve`, `migrate`, `user create`,
//! `user reset-password`, `client create`, `token list` and `token revoke`. Every
//! subcommand prints JSON with `--json`; failures end with a non-zero status and one line
//! on stderr (see `main.rs`).
//!
//! A front end like the JSON API: the administrative subcommands build the services over
//! the database and call them, and print their own presentation. `serve` is startup's
//! (`startup::serve`); this module only parses it and prints the first start's banner.

use std::io::Read as _;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::json;

use crate::config::{DatabaseConfig, HashingConfig, LogConfig, ServeConfig};
use crate::domain::time::rfc3339;
use crate::domain::tokens::TokenStatus;
use crate::service::Services;
use crate::service::accounts::Bootstrap;
use crate::service::clients::ClientSpec;
use crate::service::password::PasswordHasher;
use crate::service::tokens::TokenError;
use crate::store::{self, Store, TokenRecord};

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
    /// The administrative subcommands.
    #[command(flatten)]
    Manage(ManageCommand),
}

/// The subcommands that manage the database and exit ([`run`]).
#[derive(Debug, Subcommand)]
pub enum ManageCommand {
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
    /// Manage the keys that sign ID tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `harmony keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate new signing keys (ES256 and RS256); they sign from now on, on every node.
    ///
    /// The keys they replace stay in the JWKS until the tokens they signed have expired.
    /// Prints the new keys' ids.
    Rotate(DatabaseConfig),
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

/// The services over the migrated database, hashing passwords as `hashing` says.
async fn services(database: &DatabaseConfig, hashing: &HashingConfig) -> anyhow::Result<Services> {
    let store = open(database).await?;
    let mut config = ServeConfig::for_database(database.url.clone());
    config.database = database.clone();
    config.hashing = hashing.clone();
    let hasher = PasswordHasher::new(&config.hashing)?;
    Ok(Services::new(store, hasher, &config))
}

fn print(json_mode: bool, value: serde_json::Value, text: String) {
    if json_mode {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

/// Runs an administrative subcommand; `json_mode` prints JSON.
pub async fn run(command: ManageCommand, json_mode: bool) -> anyhow::Result<()> {
    match command {
        ManageCommand::Migrate(database) => {
            open(&database).await?;
            print(
                json_mode,
                json!({"migrated": true}),
                "migrations applied".into(),
            );
            Ok(())
        }
        ManageCommand::User(UserCommand::Create(args)) => user_create(args, json_mode).await,
        ManageCommand::User(UserCommand::ResetPassword(args)) => {
            reset_password(args, json_mode).await
        }
        ManageCommand::Client(ClientCommand::Create(args)) => client_create(args, json_mode).await,
        ManageCommand::Token(TokenCommand::List { user, database }) => {
            token_list(&database, &user, json_mode).await
        }
        ManageCommand::Keys(KeysCommand::Rotate(database)) => {
            let services = services(&database, &HashingConfig::default()).await?;
            // A rotation on a database that never served has nothing to replace yet.
            services.keys().ensure().await?;
            let rotated = services.keys().rotate().await?;
            let value: serde_json::Map<String, serde_json::Value> = rotated
                .iter()
                .map(|(alg, kid)| (alg.as_str().to_owned(), json!(kid)))
                .collect();
            let text = rotated
                .iter()
                .map(|(alg, kid)| format!("{}: {kid}", alg.as_str()))
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!({ "rotated": value }), text);
            Ok(())
        }
        ManageCommand::Token(TokenCommand::Revoke { id, database }) => {
            let services = services(&database, &HashingConfig::default()).await?;
            let id = match services.tokens().revoke_any(&id).await {
                Ok(id) => id,
                Err(TokenError::NotFound(_)) => anyhow::bail!("no token {id}"),
                Err(e) => return Err(e.into()),
            };
            print(
                json_mode,
                json!({"revoked": id.to_string()}),
                format!("revoked {id}"),
            );
            Ok(())
        }
    }
}

/// Prints the credentials the first start created, once (`token_url`: where to get a
/// token with them).
pub fn print_first_start(boot: &Bootstrap, token_url: &str, json_mode: bool) -> anyhow::Result<()> {
    let curl = format!(
        "curl '{token_url}?client_id={}&client_secret={}&grant_type=password&username={}&password={}'",
        boot.client_id, boot.client_secret, boot.username, boot.password
    );
    let text = format!(
        "HarmonyCMS API: first start. Created the administrator and its API client.\n\
         These credentials are shown only this once; store them now.\n\n\
         \x20 username:      {}\n  password:      {}\n  client_id:     {}\n  client_secret: {}\n\n\
         Get a token:\n\n  {curl}\n",
        boot.username, boot.password, boot.client_id, boot.client_secret
    );
    let mut value = serde_json::to_value(boot)?;
    value["curl"] = json!(curl);
    print(json_mode, value, text);
    Ok(())
}

async fn user_create(args: UserCreate, json_mode: bool) -> anyhow::Result<()> {
    let password = args.password_stdin.then(password_from_stdin).transpose()?;
    let services = services(&args.database, &args.hashing).await?;
    let created = services
        .accounts()
        .create_user(&args.username, &args.email, password.as_deref(), args.admin)
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
    let services = services(&args.database, &args.hashing).await?;
    let reset = services
        .accounts()
        .reset_password(&args.username, password.as_deref())
        .await?;
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
    let services = services(&args.database, &HashingConfig::default()).await?;
    let spec = ClientSpec {
        name: args.name,
        grant_types: args.grant_types,
        scopes: args.scopes,
        redirect_uris: args.redirect_uris,
        public: args.public,
        trusted: args.trusted,
        id_token_signed_response_alg: None,
        post_logout_redirect_uris: Vec::new(),
        require_par: false,
    };
    let created = services.clients().create_for(&args.owner, &spec).await?;
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
    let services = services(database, &HashingConfig::default()).await?;
    let user = services.accounts().by_username(username).await?;
    let records = services.tokens().list_all(&user).await?;
    let now = store::now();
    let views: Vec<TokenLine> = records.iter().map(|r| TokenLine::new(r, now)).collect();
    let text = views
        .iter()
        .map(|t| {
            format!(
                "{}  {:<8} {:<18} {:<12} {}",
                t.id, t.status, t.grant_type, t.scope, t.client.name
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    print(json_mode, serde_json::to_value(&views)?, text);
    Ok(())
}

/// A token as `token list` prints it (`--json`: the fields of `GET /user/tokens`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenLine {
    id: String,
    client: TokenClient,
    grant_type: &'static str,
    scope: String,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
    status: &'static str,
}

#[derive(Serialize)]
struct TokenClient {
    id: String,
    name: String,
}

impl TokenLine {
    fn new(r: &TokenRecord, now: store::Timestamp) -> TokenLine {
        TokenLine {
            id: r.id.to_string(),
            client: TokenClient {
                id: r.client_id.clone(),
                name: r.client_name.to_string(),
            },
            grant_type: r.grant_type.as_str(),
            scope: r.scope.to_string(),
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            last_used_at: r.last_used_at.map(rfc3339),
            status: TokenStatus::of(r.revoked_at, r.expires_at, now).as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// The binary's command line, with the `HARMONY_*` variables of the test's process
    /// ignored.
    fn command() -> clap::Command {
        fn without_env(command: clap::Command) -> clap::Command {
            command
                .mut_args(|arg| arg.env(None))
                .mut_subcommands(without_env)
        }
        without_env(Cli::command())
    }

    fn parse(args: &[&str]) -> Cli {
        let matches = command().try_get_matches_from(args).unwrap();
        Cli::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn for_database_is_what_serve_with_only_a_database_parses_to() {
        let url = "postgres://harmony@db.example/harmony";
        let Command::Serve(parsed) = parse(&["harmony", "serve", "--database", url]).command else {
            panic!("serve parses as serve");
        };
        assert_eq!(*parsed, ServeConfig::for_database(url));
    }

    #[test]
    fn closed_settings_refuse_other_words() {
        use crate::config::{LogFormat, SqliteSynchronous};
        use crate::domain::outbound::Transport;
        let cli = parse(&[
            "harmony",
            "--log-format",
            "json",
            "serve",
            "--sqlite-synchronous",
            "full",
            "--git-protocols",
            "https,ssh",
        ]);
        assert_eq!(cli.log.format, LogFormat::Json);
        let Command::Serve(serve) = cli.command else {
            panic!("serve parses as serve");
        };
        assert_eq!(serve.database.sqlite_synchronous, SqliteSynchronous::Full);
        assert_eq!(
            serve.packages.git_protocols,
            [Transport::Https, Transport::Ssh]
        );
        for args in [
            &["harmony", "--log-format", "xml", "migrate"][..],
            &["harmony", "serve", "--sqlite-synchronous", "off"],
            &["harmony", "serve", "--git-protocols", "https,ftp"],
        ] {
            let refused = command().try_get_matches_from(args);
            let error = refused.expect_err(&format!("{args:?} is refused"));
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::InvalidValue,
                "{args:?}"
            );
        }
    }
}
