"""The base of every configuration section, in a module of its own.

Each stage owns the model of its own section (``notify.config``,
``rules.config``, ``stories.config``) and the main config embeds them; a
shared base in a leaf module lets both sides import it without a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Unknown keys are errors; values are frozen; inputs stay out of errors.

    A typo must not silently fall back to a default, and a rejected value
    may be a secret URL, so error messages name the key, never the value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
