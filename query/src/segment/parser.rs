//! Recursive descent over the tokens, lowest precedence first: `or`, `and`, `not`,
//! comparisons (`= != < <= > >=`, `in`, `within`), `+ -`, `* /`, unary `-`, primaries.

use super::ParseError;
use super::ast::{Agg, ArithOp, CmpOp, Expr};
use super::lexer::{Tok, Token, tokens};

/// Parses a whole segment expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = tokens(src)?;
    let end = src.chars().count() + 1;
    let mut p = Parser { toks, at: 0, end };
    if p.toks.is_empty() {
        return Err(ParseError::new(1, "the expression is empty"));
    }
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(ParseError::new(t.col, format!("unexpected {} after a complete expression", describe(&t.tok)))),
    }
}

struct Parser {
    toks: Vec<Token>,
    at: usize,
    // Column just past the input, for "expected ... at the end".
    end: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("{s:?}"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Duration(_) => "a duration".into(),
        Tok::Sym(s) => format!("'{s}'"),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.at)
    }

    fn col(&self) -> usize {
        self.peek().map_or(self.end, |t| t.col)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Sym(x), .. }) if *x == s)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(x), .. }) if x == w)
    }

    fn expect_sym(&mut self, s: &str, what: &str) -> Result<(), ParseError> {
        if self.is_sym(s) {
            self.at += 1;
            return Ok(());
        }
        let found = self.peek().map_or("the end".to_owned(), |t| describe(&t.tok));
        Err(ParseError::new(self.col(), format!("expected '{s}' {what}, found {found}")))
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        while self.is_word("or") {
            self.at += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.not()?];
        while self.is_word("and") {
            self.at += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.is_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let col = self.col();
        if self.is_word("in") {
            self.at += 1;
            self.expect_sym("[", "to open the list after 'in'")?;
            let mut list = Vec::new();
            loop {
                list.push(self.literal()?);
                if self.is_sym(",") {
                    self.at += 1;
                    continue;
                }
                self.expect_sym("]", "to close the list")?;
                break;
            }
            return Ok(Expr::In { value: Box::new(left), list, col });
        }
        if self.is_word("within") {
            self.at += 1;
            let window = self.duration("after 'within'")?;
            return Ok(Expr::Within { time: Box::new(left), window, col });
        }
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Sym("=")) => CmpOp::Eq,
            Some(Tok::Sym("!=")) => CmpOp::Ne,
            Some(Tok::Sym("<")) => CmpOp::Lt,
            Some(Tok::Sym("<=")) => CmpOp::Le,
            Some(Tok::Sym(">")) => CmpOp::Gt,
            Some(Tok::Sym(">=")) => CmpOp::Ge,
            _ => return Ok(left),
        };
        self.at += 1;
        let right = self.sum()?;
        Ok(Expr::Cmp { op, left: Box::new(left), right: Box::new(right), col })
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek().map(|t| &t.tok) {
                Some(Tok::Sym("+")) => ArithOp::Add,
                Some(Tok::Sym("-")) => ArithOp::Sub,
                _ => return Ok(left),
            };
            let col = self.col();
            self.at += 1;
            let right = self.term()?;
            left = Expr::Arith { op, left: Box::new(left), right: Box::new(right), col };
        }
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().map(|t| &t.tok) {
                Some(Tok::Sym("*")) => ArithOp::Mul,
                Some(Tok::Sym("/")) => ArithOp::Div,
                _ => return Ok(left),
            };
            let col = self.col();
            self.at += 1;
            let right = self.unary()?;
            left = Expr::Arith { op, left: Box::new(left), right: Box::new(right), col };
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.is_sym("-") {
            self.at += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn literal(&mut self) -> Result<Expr, ParseError> {
        let col = self.col();
        match self.next().map(|t| t.tok) {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Sym("-")) => match self.next().map(|t| t.tok) {
                Some(Tok::Num(n)) => Ok(Expr::Num(-n)),
                _ => Err(ParseError::new(col, "expected a number after '-'")),
            },
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Ident(w)) if w == "true" || w == "false" => Ok(Expr::Bool(w == "true")),
            other => Err(ParseError::new(
                col,
                format!("a list holds numbers and strings, found {}", other.map_or("the end".into(), |t| describe(&t))),
            )),
        }
    }

    fn duration(&mut self, what: &str) -> Result<i64, ParseError> {
        let col = self.col();
        match self.next().map(|t| t.tok) {
            Some(Tok::Duration(ns)) => Ok(ns),
            other => Err(ParseError::new(
                col,
                format!(
                    "expected a duration {what} (30d, 24h, 15m, 10s), found {}",
                    other.map_or("the end".into(), |t| describe(&t))
                ),
            )),
        }
    }

    // `name` or `name.name...`
    fn path(&mut self, first: String) -> Result<Vec<String>, ParseError> {
        let mut parts = vec![first];
        while self.is_sym(".") {
            self.at += 1;
            let col = self.col();
            match self.next().map(|t| t.tok) {
                Some(Tok::Ident(s)) => parts.push(s),
                _ => return Err(ParseError::new(col, "expected a name after '.'")),
            }
        }
        Ok(parts)
    }

    fn name(&mut self, what: &str) -> Result<(String, usize), ParseError> {
        let col = self.col();
        match self.next().map(|t| t.tok) {
            Some(Tok::Ident(s)) => Ok((s, col)),
            other => Err(ParseError::new(
                col,
                format!("expected {what}, found {}", other.map_or("the end".into(), |t| describe(&t))),
            )),
        }
    }

    // `, 30d)` or `)`: the optional window of an aggregate.
    fn window(&mut self, func: &str) -> Result<Option<i64>, ParseError> {
        let window = if self.is_sym(",") {
            self.at += 1;
            Some(self.duration(&format!("as the window of {func}(...)"))?)
        } else {
            None
        };
        self.expect_sym(")", &format!("to close {func}(...)"))?;
        Ok(window)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let col = self.col();
        let Some(tok) = self.next().map(|t| t.tok) else {
            return Err(ParseError::new(col, "the expression ends too early"));
        };
        match tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Duration(d) => Ok(Expr::Duration(d)),
            Tok::Sym("(") => {
                let e = self.or()?;
                self.expect_sym(")", "to close the parenthesis")?;
                Ok(e)
            }
            Tok::Ident(w) if w == "true" || w == "false" => Ok(Expr::Bool(w == "true")),
            Tok::Ident(w) if matches!(w.as_str(), "and" | "or" | "in" | "within") => {
                Err(ParseError::new(col, format!("expected a value before '{w}'")))
            }
            Tok::Ident(w) if self.is_sym("(") => {
                self.at += 1;
                self.call(w, col)
            }
            Tok::Ident(w) => Ok(Expr::Path { parts: self.path(w)?, col }),
            other => Err(ParseError::new(col, format!("expected a value, found {}", describe(&other)))),
        }
    }

    fn call(&mut self, func: String, col: usize) -> Result<Expr, ParseError> {
        if let Some(agg) = Agg::parse(&func) {
            let (event, _) = self.name("an event name")?;
            let field = if self.is_sym(".") {
                self.at += 1;
                Some(self.name("a field name after '.'")?.0)
            } else {
                None
            };
            match (agg, &field) {
                (Agg::Count, Some(f)) => {
                    return Err(ParseError::new(col, format!("count counts events: write count({event}), not .{f}")));
                }
                (Agg::Count | Agg::First | Agg::Last, None) => {}
                (_, None) => {
                    return Err(ParseError::new(col, format!("{func} needs a field: {func}({event}.amount)")));
                }
                _ => {}
            }
            let window = self.window(&func)?;
            return Ok(Expr::Agg { func: agg, event, field, window, col });
        }
        match func.as_str() {
            "did" => {
                let (event, _) = self.name("an event name or 'any'")?;
                let window = self.window("did")?;
                Ok(Expr::Did { event: (event != "any").then_some(event), window, col })
            }
            "exists" => {
                let (first, _) = self.name("a trait, e.g. exists(trait.email)")?;
                let parts = self.path(first)?;
                self.expect_sym(")", "to close exists(...)")?;
                Ok(Expr::Exists { parts, col })
            }
            "search" => {
                let scol = self.col();
                let text = match self.next().map(|t| t.tok) {
                    Some(Tok::Str(s)) => s,
                    _ => return Err(ParseError::new(scol, "search takes a string: search(\"退款\")")),
                };
                self.expect_sym(")", "to close search(...)")?;
                Ok(Expr::Search(text))
            }
            "segment" => {
                let (name, _) = self.name("a segment name")?;
                self.expect_sym(")", "to close segment(...)")?;
                Ok(Expr::Segment { name, col })
            }
            _ => Err(ParseError::new(
                col,
                format!(
                    "unknown function {func:?}: use count, sum, avg, min, max, distinct, did, exists, search or segment"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000_000;

    fn path(p: &str, col: usize) -> Expr {
        Expr::Path { parts: p.split('.').map(str::to_owned).collect(), col }
    }

    #[test]
    fn the_platinum_segment_as_a_marketer_writes_it() {
        let e = parse("sum(order.amount, 30d) > 5000 and did(any, 30d)").expect("parse");
        assert_eq!(
            e,
            Expr::And(vec![
                Expr::Cmp {
                    op: CmpOp::Gt,
                    left: Box::new(Expr::Agg {
                        func: Agg::Sum,
                        event: "order".into(),
                        field: Some("amount".into()),
                        window: Some(30 * DAY),
                        col: 1,
                    }),
                    right: Box::new(Expr::Num(5000.0)),
                    col: 24,
                },
                Expr::Did { event: None, window: Some(30 * DAY), col: 35 },
            ])
        );
    }

    #[test]
    fn precedence_not_and_or_arithmetic() {
        let e = parse("not did(login, 24h) or trait.gender = 1 and spend_30d * 2 >= 10 - 1").expect("parse");
        let Expr::Or(items) = e else { panic!("or at the top") };
        assert!(matches!(&items[0], Expr::Not(inner) if matches!(**inner, Expr::Did { .. })));
        let Expr::And(and) = &items[1] else { panic!("and under or") };
        assert!(matches!(&and[1], Expr::Cmp { op: CmpOp::Ge, left, right, .. }
            if matches!(**left, Expr::Arith { op: ArithOp::Mul, .. }) && matches!(**right, Expr::Arith { op: ArithOp::Sub, .. })));
        assert_eq!(
            parse(r#"trait.city in ["上海", "北京"]"#).expect("in"),
            Expr::In {
                value: Box::new(path("trait.city", 1)),
                list: vec![Expr::Str("上海".into()), Expr::Str("北京".into())],
                col: 12
            }
        );
        assert_eq!(
            parse("last_seen within 30d").expect("within"),
            Expr::Within { time: Box::new(path("last_seen", 1)), window: 30 * DAY, col: 11 }
        );
        assert!(matches!(parse("(rfm.r >= 4)").expect("parens"), Expr::Cmp { .. }));
        assert!(matches!(parse(r#"search("退款") and segment(platinum)"#).expect("calls"), Expr::And(_)));
        assert!(matches!(parse("count(order) >= 3").expect("all time"), Expr::Cmp { .. }));
        assert!(matches!(parse("exists(trait.email)").expect("exists"), Expr::Exists { .. }));
        assert!(matches!(parse("distinct(page_view.sku, 7d) > 3").expect("distinct"), Expr::Cmp { .. }));
    }

    #[test]
    fn errors_say_where_and_why() {
        let cases = [
            ("sum(order.amount, 30d > 5000", 23, "expected ')' to close sum(...)"),
            ("count(order.amount, 30d)", 1, "count counts events"),
            ("sum(order, 30d)", 1, "sum needs a field"),
            ("frobnicate(x)", 1, "unknown function"),
            ("trait.city in [\"a\", x]", 21, "a list holds numbers and strings"),
            ("last_seen within 30", 18, "expected a duration after 'within'"),
            ("did(login, 24h) and", 20, "ends too early"),
            ("trait.city = \"a\" \"b\"", 18, "after a complete expression"),
            ("", 1, "empty"),
            ("and did(x)", 1, "expected a value before 'and'"),
        ];
        for (src, col, words) in cases {
            let e = parse(src).expect_err(src);
            assert_eq!(e.column, col, "{src}: {e}");
            assert!(e.message.contains(words), "{src}: {e}");
        }
        let e = parse(r#"trait.城市 = "上海" +"#).expect_err("cjk");
        assert_eq!(e.column, 18);
        assert_eq!(
            e.render(r#"trait.城市 = "上海" +"#).lines().nth(1),
            Some("                     ^ column 18: the expression ends too early")
        );
        let e = parse("sum(order.amount, 30d > 5000").expect_err("bad");
        assert_eq!(
            e.render("sum(order.amount, 30d > 5000"),
            "sum(order.amount, 30d > 5000\n                      ^ column 23: expected ')' to close sum(...), found '>'"
        );
    }
}
