//! Personal data in events: detecting and classifying it ([`classify`] for a
//! field's value, [`classify_field`] with the field's name as a hint,
//! [`find`] for spans in free text), and applying a source's [`Policy`] to an
//! event ([`apply`]). Also [`scrub`], the coarse filter for text a page shows.
//!
//! The classes and their rules, each documented where it is checked:
//! - email: `local@domain.tld` (`rules::email`);
//! - phone: E.164 `+` numbers, or national numbers formatted as phones; never
//!   dates, times, versions or bare digit runs (`rules::phone`);
//! - payment card: 13-19 digits in card groupings, Luhn, known issuer prefix;
//! - IBAN: country length table and the mod-97 check;
//! - US SSN: `AAA-GG-SSSS` outside the ranges never issued;
//! - IP address: dotted quads and IPv6;
//! - street address: house number, name and a street type word in English,
//!   German or French (`address`).
//!
//! The detector runs in the browser SDK as well as the worker, so it has no
//! regex, no Unicode tables, no `core::fmt` and no panicking `char` searches:
//! it walks bytes and chars (see `text`). Policies work on serde_json values
//! (`policy`), which only the worker has.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

mod address;
mod policy;
mod rules;
pub mod sha256;
#[cfg(test)]
mod tests;

pub use policy::{Action, Finding, Policy, Report, apply, apply_message};

/// What stands in for scrubbed or redacted text.
pub const REDACTED: &str = "[redacted]";

/// A kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Email,
    Phone,
    PaymentCard,
    Iban,
    UsSsn,
    IpAddress,
    StreetAddress,
}

impl Class {
    pub const ALL: [Class; 7] = [
        Class::Email,
        Class::Phone,
        Class::PaymentCard,
        Class::Iban,
        Class::UsSsn,
        Class::IpAddress,
        Class::StreetAddress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Email => "email",
            Class::Phone => "phone",
            Class::PaymentCard => "payment_card",
            Class::Iban => "iban",
            Class::UsSsn => "us_ssn",
            Class::IpAddress => "ip_address",
            Class::StreetAddress => "street_address",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The class of a whole value (surrounding whitespace aside), if it is
/// personal data. A value that starts with a street address is one
/// (`1600 Amphitheatre Parkway, Mountain View`); for PII inside longer
/// text, use [`find`].
pub fn classify(value: &str) -> Option<Class> {
    classify_field("", value)
}

/// [`classify`] with the field's path (`traits.phone`) as a hint. Its last
/// key, split into words (`phoneNumber`, `billing_address`), can make weak
/// formats count: nine bare digits in `ssn`, any 7-15 digit number in
/// `phone`/`tel`/`mobile`, words and a house number in `address`/`street`, a
/// Luhn-valid number with an unknown issuer in `card`, an IBAN of a country
/// missing from the table in `iban`. It can also rule one out: a dotted quad
/// in `version`/`build` is a version, and phone-shaped values and bare card
/// digits in `id`/`sku`/`order`/`zip`/`ean` fields are identifiers. Emails,
/// IP addresses, formatted cards and SSNs, IBANs and `+` phones count
/// wherever they are.
pub fn classify_field(path: &str, value: &str) -> Option<Class> {
    rules::classify(value.trim_ascii(), rules::Hints::from_path(path))
}

/// Longest span `find` tries for a number (an IBAN in groups of four is 42).
const MAX_NUMBER: usize = 48;

/// Personal data inside free text: byte ranges (at char boundaries, in
/// order, not overlapping) and their class. A span starts and ends at a token
/// boundary (not inside `ORD-5551234567`, `v1.2.3.4` or `10.0.0.1.5`), and
/// each span classifies as its class on its own. Numbers take the longest
/// span that is valid (`+49 30 1234 5678`, not `+49 30 1234`).
pub fn find(text: &str) -> Vec<(Range<usize>, Class)> {
    let mut out = Vec::new();
    let mut prev = None;
    let mut i = 0;
    while let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) {
        let start = prev.is_none_or(|p: char| !rules::is_word_char(p) && !joins(p));
        let (before, rest) = (text.get(..i).unwrap_or_default(), text.get(i..).unwrap_or_default());
        if let Some((len, class)) = start.then(|| match_at(before, rest)).flatten() {
            out.push((i..i + len, class));
            i += len;
            prev = text.get(..i).and_then(|done| done.chars().next_back());
            continue;
        }
        prev = Some(c);
        i += c.len_utf8();
    }
    out
}

/// Characters that glue what follows them into a larger token.
fn joins(c: char) -> bool {
    matches!(c, '-' | '_' | '.' | '/' | '#' | '@' | '+' | '\\')
}

/// The token ends where `rest` starts: not before a letter or digit, nor
/// before a joining character followed by one (`.` ends a sentence, but
/// `10.0.0.1.5` goes on). A `:` ends it, so `203.0.113.7:443` has an address.
fn ends(rest: &str) -> bool {
    let mut chars = rest.chars();
    match chars.next() {
        None => true,
        Some(c) if rules::is_word_char(c) => false,
        Some(c) => !(joins(c) && chars.next().is_some_and(rules::is_word_char)),
    }
}

/// The class and length of the personal data starting `s`, if any.
fn match_at(before: &str, s: &str) -> Option<(usize, Class)> {
    if let Some(len) = email_at(s) {
        return Some((len, Class::Email));
    }
    if let Some(found) = number_at(before.as_bytes(), s) {
        return Some(found);
    }
    let len = address::at_start(s).filter(|&len| ends(s.get(len..).unwrap_or_default()))?;
    Some((len, Class::StreetAddress))
}

/// The email starting `s`: the local part's characters up to `@`, then the
/// domain's, without a final `.` (which ends the sentence).
fn email_at(s: &str) -> Option<usize> {
    if !s.as_bytes().iter().take(65).any(|&b| b == b'@') {
        return None;
    }
    let local = |c| rules::is_word_char(c) || matches!(c, '.' | '_' | '%' | '+' | '-');
    let (at, '@') = s.char_indices().take(65).find(|&(_, c)| !local(c))? else { return None };
    let domain = s.get(at + 1..)?;
    let domain_char = |c| rules::is_word_char(c) || matches!(c, '.' | '-');
    let len = domain.char_indices().take(254).find(|&(_, c)| !domain_char(c)).map_or(domain.len(), |(i, _)| i);
    let mut end = at + 1 + len;
    while end > at + 1 && matches!(s.as_bytes().get(end - 1), Some(b'.' | b'-')) {
        end -= 1;
    }
    // `git@github.com:org/repo.git` is a path, not an email.
    let rest = s.get(end..)?;
    let path = matches!(rest.as_bytes(), [b':', c, ..] if c.is_ascii_alphanumeric());
    (rules::email(s.get(..end)?) && ends(rest) && !path).then_some(end)
}

/// The longest number-like span starting `s` that is a phone, card, IBAN,
/// SSN or IP address. Candidates are runs of ASCII letters, digits and the
/// separators numbers are written with; a space may continue the run before
/// a digit (or before a letter in an IBAN). Each candidate end that is a
/// token end is tried, longest first, so the cost per start is bounded by
/// `MAX_NUMBER`. A number is whole: none starts right after another digit
/// group or inside a colon-separated token (`10:30`, `fe80::1`), no IPv6
/// address starts after a `:` (`00:1A:2B:3C:4D:5E` has none), and a phone
/// is not followed by more digit groups either (a card may be: its CVC).
fn number_at(before: &[u8], s: &str) -> Option<(usize, Class)> {
    // Inside a longer number: after a digit group (`1 4111 ...`), or after a
    // colon that follows a digit or a colon (`10:30`, `fe80::1`).
    let inside = match before {
        [.., d, b' '] => d.is_ascii_digit() || *d == b')',
        [.., d, b':'] => d.is_ascii_digit() || *d == b':',
        _ => false,
    };
    // After a `:`, no IPv6 address: it would be the tail of a longer token.
    let ipv6_ok = before.last() != Some(&b':');
    let b = s.as_bytes();
    let first = *b.first()?;
    let letters = first.is_ascii_alphabetic();
    let hex = b.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let iban = matches!(b, [x, y, d, e, ..]
        if x.is_ascii_alphabetic() && y.is_ascii_alphabetic() && d.is_ascii_digit() && e.is_ascii_digit());
    let ipv6 = ipv6_ok && b.get(hex) == Some(&b':');
    let first_ok = first.is_ascii_alphanumeric() || matches!(first, b'+' | b'(' | b':');
    if inside || (letters && !iban && !ipv6) || !first_ok {
        return None;
    }
    let mut run = 0;
    while let Some(&c) = b.get(run).filter(|_| run < MAX_NUMBER) {
        let next = b.get(run + 1).copied().unwrap_or(0);
        let ok = match c {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'(' | b')' | b'-' | b'.' | b'/' | b':' => true,
            b' ' => next.is_ascii_digit() || next == b'(' || (letters && next.is_ascii_alphabetic()),
            _ => false,
        };
        if !ok {
            break;
        }
        run += 1;
    }
    (1..=run).rev().find_map(|end| {
        let last = *b.get(end - 1)?;
        let rest = b.get(end..)?;
        if !(last.is_ascii_alphanumeric() || last == b')') || !ends(s.get(end..)?) {
            return None;
        }
        let candidate = s.get(..end)?;
        if !worth_checking(candidate.as_bytes(), iban, ipv6_ok) {
            return None;
        }
        let class = rules::number(candidate, rules::Hints::default())?;
        // A phone is the whole number: no part of `0151 1234 5678 9012` is one.
        let more_digits = matches!(rest, [b' ', c, ..] if c.is_ascii_digit() || *c == b'(');
        // Nor is an IPv6 address part of a longer one: `1:2:3:4:5:6:7:8:9`.
        let more_groups = matches!(rest, [b':', c, ..] if c.is_ascii_hexdigit() || *c == b':');
        let v6 = candidate.as_bytes().contains(&b':');
        let whole = match class {
            Class::Phone => !more_digits,
            Class::IpAddress if v6 => !more_groups,
            _ => true,
        };
        whole.then_some((end, class))
    })
}

/// Whether some rule could accept `candidate`, by what it holds: the rules
/// parse it, this only counts (so that runs of short numbers stay cheap).
fn worth_checking(candidate: &[u8], iban_start: bool, ipv6_ok: bool) -> bool {
    let count = |f: fn(&u8) -> bool| candidate.iter().filter(|c| f(c)).count();
    let (digits, letters) = (count(u8::is_ascii_digit), count(u8::is_ascii_alphabetic));
    let (colons, dots, spaces) = (count(|c| *c == b':'), count(|c| *c == b'.'), count(|c| *c == b' '));
    let ipv6 = ipv6_ok && colons >= 2 && spaces == 0;
    let ipv4 = dots == 3 && colons == 0 && spaces == 0 && letters == 0;
    let iban = iban_start && (15..=42).contains(&candidate.len());
    let digits_only = letters == 0 && colons == 0 && (8..=19).contains(&digits);
    ipv6 || ipv4 || iban || digits_only
}

/// What [`Action::Hash`] writes: HMAC-SHA256 under the workspace's `salt`
/// of the value's canonical form, in lowercase hex. The canonical form makes
/// the same data hash alike however it was written: emails trimmed and in
/// ASCII lowercase, phones as `+` and digits, cards, IBANs and SSNs as
/// uppercase letters and digits; other values as they are. HMAC rather than
/// `SHA-256(salt + value)`: it is the keyed construction meant for this.
pub fn hash(salt: &[u8], class: Option<Class>, value: &str) -> String {
    let value = value.trim_ascii();
    let keep = |f: fn(&u8) -> bool| value.bytes().filter(f).map(|b| b.to_ascii_uppercase()).collect::<Vec<u8>>();
    let canonical = match class {
        Some(Class::Email) => value.bytes().map(|b| b.to_ascii_lowercase()).collect(),
        Some(Class::Phone) => keep(|b| b.is_ascii_digit() || *b == b'+'),
        Some(Class::PaymentCard | Class::Iban | Class::UsSsn) => keep(u8::is_ascii_alphanumeric),
        _ => value.as_bytes().to_vec(),
    };
    sha256::hex(&sha256::hmac(salt, &canonical))
}

/// Digits in a run (with separators between them) that make it a number
/// worth hiding: 7 is the shortest local phone number.
const MIN_DIGITS: usize = 7;

/// `text` with every email-like token and every run of 7 or more digits
/// (spaces, `-`, `.`, `/`, parentheses and a leading `+` allowed between
/// them) replaced by `[redacted]`.
///
/// Deliberately coarser than [`find`], for the labels of clicked elements:
/// hiding a long order number in a label costs little, and this stays small
/// in the SDK's wasm (about 1.3 KB gzipped, where the classifier is 9 KB;
/// even sharing `rules::email` would add 0.7 KB).
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let token_end = rest.bytes().position(|b| b.is_ascii_whitespace()).unwrap_or(rest.len());
        let token = rest.get(..token_end).unwrap_or_default();
        if is_email_like(token) {
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
fn is_email_like(token: &str) -> bool {
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
