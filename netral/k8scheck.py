"""`make k8s-check`: deploy/k8s checked offline, against the schemas and against the code.

- every overlay renders with `kubectl kustomize`;
- every built-in resource validates strictly (`kubernetes-validate`), every custom resource
  against its CRD's openAPIV3Schema from ../shared/k8s-crds (unknown fields are errors unless
  the schema preserves them);
- the PrometheusRule passes `promtool check rules` and its unit tests, and every dashboard
  query parses as PromQL;
- the manifests agree with the code: the topics each service publishes and consumes have
  KafkaTopics and nothing else does, each service's KafkaUser grants exactly what it uses,
  each Deployment sets only settings its service reads (and every one that has no safe
  default), and every metric an alert or a panel uses is in the services' /metrics output.

Each finding is a line; the command exits 1 when there is any.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "k8s"
CRD_DIR = ROOT.parent / "shared" / "k8s-crds"
KUBERNETES_VERSION = "1.32.0"
SERVICES = ("registry", "signing", "reports", "notify")
MONITORING = DEPLOY / "components" / "monitoring"

Resource = dict[str, Any]


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def add(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")


# ---------------------------------------------------------------- rendering


def overlays(deploy: Path = DEPLOY) -> list[Path]:
    return sorted(path for path in (deploy / "overlays").iterdir() if (path / "kustomization.yaml").exists())


def render(overlay: Path) -> list[Resource]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise RenderError(result.stderr.strip() or result.stdout.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


class RenderError(RuntimeError):
    pass


def name_of(resource: Resource) -> str:
    meta = resource.get("metadata", {})
    return f"{resource.get('kind')}/{meta.get('namespace', '-')}/{meta.get('name')}"


# ---------------------------------------------------------------- schemas


def load_crds(crd_dir: Path = CRD_DIR) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) → openAPIV3Schema, from the unmodified upstream CRD files."""
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in sorted(crd_dir.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema and version.get("served", True):
                    schemas[(spec["group"], version["name"], spec["names"]["kind"])] = schema
    return schemas


def closed(schema: Any) -> Any:
    """The schema with unknown fields forbidden wherever it lists properties and does not
    preserve unknown fields: a misspelt field then fails instead of being dropped."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


def validate_custom(resource: Resource, schema: dict[str, Any]) -> list[str]:
    from openapi_schema_validator import OAS30Validator

    body = copy.deepcopy(resource)
    validator = OAS30Validator(closed(schema))
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


def validate_builtin(resource: Resource) -> list[str]:
    import kubernetes_validate  # type: ignore[import-untyped]

    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(part) for part in exc.path) or "(root)"
        return [f"{path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"no schema for {resource.get('apiVersion')} {resource.get('kind')}: {exc}"]
    return []


def check_schemas(
    resources: list[Resource], crds: dict[tuple[str, str, str], dict[str, Any]], where: str, found: Findings
) -> None:
    for resource in resources:
        api_version = str(resource.get("apiVersion", ""))
        group, _, version = api_version.rpartition("/")
        kind = str(resource.get("kind", ""))
        key = (group, version, kind)
        if key in crds:
            errors = validate_custom(resource, crds[key])
        elif "." in group and not group.endswith(".k8s.io"):
            errors = [f"custom kind {api_version} {kind} has no CRD in {CRD_DIR}"]
        else:
            errors = validate_builtin(resource)
        for error in errors:
            found.add(f"{where} {name_of(resource)}", error)


# ---------------------------------------------------------------- what the code does


@dataclass(frozen=True)
class ServiceFacts:
    name: str
    publishes: frozenset[str]
    consumes: frozenset[str]
    dead_letter_topic: str | None
    group: str | None
    settings: frozenset[str]
    metrics: frozenset[str]


def service_facts() -> dict[str, ServiceFacts]:
    """Each service assembled as `python -m services.<name>` does, with no engine touched: the
    topics, the consumer group, the settings it reads and the metric families it exports."""
    return asyncio.run(_service_facts())  # Kafka clients are made inside a running loop


async def _service_facts() -> dict[str, ServiceFacts]:
    import importlib

    from prometheus_client import generate_latest

    facts: dict[str, ServiceFacts] = {}
    for name in SERVICES:
        main = importlib.import_module(f"services.{name}.main")
        # Built to be looked at, never served: development mode, so that no key or issuer is needed.
        with mock.patch.dict(os.environ, {"DEV_MODE": "true"}):
            app = main.build_app()
        app.middleware_stack = app.build_middleware_stack()  # makes the HTTP metrics, as a start does
        runtime = app.state.runtime
        consumes = frozenset(runtime.consumers.topics)
        settings_type = type(runtime.settings)
        metrics = frozenset(exported_families(generate_latest(runtime.metrics_registry).decode()))
        facts[name] = ServiceFacts(
            name=name,
            publishes=frozenset(runtime.topics) - consumes,
            consumes=consumes,
            dead_letter_topic=runtime.consumers.dead_letter_topic if consumes else None,
            group=runtime.consumers.group if consumes else None,
            settings=frozenset(field.upper() for field in settings_type.model_fields),
            metrics=metrics,
        )
    return facts


# Settings that have no safe default in a cluster: loopback engines, dev-key files, the dev
# token issuer, an HTTP host that only the pod itself can reach.
REQUIRED_IN_CLUSTER: dict[str, frozenset[str]] = {
    "*": frozenset(
        {
            "HTTP_HOST",
            "HTTP_PORT",
            "MONGODB_URI",
            "KAFKA_BOOTSTRAP_SERVERS",
            "KAFKA_REPLICATION_FACTOR",
            "AUTH_JWKS_URL",
            "AUTH_ISSUER",
            "AUTH_AUDIENCE",
            "WEB_PUBLIC_URL",
            "WEB_SESSION_KEY",
            "OIDC_ISSUER",
            "OIDC_CLIENT_ID",
            "OIDC_CLIENT_SECRET",
        }
    ),
    "registry": frozenset({"NIK_SECRET"}),
    "signing": frozenset({"RECEIPT_KEY_PEM"}),
    "reports": frozenset(
        {"REPORTER_KEYS", "NOTIFY_CONTACT_PUBLIC_KEY", "TRACKING_KEY", "TRUSTED_PROXY_HOPS"}
    ),
    "notify": frozenset({"NOTIFY_CONTACT_PRIVATE_KEY", "WEBHOOK_SECRET_KEYS", "SMTP_HOST"}),
}
NEVER_IN_CLUSTER = frozenset({"CLOCK_FILE", "DEV_MODE", "WEBHOOK_ALLOW_PRIVATE_TARGETS"})
"""DEV/TEST-only settings. DEV_MODE above all: it lets a service start on DEV-ONLY keys
generated per pod and trust the local dev token issuer. WEBHOOK_ALLOW_PRIVATE_TARGETS would let
agencies' webhooks reach the cluster's own addresses."""

ACCESS_LOG_ANNOTATION = "nginx.ingress.kubernetes.io/enable-access-log"


# ---------------------------------------------------------------- consistency


def by_kind(resources: Iterable[Resource], kind: str) -> list[Resource]:
    return [resource for resource in resources if resource.get("kind") == kind]


def kafka_topics(resources: list[Resource]) -> dict[str, Resource]:
    return {
        str(topic.get("spec", {}).get("topicName") or topic["metadata"]["name"]): topic
        for topic in by_kind(resources, "KafkaTopic")
    }


def check_topics(
    resources: list[Resource], facts: dict[str, ServiceFacts], where: str, found: Findings
) -> None:
    declared = kafka_topics(resources)
    used: dict[str, set[str]] = {}
    for item in facts.values():
        for topic in (
            item.publishes | item.consumes | ({item.dead_letter_topic} if item.dead_letter_topic else set())
        ):
            used.setdefault(topic, set()).add(item.name)
    for topic in sorted(set(used) - set(declared)):
        found.add(where, f"topic {topic} is used by {', '.join(sorted(used[topic]))} but has no KafkaTopic")
    for topic in sorted(set(declared) - set(used)):
        found.add(where, f"KafkaTopic {topic} is used by no service")


Grant = tuple[str, str, str, str]
"""(resource type, name, pattern type, operation)"""


def grants(user: Resource) -> set[Grant]:
    result: set[Grant] = set()
    for acl in user.get("spec", {}).get("authorization", {}).get("acls", []):
        resource = acl.get("resource", {})
        operations = acl.get("operations") or ([acl["operation"]] if "operation" in acl else [])
        for operation in operations:
            result.add(
                (
                    resource.get("type", ""),
                    resource.get("name", "kafka-cluster") if resource.get("type") != "cluster" else "",
                    resource.get("patternType", "literal") if resource.get("type") != "cluster" else "",
                    operation,
                )
            )
    return result


def expected_grants(item: ServiceFacts) -> set[Grant]:
    expected: set[Grant] = {("cluster", "", "", "IdempotentWrite")}
    writes = set(item.publishes) | ({item.dead_letter_topic} if item.dead_letter_topic else set())
    for topic in writes:
        expected |= {("topic", topic, "literal", "Write"), ("topic", topic, "literal", "Describe")}
    for topic in item.consumes:
        expected |= {("topic", topic, "literal", "Read"), ("topic", topic, "literal", "Describe")}
    if item.group:
        expected.add(("group", item.group, "literal", "Read"))
    return expected


def check_acls(
    resources: list[Resource], facts: dict[str, ServiceFacts], where: str, found: Findings
) -> None:
    users = {user["metadata"]["name"]: user for user in by_kind(resources, "KafkaUser")}
    for item in facts.values():
        name = f"netral-{item.name}"
        user = users.get(name)
        if user is None:
            found.add(where, f"no KafkaUser {name} for the {item.name} service")
            continue
        granted, expected = grants(user), expected_grants(item)
        for grant in sorted(expected - granted):
            found.add(where, f"KafkaUser {name} lacks {grant[3]} on {grant[0]} {grant[1]}".rstrip())
        for grant in sorted(granted - expected):
            found.add(
                where,
                f"KafkaUser {name} grants {grant[3]} on {grant[0]} {grant[1]}, which the code never uses",
            )
    for name, user in users.items():
        if name.startswith("netral-"):
            continue
        public = {"signing.checkpoints", "reports.public"}
        for kind, resource, _, operation in grants(user):
            if kind == "topic" and (resource not in public or operation not in ("Read", "Describe")):
                found.add(
                    where,
                    f"KafkaUser {name} may {operation} topic {resource}: agencies read public topics only",
                )


def container_env(deployment: Resource, resources: list[Resource]) -> dict[str, dict[str, Any]]:
    """Every variable the service container gets, by name: a value or a reference."""
    config_maps = {cm["metadata"]["name"]: cm.get("data", {}) for cm in by_kind(resources, "ConfigMap")}
    secrets = {secret["metadata"]["name"]: secret.get("data", {}) for secret in by_kind(resources, "Secret")}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            for key, value in config_maps.get(source["configMapRef"]["name"], {}).items():
                env[key] = {"value": value, "from": f"ConfigMap {source['configMapRef']['name']}"}
        if "secretRef" in source:
            for key in secrets.get(source["secretRef"]["name"], {}):
                env[key] = {"secret": source["secretRef"]["name"]}
    for item in container.get("env", []):
        env[item["name"]] = item
    return env


def deployments_by_service(resources: list[Resource]) -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for deployment in by_kind(resources, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        command = [*container.get("command", []), *container.get("args", [])]
        for name in SERVICES:
            if command[-2:] == ["-m", f"services.{name}"]:
                found[name] = deployment
    return found


def check_settings(
    resources: list[Resource], facts: dict[str, ServiceFacts], where: str, found: Findings
) -> None:
    deployments = deployments_by_service(resources)
    for item in facts.values():
        deployment = deployments.get(item.name)
        if deployment is None:
            found.add(where, f"no Deployment runs `python -m services.{item.name}`")
            continue
        env = container_env(deployment, resources)
        label = f"Deployment {deployment['metadata']['name']}"
        for name in sorted(set(env) - item.settings):
            found.add(where, f"{label} sets {name}, which the {item.name} service does not read")
        required = REQUIRED_IN_CLUSTER["*"] | REQUIRED_IN_CLUSTER.get(item.name, frozenset())
        for name in sorted(required - set(env)):
            found.add(where, f"{label} does not set {name}, whose default is for local use only")
        for name in sorted(NEVER_IN_CLUSTER & set(env)):
            found.add(where, f"{label} sets {name}, a DEV/TEST-only setting")
        for name, item_env in env.items():
            if "value" in item_env and re.search(r"(SECRET|KEYS|PASSWORD|TOKEN|_PEM|_KEY)$", name):
                found.add(where, f"{label} sets {name} as a plain value: it must come from a Secret")


def check_ingress_logs(resources: list[Resource], where: str, found: Findings) -> None:
    """Every Ingress serves public routes whose paths can hold a tracking or receipt code: the
    controller must write no access log for them, or a line ties a client's address to a report."""
    for ingress in by_kind(resources, "Ingress"):
        annotations = ingress.get("metadata", {}).get("annotations") or {}
        if str(annotations.get(ACCESS_LOG_ANNOTATION, "")).lower() != "false":
            found.add(
                where,
                f'Ingress {ingress["metadata"]["name"]} does not set {ACCESS_LOG_ANNOTATION}: "false"; '
                "its access log would pair client addresses with public paths",
            )


PROMQL_WORDS = frozenset(
    """sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on
    ignoring group_left group_right bool and or unless offset rate irate increase delta idelta deriv
    predict_linear histogram_quantile absent absent_over_time abs ceil floor round clamp clamp_min
    clamp_max changes resets time timestamp vector scalar sort sort_desc label_replace label_join
    avg_over_time min_over_time max_over_time sum_over_time count_over_time last_over_time
    quantile_over_time stddev_over_time present_over_time exp ln log2 log10 sqrt day_of_month
    day_of_week hour minute month year days_in_month inf nan le""".split()
)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are not functions, keywords,
    label names (inside braces or `by (...)`) or strings."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\(?)", text):
        word, call = match.group(1), match.group(2)
        if call or word in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def family(metric: str) -> str:
    return re.sub(r"_(bucket|sum|count|total|created)$", "", metric)


def external_metrics(rule_file: Path) -> set[str]:
    """Metrics the rules declare as coming from outside the code (`#   name: source`)."""
    names: set[str] = set()
    in_block = False
    for line in rule_file.read_text().splitlines():
        if line.strip().lower().startswith("# external metrics"):
            in_block = True
            continue
        if in_block:
            match = re.match(r"#\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s*:", line)
            if not match:
                break
            names.add(match.group(1))
    return names


def dashboard_queries(monitoring: Path) -> Iterator[tuple[str, str]]:
    for path in sorted((monitoring / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        panels = list(dashboard.get("panels", []))
        while panels:
            panel = panels.pop()
            panels.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield f"{path.name}: {panel.get('title', '?')}", target["expr"]


GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${__rate_interval}": "5m",
}


def concrete(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return re.sub(r"\$\{?\w+\}?", "x", expr)


def prometheus_rules(resources: list[Resource]) -> list[Resource]:
    return by_kind(resources, "PrometheusRule")


def exported_families(metrics_text: str) -> set[str]:
    """The metric families in a /metrics page (their # TYPE lines), without suffixes."""
    return {family(name) for name in re.findall(r"^# TYPE (\S+) ", metrics_text, re.M)}


def check_metrics(
    resources: list[Resource], exported: set[str], monitoring: Path, where: str, found: Findings
) -> None:
    """Every metric an alert or a panel reads is in `exported` (families) or declared external."""
    external = (
        external_metrics(monitoring / "prometheusrule.yaml")
        if (monitoring / "prometheusrule.yaml").exists()
        else set()
    )
    uses: list[tuple[str, str]] = []
    for rule_resource in prometheus_rules(resources):
        for group in rule_resource["spec"].get("groups", []):
            for rule in group.get("rules", []):
                uses.append((f"alert {rule.get('alert') or rule.get('record')}", str(rule["expr"])))
    uses += list(dashboard_queries(monitoring))
    recorded = {
        rule["record"]
        for rule_resource in prometheus_rules(resources)
        for group in rule_resource["spec"].get("groups", [])
        for rule in group.get("rules", [])
        if "record" in rule
    }
    for user, expr in uses:
        for metric in sorted(metric_names(concrete(expr))):
            if family(metric) in exported or metric in external or metric in recorded or metric == "x":
                continue
            found.add(
                where, f"{user} uses {metric}, which no service exports and no `# External metrics` lists"
            )


# ---------------------------------------------------------------- promtool


def alerts_fired_in_tests(paths: list[Path]) -> set[str]:
    """Alert names that some promtool test expects to fire (a non-empty exp_alerts)."""
    fired: set[str] = set()
    for path in paths:
        for test in (yaml.safe_load(path.read_text()) or {}).get("tests", []):
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    fired.add(str(case["alertname"]))
    return fired


def check_promtool(resources: list[Resource], monitoring: Path, where: str, found: Findings) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        found.add(
            where, "promtool is not installed (Debian package prometheus; `make k8s-check` installs it)"
        )
        return
    rules = prometheus_rules(resources)
    if not rules:
        found.add(where, "no PrometheusRule rendered")
        return
    with tempfile.TemporaryDirectory(prefix="netral-promtool-") as tmp:
        work = Path(tmp)
        if (monitoring / "tests").exists():
            shutil.copytree(monitoring / "tests", work / "tests")
        else:
            (work / "tests").mkdir()
        rule_file = work / "tests" / "netral.rules.yaml"
        rule_file.write_text(yaml.safe_dump({"groups": [g for r in rules for g in r["spec"]["groups"]]}))
        steps = [[promtool, "check", "rules", str(rule_file)]]
        tests = sorted(str(path) for path in (work / "tests").glob("*.test.yaml"))
        if tests:
            steps.append([promtool, "test", "rules", *tests])
        else:
            found.add(where, "no promtool rule tests (components/monitoring/tests/*.test.yaml)")
        fired = alerts_fired_in_tests([Path(test) for test in tests])
        for rule_resource in rules:
            for group in rule_resource["spec"].get("groups", []):
                for rule in group.get("rules", []):
                    if "alert" in rule and rule["alert"] not in fired:
                        found.add(where, f"alert {rule['alert']} fires in no promtool test")
        queries = [
            {"record": f"netral:dashboard:query{index}", "expr": concrete(expr)}
            for index, (_, expr) in enumerate(dashboard_queries(monitoring))
        ]
        if queries:
            query_file = work / "dashboard-queries.yaml"
            query_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": queries}]}))
            steps.append([promtool, "check", "rules", str(query_file)])
        for command in steps:
            result = subprocess.run(command, capture_output=True, text=True, cwd=work / "tests", check=False)
            if result.returncode != 0:
                found.add(
                    where, f"`promtool {' '.join(command[1:3])}` failed:\n{result.stdout}{result.stderr}"
                )
            else:
                found.checked.append(f"promtool {' '.join(command[1:3])}: ok")


# ---------------------------------------------------------------- the whole check


def run(
    deploy: Path = DEPLOY, crd_dir: Path = CRD_DIR, facts: dict[str, ServiceFacts] | None = None
) -> Findings:
    found = Findings()
    crds = load_crds(crd_dir)
    if not crds:
        found.add(str(crd_dir), "no CRDs found")
    facts = facts if facts is not None else service_facts()
    monitoring = deploy / "components" / "monitoring"
    names = overlays(deploy)
    if not names:
        found.add(str(deploy), "no overlays")
    for overlay in names:
        where = f"overlay {overlay.name}"
        try:
            resources = render(overlay)
        except RenderError as exc:
            found.add(where, f"does not render: {exc}")
            continue
        found.checked.append(f"{where}: {len(resources)} resources rendered")
        check_schemas(resources, crds, where, found)
        check_topics(resources, facts, where, found)
        check_acls(resources, facts, where, found)
        check_settings(resources, facts, where, found)
        check_ingress_logs(resources, where, found)
        if prometheus_rules(resources):
            exported = {family(metric) for item in facts.values() for metric in item.metrics}
            check_metrics(resources, exported, monitoring, where, found)
            check_promtool(resources, monitoring, where, found)
    return found


def main() -> int:
    found = run()
    for line in found.checked:
        print(f"ok   {line}")
    for line in found.problems:
        print(f"FAIL {line}")
    print(f"k8s-check: {len(found.problems)} problem(s)")
    return 1 if found.problems else 0
