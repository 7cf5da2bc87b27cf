//! From a parsed expression to a plan: names resolved (traits, computed traits, RFM, scores,
//! segments), types checked, and the per-customer values it reads collected as leaves.
//!
//! Type errors are found here, before anything is read, and point at the column of the
//! construct: `sum(order.amount, 30d)` alone is a number, not a condition; times are compared
//! with `within`; text is not compared with numbers.

use std::collections::BTreeMap;

use cxp_store::profile::ComputedSpec;

use super::ParseError;
use super::ast::{Agg, ArithOp, CmpOp, Expr};
use super::leaf::{Kind, Leaf, RfmPart, duration};

/// What names mean when an expression is compiled.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// The computed traits of the data dictionary.
    pub computed: Vec<ComputedSpec>,
    /// Events seen so far, with their tag and field names (for warnings about typos).
    pub events: BTreeMap<String, Vec<String>>,
    /// Named segments that may be referred to; `None`: do not check.
    pub segments: Option<Vec<String>>,
}

/// A condition, evaluated to a set of customers.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Everyone (`true`).
    All,
    /// No one (`false`).
    Nobody,
    /// Every one of these.
    And(Vec<Cond>),
    /// Any of these.
    Or(Vec<Cond>),
    /// Not this.
    Not(Box<Cond>),
    /// Numbers compared (false when either side is missing).
    Cmp(CmpOp, Num, Num),
    /// A value compared with text (false when missing or not text).
    Text(CmpOp, usize, String),
    /// A value in a list of numbers and strings.
    In(Num, Option<usize>, Vec<f64>, Vec<String>),
    /// A time in `[at - window, at)`.
    Within(usize, i64),
    /// The leaf has a value.
    Exists(usize),
    /// The leaf (a set) holds the customer.
    Member(usize),
}

/// A number per customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Num {
    /// The same for everyone.
    Const(f64),
    /// A numeric leaf (or the numeric part of a value leaf).
    Leaf(usize),
    /// Arithmetic.
    Arith(ArithOp, Box<Num>, Box<Num>),
    /// Negation.
    Neg(Box<Num>),
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The expression as written.
    pub source: String,
    /// What it evaluates.
    pub root: Cond,
    /// What it reads, each once.
    pub leaves: Vec<Leaf>,
    /// Things worth knowing that do not stop it (an event never seen, a field no event has).
    pub warnings: Vec<String>,
}

// An operand while compiling.
enum Operand {
    Num(Num),
    Time(usize),
    Value(usize),
    Text(String),
    Bool(bool),
    Duration,
    Cond(Cond),
}

struct Compiler<'a> {
    names: &'a Names,
    leaves: Vec<Leaf>,
    warnings: Vec<String>,
}

/// A compiled numeric expression (a feature of a clustering, a value to report).
#[derive(Debug, Clone, PartialEq)]
pub struct NumPlan {
    /// The expression as written.
    pub source: String,
    /// What it computes.
    pub root: Num,
    /// What it reads, each once.
    pub leaves: Vec<Leaf>,
    /// Things worth knowing that do not stop it.
    pub warnings: Vec<String>,
}

/// Parses and compiles `src` as a number per customer (`spend_30d`, `count(order, 90d)`,
/// `trait.age`, `rfm.m`, arithmetic of those).
pub fn compile_number(src: &str, names: &Names) -> Result<NumPlan, ParseError> {
    let expr = super::parse(src)?;
    let mut c = Compiler { names, leaves: Vec::new(), warnings: Vec::new() };
    let root = c.number(&expr, 1)?;
    Ok(NumPlan { source: src.to_owned(), root, leaves: c.leaves, warnings: c.warnings })
}

/// Parses and compiles `src`.
pub fn compile(src: &str, names: &Names) -> Result<Plan, ParseError> {
    let expr = super::parse(src)?;
    compile_expr(src, &expr, names)
}

/// Compiles a parsed expression.
pub fn compile_expr(src: &str, expr: &Expr, names: &Names) -> Result<Plan, ParseError> {
    let mut c = Compiler { names, leaves: Vec::new(), warnings: Vec::new() };
    let root = c.cond(expr, 1)?;
    Ok(Plan { source: src.to_owned(), root, leaves: c.leaves, warnings: c.warnings })
}

fn start(e: &Expr) -> Option<usize> {
    match e {
        Expr::Path { col, .. }
        | Expr::Agg { col, .. }
        | Expr::Did { col, .. }
        | Expr::Exists { col, .. }
        | Expr::Segment { col, .. } => Some(*col),
        Expr::Cmp { left, .. } | Expr::Arith { left, .. } => start(left),
        Expr::In { value, .. } => start(value),
        Expr::Within { time, .. } => start(time),
        _ => None,
    }
}

impl Compiler<'_> {
    fn leaf(&mut self, leaf: Leaf) -> usize {
        if let Some(i) = self.leaves.iter().position(|l| *l == leaf) {
            return i;
        }
        self.leaves.push(leaf);
        self.leaves.len() - 1
    }

    // The leaf as an operand of its kind.
    fn typed(&mut self, leaf: Leaf) -> Operand {
        let kind = leaf.kind();
        let i = self.leaf(leaf);
        match kind {
            Kind::Time => Operand::Time(i),
            Kind::Value => Operand::Value(i),
            Kind::Set => Operand::Cond(Cond::Member(i)),
            Kind::Num => Operand::Num(Num::Leaf(i)),
        }
    }

    fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    // Warns about events and fields never seen: a typo gives an empty segment, not an error,
    // because a segment may be defined before its first event arrives.
    fn check_event(&mut self, event: &str, field: Option<&str>) {
        if self.names.events.is_empty() {
            return;
        }
        match self.names.events.get(event) {
            None => self.warn(format!("no {event:?} event has been seen yet")),
            Some(cols) => {
                if let Some(f) = field
                    && !cols.iter().any(|c| c == f)
                {
                    self.warn(format!("no {event:?} event has a {f:?} field yet"));
                }
            }
        }
    }

    fn cond(&mut self, e: &Expr, fallback_col: usize) -> Result<Cond, ParseError> {
        let col = start(e).unwrap_or(fallback_col);
        match self.operand(e, col)? {
            Operand::Cond(c) => Ok(c),
            Operand::Bool(true) => Ok(Cond::All),
            Operand::Bool(false) => Ok(Cond::Nobody),
            Operand::Num(_) => Err(ParseError::new(
                col,
                "this is a number, not a condition: compare it, e.g. sum(order.amount, 30d) > 5000",
            )),
            Operand::Time(_) => {
                Err(ParseError::new(col, "this is a time, not a condition: write last_seen within 30d"))
            }
            Operand::Value(_) => Err(ParseError::new(
                col,
                "this is a value, not a condition: compare it (trait.vip = true) or write exists(trait.email)",
            )),
            Operand::Text(_) | Operand::Duration => {
                Err(ParseError::new(col, "a constant is not a condition: compare a value with it"))
            }
        }
    }

    fn operand(&mut self, e: &Expr, col: usize) -> Result<Operand, ParseError> {
        Ok(match e {
            Expr::Num(n) => Operand::Num(Num::Const(*n)),
            Expr::Str(s) => Operand::Text(s.clone()),
            Expr::Bool(b) => Operand::Bool(*b),
            Expr::Duration(_) => Operand::Duration,
            Expr::List(_) => return Err(ParseError::new(col, "a list goes after 'in'")),
            Expr::Path { parts, col } => self.path(parts, *col)?,
            Expr::Agg { func, event, field, window, .. } => {
                self.check_event(event, field.as_deref());
                self.typed(Leaf::Agg { func: *func, event: Some(event.clone()), field: field.clone(), window: *window })
            }
            Expr::Did { event, window, .. } => {
                if let Some(ev) = event {
                    self.check_event(ev, None);
                }
                let i = self.leaf(Leaf::Agg { func: Agg::Count, event: event.clone(), field: None, window: *window });
                Operand::Cond(Cond::Cmp(CmpOp::Gt, Num::Leaf(i), Num::Const(0.0)))
            }
            Expr::Exists { parts, col } => match self.path(parts, *col)? {
                Operand::Num(Num::Leaf(i)) | Operand::Time(i) | Operand::Value(i) => Operand::Cond(Cond::Exists(i)),
                _ => return Err(ParseError::new(*col, "exists(...) takes a trait or a computed trait")),
            },
            Expr::Search(q) => {
                if q.trim().is_empty() {
                    return Err(ParseError::new(col, "search(\"\") has nothing to look for"));
                }
                Operand::Cond(Cond::Member(self.leaf(Leaf::Search(q.clone()))))
            }
            Expr::Segment { name, col } => {
                if let Some(known) = &self.names.segments
                    && !known.contains(name)
                {
                    let list = if known.is_empty() { "none is defined".to_owned() } else { known.join(", ") };
                    return Err(ParseError::new(*col, format!("no segment named {name:?} ({list})")));
                }
                Operand::Cond(Cond::Member(self.leaf(Leaf::Segment(name.clone()))))
            }
            Expr::Not(inner) => Operand::Cond(Cond::Not(Box::new(self.cond(inner, col)?))),
            Expr::And(items) => {
                Operand::Cond(Cond::And(items.iter().map(|i| self.cond(i, col)).collect::<Result<_, _>>()?))
            }
            Expr::Or(items) => {
                Operand::Cond(Cond::Or(items.iter().map(|i| self.cond(i, col)).collect::<Result<_, _>>()?))
            }
            Expr::Cmp { op, left, right, col } => {
                let l = self.operand(left, start(left).unwrap_or(*col))?;
                let r = self.operand(right, *col)?;
                Operand::Cond(self.compare(*op, l, r, *col)?)
            }
            Expr::In { value, list, col } => {
                let v = self.operand(value, start(value).unwrap_or(*col))?;
                let (mut nums, mut texts) = (Vec::new(), Vec::new());
                for item in list {
                    match item {
                        Expr::Num(n) => nums.push(*n),
                        Expr::Bool(b) => nums.push(f64::from(u8::from(*b))),
                        Expr::Str(s) => texts.push(s.clone()),
                        _ => return Err(ParseError::new(*col, "a list holds numbers and strings")),
                    }
                }
                match v {
                    Operand::Value(i) => Operand::Cond(Cond::In(Num::Leaf(i), Some(i), nums, texts)),
                    Operand::Num(n) if texts.is_empty() => Operand::Cond(Cond::In(n, None, nums, texts)),
                    Operand::Num(_) => return Err(ParseError::new(*col, "a number is never in a list of strings")),
                    _ => return Err(ParseError::new(*col, "'in' takes a trait or a number on its left")),
                }
            }
            Expr::Within { time, window, col } => match self.operand(time, start(time).unwrap_or(*col))? {
                Operand::Time(i) => Operand::Cond(Cond::Within(i, *window)),
                _ => {
                    return Err(ParseError::new(
                        *col,
                        "'within' takes a time on its left: first_seen, last_seen, or a computed trait like last(order)",
                    ));
                }
            },
            Expr::Arith { op, left, right, col } => {
                let l = self.number(left, start(left).unwrap_or(*col))?;
                let r = self.number(right, *col)?;
                Operand::Num(Num::Arith(*op, Box::new(l), Box::new(r)))
            }
            Expr::Neg(inner) => Operand::Num(Num::Neg(Box::new(self.number(inner, col)?))),
        })
    }

    fn number(&mut self, e: &Expr, col: usize) -> Result<Num, ParseError> {
        match self.operand(e, col)? {
            Operand::Num(n) => Ok(n),
            Operand::Value(i) => Ok(Num::Leaf(i)),
            Operand::Bool(b) => Ok(Num::Const(f64::from(u8::from(b)))),
            Operand::Time(_) => Err(ParseError::new(col, "arithmetic on times is not supported: use within")),
            Operand::Text(_) => Err(ParseError::new(col, "arithmetic needs numbers, not text")),
            Operand::Duration => Err(ParseError::new(col, "a duration goes in a window or after 'within'")),
            Operand::Cond(_) => Err(ParseError::new(col, "arithmetic needs numbers, not a condition")),
        }
    }

    fn compare(&mut self, op: CmpOp, l: Operand, r: Operand, col: usize) -> Result<Cond, ParseError> {
        use Operand as O;
        let flip = |op: CmpOp| match op {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        };
        Ok(match (l, r) {
            (O::Value(i), O::Text(s)) => Cond::Text(op, i, s),
            (O::Text(s), O::Value(i)) => Cond::Text(flip(op), i, s),
            (O::Time(_), _) | (_, O::Time(_)) => {
                return Err(ParseError::new(col, "times are compared with 'within': last_seen within 30d"));
            }
            (O::Duration, _) | (_, O::Duration) => {
                return Err(ParseError::new(col, "a duration goes in a window or after 'within'"));
            }
            (O::Cond(_), _) | (_, O::Cond(_)) => {
                return Err(ParseError::new(col, "a condition is not compared: combine conditions with and, or, not"));
            }
            (O::Text(_), O::Text(_)) => return Err(ParseError::new(col, "this compares two constants")),
            (O::Text(_), _) | (_, O::Text(_)) => {
                return Err(ParseError::new(col, "text is compared with traits, not with numbers"));
            }
            (l, r) => {
                let to_num = |o: O| match o {
                    O::Num(n) => n,
                    O::Value(i) => Num::Leaf(i),
                    O::Bool(b) => Num::Const(f64::from(u8::from(b))),
                    _ => Num::Const(f64::NAN),
                };
                let (l, r) = (to_num(l), to_num(r));
                if matches!((&l, &r), (Num::Const(_), Num::Const(_))) {
                    return Err(ParseError::new(col, "this compares two constants"));
                }
                Cond::Cmp(op, l, r)
            }
        })
    }

    fn path(&mut self, parts: &[String], col: usize) -> Result<Operand, ParseError> {
        let first = parts[0].as_str();
        let rest = parts[1..].join(".");
        match (first, parts.len()) {
            ("first_seen", 1) => Ok(Operand::Time(self.leaf(Leaf::FirstSeen))),
            ("last_seen", 1) => Ok(Operand::Time(self.leaf(Leaf::LastSeen))),
            ("trait", n) if n > 1 => Ok(Operand::Value(self.leaf(Leaf::Trait(rest)))),
            ("score", 2) => Ok(self.typed(Leaf::Score(rest))),
            ("rfm", 2) => {
                let part = match rest.as_str() {
                    "r" => RfmPart::R,
                    "f" => RfmPart::F,
                    "m" => RfmPart::M,
                    "segment" => RfmPart::Segment,
                    other => {
                        return Err(ParseError::new(col, format!("rfm has r, f, m and segment, not {other:?}")));
                    }
                };
                let i = self.leaf(Leaf::Rfm(part));
                Ok(if part == RfmPart::Segment { Operand::Value(i) } else { Operand::Num(Num::Leaf(i)) })
            }
            (name, 1) => {
                let Some(spec) = self.names.computed.iter().find(|s| s.name == name) else {
                    let known: Vec<&str> = self.names.computed.iter().map(|s| s.name.as_str()).collect();
                    let hint = if known.is_empty() {
                        "the data dictionary defines no computed traits".to_owned()
                    } else {
                        format!("computed traits: {}", known.join(", "))
                    };
                    return Err(ParseError::new(
                        col,
                        format!("unknown name {name:?}: traits are written trait.{name}; {hint}"),
                    ));
                };
                let leaf = Leaf::Agg {
                    func: spec.agg,
                    event: Some(spec.event.clone()),
                    field: spec.field.clone(),
                    window: spec.window,
                };
                Ok(self.typed(leaf))
            }
            _ => Err(ParseError::new(
                col,
                format!(
                    "unknown name {:?}: use trait.NAME, score.NAME, rfm.r|f|m|segment, first_seen, last_seen or a computed trait",
                    parts.join(".")
                ),
            )),
        }
    }
}

impl Plan {
    /// The plan as indented text: the condition tree, then what each leaf reads.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        self.write_cond(&self.root, 0, &mut out);
        out
    }

    fn write_cond(&self, c: &Cond, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let line = |out: &mut String, s: String| {
            out.push_str(&pad);
            out.push_str(&s);
            out.push('\n');
        };
        match c {
            Cond::All => line(out, "everyone".into()),
            Cond::Nobody => line(out, "no one".into()),
            Cond::And(items) | Cond::Or(items) => {
                line(out, if matches!(c, Cond::And(_)) { "and".into() } else { "or".into() });
                for i in items {
                    self.write_cond(i, depth + 1, out);
                }
            }
            Cond::Not(inner) => {
                line(out, "not".into());
                self.write_cond(inner, depth + 1, out);
            }
            Cond::Cmp(op, l, r) => line(out, format!("{} {} {}", self.num(l), op_text(*op), self.num(r))),
            Cond::Text(op, i, s) => line(out, format!("{} {} {s:?}", self.leaves[*i].describe(), op_text(*op))),
            Cond::In(n, _, nums, texts) => {
                let mut items: Vec<String> = nums.iter().map(|n| n.to_string()).collect();
                items.extend(texts.iter().map(|t| format!("{t:?}")));
                line(out, format!("{} in [{}]", self.num(n), items.join(", ")));
            }
            Cond::Within(i, w) => line(out, format!("{} within {}", self.leaves[*i].describe(), duration(*w))),
            Cond::Exists(i) => line(out, format!("exists({})", self.leaves[*i].describe())),
            Cond::Member(i) => line(out, self.leaves[*i].describe()),
        }
    }

    fn num(&self, n: &Num) -> String {
        match n {
            Num::Const(x) => x.to_string(),
            Num::Leaf(i) => self.leaves[*i].describe(),
            Num::Arith(op, l, r) => {
                let o = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "-",
                    ArithOp::Mul => "*",
                    ArithOp::Div => "/",
                };
                format!("({} {o} {})", self.num(l), self.num(r))
            }
            Num::Neg(x) => format!("-{}", self.num(x)),
        }
    }
}

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}
