//! `cxp segment`: named segments: list them with their sizes, show one, list its members,
//! define or delete one (through the API, or in the store with `--data`).

use std::process::ExitCode;

use anyhow::bail;
use cxp_query::api::{MembersDoc, SegmentDef, SegmentDoc};
use cxp_query::segment::defs;

use super::source::{Source, SourceArgs};

/// `cxp segment ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every named segment with its size now.
    List {
        #[command(flatten)]
        source: SourceArgs,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One segment: its definition, size and plan.
    Show {
        #[command(flatten)]
        source: SourceArgs,
        /// The segment.
        name: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The members of a segment.
    Members {
        #[command(flatten)]
        source: SourceArgs,
        /// The segment.
        name: String,
        /// Members to list.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Members to skip first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Defines (or redefines) a segment.
    Define {
        #[command(flatten)]
        source: SourceArgs,
        /// Its name.
        name: String,
        /// Its expression.
        expr: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Deletes a segment defined through the API.
    Delete {
        #[command(flatten)]
        source: SourceArgs,
        /// The segment.
        name: String,
    },
}

// The document of a named segment read from a store (not kept live: no history).
fn local_doc(
    store: &cxp_store::Store,
    spec: &defs::SegmentSpec,
    defs: &cxp_query::segment::Definitions,
) -> anyhow::Result<SegmentDoc> {
    let at = cxp_store::now_ns();
    let answer = cxp_query::segment::query(store, &spec.def.expr, at, defs)?;
    Ok(SegmentDoc {
        name: spec.def.name.clone(),
        expr: spec.def.expr.clone(),
        description: spec.def.description.clone(),
        source: spec.source.name().to_owned(),
        members: answer.count(),
        evaluated_at: at,
        lag_ms: 0,
        entered: 0,
        exited: 0,
        history: Vec::new(),
        error: None,
    })
}

/// Runs `cxp segment`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { source, json } => {
            let source = source.open()?;
            let docs: Vec<SegmentDoc> = match &source {
                Source::Local { store, specs } => {
                    let defs = source.definitions();
                    specs.iter().map(|s| local_doc(store, s, &defs)).collect::<anyhow::Result<_>>()?
                }
                Source::Remote(r) => r.get("/api/v1/segments", &[])?,
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&docs)?)?;
            } else if docs.is_empty() {
                crate::outln!("no named segments (define one with `cxp segment define NAME EXPR`)")?;
            } else {
                crate::outln!("{:<24} {:>10} {:>6}  expression", "segment", "members", "from")?;
                for d in &docs {
                    crate::outln!("{:<24} {:>10} {:>6}  {}", d.name, d.members, d.source, d.expr)?;
                }
            }
            source.close()?;
        }
        Command::Show { source, name, json } => {
            let source = source.open()?;
            let (doc, query): (SegmentDoc, cxp_query::api::QueryDoc) = match &source {
                Source::Local { store, specs } => {
                    let Some(spec) = specs.iter().find(|s| s.def.name == name) else {
                        bail!("no segment named {name:?}")
                    };
                    let defs = source.definitions();
                    let answer = cxp_query::segment::query(store, &spec.def.expr, cxp_store::now_ns(), &defs)?;
                    let q = cxp_query::api::QueryDoc::new(store, &spec.def.expr, &answer, 10);
                    (local_doc(store, spec, &defs)?, q)
                }
                Source::Remote(r) => {
                    let doc: SegmentDoc = r.get(&format!("/api/v1/segments/{name}"), &[])?;
                    let q = r.get("/api/v1/query", &[("expr", doc.expr.clone())])?;
                    (doc, q)
                }
            };
            if json {
                crate::outln!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"segment": doc, "query": query}))?
                )?;
            } else {
                crate::outln!("{} ({}): {}", doc.name, doc.source, doc.expr)?;
                if !doc.description.is_empty() {
                    crate::outln!("  {}", doc.description)?;
                }
                crate::outln!(
                    "  members {}, entered {}, exited {}, lag {} ms",
                    doc.members,
                    doc.entered,
                    doc.exited,
                    doc.lag_ms
                )?;
                if let Some(first) = doc.history.first() {
                    let sizes: Vec<String> = doc.history.iter().map(|p| p.members.to_string()).collect();
                    crate::outln!("  size since {}: {}", first.at, sizes.join(" "))?;
                }
                super::query::print(&query, true, false)?;
            }
            source.close()?;
        }
        Command::Members { source, name, limit, offset, json } => {
            let source = source.open()?;
            let doc: MembersDoc = match &source {
                Source::Local { store, specs } => {
                    let Some(spec) = specs.iter().find(|s| s.def.name == name) else {
                        bail!("no segment named {name:?}")
                    };
                    let answer =
                        cxp_query::segment::query(store, &spec.def.expr, cxp_store::now_ns(), &source.definitions())?;
                    let page = answer.members.iter().skip(offset as usize).take(limit as usize);
                    MembersDoc {
                        name: name.clone(),
                        count: answer.count(),
                        members: cxp_query::api::members(store, page),
                        offset,
                    }
                }
                Source::Remote(r) => r.get(
                    &format!("/api/v1/segments/{name}/members"),
                    &[("limit", limit.to_string()), ("offset", offset.to_string())],
                )?,
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
            } else {
                crate::outln!("{}: {} members", doc.name, doc.count)?;
                for m in &doc.members {
                    crate::outln!("  {}", m.customer.clone().unwrap_or_else(|| format!("#{}", m.root)))?;
                }
            }
            source.close()?;
        }
        Command::Define { source, name, expr, description } => {
            let def = SegmentDef { name, expr, description };
            let source = source.open()?;
            match &source {
                Source::Local { store, specs } => {
                    if specs.iter().any(|s| s.def.name == def.name && s.source == defs::DefSource::File) {
                        bail!("segment {:?} is defined in the configuration: redefine it there", def.name);
                    }
                    // Check it against this store (computed traits, other segments) before keeping it.
                    let mut all = source.definitions();
                    all.insert(def.name.clone(), def.expr.clone());
                    cxp_query::segment::query(store, &def.expr, cxp_store::now_ns(), &all)?;
                    defs::save(store, &def)?;
                }
                Source::Remote(r) => {
                    let _: SegmentDoc = r.post("/api/v1/segments", &def)?;
                }
            }
            crate::outln!("segment {:?} defined", def.name)?;
            source.close()?;
        }
        Command::Delete { source, name } => {
            let source = source.open()?;
            match &source {
                Source::Local { store, .. } => {
                    if !defs::remove(store, &name)? {
                        bail!("no segment {name:?} was defined through the API");
                    }
                }
                Source::Remote(r) => {
                    let _: serde_json::Value = r.delete(&format!("/api/v1/segments/{name}"))?;
                }
            }
            crate::outln!("segment {name:?} deleted")?;
            source.close()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
