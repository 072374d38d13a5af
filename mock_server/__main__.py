"""`python -m mock_server` is `coverbase-mock`."""

from .cli import main

raise SystemExit(main())
