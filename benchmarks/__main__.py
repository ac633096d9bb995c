"""Run every ``benchmarks/bench_*.py`` module's ``main()`` (or the ones named on the command
line: ``python -m benchmarks fetch datasets``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [f"bench_{a}" for a in argv] or names
    for name in wanted:
        if name not in names:
            raise SystemExit(f"no benchmark {name!r}; have: {', '.join(names)}")
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
