//! The console's state and what keys do to it, without any drawing or I/O: every key is
//! handled here and can be tested by feeding `KeyEvent`s.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::data::{Conn, Snapshot};
use crate::fetch::{Request, SegView, Want};
use crate::keymap::{Action, Tab, action};
use crate::theme::Theme;
use crate::ui;

/// Time windows of the overview (`+`/`-`): ingest chart seconds, KPI days.
pub const WINDOWS: [(u32, u32); 4] = [(60, 7), (300, 14), (900, 30), (3600, 90)];

/// What keys type into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keys are commands.
    Normal,
    /// Typing a filter (customers: a search).
    Filter,
    /// Typing a `:` command.
    Command,
    /// Typing a segment expression.
    Edit,
    /// Asking yes or no before an action.
    Confirm(Pending),
}

/// An action waiting for a yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Replay these quarantined lines.
    Replay(Vec<u64>),
    /// Pause (`true`) or resume a journey.
    Pause(String, bool),
}

impl Pending {
    /// The question, in words.
    pub fn question(&self) -> String {
        match self {
            Pending::Replay(ids) => format!("Replay {} quarantined line(s) into the store? y/n", ids.len()),
            Pending::Pause(name, true) => format!("Pause {name}? Nobody enters; customers inside wait. y/n"),
            Pending::Pause(name, false) => format!("Resume {name}? y/n"),
        }
    }
}

/// The console.
#[derive(Debug, Clone)]
pub struct App {
    /// Screen on show.
    pub tab: Tab,
    /// Input mode.
    pub mode: Mode,
    /// The line being typed.
    pub input: String,
    /// Help overlay open.
    pub help: bool,
    /// Rows the help is scrolled by.
    pub help_scroll: u16,
    /// Paused at (ns), with updates held since.
    pub paused: Option<(i64, u32)>,
    /// Data on show.
    pub data: Snapshot,
    /// Newest data while paused.
    held: Option<Box<Snapshot>>,
    /// Connection.
    pub conn: Conn,
    /// Wall clock for ages, ns (set by the loop; fixed in tests).
    pub now: i64,
    /// Selected row per screen.
    pub sel: [usize; 8],
    /// Filter per screen.
    pub filter: [String; 8],
    /// Drilled into the selected row, per screen.
    pub open: [bool; 8],
    /// Overview window index into [`WINDOWS`].
    pub window: usize,
    /// What the fetch thread reads.
    pub want: Want,
    /// A short message in the hint bar (action results, errors).
    pub flash: Option<String>,
    /// Set when the console should end.
    pub quit: bool,
    /// Drawing.
    pub theme: Theme,
    /// The daemon's address, as shown.
    pub addr: String,
    /// Refresh interval.
    pub every: Duration,
    /// Skip the too-small screen.
    pub no_size_check: bool,
}

impl App {
    /// A console for the daemon at `addr`.
    pub fn new(addr: String, theme: Theme, every: Duration) -> App {
        App {
            tab: Tab::Overview,
            mode: Mode::Normal,
            input: String::new(),
            help: false,
            help_scroll: 0,
            paused: None,
            data: Snapshot::default(),
            held: None,
            conn: Conn::Connecting,
            now: 0,
            sel: [0; 8],
            filter: Default::default(),
            open: [false; 8],
            window: 0,
            want: Want::default(),
            flash: None,
            quit: false,
            theme,
            addr,
            every,
            no_size_check: false,
        }
    }

    /// New data from the fetch thread (held while paused).
    pub fn update(&mut self, snap: Box<Snapshot>, conn: Conn) {
        self.conn = conn;
        match &mut self.paused {
            Some((_, held)) => {
                *held += 1;
                self.held = Some(snap);
            }
            None => self.data = *snap,
        }
        self.clamp();
    }

    fn clamp(&mut self) {
        let i = self.tab.index();
        let n = ui::rows(self, self.tab);
        if self.sel[i] >= n {
            self.sel[i] = n.saturating_sub(1);
        }
    }

    fn move_sel(&mut self, by: isize) {
        let n = ui::rows(self, self.tab) as isize;
        let i = self.tab.index();
        self.sel[i] = (self.sel[i] as isize + by).clamp(0, (n - 1).max(0)) as usize;
        self.selection_changed();
    }

    // A new selection on a screen whose detail follows it.
    fn selection_changed(&mut self) {
        if self.tab == Tab::Experiments {
            self.want.experiment = ui::experiments::selected(self).map(str::to_owned);
        }
    }

    fn go(&mut self, tab: Tab) {
        self.tab = tab;
        self.want.tab = tab;
        self.mode = Mode::Normal;
        self.clamp();
        self.selection_changed();
    }

    /// Handles a key; what the fetch thread should be told, if anything.
    pub fn handle(&mut self, key: KeyEvent) -> Option<Request> {
        let before = self.want.clone();
        let extra = self.key(key);
        if extra.is_some() {
            return extra;
        }
        (self.want != before).then(|| Request::Want(self.want.clone()))
    }

    fn key(&mut self, key: KeyEvent) -> Option<Request> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return None;
        }
        if self.help {
            match key.code {
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => {
                    self.help = false;
                    self.help_scroll = 0;
                }
                KeyCode::Char('j') | KeyCode::Down => self.help_scroll = self.help_scroll.saturating_add(1).min(40),
                KeyCode::Char('k') | KeyCode::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
                _ => {}
            }
            return None;
        }
        match self.mode.clone() {
            Mode::Normal => self.normal(key),
            Mode::Confirm(pending) => {
                self.mode = Mode::Normal;
                if !matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    self.flash = Some("nothing done".into());
                    return None;
                }
                match pending {
                    Pending::Replay(ids) => {
                        self.flash = Some(format!("replaying {} line(s)...", ids.len()));
                        Some(Request::Replay(ids))
                    }
                    Pending::Pause(name, paused) => {
                        self.flash = Some(format!("{} {name}...", if paused { "pausing" } else { "resuming" }));
                        Some(Request::Pause(name, paused))
                    }
                }
            }
            _ => self.typing(key),
        }
    }

    fn typing(&mut self, key: KeyEvent) -> Option<Request> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                if self.mode == Mode::Filter && self.tab != Tab::Customers {
                    self.filter[self.tab.index()].clear();
                }
                if self.mode == Mode::Edit {
                    self.want.draft = None;
                }
                self.mode = Mode::Normal;
                self.input.clear();
                return None;
            }
            KeyCode::Enter => {
                let text = std::mem::take(&mut self.input);
                let mode = std::mem::replace(&mut self.mode, Mode::Normal);
                match mode {
                    Mode::Command => return self.command(text.trim()),
                    Mode::Filter if self.tab == Tab::Customers => {
                        let q = text.trim().to_owned();
                        self.want.search = (!q.is_empty()).then_some(q);
                        self.sel[self.tab.index()] = 0;
                        self.open[self.tab.index()] = false;
                    }
                    Mode::Edit => {
                        // Keeps the count on show; Esc clears it.
                        self.input = text;
                        self.mode = Mode::Normal;
                    }
                    _ => {}
                }
                return None;
            }
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char('u') if ctrl => self.input.clear(),
            KeyCode::Char(c) if !ctrl => self.input.push(c),
            _ => return None,
        }
        match self.mode {
            Mode::Filter if self.tab != Tab::Customers => {
                self.filter[self.tab.index()] = self.input.clone();
                self.sel[self.tab.index()] = 0;
            }
            Mode::Edit => {
                let e = self.input.trim();
                self.want.draft = (!e.is_empty()).then(|| e.to_owned());
            }
            _ => {}
        }
        None
    }

    fn command(&mut self, cmd: &str) -> Option<Request> {
        let (verb, arg) = cmd.split_once(char::is_whitespace).map_or((cmd, ""), |(v, a)| (v, a.trim()));
        match verb {
            "q" | "quit" => self.quit = true,
            "tab" => match Tab::parse(arg) {
                Some(t) => self.go(t),
                None => self.flash = Some(format!("no screen {arg:?}: 1-8 or a name")),
            },
            "cust" | "customer" if !arg.is_empty() => {
                self.go(Tab::Customers);
                self.want.customer = Some(arg.to_owned());
                self.open[Tab::Customers.index()] = true;
            }
            "seg" | "segment" => {
                self.go(Tab::Segments);
                self.want.seg_view = SegView::List;
                self.filter[Tab::Segments.index()] = arg.to_owned();
            }
            "exp" | "experiment" if !arg.is_empty() => {
                self.go(Tab::Experiments);
                self.filter[Tab::Experiments.index()] = arg.to_owned();
                self.sel[Tab::Experiments.index()] = 0;
                self.selection_changed();
            }
            "refresh" => match parse_every(arg) {
                Some(d) => {
                    self.every = d;
                    self.flash = Some(format!("refreshing every {}", fmt_every(d)));
                    return Some(Request::Every(d));
                }
                None => self.flash = Some(format!("refresh {arg:?}: give a time like 2s or 500ms (at least 250ms)")),
            },
            "" => {}
            _ => self.flash = Some(format!("unknown command {cmd:?}: try tab, cust, seg, exp, refresh, q")),
        }
        None
    }

    fn normal(&mut self, key: KeyEvent) -> Option<Request> {
        let a = action(&key, self.tab)?;
        self.flash = None;
        let i = self.tab.index();
        match a {
            Action::Quit => self.quit = true,
            Action::Help => self.help = true,
            Action::NextTab => self.go(self.tab.step(1)),
            Action::PrevTab => self.go(self.tab.step(-1)),
            Action::Go(t) => self.go(t),
            Action::Up => self.move_sel(-1),
            Action::Down => self.move_sel(1),
            Action::Top => self.move_sel(isize::MIN / 2),
            Action::Bottom => self.move_sel(isize::MAX / 2),
            Action::PageUp => self.move_sel(-10),
            Action::PageDown => self.move_sel(10),
            Action::Enter => {
                if self.tab == Tab::Customers && !self.open[i] {
                    if let Some(id) = ui::customers::selected_id(self) {
                        self.want.customer = Some(id);
                        self.open[i] = true;
                    }
                } else {
                    self.open[i] = true;
                }
            }
            Action::Back => {
                if self.open[i] {
                    self.open[i] = false;
                    if self.tab == Tab::Customers {
                        self.want.customer = None;
                    }
                } else if !self.filter[i].is_empty() {
                    self.filter[i].clear();
                } else if self.tab == Tab::Customers {
                    self.want.search = None;
                } else if self.tab == Tab::Segments {
                    self.want.seg_view = SegView::List;
                    self.want.draft = None;
                }
            }
            Action::Filter => {
                self.mode = Mode::Filter;
                self.input = if self.tab == Tab::Customers { String::new() } else { self.filter[i].clone() };
            }
            Action::Command => {
                self.mode = Mode::Command;
                self.input.clear();
            }
            Action::Pause => match self.paused.take() {
                Some(_) => {
                    if let Some(s) = self.held.take() {
                        self.data = *s;
                    }
                }
                None => self.paused = Some((self.now, 0)),
            },
            Action::Refresh => {
                self.flash = Some("refreshing".into());
                return Some(Request::Now);
            }
            Action::WiderWindow => {
                self.window = (self.window + 1).min(WINDOWS.len() - 1);
                self.want.days = WINDOWS[self.window].1;
            }
            Action::NarrowerWindow => {
                self.window = self.window.saturating_sub(1);
                self.want.days = WINDOWS[self.window].1;
            }
            Action::Follow => {
                self.want.follow = !self.want.follow;
                self.flash = Some(if self.want.follow { "following new events" } else { "timeline held" }.into());
            }
            Action::Edit => {
                self.mode = Mode::Edit;
                self.want.seg_view = SegView::List;
                self.input = self.want.draft.clone().unwrap_or_default();
            }
            Action::View => {
                self.want.seg_view = match self.want.seg_view {
                    SegView::List => SegView::Rfm,
                    SegView::Rfm => SegView::Clusters,
                    SegView::Clusters => SegView::List,
                };
            }
            Action::PauseJourney => {
                if !self.data.admin {
                    self.flash = Some("read-only: pausing a journey needs an admin token".into());
                } else if let Some(j) = ui::journeys::list(self).get(self.sel[i]) {
                    self.mode = Mode::Confirm(Pending::Pause(j.name.clone(), !j.paused));
                }
            }
            Action::Replay => {
                if !self.data.admin {
                    self.flash = Some("read-only: replaying the quarantine needs an admin token".into());
                } else if let Some(id) = ui::quality::selected_line(self) {
                    self.mode = Mode::Confirm(Pending::Replay(vec![id]));
                } else {
                    self.flash = Some("no quarantined line selected".into());
                }
            }
        }
        None
    }
}

/// `2s`, `500ms`, `1m`; at least 250 ms.
pub fn parse_every(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (n, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: u64 = n.parse().ok()?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return None,
    };
    (d >= Duration::from_millis(250)).then_some(d)
}

/// `1s`, `500ms`.
pub fn fmt_every(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{NOW, snapshot};

    fn app() -> App {
        let mut a = App::new("x".into(), Theme { color: false, ascii: false }, Duration::from_secs(1));
        a.now = NOW;
        a.update(Box::new(snapshot()), Conn::Live);
        a
    }

    fn press(a: &mut App, keys: &str) -> Vec<Request> {
        keys.chars().filter_map(|c| a.handle(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))).collect()
    }

    fn key(a: &mut App, code: KeyCode) -> Option<Request> {
        a.handle(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn tabs_by_number_tab_and_command() {
        let mut a = app();
        let sent = press(&mut a, "5");
        assert_eq!(a.tab, Tab::Experiments);
        assert!(matches!(&sent[..], [Request::Want(w)] if w.tab == Tab::Experiments), "the fetch thread is told");
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.tab, Tab::Messages);
        key(&mut a, KeyCode::BackTab);
        key(&mut a, KeyCode::BackTab);
        assert_eq!(a.tab, Tab::Journeys);
        press(&mut a, ":tab quality");
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.tab, Tab::Quality);
        press(&mut a, ":tab 12");
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.tab, Tab::Quality);
        assert!(a.flash.as_deref().is_some_and(|f| f.contains("no screen")), "{:?}", a.flash);
    }

    #[test]
    fn filter_narrows_rows_esc_clears_it() {
        let mut a = app();
        press(&mut a, "3/cart");
        assert_eq!(a.mode, Mode::Filter);
        assert_eq!(ui::rows(&a, Tab::Segments), 1, "only cart_abandoners");
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.filter[Tab::Segments.index()], "cart");
        key(&mut a, KeyCode::Esc);
        assert_eq!(ui::rows(&a, Tab::Segments), 2);
        // j/k move within the rows and stop at the ends.
        press(&mut a, "jjjj");
        assert_eq!(a.sel[Tab::Segments.index()], 1);
        press(&mut a, "g");
        assert_eq!(a.sel[Tab::Segments.index()], 0);
    }

    #[test]
    fn customer_search_and_open_by_key_when_masked() {
        let mut a = app();
        press(&mut a, "2/张伟");
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.want.search.as_deref(), Some("张伟"));
        assert_eq!(
            key(&mut a, KeyCode::Enter).map(|r| matches!(r, Request::Want(w) if w.customer.as_deref() == Some("c-12"))),
            Some(true)
        );
        key(&mut a, KeyCode::Esc);
        assert_eq!(a.want.customer, None);
        // A masked identifier opens by key.
        if let Some(Ok(s)) = &mut a.data.search {
            s.hits[0].customer = Some("phone=+86138****0012".into());
        }
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.want.customer.as_deref(), Some("#12"));
        press(&mut a, "F");
        assert!(!a.want.follow);
    }

    #[test]
    fn pause_holds_updates_and_resume_shows_the_newest() {
        let mut a = app();
        press(&mut a, "p");
        let mut newer = snapshot();
        newer.at = NOW + 5;
        a.update(Box::new(newer), Conn::Live);
        assert_eq!(a.paused, Some((NOW, 1)));
        assert_eq!(a.data.at, NOW - 1_000_000_000, "still the frozen data");
        press(&mut a, "p");
        assert_eq!(a.paused, None);
        assert_eq!(a.data.at, NOW + 5);
    }

    #[test]
    fn replay_asks_first_and_only_for_admins() {
        let mut a = app();
        press(&mut a, "7r");
        assert_eq!(a.mode, Mode::Confirm(Pending::Replay(vec![7])));
        assert!(press(&mut a, "n").is_empty());
        assert_eq!(a.mode, Mode::Normal);
        press(&mut a, "r");
        assert!(matches!(&press(&mut a, "y")[..], [Request::Replay(ids)] if ids == &[7]));
        a.data.admin = false;
        press(&mut a, "r");
        assert_eq!(a.mode, Mode::Normal);
        assert!(a.flash.as_deref().is_some_and(|f| f.contains("read-only")));
    }

    #[test]
    fn a_journey_is_paused_and_resumed_after_a_yes() {
        let mut a = app();
        press(&mut a, "4s");
        assert_eq!(a.mode, Mode::Confirm(Pending::Pause("cart_abandonment".into(), true)));
        assert!(matches!(&press(&mut a, "y")[..], [Request::Pause(n, true)] if n == "cart_abandonment"));
        a.data.journeys[0].paused = true;
        press(&mut a, "s");
        assert!(matches!(&press(&mut a, "y")[..], [Request::Pause(_, false)]), "a paused one resumes");
    }

    #[test]
    fn segment_editor_asks_for_a_live_count_while_typing() {
        let mut a = app();
        press(&mut a, "3e");
        let sent = press(&mut a, "count(order, 30d) > 1");
        assert!(matches!(sent.last(), Some(Request::Want(w)) if w.draft.as_deref() == Some("count(order, 30d) > 1")));
        key(&mut a, KeyCode::Esc);
        assert_eq!(a.want.draft, None);
    }

    #[test]
    fn help_opens_scrolls_and_closes_and_q_quits_only_outside_input() {
        let mut a = app();
        press(&mut a, "?jj");
        assert!(a.help);
        assert_eq!(a.help_scroll, 2);
        press(&mut a, "q");
        assert!(!a.help && !a.quit, "q closes help first");
        press(&mut a, "/q");
        assert!(!a.quit, "q typed into a filter is text");
        key(&mut a, KeyCode::Esc);
        press(&mut a, "q");
        assert!(a.quit);
        let mut b = app();
        b.handle(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(b.quit, "Ctrl-C quits from anywhere");
    }

    #[test]
    fn refresh_interval_by_command() {
        let mut a = app();
        press(&mut a, ":refresh 2s");
        assert!(matches!(key(&mut a, KeyCode::Enter), Some(Request::Every(d)) if d == Duration::from_secs(2)));
        press(&mut a, ":refresh 10ms");
        assert_eq!(key(&mut a, KeyCode::Enter).map(|_| ()), None, "below 250ms is refused");
        assert_eq!(parse_every("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_every("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_every("x"), None);
    }
}
