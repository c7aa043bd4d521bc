//! Vision encoders of real families (candle-transformers' ViT, DINOv2, ConvNeXt, ResNet) run end
//! to end by `phasebench run`: inference and training, each phase's top-1 agreement with the
//! baseline, and a checkpoint in the model's own tensor names loaded as `weights` (or refused,
//! naming the tensor, when it does not fit).

use std::path::Path;

use assert_cmd::cargo::cargo_bin;
use phasebench::results::{RunStatus, load_result};

use crate::TestResult;

fn phasebench() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(cargo_bin("phasebench"));
    command.env("RAYON_NUM_THREADS", "1");
    command
}

/// A suite of `workloads` with an f32 baseline and an f16 phase, short settings.
fn write_suite(path: &Path, workloads: &str) -> TestResult {
    std::fs::write(
        path,
        format!(
            r#"Suite(version: 1, name: "vision-test",
    settings: Settings(warmup_steps: 1, min_steps: 3, max_steps: 6, min_secs: 0.0, max_secs: 5.0, seed: 5),
    workloads: [{workloads}],
    phases: [Phase(name: "f32"), Phase(name: "f16", dtype: F16)],
    baseline: "f32")"#
        ),
    )?;
    Ok(())
}

#[test]
fn every_vision_family_runs_inference_and_training_with_top1_agreement() -> TestResult {
    let dir = tempfile::tempdir()?;
    let suite = dir.path().join("vision.ron");
    write_suite(
        &suite,
        r#"Workload(name: "vit", model: Vision(family: Vit, image_size: 16, classes: 5), batch_sizes: [3]),
           Workload(name: "dinov2", model: Vision(family: Dinov2, image_size: 28), batch_sizes: [1]),
           Workload(name: "convnext", model: Vision(family: ConvNext, image_size: 32, classes: 5), batch_sizes: [3]),
           Workload(name: "resnet", model: Vision(family: ResNet, image_size: 32, classes: 5), batch_sizes: [3]),
           Workload(name: "convnext-train", model: Vision(family: ConvNext, image_size: 32, classes: 5),
                    mode: Training(optimizer: Sgd(lr: 0.001)), batch_sizes: [2])"#,
    )?;
    let out = dir.path().join("out");
    let markdown = dir.path().join("report.md");
    phasebench().arg("run").arg(&suite).arg("--out").arg(&out).arg("--md").arg(&markdown).assert().success();
    let result = load_result(&out.read_dir()?.next().ok_or("no result directory")??.path())?;
    assert_eq!(result.runs.len(), 10);
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{}: {:?}", run.label(), run.status);
        assert!(run.summary.is_some(), "{}", run.label());
    }
    for run in result.runs.iter().filter(|run| run.phase == "f16" && run.workload != "convnext-train") {
        let accuracy = run.accuracy.as_ref().ok_or("no accuracy")?;
        let top1 = accuracy.tokens.ok_or_else(|| format!("{}: no top-1 agreement", run.label()))?;
        // One prediction per image of the probe batch (two images; DINOv2 takes one at a time).
        let probe_images = if run.workload == "dinov2" { 1 } else { 2 };
        assert_eq!(top1.positions, probe_images, "{}", run.label());
        assert!((0.0..=1.0).contains(&top1.top1_agreement), "{top1:?}");
        assert!(accuracy.cosine_similarity.is_some_and(|cosine| cosine > 0.9), "{}: {accuracy:?}", run.label());
    }
    let training = result.runs.iter().find(|run| run.workload == "convnext-train").ok_or("no training run")?;
    assert!(training.training.is_some(), "a training run records its losses");
    let markdown = std::fs::read_to_string(&markdown)?;
    assert!(markdown.contains("top-1 "), "{markdown}");
    Ok(())
}

#[test]
fn a_checkpoint_in_the_models_own_names_loads_as_weights_and_a_misfit_is_named() -> TestResult {
    let dir = tempfile::tempdir()?;
    let seeded = dir.path().join("seeded.ron");
    let vit = r#"Vision(family: Vit, image_size: 16, classes: 5)"#;
    write_suite(&seeded, &format!(r#"Workload(name: "vit", model: {vit}, batch_sizes: [2])"#))?;
    let weights = dir.path().join("vit.safetensors");
    phasebench()
        .arg("export-weights")
        .arg(&seeded)
        .args(["--workload", "vit", "--out"])
        .arg(&weights)
        .assert()
        .success();
    let tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu)?;
    assert!(tensors.contains_key("vit.embeddings.patch_embeddings.projection.weight"), "Hugging Face names");
    assert!(tensors.contains_key("classifier.weight"));

    // `inspect` recognises the file and writes the workload that loads it.
    phasebench().arg("inspect").arg(&weights).assert().success().stdout(predicates::str::contains(
        "model: Vision(family: Vit, preset: Tiny, image_size: 16, classes: 5), weights:",
    ));
    let foreign = dir.path().join("foreign.safetensors");
    let mut renamed = tensors.clone();
    let classifier = renamed.remove("classifier.weight").ok_or("no classifier")?;
    renamed.insert("head.other".into(), classifier);
    candle_core::safetensors::save(&renamed, &foreign)?;
    phasebench()
        .arg("inspect")
        .arg(&foreign)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no vision family and preset of phasebench matches these tensors"));

    let loaded = dir.path().join("loaded.ron");
    let workload = format!(r#"Workload(name: "vit", model: {vit}, weights: "vit.safetensors", batch_sizes: [2])"#);
    write_suite(&loaded, &workload)?;
    let out = dir.path().join("out");
    phasebench().arg("run").arg(&loaded).arg("--out").arg(&out).assert().success();

    // Ten classes where the file has five: the runs fail with every misfit named, the suite ends.
    let misfit = dir.path().join("misfit.ron");
    let workload =
        r#"Workload(name: "vit", model: Vision(family: Vit, image_size: 16, classes: 10), weights: "vit.safetensors")"#;
    write_suite(&misfit, workload)?;
    let never = dir.path().join("never");
    phasebench().arg("run").arg(&misfit).arg("--out").arg(&never).assert().code(1);
    let result = load_result(&never.read_dir()?.next().ok_or("no result directory")??.path())?;
    for run in &result.runs {
        let RunStatus::Failed { reason } = &run.status else {
            return Err(format!("{}: not failed", run.label()).into());
        };
        assert!(
            reason.contains("tensor `classifier.weight` has shape [5, 64] in the file but the model expects [10, 64]"),
            "{reason}"
        );
    }
    Ok(())
}
