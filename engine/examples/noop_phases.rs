//! Times each phase of a no-op build of the workspace whose manifest is given, through the
//! engine's API (run it twice: the first run writes the database the second one reads).
//! `cargo run --release -p batuta-engine --example noop_phases -- PATH/batuta.yaml`

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use batuta_engine::db::{Selection, Workspace};
use batuta_engine::exec::{self, Event, Job, Progress};
use batuta_engine::manifest::Catalog;
use batuta_engine::rule::NoRules;

struct Quiet;
impl Progress for Quiet {
    fn event(&self, _: Event<'_>) {}
}

fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("a manifest"));
    let t = Instant::now();
    let lap = |what: &str| eprintln!("{:>8.2} ms  {what}", t.elapsed().as_secs_f64() * 1e3);
    let mut ws = Workspace::open(&path, Selection::Target(None), Catalog::EMPTY).unwrap();
    lap("database opened (file read, inputs set, tree checked)");
    let m = ws.manifest().unwrap();
    lap("manifest loaded");
    let e = ws.expansion().unwrap();
    lap("graph");
    let fp = ws.fingerprints(&m, &e.graph, &NoRules);
    lap("fingerprints");
    let mut session = exec::Session::open(&m.root);
    lap("journal loaded");
    let opts = exec::Options {
        jobs: 2,
        keep_going: false,
        cache_dir: m.root.join(".batuta/cache"),
        modules: Vec::new(),
        only: None,
        remote: None,
        writes: None,
    };
    let cancel = AtomicBool::new(false);
    let s = session.build(&Job {
        manifest: &m,
        graph: &e.graph,
        fingerprints: &fp.0,
        options: &opts,
        rules: &NoRules,
        progress: &Quiet,
        cancel: &cancel,
        known_fresh: None,
    });
    lap(&format!(
        "built: {} executed, {} up to date",
        s.executed, s.up_to_date
    ));
    ws.save().unwrap();
    lap("saved");
}
