//! Every screen drawn from fixed data on a `TestBackend`, at 80x24 (the usual SSH window)
//! and 120x40, plus the states an operator must be able to read: disconnected with stale
//! data, paused, too small, ASCII glyphs, no colour, help. Snapshots are reviewed text
//! (`cargo insta review`); colours are asserted separately because snapshots hold text only.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use cxp_tui::app::App;
use cxp_tui::data::Conn;
use cxp_tui::fixture::{NOW, snapshot};
use cxp_tui::keymap::Tab;
use cxp_tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

fn app(theme: Theme) -> App {
    let mut a = App::new("http://127.0.0.1:8086".into(), theme, Duration::from_secs(1));
    a.now = NOW;
    a.update(Box::new(snapshot()), Conn::Live);
    a
}

fn color() -> App {
    app(Theme { color: true, ascii: false })
}

fn draw(app: &App, w: u16, h: u16) -> TestBackend {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| cxp_tui::ui::draw(app, f)).expect("draw");
    t.backend().clone()
}

fn text(b: &TestBackend) -> String {
    let buf = b.buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn key(a: &mut App, c: KeyCode) {
    a.handle(KeyEvent::new(c, KeyModifiers::NONE));
}

fn on(tab: Tab) -> App {
    let mut a = color();
    key(&mut a, KeyCode::Char(char::from(b'1' + tab.index() as u8)));
    assert_eq!(a.tab, tab);
    a
}

macro_rules! screen {
    ($name:ident, $tab:expr, $setup:expr) => {
        #[test]
        fn $name() {
            let mut a = on($tab);
            let setup: fn(&mut App) = $setup;
            setup(&mut a);
            insta::assert_snapshot!(concat!(stringify!($name), "_80x24"), draw(&a, 80, 24));
            insta::assert_snapshot!(concat!(stringify!($name), "_120x40"), draw(&a, 120, 40));
        }
    };
}

screen!(overview, Tab::Overview, |_| {});
screen!(customers_search, Tab::Customers, |_| {});
screen!(customer_360, Tab::Customers, |a| key(a, KeyCode::Enter));
screen!(segments, Tab::Segments, |_| {});
screen!(segment_detail, Tab::Segments, |a| key(a, KeyCode::Enter));
screen!(segments_rfm, Tab::Segments, |a| key(a, KeyCode::Char('v')));
screen!(journeys, Tab::Journeys, |a| key(a, KeyCode::Enter));
screen!(experiments, Tab::Experiments, |_| {});
screen!(messages, Tab::Messages, |a| key(a, KeyCode::Enter));
screen!(quality, Tab::Quality, |_| {});
screen!(models, Tab::Models, |_| {});
screen!(help, Tab::Segments, |a| key(a, KeyCode::Char('?')));

#[test]
fn disconnected_keeps_the_data_marked_stale_and_says_why() {
    let mut a = color();
    a.update(
        Box::new(snapshot()),
        Conn::Down {
            error: "daemon unreachable at http://127.0.0.1:8086: connection refused".into(),
            attempt: 5,
            retry_at: NOW + 49_000_000_000,
        },
    );
    a.now = NOW + 41_000_000_000;
    let screen = draw(&a, 80, 24);
    let t = text(&screen);
    assert!(t.contains("STALE 42s · DISCONNECTED - retry in 8s (attempt 5)"), "{t}");
    assert!(t.contains("STALE 42s"), "{t}");
    assert!(t.contains("10.4k") || t.contains("10,432") || t.contains("10.4"), "the last data stays: {t}");
    assert!(t.contains("daemon not answering"), "an alert in words: {t}");
    insta::assert_snapshot!("disconnected_80x24", screen);
}

#[test]
fn paused_holds_the_screen_and_counts_what_came() {
    let mut a = color();
    key(&mut a, KeyCode::Char('p'));
    let mut newer = snapshot();
    newer.status.as_mut().expect("status").events_per_s = 1.0;
    a.update(Box::new(newer.clone()), Conn::Live);
    a.update(Box::new(newer), Conn::Live);
    let t = text(&draw(&a, 80, 24));
    assert!(t.contains("PAUSED 10:00:00Z 2 held"), "{t}");
    assert!(t.contains("10.4k"), "still the frozen data: {t}");
    key(&mut a, KeyCode::Char('p'));
    let t = text(&draw(&a, 80, 24));
    assert!(!t.contains("PAUSED"), "{t}");
    assert!(t.contains("Events/s") && t.contains("1.0"), "resumed on the newest data: {t}");
}

#[test]
fn too_small_says_so_and_q_still_quits() {
    let mut a = color();
    let screen = draw(&a, 40, 10);
    let t = text(&screen);
    assert!(t.contains("Terminal too small") && t.contains("needed 60x16"), "{t}");
    insta::assert_snapshot!("too_small_40x10", screen);
    key(&mut a, KeyCode::Char('q'));
    assert!(a.quit);
}

#[test]
fn ascii_mode_draws_only_ascii() {
    for tab in Tab::ALL {
        let mut a = app(Theme { color: false, ascii: true });
        key(&mut a, KeyCode::Char(char::from(b'1' + tab.index() as u8)));
        key(&mut a, KeyCode::Enter);
        let t = text(&draw(&a, 120, 40));
        // Data (Chinese names) is the data; every glyph the console adds is ASCII.
        let chrome: String = t.chars().filter(|c| !c.is_ascii() && !is_cjk(*c)).collect();
        assert!(chrome.is_empty(), "{tab:?} drew {chrome:?}:\n{t}");
    }
    let a = app(Theme { color: false, ascii: true });
    insta::assert_snapshot!("overview_ascii_80x24", draw(&a, 80, 24));
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0x4E00..=0x9FFF | 0xFF00..=0xFFEF)
}

#[test]
fn no_colour_keeps_selection_and_status_visible_by_modifiers() {
    let mono = on_theme(Theme { color: false, ascii: false });
    let buf = mono.buffer();
    let mut colored = 0;
    let mut reversed = 0;
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.fg != Color::Reset || c.bg != Color::Reset {
                colored += 1;
            }
            if c.modifier.contains(Modifier::REVERSED) {
                reversed += 1;
            }
        }
    }
    assert_eq!(colored, 0, "NO_COLOR: not one coloured cell");
    assert!(reversed > 20, "the selected row and tab are in reverse video");
    let color = on_theme(Theme { color: true, ascii: false });
    let b = color.buffer();
    let red = (0..b.area.height)
        .flat_map(|y| (0..b.area.width).map(move |x| (x, y)))
        .filter(|p| b[*p].fg == Color::Red)
        .count();
    assert!(red > 0, "errors are red when colour is on");
}

fn on_theme(theme: Theme) -> TestBackend {
    let mut a = app(theme);
    key(&mut a, KeyCode::Char('4'));
    key(&mut a, KeyCode::Enter);
    draw(&a, 120, 40)
}

#[test]
fn chinese_text_is_aligned_by_display_width() {
    let mut a = on(Tab::Customers);
    key(&mut a, KeyCode::Enter);
    let screen = draw(&a, 120, 40);
    let buf = screen.buffer();
    // "name: 张伟 (identify)": each Chinese character takes two cells, the second blank, and
    // the panel's right border stays in its column on every row.
    let rows: Vec<String> =
        (0..buf.area.height).map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()).collect();
    let row = rows.iter().position(|r| r.contains("张")).expect("a row with 张伟");
    let border_col = |r: &str| r.char_indices().filter(|(_, c)| *c == '│').count();
    assert_eq!(border_col(&rows[row]), border_col(&rows[row + 1]), "{}\n{}", rows[row], rows[row + 1]);
    let x = (0..buf.area.width).find(|x| buf[(*x, row as u16)].symbol() == "张").expect("张");
    assert_eq!(buf[(x + 2, row as u16)].symbol(), "伟", "张 is two cells wide");
}
