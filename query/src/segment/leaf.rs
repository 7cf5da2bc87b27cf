//! The leaves of a plan: the per-customer values an expression reads, and their data.
//!
//! A plan asks for each distinct leaf once (`sum(order.amount, 30d)` written twice, or also
//! through the computed trait `spend_30d`, is read once); a source (a scan of the store at a
//! query time, or the live state of the daemon) fills one [`LeafData`] per leaf, by customer
//! position.

use cxp_store::TraitColumn;
use cxp_store::profile::Agg;
use fixedbitset::FixedBitSet;

/// A time that is not there (no such event).
pub const NO_TIME: i64 = i64::MIN;

/// The part of a customer's RFM analysis a leaf reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RfmPart {
    /// Recency score, 1-5 (5: most recent).
    R,
    /// Frequency score, 1-5.
    F,
    /// Monetary score, 1-5.
    M,
    /// The named RFM segment (`champions`, ...).
    Segment,
}

/// One per-customer value an expression reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leaf {
    /// An aggregate of the events of `event` (`None`: every event) in `[at - window, at)`,
    /// or before `at` without a window.
    Agg {
        /// The function.
        func: Agg,
        /// The event; `None` for any event.
        event: Option<String>,
        /// The field.
        field: Option<String>,
        /// The window, ns.
        window: Option<i64>,
    },
    /// The time of the first event before `at`.
    FirstSeen,
    /// The time of the last event before `at`.
    LastSeen,
    /// A trait (its latest value).
    Trait(String),
    /// Customers matching a search of the customer index.
    Search(String),
    /// Members of a named segment.
    Segment(String),
    /// The RFM analysis at `at`.
    Rfm(RfmPart),
    /// A model's score (`score.churn`): the probability from its last scoring.
    Score(String),
}

/// What kind of value a leaf has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A number per customer.
    Num,
    /// A time per customer.
    Time,
    /// A value of any type per customer (traits).
    Value,
    /// A yes or no per customer.
    Set,
}

impl Leaf {
    /// The kind of its value.
    pub fn kind(&self) -> Kind {
        match self {
            Leaf::Agg { func: Agg::First | Agg::Last, field: None, .. } => Kind::Time,
            Leaf::Agg { func: Agg::First | Agg::Last | Agg::MostFrequent, .. } => Kind::Value,
            Leaf::Agg { .. } => Kind::Num,
            Leaf::FirstSeen | Leaf::LastSeen => Kind::Time,
            Leaf::Trait(_) | Leaf::Rfm(RfmPart::Segment) => Kind::Value,
            Leaf::Rfm(_) | Leaf::Score(_) => Kind::Num,
            Leaf::Search(_) | Leaf::Segment(_) => Kind::Set,
        }
    }

    /// The leaf as the language writes it.
    pub fn describe(&self) -> String {
        match self {
            Leaf::Agg { func, event, field, window } => {
                let event = event.as_deref().unwrap_or("any");
                let target = match field {
                    Some(f) => format!("{event}.{f}"),
                    None => event.to_owned(),
                };
                let func = if *func == Agg::Count && event == "any" { "count" } else { func.name() };
                match window {
                    Some(w) => format!("{func}({target}, {})", duration(*w)),
                    None => format!("{func}({target})"),
                }
            }
            Leaf::FirstSeen => "first_seen".into(),
            Leaf::LastSeen => "last_seen".into(),
            Leaf::Score(m) => format!("score.{m}"),
            Leaf::Trait(t) => format!("trait.{t}"),
            Leaf::Search(q) => format!("search({q:?})"),
            Leaf::Segment(s) => format!("segment({s})"),
            Leaf::Rfm(p) => format!(
                "rfm.{}",
                match p {
                    RfmPart::R => "r",
                    RfmPart::F => "f",
                    RfmPart::M => "m",
                    RfmPart::Segment => "segment",
                }
            ),
        }
    }
}

/// A duration the way the language writes it (`30d`, `36h`, `90m`, `15s`).
pub fn duration(ns: i64) -> String {
    const S: i64 = 1_000_000_000;
    for (unit, size) in [("d", 86_400 * S), ("h", 3_600 * S), ("m", 60 * S), ("s", S)] {
        if ns % size == 0 {
            return format!("{}{unit}", ns / size);
        }
    }
    format!("{ns}ns")
}

/// The value of one leaf for every customer, by position.
#[derive(Debug, Clone, PartialEq)]
pub enum LeafData {
    /// Numbers (NaN: missing).
    Num(Vec<f64>),
    /// Times, ns ([`NO_TIME`]: missing).
    Time(Vec<i64>),
    /// Values of any type.
    Value(TraitColumn),
    /// Members.
    Set(FixedBitSet),
}

impl LeafData {
    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            LeafData::Num(v) => v.capacity() * 8,
            LeafData::Time(v) => v.capacity() * 8,
            LeafData::Value(c) => {
                c.num.capacity() * 8 + c.text.capacity() * 4 + c.texts.iter().map(|t| t.capacity() + 24).sum::<usize>()
            }
            LeafData::Set(s) => s.len().div_ceil(8),
        }
    }
}
