//! Linear theory the PIC is judged against: the Vlasov dispersion relation of a Maxwellian
//! plasma (Landau damping) and the cold symmetric two-stream relation.

use num_complex::Complex64;

/// The plasma dispersion function Z(ζ) = i√π e^{−ζ²} − 2 D(ζ), D Dawson's function
/// D(ζ) = Σ_n (−2)^n ζ^{2n+1} / (2n+1)!!. The power series is entire, so this is Landau's
/// analytic continuation for every ζ (Im ζ < 0 included). Accurate to about 1e-11 for |ζ| ≤ 4,
/// where the series' terms peak near e^{|ζ|²} before cancelling.
pub fn plasma_z(zeta: Complex64) -> Complex64 {
    let minus_two_z2 = -2.0 * zeta * zeta;
    let mut term = zeta;
    let mut dawson = zeta;
    let mut n = 1.0_f64;
    loop {
        term *= minus_two_z2 / (2.0 * n + 1.0);
        dawson += term;
        if term.norm() < 1e-17 * dawson.norm().max(1e-300) && n > minus_two_z2.norm() || n > 500.0 {
            break;
        }
        n += 1.0;
    }
    Complex64::new(0.0, std::f64::consts::PI.sqrt()) * (-zeta * zeta).exp() - 2.0 * dawson
}

/// The root ω = ω_r + iγ of the electrostatic Vlasov dispersion relation of a Maxwellian
/// plasma, ε(ω, k) = 1 + [1 + ζ Z(ζ)] / (k λ_D)² = 0 with ζ = ω / (√2 k v_th), in units of
/// ω_p and λ_D (v_th = 1). Newton from the Bohm–Gross frequency and the weak-damping rate.
/// k = 0.5 gives 1.4156 − 0.1533i (tested against the published values).
pub fn landau_root(k: f64) -> Complex64 {
    let epsilon = |w: Complex64| -> (Complex64, Complex64) {
        let zeta = w / (std::f64::consts::SQRT_2 * k);
        let z = plasma_z(zeta);
        let one_plus = 1.0 + zeta * z;
        let e = 1.0 + one_plus / (k * k);
        // Z'(ζ) = −2(1 + ζZ); dε/dω = (Z + ζZ') / (k² √2 k).
        let de = (z - 2.0 * zeta * one_plus) / (k * k * std::f64::consts::SQRT_2 * k);
        (e, de)
    };
    let gamma0 = -(std::f64::consts::PI / 8.0).sqrt() / k.powi(3) * (-0.5 / (k * k) - 1.5).exp();
    let mut w = Complex64::new((1.0 + 3.0 * k * k).sqrt(), gamma0);
    for _ in 0..100 {
        let (e, de) = epsilon(w);
        let step = e / de;
        w -= step;
        if step.norm() < 1e-13 {
            break;
        }
    }
    w
}

/// Growth rate of the symmetric cold two-stream instability: two beams of density ½ each
/// (total ω_p = 1) at ±v0, mode k. The dispersion relation
/// 1 = ½/(ω − kv0)² + ½/(ω + kv0)² gives ω² = K² + ½ − ½√(1 + 8K²) with K = k·v0; the mode
/// grows at γ = √(−ω²) for K < 1 (largest 1/(2√2) at K = √(3/8)) and is stable otherwise (0).
pub fn two_stream_growth_rate(k_v0: f64) -> f64 {
    let k2 = k_v0 * k_v0;
    let w2 = k2 + 0.5 - 0.5 * (1.0 + 8.0 * k2).sqrt();
    if w2 < 0.0 { (-w2).sqrt() } else { 0.0 }
}
