//! `cxp kpi`: daily active customers and sales, retention cohorts with lifetime value, and the
//! profile KPIs.

use std::process::ExitCode;

use cxp_query::analytics::kpi::{DAY, KpiSpec};
use cxp_query::analytics::retention::{RetentionSpec, WEEK};
use cxp_query::api::analytics::{KpiReport, KpiSummary, RetentionReport};

use super::source::{Source, SourceArgs, parse_when};

/// `cxp kpi ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every daily KPI: DAU, WAU, MAU, orders, revenue, AOV, buyers, conversion.
    Daily(Range),
    /// Active customers per day: DAU, WAU, MAU.
    Dau(Range),
    /// Sales per day: orders, revenue, average order value, buyers, conversion.
    Revenue(Range),
    /// Retention per cohort and period, with lifetime value.
    Retention {
        #[command(flatten)]
        range: Range,
        /// What puts a customer in a cohort: `signup`, `first_order`, or any event name (its
        /// first occurrence).
        #[arg(long, default_value = "signup")]
        cohort: String,
        /// `week` (from Monday 00:00 UTC) or `day`.
        #[arg(long, default_value = "week")]
        period: String,
        /// The event that counts as active (default: any event).
        #[arg(long)]
        activity: Option<String>,
    },
    /// Profile completeness and the share of online buyers who also buy offline.
    Summary {
        #[command(flatten)]
        source: SourceArgs,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A time range and output format.
#[derive(Debug, clap::Args)]
pub struct Range {
    #[command(flatten)]
    source: SourceArgs,
    /// From this time (its UTC day or week): RFC 3339, ns, or a duration before now.
    #[arg(long, value_parser = parse_when, default_value = "30d")]
    from: i64,
    /// Events before this time (default now).
    #[arg(long, value_parser = parse_when)]
    at: Option<i64>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn day(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_owned()
}

fn daily(range: &Range) -> anyhow::Result<(Source, KpiReport)> {
    let source = range.source.open()?;
    let at = range.at.unwrap_or_else(cxp_store::now_ns);
    let report = match &source {
        Source::Local { store, .. } => cxp_query::analytics::kpi_report(store, &KpiSpec::new(range.from, at))?,
        Source::Remote(r) => r.get("/api/v1/kpi/daily", &[("from", range.from.to_string()), ("at", at.to_string())])?,
    };
    Ok((source, report))
}

/// Runs `cxp kpi`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Daily(range) | Command::Dau(range) | Command::Revenue(range) if range.json => {
            let (source, report) = daily(&range)?;
            crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
            source.close()?;
        }
        Command::Daily(range) => {
            let (source, report) = daily(&range)?;
            crate::outln!(
                "{:<10} {:>8} {:>8} {:>8} {:>7} {:>12} {:>9} {:>7} {:>6}",
                "day",
                "dau",
                "wau",
                "mau",
                "orders",
                "revenue",
                "aov",
                "buyers",
                "conv"
            )?;
            for d in &report.days {
                crate::outln!(
                    "{:<10} {:>8} {:>8} {:>8} {:>7} {:>12.2} {:>9.2} {:>7} {:>5.1}%",
                    day(d.day),
                    d.dau,
                    d.wau,
                    d.mau,
                    d.orders,
                    d.revenue,
                    d.aov,
                    d.buyers,
                    d.conversion * 100.0
                )?;
            }
            source.close()?;
        }
        Command::Dau(range) => {
            let (source, report) = daily(&range)?;
            crate::outln!("{:<10} {:>8} {:>8} {:>8}", "day", "dau", "wau", "mau")?;
            for d in &report.days {
                crate::outln!("{:<10} {:>8} {:>8} {:>8}", day(d.day), d.dau, d.wau, d.mau)?;
            }
            source.close()?;
        }
        Command::Revenue(range) => {
            let (source, report) = daily(&range)?;
            crate::outln!(
                "{:<10} {:>7} {:>12} {:>9} {:>7} {:>6}",
                "day",
                "orders",
                "revenue",
                "aov",
                "buyers",
                "conv"
            )?;
            for d in &report.days {
                crate::outln!(
                    "{:<10} {:>7} {:>12.2} {:>9.2} {:>7} {:>5.1}%",
                    day(d.day),
                    d.orders,
                    d.revenue,
                    d.aov,
                    d.buyers,
                    d.conversion * 100.0
                )?;
            }
            let total: f64 = report.days.iter().map(|d| d.revenue).sum();
            let orders: u64 = report.days.iter().map(|d| d.orders).sum();
            crate::outln!("total: {orders} orders, revenue {total:.2}")?;
            source.close()?;
        }
        Command::Retention { range, cohort, period, activity } => {
            let source = range.source.open()?;
            let at = range.at.unwrap_or_else(cxp_store::now_ns);
            let period_ns = match period.as_str() {
                "week" => WEEK,
                "day" => DAY,
                other => anyhow::bail!("--period is week or day, not {other:?}"),
            };
            let cohort_event = if cohort == "first_order" { "order".to_owned() } else { cohort.clone() };
            let report: RetentionReport = match &source {
                Source::Local { store, .. } => {
                    let spec = RetentionSpec {
                        cohort_event,
                        activity: activity.clone(),
                        period: period_ns,
                        ..RetentionSpec::weekly(range.from, at)
                    };
                    cxp_query::analytics::retention_report(store, &spec)?
                }
                Source::Remote(r) => {
                    let mut q = vec![
                        ("from", range.from.to_string()),
                        ("at", at.to_string()),
                        ("cohort", cohort),
                        ("period", period),
                    ];
                    if let Some(a) = &activity {
                        q.push(("activity", a.clone()));
                    }
                    r.get("/api/v1/kpi/retention", &q)?
                }
            };
            if range.json {
                crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                crate::outln!(
                    "cohorts by first {}, active on {}, retention per period:",
                    report.cohort_by,
                    report.activity
                )?;
                for c in &report.cohorts {
                    let cells: Vec<String> = c.retention.iter().map(|r| format!("{:>5.1}%", r * 100.0)).collect();
                    crate::outln!("{}  {:>7}  {}", day(c.start), c.customers, cells.join(" "))?;
                }
                crate::outln!("lifetime value per customer:")?;
                for c in &report.cohorts {
                    let cells: Vec<String> = c.ltv.iter().map(|v| format!("{v:>8.2}")).collect();
                    crate::outln!("{}  {:>7}  {}", day(c.start), c.customers, cells.join(" "))?;
                }
            }
            source.close()?;
        }
        Command::Summary { source, json } => {
            let source = source.open()?;
            let s: KpiSummary = match &source {
                Source::Local { store, .. } => KpiSummary::of(store),
                Source::Remote(r) => r.get("/api/v1/kpi/summary", &[])?,
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&s)?)?;
            } else {
                crate::outln!("known customers      {}", s.known_customers)?;
                crate::outln!("profile completeness {:.1}%", s.completeness * 100.0)?;
                crate::outln!(
                    "online buyers        {} ({} also offline: {:.1}%)",
                    s.online_buyers,
                    s.also_offline,
                    s.online_to_offline * 100.0
                )?;
            }
            source.close()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
