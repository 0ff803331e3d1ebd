//! The live provisioning dashboard, `scimd tui`: a ratatui client of the daemon's control
//! socket.
//!
//! # Layout
//! - [`app`]: the state and `update(msg)`, pure;
//! - [`ui`]: rendering the state;
//! - [`client`]: the socket client, reconnecting by itself;
//! - [`text`]: escaping and clipping IdP data for display;
//! - [`when`]: the daemon's times, relative to its own clock;
//! - [`run`]: the terminal loop that ties them together.

pub mod app;
pub mod client;
pub mod text;
pub mod ui;
pub mod when;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use tokio::sync::mpsc;

use app::{App, Msg};

/// Runs the dashboard against the control socket at `socket` until the operator quits.
/// Takes over the terminal and gives it back on exit and on panic.
pub fn run(socket: PathBuf) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(socket))
}

async fn run_async(socket: PathBuf) -> io::Result<()> {
    // Installs a panic hook that restores the terminal before the panic message prints.
    // `try_init` rather than `init`: no terminal (say, output piped) is an error to report,
    // not a panic.
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            return Err(e);
        }
    };
    let (to_app, mut inbox) = mpsc::channel::<Msg>(1024);
    let (requests, from_app) = mpsc::channel(256);
    let client = tokio::spawn(client::run(socket.clone(), to_app.clone(), from_app));

    // crossterm's reader blocks, so it gets its own thread; polling with a timeout lets it
    // notice when we quit instead of swallowing a key after the terminal is restored.
    let stop = Arc::new(AtomicBool::new(false));
    let input = {
        let stop = stop.clone();
        let to_app = to_app.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(_) => break,
                }
                let msg = match event::read() {
                    Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                    Ok(Event::Resize(..)) => Msg::Resize,
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if to_app.blocking_send(msg).is_err() {
                    break;
                }
            }
        })
    };
    drop(to_app);

    let mut app = App::new(socket.display().to_string());
    let result = loop {
        if let Err(e) = terminal.draw(|f| ui::render(&app, f)) {
            break Err(e);
        }
        let Some(msg) = inbox.recv().await else {
            break Ok(());
        };
        let mut pending = vec![msg];
        // Apply everything already queued before drawing again, so a burst of records costs
        // one frame rather than one per record.
        while pending.len() < 512 {
            match inbox.try_recv() {
                Ok(m) => pending.push(m),
                Err(_) => break,
            }
        }
        for msg in pending {
            for req in app.update(msg) {
                // A full queue means the daemon is not reading; the next refresh asks again.
                let _ = requests.try_send(req);
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    ratatui::restore();
    stop.store(true, Ordering::Relaxed);
    client.abort();
    let _ = input.join();
    result
}
