"""Suite-wide test settings.

Hypothesis: under CI (``CI`` set, as ``.ci/run`` runs) the property and fuzz tests draw the same examples every run
(``derandomize``), so a landing is judged on a fixed, reviewed set of cases; on a developer's machine they keep
exploring new random examples and the database replays any failure found. Run
``HYPOTHESIS_PROFILE=explore pytest`` to explore under CI too.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "explore"))
