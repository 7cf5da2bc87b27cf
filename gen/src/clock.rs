//! Event timestamps: exactly `events` non-decreasing instants over the period, denser in the
//! evening, at weekends and on shopping festivals.
//!
//! The period is cut into hour buckets, each with an integer weight. Bucket `h` receives
//! `floor(W_h * M / W) - floor(W_(h-1) * M / W)` events (`W_h` the cumulative weight), which
//! sums to exactly `M`; inside a bucket the `n` events are stratified, the `i`-th falling
//! uniformly in `[i/n, (i+1)/n)` of the hour, so the sequence never goes backwards and needs
//! no sorting.

use crate::sample::{Rng, below};

const HOUR_NS: i64 = 3_600_000_000_000;
const DAY_NS: i64 = 24 * HOUR_NS;
const MS_NS: i64 = 1_000_000;

/// Most customers are in China: the daily rhythm follows UTC+8.
const LOCAL_OFFSET_NS: i64 = 8 * HOUR_NS;

/// Relative activity per local hour: quiet at night, a lunch bump, the peak at 20-22h.
const HOURLY: [u32; 24] =
    [30, 15, 8, 5, 5, 8, 20, 40, 60, 70, 75, 80, 90, 80, 75, 75, 75, 80, 90, 110, 130, 140, 110, 60];

pub(crate) struct Clock {
    start_ns: i64,
    weights: Vec<u32>,
    total: u128,
    events: u128,
    /// Current bucket and the cumulative weight before it.
    bucket: usize,
    cum: u128,
    /// Index range of the events in the current bucket, and the next event's index.
    first: u64,
    end: u64,
    next: u64,
}

impl Clock {
    pub(crate) fn new(start_ns: i64, days: u32, events: u64) -> Self {
        let weights: Vec<u32> = (0..i64::from(days) * 24)
            .map(|h| {
                let local = start_ns + h * HOUR_NS + LOCAL_OFFSET_NS;
                let hour = local.div_euclid(HOUR_NS).rem_euclid(24) as usize;
                HOURLY[hour] * day_factor(local.div_euclid(DAY_NS))
            })
            .collect();
        let total = weights.iter().map(|&w| u128::from(w)).sum();
        let mut clock = Clock {
            start_ns,
            weights,
            total,
            events: u128::from(events),
            bucket: 0,
            cum: 0,
            first: 0,
            end: 0,
            next: 0,
        };
        clock.end = clock.share(u128::from(clock.weights[0]));
        clock
    }

    /// Events due up to cumulative weight `cum`.
    fn share(&self, cum: u128) -> u64 {
        (cum * self.events / self.total) as u64
    }

    /// The next timestamp, or `None` once `events` timestamps have been given.
    pub(crate) fn next(&mut self, rng: &mut Rng) -> Option<i64> {
        while self.next >= self.end {
            let next_bucket = self.bucket + 1;
            let w = *self.weights.get(next_bucket)?;
            self.cum += u128::from(self.weights[self.bucket]);
            self.bucket = next_bucket;
            self.first = self.end;
            self.end = self.share(self.cum + u128::from(w));
        }
        let n = self.end - self.first;
        let i = self.next - self.first;
        self.next += 1;
        let jitter = below(rng, HOUR_NS as u64);
        // u64 suffices unless a single hour holds millions of events.
        let offset = match (i).checked_mul(HOUR_NS as u64) {
            Some(base) => (base + jitter) / n,
            None => ((u128::from(i) * HOUR_NS as u128 + u128::from(jitter)) / u128::from(n)) as u64,
        };
        // Tracking SDKs stamp events in milliseconds (analytics.js, the mobile SDKs, Segment's
        // ISO timestamps), so the stream does too; flooring keeps the order non-decreasing.
        let ns = self.start_ns + self.bucket as i64 * HOUR_NS + offset as i64;
        Some(ns - ns.rem_euclid(MS_NS))
    }
}

/// Relative activity of a local day (days since 1970-01-01): weekends busier, shopping
/// festivals (Double 11, 618, Double 12, Women's Day) far busier, their eves a little.
fn day_factor(day: i64) -> u32 {
    // 1970-01-01 was a Thursday; 0 = Sunday.
    let weekday = (day + 4).rem_euclid(7);
    let base = if weekday == 0 || weekday == 6 { 12 } else { 10 };
    let (_, month, dom) = civil_from_days(day);
    match (month, dom) {
        (11, 11) => base * 3,
        (6, 18) | (12, 12) => base * 2,
        (11, 10) | (6, 17) | (3, 8) => base * 3 / 2,
        _ => base,
    }
}

/// Gregorian (year, month, day) of a day count since 1970-01-01. Days outside the `time`
/// crate's range (years beyond +-9999) cannot come from an i64 ns start, so they map to the epoch.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // The Julian day number of 1970-01-01 is 2,440,588.
    let date = i32::try_from(z + 2_440_588)
        .ok()
        .and_then(|jd| time::Date::from_julian_day(jd).ok())
        .unwrap_or(time::Date::from_julian_day(2_440_588).expect("1970-01-01 is in range"));
    (i64::from(date.year()), u32::from(u8::from(date.month())), u32::from(date.day()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_START_NS;
    use rand::SeedableRng;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(DEFAULT_START_NS / DAY_NS), (2026, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2024-02-29, a leap day: 19_782 days after the epoch.
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn exact_count_monotone_and_in_range() {
        for (days, events) in [(1, 1), (1, 7), (3, 1000), (90, 5000), (2, 100_000)] {
            let mut clock = Clock::new(DEFAULT_START_NS, days, events);
            let mut rng = Rng::seed_from_u64(3);
            let mut last = DEFAULT_START_NS;
            let mut n = 0;
            while let Some(t) = clock.next(&mut rng) {
                assert!(t >= last);
                last = t;
                n += 1;
            }
            assert_eq!(n, events);
            assert!(last < DEFAULT_START_NS + i64::from(days) * DAY_NS);
        }
    }

    #[test]
    fn evening_busier_than_night() {
        let mut clock = Clock::new(DEFAULT_START_NS, 7, 100_000);
        let mut rng = Rng::seed_from_u64(4);
        let mut per_hour = [0u32; 24];
        while let Some(t) = clock.next(&mut rng) {
            per_hour[((t + LOCAL_OFFSET_NS) / HOUR_NS % 24) as usize] += 1;
        }
        assert!(per_hour[21] > 10 * per_hour[4], "{per_hour:?}");
    }
}
