//! Crash recovery of the suite being edited: while it has unsaved changes, the draft is written
//! to a recovery file (at most every [`AUTOSAVE_INTERVAL`], on a thread of its own, in order); a
//! save, a revert or a clean exit removes it, and a start that finds one offers to restore it.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::document::SuiteDocument;
use crate::suite::{self, Suite, SuiteError};

/// Shortest time between two writes of the recovery file.
pub const AUTOSAVE_INTERVAL: Duration = Duration::from_secs(2);

/// The unsaved draft of a suite, as written to the recovery file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// When it was written (RFC 3339, UTC).
    pub saved_at: String,
    /// The file the suite belongs to, when it has one.
    pub path: Option<PathBuf>,
    /// Where the suite came from, as the title shows it.
    pub origin: String,
    /// The draft as suite RON.
    pub suite_ron: String,
}

impl Recovery {
    /// The draft of `document`.
    pub fn of(document: &SuiteDocument) -> Result<Self, SuiteError> {
        Ok(Self {
            saved_at: crate::results::Timestamp::now().rfc3339(),
            path: document.path.clone(),
            origin: document.origin.clone(),
            suite_ron: suite::suite_to_ron(&document.suite)?,
        })
    }

    /// The recovery left in `file`, if there is a readable one.
    pub fn read(file: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(file).ok()?).ok()
    }

    /// The draft suite (as the user left it: it may not pass validation yet).
    pub fn suite(&self) -> Result<Suite, SuiteError> {
        suite::parse_suite_unchecked(&self.suite_ron, "recovered suite")
    }

    /// Writes it to `file`, atomically.
    fn write(&self, file: &Path) -> std::io::Result<()> {
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        crate::results::write_atomically(file, &serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)
    }
}

/// Writes and removes the recovery file on a named thread, in the order asked.
pub struct Autosaver {
    sender: SyncSender<Option<Recovery>>,
}

impl Autosaver {
    /// Starts the thread that keeps `file`.
    pub fn start(file: PathBuf) -> std::io::Result<Self> {
        let (sender, requests) = sync_channel::<Option<Recovery>>(8);
        std::thread::Builder::new().name("phasebench-autosave".into()).spawn(move || {
            for request in requests {
                // A failed write only loses the safety net; the editor keeps the draft.
                let _ = match request {
                    Some(recovery) => recovery.write(&file),
                    None => std::fs::remove_file(&file).or_else(|error| match error.kind() {
                        std::io::ErrorKind::NotFound => Ok(()),
                        _ => Err(error),
                    }),
                };
            }
        })?;
        Ok(Self { sender })
    }

    /// Writes `recovery` (or removes the file with `None`) after the requests before it.
    pub fn request(&self, recovery: Option<Recovery>) {
        let _ = self.sender.send(recovery);
    }
}

/// Where the app keeps its recovery file: beside eframe's own storage.
pub fn default_recovery_file() -> Option<PathBuf> {
    eframe::storage_dir("phasebench").map(|dir| dir.join("recovery.json"))
}
