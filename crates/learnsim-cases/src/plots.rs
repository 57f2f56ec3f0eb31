//! PNG plots of a run (plotters): error against horizon for the model and the baselines, and
//! the training and validation loss curves.

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans, shipped with the repository so that plots need no system fonts.
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font as `sans-serif` once per process.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the bundled DejaVu Sans is a valid font"));
    });
}

fn err(path: &Path) -> impl Fn(String) -> anyhow::Error + '_ {
    move |e| anyhow!("cannot draw {}: {e}", path.display())
}

/// Palette shared by plots and renders: the model first, then the baselines.
pub const SERIES_COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(127, 127, 127),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// What an `error_vs_horizon.png` metric is, for its y axis: the quantity and its unit.
fn metric_axis(metric: &str) -> String {
    match metric {
        "mse" => "position MSE, summed over axes (length², log)".into(),
        "vel_mse" => "velocity MSE, summed over axes ((length/time)², log)".into(),
        "mae" => "position MAE, summed over axes (length, log)".into(),
        other => format!("{other} (log)"),
    }
}

/// `error_vs_horizon.png`: `mse_H` against H on log–log axes fitted to the horizons and values
/// present, one line per stepper, the legend beside the plot (never over the data), the axes
/// named with their units.
///
/// `series`: (label, metrics object) pairs; horizons missing from a metrics object are skipped.
pub fn error_vs_horizon(path: &Path, series: &[(&str, &Value)], metric: &str) -> Result<()> {
    register_font();
    let e = err(path);
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, m)| {
            learnsim_eval::HORIZONS
                .iter()
                .filter_map(|&h| {
                    let v = m[format!("{metric}_{h}")].as_f64()?;
                    (v > 0.0 && v.is_finite()).then_some((h as f64, v))
                })
                .collect()
        })
        .collect();
    let all: Vec<f64> = points.iter().flatten().map(|p| p.1).collect();
    if all.is_empty() {
        return Err(anyhow!("no positive `{metric}_H` values to plot"));
    }
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let hi = all.iter().copied().fold(0.0, f64::max) * 2.0;
    let (h_lo, h_hi) = points
        .iter()
        .flatten()
        .fold((f64::INFINITY, 0.0f64), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let (plot_area, legend_area) = root.split_horizontally(720);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(
            format!("{metric} against rollout horizon"),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(
            // Labels at the horizons present, not at every integer of each decade (1 … 9, 10
            // drew over each other).
            (h_lo / 1.25..h_hi * 1.25)
                .log_scale()
                .with_key_points(horizons_present(&points)),
            (lo..hi).log_scale(),
        )
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("predicted steps H (log)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc(metric_axis(metric))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    let legend_style = ("sans-serif", 15).into_font().color(&BLACK);
    // The model (first) is drawn last, on top of a baseline it coincides with; the legend
    // keeps the series' order.
    for (k, ((label, _), pts)) in series.iter().zip(&points).enumerate().rev() {
        let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
        chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled())))
            .map_err(|x| e(x.to_string()))?;
        let y = 60 + 26 * i32::try_from(k).unwrap_or(0);
        legend_area
            .draw(&PathElement::new(
                vec![(4, y), (28, y)],
                colour.stroke_width(3),
            ))
            .map_err(|x| e(x.to_string()))?;
        legend_area
            .draw(&Text::new(*label, (34, y - 8), legend_style.clone()))
            .map_err(|x| e(x.to_string()))?;
    }
    root.present().map_err(|x| e(x.to_string()))?;
    Ok(())
}

/// The distinct horizons of `points`, ascending.
fn horizons_present(points: &[Vec<(f64, f64)>]) -> Vec<f64> {
    let mut h: Vec<f64> = points.iter().flatten().map(|p| p.0).collect();
    h.sort_by(f64::total_cmp);
    h.dedup();
    h
}

/// What a run's `loss.png` shows: every case minimises its own loss and checks it against its
/// own validation quantity, so each names them.
#[derive(Debug, Clone, Copy)]
pub struct LossFigure<'a> {
    /// Caption: the loss being minimised.
    pub title: &'a str,
    /// Legend of the training curve (", N-step mean" is appended).
    pub train: &'a str,
    /// Legend of the second curve: a validation loss or error, or another periodic check.
    pub check: &'a str,
}

/// `loss.png`: training loss (a 50-step running mean over the noisy per-step values) and the
/// periodic check `figure.check` names, against step, log y.
pub fn loss_curves(
    path: &Path,
    train: &[(usize, f32)],
    valid: &[(usize, f32)],
    figure: LossFigure,
) -> Result<()> {
    register_font();
    let e = err(path);
    let window = 50usize;
    let smooth: Vec<(f64, f64)> = train
        .iter()
        .enumerate()
        .map(|(k, &(step, _))| {
            let from = k.saturating_sub(window - 1);
            let slice = &train[from..=k];
            let mean = slice.iter().map(|p| f64::from(p.1)).sum::<f64>() / slice.len() as f64;
            (step as f64, mean)
        })
        .collect();
    let valid: Vec<(f64, f64)> = valid
        .iter()
        .map(|&(s, l)| (s as f64, f64::from(l)))
        .collect();
    let values: Vec<f64> = smooth
        .iter()
        .chain(&valid)
        .map(|p| p.1)
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    if values.is_empty() {
        return Err(anyhow!("no positive loss values to plot"));
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
    let hi = values.iter().copied().fold(0.0, f64::max) * 1.5;
    let last = smooth.iter().chain(&valid).map(|p| p.0).fold(1.0, f64::max);
    let root = BitMapBackend::new(path, (800, 590)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let (plot_area, legend_area) = root.split_vertically(550);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(figure.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..last, (lo..hi).log_scale())
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("training step")
        .y_desc("value, as the caption says (log)")
        .y_label_formatter(&|v| format!("{v:.1e}"))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    let (a, b) = (SERIES_COLOURS[0], SERIES_COLOURS[2]);
    chart
        .draw_series(LineSeries::new(smooth, a.stroke_width(2)))
        .map_err(|x| e(x.to_string()))?;
    chart
        .draw_series(LineSeries::new(valid.clone(), b.stroke_width(2)))
        .map_err(|x| e(x.to_string()))?;
    chart
        .draw_series(valid.iter().map(|&p| Circle::new(p, 4, b.filled())))
        .map_err(|x| e(x.to_string()))?;
    // The legend under the plot, never over the curves.
    let style = ("sans-serif", 15).into_font().color(&BLACK);
    for (x, colour, text) in [
        (20, a, format!("{}, {window}-step mean", figure.train)),
        (420, b, figure.check.to_string()),
    ] {
        legend_area
            .draw(&PathElement::new(
                vec![(x, 18), (x + 24, 18)],
                colour.stroke_width(3),
            ))
            .map_err(|x| e(x.to_string()))?;
        legend_area
            .draw(&Text::new(text, (x + 30, 10), style.clone()))
            .map_err(|x| e(x.to_string()))?;
    }
    root.present().map_err(|x| e(x.to_string()))?;
    Ok(())
}

/// One set of points of an [`xy_plot`]: label, points, drawn as a line or as dots.
#[derive(Debug)]
pub struct XySeries<'a> {
    /// Legend text.
    pub label: &'a str,
    /// (x, y) points.
    pub points: &'a [(f64, f64)],
    /// A line through the points (else one dot per point).
    pub line: bool,
}

/// A plain x–y chart on linear axes fitted to the finite points: lines (e.g. a relaxation
/// curve against log₁₀ t) or dots (e.g. predicted against true values), in the palette's order.
pub fn xy_plot(
    path: &Path,
    caption: &str,
    (x_desc, y_desc): (&str, &str),
    series: &[XySeries<'_>],
) -> Result<()> {
    register_font();
    let e = err(path);
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    if all.is_empty() {
        return Err(anyhow!("no finite points to plot"));
    }
    let range = |v: Vec<f64>| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = 0.05 * (hi - lo).max(1e-9);
        (lo - pad)..(hi + pad)
    };
    let xs = range(all.iter().map(|p| p.0).collect());
    let ys = range(all.iter().map(|p| p.1).collect());
    let root = BitMapBackend::new(path, (800, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(xs, ys)
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (k, s) in series.iter().enumerate() {
        let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
        // Non-finite points are left out (a NaN would send the line off the chart).
        let finite: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        if s.line {
            chart
                .draw_series(LineSeries::new(finite, colour.stroke_width(2)))
                .map_err(|x| e(x.to_string()))?
                .label(s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        } else {
            chart
                .draw_series(
                    finite
                        .iter()
                        .map(|&p| Circle::new(p, 2, colour.mix(0.6).filled())),
                )
                .map_err(|x| e(x.to_string()))?
                .label(s.label)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))?;
    Ok(())
}

/// Side-by-side images of square 2D fields (`n × n` values each, row-major, first index
/// across), on one shared diverging colour scale (blue – white – red, symmetric about 0) shown
/// by a colour bar at the right with its limits.
pub fn field_panels(path: &Path, caption: &str, panels: &[(&str, &[f64])], n: usize) -> Result<()> {
    register_font();
    let e = err(path);
    if panels.is_empty() || panels.iter().any(|p| p.1.len() != n * n) {
        return Err(anyhow!("field panels need {n}×{n} values each"));
    }
    let limit = panels
        .iter()
        .flat_map(|p| p.1.iter())
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-12);
    let side = 300u32;
    let bar_width = 120u32;
    let width = side * panels.len() as u32 + 20 + bar_width;
    let root = BitMapBackend::new(path, (width, side + 80)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let root = root
        .titled(caption, ("sans-serif", 20))
        .map_err(|x| e(x.to_string()))?;
    let (fields, bar) = root.split_horizontally(width - bar_width);
    let areas = fields.split_evenly((1, panels.len()));
    let colour = |v: f64| {
        let t = (v / limit).clamp(-1.0, 1.0);
        let fade = |c: f64| (255.0 * (1.0 - t.abs()) + c * t.abs()) as u8;
        if t >= 0.0 {
            RGBColor(fade(178.0), fade(24.0), fade(43.0))
        } else {
            RGBColor(fade(33.0), fade(102.0), fade(172.0))
        }
    };
    for (area, (label, values)) in areas.iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(*label, ("sans-serif", 16))
            .margin(8)
            .build_cartesian_2d(0..n, 0..n)
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series((0..n).flat_map(|i| {
                (0..n).map(move |j| {
                    Rectangle::new([(i, j), (i + 1, j + 1)], colour(values[i * n + j]).filled())
                })
            }))
            .map_err(|x| e(x.to_string()))?;
    }
    // The colour bar: the scale from −limit (bottom) to +limit (top), its ends and 0 labelled.
    let mut scale = ChartBuilder::on(&bar)
        .margin_top(34)
        .margin_bottom(10)
        .margin_left(8)
        .set_label_area_size(LabelAreaPosition::Right, 66)
        .build_cartesian_2d(0.0..1.0, -limit..limit)
        .map_err(|x| e(x.to_string()))?;
    scale
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_label_style(("sans-serif", 13))
        .y_label_formatter(&|v| format!("{v:.1e}"))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    let steps = 100;
    scale
        .draw_series((0..steps).map(|k| {
            let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
            let (lo, hi) = (-limit + 2.0 * limit * a, -limit + 2.0 * limit * b);
            Rectangle::new([(0.0, lo), (1.0, hi)], colour((lo + hi) / 2.0).filled())
        }))
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A curve with a NaN inside draws its finite points only: the chart is fitted to them and
    /// nothing is drawn off it.
    #[test]
    fn non_finite_points_are_left_out_of_lines_and_dots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xy.png");
        let line = [
            (1.0, 0.1),
            (2.0, f64::NAN),
            (3.0, 0.3),
            (4.0, f64::INFINITY),
        ];
        let dots = [(1.0, 0.2), (2.0, f64::NAN)];
        xy_plot(
            &path,
            "non-finite points",
            ("x", "y"),
            &[
                XySeries {
                    label: "line",
                    points: &line,
                    line: true,
                },
                XySeries {
                    label: "dots",
                    points: &dots,
                    line: false,
                },
            ],
        )
        .unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    }
}
