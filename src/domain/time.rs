//! Timestamps as every front end shows them.

use chrono::{DateTime, SecondsFormat};

/// Seconds since the Unix epoch as RFC 3339 UTC (`2026-11-29T10:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_in_utc() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
