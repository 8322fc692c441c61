//! `builtin: python-extension`: the mixed Python program. The Python files the migration
//! plan ports (generated or by hand) whose Rust modules compile become one CPython
//! extension module (PyO3, stable ABI, a cdylib), built as a crate of its own that batuta
//! writes beside the migrated one (`<output>/python/`); the original program then runs with
//! each ported function replaced by its native counterpart, through the launcher it writes
//! there (`batuta_mixed.py`, an import hook; see that file), and every other module stays
//! Python.
//!
//! For each top-level function of a ported Python file, the module's Rust function of the
//! same name is wrapped (a generated `#[pyfunction]`) when its signature converts
//! ([`signature`]) and it can be called as Python calls it ([`python`]); any other stays
//! Python, and the record ([`record`], `.batuta/transpile/<output>/python.json`) says why.
//! The crate is built round after round until it compiles ([`compile`]): a wrapper or
//! module with errors leaves, so one bad function never costs the rest.
//!
//! The action reads assemble's record (which modules compile), the migrated crate's
//! Cargo.toml and modules, and the sources of the ported files (the engine adds those:
//! `Catalog::migration_sources`); it is cached and rebuilt like any other.

pub mod compile;
pub mod crate_text;
pub mod python;
pub mod record;
pub mod signature;

use std::collections::BTreeMap;
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::fsutil;
use batuta_engine::graph::{FilePlan, How};
use batuta_engine::manifest::BuiltinFiles;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde::Deserialize;

use crate::build::Crate;
use crate::transpile::assemble::record::{self as assembly, Assembly};
use crate::validate::{run, with};
use crate_text::Wrapper;
use record::{Extension, PythonFile};

pub const NAME: &str = "python-extension";

/// The launcher template: the import hook and the command line that runs the mixed
/// program.
const LAUNCHER: &str = include_str!("mixed.py");
/// The extension module's file: CPython on Linux and macOS loads `.abi3.so` for the
/// stable ABI from any 3.x it was built for.
pub const EXTENSION_FILE: &str = "batuta_native.abi3.so";
pub const LAUNCHER_FILE: &str = "batuta_mixed.py";

/// With no `inputs`/`outputs`: the migrated crate's Cargo.toml, modules, assembly record
/// and cargo configuration; the extension's crate, module and launcher in
/// `<output>/python/`, and the record.
pub const FILES: BuiltinFiles = BuiltinFiles {
    builtin: NAME,
    inputs: &[
        "{output}/Cargo.toml",
        "{output}/src/**/*.rs",
        ".batuta/transpile/{output}/assembly.json",
        "{output}/.cargo/config.tom[l]",
    ],
    outputs: &[
        "{output}/python/Cargo.toml",
        "{output}/python/src/lib.rs",
        "{output}/python/batuta_native.abi3.so",
        "{output}/python/batuta_mixed.py",
    ],
    records: &[record::RECORD],
};

const KEYS: &str = "profile (release, the default, or dev), python (the interpreter, default python3), timeout (seconds)";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

fn fail(message: impl Into<String>) -> Failure {
    Failure::new(codes::B001, message.into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct With {
    #[serde(default = "release")]
    profile: String,
    #[serde(default = "python3")]
    python: String,
    timeout: Option<f64>,
    #[serde(rename = "@migration", default)]
    migration: Vec<FilePlan>,
}

fn release() -> String {
    "release".to_owned()
}

fn python3() -> String {
    "python3".to_owned()
}

/// Where the extension's files are, from the task's outputs.
struct Layout {
    /// The crate's folder, relative to the workspace.
    dir: String,
    cargo: String,
    lib: String,
    module: String,
    launcher: String,
    record: Option<String>,
}

impl Layout {
    fn of(outputs: &[String]) -> Result<Layout, Failure> {
        let dir = outputs
            .iter()
            .find_map(|o| o.strip_suffix("/Cargo.toml"))
            .ok_or_else(|| {
                fail("python-extension writes its crate's Cargo.toml, and its outputs name none")
                    .hint(format!(
                        "outputs: the defaults are {}",
                        FILES.outputs.join(", ")
                    ))
            })?
            .to_owned();
        let l = Layout {
            cargo: format!("{dir}/Cargo.toml"),
            lib: format!("{dir}/src/lib.rs"),
            module: format!("{dir}/{EXTENSION_FILE}"),
            launcher: format!("{dir}/{LAUNCHER_FILE}"),
            record: outputs.iter().find(|o| record::is_record(o)).cloned(),
            dir,
        };
        let expected = [&l.cargo, &l.lib, &l.module, &l.launcher];
        for o in outputs {
            if !expected.contains(&o) && l.record.as_ref() != Some(o) {
                return Err(fail(format!(
                    "python-extension writes {}, {}, {} and {}, not '{o}'",
                    l.cargo, l.lib, l.module, l.launcher
                )));
            }
        }
        if let Some(missing) = expected.iter().find(|e| !outputs.contains(e)) {
            return Err(fail(format!(
                "python-extension writes {missing} too: list it in the task's outputs"
            )));
        }
        Ok(l)
    }
}

pub struct PythonExtension;

impl Rule for PythonExtension {
    fn version(&self) -> &str {
        concat!("python-extension/", env!("CARGO_PKG_VERSION"))
    }

    /// What compiles depends on the toolchain: a new rustc builds again (the engine asks it
    /// once per identity of what runs).
    fn tools(&self) -> &[batuta_engine::rule::ToolProbe] {
        crate::build::TOOLCHAIN_PROBES
    }

    fn check(&self, v: &serde_json::Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        with::check::<With>(NAME, v)
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let w: With = with::parse(NAME, call.with).map_err(|e| e.failure(codes::B001, KEYS))?;
        if !matches!(w.profile.as_str(), "release" | "dev") {
            return Err(fail(format!(
                "{NAME}: profile '{}' is neither release nor dev",
                w.profile
            )));
        }
        let timeout = with::timeout(NAME, w.timeout, DEFAULT_TIMEOUT)
            .map_err(|e| e.failure(codes::B001, KEYS))?;
        let layout = Layout::of(call.outputs)?;
        let assembly = read_assembly(call)?;
        let main_cargo = crate_text_rel(&assembly.crate_dir, "Cargo.toml");
        let (edition, deps) = main_crate(call, &main_cargo)?;
        let python = run::resolve("build", &w.python, call.root, &call.env).map_err(|e| {
            e.failure(codes::T001)
                .hint("install Python 3.9 or later, or name the interpreter in with.python")
        })?;

        // The Python files the plan ports, each with its module's state.
        let ported: Vec<&FilePlan> = w
            .migration
            .iter()
            .filter(|p| is_python(&p.source) && matches!(p.how, How::Generated | How::HandPorted))
            .collect();
        for p in &ported {
            if !call.inputs.contains(&p.source) {
                return Err(fail(format!(
                    "{NAME} reads {}, which is not among its inputs",
                    p.source
                ))
                .hint("list the ported Python files in the task's inputs, or leave inputs to the defaults"));
            }
        }
        let sources: Vec<String> = ported.iter().map(|p| p.source.clone()).collect();
        let facts = python::read(call, &python, &sources, timeout)?;
        let src_dir = crate_text_rel(&assembly.crate_dir, "src");
        let in_crate: Vec<String> = assembly
            .modules
            .iter()
            .filter(|m| !m.quarantined && m.bridged.is_none())
            .map(|m| m.file.clone())
            .collect();
        let rel_files: Vec<String> = in_crate
            .iter()
            .filter_map(|m| m.strip_prefix(&format!("{src_dir}/")).map(str::to_owned))
            .collect();

        let mut files: Vec<PythonFile> = Vec::new();
        let mut wrappers: Vec<(usize, Wrapper)> = Vec::new();
        for p in &ported {
            let py = facts.get(&p.source).cloned().unwrap_or_default();
            let mut f = PythonFile {
                source: p.source.clone(),
                module: p.module.clone(),
                code_lines: py.code_lines,
                native_lines: 0,
                python: None,
                functions: Vec::new(),
            };
            f.python = if let Some(e) = &py.error {
                Some(format!("Python cannot read it: {e}"))
            } else {
                stays_python(&assembly, &p.module)
            };
            if f.python.is_none() {
                let text = std::fs::read_to_string(call.path(&p.module))
                    .map_err(|e| fail(format!("{NAME}: cannot read {}: {e}", p.module)))?;
                match signature::functions(&text) {
                    Err(e) => f.python = Some(format!("syn cannot read {}: {e}", p.module)),
                    Ok(rust) => {
                        let (functions, wrapped) = python::match_functions(&py, &rust, &p.module);
                        f.functions = functions;
                        let rel = p.module.strip_prefix(&format!("{src_dir}/")).unwrap_or("");
                        let path = crate_text::module_path(rel, &rel_files).join("::");
                        for (name, ident, sig) in wrapped {
                            wrappers.push((
                                files.len(),
                                Wrapper {
                                    file: source_key(call.source, &p.source),
                                    name,
                                    path: format!("crate::{path}::{ident}"),
                                    sig,
                                },
                            ));
                        }
                    }
                }
            } else {
                f.functions = py
                    .functions
                    .iter()
                    .map(|d| record::Function {
                        name: d.name.clone(),
                        line: d.line,
                        code_lines: d.code_lines,
                        native: false,
                        why: None,
                    })
                    .collect();
            }
            files.push(f);
        }

        // The crate, built until it compiles.
        let here = format!("{}/src", layout.dir);
        let src_from_here = crate_text::relative(&here, &src_dir);
        write(
            call,
            &layout.cargo,
            &crate_text::cargo_toml(&edition, &deps),
        )?;
        let krate = Crate::at(call, &layout.dir, "python-extension writes it")?;
        let krate = with_pyo3_env(krate, &python);
        let all_wrappers: Vec<Wrapper> = wrappers.iter().map(|(_, w)| w.clone()).collect();
        let (built, left) = compile::build(
            call,
            &krate,
            &layout.lib,
            &in_crate,
            &w.profile,
            timeout,
            |left| {
                let modules: Vec<String> = in_crate
                    .iter()
                    .filter(|m| !left.modules.contains_key(*m))
                    .filter_map(|m| m.strip_prefix(&format!("{src_dir}/")).map(str::to_owned))
                    .collect();
                let keep: Vec<usize> = (0..all_wrappers.len())
                    .filter(|i| !left.wrappers.contains_key(i))
                    .filter(|i| {
                        let file = &files[wrappers[*i].0];
                        !left.modules.contains_key(&file.module)
                    })
                    .collect();
                let these: Vec<Wrapper> = keep.iter().map(|i| all_wrappers[*i].clone()).collect();
                let (text, spans) = crate_text::lib_rs(&modules, &src_from_here, &these);
                write(call, &layout.lib, &text)?;
                Ok(compile::Written {
                    spans: keep.into_iter().zip(spans).collect(),
                })
            },
        )?;
        fsutil::copy_replace(
            &built.artifact,
            &call.path(&layout.module),
            fsutil::Durability::Now,
        )
        .map_err(|e| fail(format!("{NAME}: cannot write {}: {e}", layout.module)))?;

        // What runs native after all.
        for (i, (file, wr)) in wrappers.iter().enumerate() {
            let why = left
                .wrappers
                .get(&i)
                .map(|e| format!("its wrapper does not compile: {e}"));
            if let Some(why) = why {
                let f = &mut files[*file];
                if let Some(func) = f.functions.iter_mut().find(|x| x.name == wr.name) {
                    func.native = false;
                    func.why = Some(why);
                }
            }
        }
        for f in &mut files {
            if let Some(e) = left.modules.get(&f.module) {
                f.python = Some(format!("its module does not compile in the extension: {e}"));
                for func in &mut f.functions {
                    func.native = false;
                    func.why = None;
                }
            }
            f.native_lines = f
                .functions
                .iter()
                .filter(|x| x.native)
                .map(|x| x.code_lines)
                .sum();
        }

        let table: BTreeMap<String, Vec<String>> = files
            .iter()
            .filter(|f| f.native_lines > 0 || f.functions.iter().any(|x| x.native))
            .map(|f| {
                (
                    source_key(call.source, &f.source),
                    f.functions
                        .iter()
                        .filter(|x| x.native)
                        .map(|x| x.name.clone())
                        .collect(),
                )
            })
            .collect();
        let launcher = launcher_text(&layout.dir, call.source, &table);
        write(call, &layout.launcher, &launcher)?;
        let ext = Extension {
            crate_dir: layout.dir.clone(),
            module: layout.module.clone(),
            launcher: layout.launcher.clone(),
            files,
        };
        if let Some(rec) = &layout.record {
            let mut json = serde_json::to_vec_pretty(&ext)
                .map_err(|e| fail(format!("{NAME}: cannot write its record: {e}")))?;
            json.push(b'\n');
            fsutil::write_atomic(&call.path(rec), &json)
                .map_err(|e| fail(format!("{NAME}: cannot write {rec}: {e}")))?;
        }
        Ok(Note::new(summary(&ext, built.rounds)))
    }
}

fn is_python(path: &str) -> bool {
    path.ends_with(".py") || path.ends_with(".pyw")
}

/// `dir/file`, or `file` for the workspace itself.
fn crate_text_rel(dir: &str, file: &str) -> String {
    crate::build::rel(dir, file)
}

/// A Python file's key in the extension: its path relative to `project.source`.
fn source_key(source: &str, path: &str) -> String {
    if source.is_empty() || source == "." {
        return path.to_owned();
    }
    path.strip_prefix(source)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(path)
        .to_owned()
}

/// Why a ported file's module does not reach the extension, if it does not.
fn stays_python(a: &Assembly, module: &str) -> Option<String> {
    match a.module(module) {
        None => Some(format!(
            "no module {module} in the crate (its transpile failed or has not run)"
        )),
        Some(m) if m.quarantined => Some(format!(
            "its module does not compile (quarantined, {} error{})",
            m.errors.len(),
            if m.errors.len() == 1 { "" } else { "s" }
        )),
        Some(m) if m.bridged.is_some() => Some("bridged".to_owned()),
        Some(_) => None,
    }
}

/// assemble's record among the inputs.
fn read_assembly(call: &Call<'_>) -> Result<Assembly, Failure> {
    let rel = call
        .inputs
        .iter()
        .find(|i| assembly::is_record(i))
        .ok_or_else(|| {
            fail(format!("{NAME} reads assemble's record, which is not among its inputs"))
                .hint("add .batuta/transpile/<output>/assembly.json to inputs (assemble writes it), or leave inputs to the defaults")
        })?;
    assembly::read(call.root, rel).ok_or_else(|| {
        fail(format!("{NAME}: {rel} is missing or unreadable"))
            .hint("build the transpile stage's assemble task first")
    })
}

/// The migrated crate's edition and `[dependencies]` lines (paths made relative to the
/// extension's crate, one folder further down). PyO3 comes from the extension itself.
fn main_crate(call: &Call<'_>, cargo: &str) -> Result<(String, Vec<String>), Failure> {
    if !call.inputs.iter().any(|i| i == cargo) {
        return Err(fail(format!(
            "{NAME} reads {cargo}, which is not among its inputs"
        )));
    }
    let text = std::fs::read_to_string(call.path(cargo))
        .map_err(|e| fail(format!("{NAME}: cannot read {cargo}: {e}")))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| fail(format!("{NAME}: {cargo} is not valid TOML: {e}")))?;
    let edition = doc
        .get("package")
        .and_then(|p| p.get("edition"))
        .and_then(|e| e.as_str())
        .unwrap_or("2021")
        .to_owned();
    let mut deps = Vec::new();
    if let Some(table) = doc.get("dependencies").and_then(|d| d.as_table_like()) {
        for (name, item) in table.iter() {
            if name == "pyo3" {
                continue;
            }
            let mut item = item.clone();
            if let Some(t) = item.as_table_like_mut()
                && let Some(p) = t.get_mut("path")
                && let Some(s) = p.as_str()
                && !std::path::Path::new(s).is_absolute()
            {
                *p = toml_edit::value(format!("../{s}"));
            }
            deps.push(format!("{name} = {}", item.to_string().trim()));
        }
    }
    Ok((edition, deps))
}

/// PyO3 builds an extension module (no libpython to link) for this interpreter.
fn with_pyo3_env(mut krate: Crate, python: &std::path::Path) -> Crate {
    krate
        .env
        .push(("PYO3_BUILD_EXTENSION_MODULE".into(), "1".into()));
    krate
        .env
        .push(("PYO3_PYTHON".into(), python.as_os_str().to_owned()));
    krate
}

/// The launcher for the crate in `dir`: the source root and the ported functions filled in.
fn launcher_text(dir: &str, source: &str, table: &BTreeMap<String, Vec<String>>) -> String {
    let source_root = crate_text::relative(dir, if source.is_empty() { "." } else { source });
    let ported = serde_json::to_string_pretty(table).unwrap_or_else(|_| "{}".to_owned());
    LAUNCHER
        .replace(
            "@SOURCE@",
            &serde_json::Value::String(source_root).to_string(),
        )
        .replace(
            "@EXTENSION@",
            &serde_json::Value::String(EXTENSION_FILE.to_owned()).to_string(),
        )
        .replace("@PORTED@", &ported)
}

fn write(call: &Call<'_>, rel: &str, text: &str) -> Result<(), Failure> {
    fsutil::write_atomic(&call.path(rel), text.as_bytes())
        .map_err(|e| fail(format!("{NAME}: cannot write {rel}: {e}")))
}

/// `2 of 5 Python files run native code (3 functions, 40 of 360 code lines); …`
fn summary(ext: &Extension, rounds: usize) -> String {
    let native_files = ext.files.iter().filter(|f| f.native_lines > 0).count();
    let functions = ext
        .files
        .iter()
        .flat_map(|f| &f.functions)
        .filter(|x| x.native)
        .count();
    let native: usize = ext.files.iter().map(|f| f.native_lines).sum();
    let total: usize = ext.files.iter().map(|f| f.code_lines).sum();
    let mut s = format!(
        "{native_files} of {} ported Python file{} run native code ({functions} function{}, {native} of {total} code lines); built in {rounds} round{}; run it: python3 {}",
        ext.files.len(),
        if ext.files.len() == 1 { "" } else { "s" },
        if functions == 1 { "" } else { "s" },
        if rounds == 1 { "" } else { "s" },
        ext.launcher
    );
    for f in &ext.files {
        s.push_str(&format!("\n{}: {}", f.source, f.summary()));
        for x in f.functions.iter().filter(|x| !x.native) {
            if let Some(why) = &x.why {
                s.push_str(&format!("\n  {} stays Python: {why}", x.name));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_comes_from_the_outputs() {
        let outs: Vec<String> = [
            "rust/python/Cargo.toml",
            "rust/python/src/lib.rs",
            "rust/python/batuta_native.abi3.so",
            "rust/python/batuta_mixed.py",
            ".batuta/transpile/rust/python.json",
        ]
        .map(String::from)
        .to_vec();
        let l = Layout::of(&outs).unwrap();
        assert_eq!(l.dir, "rust/python");
        assert_eq!(
            l.record.as_deref(),
            Some(".batuta/transpile/rust/python.json")
        );
        let e = Layout::of(&outs[..3]).err().unwrap();
        assert!(
            e.message.contains("rust/python/batuta_mixed.py too"),
            "{}",
            e.message
        );
        let mut other = outs.clone();
        other.push("rust/python/x.txt".into());
        assert!(
            Layout::of(&other)
                .err()
                .unwrap()
                .message
                .contains("not 'rust/python/x.txt'")
        );
        assert!(Layout::of(&[]).is_err());
    }

    #[test]
    fn the_launcher_knows_the_source_and_the_ported_functions() {
        let table = BTreeMap::from([("pkg/a.py".to_owned(), vec!["f".to_owned()])]);
        let text = launcher_text("rust/python", "legacy", &table);
        assert!(text.contains("_SOURCE = os.path.normpath(os.path.join(_HERE, \"../../legacy\"))"));
        assert!(text.contains("_EXTENSION = os.path.join(_HERE, \"batuta_native.abi3.so\")"));
        assert!(text.contains("\"pkg/a.py\": [\n    \"f\"\n  ]"), "{text}");
        assert!(!text.contains("@PORTED@") && !text.contains("@SOURCE@"));
        assert_eq!(source_key("legacy", "legacy/pkg/a.py"), "pkg/a.py");
        assert_eq!(source_key("", "pkg/a.py"), "pkg/a.py");
    }
}
