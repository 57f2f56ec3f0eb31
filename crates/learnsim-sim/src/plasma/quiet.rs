//! Quiet start: particles placed by a deterministic low-discrepancy rule instead of random
//! draws, so the initial noise is far below the perturbation the physics tests measure (with
//! random loading of 10⁵ particles the thermal noise of mode 1 is within a factor of ten of a
//! 1 % Landau perturbation's field energy; see `mod.rs`).

/// The i-th point of the base-2 van der Corput sequence in (0, 1): the bits of i + 1 mirrored
/// about the binary point. Paired with evenly spaced positions it decorrelates velocity from
/// position (Birdsall & Langdon, §16).
pub fn van_der_corput(i: usize) -> f64 {
    let mut n = i + 1;
    let (mut value, mut scale) = (0.0, 0.5);
    while n > 0 {
        if n & 1 == 1 {
            value += scale;
        }
        n >>= 1;
        scale *= 0.5;
    }
    value
}

/// The i-th point of the van der Corput sequence in `base` (the digits of i + 1 mirrored
/// about the point): base 3 for a second velocity component, independent of base 2's.
pub fn van_der_corput_base(i: usize, base: usize) -> f64 {
    let mut n = i + 1;
    let (mut value, mut scale) = (0.0, 1.0 / base as f64);
    while n > 0 {
        value += (n % base) as f64 * scale;
        n /= base;
        scale /= base as f64;
    }
    value
}

/// The standard normal quantile Φ⁻¹(p), 0 < p < 1, by Acklam's rational approximation
/// (relative error below 1.2e-9), enough for a velocity distribution sampled by 10⁵ particles.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.024_25;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}
