//! `cxp token`: creates, lists and revokes API tokens in a data directory (the daemon sees new
//! ones without a restart).

use std::path::PathBuf;
use std::process::ExitCode;

use cxp_daemon::auth::{Role, Tokens};

/// `cxp token` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Creates a token and prints it (once: only its hash is stored).
    Create {
        /// Data directory.
        #[arg(long, env = "CXP_DATA")]
        data: PathBuf,
        /// admin, writer (ingest only), marketer, analyst or viewer (personal data masked).
        #[arg(long)]
        role: String,
        /// A name for people ("shop backend").
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Lists tokens (ids, names, roles; never secrets).
    List {
        /// Data directory.
        #[arg(long, env = "CXP_DATA")]
        data: PathBuf,
    },
    /// Revokes a token by its id.
    Revoke {
        /// Data directory.
        #[arg(long, env = "CXP_DATA")]
        data: PathBuf,
        /// The token's id (from `cxp token list`).
        id: String,
    },
}

/// Runs `cxp token`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Create { data, role, name } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("unknown role {role:?}: use admin, writer, marketer, analyst or viewer")
            })?;
            std::fs::create_dir_all(&data)?;
            let (entry, secret) = Tokens::open(&data)?.create(role, &name)?;
            eprintln!("created token {} ({}); it is shown only now:", entry.id, role.name());
            crate::outln!("{secret}")?;
        }
        Command::List { data } => {
            for e in Tokens::open(&data)?.list() {
                crate::outln!("{}  {:<8}  {}  {}", e.id, e.role.name(), e.created, e.name)?;
            }
        }
        Command::Revoke { data, id } => {
            if !Tokens::open(&data)?.revoke(&id)? {
                eprintln!("cxp: no token {id:?}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
