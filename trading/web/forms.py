"""Forms only parse input; every rule is checked by the service the view calls."""

from django import forms
from django.utils.translation import gettext_lazy as _

from trading.models import Project, Section
from trading.services.projects import DEFAULT_OPENING_FORM

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """An HTML datetime-local input; the value is read in the active time zone (Asia/Shanghai)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def datetime_field(label, *, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


class TotpForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class ReauthForm(forms.Form):
    """The password again, and a code when two-factor login is on, before a risky change."""

    password = forms.CharField(
        label=_("Current password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Verification code"), max_length=32, required=False,
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class PasswordChangeForm(ReauthForm):
    new_password = forms.CharField(
        label=_("New password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password again"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two passwords do not match."))
        return data


class BidderSignupForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        min_length=18,
        help_text=_("18 characters, e.g. 91330100MA2XXXXXXX"),
    )
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=100)
    basic_account_bank = forms.CharField(
        label=_("Basic account bank"),
        max_length=200,
        help_text=_("Deposits must be paid from this account (R16)."),
    )
    basic_account_number = forms.CharField(label=_("Basic account number"), max_length=40)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False))
    password_again = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(render_value=False)
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("password")
            and data.get("password_again")
            and data["password"] != data["password_again"]
        ):
            self.add_error("password_again", _("The two passwords differ."))
        return data

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("password_again")
        data["phone"] = data["contact_phone"]
        return data


class ProjectForm(forms.Form):
    code = forms.CharField(label=_("Project code"), max_length=64)
    name = forms.CharField(label=_("Project name"), max_length=200)
    owner_name = forms.CharField(label=_("Owner (tenderer)"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Project.Category.choices)
    funding = forms.ChoiceField(label=_("Funding"), choices=Project.Funding.choices)
    estimated_price = forms.DecimalField(
        label=_("Estimated price or budget (CNY)"), max_digits=15, decimal_places=2, min_value=0
    )
    must_tender = forms.BooleanField(
        label=_("Must be tendered by law"), required=False, initial=True
    )
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class SectionForm(forms.Form):
    title = forms.CharField(label=_("Section title"), max_length=200)
    estimated_price = forms.DecimalField(
        label=_("Estimated price (CNY)"), max_digits=15, decimal_places=2, min_value=0
    )
    deposit_amount = forms.DecimalField(
        label=_("Bid deposit (CNY)"),
        max_digits=15,
        decimal_places=2,
        min_value=0,
        initial=0,
        help_text=_("R15: at most 2 percent of the estimated price."),
    )
    bid_deadline = datetime_field(_("Bid deadline and opening time"))
    documents_from = datetime_field(_("Tender documents available from"), required=False)
    documents_until = datetime_field(_("Tender documents available until"), required=False)
    bid_validity_days = forms.IntegerField(
        label=_("Bid validity (days)"), min_value=1, max_value=365, initial=90
    )
    evaluation_method = forms.ChoiceField(
        label=_("Evaluation method"), choices=Section.EvaluationMethod.choices
    )
    announcement = forms.CharField(
        label=_("Tender announcement"), required=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    opening_form = forms.CharField(
        label=_("Opening form fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One field per line: key | label | type (money, integer or text). The price is required."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.initial.get("opening_form"):
            self.initial["opening_form"] = opening_form_text(DEFAULT_OPENING_FORM)

    def clean_opening_form(self) -> list[dict]:
        fields = []
        for number, line in enumerate(
            self.cleaned_data.get("opening_form", "").splitlines(), start=1
        ):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) > 3 or not parts[0]:
                raise forms.ValidationError(
                    _("Line %(n)d should read key | label | type.") % {"n": number}
                )
            parts += [""] * (3 - len(parts))
            fields.append(
                {"key": parts[0], "label": parts[1] or parts[0], "type": parts[2] or "text"}
            )
        return fields

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data["opening_form_fields"] = data.pop("opening_form")
        return data


def opening_form_text(fields: list[dict]) -> str:
    return "\n".join(f"{f['key']} | {f.get('label', '')} | {f.get('type', 'text')}" for f in fields)


class CriterionForm(forms.Form):
    name = forms.CharField(label=_("Criterion"), max_length=100, required=False)
    max_score = forms.DecimalField(
        label=_("Maximum score"), max_digits=6, decimal_places=2, required=False, min_value=0
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[
            ("technical", _("Technical")),
            ("commercial", _("Commercial")),
            ("price", _("Price")),
        ],
    )

    def as_criterion(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("name") and data.get("max_score") is None:
            return None
        return {
            "name": data.get("name", ""),
            "max_score": data.get("max_score"),
            "kind": data.get("kind"),
        }


def criteria_formset(data=None, *, initial: list[dict] | None = None, blank_rows: int = 3):
    formset_class = forms.formset_factory(
        CriterionForm, extra=blank_rows, max_num=30, absolute_max=30
    )
    return formset_class(data=data, initial=initial or [], prefix="criteria")


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("Tender document"))


class TextForm(forms.Form):
    text = forms.CharField(
        label=_("Text"), max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )


class ClarificationForm(forms.Form):
    text = forms.CharField(
        label=_("Clarification or amendment"),
        max_length=50000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    affects_preparation = forms.BooleanField(
        label=_("Affects how bids are prepared"),
        required=False,
        initial=True,
        help_text=_(
            "R03: if fewer than 15 days remain before the deadline, the deadline moves so that 15 "
            "days remain, and every registered bidder is notified."
        ),
    )
    answers = forms.MultipleChoiceField(
        label=_("Answers these questions"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["answers"].choices = [(q.public_id, q.text[:80]) for q in questions]


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer"), max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the cancellation"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("All categories")), *Project.Category.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All statuses")),
            *[c for c in Section.Status.choices if c[0] != Section.Status.DRAFT],
        ],
    )
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
