"""The shared kernel: the little every package may import (none of it imports ours).

``kernel.errors``: the one base of every refusal kyso raises, with a stable code and typed
fields; ``kernel.vietnam``: Vietnam's time zone, in which people read every time kyso shows.
"""
