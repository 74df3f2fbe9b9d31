//! Staying inside the OpenAPI's flow control. Each API has its own QPS
//! limit per account (the fact sheet's figures, [`qps`]); [`Pacer`] spaces
//! one run's calls of an API at least `1/QPS` apart. A call refused with
//! `Throttling.User` or `Throttling.Api` (HTTP 400, the gateway's flow
//! control: another program of the same account may be calling too) is
//! tried again after an exponential backoff with jitter, at most
//! [`Retry::attempts`] tries in all ([`with_retry`]). Nothing else is
//! retried here: a call the platform may have acted on is never repeated
//! blindly.

use super::error::PlatformError;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The QPS limit of an API (per account), from the API's documentation;
/// 10 for one not listed.
pub fn qps(action: &str) -> u32 {
    match action {
        "BatchRegisterDeviceWithApplyId" | "ResetThing" => 500,
        "QueryPageByApplyId" | "BatchGetDeviceState" | "DeleteDevice" => 50,
        "QueryBatchRegisterDeviceStatus" => 30,
        _ => 10,
    }
}

/// Spaces each API's calls by its QPS limit.
#[derive(Debug, Default)]
pub struct Pacer {
    last: HashMap<String, Instant>,
}

impl Pacer {
    /// Waits until `action` may be called again, and notes the call.
    pub fn wait(&mut self, action: &str) {
        let gap = Duration::from_secs(1) / qps(action).max(1);
        if let Some(last) = self.last.get(action) {
            let next = *last + gap;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        self.last.insert(action.to_owned(), Instant::now());
    }
}

/// How throttled calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// The backoff before the first retry.
    pub base: Duration,
    /// The longest backoff.
    pub cap: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 6,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(16),
        }
    }
}

impl Retry {
    /// The pause before retry `n` (1 for the first): `base·2^(n-1)`, at most
    /// `cap`, of which the upper half is scaled by `jitter` (0 to 1), so
    /// that clients throttled together do not come back together.
    pub fn delay(&self, n: u32, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << n.saturating_sub(1).min(20))
            .min(self.cap);
        exp / 2 + exp.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// A number from 0 to 1 from the operating system's generator (0.5 if it
/// has none: the backoff is then without jitter, still bounded).
pub fn jitter() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}

/// Runs `call` until it succeeds, fails with something other than flow
/// control, or has been tried `retry.attempts` times; `pause` sleeps (the
/// tests pass one that records). `on_retry` hears of each retry.
pub fn with_retry<T>(
    retry: &Retry,
    mut call: impl FnMut() -> Result<T, PlatformError>,
    mut pause: impl FnMut(Duration),
    mut on_retry: impl FnMut(u32, Duration),
) -> Result<T, PlatformError> {
    let mut n = 1;
    loop {
        match call() {
            Err(e) if e.is_throttling() && n < retry.attempts.max(1) => {
                let d = retry.delay(n, jitter());
                on_retry(n, d);
                pause(d);
                n += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled() -> PlatformError {
        PlatformError::Refused {
            api: "BatchGetDeviceState".into(),
            code: "Throttling.User".into(),
            message: "Request was denied due to user flow control.".into(),
            request_id: "r".into(),
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let r = Retry {
            attempts: 6,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        assert_eq!(r.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(r.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(r.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(r.delay(10, 1.0), Duration::from_millis(1000));
        assert_eq!(r.delay(40, 0.0), Duration::from_millis(500));
        let j = jitter();
        assert!((0.0..=1.0).contains(&j));
    }

    #[test]
    fn retries_throttling_then_succeeds() {
        let mut calls = 0;
        let mut pauses = Vec::new();
        let got = with_retry(
            &Retry::default(),
            || {
                calls += 1;
                if calls < 3 {
                    Err(throttled())
                } else {
                    Ok(calls)
                }
            },
            |d| pauses.push(d),
            |_, _| {},
        );
        assert_eq!(got.expect("third try passes"), 3);
        assert_eq!(pauses.len(), 2);
        assert!(pauses[1] >= pauses[0] / 2, "{pauses:?}");
    }

    #[test]
    fn gives_up_after_the_bound_and_never_retries_other_errors() {
        let mut calls = 0;
        let r = Retry {
            attempts: 4,
            ..Retry::default()
        };
        let got: Result<(), _> = with_retry(
            &r,
            || {
                calls += 1;
                Err(throttled())
            },
            |_| {},
            |_, _| {},
        );
        assert!(got.unwrap_err().is_throttling());
        assert_eq!(calls, 4);
        let mut calls = 0;
        let got: Result<(), _> = with_retry(
            &r,
            || {
                calls += 1;
                Err(PlatformError::Refused {
                    api: "DeleteDevice".into(),
                    code: "iot.device.NotExistedDevice".into(),
                    message: String::new(),
                    request_id: String::new(),
                })
            },
            |_| {},
            |_, _| {},
        );
        assert!(matches!(got, Err(PlatformError::Refused { .. })), "{got:?}");
        assert_eq!(calls, 1);
    }

    #[test]
    fn pacer_spaces_calls_of_one_api() {
        let mut p = Pacer::default();
        let t = Instant::now();
        for _ in 0..3 {
            p.wait("BatchCheckDeviceNames"); // 10 QPS: 100 ms apart
        }
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "{:?}",
            t.elapsed()
        );
        let t = Instant::now();
        p.wait("ResetThing");
        assert!(t.elapsed() < Duration::from_millis(50));
    }
}
