//! JUnit XML, the format CI systems show test results in: written per cargo-test action,
//! and merged across actions for `batuta build --junit PATH`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::libtest::{Outcome, Suite};

/// Where a cargo-test action leaves its JUnit report whatever the outcome: a failed
/// action's declared outputs are discarded, yet CI wants to see exactly that report.
pub fn last_run_path(root: &Path, action: &str) -> PathBuf {
    crate::last_run::path(root, "junit", action, "xml")
}

/// A build error instead of test results: the crate did not compile or the runner died.
pub struct Error<'a> {
    pub message: &'a str,
    pub output: &'a str,
}

/// The report for one cargo-test action.
pub fn write(name: &str, suites: &[Suite], error: Option<Error<'_>>) -> Vec<u8> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing to a Vec cannot fail.
    let mut put = |e: Event<'_>| {
        let _ = w.write_event(e);
    };
    put(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let count = |o| suites.iter().map(|s| s.count(o)).sum::<usize>();
    let tests = suites.iter().map(|s| s.cases.len()).sum::<usize>() + usize::from(error.is_some());
    put(Event::Start(attrs(
        "testsuites",
        &[
            ("name", name.into()),
            ("tests", tests.to_string().into()),
            ("failures", count(Outcome::Failed).to_string().into()),
            ("errors", usize::from(error.is_some()).to_string().into()),
            ("skipped", count(Outcome::Ignored).to_string().into()),
        ],
    )));
    for s in suites {
        put(Event::Start(attrs(
            "testsuite",
            &[
                ("name", s.name.as_str().into()),
                ("tests", s.cases.len().to_string().into()),
                ("failures", s.count(Outcome::Failed).to_string().into()),
                ("errors", "0".into()),
                ("skipped", s.count(Outcome::Ignored).to_string().into()),
            ],
        )));
        for c in &s.cases {
            let case = attrs(
                "testcase",
                &[
                    ("name", c.name.as_str().into()),
                    ("classname", s.name.as_str().into()),
                ],
            );
            match c.outcome {
                Outcome::Passed => put(Event::Empty(case)),
                Outcome::Ignored => {
                    put(Event::Start(case));
                    put(Event::Empty(BytesStart::new("skipped")));
                    put(Event::End(BytesEnd::new("testcase")));
                }
                Outcome::Failed => {
                    put(Event::Start(case));
                    put(Event::Start(attrs(
                        "failure",
                        &[("message", first_line(&c.output, "test failed").into())],
                    )));
                    put(Event::Text(BytesText::new(&xml_chars(&c.output))));
                    put(Event::End(BytesEnd::new("failure")));
                    put(Event::End(BytesEnd::new("testcase")));
                }
            }
        }
        put(Event::End(BytesEnd::new("testsuite")));
    }
    if let Some(e) = error {
        put(Event::Start(attrs(
            "testsuite",
            &[
                ("name", "cargo test".into()),
                ("tests", "1".into()),
                ("failures", "0".into()),
                ("errors", "1".into()),
                ("skipped", "0".into()),
            ],
        )));
        put(Event::Start(attrs(
            "testcase",
            &[
                ("name", "build and run".into()),
                ("classname", "cargo test".into()),
            ],
        )));
        put(Event::Start(attrs(
            "error",
            &[("message", xml_chars(e.message).into_owned().into())],
        )));
        put(Event::Text(BytesText::new(&xml_chars(e.output))));
        put(Event::End(BytesEnd::new("error")));
        put(Event::End(BytesEnd::new("testcase")));
        put(Event::End(BytesEnd::new("testsuite")));
    }
    put(Event::End(BytesEnd::new("testsuites")));
    let mut out = w.into_inner();
    out.push(b'\n');
    out
}

fn attrs<'a>(name: &'a str, list: &[(&'a str, Cow<'a, str>)]) -> BytesStart<'a> {
    let mut e = BytesStart::new(name);
    for (k, v) in list {
        e.push_attribute((*k, xml_chars(v).as_ref()));
    }
    e
}

fn first_line<'a>(text: &'a str, default: &'a str) -> &'a str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(default)
}

/// XML 1.0 forbids most control characters (a test's colour codes, say): drop them.
fn xml_chars(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if s.chars().any(bad) {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// One test case of a JUnit report, as [`read`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The test binary it ran in (`classname`: `unittests src/lib.rs`, `tests/mean.rs`).
    pub suite: String,
    /// Its path in that binary: `stats::tests::mean_of_three`.
    pub name: String,
    pub outcome: Outcome,
}

/// The test cases of a JUnit report, in order; `None` when it is not JUnit XML.
pub fn read(xml: &str) -> Option<Vec<Case>> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut open: Option<Case> = None;
    let attr = |e: &BytesStart<'_>, key: &str| -> String {
        e.try_get_attribute(key)
            .ok()
            .flatten()
            .and_then(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .unwrap_or_default()
    };
    loop {
        let (e, empty) = match r.read_event().ok()? {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) if e.name().as_ref() == "testcase" => {
                cases.extend(open.take());
                continue;
            }
            _ => continue,
        };
        match e.name().as_ref() {
            "testcase" => {
                let case = Case {
                    suite: attr(&e, "classname"),
                    name: attr(&e, "name"),
                    outcome: Outcome::Passed,
                };
                if empty {
                    cases.push(case);
                } else {
                    open = Some(case);
                }
            }
            "failure" | "error" => {
                if let Some(c) = &mut open {
                    c.outcome = Outcome::Failed;
                }
            }
            "skipped" => {
                if let Some(c) = open.as_mut().filter(|c| c.outcome != Outcome::Failed) {
                    c.outcome = Outcome::Ignored;
                }
            }
            _ => {}
        }
    }
    Some(cases)
}

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: not JUnit XML: {message}")]
    Xml { path: String, message: String },
}

/// One JUnit document holding every `<testsuite>` of `reports` (name, XML text), with the
/// totals summed.
pub fn merge(name: &str, reports: &[(String, String)]) -> Result<Vec<u8>, MergeError> {
    let mut suites = Writer::new_with_indent(Vec::new(), b' ', 2);
    let mut totals = [0u64; 4];
    const COUNTED: [&str; 4] = ["tests", "failures", "errors", "skipped"];
    for (path, text) in reports {
        let bad = |message: String| MergeError::Xml {
            path: path.clone(),
            message,
        };
        let mut r = quick_xml::Reader::from_str(text);
        r.config_mut().trim_text(true);
        let mut depth_in_suite = 0usize;
        loop {
            let ev = r.read_event().map_err(|e| bad(e.to_string()))?;
            match &ev {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e)
                    if depth_in_suite == 0 && e.name().as_ref() == "testsuite" =>
                {
                    for (i, key) in COUNTED.iter().enumerate() {
                        if let Ok(Some(a)) = e.try_get_attribute(key) {
                            let v = a.value.trim().parse::<u64>().ok();
                            totals[i] += v.ok_or_else(|| {
                                bad(format!("testsuite attribute {key} is not a count"))
                            })?;
                        }
                    }
                    if matches!(ev, Event::Empty(_)) {
                        let _ = suites.write_event(ev);
                        continue;
                    }
                    depth_in_suite = 1;
                }
                Event::Start(_) if depth_in_suite > 0 => depth_in_suite += 1,
                Event::End(_) if depth_in_suite > 0 => depth_in_suite -= 1,
                _ => {}
            }
            let inside = depth_in_suite > 0
                || matches!(&ev, Event::End(e) if e.name().as_ref() == "testsuite");
            if inside {
                let _ = suites.write_event(ev);
            }
        }
        if depth_in_suite != 0 {
            return Err(bad("a <testsuite> is not closed".to_owned()));
        }
    }
    let body = String::from_utf8_lossy(&suites.into_inner()).into_owned();
    let mut head = BytesStart::new("testsuites");
    head.push_attribute(("name", name));
    for (key, n) in COUNTED.iter().zip(totals) {
        head.push_attribute((*key, n.to_string().as_str()));
    }
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = w.write_event(Event::Start(head));
    let mut out = w.into_inner();
    for line in body.lines() {
        out.extend_from_slice(b"\n  ");
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(b"\n</testsuites>\n");
    Ok(out)
}

/// The JUnit reports of a build's cargo-test actions, merged: a failed action's from
/// [`last_run_path`], any other's from its declared output when it is there (an action
/// skipped after a failure has none). Also says how many reports went in.
pub fn merge_build(
    root: &Path,
    name: &str,
    actions: &[batuta_engine::graph::Action],
    failed: &[(String, batuta_engine::rule::Failure)],
) -> Result<(Vec<u8>, usize), MergeError> {
    let mut reports = Vec::new();
    for a in actions {
        if !matches!(&a.kind, batuta_engine::graph::ActionKind::Builtin { name, .. } if name == super::cargo_test::NAME)
        {
            continue;
        }
        let path = if failed.iter().any(|(id, _)| *id == a.id) {
            last_run_path(root, &a.id)
        } else {
            match a.outputs.first() {
                Some(out) => root.join(out),
                None => continue,
            }
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => reports.push((path.display().to_string(), text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(MergeError::Xml {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        }
    }
    let n = reports.len();
    Ok((merge(name, &reports)?, n))
}

#[cfg(test)]
mod tests {
    use super::super::libtest::TestCase;
    use super::*;

    fn suite(name: &str, cases: &[(&str, Outcome, &str)]) -> Suite {
        Suite {
            name: name.into(),
            cases: cases
                .iter()
                .map(|(n, o, out)| TestCase {
                    name: (*n).into(),
                    outcome: *o,
                    output: (*out).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn one_action_report() {
        let s = [suite(
            "unittests src/lib.rs",
            &[
                ("a", Outcome::Passed, ""),
                (
                    "b <&>",
                    Outcome::Failed,
                    "thread 'b' panicked\n\u{1b}[31mleft: 1",
                ),
                ("c", Outcome::Ignored, ""),
            ],
        )];
        let xml = String::from_utf8(write("validate/tests", &s, None)).unwrap();
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert!(xml.contains(r#"<testsuites name="validate/tests" tests="3" failures="1" errors="0" skipped="1">"#), "{xml}");
        assert!(
            xml.contains(r#"<testcase name="a" classname="unittests src/lib.rs"/>"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase name="b &lt;&amp;&gt;""#), "{xml}");
        assert!(
            xml.contains(r#"<failure message="thread 'b' panicked">"#)
                || xml.contains(r#"<failure message="thread &apos;b&apos; panicked">"#),
            "{xml}"
        );
        assert!(!xml.contains('\u{1b}'), "control characters are dropped");
        assert!(xml.contains("<skipped/>"), "{xml}");
    }

    #[test]
    fn an_error_report() {
        let xml = String::from_utf8(write(
            "t",
            &[],
            Some(Error {
                message: "does not compile",
                output: "error[E0425]",
            }),
        ))
        .unwrap();
        assert!(
            xml.contains(r#"tests="1" failures="0" errors="1""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="does not compile">error[E0425]</error>"#),
            "{xml}"
        );
    }

    #[test]
    fn merging_sums_the_suites() {
        let a = String::from_utf8(write(
            "x",
            &[suite(
                "s1",
                &[("a", Outcome::Passed, ""), ("b", Outcome::Failed, "boom")],
            )],
            None,
        ))
        .unwrap();
        let b = String::from_utf8(write(
            "y",
            &[suite("s2", &[("c", Outcome::Ignored, "")])],
            None,
        ))
        .unwrap();
        let m =
            String::from_utf8(merge("build", &[("a.xml".into(), a), ("b.xml".into(), b)]).unwrap())
                .unwrap();
        assert!(
            m.contains(
                r#"<testsuites name="build" tests="3" failures="1" errors="0" skipped="1">"#
            ),
            "{m}"
        );
        assert_eq!(m.matches("<testsuite ").count(), 2, "{m}");
        assert!(m.contains("boom"), "{m}");
        assert!(m.trim_end().ends_with("</testsuites>"));
        // The merged document reads back as one.
        let again = merge("again", &[("m.xml".into(), m)]).unwrap();
        assert!(
            String::from_utf8(again)
                .unwrap()
                .contains(r#"tests="3" failures="1""#)
        );
    }

    #[test]
    fn merging_rejects_what_is_not_junit() {
        assert!(
            merge(
                "b",
                &[(
                    "x.xml".into(),
                    "<testsuite tests=\"many\"></testsuite>".into()
                )]
            )
            .is_err()
        );
        assert!(merge("b", &[("x.xml".into(), "<testsuite><testcase>".into())]).is_err());
        assert!(merge("b", &[("x.xml".into(), "</oops>".into())]).is_err());
    }

    #[test]
    fn failure_files_are_named_by_action() {
        assert_eq!(
            last_run_path(Path::new("/w"), "validate/unit tests"),
            Path::new("/w/.batuta/junit/validate_unit_tests.xml")
        );
    }
}
