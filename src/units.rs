//! Figures for people: durations and byte counts in the unit that reads best.

pub use crate::runner::plan::format_bytes;

/// Seconds in the unit that reads best (ns, µs, ms or s).
pub fn format_secs(secs: f64) -> String {
    match secs {
        s if s < 1e-6 => format!("{:.0} ns", s * 1e9),
        s if s < 1e-3 => format!("{:.1} µs", s * 1e6),
        s if s < 1.0 => format!("{:.2} ms", s * 1e3),
        s => format!("{s:.2} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(format_secs(2.5e-7), "250 ns");
        assert_eq!(format_secs(2.5e-5), "25.0 µs");
        assert_eq!(format_secs(0.0125), "12.50 ms");
        assert_eq!(format_secs(3.0), "3.00 s");
    }
}
