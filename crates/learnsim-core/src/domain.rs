//! The simulation box: bounds and per-axis periodicity.
//!
//! Like jax-md's `space`, the domain owns *displacement* and *shift*, so that potentials,
//! neighbour lists and integrators never special-case periodic axes themselves.

use crate::{CoreError, Real};
use serde::{Deserialize, Serialize};

/// An axis-aligned box in `D` dimensions with optional periodicity per axis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Domain<const D: usize> {
    /// Lower corner, in world units.
    #[serde(with = "serde_arrays")]
    pub lower: [Real; D],
    /// Upper corner, in world units.
    #[serde(with = "serde_arrays")]
    pub upper: [Real; D],
    /// Whether each axis wraps around.
    #[serde(with = "serde_arrays")]
    pub periodic: [bool; D],
}

impl<const D: usize> Domain<D> {
    /// A box with the given corners and periodicity; errors on empty or non-finite bounds.
    pub fn new(lower: [Real; D], upper: [Real; D], periodic: [bool; D]) -> Result<Self, CoreError> {
        for axis in 0..D {
            let (lo, hi) = (lower[axis], upper[axis]);
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(CoreError::InvalidBounds {
                    axis,
                    lower: lo,
                    upper: hi,
                });
            }
        }
        Ok(Self {
            lower,
            upper,
            periodic,
        })
    }

    /// A non-periodic box.
    pub fn walled(lower: [Real; D], upper: [Real; D]) -> Result<Self, CoreError> {
        Self::new(lower, upper, [false; D])
    }

    /// Edge length along each axis.
    pub fn extent(&self) -> [Real; D] {
        std::array::from_fn(|axis| self.upper[axis] - self.lower[axis])
    }

    /// Displacement `a − b`, using the minimum image on periodic axes.
    pub fn displacement(&self, a: &[Real; D], b: &[Real; D]) -> [Real; D] {
        std::array::from_fn(|axis| {
            let d = a[axis] - b[axis];
            if self.periodic[axis] {
                let length = self.upper[axis] - self.lower[axis];
                // Fast path for points inside the box (the usual case): no libm `round`.
                if d.abs() <= 0.5 * length {
                    d
                } else if d.abs() < 1.5 * length {
                    d - length * d.signum()
                } else {
                    d - length * (d / length).round()
                }
            } else {
                d
            }
        })
    }

    /// `x + dx`, wrapped back into the box on periodic axes (walls are the simulator's concern).
    pub fn shift(&self, x: &[Real; D], dx: &[Real; D]) -> [Real; D] {
        let mut moved: [Real; D] = std::array::from_fn(|axis| x[axis] + dx[axis]);
        self.wrap(&mut moved);
        moved
    }

    /// Wraps a point into `[lower, upper)` on periodic axes, in place.
    pub fn wrap(&self, x: &mut [Real; D]) {
        for axis in 0..D {
            if self.periodic[axis] {
                let length = self.upper[axis] - self.lower[axis];
                let mut offset = (x[axis] - self.lower[axis]).rem_euclid(length);
                // rem_euclid can return `length` itself after rounding of a tiny negative value.
                if offset >= length {
                    offset = 0.0;
                }
                x[axis] = self.lower[axis] + offset;
            }
        }
    }

    /// Whether a point lies inside the closed box, with `slack` added on every side.
    pub fn contains(&self, x: &[Real; D], slack: Real) -> bool {
        (0..D)
            .all(|axis| x[axis] >= self.lower[axis] - slack && x[axis] <= self.upper[axis] + slack)
    }

    /// Squared norm of a displacement.
    pub fn norm_squared(d: &[Real; D]) -> Real {
        d.iter().map(|v| v * v).sum()
    }
}

/// serde for const-generic arrays (serde derives arrays only up to fixed sizes through tuples).
mod serde_arrays {
    use serde::de::{Deserialize, Deserializer, Error};
    use serde::ser::{Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize, const D: usize>(
        value: &[T; D],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_slice().serialize(serializer)
    }

    pub fn deserialize<'de, De: Deserializer<'de>, T: Deserialize<'de>, const D: usize>(
        deserializer: De,
    ) -> Result<[T; D], De::Error> {
        let items = Vec::<T>::deserialize(deserializer)?;
        let n = items.len();
        items
            .try_into()
            .map_err(|_| De::Error::custom(format!("expected {D} entries, found {n}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_non_finite_bounds() {
        assert!(Domain::new([0.0, 1.0], [1.0, 1.0], [false; 2]).is_err());
        assert!(Domain::new([0.0, f64::NAN], [1.0, 2.0], [false; 2]).is_err());
        assert!(Domain::new([0.0, 0.0], [1.0, f64::INFINITY], [false; 2]).is_err());
    }

    #[test]
    fn minimum_image_displacement_is_shortest_and_antisymmetric() {
        let domain = Domain::new([0.0, 0.0], [1.0, 2.0], [true, false]).unwrap();
        let a = [0.95, 1.9];
        let b = [0.05, 0.1];
        let d = domain.displacement(&a, &b);
        // Across the periodic x boundary the short way is −0.1; y is walled, so 1.8 stays.
        assert!((d[0] + 0.1).abs() < 1e-12);
        assert!((d[1] - 1.8).abs() < 1e-12);
        let back = domain.displacement(&b, &a);
        assert!((back[0] + d[0]).abs() < 1e-12 && (back[1] + d[1]).abs() < 1e-12);
    }

    #[test]
    fn shift_wraps_periodic_axes_only() {
        let domain = Domain::new([0.0, 0.0], [1.0, 1.0], [true, false]).unwrap();
        let moved = domain.shift(&[0.9, 0.9], &[0.2, 0.2]);
        assert!((moved[0] - 0.1).abs() < 1e-12);
        assert!((moved[1] - 1.1).abs() < 1e-12);
        let mut edge = [-1e-18, 0.5];
        domain.wrap(&mut edge);
        assert!(edge[0] >= 0.0 && edge[0] < 1.0);
    }
}
