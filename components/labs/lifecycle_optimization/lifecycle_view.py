"""Page 10 demo "lifecycle-map": the four stages of a generative AI project as one diagram, each step linking to
the lesson (and live lab) in this app that teaches it."""
from __future__ import annotations

import html

import streamlit as st

from components.common import cache as app_cache

# (stage, colour, [(step, section id)])
STAGES = (
    ("1. Scope", "#E8E0FF", [("Define the use case", "generative-ai")]),
    ("2. Select", "#DCEFFC", [("Choose an existing model (model cards)", "model-cards-architectures"),
                              ("…or pretrain your own (compute budget)", "compute-quantization")]),
    ("3. Adapt and align", "#E6F4EA", [("Prompt engineering", "prompt-engineering"),
                                       ("Fine-tuning and PEFT", "fine-tuning-peft"),
                                       ("Align with human feedback", "rlhf"),
                                       ("Evaluate", "evaluation-benchmarks")]),
    ("4. Application integration", "#FFF3E0", [("Optimize and deploy (this lesson)", "lifecycle-optimization"),
                                               ("Sampling settings for inference", "inference-configuration"),
                                               ("Augment: RAG and tools", "rag-applications")]),
)

STYLE = """<style>
.lc{display:grid;grid-template-columns:repeat(4,1fr);gap:.5rem;align-items:stretch}
.lc-stage{color:#1b1b1b;border-radius:10px;padding:.6rem .7rem;position:relative}
.lc-stage:nth-child(-n+3)::after{content:"➜";position:absolute;right:-.55rem;top:40%;font-size:1.1rem;color:#5B3CC4}
.lc-name{font-weight:700;margin-bottom:.4rem}
.lc-step{display:block;background:#fff;border:1px solid rgba(0,0,0,.15);border-radius:6px;padding:.3rem .5rem;
margin:.3rem 0;color:#1b1b1b;text-decoration:none;line-height:1.3}
.lc-step:hover{border-color:#5B3CC4}
.lc-step small{color:#5B3CC4}
.lc-loop{grid-column:1/5;text-align:center;opacity:.75;font-size:.9rem}
@media (max-width:700px){.lc{grid-template-columns:1fr}.lc-loop{grid-column:1}.lc-stage::after{display:none}}
</style>"""


def show() -> None:
    st.markdown("#### The lifecycle, with the lab for each step")
    titles = {s.id: s for s in app_cache.sections()}
    stages = []
    for name, colour, steps in STAGES:
        links = "".join(
            f'<a class="lc-step" href="./{sid}" target="_self">{html.escape(step)}<br><small>'
            f'Lesson {titles[sid].number}: {html.escape(titles[sid].title)}</small></a>'
            for step, sid in steps if sid in titles)
        stages.append(f'<div class="lc-stage" style="background:{colour}"><div class="lc-name">{html.escape(name)}'
                      f'</div>{links}</div>')
    loop = ('<div class="lc-loop">↺ Evaluation sends you back: to better prompts, more tuning, or a different model.'
            '</div>')
    st.html(STYLE + f'<div class="lc">{"".join(stages)}{loop}</div>')
    st.caption("Each box opens the lesson that teaches that step; most have a live lab.")
