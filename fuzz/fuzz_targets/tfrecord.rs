//! DeepMind TFRecord reader: framing, CRCs and SequenceExample decoding on arbitrary bytes.
#![no_main]

use learnsim_data::tfrecord::{RecordReader, decode_record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = RecordReader::new(data, data.len() as u64);
    // Every record the framing accepts is decoded as 2D and 3D; any outcome but a panic,
    // a hang or an allocation beyond the input is fine.
    while let Ok(Some(record)) = reader.next_record() {
        let _ = decode_record(&record, 2);
        let _ = decode_record(&record, 3);
    }
    // The payload alone, without framing, exercises the protobuf decoder directly.
    let _ = decode_record(data, 2);
});
