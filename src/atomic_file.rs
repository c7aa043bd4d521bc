//! The one way the product writes a file (results, reports, exports, suites, recovery drafts):
//! whole or not at all.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` through a synced temporary file beside it and a rename, so a crash
/// leaves either the old file or the new one, whole.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(|| "file".into(), |name| name.to_string_lossy());
    let temp_path = directory.join(format!(".{name}.tmp"));
    let mut file = File::create(&temp_path)?;
    file.write_all(bytes).and_then(|()| file.sync_all())?;
    fs::rename(&temp_path, path)?;
    // Make the rename itself durable; not every platform can open a directory, so best effort.
    if let Ok(directory) = File::open(directory) {
        let _ = directory.sync_all();
    }
    Ok(())
}
