//! Where an interrupted import of a large file stands, so that running the same command again
//! goes on after the last batch the store made durable instead of loading events twice.
//! Kept in `import/` of the data directory, one small JSON file per source file, removed when
//! the file is done.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// How far one file got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The file, as given.
    pub file: String,
    /// Its size and modification time when the import started (a file that changed is not
    /// resumed: its offsets would mean something else).
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub modified_ns: i128,
    /// Bytes of the file whose events are durable.
    pub offset: u64,
    /// The line number at `offset` (1-based: the next line to read).
    pub line: u64,
    /// Events stored and refused so far.
    pub accepted: u64,
    /// Refused so far (by conversion or by the store).
    pub rejected: u64,
}

/// The checkpoint file of `source` in `data`.
pub fn path_for(data: &Path, source: &Path) -> PathBuf {
    let full = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_owned());
    // FNV-1a: stable across runs and versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in full.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let name: String = source
        .file_name()
        .map(|n| {
            n.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect()
        })
        .unwrap_or_default();
    data.join("import").join(format!("{name}-{h:016x}.json"))
}

/// Size and modification time of a file.
pub fn stamp(file: &Path) -> anyhow::Result<(u64, i128)> {
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    Ok((meta.len(), modified))
}

/// The saved checkpoint, if any.
pub fn load(path: &Path) -> anyhow::Result<Option<Checkpoint>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Saves `c` (write, then rename: a crash leaves the old or the new one, never half).
pub fn save(path: &Path, c: &Checkpoint) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(c)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Forgets the checkpoint (the file is done).
pub fn remove(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}
