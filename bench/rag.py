"""RAG lab timings and SmolLM2's scores on this machine.

1. Index of the shipped corpus (handbook + biography + lessons): chunking, embedding and faiss build time, size,
   and the saved index's load time.
2. A 50,000-chunk text corpus generated here (template sentences), embedded with MiniLM: build time and size of
   the exact index and HNSW, query latency (median of 200 single queries) and HNSW recall@10 against exact.
3. Retrieval on the 30 shipped questions: recall@k and MRR for several chunk sizes.
4. Answers: with and without retrieval (both prompt layouts), time per answer and share whose text contains the
   gold answer; the calculator (program-aided) against answering alone on the 20 arithmetic problems; the
   injection demo's three answers; the ReAct loop on the three shipped questions.

Usage: .venv/bin/python -m bench.rag [--chunks N, default 50000] [--quick: skip the 50,000-chunk corpus]
"""
from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core.labs.rag_applications import answering, chunking, documents, index, injection, retrieval, tools
from core.serving.model_service import ModelService
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings

WORDS = ("tide", "salt", "gauge", "kelp", "storm", "buoy", "sensor", "plankton", "current", "reef", "gull", "fjord",
         "sample", "drift", "pressure", "algae", "shelf", "trawl", "sonar", "beacon")
PLACES = ("north jetty", "Lab 2", "the boat shed", "east cliff", "station 7", "the long house", "south bay")


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a, b, c = rng.choice(WORDS, 3, replace=False)
        out.append(f"Log {i}: the {a} {b} near {PLACES[i % len(PLACES)]} read {rng.integers(1, 999)} units of {c} "
                   f"on day {rng.integers(1, 365)}, team {rng.integers(1, 40)}.")
    return out


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    n_big = int(sys.argv[sys.argv.index("--chunks") + 1]) if "--chunks" in sys.argv else 50_000
    quick = "--quick" in sys.argv
    svc = ModelService(Settings.from_env())
    svc.embed(["warm up"])
    docs = documents.corpus(True)

    def spans(d):
        return [(t.start, t.end) for t in svc.tokenize(d.text, kind="sentence-encoder").tokens if not t.special]

    print("== 1. shipped corpus (handbook, biography, 11 lessons) ==")
    for size, overlap in ((64, 16), (128, 32)):
        chunks, t_chunk = timed(chunking.chunk_corpus, docs, spans, size, overlap)
        with tempfile.TemporaryDirectory() as folder:
            idx, t_build = timed(index.build, chunks, svc.embed, Path(folder), "bench")
            again, t_load = timed(index.build, chunks, svc.embed, Path(folder), "bench")
        print(f"{size}-token chunks: {len(chunks)} chunks; chunking {t_chunk:.2f} s, embed + index {t_build:.2f} s "
              f"({idx.embed_seconds:.2f} s embedding), vectors {idx.size_bytes / 1e6:.2f} MB, "
              f"load saved index {t_load * 1000:.0f} ms (from disk: {again.loaded_from_disk})")

    if not quick:
        print(f"\n== 2. {n_big:,} generated text chunks ==")
        texts = synthetic_texts(n_big + 200)
        vectors, t_embed = timed(svc.embed, texts, batch_size=128)
        corpus, queries = vectors[:n_big], vectors[n_big:]
        comparison, built = index.compare(corpus, queries, k=10, ef_search=32)
        print(f"embedding {n_big:,} chunks: {t_embed:.1f} s ({n_big / t_embed:.0f} chunks/s)")
        print(f"exact (flat): build {comparison.exact_build_s:.2f} s, {comparison.exact_bytes / 1e6:.1f} MB")
        print(f"HNSW (M=32):  build {comparison.approx_build_s:.2f} s, {comparison.approx_bytes / 1e6:.1f} MB")
        for ef in (10, 16, 32, 64, 128):
            c, _ = index.compare(corpus, queries, k=10, ef_search=ef, built=built)
            print(f"  ef {ef:>3}: exact {c.exact_ms:.3f} ms/query, HNSW {c.approx_ms:.3f} ms/query "
                  f"({c.exact_ms / c.approx_ms:.0f}x), recall@10 {c.recall:.3f}")

    print("\n== 3. retrieval on the 30 shipped questions (lessons included as distractors) ==")
    data = retrieval.load_questions()
    qv = svc.embed([q.question for q in data.questions])
    for size in (32, 64, 128, 256):
        r = retrieval.score_settings(docs, spans, svc.embed, data.questions, size, size // 4, query_vectors=qv)
        print(f"{size:>4} tokens, overlap {size // 4}: {r.n_chunks} chunks, "
              + ", ".join(f"recall@{k} {v:.2f}" for k, v in r.recall.items()) + f", MRR {r.mrr:.3f}")

    print("\n== 4. answers (greedy, 80 new tokens at most) ==")
    chunks = chunking.chunk_corpus(docs, spans, 64, 16)
    idx = index.build(chunks, svc.embed)
    hits = [idx.search(v, 3) for v in qv]
    settings = SamplingSettings(temperature=0.0, max_new_tokens=80)

    def contains(answer: str, gold: str) -> bool:
        numbers = re.findall(r"\d+(?:[.:]\d+)?", gold)
        low = answer.lower()
        return all(n in low for n in numbers) if numbers else gold.lower() in low

    for name, chats in (("no retrieval", [answering.plain_messages(q.question) for q in data.questions]),
                        ("retrieval, system layout", [answering.rag_messages(q.question, h, layout="system")
                                                      for q, h in zip(data.questions, hits)]),
                        ("retrieval, lesson template", [answering.rag_messages(q.question, h, layout="user")
                                                        for q, h in zip(data.questions, hits)])):
        one, t_one = timed(lambda: svc.generate(chats[0], settings).collect())
        start = time.perf_counter()
        streams = [svc.generate(c, settings) for c in chats]
        answers = [s.collect() for s in streams]
        wall = time.perf_counter() - start
        right = sum(contains(a.text, q.answer) for a, q in zip(answers, data.questions))
        cited = sum(bool(answering.citations(a.text, h)) for a, h in zip(answers, hits))
        print(f"{name:<28} one answer alone {t_one:.1f} s ({len(one.tokens)} tokens); all 30 batched {wall:.1f} s; "
              f"gold answer in the text {right}/30; cites a source {cited}/30")

    arithmetic = tools.load_arithmetic()
    chats = [tools.direct_chat(arithmetic, p.question) for p in arithmetic.problems] + \
            [tools.pal_chat(arithmetic, p.question) for p in arithmetic.problems]
    start = time.perf_counter()
    streams = [svc.generate(c, SamplingSettings(temperature=0.0, max_new_tokens=30)) for c in chats]
    texts = [s.collect().text for s in streams]
    n = len(arithmetic.problems)
    graded = [tools.grade(p.question, p.answer, d, e) for p, d, e in zip(arithmetic.problems, texts[:n], texts[n:])]
    print(f"calculator: alone {sum(g.direct_correct for g in graded)}/{n}, program-aided "
          f"{sum(g.pal_correct for g in graded)}/{n} ({sum(g.pal_value is None for g in graded)} unusable), "
          f"{time.perf_counter() - start:.1f} s for all {2 * n}")

    notice = documents.shipped(documents.INJECTION)
    poisoned = chunking.chunk_corpus(docs + [notice], spans, 64, 16)
    pidx = index.build(poisoned, svc.embed)
    question = data.injection["question"]
    qvec = svc.embed([question])[0]
    clean_hits, bad_hits = idx.search(qvec, 3), pidx.search(qvec, 3)
    kept = injection.filter_hits(bad_hits).kept
    for name, chat in (("clean", answering.rag_messages(question, clean_hits, layout="system")),
                       ("notice retrieved", answering.rag_messages(question, bad_hits, layout="system")),
                       ("mitigated", answering.rag_messages(question, kept, guarded=True, layout="system"))):
        text = svc.generate(chat, SamplingSettings(temperature=0.0, max_new_tokens=60)).collect().text
        print(f"injection, {name:<16}: follows the planted instruction: {injection.looks_injected(text)} | "
              f"{' '.join(text.split())[:110]}")

    for item in data.react:
        def search(words: str) -> str:
            found = idx.search(svc.embed([words])[0], 1)
            return " ".join(found[0].chunk.text.split()) if found else ""

        def generate(messages, prefill):
            stop = SamplingSettings(temperature=0.0, max_new_tokens=60, stop_sequences=(tools.STOP,))
            return svc.generate(messages, stop, prefill=prefill).collect().text
        trace, seconds = timed(tools.run_react, item["question"], generate, search)
        actions = [f"{s.action}[{s.argument}]" for s in trace.steps if s.action]
        print(f"ReAct {item['id']}: {len(trace.steps)} steps, actions {actions}, ended '{trace.stopped}', "
              f"answer {trace.answer!r} (handbook: {item['answer']}), {seconds:.1f} s")
    svc.close()


if __name__ == "__main__":
    main()
