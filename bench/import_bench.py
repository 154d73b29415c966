"""Benchmark: reading a 100 000-row stock export (CSV and XLSX) with bot.sources.files.

    python bench/import_bench.py [--rows 100000] [--repeat 3]

Generates, in a temporary folder, the same stock table as
  * a UTF-8 CSV with a BOM and English headers (Excel's "CSV UTF-8"),
  * a GBK CSV with Chinese headers (Chinese Excel's "CSV"), which takes the decoding
    fallback path, and quantities written as "1,400" so the slow number path is timed too,
  * an XLSX workbook (openpyxl write-only),
then times read_stock_file (strict, the scheduled source) and import_stock_file
(lenient, a file dropped into Slack) on each, best of --repeat runs.

Target (issue): a 100 000-row CSV import in under 3 s. XLSX is reported as measured:
openpyxl parses the sheet XML cell by cell and is several times slower than CSV.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `bot` importable
    sys.path.insert(0, str(REPO_ROOT))

from bot.sources.files import import_stock_file, read_stock_file  # noqa: E402

TARGET_CSV_SECONDS = 3.0
ENGLISH = ["Seller SKU", "Available", "Warehouse", "Product Name", "In Transit", "Price"]
CHINESE = ["商品编码", "可用库存", "仓库", "商品名称", "在途库存", "价格"]


def table(rows: int, seed: int = 7) -> list[list]:
    rng = random.Random(seed)
    warehouses = ["深圳仓", "US-WEST", "EU-DE"]
    return [[f"SKU-{index:07d}", rng.randint(-5, 5000), warehouses[index % 3], f"连衣裙 Dress {index % 997}",
             rng.choice([0, 50, 200]), round(rng.uniform(1, 200), 2)] for index in range(rows)]


def write_csv(path: Path, header: list[str], data: list[list], encoding: str, grouped: bool = False) -> None:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in data:
            writer.writerow([f"{row[1]:,}" if grouped and i == 1 else value for i, value in enumerate(row)]
                            if grouped else row)


def write_xlsx(path: Path, header: list[str], data: list[list]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Stock")
    sheet.append(header)
    for row in data:
        sheet.append(row)
    workbook.save(path)


def best_of(repeat: int, run: Callable[[], int]) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = run()
        best = min(best, time.perf_counter() - started)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = table(args.rows)
    with tempfile.TemporaryDirectory(prefix="stockbot-import-bench-") as folder:
        files = {
            "CSV UTF-8": Path(folder) / "stock.csv",
            "CSV GBK, 1,400": Path(folder) / "stock-gbk.csv",
            "XLSX": Path(folder) / "stock.xlsx",
        }
        started = time.perf_counter()
        write_csv(files["CSV UTF-8"], ENGLISH, data, "utf-8-sig")
        write_csv(files["CSV GBK, 1,400"], CHINESE, data, "gbk", grouped=True)
        write_xlsx(files["XLSX"], ENGLISH, data)
        print(f"generated {args.rows:,} rows x 3 files in {time.perf_counter() - started:.1f} s "
              f"({', '.join(f'{name}: {path.stat().st_size / 1e6:.1f} MB' for name, path in files.items())})")
        print(f"{'file':<16}{'mode':<10}{'seconds':>9}{'rows/s':>12}  check")
        failed = False
        for name, path in files.items():
            for mode, run in (("strict", lambda p=path: len(read_stock_file(str(p)).rows)),
                              ("lenient", lambda p=path: len(import_stock_file(str(p)).rows))):
                seconds, count = best_of(args.repeat, run)
                assert count == args.rows, f"{name} {mode}: read {count} rows, expected {args.rows}"
                verdict = ""
                if name.startswith("CSV"):
                    ok = seconds * 100_000 / args.rows < TARGET_CSV_SECONDS
                    failed |= not ok
                    verdict = f"{'ok' if ok else 'SLOW'} (target < {TARGET_CSV_SECONDS:.0f} s per 100 000 rows)"
                print(f"{name:<16}{mode:<10}{seconds:>9.2f}{count / seconds:>12,.0f}  {verdict}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
