//! Pseudo-spectral ground truth on periodic grids.
//!
//! - [`Fft3`]: in-place 3D FFTs of an n³ complex grid (rustfft along each axis), integer
//!   wavenumbers, the 2/3-rule mask and shell spectra.
//! - [`turbulence`]: forced homogeneous isotropic turbulence, 3D incompressible Navier–Stokes
//!   in rotational form (the hard-constraint case).
//! - [`Fft2`] and [`kolmogorov`]: 2D FFTs and Kolmogorov-forced 2D Navier–Stokes in
//!   vorticity form (the TF-Net case).
//! - [`ParticleMesh`]: periodic CIC/FFT gravity.
//! - [`cosmology`]: Gaussian initial conditions, Zel'dovich and 2LPT displacements and the
//!   particle-mesh N-body run of an Einstein–de Sitter universe (the D3M case).

pub mod cosmology;
mod fft2;
mod fft3;
pub mod kolmogorov;
mod particle_mesh;
pub mod turbulence;

pub use fft2::Fft2;
pub use fft3::Fft3;
pub use particle_mesh::ParticleMesh;

/// Integer wavenumber of index `i` along an axis of n points (FFT order): 0, 1, …, n/2,
/// −n/2 + 1, …, −1.
fn wavenumber(i: usize, n: usize) -> f64 {
    if i <= n / 2 {
        i as f64
    } else {
        i as f64 - n as f64
    }
}
