//! `--profile FILE`: every action of a build as a Chrome trace event, one lane per worker,
//! so Perfetto (ui.perfetto.dev) or chrome://tracing shows where the time went and which
//! chain of actions kept the build from finishing sooner.

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use batuta_engine::exec::{Event, Outcome, Progress};
use serde_json::{Value, json};

/// The lane of actions the scheduler found up to date without a worker.
const SCHEDULER_LANE: usize = 0;

/// Passes events on and keeps each finished action as a trace event.
pub struct Profile<'a> {
    inner: &'a dyn Progress,
    started: Instant,
    events: Mutex<Vec<Value>>,
    workers: Mutex<usize>,
}

impl<'a> Profile<'a> {
    pub fn new(inner: &'a dyn Progress) -> Self {
        Self {
            inner,
            started: Instant::now(),
            events: Mutex::default(),
            workers: Mutex::new(0),
        }
    }

    /// Write the trace as JSON (the "JSON Object Format" of the trace-event spec).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let workers = *self.workers.lock().expect("workers lock");
        let mut events = vec![lane_name(
            SCHEDULER_LANE,
            "scheduler (up to date)".to_owned(),
        )];
        events.extend((0..workers).map(|w| lane_name(w + 1, format!("worker {w}"))));
        events.extend(self.events.lock().expect("events lock").iter().cloned());
        let trace = json!({ "traceEvents": events, "displayTimeUnit": "ms" });
        batuta_engine::fsutil::write_atomic(path, trace.to_string().as_bytes())
    }
}

fn lane_name(tid: usize, name: String) -> Value {
    json!({ "ph": "M", "name": "thread_name", "pid": 1, "tid": tid, "args": { "name": name } })
}

impl Progress for Profile<'_> {
    fn event(&self, e: Event<'_>) {
        if let Event::ActionFinished {
            action,
            outcome,
            duration,
            worker,
        } = &e
        {
            // Timestamps in microseconds from the start of the build; the event arrives
            // when the action ends, so it began `duration` earlier.
            let end = self.started.elapsed().as_micros();
            let dur = duration.as_micros();
            let (result, cache) = match outcome {
                Outcome::Executed => ("executed", "miss"),
                Outcome::RemoteExecuted { .. } => ("executed remotely", "miss"),
                Outcome::Cached => ("cached", "hit"),
                Outcome::RemoteCached => ("cached", "remote hit"),
                Outcome::UpToDate => ("up_to_date", "none"),
                Outcome::Failed(_) => ("failed", "miss"),
                Outcome::Cancelled => ("cancelled", "miss"),
            };
            let tid = worker.map_or(SCHEDULER_LANE, |w| w + 1);
            if let Some(w) = worker {
                let mut n = self.workers.lock().expect("workers lock");
                *n = (*n).max(w + 1);
            }
            self.events.lock().expect("events lock").push(json!({
                "name": action.id,
                "cat": action.phase.stage_name(),
                "ph": "X",
                "ts": end.saturating_sub(dur) as u64,
                "dur": dur as u64,
                "pid": 1,
                "tid": tid,
                "args": { "outcome": result, "cache": cache, "phase": action.phase.stage_name() },
            }));
        }
        self.inner.event(e);
    }
}
