//! Prints a stream to stdout:
//! `cargo run -p cxp-gen --example sample -- [events] [seed] [customers] [days]`.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut next = |default: u64| args.next().and_then(|a| a.parse().ok()).unwrap_or(default);
    let defaults = cxp_gen::GenConfig::default();
    let config = cxp_gen::GenConfig {
        events: next(20),
        seed: next(defaults.seed),
        customers: next(defaults.customers),
        days: u32::try_from(next(u64::from(defaults.days))).unwrap_or(defaults.days),
        ..defaults
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    cxp_gen::write_all(config, &mut out)?;
    out.flush()
}
