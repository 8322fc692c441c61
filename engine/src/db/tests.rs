use std::collections::BTreeMap;
use std::path::Path;

use salsa::Setter;

use super::*;
use crate::rule::NoRules;

/// A manifest of one task copying each `src/*.py`; the watch tests start from it too.
pub(crate) const MANIFEST: &str = "version: 1
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
    assert!(
        !derived,
        "a no-op re-derives nothing: {:?}",
        ws.take_warning()
    );
    assert_eq!(first, again);
    assert!(ws.take_warning().is_none());

    // A new source file: the folder changed, so the graph is expanded again.
    std::fs::write(dir.path().join("src/c.py"), "c").unwrap();
    let (_, grown, derived) = derive(&path);
    assert!(derived);
    assert_eq!(grown.0.len(), 3);
}

#[test]
fn expanding_again_after_a_new_file_lists_only_its_folder() {
    let dir = workspace();
    let path = dir.path().join("batuta.yaml");
    std::fs::write(
        &path,
        MANIFEST.replace(
            "each: '*.py', out: '{stem}.txt'",
            "each: '**/*.py', out: '{path}.txt'",
        ),
    )
    .unwrap();
    for d in ["src/one", "src/two"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
        std::fs::write(dir.path().join(d).join("m.py"), "m").unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(60));
    let (ws, first, _) = derive(&path);
    assert_eq!(first.0.len(), 4);
    assert_eq!(ws.db().listings().reads(), 3, "src, src/one, src/two");

    // Kept on disk with the database: the next run, after a file came in src/two, reads
    // that folder alone.
    std::fs::write(dir.path().join("src/two/n.py"), "n").unwrap();
    let (ws, grown, derived) = derive(&path);
    assert!(derived);
    assert_eq!(grown.0.len(), 5);
    assert_eq!(ws.db().listings().reads(), 1);
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

mod agreement {
    //! Build and watch agree on every key: for random workspaces, the keys a build recorded
    //! (exec's path: fingerprint and the inputs' digests through the stat cache) are the
    //! keys the database gives watch (its tracked per-action keys over registered sources),
    //! from a database saved by the build and loaded again.

    use std::sync::atomic::AtomicBool;

    use proptest::prelude::*;

    use super::super::*;
    use super::CATALOG;
    use crate::exec::{self, Event, Job, Progress};
    use crate::rule::NoRules;

    struct Quiet;
    impl Progress for Quiet {
        fn event(&self, _: Event<'_>) {}
    }

    /// A task template: how each file is turned into an output, and whether a second task
    /// reads what the first wrote (an action whose key only the build can know).
    fn manifest(glob: &str, out: &str, env: bool, reader: bool) -> String {
        let mut m = format!(
            "version: 1\nproject: {{ name: t, source: src, output: out }}\nstages:\n  transpile:\n    tasks:\n      copy: {{ run: [cp, '{{in}}', '{{out}}'], each: '{glob}', out: '{out}'{} }}\n",
            if env {
                ", env: [BATUTA_AGREEMENT_TEST]"
            } else {
                ""
            }
        );
        if reader {
            m.push_str("  build:\n    needs: [transpile]\n    tasks:\n      all: { run: [sh, -c, 'find out -name \"*.txt\" | sort | xargs cat > total'], inputs: ['out/**/*.txt'], outputs: [total] }\n");
        }
        m
    }

    fn tree() -> impl Strategy<Value = Vec<(String, String)>> {
        let name = prop::sample::select(vec!["a", "b", "c", "main", "util", "x_1"]);
        let dir = prop::sample::select(vec!["", "pkg/", "pkg/sub/", "other/"]);
        let ext = prop::sample::select(vec!["py", "sh", "txt"]);
        prop::collection::btree_map(
            (dir, name, ext).prop_map(|(d, n, e)| format!("{d}{n}.{e}")),
            "[a-z ]{0,12}",
            1..8,
        )
        .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn build_and_watch_agree_on_every_key(
            files in tree(),
            glob in prop::sample::select(vec!["**/*.py", "**/*", "*.txt", "pkg/**/*.sh"]),
            out in prop::sample::select(vec!["{path}.txt", "{dir}/{stem}.txt", "gen/{stem}.{ext}.txt"]),
            env in any::<bool>(),
            reader in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            for (p, c) in &files {
                let p = dir.path().join("src").join(p);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, c).unwrap();
            }
            let path = dir.path().join("batuta.yaml");
            std::fs::write(&path, manifest(glob, out, env, reader)).unwrap();
            // Two files may map to one output: a manifest error, not this test's subject.
            let Ok(mut ws) = Workspace::open(&path, Selection::Target(None), CATALOG) else {
                return Ok(());
            };
            let (Ok(m), Ok(e)) = (ws.manifest(), ws.expansion()) else {
                return Ok(());
            };
            let fp = ws.fingerprints(&m, &e.graph, &NoRules);
            let opts = exec::Options {
                jobs: 2,
                keep_going: true,
                cache_dir: dir.path().join("cache"),
                modules: Vec::new(),
                only: None,
                remote: None,
                writes: None,
            };
            let mut session = exec::Session::open(&m.root);
            let s = session.build(&Job {
                manifest: &m,
                graph: &e.graph,
                fingerprints: &fp.0,
                options: &opts,
                rules: &NoRules,
                progress: &Quiet,
                cancel: &AtomicBool::new(false),
                known_fresh: None,
            });
            prop_assert_eq!(s.failed, 0, "{:?}", s.failures);
            ws.save().unwrap();
            drop(ws);

            // Watch's side: the database loaded again, the sources registered.
            let mut ws = Workspace::open(&path, Selection::Target(None), CATALOG).unwrap();
            let e = ws.expansion().unwrap();
            let m = ws.manifest().unwrap();
            ws.fingerprints(&m, &e.graph, &NoRules);
            for p in source_paths(&e.graph).map(str::to_owned).collect::<Vec<_>>() {
                let d = session.digest(&m.root, &p).unwrap();
                ws.set_source(&p, d);
            }
            let mut compared = 0;
            for (i, a) in e.graph.actions.iter().enumerate() {
                let recorded = session.record(&a.id).map(|r| r.key);
                match ws.action_key(i) {
                    Some(k) => {
                        prop_assert_eq!(Some(k), recorded, "{}", a.id);
                        compared += 1;
                    }
                    // Only an action reading another's output has no key before the build.
                    None => prop_assert!(e.graph.file_deps(i).next().is_some(), "{}", a.id),
                }
            }
            prop_assert!(compared > 0 || e.graph.actions.iter().all(|a| a.id.starts_with("build/")));
        }
    }
}

/// Projects are expanded on rayon's threads: the folders they walk are still seen, so a
/// file added to one project's source expands the graph again.
#[test]
fn a_file_added_to_a_project_of_a_workspace_expands_again() {
    let dir = tempfile::tempdir().unwrap();
    for p in ["one", "two", "three"] {
        std::fs::create_dir_all(dir.path().join(p)).unwrap();
        std::fs::write(dir.path().join(p).join("a.py"), p).unwrap();
    }
    std::fs::write(
        dir.path().join("batuta.yaml"),
        "version: 1
projects:
  one: { source: one, output: out/one }
  two: { source: two, output: out/two }
  three: { source: three, output: out/three }
stages:
  transpile:
    tasks:
      copy: { run: [cp, '{in}', '{out}'], each: '*.py', out: '{stem}.txt' }
",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(60));
    let path = dir.path().join("batuta.yaml");
    let (_, first, derived) = derive(&path);
    assert!(derived);
    assert_eq!(first.0.len(), 3);
    let (_, _, derived) = derive(&path);
    assert!(!derived, "a no-op re-derives nothing");
    for p in ["one", "two", "three"] {
        std::fs::write(dir.path().join(p).join("b.py"), p).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(60));
        let (_, grown, derived) = derive(&path);
        assert!(derived, "a file added to {p}");
        let e = Workspace::open(&path, Selection::Target(None), CATALOG)
            .unwrap()
            .expansion()
            .unwrap();
        assert!(
            e.graph
                .actions
                .iter()
                .any(|a| a.id.ends_with(&format!("{p}/b.py"))
                    || a.inputs.iter().any(|i| i == &format!("{p}/b.py"))),
            "{p}/b.py has its action: {:?}",
            e.graph.actions.iter().map(|a| &a.id).collect::<Vec<_>>()
        );
        assert!(grown.0.len() > 3);
    }
}
