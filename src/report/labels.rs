//! Where the labels of a scatter's dots go so that none prints over another: each label starts
//! right of its dot, above it if that place is free, else below, else further up or down — the
//! first free place, in the order the labels are given (a greedy placement, as chart libraries do
//! for point labels). Used by the HTML report's SVG and by the app's plots, in screen pixels.

/// One dot's label to place, in pixels (y grows downwards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelAnchor {
    /// The dot's centre.
    pub x: f32,
    /// The dot's centre.
    pub y: f32,
    /// The dot's radius: the label starts past it.
    pub radius: f32,
    /// The label's width.
    pub width: f32,
}

/// For each anchor, the top of its label (pixels, y down), `height` tall, starting at the dot's
/// right edge: the first of above, below, two above, two below … that overlaps no label placed
/// before it (the last tried when none is free).
pub fn place_labels(anchors: &[LabelAnchor], height: f32) -> Vec<f32> {
    let mut placed: Vec<(f32, f32, f32, f32)> = Vec::with_capacity(anchors.len());
    let overlaps =
        |a: &(f32, f32, f32, f32), b: &(f32, f32, f32, f32)| a.0 < b.1 && b.0 < a.1 && a.2 < b.3 && b.2 < a.3;
    anchors
        .iter()
        .map(|anchor| {
            let left = anchor.x + anchor.radius;
            let above = anchor.y - anchor.radius.max(height / 2.0) - height * 0.5;
            let below = anchor.y + anchor.radius.max(height / 2.0) - height * 0.5;
            let candidates = (0..6).map(|step| {
                let extra = height * (step / 2) as f32;
                if step % 2 == 0 { above - extra } else { below + extra }
            });
            let mut top = above;
            for candidate in candidates {
                top = candidate;
                let rect = (left, left + anchor.width, candidate, candidate + height);
                if !placed.iter().any(|other| overlaps(&rect, other)) {
                    break;
                }
            }
            placed.push((left, left + anchor.width, top, top + height));
            top
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(x: f32, y: f32) -> LabelAnchor {
        LabelAnchor { x, y, radius: 4.0, width: 60.0 }
    }

    #[test]
    fn a_lone_label_sits_above_its_dot() {
        let tops = place_labels(&[anchor(10.0, 100.0)], 12.0);
        assert!(tops[0] + 12.0 <= 100.0, "{tops:?}");
    }

    #[test]
    fn labels_of_dots_at_nearly_one_place_never_overlap() {
        // Three dots within two pixels of each other (bf16 at two batch sizes, say), and one far.
        let anchors = [anchor(100.0, 50.0), anchor(101.0, 51.0), anchor(100.0, 52.0), anchor(300.0, 50.0)];
        let tops = place_labels(&anchors, 12.0);
        for i in 0..3 {
            for j in i + 1..3 {
                assert!((tops[i] - tops[j]).abs() >= 12.0, "labels {i} and {j} overlap: {tops:?}");
            }
        }
        assert_eq!(tops[3], tops[0], "a dot with room keeps the first place");
    }
}
