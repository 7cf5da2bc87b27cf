//! The log in front of `automation.redb`: each state change is appended here and made durable
//! with one `fdatasync`, then committed to redb without waiting for the disk; a durable redb
//! commit (a checkpoint) is made only when the log is full or the file closes.
//!
//! Why: at 100,000 events/s a durable redb commit of the engine's step rewrote 80-400 KB of
//! copy-on-write pages and took 4-8 ms, on a disk busy with ingest; an append to a file whose
//! blocks are already written (no allocation, so no journal commit) is one small write and a
//! flush of it.
//!
//! Records: `[magic u32][length u32][sequence u64][round u64][crc32 u32][payload]`,
//! little-endian, written from the start of the file again after each checkpoint (a new
//! round, named by a random number drawn when it starts). The checksum covers sequence,
//! round and payload. Reading stops at the first record that is torn or damaged, of another
//! round, or whose sequence number does not follow the one before: what an earlier round left
//! behind is never replayed, not even a record forged inside one of its payloads (customers'
//! text reaches them), which cannot know the round that comes after it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: u32 = 0x5750_5843; // "CXPW"
const HEADER: usize = 28;
/// The file grows in steps of this many bytes, each written with zeros once so that appends
/// never allocate blocks.
const GROW: u64 = 4 << 20;

/// A record: its sequence number and payload.
pub type Record = (u64, Vec<u8>);

/// The log file.
#[derive(Debug)]
pub struct Wal {
    file: File,
    /// Where the next record goes.
    pos: u64,
    /// Bytes written with zeros (or records).
    len: u64,
    /// The most the file grows to; past it, the caller checkpoints and starts again.
    cap: u64,
    /// The current round's number, once it has a record.
    round: Option<u64>,
}

impl Wal {
    /// Opens (or creates) the log at `path`, growing to at most `cap` bytes; returns it with
    /// the records of the current round, oldest first (sequence, payload).
    pub fn open(path: &Path, cap: u64) -> std::io::Result<(Wal, Vec<Record>)> {
        let created = !path.exists();
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        if created && let Some(dir) = path.parent() {
            // The file's name must survive a power cut as well as its records.
            File::open(dir)?.sync_all()?;
        }
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_end(&mut bytes)?;
        let records = read_records(&bytes);
        let len = bytes.len() as u64;
        Ok((Wal { file, pos: 0, len, cap: cap.max(GROW), round: None }, records))
    }

    /// Whether a record of `payload` bytes fits before the cap.
    pub fn fits(&self, payload: usize) -> bool {
        self.pos + (HEADER + payload) as u64 <= self.cap
    }

    /// Appends a record and makes it durable; where it starts (for [`Wal::undo`]). The caller
    /// checked [`Wal::fits`], and gives sequence numbers that follow on within a round. On an
    /// error nothing is appended (the record is blanked again as far as the disk allows).
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> std::io::Result<u64> {
        let start = self.pos;
        let end = start + (HEADER + payload.len()) as u64;
        if end > self.len {
            self.grow(end)?;
        }
        let round = self.round.unwrap_or_else(random);
        let mut record = Vec::with_capacity(HEADER + payload.len());
        record.extend_from_slice(&MAGIC.to_le_bytes());
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&seq.to_le_bytes());
        record.extend_from_slice(&round.to_le_bytes());
        record.extend_from_slice(&checksum(seq, round, payload).to_le_bytes());
        record.extend_from_slice(payload);
        if let Err(e) = self.file.write_all_at(&record, start).and_then(|()| self.file.sync_data()) {
            let _ = self.file.write_all_at(&[0u8; HEADER], start);
            return Err(e);
        }
        self.round = Some(round);
        self.pos = end;
        Ok(start)
    }

    /// Takes back the last record, which starts at `start` (what it logged did not land
    /// elsewhere): its header is blanked, durably, and the next record goes in its place.
    pub fn undo(&mut self, start: u64) -> std::io::Result<()> {
        self.file.write_all_at(&[0u8; HEADER], start)?;
        self.file.sync_data()?;
        self.pos = start;
        if start == 0 {
            self.round = None;
        }
        Ok(())
    }

    // Zero-fills up to past `end` (whole steps), and makes the new size durable once.
    fn grow(&mut self, end: u64) -> std::io::Result<()> {
        let target = end.div_ceil(GROW) * GROW;
        self.zero(self.len, target)?;
        self.len = target;
        self.file.sync_all()
    }

    // Writes zeros over `from..to`.
    fn zero(&self, from: u64, to: u64) -> std::io::Result<()> {
        let zeros = vec![0u8; 1 << 20];
        let mut at = from;
        while at < to {
            let n = (to - at).min(zeros.len() as u64) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }

    /// Starts a new round at the beginning of the file (everything logged so far is durable
    /// elsewhere).
    pub fn reset(&mut self) {
        self.pos = 0;
        self.round = None;
    }

    /// Overwrites every record with zeros and starts a new round (after an erasure: the log
    /// must not keep what was erased; everything logged is durable elsewhere).
    pub fn scrub(&mut self) -> std::io::Result<()> {
        // First: whatever happens below, the next record starts a round at the beginning.
        self.reset();
        self.zero(0, self.len)?;
        self.file.sync_data()
    }
}

// Unpredictable enough for a round's name: std's hasher keys come from the OS's randomness.
fn random() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
}

fn checksum(seq: u64, round: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&round.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn read_records(bytes: &[u8]) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut current: Option<u64> = None;
    let mut at = 0usize;
    while let Some(h) = bytes.get(at..at + HEADER) {
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let long =
            |i: usize| u64::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3], h[i + 4], h[i + 5], h[i + 6], h[i + 7]]);
        let (seq, round) = (long(8), long(16));
        // One round, numbered one by one.
        let follows = match out.last() {
            None => true,
            Some((last, _)) => Some(round) == current && last.checked_add(1) == Some(seq),
        };
        if word(0) != MAGIC || !follows {
            break;
        }
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + word(4) as usize) else { break };
        if checksum(seq, round, payload) != word(24) {
            break;
        }
        current = Some(round);
        out.push((seq, payload.to_vec()));
        at += HEADER + payload.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_until_a_torn_or_stale_one() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("x.wal");
        let (mut wal, found) = Wal::open(&path, GROW).expect("open");
        assert!(found.is_empty());
        wal.append(1, b"one").expect("append");
        wal.append(2, b"two").expect("append");
        wal.append(3, b"three").expect("append");
        drop(wal);
        let (mut wal, found) = Wal::open(&path, GROW).expect("reopen");
        assert_eq!(found, vec![(1, b"one".to_vec()), (2, b"two".to_vec()), (3, b"three".to_vec())]);
        // A new round overwrites the start; what the old round left after it is not read.
        wal.reset();
        wal.append(4, b"four!").expect("append");
        // Not even a well-formed record that an old payload carried, numbered to follow on.
        let forged = {
            let mut r = Vec::new();
            let round = 7u64;
            r.extend_from_slice(&MAGIC.to_le_bytes());
            r.extend_from_slice(&3u32.to_le_bytes());
            r.extend_from_slice(&5u64.to_le_bytes());
            r.extend_from_slice(&round.to_le_bytes());
            r.extend_from_slice(&checksum(5, round, b"bad").to_le_bytes());
            r.extend_from_slice(b"bad");
            r
        };
        wal.file.write_all_at(&forged, (HEADER + 5) as u64).expect("plant");
        drop(wal);
        let (_, found) = Wal::open(&path, GROW).expect("reopen");
        assert_eq!(found, vec![(4, b"four!".to_vec())]);
        // A torn record (its payload cut short by a crash) ends the log.
        let (mut wal, _) = Wal::open(&path, GROW).expect("reopen");
        wal.reset();
        wal.append(5, b"five").expect("append");
        wal.append(6, b"six").expect("append");
        let six_payload = (HEADER + 4 + HEADER) as u64;
        wal.file.write_all_at(b"S", six_payload).expect("damage");
        drop(wal);
        let (_, found) = Wal::open(&path, GROW).expect("reopen");
        assert_eq!(found, vec![(5, b"five".to_vec())]);
    }

    #[test]
    fn an_undone_record_is_not_read_and_its_place_is_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("x.wal");
        let (mut wal, _) = Wal::open(&path, GROW).expect("open");
        wal.append(1, b"one").expect("append");
        let two = wal.append(2, b"two").expect("append");
        wal.undo(two).expect("undo");
        let (_, found) = Wal::open(&path, GROW).expect("reopen");
        assert_eq!(found, vec![(1, b"one".to_vec())]);
        assert_eq!(wal.append(2, b"TWO").expect("append"), two);
        drop(wal);
        let (_, found) = Wal::open(&path, GROW).expect("reopen");
        assert_eq!(found, vec![(1, b"one".to_vec()), (2, b"TWO".to_vec())]);
    }

    #[test]
    fn a_scrubbed_log_holds_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("x.wal");
        let (mut wal, _) = Wal::open(&path, GROW).expect("open");
        wal.append(1, "张伟 13800000001".as_bytes()).expect("append");
        wal.scrub().expect("scrub");
        let bytes = std::fs::read(&path).expect("read");
        assert!(bytes.iter().all(|b| *b == 0));
        drop(wal);
        assert!(Wal::open(&path, GROW).expect("reopen").1.is_empty());
    }

    #[test]
    fn the_file_grows_in_written_steps_up_to_its_cap() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("x.wal");
        let (mut wal, _) = Wal::open(&path, 2 * GROW).expect("open");
        let big = vec![7u8; (GROW as usize) - HEADER - 10];
        assert!(wal.fits(big.len()));
        wal.append(1, &big).expect("append");
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), GROW);
        wal.append(2, &big).expect("append");
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), 2 * GROW);
        assert!(!wal.fits(big.len()), "a third does not fit under the cap");
        wal.reset();
        assert!(wal.fits(big.len()));
    }
}
