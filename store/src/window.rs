//! Time windows of merged parts: hours while a day is open, days while a month is open, then
//! calendar months (UTC). Older data sits in fewer, larger parts, which compress better and
//! cost less metadata; recent data stays in small windows that merge cheaply.

use crate::part::Level;

/// One hour in ns.
pub const HOUR: i64 = 3_600_000_000_000;
/// One day in ns.
pub const DAY: i64 = 24 * HOUR;
/// Late events may still arrive this long after a window ends before it is closed.
pub const GRACE: i64 = HOUR;

/// The window an event at `ts` belongs in, given the time now: `(level, window start)`.
pub fn window_of(ts: i64, now: i64) -> (Level, i64) {
    let (month, next_month) = month_bounds(ts);
    if next_month.saturating_add(GRACE) <= now {
        return (Level::Month, month);
    }
    let day = ts.div_euclid(DAY) * DAY;
    if day.saturating_add(DAY + GRACE) <= now { (Level::Day, day) } else { (Level::Hour, ts.div_euclid(HOUR) * HOUR) }
}

/// Start of the UTC calendar month holding `ts`, and start of the next one (ns).
pub fn month_bounds(ts: i64) -> (i64, i64) {
    let days = ts.div_euclid(DAY);
    let (y, m, _) = civil_from_days(days);
    let start = days_from_civil(y, m, 1);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let next = days_from_civil(ny, nm, 1);
    (start.saturating_mul(DAY), next.saturating_mul(DAY))
}

// Howard Hinnant's algorithms (public domain, "chrono-Compatible Low-Level Date Algorithms"):
// exact for the whole proleptic Gregorian calendar, no tables.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-02-15T12:00:00Z = 1708000000 s; February 2024 has 29 days.
    const FEB_15_2024: i64 = 1_708_000_000_000_000_000;
    const FEB_1_2024: i64 = 1_706_745_600_000_000_000;
    const MAR_1_2024: i64 = 1_709_251_200_000_000_000;

    #[test]
    fn months_follow_the_calendar() {
        assert_eq!(month_bounds(FEB_15_2024), (FEB_1_2024, MAR_1_2024));
        assert_eq!(month_bounds(FEB_1_2024), (FEB_1_2024, MAR_1_2024));
        assert_eq!(month_bounds(MAR_1_2024 - 1), (FEB_1_2024, MAR_1_2024));
        // 1969-12-31T23:59:59Z and 1970-01-01.
        assert_eq!(month_bounds(-1_000_000_000), (-31 * DAY, 0));
        assert_eq!(month_bounds(0), (0, 31 * DAY));
        for days in [-800_000i64, -1, 0, 59, 10_000, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn windows_grow_with_age() {
        assert_eq!(window_of(FEB_15_2024, FEB_15_2024 + 10 * HOUR), (Level::Hour, FEB_15_2024 / HOUR * HOUR));
        assert_eq!(window_of(FEB_15_2024, FEB_15_2024 + 2 * DAY), (Level::Day, FEB_15_2024 / DAY * DAY));
        assert_eq!(window_of(FEB_15_2024, MAR_1_2024 + GRACE - 1).0, Level::Day, "grace hour after the month");
        assert_eq!(window_of(FEB_15_2024, MAR_1_2024 + GRACE), (Level::Month, FEB_1_2024));
    }
}
