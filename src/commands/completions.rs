//! `batuta completions SHELL`: clap's completion script, taught the manifest's names. A
//! script is written once and the manifest changes, so the script asks batuta for the
//! targets, projects and `project:stage` names when it completes (`batuta __targets`,
//! hidden), for build, watch and graph.

use std::io::Write as _;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::Exit;
use crate::cli::{Cli, ManifestArg};

pub fn run(shell: Shell) -> Exit {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "batuta", &mut script);
    let script = String::from_utf8_lossy(&script);
    let text = match shell {
        Shell::Bash => format!("{script}{BASH}"),
        Shell::Fish => format!("{script}{FISH}"),
        Shell::Zsh => zsh(&script),
        _ => script.into_owned(),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Exit::Success
}

const BASH: &str = r#"
# The manifest's targets, projects and project:stage names, asked of batuta as it completes.
_batuta_targets() {
    _batuta "$@"
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    case " build watch graph " in
        *" ${COMP_WORDS[1]} "*)
            if [[ ${cur} != -* && ${prev} != -* ]]; then
                COMPREPLY+=( $(compgen -W "$(batuta __targets 2>/dev/null)" -- "${cur}") )
            fi ;;
    esac
}
complete -F _batuta_targets -o bashdefault -o default batuta
"#;

const FISH: &str = r#"
# The manifest's targets, projects and project:stage names, asked of batuta as it completes.
complete -c batuta -n "__fish_seen_subcommand_from build watch graph" -f -a "(batuta __targets 2>/dev/null)"
"#;

/// zsh: the target arguments complete with the manifest's names instead of files.
fn zsh(script: &str) -> String {
    let mut out = String::with_capacity(script.len() + 256);
    for line in script.lines() {
        if line.starts_with("'::target -- ") && line.ends_with(":_default' \\") {
            out.push_str(&line.replace(":_default' \\", ":_batuta_targets' \\"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
        if line.starts_with("#compdef") {
            out.push_str(
                "\n# The manifest's targets, projects and project:stage names, asked of batuta.\n\
                 _batuta_targets() {\n    local -a names\n    names=(${(f)\"$(batuta __targets 2>/dev/null)\"})\n    compadd -a names\n}\n",
            );
        }
    }
    out
}

/// `batuta __targets`: what TARGET may be, one per line: the manifest's targets, and in a
/// workspace its projects, `project:stage` and `*:stage`; else its stages. Nothing (and
/// success) when no manifest loads: completion must never print an error.
pub fn targets(manifest: &ManifestArg) -> Exit {
    let Ok(m) = super::load(manifest) else {
        return Exit::Success;
    };
    let mut names: Vec<String> = m.targets.iter().map(|t| t.name.value.clone()).collect();
    if m.is_workspace() {
        for inst in m.instances() {
            let name = inst.instance.clone().unwrap_or_default();
            names.push(name.clone());
            for s in &inst.stages {
                names.push(format!("{name}:{}", s.phase));
                let every = format!("*:{}", s.phase);
                if !names.contains(&every) {
                    names.push(every);
                }
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for n in names {
        let _ = writeln!(out, "{n}");
    }
    Exit::Success
}
