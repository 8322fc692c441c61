//! The to-do list: which file to port next. A file that failed (to transpile, to compile,
//! to lint, or a check that covers it) comes first, ranked by how many other files use it
//! (porting it unblocks them), then by its error count and its size (the cheaper first).
//!
//! Who uses whom is read from the sources, as each language says it: Python's `import` and
//! `from … import`, C's `#include "x.h"` (which uses `x.c`), and shell's `.` / `source`.

use std::collections::{BTreeMap, BTreeSet};

/// For each of `sources` (workspace-relative, under `source_root`), how many of the others
/// use it.
pub fn dependents(
    root: &std::path::Path,
    source_root: &str,
    sources: &[&str],
) -> BTreeMap<String, usize> {
    let rel = |s: &str| -> String {
        match source_root.trim_matches('/') {
            "" | "." => s.to_owned(),
            base => s
                .strip_prefix(base)
                .map_or(s, |r| r.trim_start_matches('/'))
                .to_owned(),
        }
    };
    let files: Vec<(String, String)> = sources.iter().map(|s| (s.to_string(), rel(s))).collect();
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, rel_path) in &files {
        let Ok(text) = std::fs::read_to_string(root.join(path)) else {
            continue;
        };
        for used in uses(rel_path, &text, &files) {
            if used != *path {
                users.entry(used).or_default().insert(path.clone());
            }
        }
    }
    files
        .iter()
        .map(|(p, _)| (p.clone(), users.get(p).map_or(0, BTreeSet::len)))
        .collect()
}

/// The files of `files` (workspace path, path under the source root) that `text`, the file
/// at `rel_path`, uses.
fn uses(rel_path: &str, text: &str, files: &[(String, String)]) -> Vec<String> {
    let ext = rel_path.rsplit_once('.').map_or("", |(_, e)| e);
    let mut found = Vec::new();
    match ext {
        "py" => {
            for module in python_imports(rel_path, text) {
                // `a.b` is `a/b.py` or `a/b/__init__.py`, wherever the package root is.
                let as_path = module.replace('.', "/");
                for (path, rel) in files {
                    let stem = rel.strip_suffix(".py").unwrap_or(rel);
                    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
                    if stem == as_path || stem.ends_with(&format!("/{as_path}")) {
                        found.push(path.clone());
                    }
                }
            }
        }
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" => {
            for header in c_includes(text) {
                let stem = header.rsplit('/').next().unwrap_or(&header);
                let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
                for (path, rel) in files {
                    let name = rel.rsplit('/').next().unwrap_or(rel);
                    if name
                        .rsplit_once('.')
                        .is_some_and(|(s, e)| s == stem && matches!(e, "c" | "cc" | "cpp" | "cxx"))
                    {
                        found.push(path.clone());
                    }
                }
            }
        }
        _ => {
            for sourced in shell_sources(text) {
                let name = sourced.rsplit('/').next().unwrap_or(&sourced);
                for (path, rel) in files {
                    if rel.rsplit('/').next() == Some(name) {
                        found.push(path.clone());
                    }
                }
            }
        }
    }
    found
}

/// The modules a Python file imports, as dotted names; relative imports are resolved
/// against the file's own package.
fn python_imports(rel_path: &str, text: &str) -> Vec<String> {
    let package: Vec<&str> = {
        let mut parts: Vec<&str> = rel_path.split('/').collect();
        parts.pop();
        parts
    };
    let resolve = |spec: &str| -> Option<String> {
        let dots = spec.chars().take_while(|c| *c == '.').count();
        let rest = &spec[dots..];
        if dots == 0 {
            return Some(rest.to_owned());
        }
        let up = dots - 1;
        let base = package.len().checked_sub(up)?;
        let mut parts: Vec<&str> = package[..base].to_vec();
        parts.extend(rest.split('.').filter(|p| !p.is_empty()));
        Some(parts.join("."))
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(names) = line.strip_prefix("import ") {
            for name in names.split(',') {
                let name = name.split_whitespace().next().unwrap_or("");
                out.extend(resolve(name));
            }
        } else if let Some(rest) = line.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else {
                continue;
            };
            let Some(module) = resolve(module.trim()) else {
                continue;
            };
            // `from pkg import mod` may name a submodule as well as a name in pkg.
            for name in names.trim_matches(|c| c == '(' || c == ')').split(',') {
                let name = name.split_whitespace().next().unwrap_or("");
                if !name.is_empty() && name != "*" {
                    out.push(if module.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{module}.{name}")
                    });
                }
            }
            if !module.is_empty() {
                out.push(module);
            }
        }
    }
    out
}

/// The headers a C file includes with quotes (its own project's, not the system's).
fn c_includes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start().strip_prefix('#')?.trim_start();
            let rest = l.strip_prefix("include")?.trim();
            let rest = rest.strip_prefix('"')?;
            Some(rest.split('"').next()?.to_owned())
        })
        .collect()
}

/// The files a shell script reads in with `.` or `source`.
fn shell_sources(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix(". ").or_else(|| l.strip_prefix("source "))?;
            let word = rest.split_whitespace().next()?;
            Some(word.trim_matches(|c| c == '"' || c == '\'').to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_imports_resolve_relative_names_to_the_package() {
        let text = "import os, slugify.special as sp\nfrom . import special\nfrom .slugify import slugify\nfrom ..top import x\n";
        let got = python_imports("pkg/slugify/__main__.py", text);
        assert!(got.contains(&"slugify.special".to_owned()), "{got:?}");
        assert!(got.contains(&"pkg.slugify.special".to_owned()), "{got:?}");
        assert!(got.contains(&"pkg.slugify.slugify".to_owned()), "{got:?}");
        assert!(got.contains(&"pkg.top".to_owned()), "{got:?}");
    }

    #[test]
    fn each_language_says_who_it_uses() {
        let dir = tempfile::tempdir().unwrap();
        let w = |p: &str, t: &str| {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w("src/pkg/__init__.py", "from .util import f\n");
        w("src/pkg/util.py", "x = 1\n");
        w("src/pkg/cli.py", "from pkg import util\nimport pkg.util\n");
        w("src/sl.c", "#include <curses.h>\n#include \"sl.h\"\n");
        w("src/main.c", "#include \"sl.h\"\n");
        w("src/lib.sh", "x=1\n");
        w("src/run.sh", ". ./lib.sh\n");
        let sources = [
            "src/pkg/__init__.py",
            "src/pkg/util.py",
            "src/pkg/cli.py",
            "src/sl.c",
            "src/main.c",
            "src/lib.sh",
            "src/run.sh",
        ];
        let d = dependents(dir.path(), "src", &sources);
        assert_eq!(d["src/pkg/util.py"], 2);
        assert_eq!(d["src/pkg/__init__.py"], 1, "cli imports the package");
        assert_eq!(d["src/sl.c"], 1, "main.c includes sl.h");
        assert_eq!(d["src/lib.sh"], 1);
        assert_eq!(d["src/run.sh"], 0);
    }
}
