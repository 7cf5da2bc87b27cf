//! Where messages go: a file of JSON lines (dry runs, tests, demos), an HTTP POST signed with
//! HMAC-SHA256 (an SMS or push provider's gateway, a CRM), or SMTP to a relay.
//!
//! Every delivery carries the message's idempotency key (`Idempotency-Key` header, or the
//! `key` field of a file line): delivery is at least once (a crash after the provider took a
//! message and before it was recorded sends it again), and the key lets the receiver drop the
//! repeat.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cxp_query::automation::def::Sink;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A message as a sink receives it (the file line, the webhook body).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery<'a> {
    /// Outbox id.
    pub id: u64,
    /// Idempotency key.
    pub key: &'a str,
    /// When it was handed over, ns.
    pub sent_at: i64,
    /// Journey.
    pub journey: &'a str,
    /// Step.
    pub step: &'a str,
    /// The customer (`type=value`).
    pub customer: String,
    /// The address on the channel (phone, email), when there is one.
    pub to: Option<String>,
    /// Channel.
    pub channel: &'a str,
    /// Template.
    pub template: &'a str,
    /// Locale.
    pub locale: &'a str,
    /// Split arm.
    pub arm: Option<&'a str>,
    /// Content parts.
    pub content: &'a std::collections::BTreeMap<String, String>,
    /// Poster file, for social messages.
    pub poster: Option<String>,
}

/// Why a delivery failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing the file.
    #[error("writing {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The webhook did not take it.
    #[error("webhook {url}: {why}")]
    Webhook {
        /// Where.
        url: String,
        /// Status or error.
        why: String,
    },
    /// The SMTP relay did not take it.
    #[error("smtp {relay}: {why}")]
    Smtp {
        /// Relay.
        relay: String,
        /// Why.
        why: String,
    },
}

/// The signature header of a body: `sha256=HEX` of HMAC-SHA256 with the secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers `d` through `sink`; `dir` is the data directory's `messages/`.
pub fn deliver(sink: &Sink, d: &Delivery<'_>, dir: &Path, http: &reqwest::blocking::Client) -> Result<(), SinkError> {
    match sink {
        Sink::File { path } => {
            let file = dir.join(path);
            let io = |source| SinkError::File { path: file.display().to_string(), source };
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let mut line = serde_json::to_vec(d).map_err(|e| io(std::io::Error::other(e)))?;
            line.push(b'\n');
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&file).map_err(io)?;
            f.write_all(&line).map_err(io)?;
            f.sync_data().map_err(io)
        }
        Sink::Webhook { url, secret } => {
            let body =
                serde_json::to_vec(d).map_err(|e| SinkError::Webhook { url: url.clone(), why: e.to_string() })?;
            let resp = http
                .post(url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", d.key)
                .header("X-Cxp-Signature", signature(secret, &body))
                .header("X-Cxp-Timestamp", d.sent_at.to_string())
                .body(body)
                .send()
                .map_err(|e| SinkError::Webhook { url: url.clone(), why: e.to_string() })?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(SinkError::Webhook { url: url.clone(), why: format!("answered {}", resp.status()) })
            }
        }
        Sink::Smtp { relay, from } => smtp(relay, from, d),
    }
}

fn smtp(relay: &str, from: &str, d: &Delivery<'_>) -> Result<(), SinkError> {
    use lettre::message::{Mailbox, MultiPart, SinglePart};
    use lettre::{SmtpTransport, Transport};
    let fail = |why: String| SinkError::Smtp { relay: relay.to_owned(), why };
    let to = d.to.as_deref().ok_or_else(|| fail("no email address".into()))?;
    let part = |k: &str| d.content.get(k).cloned().unwrap_or_default();
    let email = lettre::Message::builder()
        .from(from.parse::<Mailbox>().map_err(|e| fail(format!("from {from:?}: {e}")))?)
        .to(to.parse::<Mailbox>().map_err(|e| fail(format!("to {to:?}: {e}")))?)
        .subject(part("subject"))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(part("text")))
                .singlepart(SinglePart::html(part("html"))),
        )
        .map_err(|e| fail(e.to_string()))?;
    let (host, port) = relay.rsplit_once(':').unwrap_or((relay, "25"));
    let port: u16 = port.parse().map_err(|_| fail(format!("port {port:?}")))?;
    let mailer = SmtpTransport::builder_dangerous(host).port(port).timeout(Some(Duration::from_secs(10))).build();
    mailer.send(&email).map(|_| ()).map_err(|e| fail(e.to_string()))
}

/// The default sink of a channel: a JSON-lines file named after it.
pub fn default_sink(channel: &str) -> Sink {
    Sink::File { path: format!("{channel}.jsonl") }
}

/// The directory file sinks write to.
pub fn messages_dir(data: &Path) -> PathBuf {
    data.join("messages")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_an_independent_hmac() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
