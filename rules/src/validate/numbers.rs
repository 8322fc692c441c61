//! Numbers inside text, compared with a tolerance: Python prints `2.625` where Rust prints
//! `2.625000`, and a port may round the last digit differently. Everything that is not a
//! number must match exactly.

use std::sync::LazyLock;

use regex::Regex;

/// `|migrated − original| ≤ atol + rtol·|original|`, NumPy's `isclose` with the original
/// as the reference.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

impl Tolerance {
    pub fn close(&self, original: f64, migrated: f64) -> bool {
        if original.is_nan() || migrated.is_nan() {
            // Both printed "nan": the same behaviour, whatever IEEE says about equality.
            return original.is_nan() && migrated.is_nan();
        }
        if original.is_infinite() || migrated.is_infinite() {
            return original == migrated;
        }
        (migrated - original).abs() <= self.atol + self.rtol * original.abs()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    Text(&'a str),
    Number(f64),
}

/// Decimal numbers with optional sign, fraction and exponent, and the spellings of NaN and
/// infinity that Python, C and Rust print. Word boundaries keep "info" a word.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\b(?:nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)\b")
        .expect("number pattern")
});

/// Splits a line into text and numbers.
pub fn tokens(line: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    for m in NUMBER.find_iter(line) {
        let Ok(v) = parse(m.as_str()) else {
            continue;
        };
        if m.start() > at {
            out.push(Token::Text(&line[at..m.start()]));
        }
        out.push(Token::Number(v));
        at = m.end();
    }
    if at < line.len() {
        out.push(Token::Text(&line[at..]));
    }
    out
}

fn parse(s: &str) -> Result<f64, std::num::ParseFloatError> {
    // Rust's parser accepts "inf", "infinity" and "nan" in any case, with a sign.
    s.parse::<f64>()
}

/// Whether two lines say the same, numbers within `tol`.
pub fn lines_close(original: &[Token<'_>], migrated: &[Token<'_>], tol: &Tolerance) -> bool {
    original.len() == migrated.len()
        && original.iter().zip(migrated).all(|pair| match pair {
            (Token::Text(a), Token::Text(b)) => a == b,
            (Token::Number(a), Token::Number(b)) => tol.close(*a, *b),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXACT: Tolerance = Tolerance {
        rtol: 0.0,
        atol: 0.0,
    };

    fn close(a: &str, b: &str, tol: &Tolerance) -> bool {
        lines_close(&tokens(a), &tokens(b), tol)
    }

    #[test]
    fn trailing_zeros_are_the_same_number() {
        assert!(close("mean 2.625", "mean 2.625000", &EXACT));
        assert!(close("a,3,2.500,0.816", "a,3,2.5,0.816", &EXACT));
        assert!(close("1e3", "1000.0", &EXACT));
        assert!(!close("mean 2.625", "mean 2.626", &EXACT));
    }

    #[test]
    fn tolerances_follow_numpy_isclose() {
        let t = Tolerance {
            rtol: 1e-3,
            atol: 0.0,
        };
        assert!(close("x=1000.0", "x=1000.9", &t));
        assert!(!close("x=1000.0", "x=1001.1", &t));
        let t = Tolerance {
            rtol: 0.0,
            atol: 0.01,
        };
        assert!(close("0.333", "0.33333", &t));
        assert!(!close("0.333", "0.35", &t));
    }

    #[test]
    fn text_around_numbers_must_match() {
        assert!(!close("mean 2.5", "avg 2.5", &EXACT));
        assert!(!close("2.5 2.5", "2.5", &EXACT));
        assert!(!close("a 1", "a x", &EXACT));
    }

    #[test]
    fn nan_and_infinity_in_their_usual_spellings() {
        assert!(close("nan", "NaN", &EXACT));
        assert!(close("-inf", "-inf", &EXACT));
        assert!(close("inf", "Infinity", &EXACT));
        assert!(!close("inf", "-inf", &EXACT));
        assert!(!close("nan", "0", &EXACT));
        // Words that merely start like a number name stay words.
        assert_eq!(tokens("info"), vec![Token::Text("info")]);
    }

    #[test]
    fn signs_and_exponents() {
        assert_eq!(
            tokens("-1.5e-3,+2"),
            vec![Token::Number(-0.0015), Token::Text(","), Token::Number(2.0)]
        );
        assert_eq!(tokens(".5"), vec![Token::Number(0.5)]);
    }
}
