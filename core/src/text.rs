//! Splitting strings at ASCII bytes, for code that runs in the browser.
//!
//! `str::split`, `find` and friends with a `char` pattern use a searcher
//! whose bounds checks can panic, and a panic's message formatting costs the
//! SDK's wasm a few kilobytes. These only use `get`, which cannot panic; an
//! ASCII byte is always at a char boundary, so nothing is lost.

/// Splits at the first `sep`: the text before it and the text after it.
pub fn cut(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The text before the first `sep` (all of `s` without one).
pub fn before(s: &str, sep: u8) -> &str {
    cut(s, sep).map_or(s, |(head, _)| head)
}

/// The pieces of `s` between `sep`s, like `s.split(sep as char)`.
pub fn split(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    core::iter::from_fn(move || {
        let s = rest?;
        match cut(s, sep) {
            Some((head, tail)) => {
                rest = Some(tail);
                Some(head)
            }
            None => rest.take(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    proptest::proptest! {
        #[test]
        fn like_the_std_functions(s in "[a-c#é/]{0,12}") {
            proptest::prop_assert_eq!(cut(&s, b'#'), s.split_once('#'));
            proptest::prop_assert_eq!(before(&s, b'#'), s.split('#').next().unwrap_or_default());
            proptest::prop_assert_eq!(split(&s, b'/').collect::<Vec<_>>(), s.split('/').collect::<Vec<_>>());
        }
    }
}
