//! How a CSV or JSON-lines record becomes a customer event: which column is the customer (and
//! which are other identifiers), the time and its format, the event name, tags and typed
//! fields. A mapping file (TOML) says it:
//!
//! ```toml
//! event = "order"                 # or: event_column = "type"
//! customer = "customer_id"        # the `customer` identifier
//! identifiers = { email = "email", phone = "mobile" }   # identifier tag = column
//! time = "created_at"
//! time_format = "auto"            # auto, rfc3339, yyyymmdd, unix_s, unix_ms, unix_us, unix_ns,
//!                                 # or a strftime pattern such as "%d/%m/%Y %H:%M"
//! timezone = "Asia/Shanghai"      # for times without an offset (default UTC)
//! delimiter = ","                 # CSV only
//! tags = { channel = "channel" }  # tag = column
//! [fields]                        # field = { column, type: float, int, string, bool }
//! amount = { column = "total", type = "float" }
//! quantity = { column = "qty", type = "int" }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// A field's type in line protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// 64-bit float.
    Float,
    /// 64-bit integer.
    Int,
    /// Text.
    String,
    /// true / false.
    Bool,
}

/// One field: from which column, as what.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    /// Source column (default: the field's own name).
    pub column: Option<String>,
    /// Its type (default float).
    #[serde(rename = "type", default = "float")]
    pub kind: FieldType,
}

fn float() -> FieldType {
    FieldType::Float
}

/// A mapping file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The event name of every record.
    pub event: Option<String>,
    /// Or the column holding it.
    pub event_column: Option<String>,
    /// The column of the `customer` identifier.
    pub customer: Option<String>,
    /// Other identifiers: identifier tag -> column.
    #[serde(default)]
    pub identifiers: BTreeMap<String, String>,
    /// The time column.
    pub time: String,
    /// Its format.
    #[serde(default = "auto")]
    pub time_format: String,
    /// Zone of times without an offset.
    pub timezone: Option<String>,
    /// CSV delimiter (one ASCII character; `\t` for tabs).
    pub delimiter: Option<String>,
    /// Tags: tag -> column.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Fields.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldMap>,
}

fn auto() -> String {
    "auto".into()
}

impl Mapping {
    /// Reads and checks a mapping file's text.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let m: Mapping = toml::from_str(text).map_err(|e| e.to_string())?;
        match (&m.event, &m.event_column) {
            (None, None) => return Err("give `event` (a name) or `event_column`".into()),
            (Some(_), Some(_)) => return Err("give `event` or `event_column`, not both".into()),
            _ => {}
        }
        if m.customer.is_none() && m.identifiers.is_empty() {
            return Err("give `customer` or `identifiers`: an event needs a customer identifier".into());
        }
        if m.fields.is_empty() {
            return Err("give at least one field under [fields]".into());
        }
        m.zone()?;
        m.delimiter_byte()?;
        Ok(m)
    }

    /// The transaction-log shape: customer id, date, quantity, amount -> `order`.
    pub fn txlog() -> Mapping {
        let field = |c: &str, kind| FieldMap { column: Some(c.into()), kind };
        Mapping {
            event: Some("order".into()),
            customer: Some("customer".into()),
            time: "date".into(),
            time_format: "auto".into(),
            fields: [
                ("quantity".to_owned(), field("quantity", FieldType::Int)),
                ("amount".to_owned(), field("amount", FieldType::Float)),
            ]
            .into_iter()
            .collect(),
            ..Mapping::default()
        }
    }

    /// The zone of naive times.
    pub fn zone(&self) -> Result<jiff::tz::TimeZone, String> {
        match &self.timezone {
            None => Ok(jiff::tz::TimeZone::UTC),
            Some(z) => jiff::tz::TimeZone::get(z).map_err(|e| format!("timezone {z:?}: {e}")),
        }
    }

    /// The CSV delimiter.
    pub fn delimiter_byte(&self) -> Result<u8, String> {
        match self.delimiter.as_deref() {
            None => Ok(b','),
            Some("\\t") | Some("\t") => Ok(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
            Some(d) => Err(format!("delimiter {d:?}: one ASCII character")),
        }
    }

    /// Writes the line-protocol line of a record (`get` gives a column's text, `None` when
    /// absent or empty), or says why it cannot.
    pub fn line(
        &self,
        get: &dyn Fn(&str) -> Option<String>,
        zone: &jiff::tz::TimeZone,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let event = match (&self.event, &self.event_column) {
            (Some(e), _) => e.clone(),
            (None, Some(c)) => get(c).ok_or_else(|| format!("no event name in column {c:?}"))?,
            (None, None) => return Err("no event name".into()),
        };
        let mut tags: Vec<(String, String)> = Vec::new();
        if let Some(c) = &self.customer
            && let Some(v) = get(c)
        {
            tags.push(("customer".into(), v));
        }
        for (tag, c) in &self.identifiers {
            if let Some(v) = get(c) {
                tags.push((tag.clone(), v));
            }
        }
        if tags.is_empty() {
            let cols: Vec<&str> = self.customer.iter().chain(self.identifiers.values()).map(String::as_str).collect();
            return Err(format!("no customer identifier: columns {} are empty", cols.join(", ")));
        }
        for (tag, c) in &self.tags {
            if let Some(v) = get(c) {
                tags.push((tag.clone(), v));
            }
        }
        tags.sort();
        let raw_time = get(&self.time).ok_or_else(|| format!("no time in column {:?}", self.time))?;
        let ts = parse_time(&raw_time, &self.time_format, zone).map_err(|e| format!("column {:?}: {e}", self.time))?;
        let mut fields = Vec::new();
        for (name, f) in &self.fields {
            let col = f.column.as_deref().unwrap_or(name);
            let Some(v) = get(col) else { continue };
            let v = v.trim();
            let text = match f.kind {
                FieldType::Float => {
                    let x: f64 = v.parse().map_err(|_| format!("column {col:?}: {v:?} is not a number"))?;
                    if !x.is_finite() {
                        return Err(format!("column {col:?}: {v:?} is not a finite number"));
                    }
                    format!("{x:?}")
                }
                FieldType::Int => {
                    let x: i64 = v.parse().map_err(|_| format!("column {col:?}: {v:?} is not an integer"))?;
                    format!("{x}i")
                }
                FieldType::Bool => match v.to_ascii_lowercase().as_str() {
                    "true" | "t" | "yes" | "1" => "true".into(),
                    "false" | "f" | "no" | "0" => "false".into(),
                    _ => return Err(format!("column {col:?}: {v:?} is not true or false")),
                },
                FieldType::String => format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")),
            };
            fields.push((name.clone(), text));
        }
        if fields.is_empty() {
            return Err("every field column is empty".into());
        }
        out.extend_from_slice(escape(&event, b", ").as_bytes());
        for (k, v) in &tags {
            out.push(b',');
            out.extend_from_slice(escape(k, b",= ").as_bytes());
            out.push(b'=');
            out.extend_from_slice(escape(v, b",= ").as_bytes());
        }
        for (i, (k, v)) in fields.iter().enumerate() {
            out.push(if i == 0 { b' ' } else { b',' });
            out.extend_from_slice(escape(k, b",= ").as_bytes());
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
        out.extend_from_slice(format!(" {ts}\n").as_bytes());
        Ok(())
    }
}

// Backslash-escapes `special` (and drops line breaks, which line protocol cannot carry here).
fn escape(s: &str, special: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if c.is_ascii() && special.contains(&(c as u8)) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A time as ns since the epoch. `auto` takes RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (in
/// `zone`), `YYYYMMDD`, and integers as seconds, ms, µs or ns by their size.
pub fn parse_time(s: &str, format: &str, zone: &jiff::tz::TimeZone) -> Result<i64, String> {
    let s = s.trim();
    let bad = || format!("{s:?} is not a time in format {format}");
    let civil = |dt: jiff::civil::DateTime| {
        dt.to_zoned(zone.clone()).map(|z| z.timestamp().as_nanosecond() as i64).map_err(|e| e.to_string())
    };
    let ymd = |s: &str| -> Option<jiff::civil::Date> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| s[r].parse::<i16>().ok();
        jiff::civil::Date::new(n(0..4)?, n(4..6)? as i8, n(6..8)? as i8).ok()
    };
    let unix = |n: i64, scale: i64| n.checked_mul(scale).ok_or_else(bad);
    match format {
        "rfc3339" => s.parse::<jiff::Timestamp>().map(|t| t.as_nanosecond() as i64).map_err(|_| bad()),
        "yyyymmdd" => civil(ymd(s).ok_or_else(bad)?.to_datetime(jiff::civil::Time::midnight())),
        "unix_s" => unix(s.parse().map_err(|_| bad())?, 1_000_000_000),
        "unix_ms" => unix(s.parse().map_err(|_| bad())?, 1_000_000),
        "unix_us" => unix(s.parse().map_err(|_| bad())?, 1_000),
        "unix_ns" => s.parse().map_err(|_| bad()),
        "auto" => {
            if let Some(d) = ymd(s) {
                return civil(d.to_datetime(jiff::civil::Time::midnight()));
            }
            if let Ok(n) = s.parse::<i64>() {
                // By size: seconds until 1e11 (year 5138), then ms, µs, ns.
                let scale = match n.unsigned_abs() {
                    0..100_000_000_000 => 1_000_000_000,
                    100_000_000_000..100_000_000_000_000 => 1_000_000,
                    100_000_000_000_000..100_000_000_000_000_000 => 1_000,
                    _ => 1,
                };
                return unix(n, scale);
            }
            if let Ok(t) = s.parse::<jiff::Timestamp>() {
                return Ok(t.as_nanosecond() as i64);
            }
            if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
                return civil(dt);
            }
            if let Ok(d) = s.parse::<jiff::civil::Date>() {
                return civil(d.to_datetime(jiff::civil::Time::midnight()));
            }
            Err(bad())
        }
        pattern => {
            let tm =
                jiff::fmt::strtime::parse(pattern, s).map_err(|e| format!("{s:?} does not match {pattern:?}: {e}"))?;
            if let Ok(t) = tm.to_timestamp() {
                return Ok(t.as_nanosecond() as i64);
            }
            match tm.to_datetime() {
                Ok(dt) => civil(dt),
                Err(_) => civil(tm.to_date().map_err(|e| e.to_string())?.to_datetime(jiff::civil::Time::midnight())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::UTC
    }

    #[test]
    fn times_in_every_format() {
        // 1997-01-01T00:00:00Z = 852076800 s (date -u -d 1997-01-01 +%s).
        let t = 852_076_800_000_000_000;
        assert_eq!(parse_time("19970101", "auto", &utc()), Ok(t));
        assert_eq!(parse_time("19970101", "yyyymmdd", &utc()), Ok(t));
        assert_eq!(parse_time("1997-01-01", "auto", &utc()), Ok(t));
        assert_eq!(parse_time("1997-01-01T00:00:00Z", "auto", &utc()), Ok(t));
        assert_eq!(
            parse_time("1997-01-01 08:00:00", "auto", &jiff::tz::TimeZone::get("Asia/Shanghai").expect("tz")),
            Ok(t)
        );
        assert_eq!(parse_time("852076800", "auto", &utc()), Ok(t));
        assert_eq!(parse_time("852076800000", "auto", &utc()), Ok(t));
        assert_eq!(parse_time("852076800", "unix_s", &utc()), Ok(t));
        assert_eq!(parse_time("01/01/1997 00:00", "%d/%m/%Y %H:%M", &utc()), Ok(t));
        assert!(parse_time("1997-13-01", "auto", &utc()).is_err());
        assert!(parse_time("yesterday", "auto", &utc()).expect_err("refused").contains("not a time"));
    }

    #[test]
    fn a_record_becomes_an_escaped_line() {
        let m = Mapping::parse(
            "event_column = \"type\"\ncustomer = \"id\"\ntime = \"t\"\ntags = { city = \"city\" }\n[fields]\namount = { column = \"total\" }\nnote = { type = \"string\" }\nqty = { type = \"int\" }\n",
        )
        .expect("mapping");
        let row: BTreeMap<&str, &str> = [
            ("type", "order"),
            ("id", "c 1"),
            ("t", "19970101"),
            ("city", "上海,浦东"),
            ("total", "9.5"),
            ("note", "say \"hi\""),
            ("qty", ""),
        ]
        .into_iter()
        .collect();
        let get = |c: &str| row.get(c).filter(|v| !v.is_empty()).map(|v| (*v).to_owned());
        let mut out = Vec::new();
        m.line(&get, &utc(), &mut out).expect("line");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "order,city=上海\\,浦东,customer=c\\ 1 amount=9.5,note=\"say \\\"hi\\\"\" 852076800000000000\n"
        );
        let bad = [("type", "order"), ("id", "c-1"), ("t", "19970101"), ("total", "ten")];
        let row: BTreeMap<&str, &str> = bad.into_iter().collect();
        let get = |c: &str| row.get(c).map(|v| (*v).to_owned());
        assert_eq!(m.line(&get, &utc(), &mut Vec::new()), Err("column \"total\": \"ten\" is not a number".into()));
    }

    #[test]
    fn mappings_that_cannot_work_are_refused_with_the_reason() {
        assert!(
            Mapping::parse("time = \"t\"\ncustomer = \"c\"\n[fields]\na = {}\n")
                .expect_err("refused")
                .contains("event")
        );
        assert!(
            Mapping::parse("event = \"e\"\ntime = \"t\"\n[fields]\na = {}\n")
                .expect_err("refused")
                .contains("customer")
        );
        assert!(
            Mapping::parse("event = \"e\"\ntime = \"t\"\ncustomer = \"c\"\n").expect_err("refused").contains("field")
        );
        assert!(
            Mapping::parse(
                "event = \"e\"\ntime = \"t\"\ncustomer = \"c\"\ntimezone = \"Mars/Base\"\n[fields]\na = {}\n"
            )
            .expect_err("refused")
            .contains("Mars")
        );
        assert!(
            Mapping::parse("event = \"e\"\ntime = \"t\"\ncustomer = \"c\"\ncolour = 1\n[fields]\na = {}\n")
                .expect_err("refused")
                .contains("colour")
        );
    }
}
