//! The panels of the desktop app. Each is a function `*_ui(ui, state, commands)` that draws from
//! the app state and pushes [`UiCommand`]s; the app applies them after the frame. The editor's
//! forms are the exception: they edit the draft suite in place, as egui widgets edit their value.

mod compare;
mod decide;
mod diff;
mod editor;
mod history;
mod images;
mod live;
mod widgets;
mod window;

pub use compare::{COLUMNS, compare_ui, comparison_ui};
pub use decide::decide_ui;
pub use diff::diff_ui;
pub use editor::editor_ui;
pub use history::history_ui;
pub use live::live_ui;
pub use widgets::{phase_color, verdict_color};
pub use window::{DesktopApp, run_window};

use egui::{Key, KeyboardShortcut, Modifiers};

use crate::app::{ExportFormat, PhasebenchApp, SessionState, UiCommand, View};
use crate::suite;
use crate::units::format_secs;

/// Ctrl+O: open a suite.
pub const OPEN_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
/// Ctrl+S: save the suite.
pub const SAVE_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
/// Ctrl+Shift+S: save the suite under a new name.
pub const SAVE_AS_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);
/// Ctrl+R: run the suite.
pub const RUN_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
/// Esc: cancel the running suite (or close the dialog on top).
pub const CANCEL_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Escape);

/// The whole window: menu and toolbar, the suite editor on the left, the chosen view in the
/// middle, the status line, and any dialog on top.
pub fn app_ui(ui: &mut egui::Ui, app: &mut PhasebenchApp, commands: &mut Vec<UiCommand>) {
    shortcuts(ui.ctx(), app, commands);

    egui::Panel::top("menu").show(ui, |ui| {
        menu_bar_ui(ui, app, commands);
        toolbar_ui(ui, app, commands);
    });
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label(&app.status);
        });
    });
    egui::Panel::left("editor").resizable(true).default_size(380.0).min_size(300.0).show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            let running = app.is_running();
            let gpus = app.environment.as_ref().map_or(&[][..], |environment| &environment.gpu.gpus[..]);
            let devices = crate::app::device_choices(app.cuda.as_ref(), gpus);
            editor_ui(ui, &mut app.document, app.selection, running, &devices, commands);
        });
    });
    egui::CentralPanel::default().show(ui, |ui| match app.view {
        View::Live => {
            // Scrolls when the window is small (nothing cut at 900×600); the plots are sized to
            // the pane, not to the scrolled content.
            let pane_height = ui.available_height();
            egui::ScrollArea::vertical().id_salt("live-view").show(ui, |ui| live_ui(ui, app, pane_height, commands));
        }
        View::Compare => {
            // One scroll position per shown result: a newly shown result starts at its top.
            let shown = app.shown_comparison().map(|(label, _, _)| label);
            egui::ScrollArea::vertical().id_salt(("compare-view", shown)).show(ui, |ui| {
                compare_ui(ui, app, commands);
                ui.separator();
                diff_ui(ui, &app.diff, app.reveal_diff, commands);
            });
        }
        View::Decide => decide_ui(ui, app, commands),
        View::History => history_ui(ui, &app.history, &app.config.results_dir, &app.diff, commands),
    });

    dialogs_ui(ui.ctx(), app, commands);
}

fn shortcuts(ctx: &egui::Context, app: &PhasebenchApp, commands: &mut Vec<UiCommand>) {
    let dialog_open = app.notice.is_some()
        || app.recovery_offer.is_some()
        || app.pending_discard.is_some()
        || app.path_prompt.is_some()
        || app.pending_comment_loss.is_some();
    // Esc closes an open menu first; it cancels a run only when no menu or dialog has it.
    let menu_open = egui::Popup::is_any_open(ctx);
    ctx.input_mut(|input| {
        if input.consume_shortcut(&SAVE_AS_SHORTCUT) {
            commands.push(UiCommand::SaveSuiteAsDialog);
        }
        if input.consume_shortcut(&OPEN_SHORTCUT) {
            commands.push(UiCommand::OpenSuiteDialog);
        }
        if input.consume_shortcut(&SAVE_SHORTCUT) {
            commands.push(UiCommand::SaveSuite);
        }
        if input.consume_shortcut(&RUN_SHORTCUT) && app.run_disabled_reason().is_none() {
            commands.push(UiCommand::Run);
        }
        if !dialog_open && !menu_open && input.consume_shortcut(&CANCEL_SHORTCUT) && app.is_running() {
            commands.push(UiCommand::Cancel);
        }
    });
}

fn menu_bar_ui(ui: &mut egui::Ui, app: &PhasebenchApp, commands: &mut Vec<UiCommand>) {
    let shortcut = |ui: &egui::Ui, shortcut: &KeyboardShortcut| ui.ctx().format_shortcut(shortcut);
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("New suite").clicked() {
                commands.push(UiCommand::NewSuite);
            }
            if ui.add(egui::Button::new("Open suite…").shortcut_text(shortcut(ui, &OPEN_SHORTCUT))).clicked() {
                commands.push(UiCommand::OpenSuiteDialog);
            }
            ui.menu_button("Open recent", |ui| {
                if app.remembered.recent_suites.is_empty() {
                    ui.label("no recent suites");
                }
                for path in &app.remembered.recent_suites {
                    if ui.button(path.display().to_string()).clicked() {
                        commands.push(UiCommand::OpenSuite(path.clone()));
                    }
                }
            });
            ui.menu_button("Examples", |ui| {
                for (name, _) in suite::EXAMPLE_SUITES {
                    if ui.button(*name).clicked() {
                        commands.push(UiCommand::OpenExample(name));
                    }
                }
            });
            ui.separator();
            if ui.add(egui::Button::new("Save").shortcut_text(shortcut(ui, &SAVE_SHORTCUT))).clicked() {
                commands.push(UiCommand::SaveSuite);
            }
            if ui.add(egui::Button::new("Save as…").shortcut_text(shortcut(ui, &SAVE_AS_SHORTCUT))).clicked() {
                commands.push(UiCommand::SaveSuiteAsDialog);
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                commands.push(UiCommand::Quit);
            }
        });
        ui.menu_button("Results", |ui| {
            if ui.button("Open result…").clicked() {
                commands.push(UiCommand::OpenResultDialog);
            }
            for format in ExportFormat::ALL {
                if ui.button(format!("Export {}…", format.describe())).on_hover_text(export_hint(format)).clicked() {
                    commands.push(UiCommand::ExportDialog(format));
                }
            }
            if ui.button("History").clicked() {
                commands.push(UiCommand::ShowView(View::History));
            }
        });
        ui.menu_button("Help", |ui| {
            if ui.button("About phasebench").clicked() {
                commands.push(UiCommand::ShowAbout(true));
            }
        });
    });
}

/// What an export holds, for its button's tooltip.
pub fn export_hint(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Html => {
            "one self-contained page with charts, tables, targets and recommendations; opens offline and reads back with `phasebench show`"
        }
        ExportFormat::Json => {
            "the shown result with every raw step and telemetry sample (reads back with `phasebench show`)"
        }
        ExportFormat::Markdown => {
            "summary tables per workload, targets, recommendations and warnings, for a PR comment"
        }
        ExportFormat::Csv => "one row per run with its statistics, speedup and accuracy",
    }
}

fn toolbar_ui(ui: &mut egui::Ui, app: &PhasebenchApp, commands: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        let disabled = app.run_disabled_reason();
        let run = ui
            .add_enabled(disabled.is_none(), egui::Button::new("Run"))
            .on_hover_text(format!("run every workload in every phase ({})", ui.ctx().format_shortcut(&RUN_SHORTCUT)));
        let run = match &disabled {
            Some(reason) => run.on_disabled_hover_text(reason),
            None => run,
        };
        if run.clicked() {
            commands.push(UiCommand::Run);
        }
        let cancelling = app.session.as_ref().is_some_and(|s| s.state == SessionState::Cancelling);
        if ui
            .add_enabled(app.is_running() && !cancelling, egui::Button::new("Cancel"))
            .on_hover_text("stop after the current step; finished runs stay saved (Esc)")
            .clicked()
        {
            commands.push(UiCommand::Cancel);
        }
        ui.separator();
        for (view, name) in
            [(View::Live, "Live"), (View::Compare, "Compare"), (View::Decide, "Decide"), (View::History, "History")]
        {
            if ui.selectable_label(app.view == view, name).clicked() {
                commands.push(UiCommand::ShowView(view));
            }
        }
        if let Some(session) = &app.session {
            ui.separator();
            let (done, total) = session.progress();
            let fraction = if total == 0 { 0.0 } else { done as f32 / total as f32 };
            let remaining = session.time_left().map_or_else(String::new, |left| match left.at_most_secs {
                0.0 => ", finishing".to_owned(),
                secs => format!(", at most {} left", format_secs(secs)),
            });
            let text = format!("{done}/{total} runs, {} elapsed{remaining}", format_secs(session.elapsed_secs()));
            ui.add(egui::ProgressBar::new(fraction).text(text).desired_width(360.0)).on_hover_text(
                "time left if every run still to go measures for its whole budget (max_secs), plus the preparation \
                 the finished runs took; runs end sooner when their comparison is decided or they reach max_steps",
            );
        }
    });
}

fn dialogs_ui(ctx: &egui::Context, app: &mut PhasebenchApp, commands: &mut Vec<UiCommand>) {
    if let Some(notice) = &app.notice {
        egui::Modal::new(egui::Id::unique("notice")).show(ctx, |ui| {
            ui.set_max_width(640.0);
            ui.heading(&notice.title);
            ui.add(egui::Label::new(egui::RichText::new(&notice.text).monospace()).wrap());
            if ui.button("OK").clicked() || ui.input(|input| input.key_pressed(Key::Escape)) {
                commands.push(UiCommand::CloseNotice);
            }
        });
    } else if let Some(recovery) = &app.recovery_offer {
        egui::Modal::new(egui::Id::unique("recovery")).show(ctx, |ui| {
            ui.set_max_width(560.0);
            ui.heading("Restore unsaved changes?");
            let name = recovery.suite().map_or_else(|_| "a suite".to_owned(), |suite| format!("“{}”", suite.name));
            ui.label(format!(
                "phasebench closed without saving your changes to {name} ({}); the draft was kept at {}.",
                recovery.origin, recovery.saved_at
            ));
            ui.horizontal(|ui| {
                if ui.button("Restore").clicked() {
                    commands.push(UiCommand::RestoreRecovery);
                }
                if ui.button("Discard").clicked() {
                    commands.push(UiCommand::DiscardRecovery);
                }
            });
        });
    } else if app.pending_discard.is_some() {
        egui::Modal::new(egui::Id::unique("discard")).show(ctx, |ui| {
            ui.heading("Unsaved changes");
            ui.label(format!("“{}” has changes that are not saved.", app.document.suite.name));
            ui.horizontal(|ui| {
                let save = if app.document.path.is_some() { "Save" } else { "Save as…" };
                if ui.button(save).on_hover_text("save the changes, then go on").clicked() {
                    commands.push(UiCommand::SaveAndContinue);
                }
                if ui.button("Discard changes").clicked() {
                    commands.push(UiCommand::ConfirmDiscard);
                }
                if ui.button("Keep editing").clicked() || ui.input(|input| input.key_pressed(Key::Escape)) {
                    commands.push(UiCommand::CancelPending);
                }
            });
        });
    } else if let Some(loss) = &app.pending_comment_loss {
        egui::Modal::new(egui::Id::unique("comment-loss")).show(ctx, |ui| {
            ui.set_max_width(640.0);
            ui.heading("Some comments cannot be kept");
            ui.label(format!(
                "Saving to {} keeps the suite's header comments and every comment whose line is still written; these annotate lines that are gone:",
                loss.path.display()
            ));
            for comment in &loss.comments {
                ui.label(egui::RichText::new(comment).monospace());
            }
            ui.horizontal(|ui| {
                if ui.button("Save without them").clicked() {
                    commands.push(UiCommand::ConfirmCommentLoss);
                }
                if ui.button("Cancel").clicked() || ui.input(|input| input.key_pressed(Key::Escape)) {
                    commands.push(UiCommand::CancelCommentLoss);
                }
            });
        });
    } else if let Some(prompt) = &mut app.path_prompt {
        egui::Modal::new(egui::Id::unique("path-prompt")).show(ctx, |ui| {
            ui.set_min_width(520.0);
            ui.heading(prompt.purpose.describe());
            ui.label(&prompt.note);
            let label = ui.label(if prompt.purpose.is_save() { "Save to path" } else { "Path" });
            let field = ui.add(egui::TextEdit::singleline(&mut prompt.text).desired_width(500.0)).labelled_by(label.id);
            // Read Enter before taking focus back: focus requested again would hide that it was lost.
            let entered = field.lost_focus() && ui.input(|input| input.key_pressed(Key::Enter));
            // Typing goes to the path as soon as the prompt opens, whatever had the focus before
            // (the button that opened it).
            if !entered && (!prompt.focused || ui.memory(|memory| memory.focused().is_none())) {
                field.request_focus();
                prompt.focused = true;
            }
            ui.horizontal(|ui| {
                let replacing = prompt.replace.as_ref().is_some_and(|path| path.as_os_str() == prompt.text.trim());
                let submit = match (prompt.purpose.is_save(), replacing) {
                    (true, true) => "Replace",
                    (true, false) => "Save",
                    (false, _) => "Open",
                };
                if ui.button(submit).clicked() || entered {
                    commands.push(UiCommand::SubmitPathPrompt);
                }
                if ui.button("Cancel").clicked() || ui.input(|input| input.key_pressed(Key::Escape)) {
                    commands.push(UiCommand::ClosePathPrompt);
                }
            });
        });
    }
    if app.about_open {
        let mut open = true;
        egui::Window::new("About phasebench").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            about_ui(ui, app);
        });
        if !open {
            commands.push(UiCommand::ShowAbout(false));
        }
    }
}

fn about_ui(ui: &mut egui::Ui, app: &PhasebenchApp) {
    ui.label("Point-and-click benchmarking of ML workloads: compare optimization phases with honest statistics.");
    egui::Grid::new("versions").num_columns(2).show(ui, |ui| {
        for (name, version) in [
            ("phasebench", env!("CARGO_PKG_VERSION")),
            ("candle", env!("PHASEBENCH_CANDLE_VERSION")),
            ("egui / eframe", env!("PHASEBENCH_EGUI_VERSION")),
            ("egui_plot", env!("PHASEBENCH_EGUI_PLOT_VERSION")),
        ] {
            ui.label(name);
            ui.label(version);
            ui.end_row();
        }
        ui.label("build");
        ui.label(if cfg!(debug_assertions) { "debug (timings not representative)" } else { "release" });
        ui.end_row();
        ui.label("CUDA");
        ui.label(app.cuda.as_ref().map_or_else(
            || {
                if cfg!(feature = "cuda") {
                    "compiled in".to_owned()
                } else {
                    "not compiled in (--features cuda)".to_owned()
                }
            },
            ToString::to_string,
        ));
        ui.end_row();
        if let Some(environment) = &app.environment {
            ui.label("CPU");
            ui.label(format!("{} ({} threads for compute)", environment.cpu_model, environment.compute_threads));
            ui.end_row();
            let gpu = &environment.gpu;
            match (gpu.gpus.is_empty(), &gpu.unavailable_reason) {
                (false, _) => {
                    for info in &gpu.gpus {
                        ui.label(format!("GPU {}", info.index));
                        ui.label(format!("{} (driver {})", info.name, gpu.driver_version.as_deref().unwrap_or("?")));
                        ui.end_row();
                    }
                }
                (true, reason) => {
                    ui.label("GPU");
                    ui.label(reason.as_ref().map_or("none".to_owned(), |reason| format!("none usable: {reason}")));
                    ui.end_row();
                }
            }
        }
    });
}
