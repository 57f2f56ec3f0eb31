//! MPI as learnsim-train's process group (`--features mpi`): `mpirun -np K learnsim train …`
//! trains one model on K ranks (issue #26, docs/cluster.md).

use learnsim_train::distributed::{self, Collective};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use std::rc::Rc;

/// `MPI_COMM_WORLD` as a [`Collective`].
struct MpiGroup {
    world: SimpleCommunicator,
}

impl Collective for MpiGroup {
    fn rank(&self) -> usize {
        usize::try_from(self.world.rank()).unwrap_or(0)
    }
    fn size(&self) -> usize {
        usize::try_from(self.world.size()).unwrap_or(1)
    }
    fn all_reduce_sum(&self, values: &mut [f32]) {
        let send = values.to_vec();
        self.world
            .all_reduce_into(&send[..], values, SystemOperation::sum());
    }
    fn broadcast(&self, values: &mut [f32]) {
        self.world.process_at_rank(0).broadcast_into(values);
    }
    fn barrier(&self) {
        self.world.barrier();
    }
    fn abort(&self, code: i32) {
        self.world.abort(code)
    }
}

/// Starts MPI (a single process without `mpirun` is a group of one), installs it as this
/// thread's process group, and makes a panic on any thread end every rank (MPI_Abort) instead
/// of leaving the others blocked in a collective. Keep the returned universe until the end of
/// `main`: dropping it finalises MPI.
pub fn start() -> anyhow::Result<Universe> {
    // Only the main thread calls MPI; burn's and rayon's threads never do.
    let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
        .ok_or_else(|| anyhow::anyhow!("MPI was already initialised"))?;
    let world = universe.world();
    if world.size() > 1 {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            SimpleCommunicator::world().abort(101);
        }));
    }
    distributed::install(Rc::new(MpiGroup { world }));
    Ok(universe)
}
