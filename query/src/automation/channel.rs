//! Fitting rendered content to its channel: an SMS into its segment limit (keeping the link and
//! the opt-out line), an email into subject, text and HTML parts, a push into what a lock
//! screen shows, a poster into a PNG.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use super::def::{Channel, Settings};
use super::salutation::opt_out_text;
use super::sms::{self, SmsInfo};

/// A push title's limit, in characters (iOS and Android both cut near here).
pub const PUSH_TITLE: usize = 50;
/// A push body's limit.
pub const PUSH_BODY: usize = 178;
/// An email subject's limit (mail clients show less; servers take more).
pub const SUBJECT: usize = 150;

/// A message ready for its channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adapted {
    /// Channel.
    pub channel: Channel,
    /// Parts (`body`; `subject`, `text`, `html`; `title`, `body`; poster fields).
    pub parts: BTreeMap<String, String>,
    /// For an SMS: encoding and segments.
    pub sms: Option<SmsInfo>,
    /// What was changed to fit (for the "why" of a message).
    pub notes: Vec<String>,
}

/// Why content cannot go out on its channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdaptError {
    /// Too long even when shortened.
    #[error("{0}")]
    TooLong(String),
    /// A required part is empty.
    #[error("{0}")]
    Empty(String),
}

fn cut(text: &str, max: usize) -> (String, bool) {
    let g: Vec<&str> = text.graphemes(true).collect();
    if g.len() <= max {
        return (text.to_owned(), false);
    }
    let mut s: String = g[..max.saturating_sub(1)].concat();
    if s.contains(' ')
        && let Some(sp) = s.rfind(' ')
        && sp > s.len() / 2
    {
        s.truncate(sp);
    }
    (format!("{}…", s.trim_end()), true)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// Fits rendered `parts` to `channel` for a customer of `locale`.
pub fn adapt(
    channel: Channel,
    mut parts: BTreeMap<String, String>,
    settings: &Settings,
    locale: &str,
) -> Result<Adapted, AdaptError> {
    let mut notes = Vec::new();
    let mut info = None;
    match channel {
        Channel::Sms => {
            let body = parts.get("body").map(|s| s.trim().to_owned()).unwrap_or_default();
            if body.is_empty() {
                return Err(AdaptError::Empty("the SMS is empty".into()));
            }
            let max = settings.sms_max_segments as usize;
            let fitted = sms::fit(&body, max, &[&settings.link, opt_out_text(locale)]).ok_or_else(|| {
                AdaptError::TooLong(format!(
                    "the SMS takes {} segments and cannot be cut to {max} while keeping the link and the opt-out line",
                    sms::info(&body).segments
                ))
            })?;
            if fitted != body {
                notes.push(format!(
                    "shortened from {} to {} segments",
                    sms::info(&body).segments,
                    sms::info(&fitted).segments
                ));
            }
            info = Some(sms::info(&fitted));
            parts.insert("body".into(), fitted);
        }
        Channel::Email => {
            let subject =
                parts.get("subject").map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default();
            if subject.is_empty() {
                return Err(AdaptError::Empty("the email has no subject".into()));
            }
            let (subject, was_cut) = cut(&subject, SUBJECT);
            if was_cut {
                notes.push(format!("subject cut to {SUBJECT} characters"));
            }
            parts.insert("subject".into(), subject);
            match (parts.get("text").cloned(), parts.get("html").cloned()) {
                (Some(t), None) => {
                    let html = format!("<p>{}</p>", escape_html(&t).replace("\n\n", "</p><p>").replace('\n', "<br>"));
                    parts.insert("html".into(), html);
                    notes.push("HTML made from the text".into());
                }
                (None, Some(h)) => {
                    parts.insert("text".into(), strip_tags(&h));
                    notes.push("text made from the HTML".into());
                }
                (None, None) => return Err(AdaptError::Empty("the email has neither text nor HTML".into())),
                _ => {}
            }
        }
        Channel::Push => {
            for (part, max) in [("title", PUSH_TITLE), ("body", PUSH_BODY)] {
                if let Some(t) = parts.get(part).cloned() {
                    let (t, was_cut) = cut(t.trim(), max);
                    if was_cut {
                        notes.push(format!("{part} cut to {max} characters"));
                    }
                    parts.insert(part.into(), t);
                }
            }
            if parts.get("title").is_none_or(|t| t.is_empty()) {
                return Err(AdaptError::Empty("the push has no title".into()));
            }
        }
        Channel::Webhook | Channel::Social => {}
    }
    Ok(Adapted { channel, parts, sms: info, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &[(&str, &str)]) -> BTreeMap<String, String> {
        p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn each_channel_gets_what_it_takes() {
        let s = Settings { sms_max_segments: 1, link: "https://s.example.com".into(), ..Settings::default() };
        let long = format!("尊敬的张先生，{} https://s.example.com 回T退订", "新品上市".repeat(30));
        let a = adapt(Channel::Sms, parts(&[("body", &long)]), &s, "zh").expect("fits");
        assert_eq!(a.sms.map(|i| i.segments), Some(1));
        assert!(a.parts["body"].ends_with("https://s.example.com 回T退订"), "{}", a.parts["body"]);
        assert_eq!(a.notes.len(), 1);
        let e =
            adapt(Channel::Email, parts(&[("subject", "Hi\nthere"), ("text", "a < b\n\nnext")]), &s, "en").expect("ok");
        assert_eq!(e.parts["subject"], "Hi there");
        assert_eq!(e.parts["html"], "<p>a &lt; b</p><p>next</p>");
        let e = adapt(Channel::Email, parts(&[("subject", "S"), ("html", "<p>x &amp; y</p>")]), &s, "en").expect("ok");
        assert_eq!(e.parts["text"], "x & y");
        let title = "A very long title that goes on and on beyond what a lock screen shows anyway";
        let p = adapt(Channel::Push, parts(&[("title", title), ("body", "b")]), &s, "en").expect("ok");
        assert!(p.parts["title"].graphemes(true).count() <= PUSH_TITLE && p.parts["title"].ends_with('…'));
        assert!(adapt(Channel::Email, parts(&[("text", "x")]), &s, "en").is_err());
        assert!(adapt(Channel::Sms, parts(&[("body", "  ")]), &s, "en").is_err());
    }
}
