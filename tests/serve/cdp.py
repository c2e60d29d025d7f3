"""A small Chrome DevTools Protocol client over `--remote-debugging-pipe` (standard library only).

Chromium reads commands from its fd 3 and writes replies and events to its fd 4, each message
one JSON object ended by a NUL byte. The browser is driven through one page target, attached in
"flat" mode so page commands carry its sessionId. Used by the search page's browser test and by
scripts/search_page_screenshot.py.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    """Headless Chromium with one page. `with Browser(path) as b: b.goto(url); b.eval("1+1")`."""

    def __init__(self, executable: str, *, width: int = 1280, height: int = 900):
        self._profile = tempfile.mkdtemp(prefix="umer1-chromium-")
        self._log = tempfile.TemporaryFile()    # a file, not a pipe nobody drains
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def to_fds_3_and_4():          # in the child, before exec: the pipe ends Chromium expects
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking",
             "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            preexec_fn=to_fds_3_and_4, close_fds=False)
        os.close(cmd_r)
        os.close(resp_w)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.session = self._attach_page()
        except BaseException:
            self.close()
            raise

    # -- transport -------------------------------------------------------------------------
    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._resp_r, 1 << 16)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float = 30.0) -> dict:
        with self._cond:
            self._next_id += 1
            msg_id = self._next_id
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self._replies:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise CDPError(f"{method}: no reply ({'browser exited' if self._closed else 'timeout'})")
                self._cond.wait(left)
            reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def page(self, method: str, params: dict | None = None, **kw) -> dict:
        return self.send(method, params, session=self.session, **kw)

    def _attach_page(self) -> str:
        deadline = time.monotonic() + 30
        while True:
            targets = self.send("Target.getTargets")["targetInfos"]
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise CDPError("Chromium opened no page")
            time.sleep(0.1)
        session = self.send("Target.attachToTarget",
                            {"targetId": pages[0]["targetId"], "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        self.send("Runtime.enable", session=session)
        return session

    # -- what the tests use ----------------------------------------------------------------
    def goto(self, url: str) -> None:
        self.page("Page.navigate", {"url": url})

    def eval(self, expression: str):
        """The value of a JavaScript expression in the page (promises are awaited)."""
        r = self.page("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            detail = r["exceptionDetails"]
            raise CDPError(detail.get("exception", {}).get("description") or detail.get("text"))
        return r["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 30.0, poll: float = 0.05):
        """Poll until `expression` is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.eval(expression)
            except CDPError:        # the page is between documents
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise CDPError(f"timed out waiting for {expression}")
            time.sleep(poll)

    def set_files(self, selector: str, paths: list[str]) -> None:
        """Choose files in an <input type=file> as a user would (fires its change event)."""
        root = self.page("DOM.getDocument")["root"]["nodeId"]
        node = self.page("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise CDPError(f"no element {selector}")
        self.page("DOM.setFileInputFiles", {"nodeId": node, "files": [str(p) for p in paths]})

    def screenshot(self, path, *, width: int, height: int) -> None:
        self.page("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        data = self.page("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(path, "wb") as f:
            f.write(base64.b64decode(data["data"]))

    def log(self) -> str:
        """Chromium's stderr so far (for failure messages)."""
        self._log.seek(0)
        text = self._log.read().decode(errors="replace")[-4000:]
        self._log.seek(0, os.SEEK_END)    # the offset is shared with Chromium's stderr
        return text

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except CDPError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
