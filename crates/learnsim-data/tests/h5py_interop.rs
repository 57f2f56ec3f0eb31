//! Interoperability with h5py, the reader and writer of LagrangeBench's datasets.
//!
//! Files we write must open in h5py with LagrangeBench's exact layout, and files h5py writes in
//! that layout (gzip chunks, int64 types) must read back identically. Needs Python with h5py and
//! numpy: `LEARNSIM_PYTHON`, else the workspace's `.venv` (made by `scripts/test.sh`), else
//! `python3`.

use crate::common::run_python;
use learnsim_core::TypeConvention;
use learnsim_data::{read_split, write_split};

#[test]
fn files_we_write_have_lagrangebench_layout_in_h5py() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.h5");
    let data = vec![
        crate::common::trajectory(20, 7, 2, 3),
        crate::common::trajectory(5, 4, 2, 0),
    ];
    write_split(&path, &data, TypeConvention::Lagrangebench).unwrap();
    let report = run_python(
        r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert list(f.keys()) == ["00000", "00001"], list(f.keys())
    for name in f:
        g = f[name]
        assert sorted(g.keys()) == ["particle_type", "position"], list(g.keys())
        pos, typ = g["position"], g["particle_type"]
        assert pos.dtype == np.float32 and pos.ndim == 3, (pos.dtype, pos.shape)
        assert pos.compression == "gzip" and pos.chunks is not None, (pos.compression, pos.chunks)
        assert np.issubdtype(typ.dtype, np.integer) and typ.shape == (pos.shape[1],)
        t, n, d = pos.shape
        expect = (np.arange(t)[:, None, None] + np.arange(n)[None, :, None] / np.float32(128)
                  + np.arange(d)[None, None, :] / np.float32(1024)).astype(np.float32)
        x = pos[()]
        assert np.array_equal(x, expect), float(np.abs(x - expect).max())
        print(name, pos.shape, typ[()].tolist())
"#,
        &[&path],
    );
    assert!(
        report.contains("00000 (20, 7, 2) [1, 0, 0, 1, 0, 0, 1]"),
        "{report}"
    );
    assert!(report.contains("00001 (5, 4, 2) [0, 0, 0, 0]"), "{report}");
}

#[test]
fn lagrangebench_files_written_by_h5py_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("valid.h5");
    run_python(
        r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    for k, (t, n) in enumerate([(20, 7), (5, 4)]):
        g = f.create_group(f"{k:05d}")
        pos = (np.arange(t)[:, None, None] + np.arange(n)[None, :, None] / np.float32(128)
               + np.arange(2)[None, None, :] / np.float32(1024)).astype(np.float32)
        g.create_dataset("position", data=pos, compression="gzip", chunks=(4, n, 2))
        g.create_dataset("particle_type", data=np.array([1 if (k == 0 and p % 3 == 0) else 0 for p in range(n)], dtype=np.int64))
"#,
        &[&path],
    );
    let read = read_split(&path, TypeConvention::Lagrangebench).unwrap();
    assert_eq!(
        read,
        vec![
            crate::common::trajectory(20, 7, 2, 3),
            crate::common::trajectory(5, 4, 2, 0)
        ]
    );
}

#[test]
fn hostile_h5py_files_give_errors_naming_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 4] = [
        (
            "missing.h5",
            r#"g = f.create_group("00000"); g.create_dataset("particle_type", data=np.zeros(3, dtype=np.int64))"#,
            "missing dataset `position`",
        ),
        (
            "dtype.h5",
            r#"g = f.create_group("00000"); g.create_dataset("position", data=np.zeros((4, 3, 2), dtype=np.int32)); g.create_dataset("particle_type", data=np.zeros(3, dtype=np.int64))"#,
            "expected float32",
        ),
        (
            "shape.h5",
            r#"g = f.create_group("00000"); g.create_dataset("position", data=np.zeros((4, 6), dtype=np.float32)); g.create_dataset("particle_type", data=np.zeros(3, dtype=np.int64))"#,
            "expected [T, N, D]",
        ),
        (
            "types.h5",
            r#"g = f.create_group("00000"); g.create_dataset("position", data=np.zeros((4, 3, 2), dtype=np.float32)); g.create_dataset("particle_type", data=np.zeros(5, dtype=np.int64))"#,
            "`particle_type` has shape [5]",
        ),
    ];
    for (name, body, expected) in cases {
        let path = dir.path().join(name);
        let script = format!(
            "import sys, h5py, numpy as np\nwith h5py.File(sys.argv[1], 'w') as f:\n    {body}\n"
        );
        run_python(&script, &[&path]);
        let err = read_split(&path, TypeConvention::Lagrangebench)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("group 00000"),
            "{err}"
        );
        assert!(err.contains(expected), "{name}: {err}");
    }
    let empty = dir.path().join("empty.h5");
    run_python(
        "import sys, h5py\nh5py.File(sys.argv[1], 'w').close()\n",
        &[&empty],
    );
    let err = read_split(&empty, TypeConvention::Lagrangebench)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no trajectory groups"), "{err}");
}

/// Files h5py writes in the other layouts the field's tools produce read back with the same
/// values: contiguous and uncompressed storage, shuffle + gzip, float64 positions (what
/// LagrangeBench's own files hold), int32, uint8 and big-endian particle types, and more than
/// 16 groups (past HDF5's compact group storage), and h5py's own lzf filter.
#[test]
fn h5py_files_in_every_common_layout_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    // (file, position dtype and storage, particle_type dtype, groups)
    let layouts = [
        ("contiguous.h5", "dtype=np.float32", "np.int64", 2),
        (
            "shuffle.h5",
            "dtype=np.float32, compression='gzip', shuffle=True, chunks=(2, n, 2)",
            "np.int64",
            2,
        ),
        (
            "float64.h5",
            "dtype=np.float64, compression='gzip', chunks=(4, n, 2)",
            "np.int64",
            2,
        ),
        ("int32.h5", "dtype=np.float32", "np.int32", 2),
        ("uint8.h5", "dtype=np.float32", "np.uint8", 2),
        ("bigendian.h5", "dtype='>f4'", "'>i8'", 2),
        (
            "many.h5",
            "dtype=np.float32, compression='gzip', chunks=(4, n, 2)",
            "np.int64",
            40,
        ),
        (
            "lzf.h5",
            "dtype=np.float32, compression='lzf', chunks=(4, n, 2)",
            "np.int64",
            2,
        ),
    ];
    for (name, storage, types, groups) in layouts {
        let path = dir.path().join(name);
        let script = format!(
            r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    for k in range({groups}):
        t, n = (20, 7) if k % 2 == 0 else (5, 4)
        g = f.create_group(f"{{k:05d}}")
        pos = (np.arange(t)[:, None, None] + np.arange(n)[None, :, None] / np.float32(128)
               + np.arange(2)[None, None, :] / np.float32(1024)).astype(np.float32)
        g.create_dataset("position", data=pos, {storage})
        kinds = [1 if (k % 2 == 0 and p % 3 == 0) else 0 for p in range(n)]
        g.create_dataset("particle_type", data=np.array(kinds, dtype={types}))
"#
        );
        run_python(&script, &[&path]);
        let read = read_split(&path, TypeConvention::Lagrangebench)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(read.len(), groups, "{name}");
        for (k, t) in read.iter().enumerate() {
            let want = if k % 2 == 0 {
                crate::common::trajectory(20, 7, 2, 3)
            } else {
                crate::common::trajectory(5, 4, 2, 0)
            };
            assert_eq!(t, &want, "{name}: group {k}");
        }
    }
}
