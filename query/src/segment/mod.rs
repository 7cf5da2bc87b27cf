//! The segment language: who belongs to a group of customers at a given time.
//!
//! `parse` turns an expression such as `sum(order.amount, 30d) > 5000 and did(any, 30d)` into
//! an [`Expr`]; errors name the column and what was expected there. The grammar and the
//! meaning of every construct are in `docs/segments.md`.

mod ast;
pub mod defs;
mod eval;
mod leaf;
mod lexer;
mod one;
mod parser;
mod plan;
mod run;
mod scan;

pub use ast::{Agg, ArithOp, CmpOp, Expr};
pub use eval::{evaluate, evaluate_at, evaluate_number};
pub use leaf::{Kind, Leaf, LeafData, NO_TIME, RfmPart, duration};
pub use one::{compile_for_one, evaluate_one};
pub use parser::parse;
pub use plan::{Cond, Names, Num, NumPlan, Plan, compile, compile_expr, compile_number};
pub use run::{Answer, Definitions, Numbers, QueryError, Step, check, names, numbers, query, query_many};
pub use scan::{AggScan, ScanStats, aggregate, behavioural};

/// Why an expression does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong there.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        ParseError { column, message: message.into() }
    }

    /// The expression with a caret under the column (by display width: `上海` takes four
    /// cells of a terminal), then the message.
    pub fn render(&self, src: &str) -> String {
        use unicode_width::UnicodeWidthChar;
        let pad: String = src
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { "\t".to_owned() } else { " ".repeat(c.width().unwrap_or(0)) })
            .collect();
        format!("{src}\n{pad}^ {self}")
    }
}
