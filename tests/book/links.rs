//! Every link of the built guide leads somewhere: a relative link to a file that mdbook
//! wrote, and a `#fragment` to an element with that id in its page. Links out of the guide
//! (`https://…`) are listed, not followed: the tests open no connection.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// The broken links of the HTML pages under `out`, as `page: link (why)`.
pub fn broken(out: &Path) -> Vec<String> {
    let pages = html_files(out);
    let href = regex::Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    let id = regex::Regex::new(r#"\bid="([^"]*)""#).unwrap();
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = Vec::new();
    for p in &pages {
        let text = std::fs::read_to_string(p).unwrap();
        ids.insert(
            p.clone(),
            id.captures_iter(&text).map(|c| c[1].to_owned()).collect(),
        );
        texts.push((p.clone(), text));
    }
    let mut bad = Vec::new();
    for (page, text) in &texts {
        for c in href.captures_iter(text) {
            let link = decode(&c[1].replace("&amp;", "&"));
            if link.is_empty()
                || ["http://", "https://", "mailto:", "javascript:", "data:"]
                    .iter()
                    .any(|s| link.starts_with(s))
            {
                continue;
            }
            let (path, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let path = path.split('?').next().unwrap_or("");
            let target = if path.is_empty() {
                page.clone()
            } else {
                normalise(&page.parent().unwrap().join(path))
            };
            let rel = page.strip_prefix(out).unwrap_or(page).display();
            if !target.exists() {
                bad.push(format!("{rel}: {link} (no such file)"));
                continue;
            }
            let target = if target.is_dir() {
                target.join("index.html")
            } else {
                target
            };
            if let Some(f) = fragment.filter(|f| !f.is_empty()) {
                let known = ids.get(&target).is_some_and(|ids| ids.contains(f));
                if target.extension().is_some_and(|e| e == "html") && !known {
                    bad.push(format!("{rel}: {link} (no element with id '{f}')"));
                }
            }
        }
    }
    bad
}

fn html_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// `%20` and the like, as a browser reads a link.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_checker_finds_a_missing_page_and_a_missing_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let w = |p: &str, t: &str| {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    w(
        "a.html",
        r##"<a href="b/c.html#x">ok</a><a href="b/c.html#y">no id</a><a href="gone.html">gone</a><a href="https://example.org/">out</a><a href="#top">self</a><h1 id="top">t</h1>"##,
    );
    w(
        "b/c.html",
        r#"<p id="x"><a href="../a%2Ehtml">back</a></p>"#,
    );
    let bad = broken(dir.path());
    assert_eq!(
        bad,
        [
            "a.html: b/c.html#y (no element with id 'y')",
            "a.html: gone.html (no such file)"
        ]
    );
}
