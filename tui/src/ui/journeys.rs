//! 4 Journeys: every journey and trigger with live counts; Enter opens the per-step funnel
//! with step-to-step conversion, drop-off, customers waiting and errors.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row};

use super::{filtered_title, fmt, matches, message, panel, render_table, table};
use crate::app::App;
use crate::keymap::Tab;
use cxp_query::api::JourneyDoc;

/// Journeys passing the filter.
pub fn list(app: &App) -> Vec<&JourneyDoc> {
    let f = &app.filter[Tab::Journeys.index()];
    app.data.journeys.iter().filter(|j| matches(f, &format!("{} {}", j.name, j.entry))).collect()
}

/// Rows to move through.
pub fn rows(app: &App) -> usize {
    list(app).len()
}

/// Draws the screen.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    if let Some(e) = app.data.error("journeys") {
        return message(app, f, area, "Journeys", e);
    }
    let all = list(app);
    if app.data.journeys.is_empty() {
        return message(app, f, area, "Journeys", "no journeys or triggers defined (automation.toml)");
    }
    let open = app.open[Tab::Journeys.index()];
    let sel = app.sel[Tab::Journeys.index()];
    let (top, bottom) = if open {
        let [a, b] =
            Layout::vertical([Constraint::Length((all.len() as u16 + 3).min(area.height / 3)), Constraint::Min(5)])
                .areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };
    let rows = all
        .iter()
        .map(|j| {
            let active: u64 = j.steps.iter().map(|s| s.waiting).sum();
            let errors: u64 = j.steps.iter().map(|s| s.errors).sum();
            Row::new(vec![
                fmt::fit(&if j.paused { format!("{} (PAUSED)", j.name) } else { j.name.clone() }, 24, t.ascii),
                version(j.version),
                fmt::num(j.stats.entered),
                fmt::num(active),
                fmt::num(j.stats.completed),
                fmt::num(j.stats.exited),
                j.conversion_rate.map_or("-".into(), fmt::pct),
                fmt::num(j.stats.sent),
                if errors > 0 { format!("{errors}!") } else { "0".into() },
            ])
        })
        .collect();
    let title = filtered_title(app, "Journeys and triggers", all.len(), app.data.journeys.len());
    let table = table(
        app,
        rows,
        vec![
            Constraint::Length(24),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Min(5),
        ],
        Row::new(vec!["name", "ver", "entered", "active", "complete", "exited", "conv", "sent", "errors"]),
        &title,
    );
    render_table(f, table, top, sel);
    let (Some(area), Some(j)) = (bottom, all.get(sel)) else { return };
    steps(app, f, area, j);
}

fn steps(app: &App, f: &mut Frame<'_>, area: Rect, j: &JourneyDoc) {
    let t = &app.theme;
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!("{} ", j.name), t.strong()),
            Span::raw(fmt::fit(&j.entry, head.width.saturating_sub(j.name.len() as u16 + 1) as usize, t.ascii)),
        ])),
        head,
    );
    let first = j.steps.first().map_or(0, |s| s.entered).max(1);
    let w = 12usize;
    let mut prev = None;
    let rows = j
        .steps
        .iter()
        .map(|s| {
            let conv = prev
                .map_or("-".into(), |p: u64| if p == 0 { "-".into() } else { fmt::pct(s.entered as f64 / p as f64) });
            let drop = if s.entered == 0 { "-".into() } else { fmt::pct(s.exited as f64 / s.entered as f64) };
            prev = Some(s.entered);
            let err_style = if s.errors > 0 { t.bad() } else { t.text() };
            Row::new(vec![
                Span::raw(fmt::fit(&s.id, 14, t.ascii)),
                Span::styled(fmt::bar(s.entered as f64 / first as f64, w, t.bar_cells()), t.chart()),
                Span::raw(fmt::num(s.entered)),
                Span::raw(conv),
                Span::raw(fmt::num(s.waiting)),
                Span::raw(drop),
                Span::styled(fmt::num(s.errors), err_style),
                Span::raw(fmt::fit(&s.what, 40, t.ascii)),
            ])
        })
        .collect::<Vec<_>>();
    let table = ratatui::widgets::Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(w as u16),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(vec!["step", "", "entered", "conv", "waiting", "exited", "errors", "what"]).style(t.strong()))
    .block(panel(app, &format!("Steps ({}; {} attributing)", version(j.version), j.attributing)));
    f.render_widget(table, body);
}

/// A version as given (`v3`), or the first hex digits of a definition's hash.
pub fn version(v: u32) -> String {
    if v < 10_000 { format!("v{v}") } else { format!("{v:08x}")[..6].to_owned() }
}
