//! 8 Models: every model with its versions, test AUC and log loss, calibration, feature
//! importance, data sufficiency, and when it was trained and scored.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Wrap};

use super::{fmt, message, panel, render_table, table};
use crate::app::App;
use crate::keymap::Tab;

/// Rows to move through.
pub fn rows(app: &App) -> usize {
    app.data.models.len()
}

/// Draws the screen.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    if let Some(e) = app.data.error("models") {
        return message(app, f, area, "Models", e);
    }
    if app.data.models.is_empty() {
        return message(app, f, area, "Models", "no models defined");
    }
    let sel = app.sel[Tab::Models.index()];
    let list_h = (app.data.models.len() as u16 + 3).min(area.height / 3).max(4);
    let [top, bottom] = Layout::vertical([Constraint::Length(list_h), Constraint::Min(6)]).areas(area);
    let rows = app
        .data
        .models
        .iter()
        .map(|m| {
            let l = m.latest.as_ref();
            Row::new(vec![
                fmt::fit(&m.spec.name, 20, t.ascii),
                l.map_or("-".into(), |l| format!("v{}", l.version)),
                l.and_then(|l| l.test.auc).map_or("-".into(), |a| format!("{a:.3}")),
                l.map_or("-".into(), |l| format!("{:.3}", l.test.log_loss)),
                l.map_or("never".into(), |l| fmt::short_time(l.trained_at)),
                m.scores.as_ref().map_or("-".into(), |s| fmt::num(s.customers)),
                l.map_or("-".into(), |l| {
                    if l.sufficiency.problems.is_empty() { "ok".into() } else { "INSUFFICIENT".into() }
                }),
            ])
        })
        .collect();
    let tbl = table(
        app,
        rows,
        vec![
            Constraint::Length(20),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Min(6),
        ],
        Row::new(vec!["model", "ver", "AUC", "logloss", "trained", "scored", "data"]),
        "Models",
    );
    render_table(f, tbl, top, sel);
    let Some(m) = app.data.models.get(sel) else { return };
    let Some(l) = &m.latest else {
        return message(
            app,
            f,
            bottom,
            &m.spec.name,
            "not trained yet: POST /api/v1/models/NAME/train or wait for the schedule",
        );
    };
    let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let mut lines = vec![
        Line::from(format!(
            "rows {} train / {} valid / {} test, {} trees, {} ms",
            fmt::num(l.rows_train),
            fmt::num(l.rows_valid),
            fmt::num(l.rows_test),
            l.trees,
            fmt::num(l.train_ms)
        )),
        Line::from(format!(
            "history {:.0} days, {} positive / {} negative",
            l.sufficiency.history_days,
            fmt::num(l.sufficiency.positives),
            fmt::num(l.sufficiency.negatives)
        )),
    ];
    if let Some(cv) = &l.cv {
        lines.push(Line::from(format!("cross-validation AUC {:.3} +/- {:.3}", cv.auc_mean, cv.auc_sd)));
    }
    for p in &l.sufficiency.problems {
        lines.push(Line::styled(p.clone(), t.warn()));
    }
    lines.push(Line::styled("Calibration (predicted -> observed)", t.strong()));
    for b in l.test.calibration.iter().filter(|b| b.rows > 0) {
        lines.push(Line::from(format!(
            "{:.1}-{:.1}: {} -> {} ({} rows)",
            b.low,
            b.high,
            fmt::pct(b.predicted),
            fmt::pct(b.observed),
            fmt::num(b.rows)
        )));
    }
    if let Some(next) = m.next_training {
        lines.push(Line::styled(format!("next training {}", fmt::datetime(next)), t.dim()));
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(panel(app, &format!("{} v{}", m.spec.name, l.version))),
        left,
    );
    let lines: Vec<Line<'_>> = l
        .importance
        .iter()
        .take(right.height.saturating_sub(2) as usize)
        .map(|i| {
            Line::from(vec![
                Span::raw(format!("{:<18}", fmt::fit(&i.feature, 18, t.ascii))),
                Span::styled(fmt::bar(i.share, 12, t.bar_cells()), t.chart()),
                Span::raw(format!(" {}", fmt::pct(i.share))),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(panel(app, "Feature importance (gain)")), right);
}
