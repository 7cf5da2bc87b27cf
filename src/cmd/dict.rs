//! `cxp dict`: check a data dictionary, or print the one that ships with cxp.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cxp_store::dict::{DEFAULT_DICTIONARY, Dictionary};

/// Subcommands of `cxp dict`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validates a dictionary file and explains each error with its line.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
    /// Prints the dictionary that ships with cxp (a starting point for your own).
    Default,
}

/// Runs `cxp dict`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Default => {
            crate::outln!("{}", DEFAULT_DICTIONARY.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            match Dictionary::parse(&text) {
                Ok(d) => {
                    crate::outln!("{}: ok ({} fields, {} events)", file.display(), d.fields().len(), d.event_count())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}:{}:{}: {}", file.display(), e.line, e.col, e.message);
                    }
                    eprintln!("{}: {} error{}", file.display(), errors.len(), if errors.len() == 1 { "" } else { "s" });
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
