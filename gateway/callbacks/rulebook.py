"""Each tenant's rule table: tenants/default.py, extended by the tenant's own tenants/<slug>.py
(a '-' in the slug written '_') when that file exists. Modules are loaded by file path, so any
slug (a digit first, or the name of another module) can have one; `default` is reserved."""
from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from typing import Iterable

import tenants
from gateway.platform.tenant import Tenant
from tenants import Rule, compose
from tenants.default import RULES as DEFAULT_RULES

log = logging.getLogger(__name__)

TENANTS_DIR = Path(tenants.__file__).resolve().parent
RESERVED = frozenset({"default", "__init__"})


class RuleBook:
    def __init__(self, default: Iterable[Rule] = DEFAULT_RULES, directory: Path = TENANTS_DIR) -> None:
        self.default = list(default)
        self.directory = directory
        self._by_slug: dict[str, list[Rule]] = {}

    def rules_for(self, tenant: Tenant) -> list[Rule]:
        rules = self._by_slug.get(tenant.slug)
        if rules is None:
            rules = compose(self.default, self._tenant_rules(tenant.slug))
            self._by_slug[tenant.slug] = rules
        return rules

    def _tenant_rules(self, slug: str) -> list[Rule]:
        module_name = slug.replace("-", "_")
        path = self.directory / f"{module_name}.py"
        if module_name in RESERVED or not path.is_file():
            return []
        qualified = f"tenant_rules_{self.directory.name}_{module_name}"
        try:
            spec = importlib.util.spec_from_file_location(qualified, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[qualified] = module  # dataclasses and pickling look modules up by name
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(qualified, None)
            log.error("tenant rules %s do not load (%s); default rules apply", path.name, type(exc).__name__)
            return []
        rules = getattr(module, "RULES", None)
        if not isinstance(rules, list) or not all(isinstance(rule, Rule) for rule in rules):
            log.error("%s has no RULES list of Rule; default rules apply", path.name)
            return []
        return rules
