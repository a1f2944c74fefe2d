"""Views for registering, logging in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from daydream.auth import bp
from daydream.auth.forms import LoginForm, RegisterForm
from daydream.services import users
from daydream.services.ratelimit import login_limiter


def safe_next(target: str | None) -> str | None:
    """Accept only a same-site path for the post-login redirect (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an account and log it in."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    if not current_app.config["SIGNUPS_OPEN"]:
        abort(403, "Sign-ups are closed on this server. Ask the operator for an account.")
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(
                form.email.data, form.password.data, username=form.username.data
            )
        except users.AccountError as error:
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            users.start_session(user)
            login_user(user)
            flash(f"Welcome to Daydream! You have {user.tokens} credits to start.", "success")
            return redirect(url_for("studio.index"))
    status = 400 if form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with email and password; one generic message for every failure."""
    if current_user.is_authenticated:
        return redirect(url_for("studio.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        wait = login_limiter().hit((users.normalize_email(form.email.data), request.remote_addr))
        if wait:
            flash(f"Too many login attempts. Try again in {wait} seconds.", "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            flash("Wrong email or password.", "error")
            status = 401
        else:
            users.start_session(user)
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("studio.index"))
    elif form.errors:
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST only, so a link cannot log someone out)."""
    from daydream.services.events import disconnect_user

    # A socket keeps its connect-time session; close it so it stops receiving events.
    disconnect_user(current_user.id)
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("pages.landing"))
