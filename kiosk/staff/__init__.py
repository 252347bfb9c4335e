"""Staff mode: sign-in (``auth``), accounts, the console and the manager's team page.

``blueprints.py`` nests every staff page under the guarded ``/staff`` blueprint.
"""
