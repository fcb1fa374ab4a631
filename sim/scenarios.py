"""Finding, reading and overriding scenario files (TOML, validated by `sim.params`)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from sim.params import Drivers, Environment, FirmTraits, ParameterError, Scenario, TryStep, validate_scenario

SCENARIO_DIRS = (
    Path(__file__).resolve().parent.parent / "scenarios",  # a source checkout
    Path(__file__).resolve().parent / "scenario_files",  # an installed wheel
)


def scenario_dir() -> Path:
    """The folder holding the scenario library (``AISIM_SCENARIOS`` overrides it)."""
    override = os.environ.get("AISIM_SCENARIOS")
    if override:
        return Path(override)
    for folder in SCENARIO_DIRS:
        if folder.is_dir():
            return folder
    return SCENARIO_DIRS[0]


def scenario_names() -> list[str]:
    """Names of the scenarios in the library, sorted."""
    return sorted(p.stem for p in scenario_dir().glob("*.toml"))


def resolve(name_or_path: str | Path) -> Path:
    """The file behind a scenario name or path; unknown names list the valid ones."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists() or os.sep in str(name_or_path):
        if path.is_dir():
            raise ParameterError(f"{path}: is a folder, not a scenario file")
        if not path.is_file():
            raise ParameterError(f"{path}: no such scenario file")
        return path
    candidate = scenario_dir() / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    names = ", ".join(scenario_names()) or "(none found)"
    raise ParameterError(f"unknown scenario '{name_or_path}'; available: {names} (or give a .toml file path)")


def read_data(path: Path) -> dict[str, Any]:
    """The raw contents of a TOML file (scenario, sweep or fit spec); every way it can be unreadable
    is a `ParameterError` naming the file."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ParameterError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at position {err.start}); "
            "TOML files must be saved as UTF-8"
        ) from None
    except OSError as err:
        raise ParameterError(f"{path}: cannot read: {err.strerror or err}") from None
    return parse_toml(text, str(path))


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """TOML text as data; a `ParameterError` naming ``source`` if it cannot be read."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ParameterError(f"{source}: TOML syntax error: {err}") from None
    except RecursionError:
        raise ParameterError(f"{source}: TOML nested too deeply to read") from None
    except ValueError as err:  # e.g. an integer longer than Python converts (4,300 digits)
        raise ParameterError(f"{source}: cannot read a value: {err}") from None


SECTIONS = {"environment": Environment, "drivers": Drivers}
"""The scenario sections of named fields (besides the list of firms)."""
NOT_INHERITED = ("name", "title", "story", "question", "watch", "claims", "try_next")
"""Keys a scenario never takes from the scenario it extends: each tells its own story (and a
"try next" step written for the parent's lesson may not fit the child's)."""


def read_scenario_data(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A scenario file's data with ``extends`` resolved (recursively).

    The child's environment and driver keys override the parent's; a child firm with the
    name of a parent firm overrides that firm's traits, other child firms are added.
    """
    data = read_data(path)
    _check_known_keys(data, path)  # here, so that a parent's mistake is blamed on the parent
    data.setdefault("name", path.stem)
    parent_name = data.pop("extends", None)
    if parent_name is None:
        return data
    if not isinstance(parent_name, str):
        raise ParameterError(f"{path}: extends: expected a scenario name or file, got {parent_name!r}")
    try:
        parent_path = _resolve_parent(parent_name, path)
    except ParameterError as err:
        raise ParameterError(f"{path}: extends: {err}") from None
    if parent_path.resolve() in seen or parent_path.resolve() == path.resolve():
        chain = " -> ".join(p.stem for p in (*seen, path.resolve(), parent_path.resolve()))
        raise ParameterError(f"{path}: extends: cycle {chain}")
    parent = read_scenario_data(parent_path, (*seen, path.resolve()))
    return merge_scenarios(parent, data, path)


def _check_known_keys(data: dict, path: Path) -> None:
    """Refuse keys no scenario has, naming the file they are in."""
    known = {**{key: None for key in Scenario.model_fields}, "extends": None}
    for key in data:
        _check_key(f"{path}: {key}", key, known, what="")
    for section, model in SECTIONS.items():
        if isinstance(data.get(section), dict):
            for key in data[section]:
                _check_key(f"{path}: {section}.{key}", key, model.model_fields, what="")
    for i, firm in enumerate(data.get("firms") if isinstance(data.get("firms"), list) else []):
        named = f"firms[{i}] ({firm['name']})" if isinstance(firm, dict) and "name" in firm else f"firms[{i}]"
        for key in firm if isinstance(firm, dict) else ():
            _check_key(f"{path}: {named}.{key}", key, FirmTraits.model_fields, what="")


def _resolve_parent(name: str, child: Path) -> Path:
    """The parent a scenario extends: a file beside it, or a scenario of the library; never a path
    from the current folder, and never one that leaves both (``extends = "../../etc/passwd"``)."""
    sibling = (child.parent / (name if name.endswith(".toml") else f"{name}.toml")).resolve()
    allowed = (child.parent.resolve(), scenario_dir().resolve())
    if not any(folder == sibling.parent or folder in sibling.parents for folder in allowed):
        raise ParameterError(
            f"'{name}' leaves the scenario's folder and the scenario library; give a library name "
            "or a file beside the scenario"
        )
    if sibling.is_file():
        return sibling
    if "/" in name or "\\" in name or name.endswith(".toml"):
        raise ParameterError(f"no such scenario file '{name}' beside {child.name}")
    return resolve(name)


def merge_scenarios(parent: dict, child: dict, source: Path | str = "scenario") -> dict:
    """The data of ``child`` laid over ``parent`` (see `read_scenario_data`)."""
    merged = {k: v for k, v in parent.items() if k not in NOT_INHERITED}
    for key, value in child.items():
        if key in {"environment", "drivers"} and isinstance(value, dict):
            merged[key] = {**(parent.get(key) or {}), **value}
        elif key == "firms" and isinstance(value, list):
            merged[key] = _merge_firms(parent.get("firms") or [], value, source)
        else:
            merged[key] = value
    return merged


def _merge_firms(parent: list, child: list, source: Path | str) -> list:
    firms = [dict(f) for f in parent]
    index = {f.get("name"): i for i, f in enumerate(firms)}
    for position, firm in enumerate(child):
        if not isinstance(firm, dict) or "name" not in firm:
            raise ParameterError(f"{source}: firms[{position}].name: required field is missing")
        if firm["name"] in index:
            firms[index[firm["name"]]].update(firm)
        else:
            firms.append(dict(firm))
    return firms


def load_scenario(
    name_or_path: str | Path | Scenario, overrides: list[str] | dict | None = None, *, check_claims: bool = False
) -> Scenario:
    """A validated scenario from a library name, a file path or a Scenario, with overrides applied.

    ``overrides`` are ``NAME=VALUE`` strings (as given to ``--set``) or a mapping of the
    same names to values; see `apply_overrides` for the names accepted. With ``check_claims``
    (for commands that check claims) the scenarios each claim of a file compares with are
    validated too, and a mistake names the file and the claim; it is off by default because it
    costs several validations (7 ms of the 10 ms a baseline load takes).
    """
    if isinstance(name_or_path, Scenario):
        data, source = name_or_path.model_dump(), f"scenario '{name_or_path.name}'"
    else:
        path = resolve(name_or_path)
        data, source = read_scenario_data(path), str(path)
    file_data = data
    if overrides:
        data = apply_overrides(data, overrides)
        source += " (with overrides)"
    scenario = validate_scenario(data, source)
    if not isinstance(name_or_path, Scenario):
        _check_try_steps(file_data, str(path))
        if check_claims:
            _check_claims(file_data, str(path))
    return scenario


def apply_try_step(data: dict, step: TryStep | dict) -> dict:
    """A copy of scenario data (``Scenario.model_dump()`` or a file's data) with a "try next"
    step's overrides applied; the caller validates the result."""
    return apply_overrides(data, step.set if isinstance(step, TryStep) else step["set"])


def _check_try_steps(data: dict, source: str) -> None:
    """Check that each "try next" step of a file gives a valid scenario of that file, naming the
    file, the step, the key and the value when it does not. (Called once the scenario itself is
    known to be valid, so every step has a text and a set.)"""
    for i, step in enumerate(data.get("try_next") or []):
        try:
            validate_scenario(apply_try_step(data, step), "")
        except ParameterError as err:
            text = step["text"]
            where = f"{source}: try_next[{i}] ({text[:60]}{'...' if len(text) > 60 else ''}).set"
            for key, value in step["set"].items():  # the first key that fails on its own, else the set as a whole
                try:
                    validate_scenario(apply_overrides(data, {key: value}), "")
                except ParameterError as alone:
                    raise ParameterError(f"{where}: {key} = {value!r}: {_detail(alone)}") from None
            settings = ", ".join(f"{key} = {value!r}" for key, value in step["set"].items())
            raise ParameterError(f"{where}: {settings} together: {_detail(err)}") from None


def _detail(err: ParameterError) -> str:
    """The reason of a validation error, without its (empty) source and the '--set ' prefix."""
    return str(err).removeprefix(": ").removeprefix("--set ")


def scenario_toml(scenario: Scenario, note: str = "") -> str:
    """A complete scenario file for ``scenario``: every section, field and firm written out, no
    ``extends``, floats exactly (repr), so that `load_scenario` gives it back equal (the same
    ``model_dump()``, the same runs). ``note`` becomes a leading ``#`` comment. A claim's
    ``reference`` stays a name: it is looked up beside the file or in the library.

    Raises ParameterError if a "try next" step no longer applies to the scenario (an edited copy
    that lost a firm a step names): such a file would not load.
    """
    data = _without_none(scenario.model_dump())
    _check_try_steps(data, f"scenario '{scenario.name}'")
    comment = "".join(f"# {line}".rstrip() + "\n" for line in note.splitlines())
    return comment + ("\n" if comment else "") + tomli_w.dumps(data, multiline_strings=True)


def _without_none(value: Any) -> Any:
    """Parsed data without the fields that are None (TOML has no null; absent means None)."""
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def _check_claims(data: dict, source: str) -> None:
    """Check what each claim compares with (its counterfactual, placebo and reference scenario) when
    the scenario is loaded, so that a mistake is reported with the file and claim, not later.
    (Called once the scenario itself is known to be valid.)"""
    claims = data.get("claims")
    for i, claim in enumerate(claims if isinstance(claims, list) else []):
        if not isinstance(claim, dict):
            continue  # the scenario's own validation names it
        text = str(claim.get("text", ""))
        where = f"claims[{i}] ({text[:60]}{'...' if len(text) > 60 else ''})"
        for key in ("counterfactual", "placebo"):
            if isinstance(claim.get(key), dict):
                try:
                    validate_scenario(apply_overrides(data, claim[key]), "")
                except ParameterError as err:
                    raise ParameterError(f"{source}: {where}.{key}: {_detail(err)}") from None
        if isinstance(claim.get("reference"), str):
            try:
                read_scenario_data(resolve(claim["reference"]))
            except ParameterError as err:
                raise ParameterError(f"{source}: {where}.reference: {err}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``NAME=VALUE`` and turn VALUE into a bool, int or float where it is one."""
    if "=" not in text:
        raise ParameterError(f"--set '{text}': expected NAME=VALUE, for example environment.llm_ceiling=1.5")
    name, _, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not name or not raw:
        raise ParameterError(f"--set '{text}': expected NAME=VALUE, for example drivers.sunk_cost=0")
    return name, _parse_value(raw)


def _parse_value(raw: str) -> Any:
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    if not raw.isascii():  # int() and float() would read other scripts' digits: "١" as 1
        return raw
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def apply_overrides(data: dict, overrides: list[str] | dict) -> dict:
    """A copy of scenario data with overrides applied.

    Names: ``environment.FIELD``, ``drivers.FIELD``, a bare environment or driver field
    (``llm_ceiling``), or a firm trait as ``firms.NAME.TRAIT``, ``firms.INDEX.TRAIT`` or
    ``firms.*.TRAIT`` (every firm).
    """
    data = _copy_data(data)
    items = overrides.items() if isinstance(overrides, dict) else map(parse_assignment, overrides)
    for name, value in items:
        for container, key in _targets(data, name):
            container[key] = value
    return data


def overlapping_overrides(data: dict, names: list[str]) -> list[tuple[str, str]]:
    """Pairs of override names that set the same field of ``data`` (``sunk_cost`` and
    ``drivers.sunk_cost``; ``firms.*.openness`` and ``firms.Meta-like.openness``)."""
    data, first, pairs = _copy_data(data), {}, []
    for name in names:
        for container, key in _targets(data, name):
            other = first.setdefault((id(container), key), name)
            if other != name and (other, name) not in pairs:
                pairs.append((other, name))
    return pairs


def _copy_data(value: Any) -> Any:
    """A deep copy of parsed TOML data (dicts, lists and immutable scalars), faster than deepcopy."""
    if isinstance(value, dict):
        return {key: _copy_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_data(item) for item in value]
    return value


def _targets(data: dict, name: str) -> list[tuple[dict, str]]:
    parts = name.split(".")
    if len(parts) == 2 and parts[0] in SECTIONS:
        _check_key(name, parts[1], SECTIONS[parts[0]].model_fields)
        return [(data.setdefault(parts[0], {}), parts[1])]
    if len(parts) == 3 and parts[0] == "firms":
        _check_key(name, parts[2], FirmTraits.model_fields)
        return [(firm, parts[2]) for firm in _select_firms(data, name, parts[1])]
    if len(parts) == 1:
        owners = [group for group, model in SECTIONS.items() if name in model.model_fields]
        if len(owners) == 1:
            return [(data.setdefault(owners[0], {}), name)]
        if name in FirmTraits.model_fields:
            raise ParameterError(f"--set {name}: '{name}' is a firm trait; write firms.NAME.{name} or firms.*.{name}")
    raise ParameterError(
        f"--set {name}: unknown parameter. Use environment.FIELD, drivers.FIELD or firms.NAME.TRAIT. "
        f"Environment fields: {', '.join(Environment.model_fields)}. "
        f"Driver fields: {', '.join(Drivers.model_fields)}. "
        f"Firm traits: {', '.join(k for k in FirmTraits.model_fields if k != 'name')}"
    )


def _check_key(name: str, key: str, valid: dict, what: str = "--set ") -> None:
    if key not in valid:
        raise ParameterError(f"{what}{name}: unknown key '{key}'; valid keys: {', '.join(valid)}")


def _select_firms(data: dict, name: str, selector: str) -> list[dict]:
    firms = data.get("firms") or []
    if selector == "*":
        return list(firms)
    if selector.isascii() and selector.isdigit() and int(selector) < len(firms):
        return [firms[int(selector)]]
    chosen = [f for f in firms if isinstance(f, dict) and f.get("name") == selector]
    if not chosen:
        names = ", ".join(str(f.get("name")) for f in firms if isinstance(f, dict))
        raise ParameterError(f"--set {name}: no firm '{selector}'; firms: {names} (or an index, or *)")
    return chosen
