"""The deploy files against the code: images, commands, ports, environment names, probe
paths, queue names, metric names and the Grafana model come from one source (the code), and
these tests fail when a copy drifts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli import build_parser
from services.cli.launcher import API_PORT, WORKER_METRICS_PORT, WORKERS
from services.cli.stack import cmd_api, cmd_worker
from shared.contracts import QUEUES
from shared.platform.settings import ENVIRONMENT
from shared.platform.telemetry import SERIES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
MJD_SERVICES = {"api", "generator", "metrics", "trainer"}
GPU_SERVICES = {"api", "generator", "trainer"}
#: names the files may set that belong to other programs, not to mjd
FOREIGN_ENV = re.compile(
    r"^(PYTHON\w*|PIP_\w+|PATH|DEBIAN_FRONTEND|HF_\w+|TRANSFORMERS_\w+|GF_\w+)$"
)


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> set[str]:
    """The API's paths; the settings it needs are set for this fixture only (a REDIS_URL
    left in the environment would reach later tests)."""
    from services.api.app import create_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # not contacted
        patch.setenv("ARTIFACTS_DIR", str(tmp_path_factory.mktemp("artifacts")))
        return {route.path for route in create_app().routes}


def parse_command(args: list[str]) -> Any:
    """The mjd CLI's reading of a container command (the image's entrypoint is mjd)."""
    return build_parser().parse_args(args)


def mjd_env_names(names: Any) -> set[str]:
    return {n for n in names if not FOREIGN_ENV.match(n)}


# ---------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())


def test_compose_runs_every_service_of_the_code(compose):
    services = compose["services"]
    assert set(services) == MJD_SERVICES | {"postgres", "redis", "prometheus", "grafana", "flower"}
    queues = []
    for name in MJD_SERVICES:
        args = parse_command(services[name]["command"])
        if name == "api":
            assert args.handler is cmd_api and args.port == API_PORT
            # published on loopback unless the operator names an address
            published = f"${{MJD_PUBLISH_ADDRESS:-127.0.0.1}}:{API_PORT}:{API_PORT}"
            assert services[name]["ports"] == [published]
            assert "/healthz" in " ".join(services[name]["healthcheck"]["test"])
        else:
            assert args.handler is cmd_worker and args.metrics_port == WORKER_METRICS_PORT
            assert f":{WORKER_METRICS_PORT}/healthz" in " ".join(
                services[name]["healthcheck"]["test"]
            )
            queues.append(args.queue)
    assert sorted(queues) == sorted(q for _, q in WORKERS) == sorted(QUEUES)


def test_compose_environment_and_volumes_match_settings(compose):
    for name in MJD_SERVICES:
        service = compose["services"][name]
        assert mjd_env_names(service["environment"]) <= set(ENVIRONMENT)
        artifacts = service["environment"]["ARTIFACTS_DIR"]
        assert f"artifacts:{artifacts}" in service["volumes"]
        assert service["image"].startswith("${MJD_IMAGE")
    example = (COMPOSE / ".env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert set(ENVIRONMENT) <= named, set(ENVIRONMENT) - named
    compose_text = "".join(p.read_text() for p in COMPOSE.glob("docker-compose*.yml"))
    for name in named - set(ENVIRONMENT):  # the rest are compose's own variables
        assert "${" + name in compose_text, name


def with_password(url: str, password: str = "s3cret") -> Any:
    """A DATABASE_URL template with its ``${POSTGRES_PASSWORD...}`` or ``$PASSWORD`` filled in,
    parsed as SQLAlchemy will (its dialect loaded, so the driver is one mjd installs)."""
    from sqlalchemy.engine import make_url

    filled = re.sub(r"\$\{POSTGRES_PASSWORD[^}]*\}|\$PASSWORD\b", password, url)
    parsed = make_url(filled)
    parsed.get_dialect()
    return parsed


def test_compose_publishes_on_loopback_and_grafana_needs_a_password(compose):
    """Issue 12: compose published 8000, 9090 and 3000 on every interface and Grafana fell
    back to the password admin without a .env."""
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert len(published) == 4  # API, Prometheus, Grafana, Flower
    assert all(p.startswith("${MJD_PUBLISH_ADDRESS:-127.0.0.1}:") for p in published)
    grafana = compose["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert grafana.startswith("${GRAFANA_ADMIN_PASSWORD:?")


def run_flower_entrypoint(flower: dict[str, Any], auth: str | None, tmp_path: Path) -> Any:
    """Flower's compose entrypoint, run by sh as its container would (``$$`` unescaped),
    with FLOWER_BASIC_AUTH ``auth`` (None: unset) and ``celery`` a script that prints the
    command it was given instead of starting Flower."""
    shell, flag, script = flower["entrypoint"]
    celery = tmp_path / "celery"
    celery.write_text('#!/bin/sh\necho "started: celery $*"\n')
    celery.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    if auth is not None:
        env["FLOWER_BASIC_AUTH"] = auth
    return subprocess.run(
        [shell, flag, script.replace("$$", "$")], env=env, capture_output=True, text=True
    )


def test_flower_is_an_optional_profile_on_loopback_that_needs_basic_auth(compose, tmp_path):
    """Issue 13: Flower (Celery's monitor) as the compose profile "flower", on the workers'
    broker, published on loopback like the rest, and never without a password: no default,
    and its entrypoint refuses to start without user:password (Flower would serve openly)."""
    flower = compose["services"]["flower"]
    assert flower["profiles"] == ["flower"]
    assert flower["image"].startswith("mher/flower:")
    broker = {compose["services"][name]["environment"]["REDIS_URL"] for name in MJD_SERVICES}
    assert broker == {flower["environment"]["CELERY_BROKER_URL"]}
    assert flower["ports"] == ["${MJD_PUBLISH_ADDRESS:-127.0.0.1}:5555:5555"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"
    assert flower["depends_on"]["redis"] == {"condition": "service_healthy"}
    example = (COMPOSE / ".env.example").read_text()
    assert re.search(r"^FLOWER_BASIC_AUTH=$", example, flags=re.MULTILINE)  # no default
    for auth in (None, "", "admin", ":secret", "admin:"):
        refused = run_flower_entrypoint(flower, auth, tmp_path)
        assert refused.returncode == 1 and "started" not in refused.stdout, auth
        assert "set FLOWER_BASIC_AUTH=user:password" in refused.stderr
    started = run_flower_entrypoint(flower, "admin:s3cret", tmp_path)
    assert started.returncode == 0 and started.stdout == "started: celery flower\n"


def test_compose_runs_postgres_for_every_mjd_service(compose):
    """The job store: a private PostgreSQL whose password has no default, every mjd service
    pointed at it and started only once it answers."""
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:16")
    env = postgres["environment"]
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", env["POSTGRES_PASSWORD"])
    assert "ports" not in postgres  # not published on the host
    assert "pg_isready" in postgres["healthcheck"]["test"]
    (volume,) = postgres["volumes"]
    assert volume.split(":") == ["postgres", "/var/lib/postgresql/data"]
    assert "postgres" in compose["volumes"]
    for name in MJD_SERVICES:
        service = compose["services"][name]
        template = service["environment"]["DATABASE_URL"]
        assert "${POSTGRES_PASSWORD" in template
        url = with_password(template)
        assert url.drivername == "postgresql+psycopg" and url.password == "s3cret"
        assert (url.host, url.port) == ("postgres", 5432)
        assert (url.username, url.database) == (env["POSTGRES_USER"], env["POSTGRES_DB"])
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    compose_text = "".join(p.read_text() for p in COMPOSE.glob("docker-compose*.yml"))
    assert "${POSTGRES_PASSWORD:-" not in compose_text  # no default password anywhere
    example = (COMPOSE / ".env.example").read_text()
    assert re.search(r"^POSTGRES_PASSWORD=$", example, flags=re.MULTILINE)


def test_gpu_override_reserves_the_gpu_for_api_generator_and_trainer():
    override = yaml.safe_load((COMPOSE / "docker-compose.gpu.yml").read_text())["services"]
    reserved = {
        name
        for name, service in override.items()
        if any(
            "gpu" in device.get("capabilities", [])
            for device in service.get("deploy", {})
            .get("resources", {})
            .get("reservations", {})
            .get("devices", [])
        )
    }
    assert reserved == GPU_SERVICES
    assert override["api"]["environment"]["MJD_PREDICT_PROVIDER"] == "cuda"
    assert mjd_env_names(override["api"]["environment"]) <= set(ENVIRONMENT)


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfiles_run_mjd_as_non_root_with_a_health_check(name, routes):
    text = (DEPLOY / "docker" / name).read_text()
    assert 'ENTRYPOINT ["mjd"]' in text
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, flags=re.MULTILINE).group(1))
    assert parse_command(cmd).handler is cmd_api
    assert re.search(r"^USER mjd$", text, flags=re.MULTILINE)
    health = re.search(r"127\.0\.0\.1:(\d+)(/\w+)", text)
    assert int(health.group(1)) == API_PORT and health.group(2) in routes
    assert f"EXPOSE {API_PORT} {WORKER_METRICS_PORT}" in text
    for env in re.findall(r"\b(MJD_[A-Z_]+|ARTIFACTS_DIR)=", text):
        assert env in ENVIRONMENT
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'mjd = "services.cli:main"' in pyproject
    if name.endswith("gpu"):
        assert "nvidia/cuda" in text and "cudnn" in text


# ---------------------------------------------------------------------------- kubernetes


def rendered(overlay: str) -> list[dict[str, Any]]:
    """kustomize output (kubectl) when available, else base files with the overlay's image
    tag and patches applied by hand for the checks below."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run(
            [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    docs = [doc for name in base["resources"] for doc in load_all(K8S / "base" / name)]
    patches = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in patches.get("images", [])}
    for doc in docs:
        for container in (
            doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            container["image"] = images.get(container["image"], container["image"])
    for patch in patches.get("patches", []):
        patch_doc = yaml.safe_load((K8S / "overlays" / overlay / patch["path"]).read_text())
        target = next(d for d in docs if d["metadata"]["name"] == patch_doc["metadata"]["name"])
        container = target["spec"]["template"]["spec"]["containers"][0]
        patch_container = patch_doc["spec"]["template"]["spec"]["containers"][0]
        container.setdefault("resources", {}).setdefault("limits", {}).update(
            patch_container["resources"]["limits"]
        )
        container.setdefault("env", []).extend(patch_container.get("env", []))
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("overlay", ["cpu", "gpu"])
def test_kubernetes_deployments_match_the_code(overlay, routes):
    docs = rendered(overlay)
    deployments = by_kind(docs, "Deployment")
    config = by_kind(docs, "ConfigMap")["mjd-config"]["data"]
    assert set(config) <= set(ENVIRONMENT)
    queues = []
    gpus = set()
    for name, deployment in deployments.items():
        if name == "mjd-redis":
            continue
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        args = parse_command(container["args"])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert {e["name"] for e in container.get("env", [])} <= set(ENVIRONMENT)
        assert container["envFrom"] == [
            {"configMapRef": {"name": "mjd-config"}},
            {"secretRef": {"name": "mjd-database"}},  # DATABASE_URL
        ]
        assert "DATABASE_URL" not in config  # a secret: it holds the password
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert config["ARTIFACTS_DIR"] in mounts
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
                  if "persistentVolumeClaim" in v]  # fmt: skip
        assert claims == ["mjd-artifacts"] and "mjd-artifacts" in by_kind(
            docs, "PersistentVolumeClaim"
        )
        if "nvidia.com/gpu" in container.get("resources", {}).get("limits", {}):
            gpus.add(name)
        if args.handler is cmd_api:
            assert ports == {"http": API_PORT, "metrics": WORKER_METRICS_PORT}
            assert args.port == API_PORT and args.metrics_port == WORKER_METRICS_PORT
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert {"/healthz", "/readyz"} <= routes
        else:
            assert args.handler is cmd_worker
            assert ports == {"metrics": WORKER_METRICS_PORT} == {"metrics": args.metrics_port}
            assert pod["metadata"]["labels"]["mjd.dev/queue"] == args.queue
            assert config["PROMETHEUS_MULTIPROC_DIR"] in mounts
            queues.append(args.queue)
        assert container["image"] == f"mjd:{overlay}"
    assert sorted(queues) == sorted(QUEUES)
    assert gpus == ({f"mjd-{n}" for n in GPU_SERVICES} if overlay == "gpu" else set())
    service_ports = {
        s["metadata"]["name"]: s["spec"]["ports"][0]["port"]
        for s in by_kind(docs, "Service").values()
    }
    assert service_ports["mjd-api"] == API_PORT
    assert config["REDIS_URL"].startswith(f"redis://mjd-redis:{service_ports['mjd-redis']}/")


@pytest.mark.parametrize("overlay", ["cpu", "gpu"])
def test_kubernetes_runs_postgres_with_the_documented_secrets(overlay):
    """A PostgreSQL StatefulSet whose password comes from the operator's Secret, a Service the
    mjd-database Secret of deploy/README.md points at, and no Secret in the manifests."""
    docs = rendered(overlay)
    assert by_kind(docs, "Secret") == {}  # the operator creates them (deploy/README.md)
    postgres = by_kind(docs, "StatefulSet")["mjd-postgres"]
    pod = postgres["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "mjd-postgres", "key": "password"}
    }
    (claim,) = postgres["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["PGDATA"]["value"].startswith(mounts[claim["metadata"]["name"]] + "/")
    assert "pg_isready" in container["readinessProbe"]["exec"]["command"]
    service = by_kind(docs, "Service")["mjd-postgres"]
    assert postgres["spec"]["serviceName"] == "mjd-postgres"
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == container["ports"][0]["name"]
    readme = (DEPLOY / "README.md").read_text()
    assert "kubectl create secret generic mjd-postgres --from-literal=password=" in readme
    template = re.search(
        r"kubectl create secret generic mjd-database[\s\\]+"
        r"--from-literal=DATABASE_URL=\"([^\"]+)\"",
        readme,
    )
    assert template, "deploy/README.md must show how to create the mjd-database Secret"
    url = with_password(template.group(1))
    assert url.drivername == "postgresql+psycopg" and url.password == "s3cret"
    assert (url.host, url.port) == ("mjd-postgres", port["port"])
    assert (url.username, url.database) == (
        env["POSTGRES_USER"]["value"],
        env["POSTGRES_DB"]["value"],
    )


def test_autoscaling_targets_the_api_and_every_queue():
    docs = rendered("cpu")
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["mjd-api"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "mjd-api"
    deployments = by_kind(docs, "Deployment")
    scaled = {}
    for obj in by_kind(docs, "ScaledObject").values():
        target = deployments[obj["spec"]["scaleTargetRef"]["name"]]
        container = target["spec"]["template"]["spec"]["containers"][0]
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["address"].split(":")[0] == "mjd-redis"
        assert obj["spec"]["minReplicaCount"] >= 1  # /readyz wants a consumer per queue
        scaled[trigger["metadata"]["listName"]] = parse_command(container["args"]).queue
    assert scaled == {q: q for q in QUEUES}


def test_operator_monitoring_matches_the_prometheus_files():
    docs = rendered("cpu")
    rules = yaml.safe_load((DEPLOY / "prometheus" / "mjd-rules.yml").read_text())
    assert by_kind(docs, "PrometheusRule")["mjd"]["spec"] == rules
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in scrape["scrape_configs"]}
    monitors = by_kind(docs, "PodMonitor")
    relabelled = {
        r["replacement"]
        for m in monitors.values()
        for endpoint in m["spec"]["podMetricsEndpoints"]
        for r in endpoint["relabelings"]
        if r.get("targetLabel") == "job"
    }
    assert relabelled == jobs == {"mjd-api", "mjd-workers"}


# ---------------------------------------------------------------------------- prometheus, grafana


def test_compose_scrape_config_covers_the_api_and_every_worker(compose):
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    api = parse_command(compose["services"]["api"]["command"])
    assert jobs["mjd-api"]["static_configs"][0]["targets"] == [f"api:{api.metrics_port}"]
    assert all(str(api.metrics_port) not in port for port in compose["services"]["api"]["ports"])
    workers = {c["labels"]["queue"]: c["targets"][0] for c in jobs["mjd-workers"]["static_configs"]}
    expected = {}
    for name in MJD_SERVICES - {"api"}:
        expected[parse_command(compose["services"][name]["command"]).queue] = (
            f"{name}:{WORKER_METRICS_PORT}"
        )
    assert workers == expected


def dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana" / "dashboards" / "mjd.json").read_text())


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard and the alert rules."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "mjd-rules.yml").read_text())
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for panel in dashboard()["panels"]:
        found += [target["expr"] for target in panel.get("targets", [])]
    return found


def metric_names(expression: str) -> set[str]:
    return set(re.findall(r"\b(mjd_[a-z0-9_]+|up)\b", expression))


def test_dashboard_and_rules_use_only_series_the_code_exports():
    known = {"up"}
    for name in SERIES:
        known |= {name, f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    used = set().union(*(metric_names(e) for e in expressions()))
    assert used <= known, used - known
    dashboard_text = json.dumps(dashboard())
    for series in ("mjd_queue_depth", "mjd_predictor_model_info", "mjd_job_duration_seconds"):
        assert series in dashboard_text


def test_dashboard_is_a_grafana_model_on_the_provisioned_datasource(compose):
    model = dashboard()
    assert isinstance(model["schemaVersion"], int) and model["schemaVersion"] >= 30
    assert model["uid"] and model["title"]
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))
    datasources = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    uids = {d["uid"] for d in datasources}
    assert len(uids) == 1
    for panel in model["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in uids
        assert all(t["datasource"]["uid"] in uids for t in panel["targets"])
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "mjd.yml").read_text()
    )["providers"][0]
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_compose_and_kubernetes_run_the_same_images(compose):
    """compose's default image names are the kustomize overlays' images."""
    override = yaml.safe_load((COMPOSE / "docker-compose.gpu.yml").read_text())["services"]
    defaults = {
        "cpu": re.fullmatch(r"\$\{MJD_IMAGE:-(.+)\}", compose["services"]["api"]["image"]),
        "gpu": re.fullmatch(r"\$\{MJD_GPU_IMAGE:-(.+)\}", override["api"]["image"]),
    }
    for overlay, match in defaults.items():
        kustomization = yaml.safe_load(
            (K8S / "overlays" / overlay / "kustomization.yaml").read_text()
        )
        (image,) = kustomization["images"]
        assert match and match.group(1) == f"{image['newName']}:{image['newTag']}"
    dockerfiles = {"cpu": "Dockerfile", "gpu": "Dockerfile.gpu"}
    assert (
        compose["services"]["api"]["build"]["dockerfile"] == f"deploy/docker/{dockerfiles['cpu']}"
    )
    assert override["api"]["build"]["dockerfile"] == f"deploy/docker/{dockerfiles['gpu']}"


@pytest.mark.parametrize("overlay", ["cpu", "gpu"])
def test_only_the_api_and_workers_reach_redis_and_postgres(overlay):
    """Issue 12: a NetworkPolicy per store admits the pods labelled as its clients (the API
    and every worker, nothing else of ours) on its port."""
    docs = rendered(overlay)
    clients = {
        name
        for name, d in by_kind(docs, "Deployment").items()
        if d["spec"]["template"]["metadata"]["labels"].get("mjd.dev/store-client") == "true"
    }
    assert clients == set(by_kind(docs, "Deployment")) - {"mjd-redis"}
    policies = by_kind(docs, "NetworkPolicy")
    services = by_kind(docs, "Service")
    for store in ("mjd-redis", "mjd-postgres"):
        policy = policies[store]["spec"]
        assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": store}
        [rule] = policy["ingress"]
        assert rule["ports"] == [
            {"protocol": "TCP", "port": services[store]["spec"]["ports"][0]["port"]}
        ]
        assert {"podSelector": {"matchLabels": {"mjd.dev/store-client": "true"}}} in rule["from"]
