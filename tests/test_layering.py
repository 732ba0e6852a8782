"""The layering rules of docs/ARCHITECTURE.md: app.py -> app_pages -> components -> core, never backwards;
caches only in cache.py modules; every demo a lesson names is registered by its page, and vice versa."""
import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
UI_FILES = [*(ROOT / "components").rglob("*.py"), *(ROOT / "app_pages").rglob("*.py"), ROOT / "app.py"]


def imported_modules(path: Path) -> set[str]:
    """Every module path a file imports, in full ("components.common.cache", "streamlit")."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def top_level(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def uses_streamlit_cache(path: Path) -> bool:
    """Any form: st.cache_data, streamlit.cache_resource, `from streamlit import cache_data [as x]`,
    `from streamlit.runtime.caching import ...`, or getattr(st, "cache_data")."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"cache_data", "cache_resource", "cache"}:
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("streamlit"):
            if "caching" in node.module or {a.name for a in node.names} & {"cache_data", "cache_resource", "cache"}:
                return True
        if isinstance(node, ast.Import) and any("caching" in a.name for a in node.names):
            return True
    return bool(re.search(r"""["']cache_(data|resource)["']""", text))


def test_core_never_imports_ui_layers():
    for path in (ROOT / "core").rglob("*.py"):
        bad = top_level(path) & {"streamlit", "components", "app_pages", "app"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_server_layer_sits_outside_the_app():
    """server.py -> web -> core: the ASGI guards never import the app's widgets or pages, and the app never
    imports them (a script run must not depend on how it is served)."""
    for path in [*(ROOT / "web").rglob("*.py"), ROOT / "server.py"]:
        bad = top_level(path) & {"components", "app_pages", "app"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
    for path in [*UI_FILES, *(ROOT / "core").rglob("*.py")]:
        assert "web" not in top_level(path) and "server" not in top_level(path), path


def test_components_never_import_pages():
    for path in (ROOT / "components").rglob("*.py"):
        assert not top_level(path) & {"app_pages", "app"}, path


def test_only_cache_modules_use_streamlit_caches():
    offenders = [str(p.relative_to(ROOT)) for p in UI_FILES if p.name != "cache.py" and uses_streamlit_cache(p)]
    assert not offenders, f"move these caches into a cache.py module: {offenders}"
    assert all(p.parent.parent.name in {"components", "labs"} for p in (ROOT / "components").rglob("cache.py"))


def test_the_cache_rule_catches_every_import_form(tmp_path):
    forms = ["from streamlit import cache_data\n", "from streamlit import cache_resource as keep\n",
             "import streamlit as st\nx = st.cache_data\n", "import streamlit\nstreamlit.cache_resource\n",
             "from streamlit.runtime.caching import cache_data_api\n",
             "import streamlit as st\ngetattr(st, 'cache_data')\n"]
    for i, form in enumerate(forms):
        path = tmp_path / f"f{i}.py"
        path.write_text(form)
        assert uses_streamlit_cache(path), form
    clean = tmp_path / "clean.py"
    clean.write_text("import streamlit as st\nst.write('cache')\n")
    assert not uses_streamlit_cache(clean)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_circles():
    """No two modules of components/ or core/ import each other, directly or round a longer loop, counting
    imports inside functions too (a lazy import hides a circle, it does not remove it)."""
    modules = {module_name(p): p for d in ("components", "core") for p in (ROOT / d).rglob("*.py")}
    graph = {m: {d for d in imported_modules(p) if d in modules and not m.startswith(d + ".") and d != m}
             for m, p in modules.items()}
    state: dict[str, int] = {}        # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:       # d is on the path that led here
                raise AssertionError("import circle: " + " -> ".join(path[path.index(d):] + [m, d]))
            if d not in state:
                visit(d, path + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_pages_are_thin_and_only_use_components():
    for path in (ROOT / "app_pages").glob("*.py"):
        assert top_level(path) <= {"components"}, path
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 14, f"{path} holds logic; move it to components/"


def test_every_page_file_is_a_section_and_vice_versa():
    sections = yaml.safe_load((ROOT / "lessons" / "sections.yaml").read_text(encoding="utf-8"))
    from components.common.navigation import WORKSHOP_PAGES  # non-lesson pages (workshop), listed in one place

    listed = {s["page"] for s in sections} | {"app_pages/00_home.py"} | {p[0] for p in WORKSHOP_PAGES}
    on_disk = {f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py")}
    assert listed == on_disk


def test_every_demo_marker_is_registered_and_every_registered_demo_is_placed():
    sections = yaml.safe_load((ROOT / "lessons" / "sections.yaml").read_text(encoding="utf-8"))
    for s in sections:
        from core.lessons import DEMO_MARKER
        markers = set(DEMO_MARKER.findall((ROOT / "lessons" / s["lesson"]).read_text(encoding="utf-8")))
        from components.demos import for_section

        registered = set(for_section(s["id"]))
        assert markers <= registered, (f"{s['id']}: the lesson places demos its page does not register: "
                                       f"{markers - registered}")
        assert registered <= markers, (f"{s['id']}: the page registers demos its lesson never places: "
                                       f"{registered - markers}")


def test_no_pages_folder_next_to_app():
    # Streamlit would take a pages/ folder for an old-style page list and answer a fresh server's first deep
    # link with "Page not found" (see docs/ARCHITECTURE.md, "Layers").
    assert not (ROOT / "pages").exists()


# ---- the project's import graph -------------------------------------------------------------------------------

PACKAGES = ("core", "components", "web", "app_pages")


def project_files() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")] + [ROOT / "app.py", ROOT / "server.py"]


MODULES = {module_name(p): p for p in project_files()}


def project_imports(path: Path) -> set[str]:
    """The project modules a file imports (anywhere in it: a lazy import is still an arrow), as module names."""
    found = set()
    for name in imported_modules(path):
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    found.discard(module_name(path))
    return found


def lab_of(module: str) -> str | None:
    """`core.labs.rlhf.policy` -> "rlhf"; `components.labs.rlhf.cache` -> "rlhf"; None outside a lab."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "labs" else None


def test_a_lab_never_imports_another_labs_code_in_either_layer():
    """Across the layers too: components/labs/<lab> never imports core/labs/<other> (what two labs need moves to
    core/serving, core/ or components/common)."""
    offenders = []
    for name, path in MODULES.items():
        mine = lab_of(name)
        if mine is None:
            continue
        others = {m for m in project_imports(path) if lab_of(m) not in (None, mine)}
        offenders += [f"{name} -> {m}" for m in sorted(others)]
    assert not offenders, offenders


def test_shared_modules_do_not_reach_into_labs_or_the_workshop():
    """No back-arrows: components/common is used by every page and imports only itself and core; core outside the
    labs never imports a lab; the quiz never imports the workshop. Only the demo table (components/demos.py) and
    the workshop pages may name labs."""
    rules = {
        "components.common": ("components.common", "core"),
        "components.quiz": ("components.common", "components.quiz", "core"),
        "core.serving": ("core.serving", "core.timing", "core.identity"),
    }
    offenders = []
    for name, path in MODULES.items():
        for prefix, allowed in rules.items():
            if name == prefix or name.startswith(prefix + "."):
                offenders += [f"{name} -> {m}" for m in sorted(project_imports(path))
                              if not any(m == a or m.startswith(a + ".") for a in allowed)]
        if name.startswith("core.") and lab_of(name) is None:
            offenders += [f"{name} -> {m}" for m in sorted(project_imports(path)) if lab_of(m)]
    assert not offenders, offenders


def test_importing_every_view_does_not_import_torch():
    """A page draws its text before any model loads: no widget module may import torch (or transformers, peft) at
    import time. Checked in a fresh interpreter that imports the app frame, every view and the demo table."""
    import subprocess
    import sys

    views = sorted(name for name in MODULES if name.startswith("components.") and not name.endswith("__init__"))
    code = ("import sys\n" + "".join(f"import {v}\n" for v in views)
            + "heavy = sorted(m for m in ('torch', 'transformers', 'peft', 'faiss') if m in sys.modules)\n"
            + "print(','.join(heavy))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ,
                                 "STREAMLIT_GLOBAL_SHOW_WARNING_ON_DIRECT_EXECUTION": "false"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1:] in ([""], []), f"imported at import time: {result.stdout}"


HEAVY = ("torch", "transformers", "peft", "faiss")


def heavy_at_import(name: str, seen: frozenset = frozenset()) -> bool:
    """Whether importing project module `name` imports a heavy package (directly or through project modules)."""
    path = MODULES.get(name)
    if path is None or name in seen:
        return False
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        for sub in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if isinstance(sub, ast.Import):
                mods = [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                mods = [sub.module, *(f"{sub.module}.{a.name}" for a in sub.names)]
            else:
                continue
            for m in mods:
                if m.split(".")[0] in HEAVY:
                    return True
                while m and m not in MODULES:
                    m = m.rpartition(".")[0]
                if m and heavy_at_import(m, seen | {name}):
                    return True
    return False


LAZY_BY_DESIGN = {"components/demos.py"}   # the demo table imports a lab's widgets only when its page runs


def test_imports_sit_at_module_level_unless_they_are_heavy():
    """Imports go at the top of a module; inside a function only what would import torch, transformers, peft or
    faiss at import time (directly or through a project module), so pages render before any model library loads."""
    offenders = []
    for name, path in MODULES.items():
        rel = str(path.relative_to(ROOT))
        if rel in LAZY_BY_DESIGN:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    # `from core.serving import inspection` imports the module core.serving.inspection
                    mods = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                            for a in node.names]
                else:
                    continue
                for m in mods:
                    if m.split(".")[0] in HEAVY:
                        continue
                    project = m
                    while project and project not in MODULES:
                        project = project.rpartition(".")[0]
                    if project and heavy_at_import(project):
                        continue
                    if m.split(".")[0] in PACKAGES or m.split(".")[0] in {"streamlit", "plotly", "numpy", "yaml"}:
                        offenders.append(f"{rel}:{node.lineno} imports {m} inside {fn.name}()")
    assert not offenders, "\n".join(offenders)
