//! The bridge: C files whose original code is linked into the migrated program instead of
//! a Rust module, so the program builds and runs at every step of a migration (the C++ to
//! Rust port of fish, librsvg's C to Rust port). The crate's build script compiles them
//! with the `cc` crate; the program's `main` stays where it is: a `main` in bridged C is
//! renamed at compile time and called from `src/main.rs`.
//!
//! A C file is bridged when the manifest says so (`bridged:`), or, with `fallback: bridge`,
//! when its generated module is missing (the tool failed) or does not compile, or when C
//! that stays C calls a function of it that its Rust does not export with the C ABI (a
//! transpiler's `fn checksum(data: &[u8])` is no `checksum` for the linker). A hand port
//! exports what C calls with `#[no_mangle] pub extern "C"`, and replaces its C file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use batuta_engine::graph::{FilePlan, How};
use regex::Regex;
use serde::Deserialize;

use super::GENERATED;
use crate::transpile::diagnose::cflags::{self, CFlags};

/// The name a bridged C `main` is compiled under, for `src/main.rs` to call.
pub const C_MAIN: &str = "batuta_c_main";

/// `with: { bridge: … }` of assemble: how bridged C is compiled and linked, when the
/// project has no `compile_commands.json` among the task's inputs to say so.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeWith {
    /// Macros, `NAME: value` (`NAME: null` defines it with no value).
    #[serde(default)]
    pub defines: BTreeMap<String, Option<String>>,
    /// Folders searched for headers, relative to the workspace (each bridged file's own
    /// folder always is).
    #[serde(default)]
    pub include_dirs: Vec<String>,
    /// Libraries the program links with (`ncurses` for `-lncurses`).
    #[serde(default)]
    pub link: Vec<String>,
}

/// One C file and how it is in the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CFile {
    pub source: String,
    pub module: String,
    pub how: How,
}

/// The C files of the plan, C sources only.
pub fn c_files(plan: &[FilePlan]) -> Vec<CFile> {
    plan.iter()
        .filter(|p| p.source.ends_with(".c"))
        .map(|p| CFile {
            source: p.source.clone(),
            module: p.module.clone(),
            how: p.how,
        })
        .collect()
}

/// Why a C file is bridged, for the record and the report.
pub fn first_bridged(
    files: &[CFile],
    present: &BTreeSet<String>,
) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for f in files {
        match f.how {
            How::Bridged => {
                out.insert(f.source.clone(), "bridged: in the task's `bridged`");
            }
            How::GeneratedOrBridged if !present.contains(&f.module) => {
                out.insert(f.source.clone(), "bridged: the tool did not transpile it");
            }
            _ => {}
        }
    }
    out
}

/// After a check: the C files that must stay C as well, and why. With `fallback: bridge`,
/// a file whose generated module does not compile (in `quarantined`), or whose module
/// does not export with the C ABI a function that C staying C calls.
pub fn more_to_bridge(
    root: &Path,
    files: &[CFile],
    bridged: &BTreeMap<String, &'static str>,
    quarantined: &BTreeSet<String>,
) -> BTreeMap<String, &'static str> {
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap_or_default();
    let staying: Vec<String> = bridged.keys().map(|s| read(s)).collect();
    let mut more = BTreeMap::new();
    for f in files
        .iter()
        .filter(|f| f.how == How::GeneratedOrBridged && !bridged.contains_key(&f.source))
    {
        if quarantined.contains(&f.module) {
            more.insert(
                f.source.clone(),
                "bridged: its generated module does not compile",
            );
            continue;
        }
        let rust = read(&f.module);
        let missing = defined_functions(&read(&f.source))
            .into_iter()
            .filter(|name| name != "main")
            .any(|name| staying.iter().any(|c| calls(c, &name)) && !exports(&rust, &name));
        if missing {
            more.insert(
                f.source.clone(),
                "bridged: C that stays C calls it, and its Rust does not export that with the C ABI",
            );
        }
    }
    more
}

/// The functions a C file defines for other files (not `static`): at the top level, a
/// name and its parameters followed by a body, maybe after K&R parameter declarations
/// (`int main(argc, argv) int argc; char **argv; {`).
pub fn defined_functions(text: &str) -> Vec<String> {
    let text = strip_comments(text);
    let mut found = Vec::new();
    let (mut depth, mut parens) = (0usize, 0usize);
    let mut stmt = String::new();
    // A header whose parameters are declared after it, K&R style.
    let mut kr: Option<(String, bool)> = None;
    // Of `#if … #else … #endif`, only the first branch is read: each branch may open a
    // brace the other closes.
    let mut branches: Vec<bool> = Vec::new();
    for line in text.lines() {
        if let Some(directive) = line.trim_start().strip_prefix('#') {
            let directive = directive.trim_start();
            if directive.starts_with("if") {
                branches.push(true);
            } else if directive.starts_with("el") {
                if let Some(b) = branches.last_mut() {
                    *b = false;
                }
            } else if directive.starts_with("endif") {
                branches.pop();
            }
            continue;
        }
        if branches.contains(&false) {
            continue;
        }
        for c in line.chars().chain(['\n']) {
            match c {
                '(' => parens += 1,
                ')' => parens = parens.saturating_sub(1),
                '{' if depth == 0 && parens == 0 => {
                    if let Some((name, false)) = header(&stmt).or(kr.take()) {
                        found.push(name);
                    }
                    stmt.clear();
                    kr = None;
                    depth = 1;
                    continue;
                }
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    stmt.clear();
                    continue;
                }
                ';' if depth == 0 && parens == 0 => {
                    // `int main(argc, argv) int argc;` opens a K&R header; a prototype
                    // (`int f(int);`) ends at its parenthesis and opens nothing.
                    if kr.is_none() && !stmt.trim_end().ends_with(')') {
                        kr = header(&stmt);
                    }
                    stmt.clear();
                    continue;
                }
                _ => {}
            }
            if depth == 0 {
                stmt.push(c);
            }
        }
    }
    found
}

/// The function a top-level statement heads, and whether it is `static`: the name right
/// before its first parenthesis, when nothing before that assigns.
fn header(stmt: &str) -> Option<(String, bool)> {
    let open = stmt.find('(')?;
    let before = &stmt[..open];
    if before.contains('=') {
        return None;
    }
    let name: String = before
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let keyword = matches!(
        name.as_str(),
        "" | "if" | "while" | "for" | "switch" | "return" | "sizeof"
    );
    if keyword || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let statik = before.split_whitespace().any(|w| w == "static");
    Some((name, statik))
}

/// Whether a C file defines `main`.
pub fn defines_main(text: &str) -> bool {
    defined_functions(text).iter().any(|f| f == "main")
}

/// Whether `text` calls `name` (a word followed by an opening parenthesis).
pub fn calls(text: &str, name: &str) -> bool {
    let text = strip_comments(text);
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].trim_start().starts_with('(');
        after && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Whether Rust text exports `name` with the C ABI under its own symbol.
pub fn exports(rust: &str, name: &str) -> bool {
    let compact: String = rust.split_whitespace().collect::<Vec<_>>().join(" ");
    compact.contains(&format!("extern \"C\" fn {name}("))
        && (compact.contains("#[no_mangle]") || compact.contains("#[unsafe(no_mangle)]"))
}

/// The text without comments, and with string and character literals emptied (their
/// braces and parentheses are no code).
fn strip_comments(text: &str) -> String {
    static NOISE: OnceLock<Regex> = OnceLock::new();
    let re = NOISE.get_or_init(|| {
        Regex::new(r#"(?s)/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'"#)
            .expect("valid pattern")
    });
    re.replace_all(text, |c: &regex::Captures<'_>| match c[0].chars().next() {
        Some('"') => "\"\"".to_owned(),
        Some('\'') => "' '".to_owned(),
        _ => " ".to_owned(),
    })
    .into_owned()
}

/// How the build script compiles one bridged file.
pub struct Compiled {
    pub source: String,
    pub includes: Vec<String>,
    pub defines: Vec<(String, Option<String>)>,
    /// Its `main` is renamed to [`C_MAIN`].
    pub main: bool,
}

/// How each bridged file is compiled: the project's own flags from a compilation database
/// among `inputs` when it has the file, else the task's `with.bridge`, plus the file's own
/// folder on the include path.
pub fn compiled(
    root: &Path,
    bridged: &BTreeSet<String>,
    inputs: &[String],
    with: &BridgeWith,
    main: Option<&str>,
) -> Vec<Compiled> {
    let db = inputs
        .iter()
        .find(|i| i.rsplit('/').next() == Some("compile_commands.json"));
    bridged
        .iter()
        .map(|source| {
            let folder = source.rsplit_once('/').map_or(".", |(d, _)| d).to_owned();
            let from_db: Option<CFlags> =
                db.and_then(|db| cflags::from_database(root, db, source).ok().flatten());
            let (mut includes, defines) = match from_db {
                Some(f) => (includes_of(&f, root), f.macros),
                None => (
                    with.include_dirs.clone(),
                    with.defines
                        .iter()
                        .map(|(k, v)| (k.clone(), Some(v.clone().unwrap_or_else(|| "1".into()))))
                        .collect(),
                ),
            };
            includes.insert(0, folder);
            Compiled {
                source: source.clone(),
                includes,
                defines,
                main: main == Some(source.as_str()),
            }
        })
        .collect()
}

/// The `-I` folders of a database entry, relative to the workspace where they are in it.
fn includes_of(f: &CFlags, root: &Path) -> Vec<String> {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut out = Vec::new();
    let mut args = f.args.iter();
    while let Some(a) = args.next() {
        let dir = match a.strip_prefix("-I") {
            Some("") => args.next().cloned(),
            Some(d) => Some(d.to_owned()),
            None => None,
        };
        if let Some(d) = dir {
            let abs = f.directory.join(d);
            let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
            if let Ok(rel) = abs.strip_prefix(&root) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// What Rust that calls C still in C is given: bindings bindgen generates from the
/// project's headers (`crate::c_bridge`), for the functions the bridged files define.
pub struct Bindings {
    /// Headers, relative to the workspace.
    pub headers: Vec<String>,
    pub functions: Vec<String>,
}

impl Bindings {
    /// The bindings for `bridged` files, when any C file is Rust (generated or by hand), so
    /// Rust may call what is still C; `headers` are the task's input headers.
    pub fn for_bridge(
        root: &Path,
        files: &[CFile],
        bridged: &BTreeSet<String>,
        headers: &[String],
    ) -> Option<Bindings> {
        let any_rust = files.iter().any(|f| !bridged.contains(&f.source));
        if bridged.is_empty() || !any_rust || headers.is_empty() {
            return None;
        }
        let mut functions: Vec<String> = bridged
            .iter()
            .filter_map(|s| std::fs::read_to_string(root.join(s)).ok())
            .flat_map(|t| defined_functions(&t))
            .filter(|f| f != "main")
            .collect();
        functions.sort();
        functions.dedup();
        Some(Bindings {
            headers: headers.to_vec(),
            functions,
        })
    }
}

/// The module the crate root declares for the bindings.
pub const C_BRIDGE_MOD: &str = "\n/// The C still in C, as bindgen read it from the project's headers (build.rs).\npub mod c_bridge {\n    #![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code)]\n    include!(concat!(env!(\"OUT_DIR\"), \"/c_bridge.rs\"));\n}\n";

/// The crate's `build.rs`: compile the bridged files into one static library and link the
/// libraries they need, and generate the bindings when Rust may call them. `up` leads from
/// the crate's folder to the workspace (`..`).
pub fn build_rs(
    files: &[Compiled],
    link: &[String],
    bindings: Option<&Bindings>,
    up: &str,
) -> String {
    let path = |rel: &str| format!("{up}/{rel}");
    let mut s = format!(
        "// {GENERATED}\n// Compiles the C files still in C (bridged) into the program; see `batuta status --files`.\n\nfn main() {{\n"
    );
    for (i, group) in [false, true].into_iter().enumerate() {
        let members: Vec<&Compiled> = files.iter().filter(|f| f.main == group).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(s, "    let mut b = cc::Build::new();");
        let _ = writeln!(s, "    b.warnings(false);");
        for f in &members {
            let _ = writeln!(s, "    b.file({:?});", path(&f.source));
            let _ = writeln!(
                s,
                "    println!(\"cargo:rerun-if-changed={}\");",
                path(&f.source)
            );
        }
        let mut includes: Vec<&String> = members.iter().flat_map(|f| &f.includes).collect();
        includes.sort();
        includes.dedup();
        for inc in includes {
            let _ = writeln!(s, "    b.include({:?});", path(inc));
        }
        let mut defines: Vec<&(String, Option<String>)> =
            members.iter().flat_map(|f| &f.defines).collect();
        defines.sort();
        defines.dedup();
        for (k, v) in defines {
            match v {
                Some(v) => {
                    let _ = writeln!(s, "    b.define({k:?}, Some({v:?}));");
                }
                None => {
                    let _ = writeln!(s, "    b.flag(\"-U{k}\");");
                }
            }
        }
        if group {
            let _ = writeln!(s, "    b.define(\"main\", Some({C_MAIN:?}));");
        }
        let _ = writeln!(s, "    b.compile(\"batuta_bridge_{i}\");");
    }
    for lib in link {
        let _ = writeln!(s, "    println!(\"cargo:rustc-link-lib={lib}\");");
    }
    if let Some(b) = bindings {
        s.push_str(
            "    // Rust that calls C still in C does it through these (crate::c_bridge).\n",
        );
        s.push_str("    let mut g = bindgen::Builder::default();\n");
        for h in &b.headers {
            let _ = writeln!(s, "    g = g.header({:?});", path(h));
            let _ = writeln!(s, "    println!(\"cargo:rerun-if-changed={}\");", path(h));
        }
        let mut dirs: Vec<&str> = b
            .headers
            .iter()
            .map(|h| h.rsplit_once('/').map_or(".", |(d, _)| d))
            .collect();
        dirs.sort_unstable();
        dirs.dedup();
        for d in dirs {
            let _ = writeln!(s, "    g = g.clang_arg({:?});", format!("-I{}", path(d)));
        }
        for f in &b.functions {
            let _ = writeln!(s, "    g = g.allowlist_function({f:?});");
        }
        s.push_str("    let out = std::path::PathBuf::from(std::env::var(\"OUT_DIR\").expect(\"cargo sets OUT_DIR\"));\n");
        s.push_str("    g.generate()\n        .expect(\"bindgen reads the project's headers (it needs libclang)\")\n        .write_to_file(out.join(\"c_bridge.rs\"))\n        .expect(\"OUT_DIR is writable\");\n");
    }
    s.push_str("}\n");
    s
}

/// `src/main.rs`'s `main` when the program's `main` is in bridged C: it hands the
/// arguments over as C strings and exits with what C's `main` returns.
pub const C_MAIN_CALL: &str = r#"
unsafe extern "C" {
    fn batuta_c_main(argc: std::ffi::c_int, argv: *const *const std::ffi::c_char) -> std::ffi::c_int;
}

fn main() {
    use std::os::unix::ffi::OsStrExt;
    let args: Vec<std::ffi::CString> = std::env::args_os()
        .map(|a| std::ffi::CString::new(a.as_bytes()).expect("an argument holds no NUL byte"))
        .collect();
    let mut argv: Vec<*const std::ffi::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: argv holds argc valid C strings and a terminating null, as C's main expects;
    // `args` outlives the call.
    let code = unsafe { batuta_c_main(args.len() as std::ffi::c_int, argv.as_ptr()) };
    std::process::exit(code);
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_others_may_call_are_found_static_ones_are_not() {
        let c = "#include \"crc.h\"\n/* int fake(void) { */\nstatic int helper(int x) { return x; }\nvoid show() {\n#ifdef A\n  if (x) {\n#else\n  if (y) {\n#endif\n    puts(\"}{\");\n  }\n}\nunsigned long\ncrc_update(unsigned long c,\n  int x)\n{\n  if (x) { return c; }\n  return helper(x);\n}\nint main(argc, argv)\nint argc;\nchar *argv[];\n{ return 0; }\nint decl(int);\n";
        assert_eq!(defined_functions(c), ["show", "crc_update", "main"]);
        assert!(defines_main(c));
        assert!(calls("x = crc_update(a, b);", "crc_update"));
        assert!(!calls("x = my_crc_update(a);", "crc_update"));
        assert!(!calls("/* crc_update(a) */", "crc_update"));
        assert!(exports(
            "#[no_mangle]\npub extern \"C\" fn crc_update(c: u64) -> u64 { c }",
            "crc_update"
        ));
        assert!(!exports(
            "pub fn crc_update(c: u64) -> u64 { c }",
            "crc_update"
        ));
    }

    #[test]
    fn the_build_script_compiles_each_file_and_renames_a_c_main() {
        let files = vec![
            Compiled {
                source: "legacy/figlet.c".into(),
                includes: vec!["legacy".into()],
                defines: vec![("TLF_FONTS".into(), Some("1".into()))],
                main: true,
            },
            Compiled {
                source: "legacy/crc.c".into(),
                includes: vec!["legacy".into()],
                defines: vec![],
                main: false,
            },
        ];
        let s = build_rs(&files, &["ncurses".into()], None, "..");
        assert!(!s.contains("bindgen"), "{s}");
        let b = Bindings {
            headers: vec!["legacy/zipio.h".into()],
            functions: vec!["Zopen".into()],
        };
        let with = build_rs(&files, &[], Some(&b), "..");
        assert!(
            with.contains("g = g.header(\"../legacy/zipio.h\");"),
            "{with}"
        );
        assert!(
            with.contains("g = g.allowlist_function(\"Zopen\");"),
            "{with}"
        );
        assert!(with.contains("g = g.clang_arg(\"-I../legacy\");"), "{with}");
        assert!(s.contains("b.file(\"../legacy/crc.c\");"), "{s}");
        assert!(
            s.contains("b.define(\"main\", Some(\"batuta_c_main\"));"),
            "{s}"
        );
        assert!(s.contains("b.define(\"TLF_FONTS\", Some(\"1\"));"), "{s}");
        assert!(s.contains("cargo:rustc-link-lib=ncurses"), "{s}");
        assert_eq!(s.matches("b.compile(").count(), 2);
    }
}
