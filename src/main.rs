//! The `batuta` command line.

mod cli;
mod commands;
mod output;
mod profile;
mod progress;
mod signals;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use output::Ui;

/// A build reads and drops tens of thousands of small strings (paths, records); mimalloc's
/// size-class free lists make that a third cheaper than glibc's allocator (benches/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Mesa's Vulkan device-select layer connects to a Wayland or X display to learn which GPU
/// the desktop uses, and on a machine without one (CI, a server) libwayland prints
/// "XDG_RUNTIME_DIR is invalid" on our stderr each time a kernel or the calibration opens
/// the GPU. With no display there is nothing to select: turn the layer off. It only affects
/// this process (actions run with a cleared environment).
fn quiet_vulkan_device_select() {
    let has_display = ["WAYLAND_DISPLAY", "DISPLAY", "XDG_RUNTIME_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !has_display && std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: the first thing `main` does, before any thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

/// C's calloc on mimalloc (whose own `mi_calloc` needs a feature that brings a crate more).
unsafe extern "C" fn mi_calloc(count: usize, size: usize) -> *mut std::ffi::c_void {
    match count.checked_mul(size) {
        // SAFETY: mi_zalloc takes any size and returns null when it cannot allocate.
        Some(bytes) => unsafe { libmimalloc_sys::mi_zalloc(bytes) },
        None => std::ptr::null_mut(),
    }
}

/// Exit codes, as ARCHITECTURE.md fixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// A task failed; the build ran.
    Failed = 1,
    /// The manifest or the command line is wrong; nothing ran.
    Usage = 2,
    /// A signal (SIGINT, SIGTERM, SIGHUP) cancelled the build: the process exits with
    /// 128 + its number (see `signals`).
    Interrupted = 255,
}

/// Commands whose output is read through a pipe (`batuta explain | head`) and that write to
/// no socket of their own (doctor only connects to the remote, to see that it answers).
fn prints_for_a_pipe(c: &Command) -> bool {
    matches!(
        c,
        Command::Explain { .. }
            | Command::Graph { .. }
            | Command::Status { .. }
            | Command::Check { .. }
            | Command::Completions { .. }
            | Command::Targets { .. }
            | Command::Analyze(_)
            | Command::Report { .. }
            | Command::Doctor { .. }
    )
}

/// Rust ignores SIGPIPE, so writing to a pipe whose reader left (`| head -3`) panics in
/// `println!`. A program that only prints should end as `cat` does: quietly, by the signal.
fn stop_quietly_on_a_closed_pipe() {
    // SAFETY: sets this process's disposition of one signal before any thread starts.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    quiet_vulkan_device_select();
    // SAFETY: before any parser exists and before any other thread.
    unsafe {
        batuta_rules::analyze::syntax::use_allocator(&batuta_rules::analyze::syntax::CAllocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        })
    };
    // SAFETY: no other thread exists yet.
    unsafe { batuta_engine::folders::reserve_descriptors(4096) };
    let cli = Cli::parse();
    if prints_for_a_pipe(&cli.command) {
        stop_quietly_on_a_closed_pipe();
    }
    init_tracing(&cli.global);
    let ui = Ui::new(cli.global.color, cli.global.quiet);
    let exit = match &cli.command {
        Command::Check { manifest, format } => commands::check::run(&ui, manifest, *format),
        Command::Graph {
            target,
            manifest,
            format,
            critical_path,
        } => commands::graph::run(&ui, target.as_deref(), manifest, *format, *critical_path),
        Command::Build(args) => commands::build::run(&ui, args),
        Command::Watch(args) => commands::watch::run(&ui, args),
        Command::Analyze(args) => commands::analyze::run(&ui, args),
        Command::Init(args) => commands::init::run(&ui, args),
        Command::Transpile(args) => commands::build::transpile(&ui, args),
        Command::Status {
            manifest,
            format,
            files,
            next,
        } => commands::status::run(&ui, manifest, *format, *files, *next),
        Command::Doctor { manifest, format } => commands::doctor::run(&ui, manifest, *format),
        Command::Port(args) => commands::port::run(&ui, args),
        Command::Clean { manifest, cache } => commands::clean::clean(&ui, manifest, *cache),
        Command::Reset { manifest, yes } => commands::clean::reset(&ui, manifest, *yes),
        Command::Cache {
            command: cli::CacheCommand::Gc { manifest, max_size },
        } => commands::clean::gc(&ui, manifest, *max_size),
        Command::Report {
            manifest,
            format,
            output,
        } => commands::report::run(&ui, manifest, *format, output.as_deref()),
        Command::Explain { code } => commands::explain::run(code.as_deref()),
        Command::Worker(args) => commands::worker::run(args),
        Command::Completions { shell } => commands::completions::run(*shell),
        Command::Targets { manifest } => commands::completions::targets(manifest),
    };
    match exit {
        Exit::Interrupted => ExitCode::from(signals::exit_code().unwrap_or(130)),
        other => ExitCode::from(other as u8),
    }
}

/// Logs go to stderr; RUST_LOG wins over -v/-q.
fn init_tracing(g: &cli::Global) {
    use tracing_subscriber::EnvFilter;
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // tokei logs a warning for every extension it does not know: noise to a batuta user.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},tokei=error")));
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .init();
}
