//! Rates measured from a run's mode power P(t) = |E_m(t)|², the quantities the case's bars
//! compare with theory and between solvers.

/// A least-squares line y = slope·t + intercept.
fn line(t: &[f64], y: &[f64]) -> (f64, f64) {
    let n = t.len() as f64;
    let (mt, my) = (t.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (a, b) in t.iter().zip(y) {
        sxy += (a - mt) * (b - my);
        sxx += (a - mt) * (a - mt);
    }
    let slope = sxy / sxx;
    (slope, my - slope * mt)
}

/// An exponential growth phase: P ∝ e^{2γt} over [t_start, t_end].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowthFit {
    /// Growth rate γ of the field amplitude (half the slope of ln P).
    pub rate: f64,
    /// ln P at t = 0 of the fitted line (to draw it).
    pub intercept: f64,
    /// First fitted time.
    pub t_start: f64,
    /// Last fitted time.
    pub t_end: f64,
}

/// The linear growth of an unstable mode: ln P fitted over the window from the first time P
/// exceeds `rise`·P(0) (the growing root then dominates the others the perturbation excited)
/// to the first time it exceeds `below_peak`·max P (before trapping saturates it). `None` if the
/// window holds fewer than 5 samples (no clean growth).
pub fn growth_rate(times: &[f64], power: &[f64], rise: f64, below_peak: f64) -> Option<GrowthFit> {
    let p0 = *power.first()?;
    let peak = power.iter().copied().fold(0.0, f64::max);
    let start = power.iter().position(|&p| p >= rise * p0)?;
    let end = start
        + power[start..]
            .iter()
            .position(|&p| p >= below_peak * peak)?;
    if end < start + 5 {
        return None;
    }
    let ln: Vec<f64> = power[start..=end].iter().map(|p| p.ln()).collect();
    let (slope, intercept) = line(&times[start..=end], &ln);
    Some(GrowthFit {
        rate: 0.5 * slope,
        intercept,
        t_start: times[start],
        t_end: times[end],
    })
}

/// A damped oscillation: the peaks of P decay as e^{2γt}, and P oscillates at 2ω_r.
#[derive(Debug, Clone, PartialEq)]
pub struct DampingFit {
    /// Damping rate γ (negative) of the field amplitude.
    pub rate: f64,
    /// Real frequency ω_r from the mean spacing of the peaks (π/ω_r).
    pub frequency: f64,
    /// ln P at t = 0 of the fitted envelope.
    pub intercept: f64,
    /// (t, P) of the peaks used.
    pub peaks: Vec<(f64, f64)>,
}

/// Half-width (time units) of the window a peak of [`damping_rate`] must dominate.
const PEAK_WINDOW: f64 = 0.7;

/// Landau damping from the maxima of P with `t_min` ≤ t ≤ `t_max`, each the largest sample
/// within ±0.7 time units (and refined by a parabola through its three samples): γ is half the slope of ln P through them. `None` with
/// fewer than 3 peaks.
pub fn damping_rate(times: &[f64], power: &[f64], t_min: f64, t_max: f64) -> Option<DampingFit> {
    let mut peaks = Vec::new();
    // A peak is the largest sample within ±0.7 time units: the field's power oscillates with
    // period π/ω_r ≈ 2.2–2.5 (ω_r ≈ 1.3–1.4), so noise wiggles near its zeros are not peaks.
    let dt = times.get(1).map_or(1.0, |t1| t1 - times[0]);
    let half = ((PEAK_WINDOW / dt).round() as usize).max(1);
    for i in 1..power.len().saturating_sub(1) {
        let (a, b, c) = (power[i - 1], power[i], power[i + 1]);
        let window = &power[i.saturating_sub(half)..(i + half + 1).min(power.len())];
        let highest = window.iter().all(|&p| p <= b);
        if b > a && b >= c && highest && times[i] >= t_min && times[i] <= t_max {
            let (la, lb, lc) = (a.ln(), b.ln(), c.ln());
            let curvature = la - 2.0 * lb + lc;
            let shift = if curvature < 0.0 {
                (0.5 * (la - lc) / curvature).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            let dt = times[i + 1] - times[i];
            let ln_peak = lb - 0.25 * (la - lc) * shift;
            peaks.push((times[i] + shift * dt, ln_peak.exp()));
        }
    }
    if peaks.len() < 3 {
        return None;
    }
    let t: Vec<f64> = peaks.iter().map(|p| p.0).collect();
    let ln: Vec<f64> = peaks.iter().map(|p| p.1.ln()).collect();
    let (slope, intercept) = line(&t, &ln);
    let spacing = (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64;
    Some(DampingFit {
        rate: 0.5 * slope,
        frequency: std::f64::consts::PI / spacing,
        intercept,
        peaks,
    })
}
