"""The composition root: settings, database, the use cases, the FastAPI app, the web pages and
the ``kyso`` command line."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

# pyHanko imports cryptography's DSA key type, which cryptography deprecates: not ours to act
# on, and not for the command line's one clear error line.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"pyhanko\.")
warnings.filterwarnings(  # the same warning, wherever an import chain attributes it
    "ignore", message=r"DSA is deprecated", category=CryptographyDeprecationWarning
)
