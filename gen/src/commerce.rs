//! Commerce events: carts, online and in-store orders, refunds, reviews, and the shop's own
//! inventory and campaign events (which carry no customer at all).

use rand::RngCore;

use crate::catalog::{CAMPAIGNS, CITIES, CITY_WEIGHTS, sku_parts};
use crate::customer::Stage;
use crate::people::ONLINE_CHANNELS;
use crate::sample::{below, chance, choose, weighted_index};
use crate::stream::{Generator, Kind, Now, Who};
use crate::texts::{MIXED_EN, MIXED_ZH, NEGATIVE_EN, NEGATIVE_ZH, POSITIVE_EN, POSITIVE_ZH, REFUND_REASONS};
use crate::write::{Line, Str};

/// Rating weights (1 to 5 stars): customers who will churn are markedly less happy.
const RATINGS: [u32; 5] = [8, 6, 12, 25, 49];
const RATINGS_CHURNING: [u32; 5] = [25, 15, 20, 20, 20];

/// Share of orders placed in a store, per mille.
const STORE_ORDERS: u64 = 200;

fn write_sku(s: &mut Str, sku: u16) {
    let (prefix, n) = sku_parts(sku);
    s.text(prefix).num(n);
}

impl Generator {
    pub(crate) fn add_to_cart(&mut self, now: Now, out: &mut Vec<u8>) {
        let Some(Who::Customer(c)) = self.pick(now, false) else {
            return self.emit(Kind::PageView, now, out);
        };
        let person = self.person(c);
        let channel = self.channel_of(&person);
        let sku = self.catalog.popular_sku(self.rng.next_u64());
        let qty = match below(&mut self.rng, 100) {
            0..80 => 1,
            80..92 => 2,
            _ => 3 + below(&mut self.rng, 3) as u8,
        };
        let customer = &mut self.pop.customers[c as usize];
        customer.cart_sku = sku + 1;
        customer.cart_qty = qty;
        Line::start(out, "add_to_cart")
            .tag_id("customer", "c-", u64::from(c) + 1)
            .tag("channel", ONLINE_CHANNELS[channel])
            .str_with("sku", |s| write_sku(s, sku))
            .int_field("qty", u64::from(qty))
            .cents_field("price", self.catalog.price(sku))
            .finish(now.ts);
    }

    /// An order; about a fifth are placed in a store by customers who also shop online and
    /// are identified, recorded by phone or member card rather than customer id.
    pub(crate) fn order(&mut self, now: Now, out: &mut Vec<u8>) {
        if chance(&mut self.rng, STORE_ORDERS)
            && let Some(c) = self.pick_customer_where(now, 16, |g, c| {
                g.pop.customers[c as usize].stage == Stage::Active && g.person(c).omni()
            })
        {
            return self.store_order(c, now, out);
        }
        match self.pick(now, false) {
            Some(Who::Customer(c)) => self.online_order(c, now, out),
            _ => self.emit(Kind::PageView, now, out),
        }
    }

    fn online_order(&mut self, c: u32, now: Now, out: &mut Vec<u8>) {
        let person = self.person(c);
        let channel = self.channel_of(&person);
        // Mostly shipped home, sometimes a gift to another city.
        let city =
            if chance(&mut self.rng, 50) { weighted_index(self.rng.next_u64(), &CITY_WEIGHTS) } else { person.city() };
        let (sku, amount, items) = self.basket(c, true);
        let order = self.record_order(c, sku, amount);
        Line::start(out, "order")
            .tag_id("customer", "c-", u64::from(c) + 1)
            .tag("channel", ONLINE_CHANNELS[channel])
            .tag("city", CITIES[city].0)
            .cents_field("amount", amount)
            .int_field("items", items)
            .str_with("sku", |s| write_sku(s, sku))
            .str_with("order_id", |s| {
                s.text("o-").padded(order, 6);
            })
            .finish(now.ts);
    }

    fn store_order(&mut self, c: u32, now: Now, out: &mut Vec<u8>) {
        let person = self.person(c);
        let Some(home) = person.home_store(&self.catalog) else {
            return self.online_order(c, now, out);
        };
        let store = if chance(&mut self.rng, 100) {
            1 + below(&mut self.rng, u64::from(self.catalog.store_count())) as u32
        } else {
            home
        };
        let (sku, amount, items) = self.basket(c, false);
        let order = self.record_order(c, sku, amount);
        let mut line = Line::start(out, "order");
        line.tag("channel", "store").tag("city", CITIES[self.catalog.store_city(store)].0).tag_id(
            "store",
            "s-",
            u64::from(store),
        );
        // At the till the customer shows a member card or gives a phone number.
        if person.has_card() && chance(&mut self.rng, 500) {
            line.tag_id("member_card", "m-", person.member_card());
        } else {
            line.tag_id("phone", "", person.phone());
        }
        line.cents_field("amount", amount)
            .int_field("items", items)
            .str_with("sku", |s| write_sku(s, sku))
            .str_with("order_id", |s| {
                s.text("o-").padded(order, 6);
            })
            .finish(now.ts);
    }

    /// The basket of an order: main SKU, amount in cents, item count. Online, the cart's
    /// item is usually what gets bought. Most baskets hold one or two items; a few are
    /// large, which with log-normal-like prices gives the long tail of order values.
    fn basket(&mut self, c: u32, online: bool) -> (u16, u64, u64) {
        let customer = &mut self.pop.customers[c as usize];
        let (main, mut items) = if online && customer.cart_sku > 0 && chance(&mut self.rng, 850) {
            (customer.cart_sku - 1, u64::from(customer.cart_qty))
        } else {
            (self.catalog.popular_sku(self.rng.next_u64()), 1)
        };
        customer.cart_sku = 0;
        let mut amount = self.catalog.price(main) * items;
        let extra = match below(&mut self.rng, 100) {
            0..55 => 0,
            55..80 => 1,
            80..90 => 2,
            90..96 => 3 + below(&mut self.rng, 3),
            _ => 6 + below(&mut self.rng, 15),
        };
        for _ in 0..extra {
            let sku = self.catalog.popular_sku(self.rng.next_u64());
            let qty = if chance(&mut self.rng, 150) { 2 } else { 1 };
            amount += self.catalog.price(sku) * qty;
            items += qty;
        }
        // A coupon: 10% off.
        if chance(&mut self.rng, 150) {
            amount -= amount / 10;
        }
        (main, amount, items)
    }

    fn record_order(&mut self, c: u32, sku: u16, amount: u64) -> u64 {
        self.orders += 1;
        let customer = &mut self.pop.customers[c as usize];
        customer.last_order = u32::try_from(self.orders).unwrap_or(u32::MAX);
        customer.last_amount = u32::try_from(amount).unwrap_or(u32::MAX);
        customer.last_sku = sku + 1;
        self.orders
    }

    /// A refund of a customer's last order; customers who will churn ask for them twice as
    /// often.
    pub(crate) fn refund(&mut self, now: Now, out: &mut Vec<u8>) {
        let Some(c) = self.pick_customer_where(now, 8, |g, c| {
            let customer = &g.pop.customers[c as usize];
            customer.last_order > 0 && (customer.churns() || customer.last_order % 2 == 0)
        }) else {
            return self.emit(Kind::PageView, now, out);
        };
        let customer = self.pop.customers[c as usize];
        let amount = u64::from(customer.last_amount);
        let amount = if chance(&mut self.rng, 700) { amount } else { amount / 2 };
        let person = self.person(c);
        let channel = self.channel_of(&person);
        Line::start(out, "refund")
            .tag_id("customer", "c-", u64::from(c) + 1)
            .tag("channel", ONLINE_CHANNELS[channel])
            .str_with("order_id", |s| {
                s.text("o-").padded(u64::from(customer.last_order), 6);
            })
            .cents_field("amount", amount)
            .str_field("reason", choose(&mut self.rng, &REFUND_REASONS))
            .finish(now.ts);
    }

    /// A review, usually of the last thing bought; the text matches the rating.
    pub(crate) fn review(&mut self, now: Now, out: &mut Vec<u8>) {
        let Some(Who::Customer(c)) = self.pick(now, false) else {
            return self.emit(Kind::PageView, now, out);
        };
        let customer = self.pop.customers[c as usize];
        let sku = if customer.last_sku > 0 && chance(&mut self.rng, 800) {
            customer.last_sku - 1
        } else {
            self.catalog.popular_sku(self.rng.next_u64())
        };
        let weights = if customer.churns() { &RATINGS_CHURNING } else { &RATINGS };
        let rating = weighted_index(self.rng.next_u64(), weights) + 1;
        let person = self.person(c);
        let english = chance(&mut self.rng, if person.english() { 900 } else { 100 });
        let texts: &[&str] = match (rating, english) {
            (4.., false) => &POSITIVE_ZH,
            (4.., true) => &POSITIVE_EN,
            (3, false) => &MIXED_ZH,
            (3, true) => &MIXED_EN,
            (_, false) => &NEGATIVE_ZH,
            (_, true) => &NEGATIVE_EN,
        };
        let channel = self.channel_of(&person);
        Line::start(out, "review")
            .tag_id("customer", "c-", u64::from(c) + 1)
            .tag("channel", ONLINE_CHANNELS[channel])
            .str_with("sku", |s| write_sku(s, sku))
            .int_field("rating", rating as u64)
            .str_field("text", choose(&mut self.rng, texts))
            .finish(now.ts);
    }

    /// A stock level report from a store: no customer involved.
    pub(crate) fn inventory(&mut self, now: Now, out: &mut Vec<u8>) {
        let store = 1 + below(&mut self.rng, u64::from(self.catalog.store_count()));
        let (prefix, n) = sku_parts(self.catalog.popular_sku(self.rng.next_u64()));
        let stock = if chance(&mut self.rng, 100) { below(&mut self.rng, 5) } else { below(&mut self.rng, 200) };
        Line::start(out, "inventory")
            .tag_id("store", "s-", store)
            .tag_id("sku", prefix, n)
            .int_field("stock", stock)
            .finish(now.ts);
    }

    /// A campaign's running totals: spend grows along the stream.
    pub(crate) fn campaign(&mut self, now: Now, out: &mut Vec<u8>) {
        let (name, budget_yuan) = choose(&mut self.rng, &CAMPAIGNS);
        let budget = budget_yuan * 100;
        let pace = 80 + below(&mut self.rng, 20);
        let spend = ((u128::from(budget) * u128::from(now.pos) * u128::from(pace) / 100) >> 32) as u64;
        let clicks = spend / (50 + below(&mut self.rng, 100));
        Line::start(out, "campaign")
            .tag("name", name)
            .cents_field("budget", budget)
            .cents_field("spend", spend)
            .int_field("clicks", clicks)
            .finish(now.ts);
    }
}
