//! Tool versions, asked once per identity of what runs.
//!
//! A tool's version output joins every key of its actions, so an upgrade re-runs them. But
//! asking means spawning the tool, and spawning `rustc -vV`, `cargo -V` and the
//! transpilers on every build made a no-op of a real migration cost 120–250 ms where its
//! own work was a few. So an answer is kept with the identity of what gave it:
//!
//! - the resolved executable: its path, and its size, mtime, ctime and inode;
//! - for rustup's proxies (a `cargo` or `rustc` that is rustup itself), what picks the
//!   toolchain they run: RUSTUP_TOOLCHAIN, RUSTUP_HOME and CARGO_HOME, rust-toolchain
//!   files from the folder it runs in up to `/`, rustup's settings file, and its
//!   `toolchains` and `update-hashes` folders (a toolchain installed, removed or updated
//!   is renamed into place there, which changes the folder);
//! - the arguments, the folder, and the values of the variables it is given.
//!
//! The program is asked again only when one of those changed; a no-op spawns nothing. A
//! program not found is looked for again every build (a PATH lookup, no process).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::digest::Stamp;
use crate::exec::runner::{clean_env, find_program, probe_output};

/// How long a version command may take before it counts as unable to run.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// A question: what `program args` prints, run in `dir` with PATH, HOME and `env`.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    pub env: &'a [&'a str],
    pub dir: &'a Path,
}

/// Why a program gave no version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// It is not on PATH (or not at the path written).
    pub not_found: bool,
    pub why: String,
}

/// What asking gave: the version output (stdout and stderr, trimmed), or why there is none.
pub type Answer = Result<String, Unavailable>;

/// The identity of what a question runs (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    program: Option<(PathBuf, Stamp)>,
    /// Files and folders whose change changes what runs, with their stamps (`None`: absent).
    files: Vec<(PathBuf, Option<Stamp>)>,
    env: Vec<(String, Option<OsString>)>,
}

/// The answers kept between builds, by question.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Memo {
    answers: HashMap<String, (Identity, Answer)>,
    /// Programs started since the memo was loaded (tests and benchmarks count them).
    #[serde(skip)]
    spawned: usize,
    #[serde(skip)]
    changed: bool,
    /// Answer only from what is kept (see [`Memo::frozen`]).
    #[serde(skip)]
    frozen: bool,
}

/// Whether `exe` is one of rustup's proxies: rustup installs them as links to itself in
/// its own folder.
fn is_rustup_proxy(exe: &Path) -> bool {
    if exe.file_name().is_some_and(|n| n == "rustup") {
        return true;
    }
    let Some(dir) = exe.parent() else {
        return false;
    };
    let same = |a: &Path, b: &Path| match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        _ => false,
    };
    let rustup = dir.join("rustup");
    same(exe, &rustup)
        || std::fs::canonicalize(exe).is_ok_and(|c| {
            c.file_name()
                .is_some_and(|n| n == "rustup" || n == "rustup-init")
        })
}

/// What selects the toolchain a rustup proxy runs in `dir`.
fn rustup_files(dir: &Path) -> Vec<PathBuf> {
    let home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")));
    let mut files = Vec::new();
    if let Some(h) = home {
        files.extend(["settings.toml", "toolchains", "update-hashes"].map(|f| h.join(f)));
    }
    let start = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    for d in start.ancestors() {
        files.push(d.join("rust-toolchain"));
        files.push(d.join("rust-toolchain.toml"));
    }
    files
}

fn identity(q: &Query<'_>, env: &[(String, OsString)]) -> Identity {
    let program = find_program(q.program).and_then(|p| {
        let s = Stamp::of_path(&p)?;
        Some((p, s))
    });
    let mut files = Vec::new();
    let mut env_id: Vec<(String, Option<OsString>)> = env
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    if let Some((exe, _)) = &program
        && is_rustup_proxy(exe)
    {
        files = rustup_files(q.dir)
            .into_iter()
            .map(|f| {
                let s = Stamp::of_path(&f);
                (f, s)
            })
            .collect();
        for name in ["RUSTUP_TOOLCHAIN", "RUSTUP_HOME", "CARGO_HOME"] {
            env_id.push((name.to_owned(), std::env::var_os(name)));
        }
    }
    Identity {
        program,
        files,
        env: env_id,
    }
}

impl Memo {
    /// The answer to `q`: the one kept, when what it runs is the same as then; else asked.
    pub fn ask(&mut self, q: &Query<'_>) -> Answer {
        let env = clean_env(q.env.iter().copied());
        let key = format!("{}\0{}\0{}", q.program, q.args.join("\0"), q.dir.display());
        let id = identity(q, &env);
        if let Some((known, answer)) = self.answers.get(&key)
            && *known == id
        {
            return answer.clone();
        }
        if self.frozen {
            self.changed = true;
            return Err(Unavailable {
                not_found: false,
                why: "not asked: what runs changed".to_owned(),
            });
        }
        let answer = match &id.program {
            None => Err(Unavailable {
                not_found: true,
                why: format!("'{}' is not on PATH", q.program),
            }),
            Some((exe, _)) => {
                self.spawned += 1;
                probe_output(exe, q.args, &env, q.dir, PROBE_TIMEOUT).map_err(|e| Unavailable {
                    not_found: e.kind() == std::io::ErrorKind::NotFound,
                    why: e.to_string(),
                })
            }
        };
        self.changed = true;
        self.answers.insert(key, (id, answer.clone()));
        answer
    }

    /// A costly version (see `crate::rule::VersionInputs`): the one kept under `key` when
    /// its inputs are as they were, else `compute`d and kept.
    pub fn remember(
        &mut self,
        key: &str,
        inputs: &crate::rule::VersionInputs,
        compute: impl FnOnce() -> String,
    ) -> String {
        let id = Identity {
            program: None,
            files: inputs
                .files
                .iter()
                .map(|f| (f.clone(), Stamp::of_path(f)))
                .collect(),
            env: inputs
                .env
                .iter()
                .map(|n| ((*n).to_owned(), std::env::var_os(n)))
                .chain(inputs.facts.iter().map(|f| (f.clone(), None)))
                .collect(),
        };
        let key = format!("version\0{key}");
        if let Some((known, Ok(v))) = self.answers.get(&key)
            && *known == id
        {
            return v.clone();
        }
        if self.frozen {
            self.changed = true;
            return String::new();
        }
        let v = compute();
        self.changed = true;
        self.answers.insert(key, (id, Ok(v.clone())));
        v
    }

    /// This memo, answering only from what it keeps: a question whose identity changed is
    /// not asked (no process starts), and [`Memo::changed`] tells that one was. What a
    /// settled build's check (`crate::db::settled`) asks with.
    pub fn frozen(mut self) -> Memo {
        self.frozen = true;
        self.changed = false;
        self.spawned = 0;
        self
    }

    /// How many programs this memo started since it was loaded.
    pub fn spawned(&self) -> usize {
        self.spawned
    }

    /// Whether an answer was added or replaced since it was loaded.
    pub fn changed(&self) -> bool {
        self.changed
    }
}

/// A declared tool's version now, asked without a memo (what `batuta report` shows).
pub fn tool_version(root: &Path, tool: &crate::manifest::Tool) -> Answer {
    Memo::default().ask(&Query {
        program: &tool.command.value,
        args: &tool.version,
        env: &[],
        dir: root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn a_program_is_asked_once_until_what_runs_changes() {
        let dir = tempfile::tempdir().unwrap();
        // cargo gives the test process CARGO_MANIFEST_DIR; a probe must not see it.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let tool = script(
            dir.path(),
            "tool",
            "echo tool 1.0; echo \"leak=$CARGO_MANIFEST_DIR\"",
        );
        let program = tool.to_string_lossy().into_owned();
        let args = vec!["--version".to_owned()];
        let q = Query {
            program: &program,
            args: &args,
            env: &[],
            dir: dir.path(),
        };
        let mut memo = Memo::default();
        assert_eq!(memo.ask(&q).unwrap(), "tool 1.0\nleak=");
        assert_eq!(memo.ask(&q).unwrap(), "tool 1.0\nleak=");
        assert_eq!(memo.spawned(), 1, "asked once");

        // Kept between builds.
        let bytes = postcard::to_stdvec(&memo).unwrap();
        let mut memo: Memo = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(memo.ask(&q).unwrap(), "tool 1.0\nleak=");
        assert_eq!(memo.spawned(), 0);

        // An upgrade replaces the file: asked again.
        std::thread::sleep(Duration::from_millis(20));
        let new = script(dir.path(), "tool.new", "echo tool 2.0");
        std::fs::rename(new, &tool).unwrap();
        assert_eq!(memo.ask(&q).unwrap(), "tool 2.0");
        assert_eq!(memo.spawned(), 1);

        // Frozen, it answers what it keeps and starts nothing for what changed.
        let mut frozen = memo.clone().frozen();
        assert_eq!(frozen.ask(&q).unwrap(), "tool 2.0");
        assert!(!frozen.changed());
        std::thread::sleep(Duration::from_millis(20));
        let new = script(dir.path(), "tool.new", "echo tool 3.0");
        std::fs::rename(new, &tool).unwrap();
        assert!(frozen.ask(&q).is_err());
        assert!(frozen.changed(), "what runs changed");
        assert_eq!(frozen.spawned(), 0, "and nothing was started to find out");
    }

    #[test]
    fn a_missing_program_is_looked_for_again_and_found_once_installed() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("later").to_string_lossy().into_owned();
        let q = Query {
            program: &program,
            args: &[],
            env: &[],
            dir: dir.path(),
        };
        let mut memo = Memo::default();
        let missing = memo.ask(&q).unwrap_err();
        assert!(missing.not_found, "{missing:?}");
        assert_eq!(memo.spawned(), 0);
        script(dir.path(), "later", "echo here");
        assert_eq!(memo.ask(&q).unwrap(), "here");
    }

    #[test]
    fn a_rustup_proxy_is_asked_again_when_the_toolchain_it_picks_changes() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let rustup = script(&bin, "rustup", "echo \"rustc for $RUSTUP_TOOLCHAIN\"");
        std::fs::hard_link(&rustup, bin.join("rustc")).unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let program = bin.join("rustc").to_string_lossy().into_owned();
        let args = vec!["-vV".to_owned()];
        let env = ["RUSTUP_TOOLCHAIN"];
        let q = Query {
            program: &program,
            args: &args,
            env: &env,
            dir: &work,
        };
        let mut memo = Memo::default();
        memo.ask(&q).unwrap();
        memo.ask(&q).unwrap();
        assert_eq!(memo.spawned(), 1);
        // A rust-toolchain.toml appears in the folder: it may pick another toolchain.
        std::fs::write(
            work.join("rust-toolchain.toml"),
            "[toolchain]\nchannel = \"1.80\"\n",
        )
        .unwrap();
        memo.ask(&q).unwrap();
        assert_eq!(memo.spawned(), 2);
        memo.ask(&q).unwrap();
        assert_eq!(memo.spawned(), 2);
    }
}
