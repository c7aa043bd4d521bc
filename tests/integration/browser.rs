//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`) with every host name unresolvable and a dead proxy, so any network request fails
//! and shows as a console error. Console messages are read from Chromium's log, the rendered DOM
//! from `--dump-dom`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestResult;
use crate::report::{chart_count, result_with_telemetry};

/// What Chromium made of a page: its console messages and the DOM after loading.
struct Rendered {
    console: Vec<String>,
    dom: String,
}

fn chromium() -> Result<PathBuf, String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|dir| Path::new(dir).join(name))
                .find(|path| path.is_file())
        })
        .ok_or_else(|| {
            "headless Chromium is needed for this test: `apt-get install chromium` (.ci/run does)".to_owned()
        })
}

/// Chromium with a fresh profile, no network and no background services, on `page`.
fn headless(page: &Path, profile: &Path) -> Result<Command, String> {
    headless_at(page, profile, 1280)
}

/// [`headless`] with a window `width` pixels wide.
fn headless_at(page: &Path, profile: &Path, width: u32) -> Result<Command, String> {
    let mut command = Command::new(chromium()?);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    command.arg(format!("--window-size={width},3000"));
    command.arg(format!("--user-data-dir={}", profile.display()));
    command.env_remove("DISPLAY");
    command.arg(format!("file://{}", page.display()));
    Ok(command)
}

fn render(page: &Path) -> Result<Rendered, Box<dyn std::error::Error>> {
    let profile = tempfile::tempdir()?;
    let output = headless(page, profile.path())?.arg("--dump-dom").output()?;
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    let console = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    Ok(Rendered { console, dom: String::from_utf8(output.stdout)? })
}

/// Rows of the per-workload run tables in a DOM.
fn run_rows(dom: &str) -> usize {
    dom.split("<table class=\"runs\">")
        .skip(1)
        .map(|table| {
            let body = table.split("</table>").next().unwrap_or_default();
            let body = body.split("<tbody>").nth(1).unwrap_or_default();
            body.matches("<tr").count()
        })
        .sum()
}

#[test]
fn the_harness_sees_console_errors_and_blocked_requests() -> TestResult {
    // The control: a page that logs an error and loads a remote image must be caught.
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://example.com/x.png\"><script>console.error('boom')</script></body></html>",
    )?;
    let rendered = render(&page)?;
    assert!(rendered.console.iter().any(|line| line.contains("boom")), "{:?}", rendered.console);
    Ok(())
}

#[test]
fn the_html_report_renders_offline_without_errors_and_shows_hostile_names_as_text() -> TestResult {
    let mut result = result_with_telemetry()?;
    let evil = "<script>alert(1)</script><img src=x onerror=\"document.body.dataset.pwned=1\"> \"q\" 'q'";
    result.suite.name = evil.into();
    result.suite.description = evil.into();
    result.runs[1].phase = evil.into();
    result.suite.phases[1].name = evil.into();
    result.runs[0].workload = evil.into();
    result.runs[1].workload = evil.into();
    result.suite.workloads[0].name = evil.into();
    let html = phasebench::report::html::render(&result, None)?;
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html)?;

    let rendered = render(&page)?;
    assert!(rendered.console.is_empty(), "console messages: {:#?}", rendered.console);
    assert_eq!(chart_count(&rendered.dom), 11, "charts in the rendered page");
    assert_eq!(run_rows(&rendered.dom), 4, "one table row per run");
    // The names are text: escaped in the DOM, never elements; nothing ran.
    assert!(
        rendered.dom.contains(
            "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=\"document.body.dataset.pwned=1\"&gt;"
        )
    );
    assert_eq!(rendered.dom.matches("<script").count(), 1, "only the embedded result");
    assert!(!rendered.dom.contains("<img"), "no injected image element");
    assert!(!rendered.dom.contains("data-pwned"), "no handler ran");

    // A screenshot to look at (kept in target/ for the developer).
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let profile = tempfile::tempdir()?;
    let status = headless(&page, profile.path())?.arg(format!("--screenshot={}", shot.display())).output()?.status;
    assert!(status.success());
    assert!(std::fs::metadata(&shot)?.len() > 20_000, "a screenshot with content");
    Ok(())
}

/// Issue 20: at 1 400 px no table of the report scrolls sideways. The page forbids scripts, so a
/// copy without its Content-Security-Policy gets one that measures each scrolling box and writes
/// what overflows into the DOM that `--dump-dom` prints.
#[test]
fn no_table_of_the_report_overflows_at_1400_pixels() -> TestResult {
    let html = phasebench::report::html::render(&result_with_telemetry()?, None)?;
    let csp_start = html.find("<meta http-equiv=\"Content-Security-Policy\"").ok_or("no CSP meta")?;
    let csp_end = csp_start + html[csp_start..].find('>').ok_or("unclosed meta")? + 1;
    let measure = "<script>document.body.dataset.overflow = [...document.querySelectorAll('.scroll')]\
        .filter(box => box.scrollWidth > box.clientWidth + 1)\
        .map(box => (box.closest('section') || {}).id + ':' + box.scrollWidth + '>' + box.clientWidth).join(' ') || 'none';</script>";
    let page_html =
        format!("{}{}", &html[..csp_start], &html[csp_end..]).replace("</body>", &format!("{measure}</body>"));
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("report.html");
    std::fs::write(&page, page_html)?;
    for (width, must_fit) in [(1400, true), (500, false)] {
        let profile = tempfile::tempdir()?;
        let output = headless_at(&page, profile.path(), width)?.arg("--dump-dom").output()?;
        let dom = String::from_utf8(output.stdout)?;
        let overflow =
            dom.split("data-overflow=\"").nth(1).and_then(|rest| rest.split('"').next()).ok_or("not measured")?;
        if must_fit {
            assert_eq!(overflow, "none", "tables wider than their box at {width} px");
        } else {
            // The control: a phone-wide window does scroll the runs table, so the measure sees overflow.
            assert_ne!(overflow, "none", "the measure saw nothing at {width} px");
        }
    }
    Ok(())
}
