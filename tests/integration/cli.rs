//! The real binary end to end: run, validate, show, models, exit codes and Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use phasebench::compare::target_value;
use phasebench::results::{RunStatus, SuiteStatus, load_result};
use phasebench::suite::TargetMetric;
use predicates::prelude::*;

use crate::{TestResult, fixture};

fn phasebench() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(cargo_bin("phasebench"));
    command.env("RAYON_NUM_THREADS", "1");
    command
}

/// The single result directory created under `out`.
fn result_dir(out: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dirs: Vec<PathBuf> = out.read_dir()?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    // An error, not a panic: a test polling for the directory may look before it exists.
    match dirs.as_slice() {
        [dir] => Ok(dir.clone()),
        _ => Err(format!("expected one result directory under {}, found {dirs:?}", out.display()).into()),
    }
}

#[test]
fn run_writes_a_result_with_every_raw_step_and_prints_the_table() -> TestResult {
    let out = tempfile::tempdir()?;
    phasebench()
        .args(["run", fixture("valid_suites/tiny.ron").to_str().ok_or("path")?, "--out"])
        .arg(out.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("speedup [CI]"))
        .stdout(predicate::str::contains("results: "));
    let result = load_result(&result_dir(out.path())?)?;
    assert_eq!(result.status, SuiteStatus::Completed);
    assert_eq!(result.runs.len(), 6);
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed);
        assert_eq!(run.warmup_step_secs.len(), 2);
        assert!(run.step_secs.len() >= 5 && run.step_secs.iter().all(|s| *s > 0.0));
        assert_eq!(run.summary.as_ref().map(|s| s.count), Some(run.step_secs.len()));
    }

    // `show` prints the same table from the file.
    phasebench().arg("show").arg(result_dir(out.path())?).assert().success().stdout(
        predicate::str::contains("mlp (Mlp, Inference)").and(predicate::str::contains("matmul (MatMul, Inference)")),
    );
    Ok(())
}

#[test]
fn a_failed_run_is_recorded_and_exits_1() -> TestResult {
    let out = tempfile::tempdir()?;
    phasebench()
        .args(["run", fixture("valid_suites/with_cuda_phase.ron").to_str().ok_or("path")?, "--out"])
        .arg(out.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAILED"));
    let result = load_result(&result_dir(out.path())?)?;
    assert_eq!(result.runs.len(), 3);
    assert_eq!(result.runs.iter().filter(|run| run.failed()).count(), 1);
    Ok(())
}

#[test]
fn invalid_suites_exit_2_with_file_and_position_and_write_nothing() -> TestResult {
    let out = tempfile::tempdir()?;
    for (name, fragment) in [
        ("syntax_error.ron", "syntax_error.ron:7:9:"),
        ("unknown_field.ron", "unknown_field.ron:4:35: unknown field `warmup`"),
        ("duplicate_workload.ron", "duplicate_workload.ron:7:24:"),
        ("missing_baseline.ron", "baseline `fast` is not one of the phases"),
        ("absurd_size.ron", "needs about 8.0 TiB"),
    ] {
        let path = fixture(&format!("invalid_suites/{name}"));
        phasebench()
            .arg("run")
            .arg(&path)
            .arg("--out")
            .arg(out.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(fragment).and(predicate::str::contains("panicked").not()));
        phasebench().arg("validate").arg(&path).assert().code(2).stderr(predicate::str::contains(fragment));
    }
    assert_eq!(out.path().read_dir()?.count(), 0, "no result directory for refused suites");
    phasebench()
        .args(["run", "no/such/suite.ron"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/suite.ron: cannot read the suite file"));
    Ok(())
}

#[test]
fn validate_models_and_help_work() -> TestResult {
    phasebench()
        .arg("validate")
        .arg(fixture("valid_suites/tiny.ron"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/suites/quickstart.ron"))
        .assert()
        .success()
        .stdout(predicate::str::contains("tiny.ron: ok (2 workloads, 2 phases, 6 runs)"));
    phasebench().arg("models").assert().success().stdout(
        predicate::str::contains("MatMul:")
            .and(predicate::str::contains("hidden   default 512    width of each hidden layer"))
            .and(predicate::str::contains("in a suite: model: Mlp(input: 256, hidden: 512, layers: 4, output: 10)")),
    );
    phasebench()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: phasebench").and(predicate::str::contains("the desktop app opens")));
    Ok(())
}

#[test]
fn without_a_display_the_app_says_why_and_points_to_the_headless_command() {
    let assert = phasebench().env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").assert().code(2);
    if cfg!(feature = "gui") {
        assert
            .stderr(predicate::str::contains("cannot open the window").and(predicate::str::contains("phasebench run")));
    } else {
        assert.stderr(predicate::str::contains("built without the desktop app"));
    }
}

/// Starts `phasebench run` on the slow fixture (four runs of 1.5 s each) writing under `results`.
fn spawn_slow_suite(results: &Path) -> std::io::Result<std::process::Child> {
    Command::new(cargo_bin("phasebench"))
        .arg("run")
        .arg(fixture("valid_suites/slow.ron"))
        .arg("--out")
        .arg(results)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

#[test]
fn ctrl_c_stops_the_run_and_keeps_finished_runs_on_disk() -> TestResult {
    let out = tempfile::tempdir()?;
    // Each run measures for 1.5 s, so the interrupt lands in the second run.
    let results = out.path().join("results");
    let mut child = spawn_slow_suite(&results)?;

    // Wait until the first run is on disk.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let finished = result_dir(&results).ok().and_then(|dir| load_result(&dir).ok()).map_or(0, |r| r.runs.len());
        if finished >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the first run never reached the disk");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the second run get going.
    std::thread::sleep(Duration::from_millis(300));
    let interrupted = Instant::now();
    // Through sh's built-in kill, so the test needs no procps on a bare machine.
    let status = Command::new("sh").arg("-c").arg(format!("kill -INT {}", child.id())).status()?;
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait()? {
            break exit;
        }
        // Steps take microseconds; a generous bound still catches a runner that ignores cancel
        // and measures its remaining 1.5 s runs.
        assert!(interrupted.elapsed() < Duration::from_secs(10), "did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(130));

    let result = load_result(&result_dir(&results)?)?;
    assert_eq!(result.status, SuiteStatus::Cancelled);
    assert_eq!(result.runs.len(), 2, "the finished run and the interrupted one");
    assert_eq!(result.runs[0].status, RunStatus::Completed);
    assert_eq!(result.runs[1].status, RunStatus::Cancelled);

    // Resuming measures the cancelled run again and the two never started.
    let dir = result_dir(&results)?;
    assert_cmd::Command::new(cargo_bin("phasebench"))
        .args(["run", "--resume"])
        .arg(&dir)
        .env("RAYON_NUM_THREADS", "1")
        .assert()
        .success();
    let resumed = load_result(&dir)?;
    assert_eq!(resumed.runs.len(), 4);
    assert_eq!(resumed.runs[0], result.runs[0]);
    assert!(resumed.runs.iter().all(|run| run.status == RunStatus::Completed));
    Ok(())
}

#[test]
fn exported_weights_run_from_a_suite_and_a_mismatch_fails_that_workload_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    phasebench()
        .args([
            "export-weights",
            fixture("valid_suites/tiny.ron").to_str().ok_or("path")?,
            "--workload",
            "mlp",
            "--out",
        ])
        .arg(dir.path().join("mlp.safetensors"))
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote 6 tensors"));
    let suite = dir.path().join("local.ron");
    std::fs::write(
        &suite,
        r#"Suite(
            version: 1,
            name: "local-weights",
            settings: Settings(warmup_steps: 1, min_steps: 3, max_steps: 10, min_secs: 0.0, max_secs: 1.0, seed: 1),
            workloads: [
                Workload(name: "fits", model: Mlp(input: 16, hidden: 32, layers: 2, output: 4), weights: "mlp.safetensors"),
                Workload(name: "wider", model: Mlp(input: 16, hidden: 48, layers: 2, output: 4), weights: "mlp.safetensors"),
            ],
            phases: [Phase(name: "base")],
            baseline: "base",
        )"#,
    )?;
    let out = dir.path().join("results");
    phasebench().current_dir("/").arg("run").arg(&suite).arg("--out").arg(&out).assert().code(1).stdout(
        predicate::str::contains(
            "tensor `layers.0.weight` has shape [32, 16] in the file but the model expects [48, 16]",
        ),
    );
    let result = load_result(&result_dir(&out)?)?;
    assert_eq!(result.runs[0].status, RunStatus::Completed);
    assert!(result.runs[1].failed());
    phasebench()
        .args([
            "export-weights",
            fixture("valid_suites/tiny.ron").to_str().ok_or("path")?,
            "--workload",
            "nope",
            "--out",
            "x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no workload `nope` (the workloads are: mlp, matmul)"));
    Ok(())
}

/// `env` tells whether CUDA phases can run, next to the telemetry sources (this test binary is
/// built without the `cuda` feature; the CUDA build's answer is checked in CI by .ci/cuda-build.sh).
#[test]
fn env_says_whether_cuda_phases_can_run() {
    phasebench()
        .arg("env")
        .assert()
        .success()
        .stdout(predicate::str::contains("cuda       not compiled in (build with `--features cuda`"))
        .stdout(predicate::str::contains("telemetry sources:"));
}

/// `export-weights --io` writes the very input a run of that batch size measures and the output
/// of the exported weights for it, so another framework can be checked against both.
#[test]
fn export_weights_io_writes_the_measured_input_and_its_output() -> TestResult {
    use candle_core::{DType, Device};
    use phasebench::models;
    let dir = tempfile::tempdir()?;
    let (weights_path, io_path) = (dir.path().join("w.safetensors"), dir.path().join("io.safetensors"));
    phasebench()
        .args(["export-weights", fixture("valid_suites/tiny.ron").to_str().ok_or("path")?, "--workload", "mlp"])
        .arg("--out")
        .arg(&weights_path)
        .arg("--io")
        .arg(&io_path)
        .args(["--batch", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote the seeded input [3, 16] (batch 3) and its f32 CPU output [3, 4]"));
    let suite = phasebench::load_checked_suite(&fixture("valid_suites/tiny.ron"))?;
    let arch = models::architecture(&suite.workloads[0].model);
    let io = candle_core::safetensors::load(&io_path, &Device::Cpu)?;
    let measured_input = models::seeded_input(arch, 3, suite.settings.seed, DType::F32, &Device::Cpu)?;
    assert_eq!(io["input"].to_vec2::<f32>()?, measured_input.to_vec2::<f32>()?);
    let weights = models::load_weights(arch, &weights_path)?;
    let network = models::build_network(arch, &weights, DType::F32, &Device::Cpu, models::BuildOptions::default())?;
    assert_eq!(io["output"].to_vec2::<f32>()?, network.forward(&measured_input)?.to_vec2::<f32>()?);
    let other_seed = models::seeded_input(arch, 3, suite.settings.seed + 1, DType::F32, &Device::Cpu)?;
    assert_ne!(io["input"].to_vec2::<f32>()?, other_seed.to_vec2::<f32>()?);
    Ok(())
}

/// The memory a report shows and a `PeakMemoryBytes` target checks follows the phase's weights:
/// bf16 below f32 and q8_0 below bf16 for a model whose weights dominate. It runs the binary, so
/// no other test's allocations share the process's heap counter. (Before run memory, this figure
/// was the process's peak RSS with the f32 master resident beside every phase's converted copy:
/// f32 42 MiB, bf16 62 MiB, q8_0 60 MiB on this fixture.)
#[test]
fn reduced_precision_phases_report_less_memory_than_f32() -> TestResult {
    let out = tempfile::tempdir()?;
    phasebench()
        .args(["run", fixture("valid_suites/weight_dominated.ron").to_str().ok_or("path")?, "--out"])
        .arg(out.path())
        .assert()
        .success();
    let result = load_result(&result_dir(out.path())?)?;
    let memory = |phase: &str| -> Result<(f64, usize), Box<dyn std::error::Error>> {
        let run = result.runs.iter().find(|run| run.phase == phase).ok_or("run missing")?;
        assert_eq!(run.status, RunStatus::Completed, "{phase}");
        let (bytes, _) = target_value(TargetMetric::PeakMemoryBytes, run).ok_or("no memory figure")?;
        Ok((bytes, run.param_bytes))
    };
    let [(f32_bytes, f32_weights), (bf16_bytes, bf16_weights), (q8_bytes, q8_weights)] =
        [memory("f32")?, memory("bf16")?, memory("q8_0")?];
    assert!(bf16_bytes < f32_bytes, "bf16 {bf16_bytes} not below f32 {f32_bytes}");
    assert!(q8_bytes < bf16_bytes, "q8_0 {q8_bytes} not below bf16 {bf16_bytes}");
    // Each run holds its own weights, and not much more: the activations of a batch of one are
    // small, and neither the f32 master nor the cache-flush buffer is counted.
    for (phase, bytes, weights) in
        [("f32", f32_bytes, f32_weights), ("bf16", bf16_bytes, bf16_weights), ("q8_0", q8_bytes, q8_weights)]
    {
        let weights = weights as f64;
        assert!(bytes >= weights, "{phase}: {bytes} below its own weights {weights}");
        assert!(bytes <= weights + f32_weights as f64 / 2.0, "{phase}: {bytes} far above its weights {weights}");
    }
    Ok(())
}

#[test]
fn a_batch_sweep_stops_at_its_memory_budget_before_allocating_past_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let budget_bytes: u64 = 160 << 20;
    let suite = dir.path().join("sweep.ron");
    std::fs::write(
        &suite,
        format!(
            r#"Suite(
            version: 1,
            name: "memory-sweep",
            settings: Settings(warmup_steps: 1, min_steps: 2, max_steps: 3, min_secs: 0.0, max_secs: 60.0,
                               seed: 1, max_memory_bytes: {budget_bytes}),
            // Each item is 1 MiB of input and 1 MiB of output in f32.
            workloads: [Workload(name: "mm", model: MatMul(m: 256, n: 1024, k: 1024),
                                 batch_sweep: Sweep(from: 1, to: 4096))],
            phases: [Phase(name: "f32")],
            baseline: "f32",
        )"#
        ),
    )?;
    let out = dir.path().join("results");
    phasebench().arg("run").arg(&suite).arg("--out").arg(&out).assert().success();
    let result = load_result(&result_dir(&out)?)?;
    let sweep = result.sweeps.first().ok_or("no sweep recorded")?;
    let largest = sweep.largest_working_batch.ok_or("no batch worked")?;
    assert!((8..4096).contains(&largest), "largest working batch {largest}");
    match &sweep.stop {
        phasebench::results::SweepStop::MemoryBudget { batch_size, predicted_bytes, budget_bytes: budget } => {
            assert_eq!(*batch_size, largest * 2);
            assert!(predicted_bytes > budget && *budget == budget_bytes);
        }
        other => panic!("expected the memory budget to stop the sweep, got {other:?}"),
    }
    assert_eq!(
        sweep.throughput_curve.len(),
        result.runs.iter().filter(|run| run.status == RunStatus::Completed).count()
    );
    for run in &result.runs {
        assert!(run.peak_rss_bytes.unwrap_or(0) <= budget_bytes, "batch {} went over the budget", run.batch_size);
        if run.batch_size > largest {
            assert!(matches!(run.status, RunStatus::Skipped { .. }), "{:?}", run.status);
        }
    }
    Ok(())
}

#[test]
fn a_killed_run_keeps_its_finished_runs_and_resume_completes_the_suite() -> TestResult {
    let out = tempfile::tempdir()?;
    // Four runs of 1.5 s each: kill the process once two are on disk.
    let results = out.path().join("results");
    let mut child = spawn_slow_suite(&results)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let before_kill = loop {
        if let Some(result) = result_dir(&results).ok().and_then(|dir| load_result(&dir).ok())
            && result.runs.len() >= 2
        {
            break result;
        }
        assert!(Instant::now() < deadline, "two runs never reached the disk");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill()?; // SIGKILL: no handler, no flush, nothing after this line of the process runs
    let _ = child.wait()?;

    let dir = result_dir(&results)?;
    let killed = load_result(&dir)?;
    assert_eq!(killed.status, SuiteStatus::Running, "the file says the suite never finished");
    assert!(killed.runs.len() >= 2 && killed.runs.len() < 4, "{} runs on disk", killed.runs.len());
    assert_eq!(killed.runs[..2], before_kill.runs[..2], "the finished runs are intact");
    assert!(killed.runs.iter().all(|run| run.status == RunStatus::Completed && run.summary.is_some()));

    let output = Command::new(cargo_bin("phasebench"))
        .args(["run", "--resume"])
        .arg(&dir)
        .env("RAYON_NUM_THREADS", "1")
        .output()?;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let resumed = load_result(&dir)?;
    assert_eq!(resumed.status, SuiteStatus::Completed);
    assert_eq!(resumed.resumed_at.len(), 1);
    assert_eq!(resumed.started_at, killed.started_at);
    let phases: Vec<&str> = resumed.runs.iter().map(|run| run.phase.as_str()).collect();
    assert_eq!(phases, ["a", "b", "c", "d"], "every run once, in plan order");
    assert_eq!(resumed.runs[..killed.runs.len()], killed.runs[..], "kept runs are not measured again");
    assert!(resumed.runs.iter().all(|run| run.status == RunStatus::Completed));
    // The baseline's probe output was kept on disk, so the resumed runs are still checked.
    assert!(resumed.runs[1..].iter().all(|run| run.accuracy.is_some() && run.speedup.is_some()));
    assert!(dir.join("report.html").is_file());

    // Resuming a finished suite changes nothing.
    assert_cmd::Command::new(cargo_bin("phasebench"))
        .args(["run", "--resume"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to resume"));
    assert_eq!(load_result(&dir)?, resumed);
    Ok(())
}

/// Issue 21: every language-model family generates text from a suite: each run's decode steps are
/// whole generations of `new_tokens - 1` steps, each with its prefill and time to first token; the
/// KV cache's size comes from the model; the phases' next-token logits are compared with the
/// baseline's; the terminal and Markdown say prefill, TTFT and decode rates.
#[test]
fn language_models_generate_text_with_prefill_ttft_and_decode_recorded() -> TestResult {
    let out = tempfile::tempdir()?;
    phasebench()
        .args(["run", fixture("valid_suites/llm_tiny.ron").to_str().ok_or("path")?, "--out"])
        .arg(out.path())
        .arg("--md")
        .arg(out.path().join("report.md"))
        .arg("--csv")
        .arg(out.path().join("runs.csv"))
        .assert()
        .success()
        .stdout(predicate::str::contains("llama (Llm, TextGeneration)"))
        .stdout(predicate::str::contains("TTFT").and(predicate::str::contains("tok/s")));
    let markdown = std::fs::read_to_string(out.path().join("report.md"))?;
    std::fs::remove_file(out.path().join("report.md"))?;
    let csv = std::fs::read_to_string(out.path().join("runs.csv"))?;
    std::fs::remove_file(out.path().join("runs.csv"))?;
    let dir = result_dir(out.path())?;
    // The llama-bench table of the saved result: pp and tg rows per run, t/s mean ± sd.
    // `--format llama-bench` prints the table; `--llama-bench FILE` writes JSON for a .json file.
    let rows = out.path().join("bench.json");
    phasebench().arg("report").arg(&dir).arg("--llama-bench").arg(&rows).assert().success();
    let printed = phasebench().arg("report").arg(&dir).args(["--format", "llama-bench"]).output()?;
    assert!(printed.status.success(), "{printed:?}");
    let table = String::from_utf8(printed.stdout)?;
    assert!(table.starts_with("| model | size | params | backend | threads | n_batch | test | t/s | run |"), "{table}");
    assert!(
        table.contains("| llama 0.16M Q8\\_0 |") && table.contains("| pp12 |") && table.contains("| tg4 |"),
        "{table}"
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(&rows)?)?;
    assert_eq!(rows.len(), 2 * 19, "a pp and a tg row per run");
    let sample =
        rows.iter().find(|row| row["run"] == "llama/f32@2" && row["test"] == "tg4").ok_or("no llama/f32@2 tg4")?;
    let samples = sample["samples_ts"].as_array().ok_or("no samples")?;
    assert!(!samples.is_empty() && sample["avg_ts"].as_f64().is_some_and(|rate| rate > 0.0), "{sample}");
    std::fs::remove_file(out.path().join("bench.json"))?;
    let result = load_result(&result_dir(out.path())?)?;
    assert_eq!(
        result.runs.len(),
        19,
        "llama at two batch sizes, three other families, four phases, q8_0 at batch 1 only"
    );
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{}", run.label());
        let text = run.text.as_ref().ok_or("no text-generation record")?;
        let generations = text.generation_secs.len();
        assert!(generations >= 1, "{}", run.label());
        assert_eq!(run.step_secs.len(), generations * (text.new_tokens - 1), "{}: decode steps", run.label());
        assert_eq!((text.prefill_secs.len(), text.ttft_secs.len()), (generations, generations), "{}", run.label());
        for (prefill, ttft) in text.prefill_secs.iter().zip(&text.ttft_secs) {
            assert!(*prefill > 0.0 && ttft >= prefill, "{}: prefill {prefill}, TTFT {ttft}", run.label());
        }
        assert_eq!(text.kv_cache, run.phase != "no-kv");
        assert_eq!(text.kv_cache_bytes > 0, text.kv_cache, "{}", run.label());
        assert!(run.decode_tokens_per_sec().is_some_and(|rate| rate > 0.0));
        if !run.is_baseline {
            let accuracy = run.accuracy.as_ref().ok_or("no accuracy against the baseline")?;
            // The same weights in f32 without the cache compute the same logits.
            let cosine = accuracy.cosine_similarity.unwrap_or_default();
            let tokens = accuracy.tokens.ok_or("no next-token agreement")?;
            // The prompt's last token and every continuation token of the probe sequence.
            assert_eq!(tokens.positions, text.new_tokens, "{}", run.label());
            if run.phase == "no-kv" {
                assert!(cosine > 0.9999 && accuracy.max_abs_error < 1e-3, "{}: {accuracy:?}", run.label());
                assert_eq!(tokens.top1_agreement, 1.0, "{}", run.label());
            }
            // Q8_0 through the family's quantized model (GGUF layout, Llama's rows permuted):
            // the same model, its logits close (a wrong permutation or tensor gives ~0).
            if run.phase == "q8_0" {
                assert!(cosine > 0.99, "{}: {accuracy:?}", run.label());
                assert!(run.param_bytes < run.f32_param_bytes / 3, "{}: q8_0 weights", run.label());
            }
        }
    }
    // The Llama tiny preset: 2 layers × 2 KV heads × 16 wide × (12 + 5) tokens × keys and values ×
    // 2 sequences, f32.
    let llama = result.runs.iter().find(|run| run.label() == "llama/f32@2").ok_or("llama/f32@2")?;
    assert_eq!(llama.text.as_ref().map(|text| text.kv_cache_bytes), Some(2 * 2 * 2 * 16 * 17 * 2 * 4));
    assert!(markdown.contains("llama/bf16@1: prefill"), "{markdown}");
    // The CSV's text-generation columns: filled for every run, the KV cache as recorded.
    let mut rows = csv.lines().map(|line| line.split(',').collect::<Vec<_>>());
    let header = rows.next().ok_or("no header")?;
    let column = |name: &str| header.iter().position(|cell| *cell == name).ok_or(format!("no column {name}"));
    let (ttft, decode, kv) = (column("ttft_secs")?, column("decode_tokens_per_sec")?, column("kv_cache_bytes")?);
    let rows: Vec<Vec<&str>> = rows.collect();
    assert_eq!(rows.len(), 19);
    assert!(rows.iter().all(|row| row[ttft].parse::<f64>().is_ok_and(|secs| secs > 0.0)), "{csv}");
    assert!(rows.iter().all(|row| row[decode].parse::<f64>().is_ok_and(|rate| rate > 0.0)), "{csv}");
    assert!(rows.iter().any(|row| row[kv] == (2 * 2 * 2 * 16 * 17 * 2 * 4).to_string()), "{csv}");
    Ok(())
}

/// Issue 21: `inspect` tells what a Hugging Face folder or a GGUF file is, and says clearly when
/// it is neither (exit 2, the path named).
#[test]
fn inspect_tells_a_folder_and_a_gguf_apart_and_refuses_other_files() -> TestResult {
    use phasebench::models::llm::{LlmConfig, write_gguf};
    use phasebench::suite::{LlmFamily, LlmPreset, LlmSpec, Quantization};
    let dir = tempfile::tempdir()?;
    let spec = LlmSpec { family: LlmFamily::Qwen3, preset: LlmPreset::Tiny };
    let config = LlmConfig::of_spec(&spec);
    let weights = phasebench::models::generate_weights(&spec, 1)?;
    let folder = dir.path().join("qwen3-tiny");
    std::fs::create_dir(&folder)?;
    std::fs::write(folder.join("config.json"), config.to_hf_json().to_string())?;
    candle_core::safetensors::save(&weights, folder.join("model.safetensors"))?;
    phasebench()
        .arg("inspect")
        .arg(&folder)
        .assert()
        .success()
        .stdout(predicate::str::contains("Hugging Face folder (safetensors), 1 file(s)"))
        .stdout(predicate::str::contains("family       Qwen3 (qwen3)"))
        .stdout(predicate::str::contains("parameters   0.1 M"))
        .stdout(predicate::str::contains("context      4096 tokens"))
        .stdout(predicate::str::contains(
            "Llm(family: Qwen3, preset: Custom(hidden: 64, layers: 2, heads: 4, kv_heads: 2, intermediate: 192, vocab: 512, context: 4096))",
        ));
    let gguf = dir.path().join("qwen3-tiny-q8_0.gguf");
    write_gguf(&config, &weights, Quantization::Q8_0, &mut std::fs::File::create(&gguf)?)?;
    phasebench()
        .arg("inspect")
        .arg(&gguf)
        .assert()
        .success()
        .stdout(predicate::str::contains("GGUF, 1 file(s)").and(predicate::str::contains("Q8_0 ×")));
    phasebench()
        .arg("inspect")
        .arg(fixture("valid_suites/tiny.ron"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tiny.ron: not a readable GGUF file"));
    Ok(())
}
