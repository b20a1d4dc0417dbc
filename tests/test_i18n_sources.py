"""Every message a learner reads goes through ``_()``: read in the source, not at run time.

Two rules, each shown to catch a planted example:

* a :class:`~course.errors.CourseError` (or subclass) raised in ``course/`` with a literal
  string or an f-string (or text built from one) not wrapped in ``_()``, ``ngettext()`` or
  ``upstream()`` (upstream's own words, English on purpose); the same for the literal a
  CourseError subclass passes to ``super().__init__``;
* a literal ``help=`` (or ``description=``) on the command line, ``course/__main__.py``.

``course/bench/`` is a developer tool, in English.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "course"
BASE = "course.errors.CourseError"
WRAPPERS = {"_", "ngettext", "upstream"}
LETTER = re.compile(r"[^\W\d_]")


def sources() -> dict[str, str]:
    """Module name -> source, for every module of the package but the benchmark's."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[1:2] == ["bench"]:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path.read_text(encoding="utf-8")
    return found


class Names:
    """What each name of each module stands for: its classes and its imports, qualified."""

    def __init__(self, trees: dict[str, ast.Module], packages: set[str]) -> None:
        self.local: dict[str, dict[str, str]] = {}
        self.bases: dict[str, list[ast.expr]] = {}
        self.module_of: dict[str, str] = {}
        for module, tree in trees.items():
            package = module if module in packages else module.rpartition(".")[0]
            names = self.local[module] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    qualified = f"{module}.{node.name}"
                    names.setdefault(node.name, qualified)
                    self.bases[qualified] = node.bases
                    self.module_of[qualified] = module
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                        base = ".".join(parent + ([node.module] if node.module else []))
                    for alias in node.names:
                        names[alias.asname or alias.name] = f"{base}.{alias.name}"
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        names[alias.asname or alias.name.partition(".")[0]] = (
                            alias.name if alias.asname else alias.name.partition(".")[0])

    def resolve(self, module: str, expr: ast.expr) -> str:
        """The qualified name an expression (``NotFound``, ``exception.NotFound``) means."""
        if isinstance(expr, ast.Name):
            return self.canonical(self.local.get(module, {}).get(expr.id, f"{module}.{expr.id}"))
        if isinstance(expr, ast.Attribute):
            return self.canonical(f"{self.resolve(module, expr.value)}.{expr.attr}")
        return ""

    def canonical(self, name: str, depth: int = 0) -> str:
        """Follow re-exports (``course.rpc.MessagingTimeout``) to where the class is defined."""
        if name in self.bases or depth > 10:
            return name
        module, _dot, attr = name.rpartition(".")
        if module in self.local and attr in self.local[module]:
            target = self.local[module][attr]
            if target != name:
                return self.canonical(target, depth + 1)
        return name

    def course_errors(self) -> set[str]:
        """CourseError and every class that derives from it, however it names its bases."""
        found = {BASE}
        while True:
            more = {c for c, bases in self.bases.items() if c not in found
                    and any(self.resolve(self.module_of[c], b) in found for b in bases)}
            if not more:
                return found
            found |= more


def is_text(node: ast.expr) -> bool:
    """A literal string with words, an f-string with words, or text built from one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(LETTER.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(is_text(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp):
        return is_text(node.left) or is_text(node.right)
    if isinstance(node, ast.IfExp):
        return is_text(node.body) or is_text(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join", "strip") and is_text(node.func.value)
    return False


def _called(node: ast.expr) -> ast.Call | None:
    return node if isinstance(node, ast.Call) else None


def untranslated_raises(modules: dict[str, str]) -> list[str]:
    """``module:line: Class`` for each CourseError given untranslated text."""
    trees = {m: ast.parse(source) for m, source in modules.items()}
    packages = {m for m in modules if any(o.startswith(m + ".") for o in modules)}
    names = Names(trees, packages)
    errors = names.course_errors()
    wrong = []
    for module, tree in trees.items():
        for node in ast.walk(tree):
            call = _called(node.exc) if isinstance(node, ast.Raise) and node.exc else None
            if call is not None and names.resolve(module, call.func) in errors:
                texts = [*call.args, *(k.value for k in call.keywords)]
                if any(is_text(t) for t in texts):
                    wrong.append(f"{module}:{node.lineno}: {names.resolve(module, call.func)}")
            if isinstance(node, ast.ClassDef) and f"{module}.{node.name}" in errors:
                for inner in ast.walk(node):
                    if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)
                            and inner.func.attr == "__init__"
                            and isinstance(inner.func.value, ast.Call)
                            and getattr(inner.func.value.func, "id", "") == "super"
                            and any(is_text(a) for a in inner.args)):
                        wrong.append(f"{module}:{inner.lineno}: {module}.{node.name}.__init__")
    return sorted(wrong)


def untranslated_help(source: str) -> list[str]:
    """``line: help=...`` for each help (or description) of the command line that is not
    a ``_()`` call (``argparse.SUPPRESS`` is allowed)."""
    wrong = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg not in ("help", "description"):
                continue
            value = keyword.value
            translated = (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                          and value.func.id in WRAPPERS | {"description"})
            if not translated and ast.unparse(value) != "argparse.SUPPRESS":
                wrong.append(f"{node.lineno}: {keyword.arg}={ast.unparse(value)}")
    return wrong


def test_every_course_error_is_translated():
    assert untranslated_raises(sources()) == []


def test_the_rule_sees_every_course_error():
    """The class resolution finds subclasses across modules, not only CourseError itself."""
    modules = sources()
    trees = {m: ast.parse(s) for m, s in modules.items()}
    errors = Names(trees, {m for m in modules if any(o.startswith(m + ".") for o in modules)}
                   ).course_errors()
    for name in ("course.errors.TransportURLError", "course.topology.UnknownColumn",
                 "course.rpc.exceptions.MessagingTimeout", "course.openstack.cloud.NotFound",
                 "course.openstack.neutron.exceptions.RouterInUse",
                 "course.display.RenderingUnavailable", "course.diagrams.base.GraphvizMissing"):
        assert name in errors
    assert "course.openstack.nova.exception.NotFound" not in errors  # Nova's own, not ours


PLANTED = '''
from ..errors import CourseError, TransportURLError
from ..i18n import _, upstream
from ..openstack import cloud
from . import exceptions


class Planted(CourseError):
    def __init__(self, what):
        super().__init__(f"Nothing called {what} here.")


def wrong(name):
    raise TransportURLError("The transport_url is wrong.")
    raise cloud.NotFound(f"No {name} in this cloud.")
    raise exceptions.MessagingTimeout("Timed out " + name)
    raise Planted(name)


def right(name):
    raise TransportURLError(_("The transport_url is wrong."))
    raise cloud.NotFound(_("No {name} in this cloud.", name=name))
    raise exceptions.MessagingTimeout(upstream(f"Timed out waiting for {name}"))
    raise TransportURLError(name)
    raise ValueError("not a CourseError: another rule")
'''


def test_a_planted_untranslated_error_is_caught():
    modules = {**sources(), "course.rpc.planted": PLANTED}
    assert untranslated_raises(modules) == [
        "course.rpc.planted:10: course.rpc.planted.Planted.__init__",
        "course.rpc.planted:14: course.errors.TransportURLError",
        "course.rpc.planted:15: course.openstack.cloud.NotFound",
        "course.rpc.planted:16: course.rpc.exceptions.MessagingTimeout",
    ]


def test_every_help_of_the_command_line_is_translated():
    assert untranslated_help((PACKAGE / "__main__.py").read_text(encoding="utf-8")) == []


def test_a_planted_untranslated_help_is_caught():
    source = (PACKAGE / "__main__.py").read_text(encoding="utf-8")
    planted = source.replace('help=_("include amq.* and the default exchange")',
                             'help="include amq.* and the default exchange"')
    planted = planted.replace('help=_("the broker the service uses")',
                              'help=f"the broker the service uses: {SERVICE}"')
    assert planted != source
    wrong = untranslated_help(planted)
    assert len(wrong) == 2
    assert wrong[0].endswith("help=f'the broker the service uses: {SERVICE}'")
    assert wrong[1].endswith("help='include amq.* and the default exchange'")
