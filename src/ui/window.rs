//! The eframe glue: the window, persistence, the title, dropped files, close requests, frame
//! times, and drawing a frame of [`PhasebenchApp`] with the panels.

use std::path::PathBuf;

use crate::app::{AppConfig, PhasebenchApp, Remembered, UiCommand};

impl PhasebenchApp {
    /// Draws the whole window into `ui` and applies what the panels asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.frame_times.previous_frame_typed = ui.ctx().input(|input| {
            input
                .events
                .iter()
                .any(|event| matches!(event, egui::Event::Text(_) | egui::Event::Key { pressed: true, .. }))
        });
        let mut commands = Vec::new();
        crate::ui::app_ui(ui, self, &mut commands);
        for command in commands {
            self.apply(command);
        }
    }

    /// One whole frame (logic, then UI), as the test harness drives it.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.logic(&ctx);
        self.ui(ui);
    }
}

/// The eframe application around [`PhasebenchApp`]: persistence, the window title, dropped
/// files, close requests and frame times.
pub struct DesktopApp {
    app: PhasebenchApp,
    title: String,
    /// Frames begun so far.
    frames: u64,
}

impl DesktopApp {
    /// Builds the app, restoring what eframe stored last time.
    pub fn new(creation: &eframe::CreationContext<'_>, config: AppConfig) -> Self {
        let remembered: Remembered =
            creation.storage.and_then(|storage| eframe::get_value(storage, eframe::APP_KEY)).unwrap_or_default();
        let mut app = PhasebenchApp::new(config, remembered);
        app.attach(&creation.egui_ctx);
        Self { app, title: String::new(), frames: 0 }
    }

    /// With `first_frame_file`: asks for a second frame, and when it begins (the first has been
    /// drawn and presented) writes the time and closes the window.
    fn probe_first_frame(&mut self, ctx: &egui::Context) {
        let Some(path) = &self.app.config.first_frame_file else { return };
        self.frames += 1;
        if self.frames == 1 {
            ctx.request_repaint();
        } else if self.frames == 2 {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_nanos());
            if let Err(error) = crate::atomic_file::write_atomically(path, nanos.to_string().as_bytes()) {
                eprintln!("cannot write {}: {error}", path.display());
            }
            self.app.apply(UiCommand::Quit);
        }
    }
}

impl eframe::App for DesktopApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let plotted = self.app.session.as_ref().map_or(0, |session| {
            session.runs.iter().map(|run| run.measured.display().len() + run.warmup.display().len()).sum()
        });
        self.app.record_frame(frame.info().cpu_usage, plotted);
        self.probe_first_frame(ctx);
        self.app.logic(ctx);

        let dropped: Vec<PathBuf> =
            ctx.input(|input| input.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            self.app.apply(UiCommand::OpenSuite(path));
        }
        if ctx.input(|input| input.viewport().close_requested()) && !self.app.close_requested() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        }
        let title = self.app.document.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.app.ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.app.remembered);
    }
}

/// Opens the window and runs the app until it is closed.
pub fn run_window(config: AppConfig) -> Result<(), String> {
    let mut viewport = egui::ViewportBuilder::default();
    // The icon is a PNG made from assets/icon.svg; a broken one only costs the window its icon.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon-256.png")) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport: viewport
            .with_title("phasebench")
            .with_app_id("io.github.phasebench")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native("phasebench", options, Box::new(move |creation| Ok(Box::new(DesktopApp::new(creation, config)))))
        .map_err(|error| format!("cannot open the window: {error}"))
}
