//! The remote's place in running one action: its cache asked after a local miss and handed
//! the result of a successful run; its workers, when it executes, running the commands.
//! Its failures never fail the build: the action runs here instead.

use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex};

use crate::digest::Digest;
use crate::exec::Failure;
use crate::graph::Action;
use crate::remote::{RemoteCommand, RemoteError};

use super::action::{Ctx, Ran, command_failed};

impl Ctx<'_> {
    /// The remote cache to ask, unless the build has none or it stopped answering.
    fn live_remote(&self) -> Option<&dyn crate::remote::RemoteCache> {
        self.remote
            .filter(|_| !self.remote_down.load(Ordering::Relaxed))
    }

    /// One warning for the whole build when the remote stops answering, one per action
    /// for an entry or a run that cannot be used.
    fn remote_failed(
        &self,
        a: &Action,
        remote: &dyn crate::remote::RemoteCache,
        e: RemoteError,
        doing: Doing,
    ) {
        match (e, doing) {
            (RemoteError::Unavailable(why), _) => {
                if !self.remote_down.swap(true, Ordering::Relaxed) {
                    let what = if doing == Doing::Execute {
                        "remote"
                    } else {
                        "remote cache"
                    };
                    self.warn(format!(
                        "{what} {} is unavailable ({why}); building locally without it for the rest of this build",
                        remote.describe()
                    ));
                }
            }
            (RemoteError::Unusable(why), Doing::Upload) => self.warn(format!(
                "{}: the result was not uploaded to the remote cache ({why})",
                a.id
            )),
            (RemoteError::Unusable(why), Doing::Fetch) => self.warn(format!(
                "{}: the remote cache's entry cannot be used ({why}); running the action instead",
                a.id
            )),
            (RemoteError::Unusable(why), Doing::Execute) => self.warn(format!(
                "{}: the remote run cannot be used ({why}); running the action here instead",
                a.id
            )),
        }
    }

    /// Fetch the action's result from the remote cache into the local one and restore it.
    /// `false` on a miss or any failure (reported), so the action runs.
    pub(super) fn restore_remote(&self, a: &Action, key: &Digest) -> bool {
        let Some(remote) = self.live_remote() else {
            return false;
        };
        let result = match remote.fetch(key, &a.outputs, &self.cache) {
            Ok(Some(r)) => r,
            Ok(None) => return false,
            Err(e) => {
                self.remote_failed(a, remote, e, Doing::Fetch);
                return false;
            }
        };
        // Every output must be one the action declares: a result for other paths is not
        // this action's, whatever the server says.
        let declared = result.outputs.len() == a.outputs.len()
            && result.outputs.iter().all(|(p, _, _)| a.outputs.contains(p));
        if !declared {
            let e =
                RemoteError::Unusable("its outputs are not the action's declared outputs".into());
            self.remote_failed(a, remote, e, Doing::Fetch);
            return false;
        }
        if let Err(e) = self.cache.put_action(key, &result) {
            self.warn(format!(
                "{}: could not store the remote result in the local cache: {e}",
                a.id
            ));
            return false;
        }
        match self.restore(a, key) {
            Ok(true) => true,
            Ok(false) => false,
            Err(e) => {
                self.warn(format!("{}: {e}; running the action instead", a.id));
                false
            }
        }
    }

    /// Run a command action on the remote's workers and put what it wrote in place.
    /// `None` when it is to run here: the remote does not execute or stopped answering,
    /// the task says `local: true`, it holds one of this machine's GPUs, its tool writes
    /// sidecars (which only the local staging folder catches), or the remote could not run
    /// it (reported).
    pub(super) fn run_remote(&self, a: &Action, argv: &[String]) -> Option<Result<Ran, Failure>> {
        let remote = self.live_remote().filter(|r| r.executes())?;
        if a.local || a.gpu > 0 || !a.sidecars.is_empty() {
            return None;
        }
        let mut inputs = Vec::with_capacity(a.inputs.len());
        for rel in &a.inputs {
            // The key was made from these a moment ago; one gone since runs here and fails
            // there with the usual message (unless a glob matched it: then it is not matched).
            match self.digest(rel) {
                Ok(Some(d)) => inputs.push((rel.clone(), d)),
                Ok(None) if a.is_matched(rel) => {}
                _ => return None,
            }
        }
        let env: Vec<(String, String)> = a
            .env
            .iter()
            .filter_map(|n| Some((n.clone(), std::env::var(n).ok()?)))
            .collect();
        let cmd = RemoteCommand {
            argv,
            env: &env,
            inputs: &inputs,
            outputs: &a.outputs,
            root: self.root,
            cancel: self.cancel,
        };
        let done = match remote.execute(&cmd, &self.cache) {
            Ok(d) => d,
            // The build stopped: the action neither ran here nor counts as the remote's
            // failure (the caller sees the cancellation).
            Err(_) if self.cancel.load(Ordering::SeqCst) => {
                return Some(Err(Failure::new(
                    super::action::phase_code(a.phase),
                    "cancelled while it ran on a remote worker".to_owned(),
                )));
            }
            Err(e) => {
                self.remote_failed(a, remote, e, Doing::Execute);
                return None;
            }
        };
        if done.exit_code != 0 {
            let how = format!(
                "exited with code {} on remote worker {}",
                done.exit_code, done.worker
            );
            return Some(Err(command_failed(
                a,
                argv,
                &how,
                &done.stdout,
                &done.stderr,
            )));
        }
        // Only declared outputs come back; one missing fails as it would here.
        for (path, digest, exec) in &done.outputs {
            if !a.outputs.contains(path) {
                continue;
            }
            if let Err(e) = self.cache.restore(digest, &self.root.join(path), *exec) {
                return Some(Err(Failure::new(
                    super::action::phase_code(a.phase),
                    format!("cannot write output '{path}' from the remote worker: {e}"),
                )));
            }
        }
        Some(Ok(Ran {
            program: argv[0].clone(),
            stdout: done.stdout,
            stderr: done.stderr,
            report: String::new(),
            worker: Some(done.worker),
        }))
    }

    /// Share a successful run's result (the remote does nothing when read-only).
    pub(super) fn upload_remote(
        &self,
        a: &Action,
        key: &Digest,
        result: &crate::cache::ActionResult,
    ) {
        let Some(remote) = self.live_remote() else {
            return;
        };
        if let Err(e) = remote.upload(key, &a.outputs, result, &self.cache) {
            self.remote_failed(a, remote, e, Doing::Upload);
        }
    }

    /// End of the build: uploads still in flight finish (always, even when the remote
    /// stopped answering, so none is cut off half-way); a failure among them is reported
    /// like any other.
    pub(super) fn finish_remote(&self) {
        let Some(remote) = self.remote else {
            return;
        };
        match remote.finish() {
            Ok(()) => {}
            Err(RemoteError::Unavailable(why)) => {
                if !self.remote_down.swap(true, Ordering::Relaxed) {
                    self.warn(format!(
                        "remote cache {} is unavailable ({why}); results of this build were not all uploaded",
                        remote.describe()
                    ));
                }
            }
            Err(RemoteError::Unusable(why)) => self.warn(format!(
                "a result was not uploaded to the remote cache ({why})"
            )),
        }
    }
}

/// What was asked of the remote when it failed, for the warning.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Doing {
    Fetch,
    Upload,
    Execute,
}

/// A counting semaphore: how many commands run on this machine at once when `-j` counts
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
