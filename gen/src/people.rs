//! Who a customer is: name, gender, birthday, contact details, home city, habits.
//!
//! None of this is stored: every attribute is a pure function of the stream key and the
//! customer number, so a million customers cost nothing here and a customer's phone is the
//! same in every line. Identifiers that must be unique (phone, member card, email, device)
//! come from bijective scrambles of the customer number rather than from the hash.

use crate::catalog::{CITIES, CITY_WEIGHTS, Catalog, is_chinese_city};
use crate::sample::{Rng, below, choose, mix64, weighted_index};
use crate::write::Str;

const SURNAMES: [(&str, &str); 30] = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
];

const MALE_GIVEN: [(&str, &str); 20] = [
    ("伟", "wei"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("浩然", "haoran"),
    ("子轩", "zixuan"),
    ("宇航", "yuhang"),
    ("俊杰", "junjie"),
    ("志强", "zhiqiang"),
    ("建华", "jianhua"),
    ("鹏", "peng"),
    ("斌", "bin"),
    ("辉", "hui"),
    ("刚", "gang"),
];

const FEMALE_GIVEN: [(&str, &str); 20] = [
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("艳", "yan"),
    ("娟", "juan"),
    ("霞", "xia"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("欣怡", "xinyi"),
    ("梓涵", "zihan"),
    ("诗涵", "shihan"),
    ("雨桐", "yutong"),
    ("佳怡", "jiayi"),
    ("慧", "hui"),
    ("玲", "ling"),
    ("琳", "lin"),
    ("颖", "ying"),
];

// English names in lower case, as they appear in email addresses; displayed capitalised.
const ENGLISH_MALE: [&str; 12] =
    ["james", "john", "robert", "michael", "david", "william", "daniel", "oliver", "jack", "thomas", "lucas", "ethan"];

const ENGLISH_FEMALE: [&str; 12] =
    ["emma", "olivia", "sophia", "ava", "mia", "emily", "grace", "chloe", "charlotte", "amelia", "lily", "zoe"];

const ENGLISH_LAST: [&str; 18] = [
    "smith", "johnson", "brown", "taylor", "clark", "wilson", "lee", "wong", "chan", "tan", "walker", "harris",
    "young", "king", "wright", "lewis", "hall", "green",
];

const CHINESE_MAIL: [&str; 6] = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com"];
const ENGLISH_MAIL: [&str; 4] = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com"];

const PHONE_PREFIXES: [u64; 20] =
    [138, 139, 135, 136, 137, 150, 151, 152, 158, 159, 186, 187, 188, 131, 132, 155, 185, 133, 189, 199];

/// Gender spellings seen in the wild; the data dictionary normalises them.
const MALE_SPELLINGS: [&str; 7] = ["男", "男", "male", "M", "m", "1", "Male"];
const FEMALE_SPELLINGS: [&str; 7] = ["女", "女", "female", "F", "f", "2", "Female"];

/// Mobile OS and marketing-channel preferences.
pub(crate) const ONLINE_CHANNELS: [&str; 3] = ["app", "web", "mini_program"];
const CHANNEL_WEIGHTS: [u32; 3] = [45, 30, 25];

/// Salts of the attributes: each attribute has its own hash, so none is correlated with
/// another by sharing bits.
mod salt {
    pub(super) const CITY: u64 = 1;
    pub(super) const CHANNEL: u64 = 2;
    pub(super) const OS: u64 = 3;
    pub(super) const DESKTOP: u64 = 4;
    pub(super) const OMNI: u64 = 5;
    pub(super) const CARD: u64 = 6;
    pub(super) const DEVICE: u64 = 7;
    pub(super) const ENGLISH: u64 = 8;
    pub(super) const MALE: u64 = 9;
    pub(super) const STORE: u64 = 10;
    pub(super) const PREFIX: u64 = 11;
    pub(super) const SURNAME: u64 = 12;
    pub(super) const GIVEN: u64 = 13;
    pub(super) const BIRTHDAY: u64 = 14;
    pub(super) const MAIL: u64 = 15;
}

/// A customer's derived attributes.
#[derive(Clone, Copy)]
pub(crate) struct Person {
    /// Customer number, 0-based (printed 1-based).
    c: u32,
    key: u64,
    h: u64,
}

impl Person {
    pub(crate) fn of(key: u64, c: u32) -> Self {
        Person { c, key, h: mix64(key ^ u64::from(c)) }
    }

    /// The hash behind one attribute.
    fn attr(&self, salt: u64) -> u64 {
        mix64(self.h.wrapping_add(salt.wrapping_mul(0xD6E8_FEB8_6659_FD93)))
    }

    /// True for a share `per_mille / 1000` of people.
    fn has(&self, salt: u64, per_mille: u64) -> bool {
        self.attr(salt) % 1000 < per_mille
    }

    /// Index into [`CITIES`].
    pub(crate) fn city(&self) -> usize {
        weighted_index(self.attr(salt::CITY), &CITY_WEIGHTS)
    }

    /// Preferred online channel, an index into [`ONLINE_CHANNELS`].
    pub(crate) fn channel(&self) -> usize {
        weighted_index(self.attr(salt::CHANNEL), &CHANNEL_WEIGHTS)
    }

    /// The customer's phone OS.
    pub(crate) fn mobile_os(&self) -> &'static str {
        if self.has(salt::OS, 430) { "ios" } else { "android" }
    }

    /// Whether the customer browses the web on a desktop rather than the phone.
    pub(crate) fn desktop(&self) -> bool {
        self.has(salt::DESKTOP, 600)
    }

    /// Whether the customer also shops in physical stores (only where there are stores).
    pub(crate) fn omni(&self) -> bool {
        self.has(salt::OMNI, 430) && CITIES[self.city()].2 > 0
    }

    /// Whether the customer holds a member card (shown at the till instead of the phone).
    pub(crate) fn has_card(&self) -> bool {
        self.has(salt::CARD, 500)
    }

    /// Whether the customer browsed anonymously on a device before signing up.
    pub(crate) fn links_device(&self) -> bool {
        self.has(salt::DEVICE, 800)
    }

    /// Whether the customer has an English name and mostly writes in English: everyone
    /// outside China, a few inside.
    pub(crate) fn english(&self) -> bool {
        !is_chinese_city(self.city()) || self.has(salt::ENGLISH, 80)
    }

    fn male(&self) -> bool {
        self.has(salt::MALE, 490)
    }

    /// The customer's usual store, if they shop offline.
    pub(crate) fn home_store(&self, catalog: &Catalog) -> Option<u32> {
        catalog.store_in(self.city(), self.attr(salt::STORE))
    }

    /// The 11-digit mobile number, unique per customer: the last eight digits are an affine
    /// bijection of the customer number modulo 10^8.
    pub(crate) fn phone(&self) -> u64 {
        let prefix = PHONE_PREFIXES[(self.attr(salt::PREFIX) % PHONE_PREFIXES.len() as u64) as usize];
        let suffix = (u64::from(self.c) * 7_654_321 + self.key % 100_000_000) % 100_000_000;
        prefix * 100_000_000 + suffix
    }

    /// Member-card number (8 digits), unique per customer: a bijection modulo 9 * 10^7.
    pub(crate) fn member_card(&self) -> u64 {
        10_000_000 + (u64::from(self.c) * 7_777_777 + (self.key >> 20) % 90_000_000) % 90_000_000
    }

    /// The number of the device the customer used before signing up, unique and distinct
    /// from anonymous visitors' devices (which have the top bit of 32 set).
    pub(crate) fn device(&self) -> u64 {
        device_number(self.key, u64::from(self.c))
    }

    /// Writes the display name, e.g. `张伟` or `Emma Clark`.
    pub(crate) fn write_name(&self, s: &mut Str) {
        if self.english() {
            s.capitalized(self.english_first()).text(" ").capitalized(self.english_last());
        } else {
            let (surname, given) = self.chinese_name();
            s.text(surname.0).text(given.0);
        }
    }

    fn chinese_name(&self) -> ((&'static str, &'static str), (&'static str, &'static str)) {
        // The square skews towards the common surnames at the front of the table.
        let r = self.attr(salt::SURNAME) & 0xFFFF;
        let surname = SURNAMES[((r * r * SURNAMES.len() as u64) >> 32) as usize];
        let given = if self.male() { &MALE_GIVEN } else { &FEMALE_GIVEN };
        (surname, given[(self.attr(salt::GIVEN) % given.len() as u64) as usize])
    }

    fn english_first(&self) -> &'static str {
        let names = if self.male() { &ENGLISH_MALE } else { &ENGLISH_FEMALE };
        names[(self.attr(salt::GIVEN) % names.len() as u64) as usize]
    }

    fn english_last(&self) -> &'static str {
        ENGLISH_LAST[(self.attr(salt::SURNAME) % ENGLISH_LAST.len() as u64) as usize]
    }

    /// Writes the gender in one of its many spellings.
    pub(crate) fn write_gender(&self, s: &mut Str, rng: &mut Rng) {
        let spellings = if self.male() { &MALE_SPELLINGS } else { &FEMALE_SPELLINGS };
        s.text(choose(rng, spellings));
    }

    /// Writes the email address. The address is fixed per customer; its spelling is not:
    /// mostly lower case, sometimes capitalised, now and then with stray spaces.
    pub(crate) fn write_email(&self, s: &mut Str, rng: &mut Rng) {
        let style = below(rng, 100);
        if style < 4 {
            s.text(" ");
        }
        let number = (u64::from(self.c) * 48_271 + self.key % 100_000_000) % 100_000_000;
        let capital = (4..14).contains(&style);
        let part = |s: &mut Str, text: &str| {
            if capital {
                s.capitalized(text);
            } else {
                s.text(text);
            }
        };
        let domain = if self.english() {
            part(s, self.english_first());
            s.text(".");
            part(s, self.english_last());
            ENGLISH_MAIL[(self.attr(salt::MAIL) % ENGLISH_MAIL.len() as u64) as usize]
        } else {
            let (surname, given) = self.chinese_name();
            part(s, surname.1);
            s.text(given.1);
            CHINESE_MAIL[(self.attr(salt::MAIL) % CHINESE_MAIL.len() as u64) as usize]
        };
        s.num(number).text("@");
        if capital {
            s.upper(domain);
        } else {
            s.text(domain);
        }
        if style < 4 {
            s.text(" ");
        }
    }

    /// Writes the phone: plain 11 digits mostly, otherwise with +86, dashes or spaces.
    pub(crate) fn write_phone(&self, s: &mut Str, rng: &mut Rng) {
        let p = self.phone();
        let (head, mid, tail) = (p / 100_000_000, p / 10_000 % 10_000, p % 10_000);
        match below(rng, 20) {
            0 | 1 => s.text("+86 ").num(head).text("-").padded(mid, 4).text("-").padded(tail, 4),
            2 | 3 => s.text("+86").num(p),
            4 => s.num(head).text(" ").padded(mid, 4).text(" ").padded(tail, 4),
            _ => s.num(p),
        };
    }

    /// Writes the birthday, mostly ISO, sometimes `1990/5/1` or `19900501`.
    pub(crate) fn write_birthday(&self, s: &mut Str, rng: &mut Rng) {
        let b = self.attr(salt::BIRTHDAY);
        let year = 1960 + b % 48;
        let month = 1 + b / 48 % 12;
        let day = 1 + b / (48 * 12) % 28;
        match below(rng, 20) {
            0 | 1 => s.num(year).text("/").num(month).text("/").num(day),
            2 => s.num(year).padded(month, 2).padded(day, 2),
            _ => s.num(year).text("-").padded(month, 2).text("-").padded(day, 2),
        };
    }
}

/// Device numbers: customers' own devices below 2^31, anonymous visitors' from 2^31 up. An
/// odd multiplier modulo 2^31 is a bijection, so no two devices share a number.
pub(crate) fn device_number(key: u64, n: u64) -> u64 {
    (n.wrapping_mul(0x9E37_79B1).wrapping_add(key)) & 0x7FFF_FFFF
}

/// The device of anonymous visitor `v` (never a customer's).
pub(crate) fn visitor_device(key: u64, v: u64) -> u64 {
    (1 << 31) | device_number(key.rotate_left(29), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The raw inside of a string field written by `f`.
    fn string(f: impl FnOnce(&mut Str)) -> String {
        let mut out = Vec::new();
        crate::write::Line::start(&mut out, "m").str_with("v", f).finish(0);
        let line = String::from_utf8(out).expect("UTF-8");
        let start = line.find('"').expect("opening quote") + 1;
        let end = line.rfind('"').expect("closing quote");
        line[start..end].to_string()
    }

    #[test]
    fn identifiers_are_unique() {
        let key = 12_345;
        let n = 200_000u32;
        let mut phones: Vec<u64> = (0..n).map(|c| Person::of(key, c).phone()).collect();
        let mut cards: Vec<u64> = (0..n).map(|c| Person::of(key, c).member_card()).collect();
        let mut devices: Vec<u64> = (0..n).map(|c| Person::of(key, c).device()).collect();
        devices.extend((0..n).map(|v| visitor_device(key, u64::from(v))));
        for v in [&mut phones, &mut cards, &mut devices] {
            let len = v.len();
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), len);
        }
        assert!(phones.iter().all(|&p| (13_000_000_000..20_000_000_000).contains(&p)));
        assert!(cards.iter().all(|&c| (10_000_000..100_000_000).contains(&c)));
    }

    #[test]
    fn spellings_keep_the_digits() {
        let mut rng = Rng::seed_from_u64(5);
        let person = Person::of(7, 42);
        for _ in 0..50 {
            let phone = string(|s| person.write_phone(s, &mut rng));
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let digits = digits.strip_prefix("86").unwrap_or(&digits);
            assert_eq!(digits, person.phone().to_string(), "{phone}");
            let email = string(|s| person.write_email(s, &mut rng)).to_lowercase();
            assert!(email.contains('@') && email.contains(".com"), "{email}");
        }
    }
}
