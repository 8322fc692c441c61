//! The module a hand port starts from.
//!
//! With the transpiler's last output, that output under a line saying where it came from.
//! Without one (the transpiler failed on the file), a skeleton that compiles as it is and
//! pretends nothing: the source's functions listed with their lines, then the whole source
//! as comments to translate. No `todo!()` bodies: a function that panics would pass for a
//! translation until a check called it, and the stub finder would have to flag batuta's
//! own output.

use std::fmt::Write as _;
use std::path::Path;

/// The comment marker of the module's language: `//` for Rust, `#` for a script.
fn marker(module: &str) -> &'static str {
    if module.ends_with(".rs") { "//" } else { "#" }
}

/// The transpiler's output `generated`, headed by where it came from. A script keeps its
/// `#!` line first.
pub fn with_origin(source: &str, tool: &str, generated: &str, module: &str) -> String {
    let c = marker(module);
    let head = format!(
        "{c} Ported by hand from {source}, starting from {tool}'s output (`batuta port`).\n"
    );
    match generated.strip_prefix("#!") {
        Some(_) if c == "#" => {
            let (first, rest) =
                generated.split_at(generated.find('\n').map_or(generated.len(), |i| i + 1));
            format!("{first}{head}{rest}")
        }
        _ => format!("{head}{generated}"),
    }
}

/// A module to write by hand for `source`, which `tool` could not transpile.
pub fn new(root: &Path, source: &str, module: &str, tool: &str) -> String {
    let c = marker(module);
    let text = std::fs::read(root.join(source))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut out = String::new();
    if c == "#" {
        // A script ported by hand starts as the original script: it runs as it did.
        if let Some(first) = text.lines().next().filter(|l| l.starts_with("#!")) {
            let _ = writeln!(out, "{first}");
        }
        let _ = writeln!(
            out,
            "# Ported by hand from {source} (`batuta port`): {tool} could not purify it."
        );
        let body = text.strip_prefix("#!").map_or(text.as_str(), |_| {
            text.split_once('\n').map_or("", |(_, rest)| rest)
        });
        out.push_str(body);
        return out;
    }
    let functions = batuta_rules::analyze::analyze_bytes(source, text.as_bytes()).functions;
    let _ = writeln!(
        out,
        "//! Ported by hand from {source} (`batuta port`): {tool} could not transpile it."
    );
    let _ = writeln!(out, "//!");
    if functions.is_empty() {
        let _ = writeln!(
            out,
            "//! The source is below as comments; write its Rust above them."
        );
    } else {
        let _ = writeln!(
            out,
            "//! Its functions, to write in Rust (the source is below as comments):"
        );
        for f in &functions {
            let signature = text
                .lines()
                .nth(f.line.saturating_sub(1))
                .map(str::trim)
                .unwrap_or_default();
            let _ = writeln!(out, "//! - `{}` (line {}): `{signature}`", f.name, f.line);
        }
    }
    out.push('\n');
    let _ = writeln!(out, "// ---- {source} ----");
    for line in text.lines() {
        if line.is_empty() {
            out.push_str("//\n");
        } else {
            let _ = writeln!(out, "// {line}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_module_is_headed_by_where_it_came_from() {
        let m = with_origin("legacy/a.py", "depyler", "pub fn f() {}\n", "rust/src/a.rs");
        assert_eq!(
            m,
            "// Ported by hand from legacy/a.py, starting from depyler's output (`batuta port`).\npub fn f() {}\n"
        );
        let s = with_origin(
            "a.sh",
            "bashrs",
            "#!/bin/sh\necho hi\n",
            "rust/scripts/a.sh",
        );
        assert!(s.starts_with("#!/bin/sh\n# Ported by hand"), "{s}");
    }

    #[test]
    fn a_skeleton_lists_the_functions_and_comments_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let py = "import sys\n\ndef mean(values):\n    return sum(values) / len(values)\n\n\nclass Box:\n    def size(self, k: int) -> int:\n        return k\n";
        std::fs::write(dir.path().join("a.py"), py).unwrap();
        let s = new(dir.path(), "a.py", "rust/src/a.rs", "depyler");
        assert!(
            s.contains("//! - `mean` (line 3): `def mean(values):`"),
            "{s}"
        );
        assert!(
            s.contains("//! - `Box.size` (line 8): `def size(self, k: int) -> int:`"),
            "{s}"
        );
        assert!(
            s.contains("\n// import sys\n//\n// def mean(values):\n"),
            "{s}"
        );
        assert!(!s.contains("todo!"));
        // It is Rust: nothing but comments.
        assert!(
            s.lines().all(|l| l.is_empty() || l.starts_with("//")),
            "{s}"
        );
    }
}
