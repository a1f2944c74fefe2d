"""Forms used by staff on the admin panel."""

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, HiddenField, IntegerField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional


class WholeNumberField(IntegerField):
    """An IntegerField that refuses numbers too long to compare (401 digits: a 400, not a 500)."""

    MAX_DIGITS = 12

    def process_formdata(self, valuelist):
        """Refuse absurdly long numbers before WTForms' range checks turn them into floats."""
        if valuelist and len(str(valuelist[0]).strip().lstrip("+-")) > self.MAX_DIGITS:
            self.data = None
            raise ValueError(self.gettext("Enter a smaller number."))
        super().process_formdata(valuelist)


class CreditsForm(FlaskForm):
    """Grant (positive) or remove (negative) credits, with a note for the ledger."""

    amount = WholeNumberField(
        "Credits",
        validators=[DataRequired("Enter a non-zero amount."),
                    NumberRange(-1_000_000, 1_000_000, "Between -1,000,000 and 1,000,000.")],
    )
    note = StringField("Note", validators=[Optional(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected form for one-click actions."""


class VoucherForm(FlaskForm):
    """A new voucher: credits per redemption, how many people, expiry, a note."""

    amount = WholeNumberField(
        "Credits", validators=[InputRequired("Enter the credits the code gives."),
                               NumberRange(1, 1_000_000, "Between 1 and 1,000,000.")])
    max_uses = WholeNumberField(
        "Uses", default=1, validators=[InputRequired("Enter how many people may use it."),
                                       NumberRange(1, 100_000, "Between 1 and 100,000.")])
    expires_on = DateField("Expires on (optional)", validators=[Optional()])
    note = StringField("Note", validators=[Optional(), Length(max=200)])


class AllowanceForm(FlaskForm):
    """A user's own daily allowance cap; empty means their role's."""

    allowance = WholeNumberField(
        "Daily allowance", validators=[Optional(), NumberRange(0, 1_000_000,
                                                               "Between 0 and 1,000,000.")])


class ModelForm(FlaskForm):
    """A library model's display name, default size and price factor."""

    name = HiddenField(validators=[DataRequired(), Length(max=200)])
    title = StringField("Display name", validators=[Optional(), Length(max=200)])
    width = WholeNumberField("Default width", validators=[InputRequired("Enter a width.")])
    height = WholeNumberField("Default height", validators=[InputRequired("Enter a height.")])
    price = DecimalField(
        "Price factor", places=2,
        validators=[InputRequired("Enter a price factor (1 is the normal price)."),
                    NumberRange(0.01, 100, "Between 0.01 and 100.")])


class ModelActionForm(FlaskForm):
    """Enable, disable or make default: the model's name, the action and the CSRF token."""

    name = HiddenField(validators=[DataRequired(), Length(max=200)])
    do = HiddenField(validators=[AnyOf(("enable", "disable", "default"))])
