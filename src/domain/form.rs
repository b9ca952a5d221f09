//! `application/x-www-form-urlencoded` — query strings and form bodies — read strictly: the
//! percent-decoded bytes must be UTF-8. `form_urlencoded::parse` alone replaces a bad
//! sequence with U+FFFD, which would turn `?q=%FF%FE` into a search for "��" (or a
//! password into another one) instead of an error the caller can see.

/// The input is not UTF-8 once percent-decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not valid UTF-8 once percent-decoded")]
pub struct NotUtf8;

/// The name–value pairs of `input`, or [`NotUtf8`] when any name or value is not UTF-8.
pub fn pairs(input: &[u8]) -> Result<form_urlencoded::Parse<'_>, NotUtf8> {
    // The separators (`&`, `=`, `+`) are ASCII, and ASCII bytes never occur inside a
    // multi-byte sequence: the whole input decodes to UTF-8 exactly when every name and
    // value does. Without a `%` (the usual form) there is nothing to decode, and the bytes
    // are checked as they are, faster than the decoder's scan of every byte.
    if input.contains(&b'%') {
        percent_encoding::percent_decode(input)
            .decode_utf8()
            .map_err(|_| NotUtf8)?;
    } else {
        std::str::from_utf8(input).map_err(|_| NotUtf8)?;
    }
    Ok(form_urlencoded::parse(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &str) -> Result<Vec<(String, String)>, NotUtf8> {
        Ok(pairs(input.as_bytes())?
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect())
    }

    #[test]
    fn utf8_is_decoded_as_before() {
        assert_eq!(
            collect("q=caf%C3%A9+au+lait&page=2").unwrap(),
            [
                ("q".into(), "café au lait".into()),
                ("page".into(), "2".into())
            ]
        );
        // A real U+FFFD, sent encoded, is a character like any other.
        assert_eq!(collect("q=%EF%BF%BD").unwrap()[0].1, "\u{fffd}");
        // A stray `%` stays literal, as form_urlencoded has it.
        assert_eq!(collect("q=100%").unwrap()[0].1, "100%");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        for bad in [
            "q=%FF%FE",
            "%FF=x",
            "a=%E2%82",
            "a=%E2&b=%82%AC",
            "q=%C0%AF",
        ] {
            assert_eq!(collect(bad), Err(NotUtf8), "{bad}");
        }
        assert!(pairs(b"q=\xff").is_err());
        assert!(pairs(b"q=\xe2\x82&r=%41").is_err());
        assert!(pairs("q=café".as_bytes()).is_ok());
    }
}
