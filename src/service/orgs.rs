//! Organizations and their members. An organization is seen by its members and by
//! administrators only: to anyone else it does not exist. Its owners (and
//! administrators) manage the members; an organization always keeps at least one owner.

use super::Services;
use crate::domain::org::{OrgErrors, OrgField, OrgName, Role};
use crate::domain::user::Username;
use crate::store::orgs::{Member, MemberChange, Org};
use crate::store::packages::Viewer;
use crate::store::{StoreError, User, now};

/// Why an organization operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// Fields are invalid.
    #[error("{0}")]
    Invalid(OrgErrors),
    /// The name is another organization's.
    #[error("the organization name {0} is taken")]
    NameTaken(String),
    /// No such organization that the caller may see.
    #[error("organization {0} not found")]
    NotFound(String),
    /// The caller is a member but not an owner.
    #[error("only an owner of {0} may manage its members")]
    NotOwner(String),
    /// No account of that name.
    #[error("there is no account named {0}")]
    UnknownAccount(String),
    /// The account is not a member.
    #[error("{username} is not a member of {org}")]
    NotMember {
        /// The organization.
        org: String,
        /// The account.
        username: String,
    },
    /// The change would leave the organization without an owner.
    #[error("{0} must keep at least one owner: add another owner first")]
    LastOwner(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An organization as one caller sees it.
#[derive(Debug, Clone)]
pub struct OrgView {
    /// The organization.
    pub org: Org,
    /// The caller's role (`None` for an administrator who is not a member).
    pub role: Option<Role>,
}

/// The organizations service.
pub struct Orgs<'a>(pub(super) &'a Services);

impl Orgs<'_> {
    /// Creates the organization `name`, owned by `creator`.
    pub async fn create(&self, creator: &User, name: &str) -> Result<OrgView, OrgError> {
        let name = OrgName::parse(name)
            .map_err(|m| OrgError::Invalid(OrgErrors::one(OrgField::Name, m)))?;
        let org = match self.0.store().create_org(&name, creator.id, now()).await {
            Ok(org) => org,
            Err(StoreError::Conflict { .. }) => {
                return Err(OrgError::NameTaken(name.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(org = %org.name, owner = %creator.username, "organization created");
        Ok(OrgView {
            org,
            role: Some(Role::Owner),
        })
    }

    /// The organizations `user` belongs to, by name.
    pub async fn mine(&self, user: &User) -> Result<Vec<OrgView>, OrgError> {
        Ok(self
            .0
            .store()
            .orgs_of(user.id)
            .await?
            .into_iter()
            .map(|(org, role)| OrgView {
                org,
                role: Some(role),
            })
            .collect())
    }

    /// The organization `name`, for its members and administrators.
    pub async fn get(&self, viewer: Viewer, name: &str) -> Result<OrgView, OrgError> {
        let store = self.0.store();
        let org = match store.org(name).await {
            Ok(org) => org,
            Err(StoreError::NotFound) => return Err(OrgError::NotFound(name.to_owned())),
            Err(e) => return Err(e.into()),
        };
        let role = match viewer {
            Viewer::Anonymous => None,
            Viewer::User(id) | Viewer::Admin(id) => store.member_role(name, id).await?,
        };
        if role.is_none() && !matches!(viewer, Viewer::Admin(_)) {
            return Err(OrgError::NotFound(name.to_owned()));
        }
        Ok(OrgView { org, role })
    }

    /// The members of `name`, for its members and administrators.
    pub async fn members(&self, viewer: Viewer, name: &str) -> Result<Vec<Member>, OrgError> {
        self.get(viewer, name).await?;
        Ok(self.0.store().org_members(name).await?)
    }

    /// Adds `username` to `org` with `role`, or changes its role: an owner of `org` or an
    /// administrator only. The last owner cannot be demoted.
    pub async fn set_member(
        &self,
        viewer: Viewer,
        org: &str,
        username: &str,
        role: &str,
    ) -> Result<Member, OrgError> {
        self.owner_only(viewer, org).await?;
        let role = Role::parse(role).ok_or_else(|| {
            OrgError::Invalid(OrgErrors::one(
                OrgField::Role,
                "must be \"owner\", \"maintainer\" or \"reader\"",
            ))
        })?;
        let user = self.account(username).await?;
        let at = now();
        match self.0.store().set_member(org, user.id, role, at).await {
            Ok(MemberChange::Done) => {}
            Ok(MemberChange::LastOwner) => return Err(OrgError::LastOwner(org.to_owned())),
            Ok(MemberChange::NotMember) | Err(StoreError::NotFound) => {
                return Err(OrgError::NotFound(org.to_owned()));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(org, member = %user.username, role = role.as_str(), "member set");
        let members = self.0.store().org_members(org).await?;
        members
            .into_iter()
            .find(|m| m.user_id == user.id)
            .ok_or_else(|| OrgError::NotFound(org.to_owned()))
    }

    /// Removes `username` from `org`: an owner of `org` or an administrator only. The last
    /// owner cannot be removed.
    pub async fn remove_member(
        &self,
        viewer: Viewer,
        org: &str,
        username: &str,
    ) -> Result<(), OrgError> {
        self.owner_only(viewer, org).await?;
        let not_member = || OrgError::NotMember {
            org: org.to_owned(),
            username: username.to_owned(),
        };
        let user = self.account(username).await.map_err(|e| match e {
            OrgError::UnknownAccount(_) => not_member(),
            e => e,
        })?;
        match self.0.store().remove_member(org, user.id, now()).await {
            Ok(MemberChange::Done) => {
                tracing::info!(org, member = %user.username, "member removed");
                Ok(())
            }
            Ok(MemberChange::LastOwner) => Err(OrgError::LastOwner(org.to_owned())),
            Ok(MemberChange::NotMember) => Err(not_member()),
            Err(StoreError::NotFound) => Err(OrgError::NotFound(org.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Passes for an owner of `org` or an administrator; a member who is not an owner is
    /// refused, anyone else does not find the organization.
    async fn owner_only(&self, viewer: Viewer, org: &str) -> Result<(), OrgError> {
        let seen = self.get(viewer, org).await?;
        match (viewer, seen.role) {
            (Viewer::Admin(_), _) | (_, Some(Role::Owner)) => Ok(()),
            _ => Err(OrgError::NotOwner(org.to_owned())),
        }
    }

    async fn account(&self, username: &str) -> Result<User, OrgError> {
        let unknown = || OrgError::UnknownAccount(username.to_owned());
        let name = Username::parse(username).map_err(|_| unknown())?;
        match self.0.store().user_by_username(&name).await {
            Ok(u) => Ok(u),
            Err(StoreError::NotFound) => Err(unknown()),
            Err(e) => Err(e.into()),
        }
    }
}
