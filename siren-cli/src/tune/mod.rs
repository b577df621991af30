//! `siren tune`: the seed's "tedious hyperparameter tuning" as a command. A successive-halving
//! search ([`halving`]) over ranges of a training command's options ([`space`]), every trial
//! an ordinary run folder of that command (`OUT/trials/trial-NNN`), promoted trials continuing
//! from their checkpoints (`--resume`), each scored by a validation metric the command logs to
//! `metrics.jsonl` (never by the test numbers its report shows), several trials at once as
//! the cores and memory allow; or, for a cluster, a Slurm job array (`--emit slurm`) gathered
//! by `siren tune --collect OUT`. Writes `tune.md`, `tune.json`, `tune.png` and the winner's
//! `winner.toml`, which `siren COMMAND --config OUT/winner.toml` reruns as is ([`report`]).

mod halving;
mod report;
mod space;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use clap::{Args, CommandFactory};
use rand::SeedableRng;
use siren_core::{Error, Result};

use halving::{rungs, successive_halving, Rung};
use report::{metric_history, TrialRecord, TuneRecord};
use space::Param;

/// The commands `siren tune` can tune, with the validation metric each logs (`None`: it logs
/// none yet, so only `--metric loss` can score it).
const TUNABLE: [(&str, Option<&str>); 8] = [
    ("fit", Some("val_psnr")),
    ("inpaint", Some("val_psnr")),
    ("wave", Some("val_error")),
    ("helmholtz", Some("val_error")),
    ("audio", Some("val_snr")),
    ("video", Some("val_psnr")),
    ("sdf", Some("val_surface_abs")),
    ("poisson", None),
];

/// Options of the tuned command that the search sets itself.
const RESERVED: [&str; 7] = [
    "steps",
    "out",
    "resume",
    "overwrite",
    "config",
    "quiet",
    "help",
];

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// The command to tune and its options, with the search's own options anywhere among them
    /// (see below).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "COMMAND [OPTIONS]"
    )]
    words: Vec<String>,
}

/// What the command line asks for.
struct Plan {
    command: String,
    /// The command's own options (without `--steps` and `--out`).
    base: Vec<String>,
    out: PathBuf,
    params: Vec<Param>,
    trials: usize,
    budget: usize,
    eta: usize,
    min_steps: usize,
    metric: String,
    maximize: bool,
    parallel: usize,
    seed: u64,
    emit: Option<String>,
    notes: Vec<String>,
}

/// Splits `--name=value` / `--name value`.
fn take_value(words: &[String], i: &mut usize, flag: &str) -> Result<String> {
    let w = &words[*i];
    if let Some(v) = w.strip_prefix(&format!("{flag}=")) {
        return Ok(v.to_string());
    }
    *i += 1;
    words
        .get(*i)
        .cloned()
        .ok_or_else(|| Error::InvalidInput(format!("{flag} needs a value")))
}

fn number<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T> {
    text.parse()
        .map_err(|_| Error::InvalidInput(format!("{flag} must be a whole number, got {text:?}")))
}

pub fn tune(a: TuneArgs) -> Result<()> {
    let words = a.words;
    if let Some(dir) = collect_dir(&words)? {
        return report::collect(&dir);
    }
    let plan = parse(&words)?;
    if plan.emit.is_some() {
        return emit_slurm(&plan);
    }
    run(&plan)
}

/// `--collect DIR`, alone.
fn collect_dir(words: &[String]) -> Result<Option<PathBuf>> {
    let Some(i) = words
        .iter()
        .position(|w| w == "--collect" || w.starts_with("--collect="))
    else {
        return Ok(None);
    };
    let mut j = i;
    let dir = take_value(words, &mut j, "--collect")?;
    if words.len() != j + 1 - i {
        return Err(Error::InvalidInput(
            "--collect DIR takes nothing else: it gathers the trials of an emitted search".into(),
        ));
    }
    Ok(Some(PathBuf::from(dir)))
}

fn parse(words: &[String]) -> Result<Plan> {
    let mut command = None;
    let mut base = Vec::new();
    let (mut out, mut steps) = (None, None);
    let mut params = Vec::new();
    let (mut trials, mut budget, mut eta, mut min_steps) = (9usize, None, 3usize, 1usize);
    let (mut metric, mut parallel, mut seed, mut emit) = (None, None, 0u64, None);
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let flag = w.split('=').next().unwrap_or(w);
        match flag {
            "--search" => params.push(Param::parse(&take_value(words, &mut i, flag)?)?),
            "--trials" => trials = number(&take_value(words, &mut i, flag)?, flag)?,
            "--budget" => budget = Some(number(&take_value(words, &mut i, flag)?, flag)?),
            "--eta" => eta = number(&take_value(words, &mut i, flag)?, flag)?,
            "--min-steps" => min_steps = number(&take_value(words, &mut i, flag)?, flag)?,
            "--metric" => metric = Some(take_value(words, &mut i, flag)?),
            "--parallel" => parallel = Some(number(&take_value(words, &mut i, flag)?, flag)?),
            "--tune-seed" => seed = number(&take_value(words, &mut i, flag)?, flag)?,
            "--emit" => emit = Some(take_value(words, &mut i, flag)?),
            "--out" => out = Some(PathBuf::from(take_value(words, &mut i, flag)?)),
            "--steps" => steps = Some(number::<usize>(&take_value(words, &mut i, flag)?, flag)?),
            "--resume" | "--overwrite" | "--config" => {
                return Err(Error::InvalidInput(format!(
                    "{flag}: the search runs its trials itself; a search folder is started once \
                     (choose a new --out)"
                )))
            }
            _ if command.is_none() && !w.starts_with('-') => command = Some(w.to_string()),
            _ => base.push(words[i].clone()),
        }
        i += 1;
    }
    let names: Vec<&str> = TUNABLE.iter().map(|t| t.0).collect();
    let command = command.ok_or_else(|| {
        Error::InvalidInput(format!(
            "name the command to tune first: siren tune {} ...",
            names.join("|")
        ))
    })?;
    let default_metric = TUNABLE
        .iter()
        .find(|t| t.0 == command)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "siren tune runs training commands ({}), not {command:?}",
                names.join(", ")
            ))
        })?
        .1;
    let out = out.ok_or_else(|| {
        Error::InvalidInput(
            "give --out DIR: the search's folder (its trials go in DIR/trials)".into(),
        )
    })?;
    let budget = budget.or(steps).ok_or_else(|| {
        Error::InvalidInput("give --budget STEPS: the steps the best trials train in all".into())
    })?;
    if params.is_empty() {
        return Err(Error::InvalidInput(
            "give at least one --search NAME=LO..HI[:log] (or NAME=A,B,C)".into(),
        ));
    }
    let (metric, maximize) = resolve_metric(&command, metric, default_metric)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = parallel.unwrap_or(cores);
    if parallel == 0 {
        return Err(Error::InvalidInput("--parallel must be at least 1".into()));
    }
    let mut plan = Plan {
        command,
        base,
        out,
        params,
        trials,
        budget,
        eta,
        min_steps,
        metric,
        maximize,
        parallel,
        seed,
        emit,
        notes: Vec::new(),
    };
    complete_command(&mut plan)?;
    check_command(&plan)?;
    rungs(plan.trials, plan.budget, plan.eta, plan.min_steps)?;
    Ok(plan)
}

/// `NAME[:max|:min]`, a validation metric (or the training loss) only.
fn resolve_metric(
    command: &str,
    metric: Option<String>,
    default: Option<&str>,
) -> Result<(String, bool)> {
    let text = match (metric, default) {
        (Some(m), _) => m,
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(Error::InvalidInput(format!(
                "siren {command} logs no validation metric yet; give --metric loss to score \
                 trials by the training loss (metrics.jsonl's `loss`)"
            )))
        }
    };
    let (name, direction) = match text.split_once(':') {
        Some((n, d)) => (n.to_string(), Some(d)),
        None => (text.clone(), None),
    };
    if !(name.starts_with("val_") || name == "loss") {
        return Err(Error::InvalidInput(format!(
            "--metric {name}: a search is scored on a validation metric (val_*, e.g. val_psnr, \
             val_error) or the training loss, never on the test numbers a report shows"
        )));
    }
    let maximize = match direction {
        Some("max") => true,
        Some("min") => false,
        Some(d) => {
            return Err(Error::InvalidInput(format!(
                "--metric {text}: the direction is :max or :min, not :{d}"
            )))
        }
        None => name.contains("psnr") || name.contains("snr"),
    };
    Ok((name, maximize))
}

/// Adds what the metric needs and the user left out: the validation pixels of fit and
/// inpaint, the PDEs' validation measurements.
fn complete_command(plan: &mut Plan) -> Result<()> {
    let has = |base: &[String], flag: &str| {
        base.iter()
            .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
    };
    let held_out = ["val_psnr", "val_snr", "val_surface_abs"];
    if held_out.contains(&plan.metric.as_str()) && !has(&plan.base, "--validation") {
        plan.base.push("--validation=0.1".into());
        plan.notes.push(
            "`--validation=0.1` was added: 10% of the points (pixels, samples) training may see \
             are held out and score the trials"
                .into(),
        );
    }
    if plan.command == "audio" && !has(&plan.base, "--no-baseline") {
        return Err(Error::InvalidInput(
            "tune the audio SIREN alone (its metrics.jsonl then holds one run): add --no-baseline"
                .into(),
        ));
    }
    if plan.metric == "val_error" {
        if !has(&plan.base, "--eval-every") {
            let first = rungs(plan.trials, plan.budget, plan.eta, plan.min_steps)?[0].steps;
            plan.base.push(format!("--eval-every={first}"));
        }
        let value = |flag: &str| -> Option<String> {
            let i = plan
                .base
                .iter()
                .position(|w| w == flag || w.starts_with(&format!("{flag}=")))?;
            match plan.base[i].split_once('=') {
                Some((_, v)) => Some(v.to_string()),
                None => plan.base.get(i + 1).cloned(),
            }
        };
        let one_model = value("--models").is_some_and(|m| !m.contains(','));
        let one_medium = value("--medium").is_some_and(|m| m != "both");
        if !(one_model && one_medium) {
            return Err(Error::InvalidInput(format!(
                "tune a {} run of one network and one medium (its val_error is then one \
                 number): add e.g. --models siren --medium uniform",
                plan.command
            )));
        }
    }
    Ok(())
}

/// The command line must parse as `siren COMMAND`, and every searched name must be one of
/// its options (and not one the search sets, or one given as well).
fn check_command(plan: &Plan) -> Result<()> {
    let root = crate::overriding(crate::Cli::command());
    let sub = root
        .find_subcommand(&plan.command)
        .expect("tunable commands are subcommands");
    let longs: Vec<String> = sub
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    for p in &plan.params {
        let long = p.name.replace('_', "-");
        if RESERVED.contains(&p.name.as_str()) {
            return Err(Error::InvalidInput(format!(
                "--search {}: the search sets --{long} itself",
                p.name
            )));
        }
        if !longs.contains(&long) {
            return Err(Error::InvalidInput(format!(
                "--search {}: siren {} has no --{long}; its options: {}",
                p.name,
                plan.command,
                longs
                    .iter()
                    .filter(|l| !RESERVED.contains(&l.replace('-', "_").as_str()))
                    .map(|l| format!("--{l}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        if plan
            .base
            .iter()
            .any(|w| w == &p.flag() || w.starts_with(&format!("{}=", p.flag())))
        {
            return Err(Error::InvalidInput(format!(
                "{} is both given and searched: drop one",
                p.flag()
            )));
        }
    }
    if plan
        .params
        .iter()
        .enumerate()
        .any(|(i, p)| plan.params[..i].iter().any(|q| q.name == p.name))
    {
        return Err(Error::InvalidInput("a parameter is searched twice".into()));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut argv = vec!["siren".to_string(), plan.command.clone()];
    argv.extend(plan.base.iter().cloned());
    for p in &plan.params {
        argv.push(format!("{}={}", p.flag(), p.sample(&mut rng)));
    }
    argv.extend(["--steps=1".into(), "--out=probe".into()]);
    root.try_get_matches_from(argv).map_err(|e| {
        Error::InvalidInput(format!(
            "siren {} does not take this command line: {}",
            plan.command,
            e.render().to_string().lines().next().unwrap_or("")
        ))
    })?;
    Ok(())
}

impl Plan {
    fn trial_dir(&self, t: usize) -> PathBuf {
        self.out.join("trials").join(format!("trial-{t:03}"))
    }

    /// Every trial's settings, drawn once from the search's seed.
    fn settings(&self) -> Vec<BTreeMap<String, String>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        (0..self.trials)
            .map(|_| {
                self.params
                    .iter()
                    .map(|p| (p.name.clone(), p.sample(&mut rng)))
                    .collect()
            })
            .collect()
    }

    /// The arguments (after `siren`) that train trial `t` with `settings` to `steps` steps in
    /// all, continuing its checkpoint when it trained before.
    fn trial_args(
        &self,
        t: usize,
        settings: &BTreeMap<String, String>,
        steps: usize,
        resume: bool,
    ) -> Vec<String> {
        let mut args = vec![self.command.clone()];
        args.extend(self.base.iter().cloned());
        for p in &self.params {
            args.push(format!("{}={}", p.flag(), settings[&p.name]));
        }
        args.push(format!("--steps={steps}"));
        args.push(format!("--out={}", self.trial_dir(t).display()));
        args.push("--quiet".into());
        if resume {
            args.push("--resume".into());
        }
        args
    }

    /// The command line a user would type for the whole search (for the report).
    fn command_line(&self) -> String {
        let mut w = vec!["siren".to_string(), "tune".into(), self.command.clone()];
        w.extend(self.base.iter().cloned());
        for p in &self.params {
            w.push(format!("--search {}", search_spec(p)));
        }
        w.push(format!(
            "--trials {} --budget {} --eta {} --metric {}:{} --out {}",
            self.trials,
            self.budget,
            self.eta,
            self.metric,
            if self.maximize { "max" } else { "min" },
            self.out.display()
        ));
        w.join(" ")
    }
}

fn search_spec(p: &Param) -> String {
    use space::Range;
    match &p.range {
        Range::Real { lo, hi, log } => {
            format!("{}={lo}..{hi}{}", p.name, if *log { ":log" } else { "" })
        }
        Range::Integer { lo, hi, log } => {
            format!(
                "{}={lo}..{hi}:int{}",
                p.name,
                if *log { ":log" } else { "" }
            )
        }
        Range::Choice { values } => format!("{}={}", p.name, values.join(",")),
    }
}

/// A search folder is started once.
fn fresh_out(out: &Path) -> Result<()> {
    if out.join("trials").exists() || out.join("tune.json").exists() {
        return Err(Error::InvalidInput(format!(
            "{} holds a search already (trials/ or tune.json): choose another --out",
            out.display()
        )));
    }
    crate::out_dir(&out.join("trials"))?;
    Ok(())
}

/// Largest resident memory of any finished child process, in bytes.
fn children_peak_memory() -> u64 {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0;
    if ok {
        usage.ru_maxrss.max(0) as u64 * 1024
    } else {
        0
    }
}

/// Runs the search: trains the rungs through a pool of `siren` processes.
fn run(plan: &Plan) -> Result<()> {
    fresh_out(&plan.out)?;
    let schedule = rungs(plan.trials, plan.budget, plan.eta, plan.min_steps)?;
    let settings = plan.settings();
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        action: "cannot find the siren binary to run trials with",
        path: PathBuf::from("siren"),
        source,
    })?;
    let start = Instant::now();
    let mut trained = vec![0usize; plan.trials];
    let mut errors: Vec<Option<String>> = vec![None; plan.trials];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "siren tune: {} trials of siren {}, rungs {}; {}",
        plan.trials,
        plan.command,
        schedule
            .iter()
            .map(|r| format!("{} to {} steps", r.trials, r.steps))
            .collect::<Vec<_>>()
            .join(", "),
        plan.out.display()
    );
    let stop = siren_core::train::stop_flag().clone();
    let results = successive_halving(plan.trials, &schedule, plan.maximize, |batch| {
        let parallel = plan.parallel.min(batch.len()).max(1);
        let threads = (cores / parallel).max(1);
        let mut queue: Vec<(usize, usize)> = batch.iter().rev().copied().collect();
        let mut running: Vec<(usize, Child)> = Vec::new();
        let mut scores = vec![f64::NAN; batch.len()];
        while !queue.is_empty() || !running.is_empty() {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (_, c) in &mut running {
                    let _ = c.kill();
                }
                return Err(Error::Interrupted(
                    "siren tune was interrupted; the trials' folders keep their checkpoints".into(),
                ));
            }
            // Start another trial while the cores allow it and the memory a trial has taken
            // so far fits once more.
            let peak = children_peak_memory();
            let room = siren_core::device::available_memory()
                .is_none_or(|avail| running.is_empty() || peak == 0 || peak < avail);
            if running.len() < parallel && room {
                if let Some((t, steps)) = queue.pop() {
                    let dir = plan.trial_dir(t);
                    let args = plan.trial_args(t, &settings[t], steps, trained[t] > 0);
                    let child = crate::child::spawn_siren(&exe, &args, &dir, threads)?;
                    running.push((t, child));
                    continue;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
            let mut k = 0;
            while k < running.len() {
                let done = running[k]
                    .1
                    .try_wait()
                    .map_err(|e| Error::InvalidInput(format!("cannot wait for a trial: {e}")))?;
                let Some(status) = done else {
                    k += 1;
                    continue;
                };
                let (t, _) = running.remove(k);
                let steps = batch.iter().find(|b| b.0 == t).map_or(0, |b| b.1);
                let dir = plan.trial_dir(t);
                let score = if status.success() {
                    trained[t] = steps;
                    metric_history(&dir, &plan.metric)
                        .iter()
                        .rev()
                        .find(|(s, _)| *s <= steps)
                        .map_or(f64::NAN, |(_, v)| *v)
                } else {
                    errors[t] = crate::child::last_error(&dir).or(Some("the trial failed".into()));
                    f64::NAN
                };
                let at = batch.iter().position(|b| b.0 == t).expect("from the batch");
                scores[at] = score;
                println!(
                    "  trial-{t:03} {} -> {} steps: {} {score:.4}{}",
                    settings[t]
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    steps,
                    plan.metric,
                    errors[t]
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                );
            }
        }
        Ok(scores)
    })?;
    let record = TuneRecord::from_search(
        plan,
        &schedule,
        &settings,
        &results,
        &trained,
        &errors,
        start.elapsed().as_secs_f64(),
    );
    report::write(&plan.out, &record)
}

/// `--emit slurm`: the trials as a Slurm job array, each trained to the full budget (array
/// tasks are independent, so there is no halving), gathered by `siren tune --collect OUT`.
fn emit_slurm(plan: &Plan) -> Result<()> {
    if plan.emit.as_deref() != Some("slurm") {
        return Err(Error::InvalidInput(format!(
            "--emit {}: the engine siren tune emits for is slurm",
            plan.emit.as_deref().unwrap_or("")
        )));
    }
    fresh_out(&plan.out)?;
    let settings = plan.settings();
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| PathBuf::from("siren"));
    let out = plan.out.canonicalize().unwrap_or_else(|_| plan.out.clone());
    let absolute = Plan {
        out: out.clone(),
        ..clone_plan(plan)
    };
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut cases = String::new();
    for (t, s) in settings.iter().enumerate() {
        let args: Vec<String> = absolute
            .trial_args(t, s, plan.budget, false)
            .iter()
            .map(|a| quote(a))
            .collect();
        cases += &format!(
            "  {t}) exec \"$SIREN\" {} 2> {} ;;\n",
            args.join(" "),
            quote(
                &absolute
                    .trial_dir(t)
                    .join("stderr.log")
                    .display()
                    .to_string()
            )
        );
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let script = format!(
        "#!/bin/bash\n\
         # siren tune --emit slurm: {n} trials of siren {cmd}, one per array task, each to {budget} steps.\n\
         # Submit: sbatch {out}/slurm.sh   Gather: siren tune --collect {out}\n\
         # One task runs locally too: SLURM_ARRAY_TASK_ID=0 bash {out}/slurm.sh\n\
         #SBATCH --job-name=siren-tune\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --output={out}/trials/slurm-%a.out\n\
         set -euo pipefail\n\
         SIREN=\"${{SIREN:-{exe}}}\"\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\n\
         task=\"${{SLURM_ARRAY_TASK_ID:?run as a Slurm array task, or set SLURM_ARRAY_TASK_ID}}\"\n\
         mkdir -p \"{out}/trials/trial-$(printf %03d \"$task\")\"\n\
         case \"$task\" in\n{cases}  *) echo \"no trial $task (0-{last})\" >&2; exit 2 ;;\nesac\n",
        n = plan.trials,
        cmd = plan.command,
        budget = plan.budget,
        out = out.display(),
        last = plan.trials - 1,
        exe = exe.display(),
    );
    siren_core::io::write_atomic(&out.join("slurm.sh"), script.as_bytes())?;
    let record = TuneRecord::emitted(&absolute, &settings);
    report::write_plan(&out, &record)?;
    println!(
        "wrote {0}/slurm.sh ({1} array tasks); submit it with sbatch, then gather with: siren tune --collect {0}",
        out.display(),
        plan.trials
    );
    Ok(())
}

fn clone_plan(p: &Plan) -> Plan {
    Plan {
        command: p.command.clone(),
        base: p.base.clone(),
        out: p.out.clone(),
        params: p.params.clone(),
        trials: p.trials,
        budget: p.budget,
        eta: p.eta,
        min_steps: p.min_steps,
        metric: p.metric.clone(),
        maximize: p.maximize,
        parallel: p.parallel,
        seed: p.seed,
        emit: p.emit.clone(),
        notes: p.notes.clone(),
    }
}

type Settings = BTreeMap<String, String>;

impl TuneRecord {
    fn base(plan: &Plan, schedule: &[Rung]) -> Self {
        TuneRecord {
            command: plan.command_line(),
            tuned: plan.command.clone(),
            metric: plan.metric.clone(),
            maximize: plan.maximize,
            eta: plan.eta,
            budget: plan.budget,
            rungs: schedule.to_vec(),
            search: plan.params.clone(),
            trials: Vec::new(),
            winner: None,
            total_steps: 0,
            wall_s: 0.0,
            notes: plan.notes.clone(),
        }
    }

    fn from_search(
        plan: &Plan,
        schedule: &[Rung],
        settings: &[Settings],
        results: &[Vec<(usize, f64)>],
        trained: &[usize],
        errors: &[Option<String>],
        wall_s: f64,
    ) -> Self {
        let mut r = Self::base(plan, schedule);
        for (t, s) in settings.iter().enumerate() {
            let scores = results
                .iter()
                .zip(schedule)
                .filter_map(|(rung, sched)| {
                    let v = rung.iter().find(|(i, _)| *i == t)?.1;
                    Some((sched.steps, Some(v).filter(|v| v.is_finite())))
                })
                .collect();
            let dir = plan.trial_dir(t);
            r.trials.push(TrialRecord {
                id: format!("trial-{t:03}"),
                history: metric_history(&dir, &plan.metric),
                dir,
                settings: s.clone(),
                steps: trained[t],
                scores,
                error: errors[t].clone(),
            });
        }
        r.finish(wall_s);
        r
    }

    fn emitted(plan: &Plan, settings: &[Settings]) -> Self {
        let mut r = Self::base(
            plan,
            &[Rung {
                trials: plan.trials,
                steps: plan.budget,
            }],
        );
        for (t, s) in settings.iter().enumerate() {
            r.trials.push(TrialRecord {
                id: format!("trial-{t:03}"),
                dir: plan.trial_dir(t),
                settings: s.clone(),
                steps: 0,
                scores: Vec::new(),
                history: Vec::new(),
                error: None,
            });
        }
        r.notes.push(
            "emitted for Slurm: every trial trains the full budget in its own array task (no \
             halving); gathered by siren tune --collect"
                .into(),
        );
        r
    }
}
