//! The transpile phase: built-in rule templates for the real transpilers, what their
//! failures mean, and the assembly of their per-file outputs into a Cargo package.
//!
//! A task names a template as it would a rule of its own (`rule: depyler`); the engine adds
//! the template and its tool to the manifest unless `rules:` or `tools:` already define one
//! of that name (to point at another binary: `tools: { depyler: { command: /opt/depyler } }`).
//! The tool's version output is part of every key of its actions, probed once per build;
//! a missing tool fails its actions with BATUTA-T-001 and the install command.

pub mod assemble;
pub mod classify;
pub mod diagnose;
pub mod prelude;
pub mod pyext;
pub mod stubs;

/// The compilation database among a C task's inputs (`inputs: [compile_commands.json]`):
/// the flags the project compiles each file with, which decy and the C compiler get too.
pub fn compile_database(inputs: &[String]) -> Option<&str> {
    inputs
        .iter()
        .map(String::as_str)
        .find(|i| i.rsplit('/').next() == Some("compile_commands.json"))
}

use batuta_engine::manifest::{BuiltinTemplate, BuiltinTool};

const DEPYLER: BuiltinTool = BuiltinTool {
    name: "depyler",
    command: "depyler",
    version: &["--version"],
    install: "cargo install --locked depyler",
    // depyler writes a Cargo.toml beside every .rs with the crates the code uses;
    // `assemble` merges their dependencies (give it `.batuta/transpile/**/*.toml`).
    sidecars: &[("Cargo.toml", ".batuta/transpile/{out}.Cargo.toml")],
};
const DECY: BuiltinTool = BuiltinTool {
    name: "decy",
    command: "decy",
    version: &["--version"],
    install: "apt-get install -y libclang-dev && cargo install --locked decy",
    sidecars: &[],
};
const BASHRS: BuiltinTool = BuiltinTool {
    name: "bashrs",
    command: "bashrs",
    version: &["--version"],
    install: "cargo install --locked bashrs",
    sidecars: &[],
};
const RUCHY: BuiltinTool = BuiltinTool {
    name: "ruchy",
    command: "ruchy",
    version: &["--version"],
    install: "cargo install --locked ruchy",
    sidecars: &[],
};

/// The templates a manifest can name in `rule:`, each with the command line of the real
/// tool (checked against its `--help`).
pub const TEMPLATES: &[BuiltinTemplate] = &[
    // Python → Rust.
    BuiltinTemplate {
        name: "depyler",
        tool: DEPYLER,
        run: &["{tool}", "transpile", "{in}", "-o", "{out}"],
        gate: &[],
        prelude: None,
    },
    // C → Rust.
    BuiltinTemplate {
        name: "decy",
        tool: DECY,
        run: &["{tool}", "transpile", "{in}", "-o", "{out}"],
        gate: &[],
        // decy takes no -D: the macros come in a prelude (see `prelude`).
        prelude: Some(prelude::NAME),
    },
    // Shell → deterministic, idempotent POSIX shell; the purified script must lint without
    // errors (`bashrs lint` exits 1 on warnings, 2 on errors; `--level error` keeps only
    // errors, so warnings are shown by `bashrs lint` but do not stop the line).
    BuiltinTemplate {
        name: "bashrs",
        tool: BASHRS,
        run: &["{tool}", "purify", "{in}", "-o", "{out}"],
        gate: &["{tool}", "lint", "--level", "error", "{in}"],
        prelude: None,
    },
    // Ruchy → Rust.
    BuiltinTemplate {
        name: "ruchy",
        tool: RUCHY,
        run: &["{tool}", "transpile", "{in}", "-o", "{out}"],
        gate: &[],
        prelude: None,
    },
];

#[cfg(test)]
mod tests {
    use batuta_engine::manifest::Template;

    #[test]
    fn templates_parse() {
        for t in super::TEMPLATES {
            let sidecars = t.tool.sidecars.iter().map(|(_, dest)| dest);
            for a in t.run.iter().chain(t.gate).chain(sidecars) {
                assert!(Template::parse(a).is_ok(), "{}: {a}", t.name);
            }
            assert!(t.install().contains(t.tool.name));
        }
    }

    trait Install {
        fn install(&self) -> &str;
    }
    impl Install for batuta_engine::manifest::BuiltinTemplate {
        fn install(&self) -> &str {
            self.tool.install
        }
    }
}
