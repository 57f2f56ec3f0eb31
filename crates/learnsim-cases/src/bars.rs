//! Pass/fail bars as metrics.json records them.

use serde_json::{Value, json};

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
pub fn bar(name: &str, value: f64, threshold: f64, pass_if: PassIf) -> Value {
    let at_most = pass_if == PassIf::AtMost;
    let pass = match pass_if {
        PassIf::AtMost => value <= threshold,
        PassIf::AtLeast => value >= threshold,
    };
    json!({
        "name": name, "value": value, "threshold": threshold, "at_most": at_most,
        "pass": pass && value.is_finite()
    })
}
