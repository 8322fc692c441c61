//! `batuta init`: analyse the code here and write a commented `batuta.yaml` for it: the
//! languages found, their transpilers (and whether they are on PATH), and stages for all
//! five phases. Never overwrites a manifest without `--force`.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use batuta_rules::analyze::report::{self, Analysis};
use batuta_rules::analyze::{FileReport, recommend, scan_tree};
use clap::Args;

use crate::Exit;
use crate::output::Ui;

mod workspace;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The legacy code, relative to this folder [default: this folder]
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,
    /// Replace an existing batuta.yaml
    #[arg(long)]
    pub force: bool,
}

pub(super) const EXCLUDE: &[&str] = &[
    "**/__pycache__/**",
    "**/node_modules/**",
    "venv/**",
    ".venv/**",
];

pub fn run(_ui: &Ui, args: &InitArgs) -> Exit {
    let target = PathBuf::from(super::MANIFEST_NAME);
    if target.exists() && !args.force {
        eprintln!(
            "error: {} already exists; batuta init leaves it as it is\n  help: pass --force to replace it, or edit it by hand",
            super::MANIFEST_NAME
        );
        return Exit::Usage;
    }
    let inside = args.source.is_relative()
        && args
            .source
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside || !args.source.is_dir() {
        eprintln!(
            "error: --source {} is not a folder below this one\n  help: name the folder that holds the legacy code, relative to where batuta.yaml goes",
            args.source.display()
        );
        return Exit::Usage;
    }
    let source = slash(&args.source);
    let files = scan_tree(&args.source, EXCLUDE);
    let name = std::env::current_dir()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "migration".to_owned());
    let proposals = workspace::propose(&files, &name);
    let text = if proposals.len() > 1 {
        workspace::manifest_text(&args.source, &source, &files, &proposals)
    } else {
        one_project(&args.source, &source, &name, &files)
    };
    let a = report::aggregate(files, &[]);
    if let Err(e) = std::fs::write(&target, text) {
        eprintln!("error: cannot write {}: {e}", target.display());
        return Exit::Failed;
    }
    println!(
        "ok: wrote {} for {} files ({}); check it with `batuta check`",
        super::MANIFEST_NAME,
        a.files,
        if a.languages.is_empty() {
            "no language recognised".to_owned()
        } else {
            a.languages
                .iter()
                .take(4)
                .map(|l| format!("{} {:.0}%", l.name, l.percent))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Exit::Success
}

/// The manifest of one migration of the files under `dir` (`source` as the manifest names it).
fn one_project(dir: &Path, source: &str, name: &str, files: &[FileReport]) -> String {
    let scripts = scripts(files);
    let c = c_program(dir, files);
    let a = report::aggregate(files.to_vec(), &[]);
    manifest_text(name, source, &a, &scripts, c.as_ref())
}

fn slash(p: &Path) -> String {
    let parts: Vec<String> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// The shell scripts the analysis found (by extension or by shebang), as `each` globs:
/// `**/*.sh` for those it matches, and each script it does not match by its path.
pub(super) fn scripts(files: &[FileReport]) -> Vec<String> {
    let mut globs = Vec::new();
    let mut by_path = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.language.as_deref() == Some("Shell"))
    {
        if f.path.ends_with(".sh") {
            if globs.is_empty() {
                globs.push("**/*.sh".to_owned());
            }
        } else {
            by_path.push(glob_escape(&f.path));
        }
    }
    globs.extend(by_path);
    globs
}

/// What init learns of a C program from its files: whether one defines `main` (the crate is
/// then a program), and the libraries and macros its Makefile passes (`-lncurses`,
/// `-DTLF_FONTS`; values that name make variables are left out).
#[derive(Debug, Default)]
pub(super) struct CProgram {
    main: bool,
    link: Vec<String>,
    defines: Vec<(String, Option<String>)>,
}

pub(super) fn c_program(dir: &Path, files: &[FileReport]) -> Option<CProgram> {
    use batuta_rules::transpile::assemble::bridge;
    let c: Vec<&FileReport> = files
        .iter()
        .filter(|f| f.language.as_deref() == Some("C") && f.path.ends_with(".c"))
        .collect();
    if c.is_empty() {
        return None;
    }
    let mut p = CProgram {
        main: c.iter().any(|f| {
            std::fs::read_to_string(dir.join(&f.path)).is_ok_and(|t| bridge::defines_main(&t))
        }),
        ..CProgram::default()
    };
    for f in files.iter().filter(|f| {
        matches!(
            f.path.rsplit('/').next(),
            Some("Makefile" | "makefile" | "GNUmakefile")
        )
    }) {
        let Ok(text) = std::fs::read_to_string(dir.join(&f.path)) else {
            continue;
        };
        for word in text.split_whitespace() {
            if let Some(lib) = word.strip_prefix("-l").filter(|l| is_name(l)) {
                if !p.link.iter().any(|x| x == lib) {
                    p.link.push(lib.to_owned());
                }
            } else if let Some(def) = word.strip_prefix("-D").filter(|d| !d.contains('$')) {
                let (name, value) = match def.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (def, None),
                };
                if is_name(name) && !p.defines.iter().any(|(n, _)| n == name) {
                    p.defines.push((name.to_owned(), value));
                }
            }
        }
    }
    Some(p)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// A path as a glob that matches only it.
fn glob_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | ',' | '\\') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

/// One `each` glob for several: `{a,b}` when there are more than one.
fn one_glob(globs: &[String]) -> String {
    match globs {
        [one] => one.clone(),
        many => format!("{{{}}}", many.join(",")),
    }
}

/// For a language family found: the built-in transpiler rule (named after the tool it
/// runs) and its tasks as (name, `each` glob).
type Transpile = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const TRANSPILE: &[Transpile] = &[
    ("Python", "depyler", &[("python", "**/*.py")]),
    ("C", "decy", &[("c", "**/*.c")]),
];

pub(super) fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The manifest, every choice commented. `scripts` are the `each` globs of the shell
/// scripts found (see [`scripts`]); `c` what the C files say of the program.
fn manifest_text(
    name: &str,
    source: &str,
    a: &Analysis,
    scripts: &[String],
    c: Option<&CProgram>,
) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# batuta.yaml: the migration of this code to Rust, written by `batuta init`."
    );
    let _ = writeln!(
        o,
        "# Every key is explained in batuta.yaml.example; check this file with `batuta check`."
    );
    let _ = writeln!(
        o,
        "#\n# Found in {source}: {} files, {} lines of code.",
        a.files, a.code
    );
    for l in a.languages.iter().take(8) {
        let files = format!("{} file{}", l.files, if l.files == 1 { "" } else { "s" });
        let _ = writeln!(
            o,
            "#   {:<12} {:>11} {:>8} lines  {:>5.1} %",
            l.name, files, l.code, l.percent
        );
    }
    let _ = writeln!(
        o,
        "# TDG {:.1}/100, grade {}: `batuta analyze` shows why.\n",
        a.tdg.score, a.tdg.grade
    );
    let _ = writeln!(o, "version: 1\n");
    let _ = writeln!(o, "project:");
    let _ = writeln!(o, "  name: {}", yaml_str(name));
    let _ = writeln!(
        o,
        "  source: {:<16} # the legacy code; `each` globs match under it",
        yaml_str(source)
    );
    let _ = writeln!(
        o,
        "  output: rust             # where the generated Rust goes (project.output)"
    );
    let _ = writeln!(
        o,
        "  # Out of the migration entirely (not analysed, transpiled or reported). To leave a\n\
         \x20 # file to a hand port instead, name it in its task's `hand_ported: [...]`.\n\
         \x20 exclude: [{}]\n",
        EXCLUDE
            .iter()
            .map(|e| yaml_str(e))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let targets = stages_text(&mut o, name, source, "rust", a, scripts, c, true);
    let _ = writeln!(o, "\n# What `batuta build TARGET` runs.");
    let _ = writeln!(
        o,
        "targets:\n  default: [{}]\n  analysis: [analyze]",
        targets.last().expect("analyze at least")
    );
    o
}

/// The tools comment and `stages:` of one migration whose crate is at `output`, for the
/// languages `a` found; with `analyze` false, no analyze stage (a workspace shares one).
/// Returns the stages worth a target, in phase order.
#[allow(clippy::too_many_arguments)]
pub(super) fn stages_text(
    o: &mut String,
    name: &str,
    source: &str,
    output: &str,
    a: &Analysis,
    scripts: &[String],
    c: Option<&CProgram>,
    analyze: bool,
) -> Vec<&'static str> {
    let found: Vec<&str> = a.languages.iter().map(|l| l.name.as_str()).collect();
    let used: Vec<&Transpile> = TRANSPILE
        .iter()
        .filter(|(fam, ..)| found.contains(fam))
        .collect();
    let mut tools: Vec<&str> = used.iter().map(|(_, rule, _)| *rule).collect();
    if !scripts.is_empty() {
        tools.push("bashrs");
    }
    tools.dedup();
    if !tools.is_empty() {
        let _ = writeln!(
            o,
            "# The transpilers for the languages found, used through batuta's built-in rules\n\
             # (`rule: depyler`, ...): each brings its tool, whose version joins every cache key."
        );
        for t in &tools {
            let state = match recommend::find_on_path(t, None) {
                Some(p) => format!(
                    "found: {}{}",
                    p.display(),
                    recommend::version_of(&p)
                        .map(|v| format!(" ({v})"))
                        .unwrap_or_default()
                ),
                None => format!("not on PATH: cargo install --locked {t}"),
            };
            let _ = writeln!(o, "#   {t}: {state}");
        }
        o.push('\n');
    }

    if found.contains(&"C++") {
        let _ = writeln!(
            o,
            "# C++ was found, and no transpiler of batuta's reads C++ (decy reads C only): its\n\
             # files stay as they are. `batuta analyze` lists them.\n"
        );
    }
    // A crate comes from the languages transpiled to Rust modules; scripts stay scripts.
    let crate_ = !used.is_empty();
    let _ = writeln!(o, "# The phases, each after the one before.");
    let _ = writeln!(o, "stages:");
    if analyze {
        analyze_stage(o);
    }
    if crate_ || !scripts.is_empty() {
        let _ = writeln!(o, "  transpile:\n    needs: [analyze]\n    tasks:");
        for (_, rule, tasks) in &used {
            for (task, each) in tasks.iter() {
                let out = if *task == "python" {
                    "src/{dir}/{stem}.rs".to_owned()
                } else {
                    format!("src/{{dir}}/{{stem}}_{task}.rs")
                };
                // C stays C where its Rust fails: the program builds from the first build.
                // C stays C where its Rust fails, and decy is given the Makefile's macros.
                let fallback = match (*rule, c) {
                    ("decy", Some(c)) if !c.defines.is_empty() => {
                        format!(
                            ", fallback: bridge, with: {{ defines: {} }}",
                            defines_yaml(c)
                        )
                    }
                    ("decy", _) => ", fallback: bridge".to_owned(),
                    _ => String::new(),
                };
                let _ = writeln!(
                    o,
                    "      {task}: {{ rule: {rule}, each: {}, out: {}{fallback} }}",
                    yaml_str(each),
                    yaml_str(&out)
                );
            }
        }
        if !scripts.is_empty() {
            let _ = writeln!(
                o,
                "      # The shell scripts, by extension and by shebang: each purified into a POSIX\n\
                 \x20     # script of the same name under {output}/scripts, which must lint clean.\n\
                 \x20     shell: {{ rule: bashrs, each: {}, out: \"scripts/{{path}}\" }}",
                yaml_str(&one_glob(scripts))
            );
        }
        if crate_ {
            let _ = writeln!(
                o,
                "      # The Rust files as one Cargo package: Cargo.toml (with the crates the tools\n\
                 \x20     # asked for) and src/lib.rs declaring the modules that compile. A module that\n\
                 \x20     # does not is quarantined: left out of the crate and listed, with its errors, by\n\
                 \x20     # `batuta status --files`. To port a file by hand, write its .rs under {output}/src\n\
                 \x20     # and name the source in its task's `hand_ported: [...]`."
            );
            let root = if c.is_some_and(|c| c.main) {
                "main"
            } else {
                "lib"
            };
            let mut inputs = vec![
                format!("\"{output}/src/**/*.rs\""),
                // depyler's Cargo.toml sidecars, of this crate's modules only.
                if output == "rust" {
                    "\".batuta/transpile/**/*.toml\"".to_owned()
                } else {
                    format!("\".batuta/transpile/{output}/**/*.toml\"")
                },
            ];
            let mut outputs = vec![
                format!("{output}/Cargo.toml"),
                format!("{output}/src/{root}.rs"),
            ];
            if let Some(c) = c {
                let headers = match source {
                    "." => "**/*.h".to_owned(),
                    s => format!("{s}/**/*.h"),
                };
                inputs.push(yaml_str(&headers));
                outputs.push(format!("{output}/build.rs"));
                let _ = writeln!(
                    o,
                    "      # C that stays C (bridged) is compiled by {output}/build.rs, with these macros and\n\
                     \x20     # libraries from the Makefile (a compile_commands.json among the inputs, as\n\
                     \x20     # `bear -- make` writes it, gives each file its exact flags instead).{}",
                    if c.main {
                        "\n      # main() is in C, and stays there: src/main.rs calls it."
                    } else {
                        ""
                    }
                );
            }
            let _ = writeln!(
                o,
                "      crate:\n\
                 \x20       builtin: assemble\n\
                 \x20       inputs: [{}]\n\
                 \x20       outputs: [{}]",
                inputs.join(", "),
                outputs.join(", ")
            );
            match c {
                Some(c) => {
                    let defines = defines_yaml(c);
                    let _ = writeln!(
                        o,
                        "        with:\n          name: {}\n          bridge: {{ defines: {defines}, link: [{}] }}",
                        yaml_str(name),
                        c.link.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(o, "        with: {{ name: {} }}", yaml_str(name));
                }
            }
        }
    }
    let mut targets = vec!["analyze"];
    if crate_ {
        let bin = batuta_rules::transpile::assemble::package_name(name);
        let dist = if output == "rust" {
            "dist".to_owned()
        } else {
            // A workspace's projects each ship into a folder of their own.
            format!("dist/{}", output.rsplit('/').next().unwrap_or(output))
        };
        optimize_stage(o, output, used.iter().any(|(fam, ..)| *fam == "Python"));
        let _ = writeln!(
            o,
            "  validate:\n    needs: [optimize]\n    builtin: cargo-test      # the migrated tests must pass\n    inputs: [{output}/Cargo.toml, \"{output}/src/**/*.rs\"]"
        );
        let outputs = if c.is_some_and(|c| c.main) {
            format!(
                "    # The program, and the manifest of what was built.\n    outputs: [{dist}/{bin}, {dist}/manifest.json]"
            )
        } else {
            format!(
                "    # A library: its release build ships no binary, only the manifest of what it built.\n    outputs: [{dist}/manifest.json]"
            )
        };
        let _ = writeln!(
            o,
            "  build:\n    needs: [validate]\n    builtin: cargo-build\n    with: {{ profile: release }}\n{outputs}"
        );
        targets.push("build");
    } else if !scripts.is_empty() {
        targets.push("transpile");
    }
    targets
}

/// The Makefile's macros as a YAML mapping (`{ NAME: "value", FLAG: null }`).
fn defines_yaml(c: &CProgram) -> String {
    let defines: Vec<String> = c
        .defines
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}: {}", yaml_str(v)),
            None => format!("{k}: null"),
        })
        .collect();
    if defines.is_empty() {
        "{}".to_owned()
    } else {
        format!("{{ {} }}", defines.join(", "))
    }
}

pub(super) fn analyze_stage(o: &mut String) {
    let _ = writeln!(o, "  analyze:");
    let _ = writeln!(
        o,
        "    builtin: analyze         # languages, dependencies, ML frameworks, complexity, TDG"
    );
    let _ = writeln!(
        o,
        "    with: {{ min_grade: F }}   # raise it to stop the line below a grade (BATUTA-Q-001)"
    );
}

/// The optimize stage; with Python, in two tasks: the plan, and the Python extension,
/// built with the plan's cargo profile.
fn optimize_stage(o: &mut String, output: &str, python: bool) {
    if python {
        let _ = writeln!(
            o,
            "  optimize:\n    needs: [transpile]\n    tasks:\n\
             \x20     optimize: {{ builtin: optimize, with: {{ profile: balanced, gpu: auto }} }}   # SIMD/GPU by the cost model\n\
             \x20     # The Python modules whose Rust compiles, as one CPython extension module (PyO3,\n\
             \x20     # stable ABI) in {output}/python/, built with the plan's cargo profile. Each\n\
             \x20     # function whose signature converts gets a wrapper; `batuta status --files` says\n\
             \x20     # why any other stays Python. {output}/python/batuta_mixed.py runs the original\n\
             \x20     # program with those functions native and every other module Python:\n\
             \x20     #   python3 {output}/python/batuta_mixed.py -m yourpackage   (or a script, or -m pytest)\n\
             \x20     # so a compare-outputs check can hold the two side by side (see the guide).\n\
             \x20     native: {{ builtin: python-extension }}"
        );
    } else {
        let _ = writeln!(
            o,
            "  optimize:\n    needs: [transpile]\n    builtin: optimize\n    with: {{ profile: balanced, gpu: auto }}   # SIMD/GPU by the cost model"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decy_is_given_the_makefiles_macros() {
        let c = CProgram {
            main: false,
            link: Vec::new(),
            defines: vec![
                ("FACTOR".to_owned(), Some("3".to_owned())),
                ("NDEBUG".to_owned(), None),
            ],
        };
        let a = report::aggregate(
            vec![FileReport {
                path: "scale.c".to_owned(),
                language: Some("C".to_owned()),
                ..FileReport::default()
            }],
            &[],
        );
        let text = manifest_text("t", ".", &a, &[], Some(&c));
        assert!(
            text.contains("fallback: bridge, with: { defines: { FACTOR: \"3\", NDEBUG: null } } }"),
            "{text}"
        );
    }
}
