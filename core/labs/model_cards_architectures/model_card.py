"""Model cards for the bundled models, built only from what ships with them plus computed facts.

The deck's five headings (model details, uses, bias/risks/limitations, training details,
evaluation) are filled from:
  - the encoder's README.md (its YAML front matter and its Markdown sections), config files;
  - the decoder's GGUF header (read with core.serving.gguf) and its Python package's metadata;
  - facts we compute: parameters, layers, heads, vocabulary, context window, bytes on disk and in memory.
Nothing is invented: when a source says nothing about a heading, the card says so.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import metadata as pkg_metadata
from pathlib import Path

import yaml

from core import architectures
from core.serving.gguf import read_header

HEADINGS = ("Model details", "Uses", "Bias, risks & limitations", "Training details", "Evaluation")


@dataclass(frozen=True)
class CardField:
    label: str
    value: str
    source: str                # where the value comes from: "README.md", "GGUF header", "computed", ...


@dataclass(frozen=True)
class CardSection:
    heading: str                               # one of HEADINGS
    fields: tuple[CardField, ...] = ()
    quotes: tuple[tuple[str, str], ...] = ()   # (title, Markdown quoted verbatim from a shipped file)
    not_stated: str = ""                       # what the shipped files do not say, in one sentence


@dataclass(frozen=True)
class ModelCard:
    model: str                                 # display name
    kind: str                                  # registry kind
    sources: tuple[str, ...]                   # the files the card was built from
    sections: tuple[CardSection, ...] = field(default_factory=tuple)

    def section(self, heading: str) -> CardSection:
        for s in self.sections:
            if s.heading == heading:
                return s
        raise KeyError(heading)


@dataclass(frozen=True)
class ComputedFacts:
    parameters: int
    layers: int
    heads: int
    kv_heads: int              # key/value heads (fewer than `heads` with grouped-query attention)
    hidden_size: int
    vocab_size: int
    context_window: int
    disk_bytes: int            # the files the app loads the model from
    memory_bytes: int          # weights in memory as the app loads them (float32)
    memory_measured: bool      # True when read from the loaded model, False when computed (parameters x 4 bytes)
    positions: int = 0         # position embeddings, when the model reads fewer tokens than it has (sentence encoders)
    context_source: str = "computed"   # where context_window comes from


# ---- reading the shipped files ------------------------------------------------------------
def split_front_matter(text: str) -> tuple[dict, str]:
    """A model README's YAML front matter (between --- lines) and the Markdown after it."""
    m = re.match(r"\A---\s*\n(.*?)\n---\s*\n?", text, re.DOTALL)
    if not m:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        data = {}
    return (data if isinstance(data, dict) else {}), text[m.end():]


def markdown_sections(text: str) -> dict[str, str]:
    """Markdown body cut at its ## headings: {heading: text up to the next ## heading (### kept inside)}."""
    out: dict[str, str] = {}
    current, lines = "", []
    for line in text.splitlines():
        m = re.match(r"^(#{1,2})\s+(.*\S)\s*$", line)
        if m:
            if current or any(s.strip() for s in lines):
                out[current] = "\n".join(lines).strip()
            current, lines = m.group(2).strip(), []
        else:
            lines.append(line)
    out[current] = "\n".join(lines).strip()
    return {k: v for k, v in out.items() if v}


def find_section(sections: dict[str, str], *words: str) -> tuple[str, str] | None:
    """The first section whose heading contains one of `words` (case-insensitive)."""
    for heading, body in sections.items():
        if any(w.lower() in heading.lower() for w in words):
            return heading, body
    return None


def gguf_file_type(code: object) -> str:
    from gguf import LlamaFileType

    try:
        return LlamaFileType(int(code)).name.replace("MOSTLY_", "")
    except (ValueError, TypeError):
        return str(code)


def package_info(dist: str) -> dict[str, str]:
    """Name, version, summary, author, licence and home page of an installed Python package."""
    try:
        md = pkg_metadata.metadata(dist)
    except pkg_metadata.PackageNotFoundError:
        return {}
    urls = md.get_all("Project-URL") or []
    home = next((u.split(",", 1)[1].strip() for u in urls if u.lower().startswith("homepage")), md.get("Home-page", ""))
    return {k: v for k, v in {"name": md.get("Name", ""), "version": md.get("Version", ""),
                              "summary": md.get("Summary", ""),
                              "author": md.get("Author", "") or md.get("Author-email", ""),
                              "license": md.get("License", ""), "home": home or ""}.items() if v}


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}


# ---- computed facts --------------------------------------------------------------------------
def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} B"


def _facts_fields(f: ComputedFacts) -> tuple[CardField, ...]:
    heads = f"{f.heads} query heads, {f.kv_heads} key/value heads (grouped-query attention)" \
        if f.kv_heads and f.kv_heads != f.heads else f"{f.heads}"
    memory = (f"{human_bytes(f.memory_bytes)} (measured on the loaded model, float32)" if f.memory_measured
              else f"{human_bytes(f.memory_bytes)} (computed: {f.parameters:,} parameters × 4 bytes, "
                   "float32 as the app loads it)")
    return (CardField("Parameters", f"{f.parameters:,}", "computed"),
            CardField("Layers", f"{f.layers}", "computed"),
            CardField("Attention heads per layer", heads, "computed"),
            CardField("Hidden size", f"{f.hidden_size}", "computed"),
            CardField("Vocabulary", f"{f.vocab_size:,} tokens", "computed"),
            CardField("Context window", f"{f.context_window:,} tokens" + (
                f" (longer input is cut off; the network has {f.positions:,} position embeddings)"
                if f.positions and f.positions != f.context_window else ""), f.context_source),
            CardField("Size on disk", human_bytes(f.disk_bytes), "computed"),
            CardField("Size in memory", memory, "computed"))


# ---- the two cards -----------------------------------------------------------------------------
def encoder_card(name: str, folder: Path, facts: ComputedFacts) -> ModelCard:
    """Card of a Hugging Face model folder with a README.md (the bundled sentence encoder)."""
    readme_path = folder / "README.md"
    try:
        readme = readme_path.read_text(encoding="utf-8")
    except OSError:
        readme = ""
    front, body = split_front_matter(readme)
    secs = markdown_sections(body)
    config = _json(folder / "config.json")
    st_config = _json(folder / "sentence_bert_config.json")
    tok_config = _json(folder / "tokenizer_config.json")
    src = "README.md"

    details = [CardField("Name", name, "registry")]
    for key, label in (("license", "Licence"), ("language", "Language"), ("library_name", "Library"),
                       ("pipeline_tag", "Task")):
        if front.get(key):
            details.append(CardField(label, _plain(front[key]), f"{src} front matter"))
    if config.get("_name_or_path"):
        details.append(CardField("Base model", str(config["_name_or_path"]), "config.json"))
    if config.get("model_type"):
        details.append(CardField("Architecture",
                                 f"{config['model_type']} ({', '.join(config.get('architectures', []))})",
                                 "config.json"))
    intro = secs.get(name) or next(iter(secs.values()), "")
    details_quotes = ((f"{src}: introduction", intro),) if intro else ()

    uses = find_section(secs, "intended use", "uses")
    usage = find_section(secs, "usage")
    use_quotes = tuple((f"{src}: {h}", b) for h, b in (uses, usage) if b)

    limits = []
    if st_config.get("max_seq_length"):
        limits.append(CardField("Longest input", f"{st_config['max_seq_length']} word pieces; longer input is cut off",
                                "sentence_bert_config.json"))
    if "do_lower_case" in tok_config:
        limits.append(CardField("Lower-cases its input", str(bool(tok_config["do_lower_case"])),
                                "tokenizer_config.json"))
    if front.get("language"):
        limits.append(CardField("Language", _plain(front["language"]), f"{src} front matter"))
    risk = find_section(secs, "bias", "risk", "limitation")

    training = tuple((f"{src}: {h}", b) for h, b in
                     (find_section(secs, "background"), find_section(secs, "training")) if b)
    train_fields = []
    if front.get("datasets"):
        train_fields.append(CardField("Datasets listed",
                                      f"{len(front['datasets'])}: " + ", ".join(map(str, front["datasets"])),
                                      f"{src} front matter"))
    evaluation = find_section(secs, "evaluation", "results", "benchmark")

    sections = (
        CardSection(HEADINGS[0], tuple(details) + _facts_fields(facts), details_quotes),
        CardSection(HEADINGS[1], (), use_quotes, "" if use_quotes else f"The {src} does not describe intended uses."),
        CardSection(HEADINGS[2], tuple(limits), ((f"{src}: {risk[0]}", risk[1]),) if risk else (),
                    "" if risk else f"The {src} has no section on bias, risks or limitations; the facts above come "
                                    "from the model's configuration files."),
        CardSection(HEADINGS[3], tuple(train_fields), training,
                    "" if training else f"The {src} does not describe the training."),
        CardSection(HEADINGS[4], (), ((f"{src}: {evaluation[0]}", evaluation[1]),) if evaluation else (),
                    "" if evaluation else f"The {src} states no evaluation results."),
    )
    return ModelCard(model=name, kind="sentence-encoder", sources=(str(readme_path),), sections=sections)


def decoder_card(name: str, gguf_path: Path, dist: str, facts: ComputedFacts) -> ModelCard:
    """Card of a GGUF decoder from its header and the Python package that ships it."""
    meta = read_header(gguf_path)
    pkg = package_info(dist)
    arch = str(meta.get("general.architecture", ""))
    src = "GGUF header"

    details = [CardField("Name", name, "registry")]
    for key, label in (("general.name", "Name in the file"), ("general.organization", "Organisation"),
                       ("general.basename", "Base name"), ("general.size_label", "Size label"),
                       ("general.finetune", "Fine-tune tag"), ("general.license", "Licence"),
                       ("general.architecture", "Architecture")):
        if meta.get(key) not in (None, ""):
            details.append(CardField(label, _plain(meta[key]), f"{src}: {key}"))
    if "general.file_type" in meta:
        details.append(CardField("Quantization", gguf_file_type(meta["general.file_type"]),
                                 f"{src}: general.file_type"))
    if meta.get("(tensor types)"):
        types = ", ".join(f"{n} × {t}" for t, n in sorted(meta["(tensor types)"].items(), key=lambda kv: -kv[1]))
        details.append(CardField("Tensors by storage type", types, src))
    if pkg:
        details.append(CardField("Shipped in",
                                 f"{pkg.get('name', dist)} {pkg.get('version', '')} by {pkg.get('author', '?')} "
                                 f"(licence {pkg.get('license', 'not stated')})", "package metadata"))
        if pkg.get("summary"):
            details.append(CardField("Package summary", pkg["summary"], "package metadata"))

    use_fields = []
    template = meta.get("tokenizer.chat_template")
    if isinstance(template, str):
        m = re.search(r"<\|im_start\|>system\s*\n?(.*?)<\|im_end\|>", template, re.DOTALL)
        use_fields.append(CardField("Chat format",
                                    "ChatML (<|im_start|> role … <|im_end|>)" if "<|im_start|>" in template
                                    else "a chat template is stored", f"{src}: tokenizer.chat_template"))
        if m:
            use_fields.append(CardField("Default system prompt", m.group(1).strip(), f"{src}: tokenizer.chat_template"))

    limits = []
    if meta.get("general.languages"):
        limits.append(CardField("Languages", _plain(meta["general.languages"]), f"{src}: general.languages"))
    ctx = meta.get(f"{arch}.context_length")
    if ctx:
        limits.append(CardField("Context window", f"{int(ctx):,} tokens; older text must be dropped",
                                f"{src}: {arch}.context_length"))
    if "general.file_type" in meta:
        limits.append(CardField("Precision",
                                f"weights stored in 4-bit blocks ({gguf_file_type(meta['general.file_type'])}); "
                                "the app de-quantizes them to float32, the lost precision does not come back",
                                f"{src}: general.file_type"))

    train_fields = [CardField(label, _plain(meta[key]), f"{src}: {key}") for key, label in
                    (("general.finetune", "Fine-tune tag"), ("general.quantization_version", "Quantization version"))
                    if meta.get(key) not in (None, "")]

    sections = (
        CardSection(HEADINGS[0], tuple(details) + _facts_fields(facts)),
        CardSection(HEADINGS[1], tuple(use_fields), (),
                    "Neither the GGUF header nor the package states intended or out-of-scope uses; the chat "
                    "template only shows it was tuned to answer in a chat format."),
        CardSection(HEADINGS[2], tuple(limits), (),
                    "The shipped files state no known biases, risks or limitations."),
        CardSection(HEADINGS[3], tuple(train_fields), (),
                    "The shipped files do not describe the training data or procedure (only the tags above)."),
        CardSection(HEADINGS[4], (), (), "The shipped files state no evaluation results."),
    )
    sources = (str(gguf_path), f"{dist} package metadata")
    return ModelCard(model=name, kind="causal-lm", sources=sources, sections=sections)


def _plain(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def card_markdown(card: ModelCard) -> str:
    """The card as one Markdown document (for download)."""
    lines = [f"# Model card: {card.model}", "", f"Built by GenAI Lab from: {', '.join(card.sources)}", ""]
    for i, s in enumerate(card.sections, 1):
        lines += [f"## {i}. {s.heading}", ""]
        lines += [f"- **{f.label}:** {f.value}  _(source: {f.source})_" for f in s.fields]
        for title, text in s.quotes:
            lines += ["", f"**{title}** (quoted):", "", text]
        if s.not_stated:
            lines += ["", f"_{s.not_stated}_"]
        lines.append("")
    return "\n".join(lines)


def computed_facts(arch_name: str, disk_bytes: int, measured_memory_bytes: int = 0, max_seq_length: int = 0,
                   max_seq_source: str = "") -> ComputedFacts:
    """Facts from the shipped config (via core/architectures.py) plus the sizes the service reports.

    max_seq_length: the tokens a sentence encoder actually reads (sentence-transformers truncates there,
    e.g. 256 for all-MiniLM-L6-v2, whose network has 512 position embeddings); 0 = the position limit.
    """
    b = architectures.parameter_breakdown(arch_name)
    config = architectures.config_dict(arch_name)
    kv = config.get("num_key_value_heads") or b.heads
    return ComputedFacts(parameters=b.total, layers=b.layers, heads=b.heads, kv_heads=int(kv),
                         hidden_size=b.hidden_size, vocab_size=b.vocab_size,
                         context_window=max_seq_length or b.context_length,
                         disk_bytes=disk_bytes, memory_bytes=measured_memory_bytes or b.total * 4,
                         memory_measured=bool(measured_memory_bytes),
                         positions=b.context_length if max_seq_length else 0,
                         context_source=(max_seq_source or "max_seq_length") if max_seq_length else "computed")


def sentence_max_seq_length(folder: Path, registry_value: int = 0) -> tuple[int, str]:
    """(tokens a sentence-transformers model reads, where that comes from): its sentence_bert_config.json,
    else the registry's max_seq_length, else (0, "")."""
    value = _json(folder / "sentence_bert_config.json").get("max_seq_length")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, "sentence_bert_config.json"
    if registry_value and registry_value > 0:
        return int(registry_value), "model registry: max_seq_length"
    return 0, ""


def build_card(spec, measured_memory_bytes: int = 0) -> ModelCard:
    """The card of a bundled model (registry spec) from its shipped files."""
    from core.serving.loaders import resolve_files

    if spec.label not in architectures.known_models():
        raise ValueError(f"no shipped configuration for {spec.label}; cards exist for the bundled models only")
    files = resolve_files(spec)
    if files.gguf_file:
        facts = computed_facts(spec.label, files.disk_bytes, measured_memory_bytes)
        return decoder_card(spec.label, files.folder / files.gguf_file, spec.source.package, facts)
    max_seq, max_seq_source = sentence_max_seq_length(files.folder, getattr(spec, "max_seq_length", 0))
    facts = computed_facts(spec.label, files.disk_bytes, measured_memory_bytes, max_seq, max_seq_source)
    return encoder_card(spec.label, files.folder, facts)
