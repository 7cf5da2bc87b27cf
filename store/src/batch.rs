//! The protocol-neutral batch: what every ingest path (line protocol, Segment JSON, imports)
//! turns its input into before it reaches the writer.
//!
//! Events live in one arena: strings are appended to a single buffer and events refer to
//! spans of it, so building a batch of 64k events costs a handful of allocations rather than
//! ten per event. Lines that failed to parse travel in the same batch as rejects, so they
//! reach the quarantine in the same transaction as their neighbours.

use cxp_lp::{FieldValue, Line, ParseOptions, Precision};

/// A span of the batch's string arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

#[derive(Debug, Clone, Copy)]
enum FieldSlot {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(Span),
}

#[derive(Debug, Clone)]
struct EventSlot {
    measurement: Span,
    ts: i64,
    // Line in the source (0 when the source has no lines), for the quarantine.
    line: u64,
    tags: (u32, u32),
    fields: (u32, u32),
}

/// A line that was refused before it reached the store, kept for the quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line number in its source, 0 when the source has no lines.
    pub line: u64,
    /// Why it was refused, in plain words.
    pub reason: String,
    /// The line as received.
    pub raw: Vec<u8>,
    /// The precision `raw`'s timestamp is in, when it differs from the batch's (the writer
    /// keeps refused events re-written with a nanosecond timestamp).
    pub precision: Option<Precision>,
}

/// Where a batch stood before a given input line: see [`Batch::push_line_protocol`] and
/// [`Batch::rewind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Byte offset of the line in the input given to `push_line_protocol`.
    pub offset: usize,
    events: usize,
    tags: usize,
    fields: usize,
    arena: usize,
    rejects: usize,
}

/// A field value borrowed from a batch.
pub type FieldRef<'a> = FieldValue<'a>;

/// One event of a batch, borrowed.
#[derive(Debug, Clone)]
pub struct EventRef<'a> {
    /// Event name.
    pub measurement: &'a str,
    /// Event time, ns since the epoch.
    pub ts: i64,
    /// 1-based line number in the source, 0 when the source has no lines.
    pub line: u64,
    batch: &'a Batch,
    tags: (u32, u32),
    fields: (u32, u32),
}

impl<'a> EventRef<'a> {
    /// The tag set, in the order received.
    pub fn tags(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone + 'a {
        let batch = self.batch;
        batch.tags[self.tags.0 as usize..self.tags.1 as usize].iter().map(move |(k, v)| (batch.str(*k), batch.str(*v)))
    }

    /// The field set, in the order received.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&'a str, FieldRef<'a>)> + Clone + 'a {
        let batch = self.batch;
        batch.fields[self.fields.0 as usize..self.fields.1 as usize]
            .iter()
            .map(move |(k, v)| (batch.str(*k), batch.field(*v)))
    }

    /// The value of tag `key`, if present.
    pub fn tag(&self, key: &str) -> Option<&'a str> {
        self.tags().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value of field `key`, if present.
    pub fn field(&self, key: &str) -> Option<FieldRef<'a>> {
        self.fields().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// Events on their way to the store, plus the lines refused on the way.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    arena: String,
    events: Vec<EventSlot>,
    tags: Vec<(Span, Span)>,
    fields: Vec<(Span, FieldSlot)>,
    rejects: Vec<Reject>,
    source: String,
    precision: Precision,
    // The time given to lines without a timestamp; the quarantine keeps it so a replay agrees.
    received_ns: Option<i64>,
}

/// What [`Batch::push_event`] refuses: events the store could never hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The event has no name.
    #[error("missing measurement")]
    NoMeasurement,
    /// The event has no fields.
    #[error("an event needs at least one field")]
    NoFields,
    /// A tag or field key is empty.
    #[error("empty {0} key")]
    EmptyKey(&'static str),
    /// A key appears twice.
    #[error("duplicate {kind} key {key:?}")]
    Duplicate {
        /// "tag" or "field".
        kind: &'static str,
        /// The key.
        key: String,
    },
    /// A float that line protocol cannot carry.
    #[error("field {0:?} is not a finite number")]
    NotFinite(String),
    /// A time outside what line protocol (and every scan range) can express.
    #[error("timestamp {0} is out of range")]
    TimestampOutOfRange(i64),
    /// The batch's string arena is full (4 GiB): start another batch.
    #[error("batch is full")]
    Full,
}

impl Batch {
    /// An empty batch whose rejects and events come from `source` (e.g. `import:orders.lp`).
    pub fn new(source: impl Into<String>) -> Self {
        Batch { source: source.into(), ..Batch::default() }
    }

    /// Where the events came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The timestamp precision of the batch's line-protocol input (kept with rejects).
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// When the batch's input was received (the time given to lines without a timestamp), if
    /// it came from line protocol.
    pub fn received_ns(&self) -> Option<i64> {
        self.received_ns
    }

    /// Number of events (rejects not counted).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the batch holds no events and no rejects.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.rejects.is_empty()
    }

    /// The rejected lines carried by this batch.
    pub fn rejects(&self) -> &[Reject] {
        &self.rejects
    }

    /// Records a refused line.
    pub fn push_reject(&mut self, reject: Reject) {
        self.rejects.push(reject);
    }

    /// Iterates over the events.
    pub fn events(&self) -> impl ExactSizeIterator<Item = EventRef<'_>> + '_ {
        self.events.iter().map(move |e| self.event_ref(e))
    }

    /// Appends one event, validating what the store relies on.
    pub fn push_event<'v>(
        &mut self,
        measurement: &str,
        ts: i64,
        tags: impl IntoIterator<Item = (&'v str, &'v str)>,
        fields: impl IntoIterator<Item = (&'v str, FieldValue<'v>)>,
    ) -> Result<(), EventError> {
        if measurement.is_empty() {
            return Err(EventError::NoMeasurement);
        }
        if ts.unsigned_abs() > cxp_lp::MAX_TIMESTAMP_NANOS.unsigned_abs() {
            return Err(EventError::TimestampOutOfRange(ts));
        }
        // Spans are u32 offsets; a batch this large is a caller bug, not a reason to corrupt.
        if self.arena.len() > (u32::MAX as usize) / 2 {
            return Err(EventError::Full);
        }
        let (tag_start, field_start, arena_len) = (self.tags.len(), self.fields.len(), self.arena.len());
        let result = self.push_parts(measurement, ts, tags, fields, tag_start, field_start);
        if result.is_err() {
            // Leave no half-written event behind.
            self.tags.truncate(tag_start);
            self.fields.truncate(field_start);
            self.arena.truncate(arena_len);
        }
        result
    }

    fn push_parts<'v>(
        &mut self,
        measurement: &str,
        ts: i64,
        tags: impl IntoIterator<Item = (&'v str, &'v str)>,
        fields: impl IntoIterator<Item = (&'v str, FieldValue<'v>)>,
        tag_start: usize,
        field_start: usize,
    ) -> Result<(), EventError> {
        let m = self.intern(measurement);
        for (k, v) in tags {
            if k.is_empty() {
                return Err(EventError::EmptyKey("tag"));
            }
            if self.tags[tag_start..].iter().any(|(s, _)| self.str(*s) == k) {
                return Err(EventError::Duplicate { kind: "tag", key: k.to_owned() });
            }
            let pair = (self.intern(k), self.intern(v));
            self.tags.push(pair);
        }
        for (k, v) in fields {
            if k.is_empty() {
                return Err(EventError::EmptyKey("field"));
            }
            if self.fields[field_start..].iter().any(|(s, _)| self.str(*s) == k) {
                return Err(EventError::Duplicate { kind: "field", key: k.to_owned() });
            }
            let slot = match v {
                FieldValue::I64(x) => FieldSlot::I64(x),
                FieldValue::U64(x) => FieldSlot::U64(x),
                FieldValue::F64(x) if !x.is_finite() => return Err(EventError::NotFinite(k.to_owned())),
                FieldValue::F64(x) => FieldSlot::F64(x),
                FieldValue::Bool(x) => FieldSlot::Bool(x),
                FieldValue::Str(s) => FieldSlot::Str(self.intern(&s)),
            };
            let key = self.intern(k);
            self.fields.push((key, slot));
        }
        if self.fields.len() == field_start {
            return Err(EventError::NoFields);
        }
        self.events.push(EventSlot {
            measurement: m,
            ts,
            line: 0,
            tags: (tag_start as u32, self.tags.len() as u32),
            fields: (field_start as u32, self.fields.len() as u32),
        });
        Ok(())
    }

    /// A batch with this one's source, precision, receive time and rejects, and no events: what
    /// a transformation of the events (the data dictionary) starts from.
    pub fn empty_like(&self) -> Batch {
        Batch {
            source: self.source.clone(),
            precision: self.precision,
            received_ns: self.received_ns,
            rejects: self.rejects.clone(),
            ..Batch::default()
        }
    }

    /// [`Batch::push_event`], remembering the event's line in its source.
    pub fn push_event_at<'v>(
        &mut self,
        line: u64,
        measurement: &str,
        ts: i64,
        tags: impl IntoIterator<Item = (&'v str, &'v str)>,
        fields: impl IntoIterator<Item = (&'v str, FieldValue<'v>)>,
    ) -> Result<(), EventError> {
        self.push_event(measurement, ts, tags, fields)?;
        if let Some(e) = self.events.last_mut() {
            e.line = line;
        }
        Ok(())
    }

    /// Appends a parsed line; a line without a timestamp gets `now_ns`.
    pub fn push_line(&mut self, line: &Line<'_>, now_ns: i64) -> Result<(), EventError> {
        self.push_event(
            &line.measurement,
            line.timestamp.unwrap_or(now_ns),
            line.tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
            line.fields.iter().map(|(k, v)| (k.as_ref(), v.clone())),
        )
    }

    /// Parses line protocol into events and rejects. `first_line` numbers the input's first
    /// line, so that a file read in blocks reports lines of the whole file.
    ///
    /// Returns the mark of the last line refused as an unterminated string: a reader that cut
    /// its input in blocks may have cut such a line inside a string with a raw newline (which
    /// InfluxDB's v2 clients send), and can [`Batch::rewind`] to it and read it again with the
    /// next block.
    pub fn push_line_protocol(
        &mut self,
        input: &[u8],
        options: ParseOptions,
        now_ns: i64,
        first_line: u64,
    ) -> Option<Mark> {
        self.precision = options.precision;
        self.received_ns = Some(now_ns);
        let mut unterminated = None;
        for parsed in cxp_lp::lines(input, options) {
            let line_no = first_line + parsed.line_no as u64 - 1;
            if let Err(e) = &parsed.result
                && matches!(e.kind, cxp_lp::ErrorKind::UnterminatedString)
            {
                unterminated = Some(Mark {
                    offset: parsed.raw.as_ptr() as usize - input.as_ptr() as usize,
                    events: self.events.len(),
                    tags: self.tags.len(),
                    fields: self.fields.len(),
                    arena: self.arena.len(),
                    rejects: self.rejects.len(),
                });
            }
            let outcome = match &parsed.result {
                Ok(line) => self.push_line(line, now_ns).map_err(|e| e.to_string()).map(|()| {
                    if let Some(e) = self.events.last_mut() {
                        e.line = line_no;
                    }
                }),
                Err(e) => Err(reason_of(e)),
            };
            if let Err(reason) = outcome {
                self.rejects.push(Reject { line: line_no, reason, raw: parsed.raw.to_vec(), precision: None });
            }
        }
        unterminated
    }

    /// Forgets every event and reject added after `mark` was taken.
    pub fn rewind(&mut self, mark: Mark) {
        self.events.truncate(mark.events);
        self.tags.truncate(mark.tags);
        self.fields.truncate(mark.fields);
        self.arena.truncate(mark.arena);
        self.rejects.truncate(mark.rejects);
    }

    fn intern(&mut self, s: &str) -> Span {
        let start = self.arena.len() as u32;
        self.arena.push_str(s);
        Span { start, len: s.len() as u32 }
    }

    fn str(&self, span: Span) -> &str {
        &self.arena[span.start as usize..(span.start + span.len) as usize]
    }

    fn field(&self, slot: FieldSlot) -> FieldRef<'_> {
        match slot {
            FieldSlot::I64(x) => FieldValue::I64(x),
            FieldSlot::U64(x) => FieldValue::U64(x),
            FieldSlot::F64(x) => FieldValue::F64(x),
            FieldSlot::Bool(x) => FieldValue::Bool(x),
            FieldSlot::Str(s) => FieldValue::Str(self.str(s).into()),
        }
    }

    fn event_ref<'a>(&'a self, e: &EventSlot) -> EventRef<'a> {
        EventRef {
            measurement: self.str(e.measurement),
            ts: e.ts,
            line: e.line,
            batch: self,
            tags: e.tags,
            fields: e.fields,
        }
    }
}

// The line number is kept in the reject's own field; the reason keeps the column.
fn reason_of(e: &cxp_lp::LineError) -> String {
    format!("col {}: {}", e.col, e.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_the_arena() {
        let mut b = Batch::new("test");
        b.push_event(
            "order",
            5,
            [("customer", "c-1"), ("city", "上海")],
            [("amount", FieldValue::F64(5.5)), ("sku", FieldValue::Str("A-1".into()))],
        )
        .expect("valid");
        b.push_event("login", 6, [], [("ok", FieldValue::Bool(true))]).expect("valid");
        let events: Vec<_> = b.events().collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].measurement, "order");
        assert_eq!(events[0].tag("city"), Some("上海"));
        assert_eq!(events[0].field("sku"), Some(FieldValue::Str("A-1".into())));
        assert_eq!(events[1].fields().collect::<Vec<_>>(), vec![("ok", FieldValue::Bool(true))]);
        assert_eq!(events[1].tags().len(), 0);
    }

    #[test]
    fn invalid_events_leave_no_trace() {
        let mut b = Batch::new("test");
        let dup = b.push_event("m", 1, [("a", "1"), ("a", "2")], [("f", FieldValue::I64(1))]);
        assert_eq!(dup, Err(EventError::Duplicate { kind: "tag", key: "a".into() }));
        assert_eq!(b.push_event("m", 1, [], []), Err(EventError::NoFields));
        assert_eq!(
            b.push_event("m", 1, [], [("x", FieldValue::F64(f64::NAN))]),
            Err(EventError::NotFinite("x".into()))
        );
        assert_eq!(b.len(), 0);
        assert!(b.arena.is_empty() && b.tags.is_empty() && b.fields.is_empty());
    }

    #[test]
    fn a_string_cut_by_a_block_boundary_can_be_read_again() {
        let whole = b"a f=1i 1\nb s=\"two\nlines\" 2\nc f=3i 3\n";
        let cut = 17; // inside the string, right after its raw newline
        let mut b = Batch::new("test");
        let mark = b.push_line_protocol(&whole[..cut], ParseOptions::default(), 0, 1).expect("unterminated");
        assert_eq!(mark.offset, 9);
        b.rewind(mark);
        assert_eq!((b.len(), b.rejects().len()), (1, 0));
        assert!(b.push_line_protocol(&whole[mark.offset..], ParseOptions::default(), 0, 2).is_none());
        let events: Vec<_> = b.events().map(|e| (e.measurement, e.line)).collect();
        assert_eq!(events, vec![("a", 1), ("b", 2), ("c", 4)]);
        assert_eq!(b.events().nth(1).expect("b").field("s"), Some(FieldValue::Str("two\nlines".into())));
    }

    #[test]
    fn line_protocol_keeps_bad_lines_as_rejects() {
        let mut b = Batch::new("test");
        let input = b"a,t=1 f=1i 10\nbad line\n# comment\nb f=\"x\"\n";
        b.push_line_protocol(input, ParseOptions::default(), 99, 1);
        assert_eq!(b.len(), 2);
        let events: Vec<_> = b.events().collect();
        assert_eq!((events[0].measurement, events[0].ts), ("a", 10));
        assert_eq!((events[1].measurement, events[1].ts), ("b", 99));
        assert_eq!(b.rejects().len(), 1);
        assert_eq!(b.rejects()[0].line, 2);
        assert_eq!(b.rejects()[0].raw, b"bad line");
    }
}
