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
    // Every i64 of ns lies within years 1677-2262, well inside `time`'s range.
    let date = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ts))
        .expect("an i64 of nanoseconds is a valid date")
        .date();
    let first = date.replace_day(1).expect("every month has a day 1");
    let next = match date.month() {
        time::Month::December => time::Date::from_calendar_date(date.year() + 1, time::Month::January, 1),
        m => time::Date::from_calendar_date(date.year(), m.next(), 1),
    }
    .expect("the first of a month next to a valid one is valid");
    // The first and last months an i64 reaches start or end outside it: clamp.
    let ns = |d: time::Date| {
        d.midnight().assume_utc().unix_timestamp_nanos().clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    };
    (ns(first), ns(next))
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
        // The last month an i64 of ns reaches: April 2262, whose end is past i64::MAX.
        assert_eq!(month_bounds(i64::MAX).1, i64::MAX);
        assert_eq!(month_bounds(i64::MIN).0, i64::MIN);
        assert!(month_bounds(i64::MIN).1 > i64::MIN);
    }

    #[test]
    fn windows_grow_with_age() {
        assert_eq!(window_of(FEB_15_2024, FEB_15_2024 + 10 * HOUR), (Level::Hour, FEB_15_2024 / HOUR * HOUR));
        assert_eq!(window_of(FEB_15_2024, FEB_15_2024 + 2 * DAY), (Level::Day, FEB_15_2024 / DAY * DAY));
        assert_eq!(window_of(FEB_15_2024, MAR_1_2024 + GRACE - 1).0, Level::Day, "grace hour after the month");
        assert_eq!(window_of(FEB_15_2024, MAR_1_2024 + GRACE), (Level::Month, FEB_1_2024));
    }
}
