//! Data-parallel training (issue #26): the process group a run trains in.
//!
//! A run trains on a group of `size` ranks. Each rank draws its part of every global batch
//! from the shared seed, computes the gradient of its part, and the group sums the gradients
//! before every rank takes the same optimiser step, so all ranks hold the same weights. One
//! process alone is a group of one ([`SingleProcess`]), the default. `learnsim` built with the
//! `mpi` feature installs an MPI group under `mpirun`/`srun`; [`LocalGroup`] runs ranks as
//! threads of one process, which tests the same arithmetic without MPI.
//!
//! The group is per thread ([`install`], [`world`]): the thread that trains is the one that
//! talks to the others, as MPI's `MPI_THREAD_FUNNELED` asks.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Barrier, Mutex};

/// The collective operations data-parallel training needs. Every rank calls each operation in
/// the same order; a rank that stops calling them stalls the others (see [`Collective::abort`]).
pub trait Collective {
    /// This process's rank, `0..size`.
    fn rank(&self) -> usize;
    /// Ranks in the group.
    fn size(&self) -> usize;
    /// Element-wise sum over every rank, in place; every rank gets the same sums.
    fn all_reduce_sum(&self, values: &mut [f32]);
    /// Rank 0's `values` copied into every rank's.
    fn broadcast(&self, values: &mut [f32]);
    /// Waits until every rank has called it.
    fn barrier(&self);
    /// Ends every rank of the group (MPI_Abort), so that one failing rank does not leave the
    /// others waiting forever.
    fn abort(&self, code: i32);
}

/// One process, alone: every operation is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, _: &mut [f32]) {}
    fn broadcast(&self, _: &mut [f32]) {}
    fn barrier(&self) {}
    fn abort(&self, code: i32) {
        std::process::exit(code);
    }
}

thread_local! {
    static WORLD: RefCell<Rc<dyn Collective>> = RefCell::new(Rc::new(SingleProcess));
}

/// Makes `group` the group this thread trains in (until replaced).
pub fn install(group: Rc<dyn Collective>) {
    WORLD.with(|w| *w.borrow_mut() = group);
}

/// The group this thread trains in ([`SingleProcess`] unless [`install`]ed).
pub fn world() -> Rc<dyn Collective> {
    WORLD.with(|w| w.borrow().clone())
}

/// Whether this thread is rank 0, the one that writes checkpoints, metrics and results.
pub fn is_root() -> bool {
    world().rank() == 0
}

/// What the ranks of a [`LocalGroup`] share.
#[derive(Debug)]
struct Shared {
    barrier: Barrier,
    /// Each rank's contribution to the operation in progress.
    slots: Mutex<Vec<Vec<f32>>>,
}

/// Ranks as threads of one process: the same collective arithmetic as MPI's (sums taken in rank
/// order), for tests and for checking the data-parallel path without an MPI installation.
#[derive(Debug, Clone)]
pub struct LocalGroup {
    rank: usize,
    shared: Arc<Shared>,
}

impl LocalGroup {
    /// A group of `size` ranks: give element `r` to the thread that plays rank `r`.
    pub fn new(size: usize) -> Vec<Self> {
        let shared = Arc::new(Shared {
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size)
            .map(|rank| Self {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Vec<f32>>> {
        self.shared
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Collective for LocalGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.slots().len()
    }
    fn all_reduce_sum(&self, values: &mut [f32]) {
        self.slots()[self.rank] = values.to_vec();
        self.shared.barrier.wait();
        {
            let slots = self.slots();
            values.fill(0.0);
            for slot in slots.iter() {
                values.iter_mut().zip(slot).for_each(|(v, s)| *v += s);
            }
        }
        // Nobody overwrites a slot before everyone has read them all.
        self.shared.barrier.wait();
    }
    fn broadcast(&self, values: &mut [f32]) {
        if self.rank == 0 {
            self.slots()[0] = values.to_vec();
        }
        self.shared.barrier.wait();
        if self.rank != 0 {
            values.copy_from_slice(&self.slots()[0]);
        }
        self.shared.barrier.wait();
    }
    fn barrier(&self) {
        self.shared.barrier.wait();
    }
    fn abort(&self, code: i32) {
        std::process::exit(code);
    }
}

/// Which global windows rank `rank` of `size` draws of a batch of `batch`: a contiguous block,
/// so that rank 0 of 2 takes the first half of the windows one process would draw.
///
/// # Errors
/// When `batch` is not a multiple of `size` (ranks would train on unequal parts).
pub fn share(batch: usize, rank: usize, size: usize) -> Result<std::ops::Range<usize>, String> {
    if size == 0 || !batch.is_multiple_of(size) {
        return Err(format!(
            "batch_size {batch} is not a multiple of the {size} ranks training it (each rank draws batch_size / ranks windows of every step)"
        ));
    }
    let each = batch / size;
    Ok(rank * each..(rank + 1) * each)
}

/// Concatenates arrays into one buffer (one collective call for all of them).
pub fn pack(arrays: &[&mut Vec<f32>], extra: usize) -> Vec<f32> {
    let mut flat = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum::<usize>() + extra);
    for a in arrays {
        flat.extend_from_slice(a);
    }
    flat
}

/// Copies `flat` back into `arrays`, in [`pack`]'s order; returns what is left after them.
pub fn unpack<'a>(flat: &'a [f32], arrays: Vec<&mut Vec<f32>>) -> &'a [f32] {
    let mut at = 0;
    for a in arrays {
        let n = a.len();
        a.copy_from_slice(&flat[at..at + n]);
        at += n;
    }
    &flat[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_group_sums_and_broadcasts_like_mpi() {
        let handles: Vec<_> = LocalGroup::new(3)
            .into_iter()
            .map(|g| {
                std::thread::spawn(move || {
                    let r = g.rank() as f32;
                    let mut sum = vec![r, 10.0 * r];
                    g.all_reduce_sum(&mut sum);
                    let mut from_root = vec![r + 1.0];
                    g.broadcast(&mut from_root);
                    (sum, from_root)
                })
            })
            .collect();
        for h in handles {
            let (sum, from_root) = h.join().unwrap();
            assert_eq!(sum, vec![3.0, 30.0]);
            assert_eq!(from_root, vec![1.0]);
        }
    }

    #[test]
    fn ranks_share_a_batch_in_blocks_and_refuse_a_remainder() {
        assert_eq!(share(4, 0, 2), Ok(0..2));
        assert_eq!(share(4, 1, 2), Ok(2..4));
        assert_eq!(share(2, 0, 1), Ok(0..2));
        assert!(share(3, 0, 2).unwrap_err().contains("not a multiple"));
    }
}
