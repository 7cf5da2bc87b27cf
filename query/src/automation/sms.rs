//! SMS encoding and length: GSM-7 when every character is in the GSM 03.38 alphabet (its
//! extension table's characters take two septets), UCS-2 otherwise; 160 septets or 70 UTF-16
//! units fit one message, and a longer one is sent in segments of 153 septets or 67 units
//! (the rest is the concatenation header). A segment never splits an escape sequence or a
//! surrogate pair, so segments are counted by packing, not by dividing.
//!
//! Shortening keeps what must stay (the link, the opt-out line) and cuts the rest at a
//! grapheme boundary (at a word boundary where the text has spaces), with an ellipsis.

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

/// GSM 03.38 basic character set (one septet each).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (an escape plus the character: two septets).
const EXTENDED: &str = "\u{c}^{}\\[~]|€";

/// How a text goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// 7-bit GSM alphabet.
    Gsm7,
    /// UTF-16.
    Ucs2,
}

/// A text's encoding and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsInfo {
    /// Encoding.
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Messages it is sent as.
    pub segments: usize,
}

fn septets(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding and segment count of `text`.
pub fn info(text: &str) -> SmsInfo {
    let gsm: Option<Vec<usize>> = text.chars().map(septets).collect();
    let (encoding, sizes, single, part) = match gsm {
        Some(s) => (Encoding::Gsm7, s, 160, 153),
        None => (Encoding::Ucs2, text.chars().map(char::len_utf16).collect(), 70, 67),
    };
    let units: usize = sizes.iter().sum();
    let segments = if units == 0 {
        0
    } else if units <= single {
        1
    } else {
        // Pack: a character (an escape pair, a surrogate pair) never straddles two segments.
        let (mut segs, mut used) = (1, 0);
        for s in sizes {
            if used + s > part {
                segs += 1;
                used = 0;
            }
            used += s;
        }
        segs
    };
    SmsInfo { encoding, units, segments }
}

/// `text` fitted into `max` segments: unchanged when it fits, else the part before the first
/// of `keep` (the link, the opt-out line) cut at a grapheme or word boundary with an ellipsis,
/// and everything from that first kept piece on kept whole. `None` when even the kept pieces
/// with an ellipsis do not fit.
pub fn fit(text: &str, max: usize, keep: &[&str]) -> Option<String> {
    if info(text).segments <= max {
        return Some(text.to_owned());
    }
    let cut_at = keep.iter().filter(|k| !k.is_empty()).filter_map(|k| text.find(k)).min().unwrap_or(text.len());
    let (head, tail) = text.split_at(cut_at);
    // A GSM-7 text keeps to GSM-7: "…" would turn it into UCS-2 and halve what fits.
    let ellipsis = if info(text).encoding == Encoding::Gsm7 { "..." } else { "…" };
    let sep = if tail.is_empty() || tail.starts_with(char::is_whitespace) { "" } else { " " };
    let graphemes: Vec<&str> = head.trim_end().graphemes(true).collect();
    let build = |n: usize| -> String {
        let mut cut: String = graphemes[..n].concat();
        // At a word boundary when the text has words.
        if n < graphemes.len()
            && !graphemes[n].trim().is_empty()
            && let Some(sp) = cut.rfind(' ')
        {
            cut.truncate(sp);
        }
        format!("{}{ellipsis}{sep}{tail}", cut.trim_end())
    };
    let (mut lo, mut hi) = (0usize, graphemes.len());
    if info(&build(0)).segments > max {
        return None;
    }
    // The longest head that fits (segments grow with the head).
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if info(&build(mid)).segments <= max { lo = mid } else { hi = mid - 1 }
    }
    Some(build(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_and_segments() {
        // Worked examples of the GSM and UCS-2 limits (3GPP TS 23.038, 23.040).
        assert_eq!(info(&"a".repeat(160)), SmsInfo { encoding: Encoding::Gsm7, units: 160, segments: 1 });
        assert_eq!(info(&"a".repeat(161)).segments, 2);
        assert_eq!(info(&"a".repeat(306)).segments, 2);
        assert_eq!(info(&"a".repeat(307)).segments, 3);
        assert_eq!(info("€").units, 2, "extension characters take two septets");
        assert_eq!(info(&"€".repeat(80)).segments, 1);
        // 76 euro signs = 152 septets; one more 'a' makes 153; then an escape pair cannot
        // straddle: 153 + 2 > 153 pushes it to the next segment.
        let s = format!("{}a€{}", "€".repeat(76), "a".repeat(10));
        assert_eq!(info(&s).segments, 2);
        assert_eq!(info(&"中".repeat(70)), SmsInfo { encoding: Encoding::Ucs2, units: 70, segments: 1 });
        assert_eq!(info(&"中".repeat(71)).segments, 2);
        assert_eq!(info(&"中".repeat(134)).segments, 2);
        assert_eq!(info(&"中".repeat(135)).segments, 3);
        // An emoji is a surrogate pair: two units, never split.
        assert_eq!(info("😀").units, 2);
        assert_eq!(info(&format!("{}😀", "a".repeat(66))).segments, 1);
        assert_eq!(info(&format!("{}😀", "a".repeat(69))).segments, 2);
        assert_eq!(info(&format!("{}😀{}", "中".repeat(66), "中".repeat(5))).segments, 2);
    }

    #[test]
    fn shortening_keeps_the_link_and_the_opt_out() {
        let link = "https://s.example.com/x1";
        let long = format!("尊敬的张先生，{}。{link} 回T退订", "我们为您准备了专属优惠".repeat(10));
        let short = fit(&long, 2, &[link, "回T退订"]).expect("fits");
        assert!(info(&short).segments <= 2, "{short}");
        assert!(
            short.ends_with(&format!("…{link} 回T退订")) || short.ends_with(&format!("… {link} 回T退订")),
            "{short}"
        );
        assert!(short.starts_with("尊敬的张先生，我们为您"));
        // Latin text is cut between words and keeps GSM-7.
        let en =
            format!("Dear Mr. Smith, {} {link} Reply STOP to opt out", "we have picked new things for you".repeat(8));
        let short = fit(&en, 1, &[link, "Reply STOP"]).expect("fits");
        assert_eq!(info(&short).encoding, Encoding::Gsm7);
        assert_eq!(info(&short).segments, 1);
        assert!(short.contains(&format!("...{link}")) || short.contains(&format!("... {link}")), "{short}");
        let before = &short[..short.find("...").expect("ellipsis")];
        assert!(en.contains(&format!("{before} ")), "cut at a word boundary: {before:?}");
        // What fits stays as it is; what cannot fit even cut is refused.
        assert_eq!(fit("hi", 1, &[]).as_deref(), Some("hi"));
        assert_eq!(fit(&"x".repeat(400), 1, &[&"x".repeat(300)]), None);
    }
}
