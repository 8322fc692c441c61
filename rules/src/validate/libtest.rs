//! Reading `cargo test`'s output (libtest's human format on stable Rust, with cargo's
//! progress lines merged in order) into suites of named tests and their outcomes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    pub name: String,
    pub outcome: Outcome,
    /// What a failing test printed (its panic message), from the `---- NAME stdout ----`
    /// section.
    pub output: String,
}

/// One test binary (`unittests src/lib.rs`, `tests/cli.rs`) or a crate's doc-tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<TestCase>,
}

impl Suite {
    pub fn count(&self, o: Outcome) -> usize {
        self.cases.iter().filter(|c| c.outcome == o).count()
    }
}

pub fn parse(text: &str) -> Vec<Suite> {
    let mut suites: Vec<Suite> = Vec::new();
    // The failure section being read: (suite index, test name, lines).
    let mut section: Option<(usize, String, Vec<&str>)> = None;
    let close = |section: &mut Option<(usize, String, Vec<&str>)>, suites: &mut Vec<Suite>| {
        if let Some((i, name, mut lines)) = section.take() {
            while lines.last().is_some_and(|l| l.trim().is_empty()) {
                lines.pop();
            }
            while lines.first().is_some_and(|l| l.trim().is_empty()) {
                lines.remove(0);
            }
            if let Some(c) = suites[i].cases.iter_mut().find(|c| c.name == name) {
                c.output = lines.join("\n");
            }
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            close(&mut section, &mut suites);
            // "unittests src/lib.rs (target/debug/deps/x-1234)"
            let name = rest.rsplit_once(" (").map_or(rest, |(n, _)| n);
            suites.push(Suite {
                name: name.to_owned(),
                cases: Vec::new(),
            });
            continue;
        }
        if let Some(krate) = trimmed.strip_prefix("Doc-tests ") {
            close(&mut section, &mut suites);
            suites.push(Suite {
                name: format!("doc-tests {krate}"),
                cases: Vec::new(),
            });
            continue;
        }
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            close(&mut section, &mut suites);
            if !suites.is_empty() {
                section = Some((suites.len() - 1, name.to_owned(), Vec::new()));
            }
            continue;
        }
        if let Some((_, _, lines)) = &mut section {
            // The failure list that follows the sections ends the last one.
            if line == "failures:" || line.starts_with("test result:") {
                close(&mut section, &mut suites);
            } else {
                lines.push(line);
            }
            continue;
        }
        if let Some((name, outcome)) = result_line(line) {
            if suites.is_empty() {
                // Output of a test binary run by hand, without cargo's progress lines.
                suites.push(Suite {
                    name: "tests".to_owned(),
                    cases: Vec::new(),
                });
            }
            let suite = suites.last_mut().expect("a suite exists");
            suite.cases.push(TestCase {
                name,
                outcome,
                output: String::new(),
            });
        }
    }
    close(&mut section, &mut suites);
    suites
}

/// `test NAME ... ok` / `FAILED` / `ignored[, reason]`; benchmarks are not tests.
fn result_line(line: &str) -> Option<(String, Outcome)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let outcome = match result.trim() {
        "ok" => Outcome::Passed,
        "FAILED" => Outcome::Failed,
        r if r == "ignored" || r.starts_with("ignored, ") => Outcome::Ignored,
        _ => return None,
    };
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    Some((name.to_owned(), outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "   Compiling tiny v0.1.0 (/tmp/tiny)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.40s
     Running unittests src/lib.rs (target/debug/deps/tiny-0f3d)

running 4 tests
test tests::adds ... ok
test tests::panics - should panic ... ok
test tests::slow ... ignored, takes a minute
test tests::subtracts ... FAILED

failures:

---- tests::subtracts stdout ----

thread 'tests::subtracts' panicked at src/lib.rs:12:9:
assertion `left == right` failed
  left: 1
 right: 2


failures:
    tests::subtracts

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/api.rs (target/debug/deps/api-9c1e)

running 1 test
test round_trip ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests tiny

running 1 test
test src/lib.rs - add (line 3) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.12s
";

    #[test]
    fn suites_tests_and_outcomes() {
        let s = parse(OUTPUT);
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["unittests src/lib.rs", "tests/api.rs", "doc-tests tiny"]
        );
        let first: Vec<(&str, Outcome)> = s[0]
            .cases
            .iter()
            .map(|c| (c.name.as_str(), c.outcome))
            .collect();
        assert_eq!(
            first,
            [
                ("tests::adds", Outcome::Passed),
                ("tests::panics", Outcome::Passed),
                ("tests::slow", Outcome::Ignored),
                ("tests::subtracts", Outcome::Failed),
            ]
        );
        assert_eq!(s[2].cases[0].name, "src/lib.rs - add (line 3)");
        assert_eq!(
            (
                s[0].count(Outcome::Passed),
                s[0].count(Outcome::Failed),
                s[0].count(Outcome::Ignored)
            ),
            (2, 1, 1)
        );
    }

    #[test]
    fn failure_output_is_attached_to_its_test() {
        let s = parse(OUTPUT);
        let failed = &s[0].cases[3];
        assert_eq!(
            failed.output,
            "thread 'tests::subtracts' panicked at src/lib.rs:12:9:\nassertion `left == right` failed\n  left: 1\n right: 2"
        );
        assert!(s[0].cases[0].output.is_empty());
    }

    #[test]
    fn a_bare_test_binary_and_noise() {
        let s = parse("running 1 test\ntest it ... ok\nsomething printed ... by a test\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].cases.len(), 1);
        assert!(parse("").is_empty());
        assert!(parse("---- x stdout ----\nstray\n").is_empty());
    }
}
