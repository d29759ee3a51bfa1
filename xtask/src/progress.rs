//! What a long run shows while it works: `[4/15] dependency-cache: cold
//! build …`, then a sign of life at least every 10 seconds, and at the end the
//! time each step took. On a terminal the current step is a live spinner with
//! its elapsed time (indicatif); in CI or through a pipe, plain lines.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const HEARTBEAT: Duration = Duration::from_secs(10);

pub struct Progress {
    done: usize,
    total: usize,
    /// Each finished step and how long it took.
    timings: Vec<(String, Duration)>,
    current: Option<Current>,
}

struct Current {
    what: String,
    started: Instant,
    ticker: Ticker,
}

enum Ticker {
    Spinner(ProgressBar),
    /// A thread that prints a line every HEARTBEAT until the sender is dropped.
    Lines(mpsc::Sender<()>, JoinHandle<()>),
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress { done: 0, total, timings: Vec::new(), current: None }
    }

    pub fn step(&mut self, what: &str) {
        self.finish_current();
        self.done += 1;
        let line = format!("[{}/{}] {what}", self.done, self.total);
        let ticker = if std::io::stderr().is_terminal() {
            let spinner = ProgressBar::new_spinner().with_message(line);
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid progress template"),
            );
            spinner.enable_steady_tick(Duration::from_millis(120));
            Ticker::Spinner(spinner)
        } else {
            eprintln!("{line}");
            let (stop, stopped) = mpsc::channel();
            let what = what.to_string();
            let started = Instant::now();
            let thread = std::thread::spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(HEARTBEAT) {
                    eprintln!("        … {what}: {}s", started.elapsed().as_secs());
                }
            });
            Ticker::Lines(stop, thread)
        };
        self.current = Some(Current { what: what.to_string(), started: Instant::now(), ticker });
    }

    /// A detail under the current step.
    pub fn note(&self, what: &str) {
        self.println(&format!("        {what}"));
    }

    /// A line of output (e.g. from the set-up script) that must not tear the
    /// live display.
    pub fn println(&self, line: &str) {
        match self.current.as_ref().map(|c| &c.ticker) {
            Some(Ticker::Spinner(spinner)) => spinner.println(line),
            _ => eprintln!("{line}"),
        }
    }

    /// Ends the last step and prints how long each one took.
    pub fn finish(&mut self) {
        self.finish_current();
        let total: Duration = self.timings.iter().map(|(_, d)| *d).sum();
        eprintln!("time per step:");
        for (what, took) in &self.timings {
            eprintln!("  {:>7.1}s  {what}", took.as_secs_f64());
        }
        eprintln!("  {:>7.1}s  in all", total.as_secs_f64());
    }

    fn finish_current(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        let took = current.started.elapsed();
        if stop(current.ticker) {
            eprintln!("[{}/{}] {} ({:.1}s)", self.done, self.total, current.what, took.as_secs_f64());
        }
        self.timings.push((current.what, took));
    }
}

/// Stops a step's ticker; true if it was a spinner, whose line is now gone.
fn stop(ticker: Ticker) -> bool {
    match ticker {
        Ticker::Spinner(spinner) => {
            spinner.finish_and_clear();
            true
        }
        Ticker::Lines(stop, thread) => {
            drop(stop);
            let _ = thread.join();
            false
        }
    }
}

impl Drop for Progress {
    /// An error ends a run early: stop the ticker so that it does not outlive
    /// the step (or draw over the error message).
    fn drop(&mut self) {
        if let Some(current) = self.current.take() {
            stop(current.ticker);
        }
    }
}
