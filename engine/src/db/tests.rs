use std::collections::BTreeMap;
use std::path::Path;

use salsa::Setter;

use super::*;
use crate::rule::NoRules;

const MANIFEST: &str = "version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      copy: { run: [cp, '{in}', '{out}'], each: '*.py', out: '{stem}.txt' }
";

const CATALOG: Catalog = Catalog::EMPTY;

/// A database that records which queries salsa executed.
fn logging() -> (Database, Arc<Mutex<Vec<String>>>) {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = log.clone();
    let mut db = Database::new(CATALOG);
    db.storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
        if let salsa::EventKind::WillExecute { database_key } = event.kind {
            sink.lock().unwrap().push(format!("{database_key:?}"));
        }
    })));
    (db, log)
}

fn executed(log: &Mutex<Vec<String>>, query: &str) -> usize {
    let mut log = log.lock().unwrap();
    let n = log.iter().filter(|e| e.contains(query)).count();
    log.clear();
    n
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Database,
    log: Arc<Mutex<Vec<String>>>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    for f in ["a.py", "b.py"] {
        std::fs::write(dir.path().join("src").join(f), f).unwrap();
    }
    let (mut db, log) = logging();
    let path = dir.path().join("batuta.yaml");
    ManifestInput::new(&db, path, MANIFEST.to_owned(), Selection::Target(None));
    Tree::new(&db, 0);
    KeyInputs::new(&db, BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    db.set_source("src/a.py", Some(Digest::of(b"a")));
    db.set_source("src/b.py", Some(Digest::of(b"b")));
    Fixture { _dir: dir, db, log }
}

fn keys(f: &Fixture) -> Vec<Option<Digest>> {
    (0..2)
        .map(|i| action_key(&f.db, ActionIndex::new(&f.db, i)))
        .collect()
}

#[test]
fn every_action_of_a_plain_manifest_has_a_key_before_the_build() {
    let f = fixture();
    let k = keys(&f);
    assert!(k.iter().all(Option::is_some));
    assert_ne!(k[0], k[1]);
}

#[test]
fn an_edit_to_one_source_recomputes_one_key() {
    let mut f = fixture();
    let before = keys(&f);
    executed(&f.log, "action_key");
    f.db.set_source("src/a.py", Some(Digest::of(b"a, edited")));
    let after = keys(&f);
    assert_eq!(executed(&f.log, "action_key"), 1);
    assert_ne!(before[0], after[0]);
    assert_eq!(before[1], after[1]);
}

#[test]
fn setting_an_equal_digest_recomputes_nothing() {
    let mut f = fixture();
    keys(&f);
    executed(&f.log, "action_key");
    f.db.set_source("src/a.py", Some(Digest::of(b"a")));
    keys(&f);
    assert_eq!(executed(&f.log, "action_key"), 0);
}

#[test]
fn early_cutoff_a_comment_in_the_manifest_reexpands_but_recomputes_no_key() {
    let mut f = fixture();
    let before = keys(&f);
    executed(&f.log, "action_key");
    let m = ManifestInput::get(&f.db);
    m.set_text(&mut f.db).to(format!("# a comment\n{MANIFEST}"));
    let after = keys(&f);
    let log = f.log.lock().unwrap().clone();
    assert!(log.iter().any(|e| e.contains("action_graph")), "{log:?}");
    assert_eq!(executed(&f.log, "action_key"), 0);
    assert_eq!(before, after);
}

#[test]
fn a_changed_command_changes_every_key() {
    let mut f = fixture();
    let before = keys(&f);
    let m = ManifestInput::get(&f.db);
    m.set_text(&mut f.db)
        .to(MANIFEST.replace("[cp,", "[cp, -p,"));
    let after = keys(&f);
    assert_ne!(before[0], after[0]);
    assert_ne!(before[1], after[1]);
}

#[test]
fn a_missing_source_or_a_broken_manifest_gives_no_key() {
    let mut f = fixture();
    f.db.set_source("src/a.py", None);
    assert_eq!(action_key(&f.db, ActionIndex::new(&f.db, 0)), None);
    let m = ManifestInput::get(&f.db);
    m.set_text(&mut f.db).to("version: [".to_owned());
    assert_eq!(action_key(&f.db, ActionIndex::new(&f.db, 1)), None);
    assert!(matches!(action_graph(&f.db), Expanded(Err(_))));
}

/// A workspace on disk: the manifest above and two sources.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    for f in ["a.py", "b.py"] {
        std::fs::write(dir.path().join("src").join(f), f).unwrap();
    }
    std::fs::write(dir.path().join("batuta.yaml"), MANIFEST).unwrap();
    // Settle: a tree observed within a clock tick of its last change is not trusted.
    std::thread::sleep(std::time::Duration::from_millis(60));
    dir
}

/// Open, derive everything a build needs, save; say whether anything was derived.
fn derive(path: &Path) -> (Workspace, Fingerprints, bool) {
    let mut ws = Workspace::open(path, Selection::Target(None), CATALOG).unwrap();
    let m = ws.manifest().unwrap();
    let e = ws.expansion().unwrap();
    let fp = ws.fingerprints(&m, &e.graph, &NoRules);
    let derived = ws.derived();
    ws.save().unwrap();
    (ws, fp, derived)
}

fn file(dir: &Path) -> std::path::PathBuf {
    dir.join(".batuta/db")
        .join(Selection::Target(None).file_name())
}

#[test]
fn a_saved_database_answers_the_next_run_without_deriving_anything() {
    let dir = workspace();
    let path = dir.path().join("batuta.yaml");
    let (_, first, derived) = derive(&path);
    assert!(derived);
    assert_eq!(first.0.len(), 2);
    let (mut ws, again, derived) = derive(&path);
    assert!(!derived, "a no-op re-derives nothing");
    assert_eq!(first, again);
    assert!(ws.take_warning().is_none());

    // A new source file: the folder changed, so the graph is expanded again.
    std::fs::write(dir.path().join("src/c.py"), "c").unwrap();
    let (_, grown, derived) = derive(&path);
    assert!(derived);
    assert_eq!(grown.0.len(), 3);
}

#[test]
fn a_damaged_or_cut_database_is_discarded_with_one_warning_and_never_misleads() {
    let dir = workspace();
    let path = dir.path().join("batuta.yaml");
    let (_, good, _) = derive(&path);
    let saved = std::fs::read(file(dir.path())).unwrap();
    // Every byte flipped, and the file cut at every length (a kill mid-write, had the
    // write not been atomic): each either loads whole or is discarded with a warning; the
    // fingerprints are always the right ones.
    let step = (saved.len() / 200).max(1);
    for at in (0..saved.len()).step_by(step) {
        for bytes in [
            {
                let mut b = saved.clone();
                b[at] ^= 0x10;
                b
            },
            saved[..at].to_vec(),
        ] {
            std::fs::write(file(dir.path()), &bytes).unwrap();
            let mut ws = Workspace::open(&path, Selection::Target(None), CATALOG).unwrap();
            let warning = ws.take_warning();
            assert!(warning.is_some(), "damage at byte {at} went unnoticed");
            let m = ws.manifest().unwrap();
            let e = ws.expansion().unwrap();
            assert_eq!(ws.fingerprints(&m, &e.graph, &NoRules), good, "at {at}");
        }
    }
    // The whole file again loads, silently.
    std::fs::write(file(dir.path()), &saved).unwrap();
    let mut ws = Workspace::open(&path, Selection::Target(None), CATALOG).unwrap();
    assert!(ws.take_warning().is_none());
}

#[test]
fn a_database_from_another_binary_is_not_read() {
    let dir = workspace();
    let path = dir.path().join("batuta.yaml");
    derive(&path);
    let mut bytes = std::fs::read(file(dir.path())).unwrap();
    bytes[8] ^= 1; // the binary's name, right after the magic
    std::fs::write(file(dir.path()), &bytes).unwrap();
    let mut ws = Workspace::open(&path, Selection::Target(None), CATALOG).unwrap();
    let w = ws.take_warning().unwrap();
    assert!(w.contains("another build of batuta"), "{w}");
}
