//! `cargo xtask bench-compare`: our training steps against PyTorch's, side by side.
//!
//! Each workload runs as its own process (so the peak RSS is the workload's), ours
//! (`siren-core/benches/step_benchmark.rs`, release) and PyTorch's
//! (`bench/torch_reference.py`) alternately, `--rounds` times, each after warm-up steps. The
//! median over every timed step is the figure. PyTorch runs with tcmalloc preloaded when the
//! system has it (as the reference numbers were taken) and with as many threads as we.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct BenchCompareArgs {
    /// Workloads to compare (fit, laplacian, wave).
    #[arg(long, num_args = 1.., default_values_t = ["fit".to_string(), "laplacian".to_string(), "wave".to_string()])]
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
    /// Python virtual environment with torch (made, and torch installed, when missing).
    #[arg(long, default_value = "target/bench-venv")]
    venv: PathBuf,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench-compare.json")]
    out: PathBuf,
}

const WORKLOADS: [&str; 3] = ["fit", "laplacian", "wave"];

fn run_json(cmd: &mut Command, what: &str) -> Result<Value, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{what} printed no JSON line"))?;
    serde_json::from_str(line).map_err(|e| format!("{what} printed bad JSON ({e}): {line}"))
}

/// The venv's python with torch importable; makes the venv and installs torch if needed.
fn torch_python(venv: &Path) -> Result<Option<PathBuf>, String> {
    let python = venv.join("bin/python");
    let has_torch = |py: &Path| {
        Command::new(py)
            .args(["-c", "import torch"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if python.exists() && has_torch(&python) {
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
    eprintln!("installing torch into {} (a few GB, once)", venv.display());
    let ok = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "torch"])
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?
        .success();
    if !ok || !has_torch(&python) {
        return Err("pip could not install torch; install it into the venv by hand".into());
    }
    Ok(Some(python))
}

fn tcmalloc() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
        "/usr/lib/libtcmalloc.so.4",
        "/usr/lib64/libtcmalloc.so.4",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn times(v: &Value) -> Vec<f64> {
    v["times_s"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
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
    let Some(python) = torch_python(&venv)? else {
        eprintln!("bench-compare skipped: no Python found (install python3 with venv, then rerun)");
        return Ok(());
    };
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
    let ours_bin = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["target"]["name"] == "step_benchmark")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or("cargo built no step_benchmark executable")?;
    let script = root.join("bench/torch_reference.py");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let preload = tcmalloc();
    let steps = a.steps.to_string();
    let warmup = a.warmup.to_string();

    let ours = |w: &str| {
        run_json(
            Command::new(&ours_bin).args([w, "--steps", &steps, "--warmup", &warmup]),
            "the step benchmark",
        )
    };
    let torch = |w: &str| {
        let mut cmd = Command::new(&python);
        cmd.arg(&script).args([
            w,
            "--steps",
            &steps,
            "--warmup",
            &warmup,
            "--threads",
            &threads.to_string(),
        ]);
        if let Some(lib) = &preload {
            cmd.env("LD_PRELOAD", lib);
        }
        run_json(&mut cmd, "bench/torch_reference.py")
    };

    // The ceilings of the same minute: the FMA peak, and one layer-sized product in each.
    let fma_gflops = ours("fma")?["gflops"].as_f64().unwrap_or(f64::NAN);
    let peak = ours("matmul")?;
    let peak_gflops = peak["gflops"].as_f64().unwrap_or(f64::NAN);
    let torch_matmul = torch("matmul")?;
    let torch_version = torch_matmul["path"]
        .as_str()
        .unwrap_or("pytorch")
        .to_string();
    let torch_matmul_gflops = torch_matmul["median_s"]
        .as_f64()
        .map_or(f64::NAN, |s| 2.0 * 65_536.0 * 256.0 * 256.0 / s / 1e9);
    let mut rows = Vec::new();
    for w in &a.workloads {
        let (mut ours_t, mut torch_t) = (Vec::new(), Vec::new());
        let (mut ours_rss, mut torch_rss) = (0u64, 0u64);
        let mut ours_gflop_per_step = 0.0;
        for round in 0..a.rounds {
            eprintln!("{w}: round {}/{}", round + 1, a.rounds);
            let o = ours(w)?;
            let t = torch(w)?;
            let om = o["median_s"].as_f64().unwrap_or(f64::NAN);
            ours_gflop_per_step = o["gflops"].as_f64().unwrap_or(f64::NAN) * om;
            ours_t.extend(times(&o));
            torch_t.extend(times(&t));
            ours_rss = ours_rss.max(o["peak_rss_bytes"].as_u64().unwrap_or(0));
            torch_rss = torch_rss.max(t["peak_rss_bytes"].as_u64().unwrap_or(0));
        }
        let (om, tm) = (median(ours_t.clone()), median(torch_t.clone()));
        rows.push(json!({
            "workload": w,
            "ours_s_per_step": om,
            "pytorch_s_per_step": tm,
            "ratio": om / tm,
            "ours_peak_rss_bytes": ours_rss,
            "pytorch_peak_rss_bytes": torch_rss,
            "rss_ratio": ours_rss as f64 / torch_rss as f64,
            "ours_gflops": ours_gflop_per_step / om,
            "ours_times_s": ours_t,
            "pytorch_times_s": torch_t,
        }));
    }
    let report = json!({
        "threads": threads,
        "pytorch": torch_version,
        "pytorch_allocator": preload.as_ref().map_or("system malloc".to_string(), |p| p.display().to_string()),
        "fma_peak_gflops": fma_gflops,
        "matmul_peak_gflops": peak_gflops,
        "pytorch_matmul_gflops": torch_matmul_gflops,
        "rounds": a.rounds,
        "steps": a.steps,
        "warmup": a.warmup,
        "workloads": rows,
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

    println!(
        "{threads} threads, {torch_version} ({}); FMA peak {fma_gflops:.0} GFLOP/s; \
         65536x256x256 product: ours {peak_gflops:.0}, PyTorch {torch_matmul_gflops:.0} GFLOP/s\n",
        report["pytorch_allocator"].as_str().unwrap_or("")
    );
    println!("| workload | ours s/step | PyTorch s/step | ratio | ours peak RSS | PyTorch peak RSS | RSS ratio | ours GFLOP/s |");
    println!("|---|---|---|---|---|---|---|---|");
    let gib = |b: &Value| b.as_u64().unwrap_or(0) as f64 / (1u64 << 30) as f64;
    for r in report["workloads"].as_array().expect("rows") {
        println!(
            "| {} | {:.3} | {:.3} | {:.2} | {:.2} GiB | {:.2} GiB | {:.2} | {:.0} |",
            r["workload"].as_str().unwrap_or(""),
            r["ours_s_per_step"].as_f64().unwrap_or(f64::NAN),
            r["pytorch_s_per_step"].as_f64().unwrap_or(f64::NAN),
            r["ratio"].as_f64().unwrap_or(f64::NAN),
            gib(&r["ours_peak_rss_bytes"]),
            gib(&r["pytorch_peak_rss_bytes"]),
            r["rss_ratio"].as_f64().unwrap_or(f64::NAN),
            r["ours_gflops"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!("\nJSON: {}", out.display());
    Ok(())
}
