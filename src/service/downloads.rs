//! Download statistics: Composer's install notifications (`notify-batch`) counted per
//! version per day, with nothing about who installed. Notifications are added up in
//! memory and written in one go by [`Downloads::flush`] — every
//! `HARMONY_DOWNLOADS_FLUSH_MS` and at shutdown — so a notification costs no write.
//! Only versions of add-ons the notifier may see are counted; anything else is ignored,
//! and the answer is the same, so that notifications tell nothing about private add-ons.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::DateTime;

use super::Services;
use super::packages::PackageError;
use crate::domain::package::PackageName;
use crate::domain::version::Version;
use crate::store::packages::Viewer;
use crate::store::{StoreError, Timestamp, now};

/// The most notifications one request may carry (Composer sends one per installed add-on
/// of the repository).
pub const MAX_BATCH: usize = 1000;

/// The most distinct (version, day) counts held between two flushes; beyond it new ones
/// are dropped (and logged) rather than letting memory grow.
const MAX_PENDING: usize = 100_000;

/// Why a download-statistics operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// More notifications in one request than [`MAX_BATCH`].
    #[error("at most {MAX_BATCH} downloads per notification")]
    TooMany,
    /// The add-on is not found.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The counts not yet written: (add-on, normalized version, day) → installs.
#[derive(Debug, Default)]
pub struct PendingDownloads(Mutex<HashMap<(String, String, i64), i64>>);

impl PendingDownloads {
    fn add(&self, key: (String, String, i64)) -> bool {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let len = pending.len();
        match pending.get_mut(&key) {
            Some(n) => *n += 1,
            None if len < MAX_PENDING => {
                pending.insert(key, 1);
            }
            None => return false,
        }
        true
    }

    fn take(&self) -> HashMap<(String, String, i64), i64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts back counts a failed flush did not write.
    fn restore(&self, counts: impl IntoIterator<Item = ((String, String, i64), i64)>) {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (k, n) in counts {
            *pending.entry(k).or_insert(0) += n;
        }
    }
}

/// The day (days since 1970, UTC) of a time.
pub fn day_of(t: Timestamp) -> i64 {
    t.div_euclid(86_400)
}

/// A day as `YYYY-MM-DD`.
pub fn date_of(day: i64) -> String {
    DateTime::from_timestamp(day * 86_400, 0)
        .unwrap_or_default()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// An add-on's downloads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownloadStats {
    /// Every install counted.
    pub total: i64,
    /// Those of the last 30 days (today included).
    pub last_30_days: i64,
    /// Per version (as published), all time.
    pub versions: BTreeMap<String, i64>,
    /// Per day of the last 30 days (today included), oldest first, every day.
    pub daily: Vec<(String, i64)>,
}

/// The download-statistics service.
pub struct Downloads<'a>(pub(super) &'a Services);

impl Downloads<'_> {
    /// Counts Composer's notifications of `viewer`: `(name, version)` pairs, the version
    /// as Composer sends it (normalized) or as published. Pairs naming no add-on the
    /// viewer may see are ignored; versions are matched when written. Answers how many
    /// were taken.
    pub async fn notify(
        &self,
        viewer: Viewer,
        downloads: &[(String, String)],
    ) -> Result<usize, DownloadError> {
        if downloads.len() > MAX_BATCH {
            return Err(DownloadError::TooMany);
        }
        let day = day_of(now());
        let mut visible: HashMap<&str, bool> = HashMap::new();
        let mut taken = 0;
        for (name, version) in downloads {
            let Some(parsed) = PackageName::parse(name) else {
                continue;
            };
            let Ok(v) = Version::parse(version) else {
                continue;
            };
            let sees = match visible.get(name.as_str()) {
                Some(s) => *s,
                None => {
                    let s = match self
                        .0
                        .packages()
                        .visible(viewer, parsed.vendor(), parsed.name())
                        .await
                    {
                        Ok(_) => true,
                        Err(PackageError::NotFound(_)) => false,
                        Err(e) => return Err(e.into()),
                    };
                    visible.insert(name.as_str(), s);
                    s
                }
            };
            if !sees {
                continue;
            }
            if self
                .0
                .pending_downloads()
                .add((parsed.as_str().to_owned(), v.normalized(), day))
            {
                taken += 1;
            } else {
                tracing::warn!("too many download counts waiting for a flush; one dropped");
            }
        }
        Ok(taken)
    }

    /// Writes the counts gathered since the last flush, in one transaction; answers how
    /// many installs were written (counts of versions that no longer exist are dropped).
    /// On failure the counts are kept for the next flush.
    pub async fn flush(&self) -> Result<i64, DownloadError> {
        let pending = self.0.pending_downloads();
        let counts = pending.take();
        if counts.is_empty() {
            return Ok(0);
        }
        let rows: Vec<(String, String, i64, i64)> = counts
            .iter()
            .map(|((p, v, d), n)| (p.clone(), v.clone(), *d, *n))
            .collect();
        match self.0.store().add_downloads(&rows).await {
            Ok(written) => Ok(written),
            Err(e) => {
                pending.restore(counts);
                Err(e.into())
            }
        }
    }

    /// The downloads of an add-on `viewer` may see (written ones: the last flush's).
    pub async fn stats(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
    ) -> Result<DownloadStats, DownloadError> {
        let p = self.0.packages().visible(viewer, vendor, name).await?;
        let rows = self.0.store().download_counts(&p.name).await?;
        let today = day_of(now());
        let first = today - 29;
        let mut stats = DownloadStats::default();
        let mut daily: BTreeMap<i64, i64> = (first..=today).map(|d| (d, 0)).collect();
        for (version, day, count) in rows {
            stats.total += count;
            *stats.versions.entry(version).or_insert(0) += count;
            if let Some(n) = daily.get_mut(&day) {
                *n += count;
                stats.last_30_days += count;
            }
        }
        stats.daily = daily.into_iter().map(|(d, n)| (date_of(d), n)).collect();
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(86_399), 0);
        assert_eq!(day_of(-1), -1);
        assert_eq!(date_of(day_of(1_764_633_600)), "2025-12-02");
        let d = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(
            date_of(day_of(
                d.and_hms_opt(23, 59, 59).unwrap().and_utc().timestamp()
            )),
            "2026-12-02"
        );
    }

    #[test]
    fn pending_counts_add_up_and_survive_a_failed_flush() {
        let p = PendingDownloads::default();
        let key = ("a/b".to_owned(), "1.0.0.0".to_owned(), 5);
        assert!(p.add(key.clone()));
        assert!(p.add(key.clone()));
        let taken = p.take();
        assert_eq!(taken[&key], 2);
        assert!(p.take().is_empty());
        p.restore(taken);
        assert!(p.add(key.clone()));
        assert_eq!(p.take()[&key], 3);
    }
}
