//! Points of a plotted line as they arrive, with a decimated copy for display when the line is
//! long (per-bucket minima and maxima, so spikes stay visible).

use egui_plot::PlotPoint;

/// Most points a plotted series shows; longer series are shown as per-bucket minima and maxima.
pub const MAX_DISPLAY_POINTS: usize = 2000;

/// Points of one plotted line: every point, plus a decimated copy for display when it is long.
#[derive(Clone, Debug, Default)]
pub struct Series {
    points: Vec<PlotPoint>,
    display: Vec<PlotPoint>,
    display_of_len: usize,
}

impl Series {
    /// Appends a point.
    pub fn push(&mut self, x: f64, y: f64) {
        self.points.push(PlotPoint::new(x, y));
    }

    /// Every point, in order.
    pub fn points(&self) -> &[PlotPoint] {
        &self.points
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Removes every point.
    pub fn clear(&mut self) {
        self.points.clear();
        self.display.clear();
        self.display_of_len = 0;
    }

    /// Brings the display copy up to date; cheap when nothing changed.
    pub fn refresh_display(&mut self) {
        if self.points.len() > MAX_DISPLAY_POINTS && self.display_of_len != self.points.len() {
            self.display = decimate(&self.points, MAX_DISPLAY_POINTS);
            self.display_of_len = self.points.len();
        }
    }

    /// What to draw: every point when there are few, else the decimated copy (as of the last
    /// [`Self::refresh_display`]).
    pub fn display(&self) -> &[PlotPoint] {
        if self.points.len() > MAX_DISPLAY_POINTS && !self.display.is_empty() { &self.display } else { &self.points }
    }
}

/// Keeps the shape of a long series in at most `max_points` points: the minimum and the maximum
/// of each of `max_points / 2` buckets, in x order, so spikes stay visible.
pub fn decimate(points: &[PlotPoint], max_points: usize) -> Vec<PlotPoint> {
    let buckets = (max_points / 2).max(1);
    if points.len() <= max_points {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(buckets * 2);
    for bucket in 0..buckets {
        let start = bucket * points.len() / buckets;
        let end = ((bucket + 1) * points.len() / buckets).max(start + 1);
        let chunk = &points[start..end];
        let (mut low, mut high) = (0, 0);
        for (index, point) in chunk.iter().enumerate() {
            if point.y < chunk[low].y {
                low = index;
            }
            if point.y > chunk[high].y {
                high = index;
            }
        }
        let (first, second) = if low <= high { (low, high) } else { (high, low) };
        out.push(chunk[first]);
        if second != first {
            out.push(chunk[second]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_spikes_and_bounds_the_point_count() {
        let points: Vec<PlotPoint> =
            (0..100_000).map(|i| PlotPoint::new(i as f64, if i == 54_321 { 50.0 } else { 1.0 })).collect();
        let shown = decimate(&points, MAX_DISPLAY_POINTS);
        assert!(shown.len() <= MAX_DISPLAY_POINTS);
        assert!(shown.iter().any(|p| p.y == 50.0 && p.x == 54_321.0));
        assert!(shown.windows(2).all(|w| w[0].x <= w[1].x));
        assert_eq!(decimate(&points[..10], MAX_DISPLAY_POINTS).len(), 10);
    }
}
