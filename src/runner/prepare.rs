//! A workload's f32 master weights, prepared once for all its runs: generated from the seed,
//! read from its `weights` file, or from the user's model files (a language model's folder or
//! GGUF, a diffusion pipeline's folder), with the read timed and its page-cache state noted.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::device::{candle_error_text, panic_message};
use crate::models::{self, Weights};
use crate::results::FileLoadRecord;
use crate::suite::{ModelSpec, Workload};

/// The f32 master weights of the workload being run, generated once for all its runs.
pub(super) struct PreparedWorkload {
    workload_index: Option<usize>,
    weights: Result<Weights, String>,
    /// The read of the weights' files, when they came from files.
    file_load: Option<FileLoadRecord>,
}

impl PreparedWorkload {
    /// The weights (shared tensors) or why there are none.
    pub(super) fn weights(&self) -> Result<Weights, String> {
        self.weights.clone()
    }

    pub(super) fn none() -> Self {
        Self { workload_index: None, weights: Err("no workload prepared".into()), file_load: None }
    }

    /// How the weights' files were read, when they came from files.
    pub(super) fn file_load(&self) -> Option<FileLoadRecord> {
        self.file_load.clone()
    }

    /// Generates (or loads, when the workload names a file) the weights of `workload` unless
    /// they are the ones already held; relative files start at `base_dir`.
    pub(super) fn prepare(&mut self, index: usize, workload: &Workload, seed: u64, base_dir: &Path) {
        if self.workload_index == Some(index) {
            return;
        }
        // Free the previous workload's weights before allocating the next ones.
        self.weights = Err(String::new());
        let arch = models::architecture(&workload.model);
        let file_model = models::llm::workload_file_model(&workload.model);
        let weights_file = workload.weights.as_ref().map(|file| base_dir.join(file));
        let diffusion_folder = match &workload.model {
            ModelSpec::Diffusion(spec) if spec.path.is_some() => Some(spec),
            _ => None,
        };
        // A pipeline folder's read is told per component.
        let mut components = Vec::new();
        let obtain = || match (diffusion_folder, file_model, &weights_file) {
            (Some(spec), _, _) => models::diffusion::folder_weights_timed(spec).map(|(weights, loads)| {
                components = loads;
                weights
            }),
            (None, Some(model), _) => super::text::file_weights(model),
            (None, None, Some(file)) => models::load_weights(arch, file).map_err(|error| error.to_string()),
            (None, None, None) => models::generate_weights(arch, seed)
                .map_err(|error| format!("cannot generate the weights: {}", candle_error_text(&error))),
        };
        let files = models::diffusion::workload_weight_files(&workload.model)
            .unwrap_or_else(|| super::file_load::weight_files(file_model, weights_file.as_deref()));
        let (outcome, file_load) = super::file_load::timed_read(&files, || catch_unwind(AssertUnwindSafe(obtain)));
        let file_load = crate::results::FileLoadRecord { components, ..file_load };
        self.file_load = (!files.is_empty() && matches!(outcome, Ok(Ok(_)))).then_some(file_load);
        self.weights = match outcome {
            Ok(outcome) => outcome,
            Err(panic) => Err(format!("panicked while preparing the weights: {}", panic_message(&*panic))),
        };
        self.workload_index = Some(index);
    }
}
