//! The user's own model files as workloads: Hugging Face folders and GGUF files written by
//! `export-weights` from seeded models of every family, run by `phasebench run` as `HfFolder`,
//! `Gguf` and a phase's `gguf`, and the errors a broken or mismatched file gives.

use std::path::Path;

use assert_cmd::cargo::cargo_bin;
use phasebench::results::{RunStatus, load_result};
use predicates::prelude::*;

use crate::TestResult;

fn phasebench() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(cargo_bin("phasebench"));
    command.env("RAYON_NUM_THREADS", "1");
    command
}

/// The families as the seed suite's workloads name them, with their suite spelling.
const FAMILIES: [(&str, &str); 5] =
    [("llama", "Llama"), ("mistral", "Mistral"), ("qwen2", "Qwen2"), ("qwen3", "Qwen3"), ("phi3", "Phi3")];

/// Tokens generated per generation: 16 positions of next-token agreement are compared.
const NEW_TOKENS: usize = 16;

/// Writes, under `dir/models`, every family's tiny seeded model as a Hugging Face folder
/// (`<family>`) and as a Q8_0 GGUF (`<family>-q8_0.gguf`), through `phasebench export-weights`.
fn export_models(dir: &Path) -> TestResult {
    let workloads: Vec<String> = FAMILIES
        .iter()
        .map(|(name, family)| {
            format!(
                "Workload(name: \"{name}\", model: Llm(family: {family}, preset: Tiny), mode: TextGeneration(prompt_tokens: 12, new_tokens: {NEW_TOKENS}))"
            )
        })
        .collect();
    let seed_suite = dir.join("seeded.ron");
    std::fs::write(
        &seed_suite,
        format!(
            "Suite(version: 1, name: \"seeded\", settings: Settings(seed: 5), workloads: [{}], phases: [Phase(name: \"f32\")], baseline: \"f32\")",
            workloads.join(", ")
        ),
    )?;
    for (name, _) in FAMILIES {
        for out in [format!("models/{name}"), format!("models/{name}-q8_0.gguf")] {
            phasebench()
                .current_dir(dir)
                .args(["export-weights", "seeded.ron", "--workload", name, "--out", &out])
                .assert()
                .success()
                .stdout(predicate::str::contains(format!("to {out}")));
        }
    }
    Ok(())
}

/// A suite of every family's model read from `model` (a format string with `{name}`), with
/// `phases`, written beside the models.
fn write_suite(dir: &Path, file: &str, model: &str, phases: &str) -> TestResult {
    let workloads: Vec<String> = FAMILIES
        .iter()
        .map(|(name, _)| {
            format!(
                "Workload(name: \"{name}\", model: {}, mode: TextGeneration(prompt_tokens: 12, new_tokens: {NEW_TOKENS}))",
                model.replace("{name}", name)
            )
        })
        .collect();
    let text = format!(
        "Suite(version: 1, name: \"{file}\", settings: Settings(warmup_steps: 2, min_steps: 15, max_steps: 60, min_secs: 0.0, max_secs: 0.5, seed: 9), workloads: [{}], phases: [{phases}], baseline: \"f32\")",
        workloads.join(", ")
    );
    std::fs::write(dir.join(file), text)?;
    Ok(())
}

/// Every family runs from a folder (f32, bf16, quantized in memory, without the KV cache) and from
/// its GGUF as a phase (`{workload}` naming each workload's file): every run generates exactly its
/// tokens, and the GGUF computes what quantizing the folder in memory computes.
#[test]
fn every_family_runs_from_a_folder_and_from_its_gguf() -> TestResult {
    let dir = tempfile::tempdir()?;
    export_models(dir.path())?;
    write_suite(
        dir.path(),
        "folders.ron",
        "HfFolder(path: \"models/{name}\")",
        "Phase(name: \"f32\"), Phase(name: \"bf16\", dtype: BF16), Phase(name: \"q8_0\", quantization: Q8_0), Phase(name: \"gguf\", gguf: \"models/{workload}-q8_0.gguf\"), Phase(name: \"no-kv\", kv_cache: false)",
    )?;
    // Run from elsewhere: the paths start at the suite's folder.
    let out = tempfile::tempdir()?;
    phasebench()
        .arg("run")
        .arg(dir.path().join("folders.ron"))
        .arg("--out")
        .arg(out.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("llama (HfFolder, TextGeneration)"));
    let result_dir = std::fs::read_dir(out.path())?.next().ok_or("no result directory")??.path();
    let result = load_result(&result_dir)?;
    assert_eq!(result.runs.len(), FAMILIES.len() * 5);
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{}", run.label());
        let text = run.text.as_ref().ok_or("no text-generation record")?;
        let generations = text.generation_secs.len();
        assert!(generations >= 1);
        assert_eq!(run.step_secs.len(), generations * (NEW_TOKENS - 1), "{}: decode steps", run.label());
        for (prefill, ttft) in text.prefill_secs.iter().zip(&text.ttft_secs) {
            assert!(*prefill > 0.0 && ttft >= prefill, "{}", run.label());
        }
    }
    for (name, _) in FAMILIES {
        let run = |phase: &str| {
            result.runs.iter().find(|run| run.workload == name && run.phase == phase).ok_or(format!("{name}/{phase}"))
        };
        let (gguf, in_memory) = (run("gguf")?, run("q8_0")?);
        // The run says which file it ran, in which block formats, and counts its bytes.
        let text = gguf.text.as_ref().ok_or("no text record")?;
        let record = text.gguf.as_ref().ok_or("no GGUF record")?;
        assert!(record.path.ends_with(&format!("models/{name}-q8_0.gguf")), "{record:?}");
        assert_eq!(record.weight_types, "Q8_0");
        let file_bytes = std::fs::metadata(dir.path().join(format!("models/{name}-q8_0.gguf")))?.len();
        assert_eq!((record.bytes, gguf.param_bytes as u64), (file_bytes, file_bytes));
        assert_eq!(text.family.as_deref(), Some(name));
        assert!(in_memory.text.as_ref().is_some_and(|text| text.gguf.is_none()));
        // Each read of a file is recorded with its bytes, time and page-cache state: the GGUF's
        // per run, the folder's safetensors once for the workload's runs. Both were written a
        // moment ago, so the operating system still has them cached.
        let folder_bytes = std::fs::metadata(dir.path().join(format!("models/{name}/model.safetensors")))?.len();
        for (run, bytes, with_build) in [(gguf, file_bytes, true), (in_memory, folder_bytes, false)] {
            let load = run.file_load.as_ref().ok_or_else(|| format!("{}: no file read recorded", run.label()))?;
            assert_eq!(load.bytes, bytes, "{}", run.label());
            // A GGUF is read into candle's quantized model in one call: its figure is the whole load.
            assert_eq!(load.includes_build, with_build, "{}", run.label());
            assert_eq!(load.includes_build, run.load_secs == Some(load.read_secs), "{}", run.label());
            assert!(load.read_secs > 0.0 && load.page_cache_fraction.is_some_and(|f| f > 0.5), "{load:?}");
        }
        let (gguf, in_memory) = (gguf.accuracy.as_ref().ok_or("gguf")?, in_memory.accuracy.as_ref().ok_or("q8_0")?);
        // The stated rate: the Q8_0 GGUF predicts the f32 folder's next token at 12 of 16
        // positions or more, its logits at cosine > 0.999 and mean KL < 1e-3 nats (measured, seed
        // 5: 16 of 16 for llama, mistral, qwen2 and qwen3, 13 of 16 for phi3 — random weights
        // give nearly flat distributions, where rounding flips close calls —, cosine 0.9995, KL
        // 4.3–4.9e-4 for every family).
        let agreement = gguf.tokens.ok_or("no next-token agreement")?;
        assert_eq!(agreement.positions, NEW_TOKENS);
        assert!(agreement.top1_agreement >= 12.0 / 16.0, "{name}: {agreement:?}");
        assert!(agreement.mean_kl_divergence < 1e-3, "{name}: {agreement:?}");
        assert!(gguf.cosine_similarity.is_some_and(|cosine| cosine > 0.999), "{name}: {gguf:?}");
        // llama.cpp's layout written to a file and read back is the in-memory quantization.
        assert_eq!(gguf.max_abs_error, in_memory.max_abs_error, "{name}");
        let no_kv = run("no-kv")?.accuracy.as_ref().ok_or("no-kv")?.tokens.ok_or("no-kv tokens")?;
        assert_eq!(no_kv.top1_agreement, 1.0, "{name}");
    }
    Ok(())
}

/// A GGUF is a workload of its own: its family from `general.architecture` (Mistral runs as
/// llama), with and without the KV cache.
#[test]
fn a_gguf_runs_as_a_workload() -> TestResult {
    let dir = tempfile::tempdir()?;
    export_models(dir.path())?;
    write_suite(
        dir.path(),
        "ggufs.ron",
        "Gguf(path: \"models/{name}-q8_0.gguf\")",
        "Phase(name: \"f32\"), Phase(name: \"no-kv\", kv_cache: false)",
    )?;
    let out = dir.path().join("out");
    phasebench()
        .current_dir(dir.path())
        .args(["run", "ggufs.ron", "--out", "out"])
        .assert()
        .success()
        .stdout(predicate::str::contains("qwen3 (Gguf, TextGeneration)"));
    let result = load_result(&std::fs::read_dir(&out)?.next().ok_or("no result directory")??.path())?;
    assert_eq!(result.runs.len(), FAMILIES.len() * 2);
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{}", run.label());
        assert!(run.decode_tokens_per_sec().is_some_and(|rate| rate > 0.0));
        if run.phase == "no-kv" {
            let tokens = run.accuracy.as_ref().and_then(|accuracy| accuracy.tokens).ok_or("no agreement")?;
            assert_eq!(tokens.top1_agreement, 1.0, "{}", run.label());
        }
    }
    Ok(())
}

/// Each broken or mismatched file is refused before anything runs (exit 2), naming the suite's
/// line and the file.
#[test]
fn broken_and_mismatched_model_files_are_refused_naming_the_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    export_models(dir.path())?;
    let models = dir.path().join("models");
    // A folder without config.json, a truncated safetensors, a config that does not match.
    std::fs::create_dir(models.join("empty"))?;
    copy_folder(&models.join("qwen3"), &models.join("truncated"))?;
    let weights = std::fs::read(models.join("qwen3/model.safetensors"))?;
    std::fs::write(models.join("truncated/model.safetensors"), &weights[..weights.len() / 2])?;
    copy_folder(&models.join("llama"), &models.join("mismatch"))?;
    let config = std::fs::read_to_string(models.join("llama/config.json"))?;
    std::fs::write(
        models.join("mismatch/config.json"),
        config.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"),
    )?;
    let cases = [
        ("HfFolder(path: \"models/nowhere\")", "Phase(name: \"f32\")", "models/nowhere: No such file or directory"),
        (
            "HfFolder(path: \"models/empty\")",
            "Phase(name: \"f32\")",
            "models/empty: no config.json: not a Hugging Face model folder",
        ),
        (
            "HfFolder(path: \"models/truncated\")",
            "Phase(name: \"f32\")",
            "truncated/model.safetensors: truncated: tensor",
        ),
        (
            "HfFolder(path: \"models/mismatch\")",
            "Phase(name: \"f32\")",
            "config.json describes a tensor `model.layers.2.",
        ),
        (
            "HfFolder(path: \"models/llama-q8_0.gguf\")",
            "Phase(name: \"f32\")",
            "is a file, but HfFolder names a Hugging Face folder",
        ),
        ("Gguf(path: \"models/llama\")", "Phase(name: \"f32\")", "is a folder, but Gguf names a .gguf file"),
        (
            "HfFolder(path: \"models/llama\")",
            "Phase(name: \"f32\"), Phase(name: \"other\", gguf: \"models/qwen3-q8_0.gguf\")",
            "phase `other` runs",
        ),
        (
            "HfFolder(path: \"models/llama\")",
            "Phase(name: \"f32\"), Phase(name: \"q4k\", quantization: Q4K)",
            "phase `q4k` quantizes to q4k, whose blocks are 256 wide, but the model's `hidden` is 64",
        ),
    ];
    for (model, phases, expected) in cases {
        let suite = format!(
            "Suite(\n    version: 1,\n    name: \"bad\",\n    workloads: [\n        Workload(name: \"w\", model: {model}, mode: TextGeneration(prompt_tokens: 12, new_tokens: 4)),\n    ],\n    phases: [{phases}],\n    baseline: \"f32\",\n)\n"
        );
        std::fs::write(dir.path().join("bad.ron"), suite)?;
        phasebench()
            .arg("run")
            .arg(dir.path().join("bad.ron"))
            .arg("--out")
            .arg(dir.path().join("out"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("bad.ron:5:24: workload `w`").and(predicate::str::contains(expected)));
    }
    assert!(!dir.path().join("out").exists(), "nothing ran");
    Ok(())
}

fn copy_folder(from: &Path, to: &Path) -> TestResult {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

/// The shipped `suites/llm-files.ron` checks out against stand-ins written where its header says.
#[test]
fn the_shipped_files_suite_runs_on_the_files_its_header_names() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    std::fs::copy(shipped.join("llm-files.ron"), dir.path().join("llm-files.ron"))?;
    // Tiny stand-ins of the header's files (its own commands write ~25 M-parameter ones).
    std::fs::write(
        dir.path().join("seeded.ron"),
        "Suite(version: 1, name: \"seeded\", workloads: [Workload(name: \"qwen3\", model: Llm(family: Qwen3, preset: Tiny), mode: TextGeneration(prompt_tokens: 8, new_tokens: 4))], phases: [Phase(name: \"f32\")], baseline: \"f32\")",
    )?;
    for out in ["models/Qwen3-0.6B", "models/Qwen3-0.6B-Q8_0.gguf"] {
        phasebench()
            .current_dir(dir.path())
            .args(["export-weights", "seeded.ron", "--workload", "qwen3", "--out", out])
            .assert()
            .success();
    }
    let suite = phasebench::load_checked_suite(&dir.path().join("llm-files.ron"))?;
    assert_eq!(suite.phases.len(), 5);
    phasebench().arg("validate").arg(dir.path().join("llm-files.ron")).assert().success();
    Ok(())
}
