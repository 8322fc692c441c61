//! `c-prelude`: what decy reads in place of a C file when the project compiles it with
//! flags. decy 2.2.0 takes no `-D` or `-I` and ignores `CPATH`, so a real program fails on
//! the first macro its Makefile defines (`-DVER_REVISION=2`). The prelude defines the
//! file's macros, then includes the file itself by a path relative to the prelude, so the
//! file's own `#include "..."` still resolve from its folder and clang's locations (and
//! decy's errors) stay in the original file at its own lines.
//!
//! The macros are the file's entry in the compilation database among the action's inputs
//! (`compile_commands.json`, as bear and CMake write it), else the task's
//! `with: { defines }`. Include folders cannot be given to decy at all: headers beside the
//! file are found, others are not, and the report says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use batuta_engine::codes::phase_code;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde::Deserialize;

use super::diagnose::cflags;
use crate::validate::with;

pub const NAME: &str = "c-prelude";

/// The task's `with` for a C transpiler that reads a prelude.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct With {
    /// Macros, `NAME: value` (`NAME: null` defines it as 1, as `-DNAME` does).
    #[serde(default)]
    defines: BTreeMap<String, Option<serde_json::Value>>,
}

pub struct Prelude;

impl Rule for Prelude {
    fn version(&self) -> &str {
        concat!(env!("CARGO_PKG_VERSION"), "+prelude1")
    }

    fn check(&self, w: &serde_json::Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        with::check::<With>(NAME, w)
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let fail = |m: String| Failure::new(phase_code(call.phase), m);
        let w: With = with::parse(NAME, call.with).map_err(|e| fail(e.message))?;
        let (Some(source), Some(out)) = (call.inputs.first(), call.outputs.first()) else {
            return Err(fail(format!(
                "{NAME} reads a C file and writes its prelude"
            )));
        };
        let database = call
            .inputs
            .iter()
            .find(|i| i.rsplit('/').next() == Some("compile_commands.json"));
        let mut note = String::new();
        let from_db = match database {
            Some(db) => match cflags::from_database(call.root, db, source) {
                Ok(Some(f)) => Some(f.macros),
                Ok(None) => {
                    let _ = write!(note, "{db} has no entry for {source}; ");
                    None
                }
                Err(e) => {
                    let _ = write!(note, "{e}; ");
                    None
                }
            },
            None => None,
        };
        let macros: Vec<(String, Option<String>)> = match from_db {
            Some(m) => m,
            None => w
                .defines
                .iter()
                .map(|(k, v)| (k.clone(), Some(value(v.as_ref()))))
                .collect(),
        };
        let text = prelude(source, out, &macros);
        let path = call.path(out);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::write(&path, text).map_err(|e| fail(format!("cannot write {out}: {e}")))?;
        let defined = macros.iter().filter(|(_, v)| v.is_some()).count();
        Ok(Note::new(format!(
            "{note}{source}: {defined} macro{} for the transpiler",
            if defined == 1 { "" } else { "s" }
        )))
    }
}

/// A `with.defines` value as the text after `#define NAME`.
fn value(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "1".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The prelude of `source` written at `out` (both relative to the workspace): the macros
/// in order (`None` undefines), then the source by a path relative to `out`'s folder.
pub fn prelude(source: &str, out: &str, macros: &[(String, Option<String>)]) -> String {
    let mut s = format!("/* Written by batuta: {source} with the macros it is compiled with. */\n");
    for (name, v) in macros {
        match v {
            Some(v) => {
                let _ = writeln!(s, "#define {name} {v}");
            }
            None => {
                let _ = writeln!(s, "#undef {name}");
            }
        }
    }
    let depth = out.matches('/').count();
    let up = "../".repeat(depth);
    let _ = writeln!(s, "#include \"{up}{source}\"");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defines_then_includes_the_source_from_the_preludes_folder() {
        let text = prelude(
            "legacy/sl.c",
            ".batuta/transpile/prelude/legacy/sl.c",
            &[
                ("VER_REVISION".to_owned(), Some("2".to_owned())),
                ("NDEBUG".to_owned(), None),
            ],
        );
        assert_eq!(
            text,
            "/* Written by batuta: legacy/sl.c with the macros it is compiled with. */\n\
             #define VER_REVISION 2\n#undef NDEBUG\n#include \"../../../../legacy/sl.c\"\n"
        );
    }

    #[test]
    fn with_values_are_written_as_the_manifest_gives_them() {
        assert_eq!(value(None), "1");
        assert_eq!(value(Some(&serde_json::json!(3))), "3");
        assert_eq!(value(Some(&serde_json::json!("\"x\""))), "\"x\"");
    }
}
