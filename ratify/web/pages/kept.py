"""What a person typed into a refused form, kept to fill the form again.

A refused form is answered from the page's own URL (the forms post to it), with the page
rendered again: every field as the person typed it (a pasted case file too), and the
refusal beside the field it names, or at the top when it names none. Nothing is kept
between requests: a pasted case file holds Part 2, which must not be written to the
session store for a one-time read, so the values travel only in the refused request and
its answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape
from starlette.datastructures import FormData

#: Form fields never written back: the CSRF token and the attempt's key come fresh with
#: every rendering of the page.
_NOT_KEPT = frozenset({"csrf_token", "idempotency_key"})


def typed_values(form: FormData) -> dict[str, str]:
    """The form's text fields as typed (uploads left out: a browser cannot refill them); a
    name sent more than once (ticked checkboxes) has its values one a line."""
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name not in _NOT_KEPT:
            values[name] = f"{values[name]}\n{value}" if name in values else value
    return values


def refused_field(message: str, names: frozenset[str] | set[str]) -> str | None:
    """The form field a refusal names (`comment: at most 4000 characters`, the API's
    `name: rule` shape, `approve.0: ...`), or None when it names none of `names`."""
    head, sep, _rest = message.partition(":")
    name = head.strip().split(".")[0]
    return name if sep and name in names else None


@dataclass(frozen=True)
class Typed:
    """The typed values of one refused form (`form`: the form's key on the page) and the
    field its refusal is shown beside (None: at the top of the page)."""

    form: str = ""
    values: dict[str, str] = field(default_factory=dict)
    field: str | None = None
    #: The free text typed (field, text), shown on its own when the form is no longer
    #: offered (the task was done meanwhile), so that it can still be copied.
    texts: tuple[tuple[str, str], ...] = ()

    def value(self, form: str, name: str, default: str = "") -> str:
        """What was typed into `name` of `form`, else `default`."""
        if form != self.form:
            return default
        return self.values.get(name, default)

    def chosen(self, form: str, name: str, option: str) -> bool:
        """Whether `option` was the one chosen for `name` in `form` (no default)."""
        return form == self.form and self.values.get(name) == option

    def refused(self, form: str, name: str) -> bool:
        """Whether the refusal concerns `name` of `form`."""
        return form == self.form and self.field == name

    def anchor(self) -> str | None:
        """The id of the refusal shown beside its field, for the link at the top."""
        return f"{self.form}-{self.field}-error" if self.form and self.field else None

    def attrs(self, form: str, name: str) -> Markup:
        """`aria-invalid` and `aria-describedby` for the field the refusal concerns."""
        if not self.refused(form, name):
            return Markup("")
        return Markup(' aria-invalid="true" aria-describedby="{}"').format(
            escape(f"{form}-{name}-error")
        )


#: No form refused.
NOTHING_TYPED = Typed()
