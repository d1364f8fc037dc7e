//! What a browser page contributes to `context`: the page itself and the
//! campaign in its UTM parameters, from the strings the shell reads.

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Map, Value};

/// `context.page`: path, referrer, search, title, url (Segment's fields).
pub fn page_context(url: &str, referrer: &str, title: &str) -> Map<String, Value> {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let (base, query) = match without_fragment.split_once('?') {
        Some((b, q)) => (b, ["?", q].concat()),
        None => (without_fragment, String::new()),
    };
    // No panicking slices or substring searches here: this runs in the
    // browser, where each of them drags formatting code into the wasm.
    let after_scheme = match base.find(':') {
        Some(i) if base.get(i..i + 3) == Some("://") => base.get(i + 3..).unwrap_or_default(),
        _ => base,
    };
    let path = after_scheme.find('/').and_then(|i| after_scheme.get(i..)).unwrap_or("/");
    let mut m = Map::new();
    m.insert("path".into(), path.into());
    m.insert("referrer".into(), referrer.into());
    m.insert("search".into(), query.into());
    m.insert("title".into(), title.into());
    m.insert("url".into(), without_fragment.into());
    m
}

/// `context.campaign` from `utm_*` parameters (`utm_campaign` becomes `name`),
/// or `None` when the query has none.
pub fn campaign(search: &str) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    for pair in search.trim_start_matches('?').split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = match decode(k).as_str() {
            "utm_source" => "source",
            "utm_medium" => "medium",
            "utm_campaign" => "name",
            "utm_term" => "term",
            "utm_content" => "content",
            _ => continue,
        };
        m.insert(key.into(), decode(v).into());
    }
    (!m.is_empty()).then_some(m)
}

/// Percent-decoding of a query component (`+` is a space); invalid escapes
/// are kept as they are, and a value that decodes to invalid UTF-8 stays undecoded.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
        match b {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use expect_test::expect;

    #[test]
    fn page_fields_from_the_location() {
        let p = page_context(
            "https://shop.example/products/tr?utm_source=news#reviews",
            "https://google.com/",
            "Trail Runner",
        );
        expect![[r#"{"path":"/products/tr","referrer":"https://google.com/","search":"?utm_source=news","title":"Trail Runner","url":"https://shop.example/products/tr?utm_source=news"}"#]]
            .assert_eq(&Value::Object(p).to_string());
        let p = page_context("http://127.0.0.1:8787", "", "");
        expect![[r#"{"path":"/","referrer":"","search":"","title":"","url":"http://127.0.0.1:8787"}"#]]
            .assert_eq(&Value::Object(p).to_string());
    }

    #[test]
    fn utm_parameters_become_the_campaign() {
        let c = campaign(
            "?utm_source=news%20letter&utm_medium=email&utm_campaign=winter+sale&utm_term=&x=1&utm_content=%E2%9C%93",
        );
        expect![[r#"{"content":"✓","medium":"email","name":"winter sale","source":"news letter","term":""}"#]]
            .assert_eq(&c.map(Value::Object).unwrap_or_default().to_string());
        assert_eq!(campaign("?page=2"), None);
        assert_eq!(campaign(""), None);
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%ff"), "%ff");
    }
}
