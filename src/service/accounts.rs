//! Accounts: creating them (the API, the command line, the first start), a user's own
//! profile, and what administrators do — list, change (disable, promote, reset the
//! password), delete. Disabling an account or resetting its password revokes every token it
//! has and ends its browser sessions; deleting it removes everything it owns, except that
//! its vendors stay reserved and its deleted versions leave tombstones.
//!
//! What a front end passes in is text as people typed it; it is parsed here, once, into
//! the domain's values ([`Username`], [`Email`], [`DisplayName`]), and the store sees only
//! those.

use uuid::Uuid;

use super::Services;
use super::clients::{ClientSpec, new_client};
use crate::domain::fields::FieldErrors;
use crate::domain::secret::{PlainSecret, random_id};
use crate::domain::user::{AccountField, DisplayName, Email, Username, validate_password};
use crate::store::oauth::AccountChanges;
use crate::store::{NewUser, Page, StoreError, User, UserChanges, now};

/// The name of the account the first start creates.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Fields are invalid (or already used by another account).
    #[error("{0}")]
    Invalid(FieldErrors<AccountField>),
    /// No account has this id (or the id is malformed).
    #[error("user {0} not found")]
    NotFound(String),
    /// No account has this username.
    #[error("no account named {0:?}")]
    UnknownUsername(String),
    /// An administrator tried to disable or demote their own account (a server keeps an
    /// administrator).
    #[error("you cannot disable or demote your own account")]
    OwnAccountDemoted,
    /// An administrator tried to delete their own account.
    #[error("you cannot delete your own account")]
    OwnAccountDeleted,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn invalid(field: AccountField, message: impl Into<String>) -> AccountError {
    AccountError::Invalid(FieldErrors::one(field, message))
}

/// What creating an account makes.
#[derive(Debug)]
pub struct CreatedUser {
    /// The account.
    pub user: User,
    /// The password, when it was generated.
    pub generated_password: Option<PlainSecret>,
}

/// What a password reset did.
#[derive(Debug)]
pub struct PasswordReset {
    /// The account, as it is now.
    pub user: User,
    /// The new password, when it was generated.
    pub generated_password: Option<PlainSecret>,
    /// How many of its tokens were still live and are now revoked.
    pub tokens_revoked: u64,
}

/// A change to one's own profile; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    /// New display name (`Some(None)` clears it; blank clears it too).
    pub name: Option<Option<String>>,
    /// New email.
    pub email: Option<String>,
}

/// A change an administrator makes to an account; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    /// Disable (`true`) or re-enable (`false`).
    pub disabled: Option<bool>,
    /// Grant or withdraw administration.
    pub admin: Option<bool>,
    /// A new password.
    pub password: Option<String>,
}

/// The credentials the first start prints, once.
#[derive(Debug, serde::Serialize)]
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

/// The accounts service.
pub struct Accounts<'a>(pub(super) &'a Services);

impl Accounts<'_> {
    /// Creates an account; generates a password when none is given.
    pub async fn create_user(
        &self,
        username: &str,
        email: &str,
        password: Option<&str>,
        is_admin: bool,
    ) -> Result<CreatedUser, AccountError> {
        let username = Username::parse(username)
            .map_err(|e| invalid(AccountField::Username, e.to_string()))?;
        let email = Email::parse(email).map_err(|e| invalid(AccountField::Email, e.to_string()))?;
        let generated = password.is_none().then(|| PlainSecret::new(random_id(18)));
        let password = password
            .or(generated.as_ref().map(PlainSecret::expose))
            .unwrap_or("");
        validate_password(password).map_err(|m| invalid(AccountField::Password, m))?;
        let new = NewUser {
            username,
            email,
            name: None,
            password_hash: self.0.hasher().hash(password).await?,
            is_admin,
        };
        let user = self
            .0
            .store()
            .create_user(&new)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => invalid(
                    AccountField::Username,
                    "or email is already used by another account",
                ),
                e => e.into(),
            })?;
        Ok(CreatedUser {
            user,
            generated_password: generated,
        })
    }

    /// The account named `username` (case-insensitive; a text that is no username names
    /// no account).
    pub async fn by_username(&self, username: &str) -> Result<User, AccountError> {
        let unknown = || AccountError::UnknownUsername(username.to_owned());
        let name = Username::parse(username).map_err(|_| unknown())?;
        match self.0.store().user_by_username(&name).await {
            Ok(u) => Ok(u),
            Err(StoreError::NotFound) => Err(unknown()),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the account `username` a new password (generated when none is given), with
    /// the effects of an administrator's password reset: its browser sessions end and
    /// every token it holds is revoked, since a reset usually means the old password may be
    /// known to someone else (the command line, when the first start's banner was lost).
    pub async fn reset_password(
        &self,
        username: &str,
        password: Option<&str>,
    ) -> Result<PasswordReset, AccountError> {
        let user = self.by_username(username).await?;
        let generated = password.is_none().then(|| PlainSecret::new(random_id(18)));
        let password = password
            .or(generated.as_ref().map(PlainSecret::expose))
            .unwrap_or("");
        validate_password(password).map_err(|m| invalid(AccountField::Password, m))?;
        let changes = AccountChanges {
            disabled: None,
            is_admin: None,
            password_hash: Some(self.0.hasher().hash(password).await?),
        };
        let store = self.0.store();
        // The store ends the account's sessions in the same write.
        let user = store.change_account(user.id, &changes).await?;
        let tokens_revoked = store.revoke_user_tokens(user.id, now()).await?;
        Ok(PasswordReset {
            user,
            generated_password: generated,
            tokens_revoked,
        })
    }

    /// Changes `user`'s own name and email (trimmed; a blank name clears it).
    pub async fn update_profile(
        &self,
        user: &User,
        change: ProfileChange,
    ) -> Result<User, AccountError> {
        let mut errors = FieldErrors::new();
        // A blank name clears it.
        let name = match change.name {
            Some(Some(n)) if !n.trim().is_empty() => match DisplayName::parse(&n) {
                Ok(n) => Some(Some(n)),
                Err(e) => {
                    errors.insert(AccountField::Name, e.to_string());
                    None
                }
            },
            Some(_) => Some(None),
            None => None,
        };
        let email = match change.email.as_deref().map(|e| Email::parse(e.trim())) {
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                errors.insert(AccountField::Email, e.to_string());
                None
            }
            None => None,
        };
        errors.into_result().map_err(AccountError::Invalid)?;
        let changes = UserChanges { name, email };
        match self.0.store().update_user(user.id, &changes).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict { .. }) => Err(invalid(
                AccountField::Email,
                "is already used by another account",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A page of every account, oldest first, and their total count.
    pub async fn list(&self, page: Page) -> Result<(Vec<User>, u64), AccountError> {
        Ok(self.0.store().list_users(page).await?)
    }

    /// An administrator's change to the account `id`. `caller` cannot disable or demote
    /// their own account. A new password or disabling revokes every token of the account
    /// (re-enabling it must not bring them back to life).
    pub async fn change(
        &self,
        caller: &User,
        id: &str,
        change: AccountChange,
    ) -> Result<User, AccountError> {
        let uid = user_id(id)?;
        if uid == caller.id && (change.disabled == Some(true) || change.admin == Some(false)) {
            return Err(AccountError::OwnAccountDemoted);
        }
        let password_hash = match &change.password {
            Some(p) => {
                validate_password(p).map_err(|m| invalid(AccountField::Password, m))?;
                Some(self.0.hasher().hash(p).await?)
            }
            None => None,
        };
        let changes = AccountChanges {
            disabled: change.disabled,
            is_admin: change.admin,
            password_hash,
        };
        let store = self.0.store();
        let user = store
            .change_account(uid, &changes)
            .await
            .map_err(|e| not_found(id, e))?;
        if changes.disabled == Some(true) || changes.password_hash.is_some() {
            store.revoke_user_tokens(uid, now()).await?;
        }
        Ok(user)
    }

    /// Deletes the account `id` and everything it owns (clients, tokens, projects, add-ons
    /// with their versions and dist files). What was published stays claimed: each deleted
    /// version leaves a tombstone and the account's vendors stay reserved, owned by nobody.
    /// `caller` cannot delete their own account.
    pub async fn delete(&self, caller: &User, id: &str) -> Result<(), AccountError> {
        let uid = user_id(id)?;
        if uid == caller.id {
            return Err(AccountError::OwnAccountDeleted);
        }
        let store = self.0.store();
        let dists = store.owned_dist_paths(uid).await?;
        store.delete_user(uid).await.map_err(|e| not_found(id, e))?;
        let files = self.0.dists().clone();
        let removed = tokio::task::spawn_blocking(move || {
            for path in &dists {
                files.remove(path);
            }
        })
        .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, "removing a deleted account's dists failed");
        }
        Ok(())
    }

    /// On an empty database, creates the `admin` account and its first client (with every
    /// scope and grant). `None` when the database already has accounts (also when another
    /// node bootstrapped first).
    pub async fn bootstrap(&self) -> Result<Option<Bootstrap>, AccountError> {
        // Constants, parsed like any other value (they cannot fail).
        let constant = |what: &str, e: &dyn std::fmt::Display| {
            AccountError::Unexpected(anyhow::anyhow!("the first start's {what} is invalid: {e}"))
        };
        let username = Username::parse(BOOTSTRAP_ADMIN).map_err(|e| constant("username", &e))?;
        let email = Email::parse("admin@localhost").map_err(|e| constant("email", &e))?;
        let name = DisplayName::parse("Administrator").map_err(|e| constant("name", &e))?;
        let store = self.0.store();
        if store.user_by_username(&username).await.is_ok() {
            return Ok(None);
        }
        let password = PlainSecret::new(random_id(18));
        let admin = NewUser {
            username,
            email,
            name: Some(name),
            password_hash: self.0.hasher().hash(password.expose()).await?,
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
        let (client, secret) = new_client(&placeholder, &spec)
            .map_err(|e| anyhow::anyhow!("the first client is invalid: {e}"))?;
        let secret = secret.expect("a confidential client has a secret");
        match store.bootstrap(&admin, &client).await {
            Ok(true) => Ok(Some(Bootstrap {
                username: admin.username.into_string(),
                password: password.expose().to_owned(),
                client_id: client.id,
                client_secret: secret.expose().to_owned(),
            })),
            Ok(false) | Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// An account id from a path: a malformed one is an unknown account.
fn user_id(id: &str) -> Result<Uuid, AccountError> {
    Uuid::parse_str(id).map_err(|_| AccountError::NotFound(id.to_owned()))
}

fn not_found(id: &str, e: StoreError) -> AccountError {
    match e {
        StoreError::NotFound => AccountError::NotFound(id.to_owned()),
        e => e.into(),
    }
}
