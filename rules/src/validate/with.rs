//! Reading a task's `with:` into a rule's typed options, and the checks every validation
//! rule shares (a command line, a timeout, a path inside the working copy).

use std::path::{Component, Path};
use std::time::Duration;

use serde::de::DeserializeOwned;

use batuta_engine::manifest::WithProblem;

use super::error::WithError;

/// Deserialises `with` strictly: an unknown key is an error, so a typo never silently
/// turns an option off.
pub fn parse<T: DeserializeOwned>(
    rule: &'static str,
    with: &serde_json::Value,
) -> Result<T, WithError> {
    // No `with:` reads as an empty mapping, so the message names the missing key.
    let value = if with.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        with.clone()
    };
    serde_json::from_value(value).map_err(|e| WithError::new(rule, e.to_string()))
}

/// The load-time check of a rule whose `with` deserialises into `T`: serde's message, with
/// the option it names when it names one.
pub fn check<T: DeserializeOwned>(
    rule: &'static str,
    with: &serde_json::Value,
) -> Result<(), WithProblem> {
    let Err(e) = parse::<T>(rule, with) else {
        return Ok(());
    };
    Err(problem(&e.message))
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" and "missing field `x`".
pub(crate) fn problem(message: &str) -> WithProblem {
    let ticked =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let names = ticked(rest);
        if let Some((key, known)) = names.split_first() {
            return WithProblem {
                key: Some(key.clone()),
                unknown: true,
                message: format!("unknown option '{key}'"),
                known: known.to_vec(),
            };
        }
    }
    WithProblem {
        key: message
            .strip_prefix("missing field ")
            .and_then(|r| ticked(r).into_iter().next()),
        unknown: false,
        message: message.to_owned(),
        known: Vec::new(),
    }
}

/// A command line as an argument list: never a shell string.
pub fn argv(rule: &'static str, key: &str, argv: &[String]) -> Result<(), WithError> {
    match argv.first() {
        None => Err(WithError::new(
            rule,
            format!("`{key}` is empty; write the command as a list, e.g. [python3, main.py]"),
        )),
        Some(p) if p.is_empty() => Err(WithError::new(
            rule,
            format!("`{key}` names an empty program"),
        )),
        Some(_) => Ok(()),
    }
}

/// Seconds as written in the manifest, or the rule's default.
pub fn timeout(
    rule: &'static str,
    secs: Option<f64>,
    default: Duration,
) -> Result<Duration, WithError> {
    match secs {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 => Duration::try_from_secs_f64(s)
            .map_err(|e| WithError::new(rule, format!("`timeout: {s}`: {e}"))),
        Some(s) => Err(WithError::new(
            rule,
            format!("`timeout: {s}` must be a positive number of seconds"),
        )),
    }
}

/// A path the rule reads from a working copy: relative and never climbing out of it.
pub fn inside(rule: &'static str, key: &str, rel: &str) -> Result<(), WithError> {
    let p = Path::new(rel);
    let escapes = rel.is_empty()
        || p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(WithError::new(
            rule,
            format!("`{key}`: '{rel}' must be a path relative to the working copy, without '..'"),
        ));
    }
    Ok(())
}

/// A tolerance (`rtol`, `atol`): finite and not negative.
pub fn tolerance(rule: &'static str, key: &str, v: Option<f64>) -> Result<f64, WithError> {
    match v {
        None => Ok(0.0),
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Some(x) => Err(WithError::new(
            rule,
            format!("`{key}: {x}` must be a number ≥ 0"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Opts {
        original: Vec<String>,
    }

    #[test]
    fn null_with_names_the_missing_key() {
        let e = parse::<Opts>("x", &serde_json::Value::Null).unwrap_err();
        assert!(e.message.contains("missing field `original`"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = parse::<Opts>("x", &serde_json::json!({"orignal": []})).unwrap_err();
        assert!(e.message.contains("unknown field `orignal`"), "{e}");
    }

    #[test]
    fn paths_stay_inside() {
        assert!(inside("x", "files", "out/a.txt").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../b"] {
            assert!(inside("x", "files", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timeouts_and_tolerances_are_checked() {
        let d = Duration::from_secs(5);
        assert_eq!(timeout("x", None, d).unwrap(), d);
        assert_eq!(
            timeout("x", Some(0.5), d).unwrap(),
            Duration::from_millis(500)
        );
        assert!(timeout("x", Some(0.0), d).is_err());
        assert!(timeout("x", Some(f64::NAN), d).is_err());
        assert!(tolerance("x", "rtol", Some(-1.0)).is_err());
        assert_eq!(tolerance("x", "rtol", None).unwrap(), 0.0);
    }
}
