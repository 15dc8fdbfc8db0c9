"""deploy/: the production overlay, rendered by the real kustomize and validated offline.

``kubectl kustomize deploy/overlays/production`` (kustomize built into kubectl: Debian's
``kubernetes-client``, installed by scripts/system-deps.sh) renders it, and
``kubernetes-validate --strict`` (app environment; it ships the Kubernetes schemas, so no
network) checks every object, rejecting unknown fields. Then the promises deploy/README.md
makes: each part has probes and resources, a Service, an autoscaler and a disruption
budget; no secret value is in the repository and each secret reaches only the part that
needs it; PostgreSQL and Redis are outside; every variable endpoints.yml reads is given.

Without kubectl the rendering tests skip, except under ``REQUIRE_FULL_SUITE=1`` (CI),
where a missing tool is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the app environment

from scripts.model_cache import ROOT

DEPLOY = ROOT / "deploy"
OVERLAY = DEPLOY / "overlays" / "production"
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
PARTS = ("engine", "actions", "gateway")
SECRET = "assistant-secrets"
#: Which part may read which secret key (the tracker key: Rasa alone, as in `make run`).
SECRET_READERS = {
    "RASA_TOKEN": {"engine", "gateway"},
    "RASA_TRACKER_KEY": {"engine"},
    "RASA_TRACKER_PASSWORD": {"engine"},
    "DATABASE_URL": {"gateway", "migrate"},
    "GATEWAY_TELEGRAM_TOKEN": {"gateway"},
    "REGISTRY_TOKEN": {"actions"},
}


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        reason = "kubectl is missing (scripts/system-deps.sh installs kubernetes-client)"
        if os.environ.get("REQUIRE_FULL_SUITE"):  # CI: a missing tool is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def rendered_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    done = subprocess.run(
        [_kubectl(), "kustomize", str(OVERLAY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    path = tmp_path_factory.mktemp("deploy") / "production.yaml"
    path.write_text(done.stdout, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def objects(rendered_file: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered_file.read_text("utf-8")) if doc]


def _of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def test_production_overlay_passes_strict_validation_offline(rendered_file: Path) -> None:
    done = subprocess.run(
        [str(VALIDATE), "--strict", "--quiet", str(rendered_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fail" not in (done.stdout + done.stderr).lower()


def test_each_part_serves_with_probes_resources_scaling_and_a_budget(
    objects: list[dict[str, Any]],
) -> None:
    deployments = _of_kind(objects, "Deployment")
    services = _of_kind(objects, "Service")
    autoscalers = _of_kind(objects, "HorizontalPodAutoscaler")
    budgets = _of_kind(objects, "PodDisruptionBudget")
    assert set(deployments) == set(PARTS)
    for name in PARTS:
        main = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert main["readinessProbe"]["httpGet"]["path"] in {"/", "/health"}, name
        assert main["livenessProbe"]["httpGet"]["path"] == main["readinessProbe"]["httpGet"]["path"]
        for container in _containers(deployments[name]):
            assert container["resources"]["requests"]["memory"], (name, container["name"])
            assert container["resources"]["limits"]["memory"], (name, container["name"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert services[name]["spec"]["selector"].items() <= labels.items()
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        target = autoscalers[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert autoscalers[name]["spec"]["minReplicas"] >= 2  # a budget of 1 leaves one
    assert deployments["engine"]["spec"]["template"]["spec"]["containers"][0]["startupProbe"]


def test_no_secret_in_the_repository_and_each_only_where_needed(
    objects: list[dict[str, Any]],
) -> None:
    assert not _of_kind(objects, "Secret"), "secrets are created in the cluster, not committed"
    readers: dict[str, set[str]] = {}
    for deployment in _of_kind(objects, "Deployment").values():
        for container in _containers(deployment):
            for ref in container.get("envFrom", []):
                assert "secretRef" not in ref, "a whole Secret would give every key to it"
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == SECRET
                    readers.setdefault(ref["key"], set()).add(container["name"])
    assert readers == SECRET_READERS
    for config in _of_kind(objects, "ConfigMap").values():
        for key in config["data"]:
            assert not re.search(r"TOKEN|KEY|PASSWORD|SECRET", key), key
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for key in SECRET_READERS:
        assert key in readme, f"deploy/README.md does not say how to set {key}"


def test_postgres_and_redis_are_external_services(objects: list[dict[str, Any]]) -> None:
    services = _of_kind(objects, "Service")
    for name in ("postgres", "redis"):
        assert services[name]["spec"]["type"] == "ExternalName"
        assert services[name]["spec"]["externalName"].endswith(".example.org")
    assert not _of_kind(objects, "StatefulSet")


def test_images_are_pinned(objects: list[dict[str, Any]]) -> None:
    for deployment in _of_kind(objects, "Deployment").values():
        for container in _containers(deployment):
            image = container["image"]
            assert re.fullmatch(r"[\w.-]+(/[\w.-]+)+:[\w.-]+", image), image
            assert not image.endswith(":latest"), image


def test_every_variable_endpoints_yml_reads_is_given_to_rasa(
    objects: list[dict[str, Any]],
) -> None:
    lines = (ROOT / "endpoints.yml").read_text("utf-8").splitlines()
    settings = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    wanted = set(re.findall(r"\$\{(\w+)\}", settings))
    assert "ACTION_ENDPOINT_URL" in wanted
    engine = _of_kind(objects, "Deployment")["engine"]["spec"]["template"]["spec"]
    container = engine["containers"][0]
    config = _of_kind(objects, "ConfigMap")
    given = {env["name"] for env in container["env"]}
    for ref in container["envFrom"]:
        given |= set(config[ref["configMapRef"]["name"]]["data"])
    assert wanted <= given, wanted - given


def test_container_files_copy_what_the_repository_has() -> None:
    files = sorted(DEPLOY.glob("*.Containerfile"))
    assert {f.name.split(".")[0] for f in files} == set(PARTS)
    for file in files:
        text = file.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            if not line.startswith("COPY "):
                continue
            *sources, _target = line.split()[1:]
            for source in sources:
                if "$" not in source:  # ${MODEL}: the build names the trained model
                    assert (ROOT / source).exists(), f"{file.name}: {source}"
