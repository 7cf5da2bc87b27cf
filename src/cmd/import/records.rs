//! Reading CSV, JSON lines and transaction logs record by record, from a byte offset (to
//! resume), each record turned into a line-protocol line by a [`Mapping`] or refused with
//! the reason.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};

use anyhow::Context;

use super::mapping::Mapping;

/// One record of the source.
pub struct Record {
    /// Its line number in the file (1-based; a CSV record's first line).
    pub line: u64,
    /// The line-protocol line, or why there is none.
    pub lp: Result<Vec<u8>, String>,
    /// The record as read (for the rejects report).
    pub raw: String,
}

/// Records of one file.
pub trait Records {
    /// The next record; `None` at the end.
    fn next_record(&mut self) -> anyhow::Result<Option<Record>>;
    /// Byte offset and line number after the last record read.
    fn position(&self) -> (u64, u64);
}

/// CSV with a header row naming the columns.
pub struct Csv {
    reader: csv::Reader<File>,
    index: HashMap<String, usize>,
    mapping: Mapping,
    zone: jiff::tz::TimeZone,
    record: csv::StringRecord,
}

impl Csv {
    /// Reads the header, then goes to `offset` (0: the first record).
    pub fn open(file: File, mapping: Mapping, offset: u64, line: u64) -> anyhow::Result<Csv> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(mapping.delimiter_byte().map_err(anyhow::Error::msg)?)
            .flexible(true)
            .from_reader(file);
        let headers = reader.headers().context("reading the CSV header")?.clone();
        let index: HashMap<String, usize> = headers.iter().enumerate().map(|(i, h)| (h.trim().to_owned(), i)).collect();
        let mut wanted: Vec<&String> =
            mapping.customer.iter().chain(mapping.identifiers.values()).chain(mapping.tags.values()).collect();
        wanted.push(&mapping.time);
        wanted.extend(mapping.event_column.iter());
        let field_cols: Vec<String> =
            mapping.fields.iter().map(|(n, f)| f.column.clone().unwrap_or_else(|| n.clone())).collect();
        wanted.extend(field_cols.iter());
        let missing: Vec<&str> =
            wanted.iter().filter(|c| !index.contains_key(c.as_str())).map(|c| c.as_str()).collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "the mapping names columns the CSV header does not have: {} (header: {})",
                missing.join(", "),
                headers.iter().collect::<Vec<_>>().join(", ")
            );
        }
        if offset > 0 {
            let mut pos = csv::Position::new();
            pos.set_byte(offset).set_line(line);
            reader.seek(pos).context("going to where the interrupted import stopped")?;
        }
        let zone = mapping.zone().map_err(anyhow::Error::msg)?;
        Ok(Csv { reader, index, mapping, zone, record: csv::StringRecord::new() })
    }
}

impl Records for Csv {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        let line = self.reader.position().line();
        match self.reader.read_record(&mut self.record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            // A malformed record (bad quoting, invalid UTF-8) is refused, not fatal.
            Err(e) if !matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Ok(Some(Record { line, lp: Err(format!("unreadable CSV record: {e}")), raw: String::new() }));
            }
            Err(e) => return Err(e).context("reading the CSV file"),
        }
        let rec = &self.record;
        let index = &self.index;
        let get = |c: &str| {
            index.get(c).and_then(|i| rec.get(*i)).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
        };
        let mut out = Vec::new();
        let lp = self.mapping.line(&get, &self.zone, &mut out).map(|()| out);
        let raw = rec.iter().collect::<Vec<_>>().join(",");
        Ok(Some(Record { line, lp, raw }))
    }

    fn position(&self) -> (u64, u64) {
        let p = self.reader.position();
        (p.byte(), p.line())
    }
}

/// Line-based sources: JSON lines and transaction logs.
pub struct Lines {
    reader: BufReader<File>,
    offset: u64,
    line: u64,
    kind: LineKind,
    mapping: Mapping,
    zone: jiff::tz::TimeZone,
    buf: Vec<u8>,
}

/// How a line is split into columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A JSON object per line; columns are keys (`a.b` reaches into objects).
    Json,
    /// customer, date, quantity, amount; separated by whitespace or commas.
    Txlog,
}

impl Lines {
    /// From `offset`, which is at the start of line `line`.
    pub fn open(mut file: File, kind: LineKind, mapping: Mapping, offset: u64, line: u64) -> anyhow::Result<Lines> {
        file.seek(SeekFrom::Start(offset)).context("going to where the interrupted import stopped")?;
        let zone = mapping.zone().map_err(anyhow::Error::msg)?;
        Ok(Lines {
            reader: BufReader::with_capacity(1 << 20, file),
            offset,
            line: line.max(1),
            kind,
            mapping,
            zone,
            buf: Vec::new(),
        })
    }

    fn convert(&self, text: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        match self.kind {
            LineKind::Json => {
                let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
                if !v.is_object() {
                    return Err("not a JSON object".into());
                }
                let get = |c: &str| {
                    let found = c.split('.').try_fold(&v, |v, k| v.get(k))?;
                    match found {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) if s.trim().is_empty() => None,
                        serde_json::Value::String(s) => Some(s.trim().to_owned()),
                        other => Some(other.to_string()),
                    }
                };
                self.mapping.line(&get, &self.zone, &mut out)?;
            }
            LineKind::Txlog => {
                let cols: Vec<&str> =
                    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).collect();
                if cols.len() != 4 {
                    return Err(format!(
                        "{} columns; a transaction log has 4: customer, date, quantity, amount",
                        cols.len()
                    ));
                }
                let get = |c: &str| {
                    let i = ["customer", "date", "quantity", "amount"].iter().position(|n| *n == c)?;
                    Some(cols[i].to_owned())
                };
                self.mapping.line(&get, &self.zone, &mut out)?;
            }
        }
        Ok(out)
    }
}

impl Records for Lines {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        loop {
            self.buf.clear();
            let n = self.reader.read_until(b'\n', &mut self.buf).context("reading the file")?;
            if n == 0 {
                return Ok(None);
            }
            self.offset += n as u64;
            let line = self.line;
            self.line += 1;
            let Ok(text) = std::str::from_utf8(&self.buf) else {
                let raw = String::from_utf8_lossy(&self.buf).trim().to_owned();
                return Ok(Some(Record { line, lp: Err("not UTF-8 text".into()), raw }));
            };
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let lp = self.convert(text);
            // A transaction log's first line may be a header.
            if line == 1 && self.kind == LineKind::Txlog && lp.is_err() && !text.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            return Ok(Some(Record { line, lp, raw: text.to_owned() }));
        }
    }

    fn position(&self) -> (u64, u64) {
        (self.offset, self.line)
    }
}
