//! Hand port of legacy/stats.py: small statistics helpers.

/// The arithmetic mean.
pub fn mean(values: &[f64]) -> f64 {
    let mut total = 0.0;
    for v in values {
        total += v;
    }
    total / values.len() as f64
}

/// The population standard deviation.
pub fn stddev(values: &[f64]) -> f64 {
    let m = mean(values);
    let mut total = 0.0;
    for v in values {
        total += (v - m) * (v - m);
    }
    (total / values.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_spread_of_a_known_sample() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&xs), 5.0);
        assert_eq!(stddev(&xs), 2.0);
    }
}
