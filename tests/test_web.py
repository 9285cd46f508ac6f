"""The web page, ``deepprior serve``, driven in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``; the Makefile installs them when missing) through Selenium."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepprior.imageio import read_image, write_image

pytest.importorskip("gradio", reason="the ui extra is not installed")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import ElementClickInterceptedException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI runs the browser tests: install Debian's chromium and chromium-driver")
    pytest.skip("no chromium/chromedriver (apt install chromium chromium-driver)", allow_module_level=True)

MAX_PIXELS = 300_000  # the server's bound for these tests: a 700×500 upload is refused


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """``deepprior serve`` on a free local port, as a user starts it."""
    port = _free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "deepprior", "serve", "--port", str(port), "--max-pixels", str(MAX_PIXELS)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"deepprior serve did not start:\n{log.read().decode()}") from None
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="deepprior-chromium-")
    for flag in (
        "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
        "--disable-background-networking --disable-component-update --disable-sync --window-size=1400,1700"
    ).split():
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    rng = np.random.default_rng(0)
    kate = Image.open(files("deepprior") / "data" / "kate_256.png").convert("RGB").resize((400, 300))
    write_image(folder / "photo16.png", np.asarray(kate).astype(np.uint16) * 257)  # a 16-bit photo
    write_image(folder / "small.png", (rng.random((64, 64)) * 255).astype(np.uint8))
    (folder / "broken.png").write_bytes(b"this is not a png")
    write_image(folder / "mask_other_size.png", np.full((50, 50), 255, np.uint8))
    write_image(folder / "mask_black.png", np.zeros((300, 400), np.uint8))
    write_image(folder / "big.png", np.zeros((500, 700), np.uint8))
    return folder


class Page:
    """The page as a user sees it: upload, choose, paint, press, read."""

    def __init__(self, driver, url: str):
        self.driver, self.wait = driver, WebDriverWait(driver, 120, poll_frequency=0.25)
        driver.get(url)
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))

    def upload(self, path: Path, where: str = "upload") -> None:
        self.driver.find_element(By.CSS_SELECTOR, f"#{where} input[type=file]").send_keys(str(path))

    def clear_upload(self, where: str) -> None:
        self.driver.find_element(By.CSS_SELECTOR, f"#{where} button[aria-label='Clear']").click()

    def status(self) -> str:
        return self.driver.find_element(By.ID, "status").text

    def wait_status(self, *starts: str) -> str:
        self.wait.until(lambda d: self.status().startswith(starts))
        return self.status()

    def wait_error(self, text: str) -> str:
        """The status once it names ``text``: after an earlier error the status already starts
        with "Error", so waiting for that alone could read the stale message."""
        self.wait.until(lambda d: text in self.status())
        return self.status()

    def choose(self, value: str, radio: str = "task") -> None:
        """Click ``value`` in the radio group ``radio`` once it shows and nothing covers it (a
        group that has just appeared may still be under another element for a moment)."""
        selector = f"#{radio} input[value='{value}']"

        def clicked(driver) -> bool:
            button = expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, selector))(driver)
            if not button:
                return False
            try:
                button.click()
            except ElementClickInterceptedException:
                return False
            return True

        self.wait.until(clicked)

    def steps(self, n: int) -> None:
        field = self.driver.find_element(By.CSS_SELECTOR, "#iters input")
        field.clear()
        field.send_keys(str(n))

    def paint(self) -> None:
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#editor button[aria-label='Brush Size']"))
        brush = self.driver.find_element(By.CSS_SELECTOR, "#editor button[aria-label='Brush']")
        if "highlight" not in (brush.get_attribute("class") or ""):
            brush.click()
        canvas = next(
            c for c in self.driver.find_elements(By.CSS_SELECTOR, "#editor canvas") if c.is_displayed()
        )
        chain = ActionChains(self.driver).move_to_element(canvas).click_and_hold()
        chain.move_by_offset(40, 0).move_by_offset(40, 10).release().perform()
        time.sleep(0.5)

    def press(self, button: str) -> None:
        self.driver.find_element(By.ID, button).click()

    def downloads(self) -> dict[str, bytes]:
        links = self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#downloads a[download]"))
        return {
            Path(a.get_attribute("download") or a.text).name: urllib.request.urlopen(
                a.get_attribute("href")
            ).read()
            for a in links
        }


def test_a_user_paints_a_mask_watches_the_fit_stops_it_and_downloads_the_result(
    server, browser, images, tmp_path
):
    page = Page(browser, server)
    page.upload(images / "photo16.png")
    assert "400×300, 3 channel(s), uint16" in page.wait_status("Loaded")
    page.paint()
    page.press("estimate")  # the brush's stroke is wide: a hole, which DIP fills in a box around it
    page.wait.until(lambda d: "dip" in d.find_element(By.ID, "plan").text)
    assert "Runs on 1 box around the mask" in browser.find_element(By.ID, "plan").text
    page.steps(5000)
    page.press("run")
    first = page.wait_status("step")
    page.wait.until(lambda d: page.status() != first and page.status().startswith("step"))  # it moves
    page.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#current img"))  # the estimate shows

    # A second tab waits its turn in the queue instead of running beside the first job.
    browser.switch_to.new_window("window")
    second = Page(browser, server)
    second.upload(images / "small.png")
    second.wait_status("Loaded")
    second.choose("denoise")
    second.choose("camera", "noise")  # forced: this white random image would be taken as white
    second.press("run")
    second.wait.until(lambda d: "queue: 1/1" in second.status())
    first_tab, second_tab = browser.window_handles
    browser.switch_to.window(first_tab)

    page.press("stop")
    done = page.wait_status("Done", "**Error")
    assert done.startswith("Done (stopped early")
    steps = int(re.search(r"(\d+) steps", done).group(1))
    assert 0 < steps < 5000
    downloads = page.downloads()
    (tmp_path / "result.png").write_bytes(downloads["photo16_inpaint.png"])
    result = read_image(tmp_path / "result.png")
    assert result.shape == (300, 400, 3) and result.dtype == np.uint16  # full size, 16-bit kept
    report = json.loads(downloads["photo16_inpaint.json"])
    assert report["stopped_early"] and report["iterations"] == steps and report["config"]["crops"]
    screenshot = Path(os.environ.get("DEEPPRIOR_SCREENSHOT", tempfile.gettempdir() + "/deepprior-page.png"))
    browser.save_screenshot(str(screenshot))

    browser.switch_to.window(second_tab)  # the queued denoise ran once the first job ended
    assert second.wait_status("Done", "**Error").startswith("Done: 0 steps")
    assert "with n2n for camera noise" in second.status()
    assert "small_denoise.png" in second.downloads()
    browser.close()
    browser.switch_to.window(first_tab)


def test_bad_uploads_are_messages_in_the_page_and_a_good_job_follows(server, browser, images):
    page = Page(browser, server)
    page.upload(images / "broken.png")
    assert "not" in page.wait_status("**Error", "Error")
    page.clear_upload("upload")
    page.upload(images / "big.png")
    assert "this page takes up to 0" in page.wait_status("Error")
    page.clear_upload("upload")
    page.upload(images / "photo16.png")
    page.wait_status("Loaded")
    page.press("run")
    assert "paint over what to remove" in page.wait_status("Error")
    page.upload(images / "mask_other_size.png", "mask")
    page.press("run")
    assert "Error" in page.wait_error("the mask is 50×50 but the image is 400×300")
    page.clear_upload("mask")
    page.upload(images / "mask_black.png", "mask")
    page.press("run")
    assert "Error" in page.wait_error("every pixel as unknown")
    page.clear_upload("mask")
    page.paint()
    page.steps(5000)
    page.press("run")
    page.wait_status("step")
    page.press("cancel")
    assert page.wait_status("Cancelled") == "Cancelled: the estimate was dropped."
    page.steps(3)
    page.press("run")
    assert page.wait_status("Done").startswith("Done: 3 steps")
