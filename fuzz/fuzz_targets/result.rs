//! Result bytes (JSON, or an HTML report with the JSON embedded) → a result or a clear error;
//! a result that loads renders every report without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(result) = phasebench::results::parse_result(data.to_vec(), "fuzz.json".into()) else { return };
    let _ = phasebench::report::markdown::render(&result, None);
    let _ = phasebench::report::csv::render(&result);
    let _ = phasebench::report::html::render(&result, None);
    let _ = phasebench::compare::recommendations(&result);
});
