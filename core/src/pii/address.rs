//! Street addresses, where a cheap word pattern finds them: a house number
//! and a street name with a word that says "street" in English, German or
//! French. Names and cities alone are not matched (that needs gazetteers).

use super::rules::is_word_char;

/// English street types, after the name: `221B Baker Street`, `12 Main St.`.
const EN_TYPES: &str = "street st avenue ave road rd lane ln boulevard blvd drive dr way court ct \
    place pl parkway pkwy highway hwy terrace circle square";

/// Compass points after an English street type: `1600 Pennsylvania Avenue NW`.
const COMPASS: &str = "n s e w ne nw se sw";

/// Words that do not name streets but start title-cased marketing copy:
/// `Save 20 Dollars On The Way` is not an address.
const NOT_NAMES: &str = "the a an and or of on in at to for by with from your our my off";

/// German street types, ending a compound (`Hauptstraße 5`, `Bahnhofstr. 12`)
/// or as a word after the name (`Berliner Straße 27`).
const DE_TYPES: &str = "straße strasse str weg gasse allee platz damm";

/// French street types, before the name: `12 rue de la Paix`.
const FR_TYPES: &str = "rue avenue av boulevard bd place chemin allée impasse quai cours";

/// Little words inside French street names.
const FR_PARTICLES: &str = "de du des la le les et sur aux à";

/// The length of the street address that starts `s`, in any of the forms.
pub(super) fn at_start(s: &str) -> Option<usize> {
    english(s).or_else(|| french(s)).or_else(|| german(s))
}

/// A field named like an address (`address`, `street`) holding words and a
/// house number: `Calle Mayor 5`, `Via Roma 10` (street types we do not know).
pub(super) fn loose(s: &str) -> bool {
    let mut at = 0;
    let (mut number, mut name) = (false, false);
    while let Some(w) = word(s, at) {
        number |= house_number(w.text);
        name |= w.text.chars().filter(|&c| is_word_char(c) && !c.is_ascii_digit()).count() >= 2;
        at = w.next;
    }
    number && name
}

/// A word of text: up to the next whitespace, trailing punctuation apart.
#[derive(Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    /// Where `text` ends in the whole string.
    end: usize,
    /// The punctuation after `text` (`,` of `Paix,`), or 0.
    punct: u8,
    /// Where the next word on the same line starts.
    next: usize,
}

const MAX_WORD: usize = 40;

fn word(s: &str, at: usize) -> Option<Word<'_>> {
    let rest = s.get(at..)?;
    let b = rest.as_bytes();
    // Longer words are not part of an address (and would make `find` slow).
    let len = b.iter().take(MAX_WORD + 1).position(u8::is_ascii_whitespace).unwrap_or(b.len());
    if len > MAX_WORD {
        return None;
    }
    let core = b.get(..len)?.iter().rposition(|c| !(c.is_ascii_punctuation() && *c != b'-')).map_or(0, |i| i + 1);
    let mut next = at + len;
    while matches!(s.as_bytes().get(next), Some(b' ' | b'\t')) {
        next += 1;
    }
    let text = rest.get(..core).filter(|t| !t.is_empty())?;
    let punct = b.get(core).copied().filter(|_| core < len).unwrap_or(0);
    Some(Word { text, end: at + core, punct, next })
}

/// `w` is one of the space-separated words of `list`, ignoring ASCII case.
fn one_of(w: &str, list: &str) -> bool {
    crate::text::split(list, b' ').any(|t| w.eq_ignore_ascii_case(t))
}

fn capitalized(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_uppercase() || (!c.is_ascii() && is_word_char(c)))
}

/// A house number: 1 to 5 digits not starting with 0, an optional letter
/// (`221B`, `12a`), or a range (`10-12`).
fn house_number(w: &str) -> bool {
    let b = w.as_bytes();
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = b.get(n..).unwrap_or_default();
    let suffix_ok = match rest {
        [] => true,
        [c] => c.is_ascii_alphabetic(),
        [b'-', more @ ..] => !more.is_empty() && more.len() <= 5 && more.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    (1..=5).contains(&n) && b.first() != Some(&b'0') && suffix_ok
}

/// A word of a street's name: capitalized (or an ordinal, `5th`), made of
/// letters, hyphens and apostrophes, and not a little word of running text.
fn name_word(w: &str) -> bool {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    let ordinal = digits > 0 && one_of(w.get(digits..).unwrap_or_default(), "st nd rd th");
    let letters = w.chars().all(|c| is_word_char(c) || matches!(c, '-' | '\'' | '’'));
    ordinal || (capitalized(w) && letters && !one_of(w, NOT_NAMES))
}

/// `<number> <1-3 name words> <type> [compass]`: `742 Evergreen Terrace`.
fn english(s: &str) -> Option<usize> {
    let number = word(s, 0)?;
    if number.punct != 0 || !house_number(number.text) {
        return None;
    }
    let mut at = number.next;
    for names in 0..=3 {
        let w = word(s, at)?;
        if names > 0 && one_of(w.text, EN_TYPES) {
            let compass = word(s, w.next)
                .filter(|d| w.punct == 0 && one_of(d.text, COMPASS) && d.text.bytes().all(|c| c.is_ascii_uppercase()));
            return Some(compass.map_or(w.end, |d| d.end));
        }
        if w.punct != 0 || !name_word(w.text) {
            return None;
        }
        at = w.next;
    }
    None
}

/// `<number>[,] [bis|ter] <type> <name>`: `12 rue de la Paix`, `8, rue Lepic`.
/// The name is capitalized words and particles, ending at a capitalized word.
/// So that English title case (`2 Place Mats`) is not French, the type is
/// `rue`, or written in lowercase, or followed by a particle.
fn french(s: &str) -> Option<usize> {
    let number = word(s, 0)?;
    if !matches!(number.punct, 0 | b',') || !house_number(number.text) {
        return None;
    }
    let mut kind = word(s, number.next)?;
    if number.punct == 0 && one_of(kind.text, "bis ter") {
        kind = word(s, kind.next)?;
    }
    let abbreviated = kind.punct == b'.' && one_of(kind.text, "av bd");
    if !one_of(kind.text, FR_TYPES) || !(kind.punct == 0 || abbreviated) {
        return None;
    }
    let lowercase = !kind.text.bytes().any(|c| c.is_ascii_uppercase());
    let (mut end, mut at, mut particle_first) = (None, kind.next, false);
    for i in 0..6 {
        let Some(w) = word(s, at) else { break };
        // "l'Église", "d'Alsace": the elided article, then the name.
        let elided = w.text.get(..2).is_some_and(|p| one_of(p, "l' d'"));
        let text = if elided { w.text.get(2..).unwrap_or_default() } else { w.text };
        if one_of(text, FR_PARTICLES) {
            particle_first |= i == 0;
        } else if name_word(text) {
            particle_first |= i == 0 && elided;
            end = Some(w.end);
        } else {
            break;
        }
        if w.punct != 0 {
            break;
        }
        at = w.next;
    }
    let french = kind.text.eq_ignore_ascii_case("rue") || lowercase || particle_first;
    end.filter(|_| french)
}

/// `<name> <number>` where the name ends in a street type (`Hauptstraße 5`,
/// `Bahnhofstr. 12a`), or `<name> <type> <number>` (`Berliner Straße 27`).
fn german(s: &str) -> Option<usize> {
    let first = word(s, 0)?;
    if !name_word(first.text) || !matches!(first.punct, 0 | b'.') {
        return None;
    }
    let compound = crate::text::split(DE_TYPES, b' ').any(|t| {
        let (w, t) = (first.text.as_bytes(), t.as_bytes());
        w.len() > t.len() + 2 && w.get(w.len() - t.len()..).is_some_and(|end| end.eq_ignore_ascii_case(t))
    });
    let street = if compound {
        first
    } else {
        let w = word(s, first.next).filter(|w| first.punct == 0 && capitalized(w.text) && one_of(w.text, DE_TYPES))?;
        if !matches!(w.punct, 0 | b'.') {
            return None;
        }
        w
    };
    let t = street.text.as_bytes();
    if street.punct == b'.' && !t.get(t.len().saturating_sub(3)..).is_some_and(|e| e.eq_ignore_ascii_case(b"str")) {
        return None;
    }
    let number = word(s, street.next)?;
    house_number(number.text).then_some(number.end)
}
