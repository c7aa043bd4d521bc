//! Suite text → parse, validate, memory check, plan; a suite that loads must save and load back
//! to an equal suite.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(suite) = phasebench::parse_checked_suite(text, "fuzz.ron") else { return };
    let plan = phasebench::runner::expand(&suite);
    assert!(plan.iter().all(|run| run.workload_index < suite.workloads.len()));
    let _ = phasebench::runner::check_memory(&suite, 1 << 30);
    let saved = phasebench::suite::suite_to_ron(&suite).expect("a loaded suite saves");
    let again = phasebench::suite::parse_suite(&saved, "saved.ron").expect("a saved suite loads");
    assert_eq!(again, suite, "save and load round-trip");
});
