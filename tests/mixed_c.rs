//! A real multi-file C program migrated one file at a time, running and validated at every
//! step (issue "Mixed builds"): figlet 2.2.5 from Debian (tests/corpus), with the real decy.
//!
//! The first build bridges every file whose Rust does not compile or does not stand in for
//! it at the C ABI, links the program, and it prints what the original prints, case by
//! case. Then one file (crc.c) is ported by hand, exporting its function with the C ABI:
//! the C that stays C (zipio.c) calls it when it reads a zipped font, and the program still
//! matches; the Rust `main` calls C's, and the port's own test calls utf8.c through the
//! bindings bindgen makes from the project's headers. A wrong port is caught by the check.

use std::io::Write as _;
use std::path::Path;

use serde_json::Value;

mod common;

use common::{Files, summary};

const SOURCES: [&str; 5] = ["figlet.c", "zipio.c", "crc.c", "inflate.c", "utf8.c"];

const MANIFEST: &str = r#"version: 1
project: { name: figlet, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      c: { rule: decy, each: "{figlet,zipio,crc,inflate,utf8}.c", out: "src/{stem}.rs", fallback: bridge HAND }
      crate:
        builtin: assemble
        inputs: ["rust/src/**/*.rs", "legacy/*.h"]
        outputs: [rust/Cargo.toml, rust/src/main.rs, rust/build.rs]
        with: { name: figlet, bridge: { defines: { TLF_FONTS: null } } }
      original:
        run: [cc, -w, -DTLF_FONTS, -o, original/figlet, legacy/figlet.c, legacy/zipio.c, legacy/crc.c, legacy/inflate.c, legacy/utf8.c]
        inputs: ["legacy/*.c", "legacy/*.h"]
        outputs: [original/figlet]
  build:
    needs: [transpile]
    builtin: cargo-build
    with: { profile: dev }
    outputs: [dist/figlet, dist/manifest.json]
  validate:
    needs: [build]
    tasks:
      tests:
        builtin: cargo-test
        inputs: [rust/Cargo.toml, "rust/src/**/*.rs", rust/build.rs, "legacy/*.c", "legacy/*.h"]
      same:
        builtin: compare-outputs
        inputs: [original/figlet, dist/figlet, legacy/fonts/standard.flf, legacy/fonts/zipped.flf]
        with:
          original: [original/figlet, -d, legacy/fonts]
          migrated: [dist/figlet, -d, legacy/fonts]
          cases:
            - { name: hello, args: [Hello] }
            - { name: centred, args: [-c, -w, "60", batuta] }
            - { name: kerned, args: [-k, Rust] }
            - { name: zipped font, args: [-f, zipped, Zip] }
"#;

/// crc.c by hand: the table computed, `CrcUpdate` exported under its C name.
const CRC_RS: &str = r#"//! crc.c, ported by hand. `CrcUpdate` keeps its C name and ABI: zipio.c, still C, calls it.

use std::ffi::{c_long, c_uchar, c_ulong};

const fn table() -> [c_ulong; 256] {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as c_ulong;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [c_ulong; 256] = table();

/// # Safety
/// `buffer` points at `length` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CrcUpdate(mut crc: c_ulong, buffer: *const c_uchar, length: c_long) -> c_ulong {
    let bytes = if length <= 0 {
        &[][..]
    } else {
        // SAFETY: the caller passes `length` bytes at `buffer`.
        unsafe { std::slice::from_raw_parts(buffer, length as usize) }
    };
    for &b in bytes {
        crc = TABLE[((crc ^ c_ulong::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    /// The port computes zip's CRC-32; and Rust reaches C that is still C (utf8.c) through
    /// the bindings batuta has bindgen make from the project's headers.
    #[test]
    fn crc32_and_a_call_into_c() {
        // SAFETY: three readable bytes.
        let crc = unsafe { super::CrcUpdate(0xffff_ffff, b"abc".as_ptr(), 3) } ^ 0xffff_ffff;
        assert_eq!(crc, 0x3524_41c2);
        let text = "h\u{e9}llo";
        let mut wide = [0 as crate::c_bridge::wchar_t; 16];
        // SAFETY: `text` holds its length in bytes; `wide` has room for 16 characters.
        let n = unsafe {
            crate::c_bridge::utf8_to_wchar(text.as_ptr().cast(), text.len(), wide.as_mut_ptr(), 16, 0)
        };
        assert_eq!(n, 5);
        assert_eq!(wide[1], 0xe9);
    }
}
"#;

fn workspace() -> Files {
    let ws = Files::new(&MANIFEST.replace(" HAND", ""), &[]);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/figlet-2.2.5");
    for f in SOURCES
        .iter()
        .chain(&["crc.h", "zipio.h", "inflate.h", "utf8.h"])
    {
        std::fs::create_dir_all(ws.path("legacy")).unwrap();
        std::fs::copy(corpus.join(f), ws.path(&format!("legacy/{f}"))).unwrap();
    }
    std::fs::create_dir_all(ws.path("legacy/fonts")).unwrap();
    let font = std::fs::read(corpus.join("fonts/standard.flf")).unwrap();
    std::fs::write(ws.path("legacy/fonts/standard.flf"), &font).unwrap();
    // The same font deflated in a zip archive, which figlet reads through zipio.c and
    // inflate.c, checking each entry's CRC with crc.c's CrcUpdate.
    let zip = python_zip(&font);
    std::fs::write(ws.path("legacy/fonts/zipped.flf"), zip).unwrap();
    ws
}

/// A zip archive holding `font` as `zipped.flf`, deflated (python3's zipfile).
fn python_zip(font: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import io,sys,zipfile\nb=io.BytesIO()\nwith zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED) as z: z.writestr('zipped.flf', sys.stdin.buffer.read())\nsys.stdout.buffer.write(b.getvalue())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(font).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn outcome<'a>(ev: &'a [Value], id: &str) -> &'a str {
    ev.iter()
        .find(|e| e["event"] == "action" && e["id"] == id)
        .and_then(|e| e["outcome"].as_str())
        .unwrap_or_else(|| panic!("no outcome for {id}: {ev:#?}"))
}

fn row<'a>(rows: &'a [Value], source: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["source"] == source)
        .unwrap_or_else(|| panic!("no row for {source}: {rows:#?}"))
}

#[test]
fn a_c_program_runs_bridged_then_with_one_file_ported_by_hand() {
    let ws = workspace();
    let (_, ev) = ws.build_json(&["--keep-going"]);
    // Whatever decy made of each file, the program links and prints what the original does.
    assert_eq!(outcome(&ev, "build/build"), "executed", "{ev:#?}");
    assert!(
        !ws.read("rust/build.rs").contains("bindgen"),
        "no Rust calls C yet: no bindings to build"
    );
    assert_eq!(outcome(&ev, "validate/same"), "executed", "{ev:#?}");
    let report = ev
        .iter()
        .find(|e| e["event"] == "report" && e["id"] == "validate/same")
        .unwrap();
    assert!(
        report["text"]
            .as_str()
            .unwrap()
            .starts_with("4 cases, all the same"),
        "{report}"
    );
    let all = ws.file_rows();
    for s in SOURCES {
        let r = row(&all, &format!("legacy/{s}"));
        assert_eq!(r["compile"]["state"], "bridged", "{r}");
    }
    // The program's main stays in C; build.rs compiles the C with the project's macro.
    let main_rs = ws.read("rust/src/main.rs");
    assert!(main_rs.contains("fn batuta_c_main("), "{main_rs}");
    assert!(ws.read("rust/build.rs").contains("b.define(\"TLF_FONTS\""));

    // Port crc.c by hand: one manifest edit and one file.
    ws.write("rust/src/crc.rs", CRC_RS);
    ws.write(
        "batuta.yaml",
        &MANIFEST.replace(" HAND", ", hand_ported: [crc.c]"),
    );
    let (code, ev) = ws.build_json(&["--keep-going"]);
    assert_eq!(outcome(&ev, "build/build"), "executed", "{ev:#?}");
    assert_eq!(outcome(&ev, "validate/same"), "executed", "{ev:#?}");
    let all = ws.file_rows();
    let crc = row(&all, "legacy/crc.c");
    assert_eq!(crc["origin"], "hand-ported", "{crc}");
    assert_eq!(crc["compile"]["state"], "ok", "{crc}");
    assert_eq!(row(&all, "legacy/zipio.c")["compile"]["state"], "bridged");
    let main_rs = ws.read("rust/src/main.rs");
    assert!(main_rs.contains("pub mod crc;"), "{main_rs}");
    assert!(main_rs.contains("pub mod c_bridge"), "{main_rs}");
    let build_rs = ws.read("rust/build.rs");
    assert!(!build_rs.contains("legacy/crc.c"), "{build_rs}");
    assert!(
        build_rs.contains("allowlist_function(\"utf8_to_wchar\")"),
        "{build_rs}"
    );
    // The port's own test ran, through the bindings into utf8.c.
    assert_eq!(outcome(&ev, "validate/tests"), "executed", "{ev:#?}");
    let failed: Vec<&Value> = ev.iter().filter(|e| e["outcome"] == "failed").collect();
    assert!(
        failed
            .iter()
            .all(|e| e["id"].as_str().unwrap().starts_with("transpile/c:")),
        "only decy's files may fail: {failed:#?}"
    );
    assert_eq!(code, i32::from(!failed.is_empty()));

    // A wrong port (an index past the table: a panic, which aborts at the C ABI) shows in
    // the one case that reads a zipped font, and the comparison says which. (A CRC that
    // is merely wrong would not show: figlet never reads Zclose's verdict.)
    ws.write(
        "rust/src/crc.rs",
        &CRC_RS.replace("& 0xff) as usize", "& 0x1ff) as usize"),
    );
    let (code, ev) = ws.build_json(&["--keep-going"]);
    assert_eq!(code, 1);
    let same = ev
        .iter()
        .find(|e| e["event"] == "action" && e["id"] == "validate/same")
        .unwrap();
    assert_eq!(same["outcome"], "failed", "{same}");
    assert_eq!(same["code"], "BATUTA-V-001");
    assert!(
        same["message"]
            .as_str()
            .unwrap()
            .contains("1 of 4 cases: zipped font"),
        "{same}"
    );
    let _ = summary(&ev);
}
