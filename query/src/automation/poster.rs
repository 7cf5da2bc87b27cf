//! Social posters: a PNG from a template's headline, offer, product and price, with Chinese
//! text set in Noto Sans CJK SC (a subset of 3,755 common characters, ASCII and CJK
//! punctuation, shipped in the binary: `assets/fonts/`, SIL Open Font License).
//!
//! Lines break between any two CJK characters and between words of Latin text, and a line
//! that still does not fit is shrunk. A character the font lacks is drawn as a box and
//! reported, so a poster never silently loses text.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use unicode_segmentation::UnicodeSegmentation;

/// The font, as shipped.
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Bold-subset.otf");

/// Poster size in pixels.
pub const WIDTH: u32 = 800;
/// Height.
pub const HEIGHT: u32 = 1000;

/// What goes on a poster.
#[derive(Debug, Clone, Default)]
pub struct PosterText {
    /// The big line.
    pub headline: String,
    /// The offer (a discount, a gift).
    pub offer: String,
    /// Product name.
    pub product: String,
    /// Price, as printed.
    pub price: String,
}

/// A rendered poster.
#[derive(Debug, Clone)]
pub struct Poster {
    /// PNG bytes.
    pub png: Vec<u8>,
    /// Characters the font could not draw.
    pub missing: Vec<char>,
}

/// Why a poster could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// The shipped font is unreadable (a broken build).
    #[error("font: {0}")]
    Font(String),
    /// PNG encoding failed.
    #[error("png: {0}")]
    Png(String),
}

struct Canvas {
    rgba: Vec<u8>,
    w: u32,
    h: u32,
}

impl Canvas {
    fn fill(&mut self, y0: u32, y1: u32, color: [u8; 3]) {
        for y in y0..y1.min(self.h) {
            for x in 0..self.w {
                let i = ((y * self.w + x) * 4) as usize;
                self.rgba[i..i + 3].copy_from_slice(&color);
                self.rgba[i + 3] = 255;
            }
        }
    }

    fn blend(&mut self, x: i32, y: i32, c: f32, color: [u8; 3]) {
        if x < 0 || y < 0 || x >= self.w as i32 || y >= self.h as i32 {
            return;
        }
        let i = ((y as u32 * self.w + x as u32) * 4) as usize;
        for (px, &fg) in self.rgba[i..i + 3].iter_mut().zip(&color) {
            let bg = f32::from(*px);
            *px = (bg + (f32::from(fg) - bg) * c.clamp(0.0, 1.0)).round() as u8;
        }
    }
}

fn is_cjk(s: &str) -> bool {
    s.chars().any(|c| matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF))
}

/// Breaks `text` into lines no wider than `max` at `scale`: between CJK characters anywhere,
/// between Latin words at spaces.
fn wrap(font: &FontRef<'_>, scale: PxScale, text: &str, max: f32) -> Vec<String> {
    let sf = font.as_scaled(scale);
    let width = |s: &str| s.chars().map(|c| sf.h_advance(font.glyph_id(c))).sum::<f32>();
    let mut lines = Vec::new();
    let mut line = String::new();
    // Units that stay together: a word, or one CJK grapheme, with its following space.
    let units: Vec<&str> = text
        .split_word_bounds()
        .flat_map(|w| if is_cjk(w) { w.graphemes(true).collect::<Vec<_>>() } else { vec![w] })
        .collect();
    for u in units {
        let candidate = format!("{line}{u}");
        // Closing punctuation never starts a line (Chinese typesetting): it stays with the
        // character before it, even a little past the margin.
        let closing = u.chars().all(|c| "，。！？、；：”’）】》…,.!?;:)".contains(c));
        if width(candidate.trim_end()) <= max || line.trim().is_empty() || closing {
            line = candidate;
        } else {
            lines.push(line.trim().to_owned());
            line = u.trim_start().to_owned();
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim().to_owned());
    }
    lines
}

fn draw_line(
    canvas: &mut Canvas,
    font: &FontRef<'_>,
    mut scale: PxScale,
    text: &str,
    y: f32,
    color: [u8; 3],
    missing: &mut Vec<char>,
) -> f32 {
    let margin = 60.0;
    let max = canvas.w as f32 - 2.0 * margin;
    let mut sf = font.as_scaled(scale);
    let mut width: f32 = text.chars().map(|c| sf.h_advance(font.glyph_id(c))).sum();
    if width > max {
        // A single unbreakable word: shrink it to fit.
        scale = PxScale::from(scale.x * max / width);
        sf = font.as_scaled(scale);
        width = max;
    }
    let mut x = (canvas.w as f32 - width) / 2.0;
    let baseline = y + sf.ascent();
    for c in text.chars() {
        let id: GlyphId = font.glyph_id(c);
        if id.0 == 0 && !c.is_whitespace() {
            missing.push(c);
        }
        let glyph = id.with_scale_and_position(scale, point(x, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline
                .draw(|gx, gy, cov| canvas.blend(b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32, cov, color));
        }
        x += sf.h_advance(id);
    }
    sf.height() + sf.line_gap()
}

/// The poster of a social message's parts (`headline`, `offer`, `product`, `price`).
pub fn from_parts(parts: &std::collections::BTreeMap<String, String>) -> Result<Poster, PosterError> {
    let part = |k: &str| parts.get(k).cloned().unwrap_or_default();
    render(&PosterText {
        headline: part("headline"),
        offer: part("offer"),
        product: part("product"),
        price: part("price"),
    })
}

/// Renders a poster.
pub fn render(text: &PosterText) -> Result<Poster, PosterError> {
    let font = FontRef::try_from_slice(FONT).map_err(|e| PosterError::Font(e.to_string()))?;
    let mut canvas = Canvas { rgba: vec![255; (WIDTH * HEIGHT * 4) as usize], w: WIDTH, h: HEIGHT };
    let (brand, dark, light) = ([196, 30, 58], [33, 33, 33], [255, 255, 255]);
    canvas.fill(0, 380, brand);
    let mut missing = Vec::new();
    let max = WIDTH as f32 - 120.0;
    let mut y = 60.0;
    let big = PxScale::from(84.0);
    for line in wrap(&font, big, &text.headline, max).into_iter().take(3) {
        y += draw_line(&mut canvas, &font, big, &line, y, light, &mut missing);
    }
    let mut y = 430.0;
    let mid = PxScale::from(56.0);
    for line in wrap(&font, mid, &text.product, max).into_iter().take(2) {
        y += draw_line(&mut canvas, &font, mid, &line, y, dark, &mut missing);
    }
    y += 20.0;
    let price = PxScale::from(110.0);
    if !text.price.is_empty() {
        y += draw_line(&mut canvas, &font, price, &text.price, y, brand, &mut missing);
    }
    let small = PxScale::from(44.0);
    for line in wrap(&font, small, &text.offer, max).into_iter().take(3) {
        y += draw_line(&mut canvas, &font, small, &line, y, dark, &mut missing);
    }
    let _ = y;
    missing.sort_unstable();
    missing.dedup();
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| PosterError::Png(e.to_string()))?;
        w.write_image_data(&canvas.rgba).map_err(|e| PosterError::Png(e.to_string()))?;
    }
    Ok(Poster { png, missing })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_poster_draws_every_character() {
        let p = render(&PosterText {
            headline: "双十一狂欢，全场五折起！限时抢购中".into(),
            offer: "下单即送精美礼品一份，满299元包邮".into(),
            product: "无线降噪耳机 Pro".into(),
            price: "¥599".into(),
        })
        .expect("renders");
        assert!(p.missing.is_empty(), "{:?}", p.missing);
        assert_eq!(&p.png[..8], b"\x89PNG\r\n\x1a\n");
        // Decode and check that text was drawn in the headline band (pixels other than the
        // band's colour) and that the image has the size it says.
        let dec = png::Decoder::new(std::io::Cursor::new(&p.png));
        let mut reader = dec.read_info().expect("png");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("frame");
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let white_in_band = buf[..(380 * WIDTH * 4) as usize].chunks(4).filter(|px| px[0] > 240 && px[1] > 240).count();
        assert!(white_in_band > 5_000, "headline pixels: {white_in_band}");
        // A character outside the subset is reported.
        let odd = render(&PosterText { headline: "𠀀".into(), ..PosterText::default() }).expect("renders");
        assert_eq!(odd.missing, vec!['𠀀']);
    }

    #[test]
    fn lines_break_between_cjk_characters_and_latin_words() {
        let font = FontRef::try_from_slice(FONT).expect("font");
        let lines = wrap(&font, PxScale::from(84.0), "双十一狂欢全场五折起限时抢购中", 680.0);
        assert!(lines.len() >= 2, "{lines:?}");
        assert_eq!(lines.concat(), "双十一狂欢全场五折起限时抢购中");
        // The headline of the poster test: the full stop goes with 起, not to the next line.
        let lines = wrap(&font, PxScale::from(84.0), "双十一狂欢，全场五折起！限时抢购中", 680.0);
        assert!(lines.iter().all(|l| !l.starts_with('！')), "{lines:?}");
        let lines = wrap(&font, PxScale::from(84.0), "Big summer sale on everything", 680.0);
        assert!(lines.iter().all(|l| !l.starts_with(' ') && !l.ends_with(' ')));
        assert_eq!(lines.join(" "), "Big summer sale on everything");
    }
}
