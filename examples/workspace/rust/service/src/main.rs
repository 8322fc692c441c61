//! The service, ported by hand: it calls the codec project's crate where the Python called
//! libcodec through ctypes.

mod service;

fn main() {
    service::main();
}
