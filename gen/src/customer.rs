//! Per-customer state and the customer population: who is active when, and how often.
//!
//! Activity is heavy-tailed: Zipf weights with exponent 3/4 over a shuffled ranking, so the
//! top 1% of customers carry roughly 30% of the weight. Lifecycle positions ("fractions") are
//! measured along the stream (0 = first event, 2^32 = after the last), which is monotone in
//! time, so they need no timestamps and cost four bytes each.

use crate::sample::{AliasTable, Rng, below};

/// Where a customer is in their life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Stage {
    /// A new customer who has not signed up yet.
    Unborn,
    /// A customer from before the stream who has not identified in it yet.
    Known,
    /// Identified in the stream (after signup for new customers).
    Active,
}

/// The state of one customer, 24 bytes; everything else about them is derived on demand.
#[derive(Clone, Copy)]
pub(crate) struct Customer {
    /// Signup position (0 for existing customers).
    pub(crate) start: u32,
    /// Position after which the customer is silent; `u32::MAX` for customers who stay.
    pub(crate) churn: u32,
    /// Last order number (0: no order yet), and its amount in cents.
    pub(crate) last_order: u32,
    pub(crate) last_amount: u32,
    /// SKU + 1 in the cart (0: empty) and its quantity.
    pub(crate) cart_sku: u16,
    pub(crate) cart_qty: u8,
    pub(crate) stage: Stage,
    /// Last SKU bought + 1 (0: none), what a review is most likely about.
    pub(crate) last_sku: u16,
}

impl Customer {
    /// Whether the customer will go silent at some point.
    pub(crate) fn churns(&self) -> bool {
        self.churn != u32::MAX
    }
}

/// Share of customers who go silent before the end, per mille.
const CHURN_PER_MILLE: u64 = 300;

/// All customers, ordered by customer number: existing ones first, then new ones in signup
/// order (so ids grow with signup time, like an auto-increment key).
pub(crate) struct Population {
    pub(crate) customers: Vec<Customer>,
    activity: AliasTable,
    /// Number of customers from before the stream; the rest sign up during it.
    pub(crate) existing: u32,
}

impl Population {
    /// `n` customers for a stream of `events` events. New customers are at most 40% of all
    /// and at most 2% of events, so that signups never crowd out behaviour in a short stream.
    pub(crate) fn new(n: u32, events: u64, rng: &mut Rng) -> Self {
        let new = (u64::from(n) * 2 / 5).min(events / 50) as u32;
        let existing = n - new;
        let customers = (0..n)
            .map(|c| {
                let start = if c < existing {
                    0
                } else {
                    // Spread evenly along the stream, increasing with the customer number.
                    let j = u64::from(c - existing);
                    (((j << 32) | below(rng, 1 << 32)) / u64::from(new)) as u32
                };
                let churn = if below(rng, 1000) < CHURN_PER_MILLE {
                    // Somewhere after a short first phase, before the end.
                    let first_phase = 1u64 << 27;
                    let from = u64::from(start) + first_phase;
                    let span = (1u64 << 32).saturating_sub(from);
                    (from + below(rng, span.max(1))).min(u64::from(u32::MAX - 1)) as u32
                } else {
                    u32::MAX
                };
                Customer {
                    start,
                    churn,
                    last_order: 0,
                    last_amount: 0,
                    cart_sku: 0,
                    cart_qty: 0,
                    stage: if c < existing { Stage::Known } else { Stage::Unborn },
                    last_sku: 0,
                }
            })
            .collect();
        Population { customers, activity: AliasTable::zipf_shuffled(n as usize, 6, rng), existing }
    }

    /// A customer drawn by activity weight, whatever their stage.
    pub(crate) fn draw(&self, r: u64) -> u32 {
        self.activity.sample(r)
    }

    /// Number of customers who sign up during the stream.
    pub(crate) fn new_count(&self) -> u32 {
        self.customers.len() as u32 - self.existing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn layout() {
        assert!(std::mem::size_of::<Customer>() <= 24);
        let pop = Population::new(1000, 1_000_000, &mut Rng::seed_from_u64(1));
        assert_eq!(pop.existing, 600);
        let starts: Vec<u32> = pop.customers.iter().map(|c| c.start).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "signup order = id order");
        let churners = pop.customers.iter().filter(|c| c.churns()).count();
        assert!((250..350).contains(&churners), "{churners}");
        assert!(pop.customers.iter().all(|c| c.churn > c.start));
    }

    #[test]
    fn new_customers_capped_by_events() {
        let pop = Population::new(1000, 5_000, &mut Rng::seed_from_u64(1));
        assert_eq!(pop.new_count(), 100);
    }
}
