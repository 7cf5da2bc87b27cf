//! The console's loop: keys, updates from the fetch thread, and a redraw only when something
//! changed (at most 15 frames/s; a 1 Hz tick keeps ages current). The terminal is restored on
//! quit, on panic (which then ends the process, so a panicking thread cannot leave a garbled
//! screen running), on SIGTERM and on SSH hang-up (a watchdog ends the process if the terminal
//! is gone and the loop cannot see the signal).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyEventKind};

use crate::app::App;
use crate::client::Client;
use crate::data::now_ns;
use crate::fetch::{self, Request, Update};
use crate::theme::Theme;

/// How `cxp top` runs.
#[derive(Debug, Clone)]
pub struct TopOptions {
    /// Daemon address (`host:port` or URL).
    pub addr: String,
    /// Bearer token.
    pub token: Option<String>,
    /// Refresh interval.
    pub every: Duration,
    /// ASCII glyphs.
    pub ascii: bool,
    /// Colour: `None` follows `NO_COLOR`.
    pub color: Option<bool>,
    /// Draw even below the minimum size.
    pub no_size_check: bool,
}

const FRAME: Duration = Duration::from_millis(66);

/// Runs the console until `q`.
pub fn run(options: TopOptions) -> std::io::Result<()> {
    let client = Client::new(&options.addr, options.token.clone()).map_err(std::io::Error::other)?;
    let mut app = App::new(client.addr().to_owned(), Theme::detect(options.ascii, options.color), options.every);
    app.no_size_check = options.no_size_check;
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    let (up_tx, up_rx) = mpsc::channel::<Update>();
    let every = options.every;
    let fetcher = std::thread::Builder::new()
        .name("cxp-top-fetch".into())
        .spawn(move || fetch::run(client, req_rx, up_tx, every))?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    // crossterm's poll spins inside itself once the terminal is gone (an SSH hang-up): the
    // loop below never gets to look at the flag. So a watchdog ends the process a moment
    // after a signal if the loop has not ended by then.
    let done = Arc::new(AtomicBool::new(false));
    {
        let (stop, done) = (stop.clone(), done.clone());
        std::thread::Builder::new().name("cxp-top-watchdog".into()).spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_secs(1));
            if !done.load(Ordering::Relaxed) {
                ratatui::restore();
                std::process::exit(0);
            }
        })?;
    }
    let mut terminal = ratatui::init();
    // ratatui's hook restores the terminal; then end the process, whatever thread panicked.
    let restore_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_hook(info);
        std::process::exit(101);
    }));
    let result = (|| -> std::io::Result<()> {
        let mut dirty = true;
        let mut last_draw = Instant::now() - FRAME;
        let mut last_tick = Instant::now();
        while !app.quit && !stop.load(Ordering::Relaxed) {
            if dirty && last_draw.elapsed() >= FRAME {
                app.now = now_ns();
                terminal.draw(|f| crate::ui::draw(&app, f))?;
                last_draw = Instant::now();
                last_tick = last_draw;
                dirty = false;
            }
            let wait = if dirty { FRAME.saturating_sub(last_draw.elapsed()) } else { Duration::from_millis(250) };
            if event::poll(wait)? {
                match event::read()? {
                    Event::Key(k) if k.kind == KeyEventKind::Press => {
                        if let Some(r) = app.handle(k) {
                            let _ = req_tx.send(r);
                        }
                        dirty = true;
                    }
                    Event::Resize(..) => dirty = true,
                    _ => {}
                }
            }
            while let Ok(u) = up_rx.try_recv() {
                match u {
                    Update::Data(snap, conn) => app.update(snap, conn),
                    Update::Flash(m) => app.flash = Some(m),
                }
                dirty = true;
            }
            if last_tick.elapsed() >= Duration::from_secs(1) {
                dirty = true;
            }
        }
        Ok(())
    })();
    done.store(true, Ordering::Relaxed);
    ratatui::restore();
    let _ = req_tx.send(Request::Stop);
    drop(fetcher);
    result
}
