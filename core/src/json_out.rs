//! Writing JSON text directly, without a `Value` tree.
//!
//! The browser SDK builds every message with this: it keeps serde_json (its
//! parser, serializer and float formatting) out of the wasm that pages
//! download. Numbers are not written here: the SDK's numbers come from the
//! page already as JSON text (`JSON.stringify`).

use alloc::string::String;

/// Appends `s` as a JSON string literal (RFC 8259 escapes; `<`, `>` and `&`
/// stay as they are, like `JSON.stringify`).
pub fn push_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends `n` in decimal (without core::fmt, which costs kilobytes of wasm).
pub fn push_u64(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or_default() {
        out.push(char::from(d));
    }
}

/// The nesting of JSON text: how many objects and arrays are still open at
/// its end, or `None` when it closes more than it opens, ends inside a
/// string, or closes everything before its last byte (so it is more than
/// one value). Cheap structural checks for text the SDK splices together,
/// not a validator.
pub fn open_depth(text: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let last = text.len().saturating_sub(1);
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 && i != last {
                    return None;
                }
            }
            _ => {}
        }
    }
    (!in_string).then_some(depth)
}

/// Whether `text` is one JSON object as far as its structure goes (what
/// `JSON.stringify` makes of an object).
pub fn is_one_object(text: &str) -> bool {
    text.starts_with('{') && text.ends_with('}') && open_depth(text) == Some(0)
}

/// A JSON object being written into a `String`: `{` on creation, `}` on `end`.
pub struct Obj<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, empty: true }
    }

    /// Writes the key and returns the buffer, for the caller to write the value.
    pub fn key(&mut self, k: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_str(self.out, k);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        let out = self.key(k);
        push_str(out, v);
        self
    }

    /// A value that is JSON text already.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        self.key(k).push_str(json);
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    /// Like `str`, leaving the key out when there is no value.
    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.str(k, v);
        }
        self
    }

    /// Closes the object.
    pub fn end(&mut self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_serde_json() {
        for s in ["", "plain", "quote \" backslash \\ slash /", "\n\r\t\u{0}\u{8}\u{c}\u{1f}\u{7f}", "ünï 💡 <a>&"]
        {
            let mut out = String::new();
            push_str(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).expect("valid JSON"), s, "{out}");
            assert_eq!(out, serde_json::to_string(s).expect("serializable"));
        }
    }

    #[test]
    fn objects() {
        let mut out = String::new();
        let mut o = Obj::new(&mut out);
        o.str("a", "x").raw("n", "1.5").bool("b", false).opt_str("none", None).opt_str("some", Some("y"));
        let mut inner = Obj::new(o.key("inner"));
        inner.end();
        o.end();
        assert_eq!(out, r#"{"a":"x","n":1.5,"b":false,"some":"y","inner":{}}"#);
    }

    #[test]
    fn structure() {
        for (text, depth) in [
            ("{}", Some(0)),
            (r#"{"a":"}{","b":[1,{"c":"\\\""}]}"#, Some(0)),
            (r#"{"type":"track","context":{"page":{}"#, Some(2)),
            (r#"{"a":1}, "userId":"x", "b":{}"#, None),
            (r#"{"a":"unterminated}"#, None),
            ("}", None),
        ] {
            assert_eq!(open_depth(text), depth, "{text}");
        }
        assert!(is_one_object(r#"{"a":[1]}"#));
        assert!(!is_one_object(r#"{}, "userId":"x", "p":{}"#));
        assert!(!is_one_object("[]"));
    }

    proptest::proptest! {
        #[test]
        fn serialized_objects_are_one_object(m in proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..4)) {
            let text = serde_json::to_string(&m).expect("serializable");
            proptest::prop_assert!(is_one_object(&text), "{}", text);
        }

        #[test]
        fn integers_are_written_in_decimal(n: u64) {
            let mut out = String::new();
            push_u64(&mut out, n);
            proptest::prop_assert_eq!(out, alloc::format!("{n}"));
        }

        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in ".*") {
            let mut out = String::new();
            push_str(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_string(&s).expect("serializable"));
        }
    }
}
