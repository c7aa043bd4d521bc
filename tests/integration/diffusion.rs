//! Diffusion pipelines of real families (candle-transformers' Stable Diffusion) run end to end by
//! `phasebench run` from a tiny pipeline written in diffusers layout by `export-weights`, loaded
//! back through the folder path a user's checkpoint takes: stage times, step counts, PSNR/SSIM
//! against the baseline, thumbnails in the HTML report, and clear errors for broken folders.

use std::path::Path;

use assert_cmd::cargo::cargo_bin;
use phasebench::results::{RunStatus, load_result};
use phasebench::stats::Verdict;
use predicates::str::contains;

use crate::TestResult;

fn phasebench() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(cargo_bin("phasebench"));
    command.env("RAYON_NUM_THREADS", "1");
    command
}

/// A suite over the pipeline `model` with `phases`, short settings.
fn write_suite(path: &Path, model: &str, phases: &str) -> TestResult {
    std::fs::write(
        path,
        format!(
            r#"Suite(version: 1, name: "diffusion-test",
    settings: Settings(warmup_steps: 4, min_steps: 3, max_steps: 9, min_secs: 0.0, max_secs: 5.0, seed: 5),
    workloads: [Workload(name: "sd", model: {model},
                         mode: ImageGeneration(steps: 3, width: 64, height: 64, guidance: 7.5))],
    phases: [{phases}],
    baseline: "f32")"#
        ),
    )?;
    Ok(())
}

/// Writes the tiny seeded SD 1.5 pipeline into `dir/sd` through `export-weights`.
fn export_pipeline(dir: &Path) -> TestResult {
    let suite = dir.join("seeded.ron");
    write_suite(&suite, "Diffusion(preset: TinyRandom, pipeline: StableDiffusion(V1_5))", r#"Phase(name: "f32")"#)?;
    phasebench()
        .args(["export-weights", "--workload", "sd", "--out"])
        .arg(dir.join("sd"))
        .arg(&suite)
        .assert()
        .success()
        .stdout(contains("as a diffusers folder"));
    for file in [
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "text_encoder/model.safetensors",
    ] {
        assert!(dir.join("sd").join(file).is_file(), "{file} written");
    }
    Ok(())
}

#[test]
fn a_pipeline_folder_runs_with_stage_times_image_fidelity_and_thumbnails() -> TestResult {
    let dir = tempfile::tempdir()?;
    export_pipeline(dir.path())?;
    let suite = dir.path().join("folder.ron");
    write_suite(
        &suite,
        r#"Diffusion(path: "sd", pipeline: StableDiffusion(V1_5))"#,
        r#"Phase(name: "f32"), Phase(name: "f32 again"), Phase(name: "2 steps", image: (steps: 2)),
           Phase(name: "f16", dtype: F16), Phase(name: "96 px", image: (width: 96))"#,
    )?;
    let (out, html, csv) = (dir.path().join("out"), dir.path().join("report.html"), dir.path().join("runs.csv"));
    phasebench()
        .arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&out)
        .arg("--html")
        .arg(&html)
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success();
    let result = load_result(&out.read_dir()?.next().ok_or("no result directory")??.path())?;
    assert_eq!(result.runs.len(), 5);
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{}: {:?}", run.label(), run.status);
        let generation = run.generation.as_ref().ok_or("no generation record")?;
        let steps = if run.phase == "2 steps" { 2 } else { 3 };
        assert_eq!(generation.steps_per_generation, steps, "{}", run.label());
        let generations = generation.generation_secs.len();
        assert!(generations >= 1, "{}: a whole generation measured", run.label());
        assert_eq!(generation.text_encoder_secs.len(), generations, "{}", run.label());
        assert_eq!(generation.decode_secs.len(), generations, "{}", run.label());
        // Every measured denoising step belongs to a measured generation, whose time holds them
        // all and its two stages.
        assert_eq!(run.step_secs.len(), generations * steps, "{}: the step count is honoured", run.label());
        let steps_total: f64 = run.step_secs.iter().sum();
        let stages: f64 = generation.text_encoder_secs.iter().chain(&generation.decode_secs).sum();
        let images: f64 = generation.generation_secs.iter().sum();
        assert!(
            (images - steps_total - stages).abs() < 1e-6 * images.max(1.0),
            "{}: image = text + steps + decode",
            run.label()
        );
        let image = generation.image.as_ref().ok_or("no image record")?;
        assert!(image.thumbnail_png.as_ref().is_some_and(|png| png.starts_with("iVBORw0KGgo")), "{}", run.label());
        let load = run.file_load.as_ref().ok_or("no file load record")?;
        assert!(load.bytes > 0, "{}: the folder's read", run.label());
        // Told per component, in reading order, adding up to the whole read's bytes.
        let components: Vec<&str> = load.components.iter().map(|part| part.component.as_str()).collect();
        assert_eq!(components, ["unet", "vae", "text_encoder"], "{}", run.label());
        assert_eq!(load.components.iter().map(|part| part.bytes).sum::<u64>(), load.bytes, "{}", run.label());
        assert!(load.text().contains("unet "), "{}", load.text());
        let per_image =
            image.per_image_speedup.map(|speedup| speedup.low <= speedup.ratio && speedup.ratio <= speedup.high);
        assert_eq!(
            per_image,
            (!run.is_baseline).then_some(true),
            "{}: seconds per image against the baseline",
            run.label()
        );
        // Judged as a step-level comparison is: faster only with the whole interval above 1.
        if let Some(speedup) = image.per_image_speedup {
            let verdict = speedup.verdict.ok_or("no per-image verdict")?;
            assert!(verdict != Verdict::Faster || speedup.low > 1.0, "{}: {speedup:?}", run.label());
            assert!(verdict != Verdict::Slower || speedup.high < 1.0, "{}: {speedup:?}", run.label());
        }
    }
    let accuracy_of =
        |phase: &str| result.runs.iter().find(|run| run.phase == phase).and_then(|run| run.accuracy.clone());
    let same = accuracy_of("f32 again").ok_or("no accuracy for the A/A phase")?;
    let same_image = same.image.ok_or("no image fidelity")?;
    assert_eq!((same.max_abs_error, same_image.psnr_db), (0.0, None), "the same code makes the same image");
    assert!(same_image.ssim.is_some_and(|ssim| (ssim - 1.0).abs() < 1e-9), "{same_image:?}");
    for phase in ["2 steps", "f16"] {
        let image = accuracy_of(phase).and_then(|accuracy| accuracy.image).ok_or("no image fidelity")?;
        assert!(
            image.psnr_db.is_some_and(f64::is_finite) && image.ssim.is_some_and(|ssim| ssim < 1.0),
            "{phase}: {image:?}"
        );
    }
    let other_size = result.runs.iter().find(|run| run.phase == "96 px").ok_or("no 96 px run")?;
    assert!(other_size.accuracy.is_none(), "images of another size are not compared");
    // The CSV's image columns: seconds per image for every run, PSNR for a compared phase.
    let csv = std::fs::read_to_string(&csv)?;
    let header: Vec<&str> = csv.lines().next().ok_or("empty CSV")?.split(',').collect();
    let column = |name: &str| header.iter().position(|column| *column == name).ok_or(format!("no column {name}"));
    let (per_image, psnr) = (column("secs_per_image")?, column("image_psnr_db")?);
    let per_image_verdict = column("per_image_verdict")?;
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(cells[per_image].parse::<f64>().is_ok_and(|secs| secs > 0.0), "{line}");
        if line.starts_with("sd,2 steps,") {
            assert!(cells[psnr].parse::<f64>().is_ok_and(f64::is_finite), "{line}");
            assert!(["faster", "slower", "no change"].contains(&cells[per_image_verdict]), "{line}");
        }
    }
    let report = std::fs::read_to_string(&html)?;
    assert!(report.contains("data:image/png;base64,iVBORw0KGgo"), "thumbnails embedded");
    assert!(report.contains("text encoder") && report.contains("decode"), "stages shown");
    Ok(())
}

#[test]
fn broken_folders_and_unbuildable_phases_are_refused_with_the_reason() -> TestResult {
    let dir = tempfile::tempdir()?;
    export_pipeline(dir.path())?;
    let suite = dir.path().join("folder.ron");
    let model = r#"Diffusion(path: "sd", pipeline: StableDiffusion(V1_5))"#;
    write_suite(&suite, model, r#"Phase(name: "f32"), Phase(name: "sliced", image: (sliced_attention: 2))"#)?;
    phasebench().arg("validate").arg(&suite).assert().code(2).stderr(contains("sliced attention fails on every shape"));

    write_suite(&suite, model, r#"Phase(name: "f32")"#)?;
    phasebench().arg("validate").arg(&suite).assert().success();
    // A config.json that no longer fits the weights: the tensor and both shapes are named, and the
    // run fails while the suite goes on.
    let unet_config = dir.path().join("sd/unet/config.json");
    let text = std::fs::read_to_string(&unet_config)?;
    std::fs::write(&unet_config, text.replace("\"layers_per_block\": 1", "\"layers_per_block\": 2"))?;
    let out = dir.path().join("out");
    phasebench().arg("run").arg(&suite).arg("--out").arg(&out).assert().code(1);
    let result = load_result(&out.read_dir()?.next().ok_or("no result directory")??.path())?;
    let failure = format!("{:?}", result.runs[0].status);
    assert!(failure.contains("unet/ has no tensor `down_blocks.0.resnets.1"), "{failure}");

    std::fs::remove_file(dir.path().join("sd/vae/config.json"))?;
    phasebench()
        .arg("validate")
        .arg(&suite)
        .assert()
        .code(2)
        .stderr(contains("vae/config.json: missing (a diffusers pipeline folder has unet/, vae/ and text_encoder/"));
    Ok(())
}

/// SD3 and Flux written as diffusers folders (`transformer/` under diffusers' names, `vae/`, CLIP
/// and T5 text encoders) by `export-weights`, then run from those folders.
#[test]
fn sd3_and_flux_folders_run_their_text_encoders_steps_and_decode() -> TestResult {
    let dir = tempfile::tempdir()?;
    let suite = dir.path().join("flow.ron");
    let flow_suite = |sd3: &str, flux: &str| {
        format!(
            r#"Suite(version: 1, name: "flow-test",
    settings: Settings(warmup_steps: 3, min_steps: 3, max_steps: 9, min_secs: 0.0, max_secs: 5.0, seed: 5),
    workloads: [
        Workload(name: "sd3", model: Diffusion({sd3}, pipeline: Sd3(Medium)),
                 mode: ImageGeneration(steps: 3, width: 32, height: 32, guidance: 5.0)),
        Workload(name: "flux", model: Diffusion({flux}, pipeline: Flux(Dev)),
                 mode: ImageGeneration(steps: 3, width: 32, height: 32, guidance: 3.5))],
    phases: [Phase(name: "f16", dtype: F16), Phase(name: "2 steps", dtype: F16, image: (steps: 2))],
    baseline: "f16")"#
        )
    };
    std::fs::write(&suite, flow_suite("preset: TinyRandom", "preset: TinyRandom"))?;
    for workload in ["sd3", "flux"] {
        phasebench()
            .args(["export-weights", "--workload", workload, "--out"])
            .arg(dir.path().join(workload))
            .arg(&suite)
            .assert()
            .success();
        for file in [
            "transformer/config.json",
            "transformer/diffusion_pytorch_model.safetensors",
            "vae/config.json",
            "text_encoder/model.safetensors",
            if workload == "sd3" { "text_encoder_3/config.json" } else { "text_encoder_2/config.json" },
        ] {
            assert!(dir.path().join(workload).join(file).is_file(), "{workload}: {file} written");
        }
    }
    phasebench().arg("inspect").arg(dir.path().join("flux")).assert().success().stdout(contains("Flux(Dev)"));
    std::fs::write(&suite, flow_suite(r#"path: "sd3""#, r#"path: "flux""#))?;
    let out = dir.path().join("out");
    phasebench().arg("run").arg(&suite).arg("--out").arg(&out).assert().success();
    let result = load_result(&out.read_dir()?.next().ok_or("no result directory")??.path())?;
    assert_eq!(result.runs.len(), 4);
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{}: {:?}", run.label(), run.status);
        let generation = run.generation.as_ref().ok_or("no generation record")?;
        let image = generation.image.as_ref().ok_or("no image record")?;
        assert_eq!(image.scheduler, "flow-matching Euler", "{}", run.label());
        // The folder's CLIP and T5 encoders run as a stage of every generation.
        assert_eq!(generation.text_encoder_secs.len(), generation.generation_secs.len(), "{}", run.label());
        let steps = if run.phase == "2 steps" { 2 } else { 3 };
        assert_eq!(run.step_secs.len(), generation.generation_secs.len() * steps, "{}", run.label());
        let stages: f64 = generation.decode_secs.iter().chain(&generation.text_encoder_secs).sum();
        let images: f64 = generation.generation_secs.iter().sum();
        let steps_total: f64 = run.step_secs.iter().sum();
        assert!(
            (images - steps_total - stages).abs() < 1e-6 * images.max(1.0),
            "{}: image = text + steps + decode",
            run.label()
        );
    }
    for workload in ["sd3", "flux"] {
        let run = result.runs.iter().find(|run| run.workload == workload && run.phase == "2 steps").ok_or("no run")?;
        let image = run.accuracy.as_ref().and_then(|accuracy| accuracy.image.as_ref()).ok_or("no image fidelity")?;
        assert!(image.psnr_db.is_some_and(f64::is_finite), "{workload}: {image:?}");
    }
    // SD3 in f32 is refused with candle's reason before anything runs.
    let text = std::fs::read_to_string(&suite)?.replace(r#"Phase(name: "f16", dtype: F16)"#, r#"Phase(name: "f16")"#);
    std::fs::write(&suite, text)?;
    phasebench().arg("validate").arg(&suite).assert().code(2).stderr(contains("SD3 runs in F16 only"));

    // A transformer config that no longer fits its weights: the missing tensors are named as the
    // files name them (q, k and v apart), and the run fails while the suite goes on.
    std::fs::write(&suite, flow_suite(r#"path: "sd3""#, r#"path: "flux""#))?;
    let config = dir.path().join("flux/transformer/config.json");
    let text = std::fs::read_to_string(&config)?;
    std::fs::write(&config, text.replace("\"num_layers\": 1", "\"num_layers\": 2"))?;
    let out = dir.path().join("out-broken");
    phasebench().arg("run").arg(&suite).arg("--out").arg(&out).assert().code(1);
    let result = load_result(&out.read_dir()?.next().ok_or("no result directory")??.path())?;
    let flux = result.runs.iter().find(|run| run.workload == "flux").ok_or("no flux run")?;
    let failure = format!("{:?}", flux.status);
    assert!(
        failure.contains("transformer/ has no tensor `transformer_blocks.1.attn.to_q.weight` + `transformer_blocks.1.attn.to_k.weight`"),
        "{failure}"
    );
    assert!(result.runs.iter().filter(|run| run.workload == "sd3").all(|run| run.status == RunStatus::Completed));
    // A transformer of another family is refused before anything runs.
    std::fs::write(&config, text.replace("FluxTransformer2DModel", "SD3Transformer2DModel"))?;
    phasebench().arg("validate").arg(&suite).assert().code(2).stderr(contains(
        "transformer/config.json is a \"SD3Transformer2DModel\", but Flux.1 dev has a \"FluxTransformer2DModel\"",
    ));
    Ok(())
}

/// Flux's transformer quantized in memory (candle-transformers' quantized Flux): a Q8_0 phase runs
/// its generations and stays close to f32; Q4K, whose blocks are wider than the tiny transformer,
/// fails with the reason while the rest runs; quantizing another pipeline, or Flux outside F32,
/// is refused before anything runs.
#[test]
fn flux_runs_quantized_and_other_pipelines_refuse_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let suite = dir.path().join("quantized.ron");
    let write = |model: &str, phases: &str| {
        std::fs::write(
            &suite,
            format!(
                r#"Suite(version: 1, name: "flux-quantized",
    settings: Settings(warmup_steps: 2, min_steps: 2, max_steps: 6, min_secs: 0.0, max_secs: 5.0, seed: 5),
    workloads: [Workload(name: "flux", model: Diffusion(preset: TinyRandom, pipeline: {model}),
                         mode: ImageGeneration(steps: 2, width: 32, height: 32, guidance: 1.0))],
    phases: [Phase(name: "f32"), {phases}],
    baseline: "f32")"#
            ),
        )
    };
    write("Flux(Schnell)", r#"Phase(name: "q8_0", quantization: Q8_0), Phase(name: "q4k", quantization: Q4K)"#)?;
    let out = dir.path().join("out");
    phasebench().arg("run").arg(&suite).arg("--out").arg(&out).assert().code(1);
    let result = load_result(&out.read_dir()?.next().ok_or("no result directory")??.path())?;
    let run = |phase: &str| result.runs.iter().find(|run| run.phase == phase).ok_or(format!("no {phase} run"));
    let q8 = run("q8_0")?;
    assert_eq!(q8.status, RunStatus::Completed, "{:?}", q8.status);
    let cosine = q8.accuracy.as_ref().and_then(|accuracy| accuracy.cosine_similarity).ok_or("no accuracy")?;
    assert!(cosine > 0.9 && cosine < 1.0, "Q8_0 stays close to f32 but is not it: {cosine}");
    let q4k = format!("{:?}", run("q4k")?.status);
    assert!(q4k.contains("q4k blocks are 256 wide"), "{q4k}");
    write("Flux(Schnell)", r#"Phase(name: "q8_0 f16", dtype: F16, quantization: Q8_0)"#)?;
    phasebench().arg("validate").arg(&suite).assert().code(2).stderr(contains("quantized Flux runs in F32"));
    write("StableDiffusion(V1_5)", r#"Phase(name: "q8_0", quantization: Q8_0)"#)?;
    phasebench()
        .arg("validate")
        .arg(&suite)
        .assert()
        .code(2)
        .stderr(contains("a quantized form of Flux's transformer only"));
    Ok(())
}
