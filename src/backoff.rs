//! The one retry pacing of the crate: exponential backoff, capped, with jitter. Connecting, the boot
//! guard, the advisory-lock poll and the transactional retry all wait through it, so no wait anywhere
//! exceeds [`MAX_PAUSE`] and no retry count can overflow a multiplication.

use std::time::Duration;

/// No single wait between two attempts is longer than this, whatever the caller asks for: a release
/// log that goes quiet for minutes looks hung, and a longer pause rarely helps a database come back.
pub const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Pauses that start at `first`, double after each retry up to `cap` (at most [`MAX_PAUSE`]), and are
/// each scaled by a random factor in [0.5, 1] so that many dynos retrying together (after a failover,
/// say) spread out instead of hitting the server in lockstep. An endless iterator: the caller decides
/// when to stop.
#[derive(Debug, Clone)]
pub struct Backoff {
    step: Duration,
    cap: Duration,
}

impl Backoff {
    pub fn new(first: Duration, cap: Duration) -> Backoff {
        let cap = cap.min(MAX_PAUSE);
        Backoff {
            step: first.min(cap),
            cap,
        }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let pause = self.step.mul_f64(0.5 + jitter() / 2.0);
        self.step = self.step.saturating_mul(2).min(self.cap);
        Some(pause)
    }
}

/// A number in [0, 1) that differs between processes and between calls. std's `RandomState` is
/// seeded randomly per process and advanced per call, which is all jitter needs (no RNG crate).
pub fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let hash = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (hash % 1_000_000) as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_long_retry_series_never_waits_more_than_ten_seconds_and_never_overflows() {
        // `--retries 58` overflowed `200 ms × 2^(n-1)`; `--retries 10` waited 102 s before the last try.
        let pauses: Vec<Duration> = Backoff::new(200 * MS, Duration::MAX).take(100).collect();
        assert!(pauses.iter().all(|p| *p <= MAX_PAUSE), "{pauses:?}");
        assert!(pauses[9] >= MAX_PAUSE / 2, "grows to the cap: {pauses:?}");
        let total: Duration = pauses[..10].iter().sum();
        assert!(total < Duration::from_secs(60), "10 retries: {total:?}");
    }

    #[test]
    fn pauses_start_at_first_and_grow_until_the_callers_cap() {
        let pauses: Vec<Duration> = Backoff::new(250 * MS, 2000 * MS).take(8).collect();
        assert!((125 * MS..=250 * MS).contains(&pauses[0]), "{pauses:?}");
        assert!((1000 * MS..=2000 * MS).contains(&pauses[3]), "{pauses:?}");
        assert!(pauses[4..].iter().all(|p| *p <= 2000 * MS), "{pauses:?}");
        // A first pause above the cap is the cap.
        assert!(
            Backoff::new(Duration::from_secs(60), Duration::from_secs(60))
                .next()
                .is_some_and(|p| p <= MAX_PAUSE)
        );
    }

    #[test]
    fn jitter_spreads_the_pauses() {
        let values: Vec<f64> = (0..50).map(|_| jitter()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let distinct = values
            .iter()
            .map(|v| (v * 1000.0) as u32)
            .collect::<std::collections::BTreeSet<_>>();
        assert!(distinct.len() > 25, "{values:?}");
        let pauses: std::collections::BTreeSet<Duration> = (0..20)
            .map(|_| {
                Backoff::new(Duration::from_secs(1), MAX_PAUSE)
                    .next()
                    .unwrap()
            })
            .collect();
        assert!(
            pauses.len() > 10,
            "dynos starting together must not retry in lockstep: {pauses:?}"
        );
    }
}
