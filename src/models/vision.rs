//! Vision encoders of real families, built by `candle-transformers` (never re-implemented here):
//! ViT, DINOv2, ConvNeXt and ResNet with their classification heads, CLIP's and SigLIP's image
//! towers. Their parameter tensors are
//! not listed by hand: the model is built once against a recording [`SimpleBackend`] that notes
//! every tensor it asks for (name, shape and the initialization it names), so the names are the
//! checkpoints' own (Hugging Face for ViT, Meta's for DINOv2, timm's for ConvNeXt and ResNet).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{clip, convnext, dinov2, resnet, siglip, vit};

use super::{Architecture, BuildOptions, Network, ParamTensor};
use crate::suite::{VisionFamily, VisionPreset, VisionSpec};

/// A built vision model.
enum VisionNetwork {
    Vit(vit::Model),
    Dinov2(dinov2::DinoVisionTransformer),
    Convolutional(candle_nn::Func<'static>),
    Clip(Box<clip::vision_model::ClipVisionTransformer>),
    Siglip(Box<siglip::VisionModel>),
}

impl Network for VisionNetwork {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Vit(model) => model.forward(input),
            Self::Dinov2(model) => model.forward(input),
            Self::Convolutional(model) => model.forward(input),
            Self::Clip(model) => model.forward(input),
            Self::Siglip(model) => model.forward(input),
        }
    }
}

/// The ViT configuration of a preset at `image_size`.
fn vit_config(preset: VisionPreset, image_size: usize) -> vit::Config {
    let base = vit::Config::vit_base_patch16_224();
    let (hidden_size, num_hidden_layers, num_attention_heads, patch_size) = match preset {
        VisionPreset::Tiny => (64, 2, 4, 8),
        VisionPreset::Small => (384, 12, 6, 16),
        VisionPreset::Base => (768, 12, 12, 16),
    };
    vit::Config {
        hidden_size,
        num_hidden_layers,
        num_attention_heads,
        intermediate_size: 4 * hidden_size,
        image_size,
        patch_size,
        ..base
    }
}

/// Builds the model of `spec` from the weights `vb` serves.
fn build_vision(spec: &VisionSpec, vb: VarBuilder<'static>) -> candle_core::Result<VisionNetwork> {
    Ok(match spec.family {
        VisionFamily::Vit => {
            VisionNetwork::Vit(vit::Model::new(&vit_config(spec.preset, spec.image_size), spec.classes, vb)?)
        }
        VisionFamily::Dinov2 => {
            let (depth, dim, heads) = match spec.preset {
                VisionPreset::Tiny => (2, 64, 4),
                VisionPreset::Small => (12, 384, 6),
                VisionPreset::Base => (12, 768, 12),
            };
            VisionNetwork::Dinov2(dinov2::DinoVisionTransformer::new(vb, depth, dim, heads)?)
        }
        VisionFamily::ConvNext => {
            let config = match spec.preset {
                VisionPreset::Tiny => convnext::Config::atto(),
                VisionPreset::Small => convnext::Config::tiny(),
                VisionPreset::Base => convnext::Config::base(),
            };
            VisionNetwork::Convolutional(convnext::convnext(&config, spec.classes, vb)?)
        }
        VisionFamily::Clip => {
            let (embed_dim, num_hidden_layers, num_attention_heads, patch_size) = match spec.preset {
                VisionPreset::Tiny => (64, 2, 4, 8),
                VisionPreset::Small => (768, 12, 12, 32),
                VisionPreset::Base => (1024, 24, 16, 14),
            };
            let config = clip::vision_model::ClipVisionConfig {
                embed_dim,
                activation: clip::text_model::Activation::QuickGelu,
                intermediate_size: 4 * embed_dim,
                num_hidden_layers,
                num_attention_heads,
                projection_dim: 512,
                num_channels: 3,
                image_size: spec.image_size,
                patch_size,
            };
            let model = clip::vision_model::ClipVisionTransformer::new(vb.pp("vision_model"), &config)?;
            VisionNetwork::Clip(Box::new(model))
        }
        VisionFamily::Siglip => {
            let (hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, patch_size) = match spec.preset
            {
                VisionPreset::Tiny => (64, 256, 2, 4, 8),
                VisionPreset::Small => (768, 3072, 12, 12, 16),
                VisionPreset::Base => (1152, 4304, 27, 16, 14),
            };
            let config = siglip::VisionConfig {
                hidden_size,
                intermediate_size,
                num_hidden_layers,
                num_attention_heads,
                num_channels: 3,
                image_size: spec.image_size,
                patch_size,
                hidden_act: candle_nn::Activation::GeluPytorchTanh,
                layer_norm_eps: 1e-6,
            };
            let model = siglip::VisionModel::new(&config, true, vb.pp("vision_model"))?;
            VisionNetwork::Siglip(Box::new(model))
        }
        VisionFamily::ResNet => VisionNetwork::Convolutional(match spec.preset {
            VisionPreset::Tiny => resnet::resnet18(spec.classes, vb)?,
            VisionPreset::Small => resnet::resnet50(spec.classes, vb)?,
            VisionPreset::Base => resnet::resnet101(spec.classes, vb)?,
        }),
    })
}

/// The parameter tensors of `spec`, recorded once per spec and process.
fn recorded_parameters(spec: &VisionSpec) -> Vec<ParamTensor> {
    static RECORDED: OnceLock<Mutex<HashMap<VisionSpec, Vec<ParamTensor>>>> = OnceLock::new();
    let cache = RECORDED.get_or_init(Mutex::default);
    if let Some(known) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(spec) {
        return known.clone();
    }
    // Every optional tensor present: CLIP's tower then records its class embedding (which candle
    // would otherwise draw at random, unseeded, at every build).
    // ConvNeXt's presets are V1 (timm's `convnext_*`): candle tries the V2 response norm and goes
    // without it when the checkpoint has none, so the recording refuses it.
    let absent: &[&str] = if spec.family == VisionFamily::ConvNext { &[".grn."] } else { &[] };
    let params = super::recording::record_without(super::recording::Presence::All, absent, |vb| build_vision(spec, vb));
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(*spec, params.clone());
    params
}

impl Architecture for VisionSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        recorded_parameters(self)
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, 3, self.image_size, self.image_size]
    }

    /// Two operations per weight of every linear layer and per patch or pixel position it is
    /// applied at is more than this catalog knows of these models; left unknown.
    fn flops_per_item(&self) -> Option<f64> {
        None
    }

    fn build(&self, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        if options.quantization.is_some() {
            candle_core::bail!("candle-transformers' vision models have no quantized form");
        }
        // The convolutional models' closures borrow their builder's lifetime: they are built from
        // a builder that owns the same tensors (shared storage, so training still reaches them).
        let tensors = self
            .parameters()
            .into_iter()
            .map(|param| Ok((param.name.clone(), vb.get(param.shape.as_slice(), &param.name)?)))
            .collect::<candle_core::Result<HashMap<String, Tensor>>>()?;
        let owned = VarBuilder::from_tensors(tensors, vb.dtype(), vb.device());
        Ok(Box::new(build_vision(self, owned)?))
    }

    /// CLIP's and SigLIP's vision towers have no classifier: their output is an embedding, not
    /// classes.
    fn classes(&self) -> Option<usize> {
        (!self.family.embeds()).then_some(self.classes)
    }

    /// candle 0.11's DINOv2 does not broadcast its class token over the batch.
    fn batch_limit(&self) -> Option<usize> {
        (self.family == VisionFamily::Dinov2).then_some(1)
    }
}

/// What a vision checkpoint (one safetensors file) holds: its tensors, and the `Vision` spec
/// whose tensors it matches exactly, when one does.
#[derive(Clone, Debug)]
pub struct VisionCheckpoint {
    /// Tensors in the file.
    pub tensors: usize,
    /// Their elements.
    pub parameters: usize,
    /// Bytes of the file.
    pub bytes: u64,
    /// The spec to write in a suite, when a family and preset match every tensor and shape.
    pub spec: Option<VisionSpec>,
}

/// Reads a safetensors file's header (not its data) and finds the `Vision` spec that matches it:
/// the classes from the head's rows, ViT's image size from its position embeddings (224 for the
/// others, whose tensors do not depend on it).
pub fn read_vision_checkpoint(path: &std::path::Path) -> Result<VisionCheckpoint, String> {
    let (entries, bytes) = super::llm::safetensors_header(path).map_err(|error| error.to_string())?;
    let found: HashMap<&str, &[usize]> =
        entries.iter().map(|entry| (entry.name.as_str(), entry.shape.as_slice())).collect();
    let head_rows = ["classifier.weight", "head.weight", "head.fc.weight", "fc.weight"]
        .iter()
        .find_map(|name| found.get(name).and_then(|shape| shape.first().copied()));
    let matches = |spec: &VisionSpec| {
        let expected = spec.parameters();
        spec.problems().is_empty()
            && expected.len() == found.len()
            && expected.iter().all(|param| found.get(param.name.as_str()) == Some(&param.shape.as_slice()))
    };
    let spec = VisionFamily::ALL
        .into_iter()
        .flat_map(|family| VisionPreset::ALL.into_iter().map(move |preset| (family, preset)))
        .filter_map(|(family, preset)| {
            // CLIP's and SigLIP's towers have no classifier: their spec leaves `classes` at the
            // default.
            let classes = if family.embeds() { 1000 } else { head_rows? };
            let image_size = match found.get("vit.embeddings.position_embeddings") {
                Some(&[1, tokens, _]) if family == VisionFamily::Vit => {
                    let side = ((tokens.saturating_sub(1)) as f64).sqrt().round() as usize;
                    side * family.image_multiple(preset)
                }
                _ if family.embeds() => {
                    match found.get("vision_model.embeddings.position_embedding.weight") {
                        Some(&[positions, _]) => {
                            // CLIP has a class token's position besides the patches; SigLIP not.
                            let patches =
                                if family == VisionFamily::Clip { positions.saturating_sub(1) } else { *positions };
                            let side = (patches as f64).sqrt().round() as usize;
                            side * family.image_multiple(preset)
                        }
                        _ => 224,
                    }
                }
                _ => 224,
            };
            Some(VisionSpec { family, preset, image_size, classes })
        })
        .find(matches);
    let parameters = entries.iter().map(|entry| entry.shape.iter().product::<usize>()).sum();
    Ok(VisionCheckpoint { tensors: entries.len(), parameters, bytes, spec })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{build_network, generate_weights, seeded_input};
    use candle_core::{DType, Device};

    #[test]
    fn every_family_builds_from_its_recorded_tensors_and_classifies() -> candle_core::Result<()> {
        for family in VisionFamily::ALL {
            let image_size = if family == VisionFamily::Dinov2 { 28 } else { 32 };
            let classes = if family == VisionFamily::Dinov2 || family.embeds() { 1000 } else { 7 };
            let spec = VisionSpec { family, preset: VisionPreset::Tiny, image_size, classes };
            // CLIP's and SigLIP's towers give the pooled image embedding (width 64 at Tiny).
            let classes = if family.embeds() { 64 } else { classes };
            let params = spec.parameters();
            assert!(params.len() > 10, "{family}: {} tensors", params.len());
            let weights = generate_weights(&spec, 3)?;
            let network = build_network(&spec, &weights, DType::F32, &Device::Cpu, BuildOptions::default())?;
            // candle 0.11's DINOv2 takes one image at a time (validate refuses larger batches).
            let batch = if family == VisionFamily::Dinov2 { 1 } else { 2 };
            let output = network.forward(&seeded_input(&spec, batch, 3, DType::F32, &Device::Cpu)?)?;
            assert_eq!(output.dims(), &[batch, classes], "{family}");
            let values = output.flatten_all()?.to_vec1::<f32>()?;
            assert!(values.iter().all(|value| value.is_finite()), "{family}: {values:?}");
            assert!(values.iter().any(|&value| value != values[0]), "{family}: a constant output");
        }
        Ok(())
    }

    #[test]
    fn published_presets_name_the_checkpoints_tensors() {
        let vit = VisionSpec { family: VisionFamily::Vit, preset: VisionPreset::Base, image_size: 224, classes: 1000 };
        let names: Vec<String> = vit.parameters().into_iter().map(|param| param.name).collect();
        for name in ["vit.embeddings.patch_embeddings.projection.weight", "vit.encoder.layer.11.output.dense.bias"] {
            assert!(names.iter().any(|known| known == name), "{name} not in {names:?}");
        }
        let count: usize = vit.parameters().iter().map(ParamTensor::elements).sum();
        assert_eq!(count, 86_567_656, "google/vit-base-patch16-224 has 86.6 M parameters");
        let resnet =
            VisionSpec { family: VisionFamily::ResNet, preset: VisionPreset::Tiny, image_size: 224, classes: 1000 };
        let count: usize = resnet.parameters().iter().map(ParamTensor::elements).sum();
        // timm's resnet18: 11 689 512 parameters, plus the batch norms' running statistics.
        assert!(count > 11_689_512, "{count}");
        // timm's convnext_atto and convnext_tiny (ConvNeXt V1: no V2 response norm), 1 000 classes:
        // 3 695 520 and 28 589 128 parameters (timm 1.0.31).
        for (preset, published) in [(VisionPreset::Tiny, 3_695_520), (VisionPreset::Small, 28_589_128)] {
            let convnext = VisionSpec { family: VisionFamily::ConvNext, preset, image_size: 224, classes: 1000 };
            let count: usize = convnext.parameters().iter().map(ParamTensor::elements).sum();
            assert_eq!(count, published, "{}", preset.name());
        }
        // openai/clip-vit-base-patch32's vision tower (CLIPVisionModel): 87 456 000 parameters.
        let clip =
            VisionSpec { family: VisionFamily::Clip, preset: VisionPreset::Small, image_size: 224, classes: 1000 };
        let count: usize = clip.parameters().iter().map(ParamTensor::elements).sum();
        assert_eq!(count, 87_456_000);
        assert!(clip.parameters().iter().any(|param| param.name == "vision_model.post_layernorm.weight"));
        // google/siglip-base-patch16-224's vision tower with its attention-pooling head: 92 884 224
        // parameters (transformers 5.24.0, `SiglipVisionModel(SiglipVisionConfig())`).
        let siglip =
            VisionSpec { family: VisionFamily::Siglip, preset: VisionPreset::Small, image_size: 224, classes: 1000 };
        let count: usize = siglip.parameters().iter().map(ParamTensor::elements).sum();
        assert_eq!(count, 92_884_224);
        assert!(siglip.parameters().iter().any(|param| param.name == "vision_model.head.attention.in_proj_weight"));
    }

    #[test]
    fn a_checkpoint_is_matched_to_its_family_preset_and_classes() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("convnext.safetensors");
        let spec =
            VisionSpec { family: VisionFamily::ConvNext, preset: VisionPreset::Tiny, image_size: 64, classes: 7 };
        crate::models::save_weights(&generate_weights(&spec, 1)?, &path)?;
        let checkpoint = read_vision_checkpoint(&path)?;
        // A convolutional network's tensors do not depend on the image size: 224 is written.
        assert_eq!(checkpoint.spec, Some(VisionSpec { image_size: 224, ..spec }));
        assert_eq!(checkpoint.tensors, spec.parameters().len());
        Ok(())
    }
}
