//! The registry of particle cases: name, description, sizes per tier, and the simulation that
//! produces one trajectory from one seed.

use crate::SimError;
use crate::mpm::{DruckerPrager, Material, MpmConfig, MpmState, WaterEos};
use crate::scenes::{
    BlocksScene, BoxBathScene, ColumnScene, DamBreakScene, TaylorGreenScene, box_bath,
    column_collapse, dam_break, random_blocks, taylor_green,
};
use crate::sph::{Formulation, SphConfig, SphState};
use learnsim_core::{Domain, ParticleKind, Stepper, Trajectory, TypeConvention};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Problem size: `Cpu` runs in minutes on two cores, `Paper` matches the papers' data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// Minutes on a laptop.
    Cpu,
    /// The published datasets' sizes.
    Paper,
}

impl Tier {
    /// `cpu` or `paper`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Paper => "paper",
        }
    }
}

/// Dataset split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training trajectories.
    Train,
    /// Validation trajectories.
    Valid,
    /// Test trajectories.
    Test,
}

impl Split {
    /// The three splits in file order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// `train`, `valid` or `test` (the HDF5 file stem).
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Valid => "valid",
            Self::Test => "test",
        }
    }

    fn index(self) -> u64 {
        match self {
            Self::Train => 0,
            Self::Valid => 1,
            Self::Test => 2,
        }
    }
}

/// How many trajectories of how many frames a tier generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationPlan {
    /// Trajectories per split, `[train, valid, test]`.
    pub n_trajectories: [usize; 3],
    /// Stored frames per trajectory (`sequence_length + 1`).
    pub n_frames: usize,
}

/// Everything metadata.json needs from a case besides statistics of the data.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseInfo {
    /// Bounds `[[lo, hi]; 2]`.
    pub bounds: Vec<[f64; 2]>,
    /// Per-axis periodicity.
    pub periodic: Vec<bool>,
    /// Time between stored frames.
    pub frame_dt: f64,
    /// Initial particle spacing.
    pub dx: f64,
    /// GNS connectivity radius.
    pub connectivity_radius: f64,
    /// Gravity vector.
    pub gravity: Vec<f64>,
    /// Particle-type id convention of the written files.
    pub convention: TypeConvention,
    /// Ground-truth solver name.
    pub solver: &'static str,
}

/// A registered particle case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// MLS-MPM water blocks falling in a box (GNS "WaterDrop").
    WaterDrop2d,
    /// MLS-MPM Drucker–Prager sand blocks (GNS "Sand").
    Sand2d,
    /// MLS-MPM viscoplastic goop blocks (GNS "Goop").
    Goop2d,
    /// WCSPH periodic Taylor–Green vortex at Re = 100 (LagrangeBench "2D TGV").
    Tgv2d,
    /// WCSPH dam break with wall particles (LagrangeBench "2D DAM").
    DamBreak2d,
    /// WCSPH dam break hitting a floating rigid box (GNS "BoxBath").
    BoxBath2d,
}

impl Case {
    /// Every registered case.
    pub const ALL: [Case; 6] = [
        Case::WaterDrop2d,
        Case::Sand2d,
        Case::Goop2d,
        Case::Tgv2d,
        Case::DamBreak2d,
        Case::BoxBath2d,
    ];

    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            Self::WaterDrop2d => "water-drop-2d",
            Self::Sand2d => "sand-2d",
            Self::Goop2d => "goop-2d",
            Self::Tgv2d => "tgv-2d",
            Self::DamBreak2d => "dam-break-2d",
            Self::BoxBath2d => "boxbath-2d",
        }
    }

    /// One line for `learnsim cases`.
    pub fn description(self) -> &'static str {
        match self {
            Self::WaterDrop2d => "MLS-MPM water: 1-3 blocks dropped in a box (GNS WaterDrop)",
            Self::Sand2d => "MLS-MPM Drucker-Prager sand, friction angle 35 deg (GNS Sand)",
            Self::Goop2d => "MLS-MPM plastic Neo-Hookean goop (GNS Goop)",
            Self::Tgv2d => "WCSPH Taylor-Green vortex, periodic, Re 100 (LagrangeBench 2D TGV)",
            Self::DamBreak2d => {
                "WCSPH dam break with kinematic wall particles (LagrangeBench 2D DAM)"
            }
            Self::BoxBath2d => {
                "WCSPH dam break hitting a floating box, two-way coupled rigid body (GNS BoxBath)"
            }
        }
    }

    /// The case with this registry name.
    pub fn from_name(name: &str) -> Option<Case> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Sizes per tier (cases.md [4] d2).
    pub fn plan(self, tier: Tier) -> GenerationPlan {
        let (n_trajectories, n_frames) = match (self, tier) {
            // 300 frames (0.75 s): the water has landed and pooled by the last frame.
            (Self::WaterDrop2d, Tier::Cpu) => ([24, 4, 4], 300),
            (Self::Sand2d | Self::Goop2d, Tier::Cpu) => ([24, 4, 4], 200),
            (Self::WaterDrop2d, Tier::Paper) => ([1000, 30, 30], 1000),
            (Self::Sand2d, Tier::Paper) => ([1000, 30, 30], 320),
            (Self::Goop2d, Tier::Paper) => ([1000, 30, 30], 400),
            // t_end = 5 written every 0.04: 126 frames, as LagrangeBench's TGV.
            (Self::Tgv2d, Tier::Cpu) => ([20, 4, 4], 126),
            (Self::Tgv2d, Tier::Paper) => ([100, 50, 50], 126),
            (Self::DamBreak2d | Self::BoxBath2d, Tier::Cpu) => ([20, 4, 4], 200),
            (Self::DamBreak2d | Self::BoxBath2d, Tier::Paper) => ([50, 25, 25], 401),
        };
        GenerationPlan {
            n_trajectories,
            n_frames,
        }
    }

    fn mpm_material(self) -> Option<Material> {
        match self {
            Self::WaterDrop2d => Some(Material::Water(WaterEos::water_drop())),
            Self::Sand2d => Some(Material::sand()),
            Self::Goop2d => Some(Material::goop()),
            Self::Tgv2d | Self::DamBreak2d | Self::BoxBath2d => None,
        }
    }

    /// The MPM configuration of an MPM case. Water drops on a 64² grid (particle spacing
    /// 1/128): the same 300–600 particles then cover four times the area and form a pool 3–6
    /// particles deep instead of a film two particles thick that runs up the walls (issue #24).
    pub fn mpm_config(self) -> Option<MpmConfig> {
        let config = self.mpm_material().map(MpmConfig::flagship)?;
        Some(match self {
            Self::WaterDrop2d => MpmConfig {
                n_grid: 64,
                ..config
            },
            _ => config,
        })
    }

    /// The SPH configuration of an SPH case.
    pub fn sph_config(self, tier: Tier) -> Option<SphConfig> {
        match self {
            Self::Tgv2d => {
                let dx = match tier {
                    Tier::Cpu => 0.04,
                    Tier::Paper => 0.02,
                };
                Some(tgv_config(dx))
            }
            Self::DamBreak2d | Self::BoxBath2d => {
                let dx = match tier {
                    Tier::Cpu => 0.0125,
                    Tier::Paper => 0.005,
                };
                Some(dam_break_config(dx))
            }
            _ => None,
        }
    }

    fn blocks_scene(self, tier: Tier) -> BlocksScene {
        let config = self.mpm_config().expect("an MPM case");
        BlocksScene {
            spacing: config.particle_spacing(),
            n_particles: match tier {
                Tier::Cpu => (300, 600),
                Tier::Paper => (1000, 2000),
            },
            max_blocks: 3,
            max_speed: 2.0,
            region: (config.wall_lower + 0.02, config.wall_upper - 0.02),
            kind: config.material.kind(),
        }
    }

    /// The column-collapse alternative to an MPM case's blocks: the blocks' particle budget in
    /// one column of aspect ratio 1 to 3 standing on the floor, at rest (Lube et al. 2005 ran
    /// 0.5 to 20; above 3 the 300–600 particles of the CPU tier make a column under 12
    /// particles wide).
    fn column_scene(self, tier: Tier) -> ColumnScene {
        let blocks = self.blocks_scene(tier);
        let config = self.mpm_config().expect("an MPM case");
        ColumnScene {
            spacing: blocks.spacing,
            n_particles: blocks.n_particles,
            aspect: (1.0, 3.0),
            region: (config.wall_lower, config.wall_upper),
            kind: blocks.kind,
        }
    }

    /// Bounds, time step, radius and conventions that metadata.json records.
    pub fn info(self, tier: Tier) -> CaseInfo {
        if let Some(mpm) = self.mpm_config() {
            return CaseInfo {
                bounds: vec![[mpm.wall_lower, mpm.wall_upper]; 2],
                periodic: vec![false; 2],
                frame_dt: mpm.frame_dt(),
                dx: mpm.particle_spacing(),
                // GNS's WaterDrop radius (0.015) at a particle spacing of 1/256, scaled with the
                // spacing (≈ 3.8 spacings).
                connectivity_radius: 0.015 * mpm.particle_spacing() * 256.0,
                gravity: vec![0.0, -mpm.gravity],
                convention: TypeConvention::Deepmind,
                solver: "mls-mpm",
            };
        }
        let sph = self.sph_config(tier).expect("an SPH case");
        CaseInfo {
            bounds: (0..2)
                .map(|a| [sph.domain.lower[a], sph.domain.upper[a]])
                .collect(),
            periodic: sph.domain.periodic.to_vec(),
            frame_dt: sph.frame_dt(),
            dx: sph.dx,
            // LagrangeBench: 0.029 at dx = 0.02.
            connectivity_radius: 1.45 * sph.dx,
            gravity: sph.gravity.to_vec(),
            convention: TypeConvention::Lagrangebench,
            solver: "wcsph",
        }
    }

    /// Simulates one trajectory of `n_frames` stored frames from `seed`, calling `on_frame`
    /// after each frame.
    pub fn simulate(
        self,
        tier: Tier,
        seed: u64,
        n_frames: usize,
        on_frame: &(dyn Fn() + Sync),
    ) -> Result<Trajectory, SimError> {
        self.simulate_with(
            tier,
            seed,
            n_frames,
            MaterialVariation::Recipe,
            SceneVariation::Recipe,
            on_frame,
        )
    }

    /// [`simulate`](Self::simulate) with the material varied per trajectory. A varied sand
    /// draws its friction angle from its own stream of the seed (so the scene is the one the
    /// recipe's material would get) and stores tan φ per particle as `material_property`, as
    /// geoelements' sand datasets do. `scene` replaces an MPM case's falling blocks by a
    /// column collapsing from rest.
    pub fn simulate_with(
        self,
        tier: Tier,
        seed: u64,
        n_frames: usize,
        variation: MaterialVariation,
        scene: SceneVariation,
        on_frame: &(dyn Fn() + Sync),
    ) -> Result<Trajectory, SimError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut frames: Vec<f32> = Vec::new();
        let kind: Vec<ParticleKind>;
        let mut material_property = None;
        if let Some(mut config) = self.mpm_config() {
            if let MaterialVariation::FrictionAngle { low_deg, high_deg } = variation {
                let Material::Sand(sand) = config.material else {
                    return Err(SimError::Scene(format!(
                        "{}: only sand has a friction angle to vary",
                        self.name()
                    )));
                };
                variation.validate()?;
                let mut own = ChaCha8Rng::seed_from_u64(seed ^ FRICTION_STREAM);
                let phi = own.random_range(low_deg..=high_deg);
                config.material = Material::Sand(DruckerPrager {
                    friction_angle_deg: phi,
                    ..sand
                });
                material_property = Some(phi.to_radians().tan() as f32);
            }
            let particles = match scene {
                SceneVariation::Recipe => random_blocks(&self.blocks_scene(tier), &mut rng)?,
                // 0.05 from each wall: a column on the wall would hold one side in the
                // sticky wall band instead of collapsing both ways.
                SceneVariation::ColumnCollapse => {
                    column_collapse(&self.column_scene(tier), 0.05, &mut rng)?
                }
            };
            kind = particles.kind.clone();
            let mut state = MpmState::new(&particles);
            let mut solver = config.init();
            record(
                &mut frames,
                &state.to_particle_state(kind[0]).positions_f32(),
                on_frame,
            );
            for _ in 1..n_frames {
                solver.step(&mut state)?;
                record(
                    &mut frames,
                    &state.to_particle_state(kind[0]).positions_f32(),
                    on_frame,
                );
            }
        } else {
            if variation != MaterialVariation::Recipe {
                return Err(SimError::Scene(format!(
                    "{}: only sand has a friction angle to vary",
                    self.name()
                )));
            }
            if scene != SceneVariation::Recipe {
                return Err(SimError::Scene(format!(
                    "{}: the {} scene is for the MPM cases",
                    self.name(),
                    scene.name()
                )));
            }
            let config = self.sph_config(tier).expect("an SPH case");
            let mut state: SphState = match self {
                Self::Tgv2d => {
                    taylor_green(&TaylorGreenScene { amplitude: 1.0 }, &config, &mut rng)
                }
                Self::BoxBath2d => box_bath(&box_bath_scene(), &config, &mut rng),
                _ => dam_break(&dam_break_scene(), &config, &mut rng),
            };
            kind = state.particles.kind.clone();
            let mut solver = config.init()?;
            record(&mut frames, &state.particles.positions_f32(), on_frame);
            for _ in 1..n_frames {
                solver.step(&mut state)?;
                record(&mut frames, &state.particles.positions_f32(), on_frame);
            }
        }
        let n = kind.len();
        let trajectory = Trajectory::new(2, n_frames, frames, kind)?;
        Ok(match material_property {
            Some(tan_phi) => trajectory.with_material(1, vec![tan_phi; n])?,
            None => trajectory,
        })
    }
}

/// Seed stream of a varied material's draw, apart from the scene's.
const FRICTION_STREAM: u64 = 0x6672_6963_7469_6f6e;

/// Which initial scene an MPM case simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SceneVariation {
    /// The recipe's scene: falling blocks for the MPM cases, the case's own for SPH.
    #[default]
    Recipe,
    /// One column standing on the floor, released at rest (MPM cases only): most of every
    /// trajectory is the collapse and runout that the material sets.
    ColumnCollapse,
}

impl SceneVariation {
    /// `recipe` or `column-collapse`, as `learnsim generate --scene` spells it and
    /// metadata.json records it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Recipe => "recipe",
            Self::ColumnCollapse => "column-collapse",
        }
    }
}

/// How a case's material varies across trajectories.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MaterialVariation {
    /// The recipe's material in every trajectory.
    #[default]
    Recipe,
    /// Sand whose friction angle φ is drawn uniformly from `[low_deg, high_deg]` per
    /// trajectory (geoelements' sand sets vary it; their models read tan φ).
    FrictionAngle {
        /// Lowest angle, degrees.
        low_deg: f64,
        /// Highest angle, degrees.
        high_deg: f64,
    },
}

impl MaterialVariation {
    /// Friction angles the Drucker–Prager sand is run at: 10° to 60°. Below 10° the sand
    /// flows like a liquid (and the stored angle means little); at 90° tan φ is infinite.
    pub const FRICTION_RANGE_DEG: (f64, f64) = (10.0, 60.0);

    /// Checks the range.
    pub fn validate(self) -> Result<(), SimError> {
        if let Self::FrictionAngle { low_deg, high_deg } = self {
            let (lo, hi) = Self::FRICTION_RANGE_DEG;
            if !(lo <= low_deg && low_deg <= high_deg && high_deg <= hi) {
                return Err(SimError::Scene(format!(
                    "friction angles [{low_deg}, {high_deg}] deg: need {lo} <= low <= high <= {hi}"
                )));
            }
        }
        Ok(())
    }
}

fn record(frames: &mut Vec<f32>, frame: &[f32], on_frame: &(dyn Fn() + Sync)) {
    frames.extend_from_slice(frame);
    on_frame();
}

/// TGV at Re = 100 on the periodic unit square: U = 1, ν = 0.01, c₀ = 10·U, frames 0.04 apart;
/// dt = 4e-4 at dx = 0.02 (jax-sph's recipe behind LagrangeBench), scaled with dx (50 steps per
/// frame at dx = 0.04); transport-velocity formulation.
///
/// Kernel width and background pressure are set by the Taylor–Green decay itself (measured at
/// dx = 0.04 and 0.02, t ≤ 1; `tests/sph_physics.rs`). The vortex's stagnation points stretch
/// the initial lattice by e^{2πUt}; with h = 1.3·dx (about 20 neighbours) and Adami's
/// p_b = ρ₀c₀² the particles lose 30–45 % of the kinetic energy in that transient at both
/// resolutions. Wendland kernels want many neighbours (Dehnen & Aly 2012): with h = 2·dx
/// (support 4·dx, about 50 neighbours) and p_b = 2ρ₀c₀² the loss is gone: within 3.3 % of
/// exp(−16π²νt) at dx = 0.02, and within 6.1 % at dx = 0.04, where the lattice's discrete
/// Laplacian itself decays 3.6 % slower than ν|k|² (lattice sum in the test).
pub fn tgv_config(dx: f64) -> SphConfig {
    SphConfig {
        domain: Domain::new([0.0, 0.0], [1.0, 1.0], [true, true]).expect("unit square"),
        dx,
        smoothing_ratio: 2.0,
        dt: 4e-4 * dx / 0.02,
        steps_per_frame: (100.0 * 0.02 / dx).round() as usize,
        rest_density: 1.0,
        sound_speed: 10.0,
        eos_exponent: 7.0,
        viscosity: 0.01,
        gravity: [0.0, 0.0],
        formulation: Formulation::TransportVelocity {
            background_pressure: 200.0,
        },
    }
}

/// The dam-break tank (1 × 0.5, three wall layers) and its random column.
pub fn dam_break_scene() -> DamBreakScene {
    DamBreakScene {
        tank_width: 1.0,
        tank_height: 0.5,
        column_width: (0.3, 0.45),
        column_height: (0.2, 0.3),
        wall_layers: 3,
    }
}

/// The dam-break tank with a column 0.25 to 0.4 wide and 0.25 to 0.35 high, a bath 0.06 to 0.1
/// deep over the rest of the floor, and an 8 × 8 box (64 particles, as GNS's BoxBath; 0.1 wide
/// at dx = 0.0125) of 0.3 to 0.5 times water's density (draft 0.03 to 0.05) floating in it
/// with its centre between 0.6 and 0.85: the bore from the dam break runs into it and carries
/// it on.
pub fn box_bath_scene() -> BoxBathScene {
    BoxBathScene {
        tank: DamBreakScene {
            column_width: (0.25, 0.4),
            column_height: (0.25, 0.35),
            ..dam_break_scene()
        },
        bath_depth: (0.06, 0.1),
        box_side: 8,
        box_density: (0.3, 0.5),
        box_center_x: (0.6, 0.85),
    }
}

/// Dam break under g = 9.81: c₀ = 20 m/s, ten times the largest flow speed measured in these
/// scenes (≈ 2 m/s; the shallow-water bound 2√(gH) is 3.4 m/s for H = 0.3 m), so density varies
/// by about 1 %; dt = 0.2·h/c₀ rounded down to whole steps per frame; viscosity equivalent to Monaghan's α = 0.1 artificial viscosity, ν = α h c₀ / 8.
pub fn dam_break_config(dx: f64) -> SphConfig {
    let scene = dam_break_scene();
    let pad = scene.wall_layers as f64 * dx;
    let smoothing_ratio = 1.3;
    let sound_speed = 20.0;
    let h = smoothing_ratio * dx;
    let frame_dt = 0.01;
    let steps_per_frame = (frame_dt / (0.2 * h / sound_speed)).ceil() as usize;
    SphConfig {
        domain: Domain::walled([-pad, -pad], [scene.tank_width + pad, scene.tank_height])
            .expect("tank bounds"),
        dx,
        smoothing_ratio,
        dt: frame_dt / steps_per_frame as f64,
        steps_per_frame,
        rest_density: 1000.0,
        sound_speed,
        eos_exponent: 7.0,
        viscosity: 0.1 * h * sound_speed / 8.0,
        gravity: [0.0, -9.81],
        formulation: Formulation::DeltaSph {
            density_diffusion: 0.1,
        },
    }
}

/// Seed of trajectory `index` of `split`, derived from the run seed with SplitMix64 so that
/// trajectories are independent and any one can be regenerated alone.
pub fn trajectory_seed(seed: u64, split: Split, index: usize) -> u64 {
    let mut z = seed.wrapping_add(
        0x9E37_79B9_7F4A_7C15u64.wrapping_mul(1 + split.index() * 1_000_003 + index as u64),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
