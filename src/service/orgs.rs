//! Organizations and their members. An organization is seen by its members and by
//! administrators only: to anyone else it does not exist. Its owners (and
//! administrators) manage the members; an organization always keeps at least one owner.

use super::Services;
use crate::domain::org::{OrgErrors, OrgField, OrgName, Role};
use crate::domain::package::valid_vendor;
use crate::domain::user::Username;
use crate::store::orgs::{Member, MemberChange, Org};
use crate::store::packages::{Vendor, Viewer};
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
    /// No such vendor.
    #[error("vendor {0} not found")]
    VendorNotFound(String),
    /// The caller neither owns the vendor (as its account or as an owner of its
    /// organization) nor administers the server.
    #[error("only the owner of the vendor {0} may give it away")]
    NotVendorOwner(String),
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

    /// The vendor `name` and its owner (an account or an organization).
    pub async fn vendor(&self, name: &str) -> Result<Vendor, OrgError> {
        if !valid_vendor(name) {
            return Err(OrgError::VendorNotFound(name.to_owned()));
        }
        match self.0.store().vendor(name).await {
            Ok(v) => Ok(v),
            Err(StoreError::NotFound) => Err(OrgError::VendorNotFound(name.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the vendor `name` to the owner of kind `kind` (`user` or `org`) named `owner`.
    /// The caller must own the vendor — as its account, or as an owner of the
    /// organization that has it — or be an administrator. An organization is given a
    /// vendor by one of its owners (or an administrator); an account is given one by an
    /// administrator, or takes one back for itself. The add-ons already under the vendor
    /// keep their owners.
    pub async fn transfer_vendor(
        &self,
        caller: &User,
        viewer: Viewer,
        name: &str,
        kind: &str,
        owner: &str,
    ) -> Result<Vendor, OrgError> {
        let vendor = self.vendor(name).await?;
        let store = self.0.store();
        let admin = matches!(viewer, Viewer::Admin(_));
        let owns = admin
            || vendor.owner_id == Some(caller.id)
            || match &vendor.owner_org {
                Some(org) => store.member_role(org.as_str(), caller.id).await? == Some(Role::Owner),
                None => false,
            };
        if !owns {
            return Err(OrgError::NotVendorOwner(name.to_owned()));
        }
        let invalid = |field, message: String| OrgError::Invalid(OrgErrors::one(field, message));
        let v = match kind {
            "org" => {
                let unknown = || {
                    invalid(
                        OrgField::OwnerName,
                        format!("there is no organization named {owner:?} that you belong to"),
                    )
                };
                let seen = match self.get(viewer, owner).await {
                    Ok(seen) => seen,
                    Err(OrgError::NotFound(_)) => return Err(unknown()),
                    Err(e) => return Err(e),
                };
                if !admin && seen.role != Some(Role::Owner) {
                    return Err(OrgError::NotOwner(owner.to_owned()));
                }
                store
                    .give_vendor_to_org(name, &seen.org.name)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => OrgError::VendorNotFound(name.to_owned()),
                        e => e.into(),
                    })?
            }
            "user" => {
                let account = self.account(owner).await.map_err(|e| match e {
                    OrgError::UnknownAccount(_) => invalid(
                        OrgField::OwnerName,
                        format!("there is no account named {owner:?}"),
                    ),
                    e => e,
                })?;
                if !admin && account.id != caller.id {
                    return Err(invalid(
                        OrgField::OwnerName,
                        "only an administrator gives a vendor to another account".to_owned(),
                    ));
                }
                store
                    .transfer_vendor(name, account.id)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => OrgError::VendorNotFound(name.to_owned()),
                        e => e.into(),
                    })?
            }
            _ => {
                return Err(invalid(
                    OrgField::OwnerKind,
                    "must be \"user\" or \"org\"".to_owned(),
                ));
            }
        };
        tracing::info!(vendor = %v.name, kind, owner, "vendor transferred");
        Ok(v)
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
