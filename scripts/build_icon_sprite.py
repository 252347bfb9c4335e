"""Build static/vendor/lucide/icons.svg, the one SVG sprite of the icons FrontDesk shows.

The icons are Lucide's (https://lucide.dev, ISC licence), taken from the npm package
``lucide-static``. Only the icons listed in ``ICONS`` go into the sprite; a page shows one
with the ``icon(name)`` macro of templates/macros.html (``<svg><use href="...#name">``).
To add an icon: add its Lucide name here, rebuild, use it. tests/test_icons.py checks
that the sprite holds exactly the icons the templates and ``Category.icon`` use.

Rebuild (npm is needed only here, never in the repository or at run time):

    cd /tmp && npm install --no-save lucide-static@1.62.0
    python3 scripts/build_icon_sprite.py /tmp/node_modules/lucide-static

It also copies the package's LICENSE next to the sprite.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "vendor" / "lucide"

#: Lucide name -> where FrontDesk shows it.
ICONS = {
    "wrench": "category tile: repair; spot-checking a department's repairs",
    "megaphone": "category tile: complaint",
    "message-circle-question-mark": "category tile: inquiry",
    "lightbulb": "category tile: suggestion",
    "siren": "category tile: emergency; the queue's alarm badge; the escalation chain; "
             "staff menu: emergencies",
    "notepad-text": "category tile: other",
    "phone": "staff menu: phone call",
    "person-standing": "staff menu: walk-in",
    "map-pin": "the start screen's place notice; a technician's arrival at a place",
    "users": "departments: the list of departments",
    "printer": "ticket page: the printed work order and complaint record",
    "heart-handshake": "ticket page: the apology or thanks when confirming a complaint",
}

#: What every symbol draws with (Lucide's defaults, on the <svg> root of each icon file).
STROKE = ('fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
          'stroke-linejoin="round"')


def symbol(name: str, svg: str) -> str:
    """Return the <symbol> of one Lucide icon file's text."""
    root = re.search(r"<svg\b([^>]*)>(.*)</svg>", svg, re.S)
    if not root or 'viewBox="0 0 24 24"' not in root.group(1):
        raise SystemExit(f"{name}: not a 24x24 Lucide icon")
    shapes = [line.strip() for line in root.group(2).strip().splitlines() if line.strip()]
    body = "\n    ".join(shapes)
    return f'  <symbol id="{name}" viewBox="0 0 24 24" {STROKE}>\n    {body}\n  </symbol>'


def build(package: Path) -> str:
    """Return the sprite's text, made from the icon files of ``package`` (lucide-static)."""
    meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    symbols = [symbol(name, (package / "icons" / f"{name}.svg").read_text(encoding="utf-8"))
               for name in sorted(ICONS)]
    return ("<!-- Lucide icons from lucide-static " + meta["version"] + " (" + meta["license"]
            + ", see LICENSE); only the icons FrontDesk uses.\n"
            + "     Built by scripts/build_icon_sprite.py: do not edit by hand. -->\n"
            + '<svg xmlns="http://www.w3.org/2000/svg">\n' + "\n".join(symbols) + "\n</svg>\n")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    package = Path(argv[0])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icons.svg").write_text(build(package), encoding="utf-8")
    shutil.copyfile(package / "LICENSE", OUT / "LICENSE")
    print(f"wrote {OUT / 'icons.svg'} ({len(ICONS)} icons)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
