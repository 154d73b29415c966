"""Benchmark: a TikTok Shop sync of 10 000 SKUs against the loopback TikTok server.

    python bench/tiktok_bench.py [--skus 10000] [--warehouses 2] [--max-qps 50]

Builds a catalogue of N products with one SKU each, stocked in W warehouses, then reads
it with `read_shop_stock` (the real client, real signing, real HTTP over loopback) and
prints the API calls per path and the seconds taken, twice:

  at --max-qps   the client's limiter at TikTok's 50 QPS per API: what a real sync
                 costs at best (the limiter, not the network, sets the pace);
  unthrottled    the limiter out of the way: the client's and server's own cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `bot` and `tests` importable
    sys.path.insert(0, str(REPO_ROOT))

from bot.sources.tiktok import ShopConfig, TikTokConfig, TikTokShopClient, read_shop_stock  # noqa: E402
from tests import tiktok_server as tts  # noqa: E402
from tests.tiktok_server import TikTokShopServer  # noqa: E402


def build_server(skus: int, warehouses: int) -> TikTokShopServer:
    server = TikTokShopServer().start()
    ids = [server.add_warehouse(f"WH{n}") for n in range(1, warehouses + 1)]
    for n in range(skus):
        server.add_product(f"SKU-{n:06d}", {wid: (n * 7 + i) % 500 for i, wid in enumerate(ids)})
    return server


def sync_once(server: TikTokShopServer, max_qps: int) -> tuple[int, float]:
    config = TikTokConfig(app_key=tts.APP_KEY, app_secret=tts.APP_SECRET, api_url=server.url, auth_url=server.url)
    shop = ShopConfig("bench", tts.SHOP_CIPHER, access_token=server.access_token, refresh_token=server.refresh_token)
    client = TikTokShopClient(config, shop, max_qps=max_qps)
    server.reset_counts()
    started = time.perf_counter()
    rows = read_shop_stock(client)
    return len(rows), time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--warehouses", type=int, default=2)
    parser.add_argument("--max-qps", type=int, default=50)
    args = parser.parse_args(argv)

    server = build_server(args.skus, args.warehouses)
    try:
        print(f"TikTok sync of {args.skus} SKUs x {args.warehouses} warehouses against the loopback server")
        for label, qps in ((f"at {args.max_qps} QPS per API", args.max_qps), ("unthrottled", 1_000_000)):
            rows, seconds = sync_once(server, qps)
            calls = dict(sorted(server.counts.items()))
            print(f"\n{label}: {rows} stock rows in {seconds:.2f} s, {sum(calls.values())} API calls")
            for path, count in calls.items():
                print(f"  {count:6d}  {path}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
