//! A deterministic synthetic retail event stream, as InfluxDB line protocol.
//!
//! `cxp-gen` produces realistic customer events to test the platform end to end and to
//! benchmark it: signups and identifies (with messy traits: genders spelled a dozen ways,
//! phones with `+86` and dashes, emails in odd case), anonymous browsing later linked to a
//! customer, page views, logins, carts, online and in-store orders (the latter carrying a
//! phone or member card instead of a customer id), refunds, reviews in Chinese and English,
//! and shop events without any customer (inventory, campaigns).
//!
//! The stream is realistic where analytics look: customer activity and product popularity
//! are heavy-tailed (Zipf), order values long-tailed, events follow a daily rhythm (UTC+8,
//! peak at 21h) and shopping festivals, new customers sign up throughout, and about 30% of
//! customers churn (fading out, unhappier, refunding more, then silent).
//!
//! The same [`GenConfig`] always gives the same bytes on every platform: one ChaCha8 stream
//! seeded from the config, integer arithmetic, amounts as integer cents.
//!
//! ```
//! use cxp_gen::{GenConfig, generate};
//!
//! let config = GenConfig { customers: 100, events: 1_000, days: 7, ..GenConfig::default() };
//! let bytes = generate(config);
//! assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1_000);
//! assert_eq!(bytes, generate(config));
//! ```

mod catalog;
mod clock;
mod commerce;
mod config;
mod customer;
mod events;
mod people;
mod sample;
mod stream;
mod texts;
mod write;

pub use config::{DEFAULT_START_NS, GenConfig, MAX_CUSTOMERS};
pub use stream::Generator;

/// Bytes buffered before each write to `w`.
const CHUNK: usize = 64 * 1024;

/// Writes the whole stream to `w` in chunks of about 64 KiB (no further buffering needed),
/// returning the number of lines written, which is `config.events`.
pub fn write_all(config: GenConfig, w: &mut impl std::io::Write) -> std::io::Result<u64> {
    let mut generator = Generator::new(config);
    let mut buf = Vec::with_capacity(CHUNK + 1024);
    let mut lines = 0;
    while generator.next_line(&mut buf) {
        lines += 1;
        if buf.len() >= CHUNK {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    Ok(lines)
}

/// The first `config.events` lines in one buffer; for tests and benchmarks.
pub fn generate(config: GenConfig) -> Vec<u8> {
    // About 110 bytes a line; the cap only avoids a huge up-front reservation.
    let estimate = usize::try_from(config.events.saturating_mul(110)).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(estimate.min(1 << 30));
    let mut generator = Generator::new(config);
    while generator.next_line(&mut out) {}
    out
}
