//! Successive halving (the synchronous form of ASHA, one Hyperband bracket): all trials train
//! a small budget; the best $1/\eta$ by the validation metric continue, from their
//! checkpoints, to $\eta$ times the steps; and so on to the full budget.
//!
//! With $n$ trials, a budget of $B$ steps and $\eta$, there are $s + 1$ rungs where
//! $s = \lfloor \log_\eta n \rfloor$ (fewer if a rung would get under `min_steps`); rung $i$
//! trains $\lfloor n / \eta^i \rfloor$ trials (at least one) to $B / \eta^{s - i}$ steps.

use siren_core::{Error, Result};

/// One rung: how many trials reach it and the steps they have trained when it is scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rung {
    /// Trials trained to this rung.
    pub trials: usize,
    /// Steps each of them has trained in all.
    pub steps: usize,
}

/// The rungs of a search (see the module docs).
pub fn rungs(trials: usize, budget: usize, eta: usize, min_steps: usize) -> Result<Vec<Rung>> {
    if trials == 0 || budget == 0 {
        return Err(Error::InvalidInput(
            "--trials and --budget must be at least 1".into(),
        ));
    }
    if eta < 2 {
        return Err(Error::InvalidInput(format!(
            "--eta must be at least 2 (the share of trials kept at each rung is 1/eta), got {eta}"
        )));
    }
    let mut s = 0u32;
    while trials / eta.pow(s + 1) >= 1 && budget / eta.pow(s + 1) >= min_steps.max(1) {
        s += 1;
    }
    Ok((0..=s)
        .map(|i| Rung {
            trials: (trials / eta.pow(i)).max(1),
            steps: budget / eta.pow(s - i),
        })
        .collect())
}

/// The `keep` best of `scores` (`(trial, score)`), best first; a missing or NaN score (a
/// failed trial) ranks last.
pub fn best(scores: &[(usize, f64)], keep: usize, maximize: bool) -> Vec<usize> {
    let mut ranked: Vec<(usize, f64)> = scores.to_vec();
    let key = |s: f64| {
        if s.is_nan() {
            f64::INFINITY
        } else if maximize {
            -s
        } else {
            s
        }
    };
    ranked.sort_by(|a, b| key(a.1).total_cmp(&key(b.1)).then(a.0.cmp(&b.0)));
    ranked.into_iter().take(keep).map(|(i, _)| i).collect()
}

/// Runs successive halving over `trials` trials: `train(batch)` trains each `(trial, steps)`
/// of the batch to `steps` steps in all (continuing a trial that trained before) and returns
/// their scores in order. Returns, per rung, the trials trained there and their scores.
pub fn successive_halving(
    trials: usize,
    rungs: &[Rung],
    maximize: bool,
    mut train: impl FnMut(&[(usize, usize)]) -> Result<Vec<f64>>,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let mut alive: Vec<usize> = (0..trials).collect();
    let mut out = Vec::new();
    for (i, rung) in rungs.iter().enumerate() {
        let batch: Vec<(usize, usize)> = alive.iter().map(|&t| (t, rung.steps)).collect();
        let scores = train(&batch)?;
        let scored: Vec<(usize, f64)> = alive.iter().copied().zip(scores).collect();
        if let Some(next) = rungs.get(i + 1) {
            // A failed trial (no score) is never promoted, even when too few succeeded.
            alive = best(&scored, next.trials, maximize)
                .into_iter()
                .filter(|t| scored.iter().any(|(i, v)| i == t && !v.is_nan()))
                .collect();
        }
        out.push(scored);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_schedule_is_hyperbands_bracket() {
        let r = rungs(27, 810, 3, 1).unwrap();
        let pairs: Vec<(usize, usize)> = r.iter().map(|r| (r.trials, r.steps)).collect();
        assert_eq!(pairs, [(27, 30), (9, 90), (3, 270), (1, 810)]);
        // too few steps for the lowest rung: fewer rungs
        let r = rungs(27, 810, 3, 100).unwrap();
        assert_eq!(r.first().unwrap().steps, 270);
        assert_eq!(r.len(), 2);
        assert_eq!(
            rungs(1, 50, 3, 1).unwrap(),
            [Rung {
                trials: 1,
                steps: 50
            }]
        );
        assert!(rungs(4, 50, 1, 1).is_err());
    }

    #[test]
    fn failed_trials_rank_last_and_are_never_promoted() {
        let s = [(0, 1.0), (1, f64::NAN), (2, 3.0), (3, 2.0)];
        assert_eq!(best(&s, 2, true), [2, 3]);
        assert_eq!(best(&s, 4, false), [0, 3, 2, 1]);
        let schedule = rungs(4, 8, 2, 1).unwrap();
        let mut seen = Vec::new();
        successive_halving(4, &schedule, true, |batch| {
            seen.push(batch.to_vec());
            Ok(batch
                .iter()
                .map(|&(t, _)| if t == 0 { 1.0 } else { f64::NAN })
                .collect())
        })
        .unwrap();
        // rung 1 takes 2 trials, but only trial 0 succeeded; after it, nothing is left
        assert_eq!(seen[1], [(0, 4)]);
        assert!(seen.len() == 2 || seen[2].len() <= 1);
    }

    /// A cheap synthetic objective with a known optimum: the "validation error" of a trial
    /// with setting x after t steps is (x - 0.3)^2 + 1/t, plus noise that shrinks with t.
    /// Successive halving must find x close to 0.3 while training far fewer steps than
    /// training every trial to the budget, and never train a step twice.
    #[test]
    fn halving_finds_the_known_optimum_of_a_synthetic_objective() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let xs: Vec<f64> = (0..27).map(|_| rng.gen::<f64>()).collect();
        let schedule = rungs(xs.len(), 810, 3, 1).unwrap();
        let mut trained = vec![0usize; xs.len()];
        let mut total = 0;
        let result = successive_halving(xs.len(), &schedule, false, |batch| {
            Ok(batch
                .iter()
                .map(|&(t, steps)| {
                    assert!(steps > trained[t], "trial {t} trained twice");
                    total += steps - trained[t];
                    trained[t] = steps;
                    let noise = 0.05 * ((t * 7919 + steps) as f64).sin() / (steps as f64).sqrt();
                    (xs[t] - 0.3).powi(2) + 1.0 / steps as f64 + noise
                })
                .collect())
        })
        .unwrap();
        let winner = result.last().unwrap()[0].0;
        let optimum = xs
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - 0.3).abs().total_cmp(&(b.1 - 0.3).abs()))
            .unwrap()
            .0;
        assert!((xs[winner] - 0.3).abs() < 0.05, "winner x = {}", xs[winner]);
        assert!(
            (xs[winner] - 0.3).abs() <= (xs[optimum] - 0.3).abs() + 0.03,
            "winner {} vs the best drawn {}",
            xs[winner],
            xs[optimum]
        );
        assert!(total * 3 < 27 * 810, "{total} steps");
    }
}
