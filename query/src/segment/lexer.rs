//! Tokens of the segment language, each with the column it starts at (1-based, in
//! characters, so that an error under `trait.city = "上海"` points at the right place).

use super::ParseError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name: event, field, trait, function, keyword (`and`, `within`...).
    Ident(String),
    /// A number literal.
    Num(f64),
    /// A string literal, unescaped.
    Str(String),
    /// A duration literal (`30d`, `24h`, `15m`, `10s`), in ns.
    Duration(i64),
    /// Punctuation and operators: `( ) [ ] , . = != < <= > >= + - * /`.
    Sym(&'static str),
}

/// A token and the column it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) col: usize,
}

const SECOND: i64 = 1_000_000_000;

/// The ns in one unit of a duration suffix.
pub(crate) fn unit(c: char) -> Option<i64> {
    match c {
        's' => Some(SECOND),
        'm' => Some(60 * SECOND),
        'h' => Some(3600 * SECOND),
        'd' => Some(86_400 * SECOND),
        _ => None,
    }
}

/// Splits `src` into tokens.
pub(crate) fn tokens(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let value: f64 = text.parse().map_err(|_| ParseError::new(col, format!("{text:?} is not a number")))?;
            // A unit right after the digits makes a duration: 30d, 24h.
            match chars.get(i).copied().and_then(unit) {
                Some(ns) if !chars.get(i + 1).is_some_and(|c| c.is_alphanumeric() || *c == '_') => {
                    if text.contains('.') {
                        return Err(ParseError::new(col, format!("durations are whole numbers: {text}{}", chars[i])));
                    }
                    let n: i64 = text.parse().map_err(|_| ParseError::new(col, "duration out of range"))?;
                    let total = n.checked_mul(ns).ok_or_else(|| ParseError::new(col, "duration out of range"))?;
                    out.push(Token { tok: Tok::Duration(total), col });
                    i += 1;
                }
                _ if chars.get(i).is_some_and(|c| c.is_alphabetic() || *c == '_') => {
                    return Err(ParseError::new(
                        i + 1,
                        format!("unknown unit {:?} after {text}: use s, m, h or d (30d, 24h)", chars[i]),
                    ));
                }
                _ => out.push(Token { tok: Tok::Num(value), col }),
            }
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(chars[start..i].iter().collect()), col });
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(ParseError::new(col, "this string has no closing quote")),
                    Some('"') => break,
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            Some('n') => s.push('\n'),
                            other => {
                                return Err(ParseError::new(
                                    i + 1,
                                    format!("unknown escape \\{}: use \\\" \\\\ or \\n", other.copied().unwrap_or(' ')),
                                ));
                            }
                        }
                        i += 2;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push(Token { tok: Tok::Str(s), col });
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let sym = match two.as_str() {
            "!=" => Some("!="),
            "<=" => Some("<="),
            ">=" => Some(">="),
            "==" => Some("="),
            _ => None,
        };
        if let Some(s) = sym {
            out.push(Token { tok: Tok::Sym(s), col });
            i += 2;
            continue;
        }
        let one = match c {
            '(' => "(",
            ')' => ")",
            '[' => "[",
            ']' => "]",
            ',' => ",",
            '.' => ".",
            '=' => "=",
            '<' => "<",
            '>' => ">",
            '+' => "+",
            '-' => "-",
            '*' => "*",
            '/' => "/",
            _ => return Err(ParseError::new(col, format!("unexpected character {c:?}"))),
        };
        out.push(Token { tok: Tok::Sym(one), col });
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokens(s).expect("tokens").into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_durations_strings_and_names() {
        assert_eq!(
            toks("sum(order.amount, 30d) > 5000"),
            vec![
                Tok::Ident("sum".into()),
                Tok::Sym("("),
                Tok::Ident("order".into()),
                Tok::Sym("."),
                Tok::Ident("amount".into()),
                Tok::Sym(","),
                Tok::Duration(30 * 86_400 * SECOND),
                Tok::Sym(")"),
                Tok::Sym(">"),
                Tok::Num(5000.0),
            ]
        );
        assert_eq!(toks(r#"trait.city = "上海""#)[4], Tok::Str("上海".into()));
        assert_eq!(toks(r#""a\"b""#), vec![Tok::Str("a\"b".into())]);
        assert_eq!(
            toks("0.7 24h 15m 10s"),
            vec![
                Tok::Num(0.7),
                Tok::Duration(24 * 3600 * SECOND),
                Tok::Duration(15 * 60 * SECOND),
                Tok::Duration(10 * SECOND)
            ]
        );
        assert_eq!(toks("spend_30d >= 1"), vec![Tok::Ident("spend_30d".into()), Tok::Sym(">="), Tok::Num(1.0)]);
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = tokens(r#"trait.city = "上海"#).expect_err("open string");
        assert_eq!(e.column, 14);
        let e = tokens("count(order, 30w)").expect_err("unit");
        assert_eq!((e.column, e.message.contains("unknown unit 'w'")), (16, true), "{e}");
        assert_eq!(tokens("a # b").expect_err("char").column, 3);
        assert!(tokens("count(x, 1.5d)").expect_err("fraction").message.contains("whole numbers"));
    }
}
