//! The build phase: `builtin: cargo-build` compiles the migrated crate as one cached
//! action and ships what it built into a release folder (`dist/`) with a manifest of
//! sizes and BLAKE3 digests.
//!
//! The crate is `project.output`. cargo runs with the crate as its working folder, so it
//! reads the crate's own `.cargo/config.toml` (where the optimize phase writes the
//! profiles) and `rust-toolchain.toml`. Compiler diagnostics are read as JSON, the first
//! error is shown with its file and line, and all of them are recorded ([`record`]) so
//! `batuta status --files` can say which source file each one comes from.

mod cargo;
mod dist;
pub(crate) mod failure;
pub mod messages;
pub mod record;
mod toolchain;

pub(crate) use cargo::{Crate, LockGuard};
pub(crate) use toolchain::PROBES as TOOLCHAIN_PROBES;

use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::manifest::BuiltinFiles;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde::Deserialize;

use crate::validate::with;
use failure::{failed, io_failure, mismatch, missing_target};
use toolchain::TargetStatus;

pub const NAME: &str = "cargo-build";
const KEYS: &str = "profile (release, dev or a custom profile), targets (target triples), features, timeout (seconds)";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);
/// Lines of the first error shown with a failure.
const DETAIL_LINES: usize = 30;

/// What `cargo-build` reads and writes when its task names nothing: the crate's sources
/// and the files that change how cargo builds it (globs, so absent ones are no error), one
/// binary named as cargo names the crate's (see `assemble::crate_name`), and the release
/// manifest. A crate with other or more
/// binaries, or a library, declares its own `outputs`.
pub const FILES: BuiltinFiles = BuiltinFiles {
    builtin: NAME,
    inputs: &[
        "{output}/Cargo.toml",
        "{output}/[C]argo.lock",
        "{output}/src/**/*.rs",
        "{output}/[b]uild.rs",
        "{output}/.cargo/config.tom[l]",
        "{output}/rust-toolchai[n].toml",
    ],
    outputs: &["dist/{crate}", "dist/manifest.json"],
    records: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct With {
    #[serde(default = "release")]
    profile: String,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    features: Vec<String>,
    timeout: Option<f64>,
}

fn release() -> String {
    "release".to_owned()
}

/// A profile, target or feature name: plain words, so nothing reads as another flag.
fn check_name(key: &str, v: &str, extra: &[char]) -> Result<(), Failure> {
    let ok = !v.is_empty()
        && !v.starts_with('-')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || extra.contains(&c));
    if ok {
        Ok(())
    } else {
        Err(Failure::new(
            codes::B001,
            format!("{NAME}: bad `with`: `{key}` has '{v}', which is not a valid name"),
        )
        .hint(format!("`with:` of {NAME} takes: {KEYS}")))
    }
}

pub struct CargoBuild;

impl Rule for CargoBuild {
    fn version(&self) -> &str {
        toolchain::RULE
    }

    /// The toolchain is part of every key: a new rustc rebuilds.
    fn tools(&self) -> &[batuta_engine::rule::ToolProbe] {
        toolchain::PROBES
    }

    fn check(&self, w: &serde_json::Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        with::check::<With>(NAME, w)
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let w: With = with::parse(NAME, call.with).map_err(|e| e.failure(codes::B001, KEYS))?;
        check_name("profile", &w.profile, &[])?;
        for t in &w.targets {
            check_name("targets", t, &['.'])?;
        }
        for f in &w.features {
            check_name("features", f, &['/', '+'])?;
        }
        let timeout = with::timeout(NAME, w.timeout, DEFAULT_TIMEOUT)
            .map_err(|e| e.failure(codes::B001, KEYS))?;
        let manifest = dist::manifest_output(call.outputs).map_err(|m| mismatch(m, call))?;
        let dist_dir = manifest.rsplit_once('/').map_or("", |(d, _)| d);

        let krate = Crate::of(
            call,
            "run the transpile phase first (its `builtin: assemble` task writes it), or set project.output to the crate's folder",
        )?;
        for t in &w.targets {
            match toolchain::target_status(&krate.dir, &krate.env, t) {
                TargetStatus::Missing => return Err(missing_target(t)),
                TargetStatus::Unknown { closest } => {
                    let f = Failure::new(codes::B003, format!("rustc knows no target '{t}'"));
                    return Err(match closest {
                        Some(c) => f.hint(format!("did you mean '{c}'?")),
                        None => f.hint("`rustc --print target-list` lists the targets"),
                    });
                }
                TargetStatus::Installed | TargetStatus::CannotTell => {}
            }
        }
        let mut args: Vec<String> = vec!["--profile".into(), w.profile.clone()];
        for t in &w.targets {
            args.extend(["--target".to_owned(), t.clone()]);
        }
        if !w.features.is_empty() {
            args.extend(["--features".to_owned(), w.features.join(",")]);
        }
        let done = krate.run(call, "build", &args, timeout)?;
        let msgs = &done.messages;
        let ok = done.ok();
        let rec = record::Record {
            action: call.action.to_owned(),
            crate_dir: call.output.to_owned(),
            ok,
            diagnostics: msgs.diagnostics.clone(),
        };
        record::write(call.root, &rec).map_err(|e| {
            io_failure(
                format!(
                    "cannot write {}",
                    record::path(call.root, call.action).display()
                ),
                e,
            )
        })?;
        if !ok {
            return Err(failed(
                msgs,
                &done.stderr(),
                call,
                "build",
                &w.targets,
                done.had_lock,
                &done.finished.status,
            ));
        }

        let artifacts: Vec<_> = msgs.artifacts.iter().map(|a| a.path.clone()).collect();
        let placed = dist::place(&artifacts, dist_dir, &w.targets);
        dist::check(&placed, call.outputs, manifest).map_err(|m| mismatch(m, call))?;
        let m = dist::write(call.root, &placed, manifest, call.output, &w.profile)
            .map_err(|e| io_failure(format!("cannot write {dist_dir}/"), e))?;
        let warnings = msgs.diagnostics.len() - msgs.errors().count();
        let mut text = format!(
            "{} artifact{} ({} profile, {} warning{}) in {:.1} s",
            m.artifacts.len(),
            if m.artifacts.len() == 1 { "" } else { "s" },
            w.profile,
            warnings,
            if warnings == 1 { "" } else { "s" },
            done.finished.elapsed.as_secs_f64()
        );
        for a in &m.artifacts {
            text.push_str(&format!(
                "\n{} {} bytes blake3:{}",
                a.path, a.size, a.blake3
            ));
        }
        Ok(Note::new(text))
    }
}

/// `dir/file`, or `file` for the workspace itself.
pub(crate) fn rel(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_owned()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_rejects_unknown_keys_and_flag_like_names() {
        let p: Result<With, _> = with::parse(NAME, &serde_json::json!({"profiles": "release"}));
        assert!(p.is_err());
        let w: With = with::parse(NAME, &serde_json::Value::Null).unwrap();
        assert_eq!(w.profile, "release");
        assert!(check_name("profile", "--release", &[]).is_err());
        assert!(check_name("targets", "wasm32-unknown-unknown", &['.']).is_ok());
        assert!(check_name("targets", "thumbv7em-none-eabihf", &['.']).is_ok());
        assert!(check_name("features", "serde/derive", &['/', '+']).is_ok());
        assert!(check_name("features", "a b", &['/', '+']).is_err());
    }
}
