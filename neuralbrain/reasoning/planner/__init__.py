"""LLM planner: a llama GGUF (SmolLM2-135M by default) run on a neuralbrain backend.

``gguf_model`` reads the file, ``tokenizer`` rebuilds its byte-level BPE, ``llama`` is the
forward pass (every product on the backend), ``scene`` parses facts and checks feasibility,
``constrained`` masks decoding to valid skill calls, ``planner`` is the SayCan-style module,
``commands`` the ``neuralbrain plan`` CLI. Heavy imports stay in the submodules.
"""
