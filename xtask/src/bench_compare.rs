//! `cargo xtask bench-compare`: our training steps against the best CPU peers, side by side.
//!
//! Peers: PyTorch (`bench/torch_reference.py`, autograd with double backward, as the original
//! code) and JAX (`bench/jax_reference.py`, the step under `jit`, second derivatives by nested
//! `jvp` or, for Laplacians, by `folx.forward_laplacian`; the faster method is JAX's figure).
//! Workloads:
//! * kernel-sized (`fit`, `laplacian`, `wave`): ours is `siren-core/benches/step_benchmark.rs`;
//! * experiment-sized (`wave-default`, `wave-128`, `helmholtz`, `inpaint-fh`, `sdf`,
//!   `hypernet-cnn`, `hypernet-set`): ours is the `siren` command itself for a few steps, its
//!   step times read from the run's `metrics.jsonl`; the twins run the same network, points per
//!   step and loss terms (the hypernetwork's on random faces with the same context law: the
//!   cost depends only on how many pixels are known; ours reads CelebA, and the two are left
//!   out without it).
//!
//! Each run is its own process (its peak RSS, from `wait4`, is the workload's), ours and the
//! peers alternately, `--rounds` times, each after warm-up steps; the median over every timed
//! step is the figure. The Python peers run with tcmalloc preloaded when the system has it
//! (`libtcmalloc.so.4` or Debian's `libtcmalloc_minimal.so.4`) and with as many threads as we;
//! the table says which allocator each side used.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct BenchCompareArgs {
    /// Workloads to compare: fit, laplacian, wave (kernel-sized), wave-default, wave-128,
    /// helmholtz, inpaint-fh, sdf, hypernet-cnn, hypernet-set (what the experiments run per
    /// step).
    #[arg(long, num_args = 1.., default_values_t = WORKLOADS.map(String::from))]
    workloads: Vec<String>,
    /// Alternating rounds per workload.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Timed steps per run.
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Untimed steps before them.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Also time our fit and laplacian steps at 16k, 65k, 262k and 1M points with 1 and 2
    /// threads (how cost grows).
    #[arg(long)]
    scaling: bool,
    /// Python virtual environment for the peers (made, and torch, jax and folx installed,
    /// when missing).
    #[arg(long, default_value = "target/bench-venv")]
    venv: PathBuf,
    /// CelebA root for the hypernetwork workloads (default: SIREN_CELEBA, else
    /// `celeba-sample/` in SIREN_DATA or in ../shared/data beside the repository).
    #[arg(long)]
    celeba: Option<PathBuf>,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench-compare.json")]
    out: PathBuf,
}

const KERNEL_WORKLOADS: [&str; 3] = ["fit", "laplacian", "wave"];
const WORKLOADS: [&str; 10] = [
    "fit",
    "laplacian",
    "wave",
    "wave-default",
    "wave-128",
    "helmholtz",
    "inpaint-fh",
    "sdf",
    "hypernet-cnn",
    "hypernet-set",
];

/// A finished process: its standard output and peak resident memory.
struct Finished {
    stdout: String,
    peak_rss: u64,
}

/// Runs `cmd` to the end; its own peak RSS comes from `wait4`.
fn run(cmd: &mut Command, what: &str) -> Result<Finished, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    let _ = out.read_to_string(&mut stdout);
    let stderr = reader.join().unwrap_or_default();
    let mut status = 0;
    // SAFETY: wait4 fills `status` and `usage` for our own child, which std has not reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    if pid < 0 {
        return Err(format!("cannot wait for {what}"));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!("{what} failed: {}", stderr.trim()));
    }
    Ok(Finished {
        stdout,
        peak_rss: usage.ru_maxrss.max(0) as u64 * 1024,
    })
}

/// The last JSON line a benchmark printed, with the process's peak RSS.
fn run_json(cmd: &mut Command, what: &str) -> Result<Value, String> {
    let done = run(cmd, what)?;
    let line = done
        .stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{what} printed no JSON line"))?;
    let mut v: Value =
        serde_json::from_str(line).map_err(|e| format!("{what} printed bad JSON ({e}): {line}"))?;
    v["peak_rss_bytes"] = json!(done.peak_rss);
    Ok(v)
}

/// The venv's python with `modules` importable; makes the venv and pip-installs `packages` if
/// needed. `None`: no Python on this machine.
fn venv_python(venv: &Path, modules: &str, packages: &[&str]) -> Result<Option<PathBuf>, String> {
    let python = venv.join("bin/python");
    let imports = |py: &Path| {
        Command::new(py)
            .args(["-c", &format!("import {modules}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if python.exists() && imports(&python) {
        return Ok(Some(python));
    }
    let system = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    let Some(system) = system else {
        return Ok(None);
    };
    if !python.exists() {
        eprintln!("making a Python venv at {}", venv.display());
        let ok = Command::new(system)
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .map_err(|e| format!("cannot run {system} -m venv: {e}"))?
            .success();
        if !ok {
            return Err(format!(
                "`{system} -m venv {}` failed (Debian: apt install python3-venv)",
                venv.display()
            ));
        }
    }
    eprintln!(
        "installing {} into {} (once)",
        packages.join(" "),
        venv.display()
    );
    let ok = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .args(packages)
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?
        .success();
    if !ok || !imports(&python) {
        return Err(format!(
            "pip could not install {}; install them into the venv by hand",
            packages.join(" ")
        ));
    }
    Ok(Some(python))
}

/// tcmalloc, full or minimal (Debian's libtcmalloc-minimal4 ships only the latter).
fn tcmalloc() -> Option<PathBuf> {
    let dirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr/lib64"];
    let names = ["libtcmalloc.so.4", "libtcmalloc_minimal.so.4"];
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| Path::new(d).join(n)))
        .find(|p| p.exists())
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn times(v: &Value) -> Vec<f64> {
    v["times_s"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// A Python peer: its interpreter, script, the methods it tries per workload, its allocator.
struct Peer {
    name: &'static str,
    python: PathBuf,
    script: PathBuf,
    preload: Option<PathBuf>,
    methods: fn(&str) -> &'static [&'static str],
}

impl Peer {
    fn run(
        &self,
        w: &str,
        method: &str,
        steps: &str,
        warmup: &str,
        threads: usize,
    ) -> Result<Value, String> {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script).args([
            w,
            "--steps",
            steps,
            "--warmup",
            warmup,
            "--threads",
            &threads.to_string(),
        ]);
        if !method.is_empty() {
            cmd.args(["--method", method]);
        }
        if let Some(lib) = &self.preload {
            cmd.env("LD_PRELOAD", lib);
        }
        run_json(&mut cmd, &format!("{} {w} {method}", self.script.display()))
    }
}

fn no_methods(_: &str) -> &'static [&'static str] {
    &[""]
}

fn jax_methods(w: &str) -> &'static [&'static str] {
    match w {
        "laplacian" | "wave" | "wave-default" | "wave-128" => &["jvp", "folx"],
        "fit" | "hypernet-cnn" | "hypernet-set" => &[""],
        // folx gives only the Laplacian; the PML residual weighs u_xx and u_yy apart.
        _ => &["jvp"],
    }
}

/// Our side of one workload: the step benchmark, or the `siren` command for a few steps.
struct Ours {
    bench: PathBuf,
    siren: PathBuf,
    runs: PathBuf,
    celeba: Option<PathBuf>,
}

impl Ours {
    fn run(&self, w: &str, steps: usize, warmup: usize) -> Result<Value, String> {
        if KERNEL_WORKLOADS.contains(&w) {
            let (s, wu) = (steps.to_string(), warmup.to_string());
            return run_json(
                Command::new(&self.bench).args([w, "--steps", &s, "--warmup", &wu]),
                "the step benchmark",
            );
        }
        let dir = self.runs.join(w);
        let camera = crate::common::root().join("siren-image/data/camera.png");
        let sphere = self.runs.join("sphere.xyz");
        // Two more steps than timed: the first step's time includes the set-up, the last one's
        // the run's final evaluation and checkpoint.
        let total = (warmup + steps + 2).to_string();
        let faces_cache = self.runs.join("celeba-faces.safetensors");
        let (camera, sphere, dir_s, faces_cache) = (
            camera.to_string_lossy().into_owned(),
            sphere.to_string_lossy().into_owned(),
            dir.to_string_lossy().into_owned(),
            faces_cache.to_string_lossy().into_owned(),
        );
        let celeba = self
            .celeba
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        // The PDE commands at their default scale, one network, one medium, a small error grid.
        let pde = [
            "--scale", "default", "--models", "siren", "--medium", "uniform", "--grid", "33",
        ];
        let width = if w == "wave-128" { "128" } else { "64" };
        // The hypernetwork workloads' encoder, which also names their run's subfolder.
        let encoder = match w {
            "hypernet-cnn" => Some("cnn"),
            "hypernet-set" => Some("set-sine"),
            _ => None,
        };
        let mut args: Vec<&str> = match w {
            "wave-default" | "wave-128" => [&["wave"][..], &pde, &["--width", width]].concat(),
            "helmholtz" => [&["helmholtz"][..], &pde].concat(),
            "inpaint-fh" => vec![
                "inpaint",
                &camera,
                "--size",
                "256",
                "--mask",
                "random:0.1",
                "--prior",
                "fh",
                "--prior-points",
                "1024",
                "--batch",
                "8192",
            ],
            "sdf" => {
                if !Path::new(&sphere).exists() {
                    write_sphere(Path::new(&sphere))?;
                }
                vec![
                    "sdf",
                    &sphere,
                    "--resolution",
                    "16",
                    "--compare-samples",
                    "1000",
                ]
            }
            _ if encoder.is_some() => {
                let celeba = celeba.as_deref().ok_or("no CelebA folder")?;
                let mut args = vec![
                    "hypernet",
                    "train",
                    "--celeba",
                    celeba,
                    "--encoder",
                    encoder.unwrap_or_default(),
                    "--scale",
                    "default",
                    "--val-every",
                    "0",
                    "--no-eval",
                    "--cache",
                    &faces_cache,
                ];
                // The shared sample's 7,500 faces, as `cargo xtask reproduce` trains on.
                if Path::new(celeba).join(SMALL_FACES).is_dir() {
                    args.extend(["--images", SMALL_FACES]);
                }
                args
            }
            other => return Err(format!("unknown workload {other}")),
        };
        // The hypernetwork's run logs into a folder per model; the others have evaluations to
        // put off.
        let metrics = match encoder {
            Some(encoder) => dir.join(encoder).join("metrics.jsonl"),
            None => {
                args.extend(["--eval-every", "1000000"]);
                dir.join("metrics.jsonl")
            }
        };
        args.extend(["--steps", &total, "--quiet", "--overwrite", "--out", &dir_s]);
        let done = run(Command::new(&self.siren).args(&args), &format!("siren {w}"))?;
        let log = std::fs::read_to_string(&metrics)
            .map_err(|e| format!("siren {w} left no {}: {e}", metrics.display()))?;
        let wall: Vec<f64> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["wall_s"].as_f64())
            .collect();
        let step_times: Vec<f64> = wall
            .windows(2)
            .map(|p| p[1] - p[0])
            .skip(warmup)
            .take(steps)
            .collect();
        Ok(json!({
            "workload": w,
            "path": "siren",
            "median_s": median(step_times.clone()),
            "times_s": step_times,
            "peak_rss_bytes": done.peak_rss,
        }))
    }
}

/// The shared CelebA sample's folder of 7,500 faces at 89x109.
const SMALL_FACES: &str = "img_align_celeba_89x109";

/// The CelebA root for the hypernetwork workloads: `--celeba`, SIREN_CELEBA, or
/// `celeba-sample/` in the shared data (SIREN_DATA, else ../shared/data beside `root`).
fn celeba_root(flag: Option<&Path>, root: &Path) -> Option<PathBuf> {
    let shared = std::env::var_os("SIREN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"))
        .join("celeba-sample");
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SIREN_CELEBA").map(PathBuf::from))
        .or_else(|| shared.is_dir().then_some(shared))
}

/// 4,096 oriented points on the sphere of radius 0.5 as `.xyz` (what `siren sdf` reads): the
/// SDF step costs the same on any surface.
fn write_sphere(path: &Path) -> Result<(), String> {
    let mut text = String::new();
    let n = 4096;
    for i in 0..n {
        // A Fibonacci lattice: evenly spread, no randomness needed.
        let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
        let r = (1.0 - z * z).sqrt();
        let phi = i as f64 * std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let (x, y) = (r * phi.cos(), r * phi.sin());
        text += &format!("{} {} {} {x} {y} {z}\n", 0.5 * x, 0.5 * y, 0.5 * z);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Builds the step benchmark (release) and returns its executable.
fn build_step_benchmark(root: &Path) -> Result<PathBuf, String> {
    eprintln!("building the step benchmark (release)...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "bench",
            "--no-run",
            "--quiet",
            "--message-format=json",
            "-p",
            "siren-core",
            "--bench",
            "step_benchmark",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the step benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // The bench binary's path carries a hash: take it from cargo's build messages.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["target"]["name"] == "step_benchmark")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo built no step_benchmark executable".into())
}

pub fn bench_compare(a: BenchCompareArgs, root: &Path) -> Result<(), String> {
    for w in &a.workloads {
        if !WORKLOADS.contains(&w.as_str()) {
            return Err(format!(
                "unknown workload {w:?}; choose from {}",
                WORKLOADS.join(", ")
            ));
        }
    }
    if a.rounds == 0 || a.steps == 0 {
        return Err("--rounds and --steps must be at least 1".into());
    }
    let venv = root.join(&a.venv);
    let preload = tcmalloc();
    let mut peers = Vec::new();
    match venv_python(&venv, "torch", &["torch"]) {
        Ok(Some(python)) => peers.push(Peer {
            name: "PyTorch",
            python,
            script: root.join("bench/torch_reference.py"),
            preload: preload.clone(),
            methods: no_methods,
        }),
        Ok(None) => eprintln!("PyTorch skipped: no Python found (install python3 with venv)"),
        Err(e) => eprintln!("PyTorch skipped: {e}"),
    }
    match venv_python(&venv, "jax, folx", &["jax[cpu]", "folx"]) {
        Ok(Some(python)) => peers.push(Peer {
            name: "JAX",
            python,
            script: root.join("bench/jax_reference.py"),
            preload: preload.clone(),
            methods: jax_methods,
        }),
        Ok(None) => eprintln!("JAX skipped: no Python found (install python3 with venv)"),
        Err(e) => eprintln!("JAX skipped: {e}"),
    }
    if peers.is_empty() {
        eprintln!("bench-compare: no peer could run; the table needs at least one");
        return Ok(());
    }
    let celeba = celeba_root(a.celeba.as_deref(), root);
    let workloads: Vec<&String> = a
        .workloads
        .iter()
        .filter(|w| {
            let skip = w.starts_with("hypernet") && celeba.is_none();
            if skip {
                eprintln!("{w} left out: no CelebA (pass --celeba DIR or set SIREN_CELEBA)");
            }
            !skip
        })
        .collect();
    let ours = Ours {
        bench: build_step_benchmark(root)?,
        siren: crate::common::build_siren()?,
        runs: root.join("target/bench-runs"),
        celeba,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (steps, warmup) = (a.steps.to_string(), a.warmup.to_string());

    // The ceilings of the same minute: the FMA peak, and one layer-sized product on each side.
    let fma_gflops = run_json(
        Command::new(&ours.bench).args(["fma", "--steps", &steps, "--warmup", &warmup]),
        "the FMA peak",
    )?["gflops"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let matmul = |v: &Value| {
        v["median_s"]
            .as_f64()
            .map_or(f64::NAN, |s| 2.0 * 65_536.0 * 256.0 * 256.0 / s / 1e9)
    };
    let ours_matmul = run_json(
        Command::new(&ours.bench).args(["matmul", "--steps", &steps, "--warmup", &warmup]),
        "matmul",
    )?;
    let mut versions = serde_json::Map::new();
    let mut peer_matmul = serde_json::Map::new();
    for p in &peers {
        let v = p.run("matmul", "", &steps, &warmup, threads)?;
        peer_matmul.insert(p.name.into(), json!(matmul(&v)));
        let path = v["path"].as_str().unwrap_or(p.name).to_string();
        versions.insert(p.name.into(), json!(path));
    }

    let mut rows = Vec::new();
    for w in workloads {
        let mut ours_t = Vec::new();
        let mut ours_rss = 0u64;
        let mut ours_gflop_per_step = f64::NAN;
        // peer -> method -> (times, rss)
        let mut peer_t: Vec<Vec<(Vec<f64>, u64)>> = peers
            .iter()
            .map(|p| (p.methods)(w).iter().map(|_| (Vec::new(), 0)).collect())
            .collect();
        for round in 0..a.rounds {
            eprintln!("{w}: round {}/{}", round + 1, a.rounds);
            let o = ours.run(w, a.steps, a.warmup)?;
            if let (Some(g), Some(m)) = (o["gflops"].as_f64(), o["median_s"].as_f64()) {
                ours_gflop_per_step = g * m;
            }
            ours_t.extend(times(&o));
            ours_rss = ours_rss.max(o["peak_rss_bytes"].as_u64().unwrap_or(0));
            for (p, slots) in peers.iter().zip(&mut peer_t) {
                for (method, slot) in (p.methods)(w).iter().zip(slots.iter_mut()) {
                    let v = p.run(w, method, &steps, &warmup, threads)?;
                    slot.0.extend(times(&v));
                    slot.1 = slot.1.max(v["peak_rss_bytes"].as_u64().unwrap_or(0));
                }
            }
        }
        let om = median(ours_t.clone());
        let mut peer_rows = serde_json::Map::new();
        let mut best: Option<(f64, String)> = None;
        let mut least_rss = u64::MAX;
        for (p, slots) in peers.iter().zip(&peer_t) {
            let mut by_method = serde_json::Map::new();
            let mut fastest: Option<(f64, &str, u64)> = None;
            for (method, (t, rss)) in (p.methods)(w).iter().zip(slots) {
                let m = median(t.clone());
                by_method.insert(
                    if method.is_empty() { "default" } else { method }.into(),
                    json!({"s_per_step": m, "peak_rss_bytes": rss, "times_s": t}),
                );
                if fastest.is_none_or(|f| m < f.0) {
                    fastest = Some((m, method, *rss));
                }
            }
            let (m, method, rss) = fastest.expect("every peer has a method");
            least_rss = least_rss.min(rss);
            let label = if method.is_empty() {
                p.name.to_string()
            } else {
                format!("{} ({method})", p.name)
            };
            if best.as_ref().is_none_or(|b| m < b.0) {
                best = Some((m, label.clone()));
            }
            peer_rows.insert(
                p.name.into(),
                json!({"s_per_step": m, "method": method, "peak_rss_bytes": rss, "methods": by_method}),
            );
        }
        let (best_s, best_name) = best.expect("at least one peer");
        let gflops = ours_gflop_per_step / om;
        rows.push(json!({
            "workload": w,
            "ours_s_per_step": om,
            "ours_peak_rss_bytes": ours_rss,
            "ours_times_s": ours_t,
            "ours_gflops": if gflops.is_finite() { json!(gflops) } else { Value::Null },
            "ours_fma_fraction": if gflops.is_finite() { json!(gflops / fma_gflops) } else { Value::Null },
            "peers": peer_rows,
            "best_peer": best_name,
            "ratio_vs_best": om / best_s,
            "rss_ratio_vs_least": ours_rss as f64 / least_rss as f64,
        }));
    }

    let scaling = if a.scaling {
        scaling_table(&ours.bench)?
    } else {
        Vec::new()
    };
    let allocator = preload
        .as_ref()
        .map_or("glibc malloc".to_string(), |p| p.display().to_string());
    let report = json!({
        "threads": threads,
        "peers": versions,
        "allocators": {
            "ours": "glibc malloc, freed blocks kept (siren_core::device::keep_freed_memory)",
            "python peers": allocator,
        },
        "fma_peak_gflops": fma_gflops,
        "matmul_gflops": {"ours": matmul(&ours_matmul), "peers": peer_matmul},
        "rounds": a.rounds,
        "steps": a.steps,
        "warmup": a.warmup,
        "workloads": rows,
        "scaling": scaling,
    });
    let out = root.join(&a.out);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    siren_core::io::write_atomic(
        &out,
        serde_json::to_string_pretty(&report)
            .expect("JSON serialises")
            .as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    print_tables(&report, &peers);
    println!("\nJSON: {}", out.display());
    Ok(())
}

/// Our fit and laplacian steps at 16k to 1M points with 1 and 2 threads; a size whose memory,
/// extrapolated from the size below, would pass 80% of the available memory is left out.
fn scaling_table(bench: &Path) -> Result<Vec<Value>, String> {
    let total = siren_core::device::available_memory().unwrap_or(u64::MAX);
    let mut rows = Vec::new();
    for w in ["fit", "laplacian"] {
        for threads in [1usize, 2] {
            let mut last_rss = 0u64;
            for points in [16_384usize, 65_536, 262_144, 1_048_576] {
                if last_rss.saturating_mul(4) > total / 10 * 8 {
                    eprintln!(
                        "scaling {w} {points} points: left out (would need ~{} GiB)",
                        (last_rss * 4) >> 30
                    );
                    rows.push(json!({"workload": w, "threads": threads, "points": points, "skipped": "memory"}));
                    continue;
                }
                eprintln!("scaling: {w}, {points} points, {threads} thread(s)");
                let v = run_json(
                    Command::new(bench)
                        .args([
                            w,
                            "--steps",
                            "3",
                            "--warmup",
                            "1",
                            "--points",
                            &points.to_string(),
                        ])
                        .env("RAYON_NUM_THREADS", threads.to_string()),
                    "the step benchmark",
                )?;
                last_rss = v["peak_rss_bytes"].as_u64().unwrap_or(0);
                rows.push(json!({
                    "workload": w, "threads": threads, "points": points,
                    "s_per_step": v["median_s"], "peak_rss_bytes": last_rss, "gflops": v["gflops"],
                }));
            }
        }
    }
    Ok(rows)
}

fn print_tables(report: &Value, peers: &[Peer]) {
    let gib = |b: &Value| b.as_u64().unwrap_or(0) as f64 / (1u64 << 30) as f64;
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "{} threads; peers: {}; allocators: ours {}, Python peers {}; FMA peak {:.0} GFLOP/s; \
         65536x256x256 product GFLOP/s: ours {:.0}, {}\n",
        report["threads"],
        report["peers"]
            .as_object()
            .map(|m| m
                .values()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
        report["allocators"]["ours"].as_str().unwrap_or(""),
        report["allocators"]["python peers"].as_str().unwrap_or(""),
        f(&report["fma_peak_gflops"]),
        f(&report["matmul_gflops"]["ours"]),
        report["matmul_gflops"]["peers"]
            .as_object()
            .map(|m| m
                .iter()
                .map(|(k, v)| format!("{k} {:.0}", f(v)))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
    );
    let names: Vec<&str> = peers.iter().map(|p| p.name).collect();
    let mut head = String::from("| workload | ours s/step |");
    for n in &names {
        head += &format!(" {n} s/step |");
    }
    head += " ratio vs best peer | ours peak RSS |";
    for n in &names {
        head += &format!(" {n} peak RSS |");
    }
    head += " RSS ratio vs least | ours GFLOP/s (of FMA peak) |";
    println!("{head}");
    println!("{}", "|---".repeat(head.matches('|').count() - 1) + "|");
    for r in report["workloads"].as_array().into_iter().flatten() {
        let mut line = format!(
            "| {} | {:.4} |",
            r["workload"].as_str().unwrap_or(""),
            f(&r["ours_s_per_step"])
        );
        for n in &names {
            let p = &r["peers"][*n];
            let method = p["method"]
                .as_str()
                .filter(|m| !m.is_empty())
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            line += &format!(" {:.4}{method} |", f(&p["s_per_step"]));
        }
        line += &format!(
            " {:.2} ({}) | {:.2} GiB |",
            f(&r["ratio_vs_best"]),
            r["best_peer"].as_str().unwrap_or(""),
            gib(&r["ours_peak_rss_bytes"])
        );
        for n in &names {
            line += &format!(" {:.2} GiB |", gib(&r["peers"][*n]["peak_rss_bytes"]));
        }
        let flops = match (r["ours_gflops"].as_f64(), r["ours_fma_fraction"].as_f64()) {
            (Some(g), Some(frac)) => format!("{g:.0} ({:.0}%)", frac * 100.0),
            _ => "-".into(),
        };
        line += &format!(" {:.2} | {flops} |", f(&r["rss_ratio_vs_least"]));
        println!("{line}");
    }
    let scaling = report["scaling"].as_array().cloned().unwrap_or_default();
    if !scaling.is_empty() {
        println!("\n| workload | threads | points | s/step | peak RSS | GFLOP/s |\n|---|---|---|---|---|---|");
        for r in scaling {
            if r["skipped"].is_string() {
                println!(
                    "| {} | {} | {} | left out (memory) | | |",
                    r["workload"].as_str().unwrap_or(""),
                    r["threads"],
                    r["points"]
                );
                continue;
            }
            println!(
                "| {} | {} | {} | {:.4} | {:.2} GiB | {:.0} |",
                r["workload"].as_str().unwrap_or(""),
                r["threads"],
                r["points"],
                f(&r["s_per_step"]),
                gib(&r["peak_rss_bytes"]),
                f(&r["gflops"])
            );
        }
    }
}
