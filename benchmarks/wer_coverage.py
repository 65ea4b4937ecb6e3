"""Coverage of a group's WER interval when a speaker's utterances are correlated: assay's speaker-level (cluster) bootstrap
against a row-level bootstrap, side by side, on real text edited at each speaker's own error rate.

Usage: python benchmarks/wer_coverage.py [--sims 200] [--speakers 30] [--utterances 20]

Each simulation draws speakers whose word error rate comes from Beta(2, 18) (mean 0.1); each utterance is 10 words of a small
vocabulary, each word substituted with the speaker's rate (an independent substitution per word). The truth is 0.1; each
interval (95%, 400 replicates) is scored by whether it holds it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from assay.tasks import by_group

WORDS = "the a cat dog sat ran on under mat log house tree river bank money stone".split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--speakers", type=int, default=30)
    ap.add_argument("--utterances", type=int, default=20)
    args = ap.parse_args()
    covered = {"speaker": 0, "row": 0}
    t = time.perf_counter()
    for s in range(args.sims):
        rng = np.random.default_rng(900 + s)
        rate = np.repeat(rng.beta(2, 18, args.speakers), args.utterances)
        ref = rng.choice(WORDS, (len(rate), 10))
        swap = rng.random(ref.shape) < rate[:, None]
        hyp = np.where(swap, "zzz", ref)  # a substitution: a word the vocabulary does not have
        frame = pd.DataFrame({"ref": [" ".join(r) for r in ref], "hyp": [" ".join(h) for h in hyp], "speaker": np.repeat(np.arange(args.speakers), args.utterances),
                              "g": "all"})  # fmt: skip
        for unit, key in (("speaker", "speaker"), (None, "row")):
            lo, hi = by_group(frame, metric="wer", group="g", reference="ref", hypothesis="hyp", unit=unit, replicates=400, seed=s).overall["ci"]
            covered[key] += lo <= 0.1 <= hi
    n = args.sims
    print(f"{n} simulations, {args.speakers} speakers x {args.utterances} utterances of 10 words, speaker WER ~ Beta(2, 18)")
    print(f"95% interval covers the true WER: speaker-level bootstrap {covered['speaker'] / n:.1%}, row-level bootstrap {covered['row'] / n:.1%} "
          f"({time.perf_counter() - t:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
