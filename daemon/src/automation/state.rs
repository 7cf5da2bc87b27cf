//! Automation state in its own file (`db.rs`): every key under `auto.`, written in one
//! transaction with what changed it, so that a restart neither loses nor repeats an action.
//!
//! | key | value |
//! |---|---|
//! | `auto.meta` | JSON [`Meta`]: the event cursor, the segment-log cursor, ids, schedules |
//! | `auto.i/ID` | postcard instance: a customer in a journey |
//! | `auto.v/NAME/VERSION` | JSON journey definition (customers finish on their version) |
//! | `auto.once/NAME` | roaring bitmap: customers who entered a once-only journey |
//! | `auto.stats/NAME/VERSION` | JSON journey counters |
//! | `auto.o/ID` | postcard message waiting in the outbox |
//! | `auto.k/KEY` | a message with this idempotency key was delivered (JSON: id, time) |
//! | `auto.w/ROOT/ID` | JSON "why" record of a message |
//! | `auto.sent/ROOT` | JSON recent sends of a customer (channel, time), for caps |
//! | `auto.counters` | JSON per-channel counters |

use std::collections::BTreeMap;

use cxp_query::api::{ChannelDoc, WhyRecord};
use cxp_query::automation::engine::{JourneyStats, Restored};
use cxp_query::automation::{Changes, Engine, Instance, Journey, Message};
use cxp_store::{Ck, StoreError};

use super::db::StateDb;
use serde::{Deserialize, Serialize};

/// Cursors and ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Every event with a smaller sequence number has been through the engine.
    pub cursor: u64,
    /// Segment change-log position read so far.
    pub segment_log: u64,
    /// Next message id.
    pub next_message: u64,
    /// Next scheduled run per journey.
    pub schedules: BTreeMap<String, i64>,
    /// Journeys whose list entry has been entered.
    pub lists_done: Vec<String>,
    /// The last store erasure whose people automation has forgotten.
    #[serde(default)]
    pub erasures_seen: u64,
    /// Journeys an operator paused.
    #[serde(default)]
    pub paused: std::collections::BTreeSet<String>,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Format(format!("automation state: {e}"))
}

pub type Entries = Vec<(String, Option<Vec<u8>>)>;

pub fn instance_key(id: u64) -> String {
    format!("auto.i/{id:016x}")
}

pub fn outbox_key(id: u64) -> String {
    format!("auto.o/{id:016x}")
}

pub fn sent_key(key: &str) -> String {
    format!("auto.k/{key}")
}

pub fn why_key(root: Ck, id: u64) -> String {
    format!("auto.w/{root:08x}/{id:016x}")
}

pub fn sends_key(root: Ck) -> String {
    format!("auto.sent/{root:08x}")
}

/// The entries that make `changes` durable, with `meta` and the definitions of the versions
/// they touch.
pub fn entries(engine: &Engine, changes: &Changes, meta: &Meta) -> Result<Entries, StoreError> {
    let mut out: Entries = Vec::new();
    for id in &changes.removed {
        out.push((instance_key(*id), None));
    }
    for (id, i) in &changes.upserted {
        out.push((instance_key(*id), Some(postcard::to_stdvec(i).map_err(err)?)));
    }
    for m in &changes.messages {
        out.push((outbox_key(m.id), Some(postcard::to_stdvec(m).map_err(err)?)));
    }
    for (name, version) in &changes.stats {
        let stats = engine.stats(name, *version);
        out.push((format!("auto.stats/{name}/{version:08x}"), Some(serde_json::to_vec(&stats).map_err(err)?)));
    }
    if !changes.entered_once.is_empty() {
        let names: std::collections::BTreeSet<&String> = changes.entered_once.iter().map(|(n, _)| n).collect();
        for n in names {
            if let Some(bits) = engine.once_of(n) {
                let mut bytes = Vec::new();
                bits.serialize_into(&mut bytes).map_err(err)?;
                out.push((format!("auto.once/{n}"), Some(bytes)));
            }
        }
    }
    out.push(("auto.meta".into(), Some(serde_json::to_vec(meta).map_err(err)?)));
    Ok(out)
}

/// The definitions of the current versions, saved once at start: customers still in a version
/// after the file changes finish on it.
pub fn definitions(engine: &Engine) -> Result<Entries, StoreError> {
    engine
        .journeys()
        .map(|j| Ok((format!("auto.v/{}/{:08x}", j.name, j.version), Some(serde_json::to_vec(&**j).map_err(err)?))))
        .collect()
}

/// What was saved, read back at start.
pub struct Loaded {
    pub meta: Meta,
    pub restored: Restored,
    pub outbox: Vec<Message>,
    pub sends: hashbrown::HashMap<Ck, Vec<(String, i64)>>,
    pub counters: BTreeMap<String, ChannelDoc>,
}

/// Reads the saved state.
pub fn load(db: &StateDb) -> Result<Option<Loaded>, StoreError> {
    let Some(meta) = db.state("auto.meta")? else { return Ok(None) };
    let meta: Meta = serde_json::from_slice(&meta).map_err(err)?;
    let mut restored =
        Restored { next_message: meta.next_message, schedules: meta.schedules.clone(), ..Restored::default() };
    for (_, v) in db.states("auto.i/")? {
        let i: Instance = postcard::from_bytes(&v).map_err(err)?;
        restored.instances.push(i);
    }
    for (_, v) in db.states("auto.v/")? {
        let j: Journey = serde_json::from_slice(&v).map_err(err)?;
        restored.old_versions.push(j);
    }
    for (k, v) in db.states("auto.stats/")? {
        let rest = &k["auto.stats/".len()..];
        let Some((name, version)) = rest.rsplit_once('/') else { continue };
        let version = u32::from_str_radix(version, 16).map_err(err)?;
        let s: JourneyStats = serde_json::from_slice(&v).map_err(err)?;
        restored.stats.insert((name.to_owned(), version), s);
    }
    for (k, v) in db.states("auto.once/")? {
        let bits = roaring::RoaringBitmap::deserialize_from(&v[..]).map_err(err)?;
        restored.once.insert(k["auto.once/".len()..].to_owned(), bits);
    }
    let mut outbox = Vec::new();
    for (_, v) in db.states("auto.o/")? {
        outbox.push(postcard::from_bytes::<Message>(&v).map_err(err)?);
    }
    let mut sends = hashbrown::HashMap::new();
    for (k, v) in db.states("auto.sent/")? {
        let root = Ck::from_str_radix(&k["auto.sent/".len()..], 16).map_err(err)?;
        sends.insert(root, serde_json::from_slice(&v).map_err(err)?);
    }
    let counters = match db.state("auto.counters")? {
        Some(v) => serde_json::from_slice(&v).map_err(err)?,
        None => BTreeMap::new(),
    };
    Ok(Some(Loaded { meta, restored, outbox, sends, counters }))
}

/// The why records of a customer, newest first.
pub fn whys(db: &StateDb, root: Ck) -> Result<Vec<WhyRecord>, StoreError> {
    let mut out: Vec<WhyRecord> = db
        .states(&format!("auto.w/{root:08x}/"))?
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v).map_err(err))
        .collect::<Result<_, _>>()?;
    out.reverse();
    Ok(out)
}
