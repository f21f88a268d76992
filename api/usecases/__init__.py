"""The use-case layer: one module per use case that crosses domains, each a typed command (a
frozen dataclass) handled over a unit of work opened through :class:`~api.usecases.services.
Services`. The adapters (``api/routes``, ``api/web``, ``api/cli.py``) only translate to and
from them; only the unit of work commits. The README's "Architecture" section maps each use
case to its callers."""
