"""The rules stage: config-driven alert conditions on terms and figures.

The team writes rules in ``config/rules/*.toml`` (format: :mod:`.config`
and ``config/rules/README.md``). Modules, in the order a rule meets them:
``config`` (the file format and the main config's ``[rules]`` section),
``loader`` (files to an immutable, validated ``RuleSet``), ``scope`` and
``facts`` (what a rule sees of an article), ``types`` (one small class per
rule type), ``render`` (alert titles and bodies), ``engine`` (the
``RulesStage`` hook that runs inside each article's transaction),
``reload`` (live editing), ``replay`` (scratch-state replays) and
``commands`` (``test-rules`` and ``silence``).

Only the light ``config`` is imported here, because the main config
embeds ``RulesConfig``; import the other modules directly.
"""

from __future__ import annotations

from .config import RulesConfig

__all__ = ["RulesConfig"]
