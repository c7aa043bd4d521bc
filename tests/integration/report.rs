//! The Markdown and CSV exporters on a fixed result (snapshots), and the `report` and `compare`
//! commands end to end.

use predicates::prelude::*;

use crate::{TestResult, fixed_result, fixture};

#[test]
fn the_markdown_report_of_a_fixed_result_matches_its_snapshot() -> TestResult {
    insta::assert_snapshot!("markdown_report", phasebench::report::markdown::render(&fixed_result()?, None));
    Ok(())
}

#[test]
fn the_csv_report_of_a_fixed_result_matches_its_snapshot() -> TestResult {
    let csv = String::from_utf8(phasebench::report::csv::render(&fixed_result()?)?)?;
    assert_eq!(csv.lines().count(), 5, "a header and one row per run");
    insta::assert_snapshot!("csv_report", csv);
    Ok(())
}

#[test]
fn user_strings_cannot_break_the_markdown_tables() -> TestResult {
    let mut result = fixed_result()?;
    result.runs[1].phase = "bf16 | <script>alert(1)</script>".into();
    result.suite.phases[1].name = result.runs[1].phase.clone();
    let markdown = phasebench::report::markdown::render(&result, None);
    assert!(!markdown.contains("<script>"));
    assert!(markdown.contains("bf16 \\| &lt;script&gt;alert(1)&lt;/script&gt;"));
    Ok(())
}

fn phasebench() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin("phasebench"));
    command.env("RAYON_NUM_THREADS", "1");
    command
}

#[test]
fn compare_flags_a_result_made_half_again_slower_and_nothing_against_itself() -> TestResult {
    let dir = tempfile::tempdir()?;
    let before = dir.path().join("before.json");
    let after = dir.path().join("after.json");
    let result = fixed_result()?;
    std::fs::write(&before, serde_json::to_string(&result)?)?;
    let mut slower = result.clone();
    for run in &mut slower.runs {
        run.step_secs.iter_mut().for_each(|secs| *secs *= 1.5);
    }
    slower.runs.pop();
    std::fs::write(&after, serde_json::to_string(&slower)?)?;

    phasebench()
        .args(["compare", &before.display().to_string(), &after.display().to_string(), "--fail-on-regression"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("3 regressed, 0 improved, 0 unchanged")
                .and(predicate::str::contains("only in before: matmul/bf16@1")),
        );
    phasebench()
        .args(["compare", &before.display().to_string(), &before.display().to_string(), "--fail-on-regression"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 regressed, 0 improved, 4 unchanged"));
    // Without --fail-on-regression a regression is reported, not failed.
    phasebench()
        .args(["compare", &before.display().to_string(), &after.display().to_string(), "--threshold", "5%"])
        .assert()
        .success()
        .stdout(predicate::str::contains("threshold 5.0 %"));
    Ok(())
}

/// Writes `fixed_result` with every step time multiplied by `factor` to `dir/name.json`.
fn scaled_result(dir: &std::path::Path, name: &str, factor: f64) -> Result<String, Box<dyn std::error::Error>> {
    let mut result = fixed_result()?;
    for run in &mut result.runs {
        run.step_secs.iter_mut().for_each(|secs| *secs *= factor);
        if let Some(summary) = run.summary.as_mut() {
            summary.median *= factor;
        }
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string(&result)?)?;
    Ok(path.display().to_string())
}

/// [`scaled_result`] once per factor, named `prefix1`, `prefix2`, …
fn scaled_results(
    dir: &std::path::Path,
    prefix: &str,
    factors: &[f64],
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    factors
        .iter()
        .enumerate()
        .map(|(index, factor)| scaled_result(dir, &format!("{prefix}{}", index + 1), *factor))
        .collect()
}

#[test]
fn compare_with_several_results_per_side_judges_between_results() -> TestResult {
    let dir = tempfile::tempdir()?;
    // The same code measured three times before and after, on a machine whose runs move ±15 %.
    let before = scaled_results(dir.path(), "b", &[1.0, 1.15, 0.87])?;
    let after = scaled_results(dir.path(), "a", &[0.88, 1.0, 1.14])?;
    // One pair taken alone sees only the noise inside each run and calls the move a change.
    phasebench()
        .args(["compare", "--threshold", "5%", &before[1], &after[0]])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 unchanged").and(predicate::str::contains("one result per side")));
    // All six: the variance between results is in the interval, so nothing is called.
    phasebench()
        .args(["compare", "--threshold", "5%", "--fail-on-regression"])
        .args(&before)
        .arg("--")
        .args(&after)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("0 regressed, 0 improved, 4 unchanged")
                .and(predicate::str::contains("between results: 3 before, 3 after"))
                .and(predicate::str::contains("one result per side").not()),
        );
    // A real regression, half again slower, stands out of that noise.
    let slower = scaled_results(dir.path(), "s", &[1.5, 1.53, 1.48])?;
    let steady = scaled_results(dir.path(), "t", &[1.0, 1.02, 0.99])?;
    phasebench()
        .args(["compare", "--fail-on-regression"])
        .args(&steady)
        .arg("--")
        .args(&slower)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("4 regressed"));
    // Three results and no `--`: which side is which cannot be told.
    phasebench().args(["compare"]).args(&before).assert().code(2).stderr(predicate::str::contains("separated by `--`"));
    Ok(())
}

#[test]
fn run_and_report_write_markdown_and_csv() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (md, csv) = (dir.path().join("r.md"), dir.path().join("r.csv"));
    phasebench()
        .args(["run", &fixture("valid_suites/tiny.ron").display().to_string(), "--out"])
        .arg(dir.path().join("results"))
        .arg("--md")
        .arg(&md)
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success()
        .stdout(predicate::str::contains("markdown: ").and(predicate::str::contains("csv: ")));
    assert!(std::fs::read_to_string(&md)?.contains("## mlp (Mlp, inference)"));
    assert_eq!(std::fs::read_to_string(&csv)?.lines().count(), 7);

    let result_dir = std::fs::read_dir(dir.path().join("results"))?.next().ok_or("no result")??.path();
    let again = dir.path().join("again.csv");
    phasebench().args(["report", &result_dir.display().to_string(), "--csv"]).arg(&again).assert().success();
    assert_eq!(std::fs::read_to_string(&again)?, std::fs::read_to_string(&csv)?);
    phasebench()
        .args(["report", &result_dir.display().to_string()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("say which reports to write"));
    Ok(())
}

#[test]
fn targets_are_checked_scored_and_reported() -> TestResult {
    use phasebench::compare::{TargetOutcome, evaluate_targets, phase_scores};
    use phasebench::suite::{Target, TargetMetric};
    let mut result = fixed_result()?;
    result.suite.targets = vec![
        // The matmul bf16 run is 1.6x faster, the mlp one 0.625x: one pass, one fail.
        Target { metric: TargetMetric::Speedup, min: Some(1.5), max: None, workload: None, phase: Some("bf16".into()) },
        Target { metric: TargetMetric::P50Ms, min: None, max: Some(2.0), workload: Some("mlp".into()), phase: None },
    ];
    let checks = evaluate_targets(&result.suite, &result.runs);
    let outcomes: Vec<(&str, TargetOutcome)> = checks.iter().map(|c| (c.run.as_str(), c.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            ("mlp/bf16@1", TargetOutcome::Fail),
            ("matmul/bf16@1", TargetOutcome::Pass),
            ("mlp/baseline@1", TargetOutcome::Pass),
            ("mlp/bf16@1", TargetOutcome::Pass),
        ]
    );
    let scores = phase_scores(&result.suite, &checks);
    assert_eq!(scores[0], ("baseline".to_owned(), 100.0));
    assert_eq!(scores[1].0, "bf16");
    assert!((scores[1].1 - (100.0 * 0.625 / 1.5 + 200.0) / 3.0).abs() < 1.0, "{scores:?}");
    let markdown = phasebench::report::markdown::render(&result, None);
    assert!(markdown.contains("## Targets") && markdown.contains("| **fail** |") && markdown.contains("Score (0–100"));
    Ok(())
}

#[test]
fn a_run_prints_its_targets() -> TestResult {
    let out = tempfile::tempdir()?;
    phasebench()
        .args(["run", &fixture("valid_suites/targets.ron").display().to_string(), "--out"])
        .arg(out.path())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("targets")
                .and(predicate::str::contains("throughput ≥ 1000000000000 items/s for mm"))
                .and(predicate::str::contains("fail"))
                .and(predicate::str::contains("score base: ")),
        );
    Ok(())
}

/// The fixed result with GPU telemetry on the matmul bf16 run (as if it ran on CUDA), process
/// CPU samples on the mlp runs, and a generation record: every chart kind but the sweep.
pub fn result_with_telemetry() -> Result<phasebench::results::SuiteResult, Box<dyn std::error::Error>> {
    use phasebench::telemetry::{GpuAggregate, GpuSample, HostSample, RunTelemetry, TelemetrySample};
    let mut result = fixed_result()?;
    let host_samples = |cpu: f64| -> Vec<TelemetrySample> {
        (0..20)
            .map(|i| TelemetrySample {
                t_secs: i as f64 * 0.1,
                host: HostSample { process_cpu_percent: Some(cpu + i as f64), ..Default::default() },
                gpus: Vec::new(),
            })
            .collect()
    };
    for run in result.runs.iter_mut().filter(|run| run.workload == "mlp") {
        run.telemetry = Some(RunTelemetry { samples: host_samples(90.0), ..Default::default() });
    }
    let gpu_run = &mut result.runs[3];
    gpu_run.device = phasebench::suite::DeviceSpec::Cuda(0);
    gpu_run.gpu_index = Some(0);
    gpu_run.telemetry = Some(RunTelemetry {
        samples: (0..20)
            .map(|i| TelemetrySample {
                t_secs: i as f64 * 0.1,
                host: HostSample::default(),
                gpus: vec![GpuSample { index: 0, utilization_gpu_percent: Some(30.0), ..Default::default() }],
            })
            .collect(),
        gpus: vec![GpuAggregate {
            index: 0,
            mean_utilization_percent: Some(30.0),
            peak_process_memory_bytes: Some(3 << 30),
            ..Default::default()
        }],
        ..Default::default()
    });
    gpu_run.transfer_secs = Some(0.05);
    gpu_run.transfer_bytes = Some(1 << 30);
    gpu_run.generation = Some(phasebench::results::GenerationRecord {
        steps_per_generation: 4,
        generation_secs: vec![0.4, 0.41, 0.39, 0.42],
        ..Default::default()
    });
    Ok(result)
}

/// Number of `<svg class="chart"` elements in `html`.
pub fn chart_count(html: &str) -> usize {
    html.matches("<svg class=\"chart\"").count()
}

#[test]
fn the_html_report_has_every_chart_escapes_names_and_embeds_the_result() -> TestResult {
    let mut result = result_with_telemetry()?;
    let evil = "<script>alert(1)</script> \"quoted\" 'single'";
    result.suite.name = evil.into();
    result.runs[1].phase = evil.into();
    result.suite.phases[1].name = evil.into();
    let html = phasebench::report::html::render(&result, None)?;
    // Per workload: speed against drift, speedup, distribution, step series, telemetry (+ generation
    // for matmul).
    assert_eq!(chart_count(&html), 11, "charts");
    assert_eq!(html.matches("<script").count(), 1, "only the embedded result is a script element");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#x27;single&#x27;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#39;single&#39;")
    );
    assert!(!html.contains("http://") && !html.contains("https://"), "no URL to load");
    assert!(html.contains("Try a larger batch than 1 for `matmul` in `bf16`"), "the GPU-utilization rule fired");
    assert!(html.contains("<td>3.0 GiB</td>"), "the GPU run's peak GPU memory (NVML, this process)");
    assert!(html.contains("build 10.00 ms, copy 1.0 GiB in 50.00 ms (20.0 GiB"), "load and transfer, apart");

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.html");
    std::fs::write(&path, &html)?;
    assert_eq!(phasebench::results::load_result(&path)?, result, "the embedded result reads back unchanged");
    Ok(())
}

/// [`crate::fixed_result`] with a third phase on the matmul, `q4`: faster than `bf16` (2.4×),
/// but its output drifts beyond the accuracy bounds (cosine 0.97).
pub fn result_with_a_faster_inaccurate_phase() -> Result<phasebench::results::SuiteResult, Box<dyn std::error::Error>> {
    let mut result = crate::fixed_result()?;
    let mut quantized_phase = result.suite.phases[1].clone();
    quantized_phase.name = "q4".into();
    result.suite.phases.push(quantized_phase);
    let mut quantized = result.runs[3].clone();
    quantized.index = 4;
    quantized.phase = "q4".into();
    let speedup = quantized.speedup.as_mut().ok_or("no speedup")?;
    speedup.ratio *= 1.5;
    speedup.ratio_ci.low *= 1.5;
    speedup.ratio_ci.high *= 1.5;
    let accuracy = quantized.accuracy.as_mut().ok_or("no accuracy")?;
    accuracy.cosine_similarity = Some(0.97);
    accuracy.relative_error = Some(0.2);
    result.runs.push(quantized);
    result.planned_runs = 5;

    Ok(result)
}

/// Issue 20: the report opens with the phase to ship per workload, in one sentence, before the
/// details; a faster phase that fails the accuracy bound is named with its reason; every phase of
/// the summary links to its row in the details.
#[test]
fn the_report_opens_with_the_phase_to_ship_and_links_to_the_evidence() -> TestResult {
    let result = result_with_a_faster_inaccurate_phase()?;
    let checks = phasebench::compare::evaluate_targets(&result.suite, &result.runs);
    let decisions = phasebench::compare::decisions(&result.suite, &result.runs, &checks);
    let sentences: Vec<(&str, Option<&str>, &str)> = decisions
        .iter()
        .map(|decision| (decision.workload.as_str(), decision.ship.as_deref(), decision.sentence.as_str()))
        .collect();
    let [("mlp", None, mlp), ("matmul", Some("bf16"), matmul)] = sentences.as_slice() else {
        panic!("decisions: {sentences:?}")
    };
    assert!(mlp.starts_with("keep baseline: bf16 is 1.6") && mlp.ends_with("slower"), "{mlp}");
    assert!(
        matmul.starts_with("bf16: 1.6") && matmul.contains("faster, cosine 0.99996 — ship bf16; q4 is 2.4"),
        "{matmul}"
    );
    assert!(matmul.ends_with("but fails the accuracy bound (cosine 0.97000)"), "{matmul}");
    let front: Vec<&str> =
        decisions[1].points.iter().filter(|point| point.on_front).map(|point| point.phase.as_str()).collect();
    assert_eq!(front, ["baseline", "bf16", "q4"], "each trades speed for drift");

    let html = phasebench::report::html::render(&result, None)?;
    let at = |needle: &str| html.find(needle).ok_or(format!("{needle} missing"));
    assert!(at("id=\"summary\"")? < at("class=\"workload\"")?, "the summary comes before the details");
    assert!(html.contains("faster, cosine 0.99996 — ship bf16; q4 is 2.4"), "the sentence in the page");
    for run in &result.runs {
        let anchor = format!("run-{}", run.index);
        assert!(html.contains(&format!("href=\"#{anchor}\"")), "the summary links {anchor}");
        assert_eq!(html.matches(&format!("id=\"{anchor}\"")).count(), 1, "one details row is {anchor}");
    }
    assert_eq!(html.matches("data-chart=\"tradeoff\"").count(), 2, "a speed-against-drift chart per workload");
    Ok(())
}

#[test]
fn recommendations_fire_on_their_evidence_only() -> TestResult {
    use phasebench::compare::{Rule, recommendations};
    use phasebench::results::{SweepPoint, SweepResult, SweepStop};
    let rules = |result: &phasebench::results::SuiteResult| -> Vec<(Rule, String)> {
        recommendations(result)
            .into_iter()
            .map(|r| (r.rule, format!("{}/{}", r.workload, r.phase.unwrap_or_default())))
            .collect()
    };
    let mut result = fixed_result()?;
    // matmul bf16 is 1.6x faster and accurate; mlp bf16 is slower: adopt only the first.
    assert_eq!(rules(&result), [(Rule::AdoptReducedPrecision, "matmul/bf16".to_owned())]);
    let adopt = &recommendations(&result)[0];
    assert!(adopt.evidence.contains("at batch 1") && adopt.evidence.contains("cosine"), "{}", adopt.evidence);

    // Quantized and drifting: keep that workload's linear layers unquantized; no adopt.
    result.runs[3].quantization = Some(phasebench::suite::Quantization::Q4K);
    if let Some(accuracy) = result.runs[3].accuracy.as_mut() {
        accuracy.cosine_similarity = Some(0.97);
    }
    assert_eq!(rules(&result), [(Rule::KeepUnquantized, "matmul/bf16".to_owned())]);

    // Noisy timings: an IQR of 20 % of the median.
    let mut noisy = fixed_result()?;
    if let Some(summary) = noisy.runs[0].summary.as_mut() {
        summary.iqr = summary.median * 0.2;
    }
    assert!(rules(&noisy).contains(&(Rule::NoisyTimings, "/".to_owned())));

    // A sweep stopped by its time budget while still rising; a flat one says nothing.
    let point = |batch_size, items_per_sec| SweepPoint { batch_size, items_per_sec };
    let mut swept = fixed_result()?;
    swept.sweeps = vec![SweepResult {
        workload: "mlp".into(),
        phase: "baseline".into(),
        largest_working_batch: Some(8),
        throughput_curve: vec![point(4, 100.0), point(8, 150.0)],
        stop: SweepStop::TimeBudget { batch_size: 16, median_step_secs: 2.0 },
    }];
    assert!(rules(&swept).contains(&(Rule::SweepLimitedByBudget, "mlp/baseline".to_owned())));
    swept.sweeps[0].throughput_curve[1].items_per_sec = 101.0;
    assert!(!rules(&swept).iter().any(|(rule, _)| *rule == Rule::SweepLimitedByBudget));

    // Low GPU utilization at the largest batch.
    assert!(rules(&result_with_telemetry()?).contains(&(Rule::LargerBatch, "matmul/bf16".to_owned())));
    Ok(())
}

#[test]
fn run_writes_the_html_report_and_checks_a_saved_baseline() -> TestResult {
    let dir = tempfile::tempdir()?;
    let suite = fixture("valid_suites/tiny.ron").display().to_string();
    let first = dir.path().join("first");
    phasebench()
        .args(["run", &suite, "--out"])
        .arg(&first)
        .assert()
        .success()
        .stdout(predicate::str::contains("html report: "));
    let result_dir = std::fs::read_dir(&first)?.next().ok_or("no result")??.path();
    let report = result_dir.join("report.html");
    let json = result_dir.join("result.json");
    // `show` reads the HTML report back to the same tables as the JSON.
    let show = |path: &std::path::Path| phasebench().arg("show").arg(path).output();
    assert_eq!(show(&report)?.stdout, show(&json)?.stdout);

    // A baseline five times as fast as this machine: runs regress (the tiny suite's few
    // microsecond steps in a debug build are too noisy to promise that every one does).
    let mut fast = phasebench::results::load_result(&json)?;
    for run in &mut fast.runs {
        run.step_secs.iter_mut().for_each(|secs| *secs *= 0.2);
        run.summary = phasebench::stats::summarize(&run.step_secs, 2_000, 7).ok();
    }
    let baseline = dir.path().join("fast.json");
    std::fs::write(&baseline, serde_json::to_string(&fast)?)?;
    let second = dir.path().join("second");
    let html = dir.path().join("copy.html");
    phasebench()
        .args(["run", &suite, "--out"])
        .arg(&second)
        .arg("--baseline")
        .arg(&baseline)
        .args(["--fail-on-regression", "--threshold", "5%", "--html"])
        .arg(&html)
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("against the baseline").and(predicate::str::contains(" regressed, 0 improved")),
        );
    let page = std::fs::read_to_string(&html)?;
    assert!(page.contains("Against the saved baseline") && page.contains("regressed</td>"), "the report shows it");

    // Several saved baselines: judged between results, the run against their spread.
    let mut baselines = Vec::new();
    for (index, factor) in [1.05, 0.95].into_iter().enumerate() {
        let mut other = fast.clone();
        for run in &mut other.runs {
            run.step_secs.iter_mut().for_each(|secs| *secs *= factor);
            run.summary = phasebench::stats::summarize(&run.step_secs, 2_000, 7).ok();
        }
        let path = dir.path().join(format!("fast{index}.json"));
        std::fs::write(&path, serde_json::to_string(&other)?)?;
        baselines.push(path);
    }
    phasebench()
        .args(["run", &suite, "--out"])
        .arg(dir.path().join("fourth"))
        .args(["--baseline", &baseline.display().to_string()])
        .args(["--baseline", &baselines[0].display().to_string()])
        .args(["--baseline", &baselines[1].display().to_string()])
        .arg("--fail-on-regression")
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("between results: 3 before, 1 after")
                .and(predicate::str::contains(" regressed, 0 improved"))
                .and(predicate::str::contains("one result per side").not()),
        );

    // Repeated: each repetition is a result of its own, and all of them are the after side.
    let repeated = dir.path().join("repeated");
    phasebench()
        .args(["run", &suite, "--repeat", "2", "--out"])
        .arg(&repeated)
        .args(["--baseline", &baseline.display().to_string()])
        .args(["--baseline", &baselines[0].display().to_string()])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("repetition 2 of 2")
                .and(predicate::str::contains("2 results of the same suite"))
                .and(predicate::str::contains("between results: 2 before, 2 after")),
        );
    let repetitions = std::fs::read_dir(&repeated)?.collect::<Result<Vec<_>, _>>()?;
    assert_eq!(repetitions.len(), 2, "one result directory per repetition");
    for repetition in &repetitions {
        assert!(repetition.path().join("result.json").is_file() && repetition.path().join("report.html").is_file());
    }

    // A baseline that is not a result fails before anything runs.
    phasebench()
        .args(["run", &suite, "--out"])
        .arg(dir.path().join("third"))
        .arg("--baseline")
        .arg(dir.path().join("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.json"));
    assert!(!dir.path().join("third").exists(), "nothing was measured");
    Ok(())
}

/// A result written before its records had types (notes, failure kinds and times as plain text;
/// `format1-before-typed-records.ron`, run by that version) loads with typed values and writes
/// back the same text.
#[test]
fn a_result_written_before_records_had_types_still_loads() -> TestResult {
    use phasebench::results::{RunNote, RunStatus, load_result};
    let path = fixture("results/format1-before-typed-records.json");
    let result = load_result(&path)?;
    assert_eq!(result.started_at.rfc3339(), "2026-12-01T21:54:03.023Z");
    assert!(matches!(result.runs[0].status, RunStatus::Failed { .. }));
    assert_eq!(result.runs[0].failure, None, "older files do not say which kind of failure");
    let cpu = &result.runs[1];
    assert_eq!(
        cpu.notes,
        [
            RunNote::NoAccuracy {
                reason: "the baseline phase has no output for this workload (it failed or was cancelled)".into()
            },
            RunNote::NoSpeedup { reason: "the baseline run of this workload did not complete".into() },
        ]
    );
    let written = serde_json::to_value(&result)?;
    let original: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    assert_eq!(written["runs"][1]["notes"], original["runs"][1]["notes"], "notes are written as the same text");
    assert_eq!(written["started_at"], original["started_at"]);
    Ok(())
}
