//! Hand port of legacy/main.py: per-sensor count, mean and spread of a sensor log.

use std::collections::BTreeMap;
use std::process::ExitCode;

use sensor_summary::stats::{mean, stddev};

fn load(path: &str) -> Result<BTreeMap<String, Vec<f64>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut readings: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let (sensor, value) = line
            .trim()
            .split_once(',')
            .ok_or_else(|| format!("{path}: not 'sensor,value': {line}"))?;
        let value: f64 = value
            .parse()
            .map_err(|e| format!("{path}: bad value {value:?}: {e}"))?;
        readings.entry(sensor.to_owned()).or_default().push(value);
    }
    Ok(readings)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: main.py FILE.csv");
        return ExitCode::from(2);
    }
    match load(&args[1]) {
        Ok(readings) => {
            for (sensor, values) in &readings {
                println!(
                    "{sensor},{},{:.3},{:.3}",
                    values.len(),
                    mean(values),
                    stddev(values)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
