"""The layering rule of DESIGN.md: app.py -> pages -> components -> core, never backwards."""
import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_ui_layers():
    for path in (ROOT / "core").rglob("*.py"):
        bad = imported_modules(path) & {"streamlit", "components", "pages"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_components_never_import_pages():
    for path in (ROOT / "components").rglob("*.py"):
        assert "pages" not in imported_modules(path), path


def test_only_resources_uses_streamlit_caches():
    for path in list((ROOT / "components").rglob("*.py")) + list((ROOT / "app_pages").rglob("*.py")) + [ROOT / "app.py"]:
        if path.name == "resources.py" and path.parent.name == "components":
            continue
        used = {node.attr for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Attribute)}
        assert not used & {"cache_resource", "cache_data"}, path


def test_pages_are_thin_and_only_use_components():
    for path in (ROOT / "app_pages").glob("*.py"):
        assert imported_modules(path) <= {"components"}, path
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 10, f"{path} holds logic; move it to components/"


def test_every_page_file_is_a_section_and_vice_versa():
    sections = yaml.safe_load((ROOT / "lessons" / "sections.yaml").read_text(encoding="utf-8"))
    from components.navigation import WORKSHOP_PAGES  # non-lesson pages (workshop), listed in one place

    listed = {s["page"] for s in sections} | {"app_pages/00_home.py"} | {p[0] for p in WORKSHOP_PAGES}
    on_disk = {f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py")}
    assert listed == on_disk


def test_no_pages_folder_next_to_app():
    # Streamlit would take a pages/ folder for an old-style page list and answer a fresh server's first deep
    # link with "Page not found" (see docs/ARCHITECTURE.md, "Layers").
    assert not (ROOT / "pages").exists()
