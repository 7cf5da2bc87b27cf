//! Computed traits as configured: `spend_30d = "sum(order.amount, 30d)"`.
//!
//! Grammar: `AGG(EVENT[.FIELD][, WINDOW])` with AGG one of count, sum, avg, min, max,
//! distinct, first, last, most_frequent; WINDOW a whole number of s, m, h or d. Without a
//! window the aggregate covers all time. `count`, `first` and `last` may omit the field
//! (`last(login)` is the time of the last login).

use serde::{Deserialize, Serialize};

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Agg {
    /// Number of events.
    Count,
    /// Sum of a numeric field.
    Sum,
    /// Mean of a numeric field.
    Avg,
    /// Smallest value of a numeric field.
    Min,
    /// Largest value of a numeric field.
    Max,
    /// Number of distinct values.
    Distinct,
    /// Value (or time) of the earliest event.
    First,
    /// Value (or time) of the latest event.
    Last,
    /// The most frequent value (ties: the smallest value).
    MostFrequent,
}

impl Agg {
    /// The aggregate called `name` (`count`, `most_frequent`, ...).
    pub fn parse(name: &str) -> Option<Agg> {
        Some(match name {
            "count" => Agg::Count,
            "sum" => Agg::Sum,
            "avg" => Agg::Avg,
            "min" => Agg::Min,
            "max" => Agg::Max,
            "distinct" => Agg::Distinct,
            "first" => Agg::First,
            "last" => Agg::Last,
            "most_frequent" => Agg::MostFrequent,
            _ => return None,
        })
    }

    /// Its name, as written.
    pub fn name(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::Sum => "sum",
            Agg::Avg => "avg",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Distinct => "distinct",
            Agg::First => "first",
            Agg::Last => "last",
            Agg::MostFrequent => "most_frequent",
        }
    }

    /// Whether the aggregate is kept as numeric buckets (else as value counts).
    pub fn numeric(self) -> bool {
        matches!(self, Agg::Count | Agg::Sum | Agg::Avg | Agg::Min | Agg::Max)
    }
}

/// One computed trait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComputedSpec {
    /// Trait name.
    pub name: String,
    /// Aggregate.
    pub agg: Agg,
    /// Event (measurement) it reads.
    pub event: String,
    /// Field it reads (`None`: the event itself).
    pub field: Option<String>,
    /// Window in ns (`None`: all time).
    pub window: Option<i64>,
    /// The expression as written.
    pub expr: String,
}

/// Parses `expr` for trait `name`.
pub fn parse_computed(name: &str, expr: &str) -> Result<ComputedSpec, String> {
    let e = expr.trim();
    let open = e.find('(').ok_or_else(|| format!("{name}: expected AGG(EVENT.FIELD, WINDOW), found {e:?}"))?;
    let agg_name = e[..open].trim();
    let agg = Agg::parse(agg_name).ok_or_else(|| {
        format!(
            "{name}: unknown aggregate {agg_name:?} (count, sum, avg, min, max, distinct, first, last, most_frequent)"
        )
    })?;
    let inner = e[open + 1..].strip_suffix(')').ok_or_else(|| format!("{name}: missing ')' at the end of {e:?}"))?;
    let mut args = inner.split(',').map(str::trim);
    let target = args.next().filter(|t| !t.is_empty()).ok_or_else(|| format!("{name}: missing event"))?;
    let window = match args.next() {
        None => None,
        Some(w) => Some(parse_window(w).map_err(|why| format!("{name}: window {w:?}: {why}"))?),
    };
    if args.next().is_some() {
        return Err(format!("{name}: too many arguments in {e:?}"));
    }
    let (event, field) = match target.split_once('.') {
        Some((ev, f)) => (ev.to_owned(), Some(f.to_owned())),
        None => (target.to_owned(), None),
    };
    if event.is_empty() || field.as_deref() == Some("") {
        return Err(format!("{name}: {target:?} is not EVENT or EVENT.FIELD"));
    }
    if field.is_none() && !matches!(agg, Agg::Count | Agg::First | Agg::Last) {
        return Err(format!("{name}: {agg_name} needs a field, as in {agg_name}({event}.amount)"));
    }
    Ok(ComputedSpec { name: name.to_owned(), agg, event, field, window, expr: e.to_owned() })
}

/// Parses a window such as `30d`, `24h`, `15m`, `90s` into ns.
pub fn parse_window(w: &str) -> Result<i64, String> {
    let unit = w.chars().last().ok_or("empty")?;
    let n: i64 = w[..w.len() - unit.len_utf8()].parse().map_err(|_| "expected a whole number and s, m, h or d")?;
    let scale: i64 = match unit {
        's' => 1_000_000_000,
        'm' => 60_000_000_000,
        'h' => 3_600_000_000_000,
        'd' => 86_400_000_000_000,
        _ => return Err("the unit is s, m, h or d".into()),
    };
    if n <= 0 {
        return Err("must be positive".into());
    }
    n.checked_mul(scale).ok_or_else(|| "too long".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms_and_explains_mistakes() {
        let s = parse_computed("spend_30d", "sum(order.amount, 30d)").expect("ok");
        assert_eq!(
            (s.agg, s.event.as_str(), s.field.as_deref(), s.window),
            (Agg::Sum, "order", Some("amount"), Some(30 * 86_400_000_000_000))
        );
        let l = parse_computed("last_login", "last(login)").expect("ok");
        assert_eq!((l.agg, l.field, l.window), (Agg::Last, None, None));
        assert!(
            parse_computed("x", "median(order.amount, 30d)")
                .expect_err("refused")
                .contains("unknown aggregate \"median\"")
        );
        assert!(parse_computed("x", "sum(order, 30d)").expect_err("refused").contains("sum needs a field"));
        assert!(
            parse_computed("x", "sum(order.amount, 30w)").expect_err("refused").contains("the unit is s, m, h or d")
        );
        assert!(parse_computed("x", "sum(order.amount, 30d").expect_err("refused").contains("missing ')'"));
        assert_eq!(parse_window("24h"), Ok(86_400_000_000_000));
    }
}
