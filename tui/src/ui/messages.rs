//! 6 Messages: per channel sent, deferred, suppressed, failed, dead and queued; the latest
//! messages and dead letters; Enter shows why the selected one went (or did not).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Wrap};

use super::{filtered_title, fmt, matches, message, panel, render_table, table};
use crate::app::App;
use crate::keymap::Tab;
use cxp_query::api::WhyRecord;

/// Dead letters then recent messages, passing the filter.
pub fn list(app: &App) -> Vec<&WhyRecord> {
    let f = &app.filter[Tab::Messages.index()];
    let Some(m) = &app.data.messages else { return Vec::new() };
    m.dead_letters
        .iter()
        .chain(m.recent.iter())
        .filter(|w| matches(f, &format!("{} {} {} {} {}", w.channel, w.journey, w.template, w.state, w.key)))
        .collect()
}

/// Rows to move through.
pub fn rows(app: &App) -> usize {
    list(app).len()
}

/// Draws the screen.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(m) = &app.data.messages else {
        return message(app, f, area, "Messages", app.data.error("messages").unwrap_or("loading..."));
    };
    let ch_h = m.channels.len() as u16 + 3;
    let [channels, rest] = Layout::vertical([Constraint::Length(ch_h), Constraint::Min(4)]).areas(area);
    let rows: Vec<Row<'_>> = m
        .channels
        .iter()
        .map(|c| {
            let bad = if c.failed + c.dead > 0 { t.bad() } else { t.text() };
            Row::new(vec![
                Span::raw(c.channel.clone()),
                Span::raw(fmt::num(c.sent)),
                Span::raw(fmt::num(c.deferred)),
                Span::raw(fmt::num(c.suppressed)),
                Span::styled(fmt::num(c.failed), bad),
                Span::styled(fmt::num(c.dead), bad),
                Span::raw(fmt::num(c.queued)),
            ])
        })
        .collect();
    let tbl = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Min(6),
        ],
    )
    .header(Row::new(vec!["channel", "sent", "deferred", "suppressed", "failed", "dead", "queued"]).style(t.strong()))
    .block(panel(app, "Channels"));
    f.render_widget(tbl, channels);
    let all = list(app);
    let sel = app.sel[Tab::Messages.index()];
    let open = app.open[Tab::Messages.index()];
    let (list_area, why_area) = if open {
        let [a, b] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(rest);
        (a, Some(b))
    } else {
        (rest, None)
    };
    let rows = all
        .iter()
        .map(|w| {
            let style = match w.state.as_str() {
                "sent" => t.good(),
                "dead" | "failed" => t.bad(),
                _ => t.text(),
            };
            Row::new(vec![
                Span::raw(fmt::short_time(w.queued)),
                Span::raw(w.channel.clone()),
                Span::raw(fmt::fit(&w.journey, 20, t.ascii)),
                Span::raw(format!("#{}", w.root)),
                Span::styled(w.state.clone(), style),
            ])
        })
        .collect();
    let total = m.dead_letters.len() + m.recent.len();
    let title = filtered_title(app, "Dead letters, then latest (Enter: why)", all.len(), total);
    let tbl = table(
        app,
        rows,
        vec![
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(20),
            Constraint::Length(9),
            Constraint::Min(6),
        ],
        Row::new(vec!["queued", "channel", "journey", "customer", "state"]),
        &title,
    );
    render_table(f, tbl, list_area, sel);
    if let (Some(area), Some(w)) = (why_area, all.get(sel)) {
        why(app, f, area, w);
    }
}

fn why(app: &App, f: &mut Frame<'_>, area: Rect, w: &WhyRecord) {
    let t = &app.theme;
    let mut lines = vec![
        Line::from(format!(
            "{} step {}, template {}{}",
            w.journey,
            w.step,
            w.template,
            w.arm.as_ref().map(|a| format!(", arm {a}")).unwrap_or_default()
        )),
        Line::from(format!("key {}, {} attempt(s)", w.key, w.attempts)),
    ];
    for (at, d) in &w.decisions {
        let text = serde_json::to_value(d).map(|v| match (v.get("decision"), v.get("reason")) {
            (Some(d), Some(r)) => format!("{}: {}", d.as_str().unwrap_or("?"), r.as_str().unwrap_or("")),
            _ => v.to_string(),
        });
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", fmt::clock(*at)), t.dim()),
            Span::raw(text.unwrap_or_default()),
        ]));
    }
    if let Some(e) = &w.error {
        lines.push(Line::styled(format!("error: {e}"), t.bad()));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(panel(app, "Why")), area);
}
