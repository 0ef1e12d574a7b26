"""Template helpers: the Bootstrap markup of forms, a dictionary lookup."""

from typing import Any

from django import forms, template
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString

register = template.Library()


def _css_for(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


@register.filter
def bs(field: BoundField) -> SafeString | BoundField:
    """Render a field's widget with Bootstrap's class (and ``is-invalid`` when it has errors)."""
    if not isinstance(field, BoundField) or field.is_hidden:
        return field
    classes = field.field.widget.attrs.get("class", "").split()
    css = _css_for(field.field.widget)
    if css not in classes:
        classes.append(css)
    if field.errors and "is-invalid" not in classes:
        classes.append("is-invalid")
    return field.as_widget(attrs={"class": " ".join(classes)})


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]``, or ``None`` when there is no mapping or no such key."""
    if not hasattr(mapping, "get"):
        return None
    return mapping.get(key)
