//! The audit log: every administrative action and every read of unmasked personal data, one
//! JSON object per line in `audit.log` in the data directory (who, what, when).

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

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

    /// Records that `who` did `action` on `target`. A failure to write is logged, not fatal:
    /// refusing every request because the log's disk is full would be worse.
    pub fn record(&self, who: &Principal, action: &str, target: &str) {
        let ts =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let line = json!({"ts": ts, "token": who.id, "name": who.name, "role": who.role.name(), "action": action, "target": target});
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = writeln!(f, "{line}") {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }
}
