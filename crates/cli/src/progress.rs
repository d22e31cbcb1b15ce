//! Progress on stderr while evidence is read, only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use lateral_engine::Engine;

pub struct Progress {
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    pub fn start(engine: &Engine) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { done, handle: None };
        }
        let total: u64 = engine.sources().iter().map(|s| s.size).sum();
        let stats = engine.stats();
        let flag = done.clone();
        let handle = std::thread::spawn(move || {
            let bar = ProgressBar::new(total.max(1));
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {msg}",
            ) {
                bar.set_style(style);
            }
            while !flag.load(Ordering::Relaxed) {
                bar.set_position(stats.bytes_done.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{} records, {} files",
                    stats.records.load(Ordering::Relaxed),
                    stats.sources_done.load(Ordering::Relaxed)
                ));
                std::thread::sleep(Duration::from_millis(120));
            }
            bar.finish_and_clear();
        });
        Progress {
            done,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
