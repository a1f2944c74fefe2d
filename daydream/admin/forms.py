"""Forms used by staff on the admin panel."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class CreditsForm(FlaskForm):
    """Grant (positive) or remove (negative) credits, with a note for the ledger."""

    amount = IntegerField(
        "Credits",
        validators=[DataRequired("Enter a non-zero amount."),
                    NumberRange(-1_000_000, 1_000_000, "Between -1,000,000 and 1,000,000.")],
    )
    note = StringField("Note", validators=[Optional(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected form for one-click actions."""
