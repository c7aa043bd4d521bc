//! Records the versions of candle and egui from Cargo.lock so results and the About window can
//! say which ones measured and drew them.

fn locked_version(lock: &str, crate_name: &str) -> String {
    let name_line = format!("name = \"{crate_name}\"");
    lock.split("[[package]]")
        .find(|package| package.lines().any(|line| line.trim() == name_line))
        .and_then(|package| package.lines().find_map(|line| line.strip_prefix("version = ")))
        .map(|quoted| quoted.trim_matches('"').to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    for (variable, crate_name) in [
        ("PHASEBENCH_CANDLE_VERSION", "candle-core"),
        ("PHASEBENCH_EGUI_VERSION", "egui"),
        ("PHASEBENCH_EGUI_PLOT_VERSION", "egui_plot"),
    ] {
        println!("cargo:rustc-env={variable}={}", locked_version(&lock, crate_name));
    }
}
