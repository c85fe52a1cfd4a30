from django import forms
from django.utils.translation import gettext_lazy as _

from trading.complaints.models import Complaint


class ComplaintForm(forms.Form):
    matter = forms.ChoiceField(label=_("What the complaint is about"), choices=Complaint.Matter.choices)
    objection_id = forms.CharField(label=_("Number of your objection to the tenderer"), required=False,
                                   max_length=24,
                                   help_text=_("Required for the tender documents, the opening and the candidates "
                                               "(R35)."))
    known_at = forms.DateField(label=_("The day you knew or should have known"),
                               widget=forms.DateInput(attrs={"type": "date"}))
    request = forms.CharField(label=_("Request"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    facts = forms.CharField(label=_("Facts and grounds"), widget=forms.Textarea(attrs={"rows": 8}),
                            max_length=20000)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class ClockStopForm(forms.Form):
    pause = forms.ChoiceField(label=_("Why the clock stops"), choices=[
        (Complaint.Pause.MATERIAL, Complaint.Pause.MATERIAL.label),
        (Complaint.Pause.APPRAISAL, Complaint.Pause.APPRAISAL.label)])
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Complaint.Outcome.choices)
    decision = forms.CharField(label=_("Written decision"), widget=forms.Textarea(attrs={"rows": 8}),
                               max_length=20000)


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
