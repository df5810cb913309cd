#!/usr/bin/python3
"""Drives `hone serve`'s page in headless Chromium as a person would: upload a
clip, watch the job reach done, move the before/after slider, download the
video; then the live mode with Chromium's fake camera fed from a .y4m clip,
with the ×2 base and the fast tier at 160×90.

Usage: page_test.py URL CLIP CAMERA.y4m SCREENSHOTS_DIR
Prints one JSON line: {"downloaded": bytes, "live_fps": …, "live_frames": …, "live_fast_160x90_fps": …}.
Exits non-zero with a one-line reason when a step fails.
Needs Debian's chromium, chromium-driver and python3-selenium.
"""
import atexit
import json
import os
import shutil
import signal
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

url, clip, camera, shots = sys.argv[1:5]
os.makedirs(shots, exist_ok=True)
downloads = tempfile.mkdtemp(prefix="hone-downloads-")
atexit.register(shutil.rmtree, downloads, ignore_errors=True)

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1400",
             "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-video-capture={camera}", "--autoplay-policy=no-user-gesture-required"]:
    options.add_argument(flag)
options.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def fail(reason):
    driver.save_screenshot(os.path.join(shots, "serve-failure.png"))
    print(f"page test: {reason}", file=sys.stderr)
    driver.quit()
    sys.exit(1)


def watchdog(signum, frame):
    # A renderer that stops answering blocks WebDriver's calls for good: fail in one line instead.
    print("page test: Chromium stopped answering for 240 s", file=sys.stderr)
    os._exit(1)


signal.signal(signal.SIGALRM, watchdog)
signal.alarm(240)


def wait(condition, seconds, what):
    try:
        # The page redraws a job's card as events arrive: an element can go stale between two looks.
        return WebDriverWait(driver, seconds, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(lambda d: condition())
    except Exception as error:
        fail(f"waiting for {what} ({seconds} s at most): {type(error).__name__}")


try:
    driver.get(url)
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#scale option"), 10, "the page to load its options")
    driver.save_screenshot(os.path.join(shots, "serve-1-page.png"))

    driver.find_element(By.ID, "file").send_keys(clip)
    driver.find_element(By.ID, "epochs").clear()
    driver.find_element(By.ID, "epochs").send_keys("2")
    driver.find_element(By.ID, "submit").click()
    card = wait(lambda: driver.find_elements(By.CSS_SELECTOR, ".job"), 30, "the job to appear")[0]
    state = lambda: card.find_element(By.CSS_SELECTOR, ".state").text.lower()
    wait(lambda: card.find_elements(By.CSS_SELECTOR, "progress") or state() == "done", 60, "a progress bar")
    driver.save_screenshot(os.path.join(shots, "serve-2-progress.png"))
    wait(lambda: state() in ("done", "failed", "cancelled"), 300, "the job to end")
    if state() != "done":
        fail(f"the job ended {state()}: {card.text}")
    wait(lambda: driver.execute_script("return [...document.querySelectorAll('.still img')].every(i => i.complete && i.naturalWidth > 0)"),
         20, "the stills to load")
    driver.execute_script("arguments[0].scrollIntoView()", card)
    driver.save_screenshot(os.path.join(shots, "serve-3-done.png"))

    slider = card.find_element(By.CSS_SELECTOR, "input.slider")
    top = card.find_element(By.CSS_SELECTOR, ".still img.top")
    before = top.value_of_css_property("clip-path")
    driver.execute_script("arguments[0].value = 85; arguments[0].dispatchEvent(new Event('input'))", slider)
    after = top.value_of_css_property("clip-path")
    if before == after or "15%" not in after:
        fail(f"the slider did not move the split: {before} then {after}")
    driver.execute_script("arguments[0].scrollIntoView()", slider)
    driver.save_screenshot(os.path.join(shots, "serve-4-slider.png"))

    card.find_element(By.CSS_SELECTOR, "a.download").click()
    video = lambda: [f for f in os.listdir(downloads) if f.endswith(".mp4")]
    wait(lambda: video() and not [f for f in os.listdir(downloads) if f.endswith(".crdownload")], 30, "the download")
    downloaded = os.path.getsize(os.path.join(downloads, video()[0]))

    def live(choice, shot):
        """Frames a second that came back with the live model and size `choice` once warmed up: the better of two
        4-second windows, since Chromium and the server share the machine's cores with whatever else runs."""
        Select(driver.find_element(By.ID, "live-model")).select_by_value(choice)
        wait(lambda: driver.find_element(By.ID, "live-start").is_enabled(), 10, "the start button")
        driver.find_element(By.ID, "live-start").click()
        first = driver.execute_script("return window.liveFrames || 0")
        wait(lambda: driver.execute_script("return window.liveFrames || 0") >= first + 10, 30, f"live frames ({choice})")
        windows = []
        for _ in range(2):
            start_frames, start = driver.execute_script("return window.liveFrames"), time.time()
            time.sleep(4)
            windows.append((driver.execute_script("return window.liveFrames") - start_frames, time.time() - start))
        frames, seconds = max(windows, key=lambda w: w[0] / w[1])
        driver.execute_script("document.getElementById('live').scrollIntoView()")
        driver.save_screenshot(os.path.join(shots, shot))
        driver.find_element(By.ID, "live-stop").click()
        return frames, round(frames / seconds, 1)

    frames, fps = live("base:160:90", "serve-5-live.png")
    _, fast_fps = live("fast:160:90", "serve-6-live-fast.png")
    print(json.dumps({"downloaded": downloaded, "live_fps": fps, "live_frames": frames, "live_fast_160x90_fps": fast_fps}))
finally:
    driver.quit()
