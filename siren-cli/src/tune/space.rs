//! The search space: `NAME=LO..HI` (uniform), `NAME=LO..HI:log` (log-uniform),
//! `NAME=LO..HI:int` (integers, `:int:log` for log-spaced ones) and `NAME=A,B,C` (choices).

use rand::Rng;
use serde::{Deserialize, Serialize};
use siren_core::{Error, Result};

/// The values a parameter may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Range {
    /// A real interval, sampled uniformly or, with `log`, log-uniformly.
    Real { lo: f64, hi: f64, log: bool },
    /// An integer interval (both ends included).
    Integer { lo: i64, hi: i64, log: bool },
    /// One of these values, each equally likely.
    Choice { values: Vec<String> },
}

/// A searched option of the tuned command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// The command's long option name, with `_` or `-` (`tv_weight` is `--tv-weight`).
    pub name: String,
    /// Its values.
    pub range: Range,
}

impl Param {
    /// Parses `NAME=LO..HI[:log][:int]` or `NAME=A,B,...`, saying what is wrong with a bad one.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidInput(format!(
                "--search {spec:?}: {why}; write NAME=LO..HI, NAME=LO..HI:log, NAME=LO..HI:int or NAME=A,B,C"
            ))
        };
        let (name, values) = spec.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let name = name.trim().replace('-', "_");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("the name must be an option's long name"));
        }
        let mut parts = values.split(':');
        let body = parts.next().unwrap_or("").trim();
        let (mut log, mut int) = (false, false);
        for flag in parts {
            match flag.trim() {
                "log" => log = true,
                "int" => int = true,
                other => return Err(bad(&format!("unknown flag `:{other}`"))),
            }
        }
        let range = if let Some((lo, hi)) = body.split_once("..") {
            let number = |t: &str| -> Result<f64> {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(&format!("`{}` is not a finite number", t.trim())))
            };
            let (lo, hi) = (number(lo)?, number(hi)?);
            if lo >= hi {
                return Err(bad("LO must be below HI"));
            }
            if log && lo <= 0.0 {
                return Err(bad("a log range needs LO > 0"));
            }
            if int {
                if lo.fract() != 0.0 || hi.fract() != 0.0 {
                    return Err(bad("an integer range needs integer ends"));
                }
                Range::Integer {
                    lo: lo as i64,
                    hi: hi as i64,
                    log,
                }
            } else {
                Range::Real { lo, hi, log }
            }
        } else {
            if log || int {
                return Err(bad("`:log` and `:int` go with a LO..HI range"));
            }
            let values: Vec<String> = body
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            if values.len() < 2 {
                return Err(bad(
                    "a choice needs at least two values (or give a LO..HI range)",
                ));
            }
            Range::Choice { values }
        };
        Ok(Self { name, range })
    }

    /// A value drawn from the range, as the command line writes it.
    pub fn sample(&self, rng: &mut impl Rng) -> String {
        let draw = |lo: f64, hi: f64, log: bool, rng: &mut dyn rand::RngCore| -> f64 {
            let u: f64 = rng.gen();
            if log {
                (lo.ln() + u * (hi.ln() - lo.ln())).exp()
            } else {
                lo + u * (hi - lo)
            }
        };
        match &self.range {
            Range::Real { lo, hi, log } => format!("{:.4e}", draw(*lo, *hi, *log, rng)),
            Range::Integer { lo, hi, log } => {
                // Draw over [lo - 0.5, hi + 0.5) so both ends are as likely as any value.
                let (a, b) = if *log {
                    ((*lo as f64 - 0.5).max(0.5), *hi as f64 + 0.5)
                } else {
                    (*lo as f64 - 0.5, *hi as f64 + 0.5)
                };
                let v = draw(a, b, *log, rng).round() as i64;
                v.clamp(*lo, *hi).to_string()
            }
            Range::Choice { values } => values[rng.gen_range(0..values.len())].clone(),
        }
    }

    /// Whether a plot of this parameter wants a log axis.
    pub fn is_log(&self) -> bool {
        matches!(
            self.range,
            Range::Real { log: true, .. } | Range::Integer { log: true, .. }
        )
    }

    /// The option as the command line writes it: `--tv-weight`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ranges_parse_and_samples_stay_inside_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let lr = Param::parse("lr=1e-5..1e-3:log").unwrap();
        assert_eq!(lr.flag(), "--lr");
        let mut below = 0;
        for _ in 0..1000 {
            let v: f64 = lr.sample(&mut rng).parse().unwrap();
            assert!((1e-5..=1e-3).contains(&v), "{v}");
            below += usize::from(v < 1e-4);
        }
        // log-uniform: half the draws below the geometric middle
        assert!((400..600).contains(&below), "{below}");
        let hidden = Param::parse("hidden=32..64:int").unwrap();
        let drawn: std::collections::BTreeSet<i64> = (0..500)
            .map(|_| hidden.sample(&mut rng).parse().unwrap())
            .collect();
        assert_eq!(drawn.first(), Some(&32));
        assert_eq!(drawn.last(), Some(&64));
        let prior = Param::parse("prior=tv,fh").unwrap();
        assert!(["tv", "fh"].contains(&prior.sample(&mut rng).as_str()));
        assert_eq!(Param::parse("tv-weight=1..2").unwrap().name, "tv_weight");
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        for (spec, says) in [
            ("w0", "no `=`"),
            ("w0=60..10", "LO must be below HI"),
            ("lr=0..1e-3:log", "LO > 0"),
            ("lr=1e-5..x", "not a finite number"),
            ("lr=1e-5..1e-3:cube", "unknown flag"),
            ("hidden=1.5..4:int", "integer ends"),
            ("prior=tv", "at least two values"),
            ("=1..2", "long name"),
            ("prior=tv,fh:log", "go with a LO..HI range"),
        ] {
            let e = Param::parse(spec).unwrap_err().to_string();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }
}
