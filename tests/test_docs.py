"""Docs are checked like code: a setting, command or rule without docs fails the build."""

from __future__ import annotations

import re

from pydantic import BaseModel

from monitor.rules.load import load_rules
from monitor.settings import Config
from tests.support.setup import ROOT, SHIPPED_RULES

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _config_keys(annotation, f"{prefix}{name}.")
        elif args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            keys += _config_keys(args[0], f"{prefix}{name}[].")  # a tuple of tables
        else:
            keys.append(prefix + name)
    return keys


def test_every_config_key_is_in_the_readme_reference() -> None:
    keys = _config_keys(Config)
    assert "feeds[].interval" in keys and "slack.api_url" in keys
    missing = [key for key in keys if f"| `{key}` |" not in README]
    assert missing == [], f"undocumented config keys: {missing}"


def test_readme_documents_no_config_key_that_does_not_exist() -> None:
    documented = set(re.findall(r"^\| `([a-z_\[\]]+\.[a-z_.\[\]]+)` \|", README, re.M))
    assert documented - set(_config_keys(Config)) == set()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert f"```sh\n{test_command}\n```" in README
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "```sh\npython3 -m pip install . && monitor run\n```" in README


def test_every_command_is_documented() -> None:
    for command in ("run", "once", "check", "replay", "test", "eval", "schema"):
        assert f"| `monitor {command}" in README


def test_shipped_rules_are_documented() -> None:
    ids = {rule.id for rule in load_rules(SHIPPED_RULES).rules}
    rules_readme = (SHIPPED_RULES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{rule_id}`" in rules_readme for rule_id in ids)


def test_dockerfile_runs_the_monitor_as_a_non_root_user_with_state_on_a_volume() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.\d+-slim$", dockerfile, re.M)
    assert re.search(r"^USER monitor$", dockerfile, re.M)
    assert 'VOLUME ["/app/state"]' in dockerfile
    assert 'CMD ["run", "--config", "/config/config.toml"]' in dockerfile
