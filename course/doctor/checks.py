"""What ``python -m course doctor`` looks at, each check a function returning records.

Every function here returns :class:`Check` records and never raises: a check that cannot
be made is itself a record (``missing`` or ``warning``) saying what to do.  Texts are
written in the language in force when the check runs; :mod:`.view` lays them out.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import CourseError
from ..i18n import _
from ..transport_url import mask_url

OK, MISSING, WARNING = "ok", "missing", "warning"
#: The course's own distribution, whose requirements are what the lessons import.
DISTRIBUTION = "openstack-messaging-course"
#: pyproject's requires-python, should the distribution not be installed.
REQUIRES_PYTHON = ">=3.10"
#: How long the broker has to answer (the learner must hear within seconds).
BROKER_TIMEOUT = 3.0
LANGUAGE_PACK = "jupyterlab_language_pack_fr_FR"
#: Distributions a lesson's kernel never imports (JupyterLab runs in its own process,
#: nbformat only in ``course.build``): found, not imported, since importing them costs
#: seconds (JupyterLab 2.5 s, nbformat's jsonschema 0.9 s) and says nothing of the kernel.
NOT_IMPORTED = frozenset({"jupyterlab", "nbformat"})
#: A source checkout: the package sits beside the English notebooks.
SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Check:
    """One thing looked at: what, ok / missing / warning, what was found, how to fix it."""

    what: str
    status: str
    detail: str
    fix: str = ""


# -- versions ------------------------------------------------------------------------------

_SPEC = re.compile(r"\s*(~=|===|==|!=|<=|>=|<|>)\s*([^\s,;]+)\s*")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)(;.*)?$")


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of a version (``5.4.2rc1`` -> (5, 4, 2))."""
    numbers = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        numbers.append(int(digits.group()))
        if digits.group() != part:
            break
    return tuple(numbers)


def satisfies(version: str, specifier: str) -> bool:
    """Whether ``version`` meets ``specifier`` (``>=5.3,<6``): with ``packaging`` when it
    is installed, else by comparing release numbers (enough for the course's pins)."""
    try:
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version

        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except ImportError:
        pass
    except ValueError:
        return False
    have = _release(version)
    tests: dict[str, Callable[[tuple, tuple], bool]] = {
        ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b, "!=": lambda a, b: a != b,
        "==": lambda a, b: a[:len(b)] == b, "===": lambda a, b: a == b,
        "~=": lambda a, b: a >= b and a[:len(b) - 1] == b[:-1]}
    for part in filter(None, (p.strip() for p in specifier.split(","))):
        match = _SPEC.fullmatch(part)
        if match is None:
            return False
        op, wanted = match.groups()
        want = _release(wanted)
        padded = have + (0,) * max(0, len(want) - len(have))
        if not tests[op](padded, want):
            return False
    return True


def _requirements(requires: Iterable[str]) -> list[tuple[str, str]]:
    """(name, specifier) of the requirements a plain install needs (no extras')."""
    found = []
    for line in requires:
        match = _REQUIREMENT.match(line)
        if match is None or (match.group(3) and "extra" in match.group(3)):
            continue
        found.append((match.group(1), match.group(2).strip()))
    return found


# -- the checks ----------------------------------------------------------------------------


def python_version(version: str | None = None, requires: str | None = None) -> Check:
    version = version or ".".join(map(str, sys.version_info[:3]))
    if requires is None:
        try:
            requires = metadata.metadata(DISTRIBUTION).get("Requires-Python") or REQUIRES_PYTHON
        except metadata.PackageNotFoundError:
            requires = REQUIRES_PYTHON
    what = _("Python {version}", version=version)
    if satisfies(version, requires):
        return Check(what, OK, _("the course needs {requires}", requires=requires))
    return Check(what, MISSING, _("the course needs {requires}", requires=requires),
                 _("install Python {requires} and create the course's environment with it "
                   "(`make lab` does)", requires=requires))


def packages(distribution: str = DISTRIBUTION) -> list[Check]:
    """Each requirement of the course's distribution: installed, at a satisfying version,
    importable."""
    try:
        requires = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return [Check(distribution, MISSING, _("the course itself is not installed"),
                      _("from the repository: `pip install -e .` (or `make lab`)"))]
    modules = _modules_of_distributions()
    return [_package(name, spec, modules) for name, spec in _requirements(requires)]


def _modules_of_distributions() -> dict[str, list[str]]:
    by_dist: dict[str, list[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            by_dist.setdefault(_normal(dist), []).append(module)
    return by_dist


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package(name: str, spec: str, modules: dict[str, list[str]]) -> Check:
    install = f"`pip install '{name}{spec}'`"
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return Check(name, MISSING, _("not installed"), install)
    what = f"{name} {version}"
    if spec and not satisfies(version, spec):
        return Check(what, MISSING, _("the course needs {requires}", requires=spec), install)
    candidates = sorted(modules.get(_normal(name), []), key=lambda m: (m.startswith("_"), m))
    module = candidates[0] if candidates else name.replace("-", "_").lower()
    try:
        if _normal(name) not in NOT_IMPORTED:
            importlib.import_module(module)
        elif importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named '{module}'")
    except Exception as error:  # a broken install raises anything at import
        failure = f"{type(error).__name__}: {error}"
        return Check(what, MISSING, _("`import {module}` fails: {error}", module=module,
                                      error=failure),
                     f"`pip install --force-reinstall '{name}{spec}'`")
    return Check(what, OK, _("the course needs {requires}", requires=spec or "-"))


def graphviz_dot() -> Check:
    found = shutil.which("dot")
    what = _("Graphviz `dot`")
    if found:
        return Check(what, OK, found)
    return Check(what, WARNING, _("not on PATH: diagrams fall back to text (ASCII)"),
                 "`apt-get install graphviz`")


def broker(url: str | None = None) -> list[Check]:
    """The configured broker: the embedded one is always there; a RabbitMQ must answer
    within seconds, and its management API should."""
    from .. import broker as brokers
    from .. import topology

    configured = brokers.configured_url(url)
    what = _("Broker {url}", url=mask_url(configured))
    try:
        if brokers.is_embedded(configured):
            return [Check(what, OK, _("the embedded broker, inside this process"))]
        conn = brokers.connect(configured, timeout=BROKER_TIMEOUT)
    except CourseError as error:
        return [Check(what, MISSING, mask_url(str(error)), _(
            "start RabbitMQ or correct the transport_url (`--transport-url` or "
            "${variable}); without either, the course uses its embedded broker",
            variable=brokers.ENV_VAR))]
    try:
        version = conn.connection.server_properties.get("version", "?")
    finally:
        conn.release()
    version = version.decode() if isinstance(version, bytes) else str(version)
    found = [Check(what, OK, _("RabbitMQ {version}", version=version))]
    api = _("RabbitMQ management API")
    try:
        address = topology.management_api(configured)
    except CourseError as error:
        found.append(Check(api, WARNING, mask_url(str(error)), _(
            "topology tables need it: `rabbitmq-plugins enable rabbitmq_management`, or give "
            "its address in ${variable}", variable=topology.MANAGEMENT_ENV_VAR)))
    else:
        found.append(Check(api, OK, mask_url(address)))
    return found


def language_pack() -> Check:
    what = _("JupyterLab in French")
    if importlib.util.find_spec(LANGUAGE_PACK) is not None or any(
            entry.name == "fr_FR" for entry in
            metadata.entry_points(group="jupyterlab.languagepack")):
        return Check(what, OK, _("the French language pack is installed"))
    return Check(what, WARNING, _("the French language pack is not installed: JupyterLab's "
                                  "menus stay in English"),
                 "`pip install jupyterlab-language-pack-fr-FR`")


def notebooks(root: Path | None = None, shown: int = 3) -> Check:
    """Whether the built notebooks and the lessons' catalogs are up to date, in a source
    checkout; nothing to check in an installed wheel."""
    root = SOURCE_ROOT if root is None else root
    what = _("Notebooks")
    if not (root / "notebooks" / "en").is_dir():
        return Check(what, OK, _("not a source checkout"))
    from ..build import catalog, checks

    problems = checks.stale(root) + checks.catalog_entries(root)
    if any(catalog.GETTEXT_MISSING in str(p) for p in problems):
        return Check(what, WARNING, _("GNU gettext is missing: the notebooks cannot be "
                                      "checked"), "`apt-get install gettext`")
    if not problems:
        return Check(what, OK, _("built and translated from the English sources"))
    listed = "; ".join(str(p) for p in problems[:shown])
    more = len(problems) - shown
    if more > 0:
        listed = _("{problems} (and {count} more)", problems=listed, count=more)
    return Check(what, WARNING, listed, _("`make notebooks`, then translate what it marks"))


def everything(url: str | None = None, root: Path | None = None,
               with_notebooks: bool = True) -> list[Check]:
    """Every check, in the order a learner meets what they look at (the notebooks' build
    last: it is for authors, and takes a few seconds)."""
    found = [python_version(), *packages(), graphviz_dot(), *broker(url), language_pack()]
    return [*found, notebooks(root)] if with_notebooks else found


def exit_status(found: Iterable[Check]) -> int:
    """1 when something a lesson needs is missing (warnings do not count), else 0."""
    return int(any(check.status == MISSING for check in found))
