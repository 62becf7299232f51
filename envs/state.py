"""The named, read-only State that reward programs read, built automatically from an env.

A reward program should say ``state.joint_angle["thigh_joint"]``, not ``obs[3]``. For a MuJoCo env the
fields come from the model's own names (bodies, joints, sites, actuators), so any MuJoCo env, including a
user's own XML, gets them without hand-written code; other envs get named slices of their observation from
a documented layout. ``State.obs`` is always the env's observation, unchanged.

This module depends only on numpy, gymnasium and mujoco, so ``autoreward export`` can ship it verbatim.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import gymnasium as gym

Snapshot = dict[str, Any]


def sealed(value: Any) -> np.ndarray:
    """A read-only copy of ``value`` that can never be made writable again.

    ``flags.writeable = False`` alone is undone by ``setflags(write=True)`` on an array that owns its memory (or
    through a view's ``.base``). An array over an immutable ``bytes`` object refuses that, and so does every view
    of it; a copy also leaves no ``.base`` into the simulator's own memory."""
    array = np.asarray(value)
    if is_sealed(array):
        return array
    return np.frombuffer(array.tobytes(), dtype=array.dtype).reshape(array.shape)


def _frozen(value: np.ndarray) -> np.ndarray:
    """Flagged read-only, for the snapshot's own copies (cheap, every step); what a program reads is ``sealed``
    when a field is first read."""
    value.flags.writeable = False
    return value


def is_sealed(array: np.ndarray) -> bool:
    """Whether ``array``'s memory is an immutable bytes object (the end of its ``.base`` chain)."""
    base: Any = array
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, bytes)


class FieldNotCaptured(LookupError):
    """A State narrowed to the fields a program names was asked for another one (a name the program computes).

    Not an AttributeError or KeyError: ``getattr(state, name, 0.0)`` or ``except KeyError`` must not turn a
    field that was never recorded into a silent default."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"State field {name!r} was not captured: read it as state.{name} (fields are recorded only where the "
            "program names them; a name built at run time is not seen)"
        )
        self.name = name


def _did_you_mean(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


class NamedValues(Mapping[str, Any]):
    """Read-only mapping from a name (joint, body, ...) to its value in one snapshot."""

    __slots__ = ("_array", "_field", "_index")

    def __init__(self, field_name: str, index: Mapping[str, Any], array: np.ndarray) -> None:
        self._field = field_name
        self._index = index
        self._array = sealed(array)

    def __getitem__(self, name: str) -> Any:
        try:
            idx = self._index[name]
        except KeyError:
            raise KeyError(
                f"{self._field} has no entry {name!r}{_did_you_mean(str(name), list(self._index))} "
                f"(names: {', '.join(self._index)})"
            ) from None
        value = self._array[idx]
        return value if isinstance(value, np.ndarray) else float(value)  # np.ndim costs ~10x this check

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"{self._field}({{{', '.join(f'{k!r}: {self[k]!r}' for k in self._index)}}})"


@dataclass(frozen=True)
class Field:
    """One named State field: how to compute it from a snapshot, and what it means."""

    name: str
    unit: str
    doc: str
    compute: Callable[[Snapshot], Any] = field(repr=False, compare=False)
    keys: tuple[str, ...] = ()  # non-empty for mapping fields such as joint_angle[name]
    shape: tuple[int, ...] = ()  # shape of the value, or of each entry of a mapping field
    needs: tuple[str, ...] = ()  # the snapshot's parts that ``compute`` reads (``obs`` is always there)


def _read(state: State, name: str, compute: Callable[[Snapshot], Any]) -> Any:
    """Field ``name`` of ``state``: computed on first read, an array ``sealed``, then cached."""
    cache = state._cache
    if name in cache:
        return cache[name]
    value = compute(state._snap)
    if isinstance(value, np.ndarray):
        value = sealed(value)
    cache[name] = value
    return value


def _field_property(name: str, compute: Callable[[Snapshot], Any]) -> property:
    """``state.<name>`` as a property of the spec's own State class: a read is one call, not a failed attribute
    lookup (an exception inside CPython) followed by ``__getattr__``."""
    return property(lambda state: _read(state, name, compute))


class State:
    """A read-only view of the env after one step; fields are computed on first access and cached.

    Every array a field gives out is ``sealed`` (a copy over immutable bytes) when first read, so no program can
    make it writable again; sealing on read keeps the per-step snapshot as cheap as plain copies. A spec's
    snapshots are of its own subclass, with one property per field; ``__getattr__`` serves a bare State."""

    __slots__ = ("_cache", "_snap", "_spec")

    def __init__(self, spec: StateSpec, snap: Snapshot) -> None:
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_snap", snap)
        object.__setattr__(self, "_cache", {})

    def __getattr__(self, name: str) -> Any:
        fld = self._spec.fields.get(name)
        if fld is None:
            raise self._spec.unknown(name, AttributeError)
        return _read(self, name, fld.compute)

    def __getitem__(self, name: str) -> Any:
        """``state["x_velocity"]`` is ``state.x_velocity`` (models often write fields as keys)."""
        if not isinstance(name, str):
            raise TypeError(
                f"State fields are read by name (state['obs'] or state.obs), not by {type(name).__name__}: for the "
                "observation's entries write state.obs[i]"
            )
        if name not in self._spec.fields:
            raise self._spec.unknown(name, KeyError)
        return getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("State is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("State is read-only")

    def __dir__(self) -> list[str]:
        """Every field of the env, captured or not: a program that walks them all fails loudly on a narrowed
        State rather than silently reading fewer."""
        return [*self._spec.fields, *sorted(self._spec.omitted)]

    def __repr__(self) -> str:
        return f"State({', '.join(self._spec.fields)})"


Part = Callable[[], Any]


class StateSpec:
    """The fields of one env's State and how to snapshot them; built once per env.

    A snapshot is ``capture()`` (a suite's whole snapshot, or an empty dict) plus one entry per ``parts`` item:
    each part copies one piece of the simulator (``xpos``, ``qvel``, ...), so ``narrowed`` can drop the pieces
    no kept field ``needs``. ``omitted`` names the env's fields a narrowed spec left out."""

    def __init__(
        self,
        fields: Sequence[Field],
        capture: Callable[[], Snapshot] = dict,
        parts: Mapping[str, Part] | None = None,
        omitted: Iterable[str] = (),
    ) -> None:
        self.fields: dict[str, Field] = {f.name: f for f in fields}
        self.omitted = frozenset(omitted)
        self._capture = capture
        self._parts = dict(parts or {})
        self._part_items = tuple(self._parts.items())
        readers = {name: _field_property(name, f.compute) for name, f in self.fields.items() if name[:1] != "_"}
        self._state_class = type("State", (State,), {"__slots__": (), **readers})

    @property
    def parts(self) -> tuple[str, ...]:
        """The pieces of the simulator each snapshot copies (beyond ``capture()``'s and the observation)."""
        return tuple(self._parts)

    def snapshot(self, obs: Any) -> State:
        """Copy what the fields need from the env now, so the State stays valid after the next step."""
        snap = self._capture()
        for key, part in self._part_items:
            snap[key] = part()
        snap["obs"] = _frozen(flat_obs(obs))
        return self._state_class(self, snap)

    def narrowed(self, names: Iterable[str]) -> StateSpec:
        """This spec with only the fields in ``names`` (and ``obs``), whose snapshots copy only the parts those
        fields need: a training step then pays for what the program and the fitness read, not for every body's
        arrays. Reading a left-out field raises ``FieldNotCaptured``. Names that are no field are ignored."""
        wanted = {"obs", *names}
        kept = [f for name, f in self.fields.items() if name in wanted]
        needed = {key for f in kept for key in f.needs}
        parts = {key: part for key, part in self._parts.items() if key in needed}
        return StateSpec(kept, self._capture, parts, self.omitted | (self.fields.keys() - wanted))

    def extended(self, fields: Sequence[Field], parts: Mapping[str, Part] | None = None) -> StateSpec:
        """This spec with ``fields`` added (a card's names for observation entries, which read only ``obs``; a
        user's hook's fields, which read the ``parts`` given with them)."""
        return StateSpec(
            [*self.fields.values(), *fields], self._capture, {**self._parts, **(parts or {})}, self.omitted
        )

    def unknown(self, name: str, kind: type[LookupError] | type[AttributeError]) -> Exception:
        """The error for reading ``name``, which is not a kept field: ``FieldNotCaptured`` for a field this
        narrowed spec left out, else ``kind`` naming the fields and the closest ones."""
        if name in self.omitted:
            return FieldNotCaptured(name)
        names = [*self.fields, *sorted(self.omitted)]
        return kind(f"State has no field {name!r}{_did_you_mean(name, names)} (fields: {', '.join(names)})")


def flat_obs(obs: Any) -> np.ndarray:
    """The observation as one float vector: a dict observation (gymnasium-robotics' goal envs) becomes its
    entries concatenated in sorted key order, exactly as ``gymnasium.wrappers.FlattenObservation`` does."""
    if isinstance(obs, Mapping):
        return np.concatenate([np.ravel(np.asarray(obs[k], dtype=np.float64)) for k in sorted(obs)])
    return np.array(obs, dtype=np.float64, copy=True)


# --- observation layouts: named slices of obs, for envs without a MuJoCo model ---------------------------


@dataclass(frozen=True)
class ObsField:
    """A named scalar read from ``obs[index]`` (a vector ``obs[index:index + size]`` when ``size`` > 1), or a
    scalar derived from the named ones by ``derive``."""

    name: str
    unit: str
    doc: str
    index: int | None = None
    derive: Callable[[Mapping[str, Any]], float] | None = None
    size: int = 1
    vector: bool = False  # a vector even where ``size`` is 1 (a card's ``name = [3, 4]``)


def _obs_value(obs: np.ndarray, index: int, size: int) -> Any:
    return float(obs[index]) if size == 1 else obs[index : index + size]


def _obs_field(spec: ObsField, layout: Sequence[ObsField]) -> Field:
    if spec.index is not None:
        i, n = spec.index, spec.size
        if n == 1 and not spec.vector:
            return Field(spec.name, spec.unit, spec.doc, lambda s: float(s["obs"][i]))
        return Field(spec.name, spec.unit, spec.doc, lambda s: s["obs"][i : i + n], shape=(n,))
    named = {f.name: (f.index, f.size) for f in layout if f.index is not None}
    derive = spec.derive
    assert derive is not None, f"ObsField {spec.name} needs an index or a derive function"
    return Field(
        spec.name, spec.unit, spec.doc,
        lambda s: float(derive({k: _obs_value(s["obs"], i, n) for k, (i, n) in named.items()})),
    )  # fmt: skip


def named_obs_fields(spans: Mapping[str, Sequence[Any]]) -> tuple[ObsField, ...]:
    """A task card's names for entries of its env's observation, each ``(start, stop, vector)``: a scalar
    ``obs[start]`` or, where ``vector``, the slice ``obs[start:stop]``."""
    return tuple(
        ObsField(name, "", f"obs[{a}:{b}], named by the task card" if vec else f"obs[{a}], named by the task card",
                 int(a), size=int(b) - int(a), vector=bool(vec))
        for name, (a, b, vec) in spans.items()
    )  # fmt: skip


HOOK = "autoreward_state"  # the function in a user's env module that exposes more of the env to the State


def hook_fields(env: gym.Env, hook: Callable[[Any], Mapping[str, Any]]) -> tuple[list[Field], dict[str, Part]]:
    """State fields from a user's ``autoreward_state(env) -> {name: float or array}`` (its env module's function,
    given ``env.unwrapped``): called at every snapshot, its values copied as floats and read-only float arrays.
    The names and shapes are those of its first call, made when the State is built, before the env's first reset
    (the hook must answer there too)."""

    def part() -> dict[str, Any]:
        values = hook(env.unwrapped)
        return {name: _hook_value(values[name]) for name in names}

    first = {str(name): _hook_value(value) for name, value in hook(env.unwrapped).items()}
    names = list(first)
    fields = [
        Field(name, "", f"{HOOK}(env)[{name!r}], from the env's module", lambda s, n=name: s["hook"][n],
              shape=np.shape(first[name]), needs=("hook",))
        for name in names
    ]  # fmt: skip
    return fields, {"hook": part}


def _hook_value(value: Any) -> Any:
    array = np.array(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else _frozen(array)


def obs_fields(layout: Sequence[ObsField]) -> list[Field]:
    """The State fields of an observation layout."""
    return [_obs_field(f, layout) for f in layout]


# --- MuJoCo: fields from the model's names ----------------------------------------------------------------


def _names(model: Any, objtype: Any, count: int, fallback: Callable[[int], str]) -> list[str]:
    import mujoco

    names = []
    for i in range(count):
        name = mujoco.mj_id2name(model, objtype, i) or fallback(i)
        while name in names:
            name = f"{name}_{i}"
        names.append(name)
    return names


def _body_names(model: Any) -> list[str]:
    """Body names; an unnamed body takes its first named geom's name (Ant's feet), else ``body_<id>``."""
    import mujoco

    def fallback(b: int) -> str:
        for g in range(model.ngeom):
            if model.geom_bodyid[g] == b:
                gname = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, g)
                if gname:
                    return gname.removesuffix("_geom")
        return f"body_{b}"

    return _names(model, mujoco.mjtObj.mjOBJ_BODY, model.nbody, fallback)


def _actuator_names(model: Any) -> list[str]:
    """Actuator names; an unnamed one takes the name of the joint it drives."""
    import mujoco

    def fallback(a: int) -> str:
        if model.actuator_trntype[a] == mujoco.mjtTrn.mjTRN_JOINT:
            jname = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, model.actuator_trnid[a, 0])
            if jname:
                return jname
        return f"actuator_{a}"

    return _names(model, mujoco.mjtObj.mjOBJ_ACTUATOR, model.nu, fallback)


def actuator_names(env: gym.Env) -> list[str]:
    """Names of the action vector's entries, where the env is a MuJoCo env."""
    model = getattr(env.unwrapped, "model", None)
    return _actuator_names(model) if model is not None and hasattr(model, "nu") else []


def _root_body(model: Any) -> int | None:
    """The first body under the world if it can move freely or slide (a floating base), else None."""
    import mujoco

    if model.nbody < 2 or model.body_parentid[1] != 0:
        return None
    adr, num = model.body_jntadr[1], model.body_jntnum[1]
    types = {int(model.jnt_type[j]) for j in range(adr, adr + num)}
    mobile = {int(mujoco.mjtJoint.mjJNT_FREE), int(mujoco.mjtJoint.mjJNT_SLIDE)}
    return 1 if types & mobile else None


def _body_velocities(s: Snapshot, rootid: np.ndarray) -> np.ndarray:
    """World-frame linear velocity of every body origin, from MuJoCo's com-based cvel (computed on first use)."""
    cached = s.get("body_velocity_all")
    if cached is not None:
        return cached
    o = s["xpos"] - s["subtree_com"][rootid]
    w0, w1, w2, v0, v1, v2 = s["cvel"].T
    o0, o1, o2 = o.T
    # v + w x o written out: np.cross costs several times more on these small arrays, every step.
    out = np.empty_like(o)
    out[:, 0] = v0 + w1 * o2 - w2 * o1
    out[:, 1] = v1 + w2 * o0 - w0 * o2
    out[:, 2] = v2 + w0 * o1 - w1 * o0
    s["body_velocity_all"] = _frozen(out)
    return out


def _root_velocity(s: Snapshot) -> tuple[float, float, float]:
    """The root body's world-frame linear velocity: ``_body_velocities``' formula on its row alone, in floats
    (the same operations in the same order, so the same numbers, at a fraction of the cost)."""
    cached = s.get("root_velocity")
    if cached is not None:
        return cached
    w0, w1, w2, v0, v1, v2 = s["root_cvel"]
    x0, x1, x2 = s["root_xpos"]
    c0, c1, c2 = s["root_com"]
    o0, o1, o2 = x0 - c0, x1 - c1, x2 - c2
    out = s["root_velocity"] = (v0 + w1 * o2 - w2 * o1, v1 + w2 * o0 - w0 * o2, v2 + w0 * o1 - w1 * o0)
    return out


def _contacts(geoms: np.ndarray, geom_body: np.ndarray, nbody: int) -> np.ndarray:
    """1.0 for every body in a contact with another body; ``geoms`` are the contacts' geom pairs."""
    touching = np.zeros(nbody)
    if len(geoms):
        b1, b2 = geom_body[geoms[:, 0]], geom_body[geoms[:, 1]]
        between = b1 != b2
        touching[b1[between]] = 1.0
        touching[b2[between]] = 1.0
    return _frozen(touching)


class _Views:
    """The env's MjData arrays, fetched once: every attribute read on MjData builds a new numpy view, and a
    snapshot would pay that per array per step. ``check`` (one per snapshot) fetches them again should the env
    replace its MjData."""

    def __init__(self, core: Any, root: int | None) -> None:
        self._core = core
        self._root = root
        self.data: Any = None
        self.check()

    def check(self) -> Snapshot:
        """An empty snapshot to fill, after making sure the views are the env's current MjData's."""
        if self._core.data is not self.data:
            data = self.data = self._core.data
            self.xpos, self.cvel, self.subtree_com = data.xpos, data.cvel, data.subtree_com
            self.site_xpos, self.qpos, self.qvel = data.site_xpos, data.qpos, data.qvel
            if self._root is not None:
                r = self._root
                self.root_xpos, self.root_cvel, self.root_com = data.xpos[r], data.cvel[r], data.subtree_com[r]
                self.root_xmat = data.xmat[r]
        return {}


def _mujoco_fields(model: Any, env: gym.Env) -> tuple[list[Field], Callable[[], Snapshot], dict[str, Part]]:
    import mujoco

    jt = mujoco.mjtJoint
    bodies = _body_names(model)
    body_index = {name: i for i, name in enumerate(bodies) if i > 0}
    scalar_joints = [j for j in range(model.njnt) if model.jnt_type[j] in (int(jt.mjJNT_HINGE), int(jt.mjJNT_SLIDE))]
    joint_names = _names(model, mujoco.mjtObj.mjOBJ_JOINT, model.njnt, lambda j: f"joint_{j}")
    qpos_index = {joint_names[j]: int(model.jnt_qposadr[j]) for j in scalar_joints}
    qvel_index = {joint_names[j]: int(model.jnt_dofadr[j]) for j in scalar_joints}
    any_slide = any(model.jnt_type[j] == int(jt.mjJNT_SLIDE) for j in scalar_joints)
    angle_unit = "rad (m for slide joints)" if any_slide else "rad"

    geom_body = sealed(model.geom_bodyid)
    rootid = sealed(model.body_rootid)
    nbody = int(model.nbody)
    qpos_keys = {k: i for i, k in enumerate(qpos_index)}
    qvel_keys = {k: i for i, k in enumerate(qvel_index)}

    fields = [
        Field("time", "s", "simulation time", lambda s: s["time"], needs=("time",)),
        Field(
            "joint_angle",
            angle_unit,
            "position of each hinge/slide joint",
            lambda s: NamedValues("joint_angle", qpos_keys, s["qpos"]),
            keys=tuple(qpos_index),
            needs=("qpos",),
        ),
        Field(
            "joint_velocity",
            angle_unit.replace("rad", "rad/s").replace("m ", "m/s "),
            "velocity of each hinge/slide joint",
            lambda s: NamedValues("joint_velocity", qvel_keys, s["qvel"]),
            keys=tuple(qvel_index),
            needs=("qvel",),
        ),
        Field(
            "body_pos",
            "m",
            "world position (x, y, z) of each body",
            lambda s: NamedValues("body_pos", body_index, s["xpos"]),
            keys=tuple(body_index),
            shape=(3,),
            needs=("xpos",),
        ),
        Field(
            "body_velocity",
            "m/s",
            "world-frame linear velocity (vx, vy, vz) of each body",
            lambda s: NamedValues("body_velocity", body_index, _body_velocities(s, rootid)),
            keys=tuple(body_index),
            shape=(3,),
            needs=("xpos", "cvel", "subtree_com"),
        ),
        Field(
            "contact",
            "0/1",
            "1.0 if the body touches another body or the floor",
            lambda s: NamedValues("contact", body_index, _contacts(s["contact_geoms"], geom_body, nbody)),
            keys=tuple(body_index),
            needs=("contact_geoms",),
        ),
    ]
    if model.nsite:
        site_index = {n: i for i, n in enumerate(_names(model, mujoco.mjtObj.mjOBJ_SITE, model.nsite, str))}
        fields.append(
            Field(
                "site_pos",
                "m",
                "world position of each named site",
                lambda s: NamedValues("site_pos", site_index, s["site_xpos"]),
                keys=tuple(site_index),
                shape=(3,),
                needs=("site_xpos",),
            )
        )
    root = _root_body(model)
    fields += _root_fields(bodies[root], root) if root is not None else []

    views = _Views(env.unwrapped, root)
    qpos_idx = np.array(list(qpos_index.values()), dtype=int)
    qvel_idx = np.array(list(qvel_index.values()), dtype=int)
    # Each part copies now what the next step changes (no view into the simulator); fields derive the rest
    # when read.
    parts: dict[str, Part] = {
        "time": lambda: float(views.data.time),
        "xpos": lambda: _frozen(views.xpos.copy()),
        "cvel": lambda: _frozen(views.cvel.copy()),
        "subtree_com": lambda: _frozen(views.subtree_com.copy()),
        "site_xpos": lambda: _frozen(views.site_xpos.copy()),
        "qpos": lambda: _frozen(views.qpos[qpos_idx]),
        "qvel": lambda: _frozen(views.qvel[qvel_idx]),
        "contact_geoms": lambda: _frozen(views.data.contact.geom[: views.data.ncon].copy()),
    }
    if root is not None:  # the root's rows as Python floats: what most rewards read, for a few hundred ns
        parts |= {
            "root_xpos": lambda: views.root_xpos.tolist(),
            "root_cvel": lambda: views.root_cvel.tolist(),
            "root_com": lambda: views.root_com.tolist(),
            "root_xmat": lambda: views.root_xmat.tolist(),
        }
    return fields, views.check, parts


def _root_fields(name: str, root: int) -> list[Field]:
    def heading(s: Snapshot) -> float:
        m = s["root_xmat"]
        return math.atan2(m[3], m[0])

    pos, vel, com, mat = ("root_xpos",), ("root_xpos", "root_cvel", "root_com"), ("root_com",), ("root_xmat",)
    return [
        Field("x_position", "m", f"x of the {name} (forward axis)", lambda s: s["root_xpos"][0], needs=pos),
        Field("y_position", "m", f"y of the {name} (lateral axis)", lambda s: s["root_xpos"][1], needs=pos),
        Field("height", "m", f"z of the {name} above the floor", lambda s: s["root_xpos"][2], needs=pos),
        Field("x_velocity", "m/s", f"forward velocity of the {name}", lambda s: _root_velocity(s)[0], needs=vel),
        Field("y_velocity", "m/s", f"lateral velocity of the {name}", lambda s: _root_velocity(s)[1], needs=vel),
        Field("z_velocity", "m/s", f"vertical velocity of the {name}", lambda s: _root_velocity(s)[2], needs=vel),
        Field("angular_velocity", "rad/s", f"world-frame angular velocity (wx, wy, wz) of the {name}",
              lambda s: sealed(np.array(s["root_cvel"][:3])), shape=(3,), needs=("root_cvel",)),
        Field("upright", "cos", f"z-component of the {name}'s up axis: 1 upright, 0 on its side, -1 upside down",
              lambda s: s["root_xmat"][8], needs=mat),
        Field("heading", "rad", f"yaw of the {name}'s forward axis in the xy-plane (0 = +x)", heading, needs=mat),
        Field("com_position", "m", "centre of mass of the whole robot (x, y, z)",
              lambda s: sealed(np.array(s["root_com"])), shape=(3,), needs=com),
    ]  # fmt: skip


def build_state_spec(env: gym.Env, obs_layout: Sequence[ObsField] = ()) -> StateSpec:
    """The State of ``env``: MuJoCo fields where it has a model, plus ``obs_layout``'s named slices."""
    fields: list[Field] = [Field("obs", "", "the env's own observation, unchanged", lambda s: s["obs"])]
    fields += obs_fields(obs_layout)
    model = getattr(env.unwrapped, "model", None)
    capture: Callable[[], Snapshot] = dict
    parts: dict[str, Part] = {}
    if model is not None and hasattr(model, "nbody") and hasattr(env.unwrapped, "data"):
        mj_fields, capture, parts = _mujoco_fields(model, env)
        fields += mj_fields
    fields[1:] = sorted(fields[1:], key=lambda f: _FIELD_ORDER.get(f.name, 0))
    return StateSpec(fields, capture, parts)


# Root summaries first: they are what most rewards read.
_FIELD_ORDER = {
    name: i - 100
    for i, name in enumerate(
        ("x_position", "y_position", "height", "x_velocity", "y_velocity", "z_velocity", "angular_velocity",
         "upright", "heading", "com_position")
    )
}  # fmt: skip


def field_values(state: State) -> dict[str, np.ndarray]:
    """Every field of ``state`` flattened to a float vector, keyed by its readable path (for ranges, tests)."""
    out: dict[str, np.ndarray] = {}
    for name, fld in state._spec.fields.items():
        if name == "obs":
            continue
        value = getattr(state, name)
        if fld.keys:
            for key in fld.keys:
                out[f'{name}["{key}"]'] = np.atleast_1d(np.asarray(value[key], dtype=np.float64))
        else:
            out[name] = np.atleast_1d(np.asarray(value, dtype=np.float64))
    return out
