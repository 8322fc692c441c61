//! One action, start to end: its key, and whether it is up to date, restorable from the
//! cache, or must run; then, when it runs, the workspace made ready for it, the run handed
//! to the runner, and what it wrote checked against what it declares and recorded.

use std::sync::atomic::{AtomicBool, Ordering};

use super::recorder::Recorder;
use super::runner::{Ran, Runner};
use super::{Event, Outcome, Progress};
use crate::beneath::Beneath;
use crate::cache::{INLINE_MAX, is_executable};
use crate::codes;
use crate::db::ToolDown;
use crate::digest::{Digest, hash_file};
use crate::graph::{Action, ActionGraph};
use crate::key;
use crate::manifest::Manifest;
use crate::rule::failure::Kind;
use crate::rule::{Failure, Rules};

/// What every action of one build shares.
pub(super) struct Build<'a> {
    pub m: &'a Manifest,
    pub g: &'a ActionGraph,
    pub recorder: &'a Recorder<'a>,
    pub runner: &'a dyn Runner,
    pub rules: &'a dyn Rules,
    /// Each action's fingerprint (see `crate::key`), from the database.
    pub fingerprints: &'a [Result<Digest, ToolDown>],
    pub cancel: &'a AtomicBool,
    pub progress: &'a dyn Progress,
}

/// An output that could not be put in place, or was not written: the action broke its
/// declaration (BATUTA-E-002).
fn contract(not_written: Vec<String>, undeclared: Vec<String>, message: String) -> Failure {
    Failure::of_kind(
        codes::E002,
        Kind::Contract {
            not_written,
            undeclared,
        },
        message,
    )
}

impl Build<'_> {
    /// Whether action `i` is up to date as the workspace stands now (no lock held long,
    /// safe to ask for many actions at once).
    pub fn fresh(&self, i: usize) -> bool {
        let a = &self.g.actions[i];
        // Without a record of a last run nothing can be up to date: hashing the inputs here
        // would only hash them twice (the run hashes them again, once the stat cache can
        // trust nothing it saw in this build).
        a.cache
            && self.recorder.has_record(&a.id)
            && self
                .key(i)
                .is_ok_and(|key| self.recorder.up_to_date(a, &key))
    }

    /// The action's key from its fingerprint and its inputs as they are on disk now.
    fn key(&self, i: usize) -> Result<Digest, Failure> {
        let a = &self.g.actions[i];
        let fingerprint = match &self.fingerprints[i] {
            Ok(f) => f,
            Err(down) => return Err(self.tool_down(down)),
        };
        let mut inputs = Vec::with_capacity(a.inputs.len());
        for rel in &a.inputs {
            let missing = |why: String| {
                Failure::of_kind(codes::E001, Kind::MissingInput { path: rel.clone() }, why)
                    .hint("if a task writes it, make it that task's declared output (`out:` or `outputs:`) so it runs first")
            };
            let matched = a.is_matched(rel);
            match self.recorder.digest(rel) {
                Ok(Some(d)) => inputs.push((matched.then_some(rel.as_str()), d)),
                // A glob's match that is gone is simply not matched (see `Action::matched`).
                Ok(None) if matched => {}
                Ok(None) => {
                    return Err(missing(format!(
                        "input '{rel}' does not exist, and no action of this build writes it"
                    )));
                }
                Err(e) => return Err(missing(format!("cannot read input '{rel}': {e}"))),
            }
        }
        Ok(key::action_key(fingerprint, &inputs))
    }

    /// BATUTA-T-001 for an action whose tool cannot run.
    fn tool_down(&self, down: &ToolDown) -> Failure {
        let tool = self.m.tool(&down.tool).expect("validated tool");
        let e = if down.why.not_found {
            std::io::Error::from(std::io::ErrorKind::NotFound)
        } else {
            std::io::Error::other(down.why.why.clone())
        };
        super::runner::tool_missing(&down.tool, &tool.command.value, tool.install.as_deref(), &e)
    }

    /// Bring action `i` up to date: find it so, restore it, or run it.
    pub fn process(&self, i: usize) -> Outcome {
        let a = &self.g.actions[i];
        let outcome = match self.key(i) {
            Ok(key) => self.bring_up_to_date(a, &key),
            Err(f) => Outcome::Failed(f),
        };
        match outcome {
            // The whole output is kept first; a phase rule then reads it for what it says.
            Outcome::Failed(f) => {
                let f = self.recorder.failed(a, f);
                Outcome::Failed(self.rules.explain(&self.m.root, a, f))
            }
            other => other,
        }
    }

    fn bring_up_to_date(&self, a: &Action, key: &Digest) -> Outcome {
        if a.cache && self.recorder.up_to_date(a, key) {
            return Outcome::UpToDate;
        }
        self.recorder.begin();
        if a.cache {
            match self.recorder.restore(a, key) {
                Ok(true) => return Outcome::Cached,
                Ok(false) => {}
                Err(e) => self.warn(format!("{}: {e}; running the action instead", a.id)),
            }
            if self.recorder.restore_remote(a, key) {
                return Outcome::RemoteCached;
            }
        }
        self.execute(a, key)
    }

    fn warn(&self, w: String) {
        self.progress.event(Event::Warning(&w));
    }

    /// Stale outputs must not pass for fresh ones, and their folders must exist (made
    /// without following a link an earlier action may have planted, see `beneath`).
    fn make_room(&self, a: &Action) -> Result<(), Failure> {
        for out in &a.outputs {
            let place = Beneath::open(&self.m.root, out, true).map_err(|e| {
                contract(
                    vec![out.clone()],
                    Vec::new(),
                    format!("cannot make the folder of '{out}': {e}"),
                )
            })?;
            if let Err(e) = place.remove() {
                return Err(contract(
                    vec![out.clone()],
                    Vec::new(),
                    format!("cannot remove old output '{out}': {e}"),
                ));
            }
            self.recorder.stat.write().expect("stat lock").forget(out);
        }
        Ok(())
    }

    fn execute(&self, a: &Action, key: &Digest) -> Outcome {
        let started = std::time::Instant::now();
        if let Err(f) = self.runner.prepare(a).and_then(|()| self.make_room(a)) {
            return Outcome::Failed(f);
        }
        let ran = self.runner.run(a).unwrap_or_else(|| {
            Err(Failure::new(
                codes::E004,
                format!("no runner can run {}", a.id),
            ))
        });
        // A child killed by cancellation fails; that is the cancellation, not its failure.
        if self.cancel.load(Ordering::SeqCst) {
            self.recorder.discard(a);
            return Outcome::Cancelled;
        }
        let ran = match ran.and_then(|ran| self.written(a, ran)) {
            Ok(r) => r,
            Err(f) => {
                self.recorder.discard(a);
                return Outcome::Failed(f);
            }
        };
        let (ran, outputs) = ran;
        if !ran.report.is_empty() {
            self.progress.event(Event::ActionReport {
                action: a,
                text: &ran.report,
            });
        }
        let run_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        self.recorder.ran(a, key, outputs, &ran, run_ms);
        match ran.worker {
            Some(worker) => Outcome::RemoteExecuted { worker },
            None => Outcome::Executed,
        }
    }

    /// Every declared output the run wrote, hashed (a small one read once: hashed now, and
    /// kept for the cache record); a declared output missing fails the action.
    #[allow(clippy::type_complexity)]
    fn written(
        &self,
        a: &Action,
        ran: Ran,
    ) -> Result<(Ran, Vec<(String, Digest, bool, Option<Vec<u8>>)>), Failure> {
        // Each output as written, reached without following a link: a link is no output.
        let mut places = Vec::with_capacity(a.outputs.len());
        let (mut missing, mut strange) = (Vec::new(), Vec::new());
        for o in &a.outputs {
            let found = Beneath::open(&self.m.root, o, false)
                .and_then(|place| Ok((place.metadata()?, place)));
            match found {
                Ok((Some(meta), place)) if meta.is_file() => places.push((place, meta)),
                Ok((None, _)) => missing.push(o.clone()),
                Ok((Some(_), _)) => strange.push((
                    o.clone(),
                    "is a symbolic link or a folder, not a file".to_owned(),
                )),
                Err(e) => strange.push((o.clone(), format!("cannot be reached: {e}"))),
            }
        }
        if !strange.is_empty() {
            let why: Vec<String> = strange.iter().map(|(o, w)| format!("'{o}' {w}")).collect();
            missing.extend(strange.into_iter().map(|(o, _)| o));
            return Err(contract(
                missing,
                Vec::new(),
                format!("{} succeeded but {}", ran.program, why.join("; ")),
            )
            .hint("an output is a file the command writes in place; batuta never follows a link out of the workspace"));
        }
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|o| format!("'{o}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let noun = if missing.len() == 1 {
                "output"
            } else {
                "outputs"
            };
            return Err(contract(
                missing,
                Vec::new(),
                format!("{} succeeded but did not write its declared {noun} {list}", ran.program),
            )
            .hint("make the command write every file listed in `out`/`outputs`, or remove it from the list"));
        }
        let mut outputs = Vec::with_capacity(a.outputs.len());
        for (out, (place, meta)) in a.outputs.iter().zip(places) {
            let p = place.path();
            let unreadable = |e: std::io::Error| {
                contract(
                    vec![out.clone()],
                    Vec::new(),
                    format!("cannot read output '{out}': {e}"),
                )
            };
            let (digest, bytes) = if a.cache && meta.len() <= INLINE_MAX {
                std::fs::read(&p).map(|b| (Digest::of(&b), Some(b)))
            } else {
                hash_file(&p).map(|d| (d, None))
            }
            .map_err(unreadable)?;
            self.recorder
                .stat
                .write()
                .expect("stat lock")
                .insert(out, &meta, digest);
            outputs.push((out.clone(), digest, is_executable(&meta), bytes));
        }
        Ok((ran, outputs))
    }
}
