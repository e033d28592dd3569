"""The package's import graph: no cycle, and backend code only in `backend/`.

Read from the source with `ast` (every import, also those inside functions),
so it needs no backend installed. Anyone can check the import cost too:
`python -X importtime -c "import keras_seqimage"` or
`python benchmarks/import_time.py`.
"""

import ast
from pathlib import Path

import keras_seqimage

PACKAGE = Path(keras_seqimage.__file__).parent
ROOT = "keras_seqimage"

# Generic modules may use these parts of the backend package: the gate and
# its dispatch, the one place private names are read, the generic op set, the
# factory's jit policy and the restorers' network precision. Backend
# subpackages are reached through the gate.
GENERIC_MAY_IMPORT = {
    f"{ROOT}.backend",
    f"{ROOT}.backend.compat",
    f"{ROOT}.backend.generic",
    f"{ROOT}.backend.jit_compile",
    f"{ROOT}.backend.precision",
}
# Libraries (and private modules) that only backend code may import.
BACKEND_ONLY = ("torch", "tensorflow", "jax", "keras.src", "numpy._core", "numpy.core")


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name, path):
    """Absolute names each import statement of the module refers to."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return found


GRAPH = {
    name: {i for i in _imports(name, path) if i in MODULES and i != name}
    for name, path in MODULES.items()
}


def _strongly_connected(graph):
    """Tarjan's components of `graph` with more than one module."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def _is_package_of(parent, child):
    return child.startswith(parent + ".")


def test_the_package_has_no_import_cycle():
    # A package's `__init__` importing its own submodules (to re-export them)
    # is not a cycle; a submodule importing its package back is.
    graph = {
        name: {t for t in targets if not _is_package_of(name, t)}
        for name, targets in GRAPH.items()
    }
    assert _strongly_connected(graph) == []


def test_a_cycle_is_found():
    """The check itself: a made-up cycle of three modules is reported."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [["a", "b", "c"]]


def _generic(name):
    return not (name == f"{ROOT}.backend" or name.startswith(f"{ROOT}.backend."))


def test_generic_modules_import_no_backend_code():
    offending = []
    for name, path in MODULES.items():
        if not _generic(name):
            continue
        for imported in _imports(name, path):
            inside = imported.startswith(f"{ROOT}.backend")
            if (inside and imported not in GENERIC_MAY_IMPORT) or any(
                imported == lib or imported.startswith(lib + ".")
                for lib in BACKEND_ONLY
            ):
                offending.append(f"{name} imports {imported}")
    assert offending == []


def test_the_engine_imports_no_model_or_layer():
    """Layers and models declare `supports_direct_call`; no allow-list of them."""
    engine = [n for n in MODULES if n.startswith(f"{ROOT}.backend")]
    for name in engine:
        assert not any(
            t.startswith((f"{ROOT}.layers", f"{ROOT}.models")) for t in GRAPH[name]
        ), name
