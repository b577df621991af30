//! Propagation media: the speed $c(x, y)$ that the wave and Helmholtz problems share.

use serde::Serialize;

/// Propagation speed $c(x, y)$.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Medium {
    /// $c$ everywhere.
    Uniform(f64),
    /// $c_\text{in}$ inside the axis-aligned square of half-side `half` centred at `centre`,
    /// $c_\text{out}$ elsewhere.
    Square {
        /// Speed inside.
        inside: f64,
        /// Speed outside.
        outside: f64,
        /// Centre of the square.
        centre: (f64, f64),
        /// Half of its side.
        half: f64,
    },
    /// $c_\text{in}$ inside the open disc of radius `radius` centred at `centre`, $c_\text{out}$
    /// elsewhere.
    Disc {
        /// Speed inside.
        inside: f64,
        /// Speed outside.
        outside: f64,
        /// Centre of the disc.
        centre: (f64, f64),
        /// Its radius.
        radius: f64,
    },
}

impl Medium {
    /// The seed's heterogeneous wave medium: a slower square ($c = 0.5$, side 0.3) to the right
    /// of the source.
    pub fn slow_square() -> Self {
        Medium::Square {
            inside: 0.5,
            outside: 1.0,
            centre: (0.35, 0.0),
            half: 0.15,
        }
    }

    /// The original code's heterogeneous Helmholtz medium (`--velocity square` in
    /// `train_helmholtz.py`): speed 2 inside the centred square $|x|, |y| < 0.3$, 1 elsewhere
    /// (the original gives the squared slowness, 1/4 inside).
    pub fn fast_square() -> Self {
        Medium::Square {
            inside: 2.0,
            outside: 1.0,
            centre: (0.0, 0.0),
            half: 0.3,
        }
    }

    /// $c(x, y)$.
    pub fn speed(&self, x: f64, y: f64) -> f64 {
        match *self {
            Medium::Uniform(c) => c,
            Medium::Square {
                inside,
                outside,
                centre,
                half,
            } => {
                if (x - centre.0).abs() <= half && (y - centre.1).abs() <= half {
                    inside
                } else {
                    outside
                }
            }
            Medium::Disc {
                inside,
                outside,
                centre,
                radius,
            } => {
                if (x - centre.0).hypot(y - centre.1) < radius {
                    inside
                } else {
                    outside
                }
            }
        }
    }

    /// The squared slowness $1/c(x, y)^2$.
    pub fn slowness_squared(&self, x: f64, y: f64) -> f64 {
        let c = self.speed(x, y);
        1.0 / (c * c)
    }

    /// Checks that every speed is finite and positive.
    pub fn validate(&self) -> siren_core::Result<()> {
        let speeds = match *self {
            Medium::Uniform(c) => vec![c],
            Medium::Square {
                inside, outside, ..
            }
            | Medium::Disc {
                inside, outside, ..
            } => {
                vec![inside, outside]
            }
        };
        if speeds.iter().all(|c| c.is_finite() && *c > 0.0) {
            Ok(())
        } else {
            Err(siren_core::Error::InvalidConfig(format!(
                "a medium needs finite speeds > 0; got {self:?}"
            )))
        }
    }
}
