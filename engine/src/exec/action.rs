//! One action: its cache key, and whether it is up to date, restorable from the cache, or
//! must run. Running spawns a process directly (no shell) with only the declared
//! environment.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock, RwLock};

use super::stage::{Stage, StagePool};
use crate::cache::{ActionResult, Cache, CacheError, INLINE_MAX, is_executable};
use crate::codes::{self, ErrorCode};
use crate::digest::{Digest, StatCache, hash_file};
use crate::fsutil::remove_file_if_exists;
use crate::graph::{Action, ActionKind};
use crate::journal::ActionRecord;
use crate::key;
use crate::manifest::{Manifest, Phase};
use crate::rule::{Call, Rules};

use super::{Failure, Outcome};

/// What every action of one build shares.
pub(super) struct Ctx<'a> {
    pub m: &'a Manifest,
    pub root: &'a Path,
    pub cache: Cache,
    pub stat: RwLock<StatCache>,
    pub records: RwLock<HashMap<String, ActionRecord>>,
    /// Whether `records` changed, so a no-op build need not rewrite the journal.
    pub records_changed: std::sync::atomic::AtomicBool,
    /// Each tool's version output, probed once per build.
    pub tool_versions: HashMap<String, OnceLock<Result<String, Failure>>>,
    pub running: Mutex<HashMap<u32, String>>,
    /// Programs found on PATH, by name, so each is looked up once per build.
    pub programs: Mutex<HashMap<String, Option<std::path::PathBuf>>>,
    pub cancel: &'a std::sync::atomic::AtomicBool,
    pub reporter: &'a dyn super::Reporter,
    pub rules: &'a dyn Rules,
    /// `project.source` and `project.output`, relative to the workspace.
    pub source: String,
    pub output: String,
    /// The remote cache, when the build asked for one (see `super::shared`).
    pub remote: Option<&'a dyn crate::remote::RemoteCache>,
    /// Set when the remote failed to answer: it is not asked again in this build.
    pub remote_down: std::sync::atomic::AtomicBool,
    /// Where commands told where to write do their writing (see `super::stage`).
    pub stage: StagePool,
    /// When the remote executes, `-j` counts remote runs; commands that run here still
    /// take one of these, one per core.
    pub local_slots: Option<super::shared::Slots>,
}

/// The code a failure of an action in this phase carries when nothing more precise is known.
pub fn phase_code(p: Phase) -> ErrorCode {
    match p {
        Phase::Analyze => codes::A001,
        Phase::Transpile => codes::T002,
        Phase::Optimize => codes::O003,
        Phase::Validate => codes::V001,
        Phase::Build => codes::B001,
    }
}

impl Ctx<'_> {
    pub(super) fn warn(&self, w: String) {
        self.reporter.event(super::Event::Warning(&w));
    }

    pub(super) fn digest(&self, rel: &str) -> io::Result<Option<Digest>> {
        crate::digest::digest(&self.stat, self.root, rel)
    }

    fn tool_version(&self, name: &str) -> Result<String, Failure> {
        let cell = &self.tool_versions[name];
        cell.get_or_init(|| probe_tool(self.root, self.m.tool(name).expect("validated tool")))
            .clone()
    }

    /// The action's key (see `crate::key`) from these input digests and this build's
    /// tool versions and environment.
    fn key(&self, a: &Action, inputs: &[(&str, Digest)]) -> Result<Digest, Failure> {
        let tool_version = match &a.kind {
            ActionKind::Command { tool: Some(t), .. } => Some(self.tool_version(t)?),
            _ => None,
        };
        let rule = match &a.kind {
            ActionKind::Builtin { name, .. } => self.rules.builtin(name),
            ActionKind::Kernel { name, .. } => self.rules.kernel(name),
            ActionKind::Command { .. } => None,
        };
        Ok(key::action_key(
            a,
            &key::KeyParts {
                tool_version: tool_version.as_deref(),
                rule_version: rule.map(|r| r.version()),
                env: &key::env_values(a),
                inputs,
            },
        ))
    }

    /// Whether the action is up to date as the workspace stands now (no lock held long,
    /// safe to ask for many actions at once).
    pub fn fresh(&self, a: &Action) -> bool {
        // Without a record of a last run nothing can be up to date: hashing the inputs here
        // would only hash them twice (the run hashes them again, once the stat cache can
        // trust nothing it saw in this build).
        a.cache
            && self
                .records
                .read()
                .expect("records lock")
                .contains_key(&a.id)
            && self
                .current_key(a)
                .is_ok_and(|key| self.up_to_date(a, &key))
    }

    /// The action's key from its inputs as they are on disk now.
    fn current_key(&self, a: &Action) -> Result<Digest, Failure> {
        let mut inputs = Vec::with_capacity(a.inputs.len());
        for rel in &a.inputs {
            match self.digest(rel) {
                Ok(Some(d)) => inputs.push((rel.as_str(), d)),
                // A glob's match that is gone is simply not matched (see `Action::matched`).
                Ok(None) if a.is_matched(rel) => {}
                Ok(None) => {
                    return Err(Failure::new(
                        phase_code(a.phase),
                        format!(
                            "input '{rel}' does not exist, and no action of this build writes it"
                        ),
                    ));
                }
                Err(e) => {
                    return Err(Failure::new(
                        phase_code(a.phase),
                        format!("cannot read input '{rel}': {e}"),
                    ));
                }
            }
        }
        self.key(a, &inputs)
    }

    pub fn process(&self, a: &Action) -> Outcome {
        let key = match self.current_key(a) {
            Ok(k) => k,
            Err(f) => return Outcome::Failed(self.rules.explain(self.root, a, f)),
        };
        if a.cache {
            if self.up_to_date(a, &key) {
                return Outcome::UpToDate;
            }
            match self.restore(a, &key) {
                Ok(true) => return Outcome::Cached,
                Ok(false) => {}
                Err(e) => self.warn(format!("{}: {e}; running the action instead", a.id)),
            }
            if self.restore_remote(a, &key) {
                return Outcome::RemoteCached;
            }
        }
        match self.execute(a, &key) {
            Outcome::Failed(f) => Outcome::Failed(self.rules.explain(self.root, a, f)),
            other => other,
        }
    }

    fn up_to_date(&self, a: &Action, key: &Digest) -> bool {
        let record = match self.records.read().expect("records lock").get(&a.id) {
            Some(r) if r.key == *key => r.clone(),
            _ => return false,
        };
        record
            .outputs
            .iter()
            .all(|(path, want)| matches!(self.digest(path), Ok(Some(d)) if d == *want))
    }

    /// Restore outputs from the action cache. `Ok(false)` on a miss.
    pub(super) fn restore(&self, a: &Action, key: &Digest) -> Result<bool, CacheError> {
        let Some(result) = self.cache.get_action(key)? else {
            return Ok(false);
        };
        for (path, digest, exec) in &result.outputs {
            let dest = self.root.join(path);
            let current = self.digest(path).ok().flatten();
            if current != Some(*digest) {
                self.cache.restore_output(&result, digest, &dest, *exec)?;
                self.stat
                    .write()
                    .expect("stat lock")
                    .record(self.root, path, *digest);
            }
        }
        self.remember(
            a,
            key,
            result
                .outputs
                .iter()
                .map(|(p, d, _)| (p.clone(), *d))
                .collect(),
            None,
        );
        Ok(true)
    }

    /// Record a successful run, or a restore (`run_ms` `None`: the last run's time stays).
    fn remember(
        &self,
        a: &Action,
        key: &Digest,
        outputs: Vec<(String, Digest)>,
        run_ms: Option<u32>,
    ) {
        self.records_changed.store(true, Ordering::Relaxed);
        let mut records = self.records.write().expect("records lock");
        let run_ms = run_ms.or_else(|| records.get(&a.id).and_then(|r| r.run_ms));
        records.insert(
            a.id.clone(),
            ActionRecord {
                key: *key,
                outputs,
                run_ms,
            },
        );
    }

    fn execute(&self, a: &Action, key: &Digest) -> Outcome {
        let started = std::time::Instant::now();
        if let Err(f) = self.before_rule(a) {
            return Outcome::Failed(f);
        }
        // A stale output must not pass for a fresh one, and parents must exist.
        for out in &a.outputs {
            let p = self.root.join(out);
            if let Err(e) = remove_file_if_exists(&p) {
                return Outcome::Failed(Failure::new(
                    phase_code(a.phase),
                    format!("cannot remove old output '{out}': {e}"),
                ));
            }
            self.stat.write().expect("stat lock").forget(out);
            if let Some(parent) = p.parent()
                && let Err(e) = std::fs::create_dir_all(parent)
            {
                return Outcome::Failed(Failure::new(
                    phase_code(a.phase),
                    format!("cannot create the folder of '{out}': {e}"),
                ));
            }
        }
        let ran = match &a.kind {
            ActionKind::Command { argv, .. } => match self.run_remote(a, argv) {
                Some(ran) => ran,
                None => self.run_command(a, argv),
            },
            ActionKind::Builtin { name, with } | ActionKind::Kernel { name, with } => {
                self.run_rule(a, name, with.as_ref())
            }
        };
        // A child killed by cancellation fails; that is the cancellation, not its failure.
        if self.cancel.load(Ordering::SeqCst) {
            self.discard_outputs(a);
            return Outcome::Cancelled;
        }
        let ran = match ran {
            Ok(r) => r,
            Err(f) => {
                self.discard_outputs(a);
                return Outcome::Failed(f);
            }
        };
        let mut recorded = Vec::with_capacity(a.outputs.len());
        let mut small = Vec::with_capacity(a.outputs.len());
        for out in &a.outputs {
            let p = self.root.join(out);
            let meta = match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => m,
                _ => {
                    self.discard_outputs(a);
                    return Outcome::Failed(
                        Failure::new(phase_code(a.phase), format!("{} succeeded but did not write its declared output '{out}'", ran.program))
                            .hint("make the command write every file listed in `out`/`outputs`, or remove it from the list"),
                    );
                }
            };
            // A small output is read once: hashed now, and kept for the cache record.
            let hashed = if a.cache && meta.len() <= INLINE_MAX {
                std::fs::read(&p).map(|b| (Digest::of(&b), Some(b)))
            } else {
                hash_file(&p).map(|d| (d, None))
            };
            let (digest, bytes) = match hashed {
                Ok(h) => h,
                Err(e) => {
                    return Outcome::Failed(Failure::new(
                        phase_code(a.phase),
                        format!("cannot read output '{out}': {e}"),
                    ));
                }
            };
            self.stat
                .write()
                .expect("stat lock")
                .insert(out, &meta, digest);
            recorded.push((out.clone(), digest, is_executable(&meta)));
            small.push(bytes);
        }
        if !ran.report.is_empty() {
            self.reporter.event(super::Event::ActionReport {
                action: a,
                text: &ran.report,
            });
        }
        if a.cache {
            match self.store(key, &recorded, small, &ran) {
                Ok(result) => self.upload_remote(a, key, &result),
                Err(e) => self.warn(format!(
                    "{}: could not store the result in the cache: {e}",
                    a.id
                )),
            }
            let run_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
            self.remember(
                a,
                key,
                recorded.iter().map(|(p, d, _)| (p.clone(), *d)).collect(),
                Some(run_ms),
            );
        }
        match ran.worker {
            Some(worker) => Outcome::RemoteExecuted { worker },
            None => Outcome::Executed,
        }
    }

    /// Spawn the action's command; a non-zero exit is a failure carrying its stderr.
    fn run_command(&self, a: &Action, argv: &[String]) -> Result<Ran, Failure> {
        let _slot = self.local_slots.as_ref().map(super::shared::Slots::take);
        let staged = Stage::prepare(&self.stage, a, argv)?;
        let output = match &staged {
            Some((_, staged_argv)) => self.spawn(a, staged_argv)?,
            None => self.spawn(a, argv)?,
        };
        if !output.status.success() {
            let how = match output.status.code() {
                Some(c) => format!("exited with code {c}"),
                None => "was killed by a signal".to_owned(),
            };
            return Err(command_failed(
                a,
                argv,
                &how,
                &output.stdout,
                &output.stderr,
            ));
        }
        if let Some((stage, _)) = &staged {
            stage.finish(self.root, a, &argv[0])?;
        }
        Ok(Ran {
            program: argv[0].clone(),
            stdout: output.stdout,
            stderr: output.stderr,
            report: String::new(),
            worker: None,
        })
    }

    /// The inputs a rule reads: all of them but a glob's match that is gone.
    fn present_inputs(&self, a: &Action) -> Vec<String> {
        a.inputs
            .iter()
            .filter(|i| !a.is_matched(i) || !matches!(self.digest(i), Ok(None)))
            .cloned()
            .collect()
    }

    /// What a rule sees of the action it runs (or is asked about before the run).
    fn call<'c>(
        &'c self,
        a: &'c Action,
        inputs: &'c [String],
        with: &'c serde_json::Value,
    ) -> Call<'c> {
        Call {
            action: &a.id,
            phase: a.phase,
            root: self.root,
            // A workspace's action works in its own project's folders.
            source: a.scope.as_ref().map_or(&self.source, |s| &s.source),
            output: a.scope.as_ref().map_or(&self.output, |s| &s.output),
            inputs,
            outputs: &a.outputs,
            with,
            env: child_env(a),
            cancel: self.cancel,
        }
    }

    /// The rule's [`crate::rule::Rule::before_run`], for a builtin or kernel action.
    fn before_rule(&self, a: &Action) -> Result<(), Failure> {
        let (rule, with) = match &a.kind {
            ActionKind::Builtin { name, with } => (self.rules.builtin(name), with),
            ActionKind::Kernel { name, with } => (self.rules.kernel(name), with),
            ActionKind::Command { .. } => return Ok(()),
        };
        // A rule this batuta lacks fails in `run_rule`, with the message that says so.
        let Some(rule) = rule else {
            return Ok(());
        };
        let null = serde_json::Value::Null;
        let inputs = self.present_inputs(a);
        rule.before_run(&self.call(a, &inputs, with.as_ref().unwrap_or(&null)))
    }

    /// Run a built-in rule or kernel in this process.
    fn run_rule(
        &self,
        a: &Action,
        name: &str,
        with: Option<&serde_json::Value>,
    ) -> Result<Ran, Failure> {
        let (what, rule) = match a.kind {
            ActionKind::Builtin { .. } => ("builtin", self.rules.builtin(name)),
            _ => ("kernel", self.rules.kernel(name)),
        };
        let Some(rule) = rule else {
            return Err(Failure::new(
                phase_code(a.phase),
                format!(
                    "the {what} '{name}' cannot run: this batuta ({}) does not implement it",
                    env!("CARGO_PKG_VERSION")
                ),
            )
            .hint("remove the task from the target you build, or build a target without it"));
        };
        let null = serde_json::Value::Null;
        let _slot = self.local_slots.as_ref().map(super::shared::Slots::take);
        let inputs = self.present_inputs(a);
        let report = rule.run(&self.call(a, &inputs, with.unwrap_or(&null)))?;
        Ok(Ran {
            program: format!("{what} '{name}'"),
            stdout: report.text.clone().into_bytes(),
            stderr: Vec::new(),
            report: report.text,
            worker: None,
        })
    }

    /// Cache a run: small blobs (`small[i]` holds output `i`'s bytes when it is one) in the
    /// action record, larger ones in `cas/`.
    fn store(
        &self,
        key: &Digest,
        outputs: &[(String, Digest, bool)],
        small: Vec<Option<Vec<u8>>>,
        ran: &Ran,
    ) -> io::Result<ActionResult> {
        let mut result = ActionResult {
            outputs: outputs.to_vec(),
            exit_code: 0,
            stdout: Digest::of(&ran.stdout),
            stderr: Digest::of(&ran.stderr),
            inline: Vec::new(),
        };
        for ((path, digest, _), bytes) in outputs.iter().zip(small) {
            match bytes {
                Some(b) => result.add_inline(*digest, b),
                None => self.cache.put_file(&self.root.join(path), digest)?,
            }
        }
        for (digest, bytes) in [(result.stdout, &ran.stdout), (result.stderr, &ran.stderr)] {
            if bytes.len() as u64 <= INLINE_MAX {
                result.add_inline(digest, bytes.clone());
            } else {
                self.cache.put_bytes(bytes)?;
            }
        }
        self.cache.put_action(key, &result)?;
        Ok(result)
    }

    /// Nothing half-written stays behind as an output.
    fn discard_outputs(&self, a: &Action) {
        for out in &a.outputs {
            let _ = remove_file_if_exists(&self.root.join(out));
            self.stat.write().expect("stat lock").forget(out);
        }
        if self
            .records
            .write()
            .expect("records lock")
            .remove(&a.id)
            .is_some()
        {
            self.records_changed.store(true, Ordering::Relaxed);
        }
    }

    /// Where `program` is: as written when it names a path, else found on PATH once.
    /// Resolving here, not in the child, spares the child a failed exec per PATH entry
    /// and lets the standard library use posix_spawn.
    fn resolve(&self, program: &str) -> io::Result<std::path::PathBuf> {
        if program.contains('/') {
            return Ok(program.into());
        }
        let mut known = self.programs.lock().expect("programs lock");
        let found = known.entry(program.to_owned()).or_insert_with(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .filter(|d| d.is_absolute())
                .map(|d| d.join(program))
                .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && is_executable(&m)))
        });
        found.clone().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{program} not on PATH"))
        })
    }

    fn spawn(&self, a: &Action, argv: &[String]) -> Result<std::process::Output, Failure> {
        let mut cmd = Command::new(
            self.resolve(&argv[0])
                .map_err(|e| self.spawn_error(a, argv, e))?,
        );
        cmd.args(&argv[1..])
            .current_dir(self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_clear()
            .envs(child_env(a));
        // Its own process group, so cancelling kills the action's whole tree (a shell and
        // what it started), not only its first process.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().map_err(|e| self.spawn_error(a, argv, e))?;
        let pid = child.id();
        {
            let mut running = self.running.lock().expect("running lock");
            running.insert(pid, a.id.clone());
            // Cancelled between the worker's check and this spawn: the scheduler's kill of
            // what runs has passed already, so this child is killed here.
            if self.cancel.load(Ordering::SeqCst) {
                super::kill_group(pid);
            }
        }
        let out = child.wait_with_output();
        self.running.lock().expect("running lock").remove(&pid);
        out.map_err(|e| {
            Failure::new(
                phase_code(a.phase),
                format!("waiting for '{}' failed: {e}", argv[0]),
            )
        })
    }
}

impl Ctx<'_> {
    fn spawn_error(&self, a: &Action, argv: &[String], e: io::Error) -> Failure {
        match (e.kind(), &a.kind) {
            (io::ErrorKind::NotFound, ActionKind::Command { tool: Some(t), .. }) => {
                let tool = self.m.tool(t).expect("validated tool");
                tool_missing(t, &argv[0], tool.install.as_deref(), &e)
            }
            (io::ErrorKind::NotFound, _) => Failure::new(
                if a.phase == Phase::Transpile {
                    codes::T001
                } else {
                    phase_code(a.phase)
                },
                format!("program '{}' not found on PATH", argv[0]),
            )
            .hint("install it, or write its full path in the task's `run`"),
            _ => Failure::new(
                phase_code(a.phase),
                format!("cannot start '{}': {e}", argv[0]),
            ),
        }
    }
}

/// A tool's version output (stdout and stderr of its version command, trimmed): part of
/// every key of its actions, so an upgrade re-runs them.
pub fn probe_tool(root: &Path, tool: &crate::manifest::Tool) -> Result<String, Failure> {
    let out = Command::new(&tool.command.value)
        .args(&tool.version)
        .current_dir(root)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => {
            let mut v = String::from_utf8_lossy(&o.stdout).into_owned();
            v.push_str(&String::from_utf8_lossy(&o.stderr));
            Ok(v.trim().to_owned())
        }
        Err(e) => Err(tool_missing(
            &tool.name.value,
            &tool.command.value,
            tool.install.as_deref(),
            &e,
        )),
    }
}

/// Only what the task declares reaches a child, plus what finding programs needs.
fn child_env(a: &Action) -> Vec<(String, std::ffi::OsString)> {
    ["PATH", "HOME"]
        .iter()
        .copied()
        .chain(a.env.iter().map(String::as_str))
        .filter_map(|name| std::env::var_os(name).map(|v| (name.to_owned(), v)))
        .collect()
}

/// A command that failed: its stderr, then what it said on stdout (some tools, linters
/// among them, report there).
pub(super) fn command_failed(
    a: &Action,
    argv: &[String],
    how: &str,
    stdout: &[u8],
    stderr: &[u8],
) -> Failure {
    let mut detail = String::from_utf8_lossy(stderr).into_owned();
    if !stdout.iter().all(u8::is_ascii_whitespace) {
        if !detail.is_empty() && !detail.ends_with('\n') {
            detail.push('\n');
        }
        detail.push_str(&String::from_utf8_lossy(stdout));
    }
    Failure::new(phase_code(a.phase), format!("{} {how}", argv[0])).detail(detail)
}

/// What a successful run left besides its outputs.
pub(super) struct Ran {
    /// What ran, for messages: the program, or `builtin 'name'`.
    pub program: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// A rule's report for people; empty for commands.
    pub report: String,
    /// The remote worker that ran it; `None` when it ran here.
    pub worker: Option<String>,
}

fn tool_missing(name: &str, command: &str, install: Option<&str>, e: &io::Error) -> Failure {
    let what = if e.kind() == io::ErrorKind::NotFound {
        format!("tool '{name}' not found: '{command}' is not on PATH")
    } else {
        format!("tool '{name}' ('{command}') cannot run: {e}")
    };
    let f = Failure::new(codes::T001, what);
    match install {
        Some(i) => f.hint(format!("install it with: {i}")),
        None => f.hint(format!(
            "install '{command}', or set `tools.{name}.command` to its path"
        )),
    }
}
