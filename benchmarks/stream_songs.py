"""The song handed to each BarEvent: all bars so far decoded again (before the engine split) vs
:class:`~emostudio.tokens.window.SongBuilder` (only the new bar decoded).

    .venv/bin/python benchmarks/stream_songs.py ../shared/data/pop909/875.mid --bars 256

Tokenises the MIDI file, repeats its bars up to ``--bars`` bars and times, for every prefix of
1..bars bars, the song a streamed generation hands on: the former way (``Tokenizer.decode`` of all
bars so far, then ``clip_to_bars``) and the SongBuilder's. Prints the median of ``--repeats`` runs of
each and checks that both give the same songs. No model is involved.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("midi")
    p.add_argument("--bars", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import numpy as np

    from emostudio.midi import read_midi
    from emostudio.tokens import Tokenizer, TokenizerConfig
    from emostudio.tokens.window import SongBuilder, clip_to_bars

    tokenizer = Tokenizer(TokenizerConfig())
    song = read_midi(args.midi)
    bars = (tokenizer.encode_bars(song, song.n_bars) * -(-args.bars // song.n_bars))[: args.bars]
    print(
        f"{args.midi}: {song.n_bars} bars, repeated to {len(bars)} bars, "
        f"{sum(map(len, bars))} tokens"
    )

    def whole() -> list:
        return [
            clip_to_bars(tokenizer.decode(np.concatenate(bars[:n])).song, n)
            for n in range(1, len(bars) + 1)
        ]

    def incremental() -> list:
        builder, out = SongBuilder(tokenizer), []
        for bar in bars:
            builder.add(bar)
            out.append(builder.song())
        return out

    results = {}
    for name, run in (("all bars so far decoded", whole), ("SongBuilder", incremental)):
        seconds = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            results[name] = run()
            seconds.append(time.perf_counter() - t0)
        print(
            f"{name}: median {statistics.median(seconds):.3f} s for {len(bars)} BarEvents "
            f"(min {min(seconds):.3f})"
        )
    print("same songs:", results["all bars so far decoded"] == results["SongBuilder"])


if __name__ == "__main__":
    main()
