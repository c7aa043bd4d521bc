//! Text generation as a run's steps: a generation is a prefill (the prompt through the model, then
//! the first token picked: time to first token) followed by one decode step per further token,
//! greedy, exactly `new_tokens` tokens. Token ids are seeded; there is no tokenizer and no
//! sampling in the timing, as llama.cpp's `llama-bench` does.

use candle_core::{Device, Tensor};

use super::steppers::{Preparation, StepTiming, Stepper, StepperSetup, owned_weights, timed, to_f32_values, upload};
use crate::models::llm::{self, LlmConfig, TextModel, seeded_tokens};
use crate::models::{self, stream_seed};
use crate::suite::{ModelSpec, Phase, TextGenerationSpec, Workload};

/// Positions of the probe sequence whose next-token logits are compared across phases.
pub const PROBE_POSITIONS: usize = 16;

/// Generates text: each step is a prefill (at the start of a generation) or one decode token.
pub struct TextGenerationStepper {
    model: Box<dyn TextModel>,
    spec: TextGenerationSpec,
    kv_cache: bool,
    device: Device,
    /// The seeded prompt, `[batch, prompt_tokens]` u32 on the device.
    prompt: Tensor,
    /// The sequence so far, `[batch, tokens]` (kept only without the KV cache, which recomputes it).
    context: Option<Tensor>,
    /// The token generated last, `[batch, 1]`.
    last_token: Option<Tensor>,
    /// Tokens generated in this generation (0: the next step is a prefill).
    generated: usize,
    generation_secs: f64,
    /// The teacher-forced probe sequence (prompt and continuation) for the accuracy check.
    probe_ids: Vec<u32>,
}

impl TextGenerationStepper {
    /// Builds the model from the master weights in the phase's dtype (or quantization) and the
    /// seeded prompt of `batch_size` sequences.
    pub fn new(
        setup: &StepperSetup,
        config: &LlmConfig,
        spec: TextGenerationSpec,
        kv_cache: bool,
        source: &TextSource,
    ) -> candle_core::Result<(Self, Preparation)> {
        let batch = setup.batch_size;
        let ids = seeded_tokens(batch * spec.prompt_tokens, config.vocab, stream_seed(setup.seed, llm::PROMPT_STREAM));
        let host_prompt = Tensor::from_vec(ids, (batch, spec.prompt_tokens), &Device::Cpu)?;
        // A quantized phase goes the way of a GGUF file: the f32 master written as one in memory,
        // read by the family's quantized model; otherwise the weights in the phase's dtype.
        let mut file_load = None;
        let (model, load_secs, transfer) = match (source, setup.quantization) {
            (TextSource::Gguf(path), _) => {
                let files = [path.clone()];
                let (loaded, record) = super::file_load::timed_read(&files, || {
                    timed(setup.device, || llm::load_gguf_model(path, setup.device).map_err(candle_core::Error::Msg))
                });
                let (model, secs) = loaded?;
                // The read and the build are one call: the record says the build's own clock.
                file_load = Some(crate::results::FileLoadRecord { read_secs: secs, includes_build: true, ..record });
                (model, secs, None)
            }
            (TextSource::Weights(_), Some(quantization)) => {
                let (model, secs) =
                    timed(setup.device, || llm::build_quantized(config, setup.weights, quantization, setup.device))?;
                (model, secs, None)
            }
            (TextSource::Weights(config_json), None) => {
                let uploaded = upload(setup.device, setup.dtype, setup.weights, &[])?;
                let (model, build_secs) = timed(setup.device, || {
                    let weights = owned_weights(&uploaded.weights, setup.dtype, None)?;
                    let vb = candle_nn::VarBuilder::from_tensors(weights, setup.dtype, setup.device);
                    llm::build_text_model_with_config(config, config_json.as_ref(), vb)
                })?;
                (model, uploaded.convert_secs + build_secs, uploaded.transfer)
            }
        };
        let (prompt, copy_secs) = timed(setup.device, || host_prompt.to_device(setup.device))?;
        let probe_length = spec.prompt_tokens + PROBE_POSITIONS.min(spec.new_tokens) - 1;
        let probe_ids = seeded_tokens(probe_length, config.vocab, stream_seed(setup.probe_seed, "probe tokens"));
        let stepper = Self {
            model,
            spec,
            kv_cache,
            device: setup.device.clone(),
            prompt,
            context: None,
            last_token: None,
            generated: 0,
            generation_secs: 0.0,
            probe_ids,
        };
        let transfer = transfer.map(|mut transfer| {
            transfer.secs += copy_secs;
            transfer
        });
        Ok((stepper, Preparation { load_secs, transfer, file_load }))
    }

    /// The prompt through the model and the first token picked: `(prefill, ttft)` seconds.
    fn prefill(&mut self) -> candle_core::Result<[f64; 2]> {
        self.model.clear_cache();
        let ((first, prefill_secs), ttft_secs) = timed(&self.device, || {
            let (logits, prefill_secs) = timed(&self.device, || self.model.forward(&self.prompt, 0))?;
            Ok((llm::greedy_tokens(&logits)?, prefill_secs))
        })?;
        if !self.kv_cache {
            self.context = Some(Tensor::cat(&[&self.prompt, &first], 1)?);
        }
        self.last_token = Some(first);
        Ok([prefill_secs, ttft_secs])
    }

    /// One more token of every sequence: with the KV cache only the last token goes through the
    /// model; without it the whole sequence so far does.
    fn decode(&mut self) -> candle_core::Result<f64> {
        let offset = self.spec.prompt_tokens + self.generated - 1;
        let (next, secs) = match (&self.context, &self.last_token) {
            (Some(context), _) if !self.kv_cache => timed(&self.device, || {
                self.model.clear_cache();
                llm::greedy_tokens(&self.model.forward(context, 0)?)
            })?,
            (_, Some(last)) => timed(&self.device, || llm::greedy_tokens(&self.model.forward(last, offset)?))?,
            _ => candle_core::bail!("a decode step before the prefill"),
        };
        if let Some(context) = self.context.as_mut() {
            *context = Tensor::cat(&[&*context, &next], 1)?;
        }
        self.last_token = Some(next);
        Ok(secs)
    }
}

impl Stepper for TextGenerationStepper {
    fn step(&mut self) -> candle_core::Result<StepTiming> {
        let mut timing = if self.generated == 0 {
            let [prefill, ttft] = self.prefill()?;
            self.generation_secs = ttft;
            StepTiming { secs: ttft, prefill: Some([prefill, ttft]), ..StepTiming::default() }
        } else {
            let secs = self.decode()?;
            self.generation_secs += secs;
            StepTiming { secs, ..StepTiming::default() }
        };
        self.generated += 1;
        if self.generated == self.spec.new_tokens {
            timing.generation_secs = Some(self.generation_secs);
            self.restart()?;
        }
        Ok(timing)
    }

    fn at_boundary(&self) -> bool {
        self.generated == 0
    }

    fn restart(&mut self) -> candle_core::Result<()> {
        self.generated = 0;
        self.generation_secs = 0.0;
        self.context = None;
        self.last_token = None;
        Ok(())
    }

    /// Teacher-forced next-token logits over a fixed seeded sequence (one sequence): the prompt's,
    /// then one per continuation token, so every phase predicts from the same tokens whatever it
    /// would have generated itself. `[positions, vocab]` values, flattened.
    fn probe(&mut self) -> candle_core::Result<Vec<f32>> {
        let prompt_tokens = self.spec.prompt_tokens;
        let ids = Tensor::new(self.probe_ids.as_slice(), &self.device)?.unsqueeze(0)?;
        let mut logits = Vec::new();
        self.model.clear_cache();
        for end in prompt_tokens..=self.probe_ids.len() {
            let next = if !self.kv_cache {
                self.model.clear_cache();
                self.model.forward(&ids.narrow(1, 0, end)?, 0)?
            } else if end == prompt_tokens {
                self.model.forward(&ids.narrow(1, 0, end)?, 0)?
            } else {
                self.model.forward(&ids.narrow(1, end - 1, 1)?, end - 1)?
            };
            // `TextModel::forward` gives f32 logits already.
            logits.extend(to_f32_values(&next)?);
        }
        self.model.clear_cache();
        self.restart()?;
        Ok(logits)
    }
}

/// Where a phase's language model comes from.
pub enum TextSource {
    /// The workload's weights (seeded, or a folder's), built by the family's model from the
    /// folder's own `config.json` when there is one.
    Weights(Option<serde_json::Value>),
    /// A GGUF file, run by the family's quantized model as stored.
    Gguf(std::path::PathBuf),
}

impl TextSource {
    /// The source of `phase` on a workload of `model`: the phase's own GGUF, the workload's GGUF,
    /// or the workload's weights.
    pub fn of(workload: &Workload, phase: &Phase) -> Self {
        if let Some(path) = &phase.gguf {
            return Self::Gguf(path.location_for(&workload.name));
        }
        let model = &workload.model;
        match model {
            ModelSpec::Gguf(spec) => Self::Gguf(spec.path.location()),
            _ => Self::Weights(llm::workload_file_model(model).and_then(|model| model.config_json.clone())),
        }
    }
}

impl TextSource {
    /// What the results record of a GGUF the phase runs: its path, block formats and bytes.
    pub fn gguf_record(&self) -> Option<crate::results::GgufRecord> {
        let Self::Gguf(path) = self else { return None };
        let file = llm::file_model(path, llm::ModelFormat::Gguf).file.as_ref().ok()?;
        let mut counts: Vec<(String, usize)> = file
            .tensors
            .iter()
            .filter(|tensor| tensor.shape.len() == 2)
            .fold(std::collections::BTreeMap::<&str, usize>::new(), |mut counts, tensor| {
                *counts.entry(tensor.dtype.as_str()).or_default() += 1;
                counts
            })
            .into_iter()
            .map(|(dtype, count)| (dtype.to_owned(), count))
            .collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let weight_types = counts.into_iter().map(|(dtype, _)| dtype).collect::<Vec<_>>().join("+");
        Some(crate::results::GgufRecord { path: path.display().to_string(), weight_types, bytes: file.bytes })
    }
}

/// The weights a workload read from files starts from: a folder's tensors as stored (a GGUF's
/// are loaded by each phase, so there are none to share).
pub fn file_weights(model: &llm::FileModel) -> Result<models::Weights, String> {
    match &model.file {
        Err(error) => Err(error.clone()),
        Ok(file) if file.format == llm::ModelFormat::Gguf => Ok(models::Weights::new()),
        Ok(file) => llm::load_folder_weights(file),
    }
}

/// The language-model configuration of a workload's model, or why it has none.
pub fn language_model(arch: &dyn models::Architecture) -> candle_core::Result<LlmConfig> {
    arch.language_model().ok_or_else(|| candle_core::Error::Msg("mode TextGeneration needs a language model".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;

    use crate::models::Architecture;
    use crate::suite::{LlmFamily, LlmPreset, LlmSpec};

    fn stepper(family: LlmFamily, kv_cache: bool, batch_size: usize) -> candle_core::Result<TextGenerationStepper> {
        let spec = LlmSpec { family, preset: LlmPreset::Tiny };
        let weights = models::generate_weights(&spec, 7)?;
        let config = LlmConfig::of_spec(&spec);
        stepper_of(&spec, &weights, &config, &TextSource::Weights(None), kv_cache, batch_size)
    }

    fn stepper_of(
        arch: &dyn models::Architecture,
        weights: &models::Weights,
        config: &LlmConfig,
        source: &TextSource,
        kv_cache: bool,
        batch_size: usize,
    ) -> candle_core::Result<TextGenerationStepper> {
        let setup = StepperSetup {
            arch,
            weights,
            dtype: DType::F32,
            device: &Device::Cpu,
            quantization: None,
            batch_size,
            seed: 1,
            probe_seed: 2,
            probe_batch: 1,
        };
        let text = TextGenerationSpec { prompt_tokens: 9, new_tokens: 5 };
        Ok(TextGenerationStepper::new(&setup, config, text, kv_cache, source)?.0)
    }

    /// The tokens of one whole generation, checking the step structure on the way: a prefill (not
    /// a headline step, TTFT at least the prefill), then `new_tokens - 1` decode steps, the last
    /// carrying the generation's time.
    fn generate(stepper: &mut TextGenerationStepper) -> candle_core::Result<()> {
        assert!(stepper.at_boundary());
        let mut total = 0.0;
        for token in 0..stepper.spec.new_tokens {
            let timing = stepper.step()?;
            total += timing.secs;
            assert_eq!(timing.is_headline(), token > 0, "token {token}");
            if let Some([prefill, ttft]) = timing.prefill {
                assert!(prefill > 0.0 && ttft >= prefill, "prefill {prefill} ttft {ttft}");
            }
            let last = token + 1 == stepper.spec.new_tokens;
            assert_eq!(timing.generation_secs.is_some(), last, "token {token}");
            if let Some(whole) = timing.generation_secs {
                assert!((whole - total).abs() < 1e-12, "a generation is its prefill and its decode steps");
            }
            if !last {
                assert!(!stepper.at_boundary());
            }
        }
        assert!(stepper.at_boundary());
        Ok(())
    }

    #[test]
    fn every_family_generates_exactly_its_new_tokens_with_and_without_the_kv_cache() -> candle_core::Result<()> {
        for family in LlmFamily::ALL {
            for kv_cache in [true, false] {
                let mut stepper = stepper(family, kv_cache, 2)?;
                generate(&mut stepper)?;
                generate(&mut stepper)?;
                assert!(
                    stepper.context.is_none() && stepper.last_token.is_none(),
                    "{family}: a generation starts anew"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn the_kv_cache_and_recomputing_the_context_give_the_same_tokens_and_logits() -> candle_core::Result<()> {
        for family in LlmFamily::ALL {
            let (mut cached, mut recomputed) = (stepper(family, true, 1)?, stepper(family, false, 1)?);
            let mut tokens = Vec::new();
            for stepper in [&mut cached, &mut recomputed] {
                // Every token but the last (whose step ends the generation and forgets it).
                let mut generated = Vec::new();
                for _ in 0..stepper.spec.new_tokens - 1 {
                    stepper.step()?;
                    let last = stepper.last_token.as_ref().map(|token| token.flatten_all()?.to_vec1::<u32>());
                    generated.push(last.transpose()?);
                }
                tokens.push(generated);
            }
            assert_eq!(tokens[0], tokens[1], "{family}");
            let (a, b) = (cached.probe()?, recomputed.probe()?);
            let vocab = LlmConfig::of_spec(&LlmSpec { family, preset: LlmPreset::Tiny }).vocab;
            assert_eq!(a.len(), vocab * 5, "{family}: logits of the prompt's last token and 4 continuation tokens");
            let largest = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(largest < 1e-3, "{family}: the probe differs by {largest}");
        }
        Ok(())
    }

    /// A model read from a sharded Hugging Face folder runs as the same model with seeded weights
    /// does: the same tokens, the same logits.
    #[test]
    fn a_sharded_folder_generates_as_the_seeded_model_it_was_written_from() -> Result<(), Box<dyn std::error::Error>> {
        for family in LlmFamily::ALL {
            let dir = tempfile::tempdir()?;
            let written = llm::test_folder::write_folder(dir.path(), family, true)?;
            let model = llm::file_model(dir.path(), llm::ModelFormat::HfFolder);
            let config = model.language_model().ok_or("the folder is not read")?;
            assert_eq!(config, written, "{family}");
            let weights = file_weights(model)?;
            let source = TextSource::Weights(model.config_json.clone());
            let mut from_folder = stepper_of(model, &weights, &config, &source, true, 1)?;
            generate(&mut from_folder)?;
            let spec = LlmSpec { family, preset: LlmPreset::Tiny };
            let seeded = models::generate_weights(&spec, 3)?;
            let mut from_seed = stepper_of(&spec, &seeded, &written, &TextSource::Weights(None), true, 1)?;
            assert_eq!(from_folder.probe()?, from_seed.probe()?, "{family}");
        }
        Ok(())
    }
}
