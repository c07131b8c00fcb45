//! Replays the kept corpus and every past finding through the fuzz targets' bodies (REL-2).
//! `fuzz/seeds/<target>/` are the hand-written starting points, `fuzz/corpus/<target>/` what
//! libFuzzer kept (minimised), and `fuzz/regressions/<target>/` holds
//! the inputs that once broke a property, one file each.

use std::path::Path;

#[test]
fn the_corpus_replays_without_breaking_a_property() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for (name, target) in jszg_fuzz_targets::TARGETS {
        let mut files = 0;
        for folder in ["seeds", "corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else { continue };
            for entry in entries.flatten() {
                let Ok(data) = std::fs::read(entry.path()) else { continue };
                target(&data);
                files += 1;
            }
        }
        assert!(files > 0, "fuzz/corpus/{name} is empty: run fuzz/run.sh");
        replayed += files;
    }
    println!("replayed {replayed} inputs");
}
