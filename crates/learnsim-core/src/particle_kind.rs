//! Particle kinds and their explicit mapping to the field's integer type ids.
//!
//! The two conventions disagree, so every dataset names the one its `particle_type` arrays use:
//! - DeepMind (`learning_to_simulate`): 0 = rigid, 3 = kinematic boundary (positions taken from
//!   ground truth during rollouts), 5 = water, 6 = sand, 7 = goop.
//! - LagrangeBench (`NodeType`): 0 = fluid, 1 = solid wall, 2 = moving wall, 3 = rigid body.

use crate::CoreError;
use serde::{Deserialize, Serialize};

/// The physical role of a particle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticleKind {
    /// Weakly compressible liquid (MPM water, SPH fluid).
    Water,
    /// Granular material (Drucker–Prager in MPM).
    Sand,
    /// Viscoplastic material (Neo-Hookean with a plastic clamp in MPM).
    Goop,
    /// A rigid body's particle.
    Rigid,
    /// A fixed wall or obstacle; kinematic.
    Wall,
    /// A wall moved by a prescribed motion; kinematic.
    MovingWall,
}

/// Which integer ids a dataset's `particle_type` arrays use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeConvention {
    /// DeepMind's GNS datasets (and geoelements/gns, which follows them).
    Deepmind,
    /// LagrangeBench's `NodeType`.
    Lagrangebench,
}

impl TypeConvention {
    /// Lower-case name, as written in metadata.json.
    pub fn name(self) -> &'static str {
        match self {
            Self::Deepmind => "deepmind",
            Self::Lagrangebench => "lagrangebench",
        }
    }
}

impl ParticleKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ParticleKind; 6] = [
        Self::Water,
        Self::Sand,
        Self::Goop,
        Self::Rigid,
        Self::Wall,
        Self::MovingWall,
    ];

    /// Lower-case name (`moving_wall` for [`Self::MovingWall`]), as the viewer's legend shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Water => "water",
            Self::Sand => "sand",
            Self::Goop => "goop",
            Self::Rigid => "rigid",
            Self::Wall => "wall",
            Self::MovingWall => "moving_wall",
        }
    }

    /// Kinematic particles are not predicted: rollouts take their positions from ground truth,
    /// training masks them out of the loss and gives them no noise.
    pub fn is_kinematic(self) -> bool {
        matches!(self, Self::Wall | Self::MovingWall)
    }

    /// The id of this kind in `convention`, or `None` where the convention has no such kind
    /// (LagrangeBench has one fluid type, so sand and goop have no id there).
    pub fn id(self, convention: TypeConvention) -> Option<i64> {
        match convention {
            TypeConvention::Deepmind => Some(match self {
                Self::Rigid => 0,
                Self::Wall | Self::MovingWall => 3,
                Self::Water => 5,
                Self::Sand => 6,
                Self::Goop => 7,
            }),
            TypeConvention::Lagrangebench => match self {
                Self::Water => Some(0),
                Self::Wall => Some(1),
                Self::MovingWall => Some(2),
                Self::Rigid => Some(3),
                Self::Sand | Self::Goop => None,
            },
        }
    }

    /// The kind for an id in `convention`.
    pub fn from_id(id: i64, convention: TypeConvention) -> Result<Self, CoreError> {
        let kind = match (convention, id) {
            (TypeConvention::Deepmind, 0) => Self::Rigid,
            (TypeConvention::Deepmind, 3) => Self::Wall,
            (TypeConvention::Deepmind, 5) => Self::Water,
            (TypeConvention::Deepmind, 6) => Self::Sand,
            (TypeConvention::Deepmind, 7) => Self::Goop,
            (TypeConvention::Lagrangebench, 0) => Self::Water,
            (TypeConvention::Lagrangebench, 1) => Self::Wall,
            (TypeConvention::Lagrangebench, 2) => Self::MovingWall,
            (TypeConvention::Lagrangebench, 3) => Self::Rigid,
            _ => {
                return Err(CoreError::UnknownParticleType {
                    id,
                    convention: convention.name(),
                });
            }
        };
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_in_both_conventions() {
        for convention in [TypeConvention::Deepmind, TypeConvention::Lagrangebench] {
            for kind in ParticleKind::ALL {
                if let Some(id) = kind.id(convention) {
                    let back = ParticleKind::from_id(id, convention).unwrap();
                    // DeepMind has one kinematic id for fixed and moving walls alike.
                    let expected = if kind == ParticleKind::MovingWall
                        && convention == TypeConvention::Deepmind
                    {
                        ParticleKind::Wall
                    } else {
                        kind
                    };
                    assert_eq!(back, expected);
                    assert_eq!(back.is_kinematic(), kind.is_kinematic());
                }
            }
        }
    }

    #[test]
    fn field_conventions_are_respected() {
        assert_eq!(
            ParticleKind::from_id(3, TypeConvention::Deepmind),
            Ok(ParticleKind::Wall)
        );
        assert!(
            ParticleKind::from_id(3, TypeConvention::Deepmind)
                .unwrap()
                .is_kinematic()
        );
        assert_eq!(
            ParticleKind::from_id(1, TypeConvention::Lagrangebench),
            Ok(ParticleKind::Wall)
        );
        assert_eq!(
            ParticleKind::from_id(3, TypeConvention::Lagrangebench),
            Ok(ParticleKind::Rigid)
        );
        assert!(ParticleKind::from_id(9, TypeConvention::Deepmind).is_err());
        assert_eq!(ParticleKind::Sand.id(TypeConvention::Lagrangebench), None);
    }
}
