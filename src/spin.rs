//! When to keep the JS thread awake for the next batch instead of letting it sleep.
//!
//! Every batch costs a cross-thread wake-up of the JS thread, and on some machines (sandboxed
//! kernels especially) that wake-up costs more than handling the batch. In request/response
//! traffic the next events come right after JS answered, so after delivering a batch the JS
//! thread may wait a little for more, spinning on the queue's lock-free `pending` flag. If
//! events arrive, Node's threadsafe-function dispatch loop takes the next batch at once (and
//! runs `process.nextTick` callbacks in between, as for any callback).
//!
//! While it spins, the JS thread also reads the sockets that just got data (the answer to what
//! JS wrote comes there), so that the answer does not wait for the runtime thread to wake.
//!
//! Spinning burns a core, so it is adaptive: a spin that catches events earns more spinning, a
//! spin that times out loses it, and once the credit is gone only an occasional probe spins.
//! `RSNET_SPIN_US` sets the longest spin (0 turns spinning off).

use std::time::{Duration, Instant};

/// Longest wait for the next batch.
const DEFAULT_SPIN: Duration = Duration::from_micros(50);
/// Most credit a run of successful spins builds up.
const MAX_CREDIT: u32 = 8;
/// With no credit, one batch in this many still spins, to notice traffic that got hot.
const PROBE_EVERY: u32 = 32;
/// Only batches this small are followed by a spin. A large batch means many connections are
/// busy: the thread will be woken with plenty to do anyway, and on a small machine the spin
/// would take the core from the threads producing the next batch.
const SMALL_BATCH: usize = 2;

/// Adaptive spin state of one JS thread.
pub struct SpinPolicy {
  limit: Duration,
  credit: u32,
  batches: u32,
}

impl SpinPolicy {
  pub fn from_env() -> Self {
    let limit = std::env::var("RSNET_SPIN_US")
      .ok()
      .and_then(|v| v.parse::<u64>().ok())
      .map_or(DEFAULT_SPIN, Duration::from_micros);
    SpinPolicy::new(limit)
  }

  pub fn new(limit: Duration) -> Self {
    SpinPolicy {
      limit,
      credit: 1,
      batches: 0,
    }
  }

  /// Whether to spin after a batch of `events` events.
  pub fn should_spin(&mut self, events: usize) -> bool {
    if self.limit.is_zero() || events > SMALL_BATCH {
      return false;
    }
    self.batches = self.batches.wrapping_add(1);
    self.credit > 0 || self.batches.is_multiple_of(PROBE_EVERY)
  }

  /// Wait until `ready()` or the limit; returns whether events came.
  pub fn spin(&mut self, ready: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    let hit = loop {
      if ready() {
        break true;
      }
      if start.elapsed() >= self.limit {
        break false;
      }
      std::hint::spin_loop();
    };
    self.record(hit);
    hit
  }

  fn record(&mut self, hit: bool) {
    self.credit = if hit {
      (self.credit + 1).min(MAX_CREDIT)
    } else {
      self.credit / 2
    };
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn misses_stop_spinning_and_hits_bring_it_back() {
    let mut p = SpinPolicy::new(Duration::from_micros(10));
    assert!(p.should_spin(1));
    assert!(!p.spin(|| false));
    // Credit exhausted: only probes spin.
    let spins = (0..PROBE_EVERY * 2).filter(|_| p.should_spin(1)).count();
    assert_eq!(spins, 2);
    // A probe that catches events earns credit again.
    assert!(p.spin(|| true));
    assert!(p.should_spin(1));
    // Large batches never spin.
    assert!(!p.should_spin(SMALL_BATCH + 1));
  }

  #[test]
  fn zero_limit_never_spins() {
    let mut p = SpinPolicy::new(Duration::ZERO);
    assert!(!p.should_spin(1));
  }
}
