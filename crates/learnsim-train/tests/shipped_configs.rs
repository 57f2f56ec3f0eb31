//! Every config the repository ships passes its own field checks, and each case's checks refuse
//! a broken field by name (issue #33: validation before any work, for every case).

use crate::common::shipped_file;
use learnsim_train::TrainConfig;
use learnsim_train::Validate;
use learnsim_train::cosmology::CosmologyConfig;
use learnsim_train::glass::GlassTrainConfig;
use learnsim_train::koopman::KoopmanConfig;
use learnsim_train::nanophotonics::ScatterTrainConfig;
use learnsim_train::object_dynamics::ObjectTrainConfig;
use learnsim_train::pdenet::PdeNetTrainConfig;
use learnsim_train::pendulum::PendulumConfig;
use learnsim_train::plasma::PlasmaConfig;
use learnsim_train::schnet::SchNetTrainConfig;
use learnsim_train::tfnet::KolmogorovConfig;
use learnsim_train::tiers::Tier;
use learnsim_train::turbulence::TurbulenceConfig;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// The configs [`check`] has read.
static CHECKED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The shipped config passes, and so does each of its tiers (a `[tiers.quick]`, which every
/// config has: without one `--quick` would run the full size; and `[tiers.paper]` where
/// given); with `break_it` applied it fails naming `field`.
fn check<C: serde::de::DeserializeOwned + serde::Serialize + Validate>(
    case: &str,
    field: &str,
    break_it: impl FnOnce(&mut C),
) {
    CHECKED
        .lock()
        .expect("not poisoned")
        .insert(case.to_string());
    let (mut config, tiers): (C, _) = shipped_file(case);
    if let Err(e) = config.validate() {
        panic!("configs/{case}.toml does not pass its own checks: {e}");
    }
    let tiers = tiers.unwrap_or_else(|| panic!("configs/{case}.toml has no [tiers]"));
    assert!(
        tiers.get(Tier::Quick).is_some(),
        "configs/{case}.toml has no [tiers.quick]"
    );
    for tier in Tier::ALL {
        let toml::Value::Table(mut table) = toml::Value::try_from(&config).expect("a table") else {
            panic!("configs/{case}.toml is not a table");
        };
        tiers.apply(tier, &mut table);
        let at_tier: C = toml::Value::Table(table)
            .try_into()
            .unwrap_or_else(|e| panic!("configs/{case}.toml at the {tier} tier: {e}"));
        if let Err(e) = at_tier.validate() {
            panic!("configs/{case}.toml at the {tier} tier does not pass its checks: {e}");
        }
    }
    break_it(&mut config);
    let err = config
        .validate()
        .expect_err("a broken field must be refused");
    assert_eq!(err.field, field, "{case}: {err}");
}

#[test]
fn every_shipped_config_passes_and_a_broken_field_is_named() {
    for case in learnsim_sim::Case::ALL.map(|c| c.name()) {
        check::<TrainConfig>(case, "history", |c| c.history = 0);
    }
    check::<ObjectTrainConfig>("nbody-2d", "relation_hidden", |c| c.relation_hidden = 0);
    check::<ObjectTrainConfig>("spring-chain", "batch_size", |c| c.batch_size = 0);
    check::<PendulumConfig>("pendulum-mpc", "batch_size", |c| c.batch_size = 0);
    check::<PdeNetTrainConfig>("burgers-2d", "burgers.dt", |c| c.burgers.dt = -0.01);
    check::<PdeNetTrainConfig>("burgers-2d", "substeps", |c| c.substeps = 0);
    check::<PdeNetTrainConfig>("burgers-2d", "batch", |c| {
        c.burgers.n = 4096;
        c.batch = 1000;
    });
    check::<KolmogorovConfig>("kolmogorov-2d", "flow.n", |c| c.flow.n = 100);
    check::<CosmologyConfig>("pm-cosmo", "lr", |c| c.lr = f64::NAN);
    check::<TurbulenceConfig>("hit-3d", "widths", |c| c.widths.clear());
    // Memory: hit-3d at n = 256 with widths [512, 1024] asks for hundreds of GiB.
    check::<TurbulenceConfig>("hit-3d", "widths", |c| {
        c.flow.n = 256;
        c.widths = vec![512, 1024];
    });
    check::<CosmologyConfig>("pm-cosmo", "widths", |c| {
        c.universe.n = 256;
        c.widths = vec![256, 512];
    });
    check::<KolmogorovConfig>("kolmogorov-2d", "widths", |c| {
        c.flow.n = 1024;
        c.batch_size = 64;
        c.widths = vec![1024, 2048];
    });
    check::<KoopmanConfig>("rope-koopman", "steps", |c| c.steps = 0);
    check::<ScatterTrainConfig>("nanophotonics", "design.lr_initial", |c| {
        c.design.lr_initial = -1e-3;
    });
    check::<GlassTrainConfig>("glass-ka", "radius", |c| c.radius = -1.0);
    check::<PlasmaConfig>("plasma-1d", "plasma.dt", |c| c.plasma.dt = 0.0);
    check::<PlasmaConfig>("plasma-1d", "plasma.dimensions", |c| {
        c.plasma.dimensions = 3
    });
    // A 2D MLP on 512² nodes: 262 144 inputs, 524 288 outputs, 65 536 wide.
    check::<PlasmaConfig>("plasma-1d", "mlp.hidden", |c| {
        c.plasma.dimensions = 2;
        c.plasma.cells = 512;
        c.mlp.hidden = 65_536;
    });
    check::<PlasmaConfig>("plasma-1d", "cnn.local_kernel", |c| c.cnn.local_kernel = 4);
    check::<PlasmaConfig>("plasma-1d", "plasma.two_stream.k_v0[1]", |c| {
        c.plasma.two_stream.k_v0 = [0.8, 0.4];
    });
    // A phase-space time past the end of the two-stream runs.
    check::<PlasmaConfig>("plasma-1d", "phase_space_times[2]", |c| {
        c.phase_space_times[2] = 1e4;
    });
    // Networks too large to hold, as `latent = 100000` is for GNS.
    check::<GlassTrainConfig>("glass-ka", "latent", |c| c.latent = 65_536);
    check::<ScatterTrainConfig>("nanophotonics", "hidden", |c| c.hidden = 65_536);
    check::<ObjectTrainConfig>("nbody-2d", "relation_hidden", |c| {
        c.relation_hidden = 65_536
    });
    check::<PendulumConfig>("pendulum-mpc", "latent", |c| c.latent = 65_536);
    check::<KoopmanConfig>("rope-koopman", "latent", |c| c.latent = 65_536);
    check::<SchNetTrainConfig>("schnet-si", "features", |c| c.features = 65_536);
    check::<SchNetTrainConfig>("schnet-si", "cluster_sizes[0]", |c| {
        c.cluster_sizes[0] = 0;
    });
    // A central-difference step of a bond's length, and a loss with nothing in it.
    check::<SchNetTrainConfig>("schnet-si", "force_step", |c| c.force_step = 2.35);
    check::<SchNetTrainConfig>("schnet-si", "force_weight", |c| {
        c.energy_weight = 0.0;
        c.force_weight = 0.0;
    });
    check::<SchNetTrainConfig>("schnet-si", "relax_fmax", |c| c.relax_fmax = -0.01);
    // Every file in configs/ was among them: a new config cannot ship unchecked.
    let dir = format!("{}/../../configs", env!("CARGO_MANIFEST_DIR"));
    let shipped: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("configs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().expect("name").to_string_lossy().into_owned())
        .collect();
    let checked = CHECKED.lock().expect("not poisoned").clone();
    let unchecked: Vec<_> = shipped.difference(&checked).collect();
    assert!(
        unchecked.is_empty(),
        "configs without a check: {unchecked:?}"
    );
    // And every particle case has its config (`learnsim run CASE` reads configs/CASE.toml).
    for case in learnsim_sim::Case::ALL {
        assert!(
            shipped.contains(case.name()),
            "no configs/{}.toml",
            case.name()
        );
    }
}
