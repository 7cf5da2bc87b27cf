//! 1 Overview: ingest and business KPIs as tiles with sparklines and the change against the
//! previous window, a chart of events/s over the chosen window, and alerts in words.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, Paragraph, Sparkline};

use super::{fmt, panel};
use crate::app::{App, WINDOWS};
use crate::data::{Conn, Point};

/// Means of `f` over the samples of the last `window_s` seconds, in `n` equal buckets, oldest
/// first; `None` for a bucket without an answer (a gap).
pub fn buckets(app: &App, window_s: u32, n: usize, f: impl Fn(&Point) -> f64) -> Vec<Option<f64>> {
    let end = app.data.history.back().map_or(app.now, |s| s.at.max(app.data.at));
    let span = i64::from(window_s) * 1_000_000_000;
    let start = end - span;
    // (sum, samples, whether a sample said "no answer")
    let mut sums = vec![(0.0, 0u32, false); n.max(1)];
    for s in app.data.history.iter().rev().take_while(|s| s.at > start) {
        let i = ((((s.at - start) as f64 / span as f64) * n as f64) as usize).min(n.max(1) - 1);
        match &s.value {
            Some(p) => {
                sums[i].0 += f(p);
                sums[i].1 += 1;
            }
            None => sums[i].2 = true,
        }
    }
    // More columns than samples: a column between two samples shows the one before it; only
    // a failed refresh is a gap.
    let first = sums.iter().position(|b| b.1 > 0 || b.2).unwrap_or(sums.len());
    let mut last = None;
    sums.into_iter()
        .enumerate()
        .map(|(i, (s, c, down))| {
            if c > 0 {
                last = Some(s / f64::from(c));
            } else if down {
                last = None;
            } else if i < first {
                return None;
            }
            last
        })
        .collect()
}

// Mean of the present values.
fn mean(v: &[Option<f64>]) -> Option<f64> {
    let (s, c) = v.iter().flatten().fold((0.0, 0), |(s, c), x| (s + x, c + 1));
    (c > 0).then(|| s / f64::from(c))
}

struct Tile {
    title: String,
    value: String,
    change: Option<String>,
    spark: Vec<Option<u64>>,
    style: Style,
}

fn spark_of(v: &[Option<f64>], scale: f64) -> Vec<Option<u64>> {
    v.iter().map(|x| x.map(|x| (x * scale).round().max(0.0) as u64)).collect()
}

fn tiles(app: &App, width: usize) -> Vec<Tile> {
    let t = &app.theme;
    let (window_s, days) = WINDOWS[app.window];
    let arrows = t.arrows();
    let mut out = Vec::new();
    let s = app.data.status.as_ref();
    // Ingest: this window against the one before it, from the console's own samples.
    let both = buckets(app, window_s * 2, width * 2, |p| p.events_per_s);
    let (before, now) = both.split_at(width);
    out.push(Tile {
        title: "Events/s".into(),
        value: s.map_or("-".into(), |s| fmt::float(s.events_per_s)),
        change: mean(now).zip(mean(before)).and_then(|(a, b)| fmt::change(a, b, arrows)),
        spark: spark_of(now, 1.0),
        style: t.strong(),
    });
    let p99 = buckets(app, window_s, width, |p| p.p99_us as f64);
    out.push(Tile {
        title: "Ack p50/p99/p99.9".into(),
        value: s.map_or("-".into(), |s| {
            let l = &s.latency;
            format!(
                "{} {} {}",
                fmt::micros(l.p50_us, t.ascii),
                fmt::micros(l.p99_us, t.ascii),
                fmt::micros(l.p999_us, t.ascii)
            )
        }),
        change: None,
        spark: spark_of(&p99, 1.0),
        style: if s.is_some_and(|s| s.latency.p99_us > 20_000) { t.warn() } else { t.strong() },
    });
    // Rejects per bucket: the growth of the running total.
    let rej = buckets(app, window_s, width + 1, |p| p.rejects as f64);
    let mut prev = None;
    let rej_rate: Vec<Option<f64>> = rej
        .iter()
        .map(|x| {
            let d = x.zip(prev).map(|(a, b): (f64, f64)| (a - b).max(0.0));
            if x.is_some() {
                prev = *x;
            }
            d
        })
        .skip(1)
        .collect();
    let new_rejects: f64 = rej_rate.iter().flatten().sum();
    out.push(Tile {
        title: "Rejects".into(),
        value: s.map_or("-".into(), |s| format!("{} (+{})", fmt::num(s.rejects_total), fmt::num(new_rejects as u64))),
        change: None,
        spark: spark_of(&rej_rate, 1.0),
        style: if new_rejects > 0.0 { t.warn() } else { t.strong() },
    });
    // Business KPIs: the last `days` days against the `days` before.
    let kdays = app.data.kpi.as_ref().map(|k| k.days.as_slice()).unwrap_or_default();
    let n = kdays.len();
    let cut = n.saturating_sub(days as usize);
    let (prev, cur) = kdays.split_at(cut);
    let kpi = |title: &str,
               f: &dyn Fn(&cxp_query::api::analytics::KpiDay) -> f64,
               sum: bool,
               show: &dyn Fn(f64) -> String| {
        let agg = |d: &[cxp_query::api::analytics::KpiDay]| {
            let total: f64 = d.iter().map(f).sum();
            if sum || d.is_empty() { total } else { total / d.len() as f64 }
        };
        let (a, b) = (agg(cur), agg(prev));
        Tile {
            title: format!("{title} {days}d"),
            value: if app.data.kpi.is_some() { show(a) } else { "-".into() },
            change: (!prev.is_empty()).then(|| fmt::change(a, b, arrows)).flatten(),
            spark: cur.iter().map(|d| Some((f(d) * 100.0).round().max(0.0) as u64)).collect(),
            style: t.strong(),
        }
    };
    out.push(kpi("Revenue", &|d| d.revenue, true, &fmt::float));
    out.push(kpi("Orders", &|d| d.orders as f64, true, &|x| fmt::num(x as u64)));
    out.push(kpi("Conversion/day", &|d| d.conversion, false, &fmt::pct));
    out.push(kpi("Active/day", &|d| d.dau as f64, false, &|x| fmt::num(x.round() as u64)));
    let q = app.data.quality.as_ref();
    out.push(Tile {
        title: "Profile complete".into(),
        value: q.map_or("-".into(), |q| format!("{} of {}", fmt::pct(q.completeness_mean), fmt::num(q.customers))),
        change: None,
        spark: q.map(|q| q.completeness_histogram.iter().map(|x| Some(*x)).collect()).unwrap_or_default(),
        style: t.strong(),
    });
    out
}

fn draw_tile(app: &App, f: &mut Frame<'_>, area: Rect, tile: &Tile) {
    let t = &app.theme;
    let block = panel(app, &tile.title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [value, spark] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let mut spans = vec![Span::styled(tile.value.clone(), tile.style)];
    if let Some(c) = &tile.change {
        spans.push(Span::styled(format!(" {c}"), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), value);
    let w = spark.width as usize;
    let data: Vec<Option<u64>> = tile.spark.iter().skip(tile.spark.len().saturating_sub(w)).copied().collect();
    f.render_widget(Sparkline::default().data(data).bar_set(t.bars()).style(t.chart()), spark);
}

/// Alerts in words, worst first.
pub fn alerts(app: &App) -> Vec<(Style, String)> {
    let t = &app.theme;
    let mut out = Vec::new();
    if let Conn::Down { error, .. } = &app.conn {
        out.push((t.bad(), format!("daemon not answering: {error}")));
    }
    if let Some(s) = &app.data.status {
        if s.queue_capacity > 0 && s.queue_depth * 5 >= s.queue_capacity * 4 {
            out.push((
                t.bad(),
                format!("ingest queue {} of {} full: writers are behind", s.queue_depth, s.queue_capacity),
            ));
        }
        if s.overloaded_total > 0 {
            out.push((
                t.warn(),
                format!("{} requests answered 429/503 since start (overload)", fmt::num(s.overloaded_total)),
            ));
        }
        if s.quarantined > 0 {
            let top = s.rejects_by_reason.iter().max_by_key(|(_, n)| **n).map(|(r, n)| format!(": most {r} ({n})"));
            out.push((t.warn(), format!("{} lines in quarantine{}", fmt::num(s.quarantined), top.unwrap_or_default())));
        }
        if s.latency.p99_us > 20_000 {
            out.push((t.warn(), format!("ack p99 {} is above 20ms", fmt::micros(s.latency.p99_us, t.ascii))));
        }
    }
    if let Some(m) = &app.data.messages {
        for c in m.channels.iter().filter(|c| c.dead > 0 || c.failed > 0) {
            out.push((t.bad(), format!("{}: {} failed, {} dead letters", c.channel, c.failed, c.dead)));
        }
    }
    for s in &app.data.segments {
        if let Some(e) = &s.error {
            out.push((t.bad(), format!("segment {}: {e}", s.name)));
        } else if s.lag_ms > 5_000 {
            out.push((t.warn(), format!("segment {} is {} behind", s.name, fmt::age(s.lag_ms as i64 * 1_000_000))));
        }
    }
    for (route, e) in &app.data.errors {
        out.push((t.warn(), format!("{route}: {e}")));
    }
    out
}

/// Draws the overview.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let tiles_h = 8.min(area.height / 2);
    let alerts_list = alerts(app);
    let alerts_h = (alerts_list.len() as u16 + 2).clamp(3, 7);
    let [tiles_area, chart, alert_area] =
        Layout::vertical([Constraint::Length(tiles_h), Constraint::Min(3), Constraint::Length(alerts_h)]).areas(area);
    let rows = Layout::vertical([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).split(tiles_area);
    let per_row = 4;
    let tile_w = (area.width as usize / per_row).saturating_sub(2).max(1);
    let all = tiles(app, tile_w);
    for (r, row) in rows.iter().enumerate() {
        let cols = Layout::horizontal([Constraint::Ratio(1, 4); 4]).split(*row);
        for (c, col) in cols.iter().enumerate() {
            if let Some(tile) = all.get(r * per_row + c) {
                draw_tile(app, f, *col, tile);
            }
        }
    }
    let (window_s, _) = WINDOWS[app.window];
    let block = panel(app, &format!("Events/s, last {} (+/- window)", fmt::age(i64::from(window_s) * 1_000_000_000)));
    let inner = block.inner(chart);
    f.render_widget(block, chart);
    let data = buckets(app, window_s, inner.width as usize, |p| p.events_per_s);
    let peak = data.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    let [label, plot] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let first = data.iter().position(Option::is_some).unwrap_or(data.len());
    let gaps = data[first..].iter().filter(|x| x.is_none()).count();
    let mut words = format!("peak {} events/s", fmt::float(peak));
    if gaps > 0 && app.data.at > 0 {
        words.push_str(&format!("; gaps = no answer ({gaps} of {} columns)", data.len()));
    }
    f.render_widget(Paragraph::new(Span::styled(words, t.dim())), label);
    f.render_widget(
        Sparkline::default().data(spark_of(&data, 1.0)).max(peak.ceil() as u64).bar_set(t.bars()).style(t.chart()),
        plot,
    );
    let items: Vec<ListItem<'_>> = if alerts_list.is_empty() {
        vec![ListItem::new(Span::styled("no alerts", t.good()))]
    } else {
        alerts_list.into_iter().map(|(s, m)| ListItem::new(Span::styled(m, s))).collect()
    };
    f.render_widget(List::new(items).block(panel(app, "Alerts")), alert_area);
}
