//! Strict JSON parsing for untrusted input.
//!
//! serde_json does the scanning (fast, validates UTF-8, rejects numbers that
//! overflow an f64, limits nesting to 128 levels); this module adds what a
//! plain `from_slice` lets through: duplicate object keys, which different
//! parsers resolve differently (first wins, last wins) and so are an ambiguity
//! an attacker can use. The result is an ordinary `serde_json::Value`.

use alloc::string::{String, ToString};
use core::fmt;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a body is not acceptable JSON, with the position serde_json reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses `bytes` as one JSON document, rejecting duplicate keys.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de).map_err(describe)?;
    de.end().map_err(describe)?;
    Ok(value)
}

fn describe(e: serde_json::Error) -> JsonError {
    let message = e.to_string();
    let message = if message.starts_with("recursion limit exceeded") {
        ["nesting is deeper than 128 levels", message.trim_start_matches("recursion limit exceeded")].concat()
    } else {
        message
    };
    JsonError { message }
}

struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = alloc::vec::Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(Strict)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(["duplicate key `", &key, "`"].concat()));
            }
            let value = map.next_value_seed(Strict)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The length of `value` serialized compactly (how the limits measure an event).
pub fn encoded_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;
    use expect_test::expect;

    fn check(inputs: &[&[u8]], expect: expect_test::Expect) {
        let lines: Vec<String> = inputs
            .iter()
            .map(|b| {
                let shown = String::from_utf8_lossy(b);
                let shown: String = shown.chars().take(40).collect();
                match parse(b) {
                    Ok(v) => format!("{shown:<42} ok {v}"),
                    Err(e) => format!("{shown:<42} {e}"),
                }
            })
            .collect();
        expect.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn accepts_json_and_rejects_ambiguity() {
        check(
            &[
                br#"{"a": 1, "b": [true, null, "x"], "c": {"d": -1.5e3}}"#,
                br#"{"a": 1, "a": 2}"#,
                br#"{"a": {"b": 1, "b": 1}}"#,
                br#"[{"k": 1}, {"k": 2}]"#,
                b"{\"a\": \"\xff\"}",
                br#"{"n": 1e400}"#,
                br#"{"n": 18446744073709551615}"#,
                br#"{"n": -9223372036854775808}"#,
                br#"{"a": 1} trailing"#,
                br#"{"a": 1"#,
                b"",
                br#"{"s": "\ud800"}"#,
            ],
            expect![[r#"
                {"a": 1, "b": [true, null, "x"], "c": {"   ok {"a":1,"b":[true,null,"x"],"c":{"d":-1500.0}}
                {"a": 1, "a": 2}                           duplicate key `a` at line 1 column 12
                {"a": {"b": 1, "b": 1}}                    duplicate key `b` at line 1 column 18
                [{"k": 1}, {"k": 2}]                       ok [{"k":1},{"k":2}]
                {"a": "�"}                                 invalid unicode code point at line 1 column 8
                {"n": 1e400}                               number out of range at line 1 column 11
                {"n": 18446744073709551615}                ok {"n":18446744073709551615}
                {"n": -9223372036854775808}                ok {"n":-9223372036854775808}
                {"a": 1} trailing                          trailing characters at line 1 column 10
                {"a": 1                                    EOF while parsing an object at line 1 column 7
                                                           EOF while parsing a value at line 1 column 0
                {"s": "\ud800"}                            unexpected end of hex escape at line 1 column 14"#]],
        );
    }

    #[test]
    fn limits_nesting() {
        let deep: Vec<u8> = core::iter::repeat_n(b'[', 200).chain(core::iter::repeat_n(b']', 200)).collect();
        let err = parse(&deep).expect_err("too deep");
        assert!(err.message.starts_with("nesting is deeper than 128 levels"), "{err}");
        let ok: Vec<u8> = core::iter::repeat_n(b'[', 100).chain(core::iter::repeat_n(b']', 100)).collect();
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn measures_encoded_length() {
        let v = parse(br#"{"a": [1, "two", {"b": null}]}"#).expect("json");
        assert_eq!(encoded_len(&v), serde_json::to_string(&v).expect("serializes").len());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn agrees_with_serde_json_on_valid_documents(s in "[\\[\\]{}\",:0-9a-z ]{0,60}") {
            match (serde_json::from_str::<Value>(&s), parse(s.as_bytes())) {
                (Ok(theirs), Ok(ours)) => proptest::prop_assert_eq!(ours, theirs),
                (Ok(_), Err(e)) => proptest::prop_assert!(e.message.starts_with("duplicate key"), "{e}"),
                (Err(_), Ok(ours)) => proptest::prop_assert!(false, "accepted what serde_json rejects: {ours}"),
                (Err(_), Err(_)) => {}
            }
        }
    }
}
