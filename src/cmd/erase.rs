//! `cxp erase`: removes everything held about a person (GDPR erasure) from a store the daemon
//! is not running on, and lists the receipts. The daemon offers the same as
//! `DELETE /api/v1/customers/{id}`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cxp_daemon::audit::Audit;
use cxp_daemon::auth::{Principal, Role};
use cxp_store::ErasureReceipt;

/// Arguments of `cxp erase`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    data: PathBuf,
    /// Any identifier of the person: every identifier linked to it is erased too.
    #[arg(required_unless_present = "receipts")]
    id: Option<String>,
    /// Who asks, kept in the receipt and the audit log (default: the login name).
    #[arg(long)]
    by: Option<String>,
    /// Lists the erasure receipts instead.
    #[arg(long, conflicts_with = "id")]
    receipts: bool,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp erase`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.data, super::saved_options())?;
    let Some(id) = args.id else {
        let receipts = store.erasures()?;
        if args.json {
            crate::outln!("{}", serde_json::to_string_pretty(&receipts)?)?;
        } else {
            for r in &receipts {
                print_receipt(r)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let by = args.by.unwrap_or_else(|| std::env::var("USER").unwrap_or_else(|_| "command line".into()));
    let Some(ck) = store.customer_key(&id)? else {
        eprintln!("cxp: no customer with the identifier {id:?}");
        return Ok(ExitCode::from(1));
    };
    // Audited first, by key (the identifier is about to be removed everywhere).
    let audit = Audit::open(&args.data).context("opening the audit log")?;
    let who = Principal { id: "cli".into(), name: by.clone(), role: Role::Admin };
    audit.record_blocking(&who, "erase customer", &format!("customer #{}", store.root(ck))).context("audit log")?;
    let receipt = store.erase(&id, &format!("cli ({by})"))?.context("the customer was erased meanwhile")?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&receipt)?)?;
    } else {
        print_receipt(&receipt)?;
        crate::outln!("run `cxp compact` to overwrite the freed space of the store file")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_receipt(r: &ErasureReceipt) -> anyhow::Result<()> {
    let state = if r.finished_ns.is_some() { "finished" } else { "unfinished (resumes at the next open)" };
    let ids: Vec<String> = r.identifiers.iter().map(|(t, n)| format!("{n} {t}")).collect();
    crate::outln!("erasure {} by {}: {state}", r.id, r.by)?;
    crate::outln!("  identifiers  {}", ids.join(", "))?;
    crate::outln!("  keys         {:?}", r.keys)?;
    crate::outln!("  events       {} (from {} parts)", r.events, r.parts)?;
    crate::outln!("  links        {}, refusals {}, quarantined lines {}", r.links, r.refusals, r.quarantined)?;
    crate::outln!("  suppressed   {}", if r.suppressed { "yes: refused at ingest from now on" } else { "no" })?;
    Ok(())
}
