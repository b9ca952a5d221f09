//! Operations shared by the command line, the first-start bootstrap and the tests:
//! creating accounts and clients with every check the API applies.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::client::{
    default_grant_types, validate_client_name, validate_grant_types, validate_redirect_uri,
};
use crate::domain::password::PasswordHasher;
use crate::domain::secret::{PlainSecret, random_id};
use crate::domain::user::{validate_email, validate_password, validate_username};
use crate::domain::{GrantType, Scope, ScopeSet};
use crate::store::oauth::AccountChanges;
use crate::store::{Client, NewClient, NewUser, Store, StoreError, User};

/// The name of the account the first start creates.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// A failure of an administrative operation, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// An argument is invalid.
    #[error("{0}")]
    Invalid(String),
    /// One field of a request is invalid (the API answers 422 with `fields`).
    #[error("{field} {message}")]
    Field {
        /// The field, as the API names it (`redirectUris`).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Something the operation needs does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What `user create` makes.
#[derive(Debug)]
pub struct CreatedUser {
    /// The account.
    pub user: User,
    /// The password, when it was generated.
    pub generated_password: Option<PlainSecret>,
}

/// Creates an account; generates a password when none is given.
pub async fn create_user(
    store: &dyn Store,
    hasher: &PasswordHasher,
    username: &str,
    email: &str,
    password: Option<&str>,
    is_admin: bool,
) -> Result<CreatedUser, AdminError> {
    validate_username(username).map_err(|m| field("username", m))?;
    validate_email(email).map_err(|m| field("email", m))?;
    let generated = password.is_none().then(|| PlainSecret::new(random_id(18)));
    let password = password
        .or(generated.as_ref().map(PlainSecret::expose))
        .unwrap_or("");
    validate_password(password).map_err(|m| field("password", m))?;
    let new = NewUser {
        username: username.to_owned(),
        email: email.to_owned(),
        name: None,
        password_hash: hasher.hash(password).await?,
        is_admin,
    };
    let user = store.create_user(&new).await.map_err(|e| match e {
        StoreError::Conflict { .. } => {
            field("username", "or email is already used by another account")
        }
        e => e.into(),
    })?;
    Ok(CreatedUser {
        user,
        generated_password: generated,
    })
}

/// What `user reset-password` did.
#[derive(Debug)]
pub struct PasswordReset {
    /// The account, as it is now.
    pub user: User,
    /// The new password, when it was generated.
    pub generated_password: Option<PlainSecret>,
    /// How many of its tokens were still live and are now revoked.
    pub tokens_revoked: u64,
}

/// Gives the account `username` a new password (generated when none is given), with the
/// effects of an administrator's password reset through the API: its browser sessions
/// end and every token it holds is revoked, since a reset usually means the old password
/// may be known to someone else.
pub async fn reset_password(
    store: &dyn Store,
    hasher: &PasswordHasher,
    username: &str,
    password: Option<&str>,
) -> Result<PasswordReset, AdminError> {
    let user = match store.user_by_username(username).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => {
            return Err(AdminError::NotFound(format!(
                "no account named {username:?}"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let generated = password.is_none().then(|| PlainSecret::new(random_id(18)));
    let password = password
        .or(generated.as_ref().map(PlainSecret::expose))
        .unwrap_or("");
    validate_password(password).map_err(|m| field("password", m))?;
    let changes = AccountChanges {
        disabled: None,
        is_admin: None,
        password_hash: Some(hasher.hash(password).await?),
    };
    // The store ends the account's sessions in the same write.
    let user = store.change_account(user.id, &changes).await?;
    let tokens_revoked = store
        .revoke_user_tokens(user.id, crate::store::now())
        .await?;
    Ok(PasswordReset {
        user,
        generated_password: generated,
        tokens_revoked,
    })
}

/// What to register.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    /// Name shown to people.
    pub name: String,
    /// Grant type names (none: the defaults for the client's kind).
    pub grant_types: Vec<String>,
    /// Scope names (none: `read write`).
    pub scopes: Vec<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// A public client has no secret.
    pub public: bool,
    /// May sign in any user with the password grant.
    pub trusted: bool,
}

/// A registered client and its secret, shown once.
#[derive(Debug)]
pub struct CreatedClient {
    /// The client.
    pub client: Client,
    /// The secret (confidential clients).
    pub secret: Option<PlainSecret>,
}

fn field(field: &'static str, message: impl Into<String>) -> AdminError {
    AdminError::Field {
        field,
        message: message.into(),
    }
}

/// A client's validated settings.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Grants.
    pub grant_types: Vec<GrantType>,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
}

/// Checks a client's settings as a whole (the API's create and change, the command line):
/// known grant types that fit the kind of client, known scopes (`admin` only for an
/// administrator's client), valid redirect URIs. No grant types: the defaults; no scopes:
/// `read write`.
pub fn client_settings(
    owner: &User,
    confidential: bool,
    grant_types: &[String],
    scopes: &[String],
    redirect_uris: &[String],
) -> Result<ClientSettings, AdminError> {
    for uri in redirect_uris {
        validate_redirect_uri(uri).map_err(|m| field("redirectUris", format!("{uri:?} {m}")))?;
    }
    let grant_types = if grant_types.is_empty() {
        default_grant_types(confidential, !redirect_uris.is_empty())
    } else {
        let mut parsed = Vec::new();
        for g in grant_types {
            let g = GrantType::parse(g)
                .ok_or_else(|| field("grantTypes", format!("has an unknown grant type {g:?}")))?;
            if !parsed.contains(&g) {
                parsed.push(g);
            }
        }
        parsed
    };
    validate_grant_types(&grant_types, confidential, redirect_uris)
        .map_err(|m| field("grantTypes", m))?;
    let scopes = if scopes.is_empty() {
        ScopeSet::of(&[Scope::Read, Scope::Write])
    } else {
        ScopeSet::parse(&scopes.join(" ")).map_err(|e| field("scopes", e.to_string()))?
    };
    if scopes.is_empty() {
        return Err(field("scopes", "must name at least one scope"));
    }
    if scopes.contains(Scope::Admin) && !owner.is_admin {
        return Err(field(
            "scopes",
            "may include admin only for an administrator's client",
        ));
    }
    Ok(ClientSettings {
        grant_types,
        scopes,
        redirect_uris: redirect_uris.to_vec(),
    })
}

/// Validates a registration and turns it into a row to store (with a fresh id and
/// secret); shared by the API, the command line and the bootstrap.
pub fn new_client(
    owner: &User,
    spec: &ClientSpec,
) -> Result<(NewClient, Option<PlainSecret>), AdminError> {
    validate_client_name(&spec.name).map_err(|m| field("name", m))?;
    let confidential = !spec.public;
    let settings = client_settings(
        owner,
        confidential,
        &spec.grant_types,
        &spec.scopes,
        &spec.redirect_uris,
    )?;
    let secret = confidential.then(new_client_secret);
    let row = NewClient {
        id: random_id(16),
        owner_id: owner.id,
        name: spec.name.trim().to_owned(),
        secret_digest: secret.as_ref().map(PlainSecret::digest),
        redirect_uris: settings.redirect_uris,
        grant_types: settings.grant_types,
        scopes: settings.scopes,
        trusted: spec.trusted,
    };
    Ok((row, secret))
}

/// A fresh client secret (`hcs_` + 256 bits).
pub fn new_client_secret() -> PlainSecret {
    PlainSecret::generate("hcs_", 32)
}

/// Registers a client for the account `owner`.
pub async fn create_client(
    store: &dyn Store,
    owner: &str,
    spec: &ClientSpec,
) -> Result<CreatedClient, AdminError> {
    let owner = match store.user_by_username(owner).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => {
            return Err(AdminError::NotFound(format!("no account named {owner:?}")));
        }
        Err(e) => return Err(e.into()),
    };
    let (row, secret) = new_client(&owner, spec)?;
    let client = store.create_client(&row).await?;
    Ok(CreatedClient { client, secret })
}

/// The credentials the first start prints, once.
#[derive(Debug, Serialize)]
pub struct Bootstrap {
    /// The administrator's username.
    pub username: String,
    /// Its generated password.
    pub password: String,
    /// The first client's id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

/// On an empty database, creates the `admin` account and its first client (with every
/// scope and grant). Returns `None` when the database already has accounts.
pub async fn bootstrap(
    store: &dyn Store,
    hasher: &PasswordHasher,
) -> Result<Option<Bootstrap>, AdminError> {
    if store.user_by_username(BOOTSTRAP_ADMIN).await.is_ok() {
        return Ok(None);
    }
    let password = PlainSecret::new(random_id(18));
    let admin = NewUser {
        username: BOOTSTRAP_ADMIN.to_owned(),
        email: "admin@localhost".to_owned(),
        name: Some("Administrator".to_owned()),
        password_hash: hasher.hash(password.expose()).await?,
        is_admin: true,
    };
    // The owner id is filled in by the store once the account exists.
    let placeholder = User {
        id: Uuid::nil(),
        username: admin.username.clone(),
        email: admin.email.clone(),
        name: admin.name.clone(),
        is_admin: true,
        disabled: false,
        created_at: 0,
    };
    let spec = ClientSpec {
        name: "HarmonyCMS API client".to_owned(),
        scopes: vec!["read".into(), "write".into(), "admin".into()],
        ..ClientSpec::default()
    };
    let (client, secret) = new_client(&placeholder, &spec)?;
    let secret = secret.expect("a confidential client has a secret");
    match store.bootstrap(&admin, &client).await {
        Ok(true) => Ok(Some(Bootstrap {
            username: admin.username,
            password: password.expose().to_owned(),
            client_id: client.id,
            client_secret: secret.expose().to_owned(),
        })),
        // Another node bootstrapped first.
        Ok(false) | Err(StoreError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
