//! Where a case's config comes from: `--config FILE`, else `configs/CASE.toml` in the working
//! folder, else the shipped config compiled into the binary (so `learnsim run CASE` works from
//! any folder); then the command line's `--seed` and `--set KEY=VALUE` overrides, applied to
//! the TOML before it is read, so they are validated like the file. The file's `[tiers.quick]`
//! and `[tiers.paper]` tables ([`learnsim_train::tiers`]) are the tiers' sizes; a file without
//! `[tiers]` takes the shipped config's.

use anyhow::{Context, Result, bail};
use learnsim_train::tiers::{Tier, Tiers};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/shipped_configs.rs"));

/// The shipped config of `case`, if it has one.
pub fn shipped(case: &str) -> Option<&'static str> {
    SHIPPED
        .iter()
        .find(|(n, _)| *n == case)
        .map(|(_, text)| *text)
}

/// Where a config's text was read from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// A file.
    File(PathBuf),
    /// The shipped `configs/CASE.toml` compiled into the binary.
    Shipped(String),
}

impl fmt::Display for ConfigOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Shipped(case) => write!(f, "configs/{case}.toml (built in)"),
        }
    }
}

/// The command line's changes to a config: `--seed N` and `--set KEY=VALUE` (dotted keys reach
/// into tables: `--set mlp.hidden=64`; values are TOML, and a bare word is a string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--set`, in order.
    pub set: Vec<String>,
}

impl Overrides {
    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.seed.is_none() && self.set.is_empty()
    }

    /// `table` with every override applied, or an error naming the one that cannot be.
    fn apply(&self, table: &mut toml::Table) -> Result<()> {
        if let Some(seed) = self.seed {
            let seed = i64::try_from(seed).context("--seed: at most 2^63 - 1")?;
            table.insert("seed".into(), toml::Value::Integer(seed));
        }
        for item in &self.set {
            let Some((key, text)) = item.split_once('=') else {
                bail!("--set {item}: expected KEY=VALUE");
            };
            let (key, text) = (key.trim(), text.trim());
            let value = parse_value(text);
            let mut parts: Vec<&str> = key.split('.').collect();
            let last = parts.pop().filter(|k| !k.is_empty());
            let Some(last) = last else {
                bail!("--set {item}: empty key");
            };
            let mut at = &mut *table;
            for part in parts {
                let entry = at
                    .entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                at = match entry {
                    toml::Value::Table(t) => t,
                    _ => bail!("--set {item}: `{part}` is a value, not a table"),
                };
            }
            at.insert(last.to_string(), value);
        }
        Ok(())
    }
}

/// A TOML value as written (`3`, `1e-4`, `true`, `[1, 2]`, `"text"`), or the text as a string.
fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// A config read and overridden, not yet validated.
#[derive(Debug)]
pub struct Loaded<C> {
    /// The config (the file without its `[tiers]`).
    pub config: C,
    /// Where it came from (with ", with --seed/--set" when overridden), for messages.
    pub origin: String,
    /// The file's tiers, else the shipped config's (none for a case that ships no config).
    pub tiers: Tiers,
}

impl<C: Serialize + DeserializeOwned> Loaded<C> {
    /// The config at `tier`: the tier's changes applied, then the command line's overrides
    /// again (what the user typed wins over the tier's sizes). Not validated.
    pub fn at_tier(&self, tier: Tier, overrides: &Overrides) -> Result<C> {
        let origin = &self.origin;
        let toml::Value::Table(mut table) = toml::Value::try_from(&self.config)? else {
            bail!("{origin}: the config is not a table");
        };
        self.tiers.apply(tier, &mut table);
        overrides.apply(&mut table)?;
        toml::Value::Table(table)
            .try_into()
            .with_context(|| format!("{origin} with the {tier} tier: not a valid config"))
    }
}

/// The `[tiers]` of a config file's `table` (removed from it), else those of `case`'s shipped
/// config; `origin` names the file in errors.
fn take_tiers(table: &mut toml::Table, case: &str, origin: &ConfigOrigin) -> Result<Tiers> {
    if let Some(tiers) = Tiers::take(table).map_err(|e| anyhow::anyhow!("{origin}: {e}"))? {
        return Ok(tiers);
    }
    let Some(text) = shipped(case) else {
        return Ok(Tiers::default());
    };
    let mut table: toml::Table = toml::from_str(text)?;
    Ok(Tiers::take(&mut table)
        .map_err(|e| anyhow::anyhow!("configs/{case}.toml (built in): {e}"))?
        .unwrap_or_default())
}

/// Reads `case`'s config from `explicit` (`--config`), else `configs/CASE.toml` here, else
/// the shipped one, applies `overrides` and deserialises it; errors name the origin.
pub fn load<C: DeserializeOwned>(
    explicit: Option<&Path>,
    case: &str,
    overrides: &Overrides,
) -> Result<Loaded<C>> {
    let local = PathBuf::from("configs").join(format!("{case}.toml"));
    let (origin, text) = match explicit {
        Some(path) => (ConfigOrigin::File(path.to_path_buf()), read(path)?),
        None if local.exists() => (ConfigOrigin::File(local.clone()), read(&local)?),
        None => match shipped(case) {
            Some(text) => (ConfigOrigin::Shipped(case.to_string()), text.to_string()),
            None => bail!("no config for {case}: pass --config FILE"),
        },
    };
    let mut table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{origin}: not valid TOML"))?;
    let tiers = take_tiers(&mut table, case, &origin)?;
    overrides.apply(&mut table)?;
    let origin = if overrides.is_empty() {
        origin.to_string()
    } else {
        format!("{origin} with --seed/--set")
    };
    crate::progress::detail(format_args!(
        "config: {origin}\n{}",
        toml::to_string(&table).unwrap_or_default()
    ));
    let config = toml::Value::Table(table)
        .try_into::<C>()
        .with_context(|| format!("{origin}: not a valid {case} config"))?;
    Ok(Loaded {
        config,
        origin,
        tiers,
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered case ships a config (so `learnsim run CASE` works anywhere), and the
    /// compiled-in table holds no config of a case that is not registered.
    #[test]
    fn every_registered_case_ships_a_config() {
        let names = crate::case_names();
        for name in &names {
            let text = shipped(name).unwrap_or_else(|| panic!("{name} ships no config"));
            assert!(toml::from_str::<toml::Table>(text).is_ok(), "{name}");
        }
        for &(name, _) in SHIPPED {
            assert!(
                names.contains(&name),
                "{name} is shipped but not registered"
            );
        }
    }

    /// A file's own `[tiers]` size its tiers; a file without them takes the shipped config's
    /// (so a copy of a config with a field changed still runs `--quick` small); the command
    /// line's overrides win over a tier; a malformed `[tiers]` is refused naming the file and
    /// the field.
    #[test]
    fn tiers_come_from_the_file_else_the_shipped_config() {
        use learnsim_train::object_dynamics::ObjectTrainConfig;
        let dir = tempfile::tempdir().unwrap();
        let shipped_text = shipped("nbody-2d").unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let none = Overrides::default();
        let quick_steps = |path: &Path, overrides: &Overrides| {
            let loaded = load::<ObjectTrainConfig>(Some(path), "nbody-2d", overrides).unwrap();
            let cpu = loaded.config.steps;
            (cpu, loaded.at_tier(Tier::Quick, overrides).unwrap().steps)
        };
        // The shipped config's quick tier: 150 steps.
        let own = write("own.toml", shipped_text);
        assert_eq!(quick_steps(&own, &none).1, 150);
        // Its own tier.
        let mut table: toml::Table = toml::from_str(shipped_text).unwrap();
        table.remove("tiers");
        let stripped = toml::to_string(&table).unwrap();
        let mine = write(
            "mine.toml",
            &format!("{stripped}\n[tiers.quick]\nsteps = 7\n"),
        );
        assert_eq!(quick_steps(&mine, &none).1, 7);
        // No tiers: the shipped ones.
        let bare = write("bare.toml", &stripped);
        assert_eq!(quick_steps(&bare, &none), (quick_steps(&own, &none).0, 150));
        // The command line wins over the tier.
        let set = Overrides {
            seed: None,
            set: vec!["steps=11".into()],
        };
        assert_eq!(quick_steps(&mine, &set), (11, 11));
        // A malformed tier, and a tier that names a field the config does not have.
        let bad = write(
            "bad.toml",
            &format!("{stripped}\n[tiers.fast]\nsteps = 7\n"),
        );
        let err = load::<ObjectTrainConfig>(Some(&bad), "nbody-2d", &none).unwrap_err();
        assert!(
            format!("{err:#}").contains("bad.toml: `tiers.fast`"),
            "{err:#}"
        );
        let typo = write(
            "typo.toml",
            &format!("{stripped}\n[tiers.quick]\nstepz = 7\n"),
        );
        let loaded = load::<ObjectTrainConfig>(Some(&typo), "nbody-2d", &none).unwrap();
        let err = loaded.at_tier(Tier::Quick, &none).unwrap_err();
        assert!(format!("{err:#}").contains("stepz"), "{err:#}");
    }

    /// `--set` parses TOML values, reaches into tables and refuses what it cannot apply;
    /// `--seed` sets `seed`.
    #[test]
    fn overrides_set_values_keys_and_tables() {
        let mut table: toml::Table = toml::from_str("seed = 0\n[flow]\nn = 32\n").unwrap();
        let overrides = Overrides {
            seed: Some(7),
            set: vec![
                "flow.n=64".into(),
                "lr=1e-4".into(),
                "name=cnn".into(),
                "sizes=[1, 2]".into(),
            ],
        };
        overrides.apply(&mut table).unwrap();
        assert_eq!(table["seed"].as_integer(), Some(7));
        assert_eq!(table["flow"]["n"].as_integer(), Some(64));
        assert_eq!(table["lr"].as_float(), Some(1e-4));
        assert_eq!(table["name"].as_str(), Some("cnn"));
        assert_eq!(table["sizes"].as_array().map(Vec::len), Some(2));
        for bad in ["novalue", "=3", "seed.x=1"] {
            let overrides = Overrides {
                seed: None,
                set: vec![bad.into()],
            };
            assert!(overrides.apply(&mut table).is_err(), "{bad} was applied");
        }
    }
}
