//! Building the extension: `cargo build` of its crate as a Python extension module (PyO3
//! told not to link libpython), round after round, leaving out what does not compile. A
//! wrapper with an error (a type PyO3 cannot convert after all, an error type without
//! `Display`) costs its own function, which stays Python; a module with an error (it
//! compiled in the migrated crate, but uses something only that crate has) costs its
//! functions. Anything else (PyO3 itself, the Cargo.toml) fails the action with cargo's
//! own first error.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Call;
use batuta_engine::rule::Failure;

use crate::build::Crate;
use crate::build::messages::Diagnostic;

/// What was left out, and why (a compiler error's headline).
#[derive(Debug, Default, Clone)]
pub struct Left {
    /// By wrapper index.
    pub wrappers: BTreeMap<usize, String>,
    /// By module file, relative to the workspace.
    pub modules: BTreeMap<String, String>,
}

/// The crate's `src/lib.rs` as written for one round: the lines each wrapper spans, by
/// wrapper index.
pub struct Written {
    pub spans: Vec<(usize, (usize, usize))>,
}

/// The shared library cargo built.
pub struct Built {
    pub artifact: PathBuf,
    pub rounds: usize,
}

/// Builds `krate` (whose `src/lib.rs` is `lib`, relative to the workspace) with `write`
/// writing `lib` for what is still in, until it compiles. `modules` are the module files
/// in the crate, relative to the workspace.
pub(crate) fn build(
    call: &Call<'_>,
    krate: &Crate,
    lib: &str,
    modules: &[String],
    profile: &str,
    timeout: Duration,
    mut write: impl FnMut(&Left) -> Result<Written, Failure>,
) -> Result<(Built, Left), Failure> {
    let mut left = Left::default();
    let args = vec![
        "--lib".to_owned(),
        "--profile".to_owned(),
        profile.to_owned(),
    ];
    for round in 1.. {
        let written = write(&left)?;
        let done = krate.run(call, "build", &args, timeout)?;
        if done.ok() {
            let artifact = done
                .messages
                .artifacts
                .iter()
                .map(|a| a.path.clone())
                .find(|p| {
                    p.extension()
                        .is_some_and(|e| e == "so" || e == "dylib" || e == "dll")
                })
                .ok_or_else(|| {
                    Failure::new(
                        codes::B001,
                        format!(
                            "cargo built {} but named no shared library among its artifacts",
                            krate.rel
                        ),
                    )
                })?;
            return Ok((
                Built {
                    artifact,
                    rounds: round,
                },
                left,
            ));
        }
        let errors: Vec<&Diagnostic> = done.messages.errors().collect();
        let mut progress = false;
        for e in &errors {
            let Some(file) = e.file.as_deref().map(normalize) else {
                continue;
            };
            let line = e.line.unwrap_or(0) as usize;
            if file == lib {
                let hit = written
                    .spans
                    .iter()
                    .find(|(_, (a, b))| (*a..=*b).contains(&line));
                if let Some((i, _)) = hit
                    && !left.wrappers.contains_key(i)
                {
                    left.wrappers.insert(*i, e.headline());
                    progress = true;
                }
            } else if modules.contains(&file) && !left.modules.contains_key(&file) {
                left.modules.insert(file, e.headline());
                progress = true;
            }
        }
        if call.cancelled() {
            return Err(Failure::new(codes::B001, "cancelled".to_owned()));
        }
        if !progress {
            return Err(failure(krate, &errors, &done.stderr()));
        }
    }
    unreachable!("the rounds end when nothing more can be left out")
}

/// `rust/python/../src/a.rs` → `rust/src/a.rs`: rustc names the files of `#[path]`
/// modules from the extension's folder.
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::ParentDir if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            Component::Normal(p) => out.push(p.to_str().unwrap_or_default()),
            Component::ParentDir => out.push(".."),
            _ => {}
        }
    }
    out.join("/")
}

fn failure(krate: &Crate, errors: &[&Diagnostic], stderr: &str) -> Failure {
    match errors.first() {
        Some(first) => Failure::new(
            codes::B001,
            format!(
                "the Python extension {} does not compile ({} error{}): {}",
                krate.rel,
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                first.headline()
            ),
        )
        .detail(
            first
                .rendered
                .lines()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        None => {
            let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
            Failure::new(
                codes::B001,
                format!("cargo build of the Python extension {} failed", krate.rel),
            )
            .detail(tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            .hint("PyO3's build needs a Python 3.9 or later interpreter (with.python); cargo fetches PyO3 from crates.io the first time")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_through_the_extension_folder_are_made_plain() {
        assert_eq!(normalize("rust/python/../src/a/b.rs"), "rust/src/a/b.rs");
        assert_eq!(
            normalize("rust/python/src/lib.rs"),
            "rust/python/src/lib.rs"
        );
        assert_eq!(normalize("../x.rs"), "../x.rs");
    }
}
