//! Evaluate a saved model at your own coordinates: its value, gradient and Laplacian.
//!
//! ```sh
//! cargo run --release -p siren-core --example evaluate_saved_model -- model.safetensors 0.1,0.2 -0.5,0.5
//! ```
//!
//! Without arguments it saves a freshly initialised 2-D SIREN to a temporary file and reads
//! it back, so the program runs as it is. Any model file `siren fit` or `Network::save`
//! wrote works: the file carries its configuration.

use dfdx::prelude::*;
use siren_core::train::to_matrix;
use siren_core::{device, Network, NetworkConfig, Order, Tracer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dev = device::cpu();
    let (path, points) = match args.split_first() {
        Some((path, points)) => (std::path::PathBuf::from(path), points.to_vec()),
        None => {
            let path = std::env::temp_dir().join("siren_example_model.safetensors");
            Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 64, 3), 0, &dev)?.save(&path)?;
            (path, vec!["0.1,0.2".into(), "-0.5,0.5".into()])
        }
    };
    let net = Network::<f32, Cpu>::load(&path, &dev)?;
    let d = net.config().in_features;

    // Points as comma-separated coordinates, one argument per point.
    let mut coords = Vec::new();
    for p in &points {
        let values: Vec<f64> = p.split(',').map(str::parse).collect::<Result<_, _>>()?;
        if values.len() != d {
            return Err(format!(
                "{p:?} has {} coordinates; the model takes {d}",
                values.len()
            )
            .into());
        }
        coords.extend(values);
    }
    let x = to_matrix::<f32, Cpu>(&dev, &coords, d);

    // One pass carries the value, the gradient and the Hessian diagonal (no tape: inference).
    let mut tr = Tracer::inference();
    let jet = net.jet(&x, Order::Diagonal, &mut tr)?;
    let all: Vec<usize> = (0..d).collect();
    let laplacian = jet.laplacian(&mut tr, &all)?.as_vec();
    let value = jet.value.as_vec();
    let c = net.config().out_features;
    for (i, p) in points.iter().enumerate() {
        let gradient: Vec<f32> = (0..d)
            .map(|k| jet.partial(&mut tr, k).map(|g| g.as_vec()[i * c]))
            .collect::<Result<_, _>>()?;
        println!(
            "u({p}) = {:?}, grad u = {gradient:?} (first output), lap u = {:?}",
            &value[i * c..(i + 1) * c],
            &laplacian[i * c..(i + 1) * c]
        );
    }
    Ok(())
}
