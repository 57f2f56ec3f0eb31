//! ScatterNet training and inverse design on real Mie spectra.

use learnsim_models::default_training_device;
use learnsim_sim::mie::scatter_dataset;
use learnsim_train::nanophotonics::{
    ScatterTrainConfig, mean_relative_error, relative_l2, train_scatter_net,
};

fn config() -> ScatterTrainConfig {
    let mut c: ScatterTrainConfig = crate::common::shipped("nanophotonics");
    c.train_samples = 800;
    c.valid_samples = 100;
    c.epochs = 60;
    c.lr = 2e-3;
    c.validate_every = 5;
    c
}

/// A short training beats the mean spectrum on held-out particles, the kept weights are the
/// best validated ones, and inverse design on targets the network can reach exactly (its own
/// predictions at known thicknesses) drives the network loss far below that of the starts.
#[test]
fn training_learns_and_design_reaches_reachable_targets() {
    let c = config();
    let device = default_training_device();
    let data = scatter_dataset(&c.optics, 1000, |i| 100 + i as u64).expect("solves");
    let (train, rest) = data.split_at(800);
    let (valid, test) = rest.split_at(100);
    let trained =
        train_scatter_net(&c, train, valid, &device, None, &mut |_, _| {}).expect("trains");
    let best = trained
        .valid_error
        .iter()
        .map(|p| p.loss)
        .fold(f32::INFINITY, f32::min);
    let kept = trained
        .valid_error
        .iter()
        .find(|p| p.step == trained.best_epoch * c.steps_per_epoch())
        .expect("the kept epoch was validated");
    assert_eq!(kept.loss, best);

    let inference = device.clone().inner();
    let rows: Vec<&[f64]> = test.iter().map(|s| s.thicknesses_nm.as_slice()).collect();
    let truth: Vec<&[f64]> = test.iter().map(|s| s.spectrum.as_slice()).collect();
    let predicted = trained.predict(&rows, &inference);
    let mean: Vec<f64> = (0..c.optics.wavelengths)
        .map(|w| train.iter().map(|s| s.spectrum[w]).sum::<f64>() / train.len() as f64)
        .collect();
    let network = mean_relative_error(&predicted, &truth);
    let baseline = mean_relative_error(&vec![mean; test.len()], &truth);
    assert!(
        network < 0.7 * baseline,
        "network {network}, mean spectrum {baseline}"
    );

    // Reachable targets: the network's own spectra at four test particles.
    let targets: Vec<&[f64]> = predicted[..4].iter().map(Vec::as_slice).collect();
    let mut design = c.clone();
    design.design.restarts = 4;
    design.design.steps = 300;
    let designs = trained.design(&targets, &design, &device);
    let designed: Vec<Vec<f64>> = {
        let rows: Vec<&[f64]> = designs
            .iter()
            .map(|d| d.thicknesses_nm.as_slice())
            .collect();
        trained.predict(&rows, &inference)
    };
    for ((d, t), s) in designs.iter().zip(&targets).zip(&designed) {
        for x in &d.thicknesses_nm {
            assert!((30.0..=70.0).contains(x), "{x} outside the range");
        }
        // The reported loss is the network's at the returned thicknesses (f32 forward passes).
        let loss: f64 = s.iter().zip(t.iter()).map(|(a, b)| (a - b).powi(2)).sum();
        assert!(
            (loss - d.network_loss).abs() <= 1e-3 * (1.0 + loss),
            "{loss} {}",
            d.network_loss
        );
        // Reached: the spectrum matches to 1 % where random thicknesses are ~10 % off.
        assert!(
            relative_l2(s, t) < 0.01,
            "design misses its target by {}",
            relative_l2(s, t)
        );
    }
}
