"""Train and measure the learned act check: P(an agent turn only talks about an action instead of doing it).

Data: the project's act corpus ``corpora/acts/`` (telecom, e-commerce, insurance, utilities, airlines, IT, public
services...; banking, hotels, doctors and complaints are deliberately absent). Measured three ways:

- leave-one-domain-out on the corpus: AUROC, and at each threshold the share of performances flagged (a false
  alarm costs recall) and of non-performances caught, over all turns and over the turns the act cues read as a
  plain performance (the only turns the model is asked about);
- the threshold: the lowest one whose leave-one-domain-out false-alarm rate on cue-plain performances stays at or
  below ``--max-false-alarm`` (default 5 %);
- the near-miss benchmark (``bench/near_miss.py``: banking, hotel, doctor and complaint calls, none of the corpus's
  domains), audited with the cues alone and with the cues plus the model.

``--write`` saves the model to ``auditor/models/act-model/`` (skops, folded numbers, metadata, model card) and the
tables to the "act-model" section of docs/benchmarks.md.

    HF_HUB_OFFLINE=1 python -m bench.act_model [--write] [--max-false-alarm 0.05]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import yaml

from auditor.detection.act_model import PERFORMING, ActModel, fit_act_model
from auditor.detection.acts import read_text
from auditor.model_files import ACT_MODEL
from auditor.text.normalise import normalise_text
from bench.report import replace_section

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "acts"
LANGS = ("en", "zh-Hans", "zh-Hant")
COMMAND = "python -m bench.act_model --write"


@dataclass
class Corpus:
    texts: list[str]
    acts: list[str]
    domains: list[str]
    langs: list[str]

    @property
    def talks(self) -> np.ndarray:
        """1 where the turn only talks about the action (every act but a performance)."""
        return np.asarray([act not in PERFORMING for act in self.acts], dtype=int)

    @property
    def cue_plain(self) -> np.ndarray:
        """True where the act cues read every clause as a plain performance (or a question)."""
        return np.asarray(
            [all(r.act in ("performed", "asked") or r.scope is not None for r in read_text(t)) for t in self.texts]
        )


def load_corpus(folder: Path = CORPUS) -> Corpus:
    texts, acts, domains, langs = [], [], [], []
    for lang in LANGS:
        for row in yaml.safe_load((folder / f"{lang}.yaml").read_text(encoding="utf-8")):
            texts.append(row["text"])
            acts.append(row["act"])
            domains.append(row["domain"])
            langs.append(lang)
    return Corpus(texts, acts, domains, langs)


def leave_one_domain_out(corpus: Corpus, vectors: np.ndarray, embedder_name: str) -> np.ndarray:
    """Out-of-domain P(talks about it) for every corpus line."""
    out = np.zeros(len(corpus.texts))
    domains = np.asarray(corpus.domains)
    for domain in sorted(set(corpus.domains)):
        held = domains == domain
        model = fit_act_model(
            vectors[~held],
            [a for a, h in zip(corpus.acts, held, strict=True) if not h],
            embedder=embedder_name,
            threshold=0.5,
            trained_on="fold",
            created="fold",
        )
        out[held] = model.probabilities(vectors[held])
    return out


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def choose_threshold(scores: np.ndarray, talks: np.ndarray, plain: np.ndarray, max_false_alarm: float) -> float:
    """The lowest threshold whose false-alarm rate on cue-plain performances is at most ``max_false_alarm``."""
    performed = scores[(talks == 0) & plain]
    for threshold in np.round(np.arange(0.30, 0.99, 0.01), 2):
        if performed.size and float(np.mean(performed >= threshold)) <= max_false_alarm:
            return float(threshold)
    return 0.99


def threshold_table(scores: np.ndarray, corpus: Corpus, plain: np.ndarray) -> str:
    talks = corpus.talks
    rows = [
        "| threshold | performances flagged (cue-plain) | talk caught (cue-plain) | talk caught (all) |",
        "|---|---|---|---|",
    ]
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        flagged = scores >= threshold
        rows.append(
            f"| {threshold:.1f} | {np.mean(flagged[(talks == 0) & plain]):.3f} | "
            f"{np.mean(flagged[(talks == 1) & plain]):.3f} | {np.mean(flagged[talks == 1]):.3f} |"
        )
    return "\n".join(rows)


def per_act_table(scores: np.ndarray, corpus: Corpus, plain: np.ndarray, threshold: float) -> str:
    rows = ["| act | lines | cue-plain | flagged by the model (cue-plain) |", "|---|---|---|---|"]
    acts = np.asarray(corpus.acts)
    for act in sorted(set(corpus.acts)):
        chosen = (acts == act) & plain
        share = f"{np.mean(scores[chosen] >= threshold):.3f}" if chosen.any() else "-"
        rows.append(f"| {act} | {int(np.sum(acts == act))} | {int(chosen.sum())} | {share} |")
    return "\n".join(rows)


def near_miss_rows(embedder) -> list[str]:  # type: ignore[no-untyped-def]
    from bench.near_miss import CREDITED, load_cases, measure

    cases = load_cases()
    rows = [
        "| act check | SOP | near misses credited | uncertain | performances credited | uncertain |",
        "|---|---|---|---|---|---|",
    ]
    for learned in (False, True):
        run = measure(cases, embedder, noise=False, learned_acts=learned)
        for sop_lang in ("en", "zh"):
            chosen = [o for o in run.outcomes if o.sop_lang == sop_lang]
            near = [o for o in chosen if o.variant.kind != "perform"]
            perf = [o for o in chosen if o.variant.kind == "perform"]
            cells = [
                np.mean([o.status in CREDITED for o in near]),
                np.mean([o.status == "uncertain" for o in near]),
                np.mean([o.status in CREDITED for o in perf]),
                np.mean([o.status == "uncertain" for o in perf]),
            ]
            name = "cues + act model" if learned else "cues only"
            rows.append(f"| {name} | {sop_lang} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return rows


def model_card(corpus: Corpus, threshold: float, metrics: dict[str, float], embedder_name: str) -> str:
    counts = {lang: corpus.langs.count(lang) for lang in LANGS}
    return f"""# Act model

P(an agent turn only talks about an action instead of doing it): a scaled logistic regression over the turn's
`{embedder_name}` embedding. The act check asks it about evidence turns the cue words read as a plain performance;
at or above the threshold ({threshold:.2f}) the step is left `uncertain` (a person decides) with the probability
as the reason.

- Trained on: `corpora/acts/` (written by the project): {sum(counts.values())} agent turns ({counts['en']} en,
  {counts['zh-Hans']} zh-Hans, {counts['zh-Hant']} zh-Hant) in {len(set(corpus.domains))} service domains; label
  1 for every act but `performed`.
- Leave-one-domain-out AUROC {metrics['auroc']:.3f} (cue-plain turns {metrics['auroc_plain']:.3f}); at the
  threshold, performances flagged {metrics['false_alarm']:.3f}, talk caught {metrics['caught']:.3f} (cue-plain).
- Not trained on banking, hotel, doctor or complaint calls: the near-miss benchmark measures it there.
- Made by `{COMMAND}` on {date.today().isoformat()}. Files load with skops and an explicit list of trusted types.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="save auditor/models/act-model, update docs/benchmarks.md")
    parser.add_argument("--max-false-alarm", type=float, default=0.05)
    parser.add_argument("--no-near-miss", action="store_true", help="skip the near-miss comparison")
    args = parser.parse_args()
    from auditor.embeddings.provider import make_embedder

    embedder = make_embedder("use-m")
    corpus = load_corpus()
    vectors = embedder.encode([normalise_text(text) for text in corpus.texts])
    plain = corpus.cue_plain
    scores = leave_one_domain_out(corpus, vectors, embedder.name)
    talks = corpus.talks
    threshold = choose_threshold(scores, talks, plain, args.max_false_alarm)
    metrics = {
        "auroc": auroc(scores, talks),
        "auroc_plain": auroc(scores[plain], talks[plain]),
        "false_alarm": float(np.mean(scores[(talks == 0) & plain] >= threshold)),
        "caught": float(np.mean(scores[(talks == 1) & plain] >= threshold)),
        "threshold": threshold,
    }
    lines = [
        f"Act corpus: {len(corpus.texts)} agent turns, {len(set(corpus.domains))} domains; "
        f"{int(plain.sum())} read by the cues as a plain performance or question.",
        "",
        f"Leave-one-domain-out AUROC {metrics['auroc']:.3f} (all turns), {metrics['auroc_plain']:.3f} (cue-plain "
        f"turns); chosen threshold {threshold:.2f} (false alarms on cue-plain performances <= "
        f"{args.max_false_alarm:.0%}).",
        "",
        threshold_table(scores, corpus, plain),
        "",
        "Per act at the chosen threshold (leave-one-domain-out):",
        "",
        per_act_table(scores, corpus, plain, threshold),
    ]
    model: ActModel = fit_act_model(
        vectors,
        corpus.acts,
        embedder=embedder.name,
        threshold=threshold,
        trained_on=f"corpora/acts: {len(corpus.texts)} turns, {len(set(corpus.domains))} domains",
        created=date.today().isoformat(),
    )
    model.metadata.metrics = metrics
    if args.write:
        model.save(ACT_MODEL.folder(), model_card(corpus, threshold, metrics, embedder.name))
        print(f"saved {ACT_MODEL.folder()}")
    if not args.no_near_miss:
        if not args.write:
            print("(near-miss comparison uses the saved model in auditor/models/act-model; --write refreshes it)")
        lines += ["", "Near-miss benchmark (held-out domains), clean turns:", "", *near_miss_rows(embedder)]
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section("act-model", COMMAND, text)


if __name__ == "__main__":
    main()
