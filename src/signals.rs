//! SIGINT, SIGTERM and SIGHUP cancel, all three alike: Ctrl-C, CI cancelling a job,
//! `timeout` and `docker stop` send different ones, and each must stop running actions
//! (their process groups killed), keep nothing half-written, and leave the state and cache
//! consistent. The process then exits with the shell's code for the signal, 128 + its
//! number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), so a script can tell an
//! interrupted build from a failed one (1).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by any of the three; what the engine's `cancel` flags point at.
pub static CANCELLED: AtomicBool = AtomicBool::new(false);
/// Which signal came first.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomic stores: nothing else is safe in a signal handler.
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    CANCELLED.store(true, Ordering::SeqCst);
}

/// From now on the three signals set [`CANCELLED`] instead of ending the process.
pub fn cancel_on_signals() -> &'static AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: sigaction with a handler that only stores to atomics; the struct is
        // zeroed (an empty mask, no flags) before the handler is set.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    &CANCELLED
}

/// The exit code for the signal that cancelled, if one did: 128 + its number.
pub fn exit_code() -> Option<u8> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => u8::try_from(128 + sig).ok(),
    }
}
