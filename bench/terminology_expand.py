"""Benchmark ICD-10 autocompletion: load time, then p50/p95/p99 of ValueSet/$expand over realistic typing.

Every query is replayed keystroke by keystroke (as an autocompletion box sends it), with codes, Russian and
English words, several words, typos and the wrong keyboard layout. Run: `python bench/terminology_expand.py`.
"""

from __future__ import annotations

import statistics
import time

# What doctors type; each is sent for every prefix of 2+ characters ("ги", "гип", ... "гипертония").
TYPED = [
    "гипертония", "гипертензия", "артериальная гипертензия", "сахарный диабет 2 типа", "диабет 1 типа",
    "бронхиальная астма", "астма", "орви", "острый бронхит", "пневмония", "внебольничная пневмония",
    "хобл", "ибс стенокардия", "инфаркт миокарда", "инсульт", "фибрилляция предсердий",
    "сердечная недостаточность",
    "остеохондроз", "боль в спине", "дорсалгия", "гастрит", "язва желудка", "панкреатит", "холецистит",
    "цистит", "пиелонефрит", "мочекаменная", "простатит", "беременность", "анемия", "гипотиреоз",
    "ожирение", "депрессия", "тревожное расстройство", "мигрень", "головная боль", "сотрясение мозга",
    "перелом лучевой кости", "ушиб коленного сустава", "растяжение связок", "конъюнктивит", "отит",
    "тонзиллит", "ринит", "синусит", "дерматит", "крапивница", "ковид", "грипп", "ветряная оспа",
    "диспансеризация", "гипертензя", "диабед", "пневмани", "астмв", "бронхт",
    "hypertension", "diabetes mellitus", "asthma", "pneumonia", "fracture of radius", "migraine",
    "fcnvf", "ubgthnjybz",
    "I10", "i11.9", "J45.0", "j450", "E11.9", "Ш10", "к29.5", "M54.5", "J06.9", "Z00.0", "S52.5", "U07.1",
]  # fmt: skip


def requests() -> list[str]:
    out: list[str] = []
    for text in TYPED:
        out.extend(text[:n] for n in range(2, len(text) + 1) if not text[:n].endswith(" "))
    return out


def _timed(queries: list[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per request: on a shared machine the CPU time shows the code's own cost."""
    from medcity import terminology

    wall: list[float] = []
    cpu: list[float] = []
    for q in queries:
        w, c = time.perf_counter(), time.process_time()
        terminology.expand(terminology.VALUE_SET_URL, filter=q, count=20)
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def _line(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"{name}: n={len(ms)} p50={q[49]:.2f} p95={q[94]:.2f} p99={q[98]:.2f} max={max(ms):.2f} ms"


def main() -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    from medcity import terminology

    terminology.warm()
    load_wall, load_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"load (import, catalogue, index, morphology, typo table): wall {load_wall * 1000:.0f} ms, ", end="")
    print(f"cpu {load_cpu * 1000:.0f} ms")
    queries = requests()
    first_wall, first_cpu = _timed(queries)
    # The same requests again, as the next doctor types them (per-word caches now warm).
    again_wall, again_cpu = _timed(queries)
    print(_line("first pass, wall", first_wall))
    print(_line("first pass, cpu ", first_cpu))
    print(_line("repeated,   wall", again_wall))
    print(_line("repeated,   cpu ", again_cpu))


if __name__ == "__main__":
    main()
