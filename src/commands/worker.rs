//! `batuta worker`: serve a REAPI scheduler's actions on this machine (see
//! `batuta_remote::worker`), until Ctrl-C or SIGTERM.

use std::path::PathBuf;

use clap::Args;

use crate::Exit;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The scheduler: grpc://HOST:PORT, or grpcs://HOST:PORT for TLS
    #[arg(long, value_name = "URL", value_parser = crate::cli::parse_remote_url)]
    pub server: String,
    /// The REAPI instance name [default: the server's default instance]
    #[arg(long, value_name = "NAME", default_value = "")]
    pub instance: String,
    /// This worker's name, unique among the scheduler's bots [default: HOST-PID]
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Run at most N actions at once [default: the number of cores]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Where each action gets its clean folder [default: a batuta-worker folder in the
    /// system's temporary folder]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// The environment variable holding a bearer token for the server
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,
    /// A PEM certificate authority to trust for grpcs:// besides the system's
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
}

pub fn run(args: &WorkerArgs) -> Exit {
    let token = match &args.token_env {
        Some(var) => match std::env::var(var) {
            Ok(t) if !t.is_empty() => Some(t),
            _ => {
                eprintln!("error: --token-env names {var}, which is not set");
                return Exit::Usage;
            }
        },
        None => None,
    };
    let ca_pem = match &args.tls_ca {
        Some(p) => match std::fs::read(p) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("error: cannot read --tls-ca '{}': {e}", p.display());
                return Exit::Usage;
            }
        },
        None => None,
    };
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    let cfg = batuta_remote::worker::WorkerConfig {
        server: batuta_remote::Config {
            url: args.server.clone(),
            execute: None,
            instance: args.instance.clone(),
            upload: true,
            token,
            ca_pem,
            domain: None,
        },
        bot_id: args
            .id
            .clone()
            .unwrap_or_else(|| format!("{host}-{}", std::process::id())),
        work_dir: args
            .work_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("batuta-worker")),
        jobs: args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        ),
    };
    let stop = crate::signals::cancel_on_signals();
    match batuta_remote::worker::run(cfg, stop) {
        Ok(()) => Exit::Success,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}
