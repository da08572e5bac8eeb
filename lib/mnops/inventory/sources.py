"""The inventory's files as written: checked before reclass runs, and asked where a value was set.

    sources = read_sources(Path("inventory"))        # raises SourceErrors listing every problem
    sources.locate("prod", ["services", "memory-service", "replicas"])  # -> classes/env/prod.yml:12:7

The pre-pass parses every class and target file with PyYAML's composer (the parser reclass
uses, so a syntax error here is the one reclass would hit) and reports, one line each with
file:line:column: syntax errors, bytes that are not UTF-8, a key written twice in one mapping
(reclass silently keeps the last), a top level that is not a mapping, circular or missing class
includes (with the chain of classes), and plain scalars that YAML 1.1 and 1.2 read differently
(`0755` is octal 493 to reclass and 755 to reclass-rs; `yes`/`on` are booleans to one and
strings to the other: the two inventory backends would compile different clusters).

To find the file that set a value, each target's classes are expanded as reclass does (a
class's own classes first, then the class, each class once, the target file last; later wins)
and the last file holding the key path wins.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

FILE_SUFFIXES = (".yml", ".yaml")
_OCTAL = re.compile(r"^[-+]?0[0-7_]+$")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
_YAML11_ONLY_BOOLEANS = {"yes", "no", "on", "off"}


@dataclass(frozen=True)
class Location:
    file: str  # as the user finds it: inventory/classes/env/prod.yml
    line: int  # 1-based, as editors count
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SourceErrors(Exception):
    """Problems found in the files themselves, before any value was merged."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.lines)
        footer = f"{count} problem{'s' if count != 1 else ''}; nothing was written to compiled/."
        return "\n".join([*self.lines, footer])


def _at(shown: str, mark: yaml.Mark | None) -> Location:
    return Location(shown, mark.line + 1, mark.column + 1) if mark else Location(shown, 1, 1)


@dataclass
class InventorySources:
    """Every file's node tree, the class each name resolves to, and each target's merge order."""

    root: Path
    nodes: dict[str, yaml.Node | None] = field(default_factory=dict)  # key: file as shown
    chains: dict[str, list[str]] = field(default_factory=dict)  # target -> files, merge order
    targets: list[str] = field(default_factory=list)

    def locate(self, target: str, keys: Sequence[str | int]) -> Location | None:
        """Where the value at parameters.<keys> was set for this target (deepest key found)."""
        best: tuple[int, Location] | None = None
        for shown in reversed(self.chains.get(target, [])):  # later wins: search from the last
            found = _find(self.nodes.get(shown), ["parameters", *keys], shown)
            if found and (best is None or found[0] > best[0]):
                best = found
            if best and best[0] == len(keys) + 1:
                break
        return best[1] if best else None

    def has(self, target: str, keys: Sequence[str | int]) -> bool:
        """Whether some file of the target's chain sets exactly this key path."""
        full = len(keys) + 1
        return any((_find(self.nodes.get(f), ["parameters", *keys], f) or (0,))[0] == full for f in self.chains.get(target, []))

    def targets_using(self, shown: str) -> list[str]:
        return sorted(t for t, chain in self.chains.items() if shown in chain)


def _find(node: yaml.Node | None, keys: Sequence[str | int], shown: str) -> tuple[int, Location] | None:
    """(how many keys matched, where the deepest one is) in one file; None if not even the first."""
    depth, location = 0, None
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            # `~key` replaces instead of merging (reclass); it still sets `key`.
            pair = next((p for p in node.value if isinstance(p[0], yaml.ScalarNode) and p[0].value in (key, "~" + key)), None)
            if pair is None:
                break
            location, node = _at(shown, pair[0].start_mark), pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            location = _at(shown, node.start_mark)
        else:
            break
        depth += 1
    return (depth, location) if location else None


def split_key_path(path: str) -> list[str | int]:
    """'parameters.services.a.ports[0].port' -> ['services', 'a', 'ports', 0, 'port']."""
    parts: list[str | int] = [int(i) if i else k for k, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)]
    return parts[1:] if parts[:1] == ["parameters"] else parts


def read_sources(inventory: Path) -> InventorySources:
    """Parse and check every inventory file; raise SourceErrors with one line per problem."""
    sources = InventorySources(root=inventory)
    if not (inventory / "targets").is_dir():
        raise SourceErrors([f"{inventory}: not an inventory folder (it has no targets/ folder)"])
    problems: list[str] = []
    for path in sorted(p for p in inventory.rglob("*") if p.suffix in FILE_SUFFIXES and p.is_file()):
        shown = show_path(inventory, path)
        node, file_problems = _parse(path, shown)
        sources.nodes[shown] = node
        problems += file_problems
    targets_dir = inventory / "targets"
    for path in sorted(p for p in targets_dir.rglob("*") if p.suffix in FILE_SUFFIXES and p.is_file()):
        shown = show_path(inventory, path)
        if sources.nodes.get(shown) is None and any(shown in p for p in problems):
            continue  # unreadable: already reported
        chain, chain_problems = _chain(sources, inventory, shown)
        sources.targets.append(path.stem)
        sources.chains[path.stem] = chain
        problems += [p for p in chain_problems if p not in problems]
    if problems:
        raise SourceErrors(problems)
    return sources


def show_path(inventory: Path, path: Path) -> str:
    return str(Path(inventory.name) / path.relative_to(inventory))


def _parse(path: Path, shown: str) -> tuple[yaml.Node | None, list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        return None, [f"{shown}:{line}:{column}: byte 0x{raw[error.start]:02x} is not UTF-8; save the file as UTF-8"]
    try:
        node = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as error:
        where = _at(shown, error.problem_mark or error.context_mark)
        what = " ".join(p for p in (error.context, error.problem) if p)
        return None, [f"{where}: YAML syntax error: {what}"]
    except yaml.YAMLError as error:
        return None, [f"{shown}:1:1: YAML error: {error}"]
    if node is None:
        return None, []
    problems = list(_shape_problems(node, shown))
    problems += list(_foreign_services(node, shown))
    problems += [str(p) for p in _duplicate_keys(node, shown)]
    problems += list(_yaml11_surprises(node, shown, []))
    return node, problems


def _shape_problems(node: yaml.Node, shown: str) -> Iterator[str]:
    if not isinstance(node, yaml.MappingNode):
        found = "a list" if isinstance(node, yaml.SequenceNode) else f"the value {node.value!r}"
        yield f"{_at(shown, node.start_mark)}: the top level must be a mapping (classes:, parameters:), found {found}"
        return
    for key, value in node.value:
        if key.value == "classes" and not (
            isinstance(value, yaml.SequenceNode) and all(isinstance(v, yaml.ScalarNode) for v in value.value)
        ):
            yield f"{_at(shown, value.start_mark)}: classes must be a list of class names"
        if key.value == "parameters" and not isinstance(value, yaml.MappingNode) and value.tag != "tag:yaml.org,2002:null":
            yield f"{_at(shown, value.start_mark)}: parameters must be a mapping"


def _foreign_services(node: yaml.Node, shown: str) -> Iterator[str]:
    """A service's class file, classes/services/<name>.yml, declares services.<name> and no other.

    A copied file whose key was not renamed would otherwise merge into the service it was copied
    from: its image, path and secrets would replace or join the original's in every cluster.
    """
    path = Path(shown)
    if path.parent.name != "services" or path.parent.parent.name != "classes" or path.stem == "init":
        return
    services = _child(_child(node, "parameters"), "services")
    for key, _ in services.value if isinstance(services, yaml.MappingNode) else []:
        if isinstance(key, yaml.ScalarNode) and key.value != path.stem:
            yield (
                f"{_at(shown, key.start_mark)}: services.{key.value} in {path.name}: a service's class file declares only "
                f"the service it is named after (services.{path.stem}); rename the key or the file"
            )


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    return None


def _duplicate_keys(node: yaml.Node, shown: str) -> Iterator[str]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in first:
                        line = first[key.value].start_mark.line + 1
                        yield (
                            f"{_at(shown, key.start_mark)}: duplicate key '{key.value}' in one mapping (first at line "
                            f"{line}); YAML keeps only the last, so remove one"
                        )
                    else:
                        first[key.value] = key
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _yaml11_surprises(node: yaml.Node, shown: str, keys: list[str | int]) -> Iterator[str]:
    """Plain scalars whose meaning depends on the YAML version the inventory backend speaks."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _yaml11_surprises(value, shown, [*keys, str(key.value)])
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _yaml11_surprises(item, shown, [*keys, index])
    elif isinstance(node, yaml.ScalarNode) and not node.style:  # plain (libyaml says "", PyYAML None)
        text = str(node.value)
        reading = _yaml11_reading(text, node.tag)
        if reading:
            path = ".".join(str(k) for k in keys)
            yield (
                f"{_at(shown, node.start_mark)}: {path}: `{text}` as written is {reading} to reclass (YAML 1.1) but not to "
                f"YAML 1.2; write {_advice(text)}"
            )


def _yaml11_reading(text: str, tag: str) -> str:
    if tag.endswith(":bool") and text.lower() in _YAML11_ONLY_BOOLEANS:
        return f"the boolean {str(text.lower() in {'yes', 'on'}).lower()}"
    if tag.endswith(":int") and _OCTAL.match(text) and text.strip("+-0_"):
        return f"the octal number {int(text.replace('_', ''), 8)}"
    if tag.endswith((":int", ":float")) and _SEXAGESIMAL.match(text):
        return "a base-60 number"
    return ""


def _advice(text: str) -> str:
    if text.lower() in _YAML11_ONLY_BOOLEANS:
        return f"true/false for a boolean or '{text}' (quoted) for text"
    if _OCTAL.match(text):
        return f"{int(text.replace('_', ''))} for the number or '{text}' (quoted) for text"
    return f"'{text}' (quoted)"


def _classes_of(node: yaml.Node | None) -> list[yaml.ScalarNode]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "classes" and isinstance(value, yaml.SequenceNode):
                return [v for v in value.value if isinstance(v, yaml.ScalarNode)]
    return []


def class_file(inventory: Path, name: str) -> Path | None:
    """reclass's lookup: a.b -> classes/a/b.yml, else classes/a/b/init.yml."""
    base = inventory / "classes" / Path(*name.split("."))
    for candidate in [base.with_name(base.name + s) for s in FILE_SUFFIXES] + [base / f"init{s}" for s in FILE_SUFFIXES]:
        if candidate.is_file():
            return candidate
    return None


def _closest_class(inventory: Path, name: str) -> str:
    """'; did you mean 'env.dev'?' for a misspelt class name, from the class files that exist."""
    classes = inventory / "classes"
    known = {
        ".".join(path.relative_to(classes).with_suffix("").parts[: -1 if path.stem == "init" else None])
        for path in classes.rglob("*")
        if path.suffix in FILE_SUFFIXES
    }
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


def _chain(sources: InventorySources, inventory: Path, target: str) -> tuple[list[str], list[str]]:
    """The target's files in reclass's merge order, and problems with its includes."""
    order: list[str] = []
    problems: list[str] = []
    names: dict[str, str] = {}  # file -> the class name that included it

    def expand(shown: str, via: tuple[str, ...]) -> None:
        for entry in _classes_of(sources.nodes.get(shown)):
            name = str(entry.value)
            where = _at(shown, entry.start_mark)
            path = class_file(inventory, name)
            if path is None:
                problems.append(
                    f"{where}: class '{name}' not found (no classes/{name.replace('.', '/')}.yml or .../init.yml)"
                    + _closest_class(inventory, name)
                )
                continue
            included = show_path(inventory, path)
            names.setdefault(included, name)
            if included in (*via, shown):
                # Only the loop itself, in class names as the files write them: the same for every target.
                loop = [*via, shown][[*via, shown].index(included) :]
                chain = " -> ".join([*(names.get(f, f) for f in loop), name])
                problems.append(f"{where}: circular class include: {chain}")
                continue
            if included not in order:
                expand(included, (*via, shown))
                if included not in order:
                    order.append(included)

    expand(target, ())
    order.append(target)
    return order, problems


def locate_all(sources: InventorySources, target: str, path: str | Sequence[str | int]) -> Location | None:
    """The file that set a merged key path, following a service's layers (lib/mnops/inventory/layers.py).

    The one lookup of "which file set this key": compile errors ask it with a dotted path
    (`parameters.services.a.ports[0].port`), `make diff`'s provenance section with the keys.
    A service's effective value comes from images.<name> over services.<name> over
    service_defaults, so a problem at services.<name>.<field> may have been set in any of them.
    """
    keys = split_key_path(path) if isinstance(path, str) else list(path)
    candidates: list[list[str | int]] = []
    if len(keys) > 2 and keys[0] == "services":
        name, rest = keys[1], keys[2:]
        if rest[0] == "image" and len(rest) > 1:
            candidates.append(["images", name, *rest[1:]])
        candidates += [keys, ["service_defaults", *rest]]
    for candidate in candidates:
        if sources.has(target, candidate):
            return sources.locate(target, candidate)
    return sources.locate(target, keys)


# reclass names the files that set the key, separated by "; ".
_RECLASS_WHERE = re.compile(r"^(?P<what>.*?),? at (?P<keys>[^,\s]+), in yaml_fs://(?P<file>[^\s;]+)", re.DOTALL)
_KIND = {yaml.MappingNode: "dictionary", yaml.SequenceNode: "list", yaml.ScalarNode: "scalar"}


def explain_reclass_error(message: str, sources: InventorySources) -> str:
    """reclass's multi-line message as one line: file:line:column: key path: what went wrong."""
    text = " ".join(message.replace("Inventory reclass error:", "").split())
    target = re.match(r"^-> (\S+) ", text)
    text = text[target.end() :] if target else text
    found = _RECLASS_WHERE.match(text)
    if not found:
        return f"inventory error{f' in target {target.group(1)!r}' if target else ''}: {text}"
    keys: list[str | int] = ["parameters", *found["keys"].split(":")]
    dotted = ".".join(str(k) for k in keys)
    merge = re.match(r"Cannot merge (\w+) over", found["what"].strip())
    if merge:
        clash = _type_clash(re.findall(r"yaml_fs://([^\s;]+)", text), keys, sources, merge.group(1))
        if clash:
            return f"{clash[0]}: {dotted}: {found['what'].strip()} ({clash[1]})"
    file = Path(found["file"])
    shown = show_path(sources.root, file) if sources.root in file.parents else str(file)
    located = _find(sources.nodes.get(shown), keys, shown)
    where = str(located[1]) if located else shown
    return f"{where}: {dotted}: {found['what'].strip()}"


def _type_clash(
    files: list[str], keys: Sequence[str | int], sources: InventorySources, later: str
) -> tuple[Location, str] | None:
    """Where the value with the odd type out is, and 'a list here, a dictionary in other.yml; ...',
    or None if the files do not show one.

    reclass names the files whose values it merged, not the one that broke the merge: the odd
    type out among them is the one that differs from the rest (on a tie, the `later` one, which
    reclass tried to merge over the other).
    """
    kinds: dict[str, list[tuple[str, Location]]] = {}
    for file in files:
        shown = show_path(sources.root, Path(file)) if sources.root in Path(file).parents else file
        node, location = sources.nodes.get(shown), None
        for key in keys:
            node = _child(node, str(key))
            location = _at(shown, node.start_mark) if node is not None else None
        if node is not None and location is not None:
            kinds.setdefault(_KIND.get(type(node), "value"), []).append((shown, location))
    if len(kinds) < 2:
        return None
    odd_kind, odd = min(kinds.items(), key=lambda item: (len(item[1]), item[0] != later))
    other_kind, others = next((k, v) for k, v in kinds.items() if k != odd_kind)
    return odd[0][1], f"a {odd_kind} here, a {other_kind} in {Path(others[0][0]).name}; one key has one type in every class"
