"""The reward program's allow-list: every module, name and attribute a program may use, checked on its syntax
tree before any of its code runs.

A program that passes cannot leave the arithmetic it is for. It imports only the listed members of numpy, math
and a few pure standard-library modules, and uses a module only as ``module.<listed name>``, never as a value.
It names no builtin outside a short list (no getattr, type, eval, open, super, ...) and no dunder. It reads an
attribute only by its literal name, and that name is either known pure (ndarray, scalar and container methods)
or names nothing at all on any object the program can reach: those objects' attributes (frames, code,
``ndarray.tofile``, ``str.format``, ...) are enumerated from the objects themselves, so a State field or the
program's own attribute may have any other name. It assigns attributes only to its own objects (``self.x``,
``C.x`` for its classes) and holds no modifiable library class as a value, so it patches nothing the user's
code calls. No string annotations, no async, no ``yield``, no ``match``.
The Critic, ``RewardWrapper.from_file`` and the exported file check the same rules, and the exported file runs
the program only after this check, with only the listed builtins. Depends only on the standard library and
numpy: the export ships it verbatim.
"""

from __future__ import annotations

import ast
import builtins
import functools
import sys
import types
from collections.abc import Iterator

import numpy as np


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What each importable module offers a program: pure functions, constants and types.
_NUMPY = (
    "abs absolute add all allclose amax amin any arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh "
    "argmax argmin argsort argwhere around array array_equal asarray atleast_1d atleast_2d average bincount bool_ "
    "broadcast_to cbrt ceil clip column_stack concatenate copysign cos cosh count_nonzero cross cumprod cumsum "
    "deg2rad degrees diag diff digitize divide dot e einsum equal exp exp2 expand_dims expm1 eye fabs finfo flip "
    "flatnonzero float16 float32 float64 floating floor floor_divide fmax fmin fmod full full_like greater "
    "greater_equal heaviside hstack hypot iinfo inf inner int8 int16 int32 int64 int_ integer interp isclose "
    "isfinite isinf isnan isscalar less less_equal linalg linspace log log10 log1p log2 logaddexp logical_and "
    "logical_not logical_or logical_xor matmul max maximum mean median meshgrid min minimum mod multiply nan "
    "nan_to_num nanmax nanmean nanmin nansum ndarray negative nonzero not_equal number ones ones_like outer pi "
    "power prod rad2deg radians ravel reciprocal remainder repeat reshape rint roll round searchsorted sign "
    "signbit sin sinc sinh sort sqrt square squeeze stack std subtract sum take tan tanh tile trace transpose "
    "true_divide trunc uint8 unique unwrap var vstack where zeros zeros_like"
)
_LINALG = "cholesky det eig eigh eigvals inv lstsq matrix_rank multi_dot norm pinv qr solve svd"
_MATH = (
    "acos acosh asin asinh atan atan2 atanh ceil comb copysign cos cosh degrees dist e erf erfc exp expm1 fabs "
    "factorial floor fmod frexp fsum gamma gcd hypot inf isclose isfinite isinf isnan isqrt ldexp lgamma log "
    "log10 log1p log2 modf nan pi pow prod radians remainder sin sinh sqrt tan tanh tau trunc"
)
_TYPING = (
    "Any Callable Dict Final FrozenSet Iterable Iterator List Literal Mapping MutableMapping Optional Sequence "
    "Set SupportsFloat Tuple Union ClassVar"
)
_OPERATOR = (
    "abs add and_ eq floordiv ge gt inv invert itemgetter le lshift lt mod mul ne neg not_ or_ pos pow rshift "
    "sub truediv truth xor"
)
MODULES: dict[str, frozenset[str]] = {
    "numpy": _words(_NUMPY),
    "numpy.linalg": _words(_LINALG),
    "math": _words(_MATH),
    "itertools": _words(
        "accumulate chain combinations compress count cycle dropwhile filterfalse groupby islice pairwise "
        "permutations product repeat starmap takewhile zip_longest"
    ),
    "functools": frozenset({"reduce", "partial", "lru_cache", "cache", "cmp_to_key"}),
    "collections": frozenset({"OrderedDict", "defaultdict", "deque", "Counter"}),
    "operator": _words(_OPERATOR),
    "enum": frozenset({"Enum", "IntEnum", "auto", "unique"}),
    "dataclasses": frozenset({"dataclass", "field"}),
    "abc": frozenset({"ABC", "abstractmethod"}),
    "typing": _words(_TYPING),
    "__future__": frozenset({"annotations"}),
}
ANNOTATION_ONLY = frozenset({"typing"})  # names from these modules may appear only in annotations

BUILTINS = _words(
    "abs all any bool callable chr complex dict divmod enumerate filter float frozenset int isinstance iter len "
    "list map max min next ord pow range repr reversed round set slice sorted str sum tuple zip classmethod "
    "staticmethod property Exception ArithmeticError AssertionError FloatingPointError IndexError KeyError "
    "LookupError NotImplementedError OverflowError RuntimeError StopIteration TypeError ValueError "
    "ZeroDivisionError"
)
MAIN_GUARD_BUILTINS = frozenset({"print"})  # only in an ``if __name__ == "__main__":`` block, which never runs

# Attributes known to be pure on what a program holds: arrays and numpy scalars, dtypes, containers, strings,
# enum members, ufuncs. (Not ``format``/``format_map``, which look attributes up by a string's text.)
SAFE_ATTRIBUTES = _words(
    "T all any argmax argmin argsort astype clip conj conjugate copy cumprod cumsum diagonal dot dtype fill "
    "flatten imag item itemsize max mean min ndim nonzero prod ravel real repeat reshape round shape size sort "
    "squeeze std sum swapaxes take tolist trace transpose var kind "
    "eps tiny resolution smallest_normal bits "
    "reduce accumulate outer "
    "get items keys values setdefault update pop popitem clear append extend insert remove index count reverse "
    "add discard union intersection difference symmetric_difference issubset issuperset isdisjoint "
    "appendleft popleft extendleft rotate maxlen most_common elements total default_factory "
    "startswith endswith lower upper strip lstrip rstrip split join replace isdigit isalpha "
    "is_integer as_integer_ratio bit_length name value args linalg " + _LINALG
)


class ProgramRefused(ValueError):
    """The program uses a name, import or attribute outside the allow-list; ``problems`` lists
    ``(line, message)`` for each."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        first = problems[0]
        where = f"line {first[0]}: " if first[0] else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"reward program refused, {where}{first[1]}{more}")
        self.problems = problems


def _reachable() -> list[object]:
    """Objects and types a program can hold: the allowed modules' members, builtins and their types, and the
    interpreter's internal types (frames, generators, code) reachable from them."""
    found: list[object] = [
        object, type, types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.GeneratorType,
        types.CoroutineType, types.AsyncGeneratorType, types.FrameType, types.TracebackType, types.CodeType,
        types.ModuleType, types.MappingProxyType, types.CellType, types.SimpleNamespace, BaseException,
        bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset, range, slice,
        memoryview, np.ndarray, np.generic, np.dtype, np.flatiter, np.ufunc, np.finfo(float), np.iinfo(int),
        np.linalg, dict.fromkeys({}).keys(),
    ]  # fmt: skip
    for module, names in MODULES.items():
        if module == "__future__":
            continue
        imported = sys.modules.get(module) or __import__(module, fromlist=["_"])
        found += [getattr(imported, name) for name in names if hasattr(imported, name)]
    found += [getattr(builtins, name) for name in BUILTINS]
    found.append(functools.lru_cache(maxsize=None)(abs))
    return found


@functools.cache
def shadowed() -> frozenset[str]:
    """Attribute names of reachable objects that are not known pure: no field or program-defined attribute may
    be named so, or ``x.<name>`` would read them."""
    names: set[str] = set()
    for obj in _reachable():
        names.update(dir(obj))
        names.update(dir(type(obj)))
    return frozenset(names - SAFE_ATTRIBUTES)


def _annotation_nodes(tree: ast.Module) -> set[int]:
    """Every node inside an annotation (arguments, returns, annotated assignments)."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(sub) for root in roots for sub in ast.walk(root)}


def _main_guard(tree: ast.Module) -> tuple[set[int], set[int]]:
    """(the test's ``__name__``/``"__main__"`` nodes, every node of the guarded bodies) of top-level
    ``if __name__ == "__main__":`` blocks; the program is never run as ``__main__``."""
    tests: set[int] = set()
    bodies: set[int] = set()
    for node in tree.body:
        test = node.test if isinstance(node, ast.If) else None
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__"
        ):
            tests |= {id(test.left), id(test.comparators[0])}
            bodies |= {id(sub) for stmt in node.body for sub in ast.walk(stmt)}
    return tests, bodies


# Syntax a reward program may use; anything else (async, yield, match, global, type aliases, ...) is refused.
_NODES: tuple[type, ...] = (
    ast.Module, ast.FunctionDef, ast.ClassDef, ast.Return, ast.Delete, ast.Assign, ast.AugAssign, ast.AnnAssign,
    ast.For, ast.While, ast.If, ast.With, ast.Raise, ast.Try, ast.Assert, ast.Import, ast.ImportFrom, ast.Expr,
    ast.Pass, ast.Break, ast.Continue, ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp,
    ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call,
    ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name,
    ast.List, ast.Tuple, ast.Slice, ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop,
    ast.comprehension, ast.ExceptHandler, ast.arguments, ast.arg, ast.keyword, ast.alias, ast.withitem,
)  # fmt: skip


class _Checker:
    """One pass over a program's tree, collecting ``(line, message)`` problems."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.problems: list[tuple[int | None, str]] = []
        self.modules: dict[str, str] = {}  # a name an import binds to a module -> the module
        self.imported: dict[str, str] = {}  # a name an import binds to a module's member -> the module
        self._imported_as: dict[str, str] = {}  # that name -> the member's own name
        self.annotations = _annotation_nodes(tree)
        self.guard_tests, self.guard_bodies = _main_guard(tree)
        self.own = self._own_attributes()
        self.bases = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}

    def refuse(self, node: ast.AST, message: str) -> None:
        self.problems.append((getattr(node, "lineno", None), message))

    def _own_attributes(self) -> frozenset[str]:
        """Attribute names the program defines: assigned as ``x.<name> = ...`` or bound in a class body."""
        names: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                names.add(node.attr)
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.FunctionDef | ast.ClassDef):
                        names.add(stmt.name)
                    for target in _targets(stmt):
                        names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        return frozenset(names)

    def run(self) -> list[tuple[int | None, str]]:
        for node in ast.walk(self.tree):
            if not isinstance(node, _NODES):
                self.refuse(node, f"{type(node).__name__} is not allowed in a reward program: {_PURPOSE}")
        self._imports()
        self._rebound()
        self._identifiers()
        self._own_names()
        self._stores()
        self._library_classes()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute):
                self._attribute(node)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self._name(node)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in self.guard_tests:
                if id(node) in self.annotations:
                    self.refuse(node, "a string annotation: write the annotation without quotes")
                elif "__" in node.value:
                    self.refuse(node, "a string naming a dunder ('__...'): format strings and lookups reach internals")
            elif isinstance(node, ast.ClassDef) and node.keywords:
                self.refuse(node, "class keywords (metaclass=...) are off limits: write a plain class")
        return sorted(self.problems, key=lambda p: p[0] or 0)

    def _imports(self) -> None:
        allowed = ", ".join(sorted(m for m in MODULES if m != "__future__"))
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name not in MODULES:
                        self.refuse(node, f"import of {alias.name!r}: only {allowed} may be imported")
                    elif alias.asname is None and "." in alias.name:
                        self.refuse(node, f"import {alias.name} as a name of its own: `import {alias.name} as x`")
                    else:
                        self.modules[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level or module not in MODULES:
                    self.refuse(node, f"import from {module or '.'!r}: only {allowed} may be imported")
                    continue
                for alias in node.names:
                    member = f"{module}.{alias.name}"
                    if alias.name not in MODULES[module]:
                        self.refuse(node, f"'from {module} import {alias.name}': {_not_listed(module, alias.name)}")
                    elif member in MODULES:
                        self.modules[alias.asname or alias.name] = member
                    elif module != "__future__":
                        self.imported[alias.asname or alias.name] = module
                        self._imported_as[alias.asname or alias.name] = alias.name

    def _rebound(self) -> None:
        """A name an import binds keeps that meaning: rebound, ``np.sum`` would read ``sum`` off another object."""
        imported = set(self.modules) | set(self.imported)
        targets: dict[str, set[str]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    full = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
                    targets.setdefault(name, set()).add(full)
            for name in _bound_identifiers(node):
                if name in imported and not isinstance(node, ast.alias):
                    self.refuse(node, f"{name!r} is bound by an import and again here: give the second a new name")
        for name, bound in targets.items():
            if name in imported and len(bound) > 1:
                self.refuse(self.tree.body[0], f"{name!r} is bound by imports of {', '.join(sorted(bound))}: one each")

    def _identifiers(self) -> None:
        """No dunder identifier (``__init__`` methods and the main guard's ``__name__`` aside), and no
        identifier that names a refused builtin (a local ``open`` would hide nothing: it is simply refused)."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.keyword) and node.arg is not None and node.arg.startswith("__"):
                self.refuse(node, f"keyword {node.arg!r}: dunder names reach the interpreter's internals")
            for name in _bound_identifiers(node):
                if name.startswith("__") and not (name == "__init__" and isinstance(node, ast.FunctionDef)):
                    self.refuse(node, f"identifier {name!r}: dunder names reach the interpreter's internals")
                elif _is_refused_builtin(name):
                    self.refuse(node, f"identifier {name!r} shadows a builtin: choose another name")

    def _own_names(self) -> None:
        """A program's own attribute names must not also name an attribute of an object it can reach."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load) and node.attr in shadowed():
                self.refuse(node, f"attribute name {node.attr!r} is also a built-in attribute: choose another name")
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    names = [stmt.name] if isinstance(stmt, ast.FunctionDef | ast.ClassDef) else []
                    names += [n.id for t in _targets(stmt) for n in ast.walk(t) if isinstance(n, ast.Name)]
                    for name in names:
                        if name in shadowed() and name != "__init__":
                            self.refuse(
                                stmt, f"class member {name!r} is also a built-in attribute: choose another name"
                            )

    def _stores(self) -> None:
        """Attributes are assigned only on the program's own objects: ``self.<name>`` in a method (``self`` not
        rebound there) or ``<C>.<name>`` for a class ``C`` it defines. Patching a library's object would have
        the library call the program's code with objects the program could not otherwise reach."""
        classes = {n.name for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)}
        rebound = {name for node in ast.walk(self.tree) if not isinstance(node, ast.ClassDef)
                   for name in _bound_identifiers(node)}  # fmt: skip
        allowed: set[int] = set()
        for cls in (n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)):
            for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                params = [*method.args.posonlyargs, *method.args.args]
                if not params:
                    continue
                me, nodes = params[0].arg, list(ast.walk(method))
                if any(isinstance(n, ast.Name) and n.id == me and not isinstance(n.ctx, ast.Load) for n in nodes):
                    continue
                allowed |= {id(n) for n in nodes if isinstance(n, ast.Attribute) and _is_name(n.value, me)}
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Attribute) or isinstance(node.ctx, ast.Load) or id(node) in allowed:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in classes and node.value.id not in rebound:
                continue
            if self._module_of(node.value) is None:  # (a module's attributes have their own message)
                self.refuse(
                    node, f"assignment to {ast.unparse(node)}: assign attributes only to self or a class you define"
                )

    def _library_classes(self) -> None:
        """A library class the program may modify (a Python class, not a built-in type) is only called,
        subclassed or compared against; held as a value, a method could be called on it as ``self``."""
        calls = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        bases = {id(b) for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef) for b in n.bases}
        checks = {
            id(n.args[1]) for n in ast.walk(self.tree)
            if isinstance(n, ast.Call) and _is_name(n.func, "isinstance") and len(n.args) == 2
        }  # fmt: skip
        fine = calls | bases | checks | self.annotations | self.bases
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Name | ast.Attribute) or id(node) in fine:
                continue
            member = self._member(node)
            if member is not None and _mutable_class(*member):
                self.refuse(node, f"{ast.unparse(node)} used as a value: call it, subclass it or test against it")

    def _member(self, node: ast.expr) -> tuple[str, str] | None:
        """``(module, name)`` if ``node`` names a module's member (``collections.Counter``, or ``Counter``
        imported from it)."""
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.imported:
            return self.imported[node.id], self._imported_as.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            module = self._module_of(node.value)
            if module is not None and node.attr in MODULES[module]:
                return module, node.attr
        return None

    def _module_of(self, node: ast.expr) -> str | None:
        """The module ``node`` denotes (``np``, ``np.linalg``), or None if it is not a module."""
        if isinstance(node, ast.Name):
            return self.modules.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._module_of(node.value)
            full = f"{base}.{node.attr}" if base is not None else None
            return full if full in MODULES else None
        return None

    def _attribute(self, node: ast.Attribute) -> None:
        if self._module_of(node) is not None and id(node) not in self.bases:
            self.refuse(node, f"module {ast.unparse(node)} used as a value: use its members by name")
        module = self._module_of(node.value)
        if module is not None:
            if node.attr not in MODULES[module]:
                self.refuse(node, f"{module}.{node.attr}: {_not_listed(module, node.attr)}")
            elif module in ANNOTATION_ONLY and id(node) not in self.annotations:
                self.refuse(node, f"{module}.{node.attr} outside an annotation: {module} only names types")
            elif not isinstance(node.ctx, ast.Load):
                self.refuse(node, f"assignment to {module}.{node.attr}: a program may not change a module")
            return
        name = node.attr
        if name.startswith("__"):
            self.refuse(node, f".{name}: dunder attributes reach the interpreter's internals")
        elif name in SAFE_ATTRIBUTES:
            return
        elif name in shadowed():
            self.refuse(node, f".{name}: not an attribute a reward program may read ({_SHADOWED})")
        elif name.startswith("_") and name not in self.own:
            self.refuse(node, f".{name}: private attributes are off limits unless the program defines them")

    def _name(self, node: ast.Name) -> None:
        if id(node) in self.guard_tests:
            return
        if node.id in self.modules and id(node) not in self.bases:
            self.refuse(node, f"module {node.id!r} used as a value: use its members by name ({node.id}.<name>)")
        elif self.imported.get(node.id) in ANNOTATION_ONLY and id(node) not in self.annotations:
            self.refuse(node, f"{node.id!r} outside an annotation: {self.imported[node.id]} only names types")
        elif _is_refused_builtin(node.id) and not (node.id in MAIN_GUARD_BUILTINS and id(node) in self.guard_bodies):
            self.refuse(node, f"{node.id!r} is not allowed: a reward program only computes with numbers")
        elif node.id.startswith("__"):
            self.refuse(node, f"name {node.id!r}: dunder names reach the interpreter's internals")


_PURPOSE = "a reward program only computes with numbers"
_SHADOWED = "it reaches internals or files; a State field of this name is read as state['<name>']"


def _not_listed(module: str, name: str) -> str:
    if name.startswith("_"):
        return "private names are off limits"
    return f"not on the list of {module}'s pure names a reward program may use"


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


@functools.cache
def _mutable_class(module: str, name: str) -> bool:
    """Whether a module's member is a class whose attributes a program could set (not an immutable type)."""
    imported = sys.modules.get(module) or __import__(module, fromlist=["_"])
    member = getattr(imported, name, None)
    return isinstance(member, type) and not member.__flags__ & _IMMUTABLE_TYPE


_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: built-in and extension types whose attributes are fixed


def _is_refused_builtin(name: str) -> bool:
    return not name.startswith("__") and hasattr(builtins, name) and name not in BUILTINS


def _targets(stmt: ast.AST) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        return [stmt.target]
    return []


def _bound_identifiers(node: ast.AST) -> Iterator[str]:
    """Identifiers ``node`` binds (not names it reads)."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        yield node.id
    elif isinstance(node, ast.FunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.alias):
        yield node.asname or node.name.split(".")[0]
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield node.name


def problems(tree: ast.Module) -> list[tuple[int | None, str]]:
    """``(line, message)`` for each use of a name, import, attribute or syntax outside the allow-list."""
    return _Checker(tree).run()


def load_checked(source: str, module_name: str = "autoreward_reward") -> types.FunctionType:
    """``compute_reward`` of ``source``, run only after the allow-list accepted it (ProgramRefused otherwise),
    in a namespace whose builtins are the allowed ones."""
    try:
        tree = ast.parse(source, filename="<reward>")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as err:
        raise ProgramRefused(
            [(getattr(err, "lineno", None), f"the program does not parse ({type(err).__name__})")]
        ) from None
    found = problems(tree)
    if found:
        raise ProgramRefused(found)
    allowed = {name: getattr(builtins, name) for name in BUILTINS}
    allowed["__build_class__"] = builtins.__build_class__
    allowed["__import__"] = _importer
    module = types.ModuleType(module_name)
    module.__dict__["__builtins__"] = allowed
    sys.modules[module_name] = module  # dataclasses look their class's module up there
    exec(compile(tree, "<reward>", "exec"), module.__dict__)
    fn = module.__dict__.get("compute_reward")
    if not isinstance(fn, types.FunctionType):
        raise ProgramRefused([(None, "the program defines no function compute_reward(prev, action, state)")])
    return fn


def _importer(
    name: str, globals: object = None, locals: object = None, fromlist: object = (), level: int = 0
) -> types.ModuleType:
    """``__import__`` for the program's namespace: the allowed modules only."""
    if level or name not in MODULES:
        raise ImportError(f"{name!r} is not importable from a reward program")
    return __import__(name, None, None, fromlist, 0)
