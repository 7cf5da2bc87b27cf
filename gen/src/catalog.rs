//! The shop: products with prices and Zipf popularity, cities with their stores, campaigns.

use crate::sample::{AliasTable, Rng, below};

/// Number of SKUs in the catalogue.
pub(crate) const SKUS: usize = 3_000;

/// Product categories: SKU prefix, URL slug, and the price-ladder step of a typical item.
const CATEGORIES: [(&str, &str, usize); 12] = [
    ("A-", "apparel", 8),
    ("B-", "shoes", 10),
    ("C-", "beauty", 7),
    ("D-", "baby", 6),
    ("E-", "food", 1),
    ("F-", "home", 6),
    ("G-", "digital", 14),
    ("H-", "phones", 19),
    ("I-", "sports", 8),
    ("J-", "books", 2),
    ("K-", "appliances", 15),
    ("L-", "pets", 3),
];

/// Shop price points in cents. The ladder is roughly geometric, so a symmetric spread of
/// steps around a category's typical step gives log-normal-like prices with a long tail.
const PRICE_LADDER: [u32; 26] = [
    990, 1_990, 2_990, 3_900, 4_990, 5_990, 7_900, 9_900, 12_900, 15_900, 19_900, 25_900, 29_900, 39_900, 49_900,
    59_900, 79_900, 99_900, 129_900, 199_900, 299_900, 399_900, 589_900, 799_900, 999_900, 1_299_900,
];

/// Cities with relative customer share and number of physical stores. Some English names
/// carry a space or a comma, which tag values must escape.
pub(crate) const CITIES: [(&str, u32, u32); 16] = [
    ("上海", 180, 4),
    ("北京", 160, 4),
    ("广州", 110, 3),
    ("深圳", 110, 3),
    ("杭州", 90, 2),
    ("成都", 80, 2),
    ("武汉", 50, 1),
    ("南京", 50, 1),
    ("西安", 35, 1),
    ("重庆", 35, 1),
    ("苏州", 30, 1),
    ("Hong Kong", 30, 0),
    ("Singapore", 20, 0),
    ("London", 10, 0),
    ("New York", 10, 0),
    ("Washington, D.C.", 5, 0),
];

/// The cities' weights, for `weighted_index`.
pub(crate) const CITY_WEIGHTS: [u32; 16] = {
    let mut w = [0; 16];
    let mut i = 0;
    while i < 16 {
        w[i] = CITIES[i].1;
        i += 1;
    }
    w
};

/// True for cities whose customers get Chinese names by default.
pub(crate) fn is_chinese_city(city: usize) -> bool {
    !CITIES[city].0.is_ascii()
}

/// Marketing campaigns; some names need escaping as tag values (space, comma, equals sign,
/// backslash). Budget in yuan.
pub(crate) const CAMPAIGNS: [(&str, u64); 8] = [
    ("double11", 2_000_000),
    ("618", 1_500_000),
    ("spring sale", 300_000),
    ("back to school", 200_000),
    ("new year, new you", 250_000),
    ("vip tier=gold", 100_000),
    ("A\\B test 7", 20_000),
    ("会员日", 150_000),
];

/// Products and stores.
pub(crate) struct Catalog {
    prices: Vec<u32>,
    popularity: AliasTable,
    /// First store number of each city; the last entry is one past the last store.
    first_store: [u32; 17],
}

impl Catalog {
    pub(crate) fn new(rng: &mut Rng) -> Self {
        let prices = (0..SKUS)
            .map(|sku| {
                let typical = CATEGORIES[sku % CATEGORIES.len()].2;
                // Sum of three small uniforms: a bell around the typical step.
                let spread: usize = (0..3).map(|_| below(rng, 3) as usize).sum();
                let step = (typical + spread).saturating_sub(3).min(PRICE_LADDER.len() - 1);
                PRICE_LADDER[step]
            })
            .collect();
        let popularity = AliasTable::zipf_shuffled(SKUS, 7, rng);
        let mut first_store = [0; 17];
        let mut next = 1;
        for (i, city) in CITIES.iter().enumerate() {
            first_store[i] = next;
            next += city.2;
        }
        first_store[16] = next;
        Catalog { prices, popularity, first_store }
    }

    /// A SKU by popularity.
    pub(crate) fn popular_sku(&self, r: u64) -> u16 {
        self.popularity.sample(r) as u16
    }

    /// Price of a SKU in cents.
    pub(crate) fn price(&self, sku: u16) -> u64 {
        u64::from(self.prices[usize::from(sku)])
    }

    /// Total number of stores (`s-1` to `s-<n>`).
    pub(crate) fn store_count(&self) -> u32 {
        self.first_store[16] - 1
    }

    /// The number of the `k`-th store of `city`, if the city has stores.
    pub(crate) fn store_in(&self, city: usize, k: u64) -> Option<u32> {
        let n = CITIES[city].2;
        (n > 0).then(|| self.first_store[city] + (k % u64::from(n)) as u32)
    }

    /// The city of store number `store`.
    pub(crate) fn store_city(&self, store: u32) -> usize {
        self.first_store[..16].iter().rposition(|&first| first <= store).unwrap_or(0)
    }
}

/// SKU name, e.g. `A-17`: category prefix and number within the category.
pub(crate) fn sku_parts(sku: u16) -> (&'static str, u64) {
    let n = CATEGORIES.len() as u16;
    (CATEGORIES[usize::from(sku % n)].0, u64::from(sku / n) + 1)
}

/// URL slug of a SKU's category.
pub(crate) fn category_slug(sku: u16) -> &'static str {
    CATEGORIES[usize::from(sku) % CATEGORIES.len()].1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn stores_belong_to_their_city() {
        let catalog = Catalog::new(&mut Rng::seed_from_u64(1));
        assert_eq!(catalog.store_count(), 23);
        for city in 0..CITIES.len() {
            for k in 0..5 {
                if let Some(store) = catalog.store_in(city, k) {
                    assert_eq!(catalog.store_city(store), city);
                }
            }
        }
        assert_eq!(catalog.store_in(11, 0), None);
        assert!(is_chinese_city(0) && !is_chinese_city(11));
    }

    #[test]
    fn sku_names() {
        assert_eq!(sku_parts(0), ("A-", 1));
        assert_eq!(sku_parts(13), ("B-", 2));
        assert_eq!(category_slug(7), "phones");
    }
}
