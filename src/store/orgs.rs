//! Organizations: the [`OrgStore`] trait, its row types and its SQL, implemented once for
//! both engines on [`SqlStore`]. A change of membership first touches the organization's
//! row in its transaction: that serializes the changes of one organization on both
//! engines, so that the "at least one owner" rule holds under concurrent requests.
//! Nothing here is cached.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use super::engine::Engine;
use super::packages::{VENDOR, Vendor, VendorRow};
use super::sql::SqlStore;
use super::{StoreError, StoreResult, Timestamp};
use crate::domain::org::{OrgName, Role};
use crate::domain::user::Username;

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Its name.
    pub name: OrgName,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The account's id.
    pub user_id: Uuid,
    /// The account's username.
    pub username: Username,
    /// The role.
    pub role: Role,
    /// Member since.
    pub since: Timestamp,
}

/// What [`OrgStore::set_member`] and [`OrgStore::remove_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Done.
    Done,
    /// Refused: the account is the organization's last owner.
    LastOwner,
    /// The account is not a member (removal only).
    NotMember,
}

/// Storage of organizations and their members.
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates the organization `name` with `owner` as its only member, an owner
    /// (`Conflict` when the name is taken).
    async fn create_org(&self, name: &OrgName, owner: Uuid, now: Timestamp) -> StoreResult<Org>;
    /// The organization `name`.
    async fn org(&self, name: &str) -> StoreResult<Org>;
    /// The organizations `user` belongs to, with its role in each, by name.
    async fn orgs_of(&self, user: Uuid) -> StoreResult<Vec<(Org, Role)>>;
    /// The members of `org`, by username (empty for an unknown organization).
    async fn org_members(&self, org: &str) -> StoreResult<Vec<Member>>;
    /// The role of `user` in `org`, if a member.
    async fn member_role(&self, org: &str, user: Uuid) -> StoreResult<Option<Role>>;
    /// Makes `user` a member of `org` with `role` (adding or changing), unless that demotes
    /// the last owner (`NotFound` for an unknown organization).
    async fn set_member(
        &self,
        org: &str,
        user: Uuid,
        role: Role,
        now: Timestamp,
    ) -> StoreResult<MemberChange>;
    /// Removes `user` from `org`, unless it is the last owner (`NotFound` for an unknown
    /// organization).
    async fn remove_member(
        &self,
        org: &str,
        user: Uuid,
        now: Timestamp,
    ) -> StoreResult<MemberChange>;
    /// Gives the vendor `name` to the organization `org` (`NotFound` for an unknown vendor,
    /// `Conflict` for an unknown organization).
    async fn give_vendor_to_org(&self, name: &str, org: &OrgName) -> StoreResult<Vendor>;
}

fn parse_role(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Other(anyhow::anyhow!("stored role {s:?}")))
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    name: String,
    created_at: i64,
}

impl OrgRow {
    fn into_org(self) -> Org {
        Org {
            name: OrgName::from_trusted(self.name),
            created_at: self.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: String,
    username: String,
    role: String,
    created_at: i64,
}

/// The owners of an organization other than one account, inside a transaction.
const OTHER_OWNERS: &str =
    "SELECT COUNT(*) FROM org_members WHERE org_name = $1 AND role = 'owner' AND user_id <> $2";

#[async_trait]
impl<DB> OrgStore for SqlStore<DB>
where
    DB: Engine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    str: Type<DB>,
    for<'q, 's> &'s str: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<bool>: Encode<'q, DB>,
    for<'q> Option<Vec<u8>>: Encode<'q, DB>,
{
    async fn create_org(&self, name: &OrgName, owner: Uuid, now: Timestamp) -> StoreResult<Org> {
        let mut tx = self.writer().begin().await?;
        sqlx::query::<DB>("INSERT INTO orgs (name, created_at, updated_at) VALUES ($1, $2, $2)")
            .bind(name.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query::<DB>(
            "INSERT INTO org_members (org_name, user_id, role, created_at) \
             VALUES ($1, $2, 'owner', $3)",
        )
        .bind(name.as_str())
        .bind(owner.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Org {
            name: name.clone(),
            created_at: now,
        })
    }

    async fn org(&self, name: &str) -> StoreResult<Org> {
        Ok(
            sqlx::query_as::<DB, OrgRow>("SELECT name, created_at FROM orgs WHERE name = $1")
                .bind(name)
                .fetch_one(self.reader())
                .await?
                .into_org(),
        )
    }

    async fn orgs_of(&self, user: Uuid) -> StoreResult<Vec<(Org, Role)>> {
        let rows = sqlx::query_as::<DB, (String, i64, String)>(
            "SELECT o.name, o.created_at, m.role FROM org_members m \
             JOIN orgs o ON o.name = m.org_name WHERE m.user_id = $1 ORDER BY o.name",
        )
        .bind(user.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(name, created_at, role)| {
                Ok((OrgRow { name, created_at }.into_org(), parse_role(&role)?))
            })
            .collect()
    }

    async fn org_members(&self, org: &str) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query_as::<DB, MemberRow>(
            "SELECT m.user_id, u.username, m.role, m.created_at FROM org_members m \
             JOIN users u ON u.id = m.user_id WHERE m.org_name = $1 ORDER BY lower(u.username)",
        )
        .bind(org)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Member {
                    user_id: super::sql::parse_uuid(&r.user_id)?,
                    username: Username::from_trusted(r.username),
                    role: parse_role(&r.role)?,
                    since: r.created_at,
                })
            })
            .collect()
    }

    async fn member_role(&self, org: &str, user: Uuid) -> StoreResult<Option<Role>> {
        sqlx::query_scalar::<DB, String>(
            "SELECT role FROM org_members WHERE org_name = $1 AND user_id = $2",
        )
        .bind(org)
        .bind(user.to_string())
        .fetch_optional(self.reader())
        .await?
        .map(|r| parse_role(&r))
        .transpose()
    }

    async fn set_member(
        &self,
        org: &str,
        user: Uuid,
        role: Role,
        now: Timestamp,
    ) -> StoreResult<MemberChange> {
        let mut tx = self.writer().begin().await?;
        // Locks the organization's row until commit (see the module's comment).
        let touched = sqlx::query::<DB>("UPDATE orgs SET updated_at = $2 WHERE name = $1")
            .bind(org)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&touched) == 0 {
            return Err(StoreError::NotFound);
        }
        let id = user.to_string();
        if role != Role::Owner {
            let current = sqlx::query_scalar::<DB, String>(
                "SELECT role FROM org_members WHERE org_name = $1 AND user_id = $2",
            )
            .bind(org)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
            let others = sqlx::query_scalar::<DB, i64>(OTHER_OWNERS)
                .bind(org)
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
            if current.as_deref() == Some(Role::Owner.as_str()) && others == 0 {
                return Ok(MemberChange::LastOwner);
            }
        }
        sqlx::query::<DB>(
            "INSERT INTO org_members (org_name, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_name, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(org)
        .bind(&id)
        .bind(role.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(MemberChange::Done)
    }

    async fn remove_member(
        &self,
        org: &str,
        user: Uuid,
        now: Timestamp,
    ) -> StoreResult<MemberChange> {
        let mut tx = self.writer().begin().await?;
        let touched = sqlx::query::<DB>("UPDATE orgs SET updated_at = $2 WHERE name = $1")
            .bind(org)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&touched) == 0 {
            return Err(StoreError::NotFound);
        }
        let id = user.to_string();
        let current = sqlx::query_scalar::<DB, String>(
            "SELECT role FROM org_members WHERE org_name = $1 AND user_id = $2",
        )
        .bind(org)
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else {
            return Ok(MemberChange::NotMember);
        };
        if current == Role::Owner.as_str() {
            let others = sqlx::query_scalar::<DB, i64>(OTHER_OWNERS)
                .bind(org)
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
            if others == 0 {
                return Ok(MemberChange::LastOwner);
            }
        }
        sqlx::query::<DB>("DELETE FROM org_members WHERE org_name = $1 AND user_id = $2")
            .bind(org)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberChange::Done)
    }

    async fn give_vendor_to_org(&self, name: &str, org: &OrgName) -> StoreResult<Vendor> {
        let done =
            sqlx::query::<DB>("UPDATE vendors SET owner_id = NULL, org_name = $2 WHERE name = $1")
                .bind(name)
                .bind(org.as_str())
                .execute(self.writer())
                .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        // Read back on the writer, which has seen the change.
        sqlx::query_as::<DB, VendorRow>(VENDOR)
            .bind(name)
            .fetch_one(self.writer())
            .await?
            .into_vendor()
    }
}
