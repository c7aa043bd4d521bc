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
use super::{Notice, Selection, default_document, load_document};

impl super::PhasebenchApp {
    /// Keeps the recovery file in step with the draft: written while there are unsaved changes (at
    /// most every [`AUTOSAVE_INTERVAL`]), removed once there are none. Never while a recovery is
    /// still offered, so the offer is not overwritten before the user answers.
    pub(super) fn autosave(&mut self, ctx: &egui::Context) {
        let Some(autosaver) = &self.autosaver else { return };
        if self.recovery_offer.is_some() {
            return;
        }
        if !self.document.is_dirty() {
            if self.autosaved.take().is_some() {
                autosaver.request(None);
            }
            return;
        }
        match &self.autosaved {
            Some((_, suite)) if *suite == self.document.suite => {}
            Some((at, _)) if at.elapsed() < AUTOSAVE_INTERVAL => {
                // Come back when the interval is over, even if nothing else happens.
                ctx.request_repaint_after(AUTOSAVE_INTERVAL.saturating_sub(at.elapsed()));
            }
            _ => {
                if let Ok(recovery) = Recovery::of(&self.document) {
                    autosaver.request(Some(recovery));
                    self.autosaved = Some((std::time::Instant::now(), self.document.suite.clone()));
                }
            }
        }
    }

    /// Forgets the offered draft and deletes its file unused.
    pub(super) fn discard_recovery(&mut self) {
        self.recovery_offer = None;
        if let Some(autosaver) = &self.autosaver {
            autosaver.request(None);
        }
    }

    /// Removes the recovery file at a clean exit.
    pub(super) fn forget_recovery(&mut self) {
        if let Some(file) = &self.config.recovery_file
            && self.recovery_offer.is_none()
        {
            let _ = std::fs::remove_file(file);
        }
    }

    /// Opens the recovered draft, with unsaved changes against its file (or the default suite).
    pub(super) fn restore(&mut self, recovery: &Recovery) {
        let draft = match recovery.suite() {
            Ok(draft) => draft,
            Err(error) => {
                self.notice = Some(Notice { title: "The draft could not be restored".into(), text: error.to_string() });
                return;
            }
        };
        let mut document = recovery.path.as_deref().and_then(|path| load_document(path).ok()).unwrap_or_else(|| {
            SuiteDocument::new(default_document().suite, recovery.path.clone(), recovery.origin.clone())
        });
        document.suite = draft;
        document.structure_changed();
        self.document = document;
        self.selection = Selection::Settings;
        self.status = format!("restored the unsaved draft of {} from {}", self.document.suite.name, recovery.saved_at);
    }
}
