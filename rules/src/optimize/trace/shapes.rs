//! `.batuta/trace/shapes.json`: what the traced runs saw at each call site, merged over the
//! cases and processes, with the distribution the plan reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The format of the shim's `trace-PID.json` and of `shapes.json`: 2 since calls carry
/// their anchor.
pub const FORMAT: u32 = 2;

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
    /// The call's `(` or `@` ([`crate::analyze::ml::MlCall::anchor`]): one site per call,
    /// even with several of one operation on a line.
    pub anchor: [usize; 2],
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
    pub anchor: [usize; 2],
    pub operation: String,
    pub operands: Vec<Seen>,
    pub axis: bool,
    pub count: u64,
}

impl Shapes {
    /// Every process's calls, merged: one site per call (file, line, anchor, operation), one
    /// observation per distinct operand description.
    pub fn merge(cases: usize, traces: impl IntoIterator<Item = ProcessTrace>) -> Shapes {
        type Key = (String, usize, [usize; 2], String);
        let mut sites: BTreeMap<Key, BTreeMap<(Vec<Seen>, bool), u64>> = BTreeMap::new();
        for t in traces {
            for c in t.calls {
                *sites
                    .entry((c.file, c.line, c.anchor, c.operation))
                    .or_default()
                    .entry((c.operands, c.axis))
                    .or_default() += c.count;
            }
        }
        Shapes {
            format: FORMAT,
            cases,
            sites: sites
                .into_iter()
                .map(|((file, line, anchor, operation), seen)| Site {
                    file,
                    line,
                    anchor,
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

    /// The site of the call at `anchor` (a call the analysis anchored; others are not traced).
    pub fn site(&self, file: &str, anchor: Option<[usize; 2]>, operation: &str) -> Option<&Site> {
        let anchor = anchor?;
        self.sites
            .iter()
            .find(|s| s.anchor == anchor && s.file == file && s.operation == operation)
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
            anchor: [line, 8],
            operation: "numpy.dot".into(),
            operands: vec![arr(shape), arr(shape)],
            axis: false,
            count,
        };
        let s = Shapes::merge(
            2,
            [
                ProcessTrace {
                    format: FORMAT,
                    calls: vec![call(3, &[2, 2], 5), call(4, &[3], 1)],
                },
                ProcessTrace {
                    format: FORMAT,
                    calls: vec![
                        call(3, &[2, 2], 2),
                        call(3, &[6, 6], 1),
                        ProcessCall {
                            anchor: [3, 20],
                            ..call(3, &[4], 9)
                        },
                    ],
                },
            ],
        );
        assert_eq!(s.sites.len(), 3);
        let k3 = s.site("k.py", Some([3, 8]), "numpy.dot").unwrap();
        assert_eq!(k3.count, 8);
        assert_eq!(k3.observed.len(), 2);
        assert_eq!(k3.observed[0].count, 7);
        // A second dot on line 3 is a site of its own.
        let second = s.site("k.py", Some([3, 20]), "numpy.dot").unwrap();
        assert_eq!((second.count, second.observed.len()), (9, 1));
        assert!(s.site("k.py", None, "numpy.dot").is_none());
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
