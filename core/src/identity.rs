//! Identifiers of a person, as identity resolution matches them: which ones a
//! message carries, and their normal form (emails by case and whitespace,
//! phones in E.164, user ids as given). Values that are placeholders rather
//! than identities ("null", "anonymous", "0", ...) are never identifiers.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Map, Value};

use crate::event::Message;

/// The kinds of identifier Cairn matches on, in merge priority order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdType {
    UserId,
    Email,
    Phone,
    AnonymousId,
    /// A configured one, such as a device id, read from `context.traits`/`traits`.
    Custom(String),
}

impl IdType {
    pub fn as_str(&self) -> &str {
        match self {
            IdType::UserId => "user_id",
            IdType::Email => "email",
            IdType::Phone => "phone",
            IdType::AnonymousId => "anonymous_id",
            IdType::Custom(name) => name,
        }
    }

    /// The inverse of `as_str`: any other name is a custom identifier.
    pub fn parse(s: &str) -> IdType {
        match s {
            "user_id" => IdType::UserId,
            "email" => IdType::Email,
            "phone" => IdType::Phone,
            "anonymous_id" => IdType::AnonymousId,
            other => IdType::Custom(other.to_owned()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    pub kind: IdType,
    pub value: String,
}

/// How identifiers are read: the region for national phone numbers, extra
/// blocked values and the names of custom identifier traits.
#[derive(Clone, Debug)]
pub struct Config {
    pub default_region: Region,
    pub blocked: Vec<String>,
    pub custom: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config { default_region: Region::US, blocked: Vec::new(), custom: Vec::new() }
    }
}

/// Placeholders that client code sends when it has no identity.
const BLOCKED: &[&str] =
    &["", "null", "undefined", "none", "nil", "anonymous", "unknown", "-1", "0", "n/a", "[object object]", "guest"];

/// Whether `value` is a placeholder rather than an identity.
pub fn is_blocked(value: &str, extra: &[String]) -> bool {
    let v = value.trim();
    BLOCKED.iter().any(|b| v.eq_ignore_ascii_case(b)) || extra.iter().any(|b| v.eq_ignore_ascii_case(b.trim()))
}

/// The identifiers a message carries, normalized, blocked values left out.
pub fn extract(msg: &Message, config: &Config) -> Vec<Identifier> {
    let mut out = Vec::new();
    let mut push = |kind: IdType, value: Option<String>| {
        if let Some(value) = value.filter(|v| !is_blocked(v, &config.blocked)) {
            let id = Identifier { kind, value };
            if !out.contains(&id) {
                out.push(id);
            }
        }
    };
    push(IdType::UserId, msg.user_id.clone());
    push(IdType::AnonymousId, msg.anonymous_id.clone());
    let context_traits = msg.context.get("traits").and_then(Value::as_object);
    for traits in [Some(&msg.traits), context_traits].into_iter().flatten() {
        push(IdType::Email, text(traits, "email").and_then(normalize_email));
        push(IdType::Phone, text(traits, "phone").and_then(|p| normalize_phone(p, config.default_region)));
        for name in &config.custom {
            push(IdType::Custom(name.clone()), text(traits, name).map(|v| v.trim().to_owned()));
        }
    }
    out.sort();
    out
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// Lower-cased and trimmed; `None` unless it looks like `local@domain.tld`.
pub fn normalize_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(e)
}

/// A country for national phone numbers: its calling code and whether a
/// national number starts with a trunk prefix to drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub code: &'static str,
    pub calling_code: &'static str,
    /// The trunk prefix of national numbers ("0" in most of Europe), if any.
    pub trunk: Option<&'static str>,
}

impl Region {
    pub const US: Region = Region { code: "US", calling_code: "1", trunk: Some("1") };

    /// The regions Cairn knows by ISO 3166 code.
    pub const ALL: &'static [Region] = &[
        Region::US,
        Region { code: "CA", calling_code: "1", trunk: Some("1") },
        Region { code: "GB", calling_code: "44", trunk: Some("0") },
        Region { code: "IE", calling_code: "353", trunk: Some("0") },
        Region { code: "DE", calling_code: "49", trunk: Some("0") },
        Region { code: "AT", calling_code: "43", trunk: Some("0") },
        Region { code: "CH", calling_code: "41", trunk: Some("0") },
        Region { code: "FR", calling_code: "33", trunk: Some("0") },
        Region { code: "BE", calling_code: "32", trunk: Some("0") },
        Region { code: "NL", calling_code: "31", trunk: Some("0") },
        Region { code: "IT", calling_code: "39", trunk: None },
        Region { code: "ES", calling_code: "34", trunk: None },
        Region { code: "PT", calling_code: "351", trunk: None },
        Region { code: "PL", calling_code: "48", trunk: None },
        Region { code: "SE", calling_code: "46", trunk: Some("0") },
        Region { code: "DK", calling_code: "45", trunk: None },
        Region { code: "NO", calling_code: "47", trunk: None },
        Region { code: "FI", calling_code: "358", trunk: Some("0") },
        Region { code: "AU", calling_code: "61", trunk: Some("0") },
        Region { code: "NZ", calling_code: "64", trunk: Some("0") },
        Region { code: "IN", calling_code: "91", trunk: Some("0") },
        Region { code: "JP", calling_code: "81", trunk: Some("0") },
        Region { code: "BR", calling_code: "55", trunk: Some("0") },
        Region { code: "MX", calling_code: "52", trunk: None },
    ];

    pub fn parse(code: &str) -> Option<Region> {
        Region::ALL.iter().copied().find(|r| r.code.eq_ignore_ascii_case(code))
    }
}

/// E.164 (`+4930123456`) from the ways people write numbers: `+49 30 123456`,
/// `0049-30-123456`, `(030) 123456` with `default` DE, `011 49 ...` from the US.
/// An extension (`x12`, `ext. 12`) is dropped. `None` for anything else.
pub fn normalize_phone(raw: &str, default: Region) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let main = lower.split("ext").next().unwrap_or_default();
    let main = main.split(['x', '#']).next().unwrap_or_default();
    let plus = main.trim_start().starts_with('+');
    let mut digits = String::new();
    for c in main.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            '+' if digits.is_empty() => {}
            _ => return None,
        }
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = digits.strip_prefix("011").filter(|_| default.calling_code == "1") {
        rest.to_owned()
    } else {
        let national = match default.trunk {
            // NANP: 10 digits, or 11 starting with the trunk "1".
            Some(t) if default.calling_code == "1" => match digits.len() {
                11 => digits.strip_prefix(t)?.to_owned(),
                10 => digits,
                _ => return None,
            },
            Some(t) => digits.strip_prefix(t)?.to_owned(),
            None => digits,
        };
        [default.calling_code, national.as_str()].concat()
    };
    let valid = (8..=15).contains(&international.len()) && !international.starts_with('0');
    valid.then(|| ["+", international.as_str()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Kind;
    use alloc::format;
    use expect_test::expect;

    #[test]
    fn phones_in_the_formats_people_write() {
        let de = Region::parse("de").expect("known region");
        let it = Region::parse("IT").expect("known region");
        let cases: Vec<(&str, Region)> = alloc::vec![
            ("+49 30 1234567", de),
            ("0049-30-1234567", de),
            ("030 / 123 45 67", de),
            ("(030) 1234567 ext. 22", de),
            ("+1 (415) 555-0100", Region::US),
            ("415.555.0100", Region::US),
            ("1-415-555-0100", Region::US),
            ("011 44 20 7946 0958", Region::US),
            ("06 1234 5678", it),
            ("2024-01-05", de),
            ("12345", de),
            ("+0 123 456 789", de),
            ("call me", de),
            ("415-555-010", Region::US),
            ("+49 30 1234567890123456", de),
        ];
        let lines: Vec<String> = cases
            .into_iter()
            .map(|(raw, r)| {
                format!("{raw:<28} {:<2} -> {}", r.code, normalize_phone(raw, r).unwrap_or_else(|| "-".into()))
            })
            .collect();
        expect![[r#"
            +49 30 1234567               DE -> +49301234567
            0049-30-1234567              DE -> +49301234567
            030 / 123 45 67              DE -> +49301234567
            (030) 1234567 ext. 22        DE -> +49301234567
            +1 (415) 555-0100            US -> +14155550100
            415.555.0100                 US -> +14155550100
            1-415-555-0100               US -> +14155550100
            011 44 20 7946 0958          US -> +442079460958
            06 1234 5678                 IT -> +390612345678
            2024-01-05                   DE -> -
            12345                        DE -> -
            +0 123 456 789               DE -> -
            call me                      DE -> -
            415-555-010                  US -> -
            +49 30 1234567890123456      DE -> -"#]]
        .assert_eq(&lines.join("\n"));
    }

    #[test]
    fn emails_and_blocked_values() {
        let cases = ["  Ada@Example.COM ", "ada@example", "@example.com", "a@b@c.com", "ada @example.com", "a@.com"];
        let got: Vec<Option<String>> = cases.iter().map(|e| normalize_email(e)).collect();
        assert_eq!(got, [Some("ada@example.com".into()), None, None, None, None, None]);
        for v in ["null", "NULL", " anonymous ", "0", "-1", "", "undefined", "[object Object]"] {
            assert!(is_blocked(v, &[]), "{v:?}");
        }
        assert!(!is_blocked("u-123", &[]));
        assert!(is_blocked("test", &["TEST".into()]));
    }

    #[test]
    fn extracts_every_identifier_a_message_carries() {
        let mut m = Message::new(Kind::Identify, "m".into(), 0);
        m.user_id = Some("u-1".into());
        m.anonymous_id = Some("anonymous".into());
        m.traits = serde_json::from_str(r#"{"email": "Ada@Example.com", "phone": "030 1234567", "device_id": "d-9"}"#)
            .expect("fixture");
        m.context = serde_json::from_str(r#"{"traits": {"email": "ada@example.com", "phone": "+49 30 7654321"}}"#)
            .expect("fixture");
        let config = Config {
            default_region: Region::parse("DE").expect("region"),
            blocked: Vec::new(),
            custom: alloc::vec!["device_id".into()],
        };
        let ids: Vec<String> =
            extract(&m, &config).iter().map(|i| format!("{}={}", i.kind.as_str(), i.value)).collect();
        expect!["user_id=u-1 email=ada@example.com phone=+49301234567 phone=+49307654321 device_id=d-9"]
            .assert_eq(&ids.join(" "));
    }

    proptest::proptest! {
        #[test]
        fn normal_forms_are_fixed_points(raw in "[+0-9 ()./x-]{0,24}", region in 0..Region::ALL.len()) {
            let r = Region::ALL[region];
            if let Some(e164) = normalize_phone(&raw, r) {
                proptest::prop_assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()));
                proptest::prop_assert_eq!(normalize_phone(&e164, r), Some(e164.clone()));
            }
        }

        #[test]
        fn emails_normalize_idempotently(raw in "\\PC{0,30}") {
            if let Some(e) = normalize_email(&raw) {
                proptest::prop_assert_eq!(normalize_email(&e), Some(e.clone()));
            }
        }
    }
}
