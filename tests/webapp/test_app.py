"""The web app in headless Chromium against a live store: what a person sees and does.

Screenshots go to $TMPDIR/neptune-sync-screenshots, or to the directory NEPTUNE_SYNC_SCREENSHOTS
names (`NEPTUNE_SYNC_SCREENSHOTS=docs/screenshots` refreshes the README's pictures).
"""

from __future__ import annotations

import re

import pytest
from webapp_helpers import LIVE, LOSS_POINTS, MAIN, PROJECT, TABLE_RUNS, floats, post, shot, sign_in, until

from neptune_sync.urls import project_url, run_url
from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry

pytestmark = pytest.mark.browser
RUNS = "#/p/ws%2Fproj/runs"


def rows(page) -> list[str]:
    return page.locator("table.runs tbody tr[data-run]").evaluate_all("rs => rs.map(r => r.dataset.run)")


def column(page, index: int) -> list[str]:
    return page.locator(f"table.runs tbody tr td:nth-child({index})").all_inner_texts()


def test_a_bad_token_gets_a_clear_message_and_the_form_again(page, site):
    page.goto(f"{site.url}/#/")
    page.get_by_label("API token").fill("not-a-token-at-all")
    page.get_by_role("button", name="Open").click()
    alert = page.get_by_role("alert")
    assert "refused the token" in alert.inner_text()
    assert page.get_by_label("API token").is_visible()
    assert page.evaluate("sessionStorage.length") == 0
    # the browser itself logs the refused request; nothing else may be an error
    page.console_errors[:] = [e for e in page.console_errors if "401" not in e]
    shot(page, "bad-token")


def test_projects_list_the_project_with_its_run_count(page, site):
    sign_in(page, site)
    row = page.locator("table.grid tbody tr")
    assert row.locator("td").nth(0).inner_text() == PROJECT
    assert row.locator("td").nth(1).inner_text() == str(TABLE_RUNS + 2)


def test_runs_table_columns_sort_filter_pages_and_url_state(page, site):
    sign_in(page, site, RUNS)
    page.locator(".muted", has_text=f"{TABLE_RUNS + 2} runs").wait_for()
    page.get_by_label("search columns").fill("params/l")
    page.locator(".picker button", has_text="params/lr").click()
    page.locator("table.runs th", has_text="params/lr").get_by_role("button").click()  # descending
    until(page, "document.querySelector('table.runs tbody tr td:nth-child(7)').innerText === '0.6'")
    lrs = [float(x) for x in column(page, 7) if x]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] == 0.6
    page.get_by_label("filter runs").fill("params/lr > 0.3 AND params/depth == 12")
    page.get_by_label("filter runs").press("Enter")
    until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length === 6")
    expected = sorted(
        (f"t{n:03d}" for n in range(TABLE_RUNS) if 0.01 * (n + 1) > 0.3 and 10 + n % 5 == 12), reverse=True
    )
    assert sorted(rows(page), reverse=True) == expected
    # the URL holds the whole view: reload in a new tab reproduces it
    url = page.url
    assert "cols=" in url and "sort=params" in url and "q=" in url
    page.goto("about:blank")
    page.goto(url)
    until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length === 6")
    assert rows(page) == sorted(rows(page), key=lambda k: -int(k[1:]))
    shot(page, "runs-table")


def test_runs_table_filter_builder_tag_chips_and_a_bad_filter(page, site):
    sign_in(page, site, RUNS)
    page.get_by_label("filter field").select_option("params/depth")
    page.get_by_label("filter operator").select_option(">=")
    page.get_by_label("filter value").fill("14")
    page.get_by_role("button", name="add condition").click()
    until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length === 12")
    page.locator("table.runs tbody tr[data-run]").first.get_by_role("button", name="odd").click()
    until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length === 6")
    assert all(int(k[1:]) % 2 == 1 and (10 + int(k[1:]) % 5) >= 14 for k in rows(page))
    page.get_by_label("filter runs").fill("params/lr is big")
    page.get_by_label("filter runs").press("Enter")
    page.get_by_role("alert").filter(has_text="Filter refused").wait_for()
    assert "'<field path><op><value>'" in page.get_by_role("alert").inner_text()
    page.console_errors[:] = [e for e in page.console_errors if "400" not in e]


def test_the_selection_for_compare_stops_at_20_runs_and_says_so(page, site):
    twenty = [f"t{n:03d}" for n in range(20)]
    sign_in(page, site, f"{RUNS}?sel={','.join(twenty)}")
    page.get_by_role("link", name="Compare (20)").wait_for()
    box = page.locator("table.runs tr[data-run='t059'] input[type=checkbox]")
    box.click()
    assert not box.is_checked()
    assert "up to 20 runs" in page.get_by_role("status").inner_text()
    assert "t059" not in page.url
    page.locator("table.runs tr[data-run='t019'] input[type=checkbox]").click()  # one out, one in
    page.locator(".runs-wrap").evaluate("w => w.scrollTop = 0")  # t059's row is back in the window
    box.click()
    assert box.is_checked() and page.get_by_role("status").inner_text() == ""
    page.get_by_role("link", name="Compare (20)").click()
    page.locator("figure.chart").first.wait_for()
    assert page.locator(".legend a.legend-item").count() == 20
    assert "t059" in page.url and "t019" not in page.url


FOCUSED = "document.activeElement.getAttribute('aria-rowindex')"


def in_view(page, selector: str) -> bool:
    """Whether the element lies inside the table's scroller, below its sticky header."""
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  const w = document.querySelector('.runs-wrap').getBoundingClientRect();
                  const head = document.querySelector('table.runs thead').getBoundingClientRect();
                  return r.top >= head.bottom - 1 && r.bottom <= w.bottom + 1; }""",
        selector,
    )


def test_runs_table_scrolls_virtually_with_keyboard_and_aria(page, site):
    total = TABLE_RUNS + 2
    page.set_viewport_size({"width": 1400, "height": 700})
    sign_in(page, site, RUNS)
    table = page.locator("table.runs")
    table.locator("tbody tr[data-run]").first.wait_for()
    assert table.get_attribute("aria-rowcount") == str(total + 1)
    first = rows(page)
    assert 10 < len(first) < total  # only the window (and its overscan) is in the DOM
    wrap = page.locator(".runs-wrap")
    assert wrap.evaluate("w => w.scrollHeight") >= total * 32  # the scroll height of every row
    table.locator("tbody tr[data-run]").first.focus()
    assert page.evaluate(FOCUSED) == "2"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(FOCUSED) == "3"
    page.keyboard.press("PageDown")
    after_page = int(page.evaluate(FOCUSED))
    assert 3 + 5 < after_page < total  # a page of rows further
    assert in_view(page, f"tr[aria-rowindex='{after_page}']")
    page.keyboard.press("End")
    assert page.evaluate(FOCUSED) == str(total + 1)
    until(page, "document.activeElement.dataset.run !== undefined")  # the last block has arrived
    assert in_view(page, f"tr[aria-rowindex='{total + 1}']")
    assert first[0] not in rows(page)  # the top rows left the DOM
    # every run appears once across the scroll, in the store's order (creation time, newest first)
    seen = []
    for top in range(0, total * 32, 160):
        wrap.evaluate(f"w => w.scrollTop = {top}")
        until(page, "!document.querySelector('table.runs tr.loading')")
        seen += [r for r in rows(page) if r not in seen]
    assert len(seen) == total
    # the focused row left the DOM on the way: focus and the tab stop moved to a row of the window
    at = int(page.evaluate(FOCUSED))
    assert at < total + 1 and page.evaluate("document.activeElement.closest('table.runs') !== null")
    page.keyboard.press("PageUp")
    assert int(page.evaluate(FOCUSED)) < at
    assert in_view(page, f"tr[aria-rowindex='{page.evaluate(FOCUSED)}']")
    page.keyboard.press("Home")
    assert page.evaluate(FOCUSED) == "2" and wrap.evaluate("w => w.scrollTop") == 0
    assert page.evaluate("document.activeElement.tabIndex") == 0
    assert table.locator("tbody tr[tabindex='0']").count() == 1  # one tab stop
    page.keyboard.press("ArrowDown")
    page.keyboard.press(" ")
    assert f"sel={first[1]}" in page.url
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/run/{first[1]}"))


def test_run_page_shows_every_field_type(page, site):
    sign_in(page, site, f"#/p/ws%2Fproj/run/{MAIN.custom_run_id}")
    tree = page.get_by_role("tree")
    tree.locator("[data-path='train/loss']").wait_for()
    for path in (
        "params/lr",
        "params/batch",
        "params/augment",
        "params/optimizer",
        "params/started",
        "files/report",
        "files/sample",
        "files/set",
        "data/train",
        "logs/stdout",
        "images/samples",
        "sys/tags",
        "train/loss",
    ):
        assert tree.locator(f"[data-path='{path}']").count() == 1, path
    assert "0.01" in tree.locator("[data-path='params/lr']").inner_text()
    assert "adam" in tree.locator("[data-path='params/optimizer']").inner_text()
    assert "2024-05-01" in tree.locator("[data-path='params/started']").inner_text()
    assert tree.locator("[data-path='data/train']").get_by_text(re.compile("hash [0-9a-f]{64}")).is_visible()
    # image preview loads inline from a blob: URL
    until(
        page,
        "[...document.querySelectorAll('[data-path=\"files/sample\"] img')].some(i => i.naturalWidth === 48)",
    )
    # HTML runs in a sandboxed frame without scripts
    tree.locator("[data-path='files/report']").get_by_role("button", name="preview").click()
    frame = tree.locator("[data-path='files/report'] iframe")
    assert frame.get_attribute("sandbox") == ""
    assert page.frame_locator("[data-path='files/report'] iframe").get_by_text("report").is_visible()
    tree.locator("[data-path='files/metrics']").get_by_role("button", name="preview").click()
    assert "epoch,loss" in tree.locator("[data-path='files/metrics'] pre").inner_text()
    # the log tail ends at the last line and scrolls
    log = tree.locator("[data-path='logs/stdout'] .log")
    until(page, "document.querySelectorAll('[data-path=\"logs/stdout\"] .log-line').length === 300")
    assert log.locator(".log-line").last.inner_text().endswith("line 299: loss ok")
    # the image series gallery has a step slider
    gallery = tree.locator("[data-path='images/samples']")
    until(page, "document.querySelector('[data-path=\"images/samples\"] img')?.naturalWidth === 48")
    assert "step 20" in gallery.inner_text()
    gallery.get_by_role("slider").fill("0")
    until(
        page, "document.querySelector('[data-path=\"images/samples\"] .muted').innerText.startsWith('step 0')"
    )
    assert (
        set(tree.locator("[data-path='files/set'] li").all_inner_texts())
        >= {"a/metrics.csv (17 B)download", "b/report.html (79 B)downloadpreview"}
        or tree.locator("[data-path='files/set'] li").count() == 2
    )
    # one chart per float series, grouped by namespace
    assert page.locator("figure.chart").count() == 3
    assert page.locator("details.chart-group > summary").all_inner_texts() == ["eval (1)", "train (2)"]
    until(page, "[...document.querySelectorAll('figure.chart')].every(c => c.dataset.fetches === '1')")
    # the report's own <script> was blocked by the sandbox: that refusal is the one expected console error
    blocked = [e for e in page.console_errors if "Blocked script execution" in e and "sandboxed" in e]
    assert len(blocked) == 1
    page.console_errors.remove(blocked[0])
    # the cross-hair is synced: hovering 30% into one chart puts the others' cursor line there too
    box = page.locator("figure.chart[data-path='train/acc'] .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    other = "document.querySelector('figure.chart[data-path=\"eval/loss\"] .u-cursor-x')"
    where = f"parseFloat(({other}).style.transform.match(/translate\\(([-\\d.]+)px/)?.[1] ?? 'NaN')"
    width = page.locator("figure.chart[data-path='eval/loss'] .u-over").bounding_box()["width"]
    until(page, f"Math.abs({where} - {width * 0.3}) < {width * 0.02}")
    # the legends read out each chart's value under the cursor, at the same step
    legend = page.locator("figure.chart[data-path='eval/loss'] .legend")
    until(page, "document.querySelector('figure.chart[data-path=\"eval/loss\"] .legend-x').innerText !== ''")
    step = float(legend.locator(".legend-x").inner_text().removeprefix("step "))
    value = float(legend.locator(".legend-value").inner_text())
    assert 0.2 * LOSS_POINTS < step < 0.4 * LOSS_POINTS
    assert value == pytest.approx(2.2 / (1 + step / 450), rel=1e-5)  # eval/loss as seeded
    acc = page.locator("figure.chart[data-path='train/acc'] .legend")
    assert acc.locator(".legend-x").inner_text() == f"step {step:g}"
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "run-page")


def test_chart_zoom_refetches_down_to_raw_points_and_shows_the_spike(page, site):
    sign_in(page, site, f"#/p/ws%2Fproj/run/{MAIN.custom_run_id}?filter=train/loss")
    chart = page.locator("figure.chart[data-path='train/loss']")
    until(page, "document.querySelector('figure.chart[data-path=\"train/loss\"]')?.dataset.fetches === '1'")
    assert chart.get_attribute("data-raw") == "false"
    assert int(chart.get_attribute("data-points")) < LOSS_POINTS
    assert page.locator("figure.chart").count() == 1  # the regex filter left one chart
    over = chart.locator(".u-over")
    box = over.bounding_box()
    for fetches in ("2", "3"):  # two narrowing drags: the second lands on raw points
        page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + 40, steps=5)
        page.mouse.up()
        until(
            page,
            f"document.querySelector('figure.chart[data-path=\"train/loss\"]')?.dataset.fetches === '{fetches}'",
        )
    assert chart.get_attribute("data-raw") == "true"
    chart.get_by_role("button", name="reset").click()
    until(page, "document.querySelector('figure.chart[data-path=\"train/loss\"]')?.dataset.fetches === '4'")
    assert chart.get_attribute("data-raw") == "false"
    page.get_by_label("x axis").select_option("relative")
    page.get_by_label("smoothing").fill("0.9")
    assert page.locator("label.smoothing output").inner_text() == "0.90"
    page.get_by_text("log y").click()
    assert "x=relative" in page.url and "log=1" in page.url and "smooth=0.9" in page.url
    shot(page, "chart-zoom")


def test_compare_overlays_runs_and_shows_only_differences(page, site):
    sign_in(page, site, "#/p/ws%2Fproj/compare?runs=t001,t002,t003")
    page.locator("figure.chart").first.wait_for()
    assert page.locator(".legend a.legend-item").count() == 3
    until(page, "[...document.querySelectorAll('figure.chart')].every(c => c.dataset.fetches === '1')")
    chart = page.locator("figure.chart[data-path='train/loss']")
    assert int(chart.get_attribute("data-points")) == 3 * 200  # three runs, raw
    table = page.get_by_role("table", name="fields side by side")
    all_rows = table.locator("tbody tr").count()
    page.get_by_text("only differences").click()
    shown = table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.path)")
    assert "params/lr" in shown and "sys/state" not in shown and len(shown) < all_rows
    assert "diff=1" in page.url
    shot(page, "compare")


def test_a_live_run_updates_without_reload(page, site):
    sign_in(page, site, f"#/p/ws%2Fproj/run/{LIVE.run_id}")
    chart = "document.querySelector('figure.chart[data-path=\"train/loss\"]')"
    until(page, f"{chart}?.dataset.points === '10'")
    page.evaluate("window.__marker = 1")
    page.locator("details[data-ns='train'] > summary").click()  # the reader folds a namespace
    assert page.locator("details[data-ns='train']").get_attribute("open") is None
    post(
        site.url,
        site.token,
        [
            floats("train/loss", 13, range(10, 25), lambda s: 1.0 / (1 + s)),
            Entry(28, 1.7e9, ops.AssignFloat("params/new", 7.0)),
        ],
        LIVE,
    )
    until(page, f"{chart}.dataset.points === '25'", timeout=20)
    until(page, "document.querySelector('[data-path=\"params/new\"]') !== null")
    assert page.evaluate("window.__marker") == 1  # same document: no reload
    assert page.locator("details[data-ns='train']").get_attribute("open") is None  # still folded


def test_the_url_get_url_prints_opens_the_run_page(page, site):
    page.goto(run_url(site.url, PROJECT, MAIN.run_id))
    page.get_by_label("API token").fill(site.token)
    page.get_by_role("button", name="Open").click()
    page.get_by_role("heading", name=re.compile("^MAIN-1")).wait_for()


def test_a_projects_url_opens_its_runs_table(page, site):
    page.goto(project_url(site.url, PROJECT))
    page.get_by_label("API token").fill(site.token)
    page.get_by_role("button", name="Open").click()
    page.get_by_role("heading", name="Runs").wait_for()
    page.locator(".muted", has_text=f"{TABLE_RUNS + 2} runs").wait_for()


def test_dark_mode_switches_the_palette(page, site):
    sign_in(page, site, RUNS)
    until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length > 10")
    page.get_by_role("button", name="toggle dark mode").click()
    until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length > 10")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    shot(page, "runs-table-dark")
    page.get_by_role("button", name="toggle dark mode").click()
    assert background != page.evaluate("getComputedStyle(document.body).backgroundColor")


# WCAG 2 contrast of every visible text node against the first opaque background behind it:
# 4.5:1 for body text, 3:1 for large text; disabled controls are exempt (as WCAG says).
CONTRAST_JS = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const behind = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = walker.nextNode()); ) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest("[disabled], .disabled, option")) continue;
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.visibility === "hidden") continue;
    const fg = parse(style.color);
    const bg = behind(el);
    const mix = (k) => fg[k] * fg.a + bg[k] * (1 - fg.a);
    const [a, b] = [lum({ r: mix("r"), g: mix("g"), b: mix("b") }), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName}.${el.className} '${n.textContent.trim().slice(0, 30)}' ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_contrast_is_readable_in_both_themes(page, site, theme):
    sign_in(page, site, RUNS)
    until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length > 10")
    if theme == "dark":
        page.get_by_role("button", name="toggle dark mode").click()
        until(page, "document.querySelectorAll('table.runs tbody tr[data-run]').length > 10")
    assert page.evaluate("document.documentElement.dataset.theme ?? 'light'") == theme
    assert page.evaluate(CONTRAST_JS) == []
    page.goto(f"{site.url}/#/p/ws%2Fproj/run/{MAIN.custom_run_id}")
    until(page, "[...document.querySelectorAll('figure.chart')].every(c => c.dataset.fetches === '1')")
    page.get_by_role("tree").locator("[data-path='files/metrics']").get_by_role("button", name="preview").click()
    until(page, "document.querySelectorAll('[data-path=\"logs/stdout\"] .log-line').length === 300")
    assert page.evaluate(CONTRAST_JS) == []
