//! The demo's business: segments (the platinum customers, churn risk from the model, open
//! carts, a city's big spenders) and the automation that ships with cxp with its waits cut
//! from hours to seconds, so that journeys visibly act within a demo's minute.

use std::path::Path;

use anyhow::Context;

/// Named segments of the demo.
pub const SEGMENTS: &str = r#"# Segments of `cxp demo` (edit and restart, or define more with `e` in cxp top).

[platinum]
expr = "sum(order.amount, 30d) > 2000 and did(any, 30d)"
description = "Spent over 2,000 in 30 days and still active"

[churn_risk]
expr = "score.churn > 0.6 and did(order, 180d)"
description = "Bought this half-year; the churn model says they are leaving"

[cart_open]
expr = "did(add_to_cart, 1h) and not did(order, 1h)"
description = "An item in the cart within the hour and no order"

[shanghai_buyers]
expr = "did(order, 30d) and trait.city = \"上海\""
description = "Bought this month, live in Shanghai"
"#;

/// The shipped automation with demo timings: what waits 24 hours and 4 hours in a shop
/// waits 30 and 20 seconds here, and no quiet hours hold messages back.
pub fn automation() -> String {
    let text = cxp_query::automation::def::DEFAULT
        .replace("within = \"24h\"", "within = \"15s\"")
        .replace("timeout = \"4h\"", "timeout = \"20s\"")
        .replace("quiet_hours = \"21:00-08:00\"", "quiet_hours = \"none\"")
        .replace(
            "caps = { sms = \"2/7d\", email = \"5/7d\", push = \"10/1d\" }",
            "caps = { sms = \"3/1d\", email = \"5/1d\", push = \"10/1d\" }",
        );
    format!("# `cxp demo`: the automation that ships with cxp, with waits of seconds instead of hours.\n{text}")
}

/// Writes the demo's files into `data` unless they are there (a demo run again on the same
/// directory keeps what the user changed).
pub fn write_files(data: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    for (name, text) in [("segments.toml", SEGMENTS.to_owned()), ("automation.toml", automation())] {
        let path = data.join(name);
        if !path.exists() {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_automation_is_the_shipped_one_with_short_waits_and_it_parses() {
        let text = automation();
        assert!(text.contains("within = \"15s\"") && text.contains("timeout = \"20s\""), "the waits were cut");
        assert!(text.contains("quiet_hours = \"none\""));
        let defs = cxp_query::automation::parse(&text).expect("the demo automation parses");
        let shipped = cxp_query::automation::parse(cxp_query::automation::def::DEFAULT).expect("shipped");
        assert_eq!(defs.journeys.len(), shipped.journeys.len());
    }

    #[test]
    fn the_demo_segments_parse() {
        let defs = cxp_query::segment::defs::parse_file(SEGMENTS).expect("segments parse");
        assert_eq!(defs.len(), 4);
        for s in &defs {
            cxp_query::segment::defs::check(&s.def).expect("a valid expression");
        }
    }
}
