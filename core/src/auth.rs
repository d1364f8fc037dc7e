//! Credentials as they arrive over HTTP: the write key in Basic auth and the
//! admin bearer token.

use alloc::string::String;
use alloc::vec::Vec;

/// The user part of an `Authorization: Basic base64(user:password)` header,
/// which is how Segment's libraries send a write key (`writeKey:`).
pub fn basic_user(header: &str) -> Option<String> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(rest.trim())?).ok()?;
    let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
    (!user.is_empty()).then(|| user.into())
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim()).filter(|t| !t.is_empty())
}

/// Compares two secrets in time that depends only on their lengths, so that
/// response timing does not reveal how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0
}

/// Standard base64 (RFC 4648, with or without padding).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_write_key_from_basic_auth() {
        // base64("cairn_demo_key:") and base64("key:secret")
        assert_eq!(basic_user("Basic Y2Fpcm5fZGVtb19rZXk6").as_deref(), Some("cairn_demo_key"));
        assert_eq!(basic_user("basic a2V5OnNlY3JldA==").as_deref(), Some("key"));
        assert_eq!(basic_user("Basic a2V5").as_deref(), Some("key"));
        assert_eq!(basic_user("Basic Og=="), None); // ":"
        assert_eq!(basic_user("Basic !!!"), None);
        assert_eq!(basic_user("Bearer a2V5"), None);
        assert_eq!(basic_user(""), None);
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
    }

    #[test]
    fn compares_secrets() {
        assert!(constant_time_eq(b"cairn", b"cairn"));
        assert!(!constant_time_eq(b"cairn", b"cairm"));
        assert!(!constant_time_eq(b"cairn", b"cairn2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
