//! Organizations: their names and their members' roles.
//!
//! An organization's name follows the rules of a vendor name (lower-case letters, digits
//! and single separators, as Composer's vendor part), so that an organization `acme` can
//! own the vendor `acme`. Organization names are their own namespace: an account and an
//! organization may share a name, since every owner is named with its kind
//! (`{"type": "org", "name": "acme"}`).

use std::fmt;

use super::fields::FieldErrors;
use super::package::valid_vendor;
use super::text::text_value;

/// A valid organization name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgName(String);

impl OrgName {
    /// Parses a name as a person typed it.
    pub fn parse(s: &str) -> Result<OrgName, &'static str> {
        if valid_vendor(s) {
            Ok(OrgName(s.to_owned()))
        } else {
            Err(
                "must be a vendor name: at most 100 lower-case letters and digits, separated by \
                 single '-', '_' or '.'",
            )
        }
    }
}

text_value!(OrgName);

/// What a member of an organization may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Installs the organization's private add-ons.
    Reader,
    /// And publishes and manages its add-ons.
    Maintainer,
    /// And manages its members and settings.
    Owner,
}

impl Role {
    /// The three roles, weakest first.
    pub const ALL: [Role; 3] = [Role::Reader, Role::Maintainer, Role::Owner];

    /// Parses `owner`, `maintainer` or `reader`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The word stored and spoken.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Maintainer => "maintainer",
            Role::Owner => "owner",
        }
    }
}

/// The fields of the organization use cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgField {
    /// The organization's name.
    Name,
    /// A member's role.
    Role,
    /// The kind of owner a vendor is given to (`user` or `org`).
    OwnerKind,
    /// The account or organization a vendor is given to.
    OwnerName,
}

impl fmt::Display for OrgField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrgField::Name => "name",
            OrgField::Role => "role",
            OrgField::OwnerKind => "owner type",
            OrgField::OwnerName => "owner name",
        })
    }
}

/// Messages about invalid organization fields.
pub type OrgErrors = FieldErrors<OrgField>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_vendor_rules() {
        assert!(OrgName::parse("acme").is_ok());
        assert!(OrgName::parse("acme-labs").is_ok());
        assert!(OrgName::parse("Acme").is_err());
        assert!(OrgName::parse("").is_err());
        assert!(OrgName::parse("a/b").is_err());
    }

    #[test]
    fn roles_round_trip_and_order() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
        assert!(Role::Owner > Role::Maintainer && Role::Maintainer > Role::Reader);
    }
}
