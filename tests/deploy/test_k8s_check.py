"""`make k8s-check` fails on a broken manifest: each test breaks one thing in a copy of
deploy/k8s and expects the check to name it. (The unbroken tree is checked by `make k8s-check`
itself, which `make test` runs first.)"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from netral import k8scheck

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def facts() -> dict[str, k8scheck.ServiceFacts]:
    return k8scheck.service_facts()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "k8s"
    shutil.copytree(k8scheck.DEPLOY, copy)
    return copy


def mutate(tree: Path, matches: Callable[[Doc], bool], change: Callable[[Doc], Doc | None]) -> int:
    """Apply `change` to every manifest document under `tree` that `matches`; None removes it."""
    changed = 0
    for path in sorted(tree.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or "tests" in path.parts:
            continue
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        out: list[Doc] = []
        touched = False
        for doc in docs:
            if isinstance(doc, dict) and matches(doc):
                changed += 1
                touched = True
                new = change(doc)
                if new is not None:
                    out.append(new)
            else:
                out.append(doc)
        if touched:
            path.write_text(yaml.safe_dump_all(out, sort_keys=False))
    return changed


def problems(tree: Path, facts: dict[str, k8scheck.ServiceFacts]) -> list[str]:
    return k8scheck.run(tree, k8scheck.CRD_DIR, facts).problems


def is_kind(kind: str, name: str | None = None) -> Callable[[Doc], bool]:
    return lambda doc: doc.get("kind") == kind and (name is None or doc["metadata"]["name"] == name)


def topic_named(topic: str) -> Callable[[Doc], bool]:
    return lambda doc: (
        doc.get("kind") == "KafkaTopic"
        and topic
        in (
            doc["metadata"]["name"],
            doc.get("spec", {}).get("topicName"),
        )
    )


def test_a_missing_kafka_topic_is_named(tree: Path, facts: dict[str, k8scheck.ServiceFacts]) -> None:
    assert mutate(tree, topic_named("dlq.notify"), lambda doc: None) == 1
    found = problems(tree, facts)
    assert any("topic dlq.notify is used by notify but has no KafkaTopic" in line for line in found), found


def test_an_unused_kafka_topic_is_named(tree: Path, facts: dict[str, k8scheck.ServiceFacts]) -> None:
    def rename(doc: Doc) -> Doc:
        doc["metadata"]["name"] = "reports.archive"
        doc["spec"]["topicName"] = "reports.archive"
        return doc

    assert mutate(tree, topic_named("reports.cases"), rename) == 1
    found = problems(tree, facts)
    assert any("KafkaTopic reports.archive is used by no service" in line for line in found), found
    assert any("topic reports.cases is used by" in line for line in found), found


def test_an_acl_the_code_does_not_need_is_named(tree: Path, facts: dict[str, k8scheck.ServiceFacts]) -> None:
    def widen(doc: Doc) -> Doc:
        doc["spec"]["authorization"]["acls"].append(
            {
                "resource": {"type": "topic", "name": "reports.cases", "patternType": "literal"},
                "operations": ["Read"],
            }
        )
        return doc

    assert mutate(tree, is_kind("KafkaUser", "netral-signing"), widen) == 1
    found = problems(tree, facts)
    assert any("netral-signing grants Read on topic reports.cases" in line for line in found), found


def test_a_setting_the_service_does_not_read_is_named(
    tree: Path, facts: dict[str, k8scheck.ServiceFacts]
) -> None:
    settings = tree / "base" / "registry" / "config.env"  # the registry's ConfigMap source
    settings.write_text(settings.read_text() + "MONGO_URL=mongodb://elsewhere\n")
    found = problems(tree, facts)
    assert any("sets MONGO_URL, which the registry service does not read" in line for line in found), found


def test_an_unknown_field_in_a_custom_resource_fails_its_crd(
    tree: Path, facts: dict[str, k8scheck.ServiceFacts]
) -> None:
    def misspell(doc: Doc) -> Doc:
        doc["spec"]["partitons"] = doc["spec"].pop("partitions")
        return doc

    assert mutate(tree, topic_named("signing.pledges"), misspell) == 1
    found = problems(tree, facts)
    assert any("KafkaTopic" in line and "partitons" in line for line in found), found


def test_a_broken_deployment_fails_the_kubernetes_schema(
    tree: Path, facts: dict[str, k8scheck.ServiceFacts]
) -> None:
    def break_probe(doc: Doc) -> Doc:
        container = doc["spec"]["template"]["spec"]["containers"][0]
        container["readinessProbe"]["httpGet"]["port"] = {"name": "http"}
        return doc

    def probed(doc: Doc) -> bool:
        containers = doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])
        return doc.get("kind") == "Deployment" and "readinessProbe" in containers[0]

    assert mutate(tree, probed, break_probe) >= 1
    found = problems(tree, facts)
    assert any("Deployment" in line and "readinessProbe" in line for line in found), found


def test_an_alert_on_a_metric_nobody_exports_is_named(
    tree: Path, facts: dict[str, k8scheck.ServiceFacts]
) -> None:
    def add_alert(doc: Doc) -> Doc:
        doc["spec"]["groups"][0]["rules"].append(
            {
                "alert": "NetralImaginary",
                "expr": "rate(netral_imaginary_total[5m]) > 0",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "x", "description": "x"},
            }
        )
        return doc

    assert mutate(tree, is_kind("PrometheusRule"), add_alert) == 1
    found = problems(tree, facts)
    assert any("NetralImaginary uses netral_imaginary_total" in line for line in found), found


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (campaign) (rate(netral_signing_signatures_total{mode="online"}[5m]))',
            {"netral_signing_signatures_total"},
        ),
        (
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.25",
            {"http_request_duration_seconds_bucket"},
        ),
        (
            'max(kafka_consumergroup_lag{consumergroup=~"notify|signing"}) by (consumergroup) > 1000',
            {"kafka_consumergroup_lag"},
        ),
        (
            "increase(netral_signing_signatures_total[10m]) > 0"
            " and on(campaign) delta(netral_signing_chain_length[10m]) == 0",
            {"netral_signing_signatures_total", "netral_signing_chain_length"},
        ),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert k8scheck.metric_names(expr) == names


def test_an_ingress_with_an_access_log_is_named(tree: Path, facts: dict[str, k8scheck.ServiceFacts]) -> None:
    def log_access(doc: Doc) -> Doc:
        del doc["metadata"]["annotations"][k8scheck.ACCESS_LOG_ANNOTATION]
        return doc

    assert mutate(tree, is_kind("Ingress", "reports-public"), log_access) == 1
    found = problems(tree, facts)
    assert any(
        "Ingress reports-public does not set nginx.ingress.kubernetes.io/enable-access-log" in line
        for line in found
    ), found


def test_dev_mode_in_a_cluster_is_named(tree: Path, facts: dict[str, k8scheck.ServiceFacts]) -> None:
    settings = tree / "base" / "common.env"
    settings.write_text(settings.read_text() + "DEV_MODE=true\n")
    found = problems(tree, facts)
    assert any("sets DEV_MODE, a DEV/TEST-only setting" in line for line in found), found
