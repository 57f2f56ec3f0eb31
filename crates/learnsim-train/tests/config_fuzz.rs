//! Property tests of config parsing and validation (issue #33): whatever a user writes, reading
//! and checking a training config never panics, and a config that passes the checks gives a
//! finite, positive learning rate at every step and a network that fits the memory cap.

use learnsim_train::{TrainConfig, Validate};
use proptest::prelude::*;

/// A number as a user might write it: ordinary, zero, negative, huge, or not a number.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (-1e3f64..1e3).prop_map(|x| format!("{x:e}")),
        (0.0f64..1.0).prop_map(|x| format!("{x:e}")),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("1e308".to_string()),
        (0u64..100_000).prop_map(|x| x.to_string()),
        Just("18446744073709551615".to_string()),
        Just("\"five\"".to_string()),
    ]
}

const FIELDS: [&str; 21] = [
    "seed",
    "steps",
    "batch_size",
    "lr_initial",
    "lr_final",
    "lr_decay_steps",
    "ema_decay",
    "noise_std",
    "history",
    "connectivity_radius",
    "wall_horizon",
    "rigid_loss_weight",
    "embedding_dim",
    "latent",
    "n_hidden",
    "message_passing_steps",
    "validate_every",
    "validation_windows",
    "checkpoint_every",
    "lr_schedule",
    "kernel",
];

/// A config file: every field present with a random value (or left out), plus optional
/// pushforward and window-weighting tables with random values.
fn config_text() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(proptest::option::weighted(0.9, number()), FIELDS.len()),
        proptest::option::of((number(), number(), number())),
        proptest::option::of(number()),
        prop_oneof![Just("exponential"), Just("cosine"), Just("linear")],
    )
        .prop_map(|(values, pushforward, boost, schedule)| {
            let mut text = String::new();
            for (field, value) in FIELDS.iter().zip(values) {
                match (*field, value) {
                    ("lr_schedule", Some(_)) => {
                        text.push_str(&format!("lr_schedule = \"{schedule}\"\n"))
                    }
                    ("kernel", Some(_)) => text.push_str("kernel = \"fused\"\n"),
                    (_, Some(v)) => text.push_str(&format!("{field} = {v}\n")),
                    (_, None) => {}
                }
            }
            if let Some((p, s, start)) = pushforward {
                text.push_str(&format!(
                    "[pushforward]\nprobability = {p}\nsteps = {s}\nstart_step = {start}\n"
                ));
            }
            if let Some(b) = boost {
                text.push_str(&format!(
                    "[window_weighting]\nkind = \"contact\"\nboost = {b}\n"
                ));
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_and_validation_never_panic(text in config_text()) {
        if let Ok(config) = toml::from_str::<TrainConfig>(&text)
            && config.validate().is_ok()
        {
            for step in [0, 1, config.steps / 2, config.steps.saturating_sub(1), config.steps, usize::MAX] {
                let lr = config.learning_rate(step);
                prop_assert!(lr.is_finite() && lr > 0.0, "lr {lr} at step {step}: {text}");
            }
            prop_assert!(learnsim_train::parameter_bytes(&config) <= learnsim_train::MAX_PARAMETER_BYTES);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        if let Ok(config) = toml::from_str::<TrainConfig>(&text) {
            let _ = config.validate();
        }
    }
}
