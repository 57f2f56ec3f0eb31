//! A config file's tier tables (issue #25): `[tiers.quick]` and `[tiers.paper]` hold the fields
//! the `--quick` and `--tier paper` sizes change, in the file beside the fields they change, so
//! a case's sizes are data, not code.
//!
//! ```toml
//! steps = 6000
//! [flow]
//! n = 64
//!
//! [tiers.quick]
//! steps = 60
//! flow.n = 16             # a nested table is merged key by key
//! unset = ["pushforward"] # optional fields the tier turns off
//! ```
//!
//! A tier's table is applied to the config's own table: first the keys named in `unset`
//! (dotted for nested tables) are removed, then every other key replaces the config's, tables
//! merged key by key. The result is then read as the config, so a misspelt field in a tier is
//! refused like one in the file.

use crate::validate::FieldError;
use serde::de::DeserializeOwned;
use std::fmt;

/// The table in a config file that holds the tiers.
pub const TIERS_KEY: &str = "tiers";

/// The key of a tier's table that lists the fields it removes.
const UNSET_KEY: &str = "unset";

/// A size a config file can change for: `--quick` or `--tier paper` (the CPU tier is the file
/// as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// `--quick`: a smoke run of a minute or two.
    Quick,
    /// `--tier paper`: the published sizes.
    Paper,
}

impl Tier {
    /// Both tiers.
    pub const ALL: [Tier; 2] = [Tier::Quick, Tier::Paper];

    /// The tier's name, as in `[tiers.NAME]`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Quick => "quick",
            Tier::Paper => "paper",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A config file's `[tiers]` table, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tiers {
    quick: Option<TierChanges>,
    paper: Option<TierChanges>,
}

/// What one tier changes: the fields it removes, then the values it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct TierChanges {
    /// Dotted names of the fields removed (`unset`).
    unset: Vec<String>,
    /// The values written over the config's, tables merged key by key.
    set: toml::Table,
}

impl Tiers {
    /// Removes `[tiers]` from a config file's table and checks it: only `quick` and `paper`,
    /// each a table, whose `unset` (if any) is a list of field names. `None` when the file has
    /// no `[tiers]`.
    pub fn take(table: &mut toml::Table) -> Result<Option<Self>, FieldError> {
        let Some(value) = table.remove(TIERS_KEY) else {
            return Ok(None);
        };
        let toml::Value::Table(tiers) = value else {
            return Err(refuse(TIERS_KEY, &value, "a table of tier tables"));
        };
        let mut out = Self::default();
        for (name, value) in tiers {
            let field = format!("{TIERS_KEY}.{name}");
            let tier = match name.as_str() {
                "quick" => &mut out.quick,
                "paper" => &mut out.paper,
                _ => return Err(refuse(&field, &value, "a tier: `quick` or `paper`")),
            };
            let toml::Value::Table(mut set) = value else {
                return Err(refuse(
                    &field,
                    &value,
                    "a table of the fields the tier changes",
                ));
            };
            let unset = unset_list(set.remove(UNSET_KEY), &field)?;
            *tier = Some(TierChanges { unset, set });
        }
        Ok(Some(out))
    }

    /// The changes of `tier`, if the file gives it any.
    pub fn get(&self, tier: Tier) -> Option<&TierChanges> {
        match tier {
            Tier::Quick => self.quick.as_ref(),
            Tier::Paper => self.paper.as_ref(),
        }
    }

    /// `table` with `tier`'s changes applied (nothing when the file has no such tier): its
    /// `unset` fields removed, then its other keys written over the table's, nested tables
    /// merged key by key.
    pub fn apply(&self, tier: Tier, table: &mut toml::Table) {
        let Some(changes) = self.get(tier) else {
            return;
        };
        for path in &changes.unset {
            remove_path(table, path);
        }
        for (key, value) in &changes.set {
            merge(table, key, value.clone());
        }
    }
}

/// A config file's text read as `C`, without its `[tiers]`, and the tiers it has.
pub fn parse_config<C: DeserializeOwned>(
    text: &str,
) -> Result<(C, Option<Tiers>), ConfigFileError> {
    let mut table: toml::Table = toml::from_str(text).map_err(ConfigFileError::Toml)?;
    let tiers = Tiers::take(&mut table).map_err(ConfigFileError::Tiers)?;
    let config = toml::Value::Table(table)
        .try_into()
        .map_err(ConfigFileError::Toml)?;
    Ok((config, tiers))
}

/// Why a config file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// Not TOML, or not a config of this kind.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A malformed `[tiers]` table.
    #[error("{0}")]
    Tiers(FieldError),
}

/// The dotted field names of a tier's `unset` (empty without one), checked.
fn unset_list(value: Option<toml::Value>, tier_field: &str) -> Result<Vec<String>, FieldError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let field = format!("{tier_field}.{UNSET_KEY}");
    let allowed = "a list of field names (dotted for nested tables), e.g. [\"pushforward\"]";
    let toml::Value::Array(items) = &value else {
        return Err(refuse(&field, &value, allowed));
    };
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(name) if !name.is_empty() && name.split('.').all(|p| !p.is_empty()) => {
                Ok(name.to_string())
            }
            _ => Err(refuse(&field, &value, allowed)),
        })
        .collect()
}

/// Removes the field at a dotted path, if present.
fn remove_path(table: &mut toml::Table, path: &str) {
    match path.split_once('.') {
        None => {
            table.remove(path);
        }
        Some((head, rest)) => {
            if let Some(toml::Value::Table(inner)) = table.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

/// Writes `value` at `key`: a table into a table key by key, anything else over what is there.
fn merge(table: &mut toml::Table, key: &str, value: toml::Value) {
    match (table.get_mut(key), value) {
        (Some(toml::Value::Table(inner)), toml::Value::Table(changes)) => {
            for (k, v) in changes {
                merge(inner, &k, v);
            }
        }
        (_, value) => {
            table.insert(key.to_string(), value);
        }
    }
}

fn refuse(field: &str, value: &toml::Value, allowed: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        value: value.to_string(),
        allowed: allowed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    /// A tier's values replace the file's, nested tables merge key by key (the other keys of
    /// the table stay), `unset` removes fields before the merge (so a tagged table can be
    /// replaced whole), and the file without a tier is left as written.
    #[test]
    fn a_tier_replaces_merges_and_unsets() {
        let mut config = table(
            "steps = 6000\nlr = 1e-3\nunchanged = [1, 2]\n\
             [flow]\nn = 64\nspin_up = 20.0\n\
             [push]\nsteps = 2\n\
             [weighting]\nkind = \"contact\"\nboost = 4.0\n\
             [tiers.quick]\nsteps = 60\nflow.n = 16\nunset = [\"push\", \"weighting\", \"flow.spin_up\"]\n\
             weighting = { kind = \"uniform\" }\n\
             [tiers.paper]\nsteps = 100000\n",
        );
        let tiers = Tiers::take(&mut config).unwrap().unwrap();
        assert!(!config.contains_key(TIERS_KEY));
        let cpu = config.clone();
        let mut quick = config.clone();
        tiers.apply(Tier::Quick, &mut quick);
        let expected = table(
            "steps = 60\nlr = 1e-3\nunchanged = [1, 2]\n[flow]\nn = 16\n\
             [weighting]\nkind = \"uniform\"\n",
        );
        assert_eq!(quick, expected);
        // Applying a tier twice changes nothing more (a resolved config stays resolved).
        let mut twice = quick.clone();
        tiers.apply(Tier::Quick, &mut twice);
        assert_eq!(twice, quick);
        let mut paper = config.clone();
        tiers.apply(Tier::Paper, &mut paper);
        assert_eq!(paper["steps"].as_integer(), Some(100_000));
        assert_eq!(paper["flow"]["n"].as_integer(), Some(64));
        assert_eq!(config, cpu);
        // A file without tiers has none, and applying a tier it lacks leaves it as it is.
        let mut plain = table("steps = 1\n");
        assert_eq!(Tiers::take(&mut plain).unwrap(), None);
        let mut only_quick = table("[tiers.quick]\nsteps = 2\n");
        let tiers = Tiers::take(&mut only_quick).unwrap().unwrap();
        tiers.apply(Tier::Paper, &mut plain);
        assert_eq!(plain, table("steps = 1\n"));
    }

    /// A malformed `[tiers]` is refused with the field named.
    #[test]
    fn malformed_tiers_are_refused_by_field() {
        for (text, field) in [
            ("tiers = 3\n", "tiers"),
            ("[tiers.fast]\nsteps = 2\n", "tiers.fast"),
            ("[tiers]\nquick = 2\n", "tiers.quick"),
            ("[tiers.quick]\nunset = \"push\"\n", "tiers.quick.unset"),
            ("[tiers.paper]\nunset = [3]\n", "tiers.paper.unset"),
            ("[tiers.paper]\nunset = [\"a..b\"]\n", "tiers.paper.unset"),
        ] {
            let err = Tiers::take(&mut table(text)).expect_err(text);
            assert_eq!(err.field, field, "{text}: {err}");
        }
    }

    /// `parse_config` reads the config without its tiers, and a field the config does not
    /// have is still refused.
    #[test]
    fn parse_config_leaves_the_tiers_out_of_the_config() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct Small {
            steps: usize,
        }
        let (small, tiers) =
            parse_config::<Small>("steps = 5\n[tiers.quick]\nsteps = 1\n").unwrap();
        assert_eq!(small, Small { steps: 5 });
        assert!(tiers.unwrap().get(Tier::Quick).is_some());
        assert!(parse_config::<Small>("steps = 5\nstepz = 1\n").is_err());
        assert!(matches!(
            parse_config::<Small>("steps = 5\n[tiers.huge]\n"),
            Err(ConfigFileError::Tiers(_))
        ));
    }
}
