"""A tiny random Llama with SmolLM2's vocabulary (2 layers, hidden 32) for the training labs' fast tests (fine-tuning,
RLHF), and SmolLM2's real tokenizer (its chat template decides which tokens are graded)."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def tokenizer():
    from components.common.cache import model_service
    return model_service().tokenizer()


@pytest.fixture
def tiny(tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()
