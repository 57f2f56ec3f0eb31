//! LagrangeBench HDF5 reader on arbitrary files (the decoder's panics must become errors).
#![no_main]

use learnsim_core::TypeConvention;
use learnsim_data::read_split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("learnsim-fuzz-{}.h5", std::process::id()));
    std::fs::write(&path, data).expect("temp dir is writable");
    let _ = read_split(&path, TypeConvention::Lagrangebench);
});
