"""The page end to end in a real headless Chromium (Selenium + Debian's chromium/chromedriver)
against a uvicorn server on a free port: load, click a point in each quadrant (a score appears,
the audio plays), draw a path (a 16-bar melody), upload a MIDI file and move it, hover and play a
training dot, switch models; saves a screenshot (to $EMOVAE_SCREENSHOT; `make screenshot` writes the README's
docs/figures/web_plane.png this way).

Run alone: ``.venv/bin/pytest -q tests/test_browser.py`` (EMOVAE_DATA set for the dots).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install 'emovae[web]')")
pytest.importorskip("selenium", reason="selenium is not installed (pip install 'emovae[test]')")

CHROMIUM = os.environ.get("EMOVAE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = os.environ.get("EMOVAE_CHROMEDRIVER") or shutil.which("chromedriver")
SCREENSHOT = Path(os.environ.get("EMOVAE_SCREENSHOT") or Path(tempfile.gettempdir()) / "emovae_web_plane.png")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,1000",
    "--mute-audio",
]

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="no chromium/chromedriver (Debian: apt install chromium chromium-driver)"
)


@pytest.fixture(scope="module")
def site():
    from emovae.server import BackgroundServer, create_app

    root = os.environ.get("EMOVAE_DATA")
    app = create_app(data_root=root if root and Path(root).is_dir() else None)
    with BackgroundServer(app) as srv:
        yield srv.url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


def wait_for(driver, script: str, timeout: float = 10.0, *args):
    """Poll a JS expression (``return ...``) until it is truthy; its value, or a failure naming it."""
    end = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value:
            return value
        if time.monotonic() > end:
            state = driver.execute_script(
                "return [document.getElementById('status').textContent, window.emovae.errors]"
            )
            pytest.fail(f"timed out waiting for: {script} (page: {state})")
        time.sleep(0.05)


def free_offset(driver, v: float, a: float) -> tuple[int, int]:
    """The offset from the plane's centre of a spot near (v, a) that no training dot covers."""
    return driver.execute_script(
        """
        const [v0, a0] = arguments, plane = document.getElementById('plane'), r = plane.getBoundingClientRect();
        for (const d of [0, 0.15, -0.15, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6]) {
          for (const e of [0, 0.15, -0.15, 0.3, -0.3]) {
            const [x, y] = window.emovae.clientPoint(v0 + d, a0 + e);
            const clear = [[0, 0], [4, 0], [-4, 0], [0, 4], [0, -4], [3, 3], [-3, -3], [3, -3], [-3, 3]].every(
              ([p, q]) => { const hit = document.elementFromPoint(x + p, y + q);
                            return hit && !hit.classList.contains('dot'); });
            if (clear) {
              return [Math.round(x - (r.left + r.width / 2)), Math.round(y - (r.top + r.height / 2))];
            }
          }
        }
        return null;""",
        v,
        a,
    )


def test_the_page_end_to_end(site, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from emovae.atomic import atomic_path
    from emovae.data import HOLD, REST, write_midi

    d = browser
    d.get(site + "/")
    wait_for(d, "return window.emovae && window.emovae.ready")
    plane = d.find_element(By.ID, "plane")
    quadrant_names = [t.text for t in d.find_elements(By.CSS_SELECTOR, "#labels text")]
    assert quadrant_names == ["Q1 happy", "Q2 angry", "Q3 sad", "Q4 relaxed"]
    n_dots = d.execute_script("return document.querySelectorAll('#dots .dot').length")
    if os.environ.get("EMOVAE_DATA"):
        assert n_dots == 344

    # a click in each quadrant: the melody plays, its score appears, its point stays marked
    for k, (emotion, (v, a)) in enumerate(
        {"happy": (2.5, 2.5), "angry": (-2.5, 2.5), "sad": (-2.5, -2.5), "relaxed": (2.5, -2.5)}.items()
    ):
        plays = d.execute_script("return window.emovae.plays")
        d.execute_script("document.getElementById('score').innerHTML = ''")
        dx, dy = free_offset(d, v, a)
        ActionChains(d).move_to_element_with_offset(plane, dx, dy).click().perform()
        wait_for(d, "return window.emovae.plays > arguments[0]", 10, plays)
        wait_for(d, "return document.querySelector('#score > svg') !== null")
        m = d.execute_script("return window.emovae.lastMelody")
        assert m["emotion"] == emotion and m["bars"] == 4
        assert abs(m["point"][0] - v) < 0.7 and abs(m["point"][1] - a) < 0.7
        audio = wait_for(
            d,
            "const p = document.getElementById('player');"
            "return p.currentTime > 0 && !p.paused && [p.currentTime, p.src]",
        )
        assert "/api/at.wav?" in audio[1]
        assert d.execute_script("return document.querySelectorAll('#marks .mark').length") == k + 1
        assert d.find_element(By.ID, "download").get_attribute("href").split("?")[0].endswith(".mid")
    latencies = d.execute_script("return window.emovae.latencies")
    assert len(latencies) == 4 and all(0 < t < 5000 for t in latencies)
    print("click -> first sound (the page's performance.now()):", ", ".join(f"{t:.0f} ms" for t in latencies))

    # "another one" at temperature 0: the same quadrant, a point nearby, a new melody
    before = d.execute_script("return window.emovae.lastMelody")
    plays = d.execute_script("return window.emovae.plays")
    d.find_element(By.ID, "another").click()
    wait_for(d, "return window.emovae.plays > arguments[0] && window.emovae.lastMelody.seed === 1", 10, plays)
    again = d.execute_script("return window.emovae.lastMelody")
    assert again["emotion"] == "relaxed" and again["seed"] == 1 and again["clicked"] == before["clicked"]
    assert again["point"] != before["point"]

    # shift-drag a path from happy through angry to sad: a 16-bar melody along it
    plays = d.execute_script("return window.emovae.plays")
    d.execute_script("document.getElementById('score').innerHTML = ''")
    dx, dy = free_offset(d, 3.0, 3.5)
    drag = ActionChains(d).key_down(Keys.SHIFT).move_to_element_with_offset(plane, dx, dy).click_and_hold()
    for _ in range(12):
        drag = drag.move_by_offset(-22, 0)
    for _ in range(12):
        drag = drag.move_by_offset(0, 22)
    drag.release().key_up(Keys.SHIFT).perform()
    wait_for(d, "return window.emovae.plays > arguments[0] && window.emovae.lastMelody.bars === 16", 15, plays)
    path = d.execute_script("return window.emovae.lastMelody")
    assert len(path["points"]) == 4 and path["emotions"][0] == "happy" and path["emotions"][-1] == "sad"
    assert len(path["waypoints"]) > 2
    wait_for(d, "return document.querySelector('#score > svg') !== null")

    # upload a MIDI file: it is placed (diamond), then moved to the sad quadrant
    tokens = [67, HOLD, 69, HOLD, 71, HOLD, HOLD, HOLD, 72, HOLD, 71, HOLD, 69, HOLD, REST, REST] * 4
    midi = tmp_path / "emovae-browser-test.mid"
    write_midi(tokens, midi)
    d.find_element(By.ID, "upload").send_keys(str(midi))
    wait_for(d, "return window.emovae.upload !== null")
    assert d.execute_script("return window.emovae.lastMelody.tokens") == tokens
    assert "emovae-browser-test.mid" in d.find_element(By.ID, "status").text
    sad = d.find_element(By.CSS_SELECTOR, '#moves button[data-to="sad"]')
    wait_for(d, "return !arguments[0].disabled", 5, sad)
    sad.click()
    wait_for(d, "return window.emovae.lastMelody.name.endsWith('_to_sad')")
    moved = d.execute_script("return window.emovae.lastMelody")
    assert moved["emotion"] == "sad" and moved["point"][0] <= 0 and moved["point"][1] <= 0
    wait_for(d, "return window.emovae.plays > 0 && !document.getElementById('player').paused")
    assert not d.execute_script("return window.emovae.errors")

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(SCREENSHOT) as tmp:
        Path(tmp).write_bytes(d.get_screenshot_as_png())
    assert SCREENSHOT.stat().st_size > 10_000

    # a training dot: its file name on hover, its melody on click
    if n_dots:
        dot = d.find_element(By.CSS_SELECTOR, "#dots .dot[data-index='5']")
        assert ".mid" in dot.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        ActionChains(d).move_to_element(dot).perform()
        assert ".mid" in wait_for(d, "return document.getElementById('hover').textContent")
        plays = d.execute_script("return window.emovae.plays")
        d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", dot)
        wait_for(d, "return window.emovae.plays > arguments[0]", 10, plays)
        wait_for(d, "return window.emovae.lastMelody.index === 5")
        assert "/api/training/5.wav" in d.execute_script("return document.getElementById('player').src")
        assert "training melody" in d.find_element(By.ID, "status").text

    # switch to CVAE-Base: the dots are redrawn for it and a click decodes with it
    d.find_element(By.CSS_SELECTOR, '#models input[value="base"]').click()
    wait_for(d, "return document.getElementById('status').textContent.includes('CVAE-Base')")
    plays = d.execute_script("return window.emovae.plays")
    dx, dy = free_offset(d, -2.0, -2.0)
    ActionChains(d).move_to_element_with_offset(plane, dx, dy).click().perform()
    wait_for(d, "return window.emovae.plays > arguments[0] && window.emovae.lastMelody.model === 'base'", 10, plays)
    assert not d.execute_script("return window.emovae.errors")


def test_an_error_is_shown_not_thrown(site, browser):
    """A request the API refuses shows its one-line message on the page."""
    d = browser
    d.get(site + "/")
    wait_for(d, "return window.emovae && window.emovae.ready")
    d.execute_script("document.getElementById('bars').innerHTML = '<option>6</option>'")
    d.find_element("id", "path-mode").click()
    from selenium.webdriver.common.action_chains import ActionChains

    plane = d.find_element("id", "plane")
    ActionChains(d).move_to_element_with_offset(plane, 50, -50).click_and_hold().move_by_offset(-80, 0).move_by_offset(
        0, 80
    ).release().perform()
    status = wait_for(
        d, "const s = document.getElementById('status');return s.classList.contains('error') && s.textContent"
    )
    assert "bars" in status


@pytest.fixture(scope="module")
def fitted_site():
    """A server with "fitted" (CVAE-EmoReg with a density fitted to points around (+-3, +-3)) and
    "plain" (CVAE-EmoReg without one): the page's sampler choice shows only for the first."""
    import copy

    import numpy as np

    from emovae.api import Model, load
    from emovae.samplers import FittedSampler
    from emovae.server import BackgroundServer, create_app

    plain = load("emoreg")
    trained = copy.copy(plain.trained)
    centres = [(3, 3), (-3, 3), (-3, -3), (3, -3)]
    pts = np.concatenate([np.random.default_rng(0).normal(c, 0.3, (40, 2)) for c in centres])
    trained.sampler, plain.trained.sampler = FittedSampler.fit(pts, np.repeat(np.arange(4), 40)), None
    with BackgroundServer(create_app({"fitted": Model(trained), "plain": plain}, data_root=None)) as srv:
        yield srv.url


def test_draw_with_a_sampler_and_the_copy_guard_by_keyboard(fitted_site, browser):
    """The draw controls: the sampler (a select) and the copy guard (a checkbox), used from the
    keyboard, are sent with the draw; the sampler shows only for a model that offers two."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d = browser
    d.get(fitted_site + "/")
    wait_for(d, "return window.emovae && window.emovae.ready")
    sampler, unique = d.find_element(By.ID, "sampler"), d.find_element(By.ID, "unique")
    assert sampler.is_displayed() and sampler.get_attribute("value") == "fitted"  # the model's default
    assert d.find_element(By.ID, "spread").is_displayed() and unique.is_displayed()
    assert d.find_element(By.CSS_SELECTOR, "label[for='sampler']").text == "Sampler"
    sampler.send_keys("p")  # keyboard: the first option starting with "p"
    assert sampler.get_attribute("value") == "paper" and not d.find_element(By.ID, "spread").is_displayed()
    unique.send_keys(Keys.SPACE)
    assert unique.is_selected()
    d.find_element(By.CSS_SELECTOR, '#draw button[data-emotion="sad"]').send_keys(Keys.ENTER)
    m = wait_for(d, "const m = window.emovae.lastMelody; return m && m.emotion === 'sad' && m")
    assert m["sampler"] == "paper" and m["unique"] is True and m["model"] == "fitted"
    assert "paper sampler" in d.find_element(By.ID, "status").text

    d.find_element(By.CSS_SELECTOR, '#models input[value="plain"]').click()
    wait_for(d, "return document.getElementById('sampler-box').hidden")
    assert unique.is_displayed()  # the bundled model holds its training melodies' hashes
    assert not d.execute_script("return window.emovae.errors")
