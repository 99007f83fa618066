"""``python -m ptm_lib.pretrain OBJECTIVE [options]``: see :mod:`ptm_lib.pretrain`."""

from . import main

if __name__ == "__main__":
    main()
