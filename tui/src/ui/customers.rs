//! 2 Customers: search (names, identifiers, what they wrote; Chinese and English) and the
//! 360 view: identifiers (masked unless the role may see them), traits, computed traits,
//! scores, consent, experiments, the timeline (follow mode) and the messages they got.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Wrap};

use super::{fmt, message, panel, render_table, table};
use crate::app::App;
use crate::keymap::Tab;

/// Rows to move through: search hits, or the opened customer's events.
pub fn rows(app: &App) -> usize {
    if app.open[Tab::Customers.index()] {
        return match &app.data.customer {
            Some(Ok(c)) => c.recent_events.len(),
            _ => 0,
        };
    }
    match &app.data.search {
        Some(Ok(s)) => s.hits.len(),
        _ => 0,
    }
}

/// How to open the selected hit: its identifier, or `#KEY` when the identifier is masked.
pub fn selected_id(app: &App) -> Option<String> {
    let Some(Ok(s)) = &app.data.search else { return None };
    let hit = s.hits.get(app.sel[Tab::Customers.index()])?;
    match hit.customer.as_deref().and_then(|c| c.split_once('=')) {
        Some((_, id)) if !id.contains('*') => Some(id.to_owned()),
        _ => Some(format!("#{}", hit.root)),
    }
}

/// Draws the screen.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    if app.open[Tab::Customers.index()] {
        return view(app, f, area);
    }
    let t = &app.theme;
    match &app.data.search {
        None => message(
            app,
            f,
            area,
            "Customers",
            "Press / and type a name, id, email, phone or words a customer wrote; Enter opens one. \
             :cust ID opens a customer directly.",
        ),
        Some(Err(e)) => message(app, f, area, "Customers", &format!("search failed: {e}")),
        Some(Ok(s)) if s.hits.is_empty() => {
            message(app, f, area, "Customers", &format!("no customer matches {:?}", s.query))
        }
        Some(Ok(s)) => {
            let w = area.width.saturating_sub(40) as usize;
            let rows = s
                .hits
                .iter()
                .map(|h| {
                    Row::new(vec![
                        fmt::fit(h.customer.as_deref().unwrap_or("-"), 24, t.ascii),
                        format!("{:.2}", h.score),
                        fmt::fit(&h.snippet.replace(['\n', '\r'], " "), w, t.ascii),
                    ])
                })
                .collect();
            let title = format!("Search {:?}: {} found", s.query, fmt::num(s.total));
            let table = table(
                app,
                rows,
                vec![Constraint::Length(24), Constraint::Length(6), Constraint::Min(10)],
                Row::new(vec!["customer", "score", "match"]),
                &title,
            );
            render_table(f, table, area, app.sel[Tab::Customers.index()]);
        }
    }
}

fn view(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let who = app.want.customer.clone().unwrap_or_default();
    let c = match &app.data.customer {
        Some(Ok(c)) => c,
        Some(Err(e)) => return message(app, f, area, &who, &format!("cannot open {who}: {e}")),
        None => return message(app, f, area, &who, "loading..."),
    };
    let [left, right] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    // Left: who they are.
    let mut lines: Vec<Line<'_>> = Vec::new();
    let head = |s: &str| Line::from(Span::styled(s.to_owned(), t.strong()));
    let kv = |k: &str, v: String| Line::from(vec![Span::styled(format!("{k}: "), t.dim()), Span::raw(v)]);
    lines.push(kv("key", format!("#{}{}", c.root, if c.masked { " (masked)" } else { "" })));
    lines.push(kv("seen", format!("{} .. {}", fmt::short_time(c.first_seen), fmt::short_time(c.last_seen))));
    lines.push(kv("complete", fmt::pct(c.completeness)));
    lines.push(head("Identifiers"));
    for id in &c.identifiers {
        lines.push(kv(&id.kind, id.id.clone()));
    }
    // Why they are one person: each link and the event that made it.
    if let Some(idn) = app.data.identity.as_ref().filter(|i| i.root == c.root && !i.links.is_empty()) {
        lines.push(head("Linked by"));
        for l in &idn.links {
            lines.push(Line::from(vec![
                Span::raw(format!("{}={} + {}={} ", l.a.kind, l.a.id, l.b.kind, l.b.id)),
                Span::styled(format!("({} {})", l.event, fmt::short_time(l.ts)), t.dim()),
            ]));
        }
        if idn.splits + idn.refusals > 0 {
            lines.push(Line::styled(format!("{} split, {} refused by guardrails", idn.splits, idn.refusals), t.dim()));
        }
    }
    if !c.segments.is_empty() {
        lines.push(head("Segments"));
        lines.push(Line::raw(c.segments.join(", ")));
    }
    if !c.scores.is_empty() {
        lines.push(head("Scores"));
        for (k, v) in &c.scores {
            lines.push(Line::from(vec![
                Span::styled(format!("{k}: "), t.dim()),
                Span::raw(format!("{:.3} ", v)),
                Span::styled(fmt::bar(*v, 10, t.bar_cells()), t.chart()),
            ]));
        }
    }
    if !c.consent.is_empty() {
        lines.push(head("Consent"));
        for (k, v) in &c.consent {
            let given = v["given"].as_bool().unwrap_or(false);
            let (word, style) = if given { ("given", t.good()) } else { ("withdrawn", t.bad()) };
            lines.push(Line::from(vec![Span::styled(format!("{k}: "), t.dim()), Span::styled(word, style)]));
        }
    }
    let experiments: Vec<String> = c
        .recent_events
        .iter()
        .filter_map(|e| {
            let exp = e.tags.get("experiment").cloned().or_else(|| e.fields.get("experiment").map(json_text))?;
            let variant = e.tags.get("variant").cloned().or_else(|| e.fields.get("variant").map(json_text));
            Some(format!("{exp}: {}", variant.unwrap_or_else(|| "?".into())))
        })
        .collect();
    if !experiments.is_empty() {
        lines.push(head("Experiments"));
        let mut seen = std::collections::BTreeSet::new();
        for e in experiments.into_iter().filter(|e| seen.insert(e.clone())) {
            lines.push(Line::raw(e));
        }
    }
    if !c.traits.is_empty() {
        lines.push(head("Traits"));
        for (k, v) in &c.traits {
            lines.push(kv(k, format!("{} ({})", json_text(&v.value), v.source)));
        }
    }
    if !c.computed.is_empty() {
        lines.push(head("Computed"));
        for (k, v) in &c.computed {
            lines.push(kv(k, value_text(k, v)));
        }
    }
    let title = c.customer.clone().unwrap_or_else(|| format!("#{}", c.root));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(panel(app, &title)), left);
    // Right: what they did and what we sent them.
    let msg_h = if app.data.customer_messages.is_empty() {
        3
    } else {
        (app.data.customer_messages.len() as u16 + 3).min(right.height / 3)
    };
    let [timeline, msgs] = Layout::vertical([Constraint::Min(4), Constraint::Length(msg_h)]).areas(right);
    let w = timeline.width.saturating_sub(30) as usize;
    let rows = c
        .recent_events
        .iter()
        .map(|e| {
            let mut what: Vec<String> =
                e.tags.iter().filter(|(k, _)| *k != "customer").map(|(k, v)| format!("{k}={v}")).collect();
            what.extend(e.fields.iter().map(|(k, v)| format!("{k}={}", json_text(v))));
            Row::new(vec![
                fmt::short_time(e.ts),
                fmt::fit(&e.event, 14, t.ascii),
                fmt::fit(&what.join(" "), w, t.ascii),
            ])
        })
        .collect();
    let follow = if app.want.follow { "following, F holds" } else { "held, F follows" };
    let table = table(
        app,
        rows,
        vec![Constraint::Length(11), Constraint::Length(14), Constraint::Min(10)],
        Row::new(vec!["time", "event", "details"]),
        &format!("Timeline ({follow})"),
    );
    render_table(f, table, timeline, app.sel[Tab::Customers.index()]);
    let lines: Vec<Line<'_>> = if app.data.customer_messages.is_empty() {
        vec![Line::styled("no messages", t.dim())]
    } else {
        app.data
            .customer_messages
            .iter()
            .map(|m| {
                let style = match m.state.as_str() {
                    "sent" => t.good(),
                    "dead" | "failed" => t.bad(),
                    _ => t.text(),
                };
                Line::from(vec![
                    Span::raw(format!("{} {} {} ", fmt::short_time(m.queued), m.channel, m.template)),
                    Span::styled(m.state.clone(), style),
                ])
            })
            .collect()
    };
    f.render_widget(Paragraph::new(lines).block(panel(app, "Messages")), msgs);
}

/// A JSON value as plain text (strings without quotes).
pub fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => format!("{x:.2}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A computed trait's value: times (`first_*`, `last_*`, ns since the epoch) as dates.
pub fn value_text(name: &str, v: &serde_json::Value) -> String {
    match v.as_i64() {
        Some(ns) if (name.starts_with("last_") || name.starts_with("first_")) && ns > 1_000_000_000_000_000_000 => {
            fmt::datetime(ns)
        }
        _ => json_text(v),
    }
}
