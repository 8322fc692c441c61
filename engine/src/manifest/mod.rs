//! `batuta.yaml`, version 1: reading, the typed model, and validation with diagnostics.
//!
//! Loading is three passes, each reporting everything it finds: YAML to a spanned node
//! tree (`yaml`), the tree to the typed model (`lower`), and checks across the model
//! (`validate`). A manifest with any problem never reaches the engine.

mod command;
mod diagnostic;
mod excerpt;
mod lower;
mod model;
mod projects;
mod template;
mod validate;
mod yaml;

use std::io::Read;
use std::path::Path;

pub use command::{Script, Unquotable, expand_command, script_of};
pub use diagnostic::{
    Code, Diagnostic, Diagnostics, Located, Severity, Source, Span, did_you_mean,
};
pub use lower::{VERSION, check_remote_url, keys};
pub use model::{
    Fallback, Manifest, Phase, Project, Remote, Resources, Rule, Sp, Stage, Target, Task, TaskKind,
    Tool, WorkspaceProject,
};
pub use projects::StageRef;
pub use template::{Placeholder, Segment, Template};
pub(crate) use validate::normalize;
pub use yaml::{Key, Node, NodeKind};

/// The names of the built-in rules and kernels a manifest may use. The engine knows no
/// rule itself; the rules crate supplies the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    pub builtins: &'static [&'static str],
    pub kernels: &'static [&'static str],
    /// Builtins that work file by file; see [`FanOut`].
    pub fan_out: &'static [FanOut],
    /// Rule templates a task can name in `rule:` without defining them in `rules:`
    /// (the transpilers). A manifest's own `rules:` and `tools:` of the same name win.
    pub templates: &'static [BuiltinTemplate],
    /// The files a builtin reads and writes when its task names none; see [`BuiltinFiles`].
    pub files: &'static [BuiltinFiles],
    /// Checks a builtin's or kernel's `with:` when the manifest loads, so a misspelt option
    /// stops the load with a pointer at it instead of failing the build halfway.
    pub check_with: Option<CheckWith>,
    /// Actions a builtin needs that no manifest spells out; see [`Companion`].
    pub companions: &'static [Companion],
    /// The name of the crate's binary, as cargo will name it, for `{crate}` in a builtin's
    /// default files (cargo-build's `dist/{crate}`); `None` falls back to `project.name`.
    pub crate_name: Option<fn(&Manifest) -> Option<String>>,
    /// Builtins that are told how each source file of the transpile stage is migrated:
    /// expansion puts the plan in their `with` under [`MIGRATION_KEY`] (so it is part of
    /// their key) and makes the sources of bridged files their inputs.
    pub migration_map: &'static [&'static str],
    /// Builtins of `migration_map` that also read the source of every file the plan
    /// ports (generated or by hand), not only of the bridged ones: expansion makes those
    /// sources their inputs too, so an edit to one reruns them.
    pub migration_sources: &'static [&'static str],
}

/// The `with` key under which a builtin of [`Catalog::migration_map`] gets the plan: a list
/// of `graph::FilePlan` as JSON. A manifest cannot write it (no rule accepts it from users).
pub const MIGRATION_KEY: &str = "@migration";

/// `(kind, name, with)` → what is wrong with `with`; kind is `"builtin"` or `"kernel"`.
pub type CheckWith = fn(&str, &str, &serde_json::Value) -> Result<(), WithProblem>;

/// What a rule found wrong with its `with:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithProblem {
    /// The option at fault, when it is one option: the diagnostic points at it.
    pub key: Option<String>,
    /// The key is not an option of the rule at all.
    pub unknown: bool,
    pub message: String,
    /// The options there are, for a did-you-mean.
    pub known: Vec<String>,
}

impl WithProblem {
    /// `message` about a rule's `with`, pointed at its first key that is not among
    /// `known` when there is one (that key is then the likely mistake), else at the whole.
    pub fn new(with: &serde_json::Value, known: &[&str], message: impl Into<String>) -> Self {
        let key = with
            .as_object()
            .and_then(|m| m.keys().find(|k| !known.contains(&k.as_str())))
            .cloned();
        WithProblem {
            unknown: key.is_some(),
            key,
            message: message.into(),
            known: known.iter().map(|k| (*k).to_owned()).collect(),
        }
    }
}

/// An action a builtin needs that the manifest does not spell out: `optimize` reads the
/// machine's calibration, which a `calibrate` action writes. Expansion adds the companion
/// (one action running builtin `adds`, no inputs, writing `outputs`) to the graph once,
/// whatever number of tasks name `builtin`, in the stage of the first, and makes every such
/// task read its outputs, so each runs after it. Outputs are relative to the workspace.
#[derive(Debug, Clone, Copy)]
pub struct Companion {
    pub builtin: &'static str,
    pub adds: &'static str,
    pub outputs: &'static [&'static str],
}

/// What a builtin reads and writes by default, so `builtin: cargo-build` needs no
/// `inputs:`/`outputs:` in the common case. Applied at load time to a task that declares
/// no `inputs` (resp. no `outputs`) of its own, before validation, so the paths are checked
/// like a user's. Paths are relative to the workspace; `{output}`, `{source}` and `{name}`
/// stand for `project.output`, `project.source` and `project.name`. An input may be a glob
/// (it then means the files that match, as for a user's input globs), which is how a
/// builtin reads a file only some manifests produce.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinFiles {
    pub builtin: &'static str,
    pub inputs: &'static [&'static str],
    pub outputs: &'static [&'static str],
    /// Outputs the builtin writes whatever its task declares (a record of what it did,
    /// which must be cached and restored with the rest); added to every such task.
    pub records: &'static [&'static str],
}

/// A builtin that expands into one `per_file` action for every file under
/// `project.source` (with the same walk, excludes and .gitignore as `each`), writing
/// `{dir}/files/{path}.json`, plus the builtin itself as one aggregate action that reads
/// all of those and writes `{dir}/{outputs}`. Editing one source file reruns one per-file
/// action and the aggregate. Files that cannot be read as such (symbolic links that dangle,
/// loop, point at a folder or out of the workspace; sockets and pipes; unreadable files)
/// get no action: the aggregate's `with` lists them under `skipped` as
/// `[{"path": …, "reason": …}]`, so they are reported, not fatal.
#[derive(Debug, Clone, Copy)]
pub struct FanOut {
    pub builtin: &'static str,
    pub per_file: &'static str,
    /// Relative to the workspace.
    pub dir: &'static str,
    /// The aggregate's outputs, relative to `dir`.
    pub outputs: &'static [&'static str],
}

/// A rule template the rules crate ships, with the tool it runs.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinTemplate {
    pub name: &'static str,
    pub tool: BuiltinTool,
    /// The command, with placeholders, as a `run:` of `rules:` would say it.
    pub run: &'static [&'static str],
    /// A check run on each output after `run` succeeds, as its own action (`{in}` is the
    /// output): a non-zero exit fails the task. Empty for none.
    pub gate: &'static [&'static str],
    /// A builtin that writes what the tool reads in place of each source file, given the
    /// flags the project is compiled with (the task's `with`, or a `compile_commands.json`
    /// beside the sources): a tool that takes no such flags itself (decy) still sees the
    /// macros the build defines. `None` for a tool that needs none.
    pub prelude: Option<&'static str>,
}

/// A tool a built-in template runs, as `tools:` would declare it.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinTool {
    pub name: &'static str,
    pub command: &'static str,
    pub version: &'static [&'static str],
    /// The exact command that installs it.
    pub install: &'static str,
    /// Files the tool writes beside its output whatever it is told (depyler's Cargo.toml),
    /// by name, with the workspace path each is kept at: a template with the placeholders
    /// of `out`, and `{out}` for the output's path. They apply to every rule and task that
    /// runs the tool, the manifest's own included, since the tool writes them regardless.
    pub sidecars: &'static [(&'static str, &'static str)],
}

impl Catalog {
    /// No rules at all: for tests, and the base a partial catalog fills in
    /// (`Catalog { builtins: &["analyze"], ..Catalog::EMPTY }`).
    pub const EMPTY: Catalog = Catalog {
        builtins: &[],
        kernels: &[],
        fan_out: &[],
        templates: &[],
        files: &[],
        check_with: None,
        companions: &[],
        crate_name: None,
        migration_map: &[],
        migration_sources: &[],
    };

    pub fn template(&self, name: &str) -> Option<&'static BuiltinTemplate> {
        self.templates.iter().find(|t| t.name == name)
    }
}

/// Add the built-in templates the manifest's tasks name (and their tools) unless the
/// manifest defines a rule or tool of that name itself. Spans point at the first task
/// that names the template, so errors about it point somewhere useful.
/// Fills in the [`BuiltinFiles`] of every builtin task that names no files of its own.
fn add_builtin_files(m: &mut Manifest) {
    let krate = m
        .crate_name
        .and_then(|f| f(m))
        .unwrap_or_else(|| m.project.name.value.clone());
    let instance = m.instance.clone();
    let expand = |path: &str, p: &Project| -> String {
        // `{output}` and `{source}` may stand anywhere; `.` for the workspace drops out.
        let folder = |f: &str| match f.trim_end_matches('/') {
            "" | "." => String::new(),
            f => f.to_owned(),
        };
        let path = path
            .replace("{name}", &p.name.value)
            .replace("{crate}", &krate)
            .replace("{output}", &folder(&p.output.value))
            .replace("{source}", &folder(&p.source.value));
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        projects::scoped(instance.as_deref(), &parts.join("/"))
    };
    let project = m.project.clone();
    for task in m.stages.iter_mut().flat_map(|s| &mut s.tasks) {
        let TaskKind::Builtin(name) = &task.kind else {
            continue;
        };
        let Some(files) = m.builtin_files.iter().find(|f| f.builtin == name.value) else {
            continue;
        };
        let span = name.span;
        let fill = |paths: &[&str]| -> Vec<Sp<String>> {
            paths
                .iter()
                .map(|p| Sp::new(expand(p, &project), span))
                .collect()
        };
        if task.inputs.is_empty() {
            task.inputs = fill(files.inputs);
        }
        if task.outputs.is_empty() {
            task.outputs = fill(files.outputs);
            task.catalog_outputs = task.outputs.iter().map(|o| o.value.clone()).collect();
        }
        for record in fill(files.records) {
            if !task.outputs.iter().any(|o| o.value == record.value) {
                task.catalog_outputs.push(record.value.clone());
                task.outputs.push(record);
            }
        }
    }
}

fn add_builtin_templates(m: &mut Manifest, catalog: &Catalog) {
    // A workspace's projects may use rules of their own stages that the shared ones do not.
    let used: Vec<(String, Span)> = m
        .stages
        .iter()
        .chain(m.projects.iter().flat_map(|p| &p.stages))
        .flat_map(|s| &s.tasks)
        .filter_map(|t| match &t.kind {
            TaskKind::Rule(name) => Some((name.value.clone(), name.span)),
            _ => None,
        })
        .collect();
    for (name, span) in used {
        if m.rule(&name).is_some() {
            continue;
        }
        let Some(t) = catalog.template(&name) else {
            continue;
        };
        if let Some(own) = m.tools.iter_mut().find(|x| x.name.value == t.tool.name) {
            // The manifest's own tool (another command, say): still say how to install it.
            own.install.get_or_insert_with(|| t.tool.install.to_owned());
        } else {
            m.tools.push(Tool {
                name: Sp::new(t.tool.name.to_owned(), span),
                command: Sp::new(t.tool.command.to_owned(), span),
                version: t.tool.version.iter().map(|s| (*s).to_owned()).collect(),
                install: Some(t.tool.install.to_owned()),
                sidecars: Vec::new(),
            });
        }
        let parse = |args: &[&str]| -> Vec<Sp<Template>> {
            args.iter()
                .filter_map(|a| Template::parse(a).ok().map(|t| Sp::new(t, span)))
                .collect()
        };
        m.rules.push(Rule {
            name: Sp::new(name.clone(), span),
            tool: Some(Sp::new(t.tool.name.to_owned(), span)),
            run: parse(t.run),
            gate: parse(t.gate),
            prelude: t.prelude.map(str::to_owned),
        });
    }
    // What a known tool writes beside its outputs, whoever declared the tool.
    for tool in &mut m.tools {
        let known = catalog.templates.iter().map(|t| &t.tool).find(|t| {
            // By name, or by the program it runs (`tools: { py2rs: { command: depyler } }`).
            let program = Path::new(&tool.command.value).file_name();
            t.name == tool.name.value || program.is_some_and(|p| p == t.command)
        });
        if let Some(known) = known {
            let span = tool.name.span;
            tool.sidecars = known
                .sidecars
                .iter()
                .filter_map(|(name, dest)| {
                    let dest = Template::parse(dest).ok()?;
                    Some(((*name).to_owned(), Sp::new(dest, span)))
                })
                .collect();
        }
    }
}

/// The workspace of the manifest at `path`: its folder, spelt `.` for a bare file name so
/// that joined paths compare equal to the ones a walk of the folder yields.
pub fn workspace_of(path: &Path) -> std::path::PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// Parse YAML text into the spanned node tree the loader works on (no manifest checks).
pub fn parse_yaml(text: &str) -> Result<Node, Diagnostic> {
    yaml::parse(text)
}

/// Manifests are hand-written; anything this large is a mistake, not a migration.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// Read and check the manifest at `path`.
pub fn load(path: &Path, catalog: &Catalog) -> Result<Manifest, Diagnostics> {
    load_str(&read(path)?, path, catalog)
}

/// Read the manifest's text: a regular file of UTF-8 within the size limit.
pub fn read(path: &Path) -> Result<String, Diagnostics> {
    let name = path.display().to_string();
    let unreadable = |message: String, help: &str| Diagnostics {
        source: Source::new(name.clone(), ""),
        items: vec![Diagnostic::new(Code::Unreadable, message).help(help.to_owned())],
    };
    let file = crate::fsutil::open_regular(path).map_err(|e| {
        let help = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "run batuta in the folder that holds batuta.yaml, name the manifest with -f, or write one with `batuta init`"
            }
            std::io::ErrorKind::InvalidInput => "check that the path is a regular file",
            _ => "check the file's permissions",
        };
        unreadable(format!("cannot read {name}: {}", io_reason(&e)), help)
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            unreadable(
                format!("cannot read {name}: {}", io_reason(&e)),
                "check that the path is a regular file",
            )
        })?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(unreadable(
            format!(
                "{name} is larger than {} MiB",
                MAX_MANIFEST_BYTES / (1024 * 1024)
            ),
            "a manifest describes files, it does not hold them; use `each` globs instead of listing every file",
        ));
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(unreadable(
            "the manifest is UTF-16 text, not UTF-8".to_owned(),
            "save the file as UTF-8",
        ));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            return Err(Diagnostics {
                source: Source::new(name, lossy),
                items: vec![
                    Diagnostic::new(Code::Unreadable, "the manifest is not valid UTF-8")
                        .at(Span::new(at, 1))
                        .label("invalid byte here")
                        .help("save the file as UTF-8"),
                ],
            });
        }
    };
    Ok(text)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a folder, not a file".to_owned(),
        _ => e.to_string(),
    }
}

/// Check manifest text; `path` says where it lives (its folder is the workspace).
pub fn load_str(text: &str, path: &Path, catalog: &Catalog) -> Result<Manifest, Diagnostics> {
    let source = Source::new(path.display().to_string(), text);
    let fail = |items| Diagnostics {
        source: source.clone(),
        items,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(fail(vec![
            Diagnostic::new(Code::Unreadable, "the manifest is empty")
                .help("start with `version: 1`, a `project:` with a name, and `stages:`; `batuta.yaml.example` shows every key"),
        ]));
    }
    let node = yaml::parse(text).map_err(|d| fail(vec![d]))?;
    let mut lower = lower::Lower::new(text);
    let mut manifest = lower.manifest(&node, path.to_path_buf(), source.clone());
    if let Some(m) = &mut manifest {
        m.fan_out = catalog.fan_out;
        m.companions = catalog.companions;
        m.migration_map = catalog.migration_map;
        m.migration_sources = catalog.migration_sources;
        m.builtin_files = catalog.files;
        m.crate_name = catalog.crate_name;
        add_builtin_templates(m, catalog);
        // A workspace's builtins get their files per project, from its own folders.
        if m.projects.is_empty() {
            add_builtin_files(m);
        }
    }
    let mut diags = lower.diags;
    if let Some(m) = &manifest {
        if m.projects.is_empty() {
            validate::validate(m, catalog, &mut diags);
        } else {
            // Each project is checked as the manifest of one migration it is; what the
            // projects share is reported once.
            let mut each = Vec::new();
            for inst in m.instances() {
                validate::validate(&inst, catalog, &mut each);
            }
            for d in each {
                if !diags.contains(&d) {
                    diags.push(d);
                }
            }
            projects::validate(m, &mut diags);
        }
    }
    let errors = diags.iter().any(|d| d.severity == Severity::Error);
    match manifest {
        Some(mut m) if !errors => {
            m.warnings = diags;
            Ok(m)
        }
        _ => {
            diags.sort_by_key(|d| d.span.map_or(0, |s| s.offset));
            Err(fail(diags))
        }
    }
}

#[cfg(test)]
mod tests;
