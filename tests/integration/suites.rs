//! Suite files: every shipped suite loads, saving round-trips, and every malformed fixture gives
//! its documented message with file and line:col.

use std::fs;

use phasebench::suite::{self, load_suite, save_suite, suite_to_ron};

use crate::{TestResult, fixture};

/// The `// expect:` lines of a fixture (read lossily: some fixtures are not UTF-8 on purpose).
fn expected_fragments(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|line| line.strip_prefix("// expect: ").map(str::to_owned))
        .collect()
}

#[test]
fn every_invalid_fixture_gives_its_documented_error() -> TestResult {
    let (mut checked, mut mismatches) = (0, Vec::new());
    for entry in fs::read_dir(fixture("invalid_suites"))? {
        let path = entry?.path();
        let mut fragments = expected_fragments(&fs::read(&path)?);
        if fragments.is_empty() {
            // Only the empty file carries no comment.
            assert_eq!(fs::metadata(&path)?.len(), 0, "{} needs an `// expect:` line", path.display());
            fragments.push("empty.ron:1:1: the file is empty".into());
        }
        let message = match phasebench::load_checked_suite(&path) {
            Ok(_) => panic!("{} loaded but should be refused", path.display()),
            Err(error) => error.to_string(),
        };
        for fragment in fragments.iter().filter(|fragment| !message.contains(fragment.as_str())) {
            mismatches.push(format!("{}:\n  expected: {fragment}\n  got: {message}", path.display()));
        }
        checked += 1;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(checked >= 30, "only {checked} invalid fixtures found");
    Ok(())
}

#[test]
fn shipped_and_fixture_suites_load() -> TestResult {
    let shipped = fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/suites"))?;
    let fixtures = fs::read_dir(fixture("valid_suites"))?;
    let mut count = 0;
    for entry in shipped.chain(fixtures) {
        let path = entry?.path();
        // It names the user's own model files: `model_files::the_shipped_files_suite_runs_on_the_
        // files_its_header_names` writes stand-ins where it looks and loads it there.
        if path.ends_with("llm-files.ron") {
            continue;
        }
        if let Err(error) = phasebench::load_checked_suite(&path) {
            panic!("{error}");
        }
        count += 1;
    }
    assert!(count >= 4);
    Ok(())
}

#[test]
fn the_embedded_default_suite_is_the_shipped_quickstart() -> TestResult {
    let embedded = suite::default_suite()?;
    let shipped = load_suite(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/quickstart.ron"))?;
    assert_eq!(embedded, shipped);
    Ok(())
}

#[test]
fn every_shipped_suite_is_embedded_as_an_example() -> TestResult {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let mut shipped: Vec<String> = std::fs::read_dir(&dir)?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, std::io::Error>>()?;
    shipped.sort();
    let mut embedded: Vec<String> =
        phasebench::suite::EXAMPLE_SUITES.iter().map(|(name, _)| (*name).to_owned()).collect();
    embedded.sort();
    assert_eq!(shipped, embedded);
    for (name, text) in phasebench::suite::EXAMPLE_SUITES {
        assert_eq!(*text, std::fs::read_to_string(dir.join(name))?, "{name}");
    }
    Ok(())
}

#[test]
fn defaults_fill_every_optional_field() -> TestResult {
    let suite = load_suite(&fixture("valid_suites/defaults.ron"))?;
    assert_eq!(suite.workloads[0].model, suite::ModelSpec::Mlp(suite::MlpSpec::default()));
    assert_eq!(suite.workloads[0].batch_sizes, vec![1]);
    assert_eq!(suite.settings, suite::Settings::default());
    Ok(())
}

#[test]
fn saving_writes_ron_that_loads_back_identically() -> TestResult {
    let dir = tempfile::tempdir()?;
    for name in ["valid_suites/tiny.ron", "valid_suites/with_cuda_phase.ron", "valid_suites/defaults.ron"] {
        let original = load_suite(&fixture(name))?;
        let path = dir.path().join("saved.ron");
        save_suite(&path, &original)?;
        let reloaded = load_suite(&path)?;
        assert_eq!(original, reloaded, "{name}");
        // Saving is stable: saving the reloaded suite writes the same text.
        assert_eq!(suite_to_ron(&reloaded)?, fs::read_to_string(&path)?);
    }
    Ok(())
}

#[test]
fn every_invalid_result_file_gives_its_documented_error() -> TestResult {
    let (mut checked, mut mismatches) = (0, Vec::new());
    for entry in fs::read_dir(fixture("invalid_results"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "expect") {
            continue;
        }
        let expected = fs::read_to_string(path.with_extension("expect"))?;
        let message = match phasebench::results::load_result(&path) {
            Ok(_) => panic!("{} loaded but should be refused", path.display()),
            Err(error) => error.to_string(),
        };
        let name = path.display().to_string();
        for fragment in expected.lines().filter(|line| !line.is_empty()) {
            if !message.starts_with(&name) || !message.contains(fragment) {
                mismatches.push(format!("{name}:\n  expected: {fragment}\n  got: {message}"));
            }
        }
        checked += 1;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(checked >= 10, "only {checked} invalid result files found");
    Ok(())
}

#[test]
fn a_huge_suite_file_is_refused_before_it_is_read() -> TestResult {
    // 100 MB: a valid suite followed by spaces; refused by its size (never read), with the limit.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("huge.ron");
    let mut text = fs::read_to_string(fixture("valid_suites/tiny.ron"))?;
    text.push_str(&" ".repeat(100 << 20));
    fs::write(&path, text)?;
    let message = phasebench::load_checked_suite(&path).err().map(|error| error.to_string()).unwrap_or_default();
    assert!(
        message.starts_with(&path.display().to_string()) && message.contains("a suite file is at most"),
        "{message}"
    );
    Ok(())
}

#[test]
fn shards_cover_every_run_once_and_carry_the_baselines_they_compare_with() -> TestResult {
    use phasebench::runner::{Shard, expand, shard_plan};
    let shipped = fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/suites"))?;
    let fixtures = fs::read_dir(fixture("valid_suites"))?;
    for entry in shipped.chain(fixtures) {
        let path = entry?.path();
        let suite = load_suite(&path)?;
        let plan = expand(&suite);
        for count in 1..=8 {
            let shards: Vec<_> = (1..=count).map(|index| shard_plan(&plan, &suite, Shard { index, count })).collect();
            let mut covered: Vec<usize> = shards.iter().flatten().map(|run| run.index).collect();
            covered.sort_unstable();
            assert_eq!(covered, (0..plan.len()).collect::<Vec<_>>(), "{} in {count} shards", path.display());
            for shard in &shards {
                for run in shard.iter().filter(|run| !run.is_baseline) {
                    let planned_baseline = |batch| {
                        plan.iter()
                            .any(|b| b.is_baseline && b.workload_index == run.workload_index && b.batch_size == batch)
                    };
                    let has_baseline = |batch: Option<usize>| {
                        shard.iter().any(|b| {
                            b.is_baseline
                                && b.workload_index == run.workload_index
                                && batch.is_none_or(|batch| b.batch_size == batch)
                        })
                    };
                    let needed = if planned_baseline(run.batch_size) { Some(run.batch_size) } else { None };
                    let any_baseline = plan.iter().any(|b| b.is_baseline && b.workload_index == run.workload_index);
                    assert!(
                        !any_baseline || has_baseline(needed),
                        "{}: {} lacks its baseline in {count} shards",
                        path.display(),
                        run.label()
                    );
                }
            }
        }
    }
    Ok(())
}

#[test]
fn merging_shards_restores_the_plan_and_names_what_is_missing() -> TestResult {
    use phasebench::results::merge::{MergeError, merge};
    use phasebench::runner::Shard;
    let whole = crate::fixed_result()?;
    // Shard 1 of 3 holds the mlp runs, shard 2 the matmul runs, shard 3 never reported.
    let part = |index: usize, workload: &str, host: &str| {
        let mut shard = whole.clone();
        shard.shard = Some(Shard { index, count: 3 });
        shard.runs.retain(|run| run.workload == workload);
        shard.environment.hostname = Some(host.into());
        shard
    };
    let merged = merge(vec![part(2, "matmul", "node-b"), part(1, "mlp", "node-a")])?;
    assert_eq!(merged.missing, [3]);
    assert_eq!(merged.to_rerun(), [3]);
    let indices: Vec<usize> = merged.result.runs.iter().map(|run| run.index).collect();
    assert_eq!(indices, [0, 1, 2, 3], "runs back in plan order");
    let hosts: Vec<&str> = merged.result.runs.iter().filter_map(|run| run.host.as_deref()).collect();
    assert_eq!(hosts, ["node-a", "node-a", "node-b", "node-b"]);
    assert_eq!(merged.result.shard, None);
    // Runs from several machines: the HTML tables name and group by host.
    let html = phasebench::report::html::render(&merged.result, None)?;
    assert!(html.contains("<th>Host</th>") && html.contains("<td>node-a</td>") && html.contains("<td>node-b</td>"));

    let mut other_split = part(1, "mlp", "node-a");
    other_split.shard = Some(Shard { index: 1, count: 2 });
    assert!(matches!(merge(vec![part(2, "matmul", "x"), other_split]), Err(MergeError::Mismatch(_))));
    assert_eq!(merge(Vec::new()), Err(MergeError::NoShards));
    Ok(())
}

#[test]
fn slurm_resume_submits_only_the_missing_shards_and_diffs_name_both_hosts() -> TestResult {
    use phasebench::runner::Shard;
    let dir = tempfile::tempdir()?;
    let mut shard = crate::fixed_result()?;
    shard.shard = Some(Shard { index: 2, count: 3 });
    shard.environment.hostname = Some("node-b".into());
    let shard_dir = dir.path().join("tiny-shard2of3-20261122-120000");
    fs::create_dir_all(&shard_dir)?;
    fs::write(shard_dir.join("result.json"), serde_json::to_string(&shard)?)?;
    let output = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin("phasebench"))
        .arg("slurm")
        .arg(fixture("valid_suites/tiny.ron"))
        .arg("--out")
        .arg(dir.path())
        .args(["--nodes", "3", "--resume", "--dry-run"])
        .output()?;
    let script = String::from_utf8(output.stdout)?;
    assert!(output.status.success() && script.contains("#SBATCH --array=0,2\n"), "{script}");

    // The same run measured on two machines is labelled with both.
    let mut before = crate::fixed_result()?;
    let mut after = before.clone();
    before.runs.iter_mut().for_each(|run| run.host = Some("node-a".into()));
    after.runs.iter_mut().for_each(|run| run.host = Some("node-b".into()));
    let diff = phasebench::compare::diff_results(&before, &after, 0.1, 200);
    assert!(diff.runs.iter().all(|run| run.label.ends_with("(node-a → node-b)")), "{:?}", diff.runs[0].label);
    Ok(())
}
