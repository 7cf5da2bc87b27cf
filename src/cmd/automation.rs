//! `cxp automation` (check, replay, journeys, why) and `cxp template preview`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cxp_query::api::{JourneyDoc, PreviewDoc};
use cxp_query::automation::replay::ReplayReport;
use cxp_query::automation::{Channel, Definitions, Message};

use super::source::{Source, SourceArgs, parse_when};

/// `cxp automation ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Checks a definitions file: triggers, journeys, templates (rendered for a customer
    /// about whom nothing is known), channels; prints what it defines.
    Check {
        /// The file (`default` for the rules that ship with cxp).
        file: PathBuf,
    },
    /// Runs past events through the rules with a fast-forwarded clock and reports what would
    /// have been sent, without sending anything.
    Replay {
        #[command(flatten)]
        source: AutoSource,
        /// Start: RFC 3339, ns, or a duration before now.
        #[arg(long, value_parser = parse_when)]
        from: i64,
        /// End (exclusive); default now.
        #[arg(long, value_parser = parse_when)]
        to: Option<i64>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Journeys and triggers with live counters per step (a running daemon).
    Journeys {
        #[command(flatten)]
        source: SourceArgs,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Why a customer got, or did not get, each message (a running daemon).
    Why {
        #[command(flatten)]
        source: SourceArgs,
        /// Any identifier of the customer.
        customer: String,
    },
}

/// `cxp template ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TemplateCommand {
    /// The message a customer would get now from a template on a channel.
    Preview {
        #[command(flatten)]
        source: AutoSource,
        /// Template name.
        name: String,
        /// Any identifier of the customer (none: a customer about whom nothing is known).
        #[arg(long)]
        customer: Option<String>,
        /// Channel: sms, email, push, webhook, social.
        #[arg(long, default_value = "sms")]
        channel: String,
        /// Write a social poster to this PNG file.
        #[arg(long)]
        png: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A source and the definitions file.
#[derive(Debug, clap::Args)]
pub struct AutoSource {
    #[command(flatten)]
    source: SourceArgs,
    /// Definitions file (default with `--data`: `automation.toml` in the data directory, else
    /// the rules that ship with cxp).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
}

impl AutoSource {
    fn definitions(&self) -> anyhow::Result<Definitions> {
        let file = self
            .file
            .clone()
            .or_else(|| self.source.data_dir().map(|d| d.join("automation.toml")).filter(|p| p.exists()));
        match file {
            Some(f) => read(&f),
            None => Ok(cxp_query::automation::parse(cxp_query::automation::def::DEFAULT)?),
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Definitions> {
    if path.as_os_str() == "default" {
        return Ok(cxp_query::automation::parse(cxp_query::automation::def::DEFAULT)?);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    cxp_query::automation::parse(&text).with_context(|| format!("in {}", path.display()))
}

/// Runs `cxp automation`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { file } => {
            let d = read(&file)?;
            for j in &d.journeys {
                crate::outln!("{:<28} version {:08x}  {} steps  {}", j.name, j.version, j.steps.len(), j.description)?;
            }
            crate::outln!(
                "{} templates: {}",
                d.templates.by_name.len(),
                d.templates.by_name.keys().cloned().collect::<Vec<_>>().join(", ")
            )?;
        }
        Command::Replay { source, from, to, json } => {
            let to = to.unwrap_or_else(cxp_store::now_ns);
            let src = source.source.open()?;
            let report: ReplayReport = match &src {
                Source::Local { store, .. } => {
                    cxp_query::automation::replay::replay(store, &source.definitions()?, from, to)?
                }
                Source::Remote(r) => {
                    r.get("/api/v1/automation/replay", &[("from", from.to_string()), ("to", to.to_string())])?
                }
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                crate::outln!(
                    "{} events from {} to {}: {} messages would have been sent",
                    report.events,
                    super::format_time(report.from),
                    super::format_time(report.to),
                    report.sends.len()
                )?;
                for (j, (entered, sent)) in &report.journeys {
                    crate::outln!("  {j:<28} {entered:>8} entered {sent:>8} messages")?;
                }
                for (c, n) in &report.channels {
                    crate::outln!("  {c:<8} {n:>8}")?;
                }
                for s in report.sends.iter().take(20) {
                    crate::outln!(
                        "  {}  {} -> {} ({} {})",
                        super::format_time(s.at),
                        s.journey,
                        s.customer,
                        s.channel,
                        s.template
                    )?;
                }
                if report.sends.len() > 20 {
                    crate::outln!("  ... ({} more; --json lists every one)", report.sends.len() - 20)?;
                }
                crate::outln!("{} customers still waiting in a journey at the end", report.waiting)?;
            }
            src.close()?;
        }
        Command::Journeys { source, json } => {
            let Source::Remote(r) = source.open()? else {
                anyhow::bail!("journeys run in the daemon: ask it with --addr");
            };
            let docs: Vec<JourneyDoc> = r.get("/api/v1/journeys", &[])?;
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&docs)?)?;
            } else {
                for j in &docs {
                    crate::outln!(
                        "{} (v{:08x}) {}: entered {}, completed {}, exited {}, converted {}, sent {}",
                        j.name,
                        j.version,
                        j.entry,
                        j.stats.entered,
                        j.stats.completed,
                        j.stats.exited,
                        j.stats.converted,
                        j.stats.sent
                    )?;
                    for s in &j.steps {
                        crate::outln!(
                            "  {:<16} {:<48} in {:>6} waiting {:>6} passed {:>6} exited {:>6} errors {}",
                            s.id,
                            s.what,
                            s.entered,
                            s.waiting,
                            s.passed,
                            s.exited,
                            s.errors
                        )?;
                    }
                }
            }
        }
        Command::Why { source, customer } => {
            let Source::Remote(r) = source.open()? else {
                anyhow::bail!("messages are sent by the daemon: ask it with --addr");
            };
            let doc: serde_json::Value = r.get("/api/v1/messages/why", &[("customer", customer)])?;
            crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cxp template`.
pub fn run_template(command: TemplateCommand) -> anyhow::Result<ExitCode> {
    let TemplateCommand::Preview { source, name, customer, channel, png, json } = command;
    let ch = Channel::parse(&channel)
        .with_context(|| format!("unknown channel {channel:?} (sms, email, push, webhook, social)"))?;
    let src = source.source.open()?;
    let doc: PreviewDoc = match &src {
        Source::Local { store, .. } => local_preview(store, &source.definitions()?, &name, ch, customer.as_deref())?,
        Source::Remote(r) => {
            let mut q = vec![("channel", channel.clone())];
            if let Some(c) = &customer {
                q.push(("customer", c.clone()));
            }
            r.get(&format!("/api/v1/templates/{name}/preview"), &q)?
        }
    };
    if let (Some(path), Some(b64)) = (&png, &doc.png_base64) {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).context("the poster is not base64")?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        crate::outln!("{} on {} in {:?}:", doc.template, ch.name(), doc.locale)?;
        for (part, text) in &doc.content.parts {
            crate::outln!("[{part}]\n{text}")?;
        }
        if let Some(i) = doc.content.sms {
            crate::outln!("({:?}, {} units, {} segments)", i.encoding, i.units, i.segments)?;
        }
        for n in &doc.content.notes {
            crate::outln!("note: {n}")?;
        }
    }
    src.close()?;
    Ok(ExitCode::SUCCESS)
}

fn local_preview(
    store: &cxp_store::Store,
    defs: &Definitions,
    template: &str,
    channel: Channel,
    customer: Option<&str>,
) -> anyhow::Result<PreviewDoc> {
    let root = match customer {
        Some(id) => Some(
            store.root(store.customer_key(id)?.with_context(|| format!("no customer with the identifier {id:?}"))?),
        ),
        None => None,
    };
    let view = match customer {
        Some(id) => store.customer(id, None)?,
        None => None,
    };
    let m = Message::preview(template, channel, root);
    // Recommendations as the daemon would make them, from the store's recent interactions.
    let rec = cxp_query::recommend::RecConfig::default();
    let mut state = rec.state();
    cxp_query::recommend::rebuild(store, &rec, &mut state, cxp_store::now_ns(), u64::MAX, &|| false)?;
    let recs = cxp_query::recommend::for_customer(&state, &rec, root, None, 3);
    let coupon = root.is_some_and(|r| rec.coupon.decide(&store.scores_of(r).unwrap_or_default()).offer);
    let ctx = cxp_query::automation::content::context_for(store, &defs.settings, &m, view.as_ref(), &recs, coupon);
    let (content, locale) = cxp_query::automation::content::render_for(defs, &m, &ctx).map_err(anyhow::Error::msg)?;
    let png_base64 = if channel == Channel::Social {
        use base64::Engine as _;
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(cxp_query::automation::poster::from_parts(&content.parts)?.png),
        )
    } else {
        None
    };
    Ok(PreviewDoc { template: template.into(), locale, content, png_base64 })
}
