//! `cxp top` drawing: one full frame of the busiest screens from fixed data, into ratatui's
//! test backend (the cells a terminal would get, without the terminal's own write).
//!
//! Target (console issue): a full frame of the busiest screen in under 2 ms.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use cxp_tui::app::App;
use cxp_tui::data::Conn;
use cxp_tui::fixture::{NOW, snapshot};
use cxp_tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(keys: &[KeyCode]) -> App {
    let mut a = App::new("http://127.0.0.1:8086".into(), Theme { color: true, ascii: false }, Duration::from_secs(1));
    a.now = NOW;
    a.update(Box::new(snapshot()), Conn::Live);
    for k in keys {
        a.handle(KeyEvent::new(*k, KeyModifiers::NONE));
    }
    a
}

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("top_frame");
    for (name, keys, (w, h)) in [
        // The overview buckets an hour of samples into every sparkline and the chart.
        ("overview_120x40", vec![], (120, 40)),
        ("overview_240x70", vec![], (240, 70)),
        ("customer_360_120x40", vec![KeyCode::Char('2'), KeyCode::Enter], (120, 40)),
        ("journey_steps_120x40", vec![KeyCode::Char('4'), KeyCode::Enter], (120, 40)),
    ] {
        let a = app(&keys);
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        g.bench_function(name, |b| b.iter(|| t.draw(|f| cxp_tui::ui::draw(&a, f)).map(|_| ()).expect("draw")));
    }
    g.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
