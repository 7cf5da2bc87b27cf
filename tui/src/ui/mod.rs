//! Drawing: the frame every screen shares (header, tab bar, hint bar, help, the too-small
//! screen) and one module per screen. Drawing reads the [`App`] only; it never waits on I/O.

pub mod customers;
pub mod experiments;
pub mod fmt;
pub mod journeys;
pub mod messages;
pub mod models;
pub mod overview;
pub mod quality;
pub mod segments;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table, TableState, Wrap};

use crate::app::{App, Mode};
use crate::data::Conn;
use crate::keymap::{self, Tab};

/// Smallest terminal drawn normally.
pub const MIN: (u16, u16) = (60, 16);

/// Rows of the list on `tab` (for moving the selection).
pub fn rows(app: &App, tab: Tab) -> usize {
    match tab {
        Tab::Overview => 0,
        Tab::Customers => customers::rows(app),
        Tab::Segments => segments::rows(app),
        Tab::Journeys => journeys::rows(app),
        Tab::Experiments => experiments::rows(app),
        Tab::Messages => messages::rows(app),
        Tab::Quality => quality::rows(app),
        Tab::Models => models::rows(app),
    }
}

/// Draws the whole console.
pub fn draw(app: &App, f: &mut Frame<'_>) {
    let area = f.area();
    if !app.no_size_check && (area.width < MIN.0 || area.height < MIN.1) {
        too_small(app, f, area);
        return;
    }
    let [head, tabs, body, hint] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)])
            .areas(area);
    header(app, f, head);
    tab_bar(app, f, tabs);
    match app.tab {
        Tab::Overview => overview::draw(app, f, body),
        Tab::Customers => customers::draw(app, f, body),
        Tab::Segments => segments::draw(app, f, body),
        Tab::Journeys => journeys::draw(app, f, body),
        Tab::Experiments => experiments::draw(app, f, body),
        Tab::Messages => messages::draw(app, f, body),
        Tab::Quality => quality::draw(app, f, body),
        Tab::Models => models::draw(app, f, body),
    }
    hint_bar(app, f, hint);
    if app.help {
        help(app, f, body);
    }
}

fn too_small(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let size = |have: u16, need: u16| {
        let s = if have < need { t.bad() } else { t.good() };
        Span::styled(format!("{have}{}", if have < need { " (too small)" } else { "" }), s)
    };
    let lines = vec![
        Line::from("Terminal too small"),
        Line::from(vec![Span::raw("width "), size(area.width, MIN.0)]),
        Line::from(vec![Span::raw("height "), size(area.height, MIN.1)]),
        Line::from(format!("needed {}x{}; q quits", MIN.0, MIN.1)),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

/// Words for the connection, with its style.
pub fn conn_words(app: &App) -> (String, Style) {
    let t = &app.theme;
    match &app.conn {
        Conn::Connecting => ("CONNECTING".into(), t.warn()),
        Conn::Live => ("LIVE".into(), t.good()),
        Conn::Down { attempt, retry_at, .. } => {
            let secs = ((retry_at - app.now).max(0) + 999_999_999) / 1_000_000_000;
            (format!("DISCONNECTED - retry in {secs}s (attempt {attempt}), R now"), t.bad())
        }
    }
}

/// Whether what is shown is older than the daemon's state (disconnected).
pub fn stale(app: &App) -> Option<String> {
    match app.conn {
        Conn::Down { .. } if app.data.at > 0 => Some(format!("STALE {}", fmt::age(app.now - app.data.at))),
        Conn::Down { .. } => Some("NO DATA".into()),
        _ => None,
    }
}

fn header(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let dot = format!(" {} ", t.dot());
    let (words, style) = conn_words(app);
    let mut spans = vec![Span::styled(" cxp top ", t.selected()), Span::raw(" ")];
    // Narrow and disconnected: what is wrong matters more than where.
    if area.width >= 100 || app.conn == Conn::Live {
        spans.push(Span::styled(app.addr.trim_start_matches("http://").to_owned(), t.accent()));
        spans.push(Span::raw(dot.clone()));
    }
    if let Some(s) = stale(app) {
        spans.push(Span::styled(s, t.warn()));
        spans.push(Span::raw(dot.clone()));
    }
    spans.push(Span::styled(words, style));
    if stale(app).is_none() && app.data.at > 0 {
        spans.push(Span::raw(dot.clone()));
        spans.push(Span::raw(format!("updated {} ago", fmt::age(app.now - app.data.at))));
    }
    if let Some((at, held)) = app.paused {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" PAUSED {} {held} held ", fmt::clock(at)), t.selected()));
    }
    if app.data.at > 0 && !app.data.admin {
        spans.push(Span::raw(" "));
        spans.push(Span::styled("READ-ONLY", t.dim()));
    }
    let clock = fmt::clock(app.now);
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if used + clock.len() + 1 < area.width as usize {
        spans.push(Span::raw(" ".repeat(area.width as usize - used - clock.len())));
        spans.push(Span::styled(clock, t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn tab_bar(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    // Full names when they fit, else the first three letters.
    let full: usize = Tab::ALL.iter().map(|x| x.name().len() + 4).sum();
    let short = full > area.width as usize;
    let mut spans = Vec::new();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let name = if short { &tab.name()[..3] } else { tab.name() };
        let label = format!(" {} {name} ", i + 1);
        spans.push(if *tab == app.tab {
            Span::styled(label, t.selected().patch(t.strong()))
        } else {
            Span::raw(label)
        });
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn hint_bar(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let line = match &app.mode {
        Mode::Filter if app.tab == Tab::Customers => {
            Line::from(vec![Span::styled("search: ", t.strong()), Span::raw(format!("{}_", app.input))])
        }
        Mode::Filter => Line::from(vec![Span::styled("filter: ", t.strong()), Span::raw(format!("{}_", app.input))]),
        Mode::Command => Line::from(vec![Span::styled(":", t.strong()), Span::raw(format!("{}_", app.input))]),
        Mode::Edit => Line::from(vec![
            Span::styled("segment: ", t.strong()),
            Span::raw(format!("{}_", app.input)),
            Span::styled("  Enter keeps, Esc clears", t.dim()),
        ]),
        Mode::Confirm(pending) => Line::from(Span::styled(pending.question(), t.warn())),
        Mode::Normal => match &app.flash {
            Some(m) => Line::from(Span::styled(m.clone(), t.warn())),
            None => {
                let (global, own) = keymap::help(app.tab);
                let mut spans = Vec::new();
                for b in own.iter().chain(global.iter()).filter(|b| b.hint) {
                    spans.push(Span::styled(format!(" {} ", b.label), t.selected()));
                    spans.push(Span::raw(format!(
                        " {}  ",
                        b.help.split([' ', '(']).next().unwrap_or("").trim_end_matches([':', ','])
                    )));
                }
                Line::from(spans)
            }
        },
    };
    f.render_widget(Paragraph::new(line), area);
}

fn help(app: &App, f: &mut Frame<'_>, body: Rect) {
    let t = &app.theme;
    let (global, own) = keymap::help(app.tab);
    let row = |b: &keymap::Binding| Row::new(vec![b.label.to_owned(), b.help.to_owned()]);
    let mut rows: Vec<Row<'_>> = Vec::new();
    if !own.is_empty() {
        rows.push(Row::new(vec![Span::styled(app.tab.name(), t.strong())]));
        rows.extend(own.iter().map(|b| row(b)));
        rows.push(Row::new(vec![Span::styled("Anywhere", t.strong())]));
    }
    // The number keys, one row: "1-8  screens: 1 overview, 2 customers, ...".
    let screens: Vec<&&keymap::Binding> = global.iter().filter(|b| matches!(b.action, keymap::Action::Go(_))).collect();
    for b in global.iter().filter(|b| !matches!(b.action, keymap::Action::Go(_))) {
        rows.push(row(b));
        if b.action == keymap::Action::PrevTab && !screens.is_empty() {
            let names: Vec<String> = screens.iter().map(|s| format!("{} {}", s.label, s.help)).collect();
            rows.push(Row::new(vec![format!("1-{}", screens.len()), names.join(", ")]));
        }
    }
    let total = rows.len();
    let w = body.width.saturating_sub(4).min(100);
    let h = (total as u16 + 2).min(body.height);
    let skip = (app.help_scroll as usize).min(total.saturating_sub(h.saturating_sub(2) as usize));
    let area = Rect { x: body.x + (body.width - w) / 2, y: body.y + (body.height - h) / 2, width: w, height: h };
    f.render_widget(Clear, area);
    let more = total > h.saturating_sub(2) as usize;
    let title = if more { "Keys (j/k scroll, Esc closes)" } else { "Keys (Esc closes)" };
    let table =
        Table::new(rows.into_iter().skip(skip), [Constraint::Length(9), Constraint::Min(10)]).block(panel(app, title));
    f.render_widget(table, area);
}

/// A bordered panel whose title says when its data is stale.
pub fn panel<'a>(app: &App, title: &str) -> Block<'a> {
    let t = &app.theme;
    let mut spans = vec![Span::styled(format!(" {title} "), t.strong())];
    if let Some(s) = stale(app) {
        spans.push(Span::styled(format!("{s} "), t.warn()));
    }
    if app.paused.is_some() {
        spans.push(Span::styled("PAUSED ", t.dim()));
    }
    Block::bordered().border_set(t.border()).title(Line::from(spans))
}

/// A table with the selection drawn the same way on every screen.
pub fn table<'a>(app: &App, rows: Vec<Row<'a>>, widths: Vec<Constraint>, header: Row<'a>, title: &str) -> Table<'a> {
    Table::new(rows, widths)
        .header(header.style(app.theme.strong()))
        .block(panel(app, title))
        .row_highlight_style(app.theme.selected())
        .highlight_symbol(app.theme.cursor())
}

/// Renders `table` with row `sel` selected.
pub fn render_table(f: &mut Frame<'_>, table: Table<'_>, area: Rect, sel: usize) {
    let mut state = TableState::default().with_selected(Some(sel));
    f.render_stateful_widget(table, area, &mut state);
}

/// A panel with one line of text (empty states and errors, in words).
pub fn message(app: &App, f: &mut Frame<'_>, area: Rect, title: &str, text: &str) {
    let p = Paragraph::new(text.to_owned()).wrap(Wrap { trim: true }).block(panel(app, title));
    f.render_widget(p, area);
}

/// Whether `text` passes filter `filter`: case-insensitive substrings, `a|b` either, `!a` not.
pub fn matches(filter: &str, text: &str) -> bool {
    let f = filter.trim();
    if f.is_empty() {
        return true;
    }
    let (neg, f) = match f.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, f),
    };
    let text = text.to_lowercase();
    let hit = f.split('|').map(str::trim).filter(|p| !p.is_empty()).any(|p| text.contains(&p.to_lowercase()));
    hit != neg
}

/// Title with the filter and `N of M` when one is set.
pub fn filtered_title(app: &App, name: &str, shown: usize, total: usize) -> String {
    let f = &app.filter[app.tab.index()];
    if f.is_empty() { format!("{name} ({total})") } else { format!("{name} /{f} ({shown} of {total})") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_like_htop_and_k9s() {
        assert!(matches("", "anything"));
        assert!(matches("VIP", "big_vip_spenders"));
        assert!(matches("sms|email", "email"));
        assert!(!matches("!sms", "sms"));
        assert!(matches("!sms", "push"));
    }
}
