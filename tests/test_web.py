"""The web page (`autoreward serve`): API and pages through FastAPI's client over a realistic run store, and one
end-to-end test in a real headless Chromium that plays a video and submits a ranking through the page."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from autoreward.cli import app as cli_app
from autoreward.store import RunStore
from autoreward.web import create_app
from autoreward.web.files import inside

RUN = "hopper-web"
FIRST = """import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    return forward, {"forward": forward}
"""
REVISED = """import numpy as np


def compute_reward(prev, action, state):
    forward = 1.5 * state.x_velocity
    alive = 0.5 if state.torso_height > 0.8 else 0.0
    return forward + alive, {"forward": forward, "alive": alive}
"""
BROKEN = """def compute_reward(prev, action, state):
    return state.no_such_field, {}
"""


def _checkpoints(scale: float, n: int = 4) -> list[dict]:
    return [
        {
            "timesteps": 1000 * (i + 1), "steps": 1000, "episodes": 5, "fitness_mean": scale * i,
            "fitness_min": scale * i - 0.5, "fitness_max": scale * i + 0.5, "reward_mean": 0.1 * i,
            "components": {
                "forward": {"mean": 0.2 * i, "min": -0.1, "max": 0.4 * i + 0.1, "share": 0.7, "active": 1.0},
                "alive": {"mean": 0.5, "min": 0.0, "max": 0.5, "share": 0.3, "active": 0.9},
            },
        }
        for i in range(n)
    ]  # fmt: skip


def _result(cid: str, fitness: float, artifacts: dict[str, str], status: str = "ok", **extra) -> dict:
    return {
        "candidate_id": cid, "task": "hopper-forward", "status": status, "timesteps": 4000,
        "checkpoints": _checkpoints(fitness / 3), "artifacts": artifacts,
        "evaluation": {"episodes": 5, "fitness_mean": fitness, "fitness_std": 0.1, "fitness_min": fitness - 0.2,
                       "fitness_max": fitness + 0.2, "success_rate": 0.4, "builtin_return_mean": 1.0,
                       "reward_return_mean": 2.0, "length_mean": 100.0, "terminated_rate": 0.2, "rollouts": []},
        **extra,
    }  # fmt: skip


def _mp4(path: Path, shade: int) -> None:
    """A real H.264 clip: a square crossing the frame (what the trainer's video looks like to a browser)."""
    import imageio.v2 as imageio

    frames = []
    for t in range(45):
        frame = np.full((96, 96, 3), shade, dtype=np.uint8)
        x = 2 * t % 80
        frame[40:56, x : x + 16] = (240, 80, 40)
        frames.append(frame)
    imageio.mimwrite(path, frames, fps=15, codec="libx264", macro_block_size=16)


def _png(path: Path) -> None:
    import imageio.v2 as imageio

    image = np.zeros((60, 120, 3), dtype=np.uint8)
    image[:, :, 1] = np.linspace(0, 255, 120, dtype=np.uint8)
    imageio.imwrite(path, image)


@dataclass
class Filled:
    root: Path
    ids: dict[str, str]


@pytest.fixture
def filled(tmp_path: Path) -> Filled:
    """Two iterations: a rejected design, trained ones with and without PNGs, revisions, a failed training."""
    root = tmp_path / "runs"
    store = RunStore(root)
    card = {
        "name": "hopper-forward",
        "env_id": "Hopper-v5",
        "intent": "Hop forward fast.",
        "fitness": "forward_distance",
    }
    store.create_run(RUN, "hopper-forward", card, {"samples": 3, "preference": "human"}, {"seed": 0})
    ids: dict[str, str] = {}
    for it in (0, 1):
        call = store.add_llm_call(
            RUN, it, "design", {"tokens_in": 900, "tokens_out": 300, "cost": 0.002, "cost_usd": 0.002}
        )
        if it == 0:
            ids["a"] = store.add_candidate(RUN, 0, 0, FIRST, llm_call_id=call)
            ids["rej"] = store.add_candidate(RUN, 0, 1, BROKEN, llm_call_id=call)
            ids["b"] = store.add_candidate(RUN, 0, 2, FIRST.replace("forward,", "2 * forward,"), llm_call_id=call)
        else:
            ids["a2"] = store.add_candidate(RUN, 1, 0, REVISED, llm_call_id=call, parent_id=ids["a"])
            ids["b2"] = store.add_candidate(
                RUN, 1, 1, REVISED.replace("0.5 if", "0.25 if"), llm_call_id=call, parent_id=ids["b"]
            )
            ids["fail"] = store.add_candidate(RUN, 1, 2, BROKEN, llm_call_id=call, parent_id=ids["b"])
    store.set_verdict(ids["rej"], {"reasons": [{"stage": "dryrun", "severity": "error", "line": 2,
                                               "message": "AttributeError: State has no field 'no_such_field'"}]}, False)  # fmt: skip
    for key in ("a", "b", "a2", "b2", "fail"):
        store.set_verdict(ids[key], {"reasons": [{"stage": "static", "severity": "warning", "line": None,
                                                   "message": "component 'alive' is constant"}]}, True)  # fmt: skip
    for shade, key in enumerate(("a", "b", "a2", "b2")):
        directory = store.candidate_dir(ids[key])
        _mp4(directory / "video.mp4", 30 + 40 * shade)
        artifacts = {"video": "video.mp4", "stats": "stats.json"}
        if key == "a":
            _png(directory / "learning_curve.png")
            _png(directory / "components.png")
            artifacts |= {"learning_curve": "learning_curve.png", "components": "components.png"}
        fitness = {"a": 1.0, "b": 1.4, "a2": 2.2, "b2": 1.9}[key]
        store.set_result(ids[key], _result(ids[key], fitness, artifacts), fitness, "trained")
    failed = _result(ids["fail"], 0.0, {}, status="failed", error="AttributeError: no_such_field", error_line=2)
    store.set_result(ids["fail"], {**failed, "evaluation": None}, None, "failed")
    store.put_stage(RUN, 0, "analysis", {"text": "forward dominates; the hopper falls early."})
    store.add_preference(RUN, 0, "synthetic", [ids["b"], ids["a"]])
    _png(store.run_dir(RUN) / "fitness.png")
    store.set_run(RUN, status="waiting_preference", best=(ids["a2"], 2.2))
    store.close()
    return Filled(root, ids)


@pytest.fixture
def client(filled: Filled) -> Iterator[TestClient]:
    with TestClient(create_app(filled.root)) as test_client:
        yield test_client


def _name(cid: str) -> str:
    return cid.partition("/")[2]


# --- JSON API ------------------------------------------------------------------------------------------------


def test_runs_list_counts_iterations_and_candidates(client: TestClient) -> None:
    runs = client.get("/api/runs").json()
    assert [(r["id"], r["status"], r["iterations"], r["candidates"]) for r in runs] == [
        (RUN, "waiting_preference", 2, 6)
    ]
    assert runs[0]["best_fitness"] == 2.2


def test_run_detail_has_verdicts_usage_files_and_the_ranking_target(client: TestClient, filled: Filled) -> None:
    detail = client.get(f"/api/runs/{RUN}").json()
    it0, it1 = detail["iterations"]
    rejected = next(c for c in it0["candidates"] if c["id"] == filled.ids["rej"])
    assert rejected["status"] == "rejected"
    assert rejected["reasons"][0]["message"].startswith("AttributeError") and rejected["reasons"][0]["line"] == 2
    trained = next(c for c in it0["candidates"] if c["id"] == filled.ids["a"])
    assert set(trained["files"]) >= {"video", "learning_curve", "components"}
    assert trained["fitness"] == 1.0 and trained["checkpoints"] == 4
    assert it0["analysis"].startswith("forward dominates")
    assert it0["preference"]["source"] == "synthetic"
    assert it1["llm_usage"]["tokens_in"] == 900 and detail["llm_usage"]["calls"] == 2
    failed = next(c for c in it1["candidates"] if c["id"] == filled.ids["fail"])
    assert (failed["status"], failed["error_line"]) == ("failed", 2)
    assert detail["ranking"] == {"iteration": 1, "candidates": [filled.ids["a2"], filled.ids["b2"]], "waiting": True}
    assert detail["fitness_plot"] == f"/runs/{RUN}/files/fitness.png"


def test_candidate_detail_diffs_against_its_parent(client: TestClient, filled: Filled) -> None:
    detail = client.get(f"/api/runs/{RUN}/candidates/{_name(filled.ids['a2'])}").json()
    assert detail["source"] == REVISED and detail["parent_source"] == FIRST
    added = [line["text"] for line in detail["diff"] if line["kind"] == "add"]
    removed = [line["text"] for line in detail["diff"] if line["kind"] == "del"]
    assert "+    forward = 1.5 * state.x_velocity" in added
    assert "-    forward = state.x_velocity" in removed
    first = client.get(f"/api/runs/{RUN}/candidates/{_name(filled.ids['a'])}").json()
    assert first["diff"] == [] and first["parent_source"] is None
    assert client.get(f"/api/runs/{RUN}/candidates/it09-c09").status_code == 404


def test_unknown_run_is_404_with_a_hint(client: TestClient) -> None:
    response = client.get("/api/runs/nope")
    assert response.status_code == 404 and "autoreward runs" in response.json()["detail"]
    assert client.get("/runs/nope").status_code == 404


# --- ranking -------------------------------------------------------------------------------------------------


def test_ranking_post_stores_the_terminal_s_record(client: TestClient, filled: Filled) -> None:
    ranking = [filled.ids["b2"], filled.ids["a2"]]
    response = client.post(f"/api/runs/{RUN}/preference", json={"iteration": 1, "ranking": ranking})
    assert response.status_code == 201, response.text
    assert response.json()["iteration"] == 1 and f"autoreward resume {RUN}" in response.json()["next_step"]
    store = RunStore(filled.root)
    stored = store.preference(RUN, 1)
    assert (stored["source"], stored["ranking"]) == ("human", ranking)
    assert store.preference(RUN, 0)["source"] == "synthetic"
    assert store.run(RUN).status == "waiting_preference"  # the loop, on resume, moves the run on
    assert client.get(f"/api/runs/{RUN}/preference").json()["stored"]["ranking"] == ranking


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ranking": ["hopper-web/it01-c00"]}, "incomplete ranking: also place hopper-web/it01-c01"),
        (
            {"ranking": ["hopper-web/it01-c00", "hopper-web/it01-c02"]},
            "not a policy to rank: hopper-web/it01-c02",
        ),
        ({"ranking": ["hopper-web/it01-c00", "hopper-web/it09-c09", "hopper-web/it01-c01"]}, "hopper-web/it09-c09"),
        (
            {"ranking": ["hopper-web/it01-c00", "hopper-web/it01-c00", "hopper-web/it01-c01"]},
            "hopper-web/it01-c00 appears twice",
        ),
        (
            {"ranking": ["hopper-web/it00-c00", "hopper-web/it00-c02"], "iteration": 0},
            "only the latest trained iteration (1)",
        ),
    ],
)
def test_bad_rankings_are_422_with_a_clear_message(
    client: TestClient, filled: Filled, body: dict, message: str
) -> None:
    response = client.post(f"/api/runs/{RUN}/preference", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert RunStore(filled.root).preference(RUN, 1) is None


def test_a_synthetic_preference_run_refuses_a_person_s_ranking(filled: Filled) -> None:
    store = RunStore(filled.root)
    store.create_run("oracle", "hopper-forward", {}, {"preference": "synthetic"}, {})
    cid = store.add_candidate("oracle", 0, 0, FIRST, llm_call_id=None)
    store.set_result(cid, _result(cid, 1.0, {}), 1.0, "trained")
    with TestClient(create_app(filled.root)) as client:
        response = client.post("/api/runs/oracle/preference", json={"ranking": [cid]})
    assert response.status_code == 409 and "synthetic oracle" in response.json()["detail"]
    assert store.preference("oracle", 0) is None


def test_malformed_ranking_bodies_are_422(client: TestClient) -> None:
    assert client.post(f"/api/runs/{RUN}/preference", json={"ranking": []}).status_code == 422
    assert client.post(f"/api/runs/{RUN}/preference", json={"order": ["x"]}).status_code == 422
    assert client.post(f"/api/runs/{RUN}/preference", content=b"not json").status_code == 422
    assert client.post("/api/runs/nope/preference", json={"ranking": ["x"]}).status_code == 404


def test_a_run_without_trained_candidates_has_nothing_to_rank(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create_run("fresh", "t", {}, {"preference": "human"}, {})
    store.add_candidate("fresh", 0, 0, FIRST, llm_call_id=None)
    with TestClient(create_app(tmp_path)) as client:
        assert client.get("/api/runs/fresh").json()["ranking"] is None
        response = client.post("/api/runs/fresh/preference", json={"ranking": ["fresh/it00-c00"]})
        assert response.status_code == 422 and "no trained policies" in response.json()["detail"]
        assert 'id="ranking"' not in client.get("/runs/fresh").text


# --- files ---------------------------------------------------------------------------------------------------


def test_videos_are_served_as_mp4_with_range_support(client: TestClient, filled: Filled) -> None:
    url = f"/runs/{RUN}/files/{_name(filled.ids['a'])}/video.mp4"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers.get("accept-ranges") == "bytes"
    size = len(whole.content)
    part = client.get(url, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-299/{size}"
    assert part.content == whole.content[100:300]
    assert client.get(f"/runs/{RUN}/files/fitness.png").headers["content-type"] == "image/png"


def test_no_path_leaves_the_run_directory(client: TestClient, filled: Filled, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    run_dir = filled.root / RUN
    (run_dir / "escape").symlink_to(secret)
    for path in ("..%2Fruns.sqlite", "%2E%2E/runs.sqlite", "it00-c00/..%2F..%2Fruns.sqlite", "%2Fetc%2Fpasswd",
                 "escape", "", "it00-c00", "..%2F..%2Fsecret.txt"):  # fmt: skip
        response = client.get(f"/runs/{RUN}/files/{path}")
        assert response.status_code == 404, path
        assert "top secret" not in response.text and "SQLite" not in response.text
    assert inside(run_dir, "../runs.sqlite") is None
    assert inside(run_dir, "/etc/passwd") is None
    assert inside(run_dir, "escape") is None
    assert inside(run_dir, "it00-c00/reward.py") == (run_dir / "it00-c00" / "reward.py").resolve()


# --- pages ---------------------------------------------------------------------------------------------------


def test_pages_show_runs_verdicts_videos_curves_and_diffs(client: TestClient, filled: Filled) -> None:
    index = client.get("/")
    assert index.status_code == 200 and f'href="/runs/{RUN}"' in index.text and "waiting_preference" in index.text
    page = client.get(f"/runs/{RUN}").text
    assert "This run waits for your ranking" in page and "Rank the policies of iteration 2" in page
    assert page.count("<video") == 4  # iteration 1's two in the ranking section, iteration 0's two in its own
    assert "State has no field" in page and "training failed at line 2" in page
    assert f"/runs/{RUN}/files/it00-c00/learning_curve.png" in page  # the trainer's PNG
    assert '<svg class="chart"' in page and "component alive" in page  # drawn from checkpoints: no PNG there
    candidate = client.get(f"/runs/{RUN}/candidates/it01-c00").text
    assert "Change from it00-c00" in candidate and 'class="add"' in candidate
    assert "1.5 * state.x_velocity" in candidate and "<svg" in candidate
    rejected = client.get(f"/runs/{RUN}/candidates/it00-c01").text
    assert 'class="line marked" id="L2"' in rejected
    assert client.get("/static/ranking.js").status_code == 200


def test_serve_on_a_busy_port_says_to_pass_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli_app, ["serve", "--port", str(port), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"port {port}" in result.output and "--port" in result.output
    assert "Traceback" not in result.output


# --- a real browser ------------------------------------------------------------------------------------------

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def served(filled: Filled) -> Iterator[str]:
    """The real app under uvicorn on a free port of 127.0.0.1, in a thread."""
    from autoreward.web.server import bind, server, url

    sock = bind(0)
    srv = server(filled.root, sock)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if srv.started:
            break
        threading.Event().wait(0.02)
    assert srv.started, "uvicorn did not start"
    yield url(sock)
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def browser(tmp_path: Path):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1700",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


PLAY = """
const done = arguments[arguments.length - 1];
const video = document.querySelector('#ranking video');
video.play().then(() => done('playing')).catch((err) => done('play failed: ' + err));
"""
DRAG = """
const [source, target] = arguments;
const data = new DataTransfer();
const box = target.getBoundingClientRect();
const at = {bubbles: true, cancelable: true, dataTransfer: data, clientX: box.left + 5, clientY: box.top + 2};
source.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
target.dispatchEvent(new DragEvent('dragover', at));
target.dispatchEvent(new DragEvent('drop', at));
source.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: data}));
"""


def _order(browser) -> list[str]:
    return browser.execute_script(
        "return [...document.querySelectorAll('#ranking-list li')].map(li => li.dataset.candidate);"
    )


STATE = (
    "const v = document.querySelector('#ranking video'); return [v.currentTime, v.readyState, v.error && v.error.code];"
)


@pytest.mark.slow
def test_browser_plays_a_clip_and_submits_a_ranking(served: str, browser, filled: Filled, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_script_timeout(30)
    browser.get(f"{served}runs/{RUN}")
    assert "This run waits for your ranking" in browser.find_element(By.ID, "ranking").text
    assert browser.execute_async_script(PLAY) == "playing"
    WebDriverWait(browser, 30).until(lambda b: b.execute_script(STATE)[0] > 0)
    current, ready, error = browser.execute_script(STATE)
    assert current > 0
    assert ready >= 2 and error is None

    items = browser.find_elements(By.CSS_SELECTOR, "#ranking-list li")
    assert [i.get_attribute("data-candidate") for i in items] == [filled.ids["a2"], filled.ids["b2"]]
    browser.execute_script(DRAG, items[1], items[0])  # drag b2 onto the top half of a2: b2 first
    assert _order(browser) == [filled.ids["b2"], filled.ids["a2"]]
    items[1].find_element(By.CSS_SELECTOR, "button.down").click()  # b2 down: a2 first
    assert _order(browser) == [filled.ids["a2"], filled.ids["b2"]]
    items[0].find_element(By.CSS_SELECTOR, "button.down").click()  # a2 down: b2 first
    assert _order(browser) == [filled.ids["b2"], filled.ids["a2"]]
    browser.find_element(By.ID, "submit-ranking").click()
    message = WebDriverWait(browser, 30).until(
        lambda b: (m := b.find_element(By.ID, "ranking-message").text).startswith(("stored", "not stored")) and m
    )
    assert message.startswith("stored for iteration 2"), message  # people count iterations from 1
    stored = RunStore(filled.root).preference(RUN, 1)
    assert (stored["source"], stored["ranking"]) == ("human", [filled.ids["b2"], filled.ids["a2"]])

    shot = tmp_path / "run-page.png"
    assert browser.save_screenshot(str(shot))
    shutil.copy(shot, "/tmp/autoreward-web-screenshot.png")
    browser.find_element(By.LINK_TEXT, "it01-c00").click()  # the revision's page: code, diff, curves
    WebDriverWait(browser, 30).until(lambda b: "Change from it00-c00" in b.page_source)
    assert browser.save_screenshot(str(tmp_path / "candidate-page.png"))


def test_generated_text_is_escaped_never_markup(tmp_path: Path) -> None:
    """Code, verdict messages and component names come from an LLM: the page shows them as text."""
    store = RunStore(tmp_path)
    store.create_run("x", "t", {"name": "t"}, {}, {})
    evil = "<script>alert(1)</script>"
    cid = store.add_candidate(
        "x", 0, 0, f"# {evil}\ndef compute_reward(p, a, s):\n    return 0.0, {{}}\n", llm_call_id=None
    )
    store.set_verdict(cid, {"reasons": [{"stage": "review", "severity": "warning", "line": 1, "message": evil}]}, True)
    checkpoint = {"timesteps": 10, "components": {evil: {"mean": 1.0, "min": 0.0, "max": 2.0, "share": 1.0}}}
    store.set_result(
        cid, {"status": "ok", "checkpoints": [checkpoint, {**checkpoint, "timesteps": 20}]}, 1.0, "trained"
    )
    with TestClient(create_app(tmp_path)) as client:
        for url in ("/runs/x", "/runs/x/candidates/it00-c00"):
            page = client.get(url).text
            assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


# --- program data stays data (issue 34, finding 8) ----------------------------------------------------------

PLANTED_SVG = """<svg xmlns="http://www.w3.org/2000/svg"><script>
fetch("/api/runs/hopper-web/preference", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({iteration: 1, ranking: ["hopper-web/it01-c01", "hopper-web/it01-c00"]})});
document.title = "pwned";
</script></svg>"""


def _plant(filled: Filled) -> str:
    """What a hostile training worker leaves: an SVG and an HTML page with scripts in its scratch, and a result
    whose artefact list names them (as the worker's report may). Returns the SVG's URL."""
    store = RunStore(filled.root)
    cid = filled.ids["a2"]
    train = store.candidate_dir(cid) / "train"
    train.mkdir(parents=True, exist_ok=True)
    (train / "evil.svg").write_text(PLANTED_SVG)
    (train / "page.html").write_text("<html><script>document.title='pwned'</script></html>")
    result = store.candidate(cid).result
    result["artifacts"] = {**result["artifacts"], "evil": "train/evil.svg", "video": "train/evil.svg",
                           "learning_curve": "train/page.html"}  # fmt: skip
    store.set_result(cid, result, 2.2, "trained")
    store.close()
    return f"/runs/{RUN}/files/{_name(cid)}/train/evil.svg"


def test_the_page_links_only_the_parent_s_artefact_names(client: TestClient, filled: Filled) -> None:
    svg = _plant(filled)
    detail = client.get(f"/api/runs/{RUN}/candidates/{_name(filled.ids['a2'])}").json()
    assert detail["candidate"]["files"] == {"video": f"/runs/{RUN}/files/{_name(filled.ids['a2'])}/video.mp4"}
    for url in (f"/runs/{RUN}", f"/runs/{RUN}/candidates/{_name(filled.ids['a2'])}"):
        page = client.get(url).text
        assert "evil.svg" not in page and "page.html" not in page, url
    assert svg.endswith("evil.svg")


@pytest.mark.parametrize("planted", ["evil.svg", "page.html"])
def test_a_planted_file_is_a_download_never_a_document(client: TestClient, filled: Filled, planted: str) -> None:
    _plant(filled)
    response = client.get(f"/runs/{RUN}/files/{_name(filled.ids['a2'])}/train/{planted}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def test_every_response_forbids_sniffing_and_inline_scripts(client: TestClient, filled: Filled) -> None:
    urls = ["/", f"/runs/{RUN}", f"/runs/{RUN}/candidates/it01-c00", "/api/runs", f"/api/runs/{RUN}",
            "/static/ranking.js", "/static/style.css", f"/runs/{RUN}/files/fitness.png", "/runs/nope",
            f"/runs/{RUN}/files/it00-c00/video.mp4", "/api/openapi.json"]  # fmt: skip
    for url in urls:
        headers = client.get(url).headers
        policy = headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff", url
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
    assert "script-src 'self'" in client.get(f"/runs/{RUN}").headers["content-security-policy"]
    assert client.get("/api/docs").status_code == 404  # its page needs inline and foreign scripts


def test_the_pages_need_nothing_the_policy_forbids(client: TestClient) -> None:
    """No inline script, event handler, style attribute or foreign URL: the pages work under the CSP."""
    import re

    for url in ("/", f"/runs/{RUN}", f"/runs/{RUN}/candidates/it01-c00", f"/runs/{RUN}/candidates/it00-c01"):
        page = client.get(url).text
        scripts = re.findall(r"<script([^>]*)>", page)
        assert scripts and all('src="/static/' in attrs for attrs in scripts), url
        assert not re.search(r"\son[a-z]+\s*=", page), url
        assert " style=" not in page and "<style" not in page, url
        assert not re.search(r'(?:src|href)="(?:https?:)?//', page), url


def test_with_a_token_a_refusal_carries_the_headers_too(filled: Filled) -> None:
    with TestClient(create_app(filled.root, token="a-test-token-0123456789")) as client:
        refused = client.get(f"/runs/{RUN}")
    assert refused.status_code == 401 and refused.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in refused.headers["content-security-policy"]


@pytest.mark.slow
def test_browser_runs_no_script_of_a_planted_svg(served: str, browser, filled: Filled) -> None:
    """Opened in a real browser, the planted SVG is a download: its script never posts a ranking."""
    svg = _plant(filled)
    browser.get(f"{served}runs/{RUN}")  # the page itself still works under its policy: the ranking control ran
    assert browser.execute_script("return document.querySelector('#ranking-list li') !== null")
    assert browser.execute_script("return getComputedStyle(document.body).margin") == "0px"  # style.css loaded
    browser.get(f"{served}{svg.lstrip('/')}")
    threading.Event().wait(1.0)
    assert RunStore(filled.root).preference(RUN, 1) is None
    assert browser.title != "pwned"
