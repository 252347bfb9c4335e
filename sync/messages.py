"""The sync worker's problems in plain words (English msgids; pages translate them).

The worker stores a problem as ``{"text": msgid, "params": {...}}`` in ``data/sync.json``;
``sync status`` prints it in English, the staff console translates it.
"""
from common.messages import N_

ALARMS = {
    400: N_("HQ refused our data as malformed (400): tell your IT contact. Nothing is lost; "
            "the kiosk keeps every record."),
    401: N_("HQ could not verify our signature (401): the site key saved here is wrong; "
            "ask HQ for the key and enter it again."),
    403: N_("HQ refused our key (403): ask HQ to check the site key and the site id."),
    409: N_("HQ holds different records with the same numbers (409, from record %(seq)s): "
            "ask HQ to compare this site's records. Nothing is overwritten."),
    422: N_("HQ refused a record as malformed (422): tell your IT contact. Nothing is lost; "
            "the kiosk keeps every record."),
}
#: A 422 signed by HQ: it names the record and what is wrong with it.
MALFORMED = N_("HQ refuses record %(seq)s as malformed (422: %(detail)s): tell your IT "
               "contact. Nothing is lost; the kiosk keeps every record.")
SITE_MISMATCH = N_("The sync settings are for site %(configured)s, but this kiosk is site "
                   "%(site)s: correct the settings.")
LOG_UNREADABLE = N_("This kiosk's own record log could not be read (%(detail)s): run "
                    "python run.py verify.")
NOT_CONFIGURED = N_("Sync is not set up: a manager enters the HQ address and key.")
UNKNOWN = {
    "unreachable": N_("HQ cannot be reached: no network, or HQ is down. Retrying."),
    "timeout": N_("HQ did not answer in time. Retrying."),
    "truncated": N_("HQ's answer was cut off. Retrying."),
    "unverified": N_("The answer did not come from HQ (not signed): a network sign-in page or "
                     "a proxy may be in the way. Retrying."),
    "busy": N_("HQ asked us to wait (429). Retrying later."),
    "server": N_("HQ had a problem (%(status)s). Retrying."),
    "status": N_("HQ answered with an unexpected status (%(status)s): check the HQ address. "
                 "Retrying."),
    "save": N_("The sync mark could not be saved (%(detail)s). Retrying."),
    "internal": N_("Sync stopped on an unexpected error (%(detail)s). Retrying."),
}
