import sys

from fednids.cli import main

sys.exit(main())
