extern crate std;

use super::*;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use expect_test::{Expect, expect};
use proptest::prelude::*;
use serde_json::{Value, json};

const VALUES: &str = include_str!("corpus/values.txt");
const TEXTS: &str = include_str!("corpus/text.txt");

/// A line of `corpus/values.txt`: what the value should be (`None` for a
/// negative), the class a negative is tricky for, the field path, the value.
struct Case<'a> {
    want: Option<Class>,
    tricky_for: Option<Class>,
    path: &'a str,
    value: &'a str,
}

fn value_cases() -> Vec<Case<'static>> {
    let lines = VALUES.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    lines
        .map(|line| {
            let (label, rest) = line.split_once(' ').expect("label");
            let (path, value) = rest.trim_start().split_once(' ').expect("path and value");
            let (negative, name) = label.strip_prefix('!').map_or((false, label), |n| (true, n));
            let class = (name != "-").then(|| Class::parse(name).unwrap_or_else(|| panic!("class {name:?}")));
            let path = if path == "-" { "" } else { path };
            let value = value.trim();
            if negative {
                Case { want: None, tricky_for: class, path, value }
            } else {
                Case { want: class, tricky_for: None, path, value }
            }
        })
        .collect()
}

type Spans = Vec<(Range<usize>, Class)>;

/// A line of `corpus/text.txt`: the text without markers, and the marked spans.
fn text_case(line: &str) -> (String, Spans) {
    let (mut text, mut spans, mut rest) = (String::new(), Vec::new(), line);
    while let Some((before, marked)) = rest.split_once("[[") {
        let (inner, after) = marked.split_once("]]").expect("closing ]]");
        let (name, span) = inner.split_once(':').expect("class:text");
        text.push_str(before);
        spans.push((text.len()..text.len() + span.len(), Class::parse(name).expect("class")));
        text.push_str(span);
        rest = after;
    }
    text.push_str(rest);
    (text, spans)
}

fn text_cases() -> Vec<(String, Spans)> {
    TEXTS.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(text_case).collect()
}

fn name(c: Option<Class>) -> &'static str {
    c.map_or("-", Class::as_str)
}

fn show_find(text: &str) -> String {
    let spans: Vec<_> = find(text).into_iter().map(|(r, c)| format!("{}:{:?}", c.as_str(), &text[r])).collect();
    spans.join(" ")
}

// ---------------------------------------------------------------- corpus

/// Every corpus case the detector gets wrong; each is explained by a
/// comment in the corpus file.
#[test]
fn corpus_misses() {
    let mut out = String::new();
    for c in value_cases() {
        let got = classify_field(c.path, c.value);
        if got != c.want {
            out += &format!("value {:?} at {:?}: want {}, got {}\n", c.value, c.path, name(c.want), name(got));
        }
    }
    for (text, want) in text_cases() {
        let got = find(&text);
        if got != want {
            out += &format!("text {text:?}: got {}\n", show_find(&text));
        }
    }
    expect![[r#"
        value "(11) 3456-7890" at "": want phone, got -
        value "4006381333924" at "": want -, got payment_card
        value "1 Infinite Loop" at "": want street_address, got -
        value "5 Star Drive Thru Reviews" at "": want -, got street_address
        text "call 5551234567 anytime": got 
        text "Season 3 Golden Road premiere": got street_address:"3 Golden Road"
    "#]]
    .assert_eq(&out);
}

#[test]
fn precision_and_recall() {
    #[derive(Default)]
    struct Tally {
        positives: usize,
        negatives: usize,
        spans: usize,
        tp: usize,
        fp: usize,
        fn_: usize,
    }
    let mut t: [Tally; 7] = Default::default();
    macro_rules! tally {
        ($c:expr) => {
            t[$c as usize]
        };
    }
    for case in value_cases() {
        let got = classify_field(case.path, case.value);
        if let Some(w) = case.want {
            tally!(w).positives += 1;
        }
        if let Some(c) = case.tricky_for {
            tally!(c).negatives += 1;
        }
        match (case.want, got) {
            (Some(w), Some(g)) if w == g => tally!(w).tp += 1,
            (w, g) => {
                w.into_iter().for_each(|w| tally!(w).fn_ += 1);
                g.into_iter().for_each(|g| tally!(g).fp += 1);
            }
        }
    }
    let lines = text_cases();
    for (text, want) in &lines {
        let got = find(text);
        for (r, c) in want {
            tally!(*c).spans += 1;
            if got.contains(&(r.clone(), *c)) { tally!(*c).tp += 1 } else { tally!(*c).fn_ += 1 }
        }
        for g in got.iter().filter(|g| !want.contains(g)) {
            tally!(g.1).fp += 1;
        }
    }
    let pct =
        |a: usize, b: usize| if b == 0 { "-".to_string() } else { format!("{:.1}%", 100.0 * a as f64 / b as f64) };
    let mut out = format!(
        "{:<15} {:>9} {:>9} {:>5} {:>4} {:>4} {:>4} {:>9} {:>7}\n",
        "class", "values +", "values -", "spans", "TP", "FP", "FN", "precision", "recall"
    );
    for (c, s) in Class::ALL.iter().zip(&t) {
        out += &format!(
            "{:<15} {:>9} {:>9} {:>5} {:>4} {:>4} {:>4} {:>9} {:>7}\n",
            c.as_str(),
            s.positives,
            s.negatives,
            s.spans,
            s.tp,
            s.fp,
            s.fn_,
            pct(s.tp, s.tp + s.fp),
            pct(s.tp, s.tp + s.fn_)
        );
    }
    let cases = value_cases();
    let general = cases.iter().filter(|c| c.want.is_none() && c.tricky_for.is_none()).count();
    out += &format!("{} values ({general} negatives for no class), {} texts\n", cases.len(), lines.len());
    std::println!("{out}");
    expect![[r#"
        class            values +  values - spans   TP   FP   FN precision  recall
        email                  10        18     7   17    0    0    100.0%  100.0%
        phone                  33        42     7   38    0    2    100.0%   95.0%
        payment_card           20        14     3   23    1    0     95.8%  100.0%
        iban                   15        10     2   17    0    0    100.0%  100.0%
        us_ssn                  7        13     1    8    0    0    100.0%  100.0%
        ip_address             14        21     5   19    0    0    100.0%  100.0%
        street_address         29        19     4   32    2    1     94.1%   97.0%
        278 values (13 negatives for no class), 45 texts
    "#]]
    .assert_eq(&out);
}

// ---------------------------------------------------------------- field names

#[test]
fn field_names_are_hints() {
    let cases = [
        ("traits.phone", "5551234567"),
        ("traits.hotel", "5551234567"),
        ("properties.phoneNumber", "555 1234"),
        ("properties.phone_numbers[0]", "+1 555 123 4567"),
        ("traits.ssn", "536221234"),
        ("traits.SSN", "536-22-1234"),
        ("traits.social_security_number", "536 22 1234"),
        ("traits.security_code", "536 22 1234"),
        ("properties.cc", "1234567812345670"),
        ("properties.order_id", "1234567812345670"),
        ("properties.iban", "ZZ98 1234 5678 9012 3456 7"),
        ("properties.account", "ZZ98 1234 5678 9012 3456 7"),
        ("context.app.version", "1.2.3.4"),
        ("context.ip", "1.2.3.4"),
        ("properties.recipient", "1.2.3.4"),
        ("traits.address.street", "Calle Mayor 5"),
        ("traits.billingAddress", "Via Roma 10"),
        ("traits.ip_address", "Via Roma 10"),
        ("traits.address.city", "Via Roma 10"),
        ("properties.sku", "555-123-4567"),
        ("properties.productId", "+1 555 123 4567"),
        ("properties.zipCode", "94043-1351"),
    ];
    let got: Vec<_> = cases.iter().map(|(p, v)| format!("{p:<36} {v:<26} {}", name(classify_field(p, v)))).collect();
    expect![[r#"
        traits.phone                         5551234567                 phone
        traits.hotel                         5551234567                 -
        properties.phoneNumber               555 1234                   phone
        properties.phone_numbers[0]          +1 555 123 4567            phone
        traits.ssn                           536221234                  us_ssn
        traits.SSN                           536-22-1234                us_ssn
        traits.social_security_number        536 22 1234                us_ssn
        traits.security_code                 536 22 1234                -
        properties.cc                        1234567812345670           payment_card
        properties.order_id                  1234567812345670           -
        properties.iban                      ZZ98 1234 5678 9012 3456 7 iban
        properties.account                   ZZ98 1234 5678 9012 3456 7 -
        context.app.version                  1.2.3.4                    -
        context.ip                           1.2.3.4                    ip_address
        properties.recipient                 1.2.3.4                    ip_address
        traits.address.street                Calle Mayor 5              street_address
        traits.billingAddress                Via Roma 10                street_address
        traits.ip_address                    Via Roma 10                -
        traits.address.city                  Via Roma 10                -
        properties.sku                       555-123-4567               -
        properties.productId                 +1 555 123 4567            phone
        properties.zipCode                   94043-1351                 -
    "#]]
    .assert_eq(&(got.join("\n") + "\n"));
}

#[test]
fn spans_in_text() {
    let cases = [
        "Call +49 30 1234 5678 today",
        "Call 555-123-4567 2 times",
        "ref 0151 1234 5678 9012",
        "card 4111 1111 1111 1111 123",
        "from 1.2.3.4:8080 and [2001:db8::7]:443",
        "fe80::1%eth0",
        "1:2:3:4:5:6:7:8:9 and 00:1A:2B:3C:4D:5E",
        "mailto:jane@example.com?subject=Hi",
        "jane@example.com/profile",
        "IPs 10.0.0.1, 10.0.0.2; 10.0.0.3.",
        "Wohnt in der Berliner Straße 27 seit 2019",
        "Rendez-vous au 5, avenue Anatole France",
    ];
    let got: Vec<_> = cases.iter().map(|t| format!("{t:?} -> {}", show_find(t))).collect();
    expect![[r#"
        "Call +49 30 1234 5678 today" -> phone:"+49 30 1234 5678"
        "Call 555-123-4567 2 times" -> 
        "ref 0151 1234 5678 9012" -> 
        "card 4111 1111 1111 1111 123" -> payment_card:"4111 1111 1111 1111"
        "from 1.2.3.4:8080 and [2001:db8::7]:443" -> ip_address:"1.2.3.4" ip_address:"2001:db8::7"
        "fe80::1%eth0" -> ip_address:"fe80::1"
        "1:2:3:4:5:6:7:8:9 and 00:1A:2B:3C:4D:5E" -> 
        "mailto:jane@example.com?subject=Hi" -> email:"jane@example.com"
        "jane@example.com/profile" -> 
        "IPs 10.0.0.1, 10.0.0.2; 10.0.0.3." -> ip_address:"10.0.0.1" ip_address:"10.0.0.2" ip_address:"10.0.0.3"
        "Wohnt in der Berliner Straße 27 seit 2019" -> street_address:"Berliner Straße 27"
        "Rendez-vous au 5, avenue Anatole France" -> street_address:"5, avenue Anatole France"
    "#]]
    .assert_eq(&(got.join("\n") + "\n"));
}

// ---------------------------------------------------------------- scrub

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

// ---------------------------------------------------------------- policy

fn check_apply(policy: &Policy, event: Value, expect: Expect) {
    let mut event = event;
    let report = apply(&mut event, "properties", policy, b"workspace-salt");
    let findings: Vec<_> =
        report.findings.iter().map(|f| format!("{} {} {}", f.path, name(f.class), f.action.as_str())).collect();
    let out = format!(
        "{}\n{}\nblocked: {}\n",
        serde_json::to_string_pretty(&event).expect("json"),
        findings.join("\n"),
        report.blocked()
    );
    expect.assert_eq(&out);
}

#[test]
fn policies_act_on_fields() {
    let policy = Policy {
        per_class: vec![
            (Class::Email, Action::Hash),
            (Class::Phone, Action::Redact),
            (Class::IpAddress, Action::Allow),
        ],
        per_path: vec![
            ("properties.support_phone".into(), Action::Allow),
            ("properties.*.birthday".into(), Action::Redact),
            ("properties.shipping".into(), Action::Hash),
        ],
        default: Action::Redact,
    };
    let event = json!({
        "email": "Ada.Buyer@Example.com ",
        "support_phone": "+1 800 555 0199",
        "note": "call me at +49 30 1234 5678 or mail ada@example.com, from 203.0.113.7",
        "items": [{"sku": "TR-001", "price": 19.5, "card": 4111111111111111_u64}],
        "customer": {"birthday": "1990-04-01", "vip": true},
        "shipping": {"street": "221B Baker Street", "zip": 10115, "gift": false},
        "total": 42
    });
    check_apply(
        &policy,
        event,
        expect![[r#"
        {
          "customer": {
            "birthday": "[redacted]",
            "vip": true
          },
          "email": "c1e863af118ae6b40b6a7691b0aeedfe84e56c82635ae4f3d418211737cabbe0",
          "items": [
            {
              "card": "[redacted]",
              "price": 19.5,
              "sku": "TR-001"
            }
          ],
          "note": "call me at [redacted] or mail bf0b6faf97e9d0209597d3a3393a58fbb32ec6a45988132c39a59910cc9b7cdc, from 203.0.113.7",
          "shipping": {
            "gift": "9f7b87316a3f6b9dd8257618d7945dee154f7bd84f09fa2ed2dc59fed5c6981e",
            "street": "2f82e80d6c7588abf5c23b1e060d2a7db302bb09814b7ec1886f4822a2058420",
            "zip": "3f6ea732a3ef680680af533aa0b13cd72963722b3e82452fdc75267329bf89ca"
          },
          "support_phone": "+1 800 555 0199",
          "total": 42
        }
        properties.customer.birthday - redact
        properties.email email hash
        properties.items[0].card payment_card redact
        properties.note phone redact
        properties.note email hash
        properties.note ip_address allow
        properties.shipping.gift - hash
        properties.shipping.street street_address hash
        properties.shipping.zip - hash
        properties.support_phone phone allow
        blocked: false
    "#]],
    );
}

#[test]
fn a_blocked_class_blocks_the_event() {
    let policy = Policy { per_class: vec![(Class::PaymentCard, Action::Block)], ..Policy::default() };
    check_apply(
        &policy,
        json!({"note": "card 4111 1111 1111 1111", "email": "a@example.com"}),
        expect![[r#"
        {
          "email": "a@example.com",
          "note": "card 4111 1111 1111 1111"
        }
        properties.email email allow
        properties.note payment_card block
        blocked: true
    "#]],
    );
}

#[test]
fn the_most_specific_path_rule_wins() {
    let policy = Policy {
        per_path: vec![
            ("traits".into(), Action::Hash),
            ("traits.*".into(), Action::Redact),
            ("traits.address.*".into(), Action::Allow),
            ("traits.address.street".into(), Action::Block),
            ("*.address.street".into(), Action::Hash),
        ],
        ..Policy::default()
    };
    let got: Vec<_> = [
        &["traits"][..],
        &["traits", "email"],
        &["traits", "address", "city"],
        &["traits", "address", "street"],
        &["context", "address", "street"],
        &["properties", "email"],
    ]
    .iter()
    .map(|keys| format!("{} {}", keys.join("."), policy.for_path(keys).map_or("-", Action::as_str)))
    .collect();
    expect![[r#"
        traits hash
        traits.email redact
        traits.address.city allow
        traits.address.street block
        context.address.street hash
        properties.email -
    "#]]
    .assert_eq(&(got.join("\n") + "\n"));
}

#[test]
fn policies_are_stored_as_json() {
    let v =
        json!({"default": "redact", "classes": {"email": "hash", "iban": "block"}, "paths": {"traits.phone": "allow"}});
    let policy = Policy::from_json(&v).expect("valid");
    assert_eq!(policy.for_class(Class::Email), Action::Hash);
    assert_eq!(policy.for_class(Class::Phone), Action::Redact);
    assert_eq!(Policy::from_json(&policy.to_json()), Ok(policy));
    let bad = json!({"default": "shred", "classes": {"ssn": "hash", "email": 1}, "paths": {"a..b": "hash"}});
    let errors: Vec<_> =
        Policy::from_json(&bad).expect_err("invalid").into_iter().map(|v| format!("{} {}", v.path, v.code)).collect();
    expect![[r#"
        default invalid
        classes.email invalid
        classes.ssn unknown_class
        paths.a..b invalid_path
    "#]]
    .assert_eq(&(errors.join("\n") + "\n"));
}

#[test]
fn messages_are_scanned_in_properties_and_traits() {
    let mut msg = crate::event::Message::new(crate::event::Kind::Identify, "m1".into(), 0);
    msg.traits.insert("email".into(), "ada@example.com".into());
    msg.context.insert("traits".into(), json!({"phone": "+49 30 1234 5678"}));
    msg.context.insert("ip".into(), "203.0.113.7".into());
    let report = apply_message(&mut msg.parts(), &Policy { default: Action::Redact, ..Policy::default() }, b"s");
    let paths: Vec<_> = report.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["traits.email", "context.traits.phone"]);
    assert_eq!(msg.traits["email"], REDACTED);
    assert_eq!(msg.context["ip"], "203.0.113.7", "context.ip is the IP policy's business");
}

// ---------------------------------------------------------------- hashing

#[test]
fn sha256_known_answers() {
    let a = |n: usize| "a".repeat(n);
    let cases: [(String, &str); 9] = [
        ("".into(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc".into(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".into(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        (a(55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (a(56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (a(63), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (a(64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (a(65), "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (a(1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ];
    for (input, want) in cases {
        assert_eq!(sha256::hex(&sha256::digest(input.as_bytes())), want, "length {}", input.len());
    }
}

#[test]
fn hmac_known_answers() {
    // RFC 4231 test cases 1, 2 and 6 (a key longer than a block).
    let cases: [(&[u8], &[u8], &str); 3] = [
        (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ];
    for (key, msg, want) in cases {
        assert_eq!(sha256::hex(&sha256::hmac(key, msg)), want);
    }
}

#[test]
fn hashes_are_of_the_canonical_form() {
    let salt = b"workspace-salt";
    // openssl dgst -sha256 -hmac workspace-salt <<< jane@example.com (without newline)
    let want = "8d1f2669d0d6f7b584d55b3fa9f60d7150944690cac77fadc1dc72f682d2e61e";
    assert_eq!(hash(salt, Some(Class::Email), " Jane@Example.COM"), want);
    assert_eq!(hash(salt, Some(Class::Phone), "+49 (30) 1234-56"), hash(salt, Some(Class::Phone), "+4930123456"));
    assert_eq!(hash(salt, Some(Class::Iban), "de89 3704"), hash(salt, Some(Class::Iban), "DE893704"));
    assert_ne!(hash(salt, None, "Jane"), hash(salt, None, "jane"));
    assert_ne!(hash(b"other", Some(Class::Email), "jane@example.com"), want);
}

#[test]
fn classes_and_actions_have_names() {
    for c in Class::ALL {
        assert_eq!(Class::parse(c.as_str()), Some(c));
    }
    for a in Action::ALL {
        assert_eq!(Action::parse(a.as_str()), Some(a));
    }
}

// ---------------------------------------------------------------- properties

/// Check digits for an IBAN: `98 - (account + country + "00") mod 97`.
fn iban_with_check(country: &str, account: &str) -> String {
    let rearranged = [account, country, "00"].concat();
    let r = rearranged.bytes().fold(0u32, |r, c| match c {
        b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
        _ => (r * 100 + u32::from(c - b'A') + 10) % 97,
    });
    format!("{country}{:02}{account}", 98 - r)
}

fn luhn_complete(body: &str) -> String {
    (0..10).map(|d| format!("{body}{d}")).find(|n| rules_luhn(n)).expect("one digit fits")
}

fn rules_luhn(n: &str) -> bool {
    let sum: u32 = n
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d > 4 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Text likely to contain numbers, separators and near-misses.
const NUMBERISH: &str = "[0-9 +().:/a-fA-F@x-]{0,40}";

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,60}", n in NUMBERISH, path in "[a-zA-Z_.\\[\\]0-9]{0,20}") {
        for s in [&s, &n] {
            let _ = classify(s);
            let _ = classify_field(&path, s);
            let _ = scrub(s);
            let mut v = json!({ "a": s, "b": [s], "c": { "d": s } });
            let _ = apply(&mut v, &path, &Policy { default: Action::Hash, ..Policy::default() }, b"salt");
        }
    }

    #[test]
    fn spans_are_ordered_char_ranges_that_classify_alone(s in "\\PC{0,60}", n in NUMBERISH) {
        for text in [s, n] {
            let mut last = 0;
            for (r, class) in find(&text) {
                prop_assert!(last <= r.start && r.start < r.end && r.end <= text.len(), "{r:?} in {text:?}");
                prop_assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
                prop_assert_eq!(classify(&text[r.clone()]), Some(class), "{:?} in {:?}", &text[r.clone()], text);
                last = r.end;
            }
        }
    }

    #[test]
    fn ip_rules_agree_with_the_standard_parsers(
        s in "[0-9a-fA-F:.]{0,24}",
        pieces in prop::collection::vec("[0-9a-f]{0,5}|[0-9]{1,3}(\\.[0-9]{1,3}){3}", 0..10),
        v4: u32, v6: u128, octet in 0u8..,
    ) {
        for s in [s, pieces.join(":")] {
            let std_v4 = s.parse::<core::net::Ipv4Addr>().is_ok();
            let std_v6 = s.parse::<core::net::Ipv6Addr>().is_ok() && s != "::";
            prop_assert_eq!(rules::ipv4(&s), std_v4, "{}", s);
            prop_assert_eq!(rules::ipv6(&s), std_v6, "{}", s);
        }
        let a = core::net::Ipv6Addr::from(v6);
        let full = a.segments().map(|g| format!("{g:x}")).join(":");
        for addr in [core::net::Ipv4Addr::from(v4).to_string(), a.to_string(), full, format!("::ffff:1.2.3.{octet}")] {
            prop_assert_eq!(classify(&addr), Some(Class::IpAddress), "{}", addr);
        }
    }

    #[test]
    fn cards_with_a_valid_check_digit_are_found_and_typos_are_not(
        body in "4[0-9]{14}", position in 0usize..16, typo in 1u8..10,
    ) {
        let card = luhn_complete(&body);
        let grouped = [&card[..4], &card[4..8], &card[8..12], &card[12..]].join(" ");
        prop_assert_eq!(classify(&card), Some(Class::PaymentCard));
        prop_assert_eq!(classify(&grouped), Some(Class::PaymentCard));
        let mut wrong = card.into_bytes();
        wrong[position] = b'0' + (wrong[position] - b'0' + typo) % 10;
        let wrong = String::from_utf8(wrong).expect("digits");
        prop_assert_ne!(classify(&wrong), Some(Class::PaymentCard), "{}", wrong);
    }

    #[test]
    fn ibans_with_valid_check_digits_are_found_and_typos_are_not(
        account in "[0-9]{18}", position in 4usize..22, typo in 1u8..10,
    ) {
        let iban = iban_with_check("DE", &account);
        prop_assert_eq!(classify(&iban), Some(Class::Iban), "{}", iban);
        let mut wrong = iban.into_bytes();
        wrong[position] = b'0' + (wrong[position] - b'0' + typo) % 10;
        let wrong = String::from_utf8(wrong).expect("ascii");
        prop_assert_ne!(classify(&wrong), Some(Class::Iban), "{}", wrong);
    }

    #[test]
    fn redacted_fields_carry_nothing_found(s in "\\PC{0,60}", n in NUMBERISH) {
        let mut v = json!({ "note": s, "phone": n });
        apply(&mut v, "properties", &Policy { default: Action::Redact, ..Policy::default() }, b"salt");
        for (key, leaf) in v.as_object().expect("object") {
            let leaf = leaf.as_str().expect("string");
            prop_assert_eq!(classify_field(key, leaf), None, "{}", leaf);
            prop_assert!(find(leaf).is_empty(), "{}", leaf);
        }
    }

    #[test]
    fn scrub_keeps_text_without_digits_or_at(s in "\\PC{0,40}") {
        let out = scrub(&s);
        if !s.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
            prop_assert_eq!(out, s);
        }
    }
}
