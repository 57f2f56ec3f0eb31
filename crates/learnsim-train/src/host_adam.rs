//! Adam on plain host vectors: the inputs of a frozen network (inverse design) and MPC plans.
//! burn's optimisers update a module's parameters, not free tensors.

/// Adam state for a vector of `n` parameters (β₁ 0.9, β₂ 0.999, ε 1e-8).
#[derive(Debug, Clone)]
pub(crate) struct HostAdam {
    first: Vec<f64>,
    second: Vec<f64>,
    steps: i32,
}

impl HostAdam {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            first: vec![0.0; n],
            second: vec![0.0; n],
            steps: 0,
        }
    }

    /// x ← project(i, x − lr·m̂/(√v̂ + ε)) for every entry i, with bias-corrected moments.
    pub(crate) fn step(
        &mut self,
        x: &mut [f64],
        grad: &[f32],
        lr: f64,
        project: impl Fn(usize, f64) -> f64,
    ) {
        let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        self.steps += 1;
        let (c1, c2) = (1.0 - beta1.powi(self.steps), 1.0 - beta2.powi(self.steps));
        for (i, xi) in x.iter_mut().enumerate() {
            let g = f64::from(grad[i]);
            self.first[i] = beta1 * self.first[i] + (1.0 - beta1) * g;
            self.second[i] = beta2 * self.second[i] + (1.0 - beta2) * g * g;
            let update = lr * (self.first[i] / c1) / ((self.second[i] / c2).sqrt() + eps);
            *xi = project(i, *xi - update);
        }
    }
}
