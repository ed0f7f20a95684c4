#!/usr/bin/env python3
"""Writes merge-rules.json: how server-side apply merges the fields of the served kinds, from
the structured-merge-diff schema client-go carries (applyconfigurations/internal/internal.go,
generated upstream from the types' `+listType`, `+listMapKey`, `+mapType`, `+structType`).

Only what differs from the defaults is written (a list is atomic, a map or struct granular):
  {"api.core.v1.Container": {"env": ["name"], "ports": ["containerPort", "protocol=TCP"]},
   "api.core.v1.ServiceSpec": {"selector": "atomic"},
   "apimachinery.pkg.apis.meta.v1.LabelSelector": "atomic", ...}
A list of keys (with a key's default after `=`) is a list merged by key ("associative"),
"set" a list of scalars merged by value, "atomic" a map replaced as a whole.

Usage: merge_rules.py CLIENT_GO_GIT_DIR TAG > merge-rules.json   (TAG e.g. v0.32.9)
"""
import json
import re
import subprocess
import sys

import yaml

repo, tag = sys.argv[1:3]
source = subprocess.run(
    ["git", "-C", repo, "show", f"{tag}:applyconfigurations/internal/internal.go"],
    check=True, capture_output=True, text=True).stdout
schema = yaml.safe_load(re.search(r"var schemaYAML = typed\.YAMLObject\(`(.*)`\)", source,
                                  re.S).group(1))

GROUPS = ["apps", "authentication", "authorization", "autoscaling", "batch", "coordination",
          "core", "policy", "rbac", "scheduling", "storage"]
PREFIXES = [f"io.k8s.api.{g}.v1." for g in GROUPS] + ["io.k8s.apimachinery.pkg.apis.meta.v1."]


def field_rule(ty):
    if "list" in ty:
        lst = ty["list"]
        if lst.get("elementRelationship") != "associative":
            return None
        keys = lst.get("keys")
        if not keys:
            return "set"
        item = types.get(lst["elementType"].get("namedType"), {})
        defaults = {f["name"]: f["default"] for f in item.get("map", {}).get("fields", [])
                    if "default" in f and f["default"] != ""}
        return [k + (f"={defaults[k]}" if k in defaults else "") for k in keys]
    if "map" in ty and ty["map"].get("elementRelationship") == "atomic":
        return "atomic"
    return None


types = {t["name"]: t for t in schema["types"]}
out = {}
for name, t in sorted(types.items()):
    if not any(name.startswith(p) for p in PREFIXES) or "map" not in t:
        continue
    ours = name.removeprefix("io.k8s.")
    if t["map"].get("elementRelationship") == "atomic":
        out[ours] = "atomic"
        continue
    rules = {}
    for f in t["map"].get("fields", []):
        rule = field_rule(f["type"])
        if rule is not None:
            rules[f["name"]] = rule
    if rules:
        out[ours] = rules
print("{")
print(",\n".join(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}"
                 for k, v in out.items()))
print("}")
