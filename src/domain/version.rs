//! Composer's versions and version constraints, as Composer reads them
//! (`composer/semver`): normalization (`1.2.3` → `1.2.3.0`, `v2.0-beta1` → `2.0.0.0-beta1`,
//! `dev-main`, `1.x-dev`), ordering, stability, and constraints (`^`, `~`, `*`/`.x`
//! wildcards, comparison operators, hyphen ranges, `||` and `,`/space AND, `@stable`-style
//! flags and `dev-` branches).
//!
//! A constraint also carries the minimum stability it accepts: the `@flag` if it has one,
//! else the least stable version it names (`^1.0-beta` accepts betas), else `stable` — the
//! same answer Composer gives a root package with the default `minimum-stability`.

use std::cmp::Ordering;
use std::fmt;

/// The stability of a version, least stable first (the order Composer uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stability {
    /// A development version (`-dev`, `dev-branch`).
    Dev,
    /// `-alpha`, `-a`.
    Alpha,
    /// `-beta`, `-b`.
    Beta,
    /// `-RC`.
    Rc,
    /// A release.
    Stable,
}

impl Stability {
    /// Composer's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Dev => "dev",
            Stability::Alpha => "alpha",
            Stability::Beta => "beta",
            Stability::Rc => "RC",
            Stability::Stable => "stable",
        }
    }

    fn parse_flag(s: &str) -> Option<Stability> {
        match s.to_ascii_lowercase().as_str() {
            "dev" => Some(Stability::Dev),
            "alpha" => Some(Stability::Alpha),
            "beta" => Some(Stability::Beta),
            "rc" => Some(Stability::Rc),
            "stable" => Some(Stability::Stable),
            _ => None,
        }
    }
}

/// The pre-release (or patch) part of a numeric version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Modifier {
    Dev,
    Alpha,
    Beta,
    Rc,
    Stable,
    Patch,
}

/// A normalized version: either four numbers with a modifier, or a named branch
/// (`dev-main`), which has no order and matches only itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Version {
    /// `1.2.3.0`, `1.2.3.0-beta2`, `1.9999999.9999999.9999999-dev`.
    Numeric {
        /// The four numbers.
        parts: [u64; 4],
        /// Pre-release kind.
        modifier: ModifierPart,
    },
    /// `dev-main`: a branch.
    Branch(String),
}

/// A modifier and its number (`beta2` → Beta, 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModifierPart {
    kind: Modifier,
    number: Vec<u64>,
}

impl ModifierPart {
    const STABLE: ModifierPart = ModifierPart {
        kind: Modifier::Stable,
        number: Vec::new(),
    };
    const DEV: ModifierPart = ModifierPart {
        kind: Modifier::Dev,
        number: Vec::new(),
    };
}

impl PartialOrd for ModifierPart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ModifierPart {
    fn cmp(&self, other: &Self) -> Ordering {
        self.kind
            .cmp(&other.kind)
            .then_with(|| self.number.cmp(&other.number))
    }
}

/// Why a version or constraint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VersionError(pub String);

/// Largest number in one part; Composer uses 9999999 for open wildcards.
const WILDCARD: u64 = 9_999_999;

/// Longest version or constraint string accepted.
const MAX_LEN: usize = 256;

fn err(msg: impl Into<String>) -> VersionError {
    VersionError(msg.into())
}

impl Version {
    /// Parses and normalizes a version as Composer does.
    pub fn parse(input: &str) -> Result<Version, VersionError> {
        let s = input.trim();
        if s.is_empty() || s.len() > MAX_LEN {
            return Err(err("a version must be 1 to 256 characters"));
        }
        // Build metadata and aliases are not part of the version.
        let s = s.split('+').next().unwrap_or(s);
        if let Some(branch) = s.strip_prefix("dev-").or_else(|| s.strip_prefix("DEV-")) {
            if branch.is_empty()
                || !branch
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
            {
                return Err(err(format!("invalid branch version {input:?}")));
            }
            return Ok(Version::Branch(format!("dev-{branch}")));
        }
        // `1.x-dev`, `1.2.*-dev`: a branch alias, the highest version of that line.
        let lower = s.to_ascii_lowercase();
        if let Some(base) = lower.strip_suffix("-dev").or(lower.strip_suffix(".dev"))
            && (base.ends_with(".x") || base.ends_with(".*") || base == "x" || base == "*")
        {
            let base = base.trim_start_matches('v');
            let mut parts = [WILDCARD; 4];
            let nums: Vec<&str> = base.split('.').collect();
            for (i, n) in nums.iter().enumerate() {
                if *n == "x" || *n == "*" {
                    break;
                }
                if i >= 4 {
                    return Err(err(format!("invalid version {input:?}")));
                }
                parts[i] = n
                    .parse()
                    .map_err(|_| err(format!("invalid version {input:?}")))?;
            }
            return Ok(Version::Numeric {
                parts,
                modifier: ModifierPart::DEV,
            });
        }
        parse_numeric(s).ok_or_else(|| err(format!("invalid version {input:?}")))
    }

    /// Composer's `version_normalized` string.
    pub fn normalized(&self) -> String {
        self.to_string()
    }

    /// Its stability.
    pub fn stability(&self) -> Stability {
        match self {
            Version::Branch(_) => Stability::Dev,
            Version::Numeric { modifier, .. } => match modifier.kind {
                Modifier::Dev => Stability::Dev,
                Modifier::Alpha => Stability::Alpha,
                Modifier::Beta => Stability::Beta,
                Modifier::Rc => Stability::Rc,
                Modifier::Stable | Modifier::Patch => Stability::Stable,
            },
        }
    }

    /// Is it a development version (served in Composer's `~dev.json`)?
    pub fn is_dev(&self) -> bool {
        self.stability() == Stability::Dev
    }

    fn numeric(parts: [u64; 4], kind: Modifier) -> Version {
        Version::Numeric {
            parts,
            modifier: ModifierPart {
                kind,
                number: Vec::new(),
            },
        }
    }

    /// Order between two numeric versions; `None` when either is a branch.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        match (self, other) {
            (
                Version::Numeric {
                    parts: a,
                    modifier: ma,
                },
                Version::Numeric {
                    parts: b,
                    modifier: mb,
                },
            ) => Some(a.cmp(b).then_with(|| ma.cmp(mb))),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Branch(b) => f.write_str(b),
            Version::Numeric { parts, modifier } => {
                write!(f, "{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[3])?;
                let name = match modifier.kind {
                    Modifier::Stable => return Ok(()),
                    Modifier::Dev => return f.write_str("-dev"),
                    Modifier::Alpha => "alpha",
                    Modifier::Beta => "beta",
                    Modifier::Rc => "RC",
                    Modifier::Patch => "patch",
                };
                write!(f, "-{name}")?;
                let nums: Vec<String> = modifier.number.iter().map(u64::to_string).collect();
                f.write_str(&nums.join("."))
            }
        }
    }
}

/// `v?N(.N){0,3}` then an optional `[._-]?(alpha|a|beta|b|RC|patch|pl|p|stable)N…`
/// then an optional `[.-]?dev`.
fn parse_numeric(s: &str) -> Option<Version> {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut parts = [0u64; 4];
    let mut count = 0;
    loop {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 10 || count == 4 {
            return None;
        }
        parts[count] = s[start..i].parse().ok()?;
        count += 1;
        if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() && count < 4 {
            i += 1;
            continue;
        }
        break;
    }
    let rest = s[i..].to_ascii_lowercase();
    let mut rest = rest.as_str();
    let mut modifier = ModifierPart::STABLE;
    // The trailing dev marker.
    let mut dev = false;
    for suffix in ["-dev", ".dev", "dev"] {
        if let Some(r) = rest.strip_suffix(suffix) {
            rest = r;
            dev = true;
            break;
        }
    }
    let r = rest.trim_start_matches(['.', '_', '-']);
    if rest.len() - r.len() > 1 || (r.is_empty() && !rest.is_empty()) {
        return None;
    }
    if !r.is_empty() {
        let (kind, tail) = [
            ("alpha", Modifier::Alpha),
            ("beta", Modifier::Beta),
            ("stable", Modifier::Stable),
            ("patch", Modifier::Patch),
            ("rc", Modifier::Rc),
            ("pl", Modifier::Patch),
            ("a", Modifier::Alpha),
            ("b", Modifier::Beta),
            ("p", Modifier::Patch),
        ]
        .iter()
        .find_map(|(name, kind)| r.strip_prefix(name).map(|t| (*kind, t)))?;
        let mut number = Vec::new();
        for n in tail.split(['.', '-']) {
            if n.is_empty() {
                continue;
            }
            if n.len() > 10 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            number.push(n.parse().ok()?);
        }
        if tail.starts_with(['.', '-']) && number.is_empty() {
            return None;
        }
        modifier = ModifierPart { kind, number };
    }
    if dev {
        if modifier != ModifierPart::STABLE {
            // `1.0-beta-dev` is unusual; Composer keeps it, we refuse it to stay simple.
            return None;
        }
        modifier = ModifierPart::DEV;
    }
    Some(Version::Numeric { parts, modifier })
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One comparison against a version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bound {
    op: Op,
    version: Version,
}

impl Bound {
    fn matches(&self, v: &Version) -> bool {
        if let (Version::Branch(a), Version::Branch(b)) = (&self.version, v) {
            return match self.op {
                Op::Eq => a == b,
                Op::Ne => a != b,
                _ => false,
            };
        }
        let Some(ord) = v.compare(&self.version) else {
            // A branch against a numeric bound: only "not equal" holds.
            return self.op == Op::Ne;
        };
        match self.op {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

/// A parsed constraint: alternatives (`||`) of conjunctions (`,` or space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    any_of: Vec<Vec<Bound>>,
    min_stability: Stability,
    text: String,
}

impl Constraint {
    /// Parses Composer's constraint syntax.
    pub fn parse(input: &str) -> Result<Constraint, VersionError> {
        let text = input.trim();
        if text.is_empty() || text.len() > MAX_LEN {
            return Err(err("a constraint must be 1 to 256 characters"));
        }
        if !text.is_ascii() {
            return Err(err("a constraint is ASCII"));
        }
        let mut min_stability: Option<Stability> = None;
        let mut lowest_named = Stability::Stable;
        let mut any_of = Vec::new();
        for alternative in split_or(text) {
            let alternative = alternative.trim();
            if alternative.is_empty() {
                return Err(err(format!("empty alternative in {text:?}")));
            }
            let mut all = Vec::new();
            for term in split_and(alternative)? {
                let (term, flag) = match term.rsplit_once('@') {
                    Some((t, f)) => {
                        let flag = Stability::parse_flag(f)
                            .ok_or_else(|| err(format!("unknown stability flag @{f}")))?;
                        (t, Some(flag))
                    }
                    None => (term.as_str(), None),
                };
                if let Some(flag) = flag {
                    min_stability = Some(min_stability.map_or(flag, |m| m.min(flag)));
                }
                if term.is_empty() {
                    // A bare flag (`@dev`) constrains nothing else.
                    continue;
                }
                let (bounds, named) = parse_term(term)?;
                lowest_named = lowest_named.min(named);
                all.extend(bounds);
            }
            any_of.push(all);
        }
        Ok(Constraint {
            any_of,
            min_stability: min_stability.unwrap_or(lowest_named),
            text: text.to_owned(),
        })
    }

    /// Does this version satisfy the constraint (stability included)?
    pub fn matches(&self, v: &Version) -> bool {
        v.stability() >= self.min_stability
            && self
                .any_of
                .iter()
                .any(|all| all.iter().all(|b| b.matches(v)))
    }

    /// The least stable version it accepts.
    pub fn min_stability(&self) -> Stability {
        self.min_stability
    }

    /// The constraint as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn split_or(s: &str) -> Vec<&str> {
    // `||` is the documented spelling; Composer still accepts a single `|`.
    s.split("||").flat_map(|p| p.split('|')).collect()
}

/// Splits a conjunction on `,` and whitespace, keeping an operator together with its
/// version (`>= 1.0`) and `A - B` hyphen ranges together.
fn split_and(s: &str) -> Result<Vec<String>, VersionError> {
    let tokens: Vec<&str> = s
        .split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
        .collect();
    let mut terms: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        if ["<", "<=", ">", ">=", "=", "==", "!=", "<>", "^", "~"].contains(&t) {
            let next = tokens
                .get(i + 1)
                .ok_or_else(|| err(format!("{t} needs a version")))?;
            terms.push(format!("{t}{next}"));
            i += 2;
        } else if tokens.get(i + 1) == Some(&"-") {
            let upper = tokens
                .get(i + 2)
                .ok_or_else(|| err("a hyphen range needs an upper bound"))?;
            terms.push(format!("{t} - {upper}"));
            i += 3;
        } else {
            terms.push(t.to_owned());
            i += 1;
        }
    }
    if terms.is_empty() {
        return Err(err("empty constraint"));
    }
    Ok(terms)
}

/// The numbers given in a partial version (`1.2` → [1, 2]) and its modifier text.
fn partial(s: &str) -> Result<(Vec<u64>, Version), VersionError> {
    let v = Version::parse(s)?;
    let s = s.trim().strip_prefix(['v', 'V']).unwrap_or(s.trim());
    let count = s
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or("")
        .split('.')
        .filter(|p| !p.is_empty())
        .count();
    match &v {
        Version::Numeric { parts, .. } => Ok((parts[..count.clamp(1, 4)].to_vec(), v)),
        Version::Branch(_) => Err(err(format!("{s:?} is a branch, not a version"))),
    }
}

fn bump(given: &[u64], position: usize) -> Result<[u64; 4], VersionError> {
    let mut parts = [0u64; 4];
    for (i, p) in given.iter().take(position).enumerate() {
        parts[i] = *p;
    }
    parts[position - 1] = given[position - 1]
        .checked_add(1)
        .ok_or_else(|| err("version number too large"))?;
    Ok(parts)
}

fn fill(given: &[u64]) -> [u64; 4] {
    let mut parts = [0u64; 4];
    parts[..given.len()].copy_from_slice(given);
    parts
}

fn ge(v: Version) -> Bound {
    Bound {
        op: Op::Ge,
        version: v,
    }
}

fn lt_dev(parts: [u64; 4]) -> Bound {
    Bound {
        op: Op::Lt,
        version: Version::numeric(parts, Modifier::Dev),
    }
}

/// A lower bound at the start of a line includes its pre-releases (`>=1.2.0.0-dev`).
fn lower(v: Version) -> Version {
    match v {
        Version::Numeric { parts, modifier } if modifier == ModifierPart::STABLE => {
            Version::numeric(parts, Modifier::Dev)
        }
        other => other,
    }
}

/// One term: its bounds and the least stable version it names.
fn parse_term(term: &str) -> Result<(Vec<Bound>, Stability), VersionError> {
    let named = |v: &Version| v.stability();
    // Hyphen range.
    if let Some((a, b)) = term.split_once(" - ") {
        let (_, from) = partial(a)?;
        let (given, to) = partial(b)?;
        let upper = if given.len() < 4 && to.stability() == Stability::Stable {
            lt_dev(bump(&given, given.len())?)
        } else {
            Bound {
                op: Op::Le,
                version: to.clone(),
            }
        };
        let s = named(&from).min(named(&to));
        return Ok((vec![ge(lower(from)), upper], s));
    }
    // Wildcards.
    if term == "*" || term == "x" || term == "X" {
        return Ok((vec![], Stability::Stable));
    }
    if let Some(base) = term
        .strip_suffix(".*")
        .or_else(|| term.strip_suffix(".x"))
        .or_else(|| term.strip_suffix(".X"))
    {
        let (given, _) = partial(base)?;
        if given.len() >= 4 {
            return Err(err(format!("invalid wildcard {term:?}")));
        }
        let from = Version::numeric(fill(&given), Modifier::Dev);
        return Ok((
            vec![ge(from), lt_dev(bump(&given, given.len())?)],
            Stability::Stable,
        ));
    }
    if let Some(rest) = term.strip_prefix('^') {
        let (given, v) = partial(rest)?;
        let s = named(&v);
        // The first non-zero part is the one that may not change.
        let position = given
            .iter()
            .position(|&p| p != 0)
            .map_or(given.len(), |i| i + 1)
            .min(given.len().max(1));
        return Ok((vec![ge(lower(v)), lt_dev(bump(&given, position)?)], s));
    }
    if let Some(rest) = term.strip_prefix('~') {
        let (given, v) = partial(rest)?;
        let s = named(&v);
        let position = if given.len() <= 1 { 1 } else { given.len() - 1 };
        return Ok((vec![ge(lower(v)), lt_dev(bump(&given, position)?)], s));
    }
    let (op, rest) = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<>", Op::Ne),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("=", Op::Eq),
    ]
    .iter()
    .find_map(|(p, op)| term.strip_prefix(p).map(|r| (*op, r)))
    .unwrap_or((Op::Eq, term));
    let v = Version::parse(rest)?;
    let s = named(&v);
    if matches!(v, Version::Branch(_)) && !matches!(op, Op::Eq | Op::Ne) {
        return Err(err(format!("a branch cannot be compared with {term:?}")));
    }
    let version = match op {
        // Composer: `<1.0` and `>=1.0` mean the line's pre-releases too.
        Op::Lt | Op::Ge => lower(v),
        _ => v,
    };
    Ok((vec![Bound { op, version }], s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(s: &str) -> String {
        Version::parse(s).unwrap().normalized()
    }

    fn ok(c: &str, v: &str) -> bool {
        Constraint::parse(c)
            .unwrap_or_else(|e| panic!("{c}: {e}"))
            .matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn versions_normalize_as_composer_does() {
        for (input, expected) in [
            ("1.2.3", "1.2.3.0"),
            ("v1.2.3", "1.2.3.0"),
            ("1", "1.0.0.0"),
            ("1.2", "1.2.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0-beta1", "1.0.0.0-beta1"),
            ("1.0.0-beta.2", "1.0.0.0-beta2"),
            ("2.0-b3", "2.0.0.0-beta3"),
            ("1.0.0-alpha", "1.0.0.0-alpha"),
            ("1.0.0RC1", "1.0.0.0-RC1"),
            ("1.0.0-rc.1", "1.0.0.0-RC1"),
            ("1.0.0-pl2", "1.0.0.0-patch2"),
            ("1.0.0-dev", "1.0.0.0-dev"),
            ("1.0.0+build.5", "1.0.0.0"),
            ("dev-main", "dev-main"),
            ("dev-feature/x", "dev-feature/x"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("2.3.x-dev", "2.3.9999999.9999999-dev"),
        ] {
            assert_eq!(norm(input), expected, "{input}");
        }
        for bad in [
            "",
            "abc",
            "1.2.3.4.5",
            "1..2",
            "-1",
            "1.0-gamma",
            "dev-",
            "1.0.0-",
            "v",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions_order_with_pre_releases_before_releases() {
        let order = [
            "1.0.0-dev",
            "1.0.0-alpha1",
            "1.0.0-beta1",
            "1.0.0-beta2",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-patch1",
            "1.0.1",
            "1.10.0",
        ];
        for w in order.windows(2) {
            let (a, b) = (Version::parse(w[0]).unwrap(), Version::parse(w[1]).unwrap());
            assert_eq!(a.compare(&b), Some(Ordering::Less), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn caret_and_tilde() {
        assert!(ok("^1.2", "1.2.0"));
        assert!(ok("^1.2", "1.9.9"));
        assert!(!ok("^1.2", "2.0.0"));
        assert!(!ok("^1.2", "1.1.9"));
        assert!(!ok("^1.2", "2.0.0-beta1"));
        assert!(ok("^0.3", "0.3.5"));
        assert!(!ok("^0.3", "0.4.0"));
        assert!(ok("^0.0.3", "0.0.3"));
        assert!(!ok("^0.0.3", "0.0.4"));
        assert!(ok("~1.2", "1.9.0"));
        assert!(!ok("~1.2", "2.0.0"));
        assert!(ok("~1.2.3", "1.2.9"));
        assert!(!ok("~1.2.3", "1.3.0"));
        assert!(ok("~1", "1.5.0"));
        assert!(!ok("~1", "2.0.0"));
    }

    #[test]
    fn wildcards_ranges_and_operators() {
        assert!(ok("*", "3.0.0"));
        assert!(ok("1.*", "1.4.0"));
        assert!(!ok("1.*", "2.0.0"));
        assert!(ok("1.2.x", "1.2.7"));
        assert!(!ok("1.2.x", "1.3.0"));
        assert!(ok(">=1.0 <2.0", "1.5.0"));
        assert!(ok(">=1.0,<2.0", "1.5.0"));
        assert!(ok(">= 1.0, < 2.0", "1.5.0"));
        assert!(!ok(">=1.0 <2.0", "2.0.0"));
        assert!(ok(">1.0", "1.0.1"));
        assert!(!ok(">1.0", "1.0.0"));
        assert!(ok("<=1.0", "1.0.0"));
        assert!(ok("!=1.0", "1.0.1"));
        assert!(!ok("!=1.0", "1.0.0"));
        assert!(ok("1.0.0", "1.0.0"));
        assert!(ok("==1.0.0", "1.0.0"));
        assert!(!ok("1.0.0", "1.0.1"));
        assert!(ok("1.0 - 2.0", "2.0.5"));
        assert!(!ok("1.0 - 2.0", "2.1.0"));
        assert!(ok("1.0.0 - 2.1.0", "2.1.0"));
        assert!(!ok("1.0.0 - 2.1.0", "2.1.1"));
        assert!(ok("^1.0 || ^2.0", "2.3.0"));
        assert!(ok("^1.0 | ^2.0", "1.3.0"));
        assert!(!ok("^1.0 || ^2.0", "3.0.0"));
    }

    #[test]
    fn stability_flags_and_branches() {
        assert!(!ok("^1.0", "1.1.0-beta1"));
        assert!(ok("^1.0@beta", "1.1.0-beta1"));
        assert!(!ok("^1.0@beta", "1.1.0-alpha1"));
        assert!(ok("^1.0@dev", "1.1.0-alpha1"));
        assert!(ok("^1.1-beta1", "1.1.0-beta2"));
        assert!(ok("dev-main", "dev-main"));
        assert!(!ok("dev-main", "dev-other"));
        assert!(!ok("^1.0", "dev-main"));
        assert!(ok("1.x-dev", "1.x-dev"));
        assert!(ok("@stable", "1.0.0") && !ok("@stable", "1.0.0-RC1"));
    }

    #[test]
    fn malformed_constraints_are_errors() {
        for bad in [
            "",
            "^",
            ">=",
            "1.0 -",
            "^1.0@bogus",
            "foo",
            "||",
            "^1.0 ||",
            ">dev-main",
            "1.2.3.4.*",
            "é",
        ] {
            assert!(Constraint::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Version::parse(&s);
            let _ = Constraint::parse(&s);
        }

        #[test]
        fn caret_accepts_its_own_version_and_refuses_the_next_major(
            a in 1u64..50, b in 0u64..50, c in 0u64..50
        ) {
            let v = Version::parse(&format!("{a}.{b}.{c}")).unwrap();
            let caret = Constraint::parse(&format!("^{a}.{b}.{c}")).unwrap();
            prop_assert!(caret.matches(&v));
            let next = Version::parse(&format!("{}.0.0", a + 1)).unwrap();
            prop_assert!(!caret.matches(&next));
            let exact = Constraint::parse(&format!("{a}.{b}.{c}")).unwrap();
            prop_assert!(exact.matches(&v));
        }

        #[test]
        fn normalization_is_idempotent(
            a in 0u64..1000, b in 0u64..1000, c in 0u64..1000, m in 0usize..5, n in 0u64..20
        ) {
            let suffix = ["", "-alpha", "-beta", "-RC", "-dev"][m];
            let num = if m == 0 || m == 4 { String::new() } else { n.to_string() };
            let v = Version::parse(&format!("{a}.{b}.{c}{suffix}{num}")).unwrap();
            let again = Version::parse(&v.normalized()).unwrap();
            prop_assert_eq!(v, again);
        }
    }
}
