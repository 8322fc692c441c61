//! `batuta doctor`: whether the manifest's build can run on this machine, and what to
//! install when it cannot.
//!
//! Every check says what it found and whether the build needs it: a tool a task runs, a
//! program a check compares, cargo and a C linker for the crate, libclang for decy, strace
//! for `syscalls`, the standard library of each target `cargo-build` names. Others only
//! inform: the GPU (the cost model plans without one), inotify limits (for `watch`),
//! Chromium (batuta's own browser tests), the cache's size and health, and the remote's
//! reachability, which is asked only when the manifest names a remote: without one doctor
//! opens no socket. It exits 1 when something the build needs is missing.

mod probes;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use batuta_engine::graph::{ActionGraph, ActionKind};
use batuta_engine::manifest::Manifest;
use serde::Serialize;

use crate::Exit;
use crate::cli::{CheckFormat, ManifestArg};
use crate::output::Ui;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// Needed by the build and not here: the build cannot run.
    Missing,
    /// Not as it should be, but the build runs (a damaged cache entry, a low limit).
    Warning,
    /// Not needed by this manifest; what was found, for the record.
    Info,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `tools`, `machine`, `cache` or `remote`.
    pub group: &'static str,
    pub name: String,
    pub outcome: Outcome,
    /// What was found: a version, a path, a size, or why not.
    pub found: String,
    /// Which actions need it, when some do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needed_by: Vec<String>,
    /// The command or step that fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(group: &'static str, name: impl Into<String>) -> Self {
        Check {
            group,
            name: name.into(),
            outcome: Outcome::Info,
            found: String::new(),
            needed_by: Vec::new(),
            fix: None,
        }
    }

    /// A program probed with its version command: Ok (or Info when nothing needs it) when
    /// it runs, Missing with `fix` when something needs it and it does not.
    fn program(mut self, probe: Result<String, String>, needed_by: Vec<String>, fix: &str) -> Self {
        let needed = !needed_by.is_empty();
        self.needed_by = needed_by;
        match probe {
            Ok(v) => {
                self.outcome = if needed { Outcome::Ok } else { Outcome::Info };
                self.found = v;
            }
            Err(why) => {
                self.outcome = if needed {
                    Outcome::Missing
                } else {
                    Outcome::Info
                };
                self.found = why;
                self.fix = Some(fix.to_owned());
            }
        }
        self
    }
}

pub fn run(ui: &Ui, manifest: &ManifestArg, format: CheckFormat) -> Exit {
    let (m, g) = match super::load_graph(ui, manifest) {
        Ok(x) => x,
        Err(exit) => return exit,
    };
    let checks = checks(&m, &g);
    let missing: Vec<&Check> = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Missing)
        .collect();
    match format {
        CheckFormat::Text => print!("{}", text(&m, &checks)),
        CheckFormat::Json => println!(
            "{}",
            serde_json::json!({ "ok": missing.is_empty(), "checks": checks })
        ),
    }
    if missing.is_empty() {
        Exit::Success
    } else {
        Exit::Failed
    }
}

/// Every check, in the order they are shown.
pub fn checks(m: &Manifest, g: &ActionGraph) -> Vec<Check> {
    let mut out = tools(m, g);
    out.extend(programs(g));
    out.extend(machine(g, &m.root));
    out.push(cache(m));
    out.push(remote(m));
    out
}

/// The builtins the graph runs, each with its actions.
fn builtins(g: &ActionGraph) -> BTreeMap<&str, Vec<String>> {
    let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for a in &g.actions {
        if let ActionKind::Builtin { name, .. } = &a.kind {
            by.entry(name.as_str()).or_default().push(a.id.clone());
        }
    }
    by
}

/// At most three action ids, then how many more.
fn few(ids: &[String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().take(3).cloned().collect();
    if ids.len() > 3 {
        v.push(format!("{} more", ids.len() - 3));
    }
    v
}

/// Every tool of the manifest (its own and the built-in templates' it names).
fn tools(m: &Manifest, g: &ActionGraph) -> Vec<Check> {
    let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for a in &g.actions {
        if let ActionKind::Command { tool: Some(t), .. } = &a.kind {
            users.entry(t.as_str()).or_default().push(a.id.clone());
        }
    }
    m.tools
        .iter()
        .map(|t| {
            let args: Vec<&str> = t.version.iter().map(String::as_str).collect();
            let fix = t.install.clone().unwrap_or_else(|| {
                format!(
                    "install '{}', or set `tools.{}.command` to its path",
                    t.command.value, t.name.value
                )
            });
            let needed = users
                .get(t.name.value.as_str())
                .map_or_else(Vec::new, |u| few(u));
            let mut c = Check::new("tools", t.name.value.clone()).program(
                probes::version(&t.command.value, &args),
                needed,
                &fix,
            );
            if c.needed_by.is_empty() && c.outcome == Outcome::Info {
                c.found = format!("{} (no action runs it)", c.found);
            }
            c
        })
        .collect()
}

/// The programs the checks run on their own (`original: [python3, …]`), when named by a
/// bare name that PATH resolves.
fn programs(g: &ActionGraph) -> Vec<Check> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &g.actions {
        let ActionKind::Builtin {
            with: Some(with), ..
        } = &a.kind
        else {
            continue;
        };
        for side in ["original", "migrated"] {
            if let Some(p) = with
                .get(side)
                .and_then(|v| v.get(0))
                .and_then(|v| v.as_str())
                && !p.contains('/')
            {
                by.entry(p.to_owned()).or_default().push(a.id.clone());
            }
        }
    }
    by.into_iter()
        .map(|(p, ids)| {
            let found = probes::on_path(&[p.as_str()])
                .map(|path| path.display().to_string())
                .ok_or_else(|| "not found on PATH".to_owned());
            Check::new("machine", p.clone()).program(
                found,
                few(&ids),
                &format!("install {p}, or name it by its path in the check's `with`"),
            )
        })
        .collect()
}

fn machine(g: &ActionGraph, root: &std::path::Path) -> Vec<Check> {
    let by = builtins(g);
    let ids = |names: &[&str]| -> Vec<String> {
        let all: Vec<String> = names
            .iter()
            .flat_map(|n| by.get(n).cloned().unwrap_or_default())
            .collect();
        few(&all)
    };
    let rust = ids(&["cargo-build", "cargo-test", "assemble"]);
    let linked = ids(&["cargo-build", "cargo-test"]);
    let decy: Vec<String> = g
        .actions
        .iter()
        .filter(|a| matches!(&a.kind, ActionKind::Command { tool: Some(t), .. } if t == "decy"))
        .map(|a| a.id.clone())
        .collect();
    let mut out = vec![
        Check::new("machine", "cargo").program(
            probes::version("cargo", &["--version"]),
            rust.clone(),
            "install Rust with rustup (https://rustup.rs)",
        ),
        Check::new("machine", "rustc").program(
            probes::version("rustc", &["--version"]),
            rust,
            "install Rust with rustup (https://rustup.rs)",
        ),
        Check::new("machine", "C compiler (cc)").program(
            probes::version("cc", &["--version"]),
            linked,
            "apt-get install gcc (cargo links through cc)",
        ),
        Check::new("machine", "libclang").program(
            probes::libclang()
                .map(|p| p.display().to_string())
                .ok_or_else(|| {
                    "not found (LIBCLANG_PATH, /usr/lib/llvm-*/lib, /usr/lib…)".to_owned()
                }),
            few(&decy),
            "apt-get install libclang-dev",
        ),
        Check::new("machine", "strace").program(
            probes::version("strace", &["-V"]),
            ids(&["syscalls"]),
            "apt-get install strace",
        ),
    ];
    for target in cargo_targets(g) {
        let (name, ids) = target;
        out.push(
            Check::new("machine", format!("rust target {name}")).program(
                probes::rust_target(&name).map(|p| p.display().to_string()),
                few(&ids),
                &format!("rustup target add {name}"),
            ),
        );
    }
    out.push(gpu());
    out.push(inotify(root));
    let mut chromium = Check::new("machine", "chromium").program(
        match probes::on_path(&["chromium", "chromium-browser", "google-chrome"]) {
            Some(p) => probes::version(&p.to_string_lossy(), &["--version"]),
            None => Err("not found on PATH".to_owned()),
        },
        Vec::new(),
        "apt-get install chromium",
    );
    chromium.found = format!(
        "{} (only batuta's own browser tests use it)",
        chromium.found
    );
    out.push(chromium);
    out
}

/// The cross targets `cargo-build` tasks name (`with: { targets: [...] }`), with their
/// actions.
fn cargo_targets(g: &ActionGraph) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &g.actions {
        if let ActionKind::Builtin {
            name,
            with: Some(with),
        } = &a.kind
            && name == "cargo-build"
        {
            let targets = with.get("targets").and_then(|t| t.as_array());
            for t in targets.into_iter().flatten().filter_map(|t| t.as_str()) {
                out.entry(t.to_owned()).or_default().push(a.id.clone());
            }
        }
    }
    out
}

fn gpu() -> Check {
    let mut c = Check::new("machine", "GPU adapter");
    c.found = if batuta_rules::kernels::gpu_disabled() {
        "not used: BATUTA_DISABLE_GPU=1".to_owned()
    } else {
        match batuta_rules::kernels::gpu_info() {
            Ok(name) => format!("{name} (the cost model may plan GPU work)"),
            Err(why) => format!(
                "none ({why}); the cost model plans SIMD and scalar only, and `gpu: force` fails (BATUTA-O-003)"
            ),
        }
    };
    c
}

/// watch puts one inotify watch on each folder it follows: the workspace's, at most.
fn inotify(root: &std::path::Path) -> Check {
    let mut c = Check::new("machine", "inotify (for watch)");
    let Some((watches, instances)) = probes::inotify_limits() else {
        c.found =
            "no inotify limits here (/proc/sys/fs/inotify); watch uses the platform's notifier"
                .to_owned();
        return c;
    };
    let folders = probes::folders(root);
    c.found = format!(
        "max_user_watches {watches}, max_user_instances {instances}; the workspace has {folders} folders"
    );
    if folders > watches {
        c.outcome = Outcome::Warning;
        c.fix = Some(format!(
            "sudo sysctl fs.inotify.max_user_watches={}",
            (folders * 2).next_power_of_two()
        ));
    }
    c
}

fn cache(m: &Manifest) -> Check {
    let dir = super::build::cache_dir(m);
    let h = probes::cache(&dir);
    let mut c = Check::new("cache", dir.display().to_string());
    let mib = h.bytes as f64 / (1024.0 * 1024.0);
    c.found = if h.exists {
        format!(
            "{mib:.1} MiB: {} ({} checked, {} damaged), {} of action records",
            plural(h.blobs, "blob"),
            h.checked,
            h.damaged.len(),
            plural(h.packs, "pack")
        )
    } else {
        "not made yet (the first build makes it)".to_owned()
    };
    c.outcome = Outcome::Ok;
    if !h.writable {
        c.outcome = Outcome::Missing;
        c.needed_by = vec!["every build".to_owned()];
        c.fix = Some(format!(
            "make {} writable, or set BATUTA_CACHE_DIR to a folder that is",
            dir.display()
        ));
    } else if let Some(first) = h.damaged.first() {
        c.outcome = Outcome::Warning;
        c.found.push_str(&format!("; first damaged: {first}"));
        c.fix = Some(
            "`batuta clean --cache` (a build also treats a damaged blob as a miss)".to_owned(),
        );
    }
    c
}

/// The remote's reachability, asked only when the manifest names one.
fn remote(m: &Manifest) -> Check {
    let Some(r) = &m.remote else {
        let mut c = Check::new("remote", "remote");
        c.found = "none in the manifest: doctor opened no connection".to_owned();
        return c;
    };
    let url = r.execute.as_ref().unwrap_or(&r.cache).value.clone();
    let mut c = Check::new("remote", url.clone());
    match probes::reachable(&url, std::time::Duration::from_secs(2)) {
        Ok(found) => {
            c.outcome = Outcome::Ok;
            c.found = found;
        }
        Err(why) => {
            // A remote that is down costs a warning, and the build runs here.
            c.outcome = Outcome::Warning;
            c.found = format!("{why}; a build would run everything here");
            c.fix = Some("start the server, or check the address in `remote:`".to_owned());
        }
    }
    c
}

/// The checks for people, by group, then the verdict.
fn text(m: &Manifest, checks: &[Check]) -> String {
    let mut out = format!(
        "batuta doctor: {} ({})\n",
        m.project.name.value,
        m.path.display()
    );
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut group = "";
    for c in checks {
        if c.group != group {
            group = c.group;
            let _ = writeln!(out, "\n{}", heading(group));
        }
        let mark = match c.outcome {
            Outcome::Ok => "✓",
            Outcome::Missing => "✗",
            Outcome::Warning => "⚠️",
            Outcome::Info => "·",
        };
        let pad = " ".repeat(width - c.name.chars().count());
        let _ = writeln!(out, "  {mark} {}{pad}  {}", c.name, c.found);
        if !c.needed_by.is_empty() {
            let _ = writeln!(
                out,
                "    {}  needed by {}",
                " ".repeat(width),
                c.needed_by.join(", ")
            );
        }
        if let Some(fix) = c.fix.as_ref().filter(|_| c.outcome != Outcome::Info) {
            let _ = writeln!(out, "    {}  fix: {fix}", " ".repeat(width));
        }
    }
    let missing: Vec<&str> = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Missing)
        .map(|c| c.name.as_str())
        .collect();
    let warnings = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Warning)
        .count();
    out.push('\n');
    if missing.is_empty() {
        let _ = write!(out, "✓ The build can run here");
        if warnings > 0 {
            let _ = write!(
                out,
                " ({warnings} warning{})",
                if warnings == 1 { "" } else { "s" }
            );
        }
        out.push_str(".\n");
    } else {
        let _ = writeln!(
            out,
            "✗ The build cannot run here: missing {}.",
            missing.join(", ")
        );
    }
    out
}

fn heading(group: &str) -> &'static str {
    match group {
        "tools" => "Tools the manifest runs",
        "machine" => "This machine",
        "cache" => "Cache",
        _ => "Remote",
    }
}

fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
