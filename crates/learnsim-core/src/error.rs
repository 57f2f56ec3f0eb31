use thiserror::Error;

/// Errors from learnsim-core's constructors and checks.
#[derive(Debug, Error, PartialEq)]
pub enum CoreError {
    /// A domain whose bounds are not finite or whose lower bound is not below the upper.
    #[error("invalid domain bounds on axis {axis}: [{lower}, {upper}]")]
    InvalidBounds { axis: usize, lower: f64, upper: f64 },
    /// A neighbour-search radius that is not finite and positive.
    #[error("invalid neighbour radius {0}: it must be finite and > 0")]
    InvalidRadius(f64),
    /// A particle type id that the named convention does not define.
    #[error("particle type id {id} is not defined in the {convention} convention")]
    UnknownParticleType { id: i64, convention: &'static str },
    /// A trajectory whose arrays disagree in size.
    #[error("trajectory shape mismatch: {0}")]
    Shape(String),
    /// Dataset metadata that is inconsistent or out of range.
    #[error("invalid metadata: {0}")]
    Metadata(String),
    /// A non-finite coordinate, found at (frame, particle).
    #[error("non-finite position at frame {frame}, particle {particle}")]
    NonFinite { frame: usize, particle: usize },
}
