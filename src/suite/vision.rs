//! The suite type of vision encoders of real families (ViT, DINOv2, ConvNeXt, ResNet, as
//! `candle-transformers` builds them), with seeded weights in a preset size or the user's own
//! checkpoint through the workload's `weights` file.

use serde::{Deserialize, Serialize};

use super::Phase;

/// A vision encoder with a classification head, written
/// `Vision(family: Vit, preset: Tiny, image_size: 32, classes: 10)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisionSpec {
    /// The architecture family.
    pub family: VisionFamily,
    /// The size: a tiny test shape or a published one.
    #[serde(default)]
    pub preset: VisionPreset,
    /// Height and width of the input image in pixels (a multiple of the patch for ViT and DINOv2).
    #[serde(default = "default_image_size")]
    pub image_size: usize,
    /// Outputs of the classification head (DINOv2's head in candle has 1 000).
    #[serde(default = "default_classes")]
    pub classes: usize,
}

fn default_image_size() -> usize {
    224
}

fn default_classes() -> usize {
    1000
}

impl Default for VisionSpec {
    fn default() -> Self {
        Self { family: VisionFamily::Vit, preset: VisionPreset::Tiny, image_size: 32, classes: 10 }
    }
}

/// A vision architecture family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VisionFamily {
    /// Vision Transformer (Hugging Face `google/vit-*` tensor names).
    Vit,
    /// DINOv2 (Meta's tensor names, patch 14, a 1 000-class linear head on class and mean tokens).
    Dinov2,
    /// ConvNeXt (timm tensor names).
    ConvNext,
    /// ResNet (timm tensor names; Tiny is ResNet-18, Small ResNet-50, Base ResNet-101).
    ResNet,
    /// CLIP's vision tower (Hugging Face `CLIPVisionModel` names, `vision_model.*`): no classifier
    /// head, its output is the pooled image embedding.
    Clip,
    /// SigLIP's vision tower (Hugging Face `SiglipVisionModel` names, `vision_model.*`): no class
    /// token, an attention-pooling head; its output is the pooled image embedding.
    Siglip,
}

impl VisionFamily {
    /// Every family, in the order the editor lists them.
    pub const ALL: [Self; 6] = [Self::Vit, Self::Dinov2, Self::ConvNext, Self::ResNet, Self::Clip, Self::Siglip];

    /// The family's name as suites write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Vit => "Vit",
            Self::Dinov2 => "Dinov2",
            Self::ConvNext => "ConvNext",
            Self::ResNet => "ResNet",
            Self::Clip => "Clip",
            Self::Siglip => "Siglip",
        }
    }

    /// Pixels per patch side (transformers), or the total downsampling (convolutional networks):
    /// the image size must be a multiple of it.
    pub fn image_multiple(self, preset: VisionPreset) -> usize {
        match (self, preset) {
            (Self::Vit, VisionPreset::Tiny) => 8,
            (Self::Vit, _) => 16,
            (Self::Dinov2, _) => 14,
            (Self::ConvNext | Self::ResNet, _) => 32,
            (Self::Clip, VisionPreset::Tiny) => 8,
            (Self::Clip, VisionPreset::Small) => 32,
            (Self::Clip, VisionPreset::Base) => 14,
            (Self::Siglip, VisionPreset::Tiny) => 8,
            (Self::Siglip, VisionPreset::Small) => 16,
            (Self::Siglip, VisionPreset::Base) => 14,
        }
    }

    /// Whether the model is an image encoder without a classifier (CLIP's and SigLIP's towers):
    /// its output is an embedding, it has no `classes`.
    pub fn embeds(self) -> bool {
        matches!(self, Self::Clip | Self::Siglip)
    }

    /// The published model a preset stands for, or the tiny test shape.
    pub fn preset_summary(self, preset: VisionPreset) -> &'static str {
        match (self, preset) {
            (Self::Vit, VisionPreset::Tiny) => "hidden 64, 2 layers, 4 heads, patch 8",
            (Self::Vit, VisionPreset::Small) => "ViT-S/16 (hidden 384, 12 layers, 6 heads)",
            (Self::Vit, VisionPreset::Base) => "ViT-B/16, google/vit-base-patch16-224",
            (Self::Dinov2, VisionPreset::Tiny) => "dim 64, 2 blocks, 4 heads",
            (Self::Dinov2, VisionPreset::Small) => "ViT-S/14, dinov2_vits14",
            (Self::Dinov2, VisionPreset::Base) => "ViT-B/14, dinov2_vitb14",
            (Self::ConvNext, VisionPreset::Tiny) => "ConvNeXt-Atto (timm convnext_atto)",
            (Self::ConvNext, VisionPreset::Small) => "ConvNeXt-T (timm convnext_tiny)",
            (Self::ConvNext, VisionPreset::Base) => "ConvNeXt-B (timm convnext_base)",
            (Self::ResNet, VisionPreset::Tiny) => "ResNet-18 (timm resnet18)",
            (Self::ResNet, VisionPreset::Small) => "ResNet-50 (timm resnet50)",
            (Self::ResNet, VisionPreset::Base) => "ResNet-101 (timm resnet101)",
            (Self::Clip, VisionPreset::Tiny) => "width 64, 2 layers, 4 heads, patch 8",
            (Self::Clip, VisionPreset::Small) => "ViT-B/32, openai/clip-vit-base-patch32",
            (Self::Clip, VisionPreset::Base) => "ViT-L/14, openai/clip-vit-large-patch14",
            (Self::Siglip, VisionPreset::Tiny) => "width 64, 2 layers, 4 heads, patch 8",
            (Self::Siglip, VisionPreset::Small) => "ViT-B/16, google/siglip-base-patch16-224",
            (Self::Siglip, VisionPreset::Base) => "So400m/14, google/siglip-so400m-patch14-384",
        }
    }
}

impl std::fmt::Display for VisionFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The size of a vision encoder: a tiny shape for tests and first looks, or a published model
/// (whose checkpoint the workload's `weights` file can load).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VisionPreset {
    /// The smallest shape of the family (see [`VisionFamily::preset_summary`]).
    #[default]
    Tiny,
    /// A small published model (~22–26 M parameters).
    Small,
    /// A base published model (~45–89 M parameters).
    Base,
}

impl VisionPreset {
    /// Every preset, smallest first.
    pub const ALL: [Self; 3] = [Self::Tiny, Self::Small, Self::Base];

    /// The preset's name as suites write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "Tiny",
            Self::Small => "Small",
            Self::Base => "Base",
        }
    }
}

impl VisionSpec {
    /// Why this spec cannot be built, each message a sentence about the `Vision` model.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let multiple = self.family.image_multiple(self.preset);
        if self.image_size == 0 || !self.image_size.is_multiple_of(multiple) || self.image_size > 1024 {
            problems.push(format!(
                "Vision `image_size` is {}; a {} {} takes a multiple of {multiple} up to 1024",
                self.image_size,
                self.family,
                self.preset.name()
            ));
        }
        if self.family == VisionFamily::Dinov2 && self.classes != 1000 {
            problems.push(format!(
                "Vision `classes` is {}; candle's DINOv2 has a 1000-class head, so write 1000 (or leave it out)",
                self.classes
            ));
        }
        if self.family.embeds() && self.classes != 1000 {
            problems.push(format!(
                "Vision `classes` is {}, but {}'s vision tower has no classifier head (its output is the pooled image embedding); leave `classes` out",
                self.classes, self.family
            ));
        }
        if !(1..=100_000).contains(&self.classes) {
            problems.push(format!("Vision `classes` is {}; it must be from 1 to 100000", self.classes));
        }
        problems
    }

    /// Why `phase` cannot run this model at `batches`, each message continuing "workload `name`".
    pub fn phase_problems(&self, phase: &Phase, batches: &[usize]) -> Vec<String> {
        let mut problems = Vec::new();
        if self.family == VisionFamily::Dinov2 && batches.iter().any(|&batch| batch > 1) {
            problems.push(format!(
                ": phase `{}` runs DINOv2 at a batch above 1, but candle-transformers 0.11's DINOv2 takes one image at a time (its class token is not broadcast over the batch); use batch size 1",
                phase.name
            ));
        }
        if let Some(quantization) = phase.quantization {
            problems.push(format!(
                ": phase `{}` quantizes to {quantization}, but candle-transformers' {} has no quantized form; drop the quantization (compare dtypes instead)",
                phase.name, self.family
            ));
        }
        problems
    }
}
