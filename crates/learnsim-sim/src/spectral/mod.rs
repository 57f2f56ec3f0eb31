//! Pseudo-spectral ground truth on periodic grids.
//!
//! - [`Fft3`]: in-place 3D FFTs of an n³ complex grid (rustfft along each axis), integer
//!   wavenumbers, the 2/3-rule mask and shell spectra.
//! - [`turbulence`]: forced homogeneous isotropic turbulence, 3D incompressible Navier–Stokes
//!   in rotational form (the hard-constraint case).

mod fft3;
pub mod turbulence;

pub use fft3::Fft3;
