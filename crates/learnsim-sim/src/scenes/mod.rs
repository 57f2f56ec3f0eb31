//! Named, seeded initial conditions. Every random choice draws from the `rng` passed in, so a
//! seed fixes the scene bit for bit.

mod blocks;
mod box_bath;
mod column;
mod dam_break;
mod taylor_green;

pub use blocks::{BlocksScene, random_blocks};
pub use box_bath::{BoxBathScene, box_bath};
pub use column::{ColumnScene, column_collapse};
pub use dam_break::{DamBreakScene, dam_break};
pub use taylor_green::{TaylorGreenScene, taylor_green};
