//! Pearson correlation: hand values, invariances and the degenerate cases.

use learnsim_eval::pearson;

#[test]
fn pearson_matches_hand_values_and_is_invariant_to_affine_maps() {
    // x = 1..5, y = (2, 4, 5, 4, 5): cov = 6/5... by hand r = 6 / √(10 · 6) = 0.7745967.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    let y = [2.0, 4.0, 5.0, 4.0, 5.0];
    assert!((pearson(&x, &y) - 6.0 / 60f64.sqrt()).abs() < 1e-12);
    // Perfect linear relations give ±1; positive affine maps leave r unchanged.
    let line: Vec<f64> = x.iter().map(|v| 3.0 * v - 7.0).collect();
    assert!((pearson(&x, &line) - 1.0).abs() < 1e-12);
    let flipped: Vec<f64> = x.iter().map(|v| -0.5 * v).collect();
    assert!((pearson(&x, &flipped) + 1.0).abs() < 1e-12);
    let scaled: Vec<f64> = y.iter().map(|v| 10.0 * v + 1.0).collect();
    assert!((pearson(&x, &scaled) - pearson(&x, &y)).abs() < 1e-12);
}

#[test]
fn pearson_of_a_constant_or_non_finite_input_is_nan() {
    assert!(pearson(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]).is_nan());
    assert!(pearson(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0]).is_nan());
    assert!(pearson(&[], &[]).is_nan());
}
