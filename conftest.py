"""pytest's collection: the web page's module needs gradio (the ``ui`` extra), which a core
install does not have; ``make test`` installs it, so there the page is collected too."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("gradio") else ["src/deepprior/web/page.py"]
