"""A wrong plugins.toml stops Firebell at start with a message naming file, table and key."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs
import pytest
from core_support import Recorder
from firebell.core import ConfigError, PluginSpec, Secret, hookimpl, load_config, open_firebell

SECRET_VARIABLE = "FIREBELL_TEST_VAULT_TOKEN"


@attrs.frozen
class VaultConfig:
    """A plugin config with a secret and a number."""

    token: Secret
    timeout: float = 10.0


class Vault:
    """A plugin whose table needs a secret."""

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(config_class=VaultConfig)


def _https(_instance: object, _attribute: object, value: str) -> None:
    if not value.startswith("https://"):
        raise ValueError(f"url: {value!r} is not an https URL.")  # a plugin's full stop


@attrs.frozen
class ShelfConfig:
    """A plugin config with a key of each kind a table holds."""

    timeout: float
    sealed: bool = False
    mounts: list[str] = attrs.field(factory=list)
    paths: dict[str, str] = attrs.field(factory=dict)
    engine: Literal["v1", "v2"] = "v2"
    url: str = attrs.field(default="https://vault", validator=_https)


class Shelf:
    """A plugin without secrets whose keys take every kind of value."""

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(config_class=ShelfConfig)


CASES = {
    "invalid-toml": (
        "[firebell\ndatabase_url = 'sqlite://'\n",
        ["not valid TOML", "line 1", "Fix the syntax there"],
    ),
    "unknown-top-level-table": (
        "[plugin.console]\n",
        ["unknown table 'plugin'", "Valid top-level tables are [firebell] and [plugins.<name>]"],
    ),
    "unknown-firebell-key": (
        "[firebell]\ndatabse_url = 'sqlite://'\n",
        ["[firebell] has unknown key 'databse_url'", "Valid keys:", "database_url"],
    ),
    "firebell-key-wrong-type": (
        "[firebell]\ndatabase_url = 5\n",
        ["[firebell] database_url must be a non-empty string, got 5"],
    ),
    "default-severity-not-a-severity": (
        "[firebell]\ndefault_severity = 'SEV3'\n",
        ["[firebell] default_severity = 'SEV3' is not one of the severities (SEV0, SEV1, SEV2)"],
    ),
    "default-severity-not-among-own-severities": (
        "[firebell]\ndefault_severity = 'SEV2'\n[firebell.severities]\nP1 = 'Down'\n",
        ["[firebell] default_severity = 'SEV2' is not one of the severities (P1)"],
    ),
    "severity-description-wrong-type": (
        "[firebell.severities]\nSEV1 = 1\n",
        ["[firebell.severities] SEV1 must be a description string, got 1"],
    ),
    "severities-differing-only-in-case": (
        "[firebell]\ndefault_severity = 'SEV2'\n[firebell.severities]\nsev1 = 'a'\nSEV1 = 'b'\n"
        "SEV2 = 'c'\n",
        [
            "[firebell.severities] 'sev1' and 'SEV1' differ only in case",
            "severities are matched ignoring case, so keep one of them",
        ],
    ),
    "unknown-permission-action": (
        "[firebell.permissions]\nresolv = ['anyone']\n",
        ["[firebell.permissions] unknown action 'resolv'", "Valid actions:", "resolve"],
    ),
    "permission-misspelt-role": (
        "[firebell.permissions]\nresolve = ['comander']\n",
        [
            "[firebell.permissions] resolve: 'comander' is not a valid entry (did you mean "
            "'commander'?)",
            'Valid entries: "anyone", "commander", "reporter", "user:U0123ABCDEF"',
            '"group:S0123ABCDEF"',
        ],
    ),
    "permission-capitalised-role": (
        "[firebell.permissions]\nclose = ['reporter', 'Commander']\n",
        ["[firebell.permissions] close: 'Commander' is not a valid entry (did you mean"],
    ),
    "permission-unknown-word": (
        "[firebell.permissions]\nseverity = ['boss']\n",
        ["[firebell.permissions] severity: 'boss' is not a valid entry. Valid entries:"],
    ),
    "permission-user-handle": (
        "[firebell.permissions]\nresolve = ['user:@ana']\n",
        ["resolve: 'user:@ana' is not a valid entry: after user: comes a Slack user id"],
    ),
    "permission-group-handle": (
        "[firebell.permissions]\nresolve = ['group:oncall']\n",
        ["resolve: 'group:oncall' is not a valid entry: after group: comes a Slack user group id"],
    ),
    "plugin-not-a-table": (
        "[plugins]\nvault = 3\n",
        ["[plugins.vault] must be a table, got 3"],
    ),
    "unknown-plugin": (
        "[plugins.vaultt]\n",
        ["[plugins.vaultt]: no plugin named 'vaultt' is installed", "installed: ", "vault"],
    ),
    "unknown-plugin-key": (
        "[plugins.vault]\ntoken = { env = 'FIREBELL_TEST_VAULT_TOKEN' }\ntimout = 3\n",
        ["[plugins.vault]", "timout", "Valid keys: token, timeout"],
    ),
    "plugin-key-wrong-type": (
        "[plugins.vault]\ntoken = { env = 'FIREBELL_TEST_VAULT_TOKEN' }\ntimeout = 'soon'\n",
        ["[plugins.vault] timeout: expected a number, got 'soon'."],
    ),
    "plugin-key-boolean-for-number": (
        "[plugins.vault]\ntoken = { env = 'FIREBELL_TEST_VAULT_TOKEN' }\ntimeout = true\n",
        ["[plugins.vault] timeout: expected a number, got True"],
    ),
    "enabled-wrong-type": (
        "[plugins.vault]\nenabled = 'no'\n",
        ["[plugins.vault] enabled must be true or false, got 'no'"],
    ),
    "after-wrong-type": (
        "[plugins.vault]\nafter = 'recorder'\n",
        ["[plugins.vault] after must be a list of plugin names, got 'recorder'"],
    ),
    "after-names-no-plugin": (
        "[plugins.vault]\ntoken = { env = 'FIREBELL_TEST_VAULT_TOKEN' }\nafter = ['recordr']\n",
        [
            "[plugins.vault] after: plugin 'vault' waits for 'recordr', which is not a known "
            "plugin (installed: recorder, vault). Check the spelling."
        ],
    ),
    "after-names-no-plugin-in-a-disabled-table": (
        "[plugins.recorder]\nenabled = false\nafter = ['vualt']\n",
        ["[plugins.recorder] after: plugin 'recorder' waits for 'vualt', which is not a known"],
    ),
    "missing-required-key": (
        "[plugins.vault]\ntimeout = 3\n",
        ["[plugins.vault] token: required field missing."],
    ),
    "missing-secret-variable": (
        "[plugins.vault]\ntoken = { env = 'FIREBELL_TEST_MISSING_TOKEN' }\n",
        [
            "[plugins.vault] token refers to the environment variable FIREBELL_TEST_MISSING_TOKEN",
            "which is not set",
            "Export FIREBELL_TEST_MISSING_TOKEN=...",
        ],
    ),
    "secret-written-in-the-file": (
        "[plugins.vault]\ntoken = 'hunter2-literal'\n",
        [
            "[plugins.vault] token: secrets are written as environment-variable references",
            'key = { env = "VARIABLE" }',
        ],
    ),
    "circle-of-after": (
        "[plugins.vault]\ntoken = { env = 'FIREBELL_TEST_VAULT_TOKEN' }\nafter = ['recorder']\n"
        "[plugins.recorder]\nafter = ['vault']\n",
        [
            "[plugins.recorder] after: plugins wait for each other in a circle",
            "(vault -> recorder -> vault)",
            "change the `after` list in [plugins.vault] or [plugins.recorder]",
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_plugins_toml_is_an_error_naming_file_table_and_key(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, fragments = CASES[case]
    path = tmp_path / "plugins.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(SECRET_VARIABLE, "s3cret-value")
    monkeypatch.delenv("FIREBELL_TEST_MISSING_TOKEN", raising=False)
    monkeypatch.delenv("FIREBELL_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError) as error:
        firebell = open_firebell(
            path, entry_points=False, extra_plugins={"vault": Vault(), "recorder": Recorder()}
        )
        firebell.close()
    message = str(error.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert "s3cret-value" not in message and "hunter2-literal" not in message


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ("timeout = '10'", "timeout: expected a number without quotes, got '10'."),
        ("timeout = 'soon'", "timeout: expected a number, got 'soon'."),
        ("timeout = [1]", "timeout: expected a number, got [1]."),
        ("timeout = 3\nsealed = 'yes'", "sealed: expected true or false, got 'yes'."),
        ("timeout = 3\nmounts = 4", 'mounts: expected a list, like ["a", "b"].'),
        (
            "timeout = 3\nmounts = 'kv'",
            """mounts: expected a list such as ["kv"], not a string ('kv').""",
        ),
        ("timeout = 3\nmounts = ['kv', 2]", "mounts.1: expected a string in quotes, got 2."),
        ("timeout = 3\npaths = 'kv'", 'paths: expected a table, like { name = "value" }.'),
        ("timeout = 3\nengine = 'v3'", 'engine: expected "v1" or "v2".'),
        ("timeout = 3\nurl = 'vault'", "url: 'vault' is not an https URL."),
    ],
)
def test_a_wrong_value_of_a_valid_key_is_said_plainly_without_the_valid_keys(
    tmp_path: Path, table: str, said: str
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(f"[plugins.shelf]\n{table}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        open_firebell(path, entry_points=False, extra_plugins={"shelf": Shelf()})

    assert str(error.value) == f"{path}: [plugins.shelf] {said}"


def test_an_unknown_key_beside_a_wrong_value_lists_the_valid_keys(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text("[plugins.shelf]\ntimeout = '10'\ntimout = 3\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        open_firebell(path, entry_points=False, extra_plugins={"shelf": Shelf()})

    assert str(error.value) == (
        f"{path}: [plugins.shelf] timeout: expected a number without quotes, got '10'; unknown "
        "key 'timout'. Valid keys: timeout, sealed, mounts, paths, engine, url."
    )


def test_every_documented_permission_form_loads(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    who = [
        *("anyone", "commander", "reporter", "user:U0123ALICE", "user:W0123BOB"),
        *("user:web:ana@example.com", "user:web:local", "group:S0123ONCALL"),
    ]
    path.write_text(f"[firebell.permissions]\nresolve = {who!r}\nclose = []\n", encoding="utf-8")
    settings = load_config(path, environ={})
    assert settings.permissions == {"resolve": tuple(who), "close": ()}


@pytest.mark.parametrize("recorder_table", ["[plugins.recorder]\nenabled = false\n", ""])
def test_after_may_name_an_installed_plugin_that_is_off_and_then_does_not_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorder_table: str
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n'
        "[plugins.vault]\ntoken = { env = 'FIREBELL_TEST_VAULT_TOKEN' }\nafter = ['recorder']\n"
        + recorder_table,
        encoding="utf-8",
    )
    monkeypatch.setenv(SECRET_VARIABLE, "s3cret-value")
    monkeypatch.delenv("FIREBELL_DATABASE_URL", raising=False)
    firebell = open_firebell(
        path, entry_points=False, extra_plugins={"vault": Vault(), "recorder": Recorder()}
    )
    try:
        assert firebell.host.dependencies() == {"vault": ()}
    finally:
        firebell.close()


def test_an_attrs_validator_message_is_shown_as_written(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text("[plugins.console]\nstream = 'stdrr'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        open_firebell(path)
    message = str(error.value)
    assert message.startswith(f"{path}: [plugins.console]")
    assert "'stream' must be in ['stderr', 'stdout'] (got 'stdrr')" in message
    assert "Attribute(" not in message


def test_an_unknown_installed_plugin_lists_those_installed(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text("[plugins.consle]\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"no plugin named 'consle' is installed \(installed: .*console"
    ):
        open_firebell(path)


def test_an_empty_secret_variable_counts_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(f"[plugins.vault]\ntoken = {{ env = '{SECRET_VARIABLE}' }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{SECRET_VARIABLE}, which is not set"):
        load_config(path, environ={SECRET_VARIABLE: ""})
    settings = load_config(path, environ={SECRET_VARIABLE: "s3cret-value"})
    token = settings.plugins["vault"].options["token"]
    assert isinstance(token, Secret) and token.reveal() == "s3cret-value"
    assert "s3cret-value" not in repr(settings) + str(token)


def test_a_config_file_named_but_missing_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=f"{missing}: no such file"):
        load_config(missing, environ={})
    with pytest.raises(ConfigError, match=f"{missing}: no such file"):
        load_config(None, environ={"FIREBELL_CONFIG": str(missing)})


def test_without_a_file_the_defaults_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_config(None, environ={})
    assert settings.path is None
    assert [s.name for s in settings.severities] == ["SEV0", "SEV1", "SEV2"]
    assert settings.default_severity == "SEV2"
    assert settings.database_url == "sqlite:///firebell.db"
    assert settings.plugins == {}
    assert load_config(None, environ={"FIREBELL_DATABASE_URL": "sqlite:///x.db"}).database_url == (
        "sqlite:///x.db"
    )


def test_severities_named_in_any_case_are_kept_under_their_configured_names(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(
        "[firebell]\ndefault_severity = 'sev1'\n"
        "[firebell.reminders]\nupdate_after_minutes = { sev1 = 5, Sev0 = 2 }\n",
        encoding="utf-8",
    )

    settings = load_config(path, environ={})

    assert settings.default_severity == "SEV1"
    assert dict(settings.reminders.update_after_minutes) == {"SEV1": 5, "SEV0": 2}


def test_one_severity_twice_in_update_after_minutes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(
        "[firebell.reminders]\nupdate_after_minutes = { sev1 = 5, SEV1 = 10 }\n", encoding="utf-8"
    )

    with pytest.raises(ConfigError) as refused:
        load_config(path, environ={})

    assert str(refused.value) == (
        f"{path}: [firebell.reminders] update_after_minutes names 'sev1' and 'SEV1', one "
        "severity (SEV1); keep one of them."
    )


class Checking:
    """A plugin whose ``firebell_check_settings`` answers what it is given."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    @hookimpl
    def firebell_check_settings(self, settings: object) -> object:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (None, None),
        ([], None),
        (["colour: 'red.' is not a colour."], "[plugins.checking] colour: 'red.' is not a colour."),
        (
            ["a: one", "b: two"],
            "[plugins.checking] a: one; b: two.",
        ),
        (
            RuntimeError("boom"),
            "[plugins.checking]: the plugin's firebell_check_settings raised RuntimeError: boom",
        ),
        (
            "a: one",
            "[plugins.checking]: the plugin's firebell_check_settings returned 'a: one', not a "
            "list of str",
        ),
    ],
)
def test_what_a_plugins_settings_check_finds_stops_firebell_at_start(
    tmp_path: Path, answer: object, said: str | None
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n[plugins.checking]\n',
        encoding="utf-8",
    )
    plugins = {"checking": Checking(answer)}

    if said is None:
        open_firebell(path, entry_points=False, extra_plugins=plugins).close()
        return
    with pytest.raises(ConfigError) as error:
        open_firebell(path, entry_points=False, extra_plugins=plugins)
    assert str(error.value) == f"{path}: {said}"


def test_without_requiring_secrets_an_unset_variable_says_so_when_revealed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(f"[plugins.vault]\ntoken = {{ env = '{SECRET_VARIABLE}' }}\n", encoding="utf-8")
    said = (
        f"{path}: [plugins.vault] token refers to the environment variable {SECRET_VARIABLE}, "
        f"which is not set. Export {SECRET_VARIABLE}=... before starting Firebell."
    )

    settings = load_config(path, environ={}, require_secrets=False)

    token = settings.plugins["vault"].options["token"]
    assert isinstance(token, Secret) and not token.is_set
    assert settings.plugins["vault"].unset_secrets() == [token]
    with pytest.raises(ConfigError) as revealed:
        token.reveal()
    assert str(revealed.value) == said
    with pytest.raises(ConfigError) as required:
        settings.require_secrets()
    assert str(required.value) == said
    with pytest.raises(ConfigError) as strict:
        load_config(path, environ={})
    assert str(strict.value) == said
