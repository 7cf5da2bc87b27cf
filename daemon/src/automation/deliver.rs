//! Delivery, one thread per channel: take the next message due, decide (consent, caps, quiet
//! hours: at send time), render and fit the content, hand it to the channel's sink, and make
//! the outcome durable with its "why". Failures are retried with exponential backoff (1 s,
//! 2 s, 4 s, ... at most 10 minutes) and given up after `max_attempts` (a dead letter).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxp_query::api::WhyRecord;
use cxp_query::automation::channel::Adapted;
use cxp_query::automation::content::{address, context_for, render_for, trait_text};
use cxp_query::automation::policy::{Decision, Recipient, decide};
use cxp_query::automation::poster::{PosterText, render as poster};
use cxp_query::automation::{Channel, Message};
use cxp_store::{Batch, CustomerView, FieldValue};

use super::sinks::{Delivery, default_sink, deliver as hand_over, messages_dir};
use super::{Automation, lock, state};

const SECOND: i64 = 1_000_000_000;

pub(super) fn run(auto: &Arc<Automation>, channel: Channel) {
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    let min_gap = auto.defs.settings.rate.get(&channel).map(|r| Duration::from_secs_f64(1.0 / f64::from(*r)));
    let mut last = Instant::now() - Duration::from_secs(3600);
    let Some(queue) = auto.queues.get(&channel) else { return };
    while !auto.stopping() {
        let next = {
            let mut waiting = lock(&queue.waiting);
            let now = auto.clock.now();
            match waiting.first_key_value().map(|(k, _)| *k) {
                Some((t, id)) if t <= now => waiting.remove(&(t, id)),
                Some((t, _)) => {
                    let wait = if auto.clock.is_test() { 50 } else { ((t - now) / 1_000_000).clamp(1, 1000) as u64 };
                    let _ = queue.ready.wait_timeout(waiting, Duration::from_millis(wait));
                    None
                }
                None => {
                    let _ = queue
                        .ready
                        .wait_timeout(waiting, Duration::from_millis(if auto.clock.is_test() { 50 } else { 1000 }));
                    None
                }
            }
        };
        let Some(m) = next else { continue };
        if let Some(gap) = min_gap {
            let since = last.elapsed();
            if since < gap {
                std::thread::sleep(gap - since);
            }
        }
        last = Instant::now();
        one(auto, m, &http);
    }
}

/// What the store knows that delivery needs.
struct Profile {
    view: Option<CustomerView>,
    suppressed: bool,
}

fn profile(auto: &Automation, root: u32) -> Profile {
    let Some((_, id)) = auto.store.customer_id(root) else { return Profile { view: None, suppressed: true } };
    let view = auto.store.customer(&id, None).ok().flatten();
    let opted_out = auto.store.opted_out(root).unwrap_or(false);
    Profile { suppressed: view.is_none() || opted_out, view }
}

fn recipient(auto: &Automation, p: &Profile, root: u32, channel: Channel) -> Recipient {
    let sent = lock(&auto.sends)
        .get(&root)
        .map(|v| v.iter().filter(|(c, _)| c == channel.name()).map(|(_, t)| *t).collect())
        .unwrap_or_default();
    let Some(view) = &p.view else { return Recipient { suppressed: true, sent, ..Recipient::default() } };
    Recipient {
        consent: view.consent.iter().map(|(k, v, _)| (k.clone(), *v)).collect(),
        suppressed: p.suppressed,
        timezone: trait_text(view, "timezone"),
        sent,
        reachable: matches!(channel, Channel::Webhook | Channel::Social | Channel::Push)
            || address(view, channel).is_some(),
    }
}

/// A message's content for a customer: rendered and fitted to its channel, with the locale.
pub(super) fn content(
    auto: &Automation,
    m: &Message,
    view: Option<&CustomerView>,
) -> Result<(Adapted, String), String> {
    let item = m.vars.iter().find(|(k, _)| k == "sku").map(|(_, v)| v.as_str());
    let recs = auto.recommender.recommend(Some(m.root), item, 3);
    let scores = auto.store.scores_of(m.root).unwrap_or_default();
    let coupon = auto.recommender.config().coupon.decide(&scores).offer;
    let ctx = context_for(&auto.store, &auto.defs.settings, m, view, &recs, coupon);
    render_for(&auto.defs, m, &ctx)
}

fn why_of(auto: &Automation, m: &Message) -> WhyRecord {
    let existing = auto.db.state(&state::why_key(m.root, m.id)).ok().flatten();
    existing.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_else(|| WhyRecord {
        id: m.id,
        key: m.key.clone(),
        journey: m.journey.clone(),
        step: m.step.clone(),
        channel: m.channel.name().into(),
        template: m.template.clone(),
        arm: m.arm.clone(),
        root: m.root,
        queued: m.created,
        decisions: Vec::new(),
        state: "queued".into(),
        attempts: 0,
        content: None,
        error: None,
    })
}

fn json(v: &impl serde::Serialize) -> Option<Vec<u8>> {
    serde_json::to_vec(v).ok()
}

/// Delivers one message (or defers, suppresses, retries it).
fn one(auto: &Arc<Automation>, mut m: Message, http: &reqwest::blocking::Client) {
    let now = auto.clock.now();
    let channel = m.channel;
    // Delivered before (a restart between the sink and the record): done.
    if auto.db.state(&state::sent_key(&m.key)).ok().flatten().is_some() {
        let _ = auto.db.put_state(vec![(state::outbox_key(m.id), None)]);
        return;
    }
    let p = profile(auto, m.root);
    let who = recipient(auto, &p, m.root, channel);
    let decision = decide(&auto.defs.settings, channel, &who, now);
    let mut why = why_of(auto, &m);
    why.decisions.push((now, decision.clone()));
    let mut entries: state::Entries = Vec::new();
    match decision {
        Decision::Suppress { .. } => {
            why.state = "suppressed".into();
            entries.push((state::outbox_key(m.id), None));
            auto.bump(channel, |c| c.suppressed += 1);
        }
        Decision::Defer { until, .. } => {
            why.state = "deferred".into();
            m.not_before = until;
            entries.push((state::outbox_key(m.id), postcard::to_stdvec(&m).ok()));
            auto.bump(channel, |c| c.deferred += 1);
        }
        Decision::Send => match content(auto, &m, p.view.as_ref()) {
            Err(e) => {
                // Content that cannot be made never will be: no retry.
                why.state = "dead".into();
                why.error = Some(e);
                entries.push((state::outbox_key(m.id), None));
                auto.bump(channel, |c| c.dead += 1);
            }
            Ok((adapted, locale)) => {
                let dir = messages_dir(&auto.options.data);
                let poster_file = (channel == Channel::Social).then(|| {
                    let part = |k: &str| adapted.parts.get(k).cloned().unwrap_or_default();
                    let text = PosterText {
                        headline: part("headline"),
                        offer: part("offer"),
                        product: part("product"),
                        price: part("price"),
                    };
                    let path = dir.join("posters").join(format!("{}.png", m.id));
                    match poster(&text) {
                        Ok(png) => std::fs::create_dir_all(dir.join("posters"))
                            .and_then(|()| std::fs::write(&path, png.png))
                            .map(|()| path.display().to_string())
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                });
                let customer = auto.store.customer_id(m.root).map(|(k, v)| format!("{k}={v}")).unwrap_or_default();
                let delivery = Delivery {
                    id: m.id,
                    key: &m.key,
                    sent_at: now,
                    journey: &m.journey,
                    step: &m.step,
                    customer,
                    to: p.view.as_ref().and_then(|v| address(v, channel)),
                    channel: channel.name(),
                    template: &m.template,
                    locale: &locale,
                    arm: m.arm.as_deref(),
                    content: &adapted.parts,
                    poster: poster_file.clone().and_then(Result::ok),
                };
                let sink =
                    auto.defs.settings.sinks.get(&channel).cloned().unwrap_or_else(|| default_sink(channel.name()));
                let result = match poster_file {
                    Some(Err(e)) => Err(e),
                    _ => hand_over(&sink, &delivery, &dir, http).map_err(|e| e.to_string()),
                };
                why.content = Some(adapted);
                why.attempts += 1;
                m.attempts += 1;
                match result {
                    Ok(()) => {
                        why.state = "sent".into();
                        why.error = None;
                        entries.push((state::outbox_key(m.id), None));
                        entries.push((state::sent_key(&m.key), json(&serde_json::json!({ "id": m.id, "at": now }))));
                        let mut sends = lock(&auto.sends);
                        let list = sends.entry(m.root).or_default();
                        list.push((channel.name().to_owned(), now));
                        // Only what a cap can still count.
                        let horizon = auto.defs.settings.caps.values().map(|c| c.per).max().unwrap_or(0);
                        list.retain(|(_, t)| *t > now - horizon);
                        entries.push((state::sends_key(m.root), json(&*list)));
                        drop(sends);
                        auto.bump(channel, |c| c.sent += 1);
                    }
                    Err(e) if m.attempts >= auto.defs.settings.max_attempts => {
                        why.state = "dead".into();
                        why.error = Some(e);
                        entries.push((state::outbox_key(m.id), None));
                        auto.bump(channel, |c| {
                            c.failed += 1;
                            c.dead += 1;
                        });
                    }
                    Err(e) => {
                        why.state = "failed".into();
                        why.error = Some(e);
                        let backoff = (SECOND << (m.attempts - 1).min(20)).min(600 * SECOND);
                        m.not_before = now + backoff;
                        entries.push((state::outbox_key(m.id), postcard::to_stdvec(&m).ok()));
                        auto.bump(channel, |c| c.failed += 1);
                    }
                }
            }
        },
    }
    entries.push((state::why_key(m.root, m.id), json(&why)));
    entries.push(("auto.counters".into(), json(&*lock(&auto.counters))));
    if let Err(e) = auto.db.put_state(entries) {
        tracing::error!(error = %e, message = m.id, "a message outcome could not be saved");
    }
    if why.state == "sent" {
        sent_event(auto, &m, now);
    }
    if matches!(why.state.as_str(), "deferred" | "failed") {
        auto.enqueue(m);
    }
    auto.remember(why);
}

/// A `message_sent` event on the customer's timeline (source `automation`): messages received
/// show in the 360 view, and conversions can be joined to them.
fn sent_event(auto: &Automation, m: &Message, now: i64) {
    let Some((kind, id)) = auto.store.customer_id(m.root) else { return };
    let mut batch = Batch::new("automation");
    let mut fields = vec![
        ("journey", FieldValue::Str(m.journey.as_str().into())),
        ("step", FieldValue::Str(m.step.as_str().into())),
        ("template", FieldValue::Str(m.template.as_str().into())),
        ("message", FieldValue::Str(m.key.as_str().into())),
    ];
    if let Some(a) = &m.arm {
        fields.push(("variant", FieldValue::Str(a.as_str().into())));
    }
    if batch
        .push_event("message_sent", now, [(kind.as_str(), id.as_str()), ("channel", m.channel.name())], fields)
        .is_ok()
        && let Err(e) = auto.store.write(batch)
    {
        tracing::warn!(error = %e, "the message_sent event could not be written");
    }
}
