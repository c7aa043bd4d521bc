//! A [`SimpleBackend`] that records the tensors a candle-transformers model asks for while it is
//! built: the models of real families list their parameters this way, in their checkpoints' names.

use std::sync::{Arc, Mutex, PoisonError};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::{Init, VarBuilder, var_builder::SimpleBackend};

use super::{ParamInit, ParamTensor};

/// What the recording backend answers when a model asks whether a tensor exists (models choose
/// between optional tensors or naming schemes that way).
#[derive(Clone, Debug)]
pub(super) enum Presence {
    /// Every tensor asked about exists: the current naming, the optional tensors present (CLIP's
    /// class embedding, diffusers' `to_q` attention names).
    All,
    /// Exactly these (a file's tensors, so the recorded names are the ones the file uses).
    Names(std::collections::HashSet<String>),
}

/// A [`SimpleBackend`] that serves zeros of any shape (broadcast from one value, so nothing of
/// the model's size is allocated) and writes down what was asked for; tensors whose names hold
/// one of `absent` are refused, as a checkpoint without them would (models that try a tensor and
/// go without it when it fails, like ConvNeXt's V2-only response norm, then go without it).
pub(super) struct RecordingBackend {
    recorded: Arc<Mutex<Vec<ParamTensor>>>,
    presence: Presence,
    absent: &'static [&'static str],
}

impl SimpleBackend for RecordingBackend {
    fn get(&self, shape: Shape, name: &str, hint: Init, dtype: DType, device: &Device) -> candle_core::Result<Tensor> {
        if self.absent.iter().any(|part| name.contains(part)) {
            candle_core::bail!("`{name}` is not part of this model");
        }
        let param = ParamTensor::new(name, shape.dims().to_vec(), param_init(name, shape.dims(), hint));
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if !recorded.iter().any(|known| known.name == name) {
            recorded.push(param);
        }
        Tensor::zeros((), dtype, device)?.broadcast_as(shape)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _device: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("the recording backend cannot serve `{name}` without its shape")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        match &self.presence {
            Presence::All => true,
            Presence::Names(names) => names.contains(name),
        }
    }
}

/// The seeded initialization of a tensor from the hint the model gave for it: biases zero, norm
/// scales one, weights normal with the variance of their fan-in, embeddings and tokens N(0, 0.02).
fn param_init(name: &str, dims: &[usize], hint: Init) -> ParamInit {
    let fan_in = || dims.iter().skip(1).product::<usize>().max(1) as f64;
    let is_bias = name.ends_with("bias") || name.ends_with("running_mean");
    match hint {
        _ if is_bias => ParamInit::Zeros,
        Init::Const(1.0) => ParamInit::Ones,
        Init::Const(_) if dims.len() == 1 => ParamInit::Ones,
        Init::Const(_) => ParamInit::Normal(0.02),
        Init::Randn { stdev, .. } => ParamInit::Normal(stdev),
        Init::Uniform { lo, up } => ParamInit::Normal((up - lo) / 12f64.sqrt()),
        Init::Kaiming { .. } => ParamInit::Normal(1.0 / fan_in().sqrt()),
    }
}

/// The tensors `build` asks for when it builds a model from a recording builder that answers
/// `presence` (empty when the build fails: a spec `validate` refuses has no parameters to list).
pub(super) fn record<T>(
    presence: Presence,
    build: impl FnOnce(VarBuilder<'static>) -> candle_core::Result<T>,
) -> Vec<ParamTensor> {
    record_without(presence, &[], build)
}

/// [`record`], with the tensors whose names hold one of `absent` refused.
pub(super) fn record_without<T>(
    presence: Presence,
    absent: &'static [&'static str],
    build: impl FnOnce(VarBuilder<'static>) -> candle_core::Result<T>,
) -> Vec<ParamTensor> {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let backend = RecordingBackend { recorded: Arc::clone(&recorded), presence, absent };
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, Device::Cpu);
    match build(vb) {
        Ok(_) => std::mem::take(&mut *recorded.lock().unwrap_or_else(PoisonError::into_inner)),
        Err(_) => Vec::new(),
    }
}
