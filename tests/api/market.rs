//! Shared helpers of the marketplace tests: zips built in memory and typed requests.

use std::io::{Cursor, Write};

use reqwest::Response;
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use crate::helpers::TestApp;

/// A zip of the given entries (deflated).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A zip of the given entries in which the name `placeholder` is then rewritten, byte for
/// byte, to `hostile` (same length): names a well-behaved writer refuses to produce.
pub fn zip_with_raw_name(entries: &[(&str, &[u8])], placeholder: &str, hostile: &str) -> Vec<u8> {
    assert_eq!(placeholder.len(), hostile.len());
    let mut bytes = zip_of(entries);
    let (from, to) = (placeholder.as_bytes(), hostile.as_bytes());
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    bytes
}

/// A zip written byte by byte, entries stored uncompressed, each given as
/// `(central directory name, local header name, data)`: what no zip writer produces when
/// the two names differ.
pub fn zip_by_hand(entries: &[(&str, &str, &[u8])]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let u16le = |n: usize| u16::try_from(n).unwrap().to_le_bytes();
    let u32le = |n: usize| u32::try_from(n).unwrap().to_le_bytes();
    const DATE_1980_01_01: [u8; 2] = [0x21, 0x00];
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (central_name, local_name, data) in entries {
        let offset = out.len();
        let crc = crc32(data).to_le_bytes();
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0]); // version, flags, stored, time
        out.extend_from_slice(&DATE_1980_01_01);
        out.extend_from_slice(&crc);
        out.extend_from_slice(&u32le(data.len()));
        out.extend_from_slice(&u32le(data.len()));
        out.extend_from_slice(&u16le(local_name.len()));
        out.extend_from_slice(&[0, 0]); // no extra field
        out.extend_from_slice(local_name.as_bytes());
        out.extend_from_slice(data);

        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0]); // made by, needed…
        central.extend_from_slice(&DATE_1980_01_01);
        central.extend_from_slice(&crc);
        central.extend_from_slice(&u32le(data.len()));
        central.extend_from_slice(&u32le(data.len()));
        central.extend_from_slice(&u16le(central_name.len()));
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
        central.extend_from_slice(&u32le(offset));
        central.extend_from_slice(central_name.as_bytes());
    }
    let central_offset = out.len();
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&u16le(entries.len()));
    out.extend_from_slice(&u16le(entries.len()));
    out.extend_from_slice(&u32le(central.len()));
    out.extend_from_slice(&u32le(central_offset));
    out.extend_from_slice(&[0, 0]);
    out
}

/// Incompressible bytes (xorshift).
pub fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A `composer.json`.
pub fn manifest(name: &str, kind: &str, extra: Value) -> Vec<u8> {
    let mut m = json!({ "name": name, "type": kind, "description": format!("{name} add-on") });
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            m.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&m).unwrap()
}

/// A valid dist of an add-on.
pub fn dist(name: &str, kind: &str) -> Vec<u8> {
    zip_of(&[
        ("composer.json", &manifest(name, kind, json!({}))),
        ("src/Plugin.php", b"<?php\n// plugin\n"),
        ("README.md", b"# readme\n"),
    ])
}

impl TestApp {
    /// `PUT /packages/{name}/versions/{version}` with a zip body.
    pub async fn publish(&self, token: &str, name: &str, version: &str, zip: Vec<u8>) -> Response {
        self.http
            .put(self.url(&format!("/packages/{name}/versions/{version}")))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/zip")
            .body(zip)
            .send()
            .await
            .expect("request")
    }

    /// Publishes a valid dist and asserts `201`.
    pub async fn publish_ok(&self, token: &str, name: &str, kind: &str, version: &str) {
        let r = self.publish(token, name, version, dist(name, kind)).await;
        let status = r.status();
        assert_eq!(status, 201, "{}", r.text().await.unwrap());
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.http
            .patch(self.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.http
            .put(self.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.http
            .delete(self.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("request")
    }

    /// Makes an add-on private.
    pub async fn make_private(&self, token: &str, name: &str) {
        let r = self
            .patch_json(
                &format!("/packages/{name}"),
                token,
                json!({ "visibility": "private" }),
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    /// `GET path` as JSON with an optional token, asserting `status`.
    pub async fn json_as(&self, path: &str, token: Option<&str>, status: u16) -> Value {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let r = req.send().await.expect("request");
        assert_eq!(r.status(), status, "GET {path}");
        r.json().await.unwrap_or(Value::Null)
    }
}
