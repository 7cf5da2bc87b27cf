//! Message templates (minijinja): per channel, per part (an email's subject, HTML and text; a
//! push's title and body), per locale.
//!
//! ```toml
//! [templates.comeback]
//! sms = { zh = "{{ salutation }}，好久不见！{{ link }} 回T退订", en = "{{ salutation }}, ..." }
//! [templates.cart_reminder.email]
//! subject = { zh = "您的购物车还在等您", en = "Your cart is waiting" }
//! text = { zh = "...", en = "..." }
//! html = { zh = "...", en = "..." }
//! ```
//!
//! What a template may read: `salutation` (尊敬的张先生 / Dear Mr. Zhang / 尊敬的客户 when the
//! gender or name is unknown), `name`, `surname`, `customer` (traits), `computed` (computed
//! traits), `scores`, `event` (the fields of the event that started the journey),
//! `recommendations` (items: `item`, `score`), `coupon`, `link`, `opt_out`. Everything about
//! the customer may be missing, so it must be printed with a fallback (`default(...)`) or
//! under an `if`: templates are rendered at load time with a customer about whom nothing is
//! known, in strict mode, and one that prints a missing value is refused then, not at 3 a.m.
//! when a customer without a name comes along.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

use super::def::{Channel, DefError, Settings};
use super::salutation::{opt_out_text, salutation};

/// The variables a template may read.
pub const VARIABLES: [&str; 12] = [
    "salutation",
    "name",
    "surname",
    "customer",
    "computed",
    "scores",
    "event",
    "recommendations",
    "coupon",
    "link",
    "opt_out",
    "locale",
];

/// Parts of each channel, the first one required.
pub fn parts(channel: Channel) -> &'static [&'static str] {
    match channel {
        Channel::Sms => &["body"],
        Channel::Email => &["subject", "text", "html"],
        Channel::Push => &["title", "body"],
        Channel::Webhook => &["body"],
        Channel::Social => &["headline", "offer", "price", "product"],
    }
}

/// One template's sources: channel -> part -> locale -> source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Template {
    /// Sources.
    pub sources: BTreeMap<Channel, BTreeMap<String, BTreeMap<String, String>>>,
}

/// Every template, compiled.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Templates {
    /// By name.
    pub by_name: BTreeMap<String, Template>,
    #[serde(skip)]
    env: Option<std::sync::Arc<Environment<'static>>>,
}

impl PartialEq for Templates {
    fn eq(&self, other: &Self) -> bool {
        self.by_name == other.by_name
    }
}

/// What a message is rendered from (every field optional but the locale).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenderContext {
    /// Locale chosen (`zh`, `en`).
    pub locale: String,
    /// Full name, when known.
    pub name: Option<String>,
    /// Gender code (1 male, 2 female, 0 unknown).
    pub gender: i64,
    /// Traits.
    pub customer: BTreeMap<String, serde_json::Value>,
    /// Computed traits.
    pub computed: BTreeMap<String, serde_json::Value>,
    /// Model scores.
    pub scores: BTreeMap<String, f64>,
    /// Fields of the event that started the journey.
    pub event: BTreeMap<String, serde_json::Value>,
    /// Recommended items.
    pub recommendations: Vec<serde_json::Value>,
    /// A coupon code, when one is offered.
    pub coupon: Option<String>,
    /// The link.
    pub link: String,
}

impl RenderContext {
    fn value(&self) -> Value {
        let (sal, surname) = salutation(&self.locale, self.name.as_deref(), self.gender);
        let mut m: BTreeMap<&str, Value> = BTreeMap::new();
        m.insert("salutation", Value::from(sal));
        m.insert("locale", Value::from(self.locale.clone()));
        m.insert("link", Value::from(self.link.clone()));
        m.insert("opt_out", Value::from(opt_out_text(&self.locale)));
        if let Some(n) = &self.name {
            m.insert("name", Value::from(n.clone()));
        }
        if let Some(s) = surname {
            m.insert("surname", Value::from(s));
        }
        m.insert("customer", Value::from_serialize(&self.customer));
        m.insert("computed", Value::from_serialize(&self.computed));
        m.insert("scores", Value::from_serialize(&self.scores));
        m.insert("event", Value::from_serialize(&self.event));
        m.insert("recommendations", Value::from_serialize(&self.recommendations));
        if let Some(c) = &self.coupon {
            m.insert("coupon", Value::from(c.clone()));
        }
        Value::from_iter(m)
    }
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No such template, channel or locale.
    #[error("{0}")]
    Missing(String),
    /// minijinja failed.
    #[error("template {template} ({channel}.{part}.{locale}): {why}")]
    Failed {
        /// Template.
        template: String,
        /// Channel.
        channel: String,
        /// Part.
        part: String,
        /// Locale.
        locale: String,
        /// What went wrong.
        why: String,
    },
}

fn key(name: &str, channel: Channel, part: &str, locale: &str) -> String {
    format!("{name}/{}/{part}/{locale}", channel.name())
}

impl Templates {
    /// Compiles and checks the `[templates]` tables of an automation file.
    pub fn parse(raw: BTreeMap<String, toml::Value>, settings: &Settings) -> Result<Templates, DefError> {
        let bad = |place: String, why: String| DefError { place, why };
        let mut by_name = BTreeMap::new();
        for (name, t) in raw {
            let place = format!("templates.{name}");
            let toml::Value::Table(channels) = t else {
                return Err(bad(place, "a table of channels (sms, email, push, webhook, social)".into()));
            };
            let mut tpl = Template::default();
            for (ch, v) in channels {
                let cplace = format!("{place}.{ch}");
                let channel = Channel::parse(&ch).ok_or_else(|| bad(cplace.clone(), "unknown channel".into()))?;
                let allowed = parts(channel);
                let mut by_part: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
                let single = allowed.len() == 1;
                match v {
                    toml::Value::String(s) if single => {
                        by_part.insert(allowed[0].into(), [(settings.locale.clone(), s)].into());
                    }
                    toml::Value::Table(t) if single && t.values().all(|v| v.is_str()) => {
                        by_part.insert(allowed[0].into(), locales(&cplace, t)?);
                    }
                    toml::Value::Table(t) => {
                        for (part, pv) in t {
                            let pplace = format!("{cplace}.{part}");
                            if !allowed.contains(&part.as_str()) {
                                return Err(bad(pplace, format!("{ch} has the parts {}", allowed.join(", "))));
                            }
                            let l = match pv {
                                toml::Value::String(s) => [(settings.locale.clone(), s)].into(),
                                toml::Value::Table(t) => locales(&pplace, t)?,
                                _ => return Err(bad(pplace, "a text, or a table of texts by locale".into())),
                            };
                            by_part.insert(part, l);
                        }
                    }
                    _ => return Err(bad(cplace, "a text, or a table of parts or locales".into())),
                }
                if !by_part.contains_key(allowed[0]) {
                    return Err(bad(cplace, format!("the {} part is required", allowed[0])));
                }
                tpl.sources.insert(channel, by_part);
            }
            by_name.insert(name, tpl);
        }
        let mut t = Templates { by_name, env: None };
        t.compile()?;
        Ok(t)
    }

    fn compile(&mut self) -> Result<(), DefError> {
        let mut env = Environment::new();
        // Strict but for `if`: printing a missing value is an error, testing for one is not.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let mut seen_locales: BTreeSet<String> = BTreeSet::new();
        for (name, t) in &self.by_name {
            for (ch, parts) in &t.sources {
                for (part, locales) in parts {
                    for (locale, src) in locales {
                        seen_locales.insert(locale.clone());
                        let k = key(name, *ch, part, locale);
                        let place = format!("templates.{name}.{}.{part}.{locale}", ch.name());
                        env.add_template_owned(k.clone(), src.clone())
                            .map_err(|e| DefError { place: place.clone(), why: e.to_string() })?;
                        let tmpl =
                            env.get_template(&k).map_err(|e| DefError { place: place.clone(), why: e.to_string() })?;
                        let mut unknown: Vec<String> = tmpl
                            .undeclared_variables(false)
                            .into_iter()
                            .filter(|v| !VARIABLES.contains(&v.as_str()))
                            .collect();
                        unknown.sort();
                        if !unknown.is_empty() {
                            return Err(DefError {
                                place,
                                why: format!(
                                    "unknown variable {} (known: {})",
                                    unknown.join(", "),
                                    VARIABLES.join(", ")
                                ),
                            });
                        }
                    }
                }
            }
        }
        // Every part in every locale any template has: a customer whose locale is missing
        // would otherwise get nothing.
        for (name, t) in &self.by_name {
            for (ch, parts) in &t.sources {
                for (part, locales) in parts {
                    if let Some(missing) = seen_locales.iter().find(|l| !locales.contains_key(*l)) {
                        return Err(DefError {
                            place: format!("templates.{name}.{}.{part}", ch.name()),
                            why: format!("no {missing:?} text (other templates have one)"),
                        });
                    }
                }
            }
        }
        self.env = Some(std::sync::Arc::new(env));
        // A customer about whom nothing is known must render everywhere.
        for (name, t) in &self.by_name {
            for (ch, parts) in &t.sources {
                for (part, locales) in parts {
                    for locale in locales.keys() {
                        let ctx =
                            RenderContext { locale: locale.clone(), link: "https://x".into(), ..Default::default() };
                        if let Err(e) = self.render_part(name, *ch, part, &ctx) {
                            return Err(DefError {
                                place: format!("templates.{name}.{}.{part}.{locale}", ch.name()),
                                why: format!(
                                    "{} — print values about the customer with a fallback, e.g. {{{{ customer.city | default(\"\") }}}}",
                                    match e {
                                        RenderError::Failed { why, .. } => why,
                                        other => other.to_string(),
                                    }
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks that `template` exists for `channel` (a journey's send step).
    pub fn check_use(
        &self,
        place: &str,
        template: &str,
        channel: Channel,
        settings: &Settings,
    ) -> Result<(), DefError> {
        let t = self
            .by_name
            .get(template)
            .ok_or_else(|| DefError { place: place.into(), why: format!("no template {template:?}") })?;
        let parts = t.sources.get(&channel).ok_or_else(|| DefError {
            place: place.into(),
            why: format!("template {template:?} has no {} text", channel.name()),
        })?;
        if !parts.values().all(|l| l.contains_key(&settings.locale)) {
            return Err(DefError {
                place: place.into(),
                why: format!("template {template:?} has no text in the default locale {:?}", settings.locale),
            });
        }
        Ok(())
    }

    /// The locales `template` has for `channel`.
    pub fn locales(&self, template: &str, channel: Channel) -> Vec<String> {
        self.by_name
            .get(template)
            .and_then(|t| t.sources.get(&channel))
            .and_then(|p| p.values().next())
            .map(|l| l.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Renders one part.
    pub fn render_part(
        &self,
        template: &str,
        channel: Channel,
        part: &str,
        ctx: &RenderContext,
    ) -> Result<String, RenderError> {
        let env = self.env.as_ref().ok_or_else(|| RenderError::Missing("templates not compiled".into()))?;
        let k = key(template, channel, part, &ctx.locale);
        let tmpl = env.get_template(&k).map_err(|_| {
            RenderError::Missing(format!("template {template:?} has no {}.{part} in {:?}", channel.name(), ctx.locale))
        })?;
        tmpl.render(ctx.value()).map_err(|e| RenderError::Failed {
            template: template.into(),
            channel: channel.name().into(),
            part: part.into(),
            locale: ctx.locale.clone(),
            why: e.to_string(),
        })
    }

    /// Renders every part `template` has for `channel`, in the customer's locale (falling back
    /// to `default_locale` when the template lacks it).
    pub fn render(
        &self,
        template: &str,
        channel: Channel,
        ctx: &RenderContext,
        default_locale: &str,
    ) -> Result<BTreeMap<String, String>, RenderError> {
        let locales = self.locales(template, channel);
        let mut ctx = ctx.clone();
        if !locales.contains(&ctx.locale) {
            ctx.locale = default_locale.to_owned();
        }
        let mut out = BTreeMap::new();
        for part in parts(channel) {
            let has =
                self.by_name.get(template).and_then(|t| t.sources.get(&channel)).is_some_and(|p| p.contains_key(*part));
            if has {
                out.insert((*part).to_owned(), self.render_part(template, channel, part, &ctx)?);
            }
        }
        Ok(out)
    }
}

fn locales(place: &str, t: toml::map::Map<String, toml::Value>) -> Result<BTreeMap<String, String>, DefError> {
    t.into_iter()
        .map(|(l, v)| match v {
            toml::Value::String(s) => Ok((l, s)),
            _ => Err(DefError { place: format!("{place}.{l}"), why: "a text".into() }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Templates, DefError> {
        let raw: BTreeMap<String, toml::Value> = toml::from_str(text).expect("toml");
        Templates::parse(raw, &Settings::default())
    }

    #[test]
    fn salutations_and_fallbacks() {
        let t = parse(
            r#"
[hi]
sms = { zh = "{{ salutation }}，{{ customer.city | default('您所在的城市') }}有新品", en = "{{ salutation }}, new in {{ customer.city | default('your city') }}" }
"#,
        )
        .expect("valid");
        let mut ctx =
            RenderContext { locale: "zh".into(), name: Some("张伟".into()), gender: 1, ..Default::default() };
        ctx.customer.insert("city".into(), "上海".into());
        assert_eq!(t.render_part("hi", Channel::Sms, "body", &ctx).expect("renders"), "尊敬的张先生，上海有新品");
        let ctx = RenderContext { locale: "zh".into(), name: Some("李娜".into()), gender: 2, ..Default::default() };
        assert_eq!(
            t.render_part("hi", Channel::Sms, "body", &ctx).expect("renders"),
            "尊敬的李女士，您所在的城市有新品"
        );
        let ctx = RenderContext { locale: "zh".into(), name: None, gender: 0, ..Default::default() };
        assert_eq!(t.render_part("hi", Channel::Sms, "body", &ctx).expect("renders"), "尊敬的客户，您所在的城市有新品");
        let ctx =
            RenderContext { locale: "en".into(), name: Some("Mary Smith".into()), gender: 2, ..Default::default() };
        assert_eq!(
            t.render_part("hi", Channel::Sms, "body", &ctx).expect("renders"),
            "Dear Ms. Smith, new in your city"
        );
        // A locale the template lacks falls back to the default one.
        let ctx = RenderContext { locale: "fr".into(), ..Default::default() };
        assert_eq!(
            t.render("hi", Channel::Sms, &ctx, "zh").expect("renders")["body"],
            "尊敬的客户，您所在的城市有新品"
        );
    }

    #[test]
    fn mistakes_are_caught_when_loading() {
        let cases = [
            ("[t]\nsms = \"{{ custmer.city }}\"\n", "unknown variable custmer"),
            ("[t]\nsms = \"{{ customer.city }}\"\n", "fallback"),
            ("[t]\nsms = \"{{ salutation \"\n", "templates.t.sms.body.zh"),
            ("[t]\nemail = { text = \"x\" }\n", "the subject part is required"),
            ("[t]\nsms = { zh = \"a\", en = \"b\" }\n[u]\nsms = { zh = \"c\" }\n", "no \"en\" text"),
            ("[t]\nfax = \"x\"\n", "unknown channel"),
        ];
        for (text, want) in cases {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(want), "{err}\n  expected: {want}");
        }
        // Under an `if`, a missing value is fine.
        parse("[t]\nsms = \"{% if coupon %}{{ coupon }}{% endif %}{{ link }}\"\n").expect("valid");
    }
}
