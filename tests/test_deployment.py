"""The container deployment: Dockerfile, .dockerignore, the image's config
directory, docker-compose.yml, Prometheus and the Grafana dashboard.

What an operator relies on is checked here without a Docker engine: the
image runs the desk's config.toml, which with the image's environment is a
valid monitor config serving /healthz on every interface at the port the
image exposes; the mounts of older images are refused, not ignored; the
HEALTHCHECK command really tells a running monitor from none, and does not
fail a monitor that only cannot reach its feeds; config and rules come from
a mounted directory; Prometheus scrapes the monitor; and every metric the
dashboard plots is one the monitor exports. With MONITOR_DOCKER_TESTS=1 and
a Docker engine, the last test builds the image and runs it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import load_config
from monitor.pipeline.feed_status import FeedStatus
from monitor.server import Metrics
from tests.support.feed_server import FeedServer
from tests.support.feeds import rss
from tests.support.setup import ROOT, SHIPPED_RULES, FeedSpec, write_config
from tests.test_e2e import RunningMonitor, monitor_command, wait_until

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "watchdesk-monitor.json"

CONTAINER_CONFIG_DIR = "/config"
"""Where the image keeps its config directory, and where one is mounted."""


# --- reading the files -------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile_instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def instruction(keyword: str) -> Instruction:
    (found,) = [i for i in dockerfile_instructions() if i.keyword == keyword]
    return found


def exec_form(arguments: str) -> list[str]:
    """An instruction's JSON-array ("exec form") arguments."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def image_environment() -> dict[str, str]:
    """The variables the Dockerfile's ENV instructions set."""
    found: dict[str, str] = {}
    for item in dockerfile_instructions():
        if item.keyword == "ENV":
            for word in shlex.split(item.arguments):
                name, _, value = word.partition("=")
                found[name] = value
    return found


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's command: its options before CMD, the exec form after."""
    options, _, command = instruction("HEALTHCHECK").arguments.partition("CMD ")
    assert options.strip(), "HEALTHCHECK sets its interval, timeout, start period and retries"
    return exec_form(command)


def copies() -> dict[str, list[str]]:
    """Each COPY instruction's destination and its sources in the build context."""
    found: dict[str, list[str]] = {}
    for item in dockerfile_instructions():
        if item.keyword == "COPY":
            *sources, destination = item.arguments.split()
            found[destination] = sources
    return found


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    found = services[name]
    assert isinstance(found, dict)
    return found


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/"))


def mounts(of: dict[str, Any]) -> list[Mount]:
    found = []
    for volume in of.get("volumes", []):
        source, target, *mode = volume.split(":")
        found.append(Mount(source, target, mode == ["ro"]))
    return found


def mount_at(of: dict[str, Any], target: str) -> Mount:
    (found,) = [m for m in mounts(of) if m.target == target]
    return found


def image_config_text() -> str:
    (source,) = copies()[f"{CONTAINER_CONFIG_DIR}/config.toml"]
    return (ROOT / source).read_text(encoding="utf-8")


def image_config_port() -> int:
    server = tomllib.loads(image_config_text()).get("server", {})
    return int(server.get("port", 9108))


def dashboard() -> dict[str, Any]:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def dashboard_panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


@pytest.fixture
def image_config_dir(tmp_path: Path) -> Path:
    """The image's /config directory, laid out as the Dockerfile copies it."""
    config_dir = tmp_path / "config"
    for destination, sources in copies().items():
        if not destination.startswith(CONTAINER_CONFIG_DIR + "/"):
            continue
        (source,) = sources
        target = config_dir / PurePosixPath(destination).relative_to(CONTAINER_CONFIG_DIR)
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, target)
    return config_dir


# --- the image ---------------------------------------------------------------


def test_image_runs_the_desks_own_config_and_rules_from_its_config_directory() -> None:
    """No copy of config.toml to keep in step: the image holds the desk's own."""
    assert exec_form(instruction("ENTRYPOINT").arguments) == ["monitor"]
    command = exec_form(instruction("CMD").arguments)
    assert command == ["run", "--config", f"{CONTAINER_CONFIG_DIR}/config.toml"]
    copied = copies()
    assert copied[f"{CONTAINER_CONFIG_DIR}/config.toml"] == ["config.toml"]
    assert copied[f"{CONTAINER_CONFIG_DIR}/rules"] == ["rules"], "the image runs with no mount"


def test_image_config_with_the_image_environment_binds_every_interface_with_state_on_the_volume(
    image_config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the container's working directory is not /config
    desk = load_config(image_config_dir / "config.toml")
    assert desk.config.server.host == "127.0.0.1", "outside a container, the desk's own values"
    for name, value in image_environment().items():
        monkeypatch.setenv(name, value)
    loaded = load_config(image_config_dir / "config.toml")
    server = loaded.config.server
    assert server.enabled
    assert server.host == "0.0.0.0", "127.0.0.1 inside a container is unreachable from outside"
    assert instruction("EXPOSE").arguments == str(server.port)
    assert loaded.rules_dir == image_config_dir / "rules", "rules resolve against the config file"
    (volume,) = exec_form(instruction("VOLUME").arguments)
    assert loaded.config.state.path.is_absolute()
    assert PurePosixPath(loaded.config.state.path.parent) == PurePosixPath(volume), (
        "state lives on the volume"
    )
    assert (
        loaded.config.model_copy(update={"state": desk.config.state, "server": desk.config.server})
        == desk.config
    ), "the environment changes nothing else"


def test_image_config_and_its_rules_pass_monitor_check(
    image_config_dir: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [*monitor_command(), "check", "--config", str(image_config_dir / "config.toml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_healthcheck_command_passes_on_a_monitor_that_cannot_read_its_feeds_and_fails_without_one(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The HEALTHCHECK asks /livez: Swarm replaces an unhealthy container,
    and a restart cannot cure an outage of the feeds (/healthz's 503)."""
    command = healthcheck_command()
    assert command[0] == "python"
    url = f"http://127.0.0.1:{image_config_port()}/livez"
    assert any(url in argument for argument in command), f"HEALTHCHECK asks {url}"

    feed_server.set("/news", "down", status=503)
    config = write_config(tmp_path, [FeedSpec("news", feed_server.url("/news"), interval="1s")])
    monitor = RunningMonitor(config)
    try:
        wait_until(lambda: "serving /healthz and /metrics on" in monitor.log, "the health server")
        port = int(
            re.findall(r"serving /healthz and /metrics on http://[\d.]+:(\d+)/", monitor.log)[0]
        )
        wait_until(
            lambda: _status_of(f"http://127.0.0.1:{port}/healthz") == 503,
            "/healthz to say the desk is blind",
        )
        local = [
            sys.executable,
            *(
                arg.replace(url, url.replace(str(image_config_port()), str(port)))
                for arg in command[1:]
            ),
        ]
        healthy = subprocess.run(local, capture_output=True, text=True, timeout=60)
    finally:
        monitor.stop(signal.SIGTERM)
    assert healthy.returncode == 0, healthy.stderr
    unanswered = subprocess.run(local, capture_output=True, text=True, timeout=60)
    assert unanswered.returncode != 0, "no monitor answering is unhealthy"


def _status_of(url: str) -> int | None:
    """The HTTP status a GET of ``url`` answers, None without an answer."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


# --- the desk's config in a container: environment and old mounts -----------

LEGACY_SECTION = "Upgrading from an image that read /app/config.toml"
"""The README section that the refusal of the old mounts points to."""


def desk_config(directory: Path) -> Path:
    """A config directory as an operator lays it out: config.toml reading a
    local feed file, and the shipped rules."""
    directory.mkdir(parents=True)
    feed = directory / "feed.xml"
    feed.write_text(rss([]), encoding="utf-8")
    return write_config(directory, [FeedSpec("local", str(feed))])


def run_monitor(
    command: str, config: Path, cwd: Path, **environment: str
) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MONITOR_", "SLACK_")) and not name.lower().endswith("_proxy")
    }
    env.update(environment)
    return subprocess.run(
        [*monitor_command(), command, "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_image_checks_for_the_mounts_of_older_images_where_they_read_config_and_rules() -> None:
    assert image_environment()["MONITOR_LEGACY_CONFIG_DIR"] == "/app"
    assert instruction("WORKDIR").arguments == "/app"
    assert f"### {LEGACY_SECTION}\n" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("command", "left_behind"), [("once", "config.toml"), ("run", "rules"), ("run", "config.toml")]
)
def test_run_and_once_refuse_to_start_with_a_config_left_where_older_images_read_it(
    tmp_path: Path, command: str, left_behind: str
) -> None:
    """An old `-v config.toml:/app/config.toml` would otherwise be ignored,
    and the container would watch the bundled feeds without a word."""
    config = desk_config(tmp_path / "config")
    legacy = tmp_path / "app"
    legacy.mkdir()
    if left_behind == "rules":
        shutil.copytree(SHIPPED_RULES, legacy / "rules")
    else:
        (legacy / "config.toml").write_text(config.read_text(encoding="utf-8"))
    result = run_monitor(command, config, tmp_path, MONITOR_LEGACY_CONFIG_DIR=str(legacy))
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert "\n" not in message, "one message"
    assert message.startswith(
        f"monitor: not starting: {legacy / left_behind} is where older images"
    )
    assert f"on {config.parent} instead" in message, "it names the directory to mount"
    assert LEGACY_SECTION in message
    assert not (config.parent / "state").exists(), "nothing was polled or stored"


def test_a_config_in_the_old_place_that_is_the_config_in_use_is_read_not_refused(
    tmp_path: Path,
) -> None:
    """`run --config /app/config.toml` (or the old default in /app) reads the
    mounted file: nothing is ignored, so nothing is refused."""
    legacy_config = desk_config(tmp_path / "app")
    result = run_monitor(
        "once", legacy_config, tmp_path, MONITOR_LEGACY_CONFIG_DIR=str(legacy_config.parent)
    )
    assert result.returncode == 0, result.stderr
    assert "polled 1 feed: 1 read" in result.stdout


def test_without_the_image_setting_nothing_is_checked_in_the_old_place(tmp_path: Path) -> None:
    config = desk_config(tmp_path / "config")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "config.toml").write_text(config.read_text(encoding="utf-8"))
    result = run_monitor("once", config, tmp_path)
    assert result.returncode == 0, result.stderr


def test_state_path_and_server_host_come_from_the_environment_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[state]\npath = "state/monitor.db"\n[slack]\nchannel = "#desk"\n', encoding="utf-8"
    )  # no [server] table: the variable sets the key all the same
    for name in ("MONITOR_STATE_PATH", "MONITOR_SERVER_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert load_config(config).state_path == tmp_path / "state" / "monitor.db"
    assert load_config(config).config.server.host == "127.0.0.1"

    monkeypatch.setenv("MONITOR_STATE_PATH", "volume/monitor.db")
    monkeypatch.setenv("MONITOR_SERVER_HOST", "0.0.0.0")
    loaded = load_config(config)
    assert loaded.state_path == tmp_path / "volume" / "monitor.db", "relative to the config file"
    assert loaded.config.server.host == "0.0.0.0"
    monkeypatch.setenv("MONITOR_STATE_PATH", str(tmp_path / "elsewhere.db"))
    assert load_config(config).state_path == tmp_path / "elsewhere.db"

    monkeypatch.setenv("MONITOR_STATE_PATH", "")
    monkeypatch.setenv("MONITOR_SERVER_HOST", " ")
    loaded = load_config(config)
    assert loaded.state_path == tmp_path / "state" / "monitor.db", "empty: the file's value"
    assert loaded.config.server.host == "127.0.0.1"


def test_monitor_once_keeps_its_state_where_monitor_state_path_says(tmp_path: Path) -> None:
    config = desk_config(tmp_path / "config")
    volume = tmp_path / "volume"
    volume.mkdir()
    result = run_monitor("once", config, tmp_path, MONITOR_STATE_PATH=str(volume / "monitor.db"))
    assert result.returncode == 0, result.stderr
    assert (volume / "monitor.db").is_file()
    assert not (config.parent / "state").exists(), "the file's state.path is not used"


# --- .dockerignore -----------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions are not understood here"
    return [p.strip("/") for p in patterns]


def _matches(pattern: list[str], path: list[str]) -> bool:
    """Docker's matching: ``*`` stays within a path segment, ``**`` spans any number."""
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(_matches(pattern[1:], path[i:]) for i in range(len(path) + 1))
    return (
        bool(path) and fnmatch.fnmatchcase(path[0], pattern[0]) and _matches(pattern[1:], path[1:])
    )


def ignored(path: str) -> bool:
    """Whether the build context leaves ``path`` out (it, or a directory holding it, matches)."""
    parts = path.split("/")
    return any(
        _matches(pattern.split("/"), parts[:end])
        for pattern in dockerignore_patterns()
        for end in range(1, len(parts) + 1)
    )


@pytest.mark.parametrize(
    "path",
    [
        ".venv/lib/python3.12/site-packages/x.py",
        ".git/HEAD",
        "state/monitor.db",
        "deploy/monitor.env",
        "tests/test_deployment.py",
        "monitor/__pycache__/cli.cpython-312.pyc",
    ],
)
def test_build_context_leaves_out_local_environments_state_and_secrets(path: str) -> None:
    assert ignored(path)


def test_build_context_keeps_everything_the_image_copies() -> None:
    sources = [source for group in copies().values() for source in group]
    assert sources, "the Dockerfile copies the package, the config and the rules"
    for source in sources:
        root = ROOT / source
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        assert files, source
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" not in relative:
                assert not ignored(relative), f"{relative} is copied into the image but ignored"


# --- docker-compose.yml --------------------------------------------------------


def test_compose_mounts_a_config_directory_and_keeps_state_on_a_volume() -> None:
    monitor = service("monitor")
    assert monitor["build"] == "."
    assert "command" not in monitor, "the image's CMD names the config in the config directory"
    config = mount_at(monitor, CONTAINER_CONFIG_DIR)
    assert config.is_bind and config.read_only
    assert (ROOT / config.source).is_dir(), "a directory: edits that replace files are seen"
    assert (ROOT / config.source / "config.toml").resolve() == ROOT / "config.toml", (
        "the desk's own config, not a copy"
    )
    assert (ROOT / config.source / "rules").resolve() == SHIPPED_RULES
    legacy = image_environment()["MONITOR_LEGACY_CONFIG_DIR"]
    assert not [
        m for m in mounts(monitor) if m.target in (f"{legacy}/config.toml", f"{legacy}/rules")
    ]
    for mount in mounts(monitor):
        if mount.is_bind:
            assert (ROOT / mount.source).is_dir(), f"{mount.source} is mounted as a single file"
    (volume,) = exec_form(instruction("VOLUME").arguments)
    state = mount_at(monitor, volume)
    assert not state.is_bind and state.source in compose()["volumes"]


def test_compose_takes_the_token_from_an_env_file_that_git_and_docker_ignore() -> None:
    env_file = service("monitor")["env_file"]
    assert env_file == "deploy/monitor.env"
    example = (ROOT / "deploy" / "monitor.env.example").read_text(encoding="utf-8")
    assert re.search(r"^SLACK_BOT_TOKEN=$", example, re.M), "the example holds no token"
    assert ignored(env_file), "the image build leaves the token out"
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        [git, "check-ignore", "-q", env_file], cwd=ROOT, capture_output=True, timeout=30
    )
    assert result.returncode == 0, f"git would commit {env_file}"


def test_compose_publishes_ports_on_the_host_loopback_only() -> None:
    """/metrics and Prometheus ask for no password."""
    for name, spec in compose()["services"].items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to the network"
    published = [str(p) for p in service("monitor")["ports"]]
    assert f"127.0.0.1:{image_config_port()}:{image_config_port()}" in published


def test_prometheus_scrapes_the_monitor_service_at_its_port() -> None:
    prometheus = service("prometheus")
    mount = mount_at(prometheus, "/etc/prometheus")
    assert (ROOT / mount.source).resolve() == PROMETHEUS_DIR
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert targets == [f"monitor:{image_config_port()}"]


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    grafana = service("grafana")
    provisioning = mount_at(grafana, "/etc/grafana/provisioning")
    assert (ROOT / provisioning.source).resolve() == GRAFANA_DIR / "provisioning"
    (datasource,) = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text(
            encoding="utf-8"
        )
    )["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "watchdesk.yml").read_text(encoding="utf-8")
    )["providers"]
    dashboards = mount_at(grafana, provider["options"]["path"])
    assert (ROOT / dashboards.source).resolve() == DASHBOARD.parent
    for panel in dashboard_panels():
        for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert source == {"type": "prometheus", "uid": datasource["uid"]}, panel["title"]


# --- the dashboard ------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    """What the monitor's /metrics serves: sample names and their labels."""

    labels: dict[str, frozenset[str]]


def exported_metrics() -> Exported:
    """Every series the monitor's registry can serve, read from its own
    exposition. A labelled metric shows no series until it has a child, so
    each gets one (prometheus_client keeps its label names in _labelnames)."""
    metrics = Metrics()
    for metric in vars(metrics).values():
        names = getattr(metric, "_labelnames", None)
        if names is None:
            continue  # the registry itself
        child = metric.labels(*names) if names else metric
        for touch in ("inc", "observe", "set"):
            if hasattr(child, touch):
                getattr(child, touch)(1)
                break
    labels: dict[str, frozenset[str]] = {}
    text = generate_latest(metrics.registry).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels[sample.name] = frozenset(sample.labels)
    return Exported(labels)


METRIC_NAME = re.compile(r"\b(monitor_[a-z0-9_]+)\b")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
SELECTOR = re.compile(r"\{([^}]*)\}")
LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
TARGET_LABELS = frozenset({"job", "instance"})
"""Labels Prometheus adds to every scraped series."""


def expressions() -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in dashboard_panels():
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            yield panel["title"], target


def test_dashboard_plots_only_metrics_the_monitor_exports() -> None:
    exported = exported_metrics()
    assert "monitor_polls_total" in exported.labels  # the exposition's own names
    assert exported.labels["monitor_feeds"] == {"state"}
    used: set[str] = set()
    for title, target in expressions():
        names = METRIC_NAME.findall(target["expr"])
        unknown = [name for name in names if name not in exported.labels]
        assert unknown == [], f"panel {title!r} plots metrics the monitor does not export"
        used.update(names)
    assert len(used) >= 8, used


def test_dashboard_groups_and_filters_only_by_labels_its_metrics_have() -> None:
    exported = exported_metrics()
    for title, target in expressions():
        expr = target["expr"]
        names = METRIC_NAME.findall(expr)
        allowed = set(TARGET_LABELS).union(*(exported.labels.get(n, set()) for n in names))
        selectors = " ".join(SELECTOR.findall(LEGEND_LABEL.sub("", expr)))
        used = set(MATCHER.findall(selectors))
        for group in GROUPING.findall(expr):
            used.update(label.strip() for label in group.split(",") if label.strip())
        used.update(LEGEND_LABEL.findall(target.get("legendFormat", "")))
        assert used <= allowed, f"panel {title!r} uses labels {used - allowed} of none of {names}"


def test_dashboard_job_is_the_prometheus_scrape_job() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    for title, target in expressions():
        for job in re.findall(r'\bjob\s*=\s*"([^"]*)"', target["expr"]):
            assert job in jobs, f"panel {title!r} asks for job {job!r}"


@pytest.mark.parametrize(
    ("title", "metric", "grouped_by"),
    [
        ("Feeds by state", "monitor_feeds", {"state"}),
        ("Feeds by state", "monitor_feed_incidents_open", set()),
        ("Polls by outcome", "monitor_polls_total", {"outcome"}),
        ("Poll errors by kind", "monitor_poll_errors_total", {"kind"}),
        ("Alerts by rule and severity", "monitor_alerts_total", {"rule", "severity"}),
        ("Delivery latency", "monitor_delivery_latency_seconds_bucket", {"le"}),
        ("Outbox depth", "monitor_outbox_pending", set()),
    ],
)
def test_dashboard_has_the_panels_the_desk_asked_for(
    title: str, metric: str, grouped_by: set[str]
) -> None:
    (panel,) = [p for p in dashboard_panels() if p["title"] == title]
    queries = [t["expr"] for t in panel["targets"] if metric in t["expr"]]
    assert queries, f"panel {title!r} plots {metric}"
    groups = {
        label.strip() for expr in queries for g in GROUPING.findall(expr) for label in g.split(",")
    }
    assert grouped_by <= groups


@pytest.mark.parametrize(("title", "state"), [("Feeds ok", "ok"), ("Feeds failing", "failing")])
def test_dashboard_counts_feeds_from_their_states_not_from_polls_in_a_window(
    title: str, state: str
) -> None:
    """A failing feed backs off to polling.max_backoff plus jitter: an hour's
    window of polls often holds none of its polls, and a count over polls
    would leave it out of both ok and failing."""
    (panel,) = [p for p in dashboard_panels() if p["title"] == title]
    (target,) = panel["targets"]
    assert target["expr"] == f'sum(monitor_feeds{{state="{state}"}})'


def test_dashboard_selects_only_feed_states_the_monitor_exports() -> None:
    states = {status.value for status in FeedStatus}
    assert states == {"ok", "overdue", "failing", "silent", "stale", "never_polled"}
    for title, target in expressions():
        for selector in SELECTOR.findall(target["expr"]):
            for value in re.findall(r'\bstate\s*=~?\s*"([^"]*)"', selector):
                assert set(value.split("|")) <= states, f"panel {title!r} selects state {value!r}"


def test_dashboard_panels_have_unique_ids_and_titles() -> None:
    panels = dashboard()["panels"]
    ids = [p["id"] for p in panels]
    titles = [p["title"] for p in panels]
    assert len(set(ids)) == len(ids) and len(set(titles)) == len(titles)
    assert dashboard()["uid"] == "watchdesk-monitor"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """With Prometheus's promtool installed, every query is parsed by it
    (as a recording rule; Grafana's interval variables replaced)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Prometheus) is not installed")
    grafana_variables = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
    rules = []
    for number, (_title, target) in enumerate(expressions()):
        expr = target["expr"]
        for variable, value in grafana_variables.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert config.returncode == 0, config.stdout + config.stderr


# --- the image, built and run --------------------------------------------------


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(
    os.environ.get("MONITOR_DOCKER_TESTS") != "1",
    reason="builds and runs the image: set MONITOR_DOCKER_TESTS=1 on a machine with Docker",
)
def test_image_runs_from_a_mounted_config_directory_reloads_it_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    if shutil.which("docker") is None or docker("info").returncode != 0:
        pytest.fail("MONITOR_DOCKER_TESTS=1 but no Docker engine answers")
    image = "watchdesk-monitor:test"
    built = docker("build", "-t", image, str(ROOT), timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr

    # A config directory of one's own: a feed file next to the config, the shipped rules.
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED_RULES, config_dir / "rules")
    (config_dir / "feed.xml").write_text(rss([]), encoding="utf-8")
    config = config_dir / "config.toml"
    head = image_config_text().partition("[[feeds]]")[0]
    feed = f'[[feeds]]\nname = "local"\nurl = "{CONTAINER_CONFIG_DIR}/feed.xml"\ninterval = "2s"\n'
    config.write_text(head.replace('dir = "rules"', 'dir = "rules"\nreload_interval = "1s"') + feed)
    for path in [config_dir, *config_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    name = f"watchdesk-test-{os.getpid()}"
    started = docker(
        "run", "-d", "--name", name, "-p", "127.0.0.1::9108",
        "-v", f"{config_dir}:{CONTAINER_CONFIG_DIR}:ro", image,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        port = docker("port", name, "9108").stdout.strip().rsplit(":", 1)[1]
        wait_until(lambda: "poll feed=local" in docker("logs", name).stderr, "the first poll", 120)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200, "-p reaches the health server"
        assert _status_of(f"http://127.0.0.1:{port}/livez") == 200

        def health() -> str:
            return docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()

        wait_until(lambda: health() == "healthy", "the HEALTHCHECK to pass", 300)

        # An editor saves by writing a new file and renaming it over the old one.
        replacement = config_dir / ".config.toml.new"
        replacement.write_text(
            config.read_text(encoding="utf-8")
            + feed.replace('"local"', '"local-two"').replace("feed.xml", "feed-two.xml"),
            encoding="utf-8",
        )
        (config_dir / "feed-two.xml").write_text(rss([]), encoding="utf-8")
        for path in (replacement, config_dir / "feed-two.xml"):
            path.chmod(0o644)
        replacement.replace(config)
        wait_until(
            lambda: "config reloaded: 2 feeds; added: local-two" in docker("logs", name).stderr,
            "the replaced config to be reloaded",
            120,
        )
        stopped = docker("stop", "--time", "60", name)
        assert stopped.returncode == 0, stopped.stderr
        log = docker("logs", name).stderr
        exit_code = docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    finally:
        docker("rm", "-f", name)
    assert exit_code == "0"
    assert "monitor.scheduler: stopped; outbox:" in log.rstrip("\n").splitlines()[-1]
    assert "Traceback" not in log

    # The mount an older image read is refused, not ignored.
    refused = docker("run", "--rm", "-v", f"{config}:/app/config.toml:ro", image)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"on {CONTAINER_CONFIG_DIR} instead" in refused.stderr
    assert LEGACY_SECTION in refused.stderr
