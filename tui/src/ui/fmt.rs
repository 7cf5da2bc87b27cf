//! Numbers, times and text fitted to cells.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// 1234 -> `1,234`; 1234567 -> `1.23M`.
pub fn num(n: u64) -> String {
    match n {
        0..=9_999 => {
            let s = n.to_string();
            if s.len() > 3 { format!("{},{}", &s[..s.len() - 3], &s[s.len() - 3..]) } else { s }
        }
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.2}M", n as f64 / 1e6),
        _ => format!("{:.2}G", n as f64 / 1e9),
    }
}

/// A float the way [`num`] shows counts, keeping one decimal below 100.
pub fn float(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x.abs() < 100.0 { format!("{x:.1}") } else { num(x.round().max(0.0) as u64) }
}

/// 0.1234 -> `12.3%`.
pub fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:.1}%", x * 100.0) } else { "-".into() }
}

/// Microseconds as `850µs`, `12.4ms`, `1.20s` (`us` in ASCII mode).
pub fn micros(us: u64, ascii: bool) -> String {
    match us {
        0..=999 => format!("{us}{}", if ascii { "us" } else { "µs" }),
        1_000..=999_999 => format!("{:.1}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

/// A duration in ns as `42s`, `3m 5s`, `2h 10m`, `3d 4h`.
pub fn age(ns: i64) -> String {
    let s = (ns.max(0) / 1_000_000_000) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m {}s", s / 60, s % 60),
        3_600..=86_399 => format!("{}h {}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
// civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// ns since the epoch as `2026-12-07 17:35:52` (UTC).
pub fn datetime(ns: i64) -> String {
    let s = ns.div_euclid(1_000_000_000);
    let (y, m, d) = civil(s.div_euclid(86_400));
    let t = s.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", t / 3_600, (t % 3_600) / 60, t % 60)
}

/// ns since the epoch as `12-07 17:35` (UTC), for tables.
pub fn short_time(ns: i64) -> String {
    datetime(ns)[5..16].to_owned()
}

/// ns since the epoch as `17:35:52Z`.
pub fn clock(ns: i64) -> String {
    format!("{}Z", &datetime(ns)[11..])
}

/// ns since the epoch as `12-07` (the day).
pub fn day(ns: i64) -> String {
    datetime(ns)[5..10].to_owned()
}

/// `s` cut to `width` display columns (CJK counts two), with `…` (or `~` in ASCII) when cut.
pub fn fit(s: &str, width: usize, ascii: bool) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    let mark = if ascii { "~" } else { "…" };
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    if width > 0 {
        out.push_str(mark);
    }
    out
}

/// A bar of `width` cells filled to `frac` (0 to 1).
pub fn bar(frac: f64, width: usize, cells: (&str, &str)) -> String {
    let frac = if frac.is_finite() { frac.clamp(0.0, 1.0) } else { 0.0 };
    let full = (frac * width as f64).round() as usize;
    format!("{}{}", cells.0.repeat(full), cells.1.repeat(width - full))
}

/// The change from `before` to `now` as `▲ 12.0%` / `▼ 3.1%` / `=`; `None` without a base.
pub fn change(now: f64, before: f64, arrows: (&str, &str)) -> Option<String> {
    if !(before.is_finite() && now.is_finite()) || before == 0.0 {
        return None;
    }
    let d = (now - before) / before.abs();
    Some(if d.abs() < 0.0005 {
        "= 0.0%".into()
    } else if d > 0.0 {
        format!("{} {:.1}%", arrows.0, d * 100.0)
    } else {
        format!("{} {:.1}%", arrows.1, -d * 100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times() {
        assert_eq!(num(999), "999");
        assert_eq!(num(1_234), "1,234");
        assert_eq!(num(12_345), "12.3k");
        assert_eq!(num(1_234_567), "1.23M");
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(micros(850, true), "850us");
        assert_eq!(micros(12_400, false), "12.4ms");
        assert_eq!(age(42_000_000_000), "42s");
        assert_eq!(age(185_000_000_000), "3m 5s");
        // 2026-12-07T17:35:52Z (date -u -d @1796664952).
        assert_eq!(datetime(1_796_664_952_000_000_000), "2026-12-07 17:35:52");
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        // 2000-02-29 (a leap day) at noon: 951825600 s.
        assert_eq!(datetime(951_825_600_000_000_000), "2000-02-29 12:00:00");
        assert_eq!(clock(1_796_664_952_000_000_000), "17:35:52Z");
    }

    #[test]
    fn fits_by_display_width_so_chinese_text_stays_aligned() {
        assert_eq!(fit("张伟的订单", 6, false), "张伟…");
        assert_eq!(fit("张伟的订单", 6, false).width(), 5);
        assert_eq!(fit("abc", 3, true), "abc");
        assert_eq!(fit("abcdef", 4, true), "abc~");
    }

    #[test]
    fn bars_and_changes() {
        assert_eq!(bar(0.5, 4, ("#", "-")), "##--");
        assert_eq!(bar(f64::NAN, 2, ("#", "-")), "--");
        assert_eq!(change(110.0, 100.0, ("^", "v")).as_deref(), Some("^ 10.0%"));
        assert_eq!(change(90.0, 100.0, ("^", "v")).as_deref(), Some("v 10.0%"));
        assert_eq!(change(1.0, 0.0, ("^", "v")), None);
    }
}
