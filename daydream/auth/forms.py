"""Forms for registering and logging in."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from daydream.services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class RegisterForm(FlaskForm):
    """A new account: email, optional username, password twice."""

    email = EmailField(
        "Email", validators=[DataRequired("Enter your email."), Email("Enter a valid email."),
                             Length(max=254)]
    )
    username = StringField("Username (optional)", validators=[Optional(), Length(max=32)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired("Repeat the password."),
                    EqualTo("password", "The passwords do not match.")],
    )
    # Shown only when the sign-up policy is "voucher".
    voucher = StringField("Voucher code", validators=[Optional(), Length(max=64)])


class LoginForm(FlaskForm):
    """Email and password, with remember-me."""

    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1024)]
    )
    remember = BooleanField("Remember me")


class ForgotForm(FlaskForm):
    """The address to send a password reset link to."""

    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])


class ResetForm(FlaskForm):
    """A new password, twice."""

    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                   message=f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} "
                   "characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired("Repeat the password."),
                    EqualTo("password", "The passwords do not match.")],
    )
