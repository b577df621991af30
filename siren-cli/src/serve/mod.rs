//! `siren serve`: the seed's interactive app in the browser. Pages to fit an image with a
//! SIREN and the baselines side by side, reconstruct it from its gradient or Laplacian,
//! inpaint it under a drawn mask, and explore a trained network at any zoom and extent.
//!
//! The server (axum on tokio, 127.0.0.1 by default) starts each training as an ordinary
//! `siren` process writing an ordinary run folder under `--root` (see [`runs`]), follows its
//! `metrics.jsonl` and checkpoints, and streams them to the page as server-sent events; it
//! renders every picture itself with the same code as the command line ([`views`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page |
//! | `GET /api/images`, `POST /api/images` | images on offer; upload one (PNG/JPEG body) |
//! | `GET /api/image.png?id&size&layer` | an image, its gradient norm or its Laplacian |
//! | `GET /api/mask.png?id&size&mask` | an image under a random/centre/strokes mask |
//! | `GET /api/runs`, `POST /api/runs` | runs; start one ([`runs::RunRequest`] as JSON) |
//! | `GET /api/runs/{id}/events` | its steps, previews and statuses, as server-sent events |
//! | `GET /api/runs/{id}/{member}/preview.png` | a member's network as it stands |
//! | `POST /api/runs/{id}/stop`, `POST /api/runs/{id}/resume?steps` | stop (with checkpoints), continue |
//! | `GET /api/models`, `POST /api/models` | networks to explore; upload a model file |
//! | `GET /api/render.png?model&x0&x1&y0&y1&w&h&layer` | a network over any rectangle |

mod events;
mod faces;
mod fields;
pub mod runs;
pub mod views;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args;
use siren_core::{Error, Result};

use runs::{Run, RunRequest, Status};
use views::{Layer, Viewport};

/// Largest upload (an image or a model file).
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;
/// Most training processes at once (over all runs and tabs).
const DEFAULT_MAX_PROCESSES: usize = 8;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on; the default serves this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Folder of the runs, uploads and models; the server writes nowhere else.
    #[arg(long, default_value = "serve-runs")]
    root: PathBuf,
    /// Data folder whose `images/` are offered (default: $SIREN_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// A hypernetwork checkpoint from `siren hypernet train` for the Faces page (repeat for
    /// several).
    #[arg(long, value_name = "CHECKPOINT")]
    hypernet: Vec<PathBuf>,
    /// CelebA root for the Faces page (default: $SIREN_CELEBA, else the data folder's
    /// `celeba-sample/`).
    #[arg(long)]
    celeba: Option<PathBuf>,
    /// Most training processes at once, over all runs and tabs; more are refused.
    #[arg(long, default_value_t = DEFAULT_MAX_PROCESSES)]
    max_processes: usize,
    /// Open the page in the default browser.
    #[arg(long)]
    open: bool,
}

/// What every request shares.
struct App {
    root: PathBuf,
    data: Option<PathBuf>,
    exe: PathBuf,
    max_processes: usize,
    runs: Mutex<HashMap<String, Run>>,
    references: fields::ReferenceCache,
    hypernets: Vec<PathBuf>,
    faces: std::result::Result<faces::FaceSet, String>,
}

type Shared = Arc<App>;

impl App {
    fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// Threads each new process gets: the cores shared by what will run.
    fn threads(&self, processes: usize) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / processes.max(1)).max(1)
    }

    /// The run `id`, loaded from its folder if this server did not start it.
    fn with_run<T>(&self, id: &str, f: impl FnOnce(&mut Run) -> Result<T>) -> Result<T> {
        let mut runs = self.runs.lock().expect("no thread panics holding the runs");
        if !runs.contains_key(id) {
            let run = safe_name(id)
                .then(|| Run::open(id.to_string(), self.runs_dir().join(id)))
                .flatten()
                .ok_or_else(|| Error::InvalidInput(format!("no run {id:?}")))?;
            runs.insert(id.to_string(), run);
        }
        f(runs.get_mut(id).expect("inserted above"))
    }

    fn running(&self) -> usize {
        let mut runs = self.runs.lock().expect("no thread panics holding the runs");
        runs.values_mut().map(|r| r.running()).sum()
    }
}

/// A name made of letters, digits, `-`, `_` and `.` (not only dots): safe as one path
/// component.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !name.chars().all(|c| c == '.')
}

/// An error as the page gets it: a status and a JSON `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

fn png(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// Runs CPU-bound work (decoding, rendering) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the work failed: {e}"),
            )
        })?
        .map_err(ApiError::from)
}

pub fn serve(a: ServeArgs) -> Result<()> {
    if a.max_processes == 0 {
        return Err(Error::InvalidInput(
            "--max-processes must be at least 1".into(),
        ));
    }
    let root = crate::out_dir(&a.root)?;
    let root = root.canonicalize().unwrap_or(root);
    for sub in ["runs", "uploads", "models"] {
        crate::out_dir(&root.join(sub))?;
    }
    views::write_camera(&root)?;
    let data = a
        .data
        .or_else(|| std::env::var_os("SIREN_DATA").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("../shared/data")))
        .filter(|d| d.join("images").is_dir());
    let celeba = a
        .celeba
        .or_else(|| std::env::var_os("SIREN_CELEBA").map(PathBuf::from))
        .or_else(|| data.as_ref().map(|d| d.join("celeba-sample")));
    let face_set = match &celeba {
        Some(root) => faces::face_set(root).map_err(|e| e.to_string()),
        None => Err("no CelebA folder: pass --celeba DIR or --data DIR".into()),
    };
    // A bad --hypernet is refused at start, not at the first click.
    for h in &a.hypernet {
        crate::hypernet_cmds::load_model(h, &siren_core::device::cpu())?;
    }
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        action: "cannot find the siren binary to start runs with",
        path: PathBuf::from("siren"),
        source,
    })?;
    let app = Arc::new(App {
        root,
        data,
        exe,
        max_processes: a.max_processes,
        runs: Mutex::new(HashMap::new()),
        references: Mutex::new(HashMap::new()),
        hypernets: a.hypernet,
        faces: face_set,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::InvalidInput(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(a.bind, a.port);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            Error::InvalidInput(format!(
                "cannot listen on {addr} ({e}): choose another --port (0 picks a free one)"
            ))
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::InvalidInput(format!("no local address: {e}")))?;
        let url = format!("http://{local}/");
        // The first line names the address: scripts and tests read it.
        println!("siren serve: {url} (runs in {})", app.root.display());
        if a.open {
            let _ = std::process::Command::new("xdg-open").arg(&url).spawn();
        }
        let stop = siren_core::train::stop_flag().clone();
        axum::serve(listener, router(app))
            .with_graceful_shutdown(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            })
            .await
            .map_err(|e| Error::InvalidInput(format!("the server failed: {e}")))
    })
}

fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(|| async { Html(include_str!("page/index.html")) }))
        .route(
            "/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript")],
                    include_str!("page/app.js"),
                )
            }),
        )
        .route("/api/images", get(list_images).post(upload_image))
        .route("/api/image.png", get(image_png))
        .route("/api/mask.png", get(mask_png))
        .route("/api/runs", get(list_runs).post(start_run))
        .route("/api/runs/{id}/events", get(events::run_events))
        .route("/api/runs/{id}/stop", post(stop_run))
        .route("/api/runs/{id}/resume", post(resume_run))
        .route("/api/runs/{id}/{member}/preview.png", get(preview_png))
        .route("/api/models", get(list_models).post(upload_model))
        .route("/api/render.png", get(render_png))
        .route("/api/fields", get(field_json))
        .route("/api/faces", get(list_faces))
        .route("/api/faces/complete", post(complete_face))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(app)
}

async fn list_images(State(app): State<Shared>) -> Json<Vec<views::Source>> {
    Json(views::sources(&app.root, app.data.as_deref()))
}

/// Stores an uploaded image once it decodes (within the loader's size limits), as a PNG.
async fn upload_image(
    State(app): State<Shared>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let id = blocking(move || {
        let dir = app.root.join("uploads");
        let n = next_number(&dir, "upload-");
        let tmp = dir.join(format!(".upload-{n}.part"));
        siren_core::io::write_atomic(&tmp, &body)?;
        let decoded = siren_image::Image::open(&tmp);
        let _ = std::fs::remove_file(&tmp);
        let img = decoded.map_err(|e| {
            Error::InvalidInput(format!("the upload is not an image this server reads: {e}"))
        })?;
        let name = format!("upload-{n}.png");
        img.save_png(dir.join(&name))?;
        Ok(format!("upload/{name}"))
    })
    .await?;
    Ok(Json(serde_json::json!({ "id": id })))
}

/// The names in `dir`, sorted (none if it cannot be read).
fn entry_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// One more than the largest `{prefix}N` in `dir`.
fn next_number(dir: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let digits: String = name
                    .strip_prefix(prefix)?
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                digits.parse::<u64>().ok()
            })
            .max()
            .map_or(1, |m| m + 1)
        })
        .unwrap_or(1)
}

#[derive(serde::Deserialize)]
struct ImageQuery {
    id: String,
    size: usize,
    #[serde(default = "value_layer")]
    layer: Layer,
    #[serde(default)]
    mask: Option<String>,
}

fn value_layer() -> Layer {
    Layer::Value
}

fn check_size(size: usize) -> ApiResult<()> {
    if (1..=runs::MAX_SIDE).contains(&size) {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("size must be 1 to {}, got {size}", runs::MAX_SIDE),
        ))
    }
}

async fn image_png(State(app): State<Shared>, Query(q): Query<ImageQuery>) -> ApiResult<Response> {
    check_size(q.size)?;
    let path = views::source_path(&app.root, app.data.as_deref(), &q.id)?;
    Ok(png(blocking(move || {
        views::image_view(&path, q.size, q.layer)
    })
    .await?))
}

async fn mask_png(State(app): State<Shared>, Query(q): Query<ImageQuery>) -> ApiResult<Response> {
    check_size(q.size)?;
    let path = views::source_path(&app.root, app.data.as_deref(), &q.id)?;
    let mask = q.mask.unwrap_or_else(|| "random:0.1".into());
    if mask.contains(['/', '\\']) || !mask.contains(':') {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "mask must be random:F, centre:F or strokes:F".into(),
        ));
    }
    Ok(png(blocking(move || {
        views::masked_view(&path, q.size, &mask)
    })
    .await?))
}

/// A run as the page lists it.
#[derive(serde::Serialize)]
struct RunSummary {
    id: String,
    request: RunRequest,
    members: std::collections::BTreeMap<String, Status>,
}

async fn list_runs(State(app): State<Shared>) -> Json<Vec<RunSummary>> {
    let ids = entry_names(&app.runs_dir());
    let mut out: Vec<RunSummary> = ids
        .into_iter()
        .filter_map(|id| {
            app.with_run(&id, |run| {
                Ok(RunSummary {
                    id: run.id.clone(),
                    request: run.request.clone(),
                    members: run.statuses(),
                })
            })
            .ok()
        })
        .collect();
    out.sort_by(|a, b| b.id.cmp(&a.id));
    Json(out)
}

async fn start_run(
    State(app): State<Shared>,
    Json(request): Json<RunRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    request.validate()?;
    let image = if request.is_field() {
        PathBuf::new()
    } else {
        views::source_path(&app.root, app.data.as_deref(), &request.image)?
    };
    let wanted = if request.task == "inpaint" {
        request.priors.len()
    } else {
        request.models.len()
    };
    let running = app.running();
    if running + wanted > app.max_processes {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{running} trainings are running and this run adds {wanted}; the server allows {} at once (--max-processes): stop a run or wait",
                app.max_processes
            ),
        ));
    }
    // The id is taken by making its folder under the lock: two tabs never share one.
    let (id, dir) = {
        let _runs = app.runs.lock().expect("no thread panics holding the runs");
        let n = next_number(&app.runs_dir(), &format!("{}-", request.task));
        let id = format!("{}-{n:04}", request.task);
        let dir = app.runs_dir().join(&id);
        std::fs::create_dir(&dir).map_err(|source| Error::Io {
            action: "cannot create the run folder",
            path: dir.clone(),
            source,
        })?;
        (id, dir)
    };
    if let Some(mask) = &request.mask_png {
        let bytes = decode_base64(mask)?;
        let path = dir.join("mask.png");
        siren_core::io::write_atomic(&path, &bytes)?;
        siren_image::Mask::from_png(&path, request.size, request.size).map_err(|e| {
            Error::InvalidInput(format!(
                "the drawn mask is not a PNG this server reads: {e}"
            ))
        })?;
    }
    let threads = app.threads(running + wanted);
    let run = Run::start(&app.exe, id.clone(), dir, request, &image, threads)?;
    app.runs
        .lock()
        .expect("no thread panics holding the runs")
        .insert(id.clone(), run);
    Ok(Json(serde_json::json!({ "id": id })))
}

/// The bytes of a base64 text, or of a `data:` URL.
fn decode_base64(text: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    let body = text.split_once(',').map_or(text, |(_, b)| b);
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| Error::InvalidInput(format!("the mask is not base64 ({e})")))
}

async fn stop_run(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    app.with_run(&id, |run| {
        run.stop();
        Ok(())
    })?;
    Ok(Json(serde_json::json!({ "stopped": id })))
}

#[derive(serde::Deserialize)]
struct ResumeQuery {
    steps: Option<usize>,
}

async fn resume_run(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<ResumeQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let running = app.running();
    let exe = app.exe.clone();
    let threads = app.threads(running + 1);
    app.with_run(&id, |run| {
        let steps = q.steps.unwrap_or(run.request.steps);
        if !(1..=runs::MAX_STEPS).contains(&steps) {
            return Err(Error::InvalidInput(format!(
                "steps must be 1 to {}, got {steps}",
                runs::MAX_STEPS
            )));
        }
        run.resume(&exe, steps, threads)
    })?;
    Ok(Json(serde_json::json!({ "resumed": id })))
}

async fn preview_png(
    State(app): State<Shared>,
    UrlPath((id, member)): UrlPath<(String, String)>,
) -> ApiResult<Response> {
    let (dir, request, image) = app.with_run(&id, |run| {
        let m = run
            .members
            .iter()
            .find(|m| m.name == member)
            .ok_or_else(|| Error::InvalidInput(format!("run {id} has no member {member:?}")))?;
        Ok((m.dir.clone(), run.request.clone(), run.image_path.clone()))
    })?;
    let bytes = blocking(move || {
        let truth = views::training_image(&image, request.size)?;
        views::preview(&dir, &truth, request.task == "poisson")
    })
    .await?;
    Ok(png(bytes))
}

/// A network the Explore page can open: a run member's model or checkpoint, or an upload.
#[derive(serde::Serialize)]
struct ModelEntry {
    id: String,
}

/// Every explorable network: `run/RUN/MEMBER` (its model, else its newest checkpoint) and
/// `upload/FILE`.
fn models(app: &App) -> Vec<(String, PathBuf)> {
    let mut ids = Vec::new();
    for run in entry_names(&app.runs_dir()).into_iter().rev() {
        for member in entry_names(&app.runs_dir().join(&run)) {
            ids.push(format!("run/{run}/{member}"));
        }
    }
    for name in entry_names(&app.root.join("models")) {
        ids.push(format!("upload/{name}"));
    }
    ids.into_iter()
        .filter_map(|id| Some((id.clone(), model_path(app, &id)?)))
        .collect()
}

/// The file of the explorable network `id` (see [`models`]), found without listing the
/// others: the Explore page asks at every pan and zoom.
fn model_path(app: &App, id: &str) -> Option<PathBuf> {
    match id.split('/').collect::<Vec<_>>()[..] {
        // Image networks only (a field run's networks map (t, x, y) or (x, y) to a field).
        ["run", run, member]
            if safe_name(run)
                && safe_name(member)
                && ["fit-", "poisson-", "inpaint-"]
                    .iter()
                    .any(|p| run.starts_with(p)) =>
        {
            let dir = app.runs_dir().join(run).join(member);
            dir.is_dir()
                .then(|| runs::newest_network(&dir, "model"))
                .flatten()
                .map(|(path, _)| path)
        }
        ["upload", name] if safe_name(name) && name.ends_with(".safetensors") => {
            Some(app.root.join("models").join(name)).filter(|p| p.is_file())
        }
        _ => None,
    }
}

async fn list_models(State(app): State<Shared>) -> Json<Vec<ModelEntry>> {
    Json(
        models(&app)
            .into_iter()
            .map(|(id, _)| ModelEntry { id })
            .collect(),
    )
}

/// Stores an uploaded model file once it loads as an image network.
async fn upload_model(
    State(app): State<Shared>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let id = blocking(move || {
        let dir = app.root.join("models");
        let n = next_number(&dir, "model-");
        let tmp = dir.join(format!(".model-{n}.part"));
        siren_core::io::write_atomic(&tmp, &body)?;
        let checked = views::load_network(&tmp).and_then(|net| {
            let c = net.config();
            if c.in_features == 2 && (c.out_features == 1 || c.out_features == 3) {
                Ok(())
            } else {
                Err(Error::InvalidInput(format!(
                    "it maps {} coordinates to {} channels; the explorer shows image networks (2 to 1 or 3)",
                    c.in_features, c.out_features
                )))
            }
        });
        if let Err(e) = checked {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::InvalidInput(format!("the upload is not a model this explorer reads: {e}")));
        }
        let name = format!("model-{n}.safetensors");
        std::fs::rename(&tmp, dir.join(&name)).map_err(|source| Error::Io {
            action: "cannot store the upload",
            path: dir.join(&name),
            source,
        })?;
        Ok(format!("upload/{name}"))
    })
    .await?;
    Ok(Json(serde_json::json!({ "id": id })))
}

#[derive(serde::Deserialize)]
struct RenderQuery {
    model: String,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    w: usize,
    h: usize,
    #[serde(default = "value_layer")]
    layer: Layer,
}

async fn render_png(
    State(app): State<Shared>,
    Query(q): Query<RenderQuery>,
) -> ApiResult<Response> {
    let path = model_path(&app, &q.model)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no model {:?}", q.model)))?;
    let view = Viewport {
        x0: q.x0,
        x1: q.x1,
        y0: q.y0,
        y1: q.y1,
        w: q.w,
        h: q.h,
    };
    Ok(png(blocking(move || {
        views::render_view(&path, view, q.layer)
    })
    .await?))
}

#[derive(serde::Deserialize)]
struct FieldQuery {
    run: String,
    #[serde(default)]
    t: f64,
    #[serde(default = "default_nodes")]
    n: usize,
}

fn default_nodes() -> usize {
    129
}

async fn field_json(
    State(app): State<Shared>,
    Query(q): Query<FieldQuery>,
) -> ApiResult<Json<fields::FieldView>> {
    let (request, members) = app.with_run(&q.run, |run| {
        if !run.request.is_field() {
            return Err(Error::InvalidInput(format!(
                "{} is not a wave or Helmholtz run",
                q.run
            )));
        }
        let prefix = run.request.network_prefix();
        let members = run
            .members
            .iter()
            .filter_map(|m| Some((m.name.clone(), runs::newest_network(&m.dir, prefix)?.0)))
            .collect::<Vec<_>>();
        Ok((run.request.clone(), members))
    })?;
    let shared = Arc::clone(&app);
    let view =
        blocking(move || fields::field_view(&request, &members, q.t, q.n, &shared.references))
            .await?;
    Ok(Json(view))
}

async fn list_faces(State(app): State<Shared>) -> Json<serde_json::Value> {
    let models: Vec<String> = app
        .hypernets
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let (faces, note) = match &app.faces {
        Ok(set) => (set.names.clone(), String::new()),
        Err(e) => (Vec::new(), e.clone()),
    };
    let note = if models.is_empty() {
        "no hypernetwork: start the server with --hypernet CHECKPOINT (from `siren hypernet train`)"
            .to_string()
    } else {
        note
    };
    Json(serde_json::json!({ "models": models, "faces": faces, "note": note }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    model: usize,
    face: String,
    known: Vec<usize>,
}

async fn complete_face(
    State(app): State<Shared>,
    Json(r): Json<CompleteRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    use base64::Engine;
    let model = app
        .hypernets
        .get(r.model)
        .cloned()
        .ok_or_else(|| Error::InvalidInput(format!("no hypernetwork {}", r.model)))?;
    let set = app
        .faces
        .as_ref()
        .map_err(|e| Error::InvalidInput(e.clone()))?;
    if !set.names.contains(&r.face) {
        return Err(
            Error::InvalidInput(format!("no face {:?}: pick one from the list", r.face)).into(),
        );
    }
    let face = set.dir.join(&r.face);
    let c = blocking(move || faces::complete(&model, &face, &r.known)).await?;
    let url = |b: &[u8]| {
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b)
        )
    };
    Ok(Json(serde_json::json!({
        "size": c.size, "context": url(&c.context), "completion": c.completion.as_deref().map(url),
        "truth": url(&c.truth), "mse": c.mse,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_what_browsers_encode() {
        assert_eq!(
            decode_base64("data:image/png;base64,aGVsbG8=").unwrap(),
            b"hello"
        );
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("YWJj").unwrap(), b"abc");
        assert!(decode_base64("a*b=").is_err());
    }

    #[test]
    fn only_plain_names_are_path_components() {
        assert!(safe_name("fit-0001"));
        for bad in ["", "..", ".", "a/b", "../x", "a\\b", "x y"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
    }
}
