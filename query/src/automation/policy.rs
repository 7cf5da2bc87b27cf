//! Whether a message may go out now: consent and suppression, frequency caps across every
//! journey and trigger, quiet hours in the customer's time zone. Checked at send time, not
//! when the message was queued: consent withdrawn in between is honoured.
//!
//! Time zones come from the IANA database bundled with jiff, so daylight saving time is
//! right: quiet hours from 21:00 to 08:00 in New York end at 08:00 local time whether that is
//! 12:00 or 13:00 UTC.

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::def::{Channel, Settings};

/// What to do with a message now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Send it.
    Send,
    /// Not before `until` (ns), and why.
    Defer {
        /// When it may go.
        until: i64,
        /// Why it waits.
        reason: String,
    },
    /// Never, and why.
    Suppress {
        /// Why not.
        reason: String,
    },
}

/// What is known about the customer at send time.
#[derive(Debug, Clone, Default)]
pub struct Recipient {
    /// Consent traits (`consent.sms`, `consent.sms.marketing`) with their values.
    pub consent: Vec<(String, bool)>,
    /// Opted out of everything, or erased.
    pub suppressed: bool,
    /// The customer's IANA time zone, when the profile has one.
    pub timezone: Option<String>,
    /// Times (ns) of messages sent on this channel lately.
    pub sent: Vec<i64>,
    /// Whether the channel has an address for them (a phone for SMS, an email...).
    pub reachable: bool,
}

fn ts(ns: i64) -> Timestamp {
    Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn ns(t: Timestamp) -> i64 {
    i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX)
}

/// The time zone named `name`, or the settings' default, or UTC.
pub fn zone(name: Option<&str>, settings: &Settings) -> TimeZone {
    name.and_then(|n| TimeZone::get(n).ok()).or_else(|| TimeZone::get(&settings.timezone).ok()).unwrap_or(TimeZone::UTC)
}

/// The first instant after `after` (ns) when the wall clock in `tz` shows `minute` minutes
/// past midnight; a time that does not exist that day (a spring-forward gap) is taken just
/// after the gap.
pub fn next_local_time(tz: &TimeZone, minute: u32, after: i64) -> i64 {
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).unwrap_or(Time::midnight());
    let now = ts(after).to_zoned(tz.clone());
    let mut date = now.date();
    for _ in 0..3 {
        if let Ok(z) = date.to_datetime(time).to_zoned(tz.clone()) {
            let t = ns(z.timestamp());
            if t > after {
                return t;
            }
        }
        date = date.tomorrow().unwrap_or(date);
    }
    after + 86_400_000_000_000
}

/// Minutes past midnight of `at` on the wall clock of `tz`.
pub fn local_minute(tz: &TimeZone, at: i64) -> u32 {
    let t = ts(at).to_zoned(tz.clone()).time();
    t.hour() as u32 * 60 + t.minute() as u32
}

/// The decision for a message on `channel` to `who` at `now`.
pub fn decide(settings: &Settings, channel: Channel, who: &Recipient, now: i64) -> Decision {
    if who.suppressed {
        return Decision::Suppress { reason: "the customer opted out of everything or was erased".into() };
    }
    if !who.reachable {
        return Decision::Suppress { reason: format!("no {} address for the customer", channel.name()) };
    }
    let ch = channel.name();
    let marketing = format!("{ch}.marketing");
    if let Some((k, _)) = who.consent.iter().find(|(k, v)| !v && (k == ch || *k == marketing)) {
        return Decision::Suppress { reason: format!("consent withdrawn ({k} = false)") };
    }
    if let Some(cap) = settings.caps.get(&channel) {
        let recent = who.sent.iter().filter(|&&t| t > now - cap.per && t <= now).count();
        if recent >= cap.max as usize {
            return Decision::Suppress {
                reason: format!(
                    "frequency cap: {recent} {ch} messages in the last {} (at most {})",
                    crate::segment::duration(cap.per),
                    cap.max
                ),
            };
        }
    }
    if let Some((from, to)) = settings.quiet_hours
        && channel != Channel::Webhook
        && from != to
    {
        let tz = zone(who.timezone.as_deref(), settings);
        let m = local_minute(&tz, now);
        let quiet = if from < to { m >= from && m < to } else { m >= from || m < to };
        if quiet {
            let until = next_local_time(&tz, to, now);
            return Decision::Defer {
                until,
                reason: format!(
                    "quiet hours {:02}:{:02}-{:02}:{:02} in {}",
                    from / 60,
                    from % 60,
                    to / 60,
                    to % 60,
                    tz.iana_name().unwrap_or("UTC")
                ),
            };
        }
    }
    Decision::Send
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::def::Cap;

    const H: i64 = 3_600_000_000_000;

    fn utc(s: &str) -> i64 {
        ns(s.parse::<Timestamp>().expect("a timestamp"))
    }

    fn quiet() -> Settings {
        Settings { quiet_hours: Some((21 * 60, 8 * 60)), ..Settings::default() }
    }

    fn reachable() -> Recipient {
        Recipient { reachable: true, ..Recipient::default() }
    }

    #[test]
    fn quiet_hours_defer_to_local_morning_across_daylight_saving() {
        let s = quiet();
        // Shanghai (UTC+8, no DST): 22:00 local on 1 March is 14:00 UTC; 08:00 next day is 00:00 UTC.
        let who = Recipient { timezone: Some("Asia/Shanghai".into()), ..reachable() };
        let d = decide(&s, Channel::Sms, &who, utc("2026-03-01T14:00:00Z"));
        assert_eq!(
            d,
            Decision::Defer {
                until: utc("2026-03-02T00:00:00Z"),
                reason: "quiet hours 21:00-08:00 in Asia/Shanghai".into()
            }
        );
        // New York the night clocks go forward (8 March 2026, 02:00 -> 03:00): 23:00 EST on
        // the 7th is 04:00 UTC; 08:00 EDT on the 8th is 12:00 UTC (not 13:00).
        let ny = Recipient { timezone: Some("America/New_York".into()), ..reachable() };
        match decide(&s, Channel::Sms, &ny, utc("2026-03-08T04:00:00Z")) {
            Decision::Defer { until, .. } => assert_eq!(until, utc("2026-03-08T12:00:00Z")),
            other => panic!("{other:?}"),
        }
        // And the night they go back (1 November 2026): 08:00 EST is 13:00 UTC.
        match decide(&s, Channel::Sms, &ny, utc("2026-11-01T05:00:00Z")) {
            Decision::Defer { until, .. } => assert_eq!(until, utc("2026-11-01T13:00:00Z")),
            other => panic!("{other:?}"),
        }
        // Daytime in New York is night in Shanghai: the customer's zone decides.
        assert_eq!(decide(&s, Channel::Sms, &ny, utc("2026-06-01T16:00:00Z")), Decision::Send);
        // Without a zone, the settings' default (Shanghai): 16:00 UTC is midnight there.
        assert!(matches!(decide(&s, Channel::Sms, &reachable(), utc("2026-06-01T16:00:00Z")), Decision::Defer { .. }));
        // A webhook is not a person's phone.
        assert_eq!(decide(&s, Channel::Webhook, &reachable(), utc("2026-06-01T16:00:00Z")), Decision::Send);
    }

    #[test]
    fn wait_until_a_time_that_does_not_exist() {
        // 02:30 on 8 March 2026 does not exist in New York: the instant just after the gap.
        let tz = TimeZone::get("America/New_York").expect("zone");
        let t = next_local_time(&tz, 2 * 60 + 30, utc("2026-03-08T05:00:00Z"));
        assert_eq!(t, utc("2026-03-08T07:30:00Z"), "03:30 EDT");
    }

    #[test]
    fn consent_caps_and_suppression() {
        let mut s = Settings { quiet_hours: None, ..Settings::default() };
        s.caps.insert(Channel::Sms, Cap { max: 2, per: 7 * 24 * H });
        let now = utc("2026-06-01T10:00:00Z");
        let who = Recipient { sent: vec![now - 24 * H, now - 3 * 24 * H], ..reachable() };
        assert!(
            matches!(decide(&s, Channel::Sms, &who, now), Decision::Suppress { reason } if reason.starts_with("frequency cap: 2 sms"))
        );
        let older = Recipient { sent: vec![now - 24 * H, now - 8 * 24 * H], ..reachable() };
        assert_eq!(decide(&s, Channel::Sms, &older, now), Decision::Send, "a send 8 days ago is outside the window");
        assert_eq!(decide(&s, Channel::Email, &who, now), Decision::Send, "caps are per channel");
        let withdrawn = Recipient { consent: vec![("sms.marketing".into(), false)], ..reachable() };
        assert!(
            matches!(decide(&s, Channel::Sms, &withdrawn, now), Decision::Suppress { reason } if reason.contains("sms.marketing"))
        );
        assert_eq!(decide(&s, Channel::Email, &withdrawn, now), Decision::Send);
        let gone = Recipient { suppressed: true, ..reachable() };
        assert!(matches!(decide(&s, Channel::Email, &gone, now), Decision::Suppress { .. }));
        assert!(
            matches!(decide(&s, Channel::Email, &Recipient::default(), now), Decision::Suppress { reason } if reason.contains("no email address"))
        );
    }
}
