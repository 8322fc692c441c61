//! The Rust toolchain the build uses: its version, probed once per process for the cache
//! key, and whether a target's standard library is installed.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Bumped when the rule's own behaviour changes what it writes.
const RULE: &str = "cargo-build-1";

/// `cargo-build-1` with `rustc -vV` and `cargo -V` as batuta's environment finds them:
/// a toolchain update changes every build key. A missing toolchain is part of the
/// version too (the run then fails with the install command).
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let probe = |program: &str, arg: &str| {
            Command::new(program)
                .arg(arg)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|| format!("{program}: not found"))
        };
        format!("{RULE} {} {}", probe("rustc", "-vV"), probe("cargo", "-V"))
    })
}

/// What the toolchain cargo will use knows of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetStatus {
    Installed,
    /// A target rustc knows whose standard library is not installed.
    Missing,
    /// A name rustc does not know, with the closest one it does.
    Unknown {
        closest: Option<String>,
    },
    /// rustc could not be asked: cargo will say what is wrong itself.
    CannotTell,
}

/// Whether `target`'s standard library is in the toolchain cargo will use in `crate_dir`
/// (which a rust-toolchain.toml there may choose).
pub fn target_status(crate_dir: &Path, env: &[(String, OsString)], target: &str) -> TargetStatus {
    if target.ends_with(".json") {
        return TargetStatus::CannotTell; // a custom target spec, built with build-std
    }
    let print = |what: &str| -> Option<String> {
        let out = Command::new("rustc")
            .args(["--print", what])
            .current_dir(crate_dir)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (Some(sysroot), Some(list)) = (print("sysroot"), print("target-list")) else {
        return TargetStatus::CannotTell;
    };
    if !list.lines().any(|t| t.trim() == target) {
        let closest = list
            .lines()
            .map(str::trim)
            .map(|t| (strsim_distance(t, target), t))
            .filter(|(d, _)| *d <= 3)
            .min()
            .map(|(_, t)| t.to_owned());
        return TargetStatus::Unknown { closest };
    }
    let rustlib = Path::new(sysroot.trim()).join("lib").join("rustlib");
    if !rustlib.is_dir() {
        TargetStatus::CannotTell
    } else if rustlib.join(target).join("lib").is_dir() {
        TargetStatus::Installed
    } else {
        TargetStatus::Missing
    }
}

/// Edit distance, for the did-you-mean of a misspelt target.
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_names_the_rule_and_the_compiler() {
        let v = version();
        assert!(v.starts_with("cargo-build-1 "), "{v}");
        assert!(v.contains("rustc"), "{v}");
        // Probed once: the same string every time.
        assert!(std::ptr::eq(v, version()));
    }

    #[test]
    fn the_host_target_is_installed() {
        let env: Vec<(String, OsString)> = ["PATH", "HOME", "RUSTUP_HOME", "CARGO_HOME"]
            .iter()
            .filter_map(|k| std::env::var_os(k).map(|v| ((*k).to_owned(), v)))
            .collect();
        let dir = std::env::temp_dir();
        let host = version()
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .expect("rustc -vV names the host")
            .to_owned();
        assert_eq!(target_status(&dir, &env, &host), TargetStatus::Installed);
        assert_eq!(
            target_status(&dir, &env, "x86_64-unknown-linux-gnux"),
            TargetStatus::Unknown {
                closest: Some("x86_64-unknown-linux-gnu".into())
            }
        );
    }
}
