//! Field checks of the object and grid cases' configs (issue #33): sizes non-zero and bounded,
//! rates and physical constants finite and positive, so that a bad config is refused with its
//! field before any simulation or training starts. The ranges are wide (a config may scale a
//! case up by orders of magnitude); what they exclude are values that panic, allocate without
//! bound or make the run meaningless (zero steps, negative time steps, NaN).

use crate::cosmology::CosmologyConfig;
use crate::glass::GlassTrainConfig;
use crate::koopman::KoopmanConfig;
use crate::nanophotonics::ScatterTrainConfig;
use crate::pdenet::PdeNetTrainConfig;
use crate::schnet::SchNetTrainConfig;
use crate::tfnet::KolmogorovConfig;
use crate::turbulence::TurbulenceConfig;
use crate::{Bound, FieldError, Validate, count_in, learning_rates, network_memory, real_in, rule};

/// Widths of a layer or a feature vector.
const WIDTH_MAX: usize = 65_536;
/// Steps, epochs, iterations.
const STEPS_MAX: usize = 1_000_000_000;
/// Samples, configurations, trajectories.
const SAMPLES_MAX: usize = 10_000_000;

fn positive(field: &str, value: f64) -> Result<(), FieldError> {
    real_in(field, value, 0.0, f64::MAX, Bound::Exclusive)
}

fn non_negative(field: &str, value: f64) -> Result<(), FieldError> {
    real_in(field, value, 0.0, f64::MAX, Bound::Inclusive)
}

fn widths(field: &str, values: &[usize]) -> Result<(), FieldError> {
    if values.is_empty() {
        return Err(rule(field, "[]", "allowed a non-empty list of widths"));
    }
    for (k, &w) in values.iter().enumerate() {
        count_in(&format!("{field}[{k}]"), w, 1, WIDTH_MAX)?;
    }
    Ok(())
}

/// Copies of every activation a training step holds: the convolution's output, its
/// normalisation and nonlinearity, the skip connection, and the gradient of each.
const ACTIVATION_COPIES: f64 = 8.0;

/// The most training memory a grid config may ask for: what the largest machine learnsim runs
/// on (an 80 GB GPU) holds with headroom. It refuses the configs that cannot run anywhere
/// (which would abort on allocation); one between the host's memory and this still runs out
/// of memory on a smaller machine. The GNS estimate keeps its own 16 GiB cap on weights.
const GRID_MEMORY_LIMIT: f64 = 64.0 * 1024.0 * 1024.0 * 1024.0;

/// An estimate of a U-Net-like grid network's training memory: level l has width `widths[l]`
/// on `cells / 2^(dim·l)` cells per sample (each level halves the resolution), f32,
/// [`ACTIVATION_COPIES`] copies each, plus weights, gradients and two Adam moments of
/// `kernel`-point convolutions (two per level, both directions of the U). Refused above
/// [`GRID_MEMORY_LIMIT`], naming `field` (the widths).
fn grid_memory(
    field: &str,
    widths: &[usize],
    (cells, dim): (f64, i32),
    batch: usize,
    in_channels: usize,
    kernel: f64,
) -> Result<(), FieldError> {
    let per_sample: f64 = widths
        .iter()
        .enumerate()
        .map(|(l, &w)| w as f64 * cells / 2f64.powi(dim * l as i32))
        .sum::<f64>()
        + in_channels as f64 * cells;
    let activations = 4.0 * ACTIVATION_COPIES * batch as f64 * per_sample;
    let mut previous = in_channels as f64;
    let mut parameters = 0.0;
    for &w in widths {
        parameters += 4.0 * kernel * previous * w as f64 + 4.0 * kernel * (w * w) as f64;
        previous = w as f64;
    }
    let bytes = activations + 16.0 * parameters;
    if bytes > GRID_MEMORY_LIMIT {
        return Err(rule(
            field,
            format!("{widths:?}"),
            format!(
                "training would need about {:.0} GiB (activations of {batch} samples of {cells:.0} cells, weights, gradients and Adam moments); at most {:.0} GiB is allowed",
                bytes / 1024f64.powi(3),
                GRID_MEMORY_LIMIT / 1024f64.powi(3)
            ),
        ));
    }
    Ok(())
}

/// A spectral grid: a power of two that FFTs and memory allow.
fn grid(field: &str, n: usize, max: usize) -> Result<(), FieldError> {
    count_in(field, n, 8, max)?;
    if !n.is_power_of_two() {
        return Err(rule(field, n, "allowed a power of two"));
    }
    Ok(())
}

impl Validate for TurbulenceConfig {
    fn validate(&self) -> Result<(), FieldError> {
        grid("flow.n", self.flow.n, 256)?;
        positive("flow.injection", self.flow.injection)?;
        positive("flow.forcing_wavenumber", self.flow.forcing_wavenumber)?;
        positive("flow.kmax_eta", self.flow.kmax_eta)?;
        positive("flow.initial_energy", self.flow.initial_energy)?;
        positive("flow.initial_peak", self.flow.initial_peak)?;
        real_in("flow.cfl", self.flow.cfl, 0.0, 1.0, Bound::Exclusive)?;
        non_negative("flow.spin_up", self.flow.spin_up)?;
        count_in("flow.snapshots", self.flow.snapshots, 3, 100_000)?;
        positive("flow.snapshot_turnovers", self.flow.snapshot_turnovers)?;
        count_in(
            "test_snapshots",
            self.test_snapshots,
            1,
            self.flow.snapshots,
        )?;
        count_in(
            "valid_snapshots",
            self.valid_snapshots,
            1,
            self.flow.snapshots,
        )?;
        if self.test_snapshots + self.valid_snapshots >= self.flow.snapshots {
            return Err(rule(
                "valid_snapshots",
                self.valid_snapshots,
                format!(
                    "test_snapshots + valid_snapshots must leave training snapshots of the {}",
                    self.flow.snapshots
                ),
            ));
        }
        widths("widths", &self.widths)?;
        count_in("epochs", self.epochs, 1, STEPS_MAX)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        learning_rates(self.lr, self.lr_final).map_err(rename_lr("lr"))?;
        // A 3D U-Net on the n³ velocity field (3 channels in), 3×3×3 kernels.
        let cells = (self.flow.n as f64).powi(3);
        grid_memory("widths", &self.widths, (cells, 3), self.batch_size, 3, 27.0)
    }
}

/// Renames `lr_initial` in a learning-rate error to the config's own name for it.
fn rename_lr(name: &'static str) -> impl Fn(FieldError) -> FieldError {
    move |mut e| {
        if e.field == "lr_initial" {
            e.field = name.into();
        }
        e.allowed = e.allowed.replace("lr_initial", name);
        e
    }
}

impl Validate for KolmogorovConfig {
    fn validate(&self) -> Result<(), FieldError> {
        grid("flow.n", self.flow.n, 1024)?;
        positive("flow.viscosity", self.flow.viscosity)?;
        non_negative("flow.drag", self.flow.drag)?;
        non_negative("flow.forcing", self.flow.forcing)?;
        count_in(
            "flow.forcing_wavenumber",
            self.flow.forcing_wavenumber,
            1,
            self.flow.n / 2,
        )?;
        positive("flow.dt", self.flow.dt)?;
        non_negative("flow.spin_up", self.flow.spin_up)?;
        count_in("flow.frame_steps", self.flow.frame_steps, 1, 1_000_000)?;
        count_in("flow.frames", self.flow.frames, 2, 1_000_000)?;
        non_negative("flow.initial_vorticity", self.flow.initial_vorticity)?;
        count_in("runs", self.runs, 1, 100_000)?;
        count_in("input_frames", self.input_frames, 1, self.flow.frames - 1)?;
        count_in("output_frames", self.output_frames, 1, self.flow.frames - 1)?;
        count_in("time_range", self.time_range, 1, self.flow.frames)?;
        count_in("valid_frames", self.valid_frames, 1, self.flow.frames)?;
        count_in("test_horizon", self.test_horizon, 1, self.flow.frames)?;
        count_in("test_stride", self.test_stride, 1, self.flow.frames)?;
        widths("widths", &self.widths)?;
        count_in("steps", self.steps, 1, STEPS_MAX)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        real_in("lr", self.lr, 0.0, 1.0, Bound::Exclusive)?;
        real_in("decay", self.decay, 0.0, 1.0, Bound::Exclusive)?;
        count_in("decay_every", self.decay_every, 1, STEPS_MAX)?;
        non_negative("divergence_coef", self.divergence_coef)?;
        count_in("valid_every", self.valid_every, 1, STEPS_MAX)?;
        count_in("fno_modes", self.fno_modes, 1, self.flow.n / 2)?;
        count_in("fno_width", self.fno_width, 1, WIDTH_MAX)?;
        // TF-Net/U-Net on n² fields, 2 velocity channels per input frame, 3×3 kernels (the
        // three TF-Net encoders triple the activations).
        let cells = (self.flow.n as f64).powi(2);
        let inputs = 2 * self.input_frames;
        grid_memory(
            "widths",
            &self.widths,
            (3.0 * cells, 2),
            self.batch_size,
            inputs,
            9.0,
        )
    }
}

impl Validate for CosmologyConfig {
    fn validate(&self) -> Result<(), FieldError> {
        grid("universe.n", self.universe.n, 256)?;
        count_in("universe.mesh_factor", self.universe.mesh_factor, 1, 8)?;
        real_in(
            "universe.spectral_index",
            self.universe.spectral_index,
            -10.0,
            10.0,
            Bound::Inclusive,
        )?;
        positive("universe.cutoff", self.universe.cutoff)?;
        positive("universe.displacement_rms", self.universe.displacement_rms)?;
        real_in(
            "universe.a_start",
            self.universe.a_start,
            0.0,
            1.0,
            Bound::Exclusive,
        )?;
        count_in("universe.steps", self.universe.steps, 1, 1_000_000)?;
        for (field, n) in [
            ("train", self.train),
            ("valid", self.valid),
            ("test", self.test),
            ("extrapolation", self.extrapolation),
        ] {
            count_in(field, n, 1, SAMPLES_MAX)?;
        }
        positive("extrapolation_power", self.extrapolation_power)?;
        widths("widths", &self.widths)?;
        count_in("steps", self.steps, 1, STEPS_MAX)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        learning_rates(self.lr, self.lr_final).map_err(rename_lr("lr"))?;
        count_in("valid_every", self.valid_every, 1, STEPS_MAX)?;
        // A 3D U-Net on the n³ particle lattice (3 displacement channels), 3×3×3 kernels.
        let cells = (self.universe.n as f64).powi(3);
        grid_memory("widths", &self.widths, (cells, 3), self.batch_size, 3, 27.0)
    }
}

impl Validate for KoopmanConfig {
    fn validate(&self) -> Result<(), FieldError> {
        let rope = &self.rope;
        positive("rope.mass", rope.mass)?;
        positive("rope.spacing", rope.spacing)?;
        positive("rope.rest_factor", rope.rest_factor)?;
        let [lo, hi] = rope.stiffness_range;
        positive("rope.stiffness_range[0]", lo)?;
        real_in(
            "rope.stiffness_range[1]",
            hi,
            lo,
            f64::MAX,
            Bound::Inclusive,
        )?;
        // Gravity is signed (the rope hangs along −y).
        let [lo, hi] = rope.gravity_range;
        real_in("rope.gravity_range[0]", lo, -1e6, 1e6, Bound::Inclusive)?;
        real_in("rope.gravity_range[1]", hi, lo, 1e6, Bound::Inclusive)?;
        positive("rope.damping_divisor", rope.damping_divisor)?;
        positive("rope.dt", rope.dt)?;
        count_in("rope.substeps", rope.substeps, 1, 100_000)?;
        count_in("rope.steps", rope.steps, 2, 1_000_000)?;
        for (field, n) in [
            ("train_groups", self.train_groups),
            ("valid_groups", self.valid_groups),
            ("extrapolation_groups", self.extrapolation_groups),
            ("rollouts_per_group", self.rollouts_per_group),
            ("fit_rollouts", self.fit_rollouts),
        ] {
            count_in(field, n, 1, SAMPLES_MAX)?;
        }
        count_in("code", self.code, 1, WIDTH_MAX)?;
        count_in("latent", self.latent, 1, WIDTH_MAX)?;
        count_in("message_passing_steps", self.message_passing_steps, 1, 64)?;
        count_in("decoder_hidden", self.decoder_hidden, 1, WIDTH_MAX)?;
        let mlps = 2 * self.message_passing_steps + 3;
        network_memory("latent", self.latent, mlps, 2, self.latent)?;
        network_memory(
            "decoder_hidden",
            self.decoder_hidden,
            1,
            2,
            self.decoder_hidden,
        )?;
        non_negative("ridge", self.ridge)?;
        count_in("sequence", self.sequence, 2, rope.steps)?;
        count_in("steps", self.steps, 1, STEPS_MAX)?;
        learning_rates(self.lr_initial, self.lr_final)?;
        count_in("validate_every", self.validate_every, 1, STEPS_MAX)?;
        count_in("control_steps", self.control_steps, 1, 1_000_000)?;
        count_in("control_targets", self.control_targets, 1, SAMPLES_MAX)?;
        non_negative("action_cost", self.action_cost)
    }
}

impl Validate for ScatterTrainConfig {
    fn validate(&self) -> Result<(), FieldError> {
        let o = &self.optics;
        count_in("optics.layers", o.layers, 1, 64)?;
        positive("optics.thickness_min_nm", o.thickness_min_nm)?;
        real_in(
            "optics.thickness_max_nm",
            o.thickness_max_nm,
            o.thickness_min_nm,
            1e6,
            Bound::Inclusive,
        )?;
        positive("optics.thickness_step_nm", o.thickness_step_nm)?;
        positive("optics.wavelength_min_nm", o.wavelength_min_nm)?;
        real_in(
            "optics.wavelength_max_nm",
            o.wavelength_max_nm,
            o.wavelength_min_nm,
            1e7,
            Bound::Exclusive,
        )?;
        count_in("optics.wavelengths", o.wavelengths, 2, 100_000)?;
        for (field, n) in [
            ("train_samples", self.train_samples),
            ("valid_samples", self.valid_samples),
            ("test_samples", self.test_samples),
        ] {
            count_in(field, n, 1, SAMPLES_MAX)?;
        }
        count_in("hidden", self.hidden, 1, WIDTH_MAX)?;
        count_in("n_hidden", self.n_hidden, 1, 64)?;
        network_memory("hidden", self.hidden, 1, self.n_hidden + 1, self.hidden)?;
        count_in("epochs", self.epochs, 1, STEPS_MAX)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        real_in("lr", self.lr, 0.0, 1.0, Bound::Exclusive)?;
        real_in(
            "lr_decay_per_epoch",
            self.lr_decay_per_epoch,
            0.0,
            1.0,
            Bound::Exclusive,
        )?;
        count_in("validate_every", self.validate_every, 1, STEPS_MAX)?;
        let d = &self.design;
        count_in("design.targets", d.targets, 1, SAMPLES_MAX)?;
        count_in("design.restarts", d.restarts, 1, 100_000)?;
        count_in("design.steps", d.steps, 1, STEPS_MAX)?;
        learning_rates(d.lr_initial, d.lr_final).map_err(|mut e| {
            e.field = format!("design.{}", e.field);
            e
        })?;
        count_in(
            "design.random_search_evaluations",
            d.random_search_evaluations,
            1,
            STEPS_MAX,
        )
    }
}

impl Validate for GlassTrainConfig {
    fn validate(&self) -> Result<(), FieldError> {
        let md = &self.md;
        count_in("md.n_a", md.n_a, 1, 1_000_000)?;
        count_in("md.n_b", md.n_b, 0, 1_000_000)?;
        positive("md.density", md.density)?;
        positive("md.temperature", md.temperature)?;
        positive("md.dt", md.dt)?;
        positive("md.melt_temperature", md.melt_temperature)?;
        non_negative("md.melt_time", md.melt_time)?;
        non_negative("md.equilibration_time", md.equilibration_time)?;
        count_in(
            "train_configurations",
            self.train_configurations,
            1,
            SAMPLES_MAX,
        )?;
        count_in(
            "test_configurations",
            self.test_configurations,
            1,
            SAMPLES_MAX,
        )?;
        positive("radius", self.radius)?;
        count_in("latent", self.latent, 1, WIDTH_MAX)?;
        count_in("n_hidden", self.n_hidden, 1, 64)?;
        count_in("message_passing_steps", self.message_passing_steps, 1, 64)?;
        let mlps = 2 * self.message_passing_steps + 3;
        network_memory("latent", self.latent, mlps, self.n_hidden + 1, self.latent)?;
        count_in("epochs", self.epochs, 1, STEPS_MAX)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        learning_rates(self.lr_initial, self.lr_final)?;
        positive("lr_decay_steps", self.lr_decay_steps)?;
        count_in("validate_every", self.validate_every, 1, STEPS_MAX)?;
        count_in("distance_basis", self.distance_basis, 1, 4096)
    }
}

impl Validate for SchNetTrainConfig {
    fn validate(&self) -> Result<(), FieldError> {
        if self.cluster_sizes.is_empty() {
            return Err(rule("cluster_sizes", "[]", "allowed a non-empty list"));
        }
        for (k, &n) in self.cluster_sizes.iter().enumerate() {
            count_in(&format!("cluster_sizes[{k}]"), n, 2, 10_000)?;
        }
        count_in("configurations", self.configurations, 1, SAMPLES_MAX)?;
        count_in("features", self.features, 1, WIDTH_MAX)?;
        count_in("interactions", self.interactions, 1, 64)?;
        count_in("n_rbf", self.n_rbf, 1, 4096)?;
        positive("cutoff", self.cutoff)?;
        count_in("readout_hidden", self.readout_hidden, 1, WIDTH_MAX)?;
        // Each interaction: filter network (two layers), atom-wise in/out layers.
        network_memory(
            "features",
            self.features,
            self.interactions,
            4,
            self.features,
        )?;
        network_memory(
            "readout_hidden",
            self.readout_hidden,
            1,
            2,
            self.readout_hidden,
        )?;
        count_in("steps", self.steps, 1, STEPS_MAX)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        learning_rates(self.lr_initial, self.lr_final)?;
        positive("lr_decay_steps", self.lr_decay_steps)?;
        non_negative("energy_weight", self.energy_weight)?;
        non_negative("force_weight", self.force_weight)?;
        if self.energy_weight == 0.0 && self.force_weight == 0.0 {
            return Err(rule(
                "force_weight",
                "0",
                "allowed > 0 when energy_weight is 0 (the loss would be empty)",
            ));
        }
        // The central difference's step: above f32 round-off of positions of a few Å (1e-6 Å),
        // at most a tenth of a bond (0.2 Å), where the O(h²) error would swamp the gradient.
        real_in("force_step", self.force_step, 1e-5, 0.2, Bound::Inclusive)?;
        count_in("validate_every", self.validate_every, 1, STEPS_MAX)?;
        count_in("nve_steps", self.nve_steps, 1, STEPS_MAX)?;
        positive("nve_dt", self.nve_dt)?;
        positive("nve_temperature", self.nve_temperature)?;
        // Each held-out start is its own 2000-step Langevin trajectory, seeded by
        // 100 000·size + index: more starts than that per size would repeat seeds.
        count_in("relax_starts", self.relax_starts, 0, 99_999)?;
        // Below 1e-4 eV/Å the learned forces' f32 round-off decides; above 1 eV/Å nothing relaxes.
        real_in("relax_fmax", self.relax_fmax, 1e-4, 1.0, Bound::Inclusive)?;
        count_in("relax_max_steps", self.relax_max_steps, 1, STEPS_MAX)
    }
}

impl Validate for PdeNetTrainConfig {
    fn validate(&self) -> Result<(), FieldError> {
        let b = &self.burgers;
        positive("burgers.viscosity", b.viscosity)?;
        count_in("burgers.n", b.n, 8, 4096)?;
        count_in("burgers.zoom", b.zoom, 1, 64)?;
        positive("burgers.max_dt", b.max_dt)?;
        positive("burgers.dt", b.dt)?;
        count_in("burgers.frequency", b.frequency, 1, b.n / 2)?;
        non_negative("burgers.amplitude", b.amplitude)?;
        real_in("burgers.shift", b.shift, -1e6, 1e6, Bound::Inclusive)?;
        non_negative("burgers.noise", b.noise)?;
        count_in("batch", self.batch, 1, 65_536)?;
        non_negative("data_start_time", self.data_start_time)?;
        if self.blocks.is_empty() {
            return Err(rule(
                "blocks",
                "[]",
                "allowed a non-empty list of block counts",
            ));
        }
        for (k, &n) in self.blocks.iter().enumerate() {
            count_in(&format!("blocks[{k}]"), n, 0, 1000)?;
        }
        count_in("iterations", self.iterations, 1, STEPS_MAX)?;
        match self.lr_final {
            Some(last) => learning_rates(self.lr, last).map_err(rename_lr("lr"))?,
            None => real_in("lr", self.lr, 0.0, 1.0, Bound::Exclusive)?,
        }
        count_in("hidden_layers", self.hidden_layers, 1, 64)?;
        count_in("accuracy", self.accuracy, 1, 16)?;
        non_negative("symnet_sparsity", self.symnet_sparsity)?;
        non_negative("moment_sparsity", self.moment_sparsity)?;
        count_in("test_trajectories", self.test_trajectories, 1, SAMPLES_MAX)?;
        count_in("test_steps", self.test_steps, 1, 1_000_000)?;
        count_in("substeps", self.substeps, 1, 64)?;
        // The unrolled steps of the longest block each hold the two velocity fields and their
        // moment-filtered derivatives (at most 16 per field at the accuracies used).
        let steps = (self.blocks.iter().copied().max().unwrap_or(0) + 1) * self.substeps;
        let per_sample = (b.n * b.n) as f64 * 2.0 * 16.0 * steps as f64;
        let bytes = 4.0 * ACTIVATION_COPIES * self.batch as f64 * per_sample;
        if bytes > GRID_MEMORY_LIMIT {
            return Err(rule(
                "batch",
                self.batch,
                format!(
                    "training would need about {:.0} GiB ({steps} unrolled steps on a {}² grid); at most {:.0} GiB is allowed",
                    bytes / 1024f64.powi(3),
                    b.n,
                    GRID_MEMORY_LIMIT / 1024f64.powi(3)
                ),
            ));
        }
        Ok(())
    }
}
