//! The event scheduler: for each timestamp, decide which event happens and to whom.
//!
//! Lifecycle events take precedence: a new customer's signup is emitted when the stream
//! reaches its signup position, and their identify in the very next line. Every other line
//! draws a measurement from [`MIX`] and then a customer by activity weight, rejecting those
//! not signed up yet or already churned. Signups and the identifies they force count
//! against the identify share of the mix, so the share of lifecycle events stays near its
//! target however many customers sign up.

use rand::{RngCore, SeedableRng};

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::config::GenConfig;
use crate::customer::{Population, Stage};
use crate::people::Person;
use crate::sample::{Rng, below};

/// Measurements drawn from the mix (signup is scheduled, not drawn).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    PageView,
    Login,
    AddToCart,
    Order,
    Identify,
    Review,
    Search,
    MessageOpen,
    Refund,
    Inventory,
    Campaign,
}

/// The target mix, per mille. Identify includes scheduled signups (see the module doc).
const MIX: [(Kind, u16); 11] = [
    (Kind::PageView, 500),
    (Kind::Login, 100),
    (Kind::AddToCart, 120),
    (Kind::Order, 80),
    (Kind::Identify, 50),
    (Kind::Review, 20),
    (Kind::Search, 50),
    (Kind::MessageOpen, 30),
    (Kind::Refund, 5),
    (Kind::Inventory, 35),
    (Kind::Campaign, 10),
];

/// [`MIX`] unrolled into 1000 slots, so drawing a kind is one lookup.
const KIND_SLOTS: [Kind; 1000] = {
    let mut slots = [Kind::PageView; 1000];
    let (mut i, mut k) = (0, 0);
    while k < MIX.len() {
        let mut n = 0;
        while n < MIX[k].1 {
            slots[i] = MIX[k].0;
            i += 1;
            n += 1;
        }
        k += 1;
    }
    assert!(i == 1000, "MIX must sum to 1000");
    slots
};

/// When an event happens: its timestamp and its position along the stream (0 to 2^32).
#[derive(Clone, Copy)]
pub(crate) struct Now {
    pub(crate) ts: i64,
    pub(crate) pos: u32,
}

/// Whose event it is.
#[derive(Clone, Copy)]
pub(crate) enum Who {
    /// A customer (0-based number), identified.
    Customer(u32),
    /// A customer's own device, not logged in: an anonymous id that a later identify links.
    Device(u32),
    /// An anonymous visitor who never signs up (visitor number).
    Visitor(u64),
}

/// A deterministic generator of synthetic retail events, one line of line protocol at a
/// time, in non-decreasing time order.
///
/// State is a few dozen bytes per customer plus a small catalogue; lines are appended to a
/// caller's buffer, so generating allocates nothing per line.
pub struct Generator {
    pub(crate) rng: Rng,
    pub(crate) key: u64,
    pub(crate) pop: Population,
    pub(crate) catalog: Catalog,
    clock: Clock,
    events: u64,
    produced: u64,
    /// `floor(2^64 / events)`: turns a line index into a stream position by one multiply.
    pos_step: u64,
    /// The next new customer to sign up.
    next_signup: u32,
    /// How far ahead (in customers) an unborn customer may already browse anonymously:
    /// about a week's worth of signups.
    soon_window: u32,
    pending_identify: Option<u32>,
    /// Identify slots still owed to the mix for scheduled lifecycle lines.
    debt: u64,
    /// Orders so far (the last order number).
    pub(crate) orders: u64,
    /// Size of the pool of anonymous visitors who never sign up.
    pub(crate) visitors: u64,
}

impl Generator {
    /// A generator for `config`; building it costs O(customers) time and memory.
    pub fn new(config: GenConfig) -> Generator {
        let mut rng = Rng::seed_from_u64(config.seed);
        let key = rng.next_u64();
        let customers = config.customer_count();
        let days = config.day_count();
        let catalog = Catalog::new(&mut rng);
        let pop = Population::new(customers, config.events, &mut rng);
        let soon_window = (pop.new_count() * 7 / days).max(1);
        Generator {
            clock: Clock::new(config.start_ns, days, config.events),
            events: config.events,
            produced: 0,
            pos_step: u64::MAX / config.events.max(1),
            next_signup: pop.existing,
            soon_window,
            pending_identify: None,
            debt: 0,
            orders: 0,
            visitors: u64::from(customers).max(1000),
            rng,
            key,
            pop,
            catalog,
        }
    }

    /// Appends the next event as one line (with trailing `'\n'`) to `out`; returns false,
    /// leaving `out` untouched, when `events` lines have been produced.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> bool {
        if self.produced >= self.events {
            return false;
        }
        let Some(ts) = self.clock.next(&mut self.rng) else {
            return false;
        };
        let pos = ((u128::from(self.produced) * u128::from(self.pos_step)) >> 32) as u32;
        self.produced += 1;
        let now = Now { ts, pos };

        if let Some(c) = self.pending_identify.take() {
            let device = Person::of(self.key, c).links_device();
            self.identify(c, true, device, now, out);
            return true;
        }
        if self.signup_due(pos) {
            let c = self.next_signup;
            self.next_signup += 1;
            self.pop.customers[c as usize].stage = Stage::Active;
            self.signup(c, now, out);
            self.pending_identify = Some(c);
            self.debt += 2;
            return true;
        }
        let mut kind = self.draw_kind();
        if kind == Kind::Identify && self.debt > 0 {
            self.debt -= 1;
            while kind == Kind::Identify {
                kind = self.draw_kind();
            }
        }
        self.emit(kind, now, out);
        true
    }

    fn signup_due(&self, pos: u32) -> bool {
        self.pop.customers.get(self.next_signup as usize).is_some_and(|c| c.start <= pos)
    }

    fn draw_kind(&mut self) -> Kind {
        KIND_SLOTS[below(&mut self.rng, 1000) as usize]
    }

    /// Someone active at `now`, by activity weight: a customer who has signed up (or
    /// existed before) and not churned; with `anon_ok`, also the device of a customer
    /// about to sign up. Churners fade out: in the last third of their life half of their
    /// draws are rejected, which is the signal a churn model should find.
    pub(crate) fn pick(&mut self, now: Now, anon_ok: bool) -> Option<Who> {
        // Bounded: if nearly everyone is unborn or churned, the caller falls back to an
        // anonymous visitor rather than looping.
        for _ in 0..64 {
            let c = self.pop.draw(self.rng.next_u64());
            let customer = self.pop.customers[c as usize];
            match customer.stage {
                Stage::Unborn => {
                    if anon_ok
                        && c.saturating_sub(self.next_signup) < self.soon_window
                        && Person::of(self.key, c).links_device()
                    {
                        return Some(Who::Device(c));
                    }
                }
                Stage::Known | Stage::Active => {
                    if now.pos >= customer.churn {
                        continue;
                    }
                    let fade = customer.churn - (customer.churn - customer.start) / 3;
                    if customer.churns() && now.pos >= fade && self.rng.next_u32() & 1 == 0 {
                        continue;
                    }
                    return Some(Who::Customer(c));
                }
            }
        }
        None
    }

    /// An active customer (not a device) satisfying `wanted`, or `None` after a few tries.
    pub(crate) fn pick_customer_where(
        &mut self,
        now: Now,
        tries: u32,
        wanted: impl Fn(&Generator, u32) -> bool,
    ) -> Option<u32> {
        for _ in 0..tries {
            if let Some(Who::Customer(c)) = self.pick(now, false)
                && wanted(self, c)
            {
                return Some(c);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_sums_to_1000() {
        assert_eq!(MIX.iter().map(|m| u32::from(m.1)).sum::<u32>(), 1000);
        assert_eq!(KIND_SLOTS[999], Kind::Campaign);
    }

    #[test]
    fn churned_customers_fall_silent() {
        let config = GenConfig { customers: 300, events: 30_000, days: 30, ..GenConfig::default() };
        let mut generator = Generator::new(config);
        let churn: Vec<u32> = generator.pop.customers.iter().map(|c| c.churn).collect();
        let mut out = Vec::new();
        let mut pos = 0;
        while generator.next_line(&mut out) {
            let line = std::str::from_utf8(&out).expect("UTF-8");
            if let Some(rest) = line.split(",customer=c-").nth(1) {
                let n: usize = rest.split([',', ' ']).next().and_then(|s| s.parse().ok()).expect("customer number");
                assert!(pos < churn[n - 1], "c-{n} active after churning: {line}");
            }
            out.clear();
            pos = ((u128::from(generator.produced) * u128::from(generator.pos_step)) >> 32) as u32;
        }
    }
}
