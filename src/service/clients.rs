//! OAuth clients of an account or of an organization: registration (the API, the console,
//! the command line, the first start), changes, deletion and secret rotation. An
//! organization's clients are managed by its owners (and administrators), checked on every
//! call, so that a removed or demoted owner loses access at once. A client's settings are
//! always checked as a whole: known grant types that fit the kind of client, known scopes
//! (`admin` only for an administrator's client), valid redirect URIs. Names and redirect
//! URIs arrive as text and are parsed here, once ([`ClientName`], [`RedirectUri`]); a
//! change keeps the values already stored as they are.

use super::Services;
use crate::domain::client::{
    ClientField, ClientName, MAX_SECRET_GRACE, RedirectUri, default_grant_types,
    validate_grant_types,
};
use crate::domain::fields::FieldErrors;
use crate::domain::jose::SigningAlg;
use crate::domain::org::{OrgName, Role};
use crate::domain::secret::{PlainSecret, random_id};
use crate::domain::user::Username;
use crate::domain::{GrantType, Scope, ScopeSet};
use crate::store::oauth::ClientChanges;
use crate::store::{Client, NewClient, Page, StoreError, User, now};

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Fields of the registration are invalid.
    #[error("{0}")]
    Invalid(FieldErrors<ClientField>),
    /// The owner named does not exist.
    #[error("no account named {0:?}")]
    UnknownOwner(String),
    /// No such client of this account (another account's client is not told apart).
    #[error("client {0} not found")]
    NotFound(String),
    /// A public client has no secret to rotate.
    #[error("a public client has no secret to rotate")]
    PublicClient,
    /// No such organization that the caller may see (it is not a member).
    #[error("organization {0} not found")]
    OrgNotFound(String),
    /// The caller is a member of the organization but not an owner.
    #[error("only an owner of {0} may manage its clients")]
    NotOrgOwner(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: ClientField, message: impl Into<String>) -> ClientError {
    ClientError::Invalid(FieldErrors::one(field, message))
}

/// Who owns a client: an account, or an organization on whose behalf one account acts
/// (checked to be one of its owners, or an administrator acting as one, on every call).
#[derive(Debug, Clone, Copy)]
pub enum ClientOwner<'a> {
    /// The account itself.
    User(&'a User),
    /// The organization named `org`, managed by the account `by`.
    Org {
        /// The organization's name, as the caller wrote it.
        org: &'a str,
        /// The account acting.
        by: &'a User,
        /// `by` acts as an administrator (its token carries `admin`).
        as_admin: bool,
    },
}

impl<'a> From<&'a User> for ClientOwner<'a> {
    fn from(user: &'a User) -> Self {
        ClientOwner::User(user)
    }
}

/// A [`ClientOwner`] whose right to act was checked.
struct Owner<'a> {
    /// The account acting (an organization's client records who registered it).
    by: &'a User,
    /// The organization, for an organization's client.
    org: Option<OrgName>,
}

impl Owner<'_> {
    /// Whether `client` is this owner's: an account's own clients exclude the
    /// organizations' clients it registered.
    fn owns(&self, client: &Client) -> bool {
        match &self.org {
            Some(org) => client.org.as_ref() == Some(org),
            None => client.org.is_none() && client.owner_id == self.by.id,
        }
    }
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
    /// `ES256` or `RS256` (none: `ES256`).
    pub id_token_signed_response_alg: Option<String>,
    /// Where the browser may be sent after an RP-initiated logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// Accept authorization requests only when pushed (RFC 9126 §5).
    pub require_par: bool,
}

/// A change to a client; `None` leaves a setting as it is. The result is checked as a
/// whole registration.
#[derive(Debug, Clone, Default)]
pub struct ClientChange {
    /// New name.
    pub name: Option<String>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// New grant type names (at least one).
    pub grant_types: Option<Vec<String>>,
    /// New scope names (at least one).
    pub scopes: Option<Vec<String>>,
    /// New ID token signing algorithm (`ES256` or `RS256`).
    pub id_token_signed_response_alg: Option<String>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Require pushed authorization requests (or stop).
    pub require_par: Option<bool>,
}

/// A registered client and its secret, shown once.
#[derive(Debug)]
pub struct CreatedClient {
    /// The client.
    pub client: Client,
    /// The secret (confidential clients).
    pub secret: Option<PlainSecret>,
}

/// A client's validated settings.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Grants.
    pub grant_types: Vec<GrantType>,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Redirect URIs.
    pub redirect_uris: Vec<RedirectUri>,
}

/// Parses redirect URIs; the first invalid one is the field's error.
pub fn redirect_uris(uris: &[String]) -> Result<Vec<RedirectUri>, ClientError> {
    uris.iter()
        .map(|uri| {
            RedirectUri::parse(uri)
                .map_err(|e| invalid(ClientField::RedirectUris, format!("{uri:?} {e}")))
        })
        .collect()
}

/// Checks a client's settings as a whole: known grant types that fit the kind of client
/// and its redirect URIs, known scopes (`admin` only for an administrator's client). No
/// grant types: the defaults; no scopes: `read write`.
pub fn client_settings(
    owner: &User,
    org: Option<&OrgName>,
    confidential: bool,
    grant_types: &[String],
    scopes: &[String],
    redirect_uris: Vec<RedirectUri>,
) -> Result<ClientSettings, ClientError> {
    let grant_types = if grant_types.is_empty() {
        default_grant_types(confidential, !redirect_uris.is_empty())
    } else {
        let mut parsed = Vec::new();
        for g in grant_types {
            let g = GrantType::parse(g).ok_or_else(|| {
                invalid(
                    ClientField::GrantTypes,
                    format!("has an unknown grant type {g:?}"),
                )
            })?;
            if !parsed.contains(&g) {
                parsed.push(g);
            }
        }
        parsed
    };
    validate_grant_types(&grant_types, confidential, &redirect_uris)
        .map_err(|m| invalid(ClientField::GrantTypes, m))?;
    let scopes = if scopes.is_empty() {
        ScopeSet::of(&[Scope::Read, Scope::Write])
    } else {
        ScopeSet::parse(&scopes.join(" "))
            .map_err(|e| invalid(ClientField::Scopes, e.to_string()))?
    };
    if scopes.is_empty() {
        return Err(invalid(ClientField::Scopes, "must name at least one scope"));
    }
    if scopes.has_identity() {
        // Any client of the authorization endpoint may ask for them; registering them
        // would let the password and client credentials grants issue them.
        return Err(invalid(
            ClientField::Scopes,
            "may include only read, write and admin (openid, profile and email are asked \
             for at the authorization endpoint)",
        ));
    }
    // An organization is no administrator, whoever manages its clients.
    if scopes.contains(Scope::Admin) && (org.is_some() || !owner.is_admin) {
        return Err(invalid(
            ClientField::Scopes,
            "may include admin only for an administrator's client",
        ));
    }
    Ok(ClientSettings {
        grant_types,
        scopes,
        redirect_uris,
    })
}

/// Parses post-logout redirect URIs (the rules of redirect URIs); the first invalid one is
/// the field's error.
pub fn post_logout_redirect_uris(uris: &[String]) -> Result<Vec<RedirectUri>, ClientError> {
    uris.iter()
        .map(|uri| {
            RedirectUri::parse(uri)
                .map_err(|e| invalid(ClientField::PostLogoutRedirectUris, format!("{uri:?} {e}")))
        })
        .collect()
}

/// Parses an ID token signing algorithm: `ES256` or `RS256` (the JOSE names, exactly).
pub fn id_token_alg(alg: &str) -> Result<SigningAlg, ClientError> {
    SigningAlg::parse(alg).ok_or_else(|| {
        invalid(
            ClientField::IdTokenAlg,
            format!("must be ES256 or RS256, not {alg:?}"),
        )
    })
}

/// Validates a registration and turns it into a row to store (with a fresh id and
/// secret).
pub fn new_client(
    owner: &User,
    spec: &ClientSpec,
) -> Result<(NewClient, Option<PlainSecret>), ClientError> {
    new_owned_client(owner, None, spec)
}

/// [`new_client`] for `owner`, or for the organization `org` registered by `owner`.
fn new_owned_client(
    owner: &User,
    org: Option<OrgName>,
    spec: &ClientSpec,
) -> Result<(NewClient, Option<PlainSecret>), ClientError> {
    let name =
        ClientName::parse(&spec.name).map_err(|e| invalid(ClientField::Name, e.to_string()))?;
    let confidential = !spec.public;
    let settings = client_settings(
        owner,
        org.as_ref(),
        confidential,
        &spec.grant_types,
        &spec.scopes,
        redirect_uris(&spec.redirect_uris)?,
    )?;
    let id_token_alg = match &spec.id_token_signed_response_alg {
        Some(alg) => id_token_alg(alg)?,
        None => SigningAlg::Es256,
    };
    let secret = confidential.then(new_client_secret);
    let row = NewClient {
        id: random_id(16),
        owner_id: owner.id,
        name,
        secret_digest: secret.as_ref().map(PlainSecret::digest),
        redirect_uris: settings.redirect_uris,
        grant_types: settings.grant_types,
        scopes: settings.scopes,
        trusted: spec.trusted,
        id_token_alg,
        post_logout_redirect_uris: post_logout_redirect_uris(&spec.post_logout_redirect_uris)?,
        require_par: spec.require_par,
        org,
    };
    Ok((row, secret))
}

/// A fresh client secret (`hcs_` + 256 bits).
pub fn new_client_secret() -> PlainSecret {
    PlainSecret::generate("hcs_", 32)
}

/// The clients service.
pub struct Clients<'a>(pub(super) &'a Services);

impl Clients<'_> {
    /// Checks that the caller may manage `owner`'s clients: an account its own; an
    /// organization's, its owners and administrators (a member with another role:
    /// [`ClientError::NotOrgOwner`]; anyone else: [`ClientError::OrgNotFound`]). Read from
    /// the store every time: a removed or demoted owner loses access at once.
    async fn check<'a>(&self, owner: ClientOwner<'a>) -> Result<Owner<'a>, ClientError> {
        let (org, by, as_admin) = match owner {
            ClientOwner::User(by) => return Ok(Owner { by, org: None }),
            ClientOwner::Org { org, by, as_admin } => (org, by, as_admin && by.is_admin),
        };
        let store = self.0.store();
        let not_found = || ClientError::OrgNotFound(org.to_owned());
        let found = match store.org(org).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        match store.member_role(found.name.as_str(), by.id).await? {
            Some(Role::Owner) => {}
            _ if as_admin => {}
            Some(_) => return Err(ClientError::NotOrgOwner(found.name.to_string())),
            None => return Err(not_found()),
        }
        Ok(Owner {
            by,
            org: Some(found.name),
        })
    }

    /// Registers a client for `owner` as `spec` says. A client registered by its owner is
    /// never trusted (only the command line makes trusted clients).
    pub async fn register<'a>(
        &self,
        owner: impl Into<ClientOwner<'a>>,
        spec: &ClientSpec,
    ) -> Result<CreatedClient, ClientError> {
        let owner = self.check(owner.into()).await?;
        let spec = ClientSpec {
            trusted: false,
            ..spec.clone()
        };
        let (row, secret) = new_owned_client(owner.by, owner.org, &spec)?;
        let client = self.0.store().create_client(&row).await?;
        Ok(CreatedClient { client, secret })
    }

    /// Registers a client for the account named `owner`, trusted if `spec` says so (the
    /// command line).
    pub async fn create_for(
        &self,
        owner: &str,
        spec: &ClientSpec,
    ) -> Result<CreatedClient, ClientError> {
        let unknown = || ClientError::UnknownOwner(owner.to_owned());
        let name = Username::parse(owner).map_err(|_| unknown())?;
        let owner = match self.0.store().user_by_username(&name).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        };
        let (row, secret) = new_client(&owner, spec)?;
        let client = self.0.store().create_client(&row).await?;
        Ok(CreatedClient { client, secret })
    }

    /// A page of `owner`'s clients, oldest first, and their total count (an account's
    /// exclude the organizations' clients it registered).
    pub async fn list<'a>(
        &self,
        owner: impl Into<ClientOwner<'a>>,
        page: Page,
    ) -> Result<(Vec<Client>, u64), ClientError> {
        let owner = self.check(owner.into()).await?;
        let store = self.0.store();
        Ok(match &owner.org {
            Some(org) => store.list_org_clients(org, page).await?,
            None => store.list_user_clients(owner.by.id, page).await?,
        })
    }

    /// `owner`'s client `client_id` ([`ClientError::NotFound`] also for another owner's).
    pub async fn get<'a>(
        &self,
        owner: impl Into<ClientOwner<'a>>,
        client_id: &str,
    ) -> Result<Client, ClientError> {
        let owner = self.check(owner.into()).await?;
        self.owned(&owner, client_id).await
    }

    /// `client_id` if it is `owner`'s (checked already).
    async fn owned(&self, owner: &Owner<'_>, client_id: &str) -> Result<Client, ClientError> {
        match self.0.store().client_by_id(client_id).await {
            Ok(c) if owner.owns(&c) => Ok(c),
            Ok(_) | Err(StoreError::NotFound) => Err(ClientError::NotFound(client_id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes `owner`'s client: the result is checked as a whole registration
    /// (`confidential` cannot change).
    pub async fn update<'a>(
        &self,
        owner: impl Into<ClientOwner<'a>>,
        client_id: &str,
        change: ClientChange,
    ) -> Result<Client, ClientError> {
        let owner = self.check(owner.into()).await?;
        let client = self.owned(&owner, client_id).await?;
        let name = change
            .name
            .as_deref()
            .map(ClientName::parse)
            .transpose()
            .map_err(|e| invalid(ClientField::Name, e.to_string()))?;
        if change.grant_types.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid(
                ClientField::GrantTypes,
                "must name at least one grant type",
            ));
        }
        if change.scopes.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid(ClientField::Scopes, "must name at least one scope"));
        }
        let grant_types = change.grant_types.unwrap_or_else(|| {
            client
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect()
        });
        let scopes = change.scopes.unwrap_or_else(|| {
            client
                .scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect()
        });
        // Stored redirect URIs were valid when registered: they are kept, not parsed again.
        let redirect_uris = match &change.redirect_uris {
            Some(uris) => redirect_uris(uris)?,
            None => client.redirect_uris.clone(),
        };
        let settings = client_settings(
            owner.by,
            client.org.as_ref(),
            client.secret_digest.is_some(),
            &grant_types,
            &scopes,
            redirect_uris,
        )?;
        let id_token_alg = change
            .id_token_signed_response_alg
            .as_deref()
            .map(id_token_alg)
            .transpose()?;
        let logout_uris = change
            .post_logout_redirect_uris
            .as_deref()
            .map(post_logout_redirect_uris)
            .transpose()?;
        let changes = ClientChanges {
            id_token_alg,
            post_logout_redirect_uris: logout_uris,
            name,
            redirect_uris: Some(settings.redirect_uris),
            grant_types: Some(settings.grant_types),
            scopes: Some(settings.scopes),
            require_par: change.require_par,
        };
        Ok(self.0.store().update_client(&client.id, &changes).await?)
    }

    /// Deletes `owner`'s client with every token, code and consent it has.
    pub async fn delete<'a>(
        &self,
        owner: impl Into<ClientOwner<'a>>,
        client_id: &str,
    ) -> Result<(), ClientError> {
        let client = self.get(owner, client_id).await?;
        Ok(self.0.store().delete_client(&client.id).await?)
    }

    /// Gives `owner`'s confidential client a new secret. The old one keeps working for
    /// `keep_old_for` seconds (0 to [`MAX_SECRET_GRACE`]; 0: it stops at once), so that
    /// deployments can roll; a secret an earlier rotation kept stops now.
    pub async fn rotate_secret<'a>(
        &self,
        owner: impl Into<ClientOwner<'a>>,
        client_id: &str,
        keep_old_for: i64,
    ) -> Result<(Client, PlainSecret), ClientError> {
        if !(0..=MAX_SECRET_GRACE).contains(&keep_old_for) {
            return Err(invalid(
                ClientField::KeepOldSecret,
                "must be between 0 seconds and 7 days (604800 seconds)",
            ));
        }
        let client = self.get(owner, client_id).await?;
        if client.secret_digest.is_none() {
            return Err(ClientError::PublicClient);
        }
        let secret = new_client_secret();
        let store = self.0.store();
        let keep_old_until = (keep_old_for > 0).then(|| now() + keep_old_for);
        store
            .set_client_secret(&client.id, &secret.digest(), keep_old_until)
            .await?;
        let client = store.client_by_id(&client.id).await?;
        Ok((client, secret))
    }
}
