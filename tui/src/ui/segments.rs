//! 3 Segments: live sizes with their trend and evaluation lag, a segment's definition and
//! history, an expression editor with a live count while typing (`e`), the RFM grid and
//! cluster profiles (`v`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Wrap};

use super::{filtered_title, fmt, matches, message, panel, render_table, table};
use crate::app::{App, Mode};
use crate::fetch::SegView;
use crate::keymap::Tab;
use cxp_query::api::SegmentDoc;

/// Segments passing the filter.
pub fn list(app: &App) -> Vec<&SegmentDoc> {
    let f = &app.filter[Tab::Segments.index()];
    app.data.segments.iter().filter(|s| matches(f, &format!("{} {} {}", s.name, s.expr, s.source))).collect()
}

/// Rows to move through.
pub fn rows(app: &App) -> usize {
    match app.want.seg_view {
        SegView::List => list(app).len(),
        SegView::Rfm => app.data.rfm.as_ref().map_or(0, |r| r.segments.len()),
        SegView::Clusters => app.data.clusters.as_ref().map_or(0, |c| c.clusters.len()),
    }
}

/// Draws the screen.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let editing = app.want.draft.is_some() || app.mode == Mode::Edit;
    let (main, editor) = if editing {
        let [a, b] = Layout::vertical([Constraint::Min(4), Constraint::Length(5)]).areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };
    match app.want.seg_view {
        SegView::List if app.open[Tab::Segments.index()] => detail(app, f, main),
        SegView::List => table_view(app, f, main),
        SegView::Rfm => rfm(app, f, main),
        SegView::Clusters => clusters(app, f, main),
    }
    if let Some(e) = editor {
        draft(app, f, e);
    }
}

fn table_view(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    if let Some(e) = app.data.error("segments") {
        return message(app, f, area, "Segments", e);
    }
    let all = list(app);
    if app.data.segments.is_empty() {
        return message(
            app,
            f,
            area,
            "Segments",
            "no segments yet: e tries an expression; define them in segments.toml or POST /api/v1/segments",
        );
    }
    let rows = all
        .iter()
        .map(|s| {
            let first = s.history.first().map_or(s.members, |p| p.members);
            let trend = fmt::change(s.members as f64, first as f64, t.arrows()).unwrap_or_else(|| "-".into());
            let state = match &s.error {
                Some(_) => "ERROR".to_owned(),
                None => fmt::age(s.lag_ms as i64 * 1_000_000),
            };
            Row::new(vec![
                fmt::fit(&s.name, 22, t.ascii),
                fmt::num(s.members),
                trend,
                format!("+{} -{}", fmt::num(s.entered), fmt::num(s.exited)),
                state,
                fmt::short_time(s.evaluated_at),
                s.source.clone(),
            ])
        })
        .collect();
    let title = filtered_title(app, "Segments (e edit, v RFM/clusters)", all.len(), app.data.segments.len());
    let table = table(
        app,
        rows,
        vec![
            Constraint::Length(22),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(13),
            Constraint::Length(7),
            Constraint::Length(11),
            Constraint::Min(4),
        ],
        Row::new(vec!["name", "members", "trend", "in/out", "lag", "evaluated", "source"]),
        &title,
    );
    render_table(f, table, area, app.sel[Tab::Segments.index()]);
}

fn detail(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let all = list(app);
    let Some(s) = all.get(app.sel[Tab::Segments.index()]) else {
        return message(app, f, area, "Segment", "no segment selected");
    };
    let [text, chart] = Layout::vertical([Constraint::Min(5), Constraint::Length(6)]).areas(area);
    let mut lines = vec![
        Line::from(vec![Span::styled("expr: ", t.dim()), Span::raw(s.expr.clone())]),
        Line::from(vec![Span::styled("members: ", t.dim()), Span::styled(fmt::num(s.members), t.strong())]),
        Line::from(format!(
            "entered {}, left {}, evaluated {}, lag {}",
            fmt::num(s.entered),
            fmt::num(s.exited),
            fmt::datetime(s.evaluated_at),
            fmt::age(s.lag_ms as i64 * 1_000_000)
        )),
    ];
    if !s.description.is_empty() {
        lines.push(Line::from(vec![Span::styled("about: ", t.dim()), Span::raw(s.description.clone())]));
    }
    if let Some(e) = &s.error {
        lines.push(Line::styled(format!("error: {e}"), t.bad()));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(panel(app, &s.name)), text);
    let block = panel(app, "Size over time");
    let inner = block.inner(chart);
    f.render_widget(block, chart);
    let w = inner.width as usize;
    let data: Vec<u64> = s.history.iter().skip(s.history.len().saturating_sub(w)).map(|p| p.members).collect();
    f.render_widget(Sparkline::default().data(data).bar_set(t.bars()).style(t.chart()), inner);
}

fn draft(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let expr = if app.mode == Mode::Edit { app.input.clone() } else { app.want.draft.clone().unwrap_or_default() };
    let mut lines = vec![Line::from(vec![Span::styled("expr: ", t.dim()), Span::raw(expr)])];
    lines.push(match &app.data.draft {
        None => Line::styled("type an expression, e.g. count(order, 30d) >= 2 and city = \"上海\"", t.dim()),
        Some(Ok(d)) => Line::from(vec![
            Span::styled(format!("{} customers", fmt::num(d.count)), t.strong()),
            Span::raw(format!(" of {}, {}", fmt::num(d.customers), fmt::micros(d.took_us, t.ascii))),
            Span::styled(d.warnings.first().map(|w| format!(", {w}")).unwrap_or_default(), t.warn()),
        ]),
        Some(Err(e)) => Line::styled(e.clone(), t.bad()),
    });
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(panel(app, "Try a segment (live count)")),
        area,
    );
}

fn rfm(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(r) = &app.data.rfm else {
        let text = app.data.error("rfm").unwrap_or("computing RFM...");
        return message(app, f, area, "RFM", text);
    };
    let [grid, segs] = Layout::horizontal([Constraint::Length(40), Constraint::Min(20)]).areas(area);
    let mut lines = vec![Line::styled("R\\F     1     2     3     4     5", t.strong())];
    for rr in (1..=5u8).rev() {
        let mut s = format!("{rr}   ");
        for ff in 1..=5u8 {
            let n = r.grid.iter().find(|c| c.r == rr && c.f == ff).map_or(0, |c| c.customers);
            s.push_str(&format!("{:>6}", fmt::num(n)));
        }
        lines.push(Line::raw(s));
    }
    lines.push(Line::styled(format!("{} customers; 5 = most recent / frequent", fmt::num(r.customers)), t.dim()));
    f.render_widget(Paragraph::new(lines).block(panel(app, "RFM grid (recency x frequency)")), grid);
    let rows = r
        .segments
        .iter()
        .map(|s| {
            Row::new(vec![
                fmt::fit(&s.name, 20, t.ascii),
                fmt::num(s.customers),
                fmt::pct(s.share),
                format!("{:.0}d", s.recency_days),
                format!("{:.1}", s.frequency),
                fmt::float(s.monetary),
            ])
        })
        .collect();
    let table = table(
        app,
        rows,
        vec![
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Min(6),
        ],
        Row::new(vec!["segment", "cust", "share", "rec", "freq", "money"]),
        "RFM segments",
    );
    render_table(f, table, segs, app.sel[Tab::Segments.index()]);
}

fn clusters(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(c) = &app.data.clusters else {
        let text = app.data.error("cluster").unwrap_or("clustering customers (k-means++)...");
        return message(app, f, area, "Clusters", text);
    };
    let mut header = vec!["cluster".to_owned(), "cust".to_owned(), "share".to_owned()];
    header.extend(c.features.iter().map(|x| fmt::fit(x, 12, t.ascii)));
    let rows = c
        .clusters
        .iter()
        .map(|k| {
            let mut cells = vec![k.cluster.to_string(), fmt::num(k.customers), fmt::pct(k.share)];
            cells.extend(k.means.iter().map(|m| fmt::float(*m)));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(7), Constraint::Length(8), Constraint::Length(6)];
    widths.extend(c.features.iter().map(|_| Constraint::Length(12)));
    let title = format!(
        "Clusters: k={} over {} customers ({} left out), feature means",
        c.k,
        fmt::num(c.customers),
        c.left_out
    );
    let table = table(app, rows, widths, Row::new(header), &title);
    render_table(f, table, area, app.sel[Tab::Segments.index()]);
}
