//! What the editor costs the UI thread per keystroke that changes the draft: the draft written as
//! RON and checked exactly as `phasebench run` checks a file, side by side in this one process:
//!
//! - **per keystroke, system memory read each time** (what the editor did before: `sysinfo` asked
//!   for the available memory on every check);
//! - **per keystroke, memory measured once** (what the editor does now: the figure taken when the
//!   suite was opened, refreshed on Run);
//! - the same arm again as an A/A control: the noise floor of the ratio.
//!
//! Each round runs the three arms in a rotating order on the shipped quickstart suite, a few hundred
//! checks each, and takes each arm's median. Run: `cargo bench --bench editor_validation [-- ROUNDS]`
//! (default 7). Figures: BENCHMARKS.md.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::min_median_max;
use phasebench::suite::{self, Suite};

const CHECKS_PER_ARM: usize = 300;

fn fail(message: &str) -> ! {
    eprintln!("editor validation bench: {message}");
    std::process::exit(1);
}

/// Median microseconds of one check of `suite` (as the editor does after an edit) by `check`.
fn median_check_micros(suite: &Suite, check: impl Fn(&str) -> bool) -> f64 {
    let mut times = Vec::with_capacity(CHECKS_PER_ARM);
    for _ in 0..CHECKS_PER_ARM {
        let start = Instant::now();
        let text = suite::suite_to_ron(black_box(suite)).unwrap_or_else(|error| fail(&error.to_string()));
        if !check(black_box(&text)) {
            fail("the quickstart suite did not check");
        }
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    min_median_max(&times)[1]
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(7);
    let suite = suite::default_suite().unwrap_or_else(|error| fail(&error.to_string()));
    let memory = phasebench::results::environment::available_memory_bytes();
    let asking_each_time = |text: &str| phasebench::parse_checked_suite(text, "the suite").is_ok();
    let measured_once = |text: &str| {
        phasebench::parse_checked_suite_with_memory(text, "the suite", std::path::Path::new("."), memory).is_ok()
    };
    let (mut each, mut once, mut ratio, mut control) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut arm = [0.0; 3];
        for index in 0..3 {
            let which = (index + round) % 3;
            arm[which] = match which {
                0 => median_check_micros(&suite, asking_each_time),
                _ => median_check_micros(&suite, measured_once),
            };
        }
        println!(
            "round {}: memory read each check {:.1} µs, measured once {:.1} µs, again {:.1} µs",
            round + 1,
            arm[0],
            arm[1],
            arm[2]
        );
        each.push(arm[0]);
        once.push(arm[1]);
        ratio.push(arm[0] / arm[1]);
        control.push(arm[2] / arm[1]);
    }
    println!("\n| figure (quickstart suite, one check per keystroke) | min | median | max | unit |");
    println!("|---|---:|---:|---:|---|");
    for (what, values, unit) in [
        ("check with the memory read each time (before)", &each, "µs"),
        ("check with the memory measured once (now)", &once, "µs"),
        ("before ÷ now", &ratio, "ratio"),
        ("A/A control: now ÷ now", &control, "ratio"),
    ] {
        let [min, median, max] = min_median_max(values);
        println!("| {what} | {min:.2} | {median:.2} | {max:.2} | {unit} |");
    }
}
