//! Identifier types and their guardrails.
//!
//! Types are stored as one byte. The five built-in types keep their numbers forever; types
//! declared in a data dictionary are numbered after them in order of first use and the list
//! is persisted, so a byte always means the same type in one store.
//!
//! Guardrails follow what identity-resolution products learned the hard way: a shared
//! device, a shop's phone number or a placeholder like `anonymous` must not fuse thousands of
//! people into one. Each type has a maximum number of values per customer, blocked values,
//! and a priority: the event's key is its highest-priority identifier, and lower ones are
//! linked to it one by one while no maximum is exceeded.

use std::collections::BTreeMap;

/// The built-in identifier types, in stored-byte order (1-based).
pub const BUILTIN_TYPES: [&str; 5] = ["customer", "anon", "email", "phone", "member_card"];

/// Values refused for every type unless its rule lists its own (compared case-insensitively
/// after trimming): placeholders that clients send when they know nothing.
pub const DEFAULT_BLOCKED: [&str; 11] =
    ["", "null", "nil", "none", "undefined", "unknown", "anonymous", "0", "-1", "n/a", "na"];

/// The identifier types a store knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTypes {
    names: Vec<String>,
}

impl Default for IdTypes {
    fn default() -> Self {
        IdTypes { names: BUILTIN_TYPES.iter().map(|s| (*s).to_owned()).collect() }
    }
}

impl IdTypes {
    /// Built-ins plus the persisted declared types.
    pub(crate) fn with_declared(declared: Vec<String>) -> Self {
        let mut types = IdTypes::default();
        types.names.extend(declared);
        types
    }

    /// The declared (non built-in) types, as persisted.
    pub(crate) fn declared(&self) -> &[String] {
        &self.names[BUILTIN_TYPES.len()..]
    }

    /// Name of the type stored as `kind`.
    pub fn name(&self, kind: u8) -> &str {
        self.names.get(usize::from(kind).wrapping_sub(1)).map_or("unknown", String::as_str)
    }

    /// Byte of type `name`.
    pub fn kind(&self, name: &str) -> Option<u8> {
        self.names.iter().position(|n| n == name).map(|i| i as u8 + 1)
    }

    /// Byte of type `name`, adding it when new; `None` when 255 types exist.
    pub(crate) fn register(&mut self, name: &str) -> Option<u8> {
        if let Some(k) = self.kind(name) {
            return Some(k);
        }
        if self.names.len() >= 255 {
            return None;
        }
        self.names.push(name.to_owned());
        Some(self.names.len() as u8)
    }

    /// Every (byte, name).
    pub fn iter(&self) -> impl Iterator<Item = (u8, &str)> {
        self.names.iter().enumerate().map(|(i, n)| (i as u8 + 1, n.as_str()))
    }
}

/// The guardrail of one identifier type, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRule {
    /// Most values of this type one customer may have.
    pub max: u32,
    /// Values never used as identifiers (compared case-insensitively, trimmed).
    pub blocked: Vec<String>,
    /// Lower is stronger: an event is keyed by its strongest identifier.
    pub priority: u32,
}

impl IdRule {
    /// The default rule of a type: one customer id or member card, a few emails and phones,
    /// five devices.
    pub fn default_for(name: &str) -> IdRule {
        let (max, priority) = match name {
            "customer" => (1, 10),
            "member_card" => (1, 20),
            "email" => (3, 30),
            "phone" => (3, 40),
            "anon" => (5, 60),
            _ => (5, 50),
        };
        IdRule { max, blocked: DEFAULT_BLOCKED.iter().map(|s| (*s).to_owned()).collect(), priority }
    }

    /// Whether `value` is a blocked placeholder.
    pub fn blocks(&self, value: &str) -> bool {
        let v = value.trim();
        self.blocked.iter().any(|b| b.len() == v.len() && b.eq_ignore_ascii_case(v))
    }
}

/// Which tags/fields carry which identifier type, strongest first, and each type's rule:
/// what the writer needs to key and link events.
#[derive(Debug, Clone)]
pub(crate) struct IdentityPlan {
    /// (field or tag name, type byte), by priority.
    pub(crate) fields: Vec<(String, u8)>,
    /// Rule per type byte (index = byte).
    pub(crate) rules: Vec<IdRule>,
    /// Every type byte once, strongest first: the order a look-up by value tries them in.
    pub(crate) lookup: Vec<u8>,
}

impl IdentityPlan {
    /// The plan for `fields` (name -> type name) and rule overrides, registering new types.
    pub(crate) fn new(
        types: &mut IdTypes,
        fields: &[(String, String)],
        overrides: &BTreeMap<String, IdRule>,
    ) -> Result<IdentityPlan, String> {
        let mut named: Vec<(String, String)> = fields.to_vec();
        // Without a dictionary (or one that leaves them out) the foundation's names still key
        // events.
        for builtin in ["customer", "anon"] {
            if !named.iter().any(|(f, t)| f == builtin || t == builtin) {
                named.push((builtin.to_owned(), builtin.to_owned()));
            }
        }
        let mut out = Vec::with_capacity(named.len());
        for (field, ty) in named {
            let kind = types.register(&ty).ok_or_else(|| format!("too many identifier types (at {ty:?})"))?;
            out.push((field, kind));
        }
        let rule_of = |name: &str| overrides.get(name).cloned().unwrap_or_else(|| IdRule::default_for(name));
        let rules: Vec<IdRule> =
            (0..=types.iter().count()).map(|k| rule_of(if k == 0 { "" } else { types.name(k as u8) })).collect();
        out.sort_by_key(|(field, kind)| (rules[usize::from(*kind)].priority, field.clone()));
        // Slots are bits of a u64 in `identifiers`.
        out.truncate(64);
        let mut lookup: Vec<u8> = Vec::new();
        for kind in out.iter().map(|(_, k)| *k).chain(types.iter().map(|(k, _)| k)) {
            if !lookup.contains(&kind) {
                lookup.push(kind);
            }
        }
        Ok(IdentityPlan { fields: out, rules, lookup })
    }

    /// Index in `fields` of the tag or field called `name`.
    pub(crate) fn slot_of(&self, name: &str) -> Option<usize> {
        // A handful of names: comparing beats hashing.
        self.fields.iter().position(|(f, _)| f.len() == name.len() && f == name)
    }

    /// The rule of type byte `kind`.
    pub(crate) fn rule(&self, kind: u8) -> &IdRule {
        &self.rules[usize::from(kind).min(self.rules.len() - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_order_identifiers_by_priority_and_keep_builtin_numbers() {
        let mut types = IdTypes::default();
        let fields = vec![
            ("phone".to_owned(), "phone".to_owned()),
            ("wechat_openid".to_owned(), "wechat".to_owned()),
            ("customer".to_owned(), "customer".to_owned()),
        ];
        let mut overrides = BTreeMap::new();
        overrides.insert("wechat".to_owned(), IdRule { max: 2, blocked: vec!["oAAA".into()], priority: 35 });
        let plan = IdentityPlan::new(&mut types, &fields, &overrides).expect("plan");
        let order: Vec<&str> = plan.fields.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(order, ["customer", "wechat_openid", "phone", "anon"]);
        assert_eq!(types.kind("wechat"), Some(6));
        assert_eq!(types.declared(), ["wechat".to_owned()]);
        assert_eq!((types.kind("customer"), types.kind("anon"), types.name(4)), (Some(1), Some(2), "phone"));
        assert!(plan.rule(6).blocks(" oaaa "));
        assert!(plan.rule(2).blocks("Anonymous") && plan.rule(2).blocks("") && !plan.rule(2).blocks("d-1"));
        assert_eq!(plan.rule(1).max, 1);
    }
}
