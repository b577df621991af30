//! Training runs started from the page: each member (one network, or one prior) is an ordinary
//! `siren fit|poisson|inpaint|wave|helmholtz` process writing an ordinary run folder, so a run started here
//! continues from the command line (`siren fit --config DIR/config.toml --resume`) and the
//! reverse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;

use serde::{Deserialize, Serialize};
use siren_core::{Error, Result};

/// Largest image side a run from the page may train on.
pub const MAX_SIDE: usize = 512;
/// Most steps a run from the page may take.
pub const MAX_STEPS: usize = 100_000;
/// Widest hidden layer a run from the page may have.
pub const MAX_HIDDEN: usize = 512;
/// Most hidden layers a run from the page may have.
pub const MAX_LAYERS: usize = 8;

/// What a run trains: its task, image and settings, as the page sends them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `fit`, `poisson`, `inpaint` (an image), `wave` or `helmholtz` (a field).
    pub task: String,
    /// An image id from `/api/images` (image tasks).
    #[serde(default)]
    pub image: String,
    /// Side of the square the image is cropped and resized to (image tasks).
    #[serde(default)]
    pub size: usize,
    /// `wave`, `helmholtz`: the experiment's scale, quick or default.
    #[serde(default)]
    pub scale: Option<String>,
    /// `wave`, `helmholtz`: uniform or heterogeneous.
    #[serde(default)]
    pub medium: Option<String>,
    /// Optimisation steps.
    pub steps: usize,
    /// Hidden width.
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    /// Hidden-to-hidden layers.
    #[serde(default = "default_layers")]
    pub layers: usize,
    /// Adam learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// omega_0 of the SIREN.
    #[serde(default = "default_w0")]
    pub w0: f64,
    /// Networks: siren, relu, relu-pe, tanh (`fit`, `poisson`); siren, tanh, relu (fields).
    #[serde(default)]
    pub models: Vec<String>,
    /// `poisson`: gradient or laplacian.
    #[serde(default)]
    pub target: Option<String>,
    /// `inpaint`: priors to compare (none, tv, fh), with their weights.
    #[serde(default)]
    pub priors: Vec<PriorChoice>,
    /// `inpaint`: random:F, centre:F, strokes:F, or `drawn` (then `mask_png`).
    #[serde(default)]
    pub mask: Option<String>,
    /// `inpaint` with a drawn mask: a PNG (white = known), base64.
    #[serde(default)]
    pub mask_png: Option<String>,
}

fn default_hidden() -> usize {
    256
}
fn default_layers() -> usize {
    3
}
fn default_lr() -> f64 {
    1e-4
}
fn default_w0() -> f64 {
    30.0
}

/// A prior to run and its weight.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorChoice {
    /// none, tv or fh.
    pub kind: String,
    /// Its weight (ignored for none).
    #[serde(default)]
    pub weight: f64,
}

const MODELS: [&str; 4] = ["siren", "relu", "relu-pe", "tanh"];
const FIELD_MODELS: [&str; 3] = ["siren", "tanh", "relu"];
const PRIORS: [&str; 3] = ["none", "tv", "fh"];

impl RunRequest {
    /// Whether this run solves a PDE (wave, Helmholtz) rather than fitting an image.
    pub fn is_field(&self) -> bool {
        matches!(self.task.as_str(), "wave" | "helmholtz")
    }

    /// How the network files of a member's folder start: `model` for an image, the problem's
    /// name for a field (`wave_uniform_siren.safetensors`).
    pub fn network_prefix(&self) -> &'static str {
        match self.task.as_str() {
            "wave" => "wave_",
            "helmholtz" => "helmholtz_",
            _ => "model",
        }
    }

    /// Checks every field, naming the bad one and its range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if !matches!(
            self.task.as_str(),
            "fit" | "poisson" | "inpaint" | "wave" | "helmholtz"
        ) {
            return bad(format!(
                "task must be fit, poisson, inpaint, wave or helmholtz, got {:?}",
                self.task
            ));
        }
        if self.is_field() {
            if !matches!(self.scale.as_deref(), Some("quick" | "default")) {
                return bad("a field run's scale must be quick or default".into());
            }
            if !matches!(self.medium.as_deref(), Some("uniform" | "heterogeneous")) {
                return bad("a field run's medium must be uniform or heterogeneous".into());
            }
            if !(1..=MAX_STEPS).contains(&self.steps) {
                return bad(format!(
                    "steps must be 1 to {MAX_STEPS}, got {}",
                    self.steps
                ));
            }
            if self.models.is_empty() {
                return bad("choose at least one network (siren, tanh, relu)".into());
            }
            for m in &self.models {
                if !FIELD_MODELS.contains(&m.as_str()) {
                    return bad(format!("network must be siren, tanh or relu, got {m:?}"));
                }
            }
            return Ok(());
        }
        if !(8..=MAX_SIDE).contains(&self.size) {
            return bad(format!(
                "size must be 8 to {MAX_SIDE} pixels, got {}",
                self.size
            ));
        }
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return bad(format!(
                "steps must be 1 to {MAX_STEPS}, got {}",
                self.steps
            ));
        }
        if !(1..=MAX_HIDDEN).contains(&self.hidden) {
            return bad(format!(
                "hidden width must be 1 to {MAX_HIDDEN}, got {}",
                self.hidden
            ));
        }
        if !(1..=MAX_LAYERS).contains(&self.layers) {
            return bad(format!(
                "layers must be 1 to {MAX_LAYERS}, got {}",
                self.layers
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr < 1.0) {
            return bad(format!("learning rate must be in (0, 1), got {}", self.lr));
        }
        if !(self.w0.is_finite() && self.w0 > 0.0 && self.w0 <= 1e4) {
            return bad(format!("w0 must be in (0, 10000], got {}", self.w0));
        }
        if self.task == "inpaint" {
            if self.priors.is_empty() {
                return bad("choose at least one prior (none, tv, fh)".into());
            }
            for p in &self.priors {
                if !PRIORS.contains(&p.kind.as_str()) {
                    return bad(format!("prior must be none, tv or fh, got {:?}", p.kind));
                }
                if !(p.weight.is_finite() && p.weight >= 0.0) {
                    return bad(format!("the {} weight must be 0 or more", p.kind));
                }
            }
            let mask = self.mask.as_deref().unwrap_or("");
            let fraction = |f: &str| f.parse::<f64>().is_ok_and(|f| f > 0.0 && f < 1.0);
            let ok = match mask.split_once(':') {
                Some(("random" | "centre" | "strokes", f)) => fraction(f),
                _ => mask == "drawn" && self.mask_png.is_some(),
            };
            if !ok {
                return bad(format!(
                    "mask must be random:F, centre:F or strokes:F with 0 < F < 1, or a drawn mask; got {mask:?}"
                ));
            }
        } else {
            if self.models.is_empty() {
                return bad("choose at least one network (siren, relu, relu-pe, tanh)".into());
            }
            for m in &self.models {
                if !MODELS.contains(&m.as_str()) {
                    return bad(format!(
                        "network must be siren, relu, relu-pe or tanh, got {m:?}"
                    ));
                }
            }
        }
        if self.task == "poisson"
            && !matches!(self.target.as_deref(), Some("gradient" | "laplacian"))
        {
            return bad("a Poisson run needs target gradient or laplacian".into());
        }
        Ok(())
    }

    /// The members of this run: their names (folder names) and their commands' arguments
    /// after the subcommand, given the image's path and the run's folder.
    pub fn members(&self, image: &Path, run_dir: &Path) -> Vec<(String, Vec<String>)> {
        let every = (self.steps / 40).clamp(1, 200);
        if self.is_field() {
            return self
                .models
                .iter()
                .map(|m| {
                    let out = run_dir.join(m);
                    let args = vec![
                        format!("--scale={}", self.scale.as_deref().unwrap_or("quick")),
                        format!("--medium={}", self.medium.as_deref().unwrap_or("uniform")),
                        format!("--models={m}"),
                        format!("--steps={}", self.steps),
                        format!("--checkpoint-every={every}"),
                        "--quiet".into(),
                        format!("--out={}", out.display()),
                    ];
                    (m.clone(), args)
                })
                .collect();
        }
        let common = |out: &Path| -> Vec<String> {
            let mut a = vec![
                image.display().to_string(),
                format!("--size={}", self.size),
                format!("--steps={}", self.steps),
                format!("--hidden={}", self.hidden),
                format!("--layers={}", self.layers),
                format!("--lr={}", self.lr),
                format!("--w0={}", self.w0),
                format!("--eval-every={every}"),
                format!("--checkpoint-every={every}"),
                "--quiet".into(),
                format!("--out={}", out.display()),
            ];
            if self.task == "poisson" {
                a.push(format!(
                    "--target={}",
                    self.target.as_deref().unwrap_or("gradient")
                ));
            }
            a
        };
        if self.task == "inpaint" {
            let mask = match self.mask.as_deref() {
                Some("drawn") => run_dir.join("mask.png").display().to_string(),
                Some(m) => m.to_string(),
                None => "random:0.1".into(),
            };
            self.priors
                .iter()
                .map(|p| {
                    let dir = run_dir.join(&p.kind);
                    let mut a = common(&dir);
                    a.push(format!("--mask={mask}"));
                    a.push(format!("--prior={}", p.kind));
                    if p.kind != "none" {
                        a.push(format!("--prior-weight={}", p.weight));
                    }
                    (p.kind.clone(), a)
                })
                .collect()
        } else {
            self.models
                .iter()
                .map(|m| {
                    let mut a = common(&run_dir.join(m));
                    a.push(format!("--model={m}"));
                    (m.clone(), a)
                })
                .collect()
        }
    }
}

/// Where a member stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "message")]
pub enum Status {
    /// Its process is training.
    Running,
    /// It trained all its steps.
    Finished,
    /// It was stopped; its checkpoint can be resumed.
    Stopped,
    /// It ended with an error (the error's text).
    Failed(String),
}

/// One network (or prior) of a run: a `siren` process writing one run folder.
pub struct Member {
    /// Its name, also its folder's.
    pub name: String,
    /// Its run folder.
    pub dir: PathBuf,
    prefix: &'static str,
    child: Option<Child>,
    stop_asked: bool,
    status: Status,
}

impl Member {
    /// Where the member stands, polling its process.
    pub fn status(&mut self) -> Status {
        if let Some(child) = &mut self.child {
            match child.try_wait() {
                Ok(None) => return Status::Running,
                Ok(Some(code)) => {
                    self.child = None;
                    self.status = if code.success() {
                        if has_file(&self.dir, self.prefix) {
                            Status::Finished
                        } else {
                            Status::Stopped
                        }
                    } else if self.stop_asked {
                        Status::Stopped
                    } else {
                        Status::Failed(error_text(&self.dir))
                    };
                }
                Err(e) => self.status = Status::Failed(format!("cannot wait for it: {e}")),
            }
        }
        self.status.clone()
    }

    /// A member found on disk (started by the command line, or by an earlier server).
    fn found(name: String, dir: PathBuf, prefix: &'static str) -> Self {
        let status = if dir.join(".siren.lock").exists() {
            Status::Running
        } else if has_file(&dir, prefix) {
            Status::Finished
        } else if has_file(&dir, "checkpoint") {
            Status::Stopped
        } else {
            Status::Failed(error_text(&dir))
        };
        Self {
            name,
            dir,
            prefix,
            child: None,
            stop_asked: false,
            status,
        }
    }
}

/// Whether `dir` holds a `{prefix}*.safetensors` file.
fn has_file(dir: &Path, prefix: &str) -> bool {
    newest_file(dir, prefix).is_some()
}

/// The newest `{prefix}*.safetensors` file in `dir`.
fn newest_file(dir: &Path, prefix: &str) -> Option<(PathBuf, std::time::SystemTime)> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(prefix) && n.ends_with(".safetensors")
        })
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.modified().ok()?)))
        .max_by_key(|(_, t)| *t)
}

/// A member's network as it stands: its final file (`{prefix}*.safetensors`) or its newest
/// checkpoint, whichever is newer.
pub fn newest_network(dir: &Path, prefix: &str) -> Option<(PathBuf, std::time::SystemTime)> {
    [prefix, "checkpoint"]
        .iter()
        .filter_map(|p| newest_file(dir, p))
        .max_by_key(|(_, t)| *t)
}

/// Why a member's process ended without a model.
fn error_text(dir: &Path) -> String {
    crate::child::last_error(dir).unwrap_or_else(|| "it ended without a model or a message".into())
}

/// A run: its request and its members.
pub struct Run {
    /// Its id, also its folder's name.
    pub id: String,
    /// What the page asked for (for a run the command line started, what its config says).
    pub request: RunRequest,
    /// The image an image run trains on.
    pub image_path: PathBuf,
    /// Its members, in the request's order.
    pub members: Vec<Member>,
}

/// What `run.json` in a run's folder records (the server writes it; the members' own
/// `config.toml` files are what the command line resumes from).
#[derive(Serialize, Deserialize)]
struct RunRecord {
    request: RunRequest,
    image_path: PathBuf,
    members: Vec<(String, Vec<String>)>,
}

impl Run {
    /// Starts a run `id` in `dir` (made here) with one `siren` process per member, each using
    /// `threads` threads.
    pub fn start(
        exe: &Path,
        id: String,
        dir: PathBuf,
        request: RunRequest,
        image: &Path,
        threads: usize,
    ) -> Result<Self> {
        let members = request.members(image, &dir);
        let record = RunRecord {
            request: request.clone(),
            image_path: image.to_path_buf(),
            members: members.clone(),
        };
        siren_core::io::write_atomic(
            &dir.join("run.json"),
            serde_json::to_string_pretty(&record)
                .expect("a run record serialises")
                .as_bytes(),
        )?;
        let mut run = Self {
            id,
            request: request.clone(),
            image_path: image.to_path_buf(),
            members: Vec::new(),
        };
        for (name, args) in members {
            let member_dir = dir.join(&name);
            let mut full = vec![request.task.clone()];
            full.extend(args);
            let child = crate::child::spawn_siren(exe, &full, &member_dir, threads)?;
            run.members.push(Member {
                name,
                dir: member_dir,
                prefix: request.network_prefix(),
                child: Some(child),
                stop_asked: false,
                status: Status::Running,
            });
        }
        Ok(run)
    }

    /// A run folder written earlier: its `run.json` and its members' folders.
    pub fn open(id: String, dir: PathBuf) -> Option<Self> {
        let Ok(text) = std::fs::read_to_string(dir.join("run.json")) else {
            return Self::from_command_line(id, dir);
        };
        let record: RunRecord = serde_json::from_str(&text).ok()?;
        let members = record
            .members
            .iter()
            .map(|(name, _)| {
                Member::found(
                    name.clone(),
                    dir.join(name),
                    record.request.network_prefix(),
                )
            })
            .collect();
        Some(Self {
            id,
            request: record.request,
            image_path: record.image_path,
            members,
        })
    }

    /// A run folder the command line wrote (`siren fit IMAGE ... --out ROOT/runs/NAME`): one
    /// member, `run`, the folder itself, described by its resolved `config.toml`.
    fn from_command_line(id: String, dir: PathBuf) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join("config.toml")).ok()?;
        let header = text.lines().next()?;
        let task = ["fit", "poisson", "inpaint", "wave", "helmholtz"]
            .into_iter()
            .find(|t| header.contains(&format!("for `siren {t}`")))?;
        let table: toml::Table = text.parse().ok()?;
        let text_of = |k: &str| table.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let whole = |k: &str| {
            table
                .get(k)
                .and_then(|v| v.as_integer())
                .map(|i| i as usize)
        };
        let real = |k: &str| {
            table
                .get(k)
                .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
        };
        let models = match table.get("models").or(table.get("model")) {
            Some(toml::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Some(toml::Value::String(s)) => vec![s.clone()],
            _ => vec!["siren".into()],
        };
        let request = RunRequest {
            task: task.into(),
            image: String::new(),
            size: whole("size").unwrap_or(0),
            scale: text_of("scale"),
            medium: text_of("medium"),
            steps: whole("steps")?,
            hidden: whole("hidden").unwrap_or(0),
            layers: whole("layers").unwrap_or(0),
            lr: real("lr").unwrap_or(0.0),
            w0: real("w0").unwrap_or(0.0),
            models,
            target: text_of("target"),
            priors: text_of("prior")
                .map(|kind| {
                    vec![PriorChoice {
                        kind,
                        weight: real("prior_weight").unwrap_or(0.0),
                    }]
                })
                .unwrap_or_default(),
            mask: text_of("mask"),
            mask_png: None,
        };
        let member = Member::found("run".into(), dir, request.network_prefix());
        Some(Self {
            id,
            image_path: text_of("image").map(PathBuf::from).unwrap_or_default(),
            request,
            members: vec![member],
        })
    }

    /// Asks every running member to stop after its step, with a checkpoint (SIGTERM, as
    /// Ctrl-C on the command line).
    pub fn stop(&mut self) {
        for m in &mut self.members {
            if let Some(child) = &m.child {
                m.stop_asked = true;
                terminate(child.id());
            }
        }
    }

    /// Continues every stopped member from its checkpoint (or extends a finished one), with
    /// `steps` steps in all, through the command line's own `--config DIR/config.toml
    /// --resume`.
    pub fn resume(&mut self, exe: &Path, steps: usize, threads: usize) -> Result<()> {
        for m in &mut self.members {
            if !matches!(m.status(), Status::Stopped | Status::Finished) {
                continue;
            }
            let args = vec![
                self.request.task.clone(),
                format!("--config={}", m.dir.join("config.toml").display()),
                "--resume".into(),
                format!("--steps={steps}"),
                "--quiet".into(),
            ];
            m.child = Some(crate::child::spawn_siren(exe, &args, &m.dir, threads)?);
            m.stop_asked = false;
            m.status = Status::Running;
        }
        self.request.steps = steps;
        Ok(())
    }

    /// Members whose process is training now.
    pub fn running(&mut self) -> usize {
        self.members
            .iter_mut()
            .map(|m| m.status())
            .filter(|s| *s == Status::Running)
            .count()
    }

    /// Every member's status, by name.
    pub fn statuses(&mut self) -> BTreeMap<String, Status> {
        self.members
            .iter_mut()
            .map(|m| (m.name.clone(), m.status()))
            .collect()
    }
}

impl Drop for Run {
    /// A server that ends stops its runs the same way (they keep their checkpoints).
    fn drop(&mut self) {
        self.stop();
        for m in &mut self.members {
            if let Some(child) = &mut m.child {
                let _ = child.wait();
            }
        }
    }
}

/// SIGTERM to `pid`: the `siren` process stops after its step and writes its checkpoint.
fn terminate(pid: u32) {
    // SAFETY: kill(2) with a pid we spawned and a valid signal number has no memory effects.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}
