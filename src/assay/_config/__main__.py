"""``python -m assay._config``: write schemas/config.schema.json from the config's models."""

import json
from pathlib import Path

from assay._config import config_schema

path = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.json"
path.write_text(json.dumps(config_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
print(f"wrote {path}")
