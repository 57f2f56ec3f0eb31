//! Neighbour search: cell list against brute force at 1k, 10k and 100k particles.
//!
//! Density is held at 4 particles per radius² (about 13 neighbours each, a GNS-like graph),
//! so the box grows with N. Brute force is skipped at 100k (10¹⁰ pair tests).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use learnsim_core::{CellList, Domain, SelfEdges, brute_force_edges};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn bench_neighbors(c: &mut Criterion) {
    let mut group = c.benchmark_group("neighbors_2d");
    group.sample_size(10);
    let radius = 0.015;
    for n in [1_000usize, 10_000, 100_000] {
        let side = (n as f64 / 4.0).sqrt() * radius;
        let domain = Domain::walled([0.0, 0.0], [side, side]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        let points: Vec<[f64; 2]> = (0..n)
            .map(|_| [rng.random_range(0.0..side), rng.random_range(0.0..side)])
            .collect();
        let cells = CellList::new(domain, radius).unwrap();
        group.bench_with_input(BenchmarkId::new("cell_list", n), &points, |b, p| {
            b.iter(|| black_box(cells.edges(p, SelfEdges::Include)))
        });
        if n <= 10_000 {
            group.bench_with_input(BenchmarkId::new("brute_force", n), &points, |b, p| {
                b.iter(|| black_box(brute_force_edges(&domain, radius, p, SelfEdges::Include)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_neighbors);
criterion_main!(benches);
