//! `phasebench export-weights`: a workload's seeded weights written out — under phasebench's own
//! names for catalog models, and for a language model as a Hugging Face folder or a GGUF, the
//! files another framework (or a suite's `HfFolder`/`Gguf`) reads.

use std::path::Path;

use anyhow::Context;
use phasebench::models::{self, llm};
use phasebench::suite::{ModelSpec, Quantization};

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Writes the weights of `workload_name` of the suite at `suite_path` to `out`: a safetensors
/// file; for a language model a Hugging Face folder, or a GGUF in `quantization` when `out` ends
/// in `.gguf`. `io` also writes the seeded input and output of a catalog model.
pub fn export_weights(
    suite_path: &Path,
    workload_name: &str,
    out: &Path,
    io: Option<(&Path, usize)>,
    quantization: Option<Quantization>,
) -> anyhow::Result<u8> {
    let suite = match phasebench::load_checked_suite(suite_path) {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let Some(workload) = suite.workloads.iter().find(|workload| workload.name == workload_name) else {
        let names: Vec<&str> = suite.workloads.iter().map(|workload| workload.name.as_str()).collect();
        anyhow::bail!(
            "{}: no workload `{workload_name}` (the workloads are: {})",
            suite_path.display(),
            names.join(", ")
        );
    };
    let arch = models::architecture(&workload.model);
    if let ModelSpec::Llm(spec) = &workload.model {
        anyhow::ensure!(
            io.is_none(),
            "--io writes a catalog model's input and output; `{workload_name}` is a language model"
        );
        let config = llm::LlmConfig::of_spec(spec);
        let weights = models::generate_weights(spec, suite.settings.seed).context("cannot generate the weights")?;
        let gguf = out.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("gguf"));
        if gguf {
            let quantization = quantization.unwrap_or(Quantization::Q8_0);
            llm::write_gguf_file(&config, &weights, quantization, out).map_err(anyhow::Error::msg)?;
            println!(
                "wrote `{workload_name}` ({} {}, {} parameters, seed {}) as a GGUF in {quantization} to {}",
                spec.family,
                spec.preset.name(),
                models::parameter_count(arch),
                suite.settings.seed,
                out.display()
            );
        } else {
            anyhow::ensure!(
                quantization.is_none(),
                "--quantization applies to a GGUF; name a .gguf file with --out, or drop it to write a Hugging Face folder"
            );
            llm::write_hf_folder(&config, &weights, out).map_err(anyhow::Error::msg)?;
            println!(
                "wrote `{workload_name}` ({} {}, {} parameters, f32, seed {}) as a Hugging Face folder (config.json, model.safetensors) to {}",
                spec.family,
                spec.preset.name(),
                models::parameter_count(arch),
                suite.settings.seed,
                out.display()
            );
        }
        return Ok(EXIT_OK);
    }
    if let ModelSpec::Diffusion(spec) = &workload.model
        && spec.path.is_none()
    {
        anyhow::ensure!(quantization.is_none(), "--quantization does not apply to a diffusion pipeline");
        models::diffusion::write_seeded_folder(out, spec.pipeline, suite.settings.seed).map_err(anyhow::Error::msg)?;
        println!(
            "wrote `{workload_name}` ({} TinyRandom, {} parameters, f32, seed {}) as a diffusers folder to {}",
            spec.pipeline,
            models::parameter_count(arch),
            suite.settings.seed,
            out.display()
        );
        if let Some((io_path, batch)) = io {
            let tensors =
                models::diffusion::reference_io(spec, suite.settings.seed, batch.max(1)).map_err(anyhow::Error::msg)?;
            let mut names: Vec<&String> = tensors.keys().collect();
            names.sort();
            let names = names.iter().map(|name| name.as_str()).collect::<Vec<_>>().join(", ");
            models::save_weights(&tensors, io_path)?;
            println!(
                "wrote the reference inputs and f32 CPU outputs (batch {batch}: {names}) to {}",
                io_path.display()
            );
        }
        return Ok(EXIT_OK);
    }
    anyhow::ensure!(
        workload.model.model_path().is_none(),
        "`{workload_name}` is read from files already: {}",
        workload.model.model_path().map(|path| path.written().to_owned()).unwrap_or_default()
    );
    anyhow::ensure!(quantization.is_none(), "--quantization applies to a language model written as a GGUF");
    let weights = models::generate_weights(arch, suite.settings.seed).context("cannot generate the weights")?;
    models::save_weights(&weights, out)?;
    println!(
        "wrote {} tensors ({} parameters, f32) of `{workload_name}` with seed {} to {}",
        weights.len(),
        models::parameter_count(arch),
        suite.settings.seed,
        out.display()
    );
    if let Some((io_path, batch)) = io {
        if let Some(limit) = arch.batch_limit().filter(|&limit| batch > limit) {
            anyhow::bail!(
                "`{workload_name}` takes at most {limit} item(s) per batch here; write --io with --batch {limit}"
            );
        }
        let (input, output) = models::reference_io(arch, &weights, batch, suite.settings.seed)
            .context("cannot run the model on the seeded input")?;
        let (input_shape, output_shape) = (input.dims().to_vec(), output.dims().to_vec());
        let tensors = std::collections::HashMap::from([("input".to_owned(), input), ("output".to_owned(), output)]);
        models::save_weights(&tensors, io_path)?;
        println!(
            "wrote the seeded input {input_shape:?} (batch {batch}) and its f32 CPU output {output_shape:?} to {}",
            io_path.display()
        );
    }
    Ok(EXIT_OK)
}
