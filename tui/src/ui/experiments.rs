//! 5 Experiments: every A/B test; the selected one's variants with exposures, rates with
//! intervals, lift, p-value, chance to beat control, significance in words, the sample-ratio
//! check, and progress to the planned sample size.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Wrap};

use super::{filtered_title, fmt, matches, message, panel, render_table, table};
use crate::app::App;
use crate::keymap::Tab;
use cxp_query::api::{ExperimentDoc, ExperimentResults};

/// Experiments passing the filter.
pub fn list(app: &App) -> Vec<&ExperimentDoc> {
    let f = &app.filter[Tab::Experiments.index()];
    app.data
        .experiments
        .iter()
        .filter(|e| matches(f, &format!("{} {}", e.experiment.name, e.experiment.description)))
        .collect()
}

/// Rows to move through.
pub fn rows(app: &App) -> usize {
    list(app).len()
}

/// The selected experiment's name.
pub fn selected(app: &App) -> Option<&str> {
    list(app).get(app.sel[Tab::Experiments.index()]).map(|e| e.experiment.name.as_str())
}

/// Draws the screen.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    if let Some(e) = app.data.error("experiments") {
        return message(app, f, area, "Experiments", e);
    }
    let all = list(app);
    if app.data.experiments.is_empty() {
        return message(app, f, area, "Experiments", "no experiments defined (experiments.toml)");
    }
    let list_h = (all.len() as u16 + 3).min(area.height / 3).max(4);
    let [top, bottom] = Layout::vertical([Constraint::Length(list_h), Constraint::Min(6)]).areas(area);
    let rows = all
        .iter()
        .map(|e| {
            let x = &e.experiment;
            let state = match (x.start, x.end) {
                (Some(s), _) if s > app.now => "scheduled",
                (_, Some(end)) if end <= app.now => "ended",
                _ => "running",
            };
            Row::new(vec![
                fmt::fit(&x.name, 24, t.ascii),
                state.to_owned(),
                x.variants.iter().map(|v| v.name.clone()).collect::<Vec<_>>().join("/"),
                x.primary.name.clone(),
            ])
        })
        .collect();
    let title = filtered_title(app, "Experiments", all.len(), app.data.experiments.len());
    let tbl = table(
        app,
        rows,
        vec![Constraint::Length(24), Constraint::Length(10), Constraint::Length(24), Constraint::Min(8)],
        Row::new(vec!["name", "state", "variants", "primary metric"]),
        &title,
    );
    render_table(f, tbl, top, app.sel[Tab::Experiments.index()]);
    match &app.data.results {
        Some(Ok(r)) if Some(r.name.as_str()) == selected(app) => results(app, f, bottom, r),
        Some(Err(e)) => message(app, f, bottom, "Results", e),
        _ => message(app, f, bottom, "Results", "loading..."),
    }
}

fn results(app: &App, f: &mut Frame<'_>, area: Rect, r: &ExperimentResults) {
    let t = &app.theme;
    let mut head: Vec<Line<'_>> = Vec::new();
    let exposed: u64 = r.variants.iter().map(|v| v.exposed).sum();
    head.push(Line::from(format!(
        "{} exposed, {} ({})",
        fmt::num(exposed),
        r.variants.iter().map(|v| format!("{} {}", v.name, fmt::num(v.exposed))).collect::<Vec<_>>().join(", "),
        r.variants.iter().map(|v| format!("{:.0}%", v.share * 100.0)).collect::<Vec<_>>().join("/"),
    )));
    if r.srm.mismatch {
        head.push(Line::styled(
            format!(
                "SAMPLE RATIO MISMATCH: chi2 {:.1}, p {:.2e}: the split is broken, do not trust the results",
                r.srm.chi_square, r.srm.p_value
            ),
            t.bad(),
        ));
    } else {
        head.push(Line::styled(format!("split as planned (SRM p {:.3})", r.srm.p_value), t.good()));
    }
    if let Some(p) = &r.plan {
        let least = r.variants.iter().map(|v| v.exposed).min().unwrap_or(0);
        let frac = least as f64 / p.per_variant.max(1) as f64;
        let mut spans = vec![
            Span::raw(format!("planned {} per variant: ", fmt::num(p.per_variant))),
            Span::styled(fmt::bar(frac, 20, t.bar_cells()), t.chart()),
            Span::raw(format!(" {}", fmt::pct(frac.min(1.0)))),
        ];
        if frac < 1.0 {
            spans.push(Span::styled(" too early to call", t.warn()));
        }
        head.push(Line::from(spans));
    }
    for w in &r.warnings {
        head.push(Line::styled(w.clone(), t.warn()));
    }
    // Wrapped lines: each takes its width over the panel's inside, rounded up.
    let inner = area.width.saturating_sub(2).max(1) as usize;
    let tall: usize = head.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let [info, table_area] =
        Layout::vertical([Constraint::Length((tall as u16 + 2).min(area.height / 2)), Constraint::Min(3)]).areas(area);
    f.render_widget(
        Paragraph::new(head).wrap(Wrap { trim: true }).block(panel(app, &format!("Results: {}", r.name))),
        info,
    );
    let mut rows: Vec<Row<'_>> = Vec::new();
    for m in &r.metrics {
        let is_rate = matches!(m.kind, cxp_query::experiment::MetricKind::Conversion);
        let show = |x: f64| if is_rate { fmt::pct(x) } else { format!("{x:.2}") };
        rows.push(Row::new(vec![Span::styled(
            format!("{}{}", m.name, if m.guardrail { " (guardrail)" } else { "" }),
            t.strong(),
        )]));
        for v in &m.values {
            let cmp = m.comparisons.iter().find(|c| c.group == v.group);
            let mut cells =
                vec![Span::raw(format!("  {}", v.group)), Span::raw(fmt::num(v.customers)), Span::raw(show(v.mean))];
            match cmp {
                None => cells.push(Span::styled("control", t.dim())),
                Some(c) => {
                    let lift = c.relative_lift.map_or("-".into(), |l| format!("{:+.1}%", l * 100.0));
                    let ci = format!("[{}, {}]", show(c.difference_ci.low), show(c.difference_ci.high));
                    let (words, style) = if c.significant {
                        if c.difference > 0.0 {
                            ("SIGNIFICANT: better", t.good())
                        } else {
                            ("SIGNIFICANT: worse", t.bad())
                        }
                    } else {
                        ("not yet", t.dim())
                    };
                    cells.push(Span::raw(lift));
                    cells.push(Span::raw(ci));
                    cells.push(Span::raw(format!("{:.4}", c.p_adjusted)));
                    cells.push(Span::raw(fmt::pct(c.chance_to_beat_control)));
                    cells.push(Span::styled(words, style));
                }
            }
            rows.push(Row::new(cells));
        }
    }
    let tbl = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(17),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Min(8),
        ],
    )
    .header(
        Row::new(vec!["variant", "cust", "value", "lift", "difference CI", "p adj", "beats", "verdict"])
            .style(t.strong()),
    )
    .block(panel(app, &format!("Metrics (alpha {})", r.alpha)));
    f.render_widget(tbl, table_area);
}
