//! Messages about the invalid fields of a request, keyed by a field enum of the use case
//! (`ClientField::RedirectUris`), never by an API's spelling of it: each front end names
//! the fields its own way (the JSON API says `redirectUris`).

use std::collections::BTreeMap;
use std::fmt;

/// One message per invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors<F: Ord>(BTreeMap<F, String>);

impl<F: Ord> Default for FieldErrors<F> {
    fn default() -> Self {
        FieldErrors(BTreeMap::new())
    }
}

impl<F: Ord> FieldErrors<F> {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One invalid field.
    pub fn one(field: F, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.insert(field, message);
        errors
    }

    /// Records what is wrong with `field` (replacing an earlier message about it).
    pub fn insert(&mut self, field: F, message: impl Into<String>) {
        self.0.insert(field, message.into());
    }

    /// No field is invalid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many fields are invalid.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The message about `field`, if it is invalid.
    pub fn get(&self, field: &F) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// The fields and their messages, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&F, &str)> {
        self.0.iter().map(|(f, m)| (f, m.as_str()))
    }

    /// `Ok(())` when no field is invalid.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl<F: Ord> IntoIterator for FieldErrors<F> {
    type Item = (F, String);
    type IntoIter = std::collections::btree_map::IntoIter<F, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// `field message; field message`, with the fields' own `Display` (for people: the
/// command line, the logs).
impl<F: Ord + fmt::Display> fmt::Display for FieldErrors<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, message)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field} {message}")?;
        }
        Ok(())
    }
}
