//! `phasebench inspect`: what a language-model file or a vision checkpoint is, from its headers.

use std::fmt::Write as _;

use phasebench::models::llm::{ModelFile, ModelFormat};
use phasebench::units::format_bytes;

/// The text `inspect` prints for a model file.
pub fn inspect_text(model: &ModelFile) -> String {
    let config = &model.config;
    let mut text = String::new();
    let format = match model.format {
        ModelFormat::HfFolder => "Hugging Face folder (safetensors)",
        ModelFormat::Gguf => "GGUF",
    };
    let _ = writeln!(text, "{}", model.path.display());
    let _ = writeln!(
        text,
        "  format       {format}, {} file(s), {}",
        model.weight_files.len(),
        format_bytes(model.bytes as f64)
    );
    let _ = writeln!(text, "  family       {:?} ({})", config.family, config.family.model_type());
    let _ = writeln!(text, "  parameters   {:.1} M", model.parameter_count() as f64 / 1e6);
    let _ = writeln!(
        text,
        "  shape        hidden {}, {} layers, {} heads ({} key/value, {} wide), MLP {}, vocabulary {}{}",
        config.hidden,
        config.layers,
        config.heads,
        config.kv_heads,
        config.head_dim,
        config.intermediate,
        config.vocab,
        if config.tie_embeddings { ", tied embeddings" } else { "" }
    );
    let _ = writeln!(text, "  context      {} tokens", config.context);
    let dtypes: Vec<String> = model.dtype_counts().iter().map(|(dtype, count)| format!("{dtype} ×{count}")).collect();
    let _ = writeln!(text, "  tensors      {} ({})", model.tensors.len(), dtypes.join(", "));
    let _ = writeln!(
        text,
        "  KV cache     {} per 1 000 tokens of one sequence in f32",
        format_bytes(config.kv_cache_bytes(1, 1000, 4) as f64)
    );
    let phases = match model.format {
        ModelFormat::HfFolder => {
            "dtype (F32, F16, BF16), quantization (Q8_0, Q4_0, Q4K; batch 1), kv_cache, batch_size, device"
        }
        ModelFormat::Gguf => "kv_cache, device (its own quantization is the phase's; batch 1)",
    };
    let _ = writeln!(text, "  phases       {phases}");
    // Until files run as workloads, the same architecture and shape runs with seeded weights.
    if config.head_dim * config.heads == config.hidden {
        let _ = writeln!(
            text,
            "  same shape, seeded weights (paste into a suite):\n    Llm(family: {:?}, preset: Custom(hidden: {}, layers: {}, heads: {}, kv_heads: {}, intermediate: {}, vocab: {}, context: {}))",
            config.family,
            config.hidden,
            config.layers,
            config.heads,
            config.kv_heads,
            config.intermediate,
            config.vocab,
            config.context
        );
    }
    text
}

/// `inspect FOLDER` on a diffusers pipeline (a folder with `unet/` or `transformer/`): which pipeline its configs
/// describe, its components and size, and the workload that runs it.
pub fn inspect_diffusion(path: &std::path::Path) -> anyhow::Result<u8> {
    use phasebench::models::diffusion::config::TransformerDenoiser;
    let folder = phasebench::models::diffusion::inspect_folder(path).map_err(anyhow::Error::msg)?;
    let unet = &folder.config.unet;
    println!("{}", path.display());
    println!("  format       diffusers pipeline folder, {} of safetensors", format_bytes(folder.bytes as f64));
    println!(
        "  pipeline     {} ({} parameters)",
        folder.pipeline,
        phasebench::units::format_count(folder.parameters as f64)
    );
    match &folder.config.transformer {
        Some(TransformerDenoiser::Mmdit { depth, head_size, pooled, context, pos_embed_max_size }) => println!(
            "  transformer  MMDiT, {depth} joint blocks of {depth} heads × {head_size}, text tokens {context} wide, pooled {pooled}, positions up to {pos_embed_max_size} patches a side"
        ),
        Some(TransformerDenoiser::Flux {
            hidden,
            heads,
            double_blocks,
            single_blocks,
            pooled,
            context,
            guidance_embed,
            ..
        }) => {
            println!(
                "  transformer  Flux, {double_blocks} double + {single_blocks} single blocks, {hidden} wide in {heads} heads, text tokens {context} wide, pooled {pooled}, guidance {}",
                if *guidance_embed { "an input" } else { "none" }
            )
        }
        None => println!(
            "  unet         {:?} channels, {} layers per level, cross-attention {}, {} prediction",
            unet.block_out_channels,
            unet.layers_per_block,
            unet.cross_attention_dim,
            if folder.config.v_prediction { "v" } else { "ε" }
        ),
    }
    if folder.config.transformer.is_some() {
        match &folder.config.t5 {
            Some(t5) => {
                for encoder in &folder.config.text_encoders {
                    println!(
                        "  text encoder CLIP {} wide, {} layers, {} tokens ({})",
                        encoder.hidden_size,
                        encoder.num_hidden_layers,
                        encoder.max_position_embeddings,
                        encoder.hidden_act
                    );
                }
                println!(
                    "  text encoder T5 {} wide, {} layers, {} heads, {} tokens ({})",
                    t5.d_model,
                    t5.num_layers,
                    t5.num_heads,
                    phasebench::models::diffusion::t5_tokens(folder.pipeline),
                    t5.feed_forward_proj
                );
            }
            None => println!(
                "  text         no text encoder folders: seeded embeddings ({} tokens) stand for its CLIP/T5 encoders",
                phasebench::models::diffusion::config::seeded_text_tokens(folder.pipeline)
            ),
        }
    }
    println!(
        "  vae          {:?} channels, {} latent channels, images {}× the latent",
        folder.config.vae.block_out_channels,
        folder.config.vae.latent_channels,
        folder.config.vae_scale_factor()
    );
    for encoder in folder.config.text_encoders.iter().filter(|_| folder.config.transformer.is_none()) {
        println!(
            "  text encoder CLIP {} wide, {} layers, {} tokens ({})",
            encoder.hidden_size, encoder.num_hidden_layers, encoder.max_position_embeddings, encoder.hidden_act
        );
    }
    let phases = match folder.pipeline {
        phasebench::suite::Pipeline::Sd3(_) => {
            "dtype F16 only (candle's MMDiT), device, batch_size, image: (steps, width, height, guidance)"
        }
        phasebench::suite::Pipeline::Flux(_) => {
            "dtype (F32, F16; BF16 on GPUs), device, batch_size, image: (steps, width, height, guidance)"
        }
        phasebench::suite::Pipeline::StableDiffusion(_) => {
            "dtype (F32, F16; BF16 on GPUs), device, batch_size, image: (steps, width, height, guidance, scheduler)"
        }
    };
    println!("  phases       {phases}");
    println!("  workload (paste into a suite):\n    {}", folder.workload_text(&path.display().to_string()));
    Ok(0)
}

/// `inspect FILE.safetensors`: a vision checkpoint's tensors and the `Vision` spec that loads it
/// as a workload's `weights`; an error (exit 2) when no family and preset match it.
pub fn inspect_vision(path: &std::path::Path) -> anyhow::Result<u8> {
    let checkpoint = phasebench::models::vision::read_vision_checkpoint(path).map_err(anyhow::Error::msg)?;
    println!("{}", path.display());
    println!("  format       safetensors, {}", format_bytes(checkpoint.bytes as f64));
    println!("  tensors      {} ({:.1} M parameters)", checkpoint.tensors, checkpoint.parameters as f64 / 1e6);
    let Some(spec) = checkpoint.spec else {
        anyhow::bail!(
            "{}: no vision family and preset of phasebench matches these tensors (ViT in Hugging Face names, DINOv2 in Meta's, ConvNeXt and ResNet in timm's; see `phasebench models`); a language model is a folder or a .gguf",
            path.display()
        );
    };
    println!("  family       {} {} — {}", spec.family, spec.preset.name(), spec.family.preset_summary(spec.preset));
    let modes = match spec.family {
        phasebench::suite::VisionFamily::ResNet => "Inference (candle 0.11 cannot train ResNet)",
        _ => "Inference and Training",
    };
    println!("  phases       dtype (F32, F16; BF16 on GPUs), batch_size, device; {modes}");
    println!(
        "  workload (paste into a suite):\n    Workload(name: \"{}\", model: Vision(family: {}, preset: {}, image_size: {}, classes: {}), weights: \"{}\")",
        path.file_stem().map_or_else(|| "model".into(), |stem| stem.to_string_lossy()),
        spec.family,
        spec.preset.name(),
        spec.image_size,
        spec.classes,
        path.display()
    );
    Ok(0)
}
