//! The plasma case's figures: field energy against time on a log axis with linear theory's
//! rates, and phase-space snapshots of the truth and the learned-solver PIC.

use super::{PlasmaConfig, PlasmaRun, Setup, Solver};
use crate::plots::register_font;
use anyhow::{Result, anyhow};
use learnsim_sim::plasma::{PicHistory, Scenario, damping_rate, growth_rate};
use plotters::prelude::*;
use std::path::Path;

/// Palette: the truth, the learned solvers, then the baselines; theory in black.
const COLOURS: [RGBColor; 5] = [
    RGBColor(0, 0, 0),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// One curve of [`energy_history`].
pub struct Curve<'a> {
    /// Legend text.
    pub label: &'a str,
    /// (t, field energy) points.
    pub points: Vec<(f64, f64)>,
}

/// Linear theory's rate as a straight line on the log axis, drawn dashed.
pub struct TheoryLine {
    /// Legend text.
    pub label: String,
    /// (t, field energy) end points.
    pub points: Vec<(f64, f64)>,
}

/// One panel of [`energy_history`].
pub struct EnergyPanel<'a> {
    /// Caption.
    pub title: String,
    /// The runs, truth first.
    pub curves: Vec<Curve<'a>>,
    /// Theory's line, when the truth's run could be fitted.
    pub theory: Option<TheoryLine>,
}

/// A field energy against time, log y (decades fitted to the positive values), one panel each.
pub fn energy_history(path: &Path, panels: &[EnergyPanel<'_>]) -> Result<()> {
    register_font();
    let e = |x: String| anyhow!("cannot draw {}: {x}", path.display());
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let areas = root.split_evenly((1, panels.len()));
    for (area, panel) in areas.iter().zip(panels) {
        let (title, curves) = (&panel.title, &panel.curves);
        let positive: Vec<(f64, f64)> = curves
            .iter()
            .flat_map(|c| c.points.iter().copied())
            .filter(|p| p.1 > 0.0 && p.1.is_finite())
            .collect();
        if positive.is_empty() {
            return Err(anyhow!("{title}: no positive field energy to plot"));
        }
        let t_max = positive.iter().map(|p| p.0).fold(0.0, f64::max);
        let lo = positive.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = positive.iter().map(|p| p.1).fold(0.0, f64::max);
        let (lo, hi) = (
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil()),
        );
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..t_max, (lo..hi).log_scale())
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("time (1/ω_p)")
            .y_desc("field energy of the perturbed mode, L^D·|E_m|² (normalised)")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(|x| e(x.to_string()))?;
        for (k, c) in curves.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            let width = if k == 0 { 3 } else { 2 };
            let pts: Vec<(f64, f64)> = c
                .points
                .iter()
                .copied()
                .filter(|p| p.1 > 0.0 && p.1.is_finite())
                .map(|(t, v)| (t, v.clamp(lo, hi)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(width)))
                .map_err(|x| e(x.to_string()))?
                .label(c.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(width))
                });
        }
        if let Some(TheoryLine { label, points }) = &panel.theory {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .copied()
                .filter(|p| p.1 >= lo && p.1 <= hi)
                .collect();
            chart
                .draw_series(DashedLineSeries::new(pts, 8, 6, BLACK.stroke_width(2)))
                .map_err(|x| e(x.to_string()))?
                .label(label.as_str())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|x| e(x.to_string()))?;
    }
    root.present().map_err(|x| e(x.to_string()))?;
    Ok(())
}

/// The particles at one time.
pub struct Snapshot<'a> {
    /// Time.
    pub time: f64,
    /// Positions.
    pub x: &'a [f32],
    /// Velocities.
    pub v: &'a [f32],
}

/// One row of [`phase_space`]: a run's snapshots.
pub struct PhaseRow<'a> {
    /// Which run.
    pub label: &'a str,
    /// Its snapshots, one per column.
    pub snapshots: Vec<Snapshot<'a>>,
}

/// Phase space (x, v): one row per run, one column per time. Every `stride`-th particle is
/// drawn.
pub fn phase_space(path: &Path, length: f64, rows: &[PhaseRow<'_>], stride: usize) -> Result<()> {
    register_font();
    let e = |x: String| anyhow!("cannot draw {}: {x}", path.display());
    let columns = rows.first().map_or(0, |r| r.snapshots.len());
    if columns == 0 {
        return Err(anyhow!("no phase-space snapshots to draw"));
    }
    let v_max = rows
        .iter()
        .flat_map(|r| r.snapshots.iter())
        .flat_map(|s| s.v.iter())
        .map(|v| f64::from(v.abs()))
        .fold(0.0, f64::max)
        * 1.05;
    let root = BitMapBackend::new(path, (420 * columns as u32, 380 * rows.len() as u32))
        .into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let areas = root.split_evenly((rows.len(), columns));
    for (r, row) in rows.iter().enumerate() {
        for (c, Snapshot { time, x, v }) in row.snapshots.iter().enumerate() {
            let label = row.label;
            let area = &areas[r * columns + c];
            let mut chart = ChartBuilder::on(area)
                .caption(format!("{label}, t = {time:.0}"), ("sans-serif", 18))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(0.0..length, -v_max..v_max)
                .map_err(|x| e(x.to_string()))?;
            chart
                .configure_mesh()
                .x_desc("x (λ_D units)")
                .y_desc("v_x (λ_D ω_p)")
                .draw()
                .map_err(|x| e(x.to_string()))?;
            let colour = COLOURS[1 + r % (COLOURS.len() - 1)];
            chart
                .draw_series(
                    x.iter()
                        .zip(v.iter())
                        .step_by(stride.max(1))
                        .map(|(&a, &b)| Pixel::new((f64::from(a), f64::from(b)), colour.mix(0.5))),
                )
                .map_err(|x| e(x.to_string()))?;
        }
    }
    root.present().map_err(|x| e(x.to_string()))?;
    Ok(())
}

/// field_energy.png (two-stream test 0, Landau test 1) and phase_space.png (two-stream test 0,
/// truth and the primary learned solver).
pub(super) fn draw(
    setup: &Setup<PlasmaConfig>,
    test: &[PlasmaRun],
    runs: &[Vec<(Solver, PicHistory)>],
) -> Result<Vec<(&'static str, String)>> {
    let config = &setup.config;
    let mut panels = Vec::new();
    for (index, truth) in test.iter().enumerate().take(2) {
        let histories = &runs[index];
        // The perturbed mode's field energy, L^D·|E_m|²: what the rates are fitted to (the
        // total field energy of a 2D run also holds the transverse modes' noise).
        let volume = histories[0].1.length.powi(config.plasma.dimensions as i32);
        let curves: Vec<Curve<'_>> = histories
            .iter()
            .map(|(solver, h)| Curve {
                label: solver.label(),
                points: h
                    .times()
                    .into_iter()
                    .zip(h.mode_power.iter().map(|p| p * volume))
                    .collect(),
            })
            .collect();
        let fft = &histories[0].1;
        let t = fft.times();
        let rate = truth.scenario.theory_rate();
        // Theory's line through the FFT run's own fit (its offset), over the fitted window.
        let theory = match truth.scenario {
            Scenario::TwoStream { v0, k, .. } => growth_rate(
                &t,
                &fft.mode_power,
                config.growth_fit[0],
                config.growth_fit[1],
            )
            .map(|fit| {
                let line = [fit.t_start - 5.0, fit.t_end + 5.0].map(|tt| {
                    (
                        tt.max(0.0),
                        volume * (fit.intercept + 2.0 * rate * tt).exp(),
                    )
                });
                TheoryLine {
                    label: format!("cold-beam theory γ = {rate:.3} (k·v0 = {:.2})", k * v0),
                    points: line.to_vec(),
                }
            }),
            Scenario::Landau { k, .. } => damping_rate(
                &t,
                &fft.mode_power,
                config.landau_fit[0],
                config.landau_fit[1],
            )
            .map(|fit| {
                let line = [0.0, config.landau_fit[1] + 5.0]
                    .map(|tt| (tt, volume * (fit.intercept + 2.0 * rate * tt).exp()));
                TheoryLine {
                    label: format!("Landau theory γ = {rate:.4} (k λ_D = {k:.2})"),
                    points: line.to_vec(),
                }
            }),
        };
        let title = match truth.scenario {
            Scenario::TwoStream { v0, mode, .. } => {
                format!("two-stream, test run {index} (v0 = {v0:.2}, mode {mode})")
            }
            Scenario::Landau { amplitude, .. } => {
                format!("Landau damping, test run {index} (α = {amplitude:.3})")
            }
        };
        panels.push(EnergyPanel {
            title,
            curves,
            theory,
        });
    }
    energy_history(&setup.out.join("field_energy.png"), &panels)?;
    let mut figures = vec![("field energy against time", "field_energy.png".to_string())];
    let histories = &runs[0];
    let learned = &histories
        .iter()
        .find(|(s, _)| *s == Solver::Learned(config.field_solver))
        .expect("the primary solver ran")
        .1;
    let snaps = |h: &PicHistory| -> Vec<(f64, Vec<f32>, Vec<f32>)> {
        h.phase_space
            .iter()
            .map(|p| (p.step as f64 * config.plasma.dt, p.x.clone(), p.v.clone()))
            .collect()
    };
    let (truth_snaps, learned_snaps) = (snaps(&histories[0].1), snaps(learned));
    if !truth_snaps.is_empty() && truth_snaps.len() == learned_snaps.len() {
        let learned_label = format!("learned {}", config.field_solver.name());
        phase_space(
            &setup.out.join("phase_space.png"),
            histories[0].1.length,
            &[
                PhaseRow {
                    label: "FFT (truth)",
                    snapshots: view(&truth_snaps),
                },
                PhaseRow {
                    label: learned_label.as_str(),
                    snapshots: view(&learned_snaps),
                },
            ],
            // Odd, so both beams (alternate particles) are drawn.
            (config.plasma.particles / 20_000).max(1) | 1,
        )?;
        figures.push((
            "phase space of two-stream test run 0",
            "phase_space.png".to_string(),
        ));
    }
    Ok(figures)
}

/// Borrowed views of owned (time, x, v) snapshots.
pub(super) fn view(s: &[(f64, Vec<f32>, Vec<f32>)]) -> Vec<Snapshot<'_>> {
    s.iter()
        .map(|(time, x, v)| Snapshot {
            time: *time,
            x: x.as_slice(),
            v: v.as_slice(),
        })
        .collect()
}
