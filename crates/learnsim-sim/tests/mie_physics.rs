//! The multilayer Mie solver against independent codes and analytic limits.
//!
//! Fixture `fixtures/mie_reference.json` is made by `fixtures/mie_reference.py`: homogeneous
//! spheres from miepython (Bohren–Huffman recurrences), layered silica/TiO₂ spheres from
//! scattnlay (Peña–Pal), neither sharing code or method with ours.

use learnsim_sim::mie::{
    EPS_SILICA, EPS_WATER, ScatterRecipe, efficiencies, eps_tio2, multipole_order, scatter_dataset,
};
use num_complex::Complex64;
use serde_json::Value;

fn fixture() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mie_reference.json"
    ))
    .expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} missing"))
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Both series are summed in double precision to convergence (40 orders is past the
/// Wiscombe count x + 4x^{1/3} + 2 ≈ 16 of the largest sphere here, and terms then fall
/// faster than geometrically); the codes differ only in round-off of recurrences a few dozen
/// terms long, ~1e-13 relative. 1e-9 leaves room and still catches any wrong factor or sign.
#[test]
fn homogeneous_spheres_match_miepython() {
    for case in fixture()["single"].as_array().expect("single") {
        let eps = Complex64::new(f(case, "eps_re"), f(case, "eps_im"));
        let lambda = f(case, "wavelength_nm");
        let e = efficiencies(&[f(case, "radius_nm")], &[eps], EPS_WATER, lambda, 40);
        assert!(
            relative(e.scattering, f(case, "q_sca")) < 1e-9,
            "{case}: Q_sca {}",
            e.scattering
        );
        assert!(
            relative(e.extinction(), f(case, "q_ext")) < 1e-9,
            "{case}: Q_ext {}",
            e.extinction()
        );
    }
}

/// scattnlay solves the layered problem by another method (its own recurrences for the layered
/// coefficients); at its own converged series length the two agree like the homogeneous case
/// (1e-9). At the recipe's order ours must then differ from that converged value by the
/// truncation only, which for these sizes (x ≤ 5.2, order 9 or 4) is below 1e-4 of it.
#[test]
fn layered_spheres_match_scattnlay() {
    let recipe = ScatterRecipe::five_layers();
    for case in fixture()["layered"].as_array().expect("layered") {
        let thicknesses: Vec<f64> = case["thicknesses_nm"]
            .as_array()
            .expect("thicknesses")
            .iter()
            .map(|t| t.as_f64().expect("number"))
            .collect();
        let lambda = f(case, "wavelength_nm");
        let order = f(case, "order") as usize;
        assert_eq!(order, multipole_order(thicknesses.len()));
        let one_point = ScatterRecipe {
            layers: thicknesses.len(),
            wavelength_min_nm: lambda,
            wavelength_max_nm: lambda + 1.0,
            wavelengths: 2,
            ..recipe.clone()
        };
        let q = one_point.spectrum(&thicknesses)[0];
        assert!(
            relative(q, f(case, "q_sca_full")) < 1e-4,
            "{case}: ours {q}"
        );
        let radii: Vec<f64> = thicknesses
            .iter()
            .scan(0.0, |r, t| {
                *r += t;
                Some(*r)
            })
            .collect();
        let eps: Vec<Complex64> = (0..radii.len())
            .map(|i| {
                Complex64::new(
                    if i % 2 == 0 {
                        EPS_SILICA
                    } else {
                        eps_tio2(lambda)
                    },
                    0.0,
                )
            })
            .collect();
        let full = efficiencies(
            &radii,
            &eps,
            EPS_WATER,
            lambda,
            f(case, "full_order") as usize,
        );
        assert!(
            relative(full.scattering, f(case, "q_sca_full")) < 1e-9,
            "{case}: ours {}",
            full.scattering
        );
    }
}

/// Rayleigh: Q_sca → (8/3) x⁴ |(m²−1)/(m²+2)|² as x → 0, with a relative correction of
/// order x² (the next term of the small-x expansion). At x ≈ 0.013 that is ~2e-4 times a
/// coefficient of order one, so 2e-3 is a safe bound that a wrong power or prefactor breaks.
#[test]
fn small_sphere_follows_rayleigh() {
    let (radius, lambda, eps) = (1.0, 800.0, 5.9);
    let x = 2.0 * std::f64::consts::PI * EPS_WATER.sqrt() * radius / lambda;
    let m2 = eps / EPS_WATER;
    let rayleigh = 8.0 / 3.0 * x.powi(4) * ((m2 - 1.0) / (m2 + 2.0)).powi(2);
    let q = efficiencies(&[radius], &[Complex64::new(eps, 0.0)], EPS_WATER, lambda, 4);
    assert!(
        relative(q.scattering, rayleigh) < 2e-3,
        "{} vs {rayleigh}",
        q.scattering
    );
}

/// Lossless layers absorb nothing (|R| = 1 up to round-off of products of a few 2×2
/// matrices, ~1e-14 of the scattering); absorbing ones absorb a positive amount.
#[test]
fn energy_is_conserved_or_absorbed() {
    let radii = [40.0, 90.0, 140.0];
    let lossless = [2.04, 6.0, 2.04].map(|e| Complex64::new(e, 0.0));
    for lambda in [400.0, 555.0, 800.0] {
        let q = efficiencies(&radii, &lossless, EPS_WATER, lambda, 15);
        assert!(q.scattering > 0.0);
        assert!(q.absorption.abs() < 1e-12 * q.scattering, "{q:?}");
        let lossy = [
            Complex64::new(2.04, 0.0),
            Complex64::new(6.0, 0.8),
            Complex64::new(2.04, 0.05),
        ];
        let q = efficiencies(&radii, &lossy, EPS_WATER, lambda, 15);
        assert!(q.scattering > 0.0 && q.absorption > 0.0, "{q:?}");
        assert!(q.extinction() >= q.scattering);
    }
}

/// An interface between two equal media is the identity (up to the scalar Wronskian that
/// cancels in t), so a homogeneous sphere cut into shells of one material scatters as the
/// whole sphere. Round-off of the extra matrix products only: 1e-10.
#[test]
fn shells_of_one_material_scatter_as_one_sphere() {
    let eps = Complex64::new(eps_tio2(500.0), 0.0);
    let whole = efficiencies(&[150.0], &[eps], EPS_WATER, 500.0, 12);
    let cut = efficiencies(&[30.0, 75.0, 110.0, 150.0], &[eps; 4], EPS_WATER, 500.0, 12);
    assert!(relative(cut.scattering, whole.scattering) < 1e-10);
    // And a silica core in a silica shell equals a silica sphere (the other material).
    let silica = Complex64::new(EPS_SILICA, 0.0);
    let whole = efficiencies(&[120.0], &[silica], EPS_WATER, 700.0, 12);
    let cut = efficiencies(&[60.0, 120.0], &[silica; 2], EPS_WATER, 700.0, 12);
    assert!(relative(cut.scattering, whole.scattering) < 1e-10);
}

/// Same seeds, same bytes; thicknesses inside the range on the 0.1 nm grid; spectra positive.
#[test]
fn dataset_is_seeded_and_inside_the_recipe() {
    let recipe = ScatterRecipe::five_layers();
    let a = scatter_dataset(&recipe, 16, |i| 7 + i as u64).expect("solves");
    let b = scatter_dataset(&recipe, 16, |i| 7 + i as u64).expect("solves");
    assert_eq!(a, b);
    let c = scatter_dataset(&recipe, 16, |i| 8 + i as u64).expect("solves");
    assert_ne!(a, c);
    for s in &a {
        assert_eq!(s.thicknesses_nm.len(), 5);
        assert_eq!(s.spectrum.len(), 201);
        for t in &s.thicknesses_nm {
            assert!((30.0..=70.0).contains(t));
            assert!((t * 10.0 - (t * 10.0).round()).abs() < 1e-9, "{t}");
        }
        assert!(s.spectrum.iter().all(|q| *q > 0.0 && q.is_finite()));
    }
    let bad = ScatterRecipe {
        wavelengths: 1,
        ..recipe
    };
    let err = scatter_dataset(&bad, 1, |_| 0).expect_err("one wavelength is not a grid");
    assert!(err.to_string().contains("wavelengths"), "{err}");
}
