"""Start FrontDesk: ``python run.py`` serves the kiosk; ``python run.py --help`` lists commands."""
from frontdesk.cli import main

if __name__ == "__main__":
    main()
