//! The desktop app driven headless through egui_kittest, by accessible labels, as a user would:
//! load a suite through the app's command path, edit it, run it with scripted GPU telemetry,
//! read the compare table, cancel, and a snapshot of the compare view with fixed data.

use std::path::Path;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use phasebench::app::{
    AppConfig, DiffOutcome, DiffSide, FilePurpose, PhasebenchApp, Remembered, Selection, SessionState, Side, UiCommand,
    View,
};
use phasebench::results::{SuiteStatus, load_result};
use phasebench::suite::ModelSpec;
use phasebench::telemetry::{FakeSource, GpuSample, TelemetryChoice};

use crate::{TestResult, fixture};

/// A scripted GPU so the GPU plots and energy figures have data on machines without one.
fn fake_gpu() -> TelemetryChoice {
    let samples = (0..20)
        .map(|i| GpuSample {
            index: 0,
            utilization_gpu_percent: Some(50.0 + i as f64),
            memory_used_bytes: Some(1 << 30),
            power_watts: Some(100.0 + i as f64),
            energy_millijoules: Some(1_000 * i),
            temperature_celsius: Some(50.0),
            sm_clock_mhz: Some(1500.0),
            ..GpuSample::default()
        })
        .collect();
    TelemetryChoice::Fake(FakeSource::new(samples))
}

fn app(results: &Path) -> PhasebenchApp {
    let config = AppConfig {
        results_dir: results.to_owned(),
        telemetry: fake_gpu(),
        restore_last_suite: false,
        native_dialogs: false,
        ..AppConfig::default()
    };
    PhasebenchApp::new(config, Remembered::default())
}

fn harness(app: PhasebenchApp) -> Harness<'static, PhasebenchApp> {
    // A finished job or run asks for repaints of its own; let `run` take a few more frames to settle.
    Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_ui_state(|ui, app: &mut PhasebenchApp| app.frame(ui), app)
}

/// Steps frames until `done` holds, at most `timeout`.
fn step_until(
    harness: &mut Harness<'_, PhasebenchApp>,
    timeout: Duration,
    done: impl Fn(&PhasebenchApp) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        harness.step();
        if done(harness.state()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn is_disabled(harness: &Harness<'_, PhasebenchApp>, label: &str) -> bool {
    harness.get_by_role_and_label(Role::Button, label).accesskit_node().is_disabled()
}

#[test]
fn a_loaded_suite_is_edited_and_a_bad_value_blocks_run_until_fixed() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.run();
    assert_eq!(harness.state().document.suite.name, "tiny");
    assert!(!is_disabled(&harness, "Run"));

    harness.get_by_label("mlp — Mlp inference").click();
    harness.run();
    let hidden = harness.get_by_role_and_label(Role::TextInput, "hidden");
    hidden.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "hidden").type_text("4x8");
    harness.run();
    assert!(is_disabled(&harness, "Run"), "an invalid value must disable Run");
    assert!(harness.query_all_by_label_contains("“4x8” is not a number").count() >= 1);
    assert!(
        harness.state().document.is_dirty() || harness.state().document.fields.errors.contains_key("w0.model.hidden")
    );

    harness.get_by_role_and_label(Role::TextInput, "hidden").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "hidden").type_text("48");
    harness.run();
    assert!(!is_disabled(&harness, "Run"));
    match &harness.state().document.suite.workloads[0].model {
        ModelSpec::Mlp(mlp) => assert_eq!(mlp.hidden, 48),
        other => panic!("model changed kind: {other:?}"),
    }
    assert!(harness.state().document.is_dirty());
    assert!(harness.state().document.title().starts_with('●'));

    // A value the engine rejects (heads must divide hidden) blocks Run the same way.
    harness.state_mut().apply(UiCommand::SetBaseline(1));
    harness.state_mut().document.suite.baseline = "nobody".into();
    harness.state_mut().document.revalidate();
    harness.run();
    assert!(is_disabled(&harness, "Run"));
    assert!(harness.query_all_by_label_contains("nobody").count() >= 1);
    Ok(())
}

/// Issue 20, item 8: a problem the engine finds (heads not dividing hidden) is outlined on the
/// fields it names, with its message there as well as in the list; fixed, it goes from both.
#[test]
fn an_engine_problem_is_shown_on_the_fields_it_names_and_goes_when_fixed() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/modes.ron")));
    harness.run();
    let index = harness
        .state()
        .document
        .suite
        .workloads
        .iter()
        .position(|workload| matches!(workload.model, ModelSpec::Transformer(_)))
        .ok_or("no transformer")?;
    let name = harness.state().document.suite.workloads[index].name.clone();
    harness.state_mut().apply(UiCommand::Select(phasebench::app::Selection::Workload(index)));
    harness.run();
    let heads = harness.get_by_role_and_label(Role::TextInput, "heads");
    heads.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "heads").type_text("7");
    harness.run();
    let message = "Transformer `heads` (7) must divide `hidden`";
    assert!(is_disabled(&harness, "Run"));
    assert!(
        harness.state().document.fields.problems.contains_key(&format!("w{index}.model.heads")),
        "{name}: {:?}",
        harness.state().document.fields.problems
    );
    // Beside `heads`, beside `hidden`, and in the list below the form.
    assert_eq!(harness.query_all_by_label_contains(message).count(), 3);
    harness.get_by_role_and_label(Role::TextInput, "heads").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "heads").type_text("1");
    harness.run();
    assert_eq!(harness.query_all_by_label_contains("must divide").count(), 0, "no stale message");
    assert!(harness.state().document.fields.problems.is_empty());
    Ok(())
}

/// Issue 20, item 8: a name used twice (or emptied) is outlined on that workload's or phase's
/// name field with its message, as well as in the list; renamed, it goes from both.
#[test]
fn a_name_used_twice_is_shown_on_its_name_field_and_goes_when_renamed() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.run();
    for (selection, label, taken, path) in [
        (phasebench::app::Selection::Phase(1), "Phase name", "baseline", "p1.name"),
        (phasebench::app::Selection::Workload(1), "Workload name", "mlp", "w1.name"),
    ] {
        harness.state_mut().apply(UiCommand::Select(selection));
        harness.run();
        harness.get_by_role_and_label(Role::TextInput, label).focus();
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        harness.get_by_role_and_label(Role::TextInput, label).type_text(taken);
        harness.run();
        assert!(is_disabled(&harness, "Run"));
        let problems = &harness.state().document.fields.problems;
        assert!(problems.get(path).is_some_and(|message| message.contains("used twice")), "{path}: {problems:?}");
        // Under the name field and in the list below the form.
        assert_eq!(harness.query_all_by_label_contains("used twice").count(), 2, "{label}");
        harness.get_by_role_and_label(Role::TextInput, label).focus();
        harness.key_press(egui::Key::End);
        harness.get_by_role_and_label(Role::TextInput, label).type_text("-2");
        harness.run();
        assert_eq!(harness.query_all_by_label_contains("used twice").count(), 0, "no stale message");
        assert!(harness.state().document.fields.problems.is_empty());
    }
    // An emptied suite name is outlined on the suite's Name field.
    harness.get_by_role_and_label(Role::TextInput, "Name").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    harness.run();
    assert!(harness.state().document.fields.problems.contains_key("suite.name"));
    Ok(())
}

/// Issue 20, item 1: typing goes on in the focused field while a problem appears and goes: the
/// problems are listed below the forms behind a one-line status, and fields keep their ids.
#[test]
fn typing_goes_on_in_the_focused_field_while_a_problem_appears() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.run();
    // The run count says where it comes from (item 9).
    harness.get_by_label_contains("6 runs (2 workloads at 3 batch sizes in all × 2 phases)");
    harness.get_by_label_contains("bf16 — bf16").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Phase name").focus();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    harness.run();
    assert!(is_disabled(&harness, "Run"), "an empty phase name is a problem");
    harness.get_by_label_contains("problem(s), listed below the form");
    // Each key on its own frame, as a person types, through whatever holds the focus.
    for key in ["b", "f", "1", "6", "b"] {
        harness.event(egui::Event::Text(key.into()));
        harness.run();
    }
    assert_eq!(harness.state().document.suite.phases[1].name, "bf16b");
    assert!(harness.get_by_role_and_label(Role::TextInput, "Phase name").is_focused());
    assert!(!is_disabled(&harness, "Run"));
    harness.get_by_label("Ready to run");
    Ok(())
}

/// Issue 20, item 9: a new workload is named after its model, and follows a change of model
/// while the name is still the model's; a name the user chose stays.
#[test]
fn a_new_workload_is_named_after_its_model() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.get_by_role_and_label(Role::Button, "Add workload").click();
    harness.run();
    let document = &mut harness.state_mut().document;
    let index = document.suite.workloads.len() - 1;
    assert_eq!(document.suite.workloads[index].name, "mlp-2", "tiny.ron has an `mlp` already");
    document.suite.workloads[index].model = ModelSpec::MatMul(Default::default());
    document.rename_workload_after_model(index, "Mlp");
    assert_eq!(document.suite.workloads[index].name, "matmul-2", "tiny.ron has a `matmul` already");
    document.suite.workloads[index].name = "attention".into();
    document.suite.workloads[index].model = ModelSpec::Mlp(Default::default());
    document.rename_workload_after_model(index, "MatMul");
    assert_eq!(document.suite.workloads[index].name, "attention");
    Ok(())
}

/// Issue 19: the settings form switches between interleaved rounds and one phase after another,
/// and sets the length of a round's block.
#[test]
fn the_schedule_is_chosen_in_the_settings_form() -> TestResult {
    use phasebench::suite::Schedule;
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.run();
    assert!(matches!(harness.state().document.suite.settings.schedule, Schedule::Interleaved(_)));
    harness.get_by_role_and_label(Role::CheckBox, "Interleave phases in rounds").click();
    harness.run();
    assert_eq!(harness.state().document.suite.settings.schedule, Schedule::Sequential);
    assert!(harness.query_by_role_and_label(Role::TextInput, "Round block").is_none(), "no block when sequential");
    assert!(harness.state().document.is_dirty());
    harness.get_by_role_and_label(Role::CheckBox, "Interleave phases in rounds").click();
    harness.run();
    let block = harness.get_by_role_and_label(Role::TextInput, "Round block");
    block.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "Round block").type_text("25");
    harness.run();
    let Schedule::Interleaved(spec) = harness.state().document.suite.settings.schedule else {
        panic!("interleaved again")
    };
    assert_eq!(spec.block_ms, 25);
    assert!(!is_disabled(&harness, "Run"));
    Ok(())
}

/// Issue 19: the noise threshold can be measured from the A/A control (`Auto`, a multiple typed
/// in the same field), and going back to one phase after another restores a fixed band.
#[test]
fn the_noise_threshold_can_be_set_to_auto_in_the_settings_form() -> TestResult {
    use phasebench::suite::NoiseThreshold;
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.run();
    let threshold = || harness.state().document.suite.settings.noise_threshold;
    assert_eq!(threshold(), NoiseThreshold::Fixed(0.02));
    // The hint beside a fraction says what its value is (issue 20, item 9).
    harness.get_by_label("(0.02 = 2 %)");
    harness.get_by_role_and_label(Role::TextInput, "Regression threshold").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "Regression threshold").type_text("0.15");
    harness.run();
    harness.get_by_label("(0.15 = 15 %)");
    harness.get_by_role_and_label(Role::CheckBox, "Noise threshold from the A/A control").click();
    harness.run();
    assert_eq!(harness.state().document.suite.settings.noise_threshold, NoiseThreshold::Auto { multiple: 2.0 });
    harness.get_by_label("× A/A resolution");
    harness.get_by_role_and_label(Role::TextInput, "Noise threshold").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "Noise threshold").type_text("2.5");
    harness.run();
    assert_eq!(harness.state().document.suite.settings.noise_threshold, NoiseThreshold::Auto { multiple: 2.5 });
    assert!(!is_disabled(&harness, "Run"), "an Auto threshold is a valid suite");
    harness.get_by_role_and_label(Role::CheckBox, "Interleave phases in rounds").click();
    harness.run();
    assert_eq!(harness.state().document.suite.settings.noise_threshold, NoiseThreshold::Fixed(0.02));
    assert!(!is_disabled(&harness, "Run"), "one phase after another keeps a fixed band, so the suite stays valid");
    Ok(())
}

#[test]
fn a_broken_suite_file_shows_its_position_and_leaves_the_open_suite_untouched() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    let before = harness.state().document.suite.clone();
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("invalid_suites/syntax_error.ron")));
    harness.run();
    harness.get_by_label_contains("syntax_error.ron:7:9");
    assert_eq!(harness.state().document.suite, before);
    harness.get_by_label("OK").click();
    harness.run();
    assert!(harness.state().notice.is_none());
    Ok(())
}

#[test]
fn unsaved_changes_are_confirmed_before_another_suite_replaces_them() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().document.suite.name = "mine".into();
    harness.state_mut().apply(UiCommand::OpenExample("precision.ron"));
    harness.run();
    assert_eq!(harness.state().document.suite.name, "mine");
    harness.get_by_label("Keep editing").click();
    harness.run();
    assert_eq!(harness.state().document.suite.name, "mine");

    harness.state_mut().apply(UiCommand::OpenExample("precision.ron"));
    harness.run();
    harness.get_by_label("Discard changes").click();
    harness.run();
    assert_eq!(harness.state().document.suite.name, "precision");
    assert!(!harness.state().document.is_dirty());
    Ok(())
}

#[test]
fn save_as_through_the_path_prompt_writes_a_suite_that_loads_back() -> TestResult {
    let results = tempfile::tempdir()?;
    let target = results.path().join("saved.ron");
    let mut harness = harness(app(results.path()));
    harness.state_mut().document.suite.name = "saved".into();
    harness.state_mut().apply(UiCommand::SaveSuiteAsDialog);
    harness.run();
    let field = harness.get_by_role_and_label(Role::TextInput, "Save to path");
    field.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "Save to path").type_text(&target.display().to_string());
    harness.run();
    // Enter saves, as the button does (the prompt once took its focus back first and kept it).
    harness.key_press(egui::Key::Enter);
    harness.run();
    harness.run();
    let saved = phasebench::load_checked_suite(&target)?;
    assert_eq!(saved, harness.state().document.suite);
    assert!(!harness.state().document.is_dirty());
    assert_eq!(harness.state().remembered.recent_suites.first(), Some(&target));
    Ok(())
}

/// Issue 20, item 3: Save As through the typed path onto an existing file asks first, and the
/// second Save (now "Replace") replaces it.
#[test]
fn saving_over_an_existing_file_asks_first() -> TestResult {
    let results = tempfile::tempdir()?;
    let target = results.path().join("taken.ron");
    std::fs::write(&target, "// someone else's suite\n")?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::SaveSuiteAsDialog);
    harness.run();
    assert!(harness.get_by_role_and_label(Role::TextInput, "Save to path").is_focused(), "focused when it opens");
    harness.get_by_role_and_label(Role::TextInput, "Save to path").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "Save to path").type_text(&target.display().to_string());
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Save").click();
    harness.run();
    assert_eq!(std::fs::read_to_string(&target)?, "// someone else's suite\n", "not replaced unasked");
    harness.get_by_label_contains("already exists. Save again to replace it.");
    harness.get_by_role_and_label(Role::Button, "Replace").click();
    harness.run();
    assert_eq!(phasebench::load_checked_suite(&target)?, harness.state().document.suite);
    Ok(())
}

/// Issue 20, item 3: saving keeps the suite's comments (the header, and every comment whose line
/// is still written); when a comment's line is gone, the app lists it and asks before writing.
#[test]
fn saving_keeps_the_suites_comments_and_asks_before_dropping_one() -> TestResult {
    let results = tempfile::tempdir()?;
    let path = results.path().join("commented.ron");
    let original = "// What this suite is for.\n\nSuite(\n    version: 1,\n    name: \"commented\",\n    settings: Settings(\n        // Enough to warm up.\n        warmup_steps: 2,\n        min_steps: 3,\n        max_steps: 5,\n        min_secs: 0.0,\n        max_secs: 1.0,\n    ),\n    workloads: [Workload(name: \"mlp\", model: Mlp(input: 8, hidden: 16, output: 4, layers: 1))],\n    phases: [\n        Phase(name: \"base\", dtype: F32),\n        // Half precision.\n        Phase(name: \"half\", dtype: F16),\n    ],\n    baseline: \"base\",\n)\n";
    std::fs::write(&path, original)?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(path.clone()));
    harness.state_mut().apply(UiCommand::SaveSuite);
    harness.run();
    assert_eq!(std::fs::read_to_string(&path)?, original, "an unchanged suite keeps its text");

    harness.state_mut().document.suite.settings.warmup_steps = 4;
    harness.state_mut().apply(UiCommand::SaveSuite);
    harness.run();
    let saved = std::fs::read_to_string(&path)?;
    assert!(saved.starts_with("// What this suite is for.\n"), "{saved}");
    assert!(saved.contains("// Enough to warm up.\n        warmup_steps: 4,"), "{saved}");
    assert!(saved.contains("// Half precision."), "{saved}");

    harness.state_mut().apply(UiCommand::RemovePhase(1));
    harness.state_mut().apply(UiCommand::SaveSuite);
    harness.run();
    assert_eq!(std::fs::read_to_string(&path)?, saved, "not written before the answer");
    harness.get_by_label("Some comments cannot be kept");
    harness.get_by_label("// Half precision.");
    harness.get_by_role_and_label(Role::Button, "Save without them").click();
    harness.run();
    let written = std::fs::read_to_string(&path)?;
    assert!(!written.contains("Half precision") && written.contains("// Enough to warm up."), "{written}");
    assert_eq!(phasebench::load_checked_suite(&path)?, harness.state().document.suite);
    assert!(!harness.state().document.is_dirty());
    Ok(())
}

/// Issue 20, item 3: the unsaved-changes prompt offers Save, which saves and goes on.
#[test]
fn the_unsaved_changes_prompt_saves_and_goes_on() -> TestResult {
    let results = tempfile::tempdir()?;
    let path = results.path().join("mine.ron");
    std::fs::copy(fixture("valid_suites/tiny.ron"), &path)?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(path.clone()));
    harness.state_mut().document.suite.name = "renamed".into();
    harness.state_mut().apply(UiCommand::NewSuite);
    harness.run();
    harness.get_by_label("Unsaved changes");
    harness.get_by_role_and_label(Role::Button, "Save").click();
    harness.run();
    assert_eq!(phasebench::load_checked_suite(&path)?.name, "renamed", "saved first");
    assert_eq!(harness.state().document.suite.name, "untitled", "then the new suite");
    Ok(())
}

/// Issue 20, item 2: exporting an older result opened from History proposes that result's own
/// folder, not the newest run's; a run of an edited, unsaved suite says so in its result.
#[test]
fn an_export_is_proposed_in_the_shown_results_folder() -> TestResult {
    let results = tempfile::tempdir()?;
    let older = results.path().join("tiny-older");
    std::fs::create_dir_all(&older)?;
    std::fs::write(older.join("result.json"), serde_json::to_vec(&crate::fixed_result()?)?)?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.state_mut().document.suite.description = "edited here".into();
    harness.state_mut().apply(UiCommand::Run);
    let ended = |app: &PhasebenchApp| app.session.as_ref().is_some_and(|session| session.final_result().is_some());
    assert!(step_until(&mut harness, Duration::from_secs(120), ended), "the run did not end");
    let session = harness.state().session.as_ref().ok_or("no session")?;
    let newest = session.final_result().ok_or("the run did not end")?;
    assert!(newest.suite_origin.ends_with("(edited, not saved)"), "{}", newest.suite_origin);
    assert_eq!(newest.suite.description, "edited here", "the suite as run");
    harness.state_mut().apply(UiCommand::OpenResult(older.join("result.json")));
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    harness.state_mut().apply(UiCommand::ExportDialog(phasebench::app::ExportFormat::Html));
    harness.run();
    let prompt = harness.state().path_prompt.as_ref().ok_or("no path prompt")?;
    assert_eq!(prompt.text, older.join("report.html").display().to_string());
    Ok(())
}

#[test]
fn a_tiny_suite_runs_to_completion_and_the_compare_table_shows_every_verdict() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/tiny.ron")));
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Run").click();
    assert!(step_until(&mut harness, Duration::from_secs(120), |app| app.session.is_some() && !app.is_running()));
    harness.run();

    let app = harness.state();
    let session = app.session.as_ref().ok_or("no session")?;
    assert_eq!(session.state, SessionState::Finished(SuiteStatus::Completed));
    assert_eq!(session.finished.len(), 6);
    assert!(session.runs.iter().all(|run| run.telemetry.has_gpu()), "fake GPU telemetry reached the live plots");
    assert!(
        session.runs.iter().all(|run| run.measured.len() == session.result_of(run).map_or(0, |r| r.step_secs.len()))
    );
    assert_eq!(app.view, View::Compare);
    let on_disk = load_result(&session.result_dir)?;
    assert_eq!(on_disk.runs.len(), 6);
    // The phases measured in interleaved rounds reported their comparison as rounds came, and the
    // live view lists it.
    let compared_in_rounds: Vec<_> = session
        .runs
        .iter()
        .filter(|run| session.result_of(run).is_some_and(|result| !result.is_baseline && result.rounds.is_some()))
        .collect();
    assert!(!compared_in_rounds.is_empty());
    for run in &compared_in_rounds {
        let last = run.rounds.last().ok_or("no comparison over rounds reached the live view")?;
        assert!(last.rounds >= 10, "the first look is at round 10: {}", last.rounds);
    }
    // The live view shows the workload of the last run once the suite is done.
    let last_label = compared_in_rounds.last().ok_or("no run")?.planned.label();
    harness.state_mut().apply(UiCommand::ShowView(View::Live));
    harness.run();
    harness.get_by_label("Comparison over rounds");
    assert!(harness.query_all_by_label_contains(&format!("{last_label} — ")).count() >= 1);
    harness.state_mut().apply(UiCommand::ShowView(View::Compare));
    harness.run();
    let app = harness.state();
    let session = app.session.as_ref().ok_or("no session")?;

    // One table row per phase × batch: the phase column names each run; every verdict is shown.
    let bf16_rows = session.finished.iter().filter(|run| run.phase == "bf16").count();
    assert_eq!(harness.query_all_by_label("bf16").count(), bf16_rows);
    for run in &session.finished {
        if let Some(speedup) = &run.speedup {
            harness.get_all_by_label(&speedup.verdict.to_string()).next().ok_or("verdict missing")?;
        }
    }
    assert!(session.finished.iter().filter(|run| !run.is_baseline).all(|run| run.speedup.is_some()));

    // The export buttons write the same reports as the CLI.
    for (button, file) in [("Export Markdown…", "report.md"), ("Export HTML…", "report.html")] {
        let report = results.path().join(file);
        harness.get_by_role_and_label(Role::Button, button).click();
        harness.run();
        harness.get_by_role_and_label(Role::TextInput, "Save to path").focus();
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        harness.get_by_role_and_label(Role::TextInput, "Save to path").type_text(&report.display().to_string());
        harness.run();
        harness.get_by_role_and_label(Role::Button, "Save").click();
        harness.run();
        harness.state_mut().wait_for_jobs(Duration::from_secs(10));
        harness.run();
    }
    assert!(std::fs::read_to_string(results.path().join("report.md"))?.contains("## mlp (Mlp, inference)"));
    assert_eq!(load_result(&results.path().join("report.html"))?, on_disk, "the HTML embeds the result");

    // Any two runs diff side by side.
    for (label, nth) in [("Before", 0), ("After", 1)] {
        harness.get_all_by_label(label).nth(nth).ok_or("no diff button")?.scroll_to_me();
        harness.run();
        harness.get_all_by_label(label).nth(nth).ok_or("no diff button")?.click();
        harness.run();
    }
    // The comparison runs on a job thread.
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    assert!(
        matches!(harness.state().diff.outcome, Some(DiffOutcome::Runs(Ok(_)))),
        "{:?}",
        harness.state().diff.outcome
    );
    // The ratio says what it is (issue 20, item 7).
    harness.get_by_label_contains("after is ");

    // History lists the result; opening it shows it read-only in the compare view.
    harness.get_by_label("History").click();
    harness.run(); // the click is handled in this frame, which starts the listing job
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    // Its start in this machine's time zone (issue 20, item 9), the record's UTC on hover.
    let history = harness.state().history.as_ref().ok().and_then(|entries| entries.first());
    let saved = history.and_then(|entry| entry.summary.as_ref().ok()).cloned();
    let saved = saved.ok_or("History lists no readable result")?;
    harness.get_by_label("Started (local time)");
    harness.get_by_label(&saved.started_at.local_text());
    harness.get_by_role_and_label(Role::Button, "Open").click();
    harness.run();
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    let (path, opened) = harness.state().opened_result.as_ref().ok_or("the result did not open")?;
    assert!(path.starts_with(results.path()));
    assert_eq!(opened.runs.len(), 6);
    harness.get_by_label("Back to this session");
    Ok(())
}

#[test]
fn cancel_stops_a_run_mid_way_and_keeps_what_was_measured() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/slow.ron")));
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Run").click();
    let measuring = step_until(&mut harness, Duration::from_secs(30), |app| {
        app.session.as_ref().is_some_and(|session| session.runs.first().is_some_and(|run| run.measured.len() >= 2))
    });
    assert!(measuring, "the first run never reported steps");
    // The progress says how long the runs still to go may take, from their budgets (issue 20,
    // item 6): no run has finished, so every one may measure for its whole max_secs.
    let session = harness.state().session.as_ref().ok_or("no session")?;
    let budget = session.runs.len() as f64 * harness.state().document.suite.settings.max_secs;
    let left = session.time_left().ok_or("no time left while running")?.at_most_secs;
    assert!(left > budget - session.elapsed_secs() - 0.5 && left <= budget, "{left} s left of {budget} s");
    harness.get_by_label_contains(" left");
    harness.key_press(egui::Key::Escape);
    assert!(step_until(&mut harness, Duration::from_secs(30), |app| !app.is_running()));
    harness.run();

    let session = harness.state().session.as_ref().ok_or("no session")?;
    assert_eq!(session.state, SessionState::Finished(SuiteStatus::Cancelled));
    assert!(session.finished.len() < session.runs.len());
    let on_disk = load_result(&session.result_dir)?;
    assert_eq!(on_disk.status, SuiteStatus::Cancelled);
    assert!(!on_disk.runs.is_empty() && !on_disk.runs[0].step_secs.is_empty());
    Ok(())
}

/// Issue 20, item 10: the Decide view names the phase to ship per workload, says why a faster
/// phase is not it, and shows the evidence behind a row on one click.
#[test]
fn the_decide_view_names_the_phase_to_ship_with_its_evidence() -> TestResult {
    let results = tempfile::tempdir()?;
    let path = results.path().join("result.json");
    std::fs::write(&path, serde_json::to_string(&crate::report::result_with_a_faster_inaccurate_phase()?)?)?;
    // Tall enough that every row of both workloads is on screen.
    let mut harness = Harness::builder()
        .with_size([1500.0, 2400.0])
        .build_ui_state(|ui, app: &mut PhasebenchApp| app.frame(ui), app(results.path()));
    harness.state_mut().apply(UiCommand::OpenResult(path));
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    harness.get_by_label("Decide").click();
    harness.run();
    assert_eq!(harness.state().view, View::Decide);
    harness.get_by_label_contains("— ship bf16; q4 is 2.4");
    harness.get_by_label_contains("keep baseline: bf16 is 1.6");
    assert_eq!(harness.query_all_by_label("fail").count(), 1, "q4's accuracy");
    assert!(harness.query_by_label_contains("accuracy against the baseline").is_none(), "folded until asked");
    harness.get_by_label("Evidence for matmul/q4@1").click();
    harness.run();
    harness.get_by_label_contains("accuracy against the baseline: cosine 0.970000, relative error 2.000e-1");
    harness.get_all_by_role_and_label(Role::Button, "Show in Compare").next().ok_or("no button")?.click();
    harness.run();
    assert_eq!(harness.state().view, View::Compare);
    Ok(())
}

/// Issue 20, item 7: picking in History stays in History until both sides are picked; the picks
/// are shown at the top of Compare with "Compare these"; a run picked against a whole result
/// replaces it instead of making a diff that cannot be computed.
#[test]
fn diff_picks_stay_in_sight_and_a_pick_of_another_kind_replaces_the_old_one() -> TestResult {
    let results = tempfile::tempdir()?;
    for name in ["older", "newer"] {
        std::fs::create_dir_all(results.path().join(name))?;
        let path = results.path().join(name).join("result.json");
        std::fs::write(path, serde_json::to_string(&crate::fixed_result()?)?)?;
    }
    let mut harness = harness(app(results.path()));
    harness.get_by_label("History").click();
    harness.run();
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    // Entries tell two results of one suite apart: their folders and what they measured.
    harness.get_by_label("older");
    harness.get_by_label("newer");
    assert_eq!(harness.query_all_by_label_contains("baseline, bf16 · batch 1, 8 · ≤2 s a run").count(), 2);
    // The picks lead each row, left of the suite's name, so a wide row cannot push them out of
    // the window (they were last, past its right edge at 1 400 px).
    let suite_left = harness.query_all_by_label("tiny").map(|node| node.rect().left()).fold(f32::MAX, f32::min);
    assert!(suite_left < f32::MAX, "History lists the suite `tiny`");
    for after in harness.get_all_by_role_and_label(Role::Button, "After") {
        assert!(after.rect().right() < suite_left, "{:?} right of the suite at {suite_left}", after.rect());
    }
    harness.get_all_by_role_and_label(Role::Button, "Before").next().ok_or("no Before")?.click();
    harness.run();
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    assert_eq!(harness.state().view, View::History, "still picking");
    assert!(harness.state().diff.before.is_some());
    harness.get_all_by_role_and_label(Role::Button, "After").nth(1).ok_or("no second After")?.click();
    harness.run();
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    assert_eq!(harness.state().view, View::Compare, "both picked: the diff is shown");
    harness.get_by_label("Diff picks:");
    assert!(harness.query_by_label("Compare these").is_some());
    // One result per side: the diff says what its verdicts cannot see, as the command line does.
    // (The diff is computed on a job thread; under load it may land a few frames later.)
    let note = "one result per side: this verdict sees the noise inside each run";
    let deadline = Instant::now() + Duration::from_secs(20);
    while harness.query_by_label_contains(note).is_none() && Instant::now() < deadline {
        harness.state_mut().wait_for_jobs(Duration::from_secs(1));
        harness.run();
    }
    harness.get_by_label_contains(note);

    // Open a result and pick one of its runs: the whole-result sides give way.
    let opened = results.path().join("older").join("result.json");
    harness.state_mut().apply(UiCommand::OpenResult(opened));
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    harness.state_mut().apply(UiCommand::DiffRun { side: Side::Before, run_index: 0 });
    harness.run();
    let state = harness.state();
    assert!(
        matches!(state.diff.before, Some(DiffSide::Run { .. })),
        "{:?}",
        state.diff.before.as_ref().map(DiffSide::label)
    );
    assert!(state.diff.after.is_none(), "the result picked as after was replaced");
    assert!(state.status.contains("another kind"), "{}", state.status);
    Ok(())
}

/// Issue 20, item 9: Esc closes an open menu (and does not reach the run's cancel).
#[test]
fn escape_closes_an_open_menu() -> TestResult {
    let results = tempfile::tempdir()?;
    let mut harness = harness(app(results.path()));
    harness.get_by_label("File").click();
    harness.run();
    assert!(harness.query_by_label("New suite").is_some(), "the menu opened");
    harness.key_press(egui::Key::Escape);
    harness.run();
    assert!(harness.query_by_label("New suite").is_none(), "Esc closed it");
    Ok(())
}

#[test]
fn the_compare_view_of_fixed_results_matches_its_snapshot() -> TestResult {
    let fixed = crate::fixed_result()?;
    let (suite, runs) = (fixed.suite, fixed.runs);
    assert_eq!(runs[1].speedup.as_ref().map(|s| s.verdict), Some(phasebench::compare::Verdict::Slower));
    assert_eq!(runs[3].speedup.as_ref().map(|s| s.verdict), Some(phasebench::compare::Verdict::Faster));

    let mut harness = Harness::builder().with_size([1450.0, 900.0]).build_ui(move |ui| {
        let mut commands = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| {
            phasebench::ui::comparison_ui(ui, "fixed results", &suite, &runs, &mut commands);
        });
    });
    harness.run();
    harness.get_by_label("slower");
    harness.get_by_label("faster");
    harness.snapshot("compare_view");
    Ok(())
}

/// Issue 20, item 5: in a narrow window the compare table scrolls sideways with Diff, Phase and
/// Batch pinned, and the pinned cells stay on their rows.
#[test]
fn the_compare_table_scrolls_sideways_with_phase_and_batch_pinned() -> TestResult {
    let fixed = crate::fixed_result()?;
    let (suite, runs) = (fixed.suite, fixed.runs);
    let mut harness = Harness::builder().with_size([900.0, 700.0]).build_ui(move |ui| {
        let mut commands = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                phasebench::ui::comparison_ui(ui, "fixed results", &suite, &runs, &mut commands);
            });
        });
    });
    harness.run();
    let centers = |harness: &Harness<'_>, label: &str| -> Vec<f32> {
        let mut ys: Vec<f32> = harness.query_all_by_label(label).map(|node| node.rect().center().y).collect();
        ys.sort_by(f32::total_cmp);
        ys
    };
    // Each row's pinned pick button is level with its status cell (a two-line cell elsewhere in
    // the row makes every row taller on both sides).
    let (picks, statuses) = (centers(&harness, "Before"), centers(&harness, "completed"));
    assert!(!picks.is_empty() && picks.len() == statuses.len(), "{picks:?} {statuses:?}");
    for (pick, status) in picks.iter().zip(&statuses) {
        assert!((pick - status).abs() < 1.0, "rows out of line: {picks:?} against {statuses:?}");
    }
    // The first table's headers: the last column starts past the window's right edge.
    let header = |harness: &Harness<'_>, label: &str| harness.query_all_by_label(label).next().map(|node| node.rect());
    let (phase_before, warnings_before) = (header(&harness, "Phase"), header(&harness, "Warnings"));
    assert!(warnings_before.is_some_and(|rect| rect.right() > 900.0), "{warnings_before:?}");
    harness.query_all_by_label("Warnings").next().ok_or("no Warnings header")?.scroll_to_me();
    harness.run();
    let (phase_after, warnings_after) = (header(&harness, "Phase"), header(&harness, "Warnings"));
    assert!(warnings_after.is_some_and(|rect| rect.right() <= 900.0), "scrolled into view: {warnings_after:?}");
    assert_eq!(phase_after, phase_before, "Phase stays where it was");
    assert_eq!(centers(&harness, "Before").len(), picks.len(), "every row's picks still in view");
    Ok(())
}

/// A run with validity warnings is drawn with words the app's fonts have (a "⚠" was drawn as an
/// empty box in the window, and kittest refuses glyphs a font lacks).
#[test]
fn warnings_in_the_compare_table_are_drawn_in_words() -> TestResult {
    use phasebench::telemetry::ValidityWarning;
    let fixed = crate::fixed_result()?;
    let (suite, mut runs) = (fixed.suite, fixed.runs);
    runs[1].warnings = vec![
        ValidityWarning::WarmupTooShort { head_steps: 6, slower_percent: 20.0, warmup_steps: 2 },
        ValidityWarning::SamplerCost { percent_of_core: 3.5, interval_ms: 10 },
    ];
    let mut harness = Harness::builder().with_size([1450.0, 620.0]).build_ui(move |ui| {
        let mut commands = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| {
            phasebench::ui::comparison_ui(ui, "fixed results", &suite, &runs, &mut commands);
        });
    });
    harness.run();
    harness.get_by_label("2 warnings");
    Ok(())
}

#[test]
fn the_compare_view_lists_target_checks_and_scores() -> TestResult {
    use phasebench::suite::{Target, TargetMetric};
    let mut fixed = crate::fixed_result()?;
    fixed.suite.targets =
        vec![Target { metric: TargetMetric::Speedup, min: Some(1.5), max: None, workload: None, phase: None }];
    let (suite, runs) = (fixed.suite, fixed.runs);
    let mut harness = Harness::builder().with_size([1450.0, 800.0]).build_ui(move |ui| {
        let mut commands = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| {
            phasebench::ui::comparison_ui(ui, "fixed results", &suite, &runs, &mut commands);
        });
    });
    harness.run();
    harness.get_by_label("Targets");
    assert_eq!(harness.query_all_by_label("speedup ≥ 1.5 ×").count(), 2);
    // One target fails (mlp, 0.625x) and one passes (matmul, 1.6x), beside the two accuracy passes.
    assert_eq!(harness.query_all_by_label("fail").count(), 1);
    assert_eq!(harness.query_all_by_label("pass").count(), 3);
    harness.get_by_label_contains("Score (0–100, 100 = every target met): bf16");
    Ok(())
}

#[test]
fn a_hanging_and_a_panicking_run_leave_the_window_responsive_and_say_why() -> TestResult {
    use phasebench::runner::{FaultKind, InjectedFault};
    let results = tempfile::tempdir()?;
    let suite = results.path().join("faults.ron");
    let text = std::fs::read_to_string(fixture("valid_suites/tiny.ron"))?
        .replace("max_secs: 2.0, seed: 1)", "max_secs: 2.0, seed: 1, run_timeout_secs: 2.0, schedule: Sequential)");
    std::fs::write(&suite, text)?;
    let mut config = AppConfig {
        results_dir: results.path().to_owned(),
        telemetry: fake_gpu(),
        restore_last_suite: false,
        native_dialogs: false,
        ..AppConfig::default()
    };
    config.faults = vec![
        InjectedFault { run_index: 1, at_step: 2, kind: FaultKind::Hang },
        InjectedFault { run_index: 2, at_step: 2, kind: FaultKind::Panic },
    ];
    let mut harness = harness(PhasebenchApp::new(config, Remembered::default()));
    harness.state_mut().apply(UiCommand::OpenSuite(suite));
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Run").click();
    // Frames keep coming, each quickly, while run 1 hangs until its 2 s timeout.
    let (deadline, mut frames, mut slowest) = (Instant::now() + Duration::from_secs(120), 0, Duration::ZERO);
    while harness.state().session.is_none() || harness.state().is_running() {
        assert!(Instant::now() < deadline, "the suite did not finish");
        let frame = Instant::now();
        harness.step();
        slowest = slowest.max(frame.elapsed());
        frames += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(frames > 100, "only {frames} frames in a suite with a 2 s hang");
    assert!(slowest < Duration::from_secs(1), "a frame took {slowest:?}");
    let app = harness.state();
    let session = app.session.as_ref().ok_or("no session")?;
    assert_eq!(session.state, SessionState::Finished(SuiteStatus::Completed));
    assert_eq!(session.finished.len(), 6, "the suite went on after both faults");
    harness.get_by_label("Live").click();
    harness.run();
    harness.get_by_label_contains("failed: timed out: still running after 2.00 s");
    harness.get_by_label_contains("failed: panicked: injected panic before step 3");
    Ok(())
}

#[test]
fn an_unsaved_draft_survives_a_crash_and_is_offered_back() -> TestResult {
    use phasebench::app::Recovery;
    let dir = tempfile::tempdir()?;
    let recovery_file = dir.path().join("state").join("recovery.json");
    let suite_file = dir.path().join("mine.ron");
    std::fs::copy(fixture("valid_suites/tiny.ron"), &suite_file)?;
    let config = || AppConfig {
        results_dir: dir.path().join("results"),
        telemetry: fake_gpu(),
        restore_last_suite: false,
        native_dialogs: false,
        recovery_file: Some(recovery_file.clone()),
        ..AppConfig::default()
    };
    let kept_draft =
        |name: &str| Recovery::read(&recovery_file).and_then(|r| r.suite().ok()).is_some_and(|s| s.name == name);

    {
        let mut harness = harness(PhasebenchApp::new(config(), Remembered::default()));
        harness.state_mut().apply(UiCommand::OpenSuite(suite_file.clone()));
        harness.run();
        assert!(!recovery_file.exists(), "nothing to recover without changes");
        harness.state_mut().document.suite.name = "edited before the crash".into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !kept_draft("edited before the crash") {
            assert!(Instant::now() < deadline, "the draft never reached the recovery file");
            harness.step();
            std::thread::sleep(Duration::from_millis(20));
        }
        // The app goes away here without closing its window: a crash.
    }

    let mut harness = harness(PhasebenchApp::new(config(), Remembered::default()));
    harness.run();
    assert!(harness.state().recovery_offer.is_some());
    harness.get_by_label("Restore unsaved changes?");
    harness.get_by_role_and_label(Role::Button, "Restore").click();
    harness.run();
    let document = &harness.state().document;
    assert_eq!(document.suite.name, "edited before the crash");
    assert!(document.is_dirty(), "restored as unsaved changes to its file");
    assert_eq!(document.path.as_deref(), Some(suite_file.as_path()));

    // Saving leaves nothing to recover; the next start offers nothing.
    harness.state_mut().apply(UiCommand::SaveSuite);
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    while recovery_file.exists() {
        assert!(Instant::now() < deadline, "the recovery file outlived the save");
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(std::fs::read_to_string(&suite_file)?.contains("edited before the crash"));
    drop(harness);
    assert!(PhasebenchApp::new(config(), Remembered::default()).recovery_offer.is_none());
    Ok(())
}

#[test]
fn history_merges_shard_results_into_one_comparison() -> TestResult {
    use phasebench::runner::Shard;
    let results = tempfile::tempdir()?;
    let whole = crate::fixed_result()?;
    for (index, workload) in [(1, "mlp"), (2, "matmul")] {
        let mut shard = whole.clone();
        shard.shard = Some(Shard { index, count: 2 });
        shard.runs.retain(|run| run.workload == workload);
        shard.environment.hostname = Some(format!("node-{index}"));
        let dir = results.path().join(format!("tiny-shard{index}of2-20261122-120000"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("result.json"), serde_json::to_string(&shard)?)?;
    }
    let mut harness = harness(app(results.path()));
    harness.get_by_label("History").click();
    harness.run();
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    harness.get_by_label("tiny (shard 1/2)");
    harness.get_by_role_and_label(Role::Button, "Merge shards").click();
    harness.run();
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    let (_, merged) = harness.state().opened_result.as_ref().ok_or("the merged result did not open")?;
    assert_eq!(merged.runs.len(), 4);
    let hosts: Vec<&str> = merged.runs.iter().filter_map(|run| run.host.as_deref()).collect();
    assert_eq!(hosts, ["node-1", "node-1", "node-2", "node-2"]);
    assert_eq!(harness.state().view, View::Compare);
    Ok(())
}

/// Issue 21: a language-model suite runs in the app, and the compare view says each run's
/// prefill, time to first token, decode rate and KV cache under its workload's table.
#[test]
fn a_language_model_suite_shows_prefill_ttft_and_decode_in_the_compare_view() -> TestResult {
    let results = tempfile::tempdir()?;
    // Tall enough that every workload's table and lines are laid out without scrolling.
    let mut harness = Harness::builder()
        .with_size([1500.0, 2400.0])
        .with_max_steps(16)
        .build_ui_state(|ui, app: &mut PhasebenchApp| app.frame(ui), app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/llm_tiny.ron")));
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Run").click();
    assert!(step_until(&mut harness, Duration::from_secs(120), |app| app.session.is_some() && !app.is_running()));
    harness.run();
    assert_eq!(harness.state().view, View::Compare);
    // The comparison is analysed on a job thread.
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    // Every text shown (labels keep theirs as the node's value).
    let texts: Vec<String> = harness
        .query_all_by_label_contains("")
        .filter_map(|node| node.accesskit_node().value().map(|value| value.to_string()))
        .collect();
    for run in ["llama/f32@1", "llama/q8_0@1", "mistral/bf16@1", "qwen3-custom/no-kv@1"] {
        let line = texts.iter().find(|text| text.starts_with(&format!("{run}: prefill "))).ok_or(run)?;
        assert!(line.contains("TTFT") && line.contains("decode") && line.contains("tok/s"), "{line}");
    }
    let lines = texts.iter().filter(|text| text.contains(": prefill ")).count();
    assert_eq!(lines, 19, "one line per run");
    assert!(texts.iter().any(|text| text.starts_with("qwen3-custom/no-kv@1") && text.contains("no KV cache")));
    // The live plot marks every generation's prefill before its decode steps.
    let session = harness.state().session.as_ref().ok_or("no session")?;
    for run in &session.runs {
        let result = session.finished.iter().find(|result| result.index == run.planned.index).ok_or("not finished")?;
        let generations = result.text.as_ref().ok_or("no text record")?.generation_secs.len();
        // Measured ones lie at -0.5 and after, warm-up ones at -1.5 and before.
        let measured: Vec<_> = run.prefills.iter().filter(|mark| mark.x > -1.0).collect();
        assert_eq!(measured.len(), generations, "{}: a mark per measured generation", run.planned.label());
        assert!(measured.iter().all(|mark| mark.y > 0.0 && (mark.x + 0.5) % 1.0 == 0.0));
    }
    // The settings form offers the next-token bound for a suite that generates text.
    harness.get_by_label("Accuracy: min top-1 agreement");
    Ok(())
}

/// Issue 21: a workload's model picked "from file": choosing HfFolder in the model list asks for
/// the folder at once (the typed path where no dialog opens), keeps it relative to the suite's
/// folder, switches to text generation and shows what phasebench reads there.
#[test]
fn a_model_folder_picked_from_file_shows_its_family_and_size() -> TestResult {
    use phasebench::models::{generate_weights, llm};
    use phasebench::suite::{LlmFamily, LlmPreset, LlmSpec};
    let dir = tempfile::tempdir()?;
    let suite_path = dir.path().join("mine.ron");
    std::fs::copy(fixture("valid_suites/tiny.ron"), &suite_path)?;
    let spec = LlmSpec { family: LlmFamily::Qwen3, preset: LlmPreset::Tiny };
    let folder = dir.path().join("models/qwen3-tiny");
    llm::write_hf_folder(&llm::LlmConfig::of_spec(&spec), &generate_weights(&spec, 1)?, &folder)?;
    let mut harness = harness(app(dir.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(suite_path));
    harness.state_mut().apply(UiCommand::Select(Selection::Workload(0)));
    harness.run();
    harness.get_by_role_and_label(Role::ComboBox, "Model").click();
    harness.run();
    harness.get_by_label_contains("HfFolder — your own language model").click();
    harness.run();
    let prompt = harness.state().path_prompt.as_ref().ok_or("no path prompt")?;
    assert_eq!(prompt.purpose, FilePurpose::ModelFile { index: 0, folder: true });
    harness.get_by_role_and_label(Role::TextInput, "Path").type_text(&folder.display().to_string());
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    harness.run();
    let workload = &harness.state().document.suite.workloads[0];
    let ModelSpec::HfFolder(picked) = &workload.model else { return Err(format!("{:?}", workload.model).into()) };
    assert_eq!(picked.path.written(), "models/qwen3-tiny", "relative to the suite's folder");
    assert_eq!(workload.mode.kind(), phasebench::suite::ModeKind::TextGeneration);
    let texts: Vec<String> = harness
        .query_all_by_label_contains("")
        .filter_map(|node| node.accesskit_node().value().map(|value| value.to_string()))
        .collect();
    let detected = texts.iter().find(|text| text.starts_with("Detected: ")).ok_or("no detected model")?;
    assert!(detected.starts_with("Detected: Qwen3 · 131.5K parameters · hidden 64, 2 layers"), "{detected}");
    harness.get_by_role_and_label(Role::TextInput, "Model folder");
    harness.get_by_role_and_label(Role::Button, "From file…");
    // The phase form gains the KV cache switch and the GGUF a phase may run instead.
    harness.state_mut().apply(UiCommand::Select(Selection::Phase(0)));
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "GGUF file");
    harness.get_by_role_and_label(Role::CheckBox, "KV cache").click();
    harness.run();
    assert_eq!(harness.state().document.suite.phases[0].kv_cache, Some(false));
    Ok(())
}

/// Issue 22: a diffusion suite runs in the app: the compare view says each run's stages, seconds
/// per image and PSNR/SSIM, and the live plot marks every generation's text encoding and decode.
#[test]
fn a_diffusion_suite_shows_stages_per_image_and_stage_marks() -> TestResult {
    use phasebench::runner::image::ImageStage;
    let results = tempfile::tempdir()?;
    let mut harness = Harness::builder()
        .with_size([1500.0, 1600.0])
        .with_max_steps(16)
        .build_ui_state(|ui, app: &mut PhasebenchApp| app.frame(ui), app(results.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(fixture("valid_suites/diffusion_tiny.ron")));
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Run").click();
    assert!(step_until(&mut harness, Duration::from_secs(120), |app| app.session.is_some() && !app.is_running()));
    harness.run();
    harness.state_mut().wait_for_jobs(Duration::from_secs(10));
    harness.run();
    let texts: Vec<String> = harness
        .query_all_by_label_contains("")
        .filter_map(|node| node.accesskit_node().value().map(|value| value.to_string()))
        .collect();
    for run in ["sd/f32@1", "sd/2 steps@1", "sd/no guidance@1"] {
        let line = texts.iter().find(|text| text.starts_with(&format!("{run}: text encoder "))).ok_or(run)?;
        assert!(line.contains("per image") && line.contains("decode"), "{line}");
    }
    let line = texts.iter().find(|text| text.starts_with("sd/2 steps@1: ")).ok_or("no line")?;
    assert!(line.contains("PSNR") && line.contains("SSIM") && line.contains("the baseline's"), "{line}");
    // The image cards: the baseline's reference image, each phase's PSNR/SSIM and its seconds per
    // image against the baseline's.
    assert!(texts.iter().any(|text| text == "the reference image"), "the baseline's card");
    assert_eq!(texts.iter().filter(|text| text.starts_with("PSNR ") && text.contains(" · SSIM ")).count(), 2);
    assert_eq!(texts.iter().filter(|text| text.contains(" per image · ") && text.contains("×")).count(), 2);
    let session = harness.state().session.as_ref().ok_or("no session")?;
    for run in &session.runs {
        let result = session.finished.iter().find(|result| result.index == run.planned.index).ok_or("not finished")?;
        let generations = result.generation.as_ref().ok_or("no generation record")?.generation_secs.len();
        let measured =
            |stage: ImageStage| run.stages.iter().filter(|(mark, kind)| *kind == stage && mark.x > -1.0).count();
        assert_eq!(measured(ImageStage::TextEncoder), generations, "{}", run.planned.label());
        assert_eq!(measured(ImageStage::Decode), generations, "{}", run.planned.label());
    }
    Ok(())
}

/// Issue 22: a diffusers folder picked with "From folder…" (the typed path where no dialog opens)
/// becomes the workload's pipeline, relative to the suite's folder, with the version its configs
/// say and what phasebench reads there.
#[test]
fn a_pipeline_folder_picked_from_folder_shows_what_it_holds() -> TestResult {
    use phasebench::suite::{FluxVariant, Pipeline, StableDiffusionVersion};
    let dir = tempfile::tempdir()?;
    let suite_path = dir.path().join("mine.ron");
    std::fs::copy(fixture("valid_suites/diffusion_tiny.ron"), &suite_path)?;
    let folder = dir.path().join("models/sd21");
    phasebench::models::diffusion::write_seeded_folder(
        &folder,
        Pipeline::StableDiffusion(StableDiffusionVersion::V2_1),
        1,
    )?;
    let mut harness = harness(app(dir.path()));
    harness.state_mut().apply(UiCommand::OpenSuite(suite_path));
    harness.state_mut().apply(UiCommand::Select(Selection::Workload(0)));
    harness.run();
    harness.get_by_role_and_label(Role::RadioButton, "Diffusers folder").click();
    harness.run();
    let prompt = harness.state().path_prompt.as_ref().ok_or("no path prompt")?;
    assert_eq!(prompt.purpose, FilePurpose::DiffusionFolder(0));
    harness.get_by_role_and_label(Role::TextInput, "Path").type_text(&folder.display().to_string());
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    harness.run();
    let workload = &harness.state().document.suite.workloads[0];
    let ModelSpec::Diffusion(picked) = &workload.model else { return Err(format!("{:?}", workload.model).into()) };
    assert_eq!(picked.path.as_ref().map(|path| path.written()), Some("models/sd21"), "relative to the suite's folder");
    assert_eq!(picked.pipeline, Pipeline::StableDiffusion(StableDiffusionVersion::V2_1), "detected from its configs");
    let texts: Vec<String> = harness
        .query_all_by_label_contains("")
        .filter_map(|node| node.accesskit_node().value().map(|value| value.to_string()))
        .collect();
    let detected = texts.iter().find(|text| text.starts_with("Detected: ")).ok_or("no detected pipeline")?;
    assert!(detected.starts_with("Detected: Stable Diffusion 2.1 · UNet [32, 64] channels"), "{detected}");
    harness.get_by_role_and_label(Role::TextInput, "Pipeline folder");
    // A Flux folder (a transformer/ under diffusers' names) picked the same way switches the
    // pipeline to the family and variant its transformer's config says.
    let flux = dir.path().join("models/flux");
    phasebench::models::diffusion::write_seeded_folder(&flux, Pipeline::Flux(FluxVariant::Dev), 1)?;
    harness.get_by_role_and_label(Role::Button, "From folder…").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Path").type_text(&flux.display().to_string());
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    harness.run();
    let workload = &harness.state().document.suite.workloads[0];
    let ModelSpec::Diffusion(picked) = &workload.model else { return Err(format!("{:?}", workload.model).into()) };
    assert_eq!(picked.path.as_ref().map(|path| path.written()), Some("models/flux"));
    assert_eq!(picked.pipeline, Pipeline::Flux(FluxVariant::Dev), "detected from transformer/config.json");
    let texts: Vec<String> = harness
        .query_all_by_label_contains("")
        .filter_map(|node| node.accesskit_node().value().map(|value| value.to_string()))
        .collect();
    let detected = texts.iter().find(|text| text.starts_with("Detected: ")).ok_or("no detected pipeline")?;
    assert!(detected.starts_with("Detected: Flux.1 dev · transformer 1 double + 2 single blocks"), "{detected}");
    // The phase form offers what a phase changes of a generation: "Guidance" checked gives the
    // phase guidance of its own (1: off), unchecked again the workload's.
    harness.state_mut().apply(UiCommand::Select(Selection::Phase(0)));
    harness.run();
    harness.get_by_role_and_label(Role::CheckBox, "Steps");
    harness.get_by_role_and_label(Role::CheckBox, "Guidance").click();
    harness.run();
    let image = harness.state().document.suite.phases[0].image;
    assert_eq!(image.and_then(|image| image.guidance), Some(1.0));
    harness.get_by_role_and_label(Role::CheckBox, "Guidance").click();
    harness.run();
    assert_eq!(harness.state().document.suite.phases[0].image, None, "nothing of its own left");
    Ok(())
}
