//! The Fields page's data: a wave or Helmholtz run's networks on a grid, beside the reference
//! solver's field, with each network's error against it. The wave at any time $t$ (the
//! networks are evaluated there; the leapfrog reference is integrated to it); Helmholtz as
//! its real and imaginary parts (the sparse-LU reference, solved once per medium, scale and
//! grid, and kept).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use faer::complex_native::c64;
use serde::Serialize;
use siren_core::{Error, Result};
use siren_pde::helmholtz_net::{helmholtz_error, helmholtz_reference};
use siren_pde::models::Scale;
use siren_pde::wave::experiment::{wave_errors, wave_reference};

use super::runs::RunRequest;
use super::views::load_network;
use crate::pde_cmds::{helmholtz_experiment, wave_experiment};

/// Most grid nodes per side the page may ask for.
pub const MAX_NODES: usize = 257;

/// One panel: a field on the grid and, for a network, its error against the reference.
#[derive(Serialize)]
pub struct Panel {
    /// `reference` or the network's name.
    pub name: String,
    /// The field (Helmholtz: its real part), row-major `n x n`.
    pub re: Vec<f32>,
    /// Helmholtz: the imaginary part.
    pub im: Option<Vec<f32>>,
    /// Relative L2 error against the reference (the wave: at this time; Helmholtz: over the
    /// physical domain).
    pub relative_l2: Option<f64>,
    /// Helmholtz: the error left after the best complex scale.
    pub amplitude_free: Option<f64>,
    /// Which file the network came from (its model, or its latest checkpoint while training).
    pub source: Option<String>,
}

/// What the page draws.
#[derive(Serialize)]
pub struct FieldView {
    /// `wave` or `helmholtz`.
    pub problem: String,
    /// The wave's time.
    pub t: Option<f64>,
    /// Nodes per side.
    pub n: usize,
    /// The reference, then each network that has a file yet.
    pub panels: Vec<Panel>,
}

/// Helmholtz references already solved, by medium, scale and grid.
pub type ReferenceCache = Mutex<HashMap<String, Arc<Vec<c64>>>>;

fn to_f32(v: impl IntoIterator<Item = f64>) -> Vec<f32> {
    v.into_iter().map(|x| x as f32).collect()
}

/// The field view of a run: `members` are its networks' names with their newest file.
pub fn field_view(
    request: &RunRequest,
    members: &[(String, PathBuf)],
    t: f64,
    n: usize,
    cache: &ReferenceCache,
) -> Result<FieldView> {
    if !(9..=MAX_NODES).contains(&n) {
        return Err(Error::InvalidInput(format!(
            "the grid must have 9 to {MAX_NODES} nodes a side, got {n}"
        )));
    }
    let scale = match request.scale.as_deref() {
        Some("default") => Scale::Default,
        _ => Scale::Quick,
    };
    let heterogeneous = request.medium.as_deref() == Some("heterogeneous");
    let source = |p: &PathBuf| p.file_name().map(|f| f.to_string_lossy().into_owned());
    if request.task == "wave" {
        if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
            return Err(Error::InvalidInput(format!("t must be in [0, 1], got {t}")));
        }
        let exp = wave_experiment(scale, heterogeneous);
        let reference = wave_reference(&exp, n, &[t])?;
        let mut panels = vec![Panel {
            name: "reference".into(),
            re: to_f32(reference[0].1.iter().copied()),
            im: None,
            relative_l2: None,
            amplitude_free: None,
            source: None,
        }];
        for (name, path) in members {
            let net = load_network(path)?;
            let slice = wave_errors(&net, &reference, n, 1)?.remove(0);
            panels.push(Panel {
                name: name.clone(),
                re: to_f32(slice.field),
                im: None,
                relative_l2: Some(slice.relative_l2),
                amplitude_free: None,
                source: source(path),
            });
        }
        return Ok(FieldView {
            problem: "wave".into(),
            t: Some(t),
            n,
            panels,
        });
    }
    let exp = helmholtz_experiment(scale, heterogeneous);
    let key = format!("{heterogeneous} {scale:?} {n}");
    let cached = cache
        .lock()
        .expect("no thread panics holding the cache")
        .get(&key)
        .cloned();
    let reference = match cached {
        Some(r) => r,
        None => {
            let r = Arc::new(helmholtz_reference(&exp, n)?);
            cache
                .lock()
                .expect("no thread panics holding the cache")
                .insert(key, Arc::clone(&r));
            r
        }
    };
    let mut panels = vec![Panel {
        name: "reference".into(),
        re: to_f32(reference.iter().map(|c| c.re)),
        im: Some(to_f32(reference.iter().map(|c| c.im))),
        relative_l2: None,
        amplitude_free: None,
        source: None,
    }];
    for (name, path) in members {
        let net = load_network(path)?;
        let e = helmholtz_error(&net, &exp.problem, &reference, n, 1)?;
        panels.push(Panel {
            name: name.clone(),
            re: to_f32(e.field.iter().map(|v| v.0)),
            im: Some(to_f32(e.field.iter().map(|v| v.1))),
            relative_l2: Some(e.relative_l2),
            amplitude_free: Some(e.amplitude_free),
            source: source(path),
        });
    }
    Ok(FieldView {
        problem: "helmholtz".into(),
        t: None,
        n,
        panels,
    })
}
