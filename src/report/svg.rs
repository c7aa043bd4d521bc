//! Small inline-SVG charts for the HTML report: line charts (with a shaded warm-up region), bar
//! charts with confidence-interval whiskers, box plots, and the speed-against-drift trade-off. Hand-written rather than a plotting
//! crate: the report needs four chart shapes, colours from CSS variables (so dark mode and print
//! restyle them) and every label escaped here — a few hundred lines instead of a font stack.
//!
//! Every chart is one `<svg class="chart">` element; all text in it is XML-escaped.

use std::fmt::Write;

use super::labels::{LabelAnchor, place_labels};

/// Width of every chart's coordinate system (the SVG scales to its container).
const WIDTH: f64 = 720.0;
/// Height of every chart's coordinate system.
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 52.0;
/// Height of a dot's label box (11 px text, CSS `svg.chart text`).
const LABEL_HEIGHT: f32 = 13.0;
/// Width of a label's character, roughly, at 11 px in a sans-serif font.
const LABEL_CHAR_WIDTH: f32 = 6.2;
/// Points drawn per line at most; longer series keep each bucket's minimum and maximum.
pub const MAX_LINE_POINTS: usize = 600;
/// Number of distinct series colours (CSS classes `s0`…`s7`).
pub const PALETTE_SIZE: usize = 8;

/// Escapes text for XML and HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of a line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Palette index (taken modulo [`PALETTE_SIZE`]).
    pub color: usize,
    /// (x, y) points in x order.
    pub points: Vec<(f64, f64)>,
}

/// One bar of a bar chart, with an optional interval drawn as a whisker.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Axis text under the bar.
    pub label: String,
    /// Palette index.
    pub color: usize,
    /// Height of the bar.
    pub value: f64,
    /// Low and high ends of the whisker.
    pub interval: Option<(f64, f64)>,
    /// A band drawn behind the bar (e.g. the A/A control's interval): low and high.
    pub band: Option<(f64, f64)>,
}

/// One box of a box plot: whisker ends, quartiles and median.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxItem {
    /// Axis text under the box.
    pub label: String,
    /// Palette index.
    pub color: usize,
    /// Lower whisker, first quartile, median, third quartile, upper whisker.
    pub five: [f64; 5],
}

/// One point of the trade-off chart: a phase at a batch size.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeoffPoint {
    /// Text beside the point.
    pub label: String,
    /// Palette index.
    pub color: usize,
    /// Drift from the baseline (> 0; drawn on a log axis).
    pub drift: f64,
    /// Speedup against the baseline.
    pub speedup: f64,
    /// The speedup's interval, drawn as a whisker.
    pub interval: Option<(f64, f64)>,
    /// 0–1: the point's share of the largest memory of the chart, drawn as its size.
    pub size: f64,
    /// Whether it is on the Pareto front (drawn ringed and joined).
    pub on_front: bool,
}

/// Axis titles and the chart's accessible name.
#[derive(Clone, Debug, PartialEq)]
pub struct Axes<'a> {
    /// The chart's title, used as its accessible name.
    pub title: &'a str,
    /// Text along the x axis.
    pub x_label: &'a str,
    /// Text along the y axis.
    pub y_label: &'a str,
}

/// Round tick values covering `[low, high]`, about `count` of them.
fn ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    let span = (high - low).max(f64::EPSILON * high.abs().max(1.0));
    let raw = span / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    let first = (low / step).ceil() * step;
    (0..=count * 3)
        .map(|i| first + i as f64 * step)
        .take_while(|value| *value <= high + step * 1e-9)
        .map(|value| if value.abs() < step * 1e-9 { 0.0 } else { value })
        .collect()
}

/// A tick label with at most 4 significant digits and no trailing zeros.
fn tick_text(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{value:.1e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

/// Maps data ranges to the plot area.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn new(x: (f64, f64), y: (f64, f64)) -> Self {
        let widen = |(low, high): (f64, f64)| {
            if (high - low).abs() < f64::EPSILON * high.abs().max(1.0) { (low - 0.5, high + 0.5) } else { (low, high) }
        };
        Self { x: widen(x), y: widen(y) }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }
}

fn open(kind: &str, axes: &Axes<'_>) -> String {
    format!(
        "<svg class=\"chart\" data-chart=\"{kind}\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\"><title>{}</title>",
        escape(axes.title),
        escape(axes.title)
    )
}

/// Grid lines, y tick labels and both axis titles; x ticks only when `x_ticks` is set.
fn draw_axes(svg: &mut String, frame: &Frame, axes: &Axes<'_>, x_ticks: bool) {
    for value in ticks(frame.y.0, frame.y.1, 5) {
        let y = frame.py(value);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            tick_text(value)
        );
    }
    if x_ticks {
        for value in ticks(frame.x.0, frame.x.1, 6) {
            let x = frame.px(value);
            let _ = write!(
                svg,
                "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                HEIGHT - BOTTOM + 16.0,
                tick_text(value)
            );
        }
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        HEIGHT - BOTTOM,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM
    );
    let _ = write!(
        svg,
        "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"label\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 8.0,
        escape(axes.x_label),
        (TOP + HEIGHT - BOTTOM) / 2.0,
        escape(axes.y_label)
    );
}

/// Keeps at most [`MAX_LINE_POINTS`] points: the minimum and maximum of each bucket, in x order.
fn decimate(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.len() <= MAX_LINE_POINTS {
        return points.to_vec();
    }
    let bucket = points.len().div_ceil(MAX_LINE_POINTS / 2);
    let mut kept = Vec::with_capacity(MAX_LINE_POINTS);
    for chunk in points.chunks(bucket) {
        let by_y = |a: &&(f64, f64), b: &&(f64, f64)| a.1.total_cmp(&b.1);
        let (Some(low), Some(high)) = (chunk.iter().min_by(by_y), chunk.iter().max_by(by_y)) else { continue };
        let (first, second) = if low.0 <= high.0 { (low, high) } else { (high, low) };
        kept.push(*first);
        if second != first {
            kept.push(*second);
        }
    }
    kept
}

fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |range, v| match range {
        None => Some((v, v)),
        Some((low, high)) => Some((low.min(v), high.max(v))),
    })
}

/// A line chart of `series`; x values below `shade_below_x` are shaded and marked "warm-up".
/// The y axis starts at zero when every value is positive.
pub fn line_chart(axes: &Axes<'_>, series: &[Series], shade_below_x: Option<f64>) -> String {
    let all = || series.iter().flat_map(|s| s.points.iter().copied());
    let x_range = extent(all().map(|p| p.0)).unwrap_or((0.0, 1.0));
    let (y_low, y_high) = extent(all().map(|p| p.1)).unwrap_or((0.0, 1.0));
    let frame = Frame::new(x_range, (y_low.min(0.0), y_high * 1.05));
    let mut svg = open("line", axes);
    if let Some(limit) = shade_below_x.filter(|limit| *limit > frame.x.0) {
        let right = frame.px(limit.min(frame.x.1));
        let _ = write!(
            svg,
            "<rect class=\"warmup\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">warm-up</text>",
            right - LEFT,
            HEIGHT - TOP - BOTTOM,
            LEFT + 4.0,
            TOP + 12.0
        );
    }
    draw_axes(&mut svg, &frame, axes, true);
    for line in series {
        let points: Vec<String> = decimate(&line.points)
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", frame.px(*x), frame.py(*y)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"line s{}\" points=\"{}\"><title>{}</title></polyline>",
            line.color % PALETTE_SIZE,
            points.join(" "),
            escape(&line.name)
        );
    }
    legend(&mut svg, series.iter().map(|s| (s.name.as_str(), s.color)));
    svg.push_str("</svg>");
    svg
}

/// The legend, one entry per series, in the top-right corner.
fn legend<'a>(svg: &mut String, entries: impl Iterator<Item = (&'a str, usize)>) {
    for (row, (name, color)) in entries.enumerate().take(10) {
        let y = TOP + 6.0 + row as f64 * 15.0;
        let _ = write!(
            svg,
            "<rect class=\"swatch s{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"/><text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            color % PALETTE_SIZE,
            WIDTH - RIGHT - 14.0,
            y,
            WIDTH - RIGHT - 18.0,
            y + 9.0,
            escape(name)
        );
    }
}

/// Column centres and width for `count` categories.
fn slots(count: usize) -> (Vec<f64>, f64) {
    let width = (WIDTH - LEFT - RIGHT) / count.max(1) as f64;
    ((0..count).map(|i| LEFT + width * (i as f64 + 0.5)).collect(), width)
}

/// Category labels under the columns, cut to fit.
fn category_labels(svg: &mut String, labels: impl Iterator<Item = String>, centres: &[f64], width: f64) {
    let max_chars = ((width / 6.5) as usize).max(4);
    for (label, x) in labels.zip(centres) {
        let shown: String = if label.chars().count() > max_chars {
            label.chars().take(max_chars - 1).chain(std::iter::once('…')).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\"><title>{}</title>{}</text>",
            HEIGHT - BOTTOM + 16.0,
            escape(&label),
            escape(&shown)
        );
    }
}

/// A bar chart with whiskers for the bars' intervals and a dashed line at `reference` (e.g. a
/// speedup of 1).
pub fn bar_chart(axes: &Axes<'_>, bars: &[Bar], reference: Option<f64>, band: Option<(f64, f64)>) -> String {
    let values = bars
        .iter()
        .flat_map(|bar| [Some(bar.value), bar.interval.map(|i| i.0), bar.interval.map(|i| i.1), bar.band.map(|b| b.1)])
        .flatten()
        .chain(reference)
        .chain(band.map(|b| b.1));
    let (_, high) = extent(values).unwrap_or((0.0, 1.0));
    let frame = Frame::new((0.0, 1.0), (0.0, high * 1.1));
    let mut svg = open("bar", axes);
    draw_axes(&mut svg, &frame, axes, false);
    if let Some((low, high)) = band {
        let (top, bottom) = (frame.py(high), frame.py(low));
        let _ = write!(
            svg,
            "<rect class=\"band\" x=\"{LEFT}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}–{}</title></rect>",
            WIDTH - RIGHT - LEFT,
            bottom - top,
            tick_text(low),
            tick_text(high)
        );
    }
    let (centres, width) = slots(bars.len());
    let bar_width = (width * 0.6).min(80.0);
    for (bar, x) in bars.iter().zip(&centres) {
        if let Some((low, high)) = bar.band {
            let (top, bottom) = (frame.py(high), frame.py(low));
            let _ = write!(
                svg,
                "<rect class=\"control\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>A/A {}–{}</title></rect>",
                x - bar_width * 0.7,
                bar_width * 1.4,
                bottom - top,
                tick_text(low),
                tick_text(high)
            );
        }
        let top = frame.py(bar.value.max(0.0));
        let _ = write!(
            svg,
            "<rect class=\"bar s{}\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{bar_width:.1}\" height=\"{:.1}\"><title>{}: {}</title></rect>",
            bar.color % PALETTE_SIZE,
            x - bar_width / 2.0,
            frame.py(0.0) - top,
            escape(&bar.label),
            tick_text(bar.value)
        );
        if let Some((low, high)) = bar.interval {
            let (y_low, y_high) = (frame.py(low), frame.py(high));
            let cap = bar_width / 4.0;
            let _ = write!(
                svg,
                "<path class=\"whisker\" d=\"M{x:.1} {y_low:.1}V{y_high:.1}M{:.1} {y_low:.1}H{:.1}M{:.1} {y_high:.1}H{:.1}\"/>",
                x - cap,
                x + cap,
                x - cap,
                x + cap
            );
        }
    }
    if let Some(reference) = reference {
        let y = frame.py(reference);
        let _ = write!(
            svg,
            "<line class=\"reference\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>",
            WIDTH - RIGHT
        );
    }
    category_labels(&mut svg, bars.iter().map(|bar| bar.label.clone()), &centres, width);
    svg.push_str("</svg>");
    svg
}

/// A box plot: per item a box from the first to the third quartile, the median as a line and
/// whiskers to the whisker ends.
pub fn box_chart(axes: &Axes<'_>, boxes: &[BoxItem]) -> String {
    let (low, high) = extent(boxes.iter().flat_map(|item| item.five)).unwrap_or((0.0, 1.0));
    let frame = Frame::new((0.0, 1.0), (low.min(0.0), high * 1.05));
    let mut svg = open("box", axes);
    draw_axes(&mut svg, &frame, axes, false);
    let (centres, width) = slots(boxes.len());
    let box_width = (width * 0.5).min(70.0);
    for (item, x) in boxes.iter().zip(&centres) {
        let [whisker_low, q1, median, q3, whisker_high] = item.five.map(|v| frame.py(v));
        let half = box_width / 2.0;
        let _ = write!(
            svg,
            "<g class=\"box s{}\"><title>{}: median {}</title><path class=\"whisker\" d=\"M{x:.1} {whisker_low:.1}V{q1:.1}M{x:.1} {q3:.1}V{whisker_high:.1}\"/><rect x=\"{:.1}\" y=\"{q3:.1}\" width=\"{box_width:.1}\" height=\"{:.1}\"/><line class=\"median\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{median:.1}\" y2=\"{median:.1}\"/></g>",
            item.color % PALETTE_SIZE,
            escape(&item.label),
            tick_text(item.five[2]),
            x - half,
            (q1 - q3).max(0.5),
            x - half,
            x + half
        );
    }
    category_labels(&mut svg, boxes.iter().map(|item| item.label.clone()), &centres, width);
    svg.push_str("</svg>");
    svg
}

/// Speedup (y) against drift (x, log scale) per phase: whiskers for the speedup's interval, point
/// size for memory, the Pareto front joined by a line, a dashed line at a speedup of 1 and, when
/// given, the accuracy bound (`max_drift`, vertical) and the speedup target (horizontal).
pub fn tradeoff_chart(
    axes: &Axes<'_>,
    points: &[TradeoffPoint],
    max_drift: Option<f64>,
    min_speedup: Option<f64>,
) -> String {
    let log = |drift: f64| drift.max(f64::MIN_POSITIVE).log10();
    let (x_low, x_high) = extent(points.iter().map(|p| log(p.drift)).chain(max_drift.map(log))).unwrap_or((-9.0, 0.0));
    let speeds = points.iter().flat_map(|p| [Some(p.speedup), p.interval.map(|i| i.0), p.interval.map(|i| i.1)]);
    let (y_low, y_high) = extent(speeds.flatten().chain([1.0]).chain(min_speedup)).unwrap_or((0.0, 2.0));
    let pad = ((y_high - y_low) * 0.1).max(0.05);
    let frame =
        Frame::new((x_low.floor(), x_high.ceil().max(x_low.floor() + 1.0)), ((y_low - pad).max(0.0), y_high + pad));
    let mut svg = open("tradeoff", axes);
    draw_axes(&mut svg, &frame, axes, false);
    let decades = (frame.x.0 as i32)..=(frame.x.1 as i32);
    let every = (decades.clone().count() / 8).max(1);
    for decade in decades.step_by(every) {
        let text = if decade == frame.x.0 as i32 && points.iter().any(|p| log(p.drift) <= frame.x.0) {
            "≤1e".to_owned() + &decade.to_string()
        } else {
            format!("1e{decade}")
        };
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{text}</text>",
            frame.px(f64::from(decade)),
            HEIGHT - BOTTOM + 16.0
        );
    }
    // Line labels sit below their line, at the right (the accuracy bound's at its top left).
    let horizontal = |svg: &mut String, y: f64, class: &str, text: &str| {
        let py = frame.py(y);
        let _ = write!(
            svg,
            "<line class=\"{class}\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            WIDTH - RIGHT - 4.0,
            py + 13.0,
            escape(text)
        );
    };
    horizontal(&mut svg, 1.0, "reference", "baseline speed");
    if let Some(target) = min_speedup {
        horizontal(&mut svg, target, "target", &format!("speedup target {}×", tick_text(target)));
    }
    if let Some(bound) = max_drift {
        let x = frame.px(log(bound));
        let _ = write!(
            svg,
            "<line class=\"target\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">accuracy bound</text>",
            HEIGHT - BOTTOM,
            x - 4.0,
            TOP + 10.0
        );
    }
    let mut front: Vec<&TradeoffPoint> = points.iter().filter(|p| p.on_front).collect();
    front.sort_by(|a, b| a.drift.total_cmp(&b.drift));
    if front.len() > 1 {
        let line: Vec<String> =
            front.iter().map(|p| format!("{:.1},{:.1}", frame.px(log(p.drift)), frame.py(p.speedup))).collect();
        let _ = write!(
            svg,
            "<polyline class=\"front\" points=\"{}\"><title>Pareto front</title></polyline>",
            line.join(" ")
        );
    }
    let radius = |point: &TradeoffPoint| 4.0 + 8.0 * point.size.clamp(0.0, 1.0);
    // Labels go where no other label is (dots of one phase at two batch sizes often nearly meet).
    let anchors: Vec<LabelAnchor> = points
        .iter()
        .map(|point| LabelAnchor {
            x: frame.px(log(point.drift)) as f32 + 3.0,
            y: frame.py(point.speedup) as f32,
            radius: radius(point) as f32,
            width: LABEL_CHAR_WIDTH * point.label.chars().count() as f32,
        })
        .collect();
    let label_tops = place_labels(&anchors, LABEL_HEIGHT);
    for (point, label_top) in points.iter().zip(label_tops) {
        let (x, y) = (frame.px(log(point.drift)), frame.py(point.speedup));
        if let Some((low, high)) = point.interval {
            let _ = write!(svg, "<path class=\"whisker\" d=\"M{x:.1} {:.1}V{:.1}\"/>", frame.py(low), frame.py(high));
        }
        let radius = radius(point);
        let ring = if point.on_front { " front-point" } else { "" };
        let _ = write!(
            svg,
            "<circle class=\"dot s{}{ring}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{radius:.1}\"><title>{}: {}× at drift {:.1e}</title></circle><text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            point.color % PALETTE_SIZE,
            escape(&point.label),
            tick_text(point.speedup),
            point.drift,
            x + radius + 3.0,
            // The text's baseline, near the bottom of its placed box.
            label_top + LABEL_HEIGHT - 2.0,
            escape(&point.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19: the speedup chart draws the ±threshold band across the chart and each bar's A/A
    /// interval behind it, where given, and neither where not.
    #[test]
    fn bars_draw_the_threshold_band_and_their_control_interval() {
        let axes = Axes { title: "t", x_label: "x", y_label: "y" };
        let bar = |band| Bar { label: "b".into(), color: 0, value: 1.1, interval: Some((1.05, 1.15)), band };
        let with = bar_chart(&axes, &[bar(Some((0.97, 1.04)))], Some(1.0), Some((0.98, 1.02)));
        assert_eq!(with.matches("class=\"band\"").count(), 1, "{with}");
        assert_eq!(with.matches("class=\"control\"").count(), 1);
        assert!(with.contains("A/A 0.97–1.04"), "{with}");
        let without = bar_chart(&axes, &[bar(None)], Some(1.0), None);
        assert!(!without.contains("class=\"band\"") && !without.contains("class=\"control\""));
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let small = ticks(0.0, 0.0031, 5);
        assert!(small.len() >= 3 && small.iter().all(|t| (0.0..=0.0031).contains(t)), "{small:?}");
        assert_eq!(tick_text(2.5), "2.5");
        assert_eq!(tick_text(1200.0), "1200");
        assert_eq!(tick_text(0.00125), "0.00125");
    }

    #[test]
    fn labels_are_escaped_in_every_chart() {
        let name = "<script>alert(1)</script> \"q\"";
        let axes = Axes { title: name, x_label: name, y_label: name };
        let series = [Series { name: name.into(), color: 0, points: vec![(0.0, 1.0), (1.0, 2.0)] }];
        let bars =
            [Bar { label: name.into(), color: 1, value: 1.5, interval: Some((1.2, 1.8)), band: Some((0.9, 1.1)) }];
        let boxes = [BoxItem { label: name.into(), color: 2, five: [1.0, 2.0, 3.0, 4.0, 5.0] }];
        for svg in [
            line_chart(&axes, &series, Some(0.5)),
            bar_chart(&axes, &bars, Some(1.0), Some((0.98, 1.02))),
            box_chart(&axes, &boxes),
        ] {
            assert!(!svg.contains("<script") && !svg.contains("\"q\""), "{svg}");
            assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot;"), "{svg}");
            assert_eq!(svg.matches("<svg").count(), 1);
        }
    }

    #[test]
    fn long_series_are_decimated_keeping_the_extremes() {
        let points: Vec<(f64, f64)> =
            (0..10_000).map(|i| (i as f64, if i == 4_321 { 99.0 } else { (i % 7) as f64 })).collect();
        let kept = decimate(&points);
        assert!(kept.len() <= MAX_LINE_POINTS, "{}", kept.len());
        assert!(kept.contains(&(4_321.0, 99.0)));
        assert!(kept.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}
