//! `builtin: optimize`: reads the calibration and the per-file analysis, writes the plan
//! (`batuta-plan.json`, `batuta-plan.txt`) and the cargo profile (`.cargo/config.toml`) into
//! the output crate.
//!
//! `with:` keys: `profile` (`fast | balanced | aggressive`, default `balanced`), `gpu` and
//! `simd` (`auto | off | force`, default `auto`), `sizes` (see `plan.rs`), `default_size`
//! (elements, for every operation nothing else sizes; without it those are guesses, planned
//! scalar) and `dtype` (`f32 | f64`, default `f32`). The shapes a trace-shapes task
//! measured (`.batuta/trace/shapes.json`) are read when the task writes them.

use batuta_engine::codes;
use batuta_engine::codes::phase_code;
use batuta_engine::fsutil::write_atomic;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde_json::Value;

use super::calibrate::Calibration;
use super::plan::{self, Mode, Options, Plan, PlanError, Size};
use super::profile::{self, Profile};
use super::trace::shapes::Shapes;
use super::{CALIBRATION, table};
use crate::analyze::FileReport;

const VERSION: &str = concat!("optimize-", env!("CARGO_PKG_VERSION"), "-1");

/// Where each output goes, by the end of its path.
const PLAN_JSON: &str = "batuta-plan.json";
const PLAN_TEXT: &str = "batuta-plan.txt";
const CONFIG: &str = ".cargo/config.toml";

pub struct Optimize;

/// The options of `with:`.
const KEYS: &[&str] = &["profile", "gpu", "simd", "sizes", "default_size", "dtype"];

/// The task's `with`, checked.
struct Settings {
    profile: Profile,
    opts: Options,
}

fn settings(with: &Value) -> Result<Settings, String> {
    let empty = serde_json::Map::new();
    let map = match with {
        Value::Null => &empty,
        Value::Object(m) => m,
        other => return Err(format!("`with` must be a mapping, not {other}")),
    };
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{k}` in `with`; optimize knows {}",
            KEYS.join(", ")
        ));
    }
    let profile = match map.get("profile") {
        None => Profile::Balanced,
        Some(Value::String(s)) => Profile::parse(s)
            .ok_or_else(|| format!("profile `{s}` is not one of fast, balanced, aggressive"))?,
        Some(v) => return Err(format!("profile must be a word, not {v}")),
    };
    let mode = |key: &str| -> Result<Mode, String> {
        match map.get(key) {
            None => Ok(Mode::Auto),
            // YAML 1.1 readers turn `off` into false; people mean the word.
            Some(Value::Bool(false)) => Ok(Mode::Off),
            Some(Value::Bool(true)) => Ok(Mode::Auto),
            Some(Value::String(s)) => {
                Mode::parse(s).ok_or_else(|| format!("{key} `{s}` is not one of auto, off, force"))
            }
            Some(v) => Err(format!("{key} must be auto, off or force, not {v}")),
        }
    };
    let count = |v: &Value, what: &str| -> Result<u64, String> {
        v.as_u64()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{what} must be a positive whole number, not {v}"))
    };
    let mut sizes = Vec::new();
    match map.get("sizes") {
        None => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let what = format!("sizes.{k}");
                let size = match v {
                    Value::Array(a) if a.len() == 3 => Size::Matmul(
                        count(&a[0], &what)?,
                        count(&a[1], &what)?,
                        count(&a[2], &what)?,
                    ),
                    Value::Array(_) => {
                        return Err(format!("{what}: a shape is [m, k, n], three numbers"));
                    }
                    v => Size::Elements(count(v, &what)?),
                };
                sizes.push((k.clone(), size));
            }
        }
        Some(v) => {
            return Err(format!(
                "sizes must map operations (`np.dot`) or places (`main.py:12`) to element counts, not {v}"
            ));
        }
    }
    let default_elements = match map.get("default_size") {
        None => None,
        Some(v) => Some(count(v, "default_size")?),
    };
    let element_bytes = match map.get("dtype").and_then(Value::as_str) {
        None if map.get("dtype").is_none() => 4,
        Some("f32") => 4,
        Some("f64") => 8,
        _ => return Err("dtype must be f32 or f64".to_owned()),
    };
    Ok(Settings {
        profile,
        opts: Options {
            gpu: mode("gpu")?,
            simd: mode("simd")?,
            sizes,
            default_elements,
            element_bytes,
        },
    })
}

impl Rule for Optimize {
    fn version(&self) -> &str {
        VERSION
    }

    fn check(&self, with: &Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        settings(with)
            .map(|_| ())
            .map_err(|message| batuta_engine::manifest::WithProblem::new(with, KEYS, message))
    }

    /// `.cargo/config.toml` may be the user's: the engine would remove it to run, so refuse
    /// before, unless batuta wrote it (its first line says so).
    fn before_run(&self, call: &Call<'_>) -> Result<(), Failure> {
        let Some(config) = call.outputs.iter().find(|o| o.ends_with(CONFIG)) else {
            return Ok(());
        };
        match std::fs::read(call.path(config)) {
            Ok(bytes) if !profile::ours(&String::from_utf8_lossy(&bytes)) => Err(Failure::new(
                phase_code(call.phase),
                format!("'{config}' exists and batuta did not write it; optimize writes the crate's cargo profile there"),
            )
            .hint(format!(
                "move your settings to the crate's Cargo.toml or ~/.cargo/config.toml and delete '{config}', or give the optimize task other `outputs:`"
            ))),
            _ => Ok(()),
        }
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let fail = |m: String| Failure::new(phase_code(call.phase), m);
        let s = settings(call.with).map_err(|m| {
            fail(m)
                .hint("e.g. `with: { profile: balanced, gpu: auto, sizes: { np.dot: 1000000 } }`")
        })?;
        let output = |end: &str| {
            call.outputs
                .iter()
                .find(|o| o.ends_with(end))
                .ok_or_else(|| {
                    fail(format!(
                        "optimize writes {PLAN_JSON}, {PLAN_TEXT} and {CONFIG} in the output crate; the task's outputs have no {end}"
                    ))
                    .hint("remove the task's `outputs:` to get the default ones")
                })
        };
        let (json_out, text_out, config_out) =
            (output(PLAN_JSON)?, output(PLAN_TEXT)?, output(CONFIG)?);
        let calibration = read_calibration(call)?;
        let reports = read_reports(call)?;
        let trace = read_trace(call)?;
        let plan = plan::plan(&reports, &calibration, &s.opts, trace.as_ref()).map_err(|e| match e {
            PlanError::NoSimd => Failure::new(
                codes::O001,
                format!(
                    "simd: force, but this CPU has no SIMD instructions batuta uses (calibration: {})",
                    calibration.fingerprint
                ),
            )
            .hint("use `simd: auto` to fall back to scalar code"),
            PlanError::NoGpu(why) => Failure::new(
                codes::O003,
                format!("gpu: force, but {why}"),
            )
            .hint("install a Vulkan driver (e.g. mesa-vulkan-drivers), unset BATUTA_DISABLE_GPU, or use `gpu: auto`"),
        })?;
        let text = table::render(&plan, &calibration, s.profile, &s.opts);
        let json = serde_json::to_vec_pretty(&plan_json(&plan, &calibration, &s))
            .map_err(|e| fail(format!("cannot encode the plan: {e}")))?;
        write_atomic(&call.path(json_out), &json)
            .map_err(|e| fail(format!("cannot write '{json_out}': {e}")))?;
        write_atomic(&call.path(text_out), text.as_bytes())
            .map_err(|e| fail(format!("cannot write '{text_out}': {e}")))?;
        write_atomic(
            &call.path(config_out),
            profile::config(s.profile).as_bytes(),
        )
        .map_err(|e| fail(format!("cannot write '{config_out}': {e}")))?;
        Ok(Note::new(text))
    }
}

/// The plan file: the choices, and what they were made with.
fn plan_json(plan: &Plan, c: &Calibration, s: &Settings) -> Value {
    serde_json::json!({
        "format": 1,
        "profile": s.profile.name(),
        "gpu": s.opts.gpu,
        "simd": s.opts.simd,
        "dtype": if s.opts.element_bytes == 8 { "f64" } else { "f32" },
        "default_size": s.opts.default_elements,
        "machine": {
            "fingerprint": c.fingerprint,
            "simd": c.simd,
            "gpu": c.gpu,
        },
        "model": c.model,
        "operations": plan.operations,
        "unplanned": plan.unplanned,
        "unused_sizes": plan.unused_sizes,
    })
}

fn read_calibration(call: &Call<'_>) -> Result<Calibration, Failure> {
    let fail = |m: String| Failure::new(phase_code(call.phase), m);
    let Some(path) = call.inputs.iter().find(|i| i.as_str() == CALIBRATION) else {
        return Err(fail(format!(
            "optimize reads the calibration '{CALIBRATION}', which is not among its inputs"
        )));
    };
    let bytes =
        std::fs::read(call.path(path)).map_err(|e| fail(format!("cannot read '{path}': {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        fail(format!("'{path}' is not a calibration table: {e}"))
            .hint("run `batuta clean` and build again")
    })
}

/// The traced shapes, when a trace-shapes task wrote them among the inputs.
fn read_trace(call: &Call<'_>) -> Result<Option<Shapes>, Failure> {
    let Some(path) = call
        .inputs
        .iter()
        .find(|i| i.as_str() == super::trace::SHAPES)
    else {
        return Ok(None);
    };
    let bytes = std::fs::read(call.path(path))
        .map_err(|e| Failure::new(phase_code(call.phase), format!("cannot read '{path}': {e}")))?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Failure::new(
            phase_code(call.phase),
            format!("'{path}' is not a shape trace: {e}"),
        )
        .hint("run `batuta clean` and build again")
    })
}

/// The per-file analysis reports among the inputs (none without an analyze stage).
fn read_reports(call: &Call<'_>) -> Result<Vec<FileReport>, Failure> {
    call.inputs
        .iter()
        .filter(|i| crate::is_file_report(i))
        .map(|i| {
            let bytes = std::fs::read(call.path(i)).map_err(|e| {
                Failure::new(phase_code(call.phase), format!("cannot read '{i}': {e}"))
            })?;
            serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    phase_code(call.phase),
                    format!("'{i}' is not a file report: {e}"),
                )
                .hint("run `batuta clean` and build again")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_is_checked() {
        let s = settings(&serde_json::json!({
            "profile": "aggressive", "gpu": false, "sizes": { "np.dot": 5, "numpy.matmul": [2, 3, 4] }
        }))
        .unwrap();
        assert_eq!(s.profile, Profile::Aggressive);
        assert_eq!(s.opts.gpu, Mode::Off);
        assert_eq!(s.opts.simd, Mode::Auto);
        assert_eq!(
            s.opts.sizes,
            [
                ("np.dot".to_owned(), Size::Elements(5)),
                ("numpy.matmul".to_owned(), Size::Matmul(2, 3, 4))
            ]
        );
        for bad in [
            serde_json::json!({ "profile": "turbo" }),
            serde_json::json!({ "gpu": "maybe" }),
            serde_json::json!({ "sizes": { "np.dot": -1 } }),
            serde_json::json!({ "sizes": { "np.dot": [1, 2] } }),
            serde_json::json!({ "dtype": "f16" }),
            serde_json::json!({ "gpus": "auto" }),
        ] {
            assert!(settings(&bad).is_err(), "{bad}");
        }
        assert_eq!(settings(&Value::Null).unwrap().profile, Profile::Balanced);
    }
}
