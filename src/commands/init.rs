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

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The legacy code, relative to this folder [default: this folder]
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,
    /// Replace an existing batuta.yaml
    #[arg(long)]
    pub force: bool,
}

const EXCLUDE: &[&str] = &[
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
    let scripts = scripts(&files);
    let a = report::aggregate(files, &[]);
    let name = std::env::current_dir()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "migration".to_owned());
    let text = manifest_text(&name, &source, &a, &scripts);
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
fn scripts(files: &[FileReport]) -> Vec<String> {
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
    ("C++", "decy", &[("cpp", "**/*.cpp"), ("cc", "**/*.cc")]),
];

fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The manifest, every choice commented. `scripts` are the `each` globs of the shell
/// scripts found (see [`scripts`]).
pub fn manifest_text(name: &str, source: &str, a: &Analysis, scripts: &[String]) -> String {
    let mut o = String::new();
    let found: Vec<&str> = a.languages.iter().map(|l| l.name.as_str()).collect();
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

    // A crate comes from the languages transpiled to Rust modules; scripts stay scripts.
    let crate_ = !used.is_empty();
    let _ = writeln!(o, "# The phases, each after the one before.");
    let _ = writeln!(o, "stages:");
    let _ = writeln!(o, "  analyze:");
    let _ = writeln!(
        o,
        "    builtin: analyze         # languages, dependencies, ML frameworks, complexity, TDG"
    );
    let _ = writeln!(
        o,
        "    with: {{ min_grade: F }}   # raise it to stop the line below a grade (BATUTA-Q-001)"
    );
    if crate_ || !scripts.is_empty() {
        let _ = writeln!(o, "  transpile:\n    needs: [analyze]\n    tasks:");
        for (_, rule, tasks) in &used {
            for (task, each) in tasks.iter() {
                let out = if *task == "python" {
                    "src/{dir}/{stem}.rs".to_owned()
                } else {
                    format!("src/{{dir}}/{{stem}}_{task}.rs")
                };
                let _ = writeln!(
                    o,
                    "      {task}: {{ rule: {rule}, each: {}, out: {} }}",
                    yaml_str(each),
                    yaml_str(&out)
                );
            }
        }
        if !scripts.is_empty() {
            let _ = writeln!(
                o,
                "      # The shell scripts, by extension and by shebang: each purified into a POSIX\n\
                 \x20     # script of the same name under rust/scripts, which must lint clean.\n\
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
                 \x20     # `batuta status --files`. To port a file by hand, write its .rs under rust/src\n\
                 \x20     # and name the source in its task's `hand_ported: [...]`.\n\
                 \x20     crate:\n\
                 \x20       builtin: assemble\n\
                 \x20       inputs: [\"rust/src/**/*.rs\", \".batuta/transpile/**/*.toml\"]\n\
                 \x20       outputs: [rust/Cargo.toml, rust/src/lib.rs]\n\
                 \x20       with: {{ name: {} }}",
                yaml_str(name)
            );
        }
    }
    let mut targets = vec!["analyze"];
    if crate_ {
        let _ = writeln!(
            o,
            "  optimize:\n    needs: [transpile]\n    builtin: optimize\n    with: {{ profile: balanced, gpu: auto }}   # SIMD/GPU by the cost model"
        );
        let _ = writeln!(
            o,
            "  validate:\n    needs: [optimize]\n    builtin: cargo-test      # the migrated tests must pass\n    inputs: [rust/Cargo.toml, \"rust/src/**/*.rs\"]"
        );
        let _ = writeln!(
            o,
            "  build:\n    needs: [validate]\n    builtin: cargo-build\n    with: {{ profile: release }}\n    # A library: its release build ships no binary, only the manifest of what it built.\n    outputs: [dist/manifest.json]"
        );
        targets.push("build");
    } else if !scripts.is_empty() {
        targets.push("transpile");
    }
    let _ = writeln!(o, "\n# What `batuta build TARGET` runs.");
    let _ = writeln!(
        o,
        "targets:\n  default: [{}]\n  analysis: [analyze]",
        targets.last().expect("analyze at least")
    );
    o
}
