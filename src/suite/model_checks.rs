//! Checks of one workload's model and mode: sizes in range, shapes that divide, a mode the model
//! can run.

use super::validate::{MAX_DIMENSION, MAX_LAYERS};
use super::{Mode, ModelSpec, OptimizerSpec};

/// Why a size `what` of `value` is out of range, if it is.
pub(super) fn check_dimension(what: &str, value: usize) -> Option<String> {
    if value == 0 {
        Some(format!("{what} is 0; it must be at least 1"))
    } else if value > MAX_DIMENSION {
        Some(format!("{what} {value} is larger than the limit of {MAX_DIMENSION}"))
    } else {
        None
    }
}

/// Why `model` cannot run in `mode`.
pub(super) fn check_mode(mode: Mode, model: &ModelSpec) -> Vec<String> {
    if model.is_language_model() && !matches!(mode, Mode::TextGeneration(_)) {
        return vec![format!(
            "a language model ({}) runs in mode TextGeneration, not {}",
            model.kind_name(),
            mode.name()
        )];
    }
    if matches!(model, ModelSpec::Diffusion(_)) && !matches!(mode, Mode::ImageGeneration(_)) {
        return vec![format!("a diffusion pipeline (Diffusion) runs in mode ImageGeneration, not {}", mode.name())];
    }
    match mode {
        Mode::Inference => vec![],
        Mode::ImageGeneration(generation) => {
            super::diffusion::generation_problems(&generation, model, "ImageGeneration")
        }
        Mode::TextGeneration(text) => {
            let mut messages = Vec::new();
            if !model.is_language_model() {
                return vec![format!(
                    "mode TextGeneration needs a language model (Llm, HfFolder or Gguf), not {}",
                    model.kind_name()
                )];
            }
            if !(1..=MAX_DIMENSION).contains(&text.prompt_tokens) {
                messages.push(format!(
                    "TextGeneration `prompt_tokens` is {}; it must be from 1 to {MAX_DIMENSION}",
                    text.prompt_tokens
                ));
            }
            if !(2..=MAX_DIMENSION).contains(&text.new_tokens) {
                messages.push(format!(
                    "TextGeneration `new_tokens` is {}; it must be from 2 to {MAX_DIMENSION} (the first token ends the prefill, each further one is a measured step)",
                    text.new_tokens
                ));
            }
            // A file's context is checked when the file is read.
            let context = match model {
                ModelSpec::Llm(spec) => spec.preset.shape().context,
                _ => usize::MAX,
            };
            if text.prompt_tokens.saturating_add(text.new_tokens) > context {
                messages.push(format!(
                    "TextGeneration `prompt_tokens` + `new_tokens` ({}) is more than the model's context of {context} tokens",
                    text.prompt_tokens.saturating_add(text.new_tokens)
                ));
            }
            messages
        }
        Mode::Training(training) => {
            let (OptimizerSpec::AdamW(rate) | OptimizerSpec::Sgd(rate)) = training.optimizer;
            let mut messages = Vec::new();
            if matches!(model, ModelSpec::Noop(_)) {
                messages.push("mode Training needs a model with parameters; Noop has none (use Inference)".into());
            }
            if let ModelSpec::Vision(spec) = model
                && spec.family == super::VisionFamily::ResNet
            {
                messages.push("mode Training cannot run ResNet: candle 0.11 has no backward pass for its 3×3 max pooling with stride 2 (use Inference, or train ViT, DINOv2 or ConvNeXt)".into());
            }
            if !(rate.lr.is_finite() && rate.lr > 0.0) {
                messages.push(format!("the learning rate `lr` is {}; it must be a positive number", rate.lr));
            }
            messages
        }
        Mode::Generation(generation) => {
            let mut messages = Vec::new();
            if !matches!(model, ModelSpec::DiffusionTransformer(_)) {
                messages.push(format!(
                    "mode Generation needs a diffusion model (DiffusionTransformer), not {}",
                    model.kind_name()
                ));
            }
            if !(1..=10_000).contains(&generation.steps) {
                messages.push(format!("Generation `steps` is {}; it must be from 1 to 10000", generation.steps));
            }
            messages
        }
    }
}

/// Why `model`'s sizes cannot be built.
pub(super) fn check_model(model: &ModelSpec) -> Vec<String> {
    let dimensions: Vec<(&str, usize)> = match model {
        ModelSpec::MatMul(spec) => vec![("m", spec.m), ("n", spec.n), ("k", spec.k)],
        ModelSpec::Mlp(spec) => {
            vec![("input", spec.input), ("hidden", spec.hidden), ("output", spec.output)]
        }
        ModelSpec::ConvNet(spec) => vec![
            ("in_channels", spec.in_channels),
            ("image_size", spec.image_size),
            ("channels", spec.channels),
            ("classes", spec.classes),
        ],
        ModelSpec::Transformer(spec) => {
            vec![("hidden", spec.hidden), ("heads", spec.heads), ("seq_len", spec.seq_len), ("ffn_mult", spec.ffn_mult)]
        }
        ModelSpec::DiffusionTransformer(spec) => vec![
            ("image_size", spec.image_size),
            ("patch", spec.patch),
            ("channels", spec.channels),
            ("hidden", spec.hidden),
            ("heads", spec.heads),
        ],
        ModelSpec::Noop(spec) => vec![("features", spec.features)],
        ModelSpec::Llm(spec) => {
            let shape = spec.preset.shape();
            vec![
                ("hidden", shape.hidden),
                ("heads", shape.heads),
                ("kv_heads", shape.kv_heads),
                ("intermediate", shape.intermediate),
                ("vocab", shape.vocab),
                ("context", shape.context),
            ]
        }
        ModelSpec::Vision(spec) => return spec.problems(),
        ModelSpec::Diffusion(spec) => return super::diffusion::diffusion_problems(spec),
        ModelSpec::HfFolder(spec) | ModelSpec::Gguf(spec) => {
            // What the files hold is checked when they are read.
            return if spec.path.written().trim().is_empty() {
                vec![format!("{} `path` is empty; name the model's folder or file", model.kind_name())]
            } else {
                Vec::new()
            };
        }
    };
    let mut messages: Vec<String> = dimensions
        .into_iter()
        .filter_map(|(field, value)| check_dimension(&format!("{} `{field}`", model.kind_name()), value))
        .collect();
    let layer_counts: Vec<(&str, usize)> = match model {
        ModelSpec::Mlp(spec) => vec![("layers", spec.layers)],
        ModelSpec::ConvNet(spec) => vec![("blocks", spec.blocks)],
        ModelSpec::Transformer(spec) => vec![("layers", spec.layers)],
        ModelSpec::DiffusionTransformer(spec) => vec![("layers", spec.layers)],
        ModelSpec::Llm(spec) => vec![("layers", spec.preset.shape().layers)],
        ModelSpec::MatMul(_)
        | ModelSpec::Noop(_)
        | ModelSpec::HfFolder(_)
        | ModelSpec::Gguf(_)
        | ModelSpec::Vision(_)
        | ModelSpec::Diffusion(_) => vec![],
    };
    for (field, count) in layer_counts {
        if !(1..=MAX_LAYERS).contains(&count) {
            messages.push(format!("{} `{field}` is {count}; it must be from 1 to {MAX_LAYERS}", model.kind_name()));
        }
    }
    let divides = |what: &str, whole: (&str, usize), part: (&str, usize)| {
        (part.1 > 0 && !whole.1.is_multiple_of(part.1))
            .then(|| format!("{what} `{}` ({}) must divide `{}` ({})", part.0, part.1, whole.0, whole.1))
    };
    match model {
        ModelSpec::Transformer(spec) => {
            messages.extend(divides("Transformer", ("hidden", spec.hidden), ("heads", spec.heads)));
        }
        ModelSpec::DiffusionTransformer(spec) => {
            messages.extend(divides("DiffusionTransformer", ("hidden", spec.hidden), ("heads", spec.heads)));
            messages.extend(divides("DiffusionTransformer", ("image_size", spec.image_size), ("patch", spec.patch)));
            if spec.hidden % 2 == 1 {
                messages.push(format!(
                    "DiffusionTransformer `hidden` ({}) must be even for the timestep embedding",
                    spec.hidden
                ));
            }
        }
        ModelSpec::Llm(spec) => {
            let shape = spec.preset.shape();
            messages.extend(divides("Llm", ("hidden", shape.hidden), ("heads", shape.heads)));
            messages.extend(divides("Llm", ("heads", shape.heads), ("kv_heads", shape.kv_heads)));
            if shape.heads > 0 && (shape.hidden / shape.heads) % 2 == 1 {
                messages.push(format!(
                    "Llm head width `hidden` / `heads` ({}) must be even for the rotary position embedding",
                    shape.hidden / shape.heads
                ));
            }
        }
        _ => {}
    }
    messages
}
