//! The GNS trainer's checkpoints: weights, Adam's state (burn's or the fused kernel's), the
//! averaged weights and the progress, written through a temporary folder that replaces the old one
//! whole.

use super::{ADAM, TrainError, TrainState, Trainer};
use burn::module::Module;
use burn::optim::{AdamConfig, OptimizerRecord};
use burn::store::ModuleRecord;
use learnsim_models::{AdamState, ParticleModel};
use std::path::Path;

impl Trainer {
    /// Writes weights, optimiser state and progress into `dir` (via a temporary folder that
    /// replaces `dir` whole, so a crash mid-write leaves the previous checkpoint intact).
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), TrainError> {
        let fail = |problem: String| TrainError::Checkpoint {
            path: dir.to_path_buf(),
            problem,
        };
        let tmp = dir.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| fail(e.to_string()))?;
        save_model(&self.model, &tmp.join("model.bpk")).map_err(fail)?;
        match &self.fused {
            Some(fused) => {
                std::fs::write(tmp.join(FUSED_ADAM), encode_adam(&fused.adam_state()))
                    .map_err(|e| fail(format!("{FUSED_ADAM}: {e}")))?;
            }
            None => self
                .optimizer
                .to_record()
                .save(tmp.join("optimizer.bpk"))
                .map_err(|e| fail(format!("{e:?}")))?,
        }
        if let Some(average) = &self.average {
            save_model(&self.inference_model(), &tmp.join(EMA_MODEL)).map_err(fail)?;
            std::fs::write(tmp.join(EMA_UPDATES), average.updates().to_string())
                .map_err(|e| fail(format!("{EMA_UPDATES}: {e}")))?;
        }
        let state = serde_json::to_string(&self.state).map_err(|e| fail(e.to_string()))?;
        std::fs::write(tmp.join("state.json"), state).map_err(|e| fail(e.to_string()))?;
        crate::fit::replace_dir(&tmp, dir).map_err(|e| fail(e.to_string()))
    }

    /// Restores weights, optimiser state and progress from `dir`.
    pub fn load_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError> {
        let fail = |problem: String| TrainError::Checkpoint {
            path: dir.to_path_buf(),
            problem,
        };
        let text = std::fs::read_to_string(dir.join("state.json"))
            .map_err(|e| fail(format!("state.json: {e}")))?;
        let state: TrainState =
            serde_json::from_str(&text).map_err(|e| fail(format!("state.json: {e}")))?;
        // A model's input layout is fixed by the features it was trained to read; weights of
        // another layout cannot be loaded into this one.
        if state.extra_features != self.state.extra_features {
            return Err(fail(format!(
                "the model reads material_property and step_context of widths {:?}, but this \
                 dataset and config give {:?}: evaluate it on data with the features it was \
                 trained on (or train with `[features]` matching the data)",
                state.extra_features, self.state.extra_features
            )));
        }
        self.model = load_model(self.model.clone(), &dir.join("model.bpk"))
            .map_err(|e| fail(format!("model.bpk: {e}")))?;
        if let (Some(_), Some(gns)) = (&self.fused, self.model.gns()) {
            let path = dir.join(FUSED_ADAM);
            let bytes = std::fs::read(&path).map_err(|e| {
                fail(format!(
                    "{FUSED_ADAM}: {e} (a checkpoint of the burn kernel cannot resume with the fused one; set kernel = \"burn\")"
                ))
            })?;
            let state = decode_adam(&bytes).map_err(|p| fail(format!("{FUSED_ADAM}: {p}")))?;
            let mut fused = gns.fused_trainer();
            fused
                .set_adam_state(state)
                .map_err(|p| fail(format!("{FUSED_ADAM}: {p}")))?;
            self.fused = Some(fused);
        } else {
            let optimizer = OptimizerRecord::load(dir.join("optimizer.bpk"))
                .map_err(|e| fail(format!("optimizer.bpk: {e:?} (a checkpoint of the fused kernel cannot resume with burn's; set kernel = \"fused\")")))?;
            self.optimizer = AdamConfig::new()
                .with_beta_1(ADAM.0)
                .with_beta_2(ADAM.1)
                .with_epsilon(ADAM.2)
                .init()
                .load_record(optimizer);
        }
        if self.average.is_some() {
            let averaged = load_model(self.model.clone(), &dir.join(EMA_MODEL)).map_err(|e| {
                fail(format!(
                    "{EMA_MODEL}: {e} (a checkpoint written with ema_decay = 0 cannot resume with an average)"
                ))
            })?;
            let updates: u64 = std::fs::read_to_string(dir.join(EMA_UPDATES))
                .map_err(|e| fail(format!("{EMA_UPDATES}: {e}")))?
                .trim()
                .parse()
                .map_err(|e| fail(format!("{EMA_UPDATES}: {e}")))?;
            if let Some(average) = &mut self.average {
                average.restore(&averaged, updates);
            }
        }
        self.state = state;
        Ok(())
    }
}

/// Writes a network's weights: the variant's own record, so that a GNS checkpoint is the
/// `GnsModel` record that checkpoints held before the architecture could be chosen.
fn save_model(model: &ParticleModel, path: &Path) -> Result<(), String> {
    let saved = match model {
        ParticleModel::Gns(m) => m.clone().into_record().save(path),
        ParticleModel::Egnn(m) => m.clone().into_record().save(path),
    };
    saved.map_err(|e| format!("{e:?}"))
}

/// `model` with the weights [`save_model`] wrote; a file of another architecture or size is
/// refused, not loaded.
fn load_model(model: ParticleModel, path: &Path) -> Result<ParticleModel, String> {
    let record = ModuleRecord::load(path).map_err(|e| format!("{e:?}"))?;
    let loaded = match model {
        ParticleModel::Gns(m) => m.try_load_record(record).map(ParticleModel::Gns),
        ParticleModel::Egnn(m) => m.try_load_record(record).map(ParticleModel::Egnn),
    };
    loaded.map_err(|e| {
        let text = format!("{e:?}");
        let short: String = text.chars().take(300).collect();
        format!(
            "the weights do not fit this network (written by a run of another model or size?): {short}"
        )
    })
}

/// The averaged weights in a checkpoint, and how many updates they hold.
pub(super) const EMA_MODEL: &str = "ema.bpk";
pub(super) const EMA_UPDATES: &str = "ema_updates.txt";

/// The fused kernel's Adam state in a checkpoint.
pub(super) const FUSED_ADAM: &str = "fused_adam.bin";
pub(super) const ADAM_MAGIC: &[u8; 8] = b"LSADAM01";

/// `LSADAM01`, steps (i32 LE), array count (u64 LE), then per array its length (u64 LE) and
/// its first then second moments (f32 LE).
pub(super) fn encode_adam(state: &AdamState) -> Vec<u8> {
    let mut out = ADAM_MAGIC.to_vec();
    out.extend(state.steps.to_le_bytes());
    out.extend((state.first.len() as u64).to_le_bytes());
    for (m, v) in state.first.iter().zip(&state.second) {
        out.extend((m.len() as u64).to_le_bytes());
        out.extend(m.iter().chain(v).flat_map(|x| x.to_le_bytes()));
    }
    out
}

pub(super) fn decode_adam(bytes: &[u8]) -> Result<AdamState, String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| format!("truncated: {} bytes, needed more at byte {at}", bytes.len()))?;
        let s = &bytes[at..end];
        at = end;
        Ok(s)
    };
    if take(8)? != ADAM_MAGIC {
        return Err("not a learnsim Adam state (bad magic)".into());
    }
    let steps = i32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    let arrays = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    if arrays > bytes.len() as u64 {
        return Err(format!(
            "{arrays} arrays cannot fit in {} bytes",
            bytes.len()
        ));
    }
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for k in 0..arrays {
        let len = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l.checked_mul(8).is_some_and(|b| b <= bytes.len()))
            .ok_or_else(|| format!("array {k} claims {len} values, more than the file holds"))?;
        let floats = |raw: &[u8]| -> Vec<f32> {
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect()
        };
        first.push(floats(take(4 * len)?));
        second.push(floats(take(4 * len)?));
    }
    if at != bytes.len() {
        return Err(format!("{} bytes after the last array", bytes.len() - at));
    }
    if let Some(k) = first
        .iter()
        .chain(&second)
        .position(|a| a.iter().any(|x| !x.is_finite()))
    {
        return Err(format!("moment array {k} holds a NaN or infinity"));
    }
    Ok(AdamState {
        steps,
        first,
        second,
    })
}
