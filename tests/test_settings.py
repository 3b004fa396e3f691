"""The one settings table (``llmops_cli/settings.py``): the only reader of the environment, every variable
declared once, README's table generated from it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_cli import settings
from llmops_cli.settings import SETTINGS, Setting, markdown_table, replace_readme_table

PKG = Path(__file__).resolve().parent.parent / "llmops_cli"
README = PKG.parent / "README.md"
OS_MODULES = {"os", "posix", "nt"}
ENV_FUNCS = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
# String constants that look like the name of a variable llmops reads: each must be declared in the table.
ENV_NAME = re.compile(r"(?:LLMOPS|GITHUB|LITELLM|PYDANTIC)_[A-Z0-9_]+|NO_COLOR|COLUMNS|TERM|XDG_CACHE_HOME")


def direct_env_reads(source: str) -> list[int]:
    """Lines of ``source`` that touch the process environment other than through llmops_cli.settings:
    ``os.environ`` / ``os.getenv`` / ``putenv`` … under any alias of ``os``, ``from os import environ``, and a
    typer/click option's ``envvar=`` (the CLI library reading a variable the table does not declare)."""
    tree = ast.parse(source)
    os_names = {
        a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.name in OS_MODULES
    }
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENV_FUNCS:
            if isinstance(node.value, ast.Name) and node.value.id in os_names:
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module in OS_MODULES:
            if any(a.name in ENV_FUNCS for a in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and any(k.arg in ("envvar", "auto_envvar_prefix") for k in node.keywords):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_checker_finds_every_way_to_read_the_environment() -> None:
    src = (
        "import os\nimport os as _o\nfrom os import environ, getenv\nimport typer\n"
        "a = os.environ.get('X')\nb = _o.getenv('Y')\n_o.environ.setdefault('Z', '1')\n"
        "c = typer.Option(None, envvar='W')\nd = 'os.environ'\ne = settings.environ()\n"
    )
    assert direct_env_reads(src) == [3, 5, 6, 7, 8]


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = [
        f"{path.relative_to(PKG.parent)}:{line}"
        for path in sorted(PKG.rglob("*.py"))
        if path != PKG / "settings.py"
        for line in direct_env_reads(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, (
        "the environment is read outside llmops_cli/settings.py (declare the variable there and read it "
        f"through its Setting): {offenders}"
    )


def test_every_variable_name_in_the_code_is_declared() -> None:
    declared = {s.name for s in SETTINGS}
    undeclared = []
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ENV_NAME.fullmatch(node.value)
                and node.value not in declared
            ):
                undeclared.append(f"{path.relative_to(PKG.parent)}:{node.lineno}: {node.value}")
    assert not undeclared, f"variable names not in llmops_cli/settings.py SETTINGS: {undeclared}"


def test_every_llmops_variable_the_docs_mention_is_declared() -> None:
    """README and docs/ name no LLMOPS_* variable that llmops does not read (test-only ones aside)."""
    test_only = {"LLMOPS_UPDATE_GOLDENS", "LLMOPS_REQUIRE_BROWSER", "LLMOPS_SCREENSHOT_DIR"}
    declared = {s.name for s in SETTINGS}
    texts = [README.read_text(encoding="utf-8")] + [
        p.read_text(encoding="utf-8") for p in (PKG.parent / "docs").glob("*.md")
    ]
    named = {m for t in texts for m in re.findall(r"\bLLMOPS_[A-Z0-9_]+\b", t)}
    assert named - declared - test_only == set()


def test_the_table_is_complete_and_unique() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    module_settings = {v for v in vars(settings).values() if isinstance(v, Setting)}
    assert module_settings == set(SETTINGS), "a Setting defined in settings.py but missing from SETTINGS"
    for s in SETTINGS:
        assert s.meaning.endswith(".") and s.type in {"path", "int", "size", "flag", "text", "presence", "secret"}, s


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert replace_readme_table(text) == text, (
        "README's table of environment variables is not the one llmops_cli/settings.py generates; "
        "run: python -m llmops_cli.settings --readme README.md"
    )


def test_replace_readme_table_notices_a_stale_or_missing_block() -> None:
    stale = f"# x\n{settings.README_START}\n| old |\n{settings.README_END}\nafter\n"
    assert (
        replace_readme_table(stale) == f"# x\n{settings.README_START}\n{markdown_table()}{settings.README_END}\nafter\n"
    )
    with pytest.raises(ValueError, match="no settings table block"):
        replace_readme_table("# no block\n")


def test_markdown_command_prints_the_table_and_rewrites_a_readme(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "llmops_cli.settings"]
    out = subprocess.run([*run, "--markdown"], capture_output=True, text=True, check=True, cwd=PKG.parent).stdout
    assert out == markdown_table()
    assert "| `LLMOPS_LOG` | path |" in out and "| `NO_COLOR` | presence |" in out
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{settings.README_START}\nold\n{settings.README_END}\n", encoding="utf-8")
    subprocess.run([*run, "--readme", str(readme)], check=True, cwd=PKG.parent)
    assert readme.read_text(encoding="utf-8") == f"intro\n{settings.README_START}\n{out}{settings.README_END}\n"
    bad = subprocess.run([*run, "--nope"], capture_output=True, text=True, cwd=PKG.parent)
    assert bad.returncode == 2 and "usage:" in bad.stdout


def test_accessors_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings.LOCAL_CTX
    monkeypatch.delenv(s.name, raising=False)
    assert s.raw() is None and s.text() == "" and not s.present() and s.get("d") == "d"
    assert s.positive_int(4096) == 4096
    monkeypatch.setenv(s.name, "  ")
    assert s.present() and s.raw() == "  " and s.get("d") == "  " and s.positive_int(7) == 7
    monkeypatch.setenv(s.name, " 2048 ")
    assert s.positive_int(4096) == 2048
    for bad in ("0", "-3", "many", "1.5"):
        monkeypatch.setenv(s.name, bad)
        with pytest.raises(ValueError, match=f"LLMOPS_LOCAL_CTX must be a positive integer, got '{re.escape(bad)}'"):
            s.positive_int(4096)


@pytest.mark.parametrize(("value", "on"), [("1", True), (" TRUE ", True), ("yes", True), ("On", True), ("0", False), ("", False), ("no", False)])  # fmt: skip
def test_flag(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv(settings.OTEL.name, value)
    assert settings.OTEL.flag() is on


def test_set_default_keeps_a_value_the_user_set(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings.PYDANTIC_DISABLE_PLUGINS
    monkeypatch.setenv(s.name, "mine")
    s.set_default("__all__")
    assert s.raw() == "mine"
    monkeypatch.delenv(s.name)
    s.set_default("__all__")
    assert s.raw() == "__all__"


def test_value_of_and_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_API_KEY_FOR_TEST", "k-123456789")
    assert settings.value_of("VLLM_API_KEY_FOR_TEST") == "k-123456789"
    assert settings.value_of("SURELY_NOT_SET_ANYWHERE_42") is None
    env = settings.environ()
    assert env["VLLM_API_KEY_FOR_TEST"] == "k-123456789"
    monkeypatch.delenv("VLLM_API_KEY_FOR_TEST")
    assert "VLLM_API_KEY_FOR_TEST" not in env  # a live view, not a copy taken at import


def test_the_settings_module_is_light() -> None:
    code = "import sys, llmops_cli.settings; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PKG.parent)
    loaded = {m.split(".")[0] for m in out.stdout.split()}
    assert not loaded & {"pydantic", "typer", "rich", "litellm", "click", "dataclasses"}, loaded & {
        "pydantic",
        "dataclasses",
    }
