//! Runners: how an action's work gets done, as ninja's `CommandRunner` is to its `Plan`.
//! The builder decides what runs and records what it wrote; a runner only runs it: a
//! command as a local process ([`Process`]), a built-in rule or kernel in this process
//! ([`InProcess`]), or a command on a remote worker ([`Remote`]). A fake runner stands in
//! for all three in the tests of what surrounds them.

mod in_process;
mod process;
mod remote;
pub(crate) mod spawn;
mod wait;

use std::sync::{Condvar, Mutex};

pub(crate) use in_process::InProcess;
pub(crate) use process::{Process, clean_env, find_program, probe_output, tool_missing};
pub(crate) use remote::Remote;

use crate::graph::{Action, ActionKind};
use crate::rule::Failure;

/// What a successful run left besides its outputs.
#[derive(Debug, Default)]
pub struct Ran {
    /// What ran, for messages: the program, or `builtin 'name'`.
    pub program: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// A rule's report for people; empty for commands.
    pub report: String,
    /// The remote worker that ran it; `None` when it ran here.
    pub worker: Option<String>,
}

pub trait Runner: Sync {
    /// Asked before the action's old outputs are removed: a runner that must refuse (a
    /// rule whose output would take the place of a user's file) refuses here, while that
    /// file still exists.
    fn prepare(&self, a: &Action) -> Result<(), Failure> {
        let _ = a;
        Ok(())
    }

    /// Do the action's work. Its outputs' folders exist and its old outputs are gone.
    /// `None` when this runner does not take it (the next one is asked).
    fn run(&self, a: &Action) -> Option<Result<Ran, Failure>>;

    /// Stop whatever runs now: the build is cancelled.
    fn kill_all(&self) {}
}

/// The runners of one build, asked in turn: the remote's workers take the commands they
/// can, the rest run here.
pub(crate) struct Runners<'a> {
    pub remote: Option<Remote<'a>>,
    pub process: Process<'a>,
    pub in_process: InProcess<'a>,
}

impl Runner for Runners<'_> {
    fn prepare(&self, a: &Action) -> Result<(), Failure> {
        match a.kind {
            ActionKind::Command { .. } => self.process.prepare(a),
            _ => self.in_process.prepare(a),
        }
    }

    fn run(&self, a: &Action) -> Option<Result<Ran, Failure>> {
        match a.kind {
            ActionKind::Command { .. } => self
                .remote
                .as_ref()
                .and_then(|r| r.run(a))
                .or_else(|| self.process.run(a)),
            _ => self.in_process.run(a),
        }
    }

    fn kill_all(&self) {
        self.process.kill_all();
    }
}

/// A counting semaphore: how many actions run on this machine at once when `-j` counts
/// remote runs too.
pub struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    pub fn new(n: usize) -> Slots {
        Slots {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Wait for a slot; it is given back when the guard drops.
    pub fn take(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock().expect("slots lock");
        while *free == 0 {
            free = self.freed.wait(free).expect("slots lock");
        }
        *free -= 1;
        SlotGuard(self)
    }
}

pub struct SlotGuard<'a>(&'a Slots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().expect("slots lock") += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn slots_bound_how_many_run_at_once() {
        let slots = Slots::new(2);
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let _g = slots.take();
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    now.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
