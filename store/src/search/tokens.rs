//! Tokens for customer search, Chinese and English alike.
//!
//! Chinese has no spaces between words and a dictionary segmenter (jieba) misses new words,
//! brand names and typos. Overlapping character bigrams find any substring of two or more
//! characters (`退款` in `我要退款`) at the cost of a larger index, which for short customer
//! texts is the better trade. Runs of letters and digits (English, ids, phone numbers) are
//! lower-cased words.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Whether `c` is written without spaces between words (Han, kana, Hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FFFF) // Extensions B and later
}

/// Calls `emit(from, to, token)` for each token of `text`: lower-cased words of letters and
/// digits, and bigrams of CJK runs (a lone CJK character is its own token).
pub(crate) fn split(text: &str, mut emit: impl FnMut(usize, usize, &str)) {
    let mut word_start: Option<usize> = None;
    let mut word = String::new();
    // Previous CJK character of the current run, with its offset.
    let mut prev_cjk: Option<(usize, char)> = None;
    let mut run_len = 0usize;
    let mut buf = String::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let end = chars.get(i + 1).map_or(text.len(), |n| n.0);
        if is_cjk(c) {
            if let Some(start) = word_start.take() {
                emit(start, at, &word);
                word.clear();
            }
            if let Some((p_at, p)) = prev_cjk {
                buf.clear();
                buf.push(p);
                buf.push(c);
                emit(p_at, end, &buf);
            }
            run_len += 1;
            prev_cjk = Some((at, c));
            let next_is_cjk = chars.get(i + 1).is_some_and(|n| is_cjk(n.1));
            if run_len == 1 && !next_is_cjk {
                buf.clear();
                buf.push(c);
                emit(at, end, &buf);
            }
            continue;
        }
        prev_cjk = None;
        run_len = 0;
        if c.is_alphanumeric() {
            word_start.get_or_insert(at);
            word.extend(c.to_lowercase());
        } else if let Some(start) = word_start.take() {
            emit(start, at, &word);
            word.clear();
        }
    }
    if let Some(start) = word_start {
        emit(start, text.len(), &word);
    }
}

/// The tokens of `text`, as [`split`] makes them.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    split(text, |_, _, t| out.push(t.to_owned()));
    out
}

/// [`split`] as a tantivy tokenizer.
#[derive(Clone, Default)]
pub(crate) struct CjkTokenizer {
    tokens: Vec<Token>,
}

pub(crate) struct CjkTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    at: Option<usize>,
    // Returned before the first `advance` or after the last token.
    none: Token,
}

impl Tokenizer for CjkTokenizer {
    type TokenStream<'a> = CjkTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CjkTokenStream<'a> {
        self.tokens.clear();
        let tokens = &mut self.tokens;
        split(text, |from, to, t| {
            let position = tokens.len();
            tokens.push(Token { offset_from: from, offset_to: to, position, text: t.to_owned(), position_length: 1 });
        });
        CjkTokenStream { tokens: &mut self.tokens, at: None, none: Token::default() }
    }
}

impl TokenStream for CjkTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let next = self.at.map_or(0, |i| i + 1);
        self.at = Some(next);
        next < self.tokens.len()
    }

    fn token(&self) -> &Token {
        self.at.and_then(|i| self.tokens.get(i)).unwrap_or(&self.none)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.at.filter(|i| *i < self.tokens.len()) {
            Some(i) => &mut self.tokens[i],
            None => &mut self.none,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_runs_become_bigrams_and_words_are_lower_cased() {
        assert_eq!(tokens("我要退款"), ["我要", "要退", "退款"]);
        assert_eq!(tokens("退款"), ["退款"]);
        assert_eq!(tokens("好"), ["好"]);
        assert_eq!(tokens("Refund please! 物流很快,OK"), ["refund", "please", "物流", "流很", "很快", "ok"]);
        assert_eq!(tokens("iPhone15退货"), ["iphone15", "退货"]);
        assert_eq!(tokens("zw@Example.com +86 138"), ["zw", "example", "com", "86", "138"]);
        assert!(tokens(" ,. ").is_empty());
    }
}
