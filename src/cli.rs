//! The command line, as clap reads it. `build`, `status`, `clean`, `watch`, `analyze`,
//! `transpile`, `report` and `explain` are reserved for the commands the design names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "batuta",
    version,
    about = "Conducts the migration of legacy Python, C/C++ and shell code to Rust",
    long_about = "batuta turns a migration described in batuta.yaml into a content-hashed graph of \
                  analyze, transpile, optimize, validate and build actions.\n\n\
                  Environment: BATUTA_CONFIG (the manifest), RUST_LOG (tracing filter), NO_COLOR."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ManifestArg {
    /// The manifest [default: batuta.yaml in this folder or the nearest parent]
    #[arg(short = 'f', long = "file", env = "BATUTA_CONFIG", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and validate the manifest and expand its graph; exit 2 on any problem
    Check {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Output for people, or one JSON event per line
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Print the expanded action graph of a target
    Graph {
        /// The target to expand [default: the `default` target, or every stage]
        target: Option<String>,
        #[command(flatten)]
        manifest: ManifestArg,
        /// Graphviz dot, or JSON
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
