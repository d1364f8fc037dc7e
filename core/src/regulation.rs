//! Privacy regulations (Segment's regulation types, plus access): what an
//! operator asks, validated, and how suppressed identifiers are remembered:
//! as keyed hashes, never in the clear.

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;

use crate::event::{Violation, indexed_path};
use crate::identity::{self, Config, IdType, Identifier};
use crate::pii::sha256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Stop accepting new events from the person.
    SuppressOnly,
    /// Accept them again (undoes a suppression).
    Unsuppress,
    /// Delete everything held about the person and suppress them.
    SuppressWithDelete,
    /// Delete everything held about the person.
    DeleteOnly,
    /// Export everything held about the person.
    Access,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::SuppressOnly, Kind::Unsuppress, Kind::SuppressWithDelete, Kind::DeleteOnly, Kind::Access];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SuppressOnly => "SUPPRESS_ONLY",
            Kind::Unsuppress => "UNSUPPRESS",
            Kind::SuppressWithDelete => "SUPPRESS_WITH_DELETE",
            Kind::DeleteOnly => "DELETE_ONLY",
            Kind::Access => "ACCESS",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn deletes(self) -> bool {
        matches!(self, Kind::SuppressWithDelete | Kind::DeleteOnly)
    }

    pub fn suppresses(self) -> bool {
        matches!(self, Kind::SuppressOnly | Kind::SuppressWithDelete)
    }
}

/// A validated request: the people it is about, as normalized identifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    pub subject_type: &'static str,
    pub subjects: Vec<Identifier>,
}

/// The most subjects one request may name.
pub const MAX_SUBJECTS: usize = 100;

/// Reads `{"type": "SUPPRESS_WITH_DELETE", "subjectType": "email", "subjectIds": ["a@b.com"]}`,
/// normalizing each id as ingest would; every problem is reported.
pub fn parse(v: &Value, config: &Config) -> Result<Request, Vec<Violation>> {
    let mut violations = Vec::new();
    let kind = v.get("type").and_then(Value::as_str).and_then(Kind::parse);
    if kind.is_none() {
        violations.push(Violation::new(
            "type",
            "invalid",
            "type is SUPPRESS_ONLY, UNSUPPRESS, SUPPRESS_WITH_DELETE, DELETE_ONLY or ACCESS",
        ));
    }
    let subject = match v.get("subjectType").and_then(Value::as_str) {
        Some("userId") => Some(("userId", IdType::UserId)),
        Some("anonymousId") => Some(("anonymousId", IdType::AnonymousId)),
        Some("email") => Some(("email", IdType::Email)),
        Some("phone") => Some(("phone", IdType::Phone)),
        _ => {
            violations.push(Violation::new(
                "subjectType",
                "invalid",
                "subjectType is userId, anonymousId, email or phone",
            ));
            None
        }
    };
    let mut subjects = Vec::new();
    match v.get("subjectIds").and_then(Value::as_array) {
        Some(ids) if !ids.is_empty() && ids.len() <= MAX_SUBJECTS => {
            for (i, id) in ids.iter().enumerate() {
                let Some(raw) = id.as_str() else {
                    violations.push(Violation::new(indexed_path("subjectIds", i), "wrong_type", "ids are strings"));
                    continue;
                };
                let Some((_, kind)) = &subject else { continue };
                let value = match kind {
                    IdType::Email => identity::normalize_email(raw),
                    IdType::Phone => identity::normalize_phone(raw, config.default_region),
                    _ => Some(String::from(raw)).filter(|r| !identity::is_blocked(r, &config.blocked)),
                };
                match value {
                    Some(value) => subjects.push(Identifier { kind: kind.clone(), value }),
                    None => violations.push(Violation::new(
                        indexed_path("subjectIds", i),
                        "invalid",
                        "not a valid identifier of the subject type",
                    )),
                }
            }
        }
        _ => violations.push(Violation::new("subjectIds", "invalid", "subjectIds is an array of 1 to 100 ids")),
    }
    match (kind, subject, violations.is_empty()) {
        (Some(kind), Some((subject_type, _)), true) => {
            subjects.sort();
            subjects.dedup();
            Ok(Request { kind, subject_type, subjects })
        }
        _ => Err(violations),
    }
}

/// How a suppressed identifier is stored and looked up: HMAC-SHA256 of
/// `type:value` under the workspace's secret, in hex.
pub fn suppression_hash(salt: &[u8], id: &Identifier) -> String {
    let text = [id.kind.as_str(), ":", &id.value].concat();
    sha256::hex(&sha256::hmac(salt, text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use expect_test::expect;
    use serde_json::json;

    fn show(v: Value) -> String {
        match parse(&v, &Config::default()) {
            Ok(r) => {
                let ids: Vec<String> = r.subjects.iter().map(|i| format!("{}={}", i.kind.as_str(), i.value)).collect();
                format!("{} {} {ids:?}", r.kind.as_str(), r.subject_type)
            }
            Err(vs) => vs.iter().map(|v| format!("{} {}", v.path, v.code)).collect::<Vec<_>>().join("; "),
        }
    }

    #[test]
    fn requests_are_validated_and_normalized() {
        expect![[r#"SUPPRESS_WITH_DELETE email ["email=ada@example.com"]"#]].assert_eq(&show(
            json!({"type": "SUPPRESS_WITH_DELETE", "subjectType": "email", "subjectIds": [" Ada@Example.com", "ada@example.com"]}),
        ));
        expect![[r#"ACCESS phone ["phone=+14155550100"]"#]]
            .assert_eq(&show(json!({"type": "ACCESS", "subjectType": "phone", "subjectIds": ["(415) 555-0100"]})));
        expect!["type invalid; subjectType invalid; subjectIds invalid"]
            .assert_eq(&show(json!({"type": "FORGET", "subjectType": "cookie", "subjectIds": []})));
        expect!["subjectIds[0] invalid; subjectIds[1] wrong_type"]
            .assert_eq(&show(json!({"type": "DELETE_ONLY", "subjectType": "userId", "subjectIds": ["null", 7]})));
    }

    #[test]
    fn hashes_depend_on_the_type_and_the_secret() {
        let id = |k: IdType| Identifier { kind: k, value: "x".into() };
        let a = suppression_hash(b"s1", &id(IdType::UserId));
        assert_eq!(a.len(), 64);
        assert_ne!(a, suppression_hash(b"s2", &id(IdType::UserId)));
        assert_ne!(a, suppression_hash(b"s1", &id(IdType::AnonymousId)));
        assert_eq!(a, suppression_hash(b"s1", &id(IdType::UserId)));
    }
}
