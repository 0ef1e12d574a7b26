"""The header filter widgets, written out without the form template engine, render exactly as Django's."""

from datetime import date

import pytest
from django import forms

from dashboards.grids import filtering


@pytest.mark.parametrize(
    ("mine", "django_class", "value"),
    [
        (filtering.TextInput(attrs={"class": "a b", "placeholder": 'Filtrar "<x>"', "required": True, "disabled": False}),
         forms.TextInput, 'São "<Paulo>" & cia'),
        (filtering.TextInput(attrs={"class": "form-control"}), forms.TextInput, None),
        (filtering.DateInput(format="%Y-%m-%d", attrs={"type": "date"}), forms.DateInput, date(2026, 3, 11)),
        (filtering.Select(choices=[("", "Todos"), ("a", "Á & <b>"), ("b", "B")]), forms.Select, "a"),
        (filtering.Select(choices=[("", "Todos"), ("g", [("x", "X"), ("y", "Y")])]), forms.Select, "y"),
        (filtering.Select(choices=[]), forms.Select, None),
    ],
)
def test_filter_widget_renders_like_the_django_template(mine, django_class, value):
    attrs = {"id": "id_field", "aria-label": "Filtrar <Cliente>"}
    assert mine.render("field", value, attrs=attrs) == django_class.render(mine, "field", value, attrs=attrs)


def test_number_filter_keeps_its_input_type():
    widget = filtering.TextInput()
    widget.input_type = "number"
    assert widget.render("code", 12) == '<input type="number" name="code" value="12">'
