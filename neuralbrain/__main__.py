import sys

from neuralbrain.cli import main

sys.exit(main())
