//! Saving a suite over the text it was read from without losing what people wrote there: an
//! unchanged suite keeps its text byte for byte; a changed one is written anew with the leading
//! comment block kept, and every other comment put back beside the line it annotated wherever
//! that line is still written the same. Comments with no such line are returned, so the app can
//! say which would be lost before it writes.

use super::{Suite, SuiteError, parse_suite, suite_to_ron};

/// The text to write for a suite, and the comments of the original it could not keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuiteText {
    /// What to write.
    pub text: String,
    /// Comments of the original text with no place in `text` (each as written, `//` included).
    pub lost_comments: Vec<String>,
}

/// `suite` as RON, keeping what it can of `original` (the text the suite was read from).
pub fn suite_text(suite: &Suite, original: Option<&str>) -> Result<SuiteText, SuiteError> {
    let Some(original) = original else {
        return Ok(SuiteText { text: suite_to_ron(suite)?, lost_comments: Vec::new() });
    };
    if parse_suite(original, "the original text").is_ok_and(|read| read == *suite) {
        return Ok(SuiteText { text: original.to_owned(), lost_comments: Vec::new() });
    }
    Ok(merge_comments(original, &suite_to_ron(suite)?))
}

/// A line split into its code and the `//` comment after it (outside string literals).
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let mut in_string = false;
    let mut escaped = false;
    for (at, character) in line.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '/' if !in_string && line[at..].starts_with("//") => return (&line[..at], Some(&line[at..])),
            _ => {}
        }
    }
    (line, None)
}

/// A code line as compared between the two texts: trimmed, without a trailing comma.
fn anchor_of(code: &str) -> String {
    code.trim().trim_end_matches(',').trim_end().to_owned()
}

/// The anchors of code lines, an opening line (`Phase(`) told apart by the line after it
/// (`Phase( name: "half"`), so comments above items written over several lines find their item.
fn anchors_of(code_lines: &[&str]) -> Vec<String> {
    code_lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let anchor = anchor_of(line);
            match code_lines.get(index + 1) {
                Some(next) if anchor.ends_with('(') || anchor.ends_with('[') => format!("{anchor} {}", anchor_of(next)),
                _ => anchor,
            }
        })
        .collect()
}

/// The written line a comment anchored at `anchor` goes to, searching forward from `cursor`:
/// the same line; else the same field (`warmup_steps:` with another value); else, for an item
/// written on one line (`Phase(name: "half", ...)`), the item of that name as written now.
fn place(anchor: &str, anchors: &[String], lines: &[&str], cursor: usize) -> Option<usize> {
    let order = || (cursor..anchors.len()).chain(0..cursor);
    if let Some(index) = order().find(|&index| anchors[index] == anchor) {
        return Some(index);
    }
    let key = anchor.split_once(':').map(|(key, _)| key).filter(|key| {
        !key.is_empty() && key.chars().all(|character| character.is_ascii_alphanumeric() || character == '_')
    });
    if let Some(key) = key {
        let field = format!("{key}:");
        return order().find(|&index| anchors[index].starts_with(&field));
    }
    let name_at = anchor.find("name: \"")?;
    let name_end = anchor[name_at + 7..].find('"')? + name_at + 8;
    let name_line = &anchor[name_at..name_end];
    let index = order().find(|&index| anchors[index] == name_line)?;
    Some(if index > 0 && lines[index - 1].trim_end().ends_with('(') { index - 1 } else { index })
}

/// Comments of `original` (besides its leading block) and the code line each belongs to.
enum Annotation {
    /// Whole-line comments above the code line `anchor` (or at the end, when `None`).
    Above { lines: Vec<String>, anchor: Option<String> },
    /// A comment after the code on the line `anchor`.
    After { comment: String, anchor: String },
}

fn merge_comments(original: &str, written: &str) -> SuiteText {
    let mut lines = original.lines().peekable();
    let mut header = Vec::new();
    while let Some(line) = lines.next_if(|line| line.trim().is_empty() || line.trim_start().starts_with("//")) {
        header.push(line.to_owned());
    }
    let rest: Vec<&str> = lines.collect();
    let codes: Vec<&str> =
        rest.iter().map(|line| split_comment(line).0).filter(|code| !code.trim().is_empty()).collect();
    let code_anchors = anchors_of(&codes);
    let mut annotations = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut code_index = 0;
    for line in rest {
        let (code, comment) = split_comment(line);
        if code.trim().is_empty() {
            if let Some(comment) = comment {
                pending.push(comment.trim().to_owned());
            }
            continue;
        }
        let anchor = code_anchors[code_index].clone();
        code_index += 1;
        if !pending.is_empty() {
            annotations.push(Annotation::Above { lines: std::mem::take(&mut pending), anchor: Some(anchor.clone()) });
        }
        if let Some(comment) = comment {
            annotations.push(Annotation::After { comment: comment.trim().to_owned(), anchor });
        }
    }
    if !pending.is_empty() {
        annotations.push(Annotation::Above { lines: pending, anchor: None });
    }

    let written: Vec<&str> = written.lines().collect();
    let anchors = anchors_of(&written);
    let mut above: Vec<Vec<String>> = vec![Vec::new(); written.len() + 1];
    let mut after: Vec<Option<String>> = vec![None; written.len()];
    let mut lost_comments = Vec::new();
    // Matches go forward through the written text, as the comments do through the original.
    let mut cursor = 0;
    let find = |anchor: &str, cursor: &mut usize| {
        let found = place(anchor, &anchors, &written, *cursor);
        if let Some(index) = found {
            *cursor = index;
        }
        found
    };
    for annotation in annotations {
        match annotation {
            Annotation::Above { lines, anchor: None } => above[written.len()].extend(lines),
            Annotation::Above { lines, anchor: Some(anchor) } => match find(&anchor, &mut cursor) {
                Some(index) => above[index].extend(lines),
                None => lost_comments.extend(lines),
            },
            Annotation::After { comment, anchor } => match find(&anchor, &mut cursor) {
                Some(index) if after[index].is_none() => after[index] = Some(comment),
                _ => lost_comments.push(comment),
            },
        }
    }
    let mut text = String::new();
    for line in &header {
        text.push_str(line);
        text.push('\n');
    }
    for (index, line) in written.iter().enumerate() {
        let indent = &line[..line.len() - line.trim_start().len()];
        for comment in &above[index] {
            text.push_str(&format!("{indent}{comment}\n"));
        }
        text.push_str(line);
        if let Some(comment) = &after[index] {
            text.push_str(&format!(" {comment}"));
        }
        text.push('\n');
    }
    for comment in &above[written.len()] {
        text.push_str(&format!("{comment}\n"));
    }
    SuiteText { text, lost_comments }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = r#"// The header: what this suite is for.
// Second line of it.

Suite(
    version: 1,
    name: "commented", // a trailing note
    settings: Settings(
        // Long enough to warm the caches.
        warmup_steps: 20,
        min_steps: 5,
    ),
    workloads: [
        // The small one.
        Workload(name: "mlp", model: Mlp(input: 8, hidden: 16, output: 4, layers: 1)),
    ],
    phases: [
        Phase(name: "base", dtype: F32),
        // Half precision: "//" in a comment.
        Phase(name: "half", dtype: F16),
    ],
    baseline: "base",
)
// The end.
"#;

    #[test]
    fn an_unchanged_suite_keeps_its_text_byte_for_byte() -> Result<(), SuiteError> {
        let suite = parse_suite(ORIGINAL, "commented.ron")?;
        let kept = suite_text(&suite, Some(ORIGINAL))?;
        assert_eq!(kept, SuiteText { text: ORIGINAL.to_owned(), lost_comments: Vec::new() });
        Ok(())
    }

    #[test]
    fn a_changed_suite_keeps_its_header_and_the_comments_whose_lines_are_still_there()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut suite = parse_suite(ORIGINAL, "commented.ron")?;
        suite.settings.warmup_steps = 30;
        let saved = suite_text(&suite, Some(ORIGINAL))?;
        let text = &saved.text;
        assert!(text.starts_with("// The header: what this suite is for.\n// Second line of it.\n\n"), "{text}");
        assert!(text.contains("name: \"commented\", // a trailing note\n"), "{text}");
        assert!(text.contains("// The end.\n"), "{text}");
        assert_eq!(parse_suite(text, "saved.ron")?, suite, "the text reads back as the edited suite");
        // Above the changed field, and above items now written over several lines.
        assert!(text.contains("        // Long enough to warm the caches.\n        warmup_steps: 30,\n"), "{text}");
        let small = text.find("// The small one.").ok_or("lost")?;
        assert!(text[small..].trim_start_matches("// The small one.").trim_start().starts_with("Workload("), "{text}");
        assert!(text.contains("// Half precision: \"//\" in a comment."), "{text}");
        assert!(saved.lost_comments.is_empty(), "{saved:?}");
        Ok(())
    }

    #[test]
    fn a_comment_whose_line_is_gone_is_reported() -> Result<(), SuiteError> {
        let mut suite = parse_suite(ORIGINAL, "commented.ron")?;
        suite.phases.retain(|phase| phase.name != "half");
        let saved = suite_text(&suite, Some(ORIGINAL))?;
        assert_eq!(saved.lost_comments, ["// Half precision: \"//\" in a comment."]);
        assert!(!saved.text.contains("Half precision"));
        Ok(())
    }

    /// Every shipped suite, edited, keeps every comment (they annotate lines the edit keeps).
    #[test]
    fn the_shipped_suites_keep_their_comments_through_an_edit() -> Result<(), SuiteError> {
        for file_name in crate::suite::EXAMPLE_SUITES.iter().map(|(name, _)| *name) {
            let Some(original) = crate::suite::example_suite(file_name) else { continue };
            let mut suite = parse_suite(original, file_name)?;
            suite.settings.seed += 1;
            let saved = suite_text(&suite, Some(original))?;
            assert!(saved.lost_comments.is_empty(), "{file_name}: {:?}", saved.lost_comments);
            let comments = |text: &str| text.lines().filter(|line| split_comment(line).1.is_some()).count();
            assert_eq!(comments(&saved.text), comments(original), "{file_name}:\n{}", saved.text);
            assert_eq!(parse_suite(&saved.text, file_name)?, suite);
        }
        Ok(())
    }

    #[test]
    fn a_double_slash_inside_a_string_is_not_a_comment() {
        assert_eq!(split_comment(r#"    description: "see http://x", // note"#).1, Some("// note"));
        assert_eq!(split_comment(r#"    name: "a \"//\" b","#).1, None);
    }
}
