//! The stepping interface shared by ground-truth and learned simulators.

/// Anything that advances a state by one stored frame.
///
/// Ground-truth simulators and learned simulators implement the same trait, so the rollout
/// engine and the speed-up measurement treat them alike.
pub trait Stepper {
    /// The state this stepper advances.
    type State;
    /// The error a step can raise (a NaN, a blow-up).
    type Error;

    /// Advances `state` by one stored frame.
    fn step(&mut self, state: &mut Self::State) -> Result<(), Self::Error>;

    /// Advances `state` by `n` frames, stopping at the first error.
    fn step_n(&mut self, state: &mut Self::State, n: usize) -> Result<(), Self::Error> {
        for _ in 0..n {
            self.step(state)?;
        }
        Ok(())
    }
}
