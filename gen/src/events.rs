//! Engagement and identity events: page views, logins, searches, message opens, signups and
//! identifies. Commerce events are in `commerce.rs`.

use rand::RngCore;

use crate::catalog::{CAMPAIGNS, CITIES, category_slug, sku_parts};
use crate::customer::Stage;
use crate::people::{ONLINE_CHANNELS, Person, visitor_device};
use crate::sample::{below, chance, choose, weighted_index};
use crate::stream::{Generator, Kind, Now, Who};
use crate::texts::{PAGES, QUERIES, SIGNUP_SOURCE_WEIGHTS, SIGNUP_SOURCES};
use crate::write::Line;

/// Channels marketing messages arrive through.
const MESSAGE_CHANNELS: [&str; 4] = ["push", "sms", "email", "wechat"];

/// The rarer spellings of booleans, used now and then (all valid line protocol).
const TRUE_SPELLINGS: [&str; 4] = ["t", "T", "True", "TRUE"];
const FALSE_SPELLINGS: [&str; 4] = ["f", "F", "False", "FALSE"];

impl Generator {
    /// Writes one event of `kind`. A kind that finds nobody suitable (say, a refund before
    /// any order) degrades to a page view, which anyone can produce.
    pub(crate) fn emit(&mut self, kind: Kind, now: Now, out: &mut Vec<u8>) {
        match kind {
            Kind::PageView => self.page_view(now, out),
            Kind::Login => self.login(now, out),
            Kind::AddToCart => self.add_to_cart(now, out),
            Kind::Order => self.order(now, out),
            Kind::Identify => self.identify_someone(now, out),
            Kind::Review => self.review(now, out),
            Kind::Search => self.search(now, out),
            Kind::MessageOpen => self.message_open(now, out),
            Kind::Refund => self.refund(now, out),
            Kind::Inventory => self.inventory(now, out),
            Kind::Campaign => self.campaign(now, out),
        }
    }

    pub(crate) fn person(&self, c: u32) -> Person {
        Person::of(self.key, c)
    }

    /// The attributes that decide channel and device: the customer's, or a visitor's.
    fn habits(&self, who: Who) -> Person {
        match who {
            Who::Customer(c) | Who::Device(c) => self.person(c),
            Who::Visitor(v) => Person::of(self.key.rotate_left(13), v as u32),
        }
    }

    /// An anonymous visitor; low numbers come back more often (product of two uniforms).
    fn visitor(&mut self) -> Who {
        let bound = below(&mut self.rng, self.visitors) + 1;
        Who::Visitor(below(&mut self.rng, bound))
    }

    pub(crate) fn who_tag(&self, line: &mut Line, who: Who) {
        match who {
            Who::Customer(c) => line.tag_id("customer", "c-", u64::from(c) + 1),
            Who::Device(c) => line.tag_id("anon", "d-", self.person(c).device()),
            Who::Visitor(v) => line.tag_id("anon", "d-", visitor_device(self.key, v)),
        };
    }

    /// An online channel: the usual one mostly, sometimes another.
    pub(crate) fn channel_of(&mut self, person: &Person) -> usize {
        if chance(&mut self.rng, 150) {
            below(&mut self.rng, ONLINE_CHANNELS.len() as u64) as usize
        } else {
            person.channel()
        }
    }

    fn page_view(&mut self, now: Now, out: &mut Vec<u8>) {
        let mut who = if chance(&mut self.rng, 80) {
            self.visitor()
        } else {
            self.pick(now, true).unwrap_or_else(|| self.visitor())
        };
        // Now and then a known customer browses logged out on their own device.
        if let Who::Customer(c) = who
            && self.person(c).links_device()
            && chance(&mut self.rng, 80)
        {
            who = Who::Device(c);
        }
        let habits = self.habits(who);
        let channel = self.channel_of(&habits);
        let mut line = Line::start(out, "page_view");
        self.who_tag(&mut line, who);
        line.tag("channel", ONLINE_CHANNELS[channel]).tag("device", device_of(&habits, channel));
        let page = below(&mut self.rng, 100);
        if page < 65 {
            let (prefix, n) = sku_parts(self.catalog.popular_sku(self.rng.next_u64()));
            line.str_with("path", |s| {
                s.text("/p/").text(prefix).num(n);
            })
            .str_with("sku", |s| {
                s.text(prefix).num(n);
            });
        } else if page < 80 {
            let slug = category_slug(self.catalog.popular_sku(self.rng.next_u64()));
            line.str_with("path", |s| {
                s.text("/c/").text(slug);
            });
        } else {
            line.str_field("path", choose(&mut self.rng, &PAGES));
        }
        // Seconds on the page: mostly short, a long tail of readers.
        let mut dur = 1 + below(&mut self.rng, 40);
        if chance(&mut self.rng, 100) {
            dur += below(&mut self.rng, 600);
        }
        line.int_field("dur", dur).finish(now.ts);
    }

    fn login(&mut self, now: Now, out: &mut Vec<u8>) {
        let Some(Who::Customer(c)) = self.pick(now, false) else {
            return self.page_view(now, out);
        };
        let person = self.person(c);
        let channel = self.channel_of(&person);
        let ok = chance(&mut self.rng, 970);
        let spelling = match (ok, chance(&mut self.rng, 900)) {
            (true, true) => "true",
            (false, true) => "false",
            (true, false) => choose(&mut self.rng, &TRUE_SPELLINGS),
            (false, false) => choose(&mut self.rng, &FALSE_SPELLINGS),
        };
        Line::start(out, "login")
            .tag_id("customer", "c-", u64::from(c) + 1)
            .tag("channel", ONLINE_CHANNELS[channel])
            .tag("device", device_of(&person, channel))
            .bool_field("ok", spelling)
            .finish(now.ts);
    }

    fn search(&mut self, now: Now, out: &mut Vec<u8>) {
        let who = if chance(&mut self.rng, 300) {
            self.visitor()
        } else {
            self.pick(now, true).unwrap_or_else(|| self.visitor())
        };
        let channel = self.channel_of(&self.habits(who));
        let results = if chance(&mut self.rng, 50) { 0 } else { 1 + below(&mut self.rng, 500) };
        let mut line = Line::start(out, "search");
        self.who_tag(&mut line, who);
        line.tag("channel", ONLINE_CHANNELS[channel])
            .str_field("q", choose(&mut self.rng, &QUERIES))
            .int_field("results", results)
            .finish(now.ts);
    }

    fn message_open(&mut self, now: Now, out: &mut Vec<u8>) {
        let Some(Who::Customer(c)) = self.pick(now, false) else {
            return self.page_view(now, out);
        };
        Line::start(out, "message_open")
            .tag_id("customer", "c-", u64::from(c) + 1)
            .tag("channel", choose(&mut self.rng, &MESSAGE_CHANNELS))
            .str_field("campaign", choose(&mut self.rng, &CAMPAIGNS).0)
            .finish(now.ts);
    }

    /// A new customer's first event.
    pub(crate) fn signup(&mut self, c: u32, now: Now, out: &mut Vec<u8>) {
        let person = self.person(c);
        let source = SIGNUP_SOURCES[weighted_index(self.rng.next_u64(), &SIGNUP_SOURCE_WEIGHTS)];
        let channel = if source == "store_qr" { "store" } else { ONLINE_CHANNELS[person.channel()] };
        Line::start(out, "signup")
            .tag_id("customer", "c-", u64::from(c) + 1)
            .tag("channel", channel)
            .tag("city", CITIES[person.city()].0)
            .str_field("source", source)
            .finish(now.ts);
    }

    /// An identify drawn from the mix: preferably someone not yet identified in the stream
    /// (a full profile), else a profile update of an active customer.
    fn identify_someone(&mut self, now: Now, out: &mut Vec<u8>) {
        let mut update = None;
        for _ in 0..4 {
            if let Some(Who::Customer(c)) = self.pick(now, false) {
                if self.pop.customers[c as usize].stage == Stage::Known {
                    return self.identify(c, true, false, now, out);
                }
                update = Some(c);
            }
        }
        match update {
            Some(c) => self.identify(c, false, false, now, out),
            None => self.page_view(now, out),
        }
    }

    /// Traits of customer `c`: all of them when `first`, a few otherwise. With `device`,
    /// the line also carries the customer's anonymous device id, which links the two.
    pub(crate) fn identify(&mut self, c: u32, first: bool, device: bool, now: Now, out: &mut Vec<u8>) {
        self.pop.customers[c as usize].stage = Stage::Active;
        let person = self.person(c);
        let rng = &mut self.rng;
        let mut line = Line::start(out, "identify");
        if device {
            line.tag_id("anon", "d-", person.device());
        }
        line.tag_id("customer", "c-", u64::from(c) + 1);
        let card = person.omni() && person.has_card();
        let [name, gender, email, mut phone, birthday, card] = if first {
            [true, chance(rng, 950), true, true, chance(rng, 900), card]
        } else {
            [
                chance(rng, 300),
                chance(rng, 200),
                chance(rng, 400),
                chance(rng, 400),
                chance(rng, 150),
                card && chance(rng, 100),
            ]
        };
        if !(name || gender || email || phone || birthday || card) {
            phone = true;
        }
        if name {
            line.str_with("name", |s| person.write_name(s));
        }
        if gender {
            line.str_with("gender", |s| person.write_gender(s, rng));
        }
        if email {
            line.str_with("email", |s| person.write_email(s, rng));
        }
        if phone {
            line.str_with("phone", |s| person.write_phone(s, rng));
        }
        if birthday {
            line.str_with("birthday", |s| person.write_birthday(s, rng));
        }
        if card {
            line.str_with("member_card", |s| {
                s.text("m-").num(person.member_card());
            });
        }
        line.finish(now.ts);
    }
}

/// The device type for a channel: the phone, or the desktop for web users who have one.
pub(crate) fn device_of(person: &Person, channel: usize) -> &'static str {
    if ONLINE_CHANNELS[channel] == "web" && person.desktop() { "desktop" } else { person.mobile_os() }
}
