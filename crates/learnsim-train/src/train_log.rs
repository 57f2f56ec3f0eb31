//! `train_log.csv`: every step of a fit — its learning rate, training loss, the validation
//! value where it validated, and its speed — for users who plot training in their own tools.

use crate::LossPoint;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What a fit logs after each optimiser step besides its loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// Optimiser steps done (1 after the first).
    pub step: usize,
    /// The learning rate of that step.
    pub lr: f64,
    /// Training seconds so far, over every segment of a resumed run.
    pub seconds: f64,
}

/// Steps over which `steps_per_s` is averaged (one step's time is noise).
const RATE_WINDOW: usize = 50;

/// The CSV header.
pub const HEADER: &str = "step,lr,train_loss,valid_loss,steps_per_s";

/// One fit's rows: `step,lr,train_loss,valid_loss,steps_per_s`. `train` holds the loss of each
/// step by its 0-based index (the log's step − 1), `valid` the validations by steps done (0:
/// before training); a validation before training gets a row of its own; `steps_per_s` is the
/// rate over the last 50 logged steps (empty on the first row).
pub fn rows(log: &[LogRow], train: &[LossPoint], valid: &[LossPoint]) -> Vec<String> {
    let valid_at = |step: usize| {
        valid
            .iter()
            .find(|p| p.step == step)
            .map_or(String::new(), |p| p.loss.to_string())
    };
    let mut out = Vec::with_capacity(log.len() + 1);
    if valid.first().is_some_and(|p| p.step == 0) {
        out.push(format!("0,,,{},", valid_at(0)));
    }
    for (i, row) in log.iter().enumerate() {
        let loss = train
            .iter()
            .find(|p| p.step + 1 == row.step)
            .map_or(String::new(), |p| p.loss.to_string());
        let rate = match i.checked_sub(RATE_WINDOW.min(i)) {
            Some(j) if j < i && row.seconds > log[j].seconds => format!(
                "{:.4}",
                (row.step - log[j].step) as f64 / (row.seconds - log[j].seconds)
            ),
            _ => String::new(),
        };
        let mut line = String::new();
        let _ = write!(
            line,
            "{},{},{loss},{},{rate}",
            row.step,
            row.lr,
            valid_at(row.step)
        );
        out.push(line);
    }
    out
}

/// One fit's CSV, header included.
pub fn csv(log: &[LogRow], train: &[LossPoint], valid: &[LossPoint]) -> String {
    let mut text = String::from(HEADER);
    text.push('\n');
    for line in rows(log, train, valid) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}
