//! Keeping personal data out of free text that a page shows, such as the
//! label of a clicked element: emails and long digit runs (phone, card and
//! account numbers) are replaced before the text leaves the page.
//!
//! Runs in the browser SDK, so it walks bytes and chars without `char`
//! pattern searches (see `text`).

use alloc::string::String;

/// What stands in for scrubbed text.
pub const REDACTED: &str = "[redacted]";

/// Digits in a run (with separators between them) that make it a number
/// worth hiding: 7 is the shortest local phone number.
const MIN_DIGITS: usize = 7;

/// `text` with every email-like token and every run of 7 or more digits
/// (spaces, `-`, `.`, `/`, parentheses and a leading `+` allowed between
/// them) replaced by `[redacted]`.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let token_end = rest.bytes().position(|b| b.is_ascii_whitespace()).unwrap_or(rest.len());
        let token = rest.get(..token_end).unwrap_or_default();
        if is_email(token) {
            out.push_str(REDACTED);
            rest = rest.get(token_end..).unwrap_or_default();
            continue;
        }
        let run = digit_run(rest);
        if run > 0 {
            out.push_str(REDACTED);
            rest = rest.get(run..).unwrap_or_default();
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// `local@domain.tld`, possibly wrapped in punctuation.
fn is_email(token: &str) -> bool {
    let token = token.trim_matches(|c: char| c.is_ascii_punctuation());
    let Some((local, domain)) = crate::text::cut(token, b'@') else { return false };
    !local.is_empty() && domain.len() > 2 && domain.bytes().skip(1).any(|b| b == b'.') && !domain.ends_with('.')
}

/// The length of the number run at the start of `s` when it has at least
/// `MIN_DIGITS` digits, else 0. The run ends at its last digit (or `)`).
fn digit_run(s: &str) -> usize {
    let bytes = s.as_bytes();
    let start_ok = match bytes.first() {
        Some(b) if b.is_ascii_digit() => true,
        Some(b'+' | b'(') => bytes.get(1).is_some_and(u8::is_ascii_digit),
        _ => false,
    };
    if !start_ok {
        return 0;
    }
    let (mut digits, mut end) = (0, 0);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                end = i + 1;
            }
            b')' => end = i + 1,
            b' ' | b'-' | b'.' | b'/' | b'(' | b'+' => {}
            _ => break,
        }
    }
    if digits >= MIN_DIGITS { end } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;
    use expect_test::expect;

    #[test]
    fn scrubbed_texts() {
        let cases = [
            "Add to cart",
            "Email ana.lopez+shop@example.com now",
            "(ana@example.co.uk)",
            "Call +49 30 1234 5678 today",
            "Call (030) 123-4567",
            "Card 4111 1111 1111 1111",
            "Order #12345 for €149.50",
            "Size 42, 3 left",
            "not@an-email and a@b",
            "Ünïcödé 💡 label",
            "2024-01-05",
        ];
        let got: Vec<_> = cases.iter().map(|c| format!("{c:?} -> {:?}", scrub(c))).collect();
        expect![[r#"
            "Add to cart" -> "Add to cart"
            "Email ana.lopez+shop@example.com now" -> "Email [redacted] now"
            "(ana@example.co.uk)" -> "[redacted]"
            "Call +49 30 1234 5678 today" -> "Call [redacted] today"
            "Call (030) 123-4567" -> "Call [redacted]"
            "Card 4111 1111 1111 1111" -> "Card [redacted]"
            "Order #12345 for €149.50" -> "Order #12345 for €149.50"
            "Size 42, 3 left" -> "Size 42, 3 left"
            "not@an-email and a@b" -> "not@an-email and a@b"
            "Ünïcödé 💡 label" -> "Ünïcödé 💡 label"
            "2024-01-05" -> "[redacted]"
        "#]]
        .assert_eq(&(got.join("\n") + "\n"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_text_without_digits_or_at(s in "\\PC{0,40}") {
            let out = scrub(&s);
            if !s.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
                proptest::prop_assert_eq!(out, s);
            }
        }
    }
}
