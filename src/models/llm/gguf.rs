//! Quantized language models through GGUF, llama.cpp's file format: weights in Hugging Face names
//! are written as the GGUF llama.cpp's converter would write (its tensor names, its metadata, the
//! query/key rows of Llama-style models permuted for interleaved rotary embeddings), and read back
//! by the family's quantized model in `candle-transformers` — the path a user's GGUF file takes.

use std::io::{Cursor, Read, Seek};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_phi3, quantized_qwen2, quantized_qwen3};

use super::{LlmConfig, TextModel};
use crate::models::Weights;
use crate::models::layers::ggml_dtype;
use crate::suite::{LlmFamily, Quantization};

/// The GGUF `general.architecture` of a family (llama.cpp runs Mistral as `llama`).
pub fn gguf_architecture(family: LlmFamily) -> &'static str {
    match family {
        LlmFamily::Llama | LlmFamily::Mistral => "llama",
        LlmFamily::Qwen2 => "qwen2",
        LlmFamily::Qwen3 => "qwen3",
        LlmFamily::Phi3 => "phi3",
    }
}

/// llama.cpp's reordering of query/key rows for models whose rotary embedding rotates halves (Hugging
/// Face's Llama) into one that rotates neighbouring pairs (GGUF's `llama`): per head, rows
/// `[0, d/2)` and `[d/2, d)` interleave.
fn permute_for_interleaved_rope(weight: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let (rows, cols) = weight.dims2()?;
    weight.reshape((heads, 2, rows / heads / 2, cols))?.transpose(1, 2)?.reshape((rows, cols))
}

/// A weight as f32 on the CPU, what quantizing reads (a folder's weights may be stored in bf16).
fn on_cpu_f32(weight: &Tensor) -> candle_core::Result<Tensor> {
    weight.to_device(&Device::Cpu)?.to_dtype(candle_core::DType::F32)
}

/// Writes the model as a GGUF: every matrix in `quantization`'s block format, norms and biases in
/// f32. Fails, naming the tensor, when a matrix's rows are not a multiple of the block size.
pub fn write_gguf<W: std::io::Write + Seek>(
    config: &LlmConfig,
    weights: &Weights,
    quantization: Quantization,
    writer: &mut W,
) -> candle_core::Result<()> {
    let format = ggml_dtype(quantization);
    let tensor = |name: &str| {
        weights.get(name).cloned().ok_or_else(|| candle_core::Error::Msg(format!("the weights lack `{name}`")))
    };
    let matrix = |gguf_name: &str, weight: Tensor| -> candle_core::Result<(String, QTensor)> {
        let in_dim = weight.dim(1)?;
        if !in_dim.is_multiple_of(format.block_size()) {
            candle_core::bail!(
                "cannot quantize `{gguf_name}` to {quantization}: its {in_dim} input features are not a multiple of the block size {}",
                format.block_size()
            );
        }
        Ok((gguf_name.to_owned(), QTensor::quantize(&on_cpu_f32(&weight)?, format)?))
    };
    let plain = |gguf_name: &str, weight: Tensor| -> candle_core::Result<(String, QTensor)> {
        Ok((gguf_name.to_owned(), QTensor::quantize(&on_cpu_f32(&weight)?, GgmlDType::F32)?))
    };
    let interleaved = gguf_architecture(config.family) == "llama";
    let mut tensors = vec![
        matrix("token_embd.weight", tensor("model.embed_tokens.weight")?)?,
        plain("output_norm.weight", tensor("model.norm.weight")?)?,
    ];
    if !config.tie_embeddings {
        tensors.push(matrix("output.weight", tensor("lm_head.weight")?)?);
    }
    for layer in 0..config.layers {
        let hf = |name: &str| tensor(&format!("model.layers.{layer}.{name}"));
        let gguf = |name: &str| format!("blk.{layer}.{name}");
        if config.family == LlmFamily::Phi3 {
            // llama.cpp keeps Phi-3's fused projections fused (its rotary embedding rotates
            // halves, as Hugging Face's does: nothing to permute).
            tensors.push(matrix(&gguf("attn_qkv.weight"), hf("self_attn.qkv_proj.weight")?)?);
            tensors.push(matrix(&gguf("ffn_up.weight"), hf("mlp.gate_up_proj.weight")?)?);
        } else {
            let (mut query, mut key) = (hf("self_attn.q_proj.weight")?, hf("self_attn.k_proj.weight")?);
            if interleaved {
                query = permute_for_interleaved_rope(&query, config.heads)?;
                key = permute_for_interleaved_rope(&key, config.kv_heads)?;
            }
            tensors.push(matrix(&gguf("attn_q.weight"), query)?);
            tensors.push(matrix(&gguf("attn_k.weight"), key)?);
            tensors.push(matrix(&gguf("attn_v.weight"), hf("self_attn.v_proj.weight")?)?);
            tensors.push(matrix(&gguf("ffn_gate.weight"), hf("mlp.gate_proj.weight")?)?);
            tensors.push(matrix(&gguf("ffn_up.weight"), hf("mlp.up_proj.weight")?)?);
        }
        tensors.push(matrix(&gguf("attn_output.weight"), hf("self_attn.o_proj.weight")?)?);
        tensors.push(matrix(&gguf("ffn_down.weight"), hf("mlp.down_proj.weight")?)?);
        tensors.push(plain(&gguf("attn_norm.weight"), hf("input_layernorm.weight")?)?);
        tensors.push(plain(&gguf("ffn_norm.weight"), hf("post_attention_layernorm.weight")?)?);
        if config.family == LlmFamily::Qwen2 {
            for name in ["q", "k", "v"] {
                tensors.push(plain(&gguf(&format!("attn_{name}.bias")), hf(&format!("self_attn.{name}_proj.bias"))?)?);
            }
        }
        if config.family == LlmFamily::Qwen3 {
            tensors.push(plain(&gguf("attn_q_norm.weight"), hf("self_attn.q_norm.weight")?)?);
            tensors.push(plain(&gguf("attn_k_norm.weight"), hf("self_attn.k_norm.weight")?)?);
        }
    }
    let metadata = metadata(config);
    let metadata: Vec<(&str, &gguf_file::Value)> = metadata.iter().map(|(key, value)| (key.as_str(), value)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor)).collect();
    gguf_file::write(writer, &metadata, &tensors)
}

/// The metadata llama.cpp writes for the model's shape (and `general.dtype` 0: f32 activations,
/// which candle's quantized Qwen3 reads), and a placeholder vocabulary.
fn metadata(config: &LlmConfig) -> Vec<(String, gguf_file::Value)> {
    use gguf_file::Value::{F32, String as Text, U32};
    let arch = gguf_architecture(config.family);
    let count = |value: usize| U32(u32::try_from(value).unwrap_or(u32::MAX));
    let mut entries = vec![
        ("general.architecture".to_owned(), Text(arch.to_owned())),
        ("general.name".to_owned(), Text(format!("phasebench {}", config.family))),
        ("general.dtype".to_owned(), U32(0)),
    ];
    for (key, value) in [
        ("context_length", count(config.context)),
        ("embedding_length", count(config.hidden)),
        ("block_count", count(config.layers)),
        ("feed_forward_length", count(config.intermediate)),
        ("attention.head_count", count(config.heads)),
        ("attention.head_count_kv", count(config.kv_heads)),
        ("attention.key_length", count(config.head_dim)),
        ("attention.value_length", count(config.head_dim)),
        ("rope.dimension_count", count(config.head_dim)),
        ("attention.layer_norm_rms_epsilon", F32(config.rms_norm_eps as f32)),
        ("rope.freq_base", F32(config.rope_theta as f32)),
        ("vocab_size", count(config.vocab)),
    ] {
        entries.push((format!("{arch}.{key}"), value));
    }
    entries.extend(vocabulary(config.vocab));
    entries
}

/// A vocabulary of placeholder pieces in SentencePiece form (`llama`), because llama.cpp will not
/// load a model without one (phasebench feeds token ids and never tokenizes): unknown, begin and
/// end of text, Phi-3's end of text, the byte pieces `<0x00>`…`<0xFF>`, then `t<id>`.
fn vocabulary(size: usize) -> Vec<(String, gguf_file::Value)> {
    use gguf_file::Value::{Array, F32, I32, String as Text, U32};
    let (mut pieces, mut kinds) = (Vec::with_capacity(size), Vec::with_capacity(size));
    for id in 0..size {
        // llama.cpp's token types: 1 normal, 2 unknown, 3 control, 6 byte.
        let (piece, kind) = match id {
            0 => ("<unk>".to_owned(), 2),
            1 => ("<s>".to_owned(), 3),
            2 => ("</s>".to_owned(), 3),
            // llama.cpp looks this one up by name in a model named Phi-3.
            3 => ("<|endoftext|>".to_owned(), 3),
            4..260 => (format!("<0x{:02X}>", id - 4), 6),
            _ => (format!("t{id}"), 1),
        };
        pieces.push(Text(piece));
        kinds.push(I32(kind));
    }
    vec![
        ("tokenizer.ggml.model".to_owned(), Text("llama".to_owned())),
        ("tokenizer.ggml.tokens".to_owned(), Array(pieces)),
        ("tokenizer.ggml.scores".to_owned(), Array(vec![F32(0.0); size])),
        ("tokenizer.ggml.token_type".to_owned(), Array(kinds)),
        ("tokenizer.ggml.unknown_token_id".to_owned(), U32(0)),
        ("tokenizer.ggml.bos_token_id".to_owned(), U32(1)),
        ("tokenizer.ggml.eos_token_id".to_owned(), U32(2)),
    ]
}

/// The family's quantized model read from a GGUF on `device`.
pub fn load_quantized<R: Read + Seek>(
    family: LlmFamily,
    reader: &mut R,
    device: &Device,
) -> candle_core::Result<Box<dyn TextModel>> {
    let content = gguf_file::Content::read(reader)?;
    Ok(match family {
        LlmFamily::Llama | LlmFamily::Mistral => {
            Box::new(QuantizedLlama(quantized_llama::ModelWeights::from_gguf(content, reader, device)?))
        }
        LlmFamily::Qwen2 => {
            Box::new(QuantizedQwen2(quantized_qwen2::ModelWeights::from_gguf(content, reader, device)?))
        }
        LlmFamily::Qwen3 => {
            Box::new(QuantizedQwen3(quantized_qwen3::ModelWeights::from_gguf(content, reader, device)?))
        }
        LlmFamily::Phi3 => {
            Box::new(QuantizedPhi3(quantized_phi3::ModelWeights::from_gguf(false, content, reader, device)?))
        }
    })
}

/// Quantizes the master weights in memory and builds the family's quantized model from them.
pub fn build_quantized(
    config: &LlmConfig,
    weights: &Weights,
    quantization: Quantization,
    device: &Device,
) -> candle_core::Result<Box<dyn TextModel>> {
    let mut file = Cursor::new(Vec::new());
    write_gguf(config, weights, quantization, &mut file)?;
    file.set_position(0);
    load_quantized(config.family, &mut file, device)
}

/// Why a quantized model refuses to run several sequences of several tokens at once.
pub const QUANTIZED_BATCH_LIMIT: &str = "candle-transformers 0.11's quantized language models cannot run more than one sequence of several tokens at once (their output projection is given a non-contiguous slice); run quantized phases at batch size 1";

/// Refuses what the quantized models cannot do (see [`QUANTIZED_BATCH_LIMIT`]) before they fail with
/// a less telling error.
fn check_quantized_input(ids: &Tensor) -> candle_core::Result<()> {
    let (batch, tokens) = ids.dims2()?;
    if batch > 1 && tokens > 1 {
        candle_core::bail!("{QUANTIZED_BATCH_LIMIT}");
    }
    Ok(())
}

struct QuantizedLlama(quantized_llama::ModelWeights);

impl TextModel for QuantizedLlama {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        check_quantized_input(ids)?;
        super::families::last_logits(self.0.forward(ids, offset)?)
    }

    fn clear_cache(&mut self) {
        self.0.clear_kv_cache();
    }
}

struct QuantizedQwen2(quantized_qwen2::ModelWeights);

impl TextModel for QuantizedQwen2 {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        check_quantized_input(ids)?;
        super::families::last_logits(self.0.forward(ids, offset)?)
    }

    fn clear_cache(&mut self) {
        self.0.clear_kv_cache();
    }
}

struct QuantizedQwen3(quantized_qwen3::ModelWeights);

impl TextModel for QuantizedQwen3 {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        check_quantized_input(ids)?;
        super::families::last_logits(self.0.forward(ids, offset)?)
    }

    fn clear_cache(&mut self) {
        self.0.clear_kv_cache();
    }
}

struct QuantizedPhi3(quantized_phi3::ModelWeights);

impl TextModel for QuantizedPhi3 {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        check_quantized_input(ids)?;
        super::families::last_logits(self.0.forward(ids, offset)?)
    }

    /// candle's quantized Phi-3 empties its cache itself when a forward starts at offset 0,
    /// which every new sequence does.
    fn clear_cache(&mut self) {}
}
