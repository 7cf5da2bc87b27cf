//! The parsed form of a segment expression. `docs/segments.md` describes the language.

pub use cxp_store::profile::Agg;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator with its sides swapped: `a < b` is `b > a`.
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// A segment expression. `col` fields are the 1-based column where the construct starts, for
/// errors found after parsing (an unknown trait, a type mismatch).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// A duration, ns.
    Duration(i64),
    /// `[a, b, ...]` (only after `in`).
    List(Vec<Expr>),
    /// A name with dots: `trait.city`, `rfm.r`, `score.churn`, `first_seen`, `spend_30d`.
    Path {
        /// The parts.
        parts: Vec<String>,
        /// Where it starts.
        col: usize,
    },
    /// `count(order, 30d)`, `sum(order.amount, 30d)`, `distinct(page_view.sku, 7d)`.
    Agg {
        /// The function.
        func: Agg,
        /// The event (measurement).
        event: String,
        /// The field (none for `count`).
        field: Option<String>,
        /// The window ending at the query time, ns; `None`: all time.
        window: Option<i64>,
        /// Where it starts.
        col: usize,
    },
    /// `did(login, 24h)`, `did(any, 30d)`.
    Did {
        /// The event; `None` for `any`.
        event: Option<String>,
        /// The window, ns; `None`: ever.
        window: Option<i64>,
        /// Where it starts.
        col: usize,
    },
    /// `exists(trait.email)`.
    Exists {
        /// The path.
        parts: Vec<String>,
        /// Where it starts.
        col: usize,
    },
    /// `search("退款")`: the customer search index.
    Search(String),
    /// `segment(platinum)`: membership of a named segment.
    Segment {
        /// The segment's name.
        name: String,
        /// Where it starts.
        col: usize,
    },
    /// `not e`.
    Not(Box<Expr>),
    /// `a and b and ...`.
    And(Vec<Expr>),
    /// `a or b or ...`.
    Or(Vec<Expr>),
    /// `a op b`.
    Cmp {
        /// The operator.
        op: CmpOp,
        /// Left side.
        left: Box<Expr>,
        /// Right side.
        right: Box<Expr>,
        /// Where the operator is.
        col: usize,
    },
    /// `a in [x, y]`.
    In {
        /// The value.
        value: Box<Expr>,
        /// The list.
        list: Vec<Expr>,
        /// Where `in` is.
        col: usize,
    },
    /// `last_seen within 30d`: the time lies in `[at - window, at)`.
    Within {
        /// The time.
        time: Box<Expr>,
        /// The window, ns.
        window: i64,
        /// Where `within` is.
        col: usize,
    },
    /// `a + b`, ...
    Arith {
        /// The operator.
        op: ArithOp,
        /// Left side.
        left: Box<Expr>,
        /// Right side.
        right: Box<Expr>,
        /// Where the operator is.
        col: usize,
    },
    /// `-a`.
    Neg(Box<Expr>),
}
