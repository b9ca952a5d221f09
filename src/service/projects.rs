//! An account's projects — the HarmonyCMS sites it runs, with their database connections
//! — and the add-ons bound to them with a Composer constraint. Another account's project
//! is not told apart from one that does not exist.

use uuid::Uuid;

use super::Services;
use crate::domain::package::PackageName;
use crate::domain::project::{
    self, DatabaseField, MAX_DATABASES, ProjectErrors, ProjectField, SCHEMES,
};
use crate::domain::version::{Constraint, Version};
use crate::store::packages::{Access, Viewer};
use crate::store::projects::{NewProject, Project, ProjectChanges, ProjectDatabase};
use crate::store::{Page, StoreError, User};

/// Why a project operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// Fields are invalid (or the slug is taken by another of the owner's projects).
    #[error("{0}")]
    Invalid(ProjectErrors),
    /// No such project of this account (or a malformed id).
    #[error("project {0} not found")]
    NotFound(String),
    /// No such add-on the caller may see.
    #[error("add-on {0} not found")]
    AddonNotFound(String),
    /// The add-on is not bound to the project.
    #[error("{package} is not bound to project {project}")]
    NotBound {
        /// The add-on.
        package: String,
        /// The project's id.
        project: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A database as a client describes it: loosely typed, so that a bad port is an invalid
/// field with a message rather than a parse error.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseInput {
    scheme: String,
    host: Option<String>,
    port: Option<i64>,
    name: Option<String>,
    user: Option<String>,
    pass: Option<String>,
    path: Option<String>,
    #[serde(default)]
    memory: bool,
    query: Option<String>,
}

/// A new project, as asked for.
#[derive(Debug, Clone)]
pub struct ProjectInput {
    /// Name.
    pub name: String,
    /// Slug (none: derived from the name).
    pub slug: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The site's URL.
    pub url: Option<String>,
    /// Database connections.
    pub databases: Vec<DatabaseInput>,
}

/// A change to a project; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProjectUpdate {
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New description.
    pub description: Option<Option<String>>,
    /// New URL.
    pub url: Option<Option<String>>,
    /// New databases.
    pub databases: Option<Vec<DatabaseInput>>,
}

fn short(
    field: ProjectField,
    value: Option<String>,
    max: usize,
    errors: &mut ProjectErrors,
) -> Option<String> {
    let v = value?;
    if v.len() > max || v.chars().any(char::is_control) {
        errors.insert(
            field,
            format!("must be at most {max} bytes, without control characters"),
        );
        return None;
    }
    Some(v)
}

/// Validates a project's databases.
pub fn validate_databases(
    input: Vec<DatabaseInput>,
    errors: &mut ProjectErrors,
) -> Vec<ProjectDatabase> {
    if input.len() > MAX_DATABASES {
        errors.insert(
            ProjectField::Databases,
            format!("at most {MAX_DATABASES} databases"),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, d) in input.into_iter().enumerate() {
        let at = |f: DatabaseField| ProjectField::Database(i, f);
        if !SCHEMES.contains(&d.scheme.as_str()) {
            errors.insert(
                at(DatabaseField::Scheme),
                "must be one of mysql, pgsql, sqlite, mongodb",
            );
        }
        let port = match d.port {
            None => None,
            Some(p @ 1..=65535) => u16::try_from(p).ok(),
            Some(_) => {
                errors.insert(at(DatabaseField::Port), "must be between 1 and 65535");
                None
            }
        };
        let db = ProjectDatabase {
            host: short(at(DatabaseField::Host), d.host, 255, errors),
            port,
            name: short(at(DatabaseField::Name), d.name, 255, errors),
            user: short(at(DatabaseField::User), d.user, 255, errors),
            pass: short(at(DatabaseField::Pass), d.pass, 1024, errors),
            path: short(at(DatabaseField::Path), d.path, 1024, errors),
            memory: d.memory,
            query: short(at(DatabaseField::Query), d.query, 1024, errors),
            scheme: d.scheme,
        };
        if db.scheme == "sqlite" {
            if db.path.is_none() && !db.memory {
                errors.insert(
                    at(DatabaseField::Path),
                    "sqlite needs a path or memory: true",
                );
            }
        } else if SCHEMES.contains(&db.scheme.as_str()) && db.host.is_none() {
            errors.insert(
                at(DatabaseField::Host),
                format!("{} needs a host", db.scheme),
            );
        }
        out.push(db);
    }
    out
}

/// The projects service.
pub struct Projects<'a>(pub(super) &'a Services);

impl Projects<'_> {
    /// A page of `owner`'s projects, oldest first, and their total count.
    pub async fn list(
        &self,
        owner: &User,
        page: Page,
    ) -> Result<(Vec<Project>, u64), ProjectError> {
        Ok(self.0.store().list_projects(owner.id, page).await?)
    }

    /// Creates a project for `owner`.
    pub async fn create(&self, owner: &User, input: ProjectInput) -> Result<Project, ProjectError> {
        let mut errors = ProjectErrors::new();
        let name = project::validate_name(&input.name, &mut errors);
        let slug = match &input.slug {
            Some(s) => project::validate_slug(s, &mut errors),
            None => name.as_ref().map(|n| project::slugify(n.as_str())),
        };
        let description = project::validate_description(input.description.as_deref(), &mut errors);
        let url = project::validate_url(input.url.as_deref(), &mut errors);
        let databases = validate_databases(input.databases, &mut errors);
        errors.into_result().map_err(ProjectError::Invalid)?;
        let (Some(name), Some(slug)) = (name, slug) else {
            return Err(ProjectError::Invalid(ProjectErrors::one(
                ProjectField::Name,
                "is invalid",
            )));
        };
        self.0
            .store()
            .create_project(&NewProject {
                owner_id: owner.id,
                name,
                slug,
                description,
                url,
                databases,
            })
            .await
            .map_err(|e| stored("", e))
    }

    /// `owner`'s project `id`.
    pub async fn get(&self, owner: &User, id: &str) -> Result<Project, ProjectError> {
        let pid = project_id(id)?;
        self.0
            .store()
            .project(owner.id, pid)
            .await
            .map_err(|e| stored(id, e))
    }

    /// Changes the fields given of `owner`'s project `id`.
    pub async fn update(
        &self,
        owner: &User,
        id: &str,
        update: ProjectUpdate,
    ) -> Result<Project, ProjectError> {
        let pid = project_id(id)?;
        let mut errors = ProjectErrors::new();
        let changes = ProjectChanges {
            name: update
                .name
                .as_deref()
                .and_then(|n| project::validate_name(n, &mut errors)),
            slug: update
                .slug
                .as_deref()
                .and_then(|s| project::validate_slug(s, &mut errors)),
            description: update
                .description
                .map(|d| project::validate_description(d.as_deref(), &mut errors)),
            url: update
                .url
                .map(|u| project::validate_url(u.as_deref(), &mut errors)),
            databases: update.databases.map(|d| validate_databases(d, &mut errors)),
        };
        errors.into_result().map_err(ProjectError::Invalid)?;
        self.0
            .store()
            .update_project(owner.id, pid, &changes)
            .await
            .map_err(|e| stored(id, e))
    }

    /// Deletes `owner`'s project `id`.
    pub async fn delete(&self, owner: &User, id: &str) -> Result<(), ProjectError> {
        let pid = project_id(id)?;
        self.0
            .store()
            .delete_project(owner.id, pid)
            .await
            .map_err(|e| stored(id, e))
    }

    /// Binds the add-on `vendor/name`, which `viewer` must be able to see, to `owner`'s
    /// project `id` with a Composer constraint that at least one published version
    /// satisfies. Someone else's project is not found whatever the add-on.
    pub async fn bind_addon(
        &self,
        owner: &User,
        viewer: Viewer,
        id: &str,
        (vendor, name): (&str, &str),
        constraint: &str,
    ) -> Result<Project, ProjectError> {
        let pid = project_id(id)?;
        let constraint = Constraint::parse(constraint).map_err(|e| {
            ProjectError::Invalid(ProjectErrors::one(
                ProjectField::AddonConstraint,
                e.to_string(),
            ))
        })?;
        let store = self.0.store();
        store
            .project(owner.id, pid)
            .await
            .map_err(|e| stored(id, e))?;
        let unknown = || ProjectError::AddonNotFound(format!("{vendor}/{name}"));
        let package_name = PackageName::from_parts(vendor, name).ok_or_else(unknown)?;
        let package = match store.package_for(package_name.as_str(), viewer).await {
            Ok((_, Access::Hidden)) | Err(StoreError::NotFound) => return Err(unknown()),
            Ok((p, _)) => p,
            Err(e) => return Err(e.into()),
        };
        let versions = store.package_versions(&package.name).await?;
        // A yanked version satisfies no new binding.
        let satisfied = versions.iter().filter(|v| v.yanked.is_none()).any(|v| {
            Version::parse(&v.version)
                .map(|v| constraint.matches(&v))
                .unwrap_or(false)
        });
        if !satisfied {
            return Err(ProjectError::Invalid(ProjectErrors::one(
                ProjectField::AddonConstraint,
                format!(
                    "no published version of {} satisfies {}",
                    package.name,
                    constraint.as_str()
                ),
            )));
        }
        store
            .bind_addon(owner.id, pid, &package.name, constraint.as_str())
            .await
            .map_err(|e| stored(id, e))
    }

    /// Unbinds the add-on `vendor/name` from `owner`'s project `id`.
    pub async fn unbind_addon(
        &self,
        owner: &User,
        id: &str,
        (vendor, name): (&str, &str),
    ) -> Result<(), ProjectError> {
        let pid = project_id(id)?;
        let package = format!("{vendor}/{name}");
        let store = self.0.store();
        match store.unbind_addon(owner.id, pid, &package).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => {
                // Tell "no such project" from "not bound".
                store
                    .project(owner.id, pid)
                    .await
                    .map_err(|e| stored(id, e))?;
                Err(ProjectError::NotBound {
                    package,
                    project: id.to_owned(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn project_id(id: &str) -> Result<Uuid, ProjectError> {
    Uuid::parse_str(id).map_err(|_| ProjectError::NotFound(id.to_owned()))
}

/// A store failure about project `id`: not found, or a slug already used.
fn stored(id: &str, e: StoreError) -> ProjectError {
    match e {
        StoreError::NotFound => ProjectError::NotFound(id.to_owned()),
        StoreError::Conflict { .. } => ProjectError::Invalid(ProjectErrors::one(
            ProjectField::Slug,
            "is already used by another of your projects",
        )),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_are_validated() {
        let mut errors = ProjectErrors::new();
        let input: Vec<DatabaseInput> = serde_json::from_str(
            r#"[{"scheme":"oracle","host":"h"},{"scheme":"mysql","host":"h","port":0},
                {"scheme":"sqlite"},{"scheme":"pgsql"}]"#,
        )
        .unwrap();
        validate_databases(input, &mut errors);
        for key in [
            ProjectField::Database(0, DatabaseField::Scheme),
            ProjectField::Database(1, DatabaseField::Port),
            ProjectField::Database(2, DatabaseField::Path),
            ProjectField::Database(3, DatabaseField::Host),
        ] {
            assert!(errors.get(&key).is_some(), "{key}: {errors:?}");
        }
    }
}
