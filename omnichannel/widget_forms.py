"""The widget's start form: who the customer is, before the bot menu."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tickets.documents import normalize_document, validate_document

_PHONE_CHARS = re.compile(r"^[\d\s()+\-.]+$")


class WidgetStartForm(forms.Form):
    name = forms.CharField(
        label=_("Nome"),
        max_length=200,
        widget=forms.TextInput(
            attrs={"autocomplete": "name", "placeholder": _("Como podemos chamar você?")}
        ),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": _("seu@email.com")}),
    )
    phone = forms.CharField(
        label=_("Telefone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "placeholder": _("(11) 91234-5678")}
        ),
    )
    document = forms.CharField(
        label=_("CPF ou CNPJ (opcional)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": _("Só números ou com pontuação")}),
    )
    # A field people never see: bots that fill every input give themselves away.
    website = forms.CharField(required=False, max_length=200, label=_("Deixe em branco"))

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Informe o nome."))
        return name

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if not phone:
            return ""
        digits = re.sub(r"\D", "", phone)
        if not _PHONE_CHARS.match(phone) or not 10 <= len(digits) <= 13:
            raise ValidationError(
                _("Telefone inválido: informe DDD e número, por exemplo (11) 91234-5678.")
            )
        return digits

    def clean_document(self) -> str:
        document = normalize_document(self.cleaned_data["document"])
        if document:
            validate_document(document)
        return document

    def clean(self) -> dict:
        data = super().clean()
        if data.get("website"):
            raise ValidationError(_("Não foi possível iniciar o atendimento."))
        if not self.errors and not data.get("email") and not data.get("phone"):
            self.add_error("email", _("Informe o e-mail ou o telefone."))
        return data
