"""The simulated people of ``bench/load.py``: one thread each, real HTTP and Socket.IO.

Each person logs in through the login form, keeps a Socket.IO connection open (as an open
studio page does), and then, until the deadline, does one thing at a time with a think
time of 1–3 s between: pages, the timeline and library JSON, task status polls, A1111
progress polls, native API submits, studio submits, and A1111 ``txt2img`` calls that run
in the background while the person keeps polling (at most one at a time per person).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import requests
import socketio

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TINY = {"prompt": "a lighthouse at dawn, load test", "width": 64, "height": 64, "steps": 4,
        "scheduler": "Euler"}
# Answers that are the service's designed refusal of a submit (queue or per-person bound,
# rate limit), with nothing charged: expected under load, not errors.
REFUSALS = {429, 503}
READ_GROUPS = ("page", "json", "poll")


@dataclass
class Stats:
    """Latencies per endpoint group, errors and refusals; shared by every person's thread."""

    start_at: float
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_retry(self, group: str) -> None:
        """A request sent again after a reset on a reused keep-alive connection."""
        with self.lock:
            self.retries[group] += 1

    def record(self, group: str, began: float, seconds: float, error: str | None = None,
               refused: bool = False) -> None:
        """Count one call (calls begun during the warm-up are not counted)."""
        if began < self.start_at:
            return
        with self.lock:
            self.samples[group].append(seconds * 1000)
            if error:
                self.errors[group] += 1
                if len(self.examples) < 20:
                    self.examples.append(f"{group}: {error}")
            elif refused:
                self.refusals[group] += 1


class Person:
    """One simulated person on one thread."""

    def __init__(self, base: str, email: str, password: str, key: str, task_uuids: list[str],
                 stats: Stats, rng: random.Random) -> None:
        self.base, self.email, self.password, self.key = base, email, password, key
        self.task_uuids = list(task_uuids)
        self.stats, self.rng = stats, rng
        self.web = requests.Session()
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {key}"
        self.sdapi = requests.Session()
        self.sdapi.auth = ("load", key)
        self.csrf = ""
        self.socket: socketio.Client | None = None
        self.events = 0
        self.a1111: threading.Thread | None = None
        self.library_cursor: int | None = None

    # -- one timed call -------------------------------------------------------------
    def call(self, group: str, session: requests.Session, method: str, path: str,
             expect: tuple[int, ...] = (200,), **kwargs) -> requests.Response | None:
        """Make one request, time it, and record it in its group."""
        began = time.monotonic()
        timeout = kwargs.pop("timeout", 60)
        try:
            try:
                response = session.request(method, self.base + path, timeout=timeout,
                                           allow_redirects=False, **kwargs)
            except requests.ConnectionError as error:
                # gunicorn closes an idle keep-alive connection after 2 s; a request sent on
                # it at that moment meets a reset before the server read it. Browsers then
                # send it again on a new connection (any method: it was never read); so do
                # we, once, and count it (the time includes both tries).
                if "Connection aborted" not in str(error):
                    raise
                self.stats.count_retry(group)
                response = session.request(method, self.base + path, timeout=timeout,
                                           allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            self.stats.record(group, began, time.monotonic() - began,
                              f"{method} {path}: {type(error).__name__}: {error}"[:200])
            return None
        seconds = time.monotonic() - began
        if response.status_code in expect:
            self.stats.record(group, began, seconds)
            return response
        if response.status_code in REFUSALS and method == "POST":
            self.stats.record(group, began, seconds, refused=True)
            return response
        self.stats.record(group, began, seconds,
                          f"{method} {path} → {response.status_code} {response.text[:120]!r}")
        return None

    # -- setup ----------------------------------------------------------------------
    def log_in(self) -> None:
        """Log in through the form, as a browser does."""
        page = self.web.get(self.base + "/auth/login", timeout=60)
        token = CSRF_INPUT.search(page.text).group(1)
        answer = self.web.post(self.base + "/auth/login", timeout=60, allow_redirects=False,
                               data={"email": self.email, "password": self.password,
                                     "csrf_token": token})
        if answer.status_code != 302:
            raise RuntimeError(f"login of {self.email} failed: {answer.status_code}")

    def connect(self) -> None:
        """Open the page's Socket.IO connection with the login cookie (timed)."""
        client = socketio.Client(reconnection=False)
        client.on("*", self._on_event)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.web.cookies)
        began = time.monotonic()
        try:
            client.connect(self.base, headers={"Cookie": cookie}, transports=["websocket"],
                           wait_timeout=30)
        except socketio.exceptions.ConnectionError as error:
            self.stats.record("socket connect", began, time.monotonic() - began, str(error))
            return
        self.stats.record("socket connect", began, time.monotonic() - began)
        self.socket = client

    def _on_event(self, event: str, *args) -> None:
        self.events += 1

    def disconnect(self) -> None:
        """Close the socket, if open."""
        if self.socket is not None:
            self.socket.disconnect()
            self.socket = None

    # -- what a person does -----------------------------------------------------------
    def studio_page(self) -> None:
        """The studio page (control panel and this session's timeline)."""
        page = self.call("page studio", self.web, "GET", "/studio/")
        if page is not None:
            found = CSRF_META.search(page.text)
            self.csrf = found.group(1) if found else self.csrf

    def library_page(self) -> None:
        """The library grid; now and then a deeper page by the cursor."""
        before = f"?before={self.library_cursor}" if self.library_cursor and \
            self.rng.random() < 0.3 else ""
        self.call("page library", self.web, "GET", "/library/" + before)

    def gallery_page(self) -> None:
        """The public gallery, a page among the first fifty."""
        self.call("page gallery", self.web, "GET", f"/gallery?page={self.rng.randint(1, 50)}")

    def account_page(self) -> None:
        """The account overview or the credits tab (the ledger)."""
        tab = self.rng.choice(("overview", "credits"))
        self.call("page account", self.web, "GET", f"/account/?tab={tab}")

    def landing_page(self) -> None:
        """The landing page with featured images."""
        self.call("page landing", self.web, "GET", "/")

    def timeline_json(self) -> None:
        """What a studio page fetches when it reconnects: every task of this session."""
        self.call("json timeline", self.web, "GET", "/studio/state")

    def library_json(self) -> None:
        """The library through the API, following the cursor now and then."""
        before = f"&before={self.library_cursor}" if self.library_cursor and \
            self.rng.random() < 0.5 else ""
        answer = self.call("json library", self.api, "GET", f"/api/v1/library?limit=48{before}")
        if answer is not None:
            self.library_cursor = answer.json().get("next_cursor") or self.library_cursor

    def task_list_json(self) -> None:
        """The API's task list, one of its first pages."""
        self.call("json tasks", self.api, "GET",
                  f"/api/v1/tasks?per_page=20&page={self.rng.randint(1, 5)}")

    def poll_status(self) -> None:
        """One of this person's recent tasks, through the page's or the API's status."""
        uuid = self.rng.choice(self.task_uuids[:10])
        if self.rng.random() < 0.5:
            self.call("poll status", self.web, "GET", f"/studio/tasks/{uuid}")
        else:
            self.call("poll status", self.api, "GET", f"/api/v1/tasks/{uuid}")

    def poll_progress(self) -> None:
        """A1111's progress, as its clients poll it while a txt2img call runs."""
        self.call("poll progress", self.sdapi, "GET", "/sdapi/v1/progress?skip_current_image=1")

    def api_submit(self) -> None:
        """A native API submit (asynchronous: 202 with the task id)."""
        answer = self.call("submit api", self.api, "POST", "/api/v1/tasks", expect=(202,),
                           json={**TINY, "seed": self.rng.randrange(2**31)})
        if answer is not None and answer.status_code == 202:
            self.task_uuids.insert(0, answer.json()["id"])

    def studio_submit(self) -> None:
        """The studio form's submit (fetch with the page's CSRF token)."""
        if not self.csrf:
            return self.studio_page()
        answer = self.call("submit studio", self.web, "POST", "/studio/tasks", expect=(202,),
                           data={**TINY, "mode": "txt2img"},
                           headers={"X-CSRFToken": self.csrf, "Accept": "application/json"})
        if answer is not None and answer.status_code == 202:
            self.task_uuids.insert(0, answer.json()["task"]["id"])
        return None

    def a1111_txt2img(self) -> None:
        """An A1111 client's txt2img, which waits for the image: run beside the person."""
        if self.a1111 is not None and self.a1111.is_alive():
            return self.poll_progress()
        body = {"prompt": TINY["prompt"], "width": 64, "height": 64, "steps": 4,
                "sampler_name": "Euler", "seed": self.rng.randrange(2**31)}
        # A1111 clients wait as long as it takes (the service gives up after its own
        # SDAPI_WAIT_TIMEOUT); the wait is the queue's, not the web server's.
        self.a1111 = threading.Thread(target=self.call, daemon=True, args=(
            "submit sdapi (waits)", self.sdapi, "POST", "/sdapi/v1/txt2img"),
            kwargs={"json": body, "timeout": 600})
        self.a1111.start()
        return None

    def reconnect(self) -> None:
        """Close the page's socket and open it again (a reload, a network blip)."""
        self.disconnect()
        self.connect()

    ACTIONS = (
        (studio_page, 3), (library_page, 2), (gallery_page, 2), (account_page, 1),
        (landing_page, 1), (timeline_json, 3), (library_json, 2), (task_list_json, 1),
        (poll_status, 6), (poll_progress, 2), (api_submit, 1), (studio_submit, 0.5),
        (a1111_txt2img, 0.5), (reconnect, 0.3),
    )

    def run(self, deadline: float) -> None:
        """Act until the deadline, with a think time between actions."""
        actions, weights = zip(*self.ACTIONS, strict=True)
        while time.monotonic() < deadline:
            self.rng.choices(actions, weights)[0](self)
            time.sleep(self.rng.uniform(1.0, 3.0))
        if self.a1111 is not None:
            self.a1111.join(timeout=15)  # a call still waiting then is left (and not counted)
