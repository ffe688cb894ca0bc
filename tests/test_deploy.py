"""Several instances in containers: deploy/several/compose.yml, its monitor
config and its Prometheus (README.md, "Running several instances").

What an operator starting the set-up relies on is checked here without a
Docker engine: both replicas run the same config, whose state is the
PostgreSQL database the compose file itself runs; that config is the desk's
own, apart from where the state, the rules and the server are, and passes
`monitor check`; the password reaches the database and the replicas from one
variable and is written nowhere, nor is any token; Prometheus scrapes every
replica at the port the config serves. With Docker's Compose plugin
installed, `docker compose config` validates the file too.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from monitor.config import LoadedConfig, load_config
from monitor.settings_state import StateSettings
from monitor.units import format_duration
from tests.support.setup import ROOT, SHIPPED_RULES
from tests.test_deployment import image_environment, mounts
from tests.test_e2e import monitor_command

SEVERAL = ROOT / "deploy" / "several"
COMPOSE = SEVERAL / "compose.yml"
PROMETHEUS_DIR = SEVERAL / "prometheus"
PASSWORD_VARIABLE = "PGPASSWORD"
"""What libpq reads the password from, and what compose interpolates."""


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def replicas() -> dict[str, dict[str, Any]]:
    """The services that run the monitor: those built from the Dockerfile."""
    return {name: spec for name, spec in services().items() if "build" in spec}


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """The file of this checkout that ``container_path`` is in ``service``,
    through its bind mounts (relative sources are relative to the compose file)."""
    wanted = PurePosixPath(container_path)
    for mount in mounts(service):
        target = PurePosixPath(mount.target)
        if mount.is_bind and (wanted == target or target in wanted.parents):
            return (COMPOSE.parent / mount.source / wanted.relative_to(target)).resolve()
    raise AssertionError(f"{container_path} is on no bind mount of {service.get('volumes')}")


def config_path_of(service: dict[str, Any]) -> str:
    """The config file the service's `monitor run` reads, as the container sees it."""
    command = service["command"]
    assert isinstance(command, list), "exec form: no shell between compose and the monitor"
    assert command[:2] == ["run", "--config"] and len(command) == 3, command
    return str(command[2])


def replica_config(
    service: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, LoadedConfig]:
    """The replica's config file in this checkout, loaded by the monitor's
    own loader with the environment the image sets."""
    path = host_path(service, config_path_of(service))
    for name, value in image_environment().items():
        monkeypatch.setenv(name, value)
    return path, load_config(path)


def interpolated_variable(value: object) -> str | None:
    """The variable a compose value is, when it is nothing but one
    interpolation (``${NAME}``, ``${NAME:-}``, ``${NAME:?message}``)."""
    match = re.fullmatch(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}", str(value))
    return match.group(1) if match else None


# --- the replicas ---------------------------------------------------------------


def test_two_replicas_run_the_image_on_one_config_from_the_mounted_repository() -> None:
    found = replicas()
    assert len(found) >= 2, f"two monitor replicas, not {sorted(found)}"
    paths = set()
    for name, spec in found.items():
        assert (COMPOSE.parent / spec["build"]).resolve() == ROOT, f"{name}: the Dockerfile here"
        path = host_path(spec, config_path_of(spec))
        assert path.parent == SEVERAL and path.is_file(), path
        for mount in mounts(spec):
            if mount.is_bind:
                assert mount.read_only, f"{name} may not write to {mount.source}"
                assert (COMPOSE.parent / mount.source).is_dir(), "a directory: edits are seen"
        # `docker compose exec monitor-a monitor status` reads ./config.toml.
        assert PurePosixPath(spec["working_dir"]) == PurePosixPath(config_path_of(spec)).parent
        assert PurePosixPath(config_path_of(spec)).name == "config.toml"
        paths.add(path)
    assert len(paths) == 1, "every replica runs the same config"


def test_replicas_share_the_postgresql_database_compose_runs_and_wait_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = services()["postgres"]
    assert str(database["image"]).startswith("postgres:16")
    environment = database["environment"]
    urls = set()
    for name, spec in replicas().items():
        _, loaded = replica_config(spec, monkeypatch)
        url = loaded.config.state.url
        assert url is not None, f"{name} keeps its state in a SQLite file of its own"
        assert loaded.state_location == url
        urls.add(url)
        assert spec["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
    (url,) = urls
    parts = urlsplit(url)
    assert parts.scheme == "postgresql"
    assert parts.hostname == "postgres", "the compose service, on the compose network"
    assert (parts.port or 5432) == 5432
    assert parts.username == environment["POSTGRES_USER"]
    assert parts.path.lstrip("/") == environment["POSTGRES_DB"]
    assert parts.password is None

    data = [m for m in mounts(database) if m.target == "/var/lib/postgresql/data"]
    assert len(data) == 1 and not data[0].is_bind and data[0].source in compose()["volumes"]
    check = database["healthcheck"]["test"]
    assert check[:2] == ["CMD", "pg_isready"]
    assert "--host=127.0.0.1" in check, "over TCP: the first start's server listens on a socket"


def test_the_password_reaches_database_and_replicas_from_one_variable() -> None:
    database = services()["postgres"]["environment"]
    assert interpolated_variable(database["POSTGRES_PASSWORD"]) == PASSWORD_VARIABLE
    assert ":?" in database["POSTGRES_PASSWORD"], "no password: compose refuses, saying why"
    for name, spec in replicas().items():
        environment = spec["environment"]
        assert interpolated_variable(environment[PASSWORD_VARIABLE]) == PASSWORD_VARIABLE, name
        assert interpolated_variable(environment["SLACK_BOT_TOKEN"]) == "SLACK_BOT_TOKEN", name


def test_the_password_file_compose_reads_is_one_git_ignores() -> None:
    """Compose reads .env from the compose file's directory."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    env_file = (SEVERAL / ".env").relative_to(ROOT).as_posix()
    result = subprocess.run(
        [git, "check-ignore", "-q", env_file], cwd=ROOT, capture_output=True, timeout=30
    )
    assert result.returncode == 0, f"git would commit {env_file}"


# --- no secret written anywhere -------------------------------------------------

SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|CREDENTIAL|API_?KEY", re.I)
LITERAL_SECRETS = {
    "a Slack token": re.compile(r"\bxox[a-z]-[A-Za-z0-9-]{6,}"),
    "a Slack webhook": re.compile(r"hooks\.slack\.com/services/\w"),
    "a URL with a password": re.compile(r"://[^/\s:@]+:[^/\s@]+@"),
    "a secret assigned a value": re.compile(
        r"^[ \t]*#?[ \t]*[\w.-]*(?:PASSWORD|TOKEN|SECRET)[ \t]*[:=][ \t]*"
        r"(?![\"']?\$\{)[\"']?[^\s\"'#]",
        re.I | re.M,
    ),
}


def deploy_files() -> list[Path]:
    files = [ROOT / "docker-compose.yml"]
    files += sorted(p for p in (ROOT / "deploy").rglob("*") if p.is_file())
    return [p for p in files if p.suffix in (".yml", ".yaml", ".toml", ".example", ".json")]


def test_no_password_or_token_is_written_in_the_compose_or_deploy_files() -> None:
    files = deploy_files()
    assert COMPOSE in files and SEVERAL / "config.toml" in files
    for path in files:
        text = path.read_text(encoding="utf-8")
        for what, pattern in LITERAL_SECRETS.items():
            found = pattern.search(text)
            assert found is None, f"{path.relative_to(ROOT)} holds {what}: {found.group(0)!r}"
    for name, spec in services().items():
        environment = spec.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                assert value is None or interpolated_variable(value) is not None, (
                    f"{name} sets {key} to a value written in the file"
                )


def test_the_secret_scan_finds_what_it_looks_for() -> None:
    """The scan above would see a password or token, were one written."""
    written = [
        'POSTGRES_PASSWORD: "hunter22"',
        "SLACK_BOT_TOKEN=xoxb-1234-abcdef",
        'url = "postgresql://monitor:hunter22@postgres:5432/monitor"',
        "# MONITOR_SERVER_TOKEN: s3cret",
    ]
    for line in written:
        assert any(p.search(line) for p in LITERAL_SECRETS.values()), line
    for line in (
        "PGPASSWORD: ${PGPASSWORD:?set it}",
        "SLACK_BOT_TOKEN=",
        "# SLACK_SIGNING_SECRET=",
    ):
        assert not any(p.search(line) for p in LITERAL_SECRETS.values()), line


# --- the replicas' config ---------------------------------------------------------


def test_the_replicas_config_passes_monitor_check_with_the_desks_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (spec, *_) = replicas().values()
    path, loaded = replica_config(spec, monkeypatch)
    assert loaded.rules_dir.resolve() == SHIPPED_RULES
    in_container = posixpath.join(posixpath.dirname(config_path_of(spec)), loaded.config.rules.dir)
    assert host_path(spec, posixpath.normpath(in_container)) == SHIPPED_RULES, (
        "the container sees the desk's rules where the config names them"
    )
    result = subprocess.run(
        [*monitor_command(), "check", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "../../rules" in result.stdout


def test_the_replicas_config_is_the_desks_apart_from_state_rules_and_server() -> None:
    """Feeds, channels and every other setting stay as config.toml has them."""
    desk = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    several = tomllib.loads((SEVERAL / "config.toml").read_text(encoding="utf-8"))
    assert several["server"] == {**desk["server"], "host": "0.0.0.0"}
    assert several["server"]["enabled"] is True
    assert several["rules"] == {**desk["rules"], "dir": "../../rules"}
    assert set(several["state"]) == {"url"}
    for table in ("state", "rules", "server"):
        del desk[table], several[table]
    assert several == desk, "deploy/several/config.toml has drifted from config.toml"


# --- ports and Prometheus -----------------------------------------------------------


def test_prometheus_scrapes_every_replica_at_the_port_the_config_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prometheus = services()["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert host_path(prometheus, "/etc/prometheus/prometheus.yml") == (
        PROMETHEUS_DIR / "prometheus.yml"
    )
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = sorted(t for group in job["static_configs"] for t in group["targets"])
    expected = []
    for name, spec in replicas().items():
        _, loaded = replica_config(spec, monkeypatch)
        server = loaded.config.server
        assert server.enabled and server.host == "0.0.0.0", "reachable from Prometheus"
        expected.append(f"{name}:{server.port}")
        published = [str(p).rsplit(":", 1)[1] for p in spec["ports"]]
        assert published == [str(server.port)], f"{name} publishes the port it serves"
    assert targets == sorted(expected)


def test_ports_are_published_on_the_host_loopback_only_and_the_database_on_none() -> None:
    """/metrics and Prometheus ask for no password."""
    for name, spec in services().items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to the network"
    assert "ports" not in services()["postgres"]
    published = [str(p).split(":")[1] for s in services().values() for p in s.get("ports", [])]
    assert len(published) == len(set(published)), "each on a host port of its own"


# --- the README ---------------------------------------------------------------------

README_SECTION = "### Running several instances\n"


def readme_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert README_SECTION in readme
    return readme.split(README_SECTION, 1)[1].split("\n### ", 1)[0]


def test_readme_starts_this_compose_file_and_shows_the_lease_settings_as_they_are() -> None:
    """What the reader types and tunes is what the files and the monitor have."""
    section = readme_section()
    assert f"docker compose -f {COMPOSE.relative_to(ROOT).as_posix()} up" in section
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \|", section, re.M))
    defaults = StateSettings()
    leases = ("feed_lease", "claim_every", "heartbeat_every", "sender_lease")
    assert documented == {key: format_duration(getattr(defaults, key)) for key in leases}
    for name in replicas():
        assert f"`{name}`" in section, f"the README names the replica {name}"


# --- Docker's own check -------------------------------------------------------------


def test_docker_compose_accepts_the_file() -> None:
    """`docker compose config` reads and validates the file; it needs the
    Compose plugin but no Docker engine, so the plugin is what is asked for."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed: `docker compose config` cannot check the file")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60
    )
    if version.returncode != 0:
        pytest.skip("docker's Compose plugin is not installed: `docker compose config` cannot run")
    env = {k: v for k, v in os.environ.items() if k not in (PASSWORD_VARIABLE, "SLACK_BOT_TOKEN")}
    # No .env a user may have made beside the file: the password comes from env.
    command = [docker, "compose", "-f", str(COMPOSE), "--env-file", os.devnull, "config", "-q"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode != 0, "without the password compose refuses to start anything"
    assert PASSWORD_VARIABLE in refused.stderr
    accepted = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, PASSWORD_VARIABLE: "placeholder-for-validation"},
    )
    assert accepted.returncode == 0, accepted.stderr
