//! `.batuta/trace/shapes.json`: what the traced runs saw at each call site, merged over the
//! cases and processes, with the distribution the plan reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One operand as the shim describes it: `array`, `sparse`, `scalar`, `list` or `other`,
/// its shape (`[]` for a scalar, `[len]` for a list) and dtype (or type name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Seen(pub String, pub Vec<u64>, pub String);

impl Seen {
    pub fn kind(&self) -> &str {
        &self.0
    }
    pub fn shape(&self) -> &[u64] {
        &self.1
    }
    pub fn elements(&self) -> u64 {
        self.1.iter().product()
    }
}

/// One distinct way a site was called, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub operands: Vec<Seen>,
    pub axis: bool,
    pub count: u64,
}

/// A call site and everything seen there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// Relative to `project.source`.
    pub file: String,
    pub line: usize,
    pub operation: String,
    pub count: u64,
    pub observed: Vec<Observed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shapes {
    pub format: u32,
    pub cases: usize,
    pub sites: Vec<Site>,
}

/// What one process of the traced program wrote (`trace-PID.json`).
#[derive(Debug, Deserialize)]
pub struct ProcessTrace {
    pub format: u32,
    pub calls: Vec<ProcessCall>,
}

#[derive(Debug, Deserialize)]
pub struct ProcessCall {
    pub file: String,
    pub line: usize,
    pub operation: String,
    pub operands: Vec<Seen>,
    pub axis: bool,
    pub count: u64,
}

impl Shapes {
    /// Every process's calls, merged: one site per (file, line, operation), one observation
    /// per distinct operand description.
    pub fn merge(cases: usize, traces: impl IntoIterator<Item = ProcessTrace>) -> Shapes {
        type Key = (String, usize, String);
        let mut sites: BTreeMap<Key, BTreeMap<(Vec<Seen>, bool), u64>> = BTreeMap::new();
        for t in traces {
            for c in t.calls {
                *sites
                    .entry((c.file, c.line, c.operation))
                    .or_default()
                    .entry((c.operands, c.axis))
                    .or_default() += c.count;
            }
        }
        Shapes {
            format: 1,
            cases,
            sites: sites
                .into_iter()
                .map(|((file, line, operation), seen)| Site {
                    file,
                    line,
                    operation,
                    count: seen.values().sum(),
                    observed: seen
                        .into_iter()
                        .map(|((operands, axis), count)| Observed {
                            operands,
                            axis,
                            count,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    pub fn site(&self, file: &str, line: usize, operation: &str) -> Option<&Site> {
        self.sites
            .iter()
            .find(|s| s.file == file && s.line == line && s.operation == operation)
    }
}

/// min, median and max of a count-weighted sample, by `key`.
pub fn spread<T: Clone>(sample: &[(T, u64)], key: impl Fn(&T) -> f64) -> Option<[T; 3]> {
    let mut v: Vec<&(T, u64)> = sample.iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| key(&a.0).total_cmp(&key(&b.0)));
    let total: u64 = v.iter().map(|(_, n)| n).sum();
    let (first, last) = (v.first()?, v.last()?);
    let half = total.div_ceil(2);
    let mut acc = 0;
    let median = v
        .iter()
        .find(|(_, n)| {
            acc += n;
            acc >= half
        })
        .unwrap_or(last);
    Some([first.0.clone(), median.0.clone(), last.0.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_merge_by_site_and_operands() {
        let arr = |s: &[u64]| Seen("array".into(), s.to_vec(), "float64".into());
        let call = |line, shape: &[u64], count| ProcessCall {
            file: "k.py".into(),
            line,
            operation: "numpy.dot".into(),
            operands: vec![arr(shape), arr(shape)],
            axis: false,
            count,
        };
        let s = Shapes::merge(
            2,
            [
                ProcessTrace {
                    format: 1,
                    calls: vec![call(3, &[2, 2], 5), call(4, &[3], 1)],
                },
                ProcessTrace {
                    format: 1,
                    calls: vec![call(3, &[2, 2], 2), call(3, &[6, 6], 1)],
                },
            ],
        );
        assert_eq!(s.sites.len(), 2);
        let k3 = s.site("k.py", 3, "numpy.dot").unwrap();
        assert_eq!(k3.count, 8);
        assert_eq!(k3.observed.len(), 2);
        assert_eq!(k3.observed[0].count, 7);
    }

    #[test]
    fn the_median_is_weighted_by_count() {
        let s = spread(&[(10u64, 1), (1, 5), (100, 1)], |x| *x as f64).unwrap();
        assert_eq!(s, [1, 1, 100]);
        let s = spread(&[(10u64, 3), (1, 1), (100, 1)], |x| *x as f64).unwrap();
        assert_eq!(s, [1, 10, 100]);
        assert!(spread::<u64>(&[], |x| *x as f64).is_none());
    }
}
