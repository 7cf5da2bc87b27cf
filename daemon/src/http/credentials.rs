//! Tokens in every form real clients send them:
//! - `Authorization: Bearer T` (our API, Segment OAuth);
//! - `Authorization: Token T` (InfluxDB 2), or `Token user:T` (InfluxDB 1.8 compatibility);
//! - `Authorization: Basic base64(user:T)` (InfluxDB 1 clients), or `base64(T:)` (Segment and
//!   Rudder send the write key as the user with an empty password), or `base64(T)`;
//! - `?u=user&p=T` (InfluxDB 1 query parameters);
//! - `"writeKey": T` in a Segment body (added by the caller).

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;

use crate::auth::{Principal, Tokens};

/// Every string that may be the token, most specific first.
pub fn candidates(headers: &HeaderMap, query: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
        let rest = rest.trim();
        match scheme.to_ascii_lowercase().as_str() {
            "bearer" => out.push(rest.to_owned()),
            "token" => {
                out.push(rest.to_owned());
                if let Some((_, pass)) = rest.split_once(':') {
                    out.push(pass.to_owned());
                }
            }
            "basic" => {
                let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok();
                if let Some(text) = decoded.and_then(|d| String::from_utf8(d).ok()) {
                    match text.split_once(':') {
                        Some((user, pass)) => {
                            out.push(pass.to_owned());
                            out.push(user.to_owned());
                        }
                        None => out.push(text),
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(p) = query.get("p") {
        out.push(p.clone());
    }
    out.retain(|c| !c.is_empty());
    out
}

/// The first candidate that is a known token.
pub fn authenticate(tokens: &Tokens, candidates: &[String]) -> Option<Principal> {
    candidates.iter().find_map(|c| tokens.verify(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(auth: &str) -> Vec<String> {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, auth.parse().expect("header"));
        candidates(&h, &HashMap::new())
    }

    #[test]
    fn every_client_form_yields_the_token() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(with("Bearer T"), ["T"]);
        assert_eq!(with("Token T"), ["T"]);
        assert_eq!(with("Token user:T"), ["user:T", "T"]);
        assert_eq!(with(&format!("Basic {}", b64("root:T"))), ["T", "root"]);
        assert_eq!(with(&format!("Basic {}", b64("T:"))), ["T"]);
        assert_eq!(with(&format!("Basic {}", b64("T"))), ["T"]);
        let q = HashMap::from([("u".to_owned(), "x".to_owned()), ("p".to_owned(), "T".to_owned())]);
        assert_eq!(candidates(&HeaderMap::new(), &q), ["T"]);
        assert!(with("Basic !!!").is_empty());
    }
}
