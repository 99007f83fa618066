"""Browser test of the built HTML book: every page of ``_build/html`` in headless Chromium.

Each content page is loaded over ``file://`` with the network cut off (only local files
load, as for a reader offline), and must render: a title, every image loaded, no Python
traceback, no error or stderr output from a notebook cell, no JavaScript error from the
book's own scripts. A notebook chapter must still show at least one figure. Jupyter widget
state must render from vendored (local) scripts, never from a CDN; a chapter that cannot
do that must show a static figure instead.

The layout works at a phone's width (390 px) and a desktop's (1280 px): no page is wider than
a phone's window; the ☰ button opens the table of contents on a phone and hides and shows it
on a desktop; one search box or button is shown.

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

# Window widths, in CSS pixels: a desktop, and a phone (an iPhone 12 to 15 held upright).
DESKTOP_WIDTH = 1280
PHONE_WIDTH = 390

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


def _offline_page(browser, width: int):
    """A new page ``width`` CSS pixels wide (900 high), in a context of its own that loads only local files."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    # Only local files: the book must render offline, and nothing waits on the network.
    context.route(re.compile(r"^(https?|wss?|ftp)://", re.I), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


@pytest.fixture
def page(browser):
    """A desktop-sized page (DESKTOP_WIDTH), offline."""
    page = _offline_page(browser, DESKTOP_WIDTH)
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture
def phone_page(browser):
    """A phone-sized page (PHONE_WIDTH), offline."""
    page = _offline_page(browser, PHONE_WIDTH)
    try:
        yield page
    finally:
        page.context.close()


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


# --------------------------------------------------------------------------- phone and desktop layout

# The ☰ button that shows and hides the table of contents (sphinx-book-theme's, in the article
# header; pydata-sphinx-theme's navbar has one with the same class, which must not be shown too).
PRIMARY_TOGGLE_SELECTOR = ".primary-toggle"
# The links of the table of contents in the primary sidebar, wherever the theme's script puts them
# (on a narrow screen it moves the sidebar's content into a <dialog>).
TOC_LINK_SELECTOR = "nav.bd-docs-nav a[href]"
# Every search box or search button: pydata-sphinx-theme gives each of its search buttons the
# class search-button__button; a plain Sphinx search form or field is counted too.
SEARCH_SELECTOR = ".search-button__button, form.bd-search, form[role=search], input[type=search]"
NAVIGATION_TIMEOUT_MS = 5_000

# Whether a reader can see an element: rendered (not display: none, not visibility: hidden, not
# transparent), with a size, and at least partly inside the window.
_IS_SHOWN_JS = """
(el) => {
  if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0
    && r.left < window.innerWidth && r.top < window.innerHeight;
}
"""
# The elements matching a selector that a reader can see, named; one inside another visible
# match is not counted again (a field inside its form).
_VISIBLE_JS = """
(selector) => {
  const shown = IS_SHOWN;
  const found = Array.from(document.querySelectorAll(selector)).filter(shown);
  return found.filter(el => !found.some(other => other !== el && other.contains(el)))
    .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + Array.from(el.classList).map(c => "." + c).join(""));
}
""".replace("IS_SHOWN", _IS_SHOWN_JS)
# The hrefs of the table of contents' links to another page than this one that a reader can see.
_VISIBLE_TOC_LINKS_JS = """
(selector) => {
  const shown = IS_SHOWN;
  return Array.from(document.querySelectorAll(selector))
    .filter(a => shown(a) && !a.getAttribute("href").startsWith("#")
      && new URL(a.href).pathname !== location.pathname)
    .map(a => a.getAttribute("href"));
}
""".replace("IS_SHOWN", _IS_SHOWN_JS)

# How wide the page is against the window, and the elements that stick out past the window's right
# edge and widen the page: not those inside a box that scrolls or clips (overflow-x other than
# visible), fixed-position ones (off-screen sidebars) or hidden ones. Widest first.
_WIDER_THAN_WINDOW_JS = """
() => {
  const width = window.innerWidth;
  const widensPage = (el) => {
    if (getComputedStyle(el).visibility === "hidden") return false;
    for (let node = el; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.position === "fixed") return false;
      if (node !== el && style.overflowX !== "visible") return false;
    }
    return true;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 0.5 && widensPage(el)) {
      wide.push({right: Math.round(r.right),
        name: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
          + Array.from(el.classList).map(c => "." + c).join(""),
        text: (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60)});
    }
  }
  wide.sort((a, b) => b.right - a.right);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, widest: wide.slice(0, 3)};
}
"""


def _open(page, rel: str) -> None:
    """Load a page of the build, following index.html's redirect to the root page."""
    url = (HTML_DIR / rel).as_uri()
    page.goto(url, wait_until="load")
    redirect = _redirect_target(HTML_DIR / rel)
    if redirect:
        page.wait_for_url(urljoin(url, redirect), wait_until="load")


def _navigation_pages() -> list[str]:
    """The pages the ☰ menu is tried on: the root page and the first chapter after it."""
    root = _root_page()
    chapters = [rel for rel in PAGES if rel not in (root, "index.html")]
    return ([root] if root in PAGES else []) + chapters[:1]


NAVIGATION_PAGES = _navigation_pages()


def _wait_for_toc(page, shown: bool) -> list[str]:
    """Wait until the table of contents is shown (or hidden); return the TOC links then visible."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    check = f"(sel) => ({_VISIBLE_TOC_LINKS_JS})(sel).length {'>' if shown else '==='} 0"
    try:
        page.wait_for_function(check, arg=TOC_LINK_SELECTOR, timeout=NAVIGATION_TIMEOUT_MS)
    except PlaywrightTimeout:
        pass
    return page.evaluate(_VISIBLE_TOC_LINKS_JS, TOC_LINK_SELECTOR)


def _click_menu_button(page, rel: str) -> None:
    """Click the one visible ☰ button, and fail if the page does not show exactly one."""
    toggles = page.evaluate(_VISIBLE_JS, PRIMARY_TOGGLE_SELECTOR)
    assert len(toggles) == 1, (
        f"{rel} at {page.viewport_size['width']} px shows {len(toggles)} ☰ (primary sidebar) buttons, "
        f"not one: {toggles}"
    )
    page.locator(PRIMARY_TOGGLE_SELECTOR).filter(visible=True).click()


def _layout_screenshot(page, rel: str, what: str) -> Path:
    """Save what the window shows, as ``<page>@<width>-<what>.png`` beside the other screenshots."""
    shot = SCREENSHOT_DIR / f"{_screenshot_path(rel).stem}@{page.viewport_size['width']}-{what}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    return shot


@pytest.mark.browser
@pytest.mark.parametrize("rel", PAGES or [pytest.param(None, id="no-built-book")])
def test_page_fits_a_phone_screen(request, rel):
    """No page is wider than a phone's window: long words wrap, wide tables and code scroll in their box."""
    if rel is None:
        pytest.fail(MISSING_BUILD, pytrace=False)
    page = request.getfixturevalue("phone_page")
    _open(page, rel)
    page.evaluate(_IMAGES_JS)  # measured with every image loaded
    _math_problems(page, [])  # and every formula typeset (test_page_renders reports one that is not)
    facts = page.evaluate(_WIDER_THAN_WINDOW_JS)
    if facts["scrollWidth"] > facts["innerWidth"]:
        shot = _layout_screenshot(page, rel, "too-wide")
        widest = "\n  - ".join(f"{w['name']} (right edge at {w['right']} px): {w['text']!r}" for w in facts["widest"])
        pytest.fail(
            f"{rel} is {facts['scrollWidth']} px wide in a {facts['innerWidth']} px window (a phone); "
            f"screenshot: {shot}. Widest elements outside a scrolling box:\n  - {widest or '(none found)'}\n"
            "Let long inline code wrap (overflow-wrap: anywhere) or put the wide element in a box with "
            "overflow-x: auto (_static/layout.css).",
            pytrace=False,
        )


@pytest.mark.browser
@pytest.mark.parametrize("rel", NAVIGATION_PAGES or [pytest.param(None, id="no-built-book")])
def test_menu_button_opens_the_contents_on_a_phone(request, rel):
    """On a phone the table of contents is hidden until ☰ is clicked, and then shows the other chapters."""
    if rel is None:
        pytest.fail(MISSING_BUILD, pytrace=False)
    page = request.getfixturevalue("phone_page")
    _open(page, rel)
    before = page.evaluate(_VISIBLE_TOC_LINKS_JS, TOC_LINK_SELECTOR)
    assert not before, f"{rel} at {PHONE_WIDTH} px shows the table of contents before ☰ is clicked: {before[:3]}"
    _click_menu_button(page, rel)
    links = _wait_for_toc(page, shown=True)
    shot = _layout_screenshot(page, rel, "menu")
    assert links, (
        f"clicking ☰ on {rel} at {PHONE_WIDTH} px did not show the table of contents (no link to another "
        f"chapter in {TOC_LINK_SELECTOR!r} became visible); screenshot: {shot}"
    )


@pytest.mark.browser
@pytest.mark.parametrize("rel", NAVIGATION_PAGES or [pytest.param(None, id="no-built-book")])
def test_menu_button_hides_and_shows_the_contents_on_a_desktop(request, rel):
    """On a desktop the table of contents is shown, ☰ hides it, and a second click shows it again."""
    if rel is None:
        pytest.fail(MISSING_BUILD, pytrace=False)
    page = request.getfixturevalue("page")
    _open(page, rel)
    assert _wait_for_toc(page, shown=True), f"{rel} at {DESKTOP_WIDTH} px does not show the table of contents"
    _click_menu_button(page, rel)
    left = _wait_for_toc(page, shown=False)
    shot = _layout_screenshot(page, rel, "menu-hidden")
    assert not left, (
        f"clicking ☰ on {rel} at {DESKTOP_WIDTH} px did not hide the table of contents; still shown: "
        f"{left[:3]}; screenshot: {shot}"
    )
    _click_menu_button(page, rel)
    assert _wait_for_toc(page, shown=True), (
        f"a second click on ☰ on {rel} at {DESKTOP_WIDTH} px did not show the table of contents again"
    )


@pytest.mark.browser
@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
def test_one_search_box(browser, width):
    """Each page shows one way to search, at a phone's width and at a desktop's."""
    if not NAVIGATION_PAGES:
        pytest.fail(MISSING_BUILD, pytrace=False)
    rel = NAVIGATION_PAGES[0]
    page = _offline_page(browser, width)
    try:
        _open(page, rel)
        searches = page.evaluate(_VISIBLE_JS, SEARCH_SELECTOR)
    finally:
        page.context.close()
    assert len(searches) == 1, f"{rel} at {width} px shows {len(searches)} search boxes/buttons, not one: {searches}"


# ------------------------------------------------------------------ Chinese text in a CJK font

GLOSSARY_PAGE = "chapters/appendix_glossary.html"
CHINESE_GUIDE_PAGE = "chapters/zh_guide.html"
CHINESE_EXAMPLES_PAGE = "chapters/zh_examples.html"
NO_CJK_FONT = (
    "no font on this machine covers Chinese (`fc-list :lang=zh` lists none): install one, on Debian "
    "`apt-get install fonts-noto-cjk` (.ci/run does it when none is found)"
)

# Marks every element of the article whose own text holds Han characters with data-cjk-probe="<i>",
# and returns, for each, how many Han characters it holds and the start of its text.
_MARK_CJK_TEXT_JS = """
() => {
  const han = /\\p{Script=Han}/gu;
  const root = document.querySelector("article") || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const counts = new Map();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const found = node.data.match(han);
    if (found) counts.set(node.parentElement, (counts.get(node.parentElement) || 0) + found.length);
  }
  return Array.from(counts, ([element, count], i) => {
    element.setAttribute("data-cjk-probe", String(i));
    return {count, text: element.textContent.trim().slice(0, 30)};
  });
}
"""


def _cjk_font_families() -> set[str]:
    """The font families fontconfig says cover Chinese (every name of each, from `fc-list :lang=zh family`)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fc-list (fontconfig) is not installed: cannot tell which fonts cover Chinese")
    import subprocess

    listing = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    return {name.strip() for line in listing.splitlines() for name in line.split(",") if name.strip()}


@pytest.mark.browser
@pytest.mark.parametrize("rel", [GLOSSARY_PAGE, CHINESE_GUIDE_PAGE, CHINESE_EXAMPLES_PAGE])
def test_chinese_text_renders_in_a_cjk_font(page, rel):
    """The glossary's Chinese terms and the Chinese guide are drawn with a font that has their glyphs, not
    missing-glyph boxes.

    Chromium's DevTools (CSS.getPlatformFontsForNode) names the platform fonts it drew each element's text
    with, and how many glyphs each drew; the Han characters must all come from a font that covers Chinese.
    """
    path = HTML_DIR / rel
    assert path.is_file(), MISSING_BUILD
    cjk_families = _cjk_font_families()
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    probes = page.evaluate(_MARK_CJK_TEXT_JS)
    assert probes, f"{rel} shows no Chinese text: the test has nothing to check"

    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    document = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    problems = []
    for i, probe in enumerate(probes):
        node = cdp.send("DOM.querySelector", {"nodeId": document, "selector": f'[data-cjk-probe="{i}"]'})
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        cjk_glyphs = sum(font["glyphCount"] for font in fonts if font["familyName"] in cjk_families)
        if cjk_glyphs < probe["count"]:
            used = ", ".join(f"{font['familyName']} ({font['glyphCount']} glyphs)" for font in fonts)
            problems.append(f"{probe['text']!r}: {probe['count']} Han characters, drawn with {used}")
    covering = ", ".join(sorted(cjk_families)) or NO_CJK_FONT
    assert not problems, (
        f"{len(problems)} of {len(probes)} elements of {rel} draw Chinese without a CJK font "
        f"(fonts covering Chinese: {covering}):\n" + "\n".join(problems[:10])
    )


@pytest.mark.browser
def test_the_chinese_figure_is_numbered_and_drawn(page):
    """The Chinese examples' figure (Chinese tick labels and title, drawn with viz.cjk_font: the unit test
    tests/test_chinese_text.py checks that matplotlib found every glyph) is in the page, numbered, and loads."""
    path = HTML_DIR / CHINESE_EXAMPLES_PAGE
    assert path.is_file(), MISSING_BUILD
    page.goto(path.as_uri(), wait_until="load")
    figure = page.locator("figure#fig-zh-segmentation")
    assert figure.count() == 1, "the segmentation figure (fig-zh-segmentation) is missing"
    assert re.search(r"Figure \d+", figure.locator("figcaption").inner_text())
    loaded = figure.locator("img").evaluate("img => img.complete && img.naturalWidth > 300")
    assert loaded, "the figure's image did not load"


# ------------------------------------------------------------------ figures, code cells and explorers

NOTEBOOK_PAGES = [rel for rel in PAGES if re.match(r"chapters/\d\d_", rel)]

# Every figure of the article (plots and diagrams) with its number, and every plot a code cell drew
# outside a figure (an explorer's own images excepted: they are answers in a menu, not figures).
_FIGURES_JS = """
() => {
  const article = document.querySelector("article") || document.body;
  const figures = Array.from(article.querySelectorAll("figure"), (figure) => {
    const number = figure.querySelector("figcaption .caption-number");
    const caption = figure.querySelector("figcaption");
    return {number: number ? number.textContent.trim() : "",
            caption: caption ? caption.textContent.trim() : ""};
  });
  const loose = Array.from(article.querySelectorAll("div.cell_output img"))
    .filter((img) => !img.closest("figure") && !img.closest(".ptm-explorer"))
    .map((img) => (img.getAttribute("alt") || img.getAttribute("src") || "").slice(0, 60));
  return {figures, loose};
}
"""

_SCROLLING_CODE_JS = """
() => Array.from(document.querySelectorAll("article div.cell_input pre"))
  .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
  .map((pre) => pre.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), ""))
"""


def _desktop_page(request, rel: str | None):
    """``rel`` opened offline at DESKTOP_WIDTH (failing, not skipping, when there is no built book)."""
    if rel is None:
        pytest.fail(MISSING_BUILD, pytrace=False)
    page = request.getfixturevalue("page")
    _open(page, rel)
    return page


@pytest.mark.browser
@pytest.mark.parametrize("rel", NOTEBOOK_PAGES or [pytest.param(None, id="no-built-book")])
def test_every_figure_is_numbered_and_captioned(request, rel):
    """Each plot and diagram is a numbered, captioned figure ("Figure 7.3: ..."), so the text can cite it."""
    found = _desktop_page(request, rel).evaluate(_FIGURES_JS)
    chapter = int(re.match(r"chapters/(\d\d)_", rel).group(1))
    assert found["figures"], f"{rel} has no numbered figure"
    assert not found["loose"], (
        f"{rel}: {len(found['loose'])} plot(s) outside a captioned figure ({found['loose'][:3]}); give the cell "
        'metadata {"mystnb": {"figure": {"name": "fig-...", "caption": "..."}}} and let it display one figure')
    for figure in found["figures"]:
        assert re.fullmatch(rf"Figure {chapter}\.\d+:?", figure["number"]), (rel, figure)
        assert len(figure["caption"]) > len(figure["number"]) + 20, f"{rel}: a figure without a real caption: {figure}"


@pytest.mark.browser
@pytest.mark.parametrize("rel", NOTEBOOK_PAGES or [pytest.param(None, id="no-built-book")])
def test_code_cells_fit_the_column_on_a_desktop(request, rel):
    """At 1280 px no code cell needs sideways scrolling: long lines wrap in the column (_static/layout.css)."""
    scrolling = _desktop_page(request, rel).evaluate(_SCROLLING_CODE_JS)
    assert not scrolling, (
        f"{rel}: {len(scrolling)} code cell(s) scroll sideways at {DESKTOP_WIDTH} px, e.g. {scrolling[:2]}")


_ATTENTION_VIEW_JS = """
(view) => ({
  colours: Array.from(view.querySelectorAll("table td"), (td) => getComputedStyle(td).backgroundColor).join(" "),
  heads: view.querySelectorAll("select.ptm-head option").length,
  caption: view.querySelector("caption") ? view.querySelector("caption").textContent : "",
})
"""


def _pages_with(marker: str) -> list[str]:
    """The chapter pages whose HTML contains ``marker`` (the class of an explorer view)."""
    return [rel for rel in NOTEBOOK_PAGES if marker in (HTML_DIR / rel).read_text(encoding="utf-8")]


EXPLORER_PAGES = _pages_with("ptm-explorer")


@pytest.mark.browser
def test_the_chapters_have_their_explorers():
    """Chapters 2, 3, 5, 6 and 7 carry the book's seven explorers (three attention, four text)."""
    assert HTML_DIR.is_dir(), MISSING_BUILD
    attention, text = _pages_with("ptm-attention"), _pages_with("ptm-text")
    assert [rel[9:11] for rel in attention] == ["05", "06", "07"], attention
    assert [rel[9:11] for rel in text] == ["02", "03", "06", "07"], text


@pytest.mark.browser
@pytest.mark.parametrize("rel", EXPLORER_PAGES or [pytest.param(None, id="no-built-book")])
def test_every_explorer_works_without_a_kernel(request, rel):
    """In the static book, choosing another head redraws an attention map (and pointing at a cell reads its
    weight), and choosing another prepared input shows its own answer, in every explorer of the page."""
    page = _desktop_page(request, rel)
    attention_views = page.locator(".ptm-attention")
    for k in range(attention_views.count()):
        view = attention_views.nth(k)
        view.scroll_into_view_if_needed()
        before = view.evaluate(_ATTENTION_VIEW_JS)
        assert before["heads"] > 1, (rel, before["heads"])
        view.locator("select.ptm-head").select_option("2")
        page.wait_for_function("(v) => v.querySelector('caption').textContent.includes('head 2')",
                               arg=view.element_handle())
        after = view.evaluate(_ATTENTION_VIEW_JS)
        assert after["colours"] != before["colours"], f"{rel}: choosing head 2 did not change the heatmap"
        view.locator("table td").nth(0).hover()
        readout = view.locator(".ptm-readout").inner_text()
        assert "→" in readout and re.search(r"\d\.\d{3}", readout), f"{rel}: pointing at a cell shows {readout!r}"
    text_views = page.locator(".ptm-text")
    for k in range(text_views.count()):
        view = text_views.nth(k)
        view.scroll_into_view_if_needed()
        menu = view.locator("select.ptm-input")
        assert menu.locator("option").count() > 1, f"{rel}: a text explorer with a single prepared input"
        shown = view.locator(".ptm-response:not([hidden])")
        first = shown.inner_html()
        menu.select_option(index=1)
        assert shown.count() == 1 and shown.inner_html() != first, (
            f"{rel}: choosing another input in the text explorer did not show its answer")
