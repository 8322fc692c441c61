//! The command line, as clap reads it.

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
        /// The target to expand; in a workspace also a project, `project:stage` or `*:stage`
        /// [default: the `default` target, or every stage]
        target: Option<String>,
        #[command(flatten)]
        manifest: ManifestArg,
        /// Graphviz dot, or JSON
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Instead, print the chain of actions that bounds the build's time, with each
        /// one's last run time
        #[arg(long, conflicts_with = "format")]
        critical_path: bool,
    },
    /// Build a target: run what is out of date, restore the rest from the cache
    Build(BuildArgs),
    /// Build, then rebuild what each edit makes stale, until Ctrl-C
    Watch(WatchArgs),
    /// Analyse legacy code: languages, dependencies, ML frameworks, complexity, TDG
    Analyze(crate::commands::analyze::AnalyzeArgs),
    /// Write a commented batuta.yaml for the code here, from what an analysis finds
    Init(crate::commands::init::InitArgs),
    /// Build the transpile stage (and the stages it needs): shorthand for building it
    Transpile(TranspileArgs),
    /// Show where the migration stands, phase by phase
    Status {
        #[command(flatten)]
        manifest: ManifestArg,
        /// The board for people, or the state as JSON
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Each source file's migration instead: transpiled, compiles (with its error
        /// count), validated, or ported by hand
        #[arg(long)]
        files: bool,
        /// Only the first file of that to-do list: the one to port next, and why
        #[arg(long, conflicts_with = "files")]
        next: bool,
    },
    /// Check this machine against the manifest: tools, compilers, libraries, targets,
    /// limits, the cache, the remote; exit 1 when the build cannot run here
    Doctor {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Output for people, or one JSON object
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Start porting a source file by hand: put its Rust module in place to edit, name it
    /// in its task's `hand_ported`, print the checks that will judge it (--undo goes back)
    Port(crate::commands::port::PortArgs),
    /// Remove the outputs of every action (and with --cache, the cache)
    Clean {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Also remove the local cache
        #[arg(long)]
        cache: bool,
    },
    /// Forget the workflow state: every phase back to Not Started
    Reset {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Confirm; without it nothing is removed
        #[arg(long)]
        yes: bool,
    },
    /// Manage the local cache
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// A migration report: the phase board, rule results, artifacts and build history
    Report {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Markdown, JSON, or one self-contained HTML page
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
        /// Write it here instead of to stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// What an error code means, its common causes and fixes; without CODE, every code
    Explain {
        /// BATUTA-T-001, or short: T-001
        code: Option<String>,
    },
    /// Serve a REAPI scheduler (BuildGrid) as a worker: take its actions, run each in a
    /// clean folder, send back what it wrote; until Ctrl-C
    Worker(crate::commands::worker::WorkerArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// What TARGET may be, one per line, for the completion scripts
    #[command(name = "__targets", hide = true)]
    Targets {
        #[command(flatten)]
        manifest: ManifestArg,
    },
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The target to build; in a workspace also a project, `project:stage` or `*:stage`
    /// [default: the `default` target, or every stage]
    pub target: Option<String>,
    #[command(flatten)]
    pub manifest: ManifestArg,
    /// Run at most N actions at once [default: the number of cores]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// After a failure, finish the work that does not depend on it
    #[arg(short = 'k', long)]
    pub keep_going: bool,
    /// Transpile only these source modules (paths, folders or stems)
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub modules: Vec<String>,
    /// Progress for people, or one JSON event per line
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// After the build, write the test results of its cargo-test tasks to PATH as JUnit XML
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Fail at once when another batuta is building in this workspace, instead of waiting
    #[arg(long)]
    pub no_wait: bool,
    /// Write every action's timing as a Chrome trace (open it in ui.perfetto.dev)
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Build only what files changed since this git revision reach (and what that needs)
    #[arg(long, value_name = "BASE")]
    pub affected: Option<String>,
    /// Share a remote cache (REAPI v2) at grpc://HOST:PORT or grpcs://HOST:PORT, in place
    /// of the manifest's `remote.cache`
    #[arg(long, value_name = "URL", value_parser = parse_remote_url)]
    pub remote_cache: Option<String>,
    /// Run command actions on the workers of a REAPI server at grpc://HOST:PORT, in place
    /// of the manifest's `remote.execute`; -j may then exceed the cores here
    #[arg(long, value_name = "URL", value_parser = parse_remote_url)]
    pub remote_executor: Option<String>,
}

pub(crate) fn parse_remote_url(s: &str) -> Result<String, String> {
    batuta_engine::manifest::check_remote_url(s)
        .map(|()| s.to_owned())
        .map_err(|why| format!("'{s}' {why} (write grpc://HOST:PORT or grpcs://HOST:PORT)"))
}

#[derive(Debug, Args)]
pub struct TranspileArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
    /// Run at most N actions at once [default: the number of cores]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// After a failure, finish the work that does not depend on it
    #[arg(short = 'k', long)]
    pub keep_going: bool,
    /// Transpile only these source modules (paths, folders or stems)
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub modules: Vec<String>,
    /// Progress for people, or one JSON event per line
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

impl TranspileArgs {
    /// The same build, as `batuta build` takes it.
    pub fn build_args(&self) -> BuildArgs {
        BuildArgs {
            target: None,
            manifest: ManifestArg {
                file: self.manifest.file.clone(),
            },
            jobs: self.jobs,
            keep_going: self.keep_going,
            modules: self.modules.clone(),
            format: self.format,
            junit: None,
            no_wait: false,
            profile: None,
            affected: None,
            remote_cache: None,
            remote_executor: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Build this long after the last change of a burst (milliseconds)
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub debounce: u64,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Evict least recently used entries until the cache fits
    Gc {
        #[command(flatten)]
        manifest: ManifestArg,
        /// The size to shrink to: bytes, or with K, M, G (powers of 1024)
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: u64,
    },
}

/// `2G`, `500M`, `64K` or a plain number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 2G, 500M or 1048576"))?;
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("unknown unit in '{s}': use K, M, G or T")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
    Html,
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

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("G").is_err());
    }
}
