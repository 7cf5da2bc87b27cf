//! Bearer tokens with roles. Tokens are stored hashed (SHA-256) in `tokens.json` in the data
//! directory; a new token is shown once. On first start an admin token is written to
//! `admin.token` (mode 0600), which `cxp top` on the same machine reads.
//!
//! The file is re-read when a token is not found and the file changed, so `cxp token create`
//! works while the daemon runs.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The token file in the data directory.
pub const TOKENS_FILE: &str = "tokens.json";
/// The first admin token, readable by its owner only.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including tokens and erasure.
    Admin,
    /// Ingest only.
    Writer,
    /// Reads customers with their personal data; runs campaigns.
    Marketer,
    /// Reads everything with personal data masked.
    Analyst,
    /// Reads dashboards with personal data masked.
    Viewer,
}

impl Role {
    /// Every role, for help texts and tests.
    pub const ALL: [Role; 5] = [Role::Admin, Role::Writer, Role::Marketer, Role::Analyst, Role::Viewer];

    /// Parses `admin`, `writer`, `marketer`, `analyst` or `viewer`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Writer => "writer",
            Role::Marketer => "marketer",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }

    /// May send events.
    pub fn can_ingest(self) -> bool {
        matches!(self, Role::Admin | Role::Writer)
    }

    /// May read customers, status and quality (anything but ingest-only tokens).
    pub fn can_read(self) -> bool {
        self != Role::Writer
    }

    /// Sees personal data unmasked (and every such read is audited).
    pub fn sees_pii(self) -> bool {
        matches!(self, Role::Admin | Role::Marketer)
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's short id.
    pub id: String,
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// A stored token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Short id: the first 12 hex digits of the hash.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// When it was created (RFC 3339).
    pub created: String,
}

/// Token file errors.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a token list.
    #[error("{path}: not a token file: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The tokens of a data directory.
#[derive(Debug)]
pub struct Tokens {
    path: PathBuf,
    state: Mutex<(Vec<TokenEntry>, Option<Stamp>)>,
}

// What identifies a version of the file: its time and length (two writes within one tick of
// the file system's clock still differ in length, since each adds or removes a whole entry).
type Stamp = (SystemTime, u64);

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthError + '_ {
    move |source| AuthError::Io { path: path.to_owned(), source }
}

impl Tokens {
    /// The tokens of `data` (none yet if the file does not exist).
    pub fn open(data: &Path) -> Result<Tokens, AuthError> {
        let tokens = Tokens { path: data.join(TOKENS_FILE), state: Mutex::new((Vec::new(), None)) };
        tokens.reload()?;
        Ok(tokens)
    }

    fn modified(&self) -> Option<Stamp> {
        let meta = std::fs::metadata(&self.path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    fn reload(&self) -> Result<(), AuthError> {
        let mtime = self.modified();
        let entries = match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| AuthError::Corrupt { path: self.path.clone(), message: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&self.path)(e)),
        };
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = (entries, mtime);
        Ok(())
    }

    // Read-modify-write of the file by the daemon and `cxp token` at once must not lose an
    // entry: an exclusive lock on a side file, released when the handle drops.
    fn lock_file(&self) -> Result<std::fs::File, AuthError> {
        let path = self.path.with_extension("lock");
        let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
        f.lock().map_err(io(&path))?;
        Ok(f)
    }

    /// Every token (without secrets).
    pub fn list(&self) -> Vec<TokenEntry> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0.clone()
    }

    /// Whoever `token` belongs to. The file is looked at on every call (one `stat`), so a
    /// token created or revoked by `cxp token` takes effect at once in a running daemon.
    pub fn verify(&self, token: &str) -> Option<Principal> {
        let h = hash(token);
        let seen = self.state.lock().unwrap_or_else(|p| p.into_inner()).1;
        if self.modified() != seen
            && let Err(e) = self.reload()
        {
            tracing::warn!(error = %e, "cannot re-read the token file; using the tokens known");
        }
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0.iter().find(|e| e.hash == h).map(|e| Principal { id: e.id.clone(), name: e.name.clone(), role: e.role })
    }

    /// Creates a token; returns its entry and the secret (shown once, stored only hashed).
    pub fn create(&self, role: Role, name: &str) -> Result<(TokenEntry, String), AuthError> {
        let _lock = self.lock_file()?;
        self.reload()?;
        let bytes: [u8; 24] = rand::random();
        let secret: String = format!("cxp_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let h = hash(&secret);
        let created =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let entry = TokenEntry { id: h[..12].to_owned(), name: name.to_owned(), role, hash: h, created };
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0.push(entry.clone());
        write_private(&self.path, &serde_json::to_vec_pretty(&state.0).unwrap_or_default())?;
        state.1 = self.modified();
        Ok((entry, secret))
    }

    /// Revokes the token with short id `id`; false if there is none.
    pub fn revoke(&self, id: &str) -> Result<bool, AuthError> {
        let _lock = self.lock_file()?;
        self.reload()?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let before = state.0.len();
        state.0.retain(|e| e.id != id);
        if state.0.len() == before {
            return Ok(false);
        }
        write_private(&self.path, &serde_json::to_vec_pretty(&state.0).unwrap_or_default())?;
        state.1 = self.modified();
        Ok(true)
    }

    /// On first start (no tokens at all): creates an admin token and writes it to
    /// `admin.token`, readable by its owner only. Returns its path when it did.
    pub fn bootstrap(&self, data: &Path) -> Result<Option<PathBuf>, AuthError> {
        if !self.list().is_empty() {
            return Ok(None);
        }
        let (_, secret) = self.create(Role::Admin, "first admin")?;
        let path = data.join(ADMIN_TOKEN_FILE);
        write_private(&path, format!("{secret}\n").as_bytes())?;
        Ok(Some(path))
    }
}

/// Writes `bytes` to `path` atomically (a temporary file renamed over it), mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_verified_by_role() {
        let dir = tempfile::tempdir().expect("dir");
        let tokens = Tokens::open(dir.path()).expect("open");
        let admin = tokens.bootstrap(dir.path()).expect("bootstrap").expect("created");
        let secret = std::fs::read_to_string(&admin).expect("admin token").trim().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&admin).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(tokens.verify(&secret).map(|p| p.role), Some(Role::Admin));
        assert!(tokens.bootstrap(dir.path()).expect("again").is_none());
        let file = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).expect("file");
        assert!(!file.contains(&secret), "tokens are stored hashed");
        // Another process adds a token: found without a restart.
        let other = Tokens::open(dir.path()).expect("open");
        let (entry, writer) = other.create(Role::Writer, "shop").expect("create");
        assert_eq!(tokens.verify(&writer).map(|p| (p.role, p.id)), Some((Role::Writer, entry.id.clone())));
        assert!(tokens.verify("cxp_wrong").is_none());
        assert!(other.revoke(&entry.id).expect("revoke"));
        assert!(tokens.verify(&writer).is_none(), "a revoked token stops working at once");
    }
}
