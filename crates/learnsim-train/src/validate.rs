//! Checks of a config's fields before any work starts (issue #33): every error names the
//! field, the value and what is allowed, so that the CLI can add the file.

use std::fmt::Display;
use thiserror::Error;

/// A config field outside its allowed range.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("`{field}` = {value}: {allowed}")]
pub struct FieldError {
    /// The field, as written in the TOML file (`pushforward.steps` for nested tables).
    pub field: String,
    /// The value found.
    pub value: String,
    /// What the field accepts.
    pub allowed: String,
}

/// A config that can check its own fields.
pub trait Validate {
    /// The first field outside its range, if any.
    fn validate(&self) -> Result<(), FieldError>;
}

fn fail(field: &str, value: impl Display, allowed: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

/// `value` is a whole number in `lo..=hi`.
pub fn count_in(field: &str, value: usize, lo: usize, hi: usize) -> Result<(), FieldError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(fail(field, value, format!("allowed {lo} to {hi}")))
    }
}

/// `value` is finite and in `lo..=hi` (`lo` excluded when `open_below`).
pub fn real_in(field: &str, value: f64, lo: f64, hi: f64, lower: Bound) -> Result<(), FieldError> {
    let above = match lower {
        Bound::Inclusive => value >= lo,
        Bound::Exclusive => value > lo,
    };
    if value.is_finite() && above && value <= hi {
        Ok(())
    } else {
        let bracket = match lower {
            Bound::Inclusive => "[",
            Bound::Exclusive => "(",
        };
        Err(fail(
            field,
            value,
            format!("allowed a finite number in {bracket}{lo:e}, {hi:e}]"),
        ))
    }
}

/// Whether the lower end of a range is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `lo` itself is allowed.
    Inclusive,
    /// Only values above `lo`.
    Exclusive,
}

/// A plain error for a rule between fields.
pub fn rule(field: &str, value: impl Display, allowed: impl Into<String>) -> FieldError {
    fail(field, value, allowed)
}

/// `lr_initial` and `lr_final` finite, in (0, 1], and `lr_final ≤ lr_initial`.
pub fn learning_rates(initial: f64, last: f64) -> Result<(), FieldError> {
    real_in("lr_initial", initial, 0.0, 1.0, Bound::Exclusive)?;
    real_in("lr_final", last, 0.0, 1.0, Bound::Exclusive)?;
    if last > initial {
        return Err(rule(
            "lr_final",
            last,
            format!("allowed at most lr_initial = {initial:e}"),
        ));
    }
    Ok(())
}

/// Refuses a network whose weights, gradients and two Adam moments (f32) would exceed the
/// 16 GiB of [`crate::MAX_PARAMETER_BYTES`]: `mlps` MLPs of `layers` layers of `width`
/// units, named by `field` (the width's field) with its `value`.
pub fn network_memory(
    field: &str,
    value: usize,
    mlps: usize,
    layers: usize,
    width: usize,
) -> Result<(), FieldError> {
    let weights = mlps as f64 * layers as f64 * (width as f64 + 1.0) * width as f64;
    let bytes = 16.0 * weights;
    if bytes > crate::MAX_PARAMETER_BYTES {
        return Err(rule(
            field,
            value,
            format!(
                "the networks would need about {:.0} GiB for weights, gradients and Adam moments ({mlps} MLPs of {layers} layers of {width} units); at most {:.0} GiB is allowed",
                bytes / 1024f64.powi(3),
                crate::MAX_PARAMETER_BYTES / 1024f64.powi(3)
            ),
        ));
    }
    Ok(())
}
