//! Data minimization per source: keep only as much of what browsers reveal
//! as the source needs (the IP address is handled by `ingest::IpPolicy`).

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Map, Value, json};

use crate::event::{Message, Violation, indexed_path};

/// How much of the user agent is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserAgent {
    #[default]
    Keep,
    /// The browser and its major version, and the OS family: `Chrome/156; Linux`.
    Reduce,
    Drop,
}

/// How much of the referrer is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Referrer {
    #[default]
    Keep,
    /// `https://www.google.com/search?q=...` becomes `https://www.google.com/`.
    Origin,
    Drop,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Minimize {
    pub user_agent: UserAgent,
    pub referrer: Referrer,
    /// Query parameters removed from page URLs (`context.page.url`,
    /// `context.page.search`, `properties.url`, `properties.search`); `*`
    /// removes all but the `utm_*` campaign parameters.
    pub strip_query: Vec<String>,
}

impl Minimize {
    /// Reads `{"userAgent": "reduce", "referrer": "origin", "stripQuery": ["email", "token"]}`.
    pub fn from_json(v: &Value) -> Result<Minimize, Vec<Violation>> {
        let mut m = Minimize::default();
        let mut violations = Vec::new();
        let Some(obj) = v.as_object() else {
            return Err(alloc::vec![Violation::new("settings.minimize", "wrong_type", "an object")]);
        };
        for (k, val) in obj {
            let s = val.as_str();
            match (k.as_str(), s) {
                ("userAgent", Some("keep")) => m.user_agent = UserAgent::Keep,
                ("userAgent", Some("reduce")) => m.user_agent = UserAgent::Reduce,
                ("userAgent", Some("drop")) => m.user_agent = UserAgent::Drop,
                ("referrer", Some("keep")) => m.referrer = Referrer::Keep,
                ("referrer", Some("origin")) => m.referrer = Referrer::Origin,
                ("referrer", Some("drop")) => m.referrer = Referrer::Drop,
                ("stripQuery", _) => match val.as_array() {
                    Some(names) => {
                        for (i, n) in names.iter().enumerate() {
                            match n.as_str().filter(|n| !n.is_empty()) {
                                Some(n) => m.strip_query.push(n.into()),
                                None => violations.push(Violation::new(
                                    indexed_path("settings.minimize.stripQuery", i),
                                    "invalid",
                                    "parameter names are non-empty strings",
                                )),
                            }
                        }
                    }
                    None => violations.push(Violation::new("settings.minimize.stripQuery", "wrong_type", "an array")),
                },
                ("userAgent" | "referrer", _) => violations.push(Violation::new(
                    ["settings.minimize.", k.as_str()].concat(),
                    "invalid",
                    "keep, reduce (userAgent), origin (referrer) or drop",
                )),
                _ => violations.push(Violation::new(
                    ["settings.minimize.", k.as_str()].concat(),
                    "unknown_setting",
                    "unknown setting",
                )),
            }
        }
        if violations.is_empty() { Ok(m) } else { Err(violations) }
    }

    pub fn to_json(&self) -> Value {
        let ua = match self.user_agent {
            UserAgent::Keep => "keep",
            UserAgent::Reduce => "reduce",
            UserAgent::Drop => "drop",
        };
        let referrer = match self.referrer {
            Referrer::Keep => "keep",
            Referrer::Origin => "origin",
            Referrer::Drop => "drop",
        };
        json!({"userAgent": ua, "referrer": referrer, "stripQuery": self.strip_query})
    }

    /// Applies the settings to a message (after enrichment).
    pub fn apply(&self, msg: &mut Message) {
        match self.user_agent {
            UserAgent::Keep => {}
            UserAgent::Reduce => {
                if let Some(Value::String(ua)) = msg.context.get_mut("userAgent") {
                    *ua = reduce_user_agent(ua);
                }
            }
            UserAgent::Drop => {
                msg.context.remove("userAgent");
            }
        }
        if let Some(Value::Object(page)) = msg.context.get_mut("page") {
            match self.referrer {
                Referrer::Keep => {}
                Referrer::Origin => {
                    if let Some(Value::String(r)) = page.get_mut("referrer") {
                        *r = origin(r);
                    }
                }
                Referrer::Drop => {
                    page.remove("referrer");
                }
            }
            self.strip(page);
        }
        let mut properties = core::mem::take(&mut msg.properties);
        self.strip(&mut properties);
        msg.properties = properties;
    }

    fn strip(&self, m: &mut Map<String, Value>) {
        if self.strip_query.is_empty() {
            return;
        }
        for key in ["url", "search"] {
            if let Some(Value::String(s)) = m.get_mut(key) {
                *s = strip_query(s, &self.strip_query);
            }
        }
    }
}

fn strips(name: &str, strip: &[String]) -> bool {
    strip.iter().any(|s| s == name || (s == "*" && !name.starts_with("utm_")))
}

/// `url` (or a bare `?search`) without the named query parameters.
pub fn strip_query(url: &str, strip: &[String]) -> String {
    let (base, rest) = match url.split_once('?') {
        Some((b, r)) => (b, r),
        None => return url.into(),
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !strips(pair.split('=').next().unwrap_or_default(), strip))
        .collect();
    let mut out = String::from(base);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `scheme://host[:port]/` of a URL; empty for anything else.
pub fn origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return String::new() };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() { String::new() } else { [scheme, "://", host, "/"].concat() }
}

/// The browser with its major version and the OS family, from a user agent.
pub fn reduce_user_agent(ua: &str) -> String {
    let version = |token: &str| -> Option<String> {
        let start = ua.find(token)? + token.len();
        let major: String = ua.get(start..)?.chars().take_while(char::is_ascii_digit).collect();
        (!major.is_empty()).then_some(major)
    };
    let browser =
        [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("OPR/", "Opera"), ("Chrome/", "Chrome"), ("Version/", "Safari")]
            .into_iter()
            .find_map(|(token, name)| version(token).map(|v| [name, "/", &v].concat()))
            .unwrap_or_else(|| String::from("Other"));
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map_or("Other", |(_, name)| name);
    [browser.as_str(), "; ", os].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use expect_test::expect;

    #[test]
    fn user_agents_reduce_to_browser_and_os() {
        let uas = [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.114 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Safari/537.36 Edg/125.0.2535.51",
            "curl/8.5.0",
        ];
        let out: Vec<String> = uas.iter().map(|u| reduce_user_agent(u)).collect();
        expect![[
            r#"["Chrome/156; Linux", "Safari/17; iOS", "Firefox/126; Windows", "Edge/125; Windows", "Other; Other"]"#
        ]]
        .assert_eq(&format!("{out:?}"));
    }

    #[test]
    fn urls_lose_the_named_parameters() {
        let strip = [String::from("email"), String::from("token")];
        assert_eq!(strip_query("https://s.io/p?email=a%40b.co&x=1&token=t#f", &strip), "https://s.io/p?x=1#f");
        assert_eq!(strip_query("?email=a", &strip), "");
        assert_eq!(strip_query("https://s.io/p", &strip), "https://s.io/p");
        let all = [String::from("*")];
        assert_eq!(strip_query("/p?utm_source=n&q=shoes&utm_medium=e", &all), "/p?utm_source=n&utm_medium=e");
        assert_eq!(origin("https://www.google.com/search?q=x"), "https://www.google.com/");
        assert_eq!(origin("not a url"), "");
    }

    #[test]
    fn settings_apply_to_a_message() {
        let m = Minimize::from_json(&json!({"userAgent": "reduce", "referrer": "origin", "stripQuery": ["email"]}))
            .expect("valid");
        let received = crate::event::Received { at: 0, id_seed: [0; 16] };
        let mut msg = crate::event::normalize(
            None,
            json!({"type": "page", "anonymousId": "a", "properties": {"url": "https://s.io/?email=x&p=1"},
                   "context": {"userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36",
                               "page": {"url": "https://s.io/?email=x&p=1", "search": "?email=x&p=1",
                                        "referrer": "https://mail.example/inbox/123"}}}),
            &received,
            None,
        )
        .expect("valid");
        m.apply(&mut msg);
        expect![[r#"{"page":{"referrer":"https://mail.example/","search":"?p=1","url":"https://s.io/?p=1"},"userAgent":"Chrome/156; Linux"} {"url":"https://s.io/?p=1"}"#]]
            .assert_eq(&format!("{} {}", Value::Object(msg.context), Value::Object(msg.properties)));
        let bad = Minimize::from_json(&json!({"userAgent": "hide", "stripQuery": [""], "x": 1}));
        assert_eq!(bad.err().map(|v| v.len()), Some(3));
    }
}
