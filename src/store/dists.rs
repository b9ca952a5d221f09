//! Where add-on dists live on disk: `DATA_DIR/dists/VENDOR/NAME/FILE.zip`, written
//! atomically (a temporary file flushed to disk, then renamed into place). The database
//! stores each version's relative path. Blocking: callers run it off the async runtime.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::domain::package::PackageName;

/// Where dists live: `DATA_DIR/dists/VENDOR/NAME/FILE.zip`.
#[derive(Debug, Clone)]
pub struct DistStore {
    root: PathBuf,
}

impl DistStore {
    /// A store under the data folder.
    pub fn new(data_dir: &Path) -> DistStore {
        DistStore {
            root: data_dir.join("dists"),
        }
    }

    /// The relative path for a new dist of a version (unique per upload, so that two
    /// racing uploads never write the same file).
    pub fn relative_path(name: &PackageName, version: &str) -> String {
        format!(
            "{}/{}/{}-{}.zip",
            name.vendor(),
            name.name(),
            version,
            uuid::Uuid::new_v4().simple()
        )
    }

    /// The absolute path of a stored dist; `None` for a path that is not one of ours.
    pub fn path(&self, relative: &str) -> Option<PathBuf> {
        let safe = relative.split('/').count() == 3
            && relative
                .split('/')
                .all(|p| !p.is_empty() && !p.starts_with('.') && !p.contains('\\'));
        safe.then(|| self.root.join(relative))
    }

    /// Writes a dist atomically: a temporary file in the same folder, flushed to disk,
    /// then renamed into place. Blocking.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self
            .path(relative)
            .ok_or_else(|| std::io::Error::other("unsafe dist path"))?;
        let dir = path
            .parent()
            .ok_or_else(|| std::io::Error::other("dist path has no folder"))?;
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map(|()| path)
    }

    /// Removes a dist (best effort; used when the database refused the version).
    pub fn remove(&self, relative: &str) {
        if let Some(path) = self.path(relative) {
            let _ = std::fs::remove_file(path);
        }
    }
}
