//! Request bodies: `Content-Encoding: gzip` decoded with a size limit (a small gzip body can
//! expand a thousandfold), and the limit checked on plain bodies too.

use std::io::Read;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_ENCODING;

/// Why a body cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Over the limit (after decompression).
    #[error("request body is over the limit of {0} bytes")]
    TooLarge(usize),
    /// Says gzip but is not.
    #[error("body is not valid gzip: {0}")]
    BadGzip(String),
    /// An encoding we do not speak.
    #[error("unsupported Content-Encoding {0:?}: use gzip or identity")]
    Encoding(String),
}

/// The body, decompressed when it says it is gzip.
pub fn decode(headers: &HeaderMap, body: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let encoding =
        headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => {
            if body.len() > limit {
                return Err(BodyError::TooLarge(limit));
            }
            Ok(body.to_vec())
        }
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            let mut reader = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
            reader.read_to_end(&mut out).map_err(|e| BodyError::BadGzip(e.to_string()))?;
            if out.len() > limit {
                return Err(BodyError::TooLarge(limit));
            }
            Ok(out)
        }
        other => Err(BodyError::Encoding(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn gzip_is_decoded_within_the_limit() {
        let mut h = HeaderMap::new();
        assert_eq!(decode(&h, b"abc", 3).expect("plain"), b"abc");
        assert!(matches!(decode(&h, b"abcd", 3), Err(BodyError::TooLarge(3))));
        h.insert(CONTENT_ENCODING, "gzip".parse().expect("value"));
        assert_eq!(decode(&h, &gz(b"a f=1"), 100).expect("gzip"), b"a f=1");
        let bomb = gz(&vec![b'x'; 10_000]);
        assert!(matches!(decode(&h, &bomb, 1000), Err(BodyError::TooLarge(1000))));
        assert!(matches!(decode(&h, b"not gzip", 100), Err(BodyError::BadGzip(_))));
        h.insert(CONTENT_ENCODING, "br".parse().expect("value"));
        assert!(matches!(decode(&h, b"x", 100), Err(BodyError::Encoding(_))));
    }
}
