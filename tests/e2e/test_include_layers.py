"""The layering of src/ holds in the code, not only in CMake: every `#include "LAYER/..."` in
src/L/ names L itself or a layer that L depends on, directly or through others, as declared by the
`limarp_layer(NAME DEPS ...)` lines of src/CMakeLists.txt (the one place the order is written
down). CMake links only what those lines say, but every library sees all of src/ as include path,
so an upward include would compile as long as it used only inline code; this test catches it.
The tests of a layer, tests/L/, follow the same rule (each test program links only its layer).
It also checks itself: the same scan over a copy of src/ with one upward include added must fail."""
import os
import re
import shutil
import tempfile

from common import Checker, SOURCE

c = Checker()


def layer_deps(src):
    text = open(os.path.join(src, "CMakeLists.txt")).read()
    deps = {}
    for m in re.finditer(r"limarp_layer\((\w+)(?:\s+DEPS\s+([^)]*))?\)", text):
        deps[m.group(1)] = [d[len("limarp_"):] for d in (m.group(2) or "").split() if d.startswith("limarp_")]
    return deps


def below(deps, layer):
    seen, todo = set(), list(deps.get(layer, []))
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(deps.get(d, []))
    return seen


def upward_includes(src, roots=None):
    """Scans each layer's folder under every root (default: src itself) for upward includes."""
    deps = layer_deps(src)
    bad = []
    for root in roots or [src]:
        for layer in deps:
            allowed = below(deps, layer) | {layer}
            for folder, _, files in os.walk(os.path.join(root, layer)):
                for name in files:
                    path = os.path.join(folder, name)
                    for n, line in enumerate(open(path, errors="replace"), 1):
                        m = re.match(r'\s*#\s*include\s+"(\w+)/', line)
                        if m and m.group(1) in deps and m.group(1) not in allowed:
                            where = os.path.relpath(path, os.path.dirname(src))
                            bad.append(f"{where}:{n}: {layer} includes {m.group(1)}/, which is not below it")
    return deps, bad


src = os.path.join(SOURCE, "src")
deps, bad = upward_includes(src)
c.check(len(deps) >= 12 and "base" in deps and "server" in deps, f"the layers and their dependencies are read ({sorted(deps)})")
c.check(not bad, "no layer includes one above it" + "".join("\n     " + b for b in bad[:20]))
_, bad_tests = upward_includes(src, [os.path.join(SOURCE, "tests")])
c.check(not bad_tests, "no layer's tests include a layer above it" + "".join("\n     " + b for b in bad_tests[:20]))

# The check can fail: the same scan over a copy with tensor including the server.
with tempfile.TemporaryDirectory() as tmp:
    copy = os.path.join(tmp, "src")
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("web"))
    target = os.path.join(copy, "tensor", "dtype.h")
    with open(target, "a") as f:
        f.write('\n#include "server/router.h"\n')
    _, planted = upward_includes(copy)
    c.check(len(planted) == 1 and "tensor includes server/" in planted[0], f"a planted upward include is found ({planted})")
c.done()
