"""The docs cannot drift from the code: their examples run, their TOML loads, and every setting of
every built-in plugin is in docs/configuration.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import attrs
import pytest
from firebell.core import Secret
from firebell.core.config import parse_config
from firebell.core.plugin_host import PluginHost

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"

#: The pages whose examples must all run (a python block there without the marker fails).
RUNNABLE_PAGES = ("hooks.md", "writing-plugins.md")
MARKER = "<!-- test -->"
#: A block that is a pytest module: written to a file and run with pytest in a new process.
PYTEST_MARKER = "<!-- pytest -->"


def blocks(path: Path, language: str) -> list[tuple[int, str, str]]:
    """Every fenced block of ``language`` in ``path``: (line, code, the marker line before it)."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(rf"^```{language}\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 2
        found.append((line, match.group(1), before.strip()))
    return found


def runnable_examples() -> list[Any]:
    examples = []
    for path in sorted(DOCS.rglob("*.md")):
        for line, code, marker in blocks(path, "python"):
            if marker == MARKER:
                name = f"{path.relative_to(DOCS)}:{line}"
                examples.append(pytest.param(path, line, code, id=name))
    return examples


@pytest.mark.parametrize(("path", "line", "code"), runnable_examples())
def test_the_example_runs(
    path: Path, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # dont_inherit: the example runs without this module's `from __future__ import annotations`.
    compiled = compile("\n" * (line - 1) + code, str(path), "exec", dont_inherit=True)
    exec(compiled, {"__name__": f"docs_example_{line}"})


def test_enough_examples_are_marked_to_run() -> None:
    counts: dict[str, int] = {}
    for example in runnable_examples():
        page = example.values[0].name
        counts[page] = counts.get(page, 0) + 1
    assert counts.get("hooks.md", 0) >= 13 and counts.get("writing-plugins.md", 0) >= 2


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_every_python_block_is_an_example_or_a_signature(page: str) -> None:
    for line, code, marker in blocks(DOCS / page, "python"):
        signature = code.lstrip().startswith("def firebell_") and code.rstrip().endswith(": ...")
        assert marker in (MARKER, PYTEST_MARKER) or signature, (
            f"docs/{page}:{line}: mark it {MARKER} (or {PYTEST_MARKER}) so that it runs"
        )


def pytest_modules() -> list[Any]:
    return [
        pytest.param(code, id=f"{path.relative_to(DOCS)}:{line}")
        for path in sorted(DOCS.rglob("*.md"))
        for line, code, marker in blocks(path, "python")
        if marker == PYTEST_MARKER
    ]


@pytest.mark.parametrize("code", pytest_modules())
def test_the_test_module_passes(code: str, tmp_path: Path, example_path: str | None) -> None:
    (tmp_path / "test_snippet.py").write_text(code, encoding="utf-8")
    environ = {**os.environ}
    if example_path:
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [example_path, environ.get("PYTHONPATH")])
        )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_snippet.py"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def toml_snippets() -> list[Any]:
    return [
        pytest.param(code, id=f"configuration.md:{line}")
        for line, code, _ in blocks(CONFIGURATION, "toml")
    ]


@pytest.mark.parametrize("code", toml_snippets())
def test_the_toml_snippet_loads(code: str, tmp_path: Path) -> None:
    raw = tomllib.loads(code)
    variables = set(re.findall(r'env\s*=\s*"(\w+)"', code))
    environ = {name: f"value-of-{name.lower()}" for name in variables}
    settings = parse_config(raw, path=tmp_path / "plugins.toml", environ=environ)
    host = PluginHost.from_config(settings)  # builds each plugin's config class from its table
    assert set(host.enabled) == set(settings.enabled_plugins())


def config_classes() -> dict[str, type]:
    from firebell.plugins.console import ConsoleConfig
    from firebell.plugins.markdown import MarkdownConfig
    from firebell.plugins.notion.config import NotionConfig
    from firebell.plugins.pagerduty.config import PagerDutyConfig
    from firebell.plugins.slack.config import SlackConfig
    from firebell.plugins.statuspage.config import StatuspageConfig

    return {
        "slack": SlackConfig,
        "pagerduty": PagerDutyConfig,
        "notion": NotionConfig,
        "statuspage": StatuspageConfig,
        "console": ConsoleConfig,
        "markdown": MarkdownConfig,
    }


def keys_of(cls: type, prefix: str = "") -> list[str]:
    """Every key of a config class, nested attrs classes as ``outer.inner``."""
    keys = []
    for field in attrs.fields(cls):
        keys.append(prefix + field.name)
        if isinstance(field.type, type) and attrs.has(field.type) and field.type is not Secret:
            keys.extend(keys_of(field.type, f"{prefix}{field.name}."))
    return keys


def section(name: str) -> str:
    text = CONFIGURATION.read_text(encoding="utf-8")
    heading = f"## `[plugins.{name}]`"
    assert heading in text, f"docs/configuration.md has no '{heading}' section"
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("plugin", sorted(config_classes()))
def test_every_setting_of_every_built_in_plugin_is_documented(plugin: str) -> None:
    body = section(plugin)
    missing = [key for key in keys_of(config_classes()[plugin]) if f"`{key}`" not in body]
    assert not missing, f"docs/configuration.md [plugins.{plugin}] lacks {missing}"
    assert f"plugins/{plugin}.md" in body, "link the plugin's own page"


def test_the_engine_settings_are_documented() -> None:
    from firebell.core import config

    body = CONFIGURATION.read_text(encoding="utf-8").split("## `[firebell]`", 1)[1]
    body = body.split("\n## ", 1)[0]
    for key in sorted(config._ENGINE_KEYS | {"FIREBELL_DATABASE_URL", "FIREBELL_CONFIG"}):
        assert f"`{key}`" in body, key
    for action in sorted(config._PERMISSION_ACTIONS):
        assert f"`{action}`" in body, action
    for key in ("enabled", "after"):
        assert f"`{key}`" in CONFIGURATION.read_text(encoding="utf-8")


def test_every_built_in_plugin_has_a_page() -> None:
    for plugin in config_classes():
        assert (DOCS / "plugins" / f"{plugin}.md").exists(), plugin


def test_relative_links_in_my_pages_resolve() -> None:
    pages = ["index.md", "configuration.md", "hooks.md", "writing-plugins.md"]
    pages += ["plugins/console.md", "plugins/markdown.md"]
    for page in pages:
        path = DOCS / page
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            # Pages other sessions write may land later; only files of this repository count.
            resolved = (path.parent / target).resolve()
            if resolved.name in {"slack-setup.md", "operations.md"}:
                continue
            assert os.path.exists(resolved), f"docs/{page}: broken link {target}"
