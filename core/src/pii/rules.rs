//! One validator per class, each deciding about a whole token (a field's
//! value, or a candidate span that `find` cut out of free text).
//!
//! The rules prefer precision over recall where a value carries no checksum:
//! a phone number needs the formatting people give phone numbers, because
//! bare digit runs are far more often order numbers, timestamps and ids.
//! Checksummed classes (cards: Luhn, IBAN: mod 97) can afford looser shapes.

use super::Class;
use super::address;
use crate::text;

/// What a field's name says about its value: one signal more for weak
/// formats, or one reason less for an ambiguous one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Hints {
    /// `phone`, `tel`, `mobile`...: 7 to 15 digits are a phone in any shape.
    pub phone: bool,
    /// `ssn`, `social_security...`: 9 bare digits (or spaced) are an SSN.
    pub ssn: bool,
    /// `card`, `cc`, `pan`: a Luhn-valid number is a card with any IIN.
    pub card: bool,
    /// `iban`: a mod-97-valid account number from a country not in the table.
    pub iban: bool,
    /// `address`, `street`: words and a house number are an address.
    pub address: bool,
    /// `version`, `build`, `release`: a dotted quad is a version, not an IP.
    pub version: bool,
    /// `id`, `sku`, `order`, `zip`, `ean`...: a phone-shaped or bare-digit
    /// value is an identifier (formatted cards and E.164 phones still count).
    pub id: bool,
}

impl Hints {
    /// Hints from the last key of a field path (`properties.billing.phoneNumber`
    /// reads `phoneNumber`), split into words at `_`, `-`, and camelCase, with
    /// plurals folded (`emails`). Whole words only: `hotel` is not `tel`.
    pub fn from_path(path: &str) -> Hints {
        let key = path.as_bytes().iter().rposition(|&b| b == b'.').and_then(|i| path.get(i + 1..)).unwrap_or(path);
        let key = text::before(key, b'[');
        let mut h = Hints::default();
        let (mut social, mut security, mut other) = (false, false, false);
        for w in words(key) {
            let is = |names: &str| text::split(names, b' ').any(|n| same_word(w, n));
            h.phone |= is(PHONE_WORDS);
            h.ssn |= is("ssn");
            social |= is("social");
            security |= is("security");
            h.card |= is(CARD_WORDS);
            h.iban |= is("iban");
            h.address |= is(ADDRESS_WORDS);
            other |= is(NOT_ADDRESS_WORDS);
            h.version |= is(VERSION_WORDS);
            h.id |= is(ID_WORDS);
        }
        h.ssn |= social && security;
        h.address &= !other;
        h.id &= !(h.phone || h.ssn || h.card || h.iban);
        h
    }
}

const PHONE_WORDS: &str = "phone telephone tel mobile cell cellphone fax msisdn";
const CARD_WORDS: &str = "card creditcard cardnumber cc pan";
const ADDRESS_WORDS: &str = "address street addr streetaddress";
/// Words that make an `address` something else: `email_address`, `ip_address`.
const NOT_ADDRESS_WORDS: &str = "email mail ip ipaddress mac wallet url web";
const VERSION_WORDS: &str = "version ver build release v";
const ID_WORDS: &str = "id uuid sku order invoice ref zip postal postcode isbn ean upc gtin barcode code tracking";

/// `w` is `name`, ignoring ASCII case and a plural `s`/`es`.
fn same_word(w: &str, name: &str) -> bool {
    let (w, n) = (w.as_bytes(), name.as_bytes());
    let stem = w.get(..n.len()).is_some_and(|s| s.eq_ignore_ascii_case(n));
    let tail = w.get(n.len()..).unwrap_or_default();
    stem && (tail.is_empty() || tail.eq_ignore_ascii_case(b"s") || tail.eq_ignore_ascii_case(b"es"))
}

/// The words of a key: ASCII letter and digit runs, split before an
/// uppercase letter that starts a new word (`phoneNumber`, `IPAddress`).
fn words(key: &str) -> impl Iterator<Item = &str> {
    let b = key.as_bytes();
    let mut i = 0;
    core::iter::from_fn(move || {
        while b.get(i).is_some_and(|c| !c.is_ascii_alphanumeric()) {
            i += 1;
        }
        let start = i;
        while let Some(&c) = b.get(i) {
            let prev = i.checked_sub(1).and_then(|p| b.get(p)).copied().unwrap_or(b' ');
            let next = b.get(i + 1).copied().unwrap_or(b' ');
            let new_word = i > start
                && c.is_ascii_uppercase()
                && (prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next.is_ascii_lowercase()));
            if !c.is_ascii_alphanumeric() || new_word {
                break;
            }
            i += 1;
        }
        (i > start).then(|| key.get(start..i)).flatten()
    })
}

/// The class of a whole value, trying the classes from the most to the
/// least distinctive: an email has its `@`; numbers are told apart by shape
/// and checksum (an IP before a dotted phone, an SSN, a card before a phone).
pub(super) fn classify(v: &str, h: Hints) -> Option<Class> {
    if email(v) {
        return Some(Class::Email);
    }
    if let Some(class) = number(v, h) {
        return Some(class);
    }
    let address = address::at_start(v).is_some() || (h.address && address::loose(v));
    address.then_some(Class::StreetAddress)
}

/// The classes written as one token of digits, letters and separators.
pub(super) fn number(v: &str, h: Hints) -> Option<Class> {
    if (!h.version && ipv4(v)) || ipv6(v) {
        return Some(Class::IpAddress);
    }
    if iban(v, h) {
        return Some(Class::Iban);
    }
    let g = Groups::parse(v)?;
    if ssn(&g, h) {
        Some(Class::UsSsn)
    } else if card(&g, v, h) {
        Some(Class::PaymentCard)
    } else if phone(&g, v, h) {
        Some(Class::Phone)
    } else {
        None
    }
}

/// A letter or digit of any script, told apart from punctuation and symbols
/// by code point blocks instead of Unicode tables (which would cost the SDK's
/// wasm kilobytes): ASCII letters and digits, and non-ASCII characters except
/// Latin-1 punctuation, `×`, `÷`, general punctuation, symbols and arrows,
/// CJK punctuation, variation selectors, fullwidth punctuation and emoji.
pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || (c >= '\u{c0}'
            && !matches!(c, '\u{d7}' | '\u{f7}' | '\u{2000}'..='\u{2bff}' | '\u{3000}'..='\u{303f}'
                | '\u{fe00}'..='\u{fe6f}' | '\u{ff00}'..='\u{ff0f}' | '\u{fff0}'..='\u{ffff}' | '\u{1f000}'..))
}

// ---------------------------------------------------------------- email

/// File extensions that follow `@` in asset names (`icon@2x.png`); none is a
/// top-level domain.
const FILE_EXTENSIONS: &str = "png jpg jpeg gif svg webp avif ico bmp";

/// `local@domain.tld`. The local part takes the characters mail providers
/// accept in practice (letters of any script, digits, `. _ % + -`; no dot at
/// either end, no `..`); the domain needs two or more labels of letters,
/// digits and inner hyphens, and a top-level domain of letters (or IDN
/// `xn--`), so `lodash@4.17.21`, `user@localhost` and `icon@2x.png` are not
/// emails.
pub(super) fn email(s: &str) -> bool {
    let Some((local, domain)) = text::cut(s, b'@') else { return false };
    let l = local.as_bytes();
    let local_ok = (1..=64).contains(&l.len())
        && l.first() != Some(&b'.')
        && l.last() != Some(&b'.')
        && !l.windows(2).any(|w| w == b"..")
        && local.chars().all(|c| is_word_char(c) || matches!(c, '.' | '_' | '%' | '+' | '-'));
    if !local_ok || domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let mut labels = 0;
    let mut tld = "";
    for label in text::split(domain, b'.') {
        let b = label.as_bytes();
        let ok = (1..=63).contains(&b.len())
            && b.first() != Some(&b'-')
            && b.last() != Some(&b'-')
            && label.chars().all(|c| is_word_char(c) || c == '-');
        if !ok {
            return false;
        }
        labels += 1;
        tld = label;
    }
    let tld_ok = tld.len() >= 2
        && (tld.chars().all(|c| is_word_char(c) && !c.is_ascii_digit()) || tld.starts_with("xn--"))
        && !text::split(FILE_EXTENSIONS, b' ').any(|e| tld.eq_ignore_ascii_case(e));
    labels >= 2 && tld_ok
}

// ---------------------------------------------------------------- digit groups

const MAX_GROUPS: usize = 8;

/// A number as people write it: an optional `+`, then groups of digits
/// between single separators (space, `-`, `.`, `/`), one of which may be in
/// parentheses: `+1 (555) 123-4567` is `+`, groups 1, 555, 123, 4567.
#[derive(Default)]
struct Groups {
    plus: bool,
    n: usize,
    len: [usize; MAX_GROUPS],
    val: [u64; MAX_GROUPS],
    /// The separator before each group: 0 for the first, and after `)`.
    sep: [u8; MAX_GROUPS],
    paren: bool,
    digits: usize,
}

impl Groups {
    fn parse(s: &str) -> Option<Groups> {
        let mut g = Groups::default();
        let mut b = s.as_bytes();
        if let [b'+', rest @ ..] = b {
            g.plus = true;
            b = rest;
        }
        let mut sep = 0;
        loop {
            let open = matches!(b, [b'(', ..]);
            if open {
                if g.paren {
                    return None;
                }
                g.paren = true;
                b = b.get(1..)?;
            }
            let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let (digits, rest) = b.split_at_checked(n)?;
            if n == 0 {
                return None;
            }
            *g.len.get_mut(g.n)? = n;
            *g.val.get_mut(g.n)? =
                digits.iter().fold(0u64, |v, d| v.saturating_mul(10).saturating_add(u64::from(d - b'0')));
            *g.sep.get_mut(g.n)? = sep;
            g.n += 1;
            g.digits += n;
            b = rest;
            if open {
                b = b.strip_prefix(b")")?;
            }
            sep = match b {
                [] => return Some(g),
                [c @ (b' ' | b'-' | b'.' | b'/'), rest @ ..] if !rest.is_empty() => {
                    b = rest;
                    *c
                }
                _ if open => 0,
                _ => return None,
            };
        }
    }

    fn lens(&self) -> &[usize] {
        self.len.get(..self.n).unwrap_or_default()
    }

    /// The separators between groups.
    fn seps(&self) -> &[u8] {
        self.sep.get(1..self.n).unwrap_or_default()
    }

    /// Starts with a calendar date (`2024-01-05`, `05/01/2024`, `1.5.2024`):
    /// three groups with the same `-`, `/` or `.` between them.
    fn is_date(&self) -> bool {
        let (&[a, b, c, ..], &[s1, s2, ..], &[x, y, z, ..]) = (self.lens(), self.seps(), &self.val) else {
            return false;
        };
        let year = |len, v| len == 4 && (1900..=2099).contains(&v);
        let month = |len, v| len <= 2 && (1..=12).contains(&v);
        let day = |len, v| len <= 2 && (1..=31).contains(&v);
        !self.plus
            && s1 == s2
            && matches!(s1, b'-' | b'/' | b'.')
            && ((year(a, x) && month(b, y) && day(c, z))
                || (day(a, x) && month(b, y) && year(c, z))
                || (month(a, x) && day(b, y) && year(c, z)))
    }
}

// ---------------------------------------------------------------- phone

/// E.164: `+`, a country code not starting with 0, 8 to 15 digits in all,
/// any grouping (`+49 30 1234 5678`, `+1 (555) 123-4567`, `+44 (0) 20 ...`).
///
/// National numbers need what makes a phone look like one, since bare digit
/// runs are mostly order numbers and timestamps: two or more groups, and
/// - either the North American shape, `(555) 123-4567`, `555.123.4567`,
///   `1-800-555-0199` (3-3-4 digits, area code not starting with 0 or 1);
/// - or the trunk prefix `0` that national numbers start with in most of the
///   world (`030 1234 5678`, `06 12 34 56 78`, `0151 12345678`, `0049 ...`),
///   10 to 15 digits, no group but the first shorter than 2 digits or longer
///   than 8, `/` only after the area code (`030/1234567`), dots not mixed
///   with other separators, and not starting with a date (`05/01/2024 1030`).
///
/// That leaves out versions (`10.0.19041.1234`), ISBNs, dates, thousands
/// (`1 234 567 890`) and grouped ids (`4111 1111 1111`), and also national
/// formats of countries without a trunk prefix (Brazil, Mexico, Spain):
/// those need the `+` or a field name. With a phone field name, 7 to 15
/// digits in any shape will do (no date); with an id field name, national
/// formats are identifiers.
fn phone(g: &Groups, s: &str, h: Hints) -> bool {
    if g.is_date() {
        return false;
    }
    let seps = g.seps();
    if g.plus {
        return (8..=15).contains(&g.digits) && s.as_bytes().get(1) != Some(&b'0') && !seps.contains(&b'/');
    }
    if h.phone {
        return (7..=15).contains(&g.digits);
    }
    if h.id {
        return false;
    }
    let lens = g.lens();
    let first_digit = s.bytes().find(u8::is_ascii_digit).unwrap_or(b'0');
    let area = |i: usize| g.val.get(i).is_some_and(|&v| v >= 200);
    let same_seps = seps.windows(2).all(|w| w.first() == w.last());
    let north_american = match lens {
        [3, 3, 4] => area(0) && (same_seps || g.paren),
        [1, 3, 3, 4] => g.val.first() == Some(&1) && area(1) && same_seps,
        _ => false,
    };
    let (Some(&first), Some(rest)) = (lens.first(), lens.get(1..)) else { return false };
    let dots = seps.contains(&b'.');
    let trunk = first_digit == b'0'
        && (10..=15).contains(&g.digits)
        && !rest.is_empty()
        && first <= 5
        && rest.iter().all(|l| (2..=8).contains(l))
        && !seps.iter().skip(1).any(|&c| c == b'/')
        && (!dots || seps.iter().all(|&c| c == b'.'));
    north_american || trunk
}

// ---------------------------------------------------------------- US SSN

/// `AAA-GG-SSSS`, except numbers never issued: area 000, 666 and 900-999,
/// group 00, serial 0000. With an SSN field name also `AAA GG SSSS` and
/// nine bare digits (without it, nine digits are too often something else).
fn ssn(g: &Groups, h: Hints) -> bool {
    let [a, gr, se] = g.val.get(..3).and_then(|v| <[u64; 3]>::try_from(v).ok()).unwrap_or_default();
    let (area, group, serial) = match (g.lens(), g.seps()) {
        ([3, 2, 4], [b'-', b'-']) => (a, gr, se),
        ([3, 2, 4], [b' ', b' ']) if h.ssn => (a, gr, se),
        ([9], []) if h.ssn => (a / 1_000_000, a / 10_000 % 100, a % 10_000),
        _ => return false,
    };
    !g.plus && !g.paren && area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// ---------------------------------------------------------------- payment card

/// Issuer prefixes (IIN) of the card networks and their number lengths:
/// (first digits from, to, how many digits that is, lengths as a bit set).
const IIN: &[(u32, u32, u32, u32)] = &[
    (4, 4, 1, bits(13, 13) | bits(16, 16) | bits(19, 19)), // Visa
    (51, 55, 2, bits(16, 16)),                             // Mastercard
    (2221, 2720, 4, bits(16, 16)),                         // Mastercard 2-series
    (34, 34, 2, bits(15, 15)),                             // American Express
    (37, 37, 2, bits(15, 15)),
    (300, 305, 3, bits(14, 19)), // Diners Club
    (36, 36, 2, bits(14, 19)),
    (38, 39, 2, bits(14, 19)),
    (3528, 3589, 4, bits(16, 19)), // JCB
    (6011, 6011, 4, bits(16, 19)), // Discover
    (644, 649, 3, bits(16, 19)),
    (65, 65, 2, bits(16, 19)),
    (62, 62, 2, bits(16, 19)),     // UnionPay
    (2200, 2204, 4, bits(16, 19)), // Mir
    (50, 50, 2, bits(13, 19)),     // Maestro
    (56, 58, 2, bits(13, 19)),
    (63, 63, 2, bits(13, 19)),
    (67, 67, 2, bits(13, 19)),
];

const fn bits(from: u32, to: u32) -> u32 {
    (u32::MAX >> (31 - to)) & !((1 << from) - 1)
}

/// 13 to 19 digits that pass the Luhn check and start with a known issuer
/// prefix for that length, written bare or in the groups cards print: fours
/// (`4111 1111 1111 1111`, the last group shorter) or Amex/Diners `4-6-5` and
/// `4-6-4`, with one kind of separator (space or `-`). A card field name
/// accepts unknown prefixes; an id field name refuses bare digits.
fn card(g: &Groups, s: &str, h: Hints) -> bool {
    let (lens, seps) = (g.lens(), g.seps());
    let shaped = match lens {
        [_] => h.card || !h.id,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
        [] => false,
    };
    let one_sep = seps.first().is_none_or(|&c| (c == b' ' || c == b'-') && seps.iter().all(|&d| d == c));
    let digits = || s.bytes().filter(u8::is_ascii_digit).map(|d| u32::from(d - b'0'));
    if g.plus || g.paren || !(13..=19).contains(&g.digits) || !shaped || !one_sep {
        return false;
    }
    // Luhn: from the right, every second digit doubled (its digits summed).
    let doubled = |d: u32| if d > 4 { d * 2 - 9 } else { d * 2 };
    let sum: u32 = digits().rev().enumerate().map(|(i, d)| if i % 2 == 1 { doubled(d) } else { d }).sum();
    let known = IIN.iter().any(|&(from, to, width, lens)| {
        let prefix = digits().take(width as usize).fold(0, |p, d| p * 10 + d);
        (from..=to).contains(&prefix) && lens & (1 << g.digits) != 0
    });
    sum.is_multiple_of(10) && (h.card || known)
}

// ---------------------------------------------------------------- IBAN

/// IBAN lengths by country (ISO 13616 registry), four bytes per country.
const IBAN_LENGTHS: &[u8] = b"AD24AE23AL28AT20AZ28BA20BE16BG22BH22BR29BY28CH21CR22CY28CZ24DE22DK18DO28EE20EG29ES24\
    FI18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21MC27MD24\
    ME22MK19MR27MT31MU30NL18NO15PK24PL28PS29PT25QA29RO24RS22SA24SC31SE24SI19SK24SM27ST25SV28TL23TN24TR26UA29VA22\
    VG24XK20";

/// A country code, two check digits and the account (letters and digits),
/// compact or in groups of four (`DE89 3704 0044 0532 0130 00`), as long as
/// the country's IBANs are, with the ISO 7064 mod-97 check equal to 1. An
/// IBAN field name accepts countries missing from the table (15-34 chars).
fn iban(s: &str, h: Hints) -> bool {
    let b = s.as_bytes();
    let spaced = b.contains(&b' ');
    let layout_ok = b.iter().enumerate().all(|(i, &c)| {
        let space_here = spaced && i % 5 == 4;
        if space_here { c == b' ' } else { c.is_ascii_alphanumeric() }
    });
    if !layout_ok || b.last() == Some(&b' ') {
        return false;
    }
    let chars = || b.iter().filter(|&&c| c != b' ').map(u8::to_ascii_uppercase);
    let mut head = chars();
    let (Some(c1), Some(c2), Some(d1), Some(d2)) = (head.next(), head.next(), head.next(), head.next()) else {
        return false;
    };
    if !(c1.is_ascii_alphabetic() && c2.is_ascii_alphabetic() && d1.is_ascii_digit() && d2.is_ascii_digit()) {
        return false;
    }
    let n = chars().count();
    let want = IBAN_LENGTHS.chunks_exact(4).find(|e| e.get(..2) == Some(&[c1, c2])).map(|e| e.get(2..4));
    let length_ok = match want {
        Some(Some(&[t, u])) => n == usize::from(t - b'0') * 10 + usize::from(u - b'0'),
        _ => h.iban && (15..=34).contains(&n),
    };
    let remainder = chars().skip(4).chain(chars().take(4)).fold(0u32, |r, c| match c {
        b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
        _ => (r * 100 + u32::from(c - b'A') + 10) % 97,
    });
    length_ok && remainder == 1
}

// ---------------------------------------------------------------- IP

/// A dotted quad: four decimal octets 0-255 without leading zeros (`010`
/// reads as octal to some parsers, and is more often part of a version or a
/// date). `1.2.3` and `10.0.0.1.5` are not addresses; `1.2.3.4` is, unless
/// the field's name says it is a version.
pub(super) fn ipv4(s: &str) -> bool {
    let mut n = 0;
    text::split(s, b'.').all(|octet| {
        n += 1;
        let b = octet.as_bytes();
        let digits = (1..=3).contains(&b.len()) && b.iter().all(u8::is_ascii_digit);
        let value = || b.iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        digits && (b.len() == 1 || b.first() != Some(&b'0')) && value() <= 255
    }) && n == 4
}

/// IPv6 in full (eight groups of 1-4 hex digits) or with one `::` standing
/// for one or more zero groups, optionally ending in a dotted quad
/// (`::ffff:192.0.2.1`). `::` alone (no address) and zones (`%eth0`) are not
/// matched.
pub(super) fn ipv6(s: &str) -> bool {
    let b = s.as_bytes();
    let gap = b.windows(2).position(|w| w == b"::");
    let (head, tail) = match gap {
        Some(i) => (s.get(..i).unwrap_or_default(), s.get(i + 2..).unwrap_or_default()),
        None => (s, ""),
    };
    // Groups in a part; the last part may end in a dotted quad (two groups).
    let groups = |part: &str, last: bool| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let mut n = 0;
        let mut pieces = text::split(part, b':').peekable();
        while let Some(p) = pieces.next() {
            if last && pieces.peek().is_none() && p.as_bytes().contains(&b'.') {
                n += 2;
                ipv4(p).then_some(())?;
            } else {
                n += 1;
                ((1..=4).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_hexdigit())).then_some(())?;
            }
        }
        Some(n)
    };
    match (gap, groups(head, gap.is_none()), groups(tail, true)) {
        (Some(_), Some(h), Some(t)) => (1..=7).contains(&(h + t)),
        (None, Some(h), _) => h == 8,
        _ => false,
    }
}
