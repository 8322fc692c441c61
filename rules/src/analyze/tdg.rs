//! The technical debt grade (TDG), 0–100, from four sub-scores weighted as the Batuta book
//! gives them (REFERENCE.md): Complexity 30 %, Maintainability 25 %, Test coverage 25 %,
//! Documentation 20 %. Each sub-score is 0–100 and carries its definition, so a user can
//! see why the grade is what it is. Only source code counts (languages batuta migrates or
//! targets: Python, C, C++, Shell, Rust, Go, JavaScript, TypeScript), never data or docs.

use serde::{Deserialize, Serialize};

use super::FileReport;
use super::complexity::band;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubScore {
    pub name: String,
    /// Its share of the TDG, 0–1.
    pub weight: f64,
    pub score: f64,
    /// How it is computed.
    pub definition: String,
    /// The numbers behind it for this tree.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tdg {
    pub score: f64,
    pub grade: String,
    pub subscores: Vec<SubScore>,
}

impl Tdg {
    /// The sub-score that costs the most points (weight × what it lacks of 100).
    pub fn weakest(&self) -> Option<&SubScore> {
        self.subscores.iter().max_by(|a, b| {
            (a.weight * (100.0 - a.score)).total_cmp(&(b.weight * (100.0 - b.score)))
        })
    }
}

/// A 90–100, B 80–89, C 70–79, D 60–69, F below 60.
pub fn grade(score: f64) -> &'static str {
    match score {
        s if s >= 90.0 => "A",
        s if s >= 80.0 => "B",
        s if s >= 70.0 => "C",
        s if s >= 60.0 => "D",
        _ => "F",
    }
}

/// How grades order: A is the best. `None` for anything else.
pub fn grade_rank(g: &str) -> Option<u8> {
    match g.trim().to_ascii_uppercase().as_str() {
        "A" => Some(4),
        "B" => Some(3),
        "C" => Some(2),
        "D" => Some(1),
        "F" => Some(0),
        _ => None,
    }
}

pub const SOURCE_FAMILIES: &[&str] = &[
    "Python",
    "C",
    "C++",
    "Shell",
    "Rust",
    "Go",
    "JavaScript",
    "TypeScript",
];

/// Function longer than this is hard to maintain.
pub const LONG_FUNCTION: usize = 50;
/// Files with more code lines than this are hard to maintain.
pub const LARGE_FILE: u64 = 500;
/// Test lines per source line that earn full marks for the coverage proxy.
pub const TEST_RATIO_TARGET: f64 = 0.5;
/// Comment lines per code-or-comment line that earn full marks.
pub const COMMENT_DENSITY_TARGET: f64 = 0.15;

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

pub fn compute(files: &[FileReport]) -> Tdg {
    let src: Vec<&FileReport> = files
        .iter()
        .filter(|f| f.skipped.is_none())
        .filter(|f| {
            f.language
                .as_deref()
                .is_some_and(|l| SOURCE_FAMILIES.contains(&l))
        })
        .collect();
    let prod: Vec<&FileReport> = src.iter().copied().filter(|f| !f.test).collect();
    let functions: Vec<&super::Function> = prod.iter().flat_map(|f| &f.functions).collect();
    let n = functions.len();

    // Complexity: per function, by McCabe band, less 20 when cognitive complexity ≥ 15.
    let complexity = if n == 0 {
        100.0
    } else {
        functions
            .iter()
            .map(|f| {
                let base: f64 = match band(f.cyclomatic) {
                    "simple" => 100.0,
                    "moderate" => 70.0,
                    "complex" => 40.0,
                    _ => 0.0,
                };
                (base - if f.cognitive >= 15 { 20.0 } else { 0.0 }).max(0.0)
            })
            .sum::<f64>()
            / n as f64
    };
    let over10 = functions.iter().filter(|f| f.cyclomatic > 10).count();
    let cog15 = functions.iter().filter(|f| f.cognitive >= 15).count();

    // Maintainability: short functions and code outside huge files, half each.
    // A docstring is documentation, which the Documentation sub-score rewards: it does not
    // make a function long.
    let short = functions
        .iter()
        .filter(|f| f.lines.saturating_sub(f.docstring) <= LONG_FUNCTION)
        .count();
    let code: u64 = prod.iter().map(|f| f.code).sum();
    let in_small: u64 = prod
        .iter()
        .filter(|f| f.code <= LARGE_FILE)
        .map(|f| f.code)
        .sum();
    let small_share = if code == 0 {
        100.0
    } else {
        100.0 * in_small as f64 / code as f64
    };
    let maintainability = 0.5 * pct(short, n) + 0.5 * small_share;
    let large_files = prod.iter().filter(|f| f.code > LARGE_FILE).count();

    // Test coverage (a static proxy: batuta runs no tests in this phase).
    let test_code: u64 = src.iter().filter(|f| f.test).map(|f| f.code).sum();
    let ratio = if code == 0 {
        TEST_RATIO_TARGET
    } else {
        test_code as f64 / code as f64
    };
    let coverage = (100.0 * ratio / TEST_RATIO_TARGET).min(100.0);

    // Documentation: documented functions 70 %, comment density 30 %.
    let documented = functions.iter().filter(|f| f.documented).count();
    let comments: u64 = prod.iter().map(|f| f.comments).sum();
    let density = if code + comments == 0 {
        COMMENT_DENSITY_TARGET
    } else {
        comments as f64 / (code + comments) as f64
    };
    let documentation =
        0.7 * pct(documented, n) + 0.3 * (100.0 * density / COMMENT_DENSITY_TARGET).min(100.0);

    let subscores = vec![
        SubScore {
            name: "Complexity".into(),
            weight: 0.30,
            score: round1(complexity),
            definition: "mean over functions: 100 if cyclomatic 1–10, 70 if 11–20, 40 if 21–50, 0 above; minus 20 when cognitive ≥ 15".into(),
            detail: format!("{n} functions, {over10} with cyclomatic > 10, {cog15} with cognitive ≥ 15"),
        },
        SubScore {
            name: "Maintainability".into(),
            weight: 0.25,
            score: round1(maintainability),
            definition: format!("half the share of functions ≤ {LONG_FUNCTION} lines (docstrings not counted), half the share of code in files ≤ {LARGE_FILE} code lines"),
            detail: format!("{} of {n} functions longer than {LONG_FUNCTION} lines, {large_files} files over {LARGE_FILE} code lines", n - short),
        },
        SubScore {
            name: "Test coverage".into(),
            weight: 0.25,
            score: round1(coverage),
            definition: format!("static proxy: test code lines per source code line, full marks at {TEST_RATIO_TARGET}"),
            detail: format!("{test_code} test lines for {code} source lines (ratio {ratio:.2})"),
        },
        SubScore {
            name: "Documentation".into(),
            weight: 0.20,
            score: round1(documentation),
            definition: format!("70 % the share of functions with a docstring or a comment above them, 30 % comment density (full marks at {:.0} %)", COMMENT_DENSITY_TARGET * 100.0),
            detail: format!("{documented} of {n} functions documented, comment density {:.1} %", density * 100.0),
        },
    ];
    let score = round1(subscores.iter().map(|s| s.weight * s.score).sum());
    Tdg {
        score,
        grade: grade(score).to_owned(),
        subscores,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Function;

    fn file(path: &str, code: u64, comments: u64, fns: Vec<Function>) -> FileReport {
        FileReport {
            path: path.into(),
            language: Some("Python".into()),
            code,
            comments,
            test: crate::analyze::is_test(path),
            functions: fns,
            ..FileReport::default()
        }
    }

    fn f(cyc: u32, cog: u32, lines: usize, doc: bool) -> Function {
        Function {
            name: "f".into(),
            line: 1,
            lines,
            cyclomatic: cyc,
            cognitive: cog,
            documented: doc,
            docstring: 0,
        }
    }

    #[test]
    fn a_docstring_is_not_function_length() {
        // 70 lines, 40 of them its docstring: 30 lines of code, not a long function.
        let documented = Function {
            docstring: 40,
            ..f(2, 1, 70, true)
        };
        let t = compute(&[file("a.py", 100, 20, vec![documented, f(2, 1, 60, true)])]);
        let m = t.subscores.iter().find(|s| s.name == "Maintainability");
        let m = m.unwrap();
        assert!(
            m.detail
                .starts_with("1 of 2 functions longer than 50 lines"),
            "{}",
            m.detail
        );
        assert!(
            m.definition.contains("docstrings not counted"),
            "{}",
            m.definition
        );
    }

    #[test]
    fn grades() {
        assert_eq!(grade(90.0), "A");
        assert_eq!(grade(89.9), "B");
        assert_eq!(grade(70.0), "C");
        assert_eq!(grade(60.0), "D");
        assert_eq!(grade(59.9), "F");
        assert!(grade_rank("b") > grade_rank("C"));
        assert_eq!(grade_rank("E"), None);
    }

    #[test]
    fn a_clean_tested_tree_scores_a() {
        let t = compute(&[
            file("a.py", 100, 20, vec![f(2, 1, 10, true), f(5, 3, 20, true)]),
            file("tests/test_a.py", 60, 0, vec![]),
        ]);
        assert_eq!(t.score, 100.0);
        assert_eq!(t.grade, "A");
    }

    #[test]
    fn untested_tree_is_pulled_down_by_coverage() {
        let t = compute(&[file("a.py", 100, 20, vec![f(2, 1, 10, true)])]);
        assert_eq!(t.score, 75.0);
        assert_eq!(t.grade, "C");
        assert_eq!(t.weakest().unwrap().name, "Test coverage");
    }

    #[test]
    fn complex_undocumented_code() {
        let t = compute(&[
            file(
                "a.py",
                1000,
                0,
                vec![f(60, 40, 200, false), f(15, 16, 30, false)],
            ),
            file("test_a.py", 500, 0, vec![]),
        ]);
        let s: Vec<f64> = t.subscores.iter().map(|s| s.score).collect();
        // complexity (0 + 50)/2; maintainability 0.5*50 + 0.5*0; coverage 100; docs 0
        assert_eq!(s, [25.0, 25.0, 100.0, 0.0]);
        assert_eq!(t.score, 38.8);
        assert_eq!(t.grade, "F");
    }
}
