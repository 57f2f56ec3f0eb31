//! geoelements NPZ reader: zip container, .npy headers and pickled object arrays.
#![no_main]

use learnsim_data::npz::{read_npy, read_npz};
use learnsim_data::pickle::Pickle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_npz(data);
    let _ = read_npy(data);
    if let Ok(pickle) = Pickle::parse(data) {
        let _ = pickle.array(pickle.root());
        let _ = pickle.dict_items(pickle.root());
    }
});
