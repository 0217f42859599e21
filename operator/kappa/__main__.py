"""Make ``python -m kappa`` behave exactly like the ``kappa`` console script."""

from kappa.cli import main

raise SystemExit(main())
