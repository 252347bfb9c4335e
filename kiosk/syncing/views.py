"""The staff console's sync page, nested under the guarded ``/staff`` blueprint.

``GET /staff/sync``: the status panel (an htmx partial that refreshes itself) and, for
managers, the form that sets the HQ address, site id, key id and key once. ``POST
/staff/sync/now`` wakes the worker. The key is never shown back, not even in part.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from sync.state import (
    check_settings,
    effective_settings,
    load_saved_settings,
    overridden,
    save_settings,
)

from .. import permissions
from ..extensions import get_store, htmx
from ..staff.auth import current_staff, permission_required
from .runner import get_worker

log = logging.getLogger(__name__)

bp = Blueprint("sync", __name__, url_prefix="/sync")

FIELDS = ("hq_url", "site_id", "key_id", "key")
#: The id of the self-refreshing panel (its polls must not keep a staff session alive).
PANEL_ID = "sync-panel"


def _render(errors: dict | None = None, form: dict | None = None, status: int = 200):
    worker = get_worker()
    form = form if form is not None else worker.settings.public()
    return render_template("sync/index.html", status=worker.status(), errors=errors or {},
                           form=form, site_id=get_store().site_id,
                           can_configure=permissions.may(current_staff()["role"], "configure_sync"),
                           overridden=overridden(current_app.config)), status


@bp.get("")
def panel():
    """The sync status; only the panel when its own poll asks."""
    if htmx.trigger == PANEL_ID:
        return render_template("sync/_panel.html", status=get_worker().status())
    return _render()


@bp.post("/now")
def now():
    """Try to send at once, whatever the retry timer says."""
    get_worker().wake()
    flash(gettext("Sending now. The status below updates by itself."))
    return redirect(url_for(".panel"), 303)


@bp.post("/settings")
@permission_required("configure_sync")
def settings():
    """Save the connection to HQ (managers only); a blank key keeps the saved key."""
    store = get_store()
    form = {k: request.form.get(k, "")[:300] for k in FIELDS}
    new, errors = check_settings(form, store.site_id, load_saved_settings(store.folder))
    if errors:
        form.pop("key")  # never echo a secret back into the page
        return _render(errors, form, 422)
    save_settings(store.folder, new)
    staff = current_staff()
    log.info("sync settings saved by %s (%s): HQ %s, key id %s", staff["name"], staff["id"],
             new.hq_url, new.key_id)
    get_worker().configure(effective_settings(store.folder, current_app.config))
    flash(gettext("Sync settings saved."))
    return redirect(url_for(".panel"), 303)
