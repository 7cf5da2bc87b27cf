//! The daemon's HTTP API, as the console reads it (blocking; only the fetch thread calls it).

use std::time::Duration;

use serde::de::DeserializeOwned;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No answer: connection refused, reset or timed out.
    #[error("daemon unreachable at {addr}: {reason}")]
    Unreachable {
        /// Where.
        addr: String,
        /// What the network said.
        reason: String,
    },
    /// An answer that is not a success.
    #[error("{path}: HTTP {status}: {message}")]
    Status {
        /// The route.
        path: String,
        /// HTTP status.
        status: u16,
        /// The daemon's error text.
        message: String,
    },
    /// A body that is not the expected JSON (a different daemon version?).
    #[error("{path}: unexpected reply: {reason}")]
    Decode {
        /// The route.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A connection to one daemon.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
}

impl Client {
    /// For the daemon at `addr` (`host:port` or a URL), with a bearer token.
    pub fn new(addr: &str, token: Option<String>) -> Result<Client, FetchError> {
        let base = if addr.starts_with("http://") || addr.starts_with("https://") {
            addr.trim_end_matches('/').to_owned()
        } else {
            format!("http://{addr}")
        };
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| FetchError::Unreachable { addr: base.clone(), reason: e.to_string() })?;
        Ok(Client { base, token, http })
    }

    /// The daemon's address as shown.
    pub fn addr(&self) -> &str {
        &self.base
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder, path: &str) -> Result<String, FetchError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp =
            req.send().map_err(|e| FetchError::Unreachable { addr: self.base.clone(), reason: root_cause(&e) })?;
        let status = resp.status().as_u16();
        let body =
            resp.text().map_err(|e| FetchError::Unreachable { addr: self.base.clone(), reason: root_cause(&e) })?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| body.chars().take(200).collect());
            return Err(FetchError::Status { path: path.to_owned(), status, message });
        }
        Ok(body)
    }

    /// `GET path` as `T`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, FetchError> {
        let body = self.send(self.http.get(format!("{}{path}", self.base)), path)?;
        serde_json::from_str(&body).map_err(|e| FetchError::Decode { path: path.to_owned(), reason: e.to_string() })
    }

    /// `POST path` with a JSON body; the reply as JSON.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, FetchError> {
        let text = self.send(self.http.post(format!("{}{path}", self.base)).json(body), path)?;
        serde_json::from_str(&text).map_err(|e| FetchError::Decode { path: path.to_owned(), reason: e.to_string() })
    }
}

// reqwest's top error says only "error sending request"; the cause says why.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Percent-encodes a query or path value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_urls_cannot_carry() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("c-1_x.y~"), "c-1_x.y~");
    }

    #[test]
    fn an_unreachable_daemon_is_an_error_in_words() {
        // Port 9 (discard) on loopback: nothing listens in the test environment.
        let c = Client::new("127.0.0.1:9", None).expect("client");
        match c.get::<serde_json::Value>("/api/v1/status") {
            Err(FetchError::Unreachable { addr, reason }) => {
                assert_eq!(addr, "http://127.0.0.1:9");
                assert!(!reason.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
}
