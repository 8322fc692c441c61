//! Running cargo on the migrated crate, the one way both `cargo-build` and `assemble`'s
//! compile check do: found on the declared PATH, with the toolchain's variables, in the
//! crate's folder, a Cargo.lock it made removed afterwards, its JSON messages read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Call;
use batuta_engine::rule::Failure;

use super::messages::{self, Messages};
use crate::validate::run::{self, Finished, Output};

/// Variables cargo needs to find the toolchain the key was probed with; passed through
/// from batuta's own environment when set, as the probe saw them.
const TOOLCHAIN_ENV: &[&str] = &["CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"];

/// The crate at `project.output`, as cargo is to be run on it.
pub(crate) struct Crate {
    /// Absolute.
    pub dir: PathBuf,
    pub manifest: PathBuf,
    pub env: Vec<(String, OsString)>,
    pub cargo: PathBuf,
    /// The crate's folder relative to the workspace, which diagnostics' paths start with.
    pub rel: String,
}

impl Crate {
    /// The crate of `call`, which must have a Cargo.toml; `missing` says what to do when it
    /// has none.
    pub fn of(call: &Call<'_>, missing: &str) -> Result<Crate, Failure> {
        Crate::at(call, call.output, missing)
    }

    /// The crate in folder `rel` of the workspace (another than `project.output`'s).
    pub fn at(call: &Call<'_>, rel: &str, missing: &str) -> Result<Crate, Failure> {
        let root = call.root.canonicalize().map_err(|e| {
            super::failure::io_failure(format!("cannot resolve {}", call.root.display()), e)
        })?;
        let dir = root.join(rel);
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            return Err(Failure::new(
                codes::B001,
                format!(
                    "no crate to build: {} does not exist",
                    super::rel(rel, "Cargo.toml")
                ),
            )
            .hint(missing.to_owned()));
        }
        let env = child_env(call);
        let cargo = run::resolve("build", "cargo", &dir, &env).map_err(|e| {
            e.failure(codes::T001)
                .hint("install Rust with rustup: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh")
        })?;
        Ok(Crate {
            dir,
            manifest,
            env,
            cargo,
            rel: rel.to_owned(),
        })
    }

    /// `cargo SUBCOMMAND --message-format=json … ARGS` to its end. A Cargo.lock the crate
    /// keeps makes the run `--locked`; one cargo creates is removed afterwards.
    pub fn run(
        &self,
        call: &Call<'_>,
        subcommand: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<CargoRun, Failure> {
        let lock = LockGuard::new(&self.dir);
        let mut all: Vec<String> = vec![
            subcommand.into(),
            "--message-format=json".into(),
            "--color".into(),
            "never".into(),
            "--manifest-path".into(),
            self.manifest.to_string_lossy().into_owned(),
        ];
        if lock.existed {
            // A committed lock is the truth; cargo must not rewrite an input.
            all.push("--locked".into());
        }
        all.extend(args.iter().cloned());
        let cmd = run::command(&self.cargo, &all, &self.dir, &self.env);
        let done = run::run(
            cmd,
            "build",
            "cargo",
            None,
            Output::Separate,
            timeout,
            call.cancel,
        );
        let had_lock = lock.existed;
        drop(lock);
        let finished = done.map_err(|e| e.failure(codes::B001))?;
        let messages = messages::parse(
            &String::from_utf8_lossy(&finished.stdout),
            &self.manifest,
            &self.rel,
        );
        Ok(CargoRun {
            finished,
            messages,
            had_lock,
        })
    }
}

/// What one cargo run said.
pub(crate) struct CargoRun {
    pub finished: Finished,
    pub messages: Messages,
    pub had_lock: bool,
}

impl CargoRun {
    /// Whether cargo succeeded, by its exit and its own verdict.
    pub fn ok(&self) -> bool {
        self.finished.status.success() && self.messages.success != Some(false)
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.finished.stderr).into_owned()
    }
}

/// cargo writes a Cargo.lock into a crate that has none. It is no output of the action
/// that ran cargo, and left behind it would become a new input of the next build (which
/// would then run again for nothing): a lock cargo created is removed when the guard is
/// dropped. A Cargo.lock the user keeps is an input like any source, and stays.
pub(crate) struct LockGuard {
    path: PathBuf,
    pub existed: bool,
}

impl LockGuard {
    pub fn new(crate_dir: &Path) -> LockGuard {
        let path = crate_dir.join("Cargo.lock");
        LockGuard {
            existed: path.is_file(),
            path,
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.existed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The declared environment, plus what rustup and cargo need to find the toolchain.
fn child_env(call: &Call<'_>) -> Vec<(String, OsString)> {
    let mut env = call.env.clone();
    for name in TOOLCHAIN_ENV {
        if env.iter().any(|(k, _)| k == name) {
            continue;
        }
        if let Some(v) = std::env::var_os(name) {
            env.push(((*name).to_owned(), v));
        }
    }
    env
}
