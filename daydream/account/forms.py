"""Forms on the account settings tab."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from daydream.services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class ProfileForm(FlaskForm):
    """Names and phone number."""

    username = StringField("Username", validators=[Optional(), Length(max=32)])
    first_name = StringField("First name", validators=[Optional(), Length(max=64)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=64)])
    mobile = StringField(
        "Mobile",
        validators=[
            Optional(),
            Length(max=20),
            Regexp(r"^\+?[0-9 ()-]{4,20}$", message="Use digits, spaces, + ( ) and - only."),
        ],
    )
    cancel_abandoned = BooleanField("Cancel my queued tasks when I close every Daydream page")


class EmailForm(FlaskForm):
    """A new login email, confirmed with the password."""

    email = EmailField(
        "New email",
        validators=[DataRequired("Enter the new email."), Email("Enter a valid email."),
                    Length(max=254)],
    )
    password = PasswordField("Current password", validators=[DataRequired("Enter your password.")])


class PasswordForm(FlaskForm):
    """Current password, then the new one twice."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired("Repeat the new password."),
                    EqualTo("new_password", "The passwords do not match.")],
    )


class ApiKeyForm(FlaskForm):
    """A name for a new API key."""

    name = StringField(
        "Key name",
        validators=[DataRequired("Give the key a name."), Length(max=64)],
    )


class DeleteImagesForm(FlaskForm):
    """Confirm deleting every image with the password."""

    password = PasswordField("Your password", validators=[DataRequired("Enter your password.")])


class DeleteAccountForm(FlaskForm):
    """Confirm deleting the account with the password and a tick."""

    password = PasswordField("Your password", validators=[DataRequired("Enter your password.")])
    understood = BooleanField(
        "I understand that my images, tasks and keys are deleted and cannot come back",
        validators=[DataRequired("Tick the box to confirm.")])


class VoucherForm(FlaskForm):
    """A voucher code to redeem."""

    code = StringField(
        "Voucher code",
        validators=[DataRequired("Enter a voucher code."), Length(max=64)],
    )
