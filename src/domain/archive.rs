//! Inspection of an uploaded add-on dist zip, which is hostile until proven otherwise:
//! bounded entry count, declared and *actual* uncompressed sizes (a zip bomb lies in its
//! headers, so every entry is decompressed through a counting reader), compression ratio,
//! no path traversal, absolute paths, drive letters, backslashes, duplicates, symlinks or
//! encrypted entries, and no entry whose local header names another file than the central
//! directory does; and a `composer.json` at the root whose `name` (and `version`, if any)
//! match the URL, reduced to the keys harmony serves. Synchronous: call it from
//! `spawn_blocking`.

use std::collections::HashSet;
use std::io::{Cursor, Read};

use serde_json::{Map, Value};

use super::package::{PackageName, PackageType};
use super::version::Version;

/// Limits applied to every uploaded zip.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Most entries (files and folders).
    pub max_entries: usize,
    /// Most bytes all entries may expand to, together.
    pub max_uncompressed: u64,
    /// Largest expansion ratio of one entry (uncompressed / compressed).
    pub max_ratio: u64,
}

/// Entries smaller than this are not held to the ratio (tiny text files compress well).
const RATIO_FLOOR: u64 = 64 * 1024;

/// Largest `composer.json` read.
const MAX_MANIFEST: u64 = 1024 * 1024;

/// What a valid dist declares.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The `composer.json` object, reduced to the keys harmony serves.
    pub composer: Map<String, Value>,
    /// Its `type`.
    pub package_type: PackageType,
    /// Its `description`, if any.
    pub description: Option<String>,
}

/// Why a zip was refused; the message is for the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArchiveError(pub String);

fn refuse(msg: impl Into<String>) -> ArchiveError {
    ArchiveError(msg.into())
}

/// The JSON shape a served key must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    String,
    Array,
    Object,
    StringOrArray,
    ObjectOrArray,
    /// An object mapping package names to strings (`require`, `suggest`…).
    Links,
}

impl Shape {
    fn fits(self, v: &Value) -> bool {
        match self {
            Shape::String => v.is_string(),
            Shape::Array => v.is_array(),
            Shape::Object => v.is_object(),
            Shape::StringOrArray => v.is_string() || v.is_array(),
            Shape::ObjectOrArray => v.is_object() || v.is_array(),
            Shape::Links => v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string)),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Shape::String => "a string",
            Shape::Array => "an array",
            Shape::Object => "an object",
            Shape::StringOrArray => "a string or an array",
            Shape::ObjectOrArray => "an object or an array",
            Shape::Links => "an object mapping names to constraint strings",
        }
    }
}

/// The keys of an uploaded `composer.json` that reach the served metadata (an allow-list:
/// anything else — `source`, `dist`, `notification-url`, `repositories`, `scripts`,
/// `config`, `version`, `time`… — is dropped, since harmony serves dists only and sets the
/// rest itself). `name`, `type` and `description` are checked on their own.
const SERVED_KEYS: [(&str, Shape); 22] = [
    ("name", Shape::String),
    ("type", Shape::String),
    ("description", Shape::String),
    ("keywords", Shape::Array),
    ("homepage", Shape::String),
    ("readme", Shape::String),
    ("license", Shape::StringOrArray),
    ("authors", Shape::Array),
    ("support", Shape::Object),
    ("funding", Shape::Array),
    ("require", Shape::Links),
    ("require-dev", Shape::Links),
    ("conflict", Shape::Links),
    ("replace", Shape::Links),
    ("provide", Shape::Links),
    ("suggest", Shape::Links),
    ("autoload", Shape::Object),
    ("autoload-dev", Shape::Object),
    ("include-path", Shape::Array),
    ("target-dir", Shape::String),
    ("bin", Shape::StringOrArray),
    ("extra", Shape::ObjectOrArray),
];

/// The names of the keys that reach the served metadata (see the API documentation).
pub fn served_keys() -> impl Iterator<Item = &'static str> {
    SERVED_KEYS.iter().map(|(k, _)| *k)
}

/// Keeps only the served keys of a stored manifest (versions published before the
/// allow-list may carry others).
pub fn retain_served_keys(manifest: &mut Map<String, Value>) {
    manifest.retain(|k, _| SERVED_KEYS.iter().any(|(served, _)| served == k));
}

/// The name a zip entry has in its local file header: the one an extractor that reads the
/// zip front to back writes, which must be the one checked (in the central directory).
fn local_name(bytes: &[u8], header_start: u64) -> Option<&[u8]> {
    const SIG: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];
    let start = usize::try_from(header_start).ok()?;
    let header = bytes.get(start..start.checked_add(30)?)?;
    if header[..4] != SIG {
        return None;
    }
    let len = usize::from(u16::from_le_bytes([header[26], header[27]]));
    bytes.get(start + 30..start + 30 + len)
}

fn check_path(name: &str) -> Result<(), ArchiveError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name
            .split('/')
            .next()
            .is_some_and(|first| first.contains(':'))
        || name.split('/').any(|c| c == "..");
    if bad {
        return Err(refuse(format!("unsafe path in the zip: {name:?}")));
    }
    Ok(())
}

/// The entry count the end-of-central-directory record declares. The zip reader keys
/// entries by name, so a duplicate name would silently hide an entry from inspection that
/// an extractor (Composer's) would still write; comparing the counts catches it.
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    const SIG: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    let len = bytes.len();
    if len < 22 {
        return None;
    }
    let floor = len.saturating_sub(22 + 65_535);
    let mut at = len - 22;
    loop {
        if bytes[at..at + 4] == SIG {
            let comment = u16::from_le_bytes([bytes[at + 20], bytes[at + 21]]) as usize;
            if at + 22 + comment == len {
                return Some(u64::from(u16::from_le_bytes([
                    bytes[at + 10],
                    bytes[at + 11],
                ])));
            }
        }
        if at == floor {
            return None;
        }
        at -= 1;
    }
}

/// Checks a dist zip and returns its manifest. `name` and `version` are the URL's.
pub fn inspect(
    bytes: &[u8],
    name: &PackageName,
    version: &Version,
    limits: &ArchiveLimits,
) -> Result<Manifest, ArchiveError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| refuse(format!("the body is not a readable zip: {e}")))?;
    if archive.len() > limits.max_entries {
        return Err(refuse(format!(
            "the zip has {} entries; at most {} are allowed",
            archive.len(),
            limits.max_entries
        )));
    }
    match declared_entries(bytes) {
        Some(0xFFFF) => {
            return Err(refuse(
                "zip64 archives with that many entries are not accepted",
            ));
        }
        Some(n) if n == archive.len() as u64 => {}
        _ => return Err(refuse("the zip has duplicate or hidden entries")),
    }
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    let mut manifest_bytes: Option<Vec<u8>> = None;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| refuse(format!("entry {index} cannot be read: {e}")))?;
        let entry_name = entry
            .name()
            .map_err(|_| refuse(format!("entry {index} has an unreadable name")))?
            .into_owned();
        check_path(&entry_name)?;
        if local_name(bytes, entry.header_start()) != Some(entry.name_raw()) {
            let local = local_name(bytes, entry.header_start())
                .map(|n| format!("{:?}", String::from_utf8_lossy(n)))
                .unwrap_or_else(|| "unreadable".to_owned());
            return Err(refuse(format!(
                "entry {entry_name:?} is named {local} in its local header; \
                 the two names of an entry must be the same"
            )));
        }
        if entry.enclosed_name().is_none() {
            return Err(refuse(format!("unsafe path in the zip: {entry_name:?}")));
        }
        if entry.is_symlink() {
            return Err(refuse(format!(
                "symbolic links are not allowed: {entry_name:?}"
            )));
        }
        if entry.encrypted() {
            return Err(refuse(format!(
                "encrypted entries are not allowed: {entry_name:?}"
            )));
        }
        if !seen.insert(entry_name.trim_end_matches('/').to_owned()) {
            return Err(refuse(format!("duplicate entry {entry_name:?}")));
        }
        if entry.is_dir() {
            continue;
        }
        let declared = entry.size();
        let compressed = entry.compressed_size();
        if declared > RATIO_FLOOR
            && (compressed == 0 || declared / compressed.max(1) > limits.max_ratio)
        {
            return Err(refuse(format!(
                "{entry_name:?} expands {declared} bytes from {compressed}: more than {}:1",
                limits.max_ratio
            )));
        }
        if total.saturating_add(declared) > limits.max_uncompressed {
            return Err(refuse(format!(
                "the zip expands to more than {} bytes",
                limits.max_uncompressed
            )));
        }
        // Decompress for real, never past what the header declared: a lying header is a
        // bomb. Reading to the end also checks the CRC.
        let is_manifest = entry_name == "composer.json";
        let mut buffer = Vec::new();
        let read = if is_manifest {
            if declared > MAX_MANIFEST {
                return Err(refuse("composer.json is larger than 1 MiB"));
            }
            (&mut entry)
                .take(declared + 1)
                .read_to_end(&mut buffer)
                .map_err(|e| refuse(format!("{entry_name:?} is corrupt: {e}")))? as u64
        } else {
            std::io::copy(&mut (&mut entry).take(declared + 1), &mut std::io::sink())
                .map_err(|e| refuse(format!("{entry_name:?} is corrupt: {e}")))?
        };
        if read != declared {
            return Err(refuse(format!(
                "{entry_name:?} does not expand to the size its header declares"
            )));
        }
        total += read;
        if is_manifest {
            manifest_bytes = Some(buffer);
        }
    }
    let bytes = manifest_bytes.ok_or_else(|| refuse("composer.json is missing at the zip root"))?;
    manifest(&bytes, name, version)
}

/// Validates the `composer.json` of a dist.
pub fn manifest(
    bytes: &[u8],
    name: &PackageName,
    version: &Version,
) -> Result<Manifest, ArchiveError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| refuse(format!("composer.json is not valid JSON: {e}")))?;
    let Value::Object(mut composer) = value else {
        return Err(refuse("composer.json must be a JSON object"));
    };
    match composer.get("name") {
        Some(Value::String(n)) if n == name.as_str() => {}
        Some(Value::String(n)) => {
            return Err(refuse(format!(
                "composer.json names {n:?}, but the URL names {:?}",
                name.as_str()
            )));
        }
        _ => return Err(refuse("composer.json must have a name")),
    }
    if let Some(v) = composer.get("version") {
        let declared = v
            .as_str()
            .and_then(|s| Version::parse(s).ok())
            .ok_or_else(|| refuse("composer.json has an invalid version"))?;
        if declared != *version {
            return Err(refuse(format!(
                "composer.json declares version {v}, but the URL says {}",
                version.normalized()
            )));
        }
    }
    let package_type = match composer.get("type") {
        None => PackageType::Library,
        Some(Value::String(t)) => PackageType::parse(t).ok_or_else(|| {
            refuse(format!(
                "type {t:?} is not one of harmony-extension, harmony-theme, \
                 harmony-translation, library"
            ))
        })?,
        Some(_) => return Err(refuse("composer.json type must be a string")),
    };
    let description = match composer.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d.chars().take(1000).collect()),
        Some(_) => return Err(refuse("composer.json description must be a string")),
    };
    composer.retain(|k, _| SERVED_KEYS.iter().any(|(served, _)| served == k));
    for (key, shape) in SERVED_KEYS {
        if let Some(v) = composer.get(key)
            && !(shape.fits(v) || (key == "description" && v.is_null()))
        {
            return Err(refuse(format!(
                "composer.json {key} must be {}",
                shape.describe()
            )));
        }
    }
    Ok(Manifest {
        composer,
        package_type,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn name() -> PackageName {
        PackageName::parse("acme/theme").unwrap()
    }

    fn v() -> Version {
        Version::parse("1.0.0").unwrap()
    }

    /// The server's limits, as its settings default them.
    fn limits() -> ArchiveLimits {
        crate::config::PackagesConfig::default().archive_limits()
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default();
        for (n, data) in entries {
            w.start_file(*n, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const MANIFEST: &[u8] = br#"{"name": "acme/theme", "type": "harmony-theme"}"#;

    #[test]
    fn a_plain_dist_passes() {
        let z = zip_of(&[("composer.json", MANIFEST), ("src/a.php", b"<?php")]);
        let m = inspect(&z, &name(), &v(), &limits()).unwrap();
        assert_eq!(m.package_type, PackageType::Theme);
    }

    #[test]
    fn hostile_paths_are_refused() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\x"] {
            let z = zip_of(&[("composer.json", MANIFEST), (bad, b"x")]);
            assert!(inspect(&z, &name(), &v(), &limits()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bombs_and_too_many_entries_are_refused() {
        let big = vec![0u8; 1024 * 1024];
        let z = zip_of(&[("composer.json", MANIFEST), ("zeros", &big)]);
        assert!(inspect(&z, &name(), &v(), &limits()).is_err());
        let limits = ArchiveLimits {
            max_entries: 2,
            ..limits()
        };
        let z = zip_of(&[("composer.json", MANIFEST), ("a", b"1"), ("b", b"2")]);
        assert!(inspect(&z, &name(), &v(), &limits).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = inspect(&bytes, &name(), &v(), &limits());
            let _ = manifest(&bytes, &name(), &v());
        }

        #[test]
        fn corrupted_zips_never_panic(index in 0usize..400, byte in proptest::prelude::any::<u8>()) {
            let mut z = zip_of(&[("composer.json", MANIFEST), ("src/a.php", b"<?php echo 1;")]);
            let i = index % z.len();
            z[i] = byte;
            let _ = inspect(&z, &name(), &v(), &limits());
        }
    }

    #[test]
    fn a_local_header_naming_another_file_is_refused() {
        let z = zip_of(&[("composer.json", MANIFEST), ("src/legit1.php", b"<?php")]);
        let inner = z.windows(14).position(|w| w == b"src/legit1.php").unwrap();
        let mut hostile = z.clone();
        // The first occurrence is the local header; the central directory keeps its name.
        hostile[inner..inner + 14].copy_from_slice(b"../../evil.php");
        let err = inspect(&hostile, &name(), &v(), &limits()).unwrap_err();
        assert!(err.0.contains("local header"), "{err}");
        assert!(inspect(&z, &name(), &v(), &limits()).is_ok());
    }

    #[test]
    fn only_the_served_keys_are_kept_and_they_have_their_shapes() {
        let m = manifest(
            br#"{"name": "acme/theme", "source": {"type": "git", "url": "https://evil"},
                 "notification-url": "https://evil/notify", "dist": {"url": "https://evil"},
                 "scripts": {"post-install-cmd": "x"}, "time": "2000-01-01",
                 "autoload": {"psr-4": {"Acme\\": "src/"}}, "license": "MIT"}"#,
            &name(),
            &v(),
        )
        .unwrap();
        let keys: Vec<&str> = m.composer.keys().map(String::as_str).collect();
        assert_eq!(keys, ["name", "autoload", "license"]);
        for bad in [
            br#"{"name": "acme/theme", "autoload": "src/"}"#.as_slice(),
            br#"{"name": "acme/theme", "suggest": {"a/b": 1}}"#,
            br#"{"name": "acme/theme", "bin": {"x": "y"}}"#,
        ] {
            assert!(manifest(bad, &name(), &v()).is_err());
        }
        let mut stored = serde_json::from_str::<Map<String, Value>>(
            r#"{"name": "a/b", "source": {}, "notification-url": "x", "require": {}}"#,
        )
        .unwrap();
        retain_served_keys(&mut stored);
        assert_eq!(stored.keys().collect::<Vec<_>>(), ["name", "require"]);
    }

    #[test]
    fn manifests_must_match_the_url() {
        let other = br#"{"name": "acme/other"}"#;
        assert!(manifest(other, &name(), &v()).is_err());
        let wrong_version = br#"{"name": "acme/theme", "version": "2.0.0"}"#;
        assert!(manifest(wrong_version, &name(), &v()).is_err());
        let same_version = br#"{"name": "acme/theme", "version": "v1.0"}"#;
        assert!(manifest(same_version, &name(), &v()).is_ok());
        assert!(manifest(b"{", &name(), &v()).is_err());
        assert!(manifest(br#"{"name":"acme/theme","type":"x"}"#, &name(), &v()).is_err());
    }
}
