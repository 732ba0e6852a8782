"""Page 11 demo "knowledge-base": the documents (shipped, the app's lessons, your uploads) and how they are cut
into chunks, drawn as coloured spans, with sizes counted in MiniLM's own tokens."""
from __future__ import annotations

import statistics

import streamlit as st

from components.common import errors
from components.common.text import literal
from components.labs.rag_applications import knowledge
from components.labs.rag_applications.knowledge import LESSONS, OVERLAP, SIZE, UPLOADS
from core.labs.rag_applications import uploads
from core.labs.rag_applications.chunking import MAX_CONTENT_TOKENS

UPLOADER = "rag_uploader"


def _uploader_key() -> str:
    return f"{UPLOADER}_{st.session_state.get(UPLOADER + '_n', 0)}"


def _on_upload() -> None:
    files = st.session_state.get(_uploader_key()) or []
    if not files:
        return
    shipped = list(knowledge.current().docs)
    existing = [d for d in shipped if d.origin != "upload"] + list(st.session_state.get(UPLOADS, ()))
    try:
        added, messages = uploads.add_uploads(existing, [(f.name, f.getvalue()) for f in files])
    except Exception as exc:                     # add_uploads never raises by design; keep the page alive anyway
        added, messages = existing, [f"The files could not be read ({type(exc).__name__})."]
    st.session_state[UPLOADS] = tuple(d for d in added if d.origin == "upload")
    st.session_state["rag_upload_messages"] = messages
    st.session_state[UPLOADER + "_n"] = st.session_state.get(UPLOADER + "_n", 0) + 1   # a fresh, empty uploader


def _remove(name: str) -> None:
    st.session_state[UPLOADS] = tuple(d for d in st.session_state.get(UPLOADS, ()) if d.name != name)


def _documents() -> None:
    st.checkbox("Include this app's own lessons (11 documents)", value=True, key=LESSONS,
                help="Off: only the fictional handbook and biography (and your uploads).")
    st.file_uploader(
        f"Add your own documents (.txt, .md or .pdf; up to {uploads.MAX_FILES} files of "
        f"{uploads.MAX_FILE_BYTES // (1024 * 1024)} MB, {uploads.MAX_CHARS_PER_FILE:,} characters each)",
        type=["txt", "md", "markdown", "pdf"], accept_multiple_files=True, key=_uploader_key(), on_change=_on_upload,
        max_upload_size=uploads.MAX_FILE_BYTES // (1024 * 1024),
        help="Your files stay in this browser session only: they are not saved on the server or shown to others.")
    for message in st.session_state.pop("rag_upload_messages", []):
        st.warning(literal(message))
    mine = st.session_state.get(UPLOADS, ())
    if mine:
        st.markdown("**Your documents** (this session only):")
        for doc in mine:
            a, b = st.columns([5, 1])
            a.markdown(f"{literal(doc.name)} — {len(doc.text):,} characters, {len(doc.sections)} section(s)")
            b.button("Remove", key=f"rag_remove_{doc.digest}", on_click=_remove, args=(doc.name,))


def show() -> None:
    st.markdown("#### Try it: build a knowledge base and cut it into chunks")
    st.markdown("The knowledge base starts with two short documents written for this app: the staff handbook of "
                "an invented research station on *Halvard Island* and the biography of an invented scientist. No "
                "model has seen them, so anything SmolLM2 says about them without retrieval is made up. Add this "
                "app's own lessons, or your own files. Then choose how to cut the text: sizes are counted in "
                "MiniLM's tokens, because MiniLM is what reads each chunk.")
    _documents()
    a, b = st.columns(2)
    st.session_state.setdefault(SIZE, knowledge.DEFAULT_SIZE)
    st.session_state.setdefault(OVERLAP, knowledge.DEFAULT_OVERLAP)
    size = a.slider("Chunk size (MiniLM tokens)", 32, 512, step=16, key=SIZE,
                    help="The most tokens one chunk may hold. MiniLM reads 256 tokens, two of them its own markers.")
    if st.session_state[OVERLAP] > size // 2:
        st.session_state[OVERLAP] = size // 2
    b.slider("Overlap (tokens repeated from the chunk before)", 0, size // 2, step=4, key=OVERLAP,
             help="Overlap keeps a fact that straddles a cut whole in at least one chunk.")
    if size > MAX_CONTENT_TOKENS:
        st.warning(f"Chunks of up to {size} tokens are longer than MiniLM reads ({MAX_CONTENT_TOKENS} tokens plus "
                   "its two markers): the end of every long chunk is cut off before it is embedded, so a question "
                   "about that end cannot find it. Chunks over the limit are marked below.")
    base = knowledge.current()
    with errors.shown("The documents could not be chunked"):
        with st.spinner("Splitting the documents into MiniLM tokens…"):
            all_chunks = knowledge.chunks(base)
        names = [d.name for d in base.docs]
        name = st.selectbox("Show the chunks of", names, key="rag_show_doc")
        doc = base.docs[names.index(name)] if name in names else base.docs[0]
        mine = [c for c in all_chunks if c.doc == doc.name]
        counts = [c.n_tokens for c in all_chunks]
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Documents", len(base.docs))
        m2.metric("Chunks in all", f"{len(all_chunks):,}")
        m3.metric("Chunks of this document", len(mine))
        m4.metric("Tokens per chunk (median)", f"{statistics.median(counts):.0f}" if counts else "—")
        over = [c for c in all_chunks if c.cut_by_encoder]
        if over:
            st.caption(f"{len(over)} chunk(s) are longer than MiniLM reads; their ends are never embedded.")
        st.html(knowledge.chunk_html(doc.text, mine, marked={c.index for c in mine if c.cut_by_encoder}))
        st.caption("Each colour is one chunk (numbered in purple); grey text with a dotted underline belongs to two "
                   "chunks (the overlap). A chunk never crosses a heading, so it can be cited by its section, e.g. "
                   f"“[{next((c.citation for c in mine if '§' in c.citation), 'handbook.md §3')}]”. "
                   "Hover a span to see its chunk.")
