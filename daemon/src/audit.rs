//! The audit log: every administrative action and every read of unmasked personal data, one
//! JSON object per line in `audit.log` in the data directory (who, what, when).

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::auth::Principal;

/// The audit log file in the data directory.
pub const AUDIT_FILE: &str = "audit.log";

/// An append-only audit log.
#[derive(Debug)]
pub struct Audit {
    file: Mutex<std::fs::File>,
}

impl Audit {
    /// Opens (or creates) the log of `data`.
    pub fn open(data: &Path) -> std::io::Result<Audit> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(data.join(AUDIT_FILE))?;
        Ok(Audit { file: Mutex::new(file) })
    }

    /// Records that `who` did `action` on `target`, durably (fsync), before the caller goes
    /// on: a read of personal data that cannot be audited is refused by the caller.
    pub async fn record(self: &Arc<Self>, who: &Principal, action: &str, target: &str) -> std::io::Result<()> {
        let this = Arc::clone(self);
        let (who, action, target) = (who.clone(), action.to_owned(), target.to_owned());
        let written = tokio::task::spawn_blocking(move || this.record_blocking(&who, &action, &target))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        if let Err(e) = &written {
            tracing::error!(error = %e, "cannot write the audit log");
        }
        written
    }

    /// [`Audit::record`] for callers off the async runtime (the command line).
    pub fn record_blocking(&self, who: &Principal, action: &str, target: &str) -> std::io::Result<()> {
        let ts =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let line = json!({"ts": ts, "token": who.id, "name": who.name, "role": who.role.name(), "action": action, "target": target});
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(f, "{line}")?;
        f.sync_data()
    }
}
