#!/usr/bin/python3
"""check_schema.py: docs/schema/dag-v1.json agrees with the loader.

1. Every shipped DAG (dags/*.yaml) validates against the schema.
2. The schema's top-level keys, task keys and trigger rules are exactly the
   ones engine/dag_load.c accepts (read from its tables), so neither can
   drift from the other.
"""
import json
import pathlib
import re
import sys

import jsonschema
import yaml

src = pathlib.Path(sys.argv[1])
schema = json.loads((src / "docs/schema/dag-v1.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
failed = 0

for f in sorted((src / "dags").glob("*.yaml")):
    doc = yaml.safe_load(f.read_text())
    # YAML dates are strings in weir (YAML 1.2 core schema); PyYAML makes
    # them datetime objects (1.1): give the schema weir's view.
    for k in ("start_date", "end_date"):
        if k in doc and not isinstance(doc[k], str):
            doc[k] = doc[k].isoformat()
    errors = sorted(validator.iter_errors(doc), key=str)
    for e in errors:
        print(f"{f.name}: {'/'.join(map(str, e.path))}: {e.message}")
        failed += 1

loader = (src / "engine/dag_load.c").read_text() + (src / "engine/dag_names.c").read_text()


def c_table(name):
    m = re.search(r"const char \*const (?:weir__)?" + name + r"\[[^\]]*\] = \{(.*?)\};", loader, re.S)
    return {s for s in re.findall(r'"([^"]+)"', m.group(1))}


def check(what, want, got):
    global failed
    if want != got:
        print(f"{what}: schema and loader differ: only in loader {sorted(want - got)},"
              f" only in schema {sorted(got - want)}")
        failed += 1


check("top-level keys", c_table("top_keys"), set(schema["propertyNames"]["anyOf"][0]["enum"]))
check("task keys", c_table("task_keys"), set(schema["properties"]["tasks"]["items"]["properties"]))
check("trigger rules", c_table("trigger_names"),
      set(schema["properties"]["tasks"]["items"]["properties"]["trigger_rule"]["enum"]))
check("param keys", c_table("param_keys"),
      set(schema["properties"]["params"]["additionalProperties"]["anyOf"][0]["properties"]))
print("schema check:", "FAILED" if failed else "ok", f"({len(list((src / 'dags').glob('*.yaml')))} DAGs)")
sys.exit(1 if failed else 0)
