//! The Markdown and CSV exporters on a fixed result (snapshots), and the `report` and `compare`
//! commands end to end.

use predicates::prelude::*;

use crate::{TestResult, fixed_result, fixture};

#[test]
fn the_markdown_report_of_a_fixed_result_matches_its_snapshot() -> TestResult {
    insta::assert_snapshot!("markdown_report", phasebench::report::markdown::render(&fixed_result()?));
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
    let markdown = phasebench::report::markdown::render(&result);
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
    let markdown = phasebench::report::markdown::render(&result);
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
