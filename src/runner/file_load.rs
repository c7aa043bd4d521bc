//! How long a model's files take to read, and whether they were read from the page cache or the
//! disk: util-linux's `fincore` tells how much of a file is resident (phasebench forbids the
//! `unsafe` a memory map and `mincore` would need).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::results::FileLoadRecord;

/// Fraction of the bytes of `paths` resident in the page cache, from `fincore`; `None` when
/// there are no files, `fincore` is not installed or cannot read one of them.
pub fn page_cache_fraction(paths: &[PathBuf]) -> Option<f64> {
    if paths.is_empty() {
        return None;
    }
    let output = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--raw", "--output", "RES,SIZE"])
        .args(paths)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let (mut resident, mut size) = (0u64, 0u64);
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut fields = line.split_whitespace();
        resident += fields.next()?.parse::<u64>().ok()?;
        size += fields.next()?.parse::<u64>().ok()?;
    }
    (size > 0).then(|| (resident as f64 / size as f64).clamp(0.0, 1.0))
}

/// Runs `read` on the files `paths`, timed, with their page-cache state just before.
pub fn timed_read<T>(paths: &[PathBuf], read: impl FnOnce() -> T) -> (T, FileLoadRecord) {
    let page_cache_fraction = page_cache_fraction(paths);
    let bytes = paths.iter().filter_map(|path| std::fs::metadata(path).ok()).map(|meta| meta.len()).sum();
    let start = Instant::now();
    let value = read();
    let read_secs = start.elapsed().as_secs_f64();
    (value, FileLoadRecord { bytes, read_secs, page_cache_fraction, includes_build: false, components: Vec::new() })
}

/// The files a workload's weights are read from: a folder's safetensors or a `weights` file.
pub fn weight_files(file_model: Option<&crate::models::llm::FileModel>, weights: Option<&Path>) -> Vec<PathBuf> {
    match (file_model.and_then(|model| model.file.as_ref().ok()), weights) {
        (Some(file), _) if file.format == crate::models::llm::ModelFormat::HfFolder => file.weight_files.clone(),
        (Some(_), _) => Vec::new(),
        (None, Some(path)) => vec![path.to_path_buf()],
        (None, None) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_just_written_is_in_the_page_cache_and_a_missing_one_tells_nothing() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("weights.bin");
        std::fs::write(&path, vec![7u8; 1 << 20])?;
        let (read, record) = timed_read(std::slice::from_ref(&path), || std::fs::read(&path));
        assert_eq!(read?.len(), 1 << 20);
        assert_eq!(record.bytes, 1 << 20);
        // Written a moment ago, so its pages are still cached (fincore ships with util-linux).
        assert!(record.page_cache_fraction.is_some_and(|fraction| fraction > 0.9), "{record:?}");
        assert_eq!(page_cache_fraction(&[dir.path().join("missing.bin")]), None);
        assert_eq!(page_cache_fraction(&[]), None);
        Ok(())
    }
}
