//! 7 Data quality: rejects by reason, the quarantine (an admin replays a line with `r`), and
//! per event and field: values seen, normalised by the dictionary, invalid, refused.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Wrap};

use super::{filtered_title, fmt, matches, panel, render_table, table};
use crate::app::App;
use crate::keymap::Tab;
use cxp_query::api::QuarantineDoc;

/// Quarantined lines passing the filter.
pub fn list(app: &App) -> Vec<&QuarantineDoc> {
    let f = &app.filter[Tab::Quality.index()];
    app.data.quarantine.iter().filter(|q| matches(f, &format!("{} {} {}", q.source, q.reason, q.raw))).collect()
}

/// Rows to move through.
pub fn rows(app: &App) -> usize {
    list(app).len()
}

/// The id of the selected quarantined line.
pub fn selected_line(app: &App) -> Option<u64> {
    list(app).get(app.sel[Tab::Quality.index()]).map(|q| q.id)
}

/// Draws the screen.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let [top, quarantine] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let [reasons, fields] = Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
    // Rejects by reason.
    let mut lines = Vec::new();
    if let Some(s) = &app.data.status {
        lines.push(Line::from(vec![
            Span::styled(fmt::num(s.rejects_total), if s.rejects_total > 0 { t.warn() } else { t.strong() }),
            Span::raw(format!(
                " refused of {}, {} suppressed",
                fmt::num(s.events_total + s.rejects_total),
                fmt::num(s.suppressed_total)
            )),
        ]));
        let mut by: Vec<(&String, &u64)> = s.rejects_by_reason.iter().collect();
        by.sort_by(|a, b| b.1.cmp(a.1));
        for (r, n) in by {
            lines.push(Line::from(format!("{:>7} {}", fmt::num(*n), r)));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(panel(app, "Rejects by reason")), reasons);
    // Fields, worst first.
    let mut fq: Vec<_> = app.data.quality.as_ref().map(|q| q.fields.iter().collect()).unwrap_or_default();
    let bad = |q: &cxp_query::api::FieldQuality| (q.invalid + q.rejected) as f64 / q.seen.max(1) as f64;
    fq.sort_by(|a, b| bad(b).total_cmp(&bad(a)).then(b.normalized.cmp(&a.normalized)));
    let rows: Vec<Row<'_>> = fq
        .iter()
        .map(|q| {
            let style = if q.invalid + q.rejected > 0 { t.warn() } else { t.text() };
            Row::new(vec![
                Span::raw(format!("{}.{}", q.event, q.field)),
                Span::raw(fmt::num(q.seen)),
                Span::raw(fmt::num(q.normalized)),
                Span::styled(fmt::num(q.invalid), style),
                Span::styled(fmt::num(q.rejected), style),
            ])
        })
        .collect();
    let tbl = Table::new(
        rows,
        [
            Constraint::Min(16),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
        ],
    )
    .header(Row::new(vec!["field", "seen", "normal.", "invalid", "refused"]).style(t.strong()))
    .block(panel(app, "Fields (worst first)"));
    f.render_widget(tbl, fields);
    // The quarantine.
    let all = list(app);
    let w = quarantine.width.saturating_sub(40) as usize;
    let rows = all
        .iter()
        .map(|q| {
            Row::new(vec![
                fmt::short_time(q.ts),
                fmt::fit(&format!("{}:{}", q.source, q.line), 14, t.ascii),
                fmt::fit(&q.reason, 22, t.ascii),
                fmt::fit(&q.raw.replace(['\n', '\r'], " "), w.max(8), t.ascii),
            ])
        })
        .collect();
    let hint = if app.data.admin { "r replays" } else { "read-only" };
    let title = filtered_title(app, &format!("Quarantine ({hint})"), all.len(), app.data.quarantine.len());
    let tbl = table(
        app,
        rows,
        vec![Constraint::Length(11), Constraint::Length(14), Constraint::Length(22), Constraint::Min(8)],
        Row::new(vec!["when", "source", "reason", "line"]),
        &title,
    );
    render_table(f, tbl, quarantine, app.sel[Tab::Quality.index()]);
}
