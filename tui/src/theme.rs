//! Colour and glyph levels. Meaning never rests on colour alone: every state also has a word
//! or a symbol, so `NO_COLOR` and monochrome terminals lose nothing.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;

/// How the console draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// The 16 named ANSI colours (the terminal's theme picks the shades); off for `NO_COLOR`.
    pub color: bool,
    /// ASCII glyphs only (`TERM=linux`, a non-UTF-8 locale, or `--ascii`).
    pub ascii: bool,
}

const ASCII_BORDER: symbols::border::Set<'static> = symbols::border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

const ASCII_BARS: symbols::bar::Set<'static> = symbols::bar::Set {
    full: "#",
    seven_eighths: "#",
    three_quarters: "=",
    five_eighths: "=",
    half: "-",
    three_eighths: "-",
    one_quarter: "_",
    one_eighth: ".",
    empty: " ",
};

impl Theme {
    /// From the environment: `NO_COLOR` (non-empty) turns colour off; `TERM` of a bare console
    /// or a locale that is not UTF-8 selects ASCII glyphs.
    pub fn detect(force_ascii: bool, color: Option<bool>) -> Theme {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let no_color = !var("NO_COLOR").is_empty();
        let term = var("TERM");
        let locale = [var("LC_ALL"), var("LC_CTYPE"), var("LANG")].into_iter().find(|v| !v.is_empty());
        let utf8 = locale.is_none_or(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        });
        let bare = matches!(term.as_str(), "linux" | "vt100" | "vt220" | "dumb");
        Theme { color: color.unwrap_or(!no_color), ascii: force_ascii || bare || !utf8 }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::new()
    }
    /// Labels and secondary text.
    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    /// Headings and numbers that matter.
    pub fn strong(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    /// The selected row or tab: reverse video, visible without colour.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// Good news (with a word or sign next to it).
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    /// Needs attention.
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    /// Something is wrong.
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    /// Accent for titles and the header band.
    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }
    /// Sparklines and bars.
    pub fn chart(&self) -> Style {
        self.fg(Color::Blue)
    }

    /// Borders.
    pub fn border(&self) -> symbols::border::Set<'static> {
        if self.ascii { ASCII_BORDER } else { symbols::border::PLAIN }
    }
    /// Sparkline levels.
    pub fn bars(&self) -> symbols::bar::Set<'static> {
        if self.ascii { ASCII_BARS } else { symbols::bar::NINE_LEVELS }
    }
    /// The mark in front of the selected row.
    pub fn cursor(&self) -> &'static str {
        "> "
    }
    /// Up and down arrows for changes.
    pub fn arrows(&self) -> (&'static str, &'static str) {
        if self.ascii { ("^", "v") } else { ("▲", "▼") }
    }
    /// Filled and empty cells of a text bar.
    pub fn bar_cells(&self) -> (&'static str, &'static str) {
        if self.ascii { ("#", "-") } else { ("█", "░") }
    }
    /// Separator between header items.
    pub fn dot(&self) -> &'static str {
        if self.ascii { "|" } else { "·" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_glyphs_are_ascii() {
        let t = Theme { color: false, ascii: true };
        let b = t.border();
        for s in [b.top_left, b.vertical_left, b.horizontal_top, t.arrows().0, t.arrows().1, t.bar_cells().0, t.dot()] {
            assert!(s.is_ascii(), "{s:?}");
        }
        let bars = t.bars();
        for s in [bars.full, bars.half, bars.one_eighth, bars.empty] {
            assert!(s.is_ascii(), "{s:?}");
        }
    }

    #[test]
    fn monochrome_has_no_colours_but_keeps_the_selection_visible() {
        let t = Theme { color: false, ascii: false };
        assert_eq!(t.bad().fg, None);
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
        let c = Theme { color: true, ascii: false };
        assert_eq!(c.bad().fg, Some(Color::Red));
    }
}
