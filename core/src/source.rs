//! Sources: where events come from. Their settings, and which browser origins
//! may send with their write key.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Value, json};

use crate::event::{Violation, indexed_path};
use crate::ingest::IpPolicy;

/// What an operator sets when creating a source.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    pub name: String,
    /// Origins (`https://shop.example`) allowed to send from a browser; `*` for any.
    pub allowed_origins: Vec<String>,
    pub settings: Settings,
}

/// Per-source settings, stored as JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub ip: IpPolicy,
    /// User agent, referrer and query parameters kept (see `minimize`).
    pub minimize: crate::minimize::Minimize,
    /// Consent enforcement, PII policy and tracking plan (see `privacy`).
    pub privacy: crate::privacy::Rules,
    /// The traits `GET /v1/profile` may show to pages of this source
    /// (personalization); none by default.
    pub profile_traits: Vec<String>,
}

/// Longest trait name a source may expose.
const MAX_TRAIT_NAME: usize = 200;

impl Settings {
    /// Reads stored settings; unknown or missing values fall back to defaults.
    pub fn from_json(v: &Value) -> Settings {
        Settings {
            ip: v.get("ip").and_then(Value::as_str).and_then(IpPolicy::parse).unwrap_or_default(),
            profile_traits: v
                .get("profileTraits")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            minimize: v.get("minimize").and_then(|m| crate::minimize::Minimize::from_json(m).ok()).unwrap_or_default(),
            // Stored settings were validated when written; anything else is ignored.
            privacy: v.as_object().and_then(|m| crate::privacy::Rules::from_settings(m).ok()).unwrap_or_default(),
        }
    }

    pub fn to_json(&self) -> Value {
        let ip = match self.ip {
            IpPolicy::Keep => "keep",
            IpPolicy::Truncate => "truncate",
            IpPolicy::Drop => "drop",
        };
        let mut out = json!({ "ip": ip, "profileTraits": self.profile_traits, "minimize": self.minimize.to_json() });
        if let Some(m) = out.as_object_mut() {
            self.privacy.write_settings(m);
        }
        out
    }
}

/// Validates a `POST /admin/sources` body, reporting every problem.
pub fn parse_spec(v: &Value) -> Result<SourceSpec, Vec<Violation>> {
    let mut violations = Vec::new();
    let Some(obj) = v.as_object() else {
        return Err(alloc::vec![Violation::new("$", "not_an_object", "the body must be a JSON object")]);
    };
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.trim().to_owned(),
        Some(Value::String(_)) => {
            violations.push(Violation::new("name", "invalid", "name must be 1 to 200 characters"));
            String::new()
        }
        _ => {
            violations.push(Violation::new("name", "required", "name is required"));
            String::new()
        }
    };
    let allowed_origins = match obj.get("allowedOrigins") {
        None | Some(Value::Null) => alloc::vec!["*".to_owned()],
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(o) if o == "*" || is_origin(o) => out.push(o.to_owned()),
                    _ => violations.push(Violation::new(
                        indexed_path("allowedOrigins", i),
                        "invalid_origin",
                        "an origin is scheme://host[:port] with no path, or *",
                    )),
                }
            }
            out
        }
        Some(_) => {
            violations.push(Violation::new(
                "allowedOrigins",
                "wrong_type",
                "allowedOrigins must be an array of origins",
            ));
            Vec::new()
        }
    };
    let mut settings = Settings::default();
    match obj.get("settings") {
        None | Some(Value::Null) => {}
        Some(Value::Object(s)) => {
            match crate::privacy::Rules::from_settings(s) {
                Ok(rules) => settings.privacy = rules,
                Err(vs) => violations.extend(vs),
            }
            for (k, val) in s {
                match (k.as_str(), val.as_str().and_then(IpPolicy::parse)) {
                    ("ip", Some(p)) => settings.ip = p,
                    ("ip", None) => {
                        violations.push(Violation::new("settings.ip", "invalid", "ip must be keep, truncate or drop"))
                    }
                    ("profileTraits", _) => match val.as_array() {
                        Some(names)
                            if names
                                .iter()
                                .all(|n| n.as_str().is_some_and(|n| !n.is_empty() && n.len() <= MAX_TRAIT_NAME)) =>
                        {
                            settings.profile_traits =
                                names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect();
                        }
                        _ => violations.push(Violation::new(
                            "settings.profileTraits",
                            "invalid",
                            "profileTraits must be an array of trait names (1 to 200 characters)",
                        )),
                    },
                    ("consent" | "eventCategories" | "piiPolicy" | "trackingPlan", _) => {}
                    ("minimize", _) => match crate::minimize::Minimize::from_json(val) {
                        Ok(m) => settings.minimize = m,
                        Err(vs) => violations.extend(vs),
                    },
                    _ => violations.push(Violation::new(
                        ["settings.", k.as_str()].concat(),
                        "unknown_setting",
                        "unknown setting",
                    )),
                }
            }
        }
        Some(_) => violations.push(Violation::new("settings", "wrong_type", "settings must be an object")),
    }
    if violations.is_empty() { Ok(SourceSpec { name, allowed_origins, settings }) } else { Err(violations) }
}

/// `scheme://host[:port]` with an http(s) scheme and nothing after the authority.
pub fn is_origin(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")) else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    host_ok && port_ok
}

/// Whether a browser on `origin` may send with a source allowing `allowed`.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use expect_test::expect;

    fn check(body: &str) -> String {
        match parse_spec(&serde_json::from_str(body).expect("fixture")) {
            Ok(s) => format!("{} {:?} {}", s.name, s.allowed_origins, s.settings.to_json()),
            Err(vs) => vs.iter().map(|v| format!("{} {}", v.path, v.code)).collect::<Vec<_>>().join("; "),
        }
    }

    #[test]
    fn source_specs() {
        expect![[r#"Shop ["*"] {"consent":"enforce","eventCategories":{},"ip":"truncate","minimize":{"referrer":"keep","stripQuery":[],"userAgent":"keep"},"piiPolicy":null,"profileTraits":[],"trackingPlan":null}"#]].assert_eq(&check(r#"{"name": " Shop "}"#));
        expect![[r#"App ["https://a.example", "http://localhost:3000"] {"consent":"enforce","eventCategories":{},"ip":"keep","minimize":{"referrer":"keep","stripQuery":[],"userAgent":"keep"},"piiPolicy":null,"profileTraits":[],"trackingPlan":null}"#]].assert_eq(&check(
            r#"{"name": "App", "allowedOrigins": ["https://a.example", "http://localhost:3000"], "settings": {"ip": "keep"}}"#,
        ));
        expect!["name required; allowedOrigins[0] invalid_origin; allowedOrigins[1] invalid_origin; settings.ip invalid; settings.x unknown_setting"]
            .assert_eq(&check(
                r#"{"allowedOrigins": ["https://a.example/path", "ftp://x"], "settings": {"ip": "all", "x": 1}}"#,
            ));
        expect![[r#"Shop ["*"] {"consent":"enforce","eventCategories":{},"ip":"truncate","minimize":{"referrer":"keep","stripQuery":[],"userAgent":"keep"},"piiPolicy":null,"profileTraits":["name","plan"],"trackingPlan":null}"#]]
            .assert_eq(&check(r#"{"name": "Shop", "settings": {"profileTraits": ["name", "plan"]}}"#));
        expect!["settings.profileTraits invalid"]
            .assert_eq(&check(r#"{"name": "Shop", "settings": {"profileTraits": ["name", 3, ""]}}"#));
        expect!["settings.minimize.referrer invalid"]
            .assert_eq(&check(r#"{"name": "Shop", "settings": {"minimize": {"referrer": "blur"}}}"#));
        expect!["$ not_an_object"].assert_eq(&check("[]"));
    }

    #[test]
    fn origins() {
        let ok = ["https://shop.example", "http://127.0.0.1:8787", "http://[::1]:8080", "https://a-b.example.com"];
        let bad = [
            "shop.example",
            "https://",
            "https://a.example/",
            "https://a.example:99999",
            "https://a b",
            "javascript:x",
        ];
        assert!(ok.iter().all(|o| is_origin(o)), "{ok:?}");
        assert!(!bad.iter().any(|o| is_origin(o)), "{bad:?}");
        let allowed = ["https://shop.example".to_owned()];
        assert!(origin_allowed(&allowed, "https://SHOP.example"));
        assert!(!origin_allowed(&allowed, "https://evil.example"));
        assert!(origin_allowed(&["*".to_owned()], "https://any.example"));
    }
}
