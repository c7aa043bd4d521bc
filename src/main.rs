//! The `phasebench` program: the headless CLI (and, with the `gui` feature, the desktop app).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
