//! The remote runner: a command action run on the remote's workers, and what it wrote put
//! in place from the local cache (the remote client stored and verified every blob there).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::process::command_failed;
use super::{Ran, Runner};
use crate::beneath::Beneath;
use crate::codes;
use crate::exec::recorder::Recorder;
use crate::exec::remote_link::{Doing, RemoteLink};
use crate::graph::{Action, ActionKind};
use crate::remote::RemoteCommand;
use crate::rule::Failure;
use crate::rule::failure::Kind;

pub(crate) struct Remote<'a> {
    pub link: &'a RemoteLink<'a>,
    pub recorder: &'a Recorder<'a>,
    pub root: &'a Path,
    pub cancel: &'a AtomicBool,
}

impl Runner for Remote<'_> {
    /// `None` when the command is to run here: the remote does not execute or stopped
    /// answering, the task says `local: true`, it holds one of this machine's GPUs, its
    /// tool writes sidecars (which only the local staging folder catches), or the remote
    /// could not run it (reported).
    fn run(&self, a: &Action) -> Option<Result<Ran, Failure>> {
        let ActionKind::Command { argv, .. } = &a.kind else {
            return None;
        };
        let remote = self.link.live().filter(|r| r.executes())?;
        if a.local || a.gpu > 0 || !a.sidecars.is_empty() {
            return None;
        }
        let mut inputs = Vec::with_capacity(a.inputs.len());
        for rel in &a.inputs {
            // The key was made from these a moment ago; one gone since runs here and fails
            // there with the usual message (unless a glob matched it: then it is not
            // matched, see `Action::matched`).
            match self.recorder.digest(rel) {
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
        let done = match remote.execute(&cmd, &self.recorder.cache) {
            Ok(d) => d,
            // The build stopped: the action neither ran here nor counts as the remote's
            // failure (the caller sees the cancellation).
            Err(_) if self.cancel.load(Ordering::SeqCst) => {
                return Some(Err(Failure::new(
                    codes::E004,
                    "cancelled while it ran on a remote worker".to_owned(),
                )));
            }
            Err(e) => {
                self.link.failed(a, e, Doing::Execute);
                return None;
            }
        };
        if done.exit_code != 0 {
            let how = format!(
                "exited with code {} on remote worker {}",
                done.exit_code, done.worker
            );
            return Some(Err(command_failed(
                argv,
                Some(done.exit_code),
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
            // Put in place without following a link an action may have planted.
            let placed = Beneath::open(self.root, path, true)
                .map_err(crate::cache::CacheError::Io)
                .and_then(|place| self.recorder.cache.restore(digest, &place.path(), *exec));
            if let Err(e) = placed {
                return Some(Err(Failure::of_kind(
                    codes::E002,
                    Kind::Contract {
                        not_written: vec![path.clone()],
                        undeclared: Vec::new(),
                    },
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
}
