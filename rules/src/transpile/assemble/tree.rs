//! The crate's module tree: `pub mod` lines that mirror the source tree, each file's name
//! made a Rust identifier.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A Rust identifier for a file or folder name (`my-mod` → `my_mod`, `type` → `type_`).
pub fn ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
        "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
        "final", "gen", "macro", "override", "priv", "try", "typeof", "unsized", "virtual",
        "yield",
    ];
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// The module tree: folders and files under `src/`, each file with whether it is left out
/// of test builds.
#[derive(Debug, Default)]
pub(crate) struct Dir {
    files: BTreeMap<String, bool>,
    dirs: BTreeMap<String, Dir>,
}

impl Dir {
    /// A module; with `not_in_tests`, declared `#[cfg(not(test))]`: the program has it, a
    /// test build does not (its own tests do not compile).
    pub(crate) fn insert(&mut self, parts: &[&str], not_in_tests: bool) {
        match parts {
            [] => {}
            [file] => {
                if let Some(stem) = file.strip_suffix(".rs") {
                    self.files.insert(stem.to_owned(), not_in_tests);
                }
            }
            [dir, rest @ ..] => self
                .dirs
                .entry((*dir).to_owned())
                .or_default()
                .insert(rest, not_in_tests),
        }
    }

    /// `pub mod` lines for this folder; `at` is the folder relative to the one whose file
    /// the lines are written in, for `#[path]`s that have to name it.
    pub(crate) fn render(&self, out: &mut String, indent: usize) {
        let pad = "    ".repeat(indent);
        for (stem, not_in_tests) in &self.files {
            let id = ident(stem);
            if *not_in_tests {
                let _ = writeln!(out, "{pad}#[cfg(not(test))]");
            }
            if id != *stem {
                let _ = writeln!(out, "{pad}#[path = \"{stem}.rs\"]");
            }
            let _ = writeln!(out, "{pad}pub mod {id};");
        }
        for (name, dir) in &self.dirs {
            if self.files.contains_key(name) {
                // `name.rs` and `name/` both exist: the file is the module, and the folder's
                // files become its siblings, named `name_file`.
                dir.render_flat(out, indent, name);
                continue;
            }
            let id = ident(name);
            if id != *name {
                let _ = writeln!(out, "{pad}#[path = \"{name}\"]");
            }
            let _ = writeln!(out, "{pad}pub mod {id} {{");
            dir.render(out, indent + 1);
            let _ = writeln!(out, "{pad}}}");
        }
    }

    fn render_flat(&self, out: &mut String, indent: usize, prefix: &str) {
        let pad = "    ".repeat(indent);
        for (stem, not_in_tests) in &self.files {
            if *not_in_tests {
                let _ = writeln!(out, "{pad}#[cfg(not(test))]");
            }
            let _ = writeln!(out, "{pad}#[path = \"{prefix}/{stem}.rs\"]");
            let _ = writeln!(out, "{pad}pub mod {}_{};", ident(prefix), ident(stem));
        }
        for (name, dir) in &self.dirs {
            dir.render_flat(out, indent, &format!("{prefix}/{name}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(ident("stats"), "stats");
        assert_eq!(ident("my-mod"), "my_mod");
        assert_eq!(ident("type"), "type_");
        assert_eq!(ident("2x"), "_2x");
    }

    #[test]
    fn tree_mirrors_folders() {
        let mut t = Dir::default();
        for p in [
            "main.rs",
            "util/io.rs",
            "util/deep/x-y.rs",
            "a.rs",
            "a/b.rs",
        ] {
            t.insert(&p.split('/').collect::<Vec<_>>(), false);
        }
        let mut s = String::new();
        t.render(&mut s, 0);
        assert_eq!(
            s,
            "pub mod a;\npub mod main;\n#[path = \"a/b.rs\"]\npub mod a_b;\npub mod util {\n    pub mod io;\n    pub mod deep {\n        #[path = \"x-y.rs\"]\n        pub mod x_y;\n    }\n}\n"
        );
    }
}
