//! A message's content for one customer: what the template is given (their name, gender and
//! locale, traits, computed traits, scores, the event that started the journey,
//! recommendations, a coupon), rendered and fitted to the channel. The daemon sends it; the
//! template preview shows it.

use cxp_store::{CustomerView, Store, Value};

use super::channel::{Adapted, adapt};
use super::def::{Channel, Definitions, Settings};
use super::instance::Message;
use super::template::RenderContext;
use crate::recommend::Related;

/// A trait's value as text.
pub fn trait_text(view: &CustomerView, name: &str) -> Option<String> {
    view.traits.iter().find(|t| t.name == name).map(|t| match &t.value {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    })
}

fn identifier(view: &CustomerView, kind: &str) -> Option<String> {
    view.identifiers.iter().find(|(k, _)| k == kind).map(|(_, v)| v.clone())
}

/// The address of a customer on a channel (a phone for SMS, an email address), if any.
pub fn address(view: &CustomerView, channel: Channel) -> Option<String> {
    match channel {
        Channel::Sms => identifier(view, "phone").or_else(|| trait_text(view, "phone")),
        Channel::Email => identifier(view, "email").or_else(|| trait_text(view, "email")),
        Channel::Push => view.identifiers.first().map(|(k, v)| format!("{k}={v}")),
        Channel::Webhook | Channel::Social => None,
    }
}

/// A coupon code derived from the message key: the same message, the same code.
pub fn coupon_code(key: &str) -> String {
    let h = crate::experiment::growthbook_hash("coupon", key);
    format!("CXP{:06}", (h * 1_000_000.0) as u64)
}

/// The locale of a customer: their `locale` (or `language`) trait's language part, else the
/// default.
pub fn locale_of(view: Option<&CustomerView>, settings: &Settings) -> String {
    view.and_then(|v| trait_text(v, "locale").or_else(|| trait_text(v, "language")))
        .map(|l| l.split(['-', '_']).next().unwrap_or("").to_lowercase())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| settings.locale.clone())
}

/// What template `m` is rendered with for the customer of `view`.
pub fn context_for(
    store: &Store,
    settings: &Settings,
    m: &Message,
    view: Option<&CustomerView>,
    recommendations: &[Related],
    coupon: bool,
) -> RenderContext {
    let mut ctx = RenderContext {
        locale: locale_of(view, settings),
        link: format!("{}{}m={}", settings.link, if settings.link.contains('?') { '&' } else { '?' }, m.id),
        ..RenderContext::default()
    };
    if let Some(v) = view {
        ctx.name = trait_text(v, "name");
        ctx.gender = v.traits.iter().find(|t| t.name == "gender").and_then(|t| t.value.as_f64()).unwrap_or(0.0) as i64;
        for t in &v.traits {
            ctx.customer.insert(t.name.clone(), crate::api::json_value(&t.value));
        }
        for c in &v.computed {
            if let Some(val) = &c.value {
                ctx.computed.insert(c.name.clone(), crate::api::json_value(val));
            }
        }
    }
    ctx.event = m.vars.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    ctx.scores = store.scores_of(m.root).unwrap_or_default().iter().map(|(k, v)| (k.clone(), f64::from(*v))).collect();
    ctx.recommendations =
        recommendations.iter().map(|r| serde_json::json!({ "item": r.item, "score": r.score })).collect();
    if coupon {
        ctx.coupon = Some(coupon_code(&m.key));
    }
    ctx
}

/// Renders `m` with `ctx` and fits it to its channel: the content and the locale used.
pub fn render_for(defs: &Definitions, m: &Message, ctx: &RenderContext) -> Result<(Adapted, String), String> {
    let parts = defs.templates.render(&m.template, m.channel, ctx, &defs.settings.locale).map_err(|e| e.to_string())?;
    let locale = if defs.templates.locales(&m.template, m.channel).contains(&ctx.locale) {
        ctx.locale.clone()
    } else {
        defs.settings.locale.clone()
    };
    let adapted = adapt(m.channel, parts, &defs.settings, &locale).map_err(|e| e.to_string())?;
    Ok((adapted, locale))
}
