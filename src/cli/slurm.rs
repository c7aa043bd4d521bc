//! Handing a suite to Slurm: an `sbatch` job-array script with one array task per shard
//! (`phasebench run --shard I/N`), submitted with `sbatch`. Slurm does the scheduling, retries and
//! node allocation; phasebench only writes the script and merges what comes back.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What the job array asks of Slurm.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRequest {
    /// Job name (file-safe suite name).
    pub name: String,
    /// The phasebench binary the tasks run.
    pub binary: PathBuf,
    /// The suite file (absolute).
    pub suite: PathBuf,
    /// The shared directory every task writes its shard result into (absolute).
    pub out: PathBuf,
    /// Number of shards, one array task each.
    pub shards: usize,
    /// Only these shards (from 1); all when empty.
    pub only: Vec<usize>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--gpus-per-task`.
    pub gpus_per_task: Option<u32>,
    /// `--time`, e.g. `01:00:00`.
    pub time: Option<String>,
    /// Give each task a whole node (`--exclusive`) so runs do not disturb each other.
    pub exclusive: bool,
}

/// Quotes `text` for a POSIX shell.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The `sbatch` script of `request`.
pub fn script(request: &JobRequest) -> String {
    let array = if request.only.is_empty() {
        format!("0-{}", request.shards.saturating_sub(1))
    } else {
        request.only.iter().map(|shard| (shard - 1).to_string()).collect::<Vec<_>>().join(",")
    };
    let mut text = String::from("#!/bin/bash\n");
    let _ = writeln!(
        text,
        "# Written by phasebench {}: suite {} as {} shards, one per array task.",
        env!("CARGO_PKG_VERSION"),
        request.suite.display(),
        request.shards
    );
    let _ = writeln!(text, "#SBATCH --job-name=phasebench-{}", request.name);
    let _ = writeln!(text, "#SBATCH --array={array}");
    text.push_str("#SBATCH --ntasks=1\n");
    if request.exclusive {
        text.push_str("#SBATCH --exclusive\n");
    }
    let _ = writeln!(text, "#SBATCH --output={}/slurm-%A_%a.out", request.out.display());
    if let Some(partition) = &request.partition {
        let _ = writeln!(text, "#SBATCH --partition={partition}");
    }
    if let Some(gpus) = request.gpus_per_task {
        let _ = writeln!(text, "#SBATCH --gpus-per-task={gpus}");
    }
    if let Some(time) = &request.time {
        let _ = writeln!(text, "#SBATCH --time={time}");
    }
    text.push_str("set -euo pipefail\nshard=$((SLURM_ARRAY_TASK_ID + 1))\n");
    let _ = writeln!(
        text,
        "exec {} run {} --shard \"$shard/{}\" --out {}",
        quoted(&request.binary.display().to_string()),
        quoted(&request.suite.display().to_string()),
        request.shards,
        quoted(&request.out.display().to_string())
    );
    text
}

/// Writes the script into the shared directory and returns its path.
pub fn write_script(request: &JobRequest) -> std::io::Result<PathBuf> {
    let path = request.out.join(format!("phasebench-{}.sbatch", request.name));
    phasebench::atomic_file::write_atomically(&path, script(request).as_bytes())?;
    Ok(path)
}

/// Submits `script` with `sbatch --parsable` and returns the job id.
pub fn submit(script: &Path) -> Result<String, String> {
    let output = std::process::Command::new("sbatch").arg("--parsable").arg(script).output().map_err(|error| {
        format!("cannot run sbatch ({error}): is this a Slurm login node? `--dry-run` prints the script instead")
    })?;
    if !output.status.success() {
        return Err(format!("sbatch refused the job: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout.trim().split(';').next().unwrap_or_default().to_owned();
    if id.is_empty() { Err("sbatch printed no job id".into()) } else { Ok(id) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> JobRequest {
        JobRequest {
            name: "tiny".into(),
            binary: "/opt/phase bench/phasebench".into(),
            suite: "/data/it's.ron".into(),
            out: "/shared/out".into(),
            shards: 3,
            only: Vec::new(),
            partition: Some("gpu".into()),
            gpus_per_task: Some(1),
            time: Some("01:00:00".into()),
            exclusive: true,
        }
    }

    #[test]
    fn the_script_is_one_array_task_per_shard_with_quoted_paths() {
        let text = script(&request());
        assert!(text.contains("#SBATCH --array=0-2\n"));
        assert!(text.contains("#SBATCH --exclusive\n#SBATCH --output=/shared/out/slurm-%A_%a.out\n"));
        assert!(text.contains("#SBATCH --partition=gpu\n#SBATCH --gpus-per-task=1\n#SBATCH --time=01:00:00\n"));
        assert!(text.ends_with(
            "exec '/opt/phase bench/phasebench' run '/data/it'\\''s.ron' --shard \"$shard/3\" --out '/shared/out'\n"
        ));
    }

    #[test]
    fn a_resubmission_names_only_the_shards_to_run_again() {
        let text = script(&JobRequest { only: vec![2, 3], exclusive: false, ..request() });
        assert!(text.contains("#SBATCH --array=1,2\n") && !text.contains("--exclusive"));
    }
}
