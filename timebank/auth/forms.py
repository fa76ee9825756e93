from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Field,
    Form,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..models import ContactPreference
from .passwords import MAX_PASSWORD_LENGTH, password_problem

SHARED_COMPUTER = "shared"
OWN_DEVICE = "own"


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter your email address."), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    # A shared computer unless the person says otherwise (docs/PRODUCTION.md, "Sessions").
    device = RadioField(
        "Which computer are you using?",
        choices=[
            SelectChoice(SHARED_COMPUTER, "This is a shared computer"),
            SelectChoice(OWN_DEVICE, "Keep me signed in on this device"),
        ],
        default=SHARED_COMPUTER,
    )

    @property
    def keeps_signed_in(self) -> bool:
        return self.device.data == OWN_DEVICE


def _new_password_rules(_form: Form, field: Field) -> None:
    if field.data:
        problem = password_problem(field.data)
        if problem:
            raise ValidationError(problem)


CONTACT_CHOICES = [
    SelectChoice(ContactPreference.EMAIL.value, "By email"),
    SelectChoice(ContactPreference.PHONE.value, "By phone call"),
    SelectChoice(ContactPreference.TEXT.value, "By text message"),
    SelectChoice(ContactPreference.COORDINATOR.value, "Through the coordinator, in person"),
]


class JoinForm(FlaskForm):
    """Applying to join. Which of email, phone and password are needed depends on each other,
    so the service checks those rules (one place); the form checks the shape of each answer."""

    timebank = SelectField(
        "Which timebank would you like to join?",
        coerce=int,
        # The service answers for an id that is not a timebank; the form only needs a choice.
        validate_choice=False,
        validators=[NumberRange(min=1, message="Choose the timebank you would like to join.")],
    )
    display_name = StringField(
        "Your name",
        validators=[
            DataRequired("Enter your name."),
            Length(max=120, message="Your name must be 120 characters or fewer."),
        ],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        "Email address (if you have one)",
        validators=[
            Optional(),
            Length(max=254, message="Your email address must be 254 characters or fewer."),
            Email("Enter an email address like name@example.com."),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )
    phone = TelField(
        "Phone number (if you have one)",
        validators=[Optional(), Length(max=40, message="Your phone number must be 40 characters or fewer.")],
        render_kw={"autocomplete": "tel"},
    )
    contact_preference = RadioField(
        "How would you like a coordinator to get in touch?",
        choices=CONTACT_CHOICES,
        default=ContactPreference.EMAIL.value,
        validators=[DataRequired("Choose how you would like us to get in touch.")],
    )
    offers_text = TextAreaField(
        "What could you offer to others?",
        validators=[Length(max=2000, message="Please keep this to 2,000 characters or fewer.")],
        render_kw={"rows": 4},
    )
    wants_text = TextAreaField(
        "What would you like help with?",
        validators=[Length(max=2000, message="Please keep this to 2,000 characters or fewer.")],
        render_kw={"rows": 4},
    )
    password = PasswordField(
        "Choose a password",
        validators=[_new_password_rules],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        "Type the password again",
        validators=[EqualTo("password", "The two passwords are not the same. Type them again.")],
        render_kw={"autocomplete": "new-password"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            Email("Enter an email address like name@example.com."),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


def _new_password_field(label: str = "New password") -> PasswordField:
    return PasswordField(
        label,
        validators=[InputRequired("Enter a new password."), _new_password_rules],
        render_kw={"autocomplete": "new-password"},
    )


def _confirm_field() -> PasswordField:
    return PasswordField(
        "Type the new password again",
        validators=[
            InputRequired("Type the new password again."),
            EqualTo("password", "The two passwords are not the same. Type them again."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class NewPasswordForm(FlaskForm):
    password = _new_password_field()
    confirm_password = _confirm_field()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password_field()
    confirm_password = _confirm_field()


# Two-factor sign-in. A code is six numbers from the app, or a recovery code ("abcde-fghjk").
def _code_field(label: str = "Code from your authenticator app") -> StringField:
    return StringField(
        label,
        validators=[DataRequired("Enter the code."), Length(max=40, message="Enter the code.")],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"},
    )


class TwoFactorSignInForm(FlaskForm):
    code = _code_field()


class TwoFactorSetupForm(FlaskForm):
    # The new secret, signed by the server (it is also shown on the page for typing).
    setup_token = HiddenField(validators=[DataRequired("Start again: the page was out of date.")])
    code = _code_field("Code from your app")


class TwoFactorCodeForm(FlaskForm):
    code = _code_field()


class TwoFactorOffForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field()
