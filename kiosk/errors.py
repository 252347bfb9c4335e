"""Friendly error pages in the visitor's language; never a stack trace."""
from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from common.messages import N_

MESSAGES = {
    400: (N_("Something in that request was not right"),
          N_("Please go back and try again.")),
    404: (N_("We could not find that page"),
          N_("The link may be mistyped or out of date.")),
    405: (N_("That cannot be done here"), N_("Please go back and try again.")),
    413: (N_("That was too much to send"),
          N_("Please shorten what you typed and try again.")),
    429: (N_("Please wait a moment"),
          N_("Too many entries were sent from this device just now. What you typed is kept: "
             "please try again in a few minutes.")),
    500: (N_("Sorry, something went wrong on our side"),
          N_("Please try again, or ask at the front desk.")),
}
CSRF_MESSAGE = (N_("This page has expired"),
                N_("For your safety the form was not sent. Please go back, reload the page "
                   "and send it again."))


def render_error(status: int, title: str, message: str):
    """Render the error page with ``status``."""
    return render_template("errors/error.html", status=status, title=title,
                           message=message), status


def register_errorhandlers(app: Flask) -> None:
    """Answer every error with the friendly page."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, *CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        title, message = MESSAGES.get(code, MESSAGES[400 if code < 500 else 500])
        return render_error(code, title, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return http_error(InternalServerError())
