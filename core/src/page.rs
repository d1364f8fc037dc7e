//! What a browser page contributes to `context`: the page itself and the
//! campaign in its UTM parameters, from the strings the shell reads.
//!
//! This runs in the browser, so it writes JSON text directly (no `Value`) and
//! uses no panicking slices or `char` searches (see `text`).

use alloc::string::String;
use alloc::vec::Vec;

use crate::json_out::Obj;
use crate::text;

/// The parts of a page URL that `context.page` reports.
#[derive(Debug, PartialEq, Eq)]
pub struct Location<'a> {
    /// The URL without its fragment.
    pub url: &'a str,
    pub path: &'a str,
    /// The query with its `?`, or empty.
    pub search: &'a str,
}

pub fn location(url: &str) -> Location<'_> {
    let url = text::before(url, b'#');
    let (base, search) = match url.bytes().position(|b| b == b'?') {
        Some(i) => (url.get(..i).unwrap_or_default(), url.get(i..).unwrap_or_default()),
        None => (url, ""),
    };
    let after_scheme = match text::cut(base, b':') {
        Some((_, rest)) if rest.get(..2) == Some("//") => rest.get(2..).unwrap_or_default(),
        _ => base,
    };
    let path = after_scheme.bytes().position(|b| b == b'/').and_then(|i| after_scheme.get(i..)).unwrap_or("/");
    Location { url, path, search }
}

/// Writes `page` (path, referrer, search, title, url: Segment's fields) and,
/// when the URL has UTM parameters, `campaign` into a `context` object.
pub fn write_context(context: &mut Obj<'_>, url: &str, referrer: &str, title: &str) {
    let loc = location(url);
    let mut page = Obj::new(context.key("page"));
    page.str("path", loc.path)
        .str("referrer", referrer)
        .str("search", loc.search)
        .str("title", title)
        .str("url", loc.url);
    page.end();
    let campaign = campaign(loc.search);
    if !campaign.is_empty() {
        let mut c = Obj::new(context.key("campaign"));
        for (k, v) in &campaign {
            c.str(k, v);
        }
        c.end();
    }
}

/// `context.campaign`'s fields from `utm_*` parameters (`utm_campaign`
/// becomes `name`), in the order they appear.
pub fn campaign(search: &str) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    let query = if search.starts_with('?') { search.get(1..).unwrap_or_default() } else { search };
    for pair in text::split(query, b'&') {
        let (k, v) = text::cut(pair, b'=').unwrap_or((pair, ""));
        let key = match decode(k).as_str() {
            "utm_source" => "source",
            "utm_medium" => "medium",
            "utm_campaign" => "name",
            "utm_term" => "term",
            "utm_content" => "content",
            _ => continue,
        };
        fields.push((key, decode(v)));
    }
    fields
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
    use expect_test::expect;

    fn context(url: &str, referrer: &str, title: &str) -> String {
        let mut out = String::new();
        let mut ctx = Obj::new(&mut out);
        write_context(&mut ctx, url, referrer, title);
        ctx.end();
        serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
        out
    }

    #[test]
    fn page_fields_from_the_location() {
        expect![[r#"{"page":{"path":"/products/tr","referrer":"https://google.com/","search":"?utm_source=news","title":"Trail \"Runner\"","url":"https://shop.example/products/tr?utm_source=news"},"campaign":{"source":"news"}}"#]]
            .assert_eq(&context(
                "https://shop.example/products/tr?utm_source=news#reviews",
                "https://google.com/",
                "Trail \"Runner\"",
            ));
        expect![[r#"{"page":{"path":"/","referrer":"","search":"","title":"","url":"http://127.0.0.1:8787"}}"#]]
            .assert_eq(&context("http://127.0.0.1:8787", "", ""));
        assert_eq!(location("about:blank"), Location { url: "about:blank", path: "/", search: "" });
        assert_eq!(location("/a/b?x#y"), Location { url: "/a/b?x", path: "/a/b", search: "?x" });
    }

    #[test]
    fn utm_parameters_become_the_campaign() {
        let c = campaign(
            "?utm_source=news%20letter&utm_medium=email&utm_campaign=winter+sale&utm_term=&x=1&utm_content=%E2%9C%93",
        );
        expect![[r#"[("source", "news letter"), ("medium", "email"), ("name", "winter sale"), ("term", ""), ("content", "✓")]"#]]
            .assert_eq(&alloc::format!("{c:?}"));
        assert!(campaign("?page=2").is_empty());
        assert!(campaign("").is_empty());
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%ff"), "%ff");
    }
}
