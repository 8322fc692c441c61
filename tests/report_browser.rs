//! The HTML report in a real browser: headless Chromium opens the page a small migration's
//! `batuta report --format html` wrote, with every host name unresolvable, and
//! - its DOM (after layout and any script, which there is none) holds the board and every chart;
//! - a screenshot shows each chart's bars drawn at their full size;
//! - printing it gives a PDF.
//!
//! Chromium is required: without it the test fails and says how to install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::browser::browse;

const MANIFEST: &str = r#"version: 1
project: { name: browser, source: src, output: out }
stages:
  analyze:
    builtin: analyze
  transpile:
    needs: [analyze]
    tasks:
      copy: { run: [cp, "{in}", "{out}"], each: "*.sh", out: "{stem}.sh" }
  validate:
    needs: [transpile]
    tasks:
      same-output:
        builtin: compare-outputs
        inputs: [src/hello.sh, out/hello.sh]
        outputs: [validation/same-output.json]
        with:
          original: [sh, src/hello.sh]
          migrated: [sh, out/hello.sh]
      speed:
        builtin: bench
        inputs: [src/hello.sh, out/hello.sh]
        outputs: [validation/speed.json]
        with:
          original: [sh, src/hello.sh]
          migrated: [sh, out/hello.sh]
          runs: 3
          warmup: 0
  build:
    needs: [validate]
    tasks:
      dist: { run: [cp, out/hello.sh, dist/hello.sh], inputs: [out/hello.sh], outputs: [dist/hello.sh] }
"#;

const MODEL_PY: &str = "import numpy as np\n\n\
def score(a, b):\n    \"\"\"Dot product plus a determinant.\"\"\"\n    return np.dot(a, b) + np.linalg.det(a)\n";

/// The charts the page draws for this workspace, by their SVG ids.
const CHARTS: [&str; 6] = [
    "progress",
    "languages",
    "tdg",
    "transpile-outcomes",
    "speedups",
    "history",
];

fn batuta(ws: &common::Files, args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .args(args)
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .env_remove("BATUTA_CONFIG")
        .output()
        .unwrap()
}

/// A successful migration with every section filled, and its HTML report.
fn report() -> (common::Files, PathBuf) {
    let ws = common::Files::new(
        MANIFEST,
        &[
            ("src/hello.sh", "echo hello 2.5\n"),
            ("src/model.py", MODEL_PY),
        ],
    );
    let out = batuta(&ws, &["build"]);
    assert!(out.status.success(), "{out:?}");
    let out = batuta(&ws, &["report", "--format", "html", "-o", "report.html"]);
    assert!(out.status.success(), "{out:?}");
    let page = ws.path("report.html");
    (ws, page)
}

/// The text of the first element that starts with `open`, up to its closing `tag`.
fn element<'a>(dom: &'a str, open: &str, tag: &str) -> &'a str {
    let start = dom
        .find(open)
        .unwrap_or_else(|| panic!("{open} is not in the page:\n{dom}"));
    let end = start
        + dom[start..]
            .find(&format!("</{tag}>"))
            .unwrap_or_else(|| panic!("{open} is not closed"));
    &dom[start..end]
}

/// A number attribute of an element's start tag.
fn attr(tag: &str, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let at = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len();
    let len = tag[at..].find('"').unwrap();
    tag[at..at + len].parse().unwrap()
}

#[test]
fn the_page_renders_the_board_and_the_charts_offline() {
    let (_ws, page) = report();
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no address to fetch anything from, in any form.
    for needle in [
        "http://", "https://", "<script", "<link", "<img", "<iframe", "url(", "@import",
    ] {
        assert!(!html.contains(needle), "the page holds {needle}");
    }

    // The DOM as the browser built it, with time for anything that would load later.
    let dom = browse(&page, &["--virtual-time-budget=5000", "--dump-dom"]);
    let dom = String::from_utf8(dom.stdout).unwrap();
    let board = element(&dom, "<table id=\"board\">", "table");
    let rows: Vec<&str> = board.split("<tr").skip(2).collect();
    assert_eq!(rows.len(), 5, "five phases:\n{board}");
    for (row, phase) in rows.iter().zip([
        "Analysis",
        "Transpilation",
        "Optimization",
        "Validation",
        "Deployment",
    ]) {
        assert!(row.contains(&format!("<td>{phase}</td>")), "{row}");
    }
    assert!(rows[1].starts_with(" class=\"completed\""), "{}", rows[1]);
    assert!(rows[2].starts_with(" class=\"not-started\""), "{}", rows[2]);
    assert!(
        element(&dom, "<table id=\"ml-operations\">", "table").contains("unmapped"),
        "numpy.linalg.det has no mapping"
    );
    // Every chart is there with bars of a real size.
    let mut painted: Vec<(String, f64)> = Vec::new();
    for id in CHARTS {
        let svg = element(&dom, &format!("<svg id=\"{id}\""), "svg");
        assert!(
            attr(svg, "width") > 0.0 && attr(svg, "height") > 0.0,
            "{svg}"
        );
        let bars: Vec<&str> = svg.split("<rect class=\"bar\"").skip(1).collect();
        assert!(!bars.is_empty(), "chart {id} has no bars:\n{svg}");
        for bar in bars {
            let (w, h) = (attr(bar, "width"), attr(bar, "height"));
            assert!(w > 0.0 && h > 0.0, "{id}: {bar}");
            let fill = bar.split("fill=\"").nth(1).unwrap();
            let fill = fill[..fill.find('"').unwrap()].to_owned();
            // The pixels certainly inside the bar, whatever its edges' antialiasing.
            let inner = (w - 2.0).max(0.0).floor() * (h - 2.0).max(0.0).floor();
            painted.push((fill, inner));
        }
    }

    // The screenshot: each colour covers at least the inside of the bars drawn in it.
    let shot = tempfile::tempdir().unwrap();
    let png_path = shot.path().join("page.png");
    browse(
        &page,
        &[
            "--window-size=1200,5000",
            &format!("--screenshot={}", png_path.display()),
        ],
    );
    let pixels = png_pixels(&png_path);
    let mut colours: Vec<&str> = painted.iter().map(|(c, _)| c.as_str()).collect();
    colours.sort_unstable();
    colours.dedup();
    for colour in colours {
        let expected: f64 = painted
            .iter()
            .filter(|(c, _)| c == colour)
            .map(|(_, a)| a)
            .sum();
        let rgb = hex(colour);
        let seen = pixels.iter().filter(|p| **p == rgb).count() as f64;
        assert!(
            seen >= expected,
            "{colour}: {seen} pixels on screen, the bars' insides alone make {expected}"
        );
    }
    // Most of the page is not blank.
    let white = pixels.iter().filter(|p| **p == [255, 255, 255]).count();
    assert!(white < pixels.len(), "a blank screenshot");
}

#[test]
fn the_page_prints() {
    let (_ws, page) = report();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("@media print{"), "a print stylesheet");
    let dir = tempfile::tempdir().unwrap();
    let pdf_path = dir.path().join("page.pdf");
    browse(
        &page,
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf_path.display()),
        ],
    );
    let pdf = std::fs::read(&pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let text = String::from_utf8_lossy(&pdf);
    let pages: u32 = text
        .split("/Count ")
        .skip(1)
        .filter_map(|t| {
            t.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
        })
        .max()
        .expect("a page count");
    assert!((1..=10).contains(&pages), "{pages} pages");
}

/// `#1a7f37` → `[0x1a, 0x7f, 0x37]`.
fn hex(colour: &str) -> [u8; 3] {
    let v = u32::from_str_radix(colour.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// The screenshot's pixels as RGB.
fn png_pixels(path: &Path) -> Vec<[u8; 3]> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf[..info.buffer_size()]
        .chunks_exact(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}
