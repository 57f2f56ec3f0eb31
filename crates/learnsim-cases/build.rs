//! Compiles every shipped config, `configs/*.toml` at the repository root, into the library
//! (`configs::shipped`), so that `learnsim run CASE` works from any folder and a new case's
//! config ships by being put in `configs/`: nothing to register.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = manifest.join("../../configs");
    // A directory: cargo reruns this script when anything in it changes (a config added).
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut configs: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable entry of configs/").path())
        .filter(|path| path.extension().is_some_and(|x| x == "toml"))
        .map(|path| {
            let case = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a UTF-8 config name")
                .to_string();
            let path = path.canonicalize().expect("an existing config");
            (case, path)
        })
        .collect();
    configs.sort();
    let mut code = String::from(
        "/// The shipped configs, `configs/CASE.toml` as the repository holds them (by name).\n\
         const SHIPPED: &[(&str, &str)] = &[\n",
    );
    for (case, path) in &configs {
        code.push_str(&format!(
            "    ({case:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("shipped_configs.rs"), code).expect("OUT_DIR is writable");
}
