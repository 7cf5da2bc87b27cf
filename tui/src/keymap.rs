//! Every key the console answers to, in one table: the handlers look actions up here and the
//! help overlay and hint bar are generated from it, so a key cannot work without being listed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tab {
    /// Ingest and business KPIs, alerts.
    Overview,
    /// Search and the 360 view.
    Customers,
    /// Segments, RFM, clusters, the segment editor.
    Segments,
    /// Journeys and triggers per step.
    Journeys,
    /// A/B tests.
    Experiments,
    /// Channels, dead letters, why.
    Messages,
    /// Rejects, quarantine, field quality.
    Quality,
    /// Predictive models.
    Models,
}

impl Tab {
    /// All tabs in order.
    pub const ALL: [Tab; 8] = [
        Tab::Overview,
        Tab::Customers,
        Tab::Segments,
        Tab::Journeys,
        Tab::Experiments,
        Tab::Messages,
        Tab::Quality,
        Tab::Models,
    ];

    /// Its name on the tab bar.
    pub fn name(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Customers => "Customers",
            Tab::Segments => "Segments",
            Tab::Journeys => "Journeys",
            Tab::Experiments => "Experiments",
            Tab::Messages => "Messages",
            Tab::Quality => "Quality",
            Tab::Models => "Models",
        }
    }

    /// Position, 0-based.
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The tab `n` places after this one (negative: before), wrapping.
    pub fn step(self, n: isize) -> Tab {
        let len = Tab::ALL.len() as isize;
        Tab::ALL[((self.index() as isize + n).rem_euclid(len)) as usize]
    }

    /// By name (for `:tab NAME`), case-insensitive prefix, or number 1-8.
    pub fn parse(s: &str) -> Option<Tab> {
        if let Ok(n) = s.parse::<usize>() {
            return Tab::ALL.get(n.checked_sub(1)?).copied();
        }
        let s = s.to_ascii_lowercase();
        Tab::ALL.into_iter().find(|t| !s.is_empty() && t.name().to_ascii_lowercase().starts_with(&s))
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Next tab.
    NextTab,
    /// Previous tab.
    PrevTab,
    /// Go to a tab.
    Go(Tab),
    /// Selection up.
    Up,
    /// Selection down.
    Down,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// Open the selected row.
    Enter,
    /// Back out, close, clear.
    Back,
    /// Filter the table (on Customers: search).
    Filter,
    /// Command prompt.
    Command,
    /// Help.
    Help,
    /// Freeze the screen (data keeps coming, held).
    Pause,
    /// Refresh or reconnect now.
    Refresh,
    /// Longer time window.
    WiderWindow,
    /// Shorter time window.
    NarrowerWindow,
    /// Follow the newest events of the customer.
    Follow,
    /// Edit a segment expression with a live count.
    Edit,
    /// Next view of the screen (segments: list, RFM, clusters).
    View,
    /// Replay the selected quarantined line (admins).
    Replay,
    /// Pause or resume the selected journey (admins).
    PauseJourney,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere.
    Global,
    /// On one screen.
    On(Tab),
}

/// One line of the key map.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys.
    pub keys: &'static [KeyCode],
    /// As shown in help.
    pub label: &'static str,
    /// What it does.
    pub action: Action,
    /// In words.
    pub help: &'static str,
    /// Where.
    pub scope: Scope,
    /// Shown in the hint bar.
    pub hint: bool,
}

const fn b(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
    scope: Scope,
    hint: bool,
) -> Binding {
    Binding { keys, label, action, help, scope, hint }
}

use KeyCode::{BackTab, Backspace, Char, Down, End, Enter, Esc, Home, PageDown, PageUp, Tab as TabKey, Up};
use Scope::{Global, On};

/// The key map.
pub const KEYS: &[Binding] = &[
    b(&[Char('q')], "q", Action::Quit, "quit (also Ctrl-C)", Global, true),
    b(&[Char('?')], "?", Action::Help, "help: every key", Global, true),
    b(&[TabKey, Char(']')], "Tab ]", Action::NextTab, "next screen", Global, false),
    b(&[BackTab, Char('[')], "S-Tab [", Action::PrevTab, "previous screen", Global, false),
    b(&[Char('1')], "1", Action::Go(Tab::Overview), "overview", Global, false),
    b(&[Char('2')], "2", Action::Go(Tab::Customers), "customers", Global, false),
    b(&[Char('3')], "3", Action::Go(Tab::Segments), "segments", Global, false),
    b(&[Char('4')], "4", Action::Go(Tab::Journeys), "journeys", Global, false),
    b(&[Char('5')], "5", Action::Go(Tab::Experiments), "experiments", Global, false),
    b(&[Char('6')], "6", Action::Go(Tab::Messages), "messages", Global, false),
    b(&[Char('7')], "7", Action::Go(Tab::Quality), "data quality", Global, false),
    b(&[Char('8')], "8", Action::Go(Tab::Models), "models", Global, false),
    b(&[Char('k'), Up], "k Up", Action::Up, "move up", Global, false),
    b(&[Char('j'), Down], "j Down", Action::Down, "move down", Global, false),
    b(&[Char('g'), Home], "g Home", Action::Top, "first row", Global, false),
    b(&[Char('G'), End], "G End", Action::Bottom, "last row", Global, false),
    b(&[PageUp], "PgUp", Action::PageUp, "page up", Global, false),
    b(&[PageDown], "PgDn", Action::PageDown, "page down", Global, false),
    b(&[Enter], "Enter", Action::Enter, "open the selected row", Global, true),
    b(&[Esc, Backspace], "Esc", Action::Back, "back, close, clear the filter", Global, false),
    b(&[Char('/')], "/", Action::Filter, "filter rows (a|b: either, !a: not)", Global, true),
    b(&[Char(':')], ":", Action::Command, "command: tab N, cust ID, seg NAME, refresh 2s, q", Global, false),
    b(&[Char('p')], "p", Action::Pause, "pause the screen (data is held, not lost)", Global, true),
    b(&[Char('R')], "R", Action::Refresh, "refresh or reconnect now (also Ctrl-R)", Global, false),
    b(&[Char('+')], "+", Action::WiderWindow, "longer time window", On(Tab::Overview), true),
    b(&[Char('-')], "-", Action::NarrowerWindow, "shorter time window", On(Tab::Overview), true),
    b(&[Char('/')], "/", Action::Filter, "search customers by name, id, email, phone, text", On(Tab::Customers), true),
    b(&[Char('F')], "F", Action::Follow, "follow the newest events (or hold them)", On(Tab::Customers), true),
    b(&[Char('e')], "e", Action::Edit, "edit: try a segment expression (live count)", On(Tab::Segments), true),
    b(&[Char('v')], "v", Action::View, "views: segments, RFM grid, clusters", On(Tab::Segments), true),
    b(&[Char('r')], "r", Action::Replay, "replay the selected line (admin)", On(Tab::Quality), true),
    b(
        &[Char('s')],
        "s",
        Action::PauseJourney,
        "stop (pause) or start (resume) the selected journey (admin)",
        On(Tab::Journeys),
        true,
    ),
];

/// The action of `key` on screen `tab`: the screen's own bindings first, then global ones.
pub fn action(key: &KeyEvent, tab: Tab) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            Char('c') => Some(Action::Quit),
            Char('r') => Some(Action::Refresh),
            Char('d') => Some(Action::PageDown),
            Char('u') => Some(Action::PageUp),
            _ => None,
        };
    }
    let find = |scope: Scope| KEYS.iter().find(|b| b.scope == scope && b.keys.contains(&key.code)).map(|b| b.action);
    find(On(tab)).or_else(|| find(Global))
}

/// The bindings help lists for `tab`: global ones, then the screen's, without those a screen
/// binding overrides.
pub fn help(tab: Tab) -> (Vec<&'static Binding>, Vec<&'static Binding>) {
    let own: Vec<&Binding> = KEYS.iter().filter(|b| b.scope == On(tab)).collect();
    let global = KEYS
        .iter()
        .filter(|b| b.scope == Global && !own.iter().any(|o| o.keys.iter().any(|k| b.keys.contains(k))))
        .collect();
    (global, own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn screen_keys_win_over_global_ones_and_ctrl_c_quits() {
        assert_eq!(action(&key(Char('/')), Tab::Customers), Some(Action::Filter));
        assert_eq!(action(&key(Char('e')), Tab::Segments), Some(Action::Edit));
        assert_eq!(action(&key(Char('e')), Tab::Overview), None);
        assert_eq!(action(&key(Char('3')), Tab::Models), Some(Action::Go(Tab::Segments)));
        assert_eq!(action(&key(BackTab), Tab::Models), Some(Action::PrevTab));
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(&ctrl_c, Tab::Quality), Some(Action::Quit));
    }

    #[test]
    fn every_action_a_screen_answers_is_in_its_help() {
        for tab in Tab::ALL {
            let (global, own) = help(tab);
            for b in KEYS.iter().filter(|b| b.scope == Global || b.scope == On(tab)) {
                for k in b.keys {
                    let a = action(&key(*k), tab).expect("bound");
                    assert!(
                        global.iter().chain(own.iter()).any(|h| h.action == a && h.keys.contains(k)),
                        "{k:?} on {tab:?} does {a:?} but help does not say so"
                    );
                }
            }
        }
    }

    #[test]
    fn tabs_by_number_name_and_step() {
        assert_eq!(Tab::parse("3"), Some(Tab::Segments));
        assert_eq!(Tab::parse("exp"), Some(Tab::Experiments));
        assert_eq!(Tab::parse("9"), None);
        assert_eq!(Tab::parse("0"), None);
        assert_eq!(Tab::Overview.step(-1), Tab::Models);
        assert_eq!(Tab::Models.step(1), Tab::Overview);
    }
}
