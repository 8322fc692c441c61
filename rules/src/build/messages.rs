//! Reading `cargo build --message-format=json`: the compiler's diagnostics (with the file
//! and line each points at) and the artifacts cargo produced, one JSON object per line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One diagnostic of the compiler, with its file relative to the workspace when it points
/// into the crate (absolute when it points into a dependency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub level: String,
    /// The compiler's code (`E0308`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// What the compiler prints for it, with the source excerpt.
    pub rendered: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.level == "error"
    }

    /// `rust/src/stats.rs:5:12: error[E0308]: mismatched types`.
    pub fn headline(&self) -> String {
        let at = match (&self.file, self.line, self.column) {
            (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}: "),
            (Some(f), Some(l), None) => format!("{f}:{l}: "),
            (Some(f), None, _) => format!("{f}: "),
            _ => String::new(),
        };
        let code = self
            .code
            .as_deref()
            .map_or(String::new(), |c| format!("[{c}]"));
        format!("{at}{}{code}: {}", self.level, self.message)
    }

    /// A linker failure rather than an error in the code.
    pub fn is_linker(&self) -> bool {
        self.message.starts_with("linking with `") || self.message.starts_with("linker `")
    }

    /// The target whose standard library is missing, from rustc's note "the `X` target
    /// may not be installed".
    pub fn missing_target(&self) -> Option<String> {
        let note = self.rendered.split("the `").nth(1)?;
        let (target, rest) = note.split_once('`')?;
        rest.starts_with(" target may not be installed")
            .then(|| target.to_owned())
    }
}

/// A file cargo built for the crate itself (not a dependency, not a build script).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Absolute path of the file in cargo's target folder.
    pub path: PathBuf,
}

/// What one `cargo build` said.
#[derive(Debug, Default)]
pub struct Messages {
    pub diagnostics: Vec<Diagnostic>,
    pub artifacts: Vec<Artifact>,
    /// The final `build-finished` message's verdict, if cargo got that far.
    pub success: Option<bool>,
}

impl Messages {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

#[derive(Deserialize)]
struct Line {
    reason: String,
    manifest_path: Option<PathBuf>,
    target: Option<Target>,
    message: Option<RustcMessage>,
    executable: Option<PathBuf>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
    success: Option<bool>,
}

#[derive(Deserialize)]
struct Target {
    #[serde(default)]
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct RustcMessage {
    level: String,
    message: String,
    code: Option<RustcCode>,
    #[serde(default)]
    spans: Vec<Span>,
    rendered: Option<String>,
}

#[derive(Deserialize)]
struct RustcCode {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    line_start: u32,
    column_start: u32,
    is_primary: bool,
}

/// The kinds of crate target whose files are worth shipping; an `rlib` is only an input to
/// other Rust builds.
const SHIPPED: &[&str] = &["bin", "cdylib", "staticlib", "dylib"];

/// Parse cargo's output. `crate_dir` is the crate's folder (absolute), `crate_rel` the same
/// relative to the workspace: diagnostics in the crate's files are named from the workspace.
pub fn parse(stdout: &str, crate_manifest: &Path, crate_rel: &str) -> Messages {
    let mut m = Messages::default();
    for line in stdout.lines() {
        // Build scripts may print anything on stdout; only cargo's objects matter.
        let Ok(l) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        let ours = l.manifest_path.as_deref() == Some(crate_manifest);
        match l.reason.as_str() {
            "compiler-message" => {
                if let Some(msg) = l.message
                    && let Some(d) = diagnostic(msg, crate_rel)
                {
                    m.diagnostics.push(d);
                }
            }
            "compiler-artifact" if ours => {
                let kinds = l.target.map(|t| t.kind).unwrap_or_default();
                if !kinds.iter().any(|k| SHIPPED.contains(&k.as_str())) {
                    continue;
                }
                let files: Vec<PathBuf> = match l.executable {
                    Some(e) => vec![e],
                    // A library's useful files; the rlib/rmeta beside them are not shipped.
                    None => l
                        .filenames
                        .into_iter()
                        .filter(|f| {
                            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
                            matches!(ext, "so" | "dylib" | "dll" | "a" | "lib" | "wasm")
                        })
                        .collect(),
                };
                for path in files {
                    if !m.artifacts.iter().any(|a| a.path == path) {
                        m.artifacts.push(Artifact { path });
                    }
                }
            }
            "build-finished" => m.success = l.success,
            _ => {}
        }
    }
    m
}

fn diagnostic(msg: RustcMessage, crate_rel: &str) -> Option<Diagnostic> {
    // "aborting due to 2 previous errors" and "For more information…" repeat what the
    // real diagnostics said.
    let noise = msg.message.starts_with("aborting due to")
        || !matches!(msg.level.as_str(), "error" | "warning");
    if noise
        || msg.message.ends_with("warnings emitted")
        || msg.message.ends_with("warning emitted")
    {
        return None;
    }
    let primary = msg
        .spans
        .iter()
        .find(|s| s.is_primary)
        .or(msg.spans.first());
    let file = primary.map(|s| {
        if Path::new(&s.file_name).is_absolute() || crate_rel.is_empty() {
            s.file_name.clone()
        } else {
            format!("{}/{}", crate_rel.trim_end_matches('/'), s.file_name)
        }
    });
    Some(Diagnostic {
        level: msg.level,
        code: msg.code.map(|c| c.code),
        rendered: msg.rendered.unwrap_or_else(|| msg.message.clone()),
        message: msg.message,
        file,
        line: primary.map(|s| s.line_start),
        column: primary.map(|s| s.column_start),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "/w/rust/Cargo.toml";

    fn error_line() -> String {
        serde_json::json!({
            "reason": "compiler-message",
            "manifest_path": MANIFEST,
            "target": {"kind": ["bin"]},
            "message": {
                "level": "error",
                "message": "mismatched types",
                "code": {"code": "E0308", "explanation": "…"},
                "spans": [
                    {"file_name": "src/util.rs", "line_start": 1, "column_start": 1, "is_primary": false},
                    {"file_name": "src/stats.rs", "line_start": 5, "column_start": 12, "is_primary": true}
                ],
                "rendered": "error[E0308]: mismatched types\n --> src/stats.rs:5:12\n"
            }
        })
        .to_string()
    }

    #[test]
    fn errors_name_the_primary_span_from_the_workspace() {
        let abort = r#"{"reason":"compiler-message","manifest_path":"/w/rust/Cargo.toml","message":{"level":"error","message":"aborting due to 1 previous error","spans":[],"rendered":"x"}}"#;
        let note = r#"{"reason":"compiler-message","manifest_path":"/w/rust/Cargo.toml","message":{"level":"failure-note","message":"For more information","spans":[],"rendered":"x"}}"#;
        let text = format!(
            "{}\nnot json from a build script\n{abort}\n{note}\n{{\"reason\":\"build-finished\",\"success\":false}}\n",
            error_line()
        );
        let m = parse(&text, Path::new(MANIFEST), "rust");
        assert_eq!(m.diagnostics.len(), 1);
        let d = &m.diagnostics[0];
        assert_eq!(
            d.headline(),
            "rust/src/stats.rs:5:12: error[E0308]: mismatched types"
        );
        assert_eq!(m.success, Some(false));
        assert_eq!(m.errors().count(), 1);
    }

    #[test]
    fn artifacts_of_the_crate_only_and_only_shippable_ones() {
        let bin = r#"{"reason":"compiler-artifact","manifest_path":"/w/rust/Cargo.toml","target":{"kind":["bin"]},"filenames":["/w/rust/target/release/demo"],"executable":"/w/rust/target/release/demo"}"#;
        let lib = r#"{"reason":"compiler-artifact","manifest_path":"/w/rust/Cargo.toml","target":{"kind":["lib"]},"filenames":["/w/rust/target/release/libdemo.rlib"],"executable":null}"#;
        let cdylib = r#"{"reason":"compiler-artifact","manifest_path":"/w/rust/Cargo.toml","target":{"kind":["cdylib","rlib"]},"filenames":["/w/rust/target/release/libdemo.so","/w/rust/target/release/libdemo.rlib"],"executable":null}"#;
        let dep = r#"{"reason":"compiler-artifact","manifest_path":"/home/.cargo/registry/x/Cargo.toml","target":{"kind":["bin"]},"filenames":[],"executable":"/w/rust/target/release/x"}"#;
        let m = parse(
            &[bin, lib, cdylib, dep].join("\n"),
            Path::new(MANIFEST),
            "rust",
        );
        let paths: Vec<&Path> = m.artifacts.iter().map(|a| a.path.as_path()).collect();
        assert_eq!(
            paths,
            [
                Path::new("/w/rust/target/release/demo"),
                Path::new("/w/rust/target/release/libdemo.so")
            ]
        );
    }

    #[test]
    fn a_missing_target_and_a_linker_failure_are_recognised() {
        let d = Diagnostic {
            level: "error".into(),
            code: Some("E0463".into()),
            message: "can't find crate for `std`".into(),
            file: None,
            line: None,
            column: None,
            rendered: "error[E0463]: can't find crate for `std`\n  = note: the `aarch64-unknown-linux-musl` target may not be installed\n".into(),
        };
        assert_eq!(
            d.missing_target().as_deref(),
            Some("aarch64-unknown-linux-musl")
        );
        assert!(!d.is_linker());
        let l = Diagnostic {
            message: "linking with `cc` failed: exit status: 1".into(),
            rendered: "error: linking with `cc` failed".into(),
            code: None,
            ..d
        };
        assert!(l.is_linker());
        assert_eq!(l.missing_target(), None);
        assert_eq!(
            l.headline(),
            "error: linking with `cc` failed: exit status: 1"
        );
    }
}
