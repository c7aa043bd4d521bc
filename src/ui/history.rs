//! The history: result directories under the results folder, newest first, to open one
//! (read-only) in the compare view or use two as the sides of a diff.

use std::path::Path;

use crate::app::{DiffState, HistoryEntry, Side, UiCommand};
use crate::results::SuiteStatus;

/// The history view.
pub fn history_ui(
    ui: &mut egui::Ui,
    history: &Result<Vec<HistoryEntry>, String>,
    results_dir: &Path,
    diff: &DiffState,
    commands: &mut Vec<UiCommand>,
) {
    ui.horizontal(|ui| {
        ui.heading("History");
        if ui.button("Refresh").clicked() {
            commands.push(UiCommand::RefreshHistory);
        }
        let sharded = history
            .as_ref()
            .is_ok_and(|entries| entries.iter().any(|entry| entry.summary.as_ref().is_ok_and(|s| s.shard.is_some())));
        if sharded
            && ui
                .button("Merge shards")
                .on_hover_text(
                    "combine the shard results of the newest sharded suite (run --shard, slurm) and open them",
                )
                .clicked()
        {
            commands.push(UiCommand::MergeShards);
        }
    });
    ui.label(egui::RichText::new(format!("results in {}", results_dir.display())).weak());
    let entries = match history {
        Ok(entries) => entries,
        Err(error) => {
            ui.colored_label(super::widgets::ERROR_COLOR, error);
            return;
        }
    };
    if entries.is_empty() {
        ui.label("No results yet: every run writes one here.");
        return;
    }
    // Open and the diff picks come first in a row, so a wide row never pushes them out of sight.
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("history").striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
            for header in ["", "Suite", "Folder", "Started (local time)", "Setup", "Machine", "Status", "Runs"] {
                ui.strong(header);
            }
            ui.end_row();
            for entry in entries {
                // A result picked for the diff shows it; picking stays here until both are.
                let (before, after) = diff.picked(&entry.path.display().to_string());
                ui.horizontal(|ui| {
                    if ui.button("Open").on_hover_text("show it in the compare view (read-only)").clicked() {
                        commands.push(UiCommand::OpenResult(entry.path.clone()));
                    }
                    if ui
                        .add(egui::Button::new("Before").selected(before))
                        .on_hover_text("use this result as the before side of a diff")
                        .clicked()
                    {
                        commands.push(UiCommand::LoadDiffResult { side: Side::Before, path: entry.path.clone() });
                    }
                    if ui
                        .add(egui::Button::new("After").selected(after))
                        .on_hover_text("use this result as the after side of a diff")
                        .clicked()
                    {
                        commands.push(UiCommand::LoadDiffResult { side: Side::After, path: entry.path.clone() });
                    }
                });
                entry_cells_ui(ui, entry);
                ui.end_row();
            }
        });
        // Room for the floating scroll bar, so it does not cover the last row's buttons.
        ui.add_space(ui.spacing().scroll.bar_width + 4.0);
    });
}

/// The result's own folder name (`quickstart-20261202-130001`), which tells two runs apart.
fn folder_name(entry: &HistoryEntry) -> String {
    let folder = if entry.path.is_dir() { Some(entry.path.as_path()) } else { entry.path.parent() };
    folder.and_then(|folder| folder.file_name()).map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}

/// Suite, folder, start, setup, machine, status and runs of one entry; an unreadable file says why.
fn entry_cells_ui(ui: &mut egui::Ui, entry: &HistoryEntry) {
    let path = entry.path.display().to_string();
    match &entry.summary {
        Ok(summary) => {
            let suite = match &summary.shard {
                Some(shard) => format!("{} (shard {shard})", summary.suite),
                None => summary.suite.clone(),
            };
            ui.label(suite).on_hover_text(path.as_str());
            ui.label(folder_name(entry));
            ui.label(summary.started_at.local_text()).on_hover_text(summary.started_at.to_string());
            ui.label(summary.setup.as_str());
            ui.label(format!("{} ({})", summary.hostname.as_deref().unwrap_or("unknown host"), summary.cpu_model));
            ui.label(match summary.status {
                SuiteStatus::Running => "interrupted".to_owned(),
                status => status.to_string(),
            });
            let failures = match summary.failed_runs {
                0 => String::new(),
                failed => format!(", {failed} failed"),
            };
            ui.label(format!("{}/{}{failures}", summary.runs, summary.planned_runs));
        }
        Err(error) => {
            ui.label("(unreadable)").on_hover_text(path);
            ui.label(folder_name(entry));
            for _ in 0..3 {
                ui.label("");
            }
            ui.label(error.as_str());
            ui.label("");
        }
    }
}
