//! Which transpiler migrates each language (REFERENCE.md): Python → depyler, C → decy,
//! shell → bashrs; whether it is on PATH, its version, and how to install it if not. The
//! book gives decy for C++ too, but decy reads C only: C++ and Cython are reported with no
//! transpiler and what to do instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub language: String,
    pub files: usize,
    /// `none` when no transpiler migrates the language; `why` says what to do instead.
    pub transpiler: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub installed: bool,
    pub version: Option<String>,
    pub install: String,
    /// Where it was found, and its size and modification time then: while they hold, the
    /// version is not asked again (a transpiler can take long to print it).
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub stamp: Option<String>,
}

/// The transpiler for a language family and the command that installs it.
pub fn transpiler(family: &str) -> Option<(&'static str, &'static str)> {
    match family {
        "Python" => Some(("depyler", "cargo install depyler")),
        "C" => Some(("decy", "cargo install decy")),
        "Shell" => Some(("bashrs", "cargo install bashrs")),
        _ => None,
    }
}

/// Why a language batuta migrates has no transpiler, and what to do instead.
pub fn no_transpiler(family: &str) -> Option<&'static str> {
    match family {
        "C++" => Some(
            "decy reads C only, and no C++ to Rust transpiler is known: port it by hand, or keep it behind a C ABI (extern \"C\") and call it from Rust",
        ),
        "Cython" => Some(
            "depyler reads Python, not Cython's cdef types and C calls: port it by hand (often the numeric core), or keep the compiled extension and call it",
        ),
        _ => None,
    }
}

/// One recommendation per language that has a transpiler, for `(family, files)` pairs.
/// `known` are earlier recommendations: a tool found where it was, unchanged, keeps the
/// version found then.
pub fn recommend(
    languages: &[(String, usize)],
    path: Option<&std::ffi::OsStr>,
    known: &[Recommendation],
) -> Vec<Recommendation> {
    type Probe = (Option<String>, Option<String>, Option<String>);
    let mut probed: Vec<(&str, Probe)> = Vec::new();
    languages
        .iter()
        .filter_map(|(lang, files)| {
            let Some((tool, install)) = transpiler(lang) else {
                return no_transpiler(lang).map(|why| Recommendation {
                    language: lang.clone(),
                    files: *files,
                    transpiler: "none".to_owned(),
                    why: Some(why.to_owned()),
                    installed: false,
                    version: None,
                    install: String::new(),
                    path: None,
                    stamp: None,
                });
            };
            let (found, stamp, version) = match probed.iter().find(|p| p.0 == tool) {
                Some((_, p)) => p.clone(),
                None => {
                    let found = find_on_path(tool, path);
                    let stamp = found.as_deref().and_then(stamp_of);
                    let found_s = found.as_ref().map(|p| p.display().to_string());
                    let same = known.iter().find(|k| {
                        k.transpiler == tool
                            && stamp.is_some()
                            && k.path == found_s
                            && k.stamp == stamp
                    });
                    let version = match same {
                        Some(k) => k.version.clone(),
                        None => found.as_deref().and_then(version_of),
                    };
                    let p = (found_s, stamp, version);
                    probed.push((tool, p.clone()));
                    p
                }
            };
            Some(Recommendation {
                language: lang.clone(),
                files: *files,
                transpiler: tool.to_owned(),
                why: None,
                installed: found.is_some(),
                version,
                install: install.to_owned(),
                path: found,
                stamp,
            })
        })
        .collect()
}

/// Size and modification time of a file, as a string that changes when it is replaced.
fn stamp_of(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let t = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "{}:{}.{:09}",
        m.len(),
        t.as_secs(),
        t.subsec_nanos()
    ))
}

/// Where `program` is on PATH (`path`, or the process's own).
pub fn find_on_path(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let own = std::env::var_os("PATH");
    let path = path.or(own.as_deref())?;
    std::env::split_paths(path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// The first line `program --version` prints, waiting at most 3 seconds.
pub fn version_of(program: &Path) -> Option<String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < Duration::from_secs(3) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_installed_tools_and_says_how_to_install_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bashrs");
        std::fs::write(&bin, "#!/bin/sh\necho 'bashrs 6.1.0'\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let langs = vec![
            ("Shell".to_owned(), 2),
            ("Python".to_owned(), 3),
            ("Markdown".to_owned(), 1),
        ];
        let r = recommend(&langs, Some(dir.path().as_os_str()), &[]);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].transpiler.as_str(), r[0].installed), ("bashrs", true));
        assert_eq!(r[0].version.as_deref(), Some("bashrs 6.1.0"));
        assert_eq!(
            (r[1].transpiler.as_str(), r[1].installed),
            ("depyler", false)
        );
        assert_eq!(r[1].install, "cargo install depyler");
        // An unchanged tool keeps the version found before, without running it again.
        let mut known = r.clone();
        known[0].version = Some("remembered".into());
        let again = recommend(&langs, Some(dir.path().as_os_str()), &known);
        assert_eq!(again[0].version.as_deref(), Some("remembered"));
        // A replaced one is asked again.
        std::fs::write(&bin, "#!/bin/sh\necho 'bashrs 6.2.0 (new)'\nexit 0\n").unwrap();
        let again = recommend(&langs, Some(dir.path().as_os_str()), &known);
        assert_eq!(again[0].version.as_deref(), Some("bashrs 6.2.0 (new)"));
    }

    #[test]
    fn cpp_and_cython_get_no_transpiler_and_say_why() {
        let langs = vec![
            ("C++".to_owned(), 4),
            ("Cython".to_owned(), 77),
            ("C".to_owned(), 2),
        ];
        let r = recommend(&langs, Some(std::ffi::OsStr::new("")), &[]);
        let got: Vec<(&str, &str)> = r
            .iter()
            .map(|r| (r.language.as_str(), r.transpiler.as_str()))
            .collect();
        assert_eq!(got, [("C++", "none"), ("Cython", "none"), ("C", "decy")]);
        assert!(
            r[0].why
                .as_deref()
                .unwrap()
                .starts_with("decy reads C only")
        );
        assert!(r[1].why.as_deref().unwrap().contains("Cython"));
        assert!(r[2].why.is_none());
    }
}
