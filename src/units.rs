//! Figures for people: durations and byte counts in the unit that reads best.

/// Seconds in the unit that reads best (ns, µs, ms or s).
pub fn format_secs(secs: f64) -> String {
    match secs {
        s if s < 1e-6 => format!("{:.0} ns", s * 1e9),
        s if s < 1e-3 => format!("{:.1} µs", s * 1e6),
        s if s < 1.0 => format!("{:.2} ms", s * 1e3),
        s => format!("{s:.2} s"),
    }
}

/// Bytes in binary units, e.g. `1.5 GiB`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// A count with a K, M, B or T suffix, e.g. `1.5M`.
pub fn format_count(count: f64) -> String {
    match count {
        c if c >= 1e12 => format!("{:.1}T", c / 1e12),
        c if c >= 1e9 => format!("{:.1}B", c / 1e9),
        c if c >= 1e6 => format!("{:.1}M", c / 1e6),
        c if c >= 1e3 => format!("{:.1}K", c / 1e3),
        c => format!("{c:.0}"),
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
