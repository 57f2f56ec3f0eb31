//! How a state of bodies or a chain becomes the Interaction Network's graph and the MLP
//! baseline's row.

use learnsim_sim::nbody::Bodies;
use learnsim_sim::spring_chain::Chain;

/// How a state becomes a graph for the Interaction Network and a row for the MLP baseline.
pub trait GraphFeatures {
    /// Object feature width.
    const OBJECT_WIDTH: usize;
    /// Relation attribute width.
    const RELATION_WIDTH: usize;
    /// Per-object features `[N][OBJECT_WIDTH]`.
    fn object_rows(&self) -> Vec<Vec<f64>>;
    /// Relations (receiver, sender, attributes `[RELATION_WIDTH]`).
    fn relation_rows(&self) -> Vec<(usize, usize, Vec<f64>)>;
    /// The whole state as one row for the MLP baseline `[5 N]`.
    fn flat_row(&self) -> Vec<f64>;
}

/// Δ = x_s − x_r and its norm.
pub(super) fn offset(position: &[[f64; 2]], r: usize, s: usize) -> [f64; 3] {
    let d = [
        position[s][0] - position[r][0],
        position[s][1] - position[r][1],
    ];
    [d[0], d[1], d[0].hypot(d[1])]
}

impl GraphFeatures for Bodies {
    const OBJECT_WIDTH: usize = 3;
    const RELATION_WIDTH: usize = 3;
    /// [m, vx, vy].
    fn object_rows(&self) -> Vec<Vec<f64>> {
        (0..self.len())
            .map(|i| vec![self.mass[i], self.velocity[i][0], self.velocity[i][1]])
            .collect()
    }
    /// Every ordered pair (r, s ≠ r), receiver-major: [Δx, Δy, |Δ|].
    fn relation_rows(&self) -> Vec<(usize, usize, Vec<f64>)> {
        let n = self.len();
        (0..n)
            .flat_map(|r| (0..n).filter(move |&s| s != r).map(move |s| (r, s)))
            .map(|(r, s)| (r, s, offset(&self.position, r, s).to_vec()))
            .collect()
    }
    /// [m, x, y, vx, vy] per body.
    fn flat_row(&self) -> Vec<f64> {
        (0..self.len())
            .flat_map(|i| {
                [
                    self.mass[i],
                    self.position[i][0],
                    self.position[i][1],
                    self.velocity[i][0],
                    self.velocity[i][1],
                ]
            })
            .collect()
    }
}

impl GraphFeatures for Chain {
    const OBJECT_WIDTH: usize = 4;
    const RELATION_WIDTH: usize = 5;
    /// [is_fixed, vx, vy, gravity] (gravity is the demo's global, given to every node).
    fn object_rows(&self) -> Vec<Vec<f64>> {
        (0..self.len())
            .map(|i| {
                vec![
                    f64::from(u8::from(self.fixed[i])),
                    self.velocity[i][0],
                    self.velocity[i][1],
                    self.gravity,
                ]
            })
            .collect()
    }
    /// Each spring in both directions: [Δx, Δy, |Δ|, k, L].
    fn relation_rows(&self) -> Vec<(usize, usize, Vec<f64>)> {
        (0..self.len().saturating_sub(1))
            .flat_map(|s| [(s, s + 1, s), (s + 1, s, s)])
            .map(|(r, s, spring)| {
                let mut row = offset(&self.position, r, s).to_vec();
                row.extend([self.stiffness[spring], self.rest_length[spring]]);
                (r, s, row)
            })
            .collect()
    }
    /// [is_fixed, x, y, vx, vy] per mass.
    fn flat_row(&self) -> Vec<f64> {
        (0..self.len())
            .flat_map(|i| {
                [
                    f64::from(u8::from(self.fixed[i])),
                    self.position[i][0],
                    self.position[i][1],
                    self.velocity[i][0],
                    self.velocity[i][1],
                ]
            })
            .collect()
    }
}
