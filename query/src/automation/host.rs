//! The engine's host over a store: conditions are segment expressions evaluated for one
//! customer, time zones come from the customer's `timezone` trait (else the settings'), and
//! splits hash the customer's strongest identifier.

use cxp_store::{Ck, Store};
use hashbrown::HashMap;

use super::def::Settings;
use super::engine::Host;
use super::policy::{next_local_time, zone};
use crate::segment::{Plan, compile_for_one, evaluate_one};

/// Named segments' membership, as the caller knows it (the daemon's live segments).
pub type Membership<'a> = &'a (dyn Fn(&str, Ck) -> Option<bool> + Send + Sync);

/// A [`Host`] reading `store`.
pub struct StoreHost<'a> {
    store: &'a Store,
    settings: &'a Settings,
    segments: Vec<String>,
    membership: Membership<'a>,
    plans: HashMap<String, Result<Plan, String>>,
}

impl<'a> StoreHost<'a> {
    /// A host for `store`; `segments` names the segments conditions may refer to, and
    /// `membership` answers them.
    pub fn new(store: &'a Store, settings: &'a Settings, segments: Vec<String>, membership: Membership<'a>) -> Self {
        StoreHost { store, settings, segments, membership, plans: HashMap::new() }
    }

    /// The identity keys of a person, root first.
    pub fn keys(&self, root: Ck) -> Vec<Ck> {
        let mut keys = vec![root];
        keys.extend(self.store.members(root).into_iter().filter(|&k| k != root));
        keys
    }

    /// A customer's time zone trait, if set.
    pub fn timezone_of(&self, root: Ck) -> Option<String> {
        let (_, id) = self.store.customer_id(root)?;
        let view = self.store.customer(&id, None).ok()??;
        view.traits.into_iter().find(|t| t.name == "timezone").and_then(|t| match t.value {
            cxp_store::Value::Str(s) => Some(s),
            _ => None,
        })
    }
}

impl Host for StoreHost<'_> {
    fn condition(&mut self, expr: &str, root: Ck, at: i64) -> Result<bool, String> {
        if !self.plans.contains_key(expr) {
            let plan = compile_for_one(self.store, expr, &self.segments).map_err(|e| e.to_string());
            self.plans.insert(expr.to_owned(), plan);
        }
        let plan = match &self.plans[expr] {
            Ok(p) => p.clone(),
            Err(e) => return Err(e.clone()),
        };
        let keys = self.keys(root);
        let membership = self.membership;
        evaluate_one(self.store, &plan, &keys, at, &|s| membership(s, root)).map_err(|e| e.to_string())
    }

    fn next_time_of_day(&mut self, root: Ck, minute: u32, after: i64) -> i64 {
        let tz = zone(self.timezone_of(root).as_deref(), self.settings);
        next_local_time(&tz, minute, after)
    }

    fn customer_id(&mut self, root: Ck) -> String {
        self.store.customer_id(root).map_or_else(|| format!("#{root}"), |(_, v)| v)
    }
}
