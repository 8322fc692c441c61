//! The Rust toolchain the build uses: the programs whose version is part of the cache key,
//! and whether a target's standard library is installed.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use batuta_engine::rule::ToolProbe;

/// Bumped when the rule's own behaviour changes what it writes.
pub const RULE: &str = "cargo-build-1";

/// `rustc -vV` and `cargo -V` join the rule's version in every key (a toolchain update
/// rebuilds); the engine asks them once per identity of what runs (rustup's proxies
/// included), with the variables that pick the toolchain. A missing toolchain is part of
/// the version too (the run then fails with the install command).
pub const PROBES: &[ToolProbe] = &[
    ToolProbe {
        program: "rustc",
        args: &["-vV"],
        env: TOOLCHAIN_ENV,
    },
    ToolProbe {
        program: "cargo",
        args: &["-V"],
        env: TOOLCHAIN_ENV,
    },
];

/// What reaches cargo from batuta's environment, and picks its toolchain.
const TOOLCHAIN_ENV: &[&str] = &["CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"];

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

    /// What the engine gets when it asks the rule's probes.
    fn ask(p: &ToolProbe) -> String {
        let args: Vec<String> = p.args.iter().map(|a| (*a).to_owned()).collect();
        batuta_engine::probe::Memo::default()
            .ask(&batuta_engine::probe::Query {
                program: p.program,
                args: &args,
                env: p.env,
                dir: &std::env::temp_dir(),
            })
            .expect("the Rust toolchain is installed")
    }

    #[test]
    fn the_probes_name_the_compiler_and_cargo() {
        assert!(ask(&PROBES[0]).starts_with("rustc "), "{}", ask(&PROBES[0]));
        assert!(ask(&PROBES[1]).starts_with("cargo "), "{}", ask(&PROBES[1]));
    }

    #[test]
    fn the_host_target_is_installed() {
        let env: Vec<(String, OsString)> = ["PATH", "HOME", "RUSTUP_HOME", "CARGO_HOME"]
            .iter()
            .filter_map(|k| std::env::var_os(k).map(|v| ((*k).to_owned(), v)))
            .collect();
        let dir = std::env::temp_dir();
        let host = ask(&PROBES[0])
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
