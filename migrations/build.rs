//! Computes `LETHE_SCHEMA_FINGERPRINT`: an FNV-1a hash over the migration sources.

use std::fs;

fn main() {
    let mut files: Vec<_> =
        fs::read_dir("src").expect("src/ exists").map(|e| e.expect("readable dir entry").path()).collect();
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        for byte in path.to_string_lossy().bytes().chain(fs::read(path).expect("readable file")) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rustc-env=LETHE_SCHEMA_FINGERPRINT={hash:016x}");
}
