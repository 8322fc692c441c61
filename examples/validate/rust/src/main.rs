//! Port of legacy/summary.py: per sensor the count, mean, minimum and maximum of a
//! readings file, printed and kept in out/summary.txt.

use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Debug, PartialEq)]
struct Stats {
    n: usize,
    mean: f64,
    min: f64,
    max: f64,
}

fn stats(values: &[f64]) -> Stats {
    Stats {
        n: values.len(),
        // Summed in order, as Python's sum() does, so the means agree to the last bit.
        mean: values.iter().sum::<f64>() / values.len() as f64,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

fn load(text: &str) -> Result<BTreeMap<String, Vec<f64>>, String> {
    let mut readings: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let (sensor, value) = line
            .trim()
            .split_once(',')
            .ok_or_else(|| format!("not 'sensor,value': {line}"))?;
        let value: f64 = value.parse().map_err(|e| format!("bad value {value:?}: {e}"))?;
        readings.entry(sensor.to_owned()).or_default().push(value);
    }
    Ok(readings)
}

/// One line per sensor. Numbers print with six decimals where Python prints the shortest
/// form: the validation compares them as numbers (`rtol`), not as text.
fn render(readings: &BTreeMap<String, Vec<f64>>) -> Vec<String> {
    readings
        .iter()
        .map(|(sensor, values)| {
            let s = stats(values);
            format!(
                "{sensor}: n={} mean={:.6} min={:.6} max={:.6}",
                s.n, s.mean, s.min, s.max
            )
        })
        .collect()
}

fn run(path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let readings = load(&text).map_err(|e| format!("{path}: {e}"))?;
    let lines = render(&readings);
    std::fs::create_dir_all("out").map_err(|e| format!("out: {e}"))?;
    std::fs::write("out/summary.txt", lines.join("\n") + "\n")
        .map_err(|e| format!("out/summary.txt: {e}"))?;
    for line in &lines {
        println!("{line}");
    }
    let total: usize = readings.values().map(Vec::len).sum();
    println!("total: {total} readings");
    Ok(())
}

/// Only the mean per sensor, at full precision (Rust's shortest round-trip form, as
/// Python's repr), as CSV: for a numeric comparison.
fn write_means(path: &str, out: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let readings = load(&text).map_err(|e| format!("{path}: {e}"))?;
    let mut csv = String::from("sensor,mean\n");
    for (sensor, values) in &readings {
        csv.push_str(&format!("{sensor},{:?}\n", stats(values).mean));
    }
    std::fs::write(out, csv).map_err(|e| format!("{out}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let done = match args.as_slice() {
        [_, flag, input, out] if flag == "--means" => write_means(input, out),
        [_, input] => run(input),
        _ => {
            eprintln!("usage: summary.py FILE.csv | summary.py --means FILE.csv OUT.csv");
            return ExitCode::from(2);
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_one_sensor() {
        let s = stats(&[1.5, 2.5, 3.0]);
        assert_eq!((s.n, s.min, s.max), (3, 1.5, 3.0));
        assert!((s.mean - 7.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn load_groups_by_sensor_and_skips_the_header() {
        let r = load("sensor,value\na,1\nb,2\na,3\n").unwrap();
        assert_eq!(r["a"], [1.0, 3.0]);
        assert_eq!(r["b"], [2.0]);
    }

    #[test]
    fn bad_lines_are_errors() {
        assert!(load("h\nno-comma\n").is_err());
        assert!(load("h\na,x\n").is_err());
    }

    #[test]
    fn render_sorts_sensors() {
        let r = load("h\nb,1\na,2\n").unwrap();
        assert_eq!(render(&r)[0], "a: n=1 mean=2.000000 min=2.000000 max=2.000000");
    }
}
