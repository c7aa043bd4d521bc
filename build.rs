//! Records the candle version from Cargo.lock so results can say which candle measured them.

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find(|package| package.contains("name = \"candle-core\""))
        .and_then(|package| package.lines().find_map(|line| line.strip_prefix("version = ")))
        .map(|quoted| quoted.trim_matches('"').to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PHASEBENCH_CANDLE_VERSION={version}");
}
