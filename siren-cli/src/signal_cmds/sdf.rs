//! `siren sdf`: a signed distance function fitted to an oriented point cloud (sampled from a
//! mesh, or an `.xyz` file), its zero level set by marching cubes, compared and drawn.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use rand::SeedableRng;
use siren_core::{Backend, Error, Result};
use siren_image::Image;
use siren_signal::sdf::{
    extract_mesh, fit_sdf, sample_distance, shade, surface_distance, Mesh, OrientedPoints,
    SdfWeights, SurfaceDistance,
};

use super::{Defaults, SignalFlags, SignalLog};
use crate::out_dir;
use crate::plots::{image_figure, ImagePanel};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MeshFormat {
    Obj,
    Ply,
}

#[derive(Args, Debug)]
pub struct SdfArgs {
    /// A mesh (`.obj`) to sample, or an oriented point cloud (`.xyz`: `x y z nx ny nz` lines).
    input: PathBuf,
    #[command(flatten)]
    train: SignalFlags,
    /// Points sampled on a mesh (area-weighted, with face normals).
    #[arg(long, default_value_t = 100_000)]
    points: usize,
    /// The input is scaled so its bounding box's largest half-extent is this (the fit and
    /// the marching-cubes grid cover [-1, 1]^3).
    #[arg(long, default_value_t = 0.9)]
    extent: f64,
    /// Marching-cubes grid points per axis.
    #[arg(long, default_value_t = 128)]
    resolution: usize,
    /// Format of the extracted mesh.
    #[arg(long, value_enum, default_value_t = MeshFormat::Obj)]
    format: MeshFormat,
    /// Samples per surface for the Chamfer distance.
    #[arg(long, default_value_t = 100_000)]
    compare_samples: usize,
}

/// The original's SDF settings: 3 hidden layers of 256, omega_0 30, 1400 surface points (and
/// as many off it) per step.
const DEFAULTS: Defaults = Defaults {
    steps: 5000,
    hidden: 256,
    first_w0: 30.0,
    batch: Some(1400),
};

fn picture(mesh: &Mesh, extent: f64) -> Result<Image> {
    let size = 480;
    // The original's bunny faces +z with y up: a three-quarter view from the front.
    let rgb = shade(mesh, size, extent, 0.6, 0.35);
    Image::new(
        size,
        size,
        3,
        rgb.into_iter().map(|b| b as f32 / 255.0).collect(),
    )
}

pub fn sdf<D: Backend<f32>>(a: SdfArgs, dev: &D) -> Result<()> {
    if !(a.extent > 0.0 && a.extent <= 1.0) {
        return Err(Error::InvalidInput(format!(
            "--extent must be in (0, 1], got {}",
            a.extent
        )));
    }
    let is_xyz = a
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xyz"));
    let (cloud, truth) = if is_xyz {
        (
            OrientedPoints::open_xyz(&a.input)?.normalised(a.extent)?,
            None,
        )
    } else {
        let mesh = Mesh::open_obj(&a.input)?.normalised(a.extent)?;
        (
            OrientedPoints::from_mesh(&mesh, a.points, a.train.seed),
            Some(mesh),
        )
    };
    let dir = out_dir(&a.train.out)?;
    let config = a.train.siren(&DEFAULTS, &dir, "siren");
    let mut log = SignalLog::open(&dir, "surface_abs", a.train.quiet)?;
    log.start("siren", config.steps);
    let started = std::time::Instant::now();
    let fitted = fit_sdf::<f32, D>(&cloud, &config, &SdfWeights::default(), dev, |r| {
        log.record(r)
    })?;
    let secs = started.elapsed().as_secs_f64();
    log.finish();
    fitted.network.save(dir.join("model.safetensors"))?;
    let mesh = extract_mesh(&fitted.network, a.resolution)?;
    if mesh.faces.is_empty() {
        return Err(Error::InvalidInput(
            "the fitted function has no zero crossing on the grid (train longer?)".into(),
        ));
    }
    let name = match a.format {
        MeshFormat::Obj => {
            mesh.save_obj(dir.join("mesh.obj"))?;
            "mesh.obj"
        }
        MeshFormat::Ply => {
            mesh.save_ply(dir.join("mesh.ply"))?;
            "mesh.ply"
        }
    };
    // Against the input mesh, or against the input points themselves.
    let d: SurfaceDistance = match &truth {
        Some(m) => surface_distance(&mesh, m, a.compare_samples, a.train.seed)?,
        None => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.train.seed);
            let fit = mesh.sample_surface(a.compare_samples, &mut rng);
            let step = (cloud.points.len() / a.compare_samples.max(1)).max(1);
            let input: Vec<_> = cloud
                .points
                .iter()
                .zip(&cloud.normals)
                .step_by(step)
                .map(|(p, n)| (*p, *n))
                .collect();
            sample_distance(&fit, &input)?
        }
    };
    let fit_pic = picture(&mesh, 1.0)?;
    let mut panels = vec![ImagePanel {
        image: &fit_pic,
        label: format!("SIREN, marching cubes at {}^3", a.resolution),
        detail: format!(
            "Chamfer {:.4}, normal consistency {:.3}",
            d.chamfer, d.normal_consistency
        ),
    }];
    let truth_pic = match &truth {
        Some(m) => Some(picture(m, 1.0)?),
        None => None,
    };
    if let Some(p) = &truth_pic {
        panels.insert(
            0,
            ImagePanel {
                image: p,
                label: "input mesh".into(),
                detail: format!("{} faces", truth.as_ref().map_or(0, |m| m.faces.len())),
            },
        );
    }
    image_figure(
        &dir.join("shaded.png"),
        "Signed distance function: zero level set",
        &format!(
            "{} surface points; each view spans [-1, 1]^3",
            cloud.points.len()
        ),
        &panels,
        panels.len(),
    )?;
    let md = format!(
        "# SDF: {}\n\n{} oriented points (the input scaled into [-{e}, {e}]^3). SIREN 3 -> {}x{} -> 1, w0 {}, \
         {} steps of {} surface + as many off-surface points, Adam {}, gradients clipped to norm 1; {:.1} min. \
         Marching cubes at {}^3 over [-1, 1]^3: {} vertices, {} faces (`{name}`).\n\n\
         Distances on {} samples per surface, in the units of [-1, 1]^3:\n\n\
         | Chamfer | accuracy (fit to input) | completeness (input to fit) | normal consistency |\n|---|---|---|---|\n\
         | {:.4} | {:.4} | {:.4} | {:.3} |\n",
        a.input.display(),
        cloud.points.len(),
        config.hidden_features,
        config.hidden_layers + 1,
        a.train.first_w0.unwrap_or(DEFAULTS.first_w0),
        config.steps,
        config.batch.unwrap_or(0),
        config.lr,
        secs / 60.0,
        a.resolution,
        mesh.vertices.len(),
        mesh.faces.len(),
        a.compare_samples,
        d.chamfer,
        d.accuracy,
        d.completeness,
        d.normal_consistency,
        e = a.extent,
    );
    let json = serde_json::json!({"chamfer": d.chamfer, "accuracy": d.accuracy,
        "completeness": d.completeness, "normal_consistency": d.normal_consistency,
        "faces": mesh.faces.len(), "train_s": secs});
    super::write_results(&dir, &md, &json)?;
    crate::plots::curves_from_log(&dir, "surface_abs")
}
