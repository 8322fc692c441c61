//! Reporters of a running build: for people (a live progress bar on a terminal, one line
//! per action elsewhere) and for machines (one JSON event per line).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use batuta_engine::exec::{Event, Outcome, Reporter};
use batuta_engine::stale::Swept;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// Progress for people. On a terminal a bar shows done/total, the running actions and the
/// time left, and finished actions scroll above it; elsewhere each finished action is a line.
pub struct TextReporter {
    /// `-q`: only warnings are printed (failures are told after the build).
    quiet: bool,
    total: usize,
    done: AtomicUsize,
    bar: Option<ProgressBar>,
    /// What runs now, since when: the bar shows each with its time, and off a terminal a
    /// long one is said to be still running, so a 50 s cargo build is never silence.
    running: Running,
    out: Mutex<std::io::Stdout>,
    /// Off a terminal: the thread that tells of long actions, stopped by `finish`.
    ticker: Mutex<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

type Running = std::sync::Arc<Mutex<std::collections::BTreeMap<String, std::time::Instant>>>;

/// An action running this long is shown with its time.
const LONG: Duration = Duration::from_secs(5);

/// `build/build (23 s), transpile/x`: the running actions, the long ones with their time.
fn running_text(running: &Running) -> String {
    let running = running.lock().expect("running lock");
    let mut names: Vec<String> = running
        .iter()
        .take(3)
        .map(|(id, since)| match since.elapsed() {
            t if t >= LONG => format!("{id} ({} s)", t.as_secs()),
            _ => id.clone(),
        })
        .collect();
    let more = running.len().saturating_sub(names.len());
    if more > 0 {
        names.push(format!("+{more}"));
    }
    names.join(", ")
}

/// Whether to say again that an action is still running, `secs` into it, when it was last
/// said at `told` seconds: first at 30 s, then each minute.
fn still_running_due(told: Option<u64>, secs: u64) -> bool {
    match told {
        None => secs >= 30,
        Some(last) => secs >= last + 60,
    }
}

/// Off a terminal, every second: an action that has run 30 s is said to be still running,
/// and again each minute.
fn tick_long_actions(
    running: Running,
    stop: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut told: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            stop.recv_timeout(Duration::from_secs(1))
        {
            let now: Vec<(String, u64)> = running
                .lock()
                .expect("running lock")
                .iter()
                .map(|(id, since)| (id.clone(), since.elapsed().as_secs()))
                .collect();
            for (id, secs) in now {
                if still_running_due(told.get(&id).copied(), secs) {
                    println!("  … {id} still running ({secs} s)");
                    told.insert(id, secs);
                }
            }
        }
    })
}

impl TextReporter {
    pub fn new(total: usize, ui: &crate::output::Ui) -> Self {
        let color = ui.color;
        let running: Running = Default::default();
        let bar = (!ui.quiet && std::io::stdout().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stdout());
            let template = if color {
                "{spinner:.green} [{pos}/{len}] {bar:30.cyan/blue} ETA {eta} {wide_running}"
            } else {
                "{spinner} [{pos}/{len}] {bar:30} ETA {eta} {wide_running}"
            };
            let shown = running.clone();
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("valid template")
                    .with_key(
                        "wide_running",
                        move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(&running_text(&shown));
                        },
                    )
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let ticker = (!ui.quiet && bar.is_none()).then(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            (tx, tick_long_actions(running.clone(), rx))
        });
        Self {
            quiet: ui.quiet,
            total,
            done: AtomicUsize::new(0),
            bar,
            running,
            out: Mutex::new(std::io::stdout()),
            ticker: Mutex::new(ticker),
        }
    }

    /// Clear the bar (or stop the ticker) before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some((stop, thread)) = self.ticker.lock().expect("ticker lock").take() {
            drop(stop);
            let _ = thread.join();
        }
    }

    fn print(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                let _ = writeln!(self.out.lock().expect("stdout lock"), "{line}");
            }
        }
    }
}

impl Reporter for TextReporter {
    fn event(&self, e: Event<'_>) {
        match e {
            Event::ActionStarted(a) => {
                let mut running = self.running.lock().expect("running lock");
                running.insert(a.id.clone(), std::time::Instant::now());
            }
            Event::ActionFinished {
                action,
                outcome,
                duration,
                ..
            } => {
                let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
                self.running
                    .lock()
                    .expect("running lock")
                    .remove(&action.id);
                if let Some(bar) = &self.bar {
                    bar.set_position(n as u64);
                }
                let remote_verb;
                let verb = match outcome {
                    Outcome::Executed => "ran",
                    Outcome::RemoteExecuted { worker } => {
                        remote_verb = format!("ran on {worker}");
                        &remote_verb
                    }
                    Outcome::Cached => "restored",
                    Outcome::RemoteCached => "restored (remote)",
                    // A no-op build prints nothing per action, as ninja does.
                    Outcome::UpToDate => return,
                    Outcome::Failed(_) => "FAILED",
                    Outcome::Cancelled => "cancelled",
                };
                self.print(&format!(
                    "[{n}/{}] {verb} {} ({:.2}s)",
                    self.total,
                    action.id,
                    duration.as_secs_f64()
                ));
            }
            Event::ActionReport { action, text } => {
                for line in text.lines() {
                    self.print(&format!("  {}: {line}", action.id));
                }
            }
            Event::Warning(w) => {
                if self.quiet {
                    eprintln!("warning: {w}");
                } else {
                    self.print(&format!("warning: {w}"));
                }
            }
            Event::Swept(s) => self.print(&swept_text(s)),
            Event::PhaseStarted(_) | Event::PhaseFinished { .. } => {}
        }
    }
}

/// One JSON object per line on stdout; `batuta build` adds the summary line last.
///
/// Lines are buffered: a no-op build of 10,000 actions would otherwise make 10,000 write
/// calls. Whatever a follower waits for (an action that ran or failed, a phase, a warning)
/// is flushed at once; up-to-date actions wait for the next of those or for `line`.
pub struct JsonReporter {
    out: Mutex<std::io::BufWriter<std::io::Stdout>>,
}

impl Default for JsonReporter {
    fn default() -> Self {
        Self {
            out: Mutex::new(std::io::BufWriter::with_capacity(
                64 * 1024,
                std::io::stdout(),
            )),
        }
    }
}

impl JsonReporter {
    /// Write a line of the caller's (the summary) and flush everything.
    pub fn line(&self, line: &str) {
        let mut out = self.out.lock().expect("stdout lock");
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

impl Drop for JsonReporter {
    fn drop(&mut self) {
        let _ = self.out.get_mut().map(|o| o.flush());
    }
}

impl Reporter for JsonReporter {
    fn event(&self, e: Event<'_>) {
        let quiet = matches!(
            e,
            Event::ActionFinished {
                outcome: Outcome::UpToDate,
                ..
            }
        );
        let v = match e {
            Event::PhaseStarted(p) => {
                json!({ "event": "phase", "phase": p.stage_name(), "status": "started" })
            }
            Event::PhaseFinished { phase, ok } => json!({
                "event": "phase",
                "phase": phase.stage_name(),
                "status": if ok { "completed" } else { "failed" },
            }),
            Event::ActionStarted(_) => return,
            Event::ActionFinished {
                action,
                outcome,
                duration,
                ..
            } => {
                let mut v = json!({
                    "event": "action",
                    "id": action.id,
                    "stage": action.phase.stage_name(),
                    "outcome": match outcome {
                        Outcome::Executed | Outcome::RemoteExecuted { .. } => "executed",
                        Outcome::Cached | Outcome::RemoteCached => "cached",
                        Outcome::UpToDate => "up_to_date",
                        Outcome::Failed(_) => "failed",
                        Outcome::Cancelled => "cancelled",
                    },
                    "duration_ms": duration.as_millis() as u64,
                });
                // Additions to the contract: the workspace project of the action, which
                // cache a `cached` action came from, and which remote worker ran an
                // `executed` one.
                if let Some(scope) = &action.scope {
                    v["project"] = json!(scope.name);
                }
                match outcome {
                    Outcome::RemoteCached => v["remote"] = json!(true),
                    Outcome::RemoteExecuted { worker } => {
                        v["remote"] = json!(true);
                        v["worker"] = json!(worker);
                    }
                    _ => {}
                }
                if let Outcome::Failed(f) = outcome {
                    v["code"] = json!(f.code.code);
                    v["message"] = json!(f.message);
                    v["stderr"] = json!(f.detail);
                    v["hints"] = json!(f.hints);
                }
                v
            }
            Event::ActionReport { action, text } => {
                json!({ "event": "report", "id": action.id, "text": text })
            }
            Event::Warning(w) => json!({ "event": "warning", "message": w }),
            Event::Swept(s) => match s {
                Swept::Removed(p) => json!({ "event": "removed", "path": p }),
                Swept::Kept(p) => {
                    json!({ "event": "kept", "path": p, "why": "changed since batuta wrote it" })
                }
                Swept::Failed(p, e) => {
                    json!({ "event": "warning", "message": swept_text(&Swept::Failed(p.clone(), e.clone())) })
                }
            },
        };
        let mut out = self.out.lock().expect("stdout lock");
        let _ = writeln!(out, "{v}");
        if !quiet {
            let _ = out.flush();
        }
    }
}

/// What the sweep of stale files did, in words (see `batuta_engine::stale`).
fn swept_text(s: &Swept) -> String {
    match s {
        Swept::Removed(p) => {
            format!("removed {p}: an earlier build wrote it, and no action writes it any more")
        }
        Swept::Kept(p) => {
            format!("kept {p}: an earlier build wrote it, but it changed since, so it is yours now")
        }
        Swept::Failed(p, e) => {
            format!("warning: could not remove {p}, which no action writes any more: {e}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_action_shows_its_time_and_is_told_of_each_minute() {
        let running: Running = Default::default();
        let ago = |s| {
            std::time::Instant::now()
                .checked_sub(Duration::from_secs(s))
                .unwrap()
        };
        running
            .lock()
            .unwrap()
            .insert("build/build".into(), ago(42));
        running.lock().unwrap().insert("validate/x".into(), ago(1));
        assert_eq!(running_text(&running), "build/build (42 s), validate/x");
        assert!(!still_running_due(None, 29));
        assert!(still_running_due(None, 30));
        assert!(!still_running_due(Some(30), 89));
        assert!(still_running_due(Some(30), 90));
    }
}
