"""The supervision console's forms."""

from django import forms
from django.utils.translation import gettext_lazy

from trading.credit.models import CreditRecord


class RecordForm(forms.Form):
    """信用记录: a supervisor publishes a penalty decision (R30)."""

    party_kind = forms.ChoiceField(label=gettext_lazy("Party kind"), choices=CreditRecord.PartyKind.choices)
    party = forms.CharField(label=gettext_lazy("Credit code or expert code"), max_length=64)
    conduct = forms.CharField(label=gettext_lazy("Conduct"), widget=forms.Textarea(attrs={"rows": 3}),
                              max_length=5000)
    basis = forms.ChoiceField(label=gettext_lazy("Basis"), choices=CreditRecord.Basis.choices)
    legal_basis = forms.CharField(label=gettext_lazy("Legal basis"), max_length=300)
    measure = forms.ChoiceField(label=gettext_lazy("Measure"), choices=CreditRecord.Measure.choices)
    authority = forms.CharField(label=gettext_lazy("Deciding authority"), max_length=200)
    decision_number = forms.CharField(label=gettext_lazy("Decision number"), max_length=100)
    decision_date = forms.DateField(label=gettext_lazy("Decision date"), widget=forms.DateInput(attrs={"type": "date"}))
    starts_on = forms.DateField(label=gettext_lazy("In force from"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=gettext_lazy("In force until (inclusive)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    document = forms.FileField(label=gettext_lazy("Decision document"))


class BreakGlassForm(forms.Form):
    """破窗查看: the written reason a supervisor gives to see a sealed section early."""

    reason = forms.CharField(label=gettext_lazy("Reason (written, kept in the ledger and the opening record)"),
                             widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
