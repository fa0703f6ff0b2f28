"""deploy/: the compose stack, the Kubernetes manifests, the Helm values and the image build.

All offline; no docker and no cluster needed:

- deploy/k8s: every manifest against Kubernetes' OpenAPI schemas, strictly (unknown fields
  are errors), with kubernetes-validate, which ships the schemas in the package; then the
  properties that matter here (resources, probes, non-root, one image, migrations in a Job
  only, secrets from the Secret).
- deploy/compose: the file, interpolated as compose would with .env.example and test
  secrets, against the Compose specification's JSON schema (the copy vendored in
  check-jsonschema, `--builtin-schema vendor.compose-spec`); then the stack's shape (two
  workers, two APIs behind one published port, start order, no source-tree mounts). The
  checks that need tools not installed here (`docker compose config`, `nginx -t`,
  hadolint) are listed in deploy/README.md, to run by hand.
- deploy/helm: the values' keys for the official chart 1.x (no chart or helm here).
- Dockerfile: deploy/check-image-build.py (its steps in deploy/imagecheck/) replays the
  build stage's RUN steps in a temporary directory and checks the result, up to running
  the processes against a Temporal dev server (slow: a fresh `pip install .`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
K8S_DIR = DEPLOY / "k8s"
HELM_VALUES = DEPLOY / "helm" / "temporal-values.yaml"
CHECK_SCRIPT = DEPLOY / "check-image-build.py"
IMAGE_CHECK = DEPLOY / "imagecheck"

#: Stand-ins for the secrets .env.example leaves empty (compose refuses to run without them).
TEST_SECRETS = {
    "TEMPORAL_DB_PASSWORD": "temporal-test-password",
    "RATIFY_DB_PASSWORD": "ratifytestpassword",
    "RATIFY_SESSION_SECRET": "s" * 48,
    "RATIFY_PAYLOAD_KEYS": "2026-11:" + "k" * 43 + "=",
    "RATIFY_ACTION_SIGNING_KEY": "2026-11:" + "s" * 43 + "=",
}

#: The Ratify process services of the compose file; the rest are Temporal, PostgreSQL, nginx.
RATIFY_SERVICES = ("ratify-migrate", "ratify-worker", "ratify-projector", "ratify-api")


def image_check(name: str) -> ModuleType:
    """Module `name` of deploy/imagecheck, the steps check-image-build.py runs, loaded by
    path as the script finds it (deploy/ is no package)."""
    if "imagecheck" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "imagecheck", IMAGE_CHECK / "__init__.py", submodule_search_locations=[str(IMAGE_CHECK)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"imagecheck.{name}")


def process_commands() -> set[tuple[str, ...]]:
    return set(image_check("runtime").PROCESS_COMMANDS)


# -- Kubernetes --------------------------------------------------------------------------


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    """Every resource of the manifests applied in order, and of the Secret template."""
    paths = sorted(K8S_DIR.glob("*.yaml")) + sorted((K8S_DIR / "templates").glob("*.yaml"))
    docs = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path, doc))
    return docs


def k8s(kind: str, name: str) -> dict[str, Any]:
    for _, doc in k8s_documents():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def workloads() -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if doc["kind"] in ("Deployment", "Job")]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def configmap_env() -> dict[str, str]:
    return dict(k8s("ConfigMap", "ratify-config")["data"])


def k8s_versions() -> list[str]:
    import kubernetes_validate  # type: ignore[import-untyped]

    return ["1.30.0", kubernetes_validate.latest_version()]


@pytest.mark.parametrize("version", k8s_versions())
def test_k8s_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    import kubernetes_validate

    docs = k8s_documents()
    assert {doc["kind"] for _, doc in docs} >= {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    }
    for path, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {doc['kind']} {doc['metadata']['name']}: {exc.message}")


def test_k8s_validation_is_offline_and_strict() -> None:
    """The validator really rejects an unknown field, from the schemas it ships."""
    import kubernetes_validate

    deployment = json.loads(json.dumps(k8s("Deployment", "ratify-api")))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.30.0", strict=True)


def test_k8s_every_container_has_resources_and_runs_as_non_root() -> None:
    for workload in workloads():
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in containers(workload):
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert "memory" in resources["limits"], where
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert security.get("runAsUser", pod["securityContext"]["runAsUser"]) != 0, where


def _http_probe(container: dict[str, Any], kind: str) -> tuple[str, int]:
    probe = container[kind]["httpGet"]
    port = probe["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in container["ports"] if p["name"] == port)
    return probe["path"], port


@pytest.mark.parametrize("name", ["ratify-worker", "ratify-projector"])
def test_k8s_worker_and_projector_are_probed_on_their_metrics_port(name: str) -> None:
    deployment = k8s("Deployment", name)
    (container,) = containers(deployment)
    metrics_port = int(configmap_env()["RATIFY_METRICS_PORT"])
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert _http_probe(container, kind) == ("/metrics", metrics_port), kind
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)


def graceful_shutdown_seconds() -> float:
    """How long a process lets work finish on SIGTERM (RATIFY_GRACEFUL_SHUTDOWN_SECONDS)."""
    from ratify.infra.settings import Settings

    field = Settings.model_fields.get("graceful_shutdown_seconds")
    default = float(field.default) if field is not None else 30.0
    return float(configmap_env().get("RATIFY_GRACEFUL_SHUTDOWN_SECONDS", default))


def test_processes_are_given_time_to_drain() -> None:
    """SIGKILL must not come before the worker's drain (or the API's requests) ends."""
    drain = graceful_shutdown_seconds()
    for name in ("ratify-worker", "ratify-api", "ratify-projector"):
        pod = k8s("Deployment", name)["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > drain, name
    for name in ("ratify-worker", "ratify-api", "ratify-projector"):
        grace = services()[name]["stop_grace_period"]
        assert re.fullmatch(r"\d+s", grace) and int(grace[:-1]) > drain, name


def test_k8s_api_readiness_is_readyz_and_liveness_healthz() -> None:
    api = k8s("Deployment", "ratify-api")
    (container,) = containers(api)
    assert container["args"] == ["api", "--host", "0.0.0.0", "--port", "8000"]
    assert _http_probe(container, "readinessProbe") == ("/readyz", 8000)
    assert _http_probe(container, "livenessProbe") == ("/healthz", 8000)
    assert _http_probe(container, "startupProbe") == ("/healthz", 8000)


def test_k8s_long_running_containers_are_probed() -> None:
    for workload in workloads():
        if workload["kind"] == "Deployment":
            for container in containers(workload):
                probes = {"startupProbe", "livenessProbe", "readinessProbe"}
                assert probes <= set(container), workload["metadata"]["name"]


def test_k8s_one_image_for_every_process() -> None:
    images = {c["image"] for w in workloads() for c in containers(w)}
    assert len(images) == 1, images
    (image,) = images
    assert not image.endswith(":latest") and re.search(r":\d", image), image
    kinds = {w["metadata"]["name"] for w in workloads()}
    assert kinds == {"ratify-migrate", "ratify-worker", "ratify-api", "ratify-projector"}


def test_k8s_processes_run_commands_the_image_check_covers() -> None:
    known = process_commands()
    for workload in workloads():
        for container in containers(workload):
            assert container["command"] == ["ratify"]
            args = container["args"]
            assert any(tuple(args[: len(c)]) == c for c in known), args


def test_k8s_migrations_run_only_in_the_job() -> None:
    job = k8s("Job", "ratify-migrate")
    (container,) = containers(job)
    assert container["args"] == ["db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert configmap_env()["RATIFY_MIGRATE_ON_START"] == "false"
    for workload in workloads():
        for c in containers(workload):
            for env in c.get("env", []):
                if env["name"] == "RATIFY_MIGRATE_ON_START":
                    assert env.get("value") == "false", workload["metadata"]["name"]
            if workload["kind"] == "Deployment":
                assert c["args"][:2] != ["db", "upgrade"]


SECRET_NAMES = (
    "RATIFY_DATABASE_URL",
    "RATIFY_SESSION_SECRET",
    "RATIFY_PAYLOAD_KEYS",
    "RATIFY_ACTION_SIGNING_KEY",
    "PASSWORD",
    "TOKEN",
    "KEY",
)


def test_k8s_secrets_come_from_the_secret() -> None:
    secret = k8s("Secret", "ratify-secrets")
    assert set(secret["stringData"]) == {
        "RATIFY_DATABASE_URL",
        "RATIFY_SESSION_SECRET",
        "RATIFY_PAYLOAD_KEYS",
        "RATIFY_ACTION_SIGNING_KEY",
    }
    for key, value in secret["stringData"].items():
        assert re.search(r"<[^>]+>", value), f"{key} in the template must be a placeholder"
    assert not set(configmap_env()) & set(secret["stringData"])
    for name in configmap_env():
        assert not any(s in name for s in SECRET_NAMES[4:]), name
    for workload in workloads():
        for c in containers(workload):
            where = f"{workload['metadata']['name']}/{c['name']}"
            refs = {
                next(iter(src.values()))["name"]
                for src in c["envFrom"]
                if "secretRef" in src or "configMapRef" in src
            }
            assert refs == {"ratify-config", "ratify-secrets"}, where
            for env in c.get("env", []):
                if any(s in env["name"] for s in SECRET_NAMES):
                    assert "value" not in env, f"{where}: {env['name']} given in the clear"


def test_k8s_replicas_disruption_budgets_and_service() -> None:
    assert k8s("Deployment", "ratify-worker")["spec"]["replicas"] == 2
    assert k8s("Deployment", "ratify-api")["spec"]["replicas"] == 2
    assert k8s("Deployment", "ratify-projector")["spec"]["replicas"] == 1
    for name in ("ratify-worker", "ratify-api"):
        pdb = k8s("PodDisruptionBudget", name)
        labels = k8s("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["minAvailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = k8s("Service", "ratify-api")
    api_labels = k8s("Deployment", "ratify-api")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    for name in ("ratify-worker", "ratify-projector", "ratify-migrate"):
        kind = "Job" if name == "ratify-migrate" else "Deployment"
        labels = k8s(kind, name)["spec"]["template"]["metadata"]["labels"]
        assert not service["spec"]["selector"].items() <= labels.items(), name


def test_k8s_everything_lives_in_the_restricted_namespace() -> None:
    namespace = k8s("Namespace", "ratify")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for _, doc in k8s_documents():
        if doc["kind"] == "Namespace":
            continue
        if (doc["kind"], doc["metadata"]["name"]) == ("NetworkPolicy", "temporal-only-from-ratify"):
            assert doc["metadata"]["namespace"] == "temporal"  # Temporal's side of the wall
            continue
        assert doc["metadata"]["namespace"] == "ratify", doc["metadata"]["name"]


# -- NetworkPolicies -------------------------------------------------------------------------


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions In/NotIn/Exists) selects."""
    if not labels.items() >= selector.get("matchLabels", {}).items():
        return False
    for expr in selector.get("matchExpressions", []):
        value = labels.get(expr["key"])
        op = expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and value is None:
            return False
    return True


def _policies(namespace: str) -> list[dict[str, Any]]:
    return [
        doc
        for _, doc in k8s_documents()
        if doc["kind"] == "NetworkPolicy" and doc["metadata"]["namespace"] == namespace
    ]


#: The labels of the pods of the `temporal` chart's services, and of the cluster DNS.
TEMPORAL_FRONTEND = {
    "app.kubernetes.io/name": "temporal",
    "app.kubernetes.io/instance": "temporal",
    "app.kubernetes.io/component": "frontend",
}
KUBE_DNS = {"k8s-app": "kube-dns"}


def _peer_admits(
    peer: dict[str, Any], namespace: str, labels: dict[str, str], own_namespace: str
) -> bool:
    if "ipBlock" in peer:
        return True
    ns_labels = {"kubernetes.io/metadata.name": namespace}
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], ns_labels):
            return False
    elif namespace != own_namespace:
        return False
    return _selects(peer.get("podSelector", {}), labels)


def egress_allowed(
    pod: dict[str, str], namespace: str, labels: dict[str, str], port: int, protocol: str = "TCP"
) -> bool:
    """Whether a Ratify pod with labels `pod` may open `port` to a pod (`namespace`,
    `labels`), under the policies of the `ratify` namespace."""
    chosen = [p for p in _policies("ratify") if _selects(p["spec"]["podSelector"], pod)]
    assert any("Egress" in p["spec"]["policyTypes"] for p in chosen), "egress not restricted"
    for policy in chosen:
        for rule in policy["spec"].get("egress", []):
            ports = rule.get("ports")
            if ports and not any(
                p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports
            ):
                continue
            peers = rule.get("to")
            if not peers or any(_peer_admits(x, namespace, labels, "ratify") for x in peers):
                return True
    return False


def ingress_allowed(
    policy_ns: str, pod: dict[str, str], source_ns: str, source: dict[str, str], port: int
) -> bool:
    """Whether a pod (`source_ns`, `source`) may open `port` on the pod `pod` of `policy_ns`."""
    chosen = [p for p in _policies(policy_ns) if _selects(p["spec"]["podSelector"], pod)]
    assert any("Ingress" in p["spec"]["policyTypes"] for p in chosen), "ingress not restricted"
    for policy in chosen:
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports and not any(p["port"] == port for p in ports):
                continue
            peers = rule.get("from")
            if not peers or any(_peer_admits(x, source_ns, source, policy_ns) for x in peers):
                return True
    return False


def pod_labels(kind: str, name: str) -> dict[str, str]:
    return dict(k8s(kind, name)["spec"]["template"]["metadata"]["labels"])


def test_k8s_namespace_denies_by_default() -> None:
    [deny] = [p for p in _policies("ratify") if p["metadata"]["name"] == "default-deny"]
    assert deny["spec"]["podSelector"] == {}
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]


def test_k8s_only_the_worker_and_the_api_reach_temporal() -> None:
    workers = {
        "ratify-worker": True,
        "ratify-api": True,
        "ratify-projector": False,
        "ratify-migrate": False,
    }
    for name, reaches in workers.items():
        kind = "Job" if name == "ratify-migrate" else "Deployment"
        pod = pod_labels(kind, name)
        assert egress_allowed(pod, "temporal", TEMPORAL_FRONTEND, 7233) is reaches, name
        # Every one resolves names and reaches the event store, and nothing else.
        assert egress_allowed(pod, "kube-system", KUBE_DNS, 53, "UDP"), name
        assert egress_allowed(pod, "db", {}, 5432), name
        assert not egress_allowed(pod, "elsewhere", {}, 443), name
        assert not egress_allowed(
            pod,
            "temporal",
            {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/component": "history"},
            7234,
        ), name


def test_k8s_only_the_api_port_and_metrics_are_open() -> None:
    api, worker = pod_labels("Deployment", "ratify-api"), pod_labels("Deployment", "ratify-worker")
    outsider = {"app": "anything"}
    assert ingress_allowed("ratify", api, "ingress-nginx", outsider, 8000)
    assert not ingress_allowed("ratify", api, "ingress-nginx", outsider, 9464)
    assert ingress_allowed("ratify", worker, "monitoring", outsider, 9464)
    assert not ingress_allowed("ratify", worker, "anywhere", outsider, 8000)
    migrate = pod_labels("Job", "ratify-migrate")
    assert not ingress_allowed("ratify", migrate, "anywhere", outsider, 9464)


def test_k8s_temporal_takes_only_ratify_worker_and_api_from_outside() -> None:
    frontend = TEMPORAL_FRONTEND
    for name, admitted in (
        ("ratify-worker", True),
        ("ratify-api", True),
        ("ratify-projector", False),
    ):
        pod = pod_labels("Deployment", name)
        assert ingress_allowed("temporal", frontend, "ratify", pod, 7233) is admitted, name
    # Not from another namespace, even with Ratify's labels; Temporal's own pods still talk.
    worker = pod_labels("Deployment", "ratify-worker")
    assert not ingress_allowed("temporal", frontend, "default", worker, 7233)
    history = {**frontend, "app.kubernetes.io/component": "history"}
    assert ingress_allowed("temporal", frontend, "temporal", history, 7233)
    assert not ingress_allowed("temporal", history, "ratify", worker, 7234)


# -- Helm values for the Temporal chart ---------------------------------------------------


def helm_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(HELM_VALUES.read_text())
    return values


def test_helm_values_use_external_postgresql_with_the_password_in_a_secret() -> None:
    values = helm_values()
    # Chart 1.x has no bundled sub-charts and rejects their old keys.
    assert not set(values) & {"cassandra", "elasticsearch", "mysql", "postgresql", "prometheus"}
    assert "grafana" not in values
    persistence = values["server"]["config"]["persistence"]
    assert persistence["defaultStore"] == "default"
    assert persistence["visibilityStore"] == "visibility"
    databases = set()
    for store in ("default", "visibility"):
        sql = persistence["datastores"][store]["sql"]
        assert sql["pluginName"] == sql["driverName"] == "postgres12"
        assert sql["existingSecret"] and sql["secretKey"]
        assert "password" not in sql
        assert re.fullmatch(r"[^:]+:\d+", sql["connectAddr"])
        databases.add(sql["databaseName"])
    assert databases == {"temporal", "temporal_visibility"}


def test_helm_values_create_ratify_namespace_and_match_the_configmap() -> None:
    values = helm_values()
    namespaces = values["server"]["config"]["namespaces"]
    assert namespaces["create"] is True
    names = {n["name"] for n in namespaces["namespace"]}
    config = configmap_env()
    assert config["RATIFY_TEMPORAL_NAMESPACE"] in names
    # Release `temporal` in namespace `temporal` (the README's helm command).
    assert config["TEMPORAL_ADDRESS"] == "temporal-frontend.temporal.svc.cluster.local:7233"
    assert "--namespace temporal" in HELM_VALUES.read_text()
    assert "helm upgrade --install temporal " in HELM_VALUES.read_text()


def test_helm_and_compose_pin_the_same_temporal_images() -> None:
    values = helm_values()
    compose = compose_config()["services"]
    assert values["server"]["image"]["tag"] == compose["temporal"]["image"].split(":")[1]
    admin_tools = compose["temporal-schema"]["image"].split(":")[1]
    assert values["admintools"]["image"]["tag"] == admin_tools
    assert values["web"]["image"]["tag"] == compose["temporal-ui"]["image"].split(":")[1]
    assert values["server"]["image"]["tag"] == admin_tools


# -- docker compose -----------------------------------------------------------------------


class MissingVariable(Exception):
    pass


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable syntax: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        value, op, arg = env.get(name), match["op"], match["arg"]
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if (op == ":?" and not value) or (op == "?" and value is None):
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(replace, text)


def _interpolated(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _interpolated(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolated(v, env) for v in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def dotenv(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def compose_config(extra: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as compose reads it: anchors merged, variables interpolated."""
    env = {**dotenv(COMPOSE_DIR / ".env.example"), **TEST_SECRETS, **(extra or {})}
    config: dict[str, Any] = _interpolated(yaml.safe_load(COMPOSE_FILE.read_text()), env)
    return config


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose_config()["services"]
    return result


def validate_compose_schema(document: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(document),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_file_validates_against_the_compose_specification(tmp_path: Path) -> None:
    validate_compose_schema(COMPOSE_FILE)
    interpolated = tmp_path / "compose.json"
    interpolated.write_text(json.dumps(compose_config()))
    validate_compose_schema(interpolated)


def test_compose_schema_check_really_rejects(tmp_path: Path) -> None:
    config = compose_config()
    config["services"]["ratify-api"]["replica"] = 2  # a typo of deploy.replicas
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(config))
    with pytest.raises(AssertionError, match="replica"):
        validate_compose_schema(bad)


def test_compose_refuses_to_run_without_the_secrets() -> None:
    for name in TEST_SECRETS:
        with pytest.raises(MissingVariable, match=name):
            compose_config({name: ""})


def test_compose_runs_two_workers_and_two_apis_behind_one_port() -> None:
    svc = services()
    assert svc["ratify-worker"]["command"] == ["worker"]
    assert svc["ratify-worker"]["deploy"]["replicas"] == 2
    assert svc["ratify-api"]["command"] == ["api", "--host", "0.0.0.0", "--port", "8000"]
    assert svc["ratify-api"]["deploy"]["replicas"] == 2
    assert svc["ratify-projector"]["command"] == ["projector"]
    # Scaled services cannot carry fixed names or host ports.
    for name in ("ratify-worker", "ratify-api"):
        assert "container_name" not in svc[name] and "ports" not in svc[name], name
    published = {name: s["ports"] for name, s in svc.items() if s.get("ports")}
    proxy_ports = published.pop("ratify-proxy")
    assert len(proxy_ports) == 1
    host_part, _, container_port = proxy_ports[0].rpartition(":")
    # Temporal's frontend and Web UI: on the loopback only, for operators.
    for name, ports in published.items():
        assert name.startswith("temporal"), name
        assert all(p.startswith("127.0.0.1:") for p in ports), (name, ports)
    nginx = (COMPOSE_DIR / "nginx" / "nginx.conf").read_text()
    assert re.search(rf"^\s*listen {container_port};", nginx, re.M)
    assert re.search(r"set \$ratify_api http://ratify-api:8000;", nginx)
    assert "proxy_pass $ratify_api;" in nginx
    assert "resolver 127.0.0.11" in nginx
    assert host_part.endswith(":8000")


def test_compose_api_takes_the_client_address_only_as_its_nginx_saw_it() -> None:
    # The API trusts X-Forwarded-For from any peer ("*": uvicorn then takes the header's
    # leftmost entry), so nginx must overwrite the header with the address it was
    # connected from: appended to, the leftmost entry is whatever the client claimed, and
    # each claim got a fresh window of the per-address sign-in limit.
    trusted = services()["ratify-api"]["environment"]["FORWARDED_ALLOW_IPS"]
    nginx = (COMPOSE_DIR / "nginx" / "nginx.conf").read_text()
    directives = re.findall(r"^\s*proxy_set_header\s+X-Forwarded-For\s+(\S+);", nginx, re.M | re.I)
    assert directives == ["$remote_addr"], directives
    assert "$proxy_add_x_forwarded_for" not in re.sub(r"#.*", "", nginx)
    assert trusted == "*", "narrowed to nginx's address? keep the overwrite all the same"


def test_compose_start_order() -> None:
    svc = services()

    def needs(name: str) -> dict[str, str]:
        deps = svc[name].get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions"
        return {target: d["condition"] for target, d in deps.items()}

    assert needs("temporal-schema") == {"temporal-postgresql": "service_healthy"}
    assert needs("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert needs("temporal-create-namespace") == {"temporal": "service_healthy"}
    assert needs("ratify-migrate") == {"ratify-postgresql": "service_healthy"}
    for name in ("ratify-worker", "ratify-api", "ratify-projector"):
        assert needs(name) == {
            "ratify-migrate": "service_completed_successfully",
            "temporal-create-namespace": "service_completed_successfully",
        }, name
    assert needs("ratify-proxy") == {"ratify-api": "service_healthy"}
    # Every target exists, waiting for health needs a healthcheck, and there is no cycle.
    for name in svc:
        for target, condition in needs(name).items():
            assert target in svc, f"{name} -> {target}"
            if condition == "service_healthy":
                assert "healthcheck" in svc[target], f"{target} has no healthcheck"
    order: list[str] = []
    while len(order) < len(svc):
        ready = [n for n in svc if n not in order and set(needs(n)) <= set(order)]
        assert ready, f"depends_on cycle among {set(svc) - set(order)}"
        order.extend(sorted(ready))
    for name in ("ratify-worker", "ratify-api", "ratify-projector", "ratify-proxy"):
        assert "healthcheck" in svc[name], name
    for name in ("temporal", "temporal-postgresql", "ratify-postgresql"):
        assert "healthcheck" in svc[name], name
    one_shot = ("temporal-schema", "temporal-create-namespace", "ratify-migrate")
    for name in one_shot:
        assert svc[name]["restart"].startswith("on-failure"), name


def _bind_sources(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                yield volume["source"], "ro" if volume.get("read_only") else "rw"
            continue
        source, _, rest = volume.partition(":")
        if source.startswith((".", "/", "~")):
            yield source, "ro" if rest.endswith(":ro") else "rw"


def test_compose_mounts_no_source_tree() -> None:
    for name, service in services().items():
        binds = list(_bind_sources(service))
        if name in RATIFY_SERVICES:
            assert "volumes" not in service, f"{name} must run from its image alone"
        for source, mode in binds:
            resolved = (COMPOSE_DIR / source).resolve()
            assert resolved.is_relative_to(COMPOSE_DIR), f"{name} mounts {source}"
            assert resolved.exists(), f"{name} mounts missing {source}"
            assert mode == "ro", f"{name} mounts {source} read-write"


def test_compose_migrations_only_in_the_job_and_one_image() -> None:
    svc = services()
    assert svc["ratify-migrate"]["command"] == ["db", "upgrade"]
    known = process_commands()
    images = set()
    for name in RATIFY_SERVICES:
        service = svc[name]
        env = service["environment"]
        assert env["RATIFY_MIGRATE_ON_START"] == "false", name
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert env["RATIFY_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        command = tuple(service["command"])
        assert any(command[: len(c)] == c for c in known), command
        if name != "ratify-migrate":
            assert command[:2] != ("db", "upgrade"), name
        images.add(service["image"])
        build = service["build"]
        assert (COMPOSE_DIR / build["context"] / build["dockerfile"]).resolve() == (
            REPO / "Dockerfile"
        )
    assert len(images) == 1, images


def test_compose_images_are_pinned() -> None:
    for name, service in services().items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and re.match(r"\d", tag), (name, image)


def test_compose_temporal_scripts_are_valid_shell() -> None:
    for script in sorted((COMPOSE_DIR / "scripts").glob("*.sh")):
        proc = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{script.name}: {proc.stderr}"
    server = services()["temporal"]
    dynamic = server["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    assert dynamic == "config/dynamicconfig/development-sql.yaml"
    config = yaml.safe_load((COMPOSE_DIR / "dynamicconfig" / "development-sql.yaml").read_text())
    assert config["frontend.enableUpdateWorkflowExecution"][0]["value"] is True
    for key, entries in config.items():
        assert isinstance(entries, list) and all("value" in e for e in entries), key


# -- the image -----------------------------------------------------------------------------


def test_dockerignore_sends_only_the_package_sources() -> None:
    files = {p.as_posix() for p in image_check("context").context_files(REPO)}
    for wanted in ("pyproject.toml", "README.md", "worker.py", "ratify/cli/main.py"):
        assert wanted in files, wanted
    assert any(f.startswith("ratify/infra/migrations/versions/") for f in files)
    assert any(f.startswith("ratify/web/templates/") for f in files)
    assert "ratify/services/templates/evidence.html" in files
    assert any(f.startswith("eventstore/migrations/versions/") for f in files)
    assert any(f.startswith("domain/rules/") for f in files)
    for unwanted in ("tests/", ".venv/", "data/", "deploy/", ".git/", "bench/", ".ci/"):
        assert not any(f.startswith(unwanted) for f in files), unwanted
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    assert not any(Path(f).name == ".env" for f in files)


def test_dockerfile_runtime_stage() -> None:
    script = image_check("dockerfile")
    _, stages = script.parse_dockerfile(REPO / "Dockerfile")
    build, runtime = script.stage(stages, "build"), script.stage(stages, "runtime")
    assert build.base == runtime.base and build.base.startswith("python:3.11")
    assert re.match(r"python:3\.11\.\d+-slim", build.base), "pin the base image's patch release"
    (user,) = runtime.of("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    env: dict[str, str] = {}
    for rest in runtime.of("ENV"):
        env.update(script.parse_env(rest))
    assert env["RATIFY_MIGRATE_ON_START"] == "false"
    assert runtime.of("ENTRYPOINT") == ['["ratify"]']
    runs = " ".join(build.of("RUN"))
    assert 'pip" install .' in runs and "[dev]" not in runs


@contextmanager
def scratch_database(admin_url: URL) -> Iterator[str]:
    name = f"ratify_image_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.mark.slow
def test_image_build_steps(request: pytest.FixtureRequest) -> None:
    """Replays the Dockerfile's build stage (fresh venv, `pip install .`) and checks it.

    `ratify db upgrade` runs on a temporary SQLite file and, unless RATIFY_SKIP_POSTGRES=1,
    on a scratch PostgreSQL database too (the production driver, psycopg, from the install).
    `--smoke` then starts the worker, projector and API from the install against a Temporal
    dev server and checks every endpoint the probes use, and a clean stop on SIGTERM.
    """
    with ExitStack() as stack:
        argv = [sys.executable, str(CHECK_SCRIPT), "--smoke"]
        if os.environ.get("RATIFY_SKIP_POSTGRES") != "1":
            admin_url = request.getfixturevalue("pg_admin_url")
            argv += ["--database-url", stack.enter_context(scratch_database(admin_url))]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "all checks passed" in proc.stdout
