"""A small kustomize, for machines without ``kubectl kustomize``.

It renders exactly the features deploy/k8s uses — resources, components, ``namespace``,
``labels``, ``images``, ConfigMap and Secret generators with kustomize's content hash,
name references (built in, plus a component's ``configurations``) — and refuses any
other field, so a kustomization that outgrows it fails loudly instead of rendering
something else. A test checks that it renders what ``kubectl kustomize`` renders.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "namespace",
    "labels",
    "images",
    "configMapGenerator",
    "secretGenerator",
    "configurations",
}
#: Kinds whose pod template gets the labels of ``includeTemplates``.
WORKLOADS = {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
#: Where pods refer to ConfigMaps and Secrets: (kind referred to, key holding the name).
POD_REFERENCES = {
    "configMapRef": ("ConfigMap", "name"),
    "configMapKeyRef": ("ConfigMap", "name"),
    "secretRef": ("Secret", "name"),
    "secretKeyRef": ("Secret", "name"),
}


@dataclass
class Rendered:
    """Objects of a kustomization, generated names, and extra name reference specs."""

    objects: list[Obj] = field(default_factory=list)
    renamed: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (referred kind, referring kind, path) from ``configurations``' nameReference.
    references: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def add(self, other: Rendered) -> None:
        """Take in a sub-kustomization's rendering."""
        self.objects += other.objects
        self.renamed |= other.renamed
        self.references += other.references


def render(directory: Path) -> list[Obj]:
    """Render the kustomization in ``directory`` like ``kubectl kustomize`` does."""
    rendered = _build(directory)
    for obj in rendered.objects:
        _rename_references(obj, rendered)
    return rendered.objects


def _build(directory: Path) -> Rendered:
    spec: Obj = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise NotImplementedError(f"{directory}: unsupported kustomization fields {unknown}")
    rendered = Rendered()
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            rendered.add(_build(path))
        else:
            rendered.objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for entry in spec.get("components", []):
        rendered.add(_build(directory / entry))
    for generator in spec.get("configMapGenerator", []):
        rendered.objects.append(_generate(directory, "ConfigMap", generator, rendered))
    for generator in spec.get("secretGenerator", []):
        rendered.objects.append(_generate(directory, "Secret", generator, rendered))
    for entry in spec.get("configurations", []):
        config = yaml.safe_load((directory / entry).read_text())
        for reference in config.get("nameReference", []):
            for spec_field in reference["fieldSpecs"]:
                path = tuple(spec_field["path"].split("/"))
                rendered.references.append((reference["kind"], spec_field["kind"], path))
    for label_set in spec.get("labels", []):
        _label(rendered.objects, label_set)
    if "namespace" in spec:
        for obj in rendered.objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for obj in rendered.objects:
            for container in _containers(obj):
                _set_image(container, image)
    return rendered


def _generate(directory: Path, kind: str, generator: Obj, rendered: Rendered) -> Obj:
    unknown = set(generator) - {"name", "literals", "envs", "options"}
    if unknown or generator.get("behavior", "create") != "create":
        raise NotImplementedError(f"{directory}: unsupported generator fields {unknown}")
    pairs = [literal.split("=", 1) for literal in generator.get("literals", [])]
    for env_file in generator.get("envs", []):
        for line in (directory / env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                pairs.append(line.split("=", 1))
    data = {key: value for key, value in pairs}
    name = generator["name"]
    if kind == "Secret":
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
        obj |= {"type": "Opaque", "data": encoded}
        hashed = {"kind": kind, "name": "", "type": "Opaque", "data": encoded}
    else:
        obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, "data": data}
        hashed = {"kind": kind, "name": "", "data": data}
    if not generator.get("options", {}).get("disableNameSuffixHash"):
        obj["metadata"]["name"] = f"{name}-{_hash(hashed)}"
        rendered.renamed[(kind, name)] = obj["metadata"]["name"]
    return obj


def _hash(content: Obj) -> str:
    """Return kustomize's name suffix: ten characters of a SHA-256, vowels avoided.

    kustomize hashes the kind, the data (and a Secret's type) with an empty name: its
    hasher looks the name up as one field called "metadata/name", which is never there.
    """
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Go's encoder escapes these three; kustomize hashes Go's encoding.
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        encoded = encoded.replace(char, escape)
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _label(objects: list[Obj], label_set: Obj) -> None:
    if label_set.get("includeSelectors"):
        raise NotImplementedError("labels with includeSelectors")
    pairs = label_set["pairs"]
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(pairs)
        if label_set.get("includeTemplates") and obj["kind"] in WORKLOADS:
            template = obj["spec"]["template"].setdefault("metadata", {})
            template.setdefault("labels", {}).update(pairs)


def _containers(obj: Obj) -> list[Obj]:
    if obj["kind"] not in WORKLOADS:
        return []
    pod = obj["spec"]["template"]["spec"]
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


def _set_image(container: Obj, image: Obj) -> None:
    name, _, tag = container["image"].partition(":")
    if name != image["name"]:
        return
    name = image.get("newName", name)
    tag = image.get("newTag", tag)
    container["image"] = f"{name}:{tag}" if tag else name


def _rename_references(obj: Obj, rendered: Rendered) -> None:
    if obj["kind"] in WORKLOADS:
        _rename_in_pod(obj["spec"]["template"]["spec"], rendered.renamed)
    for referred, kind, path in rendered.references:
        if obj["kind"] == kind:
            _rename_at(obj, path, referred, rendered.renamed)


def _rename_in_pod(node: Any, renamed: dict[tuple[str, str], str]) -> None:
    if isinstance(node, list):
        for item in node:
            _rename_in_pod(item, renamed)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in POD_REFERENCES and isinstance(value, dict):
                kind, name_key = POD_REFERENCES[key]
                value[name_key] = renamed.get((kind, value[name_key]), value[name_key])
            else:
                _rename_in_pod(value, renamed)


def _rename_at(
    node: Any, path: tuple[str, ...], kind: str, renamed: dict[tuple[str, str], str]
) -> None:
    if isinstance(node, list):
        for item in node:
            _rename_at(item, path, kind, renamed)
    elif isinstance(node, dict) and path and path[0] in node:
        if len(path) == 1:
            node[path[0]] = renamed.get((kind, node[path[0]]), node[path[0]])
        else:
            _rename_at(node[path[0]], path[1:], kind, renamed)
