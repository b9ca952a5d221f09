//! Projects: the [`ProjectStore`] trait, its row types and its SQL, implemented once for
//! both engines on [`SqlStore`]. A project's add-ons live in
//! `project_addons`, joined to `packages` for their type: a project and its add-ons are
//! read in one query, one row per add-on, and so is a page of projects (the page is
//! chosen in a subquery), so that a page costs the same two queries whatever its size.
//! Projects are not cached: no write here invalidates anything.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use super::engine::Engine;
use super::packages::parse_package_type;
use super::sql::{SqlStore, parse_uuid};
use super::{Page, StoreError, StoreResult, Timestamp};
use crate::domain::package::PackageType;
use crate::domain::project::ProjectName;

/// One database connection of a project, stored as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProjectDatabase {
    /// `mysql`, `pgsql`, `sqlite` or `mongodb`.
    pub scheme: String,
    /// Host name.
    pub host: Option<String>,
    /// TCP port, 1–65535.
    pub port: Option<u16>,
    /// Database name.
    pub name: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Password (shown to the owner only).
    pub pass: Option<String>,
    /// File path (SQLite).
    pub path: Option<String>,
    /// In-memory database (SQLite).
    pub memory: bool,
    /// Extra DSN query string.
    pub query: Option<String>,
}

/// An add-on bound to a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectAddon {
    /// `vendor/name`.
    pub package: String,
    /// Its Composer type (decides the map it shows in).
    pub package_type: PackageType,
    /// The version constraint.
    pub constraint: String,
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: ProjectName,
    /// URL-safe name, unique per owner.
    pub slug: String,
    /// Description.
    pub description: Option<String>,
    /// The site's public URL.
    pub url: Option<String>,
    /// Database connections.
    pub databases: Vec<ProjectDatabase>,
    /// Bound add-ons, by name.
    pub addons: Vec<ProjectAddon>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A new project.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Owner.
    pub owner_id: Uuid,
    /// Name.
    pub name: ProjectName,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: Option<String>,
    /// URL.
    pub url: Option<String>,
    /// Databases.
    pub databases: Vec<ProjectDatabase>,
}

/// A change to a project; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    /// New name.
    pub name: Option<ProjectName>,
    /// New slug.
    pub slug: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New URL (`Some(None)` clears it).
    pub url: Option<Option<String>>,
    /// New databases.
    pub databases: Option<Vec<ProjectDatabase>>,
}

/// Storage of projects. Every call is scoped to the owner: another account's project is
/// `NotFound`.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates a project; `Conflict` when the owner already has the slug.
    async fn create_project(&self, project: &NewProject) -> StoreResult<Project>;
    /// One project of an owner.
    async fn project(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Project>;
    /// A page of an owner's projects, oldest first, and the total count.
    async fn list_projects(&self, owner_id: Uuid, page: Page) -> StoreResult<(Vec<Project>, u64)>;
    /// Changes a project; `Conflict` on a slug clash.
    async fn update_project(
        &self,
        owner_id: Uuid,
        id: Uuid,
        changes: &ProjectChanges,
    ) -> StoreResult<Project>;
    /// Deletes a project (and its bindings).
    async fn delete_project(&self, owner_id: Uuid, id: Uuid) -> StoreResult<()>;
    /// Binds (or re-binds) an add-on with a constraint.
    async fn bind_addon(
        &self,
        owner_id: Uuid,
        id: Uuid,
        package: &str,
        constraint: &str,
    ) -> StoreResult<Project>;
    /// Unbinds an add-on; `NotFound` when it was not bound.
    async fn unbind_addon(&self, owner_id: Uuid, id: Uuid, package: &str) -> StoreResult<()>;
}

/// A project with one of its add-ons (the `addon_` columns are all NULL for a project
/// without add-ons): what the queries that read projects return.
#[derive(sqlx::FromRow)]
struct ProjectAddonRow {
    id: String,
    name: String,
    slug: String,
    description: Option<String>,
    url: Option<String>,
    databases: String,
    created_at: i64,
    updated_at: i64,
    addon_package: Option<String>,
    addon_type: Option<String>,
    addon_constraint: Option<String>,
}

impl ProjectAddonRow {
    fn into_project(self) -> StoreResult<Project> {
        Ok(Project {
            id: parse_uuid(&self.id)?,
            name: ProjectName::from_trusted(self.name),
            slug: self.slug,
            description: self.description,
            url: self.url,
            databases: serde_json::from_str(&self.databases)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("stored databases: {e}")))?,
            addons: Vec::new(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Folds rows ordered by project (then add-on) into projects with their add-ons.
fn projects(rows: Vec<ProjectAddonRow>) -> StoreResult<Vec<Project>> {
    let mut out: Vec<(String, Project)> = Vec::new();
    for mut row in rows {
        let addon = match (
            row.addon_package.take(),
            row.addon_type.take(),
            row.addon_constraint.take(),
        ) {
            (Some(package), Some(package_type), Some(constraint)) => Some(ProjectAddon {
                package,
                package_type: parse_package_type(&package_type)?,
                constraint,
            }),
            _ => None,
        };
        if out.last().is_none_or(|(id, _)| *id != row.id) {
            let id = row.id.clone();
            out.push((id, row.into_project()?));
        }
        if let (Some(addon), Some((_, project))) = (addon, out.last_mut()) {
            project.addons.push(addon);
        }
    }
    Ok(out.into_iter().map(|(_, project)| project).collect())
}

fn databases_json(d: &[ProjectDatabase]) -> StoreResult<String> {
    serde_json::to_string(d).map_err(|e| StoreError::Other(e.into()))
}

#[async_trait]
impl<DB> ProjectStore for SqlStore<DB>
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
    async fn create_project(&self, p: &NewProject) -> StoreResult<Project> {
        let id = Uuid::new_v4();
        let now = super::now();
        sqlx::query::<DB>(
            "INSERT INTO projects (id, owner_id, name, slug, description, url, \
             databases, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id.to_string())
        .bind(p.owner_id.to_string())
        .bind(p.name.as_str())
        .bind(&p.slug)
        .bind(&p.description)
        .bind(&p.url)
        .bind(databases_json(&p.databases)?)
        .bind(now)
        .execute(self.writer())
        .await?;
        self.project(p.owner_id, id).await
    }

    async fn project(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Project> {
        let rows = sqlx::query_as::<DB, ProjectAddonRow>(
            "SELECT p.id, p.name, p.slug, p.description, p.url, p.databases, \
             p.created_at, p.updated_at, a.package AS addon_package, \
             k.package_type AS addon_type, a.version_constraint AS addon_constraint \
             FROM projects p \
             LEFT JOIN project_addons a ON a.project_id = p.id \
             LEFT JOIN packages k ON k.name = a.package \
             WHERE p.id = $1 AND p.owner_id = $2 ORDER BY a.package",
        )
        .bind(id.to_string())
        .bind(owner_id.to_string())
        .fetch_all(self.reader())
        .await?;
        projects(rows)?.pop().ok_or(StoreError::NotFound)
    }

    async fn list_projects(&self, owner_id: Uuid, page: Page) -> StoreResult<(Vec<Project>, u64)> {
        let rows = sqlx::query_as::<DB, ProjectAddonRow>(concat!(
            "SELECT p.id, p.name, p.slug, p.description, p.url, p.databases, \
             p.created_at, p.updated_at, a.package AS addon_package, \
             k.package_type AS addon_type, a.version_constraint AS addon_constraint \
             FROM (SELECT * FROM projects WHERE owner_id = $1 \
                   ORDER BY created_at, id ",
            limit!("$2"),
            " OFFSET $3) p \
             LEFT JOIN project_addons a ON a.project_id = p.id \
             LEFT JOIN packages k ON k.name = a.package \
             ORDER BY p.created_at, p.id, a.package"
        ))
        .bind(owner_id.to_string())
        .bind(i64::from(page.size))
        .bind(page.offset())
        .fetch_all(self.reader())
        .await?;
        let total =
            sqlx::query_scalar::<DB, i64>("SELECT COUNT(*) FROM projects WHERE owner_id = $1")
                .bind(owner_id.to_string())
                .fetch_one(self.reader())
                .await?;
        Ok((projects(rows)?, u64::try_from(total).unwrap_or(0)))
    }

    async fn update_project(
        &self,
        owner_id: Uuid,
        id: Uuid,
        c: &ProjectChanges,
    ) -> StoreResult<Project> {
        let databases = c.databases.as_deref().map(databases_json).transpose()?;
        let done = sqlx::query::<DB>(
            "UPDATE projects SET \
             name = COALESCE($3, name), \
             slug = COALESCE($4, slug), \
             description = CASE WHEN $5 THEN $6 ELSE description END, \
             url = CASE WHEN $7 THEN $8 ELSE url END, \
             databases = COALESCE($9, databases), \
             updated_at = $10 \
             WHERE id = $1 AND owner_id = $2",
        )
        .bind(id.to_string())
        .bind(owner_id.to_string())
        .bind(c.name.as_ref().map(|n| n.as_str().to_owned()))
        .bind(&c.slug)
        .bind(c.description.is_some())
        .bind(c.description.clone().flatten())
        .bind(c.url.is_some())
        .bind(c.url.clone().flatten())
        .bind(databases)
        .bind(super::now())
        .execute(self.writer())
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        self.project(owner_id, id).await
    }

    async fn delete_project(&self, owner_id: Uuid, id: Uuid) -> StoreResult<()> {
        let done = sqlx::query::<DB>("DELETE FROM projects WHERE id = $1 AND owner_id = $2")
            .bind(id.to_string())
            .bind(owner_id.to_string())
            .execute(self.writer())
            .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn bind_addon(
        &self,
        owner_id: Uuid,
        id: Uuid,
        package: &str,
        constraint: &str,
    ) -> StoreResult<Project> {
        let now = super::now();
        let mut tx = self.writer().begin().await?;
        let touched = sqlx::query::<DB>(
            "UPDATE projects SET updated_at = $3 WHERE id = $1 AND owner_id = $2",
        )
        .bind(id.to_string())
        .bind(owner_id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&touched) == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query::<DB>(
            "INSERT INTO project_addons (project_id, package, version_constraint, \
             created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, package) \
             DO UPDATE SET version_constraint = excluded.version_constraint",
        )
        .bind(id.to_string())
        .bind(package)
        .bind(constraint)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.project(owner_id, id).await
    }

    async fn unbind_addon(&self, owner_id: Uuid, id: Uuid, package: &str) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        let done = sqlx::query::<DB>(
            "DELETE FROM project_addons WHERE package = $2 AND project_id IN \
             (SELECT id FROM projects WHERE id = $1 AND owner_id = $3)",
        )
        .bind(id.to_string())
        .bind(package)
        .bind(owner_id.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query::<DB>("UPDATE projects SET updated_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(super::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
