//! The flags a C file is compiled with, read from `compile_commands.json` as clang tools
//! read it (bear and CMake write it): the entry whose `file` is the file, its `arguments`
//! (or its `command`, split as a shell would), and its `directory`. Only what changes how
//! the file parses is kept: macros (`-D`, `-U`), include paths (`-I`, `-isystem`,
//! `-iquote`, `-idirafter`), forced includes (`-include`) and the standard (`-std=`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CFlags {
    /// Where the compiler runs (relative paths in `args` are from here).
    pub directory: PathBuf,
    /// The parsing flags, each option and its value as separate arguments.
    pub args: Vec<String>,
    /// The macros, in order: `(name, Some(value))` for `-DNAME=VALUE` (`-DNAME` is
    /// `Some("1")`), `(name, None)` for `-UNAME`.
    pub macros: Vec<(String, Option<String>)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CFlagsError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("{0} is not a compilation database: {1}")]
    Invalid(String, String),
    #[error("{db}: the command of {file} cannot be split into arguments (an unclosed quote)")]
    Command { db: String, file: String },
}

#[derive(Deserialize)]
struct Entry {
    directory: PathBuf,
    file: PathBuf,
    #[serde(default)]
    arguments: Option<Vec<String>>,
    #[serde(default)]
    command: Option<String>,
}

/// The flags of `input` (relative to `root`) in the database `db` (relative to `root`),
/// or `None` when the database has no entry for it.
pub fn from_database(root: &Path, db: &str, input: &str) -> Result<Option<CFlags>, CFlagsError> {
    let text = std::fs::read_to_string(root.join(db))
        .map_err(|e| CFlagsError::Read(db.to_owned(), e.to_string()))?;
    let entries: Vec<Entry> = serde_json::from_str(&text)
        .map_err(|e| CFlagsError::Invalid(db.to_owned(), e.to_string()))?;
    let Ok(want) = std::fs::canonicalize(root.join(input)) else {
        return Ok(None);
    };
    let found = entries.iter().find(|e| {
        let path = e.directory.join(&e.file);
        std::fs::canonicalize(&path).is_ok_and(|p| p == want)
    });
    let Some(entry) = found else {
        return Ok(None);
    };
    let argv = match (&entry.arguments, &entry.command) {
        (Some(a), _) => a.clone(),
        (None, Some(c)) => shlex::split(c).ok_or_else(|| CFlagsError::Command {
            db: db.to_owned(),
            file: input.to_owned(),
        })?,
        (None, None) => Vec::new(),
    };
    Ok(Some(parse(&entry.directory, &argv)))
}

/// The parsing flags of a compiler command line (its first word, the compiler, skipped).
fn parse(directory: &Path, argv: &[String]) -> CFlags {
    const WITH_PATH: &[&str] = &["-I", "-isystem", "-iquote", "-idirafter", "-include"];
    let mut flags = CFlags {
        directory: directory.to_owned(),
        args: Vec::new(),
        macros: Vec::new(),
    };
    let mut words = argv.iter().skip(1);
    while let Some(w) = words.next() {
        // `-D NAME` and `-DNAME` alike (the joined form only for the one-letter options).
        let (opt, value) = match [
            "-D",
            "-U",
            "-I",
            "-isystem",
            "-iquote",
            "-idirafter",
            "-include",
        ]
        .iter()
        .find(|o| w.starts_with(**o))
        {
            Some(o) if o.len() == 2 && w.len() > 2 => (*o, Some(w[o.len()..].to_owned())),
            Some(o) if w == o => (*o, words.next().cloned()),
            _ => {
                if w.starts_with("-std=") {
                    flags.args.push(w.clone());
                }
                continue;
            }
        };
        let Some(value) = value else { continue };
        match opt {
            "-D" => {
                let (name, v) = value.split_once('=').unwrap_or((&value, "1"));
                flags.macros.push((name.to_owned(), Some(v.to_owned())));
            }
            "-U" => flags.macros.push((value.clone(), None)),
            _ => {}
        }
        let value = if WITH_PATH.contains(&opt) && Path::new(&value).is_relative() {
            directory.join(&value).to_string_lossy().into_owned()
        } else {
            value
        };
        flags.args.push(opt.to_owned());
        flags.args.push(value);
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_and_paths_are_kept_and_the_rest_is_not() {
        let argv: Vec<String> = [
            "cc",
            "-O2",
            "-Wall",
            "-DVER_REVISION=\"7.4.3\"",
            "-D",
            "DEBUG=0",
            "-DD2U_UNICODE",
            "-UNDEBUG",
            "-Iinc",
            "-isystem",
            "/opt/x",
            "-std=c99",
            "-c",
            "common.c",
            "-o",
            "common.o",
        ]
        .map(String::from)
        .to_vec();
        let f = parse(Path::new("/p"), &argv);
        assert_eq!(
            f.macros,
            [
                ("VER_REVISION".to_owned(), Some("\"7.4.3\"".to_owned())),
                ("DEBUG".to_owned(), Some("0".to_owned())),
                ("D2U_UNICODE".to_owned(), Some("1".to_owned())),
                ("NDEBUG".to_owned(), None),
            ]
        );
        assert_eq!(
            f.args,
            [
                "-D",
                "VER_REVISION=\"7.4.3\"",
                "-D",
                "DEBUG=0",
                "-D",
                "D2U_UNICODE",
                "-U",
                "NDEBUG",
                "-I",
                "/p/inc",
                "-isystem",
                "/opt/x",
                "-std=c99"
            ]
        );
    }

    #[test]
    fn a_database_entry_is_found_by_its_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("src")).unwrap();
        std::fs::write(d.path().join("src/a.c"), "int x;\n").unwrap();
        let db = serde_json::json!([
            {"directory": d.path().join("src"), "file": "a.c",
             "command": "gcc -DNAME='\"x y\"' -c a.c"},
        ]);
        std::fs::write(d.path().join("compile_commands.json"), db.to_string()).unwrap();
        let f = from_database(d.path(), "compile_commands.json", "src/a.c")
            .unwrap()
            .unwrap();
        assert_eq!(f.macros, [("NAME".to_owned(), Some("\"x y\"".to_owned()))]);
        assert_eq!(
            from_database(d.path(), "compile_commands.json", "src/b.c").unwrap(),
            None
        );
        std::fs::write(d.path().join("compile_commands.json"), "{").unwrap();
        assert!(matches!(
            from_database(d.path(), "compile_commands.json", "src/a.c"),
            Err(CFlagsError::Invalid(..))
        ));
    }
}
