"""Browser test of the built HTML book: every page of ``_build/html`` in headless Chromium.

Each content page is loaded over ``file://`` with the network cut off (only local files
load, as for a reader offline), and must render: a title, every image loaded, no Python
traceback, no error or stderr output from a notebook cell, no JavaScript error from the
book's own scripts. A notebook chapter must still show at least one figure. Jupyter widget
state must render from vendored (local) scripts, never from a CDN; a chapter that cannot
do that must show a static figure instead.

Build the book first (``make book``); ``PTM_BOOK_HTML`` points the test at another build.
A full-page screenshot of every page is saved next to the build, in
``_build/screenshots/<page path with / as __>.png``, for a person to look at.
Chromium is Debian's (``/usr/bin/chromium``; ``PTM_CHROMIUM`` overrides it).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

REPO = Path(__file__).resolve().parent.parent
HTML_DIR = Path(os.environ.get("PTM_BOOK_HTML", REPO / "_build" / "html")).resolve()
SCREENSHOT_DIR = HTML_DIR.parent / "screenshots"

# Sphinx's generated pages, and its folders of assets and copied sources.
GENERATED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
ASSET_DIRS = {"_static", "_sources", "_images", "_downloads"}

# Notebook pages (they have cell outputs) that are allowed to show no figure at all.
# Add a page here, as its path relative to _build/html, only if it never had a plot.
PAGES_WITHOUT_FIGURES: set[str] = set()

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

MISSING_BUILD = (
    f"No built book at {HTML_DIR}: run `make book` first "
    "(or point PTM_BOOK_HTML at a jupyter-book HTML build)."
)

# The classes myst-nb 1.4 gives a cell's error and stderr outputs
# (myst_nb/core/render.py: render_error adds ["output", "traceback"], render_stderr
# adds ["output", "stderr"]); ".output.error" and the classic nbconvert names are kept
# so that another renderer's error output is caught too.
ERROR_OUTPUT_SELECTOR = ", ".join(
    [
        ".output.traceback",
        ".output.stderr",
        ".output.error",
        ".output_error",
        ".output_stderr",
    ]
)
TRACEBACK_TEXT = "Traceback (most recent call last)"

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# A script from a CDN that would be needed to render widgets (myst-nb's default
# ipywidgets_js loads require.js from cdnjs and the html-manager from jsdelivr).
CDN_WIDGET_SCRIPT = re.compile(r"@jupyter-widgets|require(\.min)?\.js|requirejs", re.I)
WIDGET_RENDER_TIMEOUT_MS = 10_000
MATH_RENDER_TIMEOUT_MS = 20_000
_UNTYPESET_MATH_JS = """
() => Array.from(document.querySelectorAll(".math")).filter(m => !m.querySelector("mjx-container")).length
"""
"""How many of Sphinx's math elements (``.math``, inline ``\\(..\\)`` and display ``\\[..\\]``)
MathJax has not yet replaced by its rendering (``mjx-container``)."""

# JavaScript errors that every page of a Jupyter Book 1.0.4 build raises, whatever the
# book: the build (Sphinx 7.4, sphinx-thebe 0.3.1) writes sphinx-thebe's inline config
# script (`const THEBE_JS_URL = ...`) into each page twice, and the second copy cannot
# redeclare the constant. Harmless: the first copy has defined it. Any other error from
# the book's own scripts fails the test.
KNOWN_TOOLCHAIN_ERRORS = [
    re.compile(r"^Identifier 'THEBE_JS_URL' has already been declared$"),
]

MAIN_SELECTORS = ["article.bd-article", ".bd-article", "main article", "article", "main", "[role=main]"]


def _content_pages(html_dir: Path) -> list[str]:
    """Every content page of the build, as a path relative to it with / separators."""
    if not html_dir.is_dir():
        return []
    pages = []
    for path in html_dir.rglob("*.html"):
        rel = path.relative_to(html_dir)
        parts = rel.parts
        if parts[0] in ASSET_DIRS or any(part.startswith(".") for part in parts):
            continue
        if len(parts) == 1 and parts[0] in GENERATED_PAGES:
            continue
        pages.append(rel.as_posix())
    return sorted(pages)


PAGES = _content_pages(HTML_DIR)


def _redirect_target(path: Path) -> str | None:
    """The target of a redirect-only page such as Jupyter Book's index.html, else None."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if len(text) > 2000:
        return None
    match = re.search(
        r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\s*\d+\s*;\s*url=([^"'>]+)""",
        text,
        re.I,
    )
    return match.group(1).strip() if match else None


def _root_page() -> str | None:
    """The root page named in _toc.yml of the book that was built, as ``<root>.html``."""
    book_dir = HTML_DIR.parent.parent if HTML_DIR.parent.name == "_build" else REPO
    toc = book_dir / "_toc.yml"
    if not toc.is_file():
        return None
    match = re.search(r"^root:\s*['\"]?([^'\"\s#]+)", toc.read_text(encoding="utf-8"), re.M)
    if not match:
        return None
    root = re.sub(r"\.(md|ipynb|rst)$", "", match.group(1))
    return f"{root}.html"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("PTM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Only local files: the book must render offline, and nothing waits on the network.
    context.route(re.compile(r"^(https?|wss?|ftp)://", re.I), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


# --------------------------------------------------------------------------- tests


@pytest.mark.browser
def test_book_is_built():
    assert HTML_DIR.is_dir(), MISSING_BUILD
    assert PAGES, f"{HTML_DIR} holds no content pages: run `make book` first."
    root = _root_page()
    candidates = ["index.html"] + ([root] if root else [])
    assert any((HTML_DIR / c).is_file() for c in candidates), (
        f"Neither {' nor '.join(candidates)} exists in {HTML_DIR}: run `make book` first."
    )
    if (HTML_DIR / "index.html").is_file():
        target = _redirect_target(HTML_DIR / "index.html")
        if target:
            landing = (HTML_DIR / urlparse(target).path).resolve()
            assert landing.is_file(), f"index.html redirects to {target}, which was not built."
    if root:
        assert (HTML_DIR / root).is_file(), f"The root page {root} (from _toc.yml) was not built."


# JavaScript run in the page: wait for every image to settle, then report on them.
_IMAGES_JS = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { if (img.loading === "lazy") img.loading = "eager"; }
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener("load", done, {once: true});
    img.addEventListener("error", done, {once: true});
    setTimeout(done, 5000);
  })));
  return imgs.map(img => ({
    src: img.getAttribute("src") || img.currentSrc || "(no src)",
    ok: img.complete && img.naturalWidth > 0,
  }));
}
"""

_PAGE_FACTS_JS = """
([mainSelectors, errorSelector, widgetState, widgetView]) => {
  let main = null;
  for (const sel of mainSelectors) { main = document.querySelector(sel); if (main) break; }
  const h1 = main ? main.querySelector("h1") : null;
  const errors = Array.from(document.querySelectorAll(errorSelector)).map(el => ({
    classes: el.className,
    text: (el.innerText || el.textContent || "").trim().slice(0, 400),
  }));
  const scripts = Array.from(document.querySelectorAll("script[src]")).map(s => s.getAttribute("src"));
  return {
    main: main ? main.tagName.toLowerCase()
      + (main.className ? "." + main.className.trim().split(/\\s+/).join(".") : "") : null,
    h1: h1 ? (h1.innerText || h1.textContent || "").trim() : null,
    text: document.body ? document.body.innerText : "",
    errors: errors,
    scripts: scripts,
    widgetState: document.querySelectorAll(`script[type="${widgetState}"]`).length,
    widgetViews: document.querySelectorAll(`script[type="${widgetView}"]`).length,
    cellOutputs: document.querySelectorAll(".cell_output").length,
    outputFigures: document.querySelectorAll(".cell_output img").length,
    colabLinks: Array.from(document.querySelectorAll('a[href*="colab.research.google.com"]')).map(a => a.href),
  };
}
"""

# A widget view is rendered when the widget manager has put a non-empty element just
# before its script tag: div.widget-subarea for @jupyter-widgets/html-manager
# (renderManager in its libembed.ts); other "widget-*" / "jupyter-widget*" classes are
# accepted for another vendored manager.
_UNRENDERED_WIDGETS_JS = """
(widgetView) => Array.from(document.querySelectorAll(`script[type="${widgetView}"]`))
  .filter(s => {
    const prev = s.previousElementSibling;
    const isView = prev && Array.from(prev.classList).some(
      c => c === "widget-subarea" || c.startsWith("widget-") || c.startsWith("jupyter-widget"));
    return !(isView && prev.childElementCount > 0);
  }).length
"""


def _is_remote(src: str) -> bool:
    return bool(re.match(r"^(https?:)?//", src.strip(), re.I))


def _screenshot_path(rel: str) -> Path:
    name = re.sub(r"\.html$", "", rel).replace("/", "__")
    return SCREENSHOT_DIR / f"{name}.png"


@pytest.mark.browser
@pytest.mark.parametrize("rel", PAGES or [pytest.param(None, id="no-built-book")])
def test_page_renders(request, rel):
    if rel is None:
        pytest.fail(MISSING_BUILD, pytrace=False)
    page = request.getfixturevalue("page")  # the browser starts only once there is a page
    path = HTML_DIR / rel
    url = path.as_uri()

    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(error))
    failed_files = []
    page.on(
        "requestfailed",
        lambda request: failed_files.append(f"{request.url} ({request.failure})")
        if request.url.startswith("file:")
        else None,
    )

    page.goto(url, wait_until="load")
    redirect = _redirect_target(path)
    if redirect:
        # index.html only redirects to the root page: check the page it lands on.
        landing = urljoin(url, redirect)
        page.wait_for_url(landing, wait_until="load")

    problems: list[str] = []

    images = page.evaluate(_IMAGES_JS)
    facts = page.evaluate(
        _PAGE_FACTS_JS, [MAIN_SELECTORS, ERROR_OUTPUT_SELECTOR, WIDGET_STATE, WIDGET_VIEW]
    )

    # Widgets: rendered from local scripts only, or not there at all (a static figure).
    remote_scripts = [s for s in facts["scripts"] if _is_remote(s)]
    cdn_widget_scripts = [s for s in remote_scripts if CDN_WIDGET_SCRIPT.search(s)]
    if cdn_widget_scripts:
        problems.append(
            "scripts for Jupyter widgets load from a CDN (the book must work offline): "
            + ", ".join(cdn_widget_scripts)
        )
    has_widgets = facts["widgetState"] or facts["widgetViews"]
    if has_widgets and remote_scripts:
        problems.append(
            f"the page holds Jupyter widget state ({facts['widgetState']} state, "
            f"{facts['widgetViews']} view script(s)) but loads scripts from the network: "
            + ", ".join(remote_scripts)
            + ". Vendor the widget manager into _static (sphinx config ipywidgets_js / "
            "nb_ipywidgets_js) or show a static figure instead of the widget."
        )
    if facts["widgetViews"]:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_function(
                f"(view) => ({_UNRENDERED_WIDGETS_JS})(view) === 0",
                arg=WIDGET_VIEW,
                timeout=WIDGET_RENDER_TIMEOUT_MS,
            )
        except PlaywrightTimeout:
            unrendered = page.evaluate(_UNRENDERED_WIDGETS_JS, WIDGET_VIEW)
            problems.append(
                f"{unrendered} of {facts['widgetViews']} Jupyter widget view(s) did not render "
                f"offline within {WIDGET_RENDER_TIMEOUT_MS / 1000:.0f} s: vendor a widget manager "
                "that needs no CDN, or show a static figure instead of the widget."
            )

    # Math: typeset by the MathJax the book ships (sphinx-mathjax-offline), never raw TeX.
    problems += _math_problems(page, facts["scripts"])

    # Screenshot before judging, so that a failing page can be looked at.
    shot = _screenshot_path(rel)
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)

    if facts["main"] is None:
        problems.append("no main content element (article / main / .bd-article)")
    elif not facts["h1"]:
        problems.append(f"no non-empty <h1> in the main content ({facts['main']})")

    broken = [img["src"] for img in images if not img["ok"]]
    if broken:
        problems.append(f"{len(broken)} image(s) did not load: " + ", ".join(broken))
    if failed_files:
        problems.append("local files failed to load: " + ", ".join(failed_files))

    if TRACEBACK_TEXT in facts["text"]:
        at = facts["text"].index(TRACEBACK_TEXT)
        snippet = facts["text"][max(0, at - 80) : at + 200].strip()
        problems.append(f"a Python traceback is shown on the page:\n    {snippet!r}")
    for error in facts["errors"]:
        problems.append(
            f"an error/stderr cell output is shown (class {error['classes']!r}):\n    "
            + repr(error["text"])
        )

    if facts["cellOutputs"] and not facts["outputFigures"] and rel not in PAGES_WITHOUT_FIGURES:
        problems.append(
            f"this notebook page has {facts['cellOutputs']} cell output(s) but no figure "
            "(no <img> in any .cell_output): its plots were lost (outputs not saved, or a "
            "widget without a static fallback). If the chapter truly has no figure, list it "
            "in PAGES_WITHOUT_FIGURES."
        )

    if facts["cellOutputs"]:
        expected = _colab_url(rel)
        if expected not in facts["colabLinks"]:
            problems.append(f"no 'launch in Colab' link to {expected} (found {facts['colabLinks']})")

    own_errors = [
        e
        for e in page_errors
        if _is_own_error(e) and not any(k.search(e.message) for k in KNOWN_TOOLCHAIN_ERRORS)
    ]
    for error in own_errors:
        problems.append(f"JavaScript error: {error.message}\n    {_first_stack_line(error)}")

    if problems:
        pytest.fail(
            f"{rel} ({url}) does not render cleanly; screenshot: {shot}\n  - "
            + "\n  - ".join(problems),
            pytrace=False,
        )


def _math_problems(page, scripts: list[str]) -> list[str]:
    """Problems with the page's formulas: MathJax loaded from the network, or formulas left
    as raw TeX once the page has had time to typeset them offline."""
    remote = [s for s in scripts if _is_remote(s) and "mathjax" in s.lower()]
    if remote:
        return ["MathJax loads from the network (formulas stay raw TeX offline): " + ", ".join(remote)]
    total = page.evaluate("() => document.querySelectorAll('.math').length")
    if not total:
        return []
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"({_UNTYPESET_MATH_JS})() === 0", timeout=MATH_RENDER_TIMEOUT_MS)
    except PlaywrightTimeout:
        left = page.evaluate(_UNTYPESET_MATH_JS)
        return [f"{left} of {total} formula(s) are still raw TeX after {MATH_RENDER_TIMEOUT_MS / 1000:.0f} s "
                "offline: serve MathJax from the book (sphinx-mathjax-offline in _config.yml)"]
    return []


def _colab_url(rel: str) -> str:
    """The Colab launch URL Jupyter Book should give a notebook page, from _config.yml."""
    import yaml

    repo = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]
    github = repo["url"].rstrip("/").removeprefix("https://github.com/")
    notebook = re.sub(r"\.html$", ".ipynb", rel)
    return f"https://colab.research.google.com/github/{github}/blob/{repo.get('branch', 'main')}/{notebook}"


def _stack_urls(error) -> list[str]:
    return re.findall(r"((?:file|https?)://[^\s)]+)", getattr(error, "stack", None) or "")


def _is_own_error(error) -> bool:
    """An error from the book's own files: any frame in a local file, or no URL at all."""
    urls = _stack_urls(error)
    return not urls or any(u.startswith("file:") for u in urls)


def _first_stack_line(error) -> str:
    urls = _stack_urls(error)
    return f"at {urls[0]}" if urls else "(no stack)"
