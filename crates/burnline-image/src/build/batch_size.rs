//! How many devices go into the next durable batch. Each batch ends with one
//! `syncfs`, its renames and one directory fsync ([`super::settle`]); for
//! devices that take tens of microseconds each (a delta of a few KiB), a
//! fixed 64 made those journal commits the run's bottleneck: on ext4, 10,000
//! deltas took twice as long in batches of 64 as in batches of 1,024. So the
//! batch follows the time it takes to stage: the first is [`FIRST`] devices
//! (a crash early in a run loses little), then the size doubles while a
//! batch takes under half of [`AIM`], and halves while it takes over twice
//! [`AIM`], within [`FIRST`]..=[`MOST`]. The outputs do not depend on it:
//! the manifest and the journal are in CSV order whatever the batches.

use std::time::Duration;

/// Devices in the first batch, and the fewest in any.
pub const FIRST: usize = 64;
/// The most devices in a batch: bounds the memory of staged entries and the
/// work a crash can lose.
pub const MOST: usize = 1024;
/// About how long a batch should take to stage: long beside its two journal
/// commits (milliseconds), short beside a run.
pub const AIM: Duration = Duration::from_millis(250);

/// The size of the batch after one of `size` devices that took `took`.
pub fn next(size: usize, took: Duration) -> usize {
    if took < AIM / 2 {
        size.saturating_mul(2)
    } else if took > AIM * 2 {
        size / 2
    } else {
        size
    }
    .clamp(FIRST, MOST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_batches_grow_to_the_cap_and_slow_ones_shrink_to_the_first_size() {
        let quick = Duration::from_millis(5);
        let mut size = FIRST;
        let mut seen = vec![size];
        while size < MOST {
            size = next(size, quick);
            seen.push(size);
        }
        assert_eq!(seen, [64, 128, 256, 512, 1024]);
        assert_eq!(next(MOST, quick), MOST);
        assert_eq!(next(1024, AIM), 1024, "on aim: unchanged");
        assert_eq!(next(1024, AIM * 3), 512);
        assert_eq!(next(FIRST, Duration::from_secs(60)), FIRST);
        assert_eq!(next(0, AIM), FIRST, "never an empty batch");
    }
}
