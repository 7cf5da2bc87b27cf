//! `cxp query`: the customers of a segment expression at a time.

use std::process::ExitCode;

use cxp_query::api::QueryDoc;

use super::source::{SourceArgs, parse_when};

/// Arguments of `cxp query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// The expression, e.g. `sum(order.amount, 30d) > 5000 and did(any, 30d)` (the language:
    /// docs/segments.md).
    expr: String,
    /// Query time: RFC 3339, ns, or a duration before now (`7d`); default now.
    #[arg(long, value_parser = parse_when)]
    at: Option<i64>,
    /// Members to show.
    #[arg(long, default_value_t = 10)]
    sample: usize,
    /// Also print the plan and where time went.
    #[arg(long)]
    explain: bool,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp query`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = args.source.open()?;
    let at = args.at.unwrap_or_else(cxp_store::now_ns);
    let doc: QueryDoc = match &source {
        super::source::Source::Local { store, .. } => {
            let defs = source.definitions();
            match cxp_query::segment::query(store, &args.expr, at, &defs) {
                Ok(answer) => QueryDoc::new(store, &args.expr, &answer, args.sample),
                Err(e @ cxp_query::segment::QueryError::Invalid { .. }) => {
                    eprintln!("cxp: {e}");
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
        super::source::Source::Remote(r) => r.get(
            "/api/v1/query",
            &[("expr", args.expr.clone()), ("at", at.to_string()), ("sample", args.sample.to_string())],
        )?,
    };
    print(&doc, args.explain, args.json)?;
    source.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a query answer.
pub fn print(doc: &QueryDoc, explain: bool, json: bool) -> anyhow::Result<()> {
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(doc)?)?;
        return Ok(());
    }
    crate::outln!("{} of {} customers, took {:.1} ms", doc.count, doc.customers, doc.took_us as f64 / 1e3)?;
    for w in &doc.warnings {
        crate::outln!("warning: {w}")?;
    }
    for m in &doc.sample {
        crate::outln!("  {}", m.customer.clone().unwrap_or_else(|| format!("#{}", m.root)))?;
    }
    if doc.count > doc.sample.len() as u64 && !doc.sample.is_empty() {
        crate::outln!("  ... {} more", doc.count - doc.sample.len() as u64)?;
    }
    if explain {
        crate::outln!("plan:")?;
        for line in doc.plan.lines() {
            crate::outln!("  {line}")?;
        }
        crate::outln!("steps:")?;
        for s in &doc.steps {
            let scanned =
                if s.chunks > 0 { format!(", {} rows in {} chunks", s.rows, s.chunks) } else { String::new() };
            crate::outln!("  {:>9.2} ms  {:<32} {}{scanned}", s.took_us as f64 / 1e3, s.what, s.source)?;
        }
    }
    Ok(())
}
