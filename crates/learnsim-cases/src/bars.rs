//! Pass/fail bars as metrics.json records them.

use serde::Serialize;

/// Which side of its threshold a bar's value must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassIf {
    /// value ≤ threshold passes (errors, ratios to a baseline).
    AtMost,
    /// value ≥ threshold passes (correlations, success rates).
    AtLeast,
}

/// One pass/fail bar as metrics.json records it (`at_most` kept for the readers of older
/// runs); a non-finite value never passes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// What is compared, for the report's table.
    pub name: String,
    /// The measured value (`null` in metrics.json when not finite).
    pub value: f64,
    /// The bar.
    pub threshold: f64,
    /// Whether the value must be at most the threshold (else at least).
    pub at_most: bool,
    /// Whether it passed.
    pub pass: bool,
}

/// A bar on `value`: passes when it is on `pass_if`'s side of `threshold` and finite.
pub fn bar(name: &str, value: f64, threshold: f64, pass_if: PassIf) -> Bar {
    let pass = match pass_if {
        PassIf::AtMost => value <= threshold,
        PassIf::AtLeast => value >= threshold,
    };
    Bar {
        name: name.to_string(),
        value,
        threshold,
        at_most: pass_if == PassIf::AtMost,
        pass: pass && value.is_finite(),
    }
}

/// Whether every bar passed.
pub fn all_pass(bars: &[Bar]) -> bool {
    bars.iter().all(|b| b.pass)
}
