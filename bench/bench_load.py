"""`%load_ext gladier_jupyter` cost in a fresh IPython, next to `import gladier` alone.

Run: .venv/bin/python bench/bench_load.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import median_ms, report, time_fresh_process


def main(repeat: int = 15) -> None:
    load = time_fresh_process(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "_s = _t.perf_counter()\n"
        "sh.run_line_magic('load_ext', 'gladier_jupyter')\n"
        "import sys as _sys\n"
        "assert 'gladier' not in _sys.modules and 'globus_compute_sdk' not in _sys.modules\n",
        repeat,
    )
    gladier = time_fresh_process("import gladier\n", repeat)
    report("%load_ext gladier_jupyter (fresh process)", load, target_ms=150)
    report("import gladier (fresh process, for scale)", gladier)
    print(f"ratio import gladier / load_ext: {median_ms(gladier) / median_ms(load):.1f}x")


if __name__ == "__main__":
    main()
