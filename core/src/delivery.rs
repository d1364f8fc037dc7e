//! How a client delivers events: when to flush a queue, how to split it for
//! `sendBeacon`/keepalive, and what to do with each answer (Segment's
//! analytics-next behaviour: 10 events or 5 s, 64 KB keepalive requests,
//! exponential backoff 0.5 s to 60 s with jitter over 10 tries, 4xx dropped
//! except 408/410/429/460, `Retry-After` honoured).

use core::ops::Range;

use crate::time::Millis;

pub const FLUSH_AT_EVENTS: usize = 10;
pub const FLUSH_INTERVAL: Millis = 5_000;
/// Browsers refuse keepalive/beacon bodies over 64 KiB in flight; stay under it.
pub const KEEPALIVE_MAX_BYTES: usize = 60 * 1024;
pub const MAX_ATTEMPTS: u32 = 10;
const BACKOFF_MIN: Millis = 500;
const BACKOFF_MAX: Millis = 60_000;

/// Whether a queue should be sent now.
pub fn should_flush(queued: usize, queued_bytes: usize, oldest_age: Millis) -> bool {
    queued >= FLUSH_AT_EVENTS || queued_bytes >= KEEPALIVE_MAX_BYTES || (queued > 0 && oldest_age >= FLUSH_INTERVAL)
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again after this many milliseconds.
    Retry(Millis),
    /// The server will never accept it (or tries ran out): drop it.
    Drop,
}

/// Classifies an attempt. `status` is `None` for a network error; `attempt`
/// counts from 1; `jitter` is a random number in [0, 1) from the shell;
/// `retry_after` is the header's value, when present.
pub fn outcome(status: Option<u16>, attempt: u32, jitter: f64, retry_after: Option<&str>) -> Outcome {
    let retryable = match status {
        None => true,
        Some(s) if (200..300).contains(&s) => return Outcome::Delivered,
        Some(s) => s >= 500 || matches!(s, 408 | 410 | 429 | 460),
    };
    if !retryable || attempt >= MAX_ATTEMPTS {
        return Outcome::Drop;
    }
    // The server's own Retry-After (in seconds) wins over our schedule; a day at most.
    match retry_after.and_then(|v| v.trim().parse::<u32>().ok()) {
        Some(secs) => Outcome::Retry(Millis::from(secs.min(86_400)) * 1_000),
        None => Outcome::Retry(backoff(attempt, jitter)),
    }
}

/// Exponential backoff with "equal jitter": half the delay is fixed, half random.
pub fn backoff(attempt: u32, jitter: f64) -> Millis {
    let exp = BACKOFF_MIN.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(BACKOFF_MAX);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
    exp / 2 + ((exp / 2) as f64 * jitter) as Millis
}

/// Splits events of the given encoded sizes into consecutive runs whose
/// bodies stay under `max_bytes` (`overhead` is the envelope around them). An
/// event too large for any chunk gets a chunk of its own.
pub fn chunks(sizes: &[usize], overhead: usize, max_bytes: usize) -> alloc::vec::Vec<Range<usize>> {
    let mut out = alloc::vec::Vec::new();
    let mut start = 0;
    let mut bytes = overhead;
    for (i, &size) in sizes.iter().enumerate() {
        let add = size + usize::from(i > start);
        if i > start && bytes + add > max_bytes {
            out.push(start..i);
            start = i;
            bytes = overhead + size;
        } else {
            bytes += add;
        }
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn flushes_like_analytics_next() {
        assert!(!should_flush(0, 0, 10_000));
        assert!(!should_flush(9, 1_000, 4_999));
        assert!(should_flush(10, 1_000, 0));
        assert!(should_flush(1, 100, 5_000));
        assert!(should_flush(2, 61_440, 0));
    }

    #[test]
    fn answers_decide_retries() {
        let cases = [
            (Some(200), 1, None, Outcome::Delivered),
            (Some(400), 1, None, Outcome::Drop),
            (Some(401), 1, None, Outcome::Drop),
            (Some(413), 1, None, Outcome::Drop),
            (None, 1, None, Outcome::Retry(250)),
            (Some(500), 2, None, Outcome::Retry(500)),
            (Some(503), 4, None, Outcome::Retry(2_000)),
            (Some(429), 1, Some("7"), Outcome::Retry(7_000)),
            (Some(429), 1, Some("3600"), Outcome::Retry(3_600_000)),
            (Some(429), 1, Some("soon"), Outcome::Retry(250)),
            (Some(408), 9, None, Outcome::Retry(30_000)),
            (Some(460), 12, None, Outcome::Drop),
            (Some(500), 10, None, Outcome::Drop),
        ];
        for (status, attempt, retry_after, want) in cases {
            assert_eq!(outcome(status, attempt, 0.0, retry_after), want, "{status:?} attempt {attempt}");
        }
    }

    #[test]
    fn backoff_grows_and_jitters_within_bounds() {
        assert_eq!((backoff(1, 0.0), backoff(1, 0.999)), (250, 499));
        assert_eq!(backoff(8, 0.0), 30_000);
        assert_eq!(backoff(30, 1.0), 60_000);
        assert_eq!(backoff(3, f64::NAN), 1_000);
    }

    #[test]
    fn chunks_stay_under_the_limit() {
        assert_eq!(chunks(&[], 10, 100), vec![]);
        assert_eq!(chunks(&[30, 30, 30, 30], 10, 100), vec![0..2, 2..4]);
        assert_eq!(chunks(&[30, 200, 30], 10, 100), vec![0..1, 1..2, 2..3]);
        assert_eq!(chunks(&[44, 44], 10, 100), vec![0..2]);
        assert_eq!(chunks(&[45, 45], 10, 100), vec![0..1, 1..2]);
    }

    proptest::proptest! {
        #[test]
        fn chunks_cover_everything_in_order(sizes in proptest::collection::vec(1usize..300, 0..50)) {
            let cs = chunks(&sizes, 20, 500);
            let mut next = 0;
            for c in &cs {
                proptest::prop_assert_eq!(c.start, next);
                let body = 20 + sizes[c.clone()].iter().sum::<usize>() + c.len().saturating_sub(1);
                proptest::prop_assert!(body <= 500 || c.len() == 1);
                next = c.end;
            }
            proptest::prop_assert_eq!(next, sizes.len());
        }
    }
}
